/* test_http1.c: the HTTP/1.1 response parser of the native client (backends/http1.c): status,
 * content type, body framing (length, chunked, to the close), keep-alive, interim responses,
 * and every protocol error it names; the same answers however the bytes are split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../backends/http1.h"

#include <stdio.h>
#include <string.h>

struct got {
	struct strbuf body;
	int heads, status, stop_after; /* stop_after: body calls before returning 5 (0: never) */
	int body_calls;
	char ctype[128];
};

static int on_head(void *ctx, const struct h1_resp *r)
{
	struct got *g = ctx;

	g->heads++;
	g->status = r->status;
	snprintf(g->ctype, sizeof(g->ctype), "%s", r->ctype);
	return 0;
}

static int on_body(void *ctx, const char *p, size_t n)
{
	struct got *g = ctx;

	strbuf_add(&g->body, p, n);
	g->body_calls++;
	return g->stop_after && g->body_calls >= g->stop_after ? 5 : 0;
}

/* Parse s fed in pieces of step bytes (0: whole); returns feed's last result. */
static int parse(const char *s, size_t step, struct got *g, struct h1_resp *r)
{
	size_t len = strlen(s), at = 0;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	strbuf_init(&g->body, 0);
	h1_resp_init(r);
	while (at < len && !rc) {
		size_t n = step && step < len - at ? step : len - at;

		rc = h1_resp_feed(r, s + at, n, on_head, on_body, g);
		at += n;
	}
	return rc;
}

static void done(struct got *g, struct h1_resp *r)
{
	strbuf_release(&g->body);
	h1_resp_release(r);
}

/* Every split of s gives status, ctype, body and keep-alive as given, and ends DONE (after
 * the close when to_close). */
static void check_all_splits(const char *s, int status, const char *ctype, const char *body,
			     bool keep_alive, bool to_close)
{
	size_t step, len = strlen(s);

	for (step = 0; step <= len; step++) {
		struct got g;
		struct h1_resp r;

		assert_int_equal(parse(s, step, &g, &r), 0);
		assert_int_equal(g.heads, 1);
		assert_int_equal(g.status, status);
		assert_string_equal(g.ctype, ctype);
		assert_int_equal(g.body.len, strlen(body));
		assert_memory_equal(g.body.buf ? g.body.buf : "", body, strlen(body));
		assert_int_equal(r.keep_alive, keep_alive);
		if (to_close) {
			assert_int_equal(r.state, H1_BODY_CLOSE);
			assert_true(h1_resp_eof(&r));
		}
		assert_int_equal(r.state, H1_DONE);
		done(&g, &r);
	}
}

static void content_length_body(void **state)
{
	(void)state;
	check_all_splits("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Content-Length: 13\r\n\r\n{\"choices\":1}",
			 200, "application/json", "{\"choices\":1}", true, false);
	/* an empty body ends with the head */
	check_all_splits("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, "", "", true, false);
}

static void chunked_event_stream(void **state)
{
	(void)state;
	check_all_splits("HTTP/1.1 200 OK\r\ncontent-type:  text/event-stream \r\n"
			 "Transfer-Encoding: chunked\r\n\r\n"
			 "6\r\ndata: \r\nb;name=value\r\n{\"a\":1}\n\n[]\r\n0\r\nX-T: 1\r\n\r\n",
			 200, "text/event-stream", "data: {\"a\":1}\n\n[]", true, false);
	/* LF line ends, upper-case hex, codings before chunked */
	check_all_splits("HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n"
			 "B\nhello world\n0\n\n",
			 200, "", "hello world", true, false);
}

static void body_to_the_close(void **state)
{
	(void)state;
	check_all_splits("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			 "Connection: close\r\n\r\ndata: x\n\n",
			 200, "text/event-stream", "data: x\n\n", false, true);
	/* HTTP/1.0: kept alive only when it says so */
	check_all_splits("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "", "ok", false,
			 false);
	check_all_splits("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
			 200, "", "ok", true, false);
	/* a Transfer-Encoding that does not end in chunked: to the close */
	check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", 200, "", "zz",
			 false, true);
}

static void interim_responses_are_skipped(void **state)
{
	(void)state;
	check_all_splits("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
			 "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n"
			 "Connection: keep-alive, close\r\n\r\nbusy",
			 503, "", "busy", false, false);
	check_all_splits("HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", 204, "", "", true,
			 false);
}

