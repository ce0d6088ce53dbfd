/* test_dataset.c: the dataset loaders (lines, jsonl, sharegpt), their errors and the registry.
 * Run from the top of the tree (tests/run.sh does): the good files are in tests/data/. */
#include "../../datasets/dataset.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char tmpdir[] = "/tmp/llmbench-test-dataset.XXXXXX";
static char tmp_path[256];

/* Write a scratch file with the given bytes; returns its path (overwritten by the next call). */
static const char *scratch(const char *name, const char *data, size_t len)
{
	FILE *f;

	snprintf(tmp_path, sizeof(tmp_path), "%s/%s", tmpdir, name);
	f = fopen(tmp_path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return tmp_path;
}

static const char *scratch_s(const char *name, const char *text)
{
	return scratch(name, text, strlen(text));
}

/* Load and expect failure with code and a message holding every given fragment. */
static void expect_fail(const char *path, const char *format, long limit, int code, ...)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	const char *frag;
	va_list ap;
	int rc = dataset_load(path, format, limit, &items, &err);

	if (rc != code)
		fail_msg("expected code %d, got %d: %s", code, rc, err.msg);
	va_start(ap, code);
	while ((frag = va_arg(ap, const char *)))
		if (!strstr(err.msg, frag))
			fail_msg("message '%s' lacks '%s'", err.msg, frag);
	va_end(ap);
	lb_items_release(&items);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void registry_lists_every_format(void **state)
{
	(void)state;
	assert_non_null(dataset_find("lines"));
	assert_non_null(dataset_find("jsonl"));
	assert_non_null(dataset_find("sharegpt"));
	assert_null(dataset_find("csv"));
	assert_null(dataset_find(NULL));
	assert_string_equal(dataset_formats(), "lines, jsonl, sharegpt, synthetic, qa, theory, trace, sessions");
}

static void unknown_format_names_the_known_ones(void **state)
{
	(void)state;
	expect_fail("tests/data/dataset-prompts.jsonl", "csv", 0, LB_ERR_USAGE,
		    "unknown dataset format 'csv'", "lines, jsonl, sharegpt, synthetic, qa, theory, trace, sessions", NULL);
}

static void missing_file_names_the_path(void **state)
{
	(void)state;
	expect_fail("tests/data/no-such-file.txt", "lines", 0, LB_ERR_USAGE,
		    "cannot open dataset 'tests/data/no-such-file.txt'", "No such file", NULL);
	expect_fail("tests/data/no-such-file.jsonl", "jsonl", 0, LB_ERR_USAGE,
		    "'tests/data/no-such-file.jsonl'", NULL);
	expect_fail("tests/data/no-such-file.json", "sharegpt", 0, LB_ERR_USAGE,
		    "'tests/data/no-such-file.json'", NULL);
}

static void lines_skip_blanks_strip_crlf_and_number_ids(void **state)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(
		dataset_load("tests/data/dataset-lines-crlf.txt", "lines", 0, &items, &err), 0);
	assert_int_equal(items.n, 3);
	assert_string_equal(items.v[0].prompt, "first prompt");
	assert_string_equal(items.v[0].id, "1");
	assert_string_equal(items.v[1].prompt, "second prompt");
	assert_string_equal(items.v[1].id, "4");
	assert_string_equal(items.v[2].prompt, "third prompt");
	assert_string_equal(items.v[2].id, "5");
	assert_null(items.v[0].messages_json);
	assert_null(items.v[0].reference);
	lb_items_release(&items);
}

static void lines_keep_leading_space_and_last_line_without_newline(void **state)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	const char *p = scratch_s("a.txt", "  indented\nlast");

	(void)state;
	assert_int_equal(dataset_load(p, "lines", 0, &items, &err), 0);
	assert_int_equal(items.n, 2);
	assert_string_equal(items.v[0].prompt, "  indented");
	assert_string_equal(items.v[1].prompt, "last");
	lb_items_release(&items);
}

static void shipped_prompts_load_with_a_limit(void **state)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(
		dataset_load("datasets/prompts/llm-questions.txt", "lines", 40, &items, &err), 0);
	assert_int_equal(items.n, 40);
	lb_items_release(&items);
	assert_int_equal(
		dataset_load("datasets/prompts/llm-questions.txt", "lines", 0, &items, &err), 0);
	assert_int_equal(items.n, 200);
	lb_items_release(&items);
}

