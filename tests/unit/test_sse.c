/* test_sse.c: the incremental SSE parser gives the same events however its input is split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../backends/sse.h"

#include <stdio.h>
#include <string.h>

/* Events are logged as "[event]data\x1e" (event "-" when none) so two runs compare as strings. */
struct log {
	struct strbuf sb;
	int n;
	int stop_at; /* stop (return 7) at this event number, 0: never */
};

static int on_event(void *ctx, const struct sse_event *ev)
{
	struct log *l = ctx;

	l->n++;
	strbuf_addch(&l->sb, '[');
	if (ev->event)
		strbuf_add(&l->sb, ev->event, ev->event_len);
	else
		strbuf_addch(&l->sb, '-');
	strbuf_addch(&l->sb, ']');
	strbuf_add(&l->sb, ev->data, ev->data_len);
	strbuf_addch(&l->sb, '\x1e');
	return l->stop_at && l->n == l->stop_at ? 7 : 0;
}

static const char transcript[] =
	"\xEF\xBB\xBF: a comment first\n"
	"data: {\"a\":1}\n\n"
	"event: message\r\n"
	"data:no-space\r\n\r\n"
	": keep-alive\r\r"
	"data: line one\r"
	"data: line two\r\n"
	"data\n"
	"data:  two spaces\n"
	"id: 42\n"
	"retry: 1000\n"
	"unknown: field\n"
	"\n"
	"event: only-a-name\n"
	"\n"
	"data:\n\n"
	"event: error\n"
	"data: {\"error\":\"x\"}\n"
	"\n"
	"data: [DONE]\n\n";

static const char expected[] = "[-]{\"a\":1}\x1e"
			       "[message]no-space\x1e"
			       "[-]line one\nline two\n\n two spaces\x1e"
			       "[-]\x1e"
			       "[error]{\"error\":\"x\"}\x1e"
			       "[-][DONE]\x1e";

static void run_split(const char *in, size_t len, const size_t *cuts, size_t n_cuts,
		      struct log *l)
{
	struct sse_parser p;
	struct lb_error err = LB_ERROR_INIT;
	size_t i, at = 0;

	strbuf_init(&l->sb, 0);
	l->n = 0;
	sse_parser_init(&p, 1024, on_event, l);
	for (i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;

		assert_int_equal(sse_parser_feed(&p, in + at, end - at, &err), 0);
		at = end;
	}
	assert_int_equal(sse_parser_finish(&p, NULL, &err), 0);
	sse_parser_release(&p);
}

static void one_feed_gives_the_expected_events(void **state)
{
	struct log l = { 0 };

	(void)state;
	run_split(transcript, sizeof(transcript) - 1, NULL, 0, &l);
	assert_int_equal(l.n, 6);
	assert_int_equal(l.sb.len, sizeof(expected) - 1);
	assert_memory_equal(l.sb.buf, expected, sizeof(expected) - 1);
	strbuf_release(&l.sb);
}

static void every_two_way_split_gives_the_same_events(void **state)
{
	size_t len = sizeof(transcript) - 1, cut;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		struct log l = { 0 };

		run_split(transcript, len, &cut, 1, &l);
		if (l.sb.len != sizeof(expected) - 1 || memcmp(l.sb.buf, expected, l.sb.len))
			fail_msg("split at byte %zu gives other events", cut);
		strbuf_release(&l.sb);
	}
}

static void one_byte_feeds_give_the_same_events(void **state)
{
	size_t len = sizeof(transcript) - 1, i, cuts[sizeof(transcript)];
	struct log l = { 0 };

	(void)state;
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	run_split(transcript, len, cuts, len - 1, &l);
	assert_int_equal(l.sb.len, sizeof(expected) - 1);
	assert_memory_equal(l.sb.buf, expected, sizeof(expected) - 1);
	strbuf_release(&l.sb);
}

static void line_ends_lf_crlf_cr_are_equal(void **state)
{
	static const char *const inputs[] = {
		"data: a\ndata: b\n\n",
		"data: a\r\ndata: b\r\n\r\n",
		"data: a\rdata: b\r\r",
		"data: a\r\ndata: b\r\r\n", /* mixed: CR then CRLF */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct log l = { 0 };

		run_split(inputs[i], strlen(inputs[i]), NULL, 0, &l);
		assert_int_equal(l.n, 1);
		assert_string_equal(l.sb.buf, "[-]a\nb\x1e");
		strbuf_release(&l.sb);
	}
}

static void crlf_split_across_feeds_is_one_line_end(void **state)
{
	static const char in[] = "data: a\r\n\r\ndata: b\r\n\r\n";
	size_t cuts[] = { 8, 10, 20 }; /* between each CR and its LF */
	struct log l = { 0 };

	(void)state;
	run_split(in, sizeof(in) - 1, cuts, 3, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.sb.buf, "[-]a\x1e[-]b\x1e");
	strbuf_release(&l.sb);
}

static void comments_and_keepalives_make_no_event(void **state)
{
	static const char in[] = ": ping\n\n:\n\n: ping\r\n\r\nevent: x\n\n";
	struct log l = { 0 };

	(void)state;
	run_split(in, sizeof(in) - 1, NULL, 0, &l);
	assert_int_equal(l.n, 0);
	strbuf_release(&l.sb);
}