static void cut_off_responses_are_not_done(void **state)
{
	static const char *const cut[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		"HTTP/1.1 200 OK\r\nContent-Le",
		"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		struct got g;
		struct h1_resp r;

		assert_int_equal(parse(cut[i], 3, &g, &r), 0);
		assert_false(h1_resp_eof(&r));
		assert_int_not_equal(r.state, H1_DONE);
		done(&g, &r);
	}
}

static void protocol_errors_say_what(void **state)
{
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "HTTP/2 200 OK\r\n\r\n", "status line" },
		{ "ICY 200 OK\r\n\r\n", "status line" },
		{ "HTTP/1.1 20 OK\r\n\r\n", "status line" },
		{ "HTTP/1.1 2000 OK\r\n\r\n", "status line" },
		{ "HTTP/1.1 101 Switching Protocols\r\n\r\n", "Switching" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "two" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc", "Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "Content-Length" },
		{ "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", "folded" },
		{ "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "name" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "chunk size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
		  "chunk size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "longer" },
	};
	size_t i, step;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (step = 0; step < 4; step++) {
			struct got g;
			struct h1_resp r;

			assert_int_equal(parse(bad[i].in, step, &g, &r), -1);
			assert_int_equal(r.state, H1_FAILED);
			if (!strstr(r.err, bad[i].err))
				fail_msg("'%s': '%s' does not say '%s'", bad[i].in, r.err, bad[i].err);
			done(&g, &r);
		}
}

/* Bytes after the response's end are no error: dropped, and noted (the connection is then not
 * reused). */
static void bytes_after_the_end_are_noted(void **state)
{
	size_t step;

	(void)state;
	for (step = 0; step < 6; step++) {
		struct got g;
		struct h1_resp r;

		assert_int_equal(
			parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", step, &g, &r), 0);
		assert_int_equal(r.state, H1_DONE);
		assert_true(r.excess);
		assert_int_equal(g.body.len, 2);
		assert_memory_equal(g.body.buf, "ab", 2);
		done(&g, &r);
	}
}

static void head_is_bounded(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct got g;
	struct h1_resp r;
	size_t step;

	(void)state;
	strbuf_adds(&sb, "HTTP/1.1 200 OK\r\n");
	while (sb.len < H1_HEAD_MAX + 100)
		strbuf_adds(&sb, "X-Filler: 0123456789012345678901234567890123456789\r\n");
	strbuf_adds(&sb, "\r\n");
	for (step = 0; step <= 4096; step += 4096) {
		assert_int_equal(parse(sb.buf, step, &g, &r), -1);
		assert_non_null(strstr(r.err, "16 KiB"));
		assert_true(r.head.len <= H1_HEAD_MAX);
		done(&g, &r);
	}
	strbuf_release(&sb);
}

static void a_callback_stops_the_parser(void **state)
{
	struct got g;
	struct h1_resp r;
	const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			"1\r\na\r\n1\r\nb\r\n0\r\n\r\n";

	(void)state;
	memset(&g, 0, sizeof(g));
	strbuf_init(&g.body, 0);
	g.stop_after = 1;
	h1_resp_init(&r);
	assert_int_equal(h1_resp_feed(&r, s, strlen(s), on_head, on_body, &g), 5);
	assert_int_equal(g.body.len, 1);
	done(&g, &r);
}

static void reset_reads_the_next_response(void **state)
{
	const char *one = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
	const char *two = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\n"
			  "Content-Length: 2\r\n\r\nno";
	struct got g;
	struct h1_resp r;

	(void)state;
	assert_int_equal(parse(one, 0, &g, &r), 0);
	assert_int_equal(r.state, H1_DONE);
	h1_resp_reset(&r);
	assert_int_equal(h1_resp_feed(&r, two, strlen(two), on_head, on_body, &g), 0);
	assert_int_equal(g.status, 429);
	assert_string_equal(g.ctype, "text/plain");
	assert_int_equal(r.state, H1_DONE);
	assert_memory_equal(g.body.buf, "ano", 3);
	done(&g, &r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(content_length_body),
		cmocka_unit_test(chunked_event_stream),
		cmocka_unit_test(body_to_the_close),
		cmocka_unit_test(interim_responses_are_skipped),
		cmocka_unit_test(cut_off_responses_are_not_done),
		cmocka_unit_test(protocol_errors_say_what),
		cmocka_unit_test(bytes_after_the_end_are_noted),
		cmocka_unit_test(head_is_bounded),
		cmocka_unit_test(a_callback_stops_the_parser),
		cmocka_unit_test(reset_reads_the_next_response),
	};

	return cmocka_run_group_tests_name("http1", tests, NULL, NULL);
}