static void limit_keeps_the_first_n(void **state)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(
		dataset_load("tests/data/dataset-lines-crlf.txt", "lines", 2, &items, &err), 0);
	assert_int_equal(items.n, 2);
	assert_string_equal(items.v[1].prompt, "second prompt");
	lb_items_release(&items);
	assert_int_equal(dataset_load("tests/data/dataset-prompts.jsonl", "jsonl", 1, &items, &err),
			 0);
	assert_int_equal(items.n, 1);
	lb_items_release(&items);
	assert_int_equal(
		dataset_load("tests/data/dataset-sharegpt.json", "sharegpt", 2, &items, &err), 0);
	assert_int_equal(items.n, 2);
	assert_string_equal(items.v[1].id, "a3");
	lb_items_release(&items);
}

static void empty_dataset_is_an_error(void **state)
{
	(void)state;
	expect_fail(scratch_s("empty.txt", ""), "lines", 0, LB_ERR_USAGE, "is empty", NULL);
	expect_fail(scratch_s("blank.txt", "\n  \r\n\t\n"), "lines", 0, LB_ERR_USAGE, "is empty",
		    NULL);
	expect_fail(scratch_s("empty.jsonl", "\n\n"), "jsonl", 0, LB_ERR_USAGE, "is empty", NULL);
	expect_fail(scratch_s("empty.json", "[]"), "sharegpt", 0, LB_ERR_USAGE, "is empty", NULL);
	expect_fail(scratch_s("nohuman.json", "[{\"conversations\": [{\"from\": \"gpt\", "
					      "\"value\": \"x\"}]}]"),
		    "sharegpt", 0, LB_ERR_USAGE, "is empty", "all 1 entries were skipped", NULL);
}

static void overlong_line_names_the_limit_and_the_line(void **state)
{
	size_t n = DATASET_MAX_LINE + 10;
	char *big = malloc(n + 16);
	char want[64];

	(void)state;
	assert_non_null(big);
	memcpy(big, "short\n", 6);
	memset(big + 6, 'x', n);
	big[6 + n] = '\n';
	scratch("big.txt", big, n + 7);
	snprintf(want, sizeof(want), "limit of %u bytes", DATASET_MAX_LINE);
	expect_fail(tmp_path, "lines", 0, LB_ERR_LIMIT, "big.txt':2: line longer than", want, NULL);
	big = realloc(big, n + 32);
	assert_non_null(big);
	memcpy(big, "{\"prompt\": \"a\"}\n", 16);
	memset(big + 16, ' ', n);
	big[16 + n] = '\n';
	scratch("big.jsonl", big, n + 17);
	expect_fail(tmp_path, "jsonl", 0, LB_ERR_LIMIT, "big.jsonl':2:", want, NULL);
	free(big);
}

static void line_at_the_limit_is_accepted(void **state)
{
	size_t n = DATASET_MAX_LINE;
	char *big = malloc(n + 2);
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_non_null(big);
	memset(big, 'y', n);
	big[n] = '\n';
	scratch("edge.txt", big, n + 1);
	assert_int_equal(dataset_load(tmp_path, "lines", 0, &items, &err), 0);
	assert_int_equal(items.n, 1);
	assert_int_equal(strlen(items.v[0].prompt), n);
	lb_items_release(&items);
	free(big);
}

static void nul_byte_is_an_error_with_the_line(void **state)
{
	(void)state;
	expect_fail(scratch("nul.txt", "ok\nbad\0x\n", 9), "lines", 0, LB_ERR_PARSE,
		    "nul.txt':2: line holds a NUL byte", NULL);
}

static void jsonl_reads_prompt_messages_id_and_reference(void **state)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(dataset_load("tests/data/dataset-prompts.jsonl", "jsonl", 0, &items, &err),
			 0);
	assert_int_equal(items.n, 3);
	assert_string_equal(items.v[0].id, "q1");
	assert_string_equal(items.v[0].prompt, "What is the capital of France?");
	assert_string_equal(items.v[0].reference, "Paris");
	assert_null(items.v[0].messages_json);
	assert_string_equal(items.v[1].id, "2"); /* its line number */
	assert_string_equal(items.v[1].reference, "11");
	assert_string_equal(items.v[2].id, "7");
	assert_string_equal(items.v[2].prompt, "What is 2+2?"); /* the last user message */
	assert_non_null(items.v[2].messages_json);
	assert_non_null(strstr(items.v[2].messages_json, "\"role\":\"system\""));
	assert_int_equal(items.v[2].messages_json[0], '[');
	assert_string_equal(items.v[2].reference, "4");
	lb_items_release(&items);
}

