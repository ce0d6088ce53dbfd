/* test_sim.c: the simulator's request parsing (HTTP head, completion bodies, the word count)
 * and fault names, on hand-written inputs. The event loop is covered by tests/cli/t030*-sim-*. */
#include "../../backends/sim.h"
#include "../../backends/sim_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static long head(const char *s, struct sim_head *h) { return sim_head_parse(s, strlen(s), h); }

static void head_complete_post(void **state)
{
	const char *req = "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\n"
			  "content-length: 12\r\nX-LLMBench-Request-Id: run 7/42\r\n"
			  "X-LLMBench-Fault:  close_mid \r\n\r\n{\"a\": true}";
	struct sim_head h;
	long n = head(req, &h);

	(void)state;
	assert_int_equal(n, (long)(strstr(req, "\r\n\r\n") - req) + 4);
	assert_string_equal(h.method, "POST");
	assert_int_equal(h.api, SIM_API_CHAT);
	assert_int_equal(h.content_length, 12);
	assert_true(h.keep_alive);
	assert_true(h.http11);
	assert_string_equal(h.request_id, "run_7/42");
	assert_string_equal(h.fault, "close_mid");
}

static void head_incomplete_and_errors(void **state)
{
	struct sim_head h;
	char *big;

	(void)state;
	assert_int_equal(head("POST /v1/completions HTTP/1.1\r\nContent-Le", &h), 0);
	assert_int_equal(head("GARBAGE\r\n\r\n", &h), -400);
	assert_int_equal(head("GET /health HTTP/2.0\r\n\r\n", &h), -505);
	assert_int_equal(head("POST /v1/completions HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &h),
			 -400);
	assert_int_equal(head("POST /v1/completions HTTP/1.1\r\nContent-Length: 1\r\n"
			      "Content-Length: 2\r\n\r\n",
			      &h),
			 -400);
	big = malloc(SIM_HEAD_MAX + 100);
	assert_non_null(big);
	memset(big, 'a', SIM_HEAD_MAX + 99);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[SIM_HEAD_MAX + 99] = 0;
	assert_int_equal(head(big, &h), -431);
	free(big);
}

static void head_paths_and_connection(void **state)
{
	struct sim_head h;

	(void)state;
	assert_true(head("GET /health HTTP/1.0\r\n\r\n", &h) > 0);
	assert_int_equal(h.api, SIM_API_HEALTH);
	assert_false(h.keep_alive);
	assert_false(h.http11);
	assert_true(head("GET /models HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h) > 0);
	assert_int_equal(h.api, SIM_API_MODELS);
	assert_true(h.keep_alive);
	assert_true(head("POST /completions HTTP/1.1\nConnection: foo, close\n"
			 "Expect: 100-continue\n\n",
			 &h) > 0);
	assert_int_equal(h.api, SIM_API_COMPLETIONS);
	assert_false(h.keep_alive);
	assert_true(h.expect_continue);
	assert_int_equal(h.content_length, -1);
	assert_true(head("POST /v1/embeddings HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
			 &h) > 0);
	assert_int_equal(h.api, SIM_API_NONE);
	assert_true(h.chunked);
}

static int body(const char *json, enum sim_api api, const struct sim_answers *a, struct sim_body *b,
		char *msg)
{
	return sim_body_parse(json, strlen(json), api, a, b, msg, 256);
}

static void body_completions(void **state)
{
	struct sim_body b;
	char msg[256];

	(void)state;
	assert_int_equal(body("{\"prompt\": \" one  two\\nthree \", \"stream\": true, "
			      "\"max_tokens\": 7, \"stream_options\": {\"include_usage\": true}, "
			      "\"model\": \"a \\\"b\\\"\"}",
			      SIM_API_COMPLETIONS, NULL, &b, msg),
			 0);
	assert_int_equal(b.prompt_tokens, 3);
	assert_true(b.stream);
	assert_true(b.include_usage);
	assert_int_equal(b.max_tokens, 7);
	assert_string_equal(b.model, "a__b_");
	assert_int_equal(body("{\"prompt\": [1, 2, 3, 4]}", SIM_API_COMPLETIONS, NULL, &b, msg), 0);
	assert_int_equal(b.prompt_tokens, 4);
	assert_false(b.stream);
	assert_int_equal(b.max_tokens, 0);
	assert_int_equal(body("{\"prompt\": [\"x y\"]}", SIM_API_COMPLETIONS, NULL, &b, msg), 0);
	assert_int_equal(b.prompt_tokens, 2);
	/* token ids a vocabulary can hold, checked before any use (fuzz_sim_http: 1e300) */
	{
		static const char *const bad[] = { "[1e300]", "[1, -1]", "[2.5]", "[2147483648]" };
		uint64_t hash[8];
		struct sim_blocks bl = { .block_tokens = 2, .hash = hash, .cap = 8 };
		char j[64];
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(j, sizeof(j), "{\"prompt\": %s}", bad[i]);
			assert_int_equal(sim_body_parse_blocks(j, strlen(j), SIM_API_COMPLETIONS,
							       NULL, &b, msg, sizeof(msg), &bl),
					 -1);
			assert_non_null(strstr(msg, "token ids must be whole numbers"));
		}
		snprintf(j, sizeof(j), "{\"prompt\": [0, 2147483647]}");
		assert_int_equal(sim_body_parse_blocks(j, strlen(j), SIM_API_COMPLETIONS, NULL, &b,
						       msg, sizeof(msg), &bl),
				 0);
		assert_int_equal(b.prompt_tokens, 2);
	}
	assert_int_equal(body("{\"prompt\": 3}", SIM_API_COMPLETIONS, NULL, &b, msg), -1);
	assert_non_null(strstr(msg, "'prompt'"));
	assert_int_equal(body("{\"prompt\": \"a\", \"max_tokens\": 1.5}", SIM_API_COMPLETIONS, NULL,
			      &b, msg),
			 -1);
	assert_non_null(strstr(msg, "max_tokens"));
	assert_int_equal(
		body("{\"prompt\": \"a\", \"stream\": 1}", SIM_API_COMPLETIONS, NULL, &b, msg), -1);
	assert_int_equal(body("[1]", SIM_API_COMPLETIONS, NULL, &b, msg), -1);
	assert_int_equal(body("{\"prompt\": \"a\"", SIM_API_COMPLETIONS, NULL, &b, msg), -1);
}

static void body_chat_and_answers(void **state)
{
	char path[] = "/tmp/test_sim_answers.XXXXXX";
	struct sim_answers a;
	struct sim_body b;
	struct lb_error err = LB_ERROR_INIT;
	char msg[256];
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("{\"match\": \"France\", \"answer\": \" Paris  is \\\"it\\\" \"}\n\n"
	      "{\"match\": \"2+2\", \"answer\": \"4\"}\n",
	      f);
	fclose(f);
	assert_int_equal(sim_answers_load(&a, path, &err), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.v[0].n_words, 3);
	assert_string_equal(a.v[0].words[0], " Paris");
	assert_string_equal(a.v[0].words[2], " \\\"it\\\"");
	assert_int_equal(body("{\"messages\": [{\"role\": \"system\", \"content\": \"France\"},"
			      "{\"role\": \"user\", \"content\": [{\"type\": \"text\", "
			      "\"text\": \"what is 2+2\"}]}]}",
			      SIM_API_CHAT, &a, &b, msg),
			 0);
	assert_int_equal(b.prompt_tokens, 4);
	assert_ptr_equal(b.answer, &a.v[1]);
	assert_int_equal(
		body("{\"prompt\": \"capital of France?\"}", SIM_API_COMPLETIONS, &a, &b, msg), 0);
	assert_ptr_equal(b.answer, &a.v[0]);
	assert_int_equal(body("{\"messages\": [{\"content\": \"x\"}]}", SIM_API_CHAT, &a, &b, msg),
			 -1);
	assert_int_equal(body("{\"messages\": []}", SIM_API_CHAT, &a, &b, msg), -1);
	sim_answers_free(&a);

	f = fopen(path, "w");
	fputs("{\"match\": \"a\", \"answer\": \"b\"}\n{\"match\": \"\", \"answer\": \"b\"}\n", f);
	fclose(f);
	assert_int_equal(sim_answers_load(&a, path, &err), LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, ":2: expected"));
	assert_int_equal(a.n, 0);
	unlink(path);
}

static void words_and_faults(void **state)
{
	(void)state;
	assert_int_equal(sim_count_words("", 0), 0);
	assert_int_equal(sim_count_words("  a\tb\n\nc  ", 10), 3);
	assert_int_equal(sim_fault_find("wrong_usage"), SIM_FAULT_WRONG_USAGE);
	assert_int_equal(sim_fault_find("none"), SIM_FAULT_NONE);
	assert_int_equal(sim_fault_find("nope"), SIM_FAULT_NONE);
	assert_string_equal(sim_fault_name(SIM_FAULT_HTTP_429_RETRY), "http_429_retry");
	assert_non_null(strstr(sim_fault_list(), "refuse, close_mid, stall_first"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(head_complete_post),
		cmocka_unit_test(head_incomplete_and_errors),
		cmocka_unit_test(head_paths_and_connection),
		cmocka_unit_test(body_completions),
		cmocka_unit_test(body_chat_and_answers),
		cmocka_unit_test(words_and_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
