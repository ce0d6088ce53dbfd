/* test_openai_scan.c: the lean chunk path (oai_chunk_scan, backends/openai_scan.c): what it
 * answers, where it must defer to the full parse, and that where it answers it says what
 * oai_chunk_parse says; chunks split anywhere in an SSE stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../backends/openai_json.h"
#include "../../backends/sse.h"

#include <stdio.h>
#include <string.h>

/* Scan s; when the scan answers, the full parse must agree. Returns whether it answered. */
static int scan_agrees(enum oai_api api, const char *s, struct oai_chunk *out)
{
	struct lb_error err = LB_ERROR_INIT;
	struct oai_chunk b;
	int got = oai_chunk_scan(out, api, s, strlen(s));

	if (!got)
		return 0;
	assert_true(out->scanned);
	assert_int_equal(oai_chunk_parse(&b, api, s, strlen(s), &err), 0);
	assert_int_equal(out->has_choice, b.has_choice);
	assert_false(b.is_error);
	if (b.text) {
		assert_non_null(out->text);
		assert_int_equal(out->text_len, b.text_len);
		assert_memory_equal(out->text, b.text, b.text_len);
	} else {
		assert_null(out->text);
	}
	if (b.finish_reason)
		assert_string_equal(out->finish_reason, b.finish_reason);
	else
		assert_null(out->finish_reason);
	assert_int_equal(out->usage_prompt, b.usage_prompt);
	assert_int_equal(out->usage_completion, b.usage_completion);
	oai_chunk_release(&b);
	return 1;
}

static void text(const struct oai_chunk *c, const char *want)
{
	assert_non_null(c->text);
	assert_int_equal(c->text_len, strlen(want));
	assert_memory_equal(c->text, want, c->text_len);
}

static void answers_the_usual_chunks(void **state)
{
	struct oai_chunk c;

	(void)state;
	assert_true(scan_agrees(OAI_API_COMPLETIONS,
				"{\"id\":\"cmpl-sim-7\",\"object\":\"text_completion\",\"created\":1732456200,"
				"\"model\":\"llmbench-sim\",\"choices\":[{\"index\":0,\"text\":\" river\","
				"\"logprobs\":null,\"finish_reason\":null}]}",
				&c));
	text(&c, " river");
	assert_true(c.has_choice);
	assert_null(c.finish_reason);
	assert_null(c.root);
	oai_chunk_release(&c);
	assert_true(scan_agrees(OAI_API_COMPLETIONS,
				"{\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}",
				&c));
	assert_string_equal(c.finish_reason, "length");
	assert_int_equal(c.text_len, 0);
	oai_chunk_release(&c);
	/* chat: delta.content; the role-only first chunk has no text */
	assert_true(scan_agrees(OAI_API_CHAT,
				"{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},"
				"\"logprobs\":null,\"finish_reason\":null}]}",
				&c));
	assert_null(c.text);
	assert_true(c.has_choice);
	oai_chunk_release(&c);
	assert_true(scan_agrees(OAI_API_CHAT,
				" {\"choices\" : [ {\"delta\": {\"content\": \" word\"}} ], \"usage\": null}\r\n",
				&c));
	text(&c, " word");
	oai_chunk_release(&c);
	/* UTF-8 bytes pass as they are; nested values are skipped */
	assert_true(scan_agrees(OAI_API_COMPLETIONS,
				"{\"x\":[1,-2.5e-3,1E+9,true,false,null,{\"y\":[[],{}]}],"
				"\"choices\":[{\"text\":\"caf\xc3\xa9\",\"logprobs\":{\"tokens\":[\"a\\\"\"]}}]}",
				&c));
	text(&c, "caf\xc3\xa9");
	oai_chunk_release(&c);
	/* empty choices: no choice, no text */
	assert_true(scan_agrees(OAI_API_COMPLETIONS, "{\"choices\":[]}", &c));
	assert_false(c.has_choice);
	oai_chunk_release(&c);
}

