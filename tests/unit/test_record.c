/* test_record.c: request records from scripted event sequences; derived figures; blobs. */
#include "../../metrics/level.h"
#include "../../metrics/record.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define MS 1000000ull
#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void ev(struct lb_reqrec *r, enum lb_event_kind k, uint64_t t, int32_t n, const char *text)
{
	struct lb_event e;

	lb_event_init(&e, k, r->id, t);
	e.n_tokens = n;
	e.text = text;
	e.text_len = text ? strlen(text) : 0;
	reqrec_on_event(r, &e);
}

static void done(struct lb_reqrec *r, uint64_t t, int32_t up, int32_t uc)
{
	struct lb_event e;

	lb_event_init(&e, LB_EV_DONE, r->id, t);
	e.usage_prompt_tokens = up;
	e.usage_completion_tokens = uc;
	e.finish_reason = "length";
	reqrec_on_event(r, &e);
}

static void streamed_request_gives_ttft_tpot_e2e(void **state)
{
	struct lb_reqrec r;

	(void)state;
	reqrec_init(&r, 1, true);
	ev(&r, LB_EV_SENT, 1000 * MS, -1, NULL);
	ev(&r, LB_EV_FIRST_TOKEN, 1150 * MS, -1, " a");
	ev(&r, LB_EV_TOKENS, 1165 * MS, -1, " b");
	ev(&r, LB_EV_TOKENS, 1180 * MS, -1, " c");
	done(&r, 1181 * MS, 7, 3);
	assert_true(reqrec_ok(&r));
	NEAR(reqrec_ttft_ms(&r), 150, 1e-9);
	NEAR(reqrec_e2e_ms(&r), 181, 1e-9);
	NEAR(reqrec_tpot_ms(&r), 31.0 / 2, 1e-9); /* (t_end - t_first)/(N_out - 1) */
	assert_int_equal(r.n_out, 3);
	assert_string_equal(r.n_out_src, "usage");
	assert_int_equal(r.n_in, 7);
	assert_string_equal(r.text.buf, " a b c");
	assert_string_equal(r.finish_reason, "length");
	reqrec_release(&r);
}

static void chunk_counts_give_events_provenance(void **state)
{
	struct lb_reqrec r;

	(void)state;
	reqrec_init(&r, 2, false);
	ev(&r, LB_EV_SENT, 0 + 1, -1, NULL);
	ev(&r, LB_EV_FIRST_TOKEN, 10 * MS, 4, "x");
	ev(&r, LB_EV_TOKENS, 20 * MS, 4, "y");
	done(&r, 20 * MS, -1, -1);
	assert_int_equal(r.n_out, 8);
	assert_string_equal(r.n_out_src, "events");
	assert_int_equal(r.n_in, -1);
	NEAR(reqrec_tpot_ms(&r), 10.0 / 7, 1e-9);
	reqrec_release(&r);
}

static void unknown_counts_leave_tpot_unavailable(void **state)
{
	struct lb_reqrec r;

	(void)state;
	reqrec_init(&r, 3, false);
	ev(&r, LB_EV_SENT, 1, -1, NULL);
	ev(&r, LB_EV_FIRST_TOKEN, 10 * MS, -1, "x");
	done(&r, 20 * MS, -1, -1);
	assert_int_equal(r.n_out, -1);
	assert_true(isnan(reqrec_tpot_ms(&r)));
	assert_false(isnan(reqrec_ttft_ms(&r)));
	reqrec_release(&r);
}

static void failed_request_has_no_latency(void **state)
{
	struct lb_reqrec r;
	struct lb_event e;

	(void)state;
	reqrec_init(&r, 4, false);
	ev(&r, LB_EV_SENT, 1, -1, NULL);
	lb_event_init(&e, LB_EV_ERROR, 4, 5 * MS);
	e.fail = LB_FAIL_HTTP;
	e.http_status = 429;
	e.text = "rate limited";
	e.text_len = strlen(e.text);
	reqrec_on_event(&r, &e);
	assert_false(reqrec_ok(&r));
	assert_true(isnan(reqrec_ttft_ms(&r)) && isnan(reqrec_e2e_ms(&r)));
	assert_int_equal(r.http_status, 429);
	assert_string_equal(r.err_msg, "rate limited");
	/* events after the end are ignored */
	ev(&r, LB_EV_TOKENS, 9 * MS, 1, "late");
	assert_int_equal(r.n_chunks, 0);
	reqrec_release(&r);
}