static void line_over_the_bound_is_a_limit_error(void **state)
{
	struct sse_parser p;
	struct lb_error err = LB_ERROR_INIT;
	struct log l = { 0 };
	char line[64];
	int i;

	(void)state;
	strbuf_init(&l.sb, 0);
	/* exactly the bound is fine: "data: " + 10 bytes = 16 */
	sse_parser_init(&p, 16, on_event, &l);
	assert_int_equal(sse_parser_feed(&p, "data: 0123456789\n\n", 18, &err), 0);
	assert_int_equal(l.n, 1);
	/* one more byte, fed in small pieces, fails and names the bound */
	snprintf(line, sizeof(line), "data: 0123456789A");
	for (i = 0; i < 17; i++)
		if (sse_parser_feed(&p, line + i, 1, &err))
			break;
	assert_int_equal(i, 16);
	assert_int_equal(err.code, LB_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "16 bytes"));
	/* it stays failed */
	assert_int_equal(sse_parser_feed(&p, "\n\n", 2, &err), LB_ERR_LIMIT);
	assert_int_equal(l.n, 1);
	/* a line inside one big feed fails too, without a newline anywhere */
	sse_parser_reset(&p);
	memset(line, 'x', sizeof(line));
	assert_int_equal(sse_parser_feed(&p, line, sizeof(line), &err), LB_ERR_LIMIT);
	sse_parser_release(&p);
	strbuf_release(&l.sb);
}

static void event_data_over_the_bound_is_a_limit_error(void **state)
{
	struct sse_parser p;
	struct lb_error err = LB_ERROR_INIT;
	struct log l = { 0 };
	int i, rc = 0;

	(void)state;
	strbuf_init(&l.sb, 0);
	sse_parser_init(&p, 32, on_event, &l);
	for (i = 0; i < 100 && !rc; i++)
		rc = sse_parser_feed(&p, "data: 0123456789\n", 17, &err);
	assert_int_equal(rc, LB_ERR_LIMIT);
	assert_true(i <= 4);
	assert_non_null(strstr(err.msg, "event data"));
	assert_int_equal(l.n, 0);
	sse_parser_release(&p);
	strbuf_release(&l.sb);
}

static void callback_can_stop_the_parser(void **state)
{
	static const char in[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	struct sse_parser p;
	struct lb_error err = LB_ERROR_INIT;
	struct log l = { .stop_at = 2 };

	(void)state;
	strbuf_init(&l.sb, 0);
	sse_parser_init(&p, 0, on_event, &l);
	assert_int_equal(sse_parser_feed(&p, in, sizeof(in) - 1, &err), 7);
	assert_int_equal(l.n, 2);
	assert_int_equal(sse_parser_feed(&p, in, sizeof(in) - 1, &err), 7);
	assert_int_equal(sse_parser_finish(&p, NULL, &err), 7);
	assert_int_equal(l.n, 2);
	sse_parser_reset(&p);
	l.stop_at = 0;
	assert_int_equal(sse_parser_feed(&p, in, sizeof(in) - 1, &err), 0);
	assert_int_equal(l.n, 5);
	sse_parser_release(&p);
	strbuf_release(&l.sb);
}

static void finish_keeps_an_event_without_blank_line_and_drops_a_partial_line(void **state)
{
	struct sse_parser p;
	struct lb_error err = LB_ERROR_INIT;
	struct log l = { 0 };
	bool partial = true;

	(void)state;
	strbuf_init(&l.sb, 0);
	sse_parser_init(&p, 0, on_event, &l);
	assert_int_equal(sse_parser_feed(&p, "data: whole\n", 12, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(sse_parser_finish(&p, &partial, &err), 0);
	assert_false(partial);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.sb.buf, "[-]whole\x1e");

	sse_parser_reset(&p);
	assert_int_equal(sse_parser_feed(&p, "data: {\"choi", 12, &err), 0);
	assert_int_equal(sse_parser_finish(&p, &partial, &err), 0);
	assert_true(partial);
	assert_int_equal(l.n, 1);
	sse_parser_release(&p);
	strbuf_release(&l.sb);
}

static void last_event_id_is_reported(void **state)
{
	struct sse_parser p;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	sse_parser_init(&p, 0, NULL, NULL);
	assert_int_equal(sse_parser_feed(&p, "id: 7\ndata: x\n\n", 15, &err), 0);
	assert_int_equal(p.n_events, 1);
	assert_true(p.has_id);
	assert_string_equal(p.id.buf, "7");
	sse_parser_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_feed_gives_the_expected_events),
		cmocka_unit_test(every_two_way_split_gives_the_same_events),
		cmocka_unit_test(one_byte_feeds_give_the_same_events),
		cmocka_unit_test(line_ends_lf_crlf_cr_are_equal),
		cmocka_unit_test(crlf_split_across_feeds_is_one_line_end),
		cmocka_unit_test(comments_and_keepalives_make_no_event),
		cmocka_unit_test(line_over_the_bound_is_a_limit_error),
		cmocka_unit_test(event_data_over_the_bound_is_a_limit_error),
		cmocka_unit_test(callback_can_stop_the_parser),
		cmocka_unit_test(finish_keeps_an_event_without_blank_line_and_drops_a_partial_line),
		cmocka_unit_test(last_event_id_is_reported),
	};
	return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}