static void content_null_and_missing_fields(void **state)
{
	struct oai_chunk c;

	(void)state;
	assert_true(scan_agrees(OAI_API_CHAT, "{\"choices\":[{\"delta\":{\"content\":null}}]}", &c));
	assert_null(c.text);
	oai_chunk_release(&c);
	assert_true(scan_agrees(OAI_API_COMPLETIONS, "{\"choices\":[{\"text\":null}]}", &c));
	assert_null(c.text);
	oai_chunk_release(&c);
	assert_true(scan_agrees(OAI_API_COMPLETIONS, "{\"choices\":[{\"text\":7}]}", &c));
	assert_null(c.text);
	assert_true(c.has_choice);
	oai_chunk_release(&c);
	assert_true(scan_agrees(OAI_API_COMPLETIONS, "{}", &c));
	assert_false(c.has_choice);
	oai_chunk_release(&c);
	assert_true(scan_agrees(OAI_API_COMPLETIONS, "{\"choices\":{\"text\":\"x\"}}", &c));
	assert_false(c.has_choice);
	oai_chunk_release(&c);
	assert_true(scan_agrees(OAI_API_COMPLETIONS, "{\"choices\":[5,{\"text\":\"x\"}]}", &c));
	assert_false(c.has_choice);
	oai_chunk_release(&c);
	/* chat: delta not an object -> message; delta an object without content -> no text */
	assert_true(scan_agrees(OAI_API_CHAT,
				"{\"choices\":[{\"delta\":5,\"message\":{\"content\":\"m\"}}]}", &c));
	text(&c, "m");
	oai_chunk_release(&c);
	assert_true(scan_agrees(OAI_API_CHAT,
				"{\"choices\":[{\"message\":{\"content\":\"m\"},\"delta\":{}}]}", &c));
	assert_null(c.text);
	oai_chunk_release(&c);
	/* completions text is ignored for chat and the other way round */
	assert_true(scan_agrees(OAI_API_CHAT, "{\"choices\":[{\"text\":\"t\"}]}", &c));
	assert_null(c.text);
	oai_chunk_release(&c);
	/* the first of duplicate keys counts, as in cJSON */
	assert_true(scan_agrees(OAI_API_COMPLETIONS,
				"{\"choices\":[{\"text\":\"a\",\"text\":\"b\",\"finish_reason\":\"stop\","
				"\"finish_reason\":null}],\"choices\":[]}",
				&c));
	text(&c, "a");
	assert_string_equal(c.finish_reason, "stop");
	oai_chunk_release(&c);
	assert_true(scan_agrees(OAI_API_CHAT,
				"{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\"}}]}", &c));
	text(&c, "a");
	oai_chunk_release(&c);
	/* error: null is no error */
	assert_true(scan_agrees(OAI_API_COMPLETIONS, "{\"error\":null,\"choices\":[{\"text\":\"x\"}]}",
				&c));
	text(&c, "x");
	oai_chunk_release(&c);
}

/* Inputs the scan must leave to cJSON; oai_chunk_read then still gives the full answer. */
static void defers_where_unsure(void **state)
{
	static const char *const unsure[] = {
		"{\"choices\":[{\"text\":\"a\\\"b\"}]}",	 /* escaped quote in the text */
		"{\"choices\":[{\"text\":\"a\\nb\"}]}",	 /* escaped newline */
		"{\"choices\":[{\"text\":\"\\u00e9\"}]}",	 /* unicode escape */
		"{\"choices\":[{\"text\":\"\\ud83d\\ude00\"}]}", /* surrogate pair */
		"{\"choices\":[{\"text\":\"x\",\"logprobs\":\"\\u0041\"}]}", /* \\u anywhere */
		"{\"choices\":[{\"te\\u0078t\":\"x\"}]}",	 /* escaped key */
		"{\"error\":{\"message\":\"boom\"}}",		 /* error object */
		"{\"error\":\"boom\"}",
		"{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}",
		"{\"choices\":[],\"timings\":{\"prompt_ms\":1.5,\"predicted_ms\":2}}",
		"{\"choices\":[{\"text\":\"x\"}]",		 /* cut off */
		"{\"choices\":[{\"text\":\"x\"}]} x",		 /* trailing bytes */
		"[1,2]",					 /* not an object */
		"{\"a\":01}",					 /* bad number */
		"{\"a\":1.}",
		"{\"a\":-}",
		"{\"a\":nul}",
		"{\"a\":[1,]}",
		"{\"a\":1,}",
		"{\"choices\":[{\"text\":\"a\x01\"}]}",	 /* control byte */
		"{\"choices\":[{\"finish_reason\":\"0123456789012345678901234567890123\"}]}",
		"\xef\xbb\xbf{}",				 /* BOM */
		"",
	};
	struct lb_error err = LB_ERROR_INIT;
	struct oai_chunk c, d;
	char deep[200];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(unsure) / sizeof(unsure[0]); i++) {
		if (oai_chunk_scan(&c, OAI_API_COMPLETIONS, unsure[i], strlen(unsure[i])))
			fail_msg("scan answered for unsure[%zu] \"%s\"", i, unsure[i]);
		oai_chunk_release(&c);
		/* chat does not read "text": where its scan answers, it must agree */
		scan_agrees(OAI_API_CHAT, unsure[i], &c);
		oai_chunk_release(&c);
		/* read = the full parse */
		rc = oai_chunk_read(&c, OAI_API_COMPLETIONS, unsure[i], strlen(unsure[i]), &err);
		assert_int_equal(rc, oai_chunk_parse(&d, OAI_API_COMPLETIONS, unsure[i],
						     strlen(unsure[i]), &err));
		assert_false(c.scanned);
		if (!rc)
			assert_int_equal(c.is_error, d.is_error);
		oai_chunk_release(&c);
		oai_chunk_release(&d);
	}
	assert_int_equal(oai_chunk_read(&c, OAI_API_COMPLETIONS, unsure[0], strlen(unsure[0]), &err),
			 0);
	text(&c, "a\"b");
	oai_chunk_release(&c);
	assert_int_equal(oai_chunk_read(&c, OAI_API_COMPLETIONS, unsure[2], strlen(unsure[2]), &err),
			 0);
	text(&c, "\xc3\xa9");
	oai_chunk_release(&c);
	assert_int_equal(oai_chunk_read(&c, OAI_API_COMPLETIONS, unsure[6], strlen(unsure[6]), &err),
			 0);
	assert_true(c.is_error);
	assert_string_equal(c.error_msg, "boom");
	oai_chunk_release(&c);
	assert_int_equal(oai_chunk_read(&c, OAI_API_COMPLETIONS, unsure[8], strlen(unsure[8]), &err),
			 0);
	assert_int_equal(c.usage_completion, 4);
	oai_chunk_release(&c);
	/* nesting: 20 levels are walked, 40 are left to cJSON */
	for (i = 0; i < 20; i++)
		deep[i] = '[';
	memcpy(deep + 20, "]]]]]]]]]]]]]]]]]]]]", 20);
	deep[40] = 0;
	{
		char obj[256];

		snprintf(obj, sizeof(obj), "{\"a\":%s,\"choices\":[{\"text\":\"x\"}]}", deep);
		assert_true(scan_agrees(OAI_API_COMPLETIONS, obj, &c));
		oai_chunk_release(&c);
		for (i = 0; i < 40; i++)
			deep[i] = '[';
		for (i = 40; i < 80; i++)
			deep[i] = ']';
		deep[80] = 0;
		snprintf(obj, sizeof(obj), "{\"a\":%s}", deep);
		assert_int_equal(oai_chunk_scan(&c, OAI_API_COMPLETIONS, obj, strlen(obj)), 0);
		oai_chunk_release(&c);
	}
}

