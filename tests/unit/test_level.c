/* test_level.c: level figures and validity rules (METRICS.md "Measurement windows",
 * "Validity"): no successful request, windows of a resumed level, the client-bound rule. */
#include "../../metrics/level.h"
#include "../../metrics/record.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define MS 1000000ull
#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

/* A finished request: sent at send_ms, first token at +10 ms, done at end_ms with 2 tokens, or
 * failed with fail and msg. */
static void add(struct level_agg *a, uint64_t send_ms, uint64_t end_ms, enum lb_fail fail,
		const char *msg)
{
	struct lb_reqrec r;

	reqrec_init(&r, 1, false);
	send_ms += 1000; /* a send time of 0 means "never sent" */
	end_ms += 1000;
	r.t_scheduled_ns = r.t_send_ns = send_ms * MS;
	r.t_end_ns = end_ms * MS;
	r.done = true;
	r.fail = fail;
	if (fail == LB_FAIL_HTTP)
		r.http_status = 429;
	if (msg)
		snprintf(r.err_msg, sizeof(r.err_msg), "%s", msg);
	if (fail == LB_FAIL_NONE) {
		r.t_first_ns = (send_ms + 10) * MS;
		r.n_in = 5;
		r.n_out = 2;
		r.n_in_src = r.n_out_src = "usage";
	}
	level_agg_add(a, &r);
	reqrec_release(&r);
}

struct fig {
	char metric[64];
	bool has;
	double v;
	char note[128];
};
struct figs {
	struct fig f[128];
	int n;
};

static int collect(void *ctx, const char *metric, bool has_value, double value, double n,
		   const char *unit, const char *provenance, const char *note)
{
	struct figs *fs = ctx;
	struct fig *f = &fs->f[fs->n++];

	(void)n, (void)unit, (void)provenance;
	assert_true(fs->n < 128);
	snprintf(f->metric, sizeof(f->metric), "%s", metric);
	f->has = has_value;
	f->v = value;
	snprintf(f->note, sizeof(f->note), "%s", note ? note : "");
	return 0;
}

static const struct fig *get(const struct figs *fs, const char *metric)
{
	int i;

	for (i = 0; i < fs->n; i++)
		if (!strcmp(fs->f[i].metric, metric))
			return &fs->f[i];
	fail_msg("no figure %s", metric);
	return NULL;
}

static void no_successful_request_has_no_rate(void **state)
{
	static const char *const rates[] = { "request_throughput", "achieved_rate",
					     "output_token_throughput", "total_token_throughput",
					     "goodput" };
	struct level_agg a;
	struct figs fs = { .n = 0 };
	size_t i;

	(void)state;
	level_agg_init(&a, NULL);
	add(&a, 0, 1, LB_FAIL_CONNECT, "Couldn't connect to server");
	add(&a, 0, 1, LB_FAIL_CONNECT, "second message");
	add(&a, 1, 2, LB_FAIL_CONNECT, NULL);
	assert_int_equal(level_agg_emit(&a, 0, collect, &fs), 0);
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		const struct fig *f = get(&fs, rates[i]);

		assert_false(f->has);
		assert_string_equal(f->note, "unavailable: no successful request");
	}
	assert_true(get(&fs, "duration_s")->has); /* the window existed */
	assert_int_equal(a.n_fails, 1);
	assert_string_equal(a.fails[0].name, "connect");
	assert_int_equal(a.fails[0].n, 3);
	assert_string_equal(a.fails[0].msg, "Couldn't connect to server"); /* the first one */
	level_agg_release(&a);
}

static void some_failures_keep_the_rates(void **state)
{
	struct level_agg a;
	struct figs fs = { .n = 0 };

	(void)state;
	level_agg_init(&a, NULL);
	add(&a, 0, 100, LB_FAIL_NONE, NULL);
	add(&a, 100, 101, LB_FAIL_HTTP, "simulated http_429");
	add(&a, 200, 1000, LB_FAIL_NONE, NULL);
	assert_int_equal(level_agg_emit(&a, 0, collect, &fs), 0);
	assert_true(get(&fs, "request_throughput")->has);
	NEAR(get(&fs, "request_throughput")->v, 2.0, 1e-9); /* 2 ok over 1 s */
	NEAR(get(&fs, "achieved_rate")->v, 2 / 0.2, 1e-9);  /* 3 sends over 0.2 s */
	assert_string_equal(a.fails[0].name, "http_429");
	level_agg_release(&a);
}

/* Requests abandoned on purpose (load.cancel) were sent: the achieved rate counts them, as
 * its send window holds them, while they are neither ok nor failed. */