static void jsonl_errors_name_file_line_and_what_is_expected(void **state)
{
	(void)state;
	expect_fail(scratch_s("bad1.jsonl", "{\"prompt\": \"a\"}\n{\"prompt\": \"b\",}\n"), "jsonl",
		    0, LB_ERR_PARSE, "bad1.jsonl':2: malformed JSON at column", NULL);
	expect_fail(scratch_s("bad2.jsonl", "\n[1, 2]\n"), "jsonl", 0, LB_ERR_PARSE,
		    "bad2.jsonl':2: expected a JSON object with 'prompt' (string) or 'messages' "
		    "(array), got an array",
		    NULL);
	expect_fail(scratch_s("bad3.jsonl", "{\"prompt\": 5}\n"), "jsonl", 0, LB_ERR_PARSE,
		    "bad3.jsonl':1: 'prompt' must be a string, got a number", NULL);
	expect_fail(scratch_s("bad4.jsonl", "{\"text\": \"x\"}\n"), "jsonl", 0, LB_ERR_PARSE,
		    "bad4.jsonl':1: expected 'prompt' (string) or 'messages'", NULL);
	expect_fail(scratch_s("bad5.jsonl", "{\"messages\": [{\"role\": \"user\"}]}\n"), "jsonl", 0,
		    LB_ERR_PARSE,
		    "bad5.jsonl':1: messages[0]: expected an object with 'role' (string) and "
		    "'content' (string)",
		    NULL);
	expect_fail(scratch_s("bad6.jsonl",
			      "{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}]}\n"),
		    "jsonl", 0, LB_ERR_PARSE,
		    "bad6.jsonl':1: 'messages' has no message with role 'user'", NULL);
	expect_fail(scratch_s("bad7.jsonl", "{\"messages\": []}\n"), "jsonl", 0, LB_ERR_PARSE,
		    "bad7.jsonl':1: 'messages' must be a non-empty array", NULL);
	expect_fail(scratch_s("bad8.jsonl", "{\"prompt\": \"\"}\n"), "jsonl", 0, LB_ERR_PARSE,
		    "bad8.jsonl':1: the prompt is empty", NULL);
	expect_fail(scratch_s("bad9.jsonl", "{\"prompt\": \"a\", \"id\": [1]}\n"), "jsonl", 0,
		    LB_ERR_PARSE, "bad9.jsonl':1: 'id' must be a string or a number", NULL);
	expect_fail(scratch_s("bad10.jsonl", "{\"prompt\": \"a\"} x\n"), "jsonl", 0, LB_ERR_PARSE,
		    "bad10.jsonl':1: malformed JSON at column 17", NULL);
}

static void jsonl_accepts_crlf(void **state)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	const char *p =
		scratch_s("crlf.jsonl", "{\"prompt\": \"a\"}\r\n\r\n{\"prompt\": \"b\"}\r\n");

	(void)state;
	assert_int_equal(dataset_load(p, "jsonl", 0, &items, &err), 0);
	assert_int_equal(items.n, 2);
	assert_string_equal(items.v[1].prompt, "b");
	assert_string_equal(items.v[1].id, "3");
	lb_items_release(&items);
}

static void sharegpt_takes_first_human_turn_and_next_reply(void **state)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(
		dataset_load("tests/data/dataset-sharegpt.json", "sharegpt", 0, &items, &err), 0);
	assert_int_equal(items.n, 3);
	assert_int_equal(items.skipped, 1);
	assert_string_equal(items.v[0].id, "a1");
	assert_string_equal(items.v[0].prompt, "What is a GGUF file?");
	assert_string_equal(items.v[0].reference, "A model file format used by llama.cpp.");
	assert_string_equal(items.v[0].messages_json,
			    "[{\"role\":\"system\",\"content\":\"You are terse.\"},"
			    "{\"role\":\"user\",\"content\":\"What is a GGUF file?\"}]");
	assert_string_equal(items.v[1].id, "a3");
	assert_null(items.v[1].reference);
	assert_string_equal(items.v[2].id, "3"); /* no id: its index in the array */
	assert_string_equal(items.v[2].reference, "ok");
	lb_items_release(&items);
}