/* Events split at every byte of an SSE stream: each event scans to the same text. */
struct got {
	char text[256];
	size_t len;
	int n, scanned;
};

static int on_event(void *ctx, const struct sse_event *ev)
{
	struct got *g = ctx;
	struct lb_error err = LB_ERROR_INIT;
	struct oai_chunk c;

	if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6))
		return 0;
	assert_int_equal(oai_chunk_read(&c, OAI_API_COMPLETIONS, ev->data, ev->data_len, &err), 0);
	g->n++;
	g->scanned += c.scanned;
	if (c.text && g->len + c.text_len < sizeof(g->text)) {
		memcpy(g->text + g->len, c.text, c.text_len);
		g->len += c.text_len;
	}
	oai_chunk_release(&c);
	return 0;
}

static void split_events(void **state)
{
	static const char stream[] =
		"data: {\"choices\":[{\"text\":\"Hello\",\"finish_reason\":null}]}\n\n"
		"data: {\"choices\":[{\"text\":\", \\\"world\\\"\",\"finish_reason\":null}]}\r\n\r\n"
		"data: {\"choices\":[{\"text\":\"!\",\"finish_reason\":\"stop\"}]}\n\n"
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":3}}\n\n"
		"data: [DONE]\n\n";
	size_t cut, n = sizeof(stream) - 1;

	(void)state;
	for (cut = 0; cut <= n; cut++) {
		struct got g = { 0 };
		struct sse_parser p;
		struct lb_error err = LB_ERROR_INIT;

		sse_parser_init(&p, 0, on_event, &g);
		assert_int_equal(sse_parser_feed(&p, stream, cut, &err), 0);
		assert_int_equal(sse_parser_feed(&p, stream + cut, n - cut, &err), 0);
		assert_int_equal(sse_parser_finish(&p, NULL, &err), 0);
		sse_parser_release(&p);
		assert_int_equal(g.n, 4);
		assert_int_equal(g.scanned, 2); /* the escaped text and the usage chunk: cJSON */
		assert_int_equal(g.len, strlen("Hello, \"world\"!"));
		assert_memory_equal(g.text, "Hello, \"world\"!", g.len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers_the_usual_chunks),
		cmocka_unit_test(content_null_and_missing_fields),
		cmocka_unit_test(defers_where_unsure),
		cmocka_unit_test(split_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