static void abandoned_requests_count_as_sent(void **state)
{
	struct level_agg a;
	struct figs fs = { .n = 0 };
	struct lb_reqrec r;

	(void)state;
	level_agg_init(&a, NULL);
	add(&a, 0, 100, LB_FAIL_NONE, NULL);
	reqrec_init(&r, 2, false);
	r.t_scheduled_ns = r.t_send_ns = 1100 * MS; /* sent at +100 ms, abandoned at +150 ms */
	r.t_end_ns = 1150 * MS;
	r.done = true;
	r.fail = LB_FAIL_CANCELLED;
	r.abandoned = true;
	level_agg_add(&a, &r);
	reqrec_release(&r);
	add(&a, 200, 1000, LB_FAIL_NONE, NULL);
	assert_int_equal(level_agg_emit(&a, 0, collect, &fs), 0);
	NEAR(get(&fs, "requests_ok")->v, 2, 0);
	NEAR(get(&fs, "requests_failed")->v, 0, 0);
	NEAR(get(&fs, "requests_cancelled")->v, 1, 0);
	NEAR(get(&fs, "achieved_rate")->v, 2 / 0.2, 1e-9); /* 3 sends over 0.2 s, not 1 over it */
	level_agg_release(&a);
}

static void resumed_level_leaves_the_downtime_out(void **state)
{
	struct level_agg a;
	struct figs fs = { .n = 0 };

	(void)state;
	level_agg_init(&a, NULL);
	/* before the interruption: sends at 0 and 100 ms, ends at 500 ms */
	add(&a, 0, 400, LB_FAIL_NONE, NULL);
	add(&a, 100, 500, LB_FAIL_NONE, NULL);
	level_agg_segment_end(&a);
	/* 60 s later: sends at 60000, 60100, 60200 ms, last end 60500 ms */
	add(&a, 60000, 60400, LB_FAIL_NONE, NULL);
	add(&a, 60100, 60450, LB_FAIL_NONE, NULL);
	add(&a, 60200, 60500, LB_FAIL_NONE, NULL);
	NEAR(level_agg_duration_s(&a), 0.5 + 0.5, 1e-9);
	assert_int_equal(level_agg_emit(&a, 0, collect, &fs), 0);
	NEAR(get(&fs, "duration_s")->v, 1.0, 1e-9);
	NEAR(get(&fs, "request_throughput")->v, 5.0, 1e-9);
	/* 5 sends in two windows: (5 - 2) / (0.1 + 0.2) s */
	NEAR(get(&fs, "achieved_rate")->v, 3 / 0.3, 1e-9);
	level_agg_release(&a);
}

/* One successful request whose chunks arrive with the given time sources (reqrec_on_event). */
static void add_chunks(struct level_agg *a, const enum lb_tsrc *src, int n)
{
	struct lb_reqrec r;
	struct lb_event ev;
	int i;

	reqrec_init(&r, 1, false);
	lb_event_init(&ev, LB_EV_SENT, 1, 1000 * MS);
	reqrec_on_event(&r, &ev);
	for (i = 0; i < n; i++) {
		lb_event_init(&ev, i ? LB_EV_TOKENS : LB_EV_FIRST_TOKEN, 1, (1010 + i) * MS);
		ev.t_src = src[i];
		ev.text = "x";
		ev.text_len = 1;
		reqrec_on_event(&r, &ev);
	}
	lb_event_init(&ev, LB_EV_DONE, 1, (1010 + n) * MS);
	reqrec_on_event(&r, &ev);
	assert_true(reqrec_ok(&r));
	level_agg_add(a, &r);
	reqrec_release(&r);
}

static bool has_fig(const struct figs *fs, const char *metric)
{
	int i;

	for (i = 0; i < fs->n; i++)
		if (!strcmp(fs->f[i].metric, metric))
			return true;
	return false;
}

/* docs/METRICS.md "Chunk timing": the chunks counted by how their times were taken; none
 * stated (in-process) gives no figure; a resumed level's are unavailable. */
static void chunk_time_sources(void **state)
{
	static const enum lb_tsrc a1[] = { LB_TSRC_KERNEL_OWN, LB_TSRC_KERNEL_READ,
					   LB_TSRC_KERNEL_READ, LB_TSRC_HARNESS };
	static const enum lb_tsrc a2[] = { LB_TSRC_KERNEL_OWN, LB_TSRC_KERNEL_READ };
	static const enum lb_tsrc none[] = { LB_TSRC_UNSTATED, LB_TSRC_UNSTATED };
	struct level_agg a;
	struct figs fs = { .n = 0 };

	(void)state;
	level_agg_init(&a, NULL);
	add_chunks(&a, a1, 4);
	add_chunks(&a, a2, 2);
	add(&a, 0, 100, LB_FAIL_TIMEOUT, "t"); /* a failed request's chunks do not count */
	assert_int_equal(level_agg_emit(&a, 0, collect, &fs), 0);
	assert_true(get(&fs, "chunks_kernel_own")->has);
	NEAR(get(&fs, "chunks_kernel_own")->v, 2, 0);
	NEAR(get(&fs, "chunks_kernel_read")->v, 3, 0);
	NEAR(get(&fs, "chunks_harness")->v, 1, 0);
	level_agg_release(&a);

	fs.n = 0;
	level_agg_init(&a, NULL);
	add_chunks(&a, none, 2);
	assert_int_equal(level_agg_emit(&a, 0, collect, &fs), 0);
	assert_false(has_fig(&fs, "chunks_kernel_own"));
	assert_false(has_fig(&fs, "chunks_harness"));
	level_agg_release(&a);

	fs.n = 0;
	level_agg_init(&a, NULL);
	add(&a, 0, 100, LB_FAIL_NONE, NULL); /* read back from the store: no source */
	level_agg_segment_end(&a);
	a.chunk_src_partial = true;
	add_chunks(&a, a2, 2);
	assert_int_equal(level_agg_emit(&a, 0, collect, &fs), 0);
	assert_false(get(&fs, "chunks_kernel_read")->has);
	assert_non_null(strstr(get(&fs, "chunks_kernel_read")->note, "resumed level"));
	level_agg_release(&a);
}