static void blobs_round_trip(void **state)
{
	struct lb_reqrec r;
	uint8_t *p, *q;
	size_t lp, lq;
	uint64_t t[300];
	int32_t n[300];
	int i;

	(void)state;
	reqrec_init(&r, 5, false);
	ev(&r, LB_EV_SENT, 123456789, -1, NULL);
	for (i = 0; i < 300; i++)
		ev(&r, i ? LB_EV_TOKENS : LB_EV_FIRST_TOKEN, 123456789 + (uint64_t)i * 15 * MS + (uint64_t)i,
		   i % 3 == 0 ? -1 : i, "t");
	assert_int_equal(reqrec_encode_chunks(&r, &p, &lp), 0);
	assert_int_equal(reqrec_encode_counts(&r, &q, &lq), 0);
	assert_int_equal(reqrec_decode_chunks(p, lp, 123456789, t, 300), 300);
	assert_int_equal(reqrec_decode_counts(q, lq, n, 300), 300);
	for (i = 0; i < 300; i++) {
		assert_true(t[i] == r.chunk_t_ns[i]);
		assert_int_equal(n[i], r.chunk_n[i]);
	}
	assert_true(lp < 300 * 4); /* compact: ~3-4 bytes per 15 ms gap */
	assert_int_equal(reqrec_decode_chunks(p, lp - 1, 0, t, 300) < 300, 1);
	{
		uint8_t bad[] = { 0x80, 0x80 };
		assert_int_equal(reqrec_decode_chunks(bad, 2, 0, t, 10), -1);
	}
	free(p);
	free(q);
	reqrec_release(&r);
}

/* A chunk or an end timed before the chunk before it takes that chunk's time: the live times
 * are those the store's blob gives back, so figures from rows equal the live ones. */
static void times_never_go_backwards(void **state)
{
	static const uint64_t in[] = { 10, 14, 12, 12, 20 }; /* ms; the 12s came "before" 14 */
	static const uint64_t want[] = { 10, 14, 14, 14, 20 };
	struct lb_reqrec r;
	uint8_t *p;
	size_t lp;
	uint64_t t[5];
	size_t i;

	(void)state;
	reqrec_init(&r, 6, false);
	ev(&r, LB_EV_SENT, 5 * MS, -1, NULL);
	for (i = 0; i < 5; i++)
		ev(&r, i ? LB_EV_TOKENS : LB_EV_FIRST_TOKEN, in[i] * MS, 1, "t");
	done(&r, 19 * MS, 3, 5); /* the end too */
	assert_true(r.t_first_ns == 10 * MS);
	assert_true(r.t_end_ns == 20 * MS);
	assert_int_equal(reqrec_encode_chunks(&r, &p, &lp), 0);
	assert_int_equal(reqrec_decode_chunks(p, lp, r.t_send_ns, t, 5), 5);
	for (i = 0; i < 5; i++) {
		assert_true(r.chunk_t_ns[i] == want[i] * MS);
		assert_true(t[i] == r.chunk_t_ns[i]);
	}
	free(p);
	reqrec_release(&r);
	/* a chunk or an error before the send (a clock read late) is at the send */
	reqrec_init(&r, 7, false);
	ev(&r, LB_EV_SENT, 5 * MS, -1, NULL);
	ev(&r, LB_EV_FIRST_TOKEN, 4 * MS, 1, "t");
	assert_true(r.t_first_ns == 5 * MS);
	reqrec_release(&r);
}

static void level_counts_failures_and_goodput(void **state)
{
	struct wl_slo slo = { .ttft_ms = 100 };
	struct level_agg a;
	struct lb_reqrec r;
	int i;

	(void)state;
	level_agg_init(&a, &slo);
	for (i = 0; i < 4; i++) {
		reqrec_init(&r, (uint64_t)i, false);
		ev(&r, LB_EV_SENT, 1000 * MS, -1, NULL);
		ev(&r, LB_EV_FIRST_TOKEN, (1000 + 50 + 40 * (uint64_t)i) * MS, 1, "a"); /* 50,90,130,170 */
		done(&r, 1200 * MS, 5, 1);
		level_agg_add(&a, &r);
		reqrec_release(&r);
	}
	reqrec_init(&r, 9, false);
	r.warmup = true;
	level_agg_add(&a, &r);
	reqrec_release(&r);
	assert_int_equal(a.n_ok, 4);
	assert_int_equal(a.n_good, 2);
	assert_int_equal(a.n_warmup, 1);
	level_agg_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(streamed_request_gives_ttft_tpot_e2e),
		cmocka_unit_test(chunk_counts_give_events_provenance),
		cmocka_unit_test(unknown_counts_leave_tpot_unavailable),
		cmocka_unit_test(failed_request_has_no_latency),
		cmocka_unit_test(blobs_round_trip),
		cmocka_unit_test(level_counts_failures_and_goodput),
		cmocka_unit_test(times_never_go_backwards),
	};
	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