static void sharegpt_errors(void **state)
{
	(void)state;
	expect_fail(
		scratch_s("s1.json", "[\n  {\"conversations\": []},\n  {\"conversations\": [}\n]"),
		"sharegpt", 0, LB_ERR_PARSE, "s1.json':3: malformed JSON at column", NULL);
	expect_fail(scratch_s("s2.json", "{\"conversations\": []}"), "sharegpt", 0, LB_ERR_PARSE,
		    "s2.json': expected a JSON array", NULL);
	expect_fail(scratch_s("s3.json", "[{\"id\": 1}]"), "sharegpt", 0, LB_ERR_PARSE,
		    "s3.json': [0]: expected an object with 'conversations'", NULL);
	expect_fail(scratch_s("s4.json", "[{\"conversations\": [{\"from\": \"human\"}]}]"),
		    "sharegpt", 0, LB_ERR_PARSE,
		    "s4.json': [0].conversations[0]: expected an object with 'from' (string) and "
		    "'value' (string)",
		    NULL);
}

static void shuffle_is_a_seeded_permutation(void **state)
{
	struct lb_items a = { 0 }, b = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	int moved = 0;
	size_t i, j;

	(void)state;
	assert_int_equal(dataset_load("datasets/prompts/llm-questions.txt", "lines", 50, &a, &err),
			 0);
	assert_int_equal(dataset_load("datasets/prompts/llm-questions.txt", "lines", 50, &b, &err),
			 0);
	lb_items_shuffle(&a, 7);
	lb_items_shuffle(&b, 7);
	for (i = 0; i < a.n; i++) {
		char want[32];

		assert_string_equal(a.v[i].id, b.v[i].id); /* same seed, same order */
		snprintf(want, sizeof(want), "%zu", i + 1);
		moved += strcmp(a.v[i].id, want) != 0;
	}
	assert_true(moved > 25);
	for (i = 0; i < a.n; i++) /* still every item exactly once */
		for (j = i + 1; j < a.n; j++)
			assert_true(strcmp(a.v[i].id, a.v[j].id) != 0);
	lb_items_release(&a);
	lb_items_release(&b);
}

static void items_add_copies_strings(void **state)
{
	struct lb_items items = { 0 };
	char buf[8] = "abc";
	int i;

	(void)state;
	for (i = 0; i < 200; i++)
		assert_int_equal(lb_items_add(&items, "id", buf, NULL, i % 2 ? "ref" : NULL), 0);
	buf[0] = 'z';
	assert_int_equal(items.n, 200);
	assert_string_equal(items.v[199].prompt, "abc");
	assert_string_equal(items.v[199].reference, "ref");
	assert_null(items.v[198].reference);
	lb_items_release(&items);
	assert_int_equal(items.n, 0);
	assert_null(items.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registry_lists_every_format),
		cmocka_unit_test(unknown_format_names_the_known_ones),
		cmocka_unit_test(missing_file_names_the_path),
		cmocka_unit_test(lines_skip_blanks_strip_crlf_and_number_ids),
		cmocka_unit_test(lines_keep_leading_space_and_last_line_without_newline),
		cmocka_unit_test(shipped_prompts_load_with_a_limit),
		cmocka_unit_test(limit_keeps_the_first_n),
		cmocka_unit_test(empty_dataset_is_an_error),
		cmocka_unit_test(overlong_line_names_the_limit_and_the_line),
		cmocka_unit_test(line_at_the_limit_is_accepted),
		cmocka_unit_test(nul_byte_is_an_error_with_the_line),
		cmocka_unit_test(jsonl_reads_prompt_messages_id_and_reference),
		cmocka_unit_test(jsonl_errors_name_file_line_and_what_is_expected),
		cmocka_unit_test(jsonl_accepts_crlf),
		cmocka_unit_test(sharegpt_takes_first_human_turn_and_next_reply),
		cmocka_unit_test(sharegpt_errors),
		cmocka_unit_test(shuffle_is_a_seeded_permutation),
		cmocka_unit_test(items_add_copies_strings),
	};
	return cmocka_run_group_tests_name("dataset", tests, setup, teardown);
}