/* itl_zero_gaps: the chunk gaps of exactly 0 (chunks timed together), over every gap. */
static void zero_gaps_counted(void **state)
{
	static const uint64_t t[] = { 1010, 1010, 1012, 1015, 1015 };
	struct level_agg a;
	struct figs fs = { .n = 0 };
	struct lb_reqrec r;
	struct lb_event ev;
	size_t i;

	(void)state;
	level_agg_init(&a, NULL);
	assert_int_equal(level_agg_emit(&a, 0, collect, &fs), 0);
	assert_false(get(&fs, "itl_zero_gaps")->has); /* no gap */
	reqrec_init(&r, 1, false);
	lb_event_init(&ev, LB_EV_SENT, 1, 1000 * MS);
	reqrec_on_event(&r, &ev);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		lb_event_init(&ev, i ? LB_EV_TOKENS : LB_EV_FIRST_TOKEN, 1, t[i] * MS);
		ev.text = "x";
		ev.text_len = 1;
		reqrec_on_event(&r, &ev);
	}
	lb_event_init(&ev, LB_EV_DONE, 1, 1020 * MS);
	reqrec_on_event(&r, &ev);
	level_agg_add(&a, &r);
	reqrec_release(&r);
	fs.n = 0;
	assert_int_equal(level_agg_emit(&a, 0, collect, &fs), 0);
	assert_true(get(&fs, "itl_zero_gaps")->has);
	NEAR(get(&fs, "itl_zero_gaps")->v, 2, 0);
	NEAR(get(&fs, "itl_min_ms")->v, 0, 0); /* what the figure explains */
	level_agg_release(&a);
}

/* The run's warning: most chunks timed by the harness's clock (kernel times asked for). */
static void chunks_harness_timed_warning(void **state)
{
	static const enum lb_tsrc half[] = { LB_TSRC_KERNEL_READ, LB_TSRC_HARNESS };
	static const enum lb_tsrc most[] = { LB_TSRC_KERNEL_OWN, LB_TSRC_HARNESS, LB_TSRC_HARNESS };
	struct level_agg a;
	char msg[400] = "";

	(void)state;
	level_agg_init(&a, NULL);
	assert_false(level_chunks_harness_timed(&a, msg, sizeof(msg))); /* no chunk */
	add_chunks(&a, half, 2);
	assert_false(level_chunks_harness_timed(&a, msg, sizeof(msg))); /* half is not most */
	add_chunks(&a, most, 3);
	assert_true(level_chunks_harness_timed(&a, msg, sizeof(msg)));
	assert_non_null(strstr(msg, "3 of its 5 chunks (60%)"));
	a.chunk_src_partial = true;
	assert_false(level_chunks_harness_timed(&a, msg, sizeof(msg)));
	level_agg_release(&a);
}

static void client_bound_rule(void **state)
{
	char why[300] = "";

	(void)state;
	/* busy 100%: CPU 1.2 s + run-queue wait 6.0 s in 7.2 s */
	assert_true(level_client_bound(1.2, 6.0, 7.2, why, sizeof(why)));
	assert_non_null(strstr(why, "client-bound: "));
	assert_non_null(strstr(why, "busy 100% of 7.200 s (CPU 1.200 s + run-queue wait 6.000 s; bound 90%)"));
	assert_true(level_client_bound(0.9, 0.0, 1.0, why, sizeof(why)));	   /* at the bound */
	assert_false(level_client_bound(0.5, 0.39, 1.0, why, sizeof(why)));	   /* 89% */
	assert_false(level_client_bound(0.04, 0.01, 1.0, why, sizeof(why)));	   /* a light level */
	assert_false(level_client_bound(0.15, 0.0, 0.15, why, sizeof(why)));   /* too short to judge */
	assert_false(level_client_bound(NAN, NAN, 10, why, sizeof(why)));	   /* not measured */
	assert_true(level_client_bound(0.95, NAN, 1.0, why, sizeof(why)));	   /* no schedstat */
	assert_non_null(strstr(why, "used 95% of a CPU"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_successful_request_has_no_rate),
		cmocka_unit_test(some_failures_keep_the_rates),
		cmocka_unit_test(abandoned_requests_count_as_sent),
		cmocka_unit_test(resumed_level_leaves_the_downtime_out),
		cmocka_unit_test(client_bound_rule),
		cmocka_unit_test(chunk_time_sources),
		cmocka_unit_test(chunks_harness_timed_warning),
		cmocka_unit_test(zero_gaps_counted),
	};
	return cmocka_run_group_tests_name("level", tests, NULL, NULL);
}
