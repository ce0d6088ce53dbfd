/* test_synthetic.c: the "synthetic" dataset format: spec errors, and (with llama.cpp built in)
 * prompts that re-tokenize to exactly the requested length with real vocabularies, the shared
 * prefix, output lengths, seeding. Run from the top of the tree (tests/run.sh does). */
#include "../../backends/llama_common.h"
#include "../../datasets/dataset.h"
#include "../../base/alloc.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char tmpdir[] = "/tmp/llmbench-test-synthetic.XXXXXX";
static char tmp_path[256];

static const char *spec(const char *name, const char *text)
{
	FILE *f;

	snprintf(tmp_path, sizeof(tmp_path), "%s/%s", tmpdir, name);
	f = fopen(tmp_path, "wb");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return tmp_path;
}

/* Load and expect failure with code and a message holding every given fragment. */
static void expect_fail(const char *text, int code, ...)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	const char *frag;
	va_list ap;

	assert_int_equal(dataset_load(spec("bad.json", text), "synthetic", 0, &items, &err), code);
	va_start(ap, code);
	while ((frag = va_arg(ap, const char *))) {
		if (!strstr(err.msg, frag))
			fail_msg("'%s' not in '%s'", frag, err.msg);
	}
	va_end(ap);
	lb_items_release(&items);
}

static void spec_errors_name_file_field_and_what_is_expected(void **state)
{
	(void)state;
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 8, \"colour\": 1}",
		    LB_ERR_USAGE, "bad.json", "unknown key 'colour'", "prompt_tokens", NULL);
	expect_fail("{\"prompt_tokens\": 8}", LB_ERR_USAGE, "tokenizer", "llama-spm", NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\"}", LB_ERR_USAGE, "prompt_tokens is required",
		    NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": {\"dist\": \"zipf\"}}",
		    LB_ERR_USAGE, "prompt_tokens.dist", "unknown distribution 'zipf'",
		    "fixed, uniform, normal, dataset", NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": {\"dist\": \"uniform\", "
		    "\"min\": 4}}",
		    LB_ERR_USAGE, "prompt_tokens", "needs 'min' and 'max'", NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": {\"dist\": \"uniform\", "
		    "\"min\": 9, \"max\": 4}}",
		    LB_ERR_USAGE, "min (9) is above max (4)", NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": {\"dist\": \"normal\", "
		    "\"mean\": 10}}",
		    LB_ERR_USAGE, "needs 'mean' and 'sd'", NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 0}", LB_ERR_USAGE,
		    "prompt_tokens: expected an integer from 1", NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 8, \"count\": -1}",
		    LB_ERR_USAGE, "bad.json': count: expected a positive integer, got -1", NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": {\"dist\": \"normal\", "
		    "\"mean\": \"10\", \"sd\": 2}}",
		    LB_ERR_USAGE, "bad.json': prompt_tokens.mean: expected a number >= 1 and <= 131072, "
		    "got a string", NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 8, \"prefix_tokens\": 8}",
		    LB_ERR_USAGE, "prefix_tokens (8) must be below the shortest prompt", NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 8, \"output_tokens\": "
		    "{\"dist\": \"dataset\"}}",
		    LB_ERR_USAGE, "dist 'dataset' takes its lengths from 'source'", NULL);
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 8, \"source\": "
		    "\"no/such/file.txt\"}",
		    LB_ERR_USAGE, "source: no such file 'no/such/file.txt'", NULL);
	expect_fail("[1, 2]", LB_ERR_USAGE, "a synthetic dataset is a JSON object", NULL);
	expect_fail("{\"tokenizer\": ", LB_ERR_USAGE, "malformed JSON", NULL);
}

#ifdef LB_HAVE_LLAMA

/* The vocabularies the checks use, loaded once (freed at exit). */
static struct {
	char name[32];
	struct llama_model *model;
} vocabs[8];

static const struct llama_vocab *vocab_of(const char *name)
{
	struct llama_model_params mp = llama_model_default_params();
	char path[512];
	size_t i;

	for (i = 0; i < 8 && vocabs[i].model; i++)
		if (!strcmp(vocabs[i].name, name))
			return llama_model_get_vocab(vocabs[i].model);
	assert_true(i < 8);
	assert_int_equal(llama_common_init(NULL), 0);
	snprintf(path, sizeof(path), "third_party/llama/models/ggml-vocab-%s.gguf", name);
	mp.vocab_only = true;
	vocabs[i].model = llama_model_load_from_file(path, mp);
	assert_non_null(vocabs[i].model);
	snprintf(vocabs[i].name, sizeof(vocabs[i].name), "%s", name);
	return llama_model_get_vocab(vocabs[i].model);
}

/* Every item re-tokenizes (no BOS) to exactly its token_ids, of length in [lo, hi]. */
static void check_exact(const struct lb_items *items, const char *tok, long lo, long hi)
{
	const struct llama_vocab *vocab = vocab_of(tok);
	size_t i;

	assert_string_equal(items->tokenizer, tok);
	for (i = 0; i < items->n; i++) {
		const struct lb_item *it = &items->v[i];
		int32_t *ids = NULL;
		size_t n = 0;

		assert_int_equal(llama_common_tokenize(vocab, it->prompt, strlen(it->prompt), false,
						       false, &ids, &n, NULL),
				 0);
		if (n != it->n_token_ids || (long)n < lo || (long)n > hi)
			fail_msg("%s item %zu: %zu tokens, token_ids %zu, want [%ld, %ld]: '%s'",
				 tok, i, n, it->n_token_ids, lo, hi, it->prompt);
		assert_memory_equal(ids, it->token_ids, n * sizeof(*ids));
		lb_free(ids);
	}
}

static void load_ok(const char *text, struct lb_items *items)
{
	struct lb_error err = LB_ERROR_INIT;

	if (dataset_load(spec("ok.json", text), "synthetic", 0, items, &err))
		fail_msg("load failed: %s", err.msg);
}

static void lengths_are_exact_with_every_vocabulary(void **state)
{
	static const char *const toks[] = { "llama-spm", "llama-bpe", "falcon", "gpt-2" };
	char text[512];
	size_t t;

	(void)state;
	for (t = 0; t < sizeof(toks) / sizeof(toks[0]); t++) {
		struct lb_items items = { 0 };

		/* one load per vocabulary (loading one takes a while): 30 lengths from 1 to 700 */
		snprintf(text, sizeof(text),
			 "{\"tokenizer\": \"%s\", \"prompt_tokens\": {\"dist\": \"uniform\", "
			 "\"min\": 1, \"max\": 700}, \"count\": 30, \"seed\": 5, "
			 "\"source\": \"datasets/prompts/llm-questions.txt\"}",
			 toks[t]);
		load_ok(text, &items);
		assert_int_equal(items.n, 30);
		check_exact(&items, toks[t], 1, 700);
		printf("# %s, 1-700 tokens: %zu of 30 needed adjustment\n", toks[t], items.adjusted);
		lb_items_release(&items);
	}
}

static void a_one_token_prompt_is_one_token(void **state)
{
	struct lb_items items = { 0 };

	(void)state;
	load_ok("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 1, \"count\": 20, "
		"\"source\": \"datasets/prompts/llm-questions.txt\"}",
		&items);
	check_exact(&items, "llama-spm", 1, 1);
	lb_items_release(&items);
}

static void random_words_without_a_source_are_exact(void **state)
{
	struct lb_items items = { 0 };

	(void)state;
	load_ok("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": {\"dist\": \"uniform\", "
		"\"min\": 50, \"max\": 300}, \"count\": 50, \"seed\": 3}",
		&items);
	assert_int_equal(items.n, 50);
	check_exact(&items, "llama-spm", 50, 300);
	lb_items_release(&items);
	load_ok("{\"tokenizer\": \"gpt-2\", \"prompt_tokens\": 256, \"count\": 20}", &items);
	check_exact(&items, "gpt-2", 256, 256);
	lb_items_release(&items);
}

static void normal_lengths_have_the_mean_and_stay_in_bounds(void **state)
{
	struct lb_items items = { 0 };
	double sum = 0, sq = 0, mean, sd;
	size_t i;

	(void)state;
	load_ok("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": {\"dist\": \"normal\", "
		"\"mean\": 100, \"sd\": 20, \"min\": 60, \"max\": 140}, \"output_tokens\": "
		"{\"dist\": \"uniform\", \"min\": 10, \"max\": 20}, \"count\": 400, \"source\": "
		"\"datasets/text/inference.txt\"}",
		&items);
	assert_int_equal(items.n, 400);
	check_exact(&items, "llama-spm", 60, 140);
	for (i = 0; i < items.n; i++) {
		sum += (double)items.v[i].n_token_ids;
		sq += (double)items.v[i].n_token_ids * (double)items.v[i].n_token_ids;
		assert_in_range(items.v[i].max_tokens, 10, 20);
	}
	mean = sum / 400;
	sd = sqrt(sq / 400 - mean * mean);
	printf("# normal(100, 20) in [60, 140]: mean %.1f sd %.1f\n", mean, sd);
	assert_true(fabs(mean - 100) < 4); /* standard error 1: 4 is generous */
	assert_true(sd > 14 && sd < 22);   /* clamping at +-2 sd trims the sd a little */
	lb_items_release(&items);
}

static void prefix_is_shared_by_every_prompt(void **state)
{
	struct lb_items items = { 0 };
	size_t i, plen;

	(void)state;
	load_ok("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": {\"dist\": \"uniform\", "
		"\"min\": 40, \"max\": 80}, \"prefix_tokens\": 32, \"count\": 30, \"source\": "
		"\"datasets/text/hardware.txt\"}",
		&items);
	check_exact(&items, "llama-spm", 40, 80);
	for (i = 1; i < items.n; i++)
		assert_memory_equal(items.v[i].token_ids, items.v[0].token_ids,
				    32 * sizeof(int32_t));
	/* the text of the prefix is shared too: the common start of any two prompts */
	for (plen = 0; items.v[0].prompt[plen] && items.v[0].prompt[plen] == items.v[1].prompt[plen];
	     plen++)
		;
	assert_true(plen >= 32); /* 32 tokens are more than 32 bytes of English */
	lb_items_release(&items);
}

static void output_lengths_from_a_sharegpt_source(void **state)
{
	static const char sharegpt[] =
		"[{\"id\": \"a\", \"conversations\": [{\"from\": \"human\", \"value\": \"What is "
		"a cache?\"}, {\"from\": \"gpt\", \"value\": \"A cache keeps recently used data "
		"close to where it is needed, so that the next access is fast.\"}]},"
		" {\"id\": \"b\", \"conversations\": [{\"from\": \"human\", \"value\": \"Say "
		"hi\"}, {\"from\": \"gpt\", \"value\": \"Hi\"}]}]";
	struct lb_items items = { 0 }, src = { 0 };
	const struct llama_vocab *vocab = vocab_of("llama-spm");
	char text[1024];
	long want[2];
	size_t i, k;

	(void)state;
	snprintf(text, sizeof(text), "%s", spec("sg.json", sharegpt));
	assert_int_equal(dataset_load(text, "sharegpt", 0, &src, NULL), 0);
	for (k = 0; k < 2; k++) {
		int32_t *ids;
		size_t n;

		assert_int_equal(llama_common_tokenize(vocab, src.v[k].reference,
						       strlen(src.v[k].reference), false, false,
						       &ids, &n, NULL),
				 0);
		want[k] = (long)n;
		lb_free(ids);
	}
	snprintf(text, sizeof(text),
		 "{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": {\"dist\": \"dataset\"}, "
		 "\"output_tokens\": {\"dist\": \"dataset\"}, \"count\": 40, \"source\": \"%s/sg.json\"}",
		 tmpdir);
	load_ok(text, &items);
	check_exact(&items, "llama-spm", 1, 100);
	for (i = 0; i < items.n; i++) /* the prompt length and output length come as a pair */
		assert_true(items.v[i].max_tokens == want[0] || items.v[i].max_tokens == want[1]);
	lb_items_release(&items);
	lb_items_release(&src);
	/* a lines file has no references */
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 8, \"output_tokens\": "
		    "{\"dist\": \"dataset\"}, \"source\": \"datasets/prompts/llm-questions.txt\"}",
		    LB_ERR_USAGE, "needs reference answers", NULL);
}

static void same_seed_same_set_other_seed_other_set(void **state)
{
	struct lb_items a = { 0 }, b = { 0 }, c = { 0 };
	size_t i, same = 0;

	(void)state;
	load_ok("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 20, \"count\": 10, \"seed\": 7, "
		"\"source\": \"datasets/prompts/llm-questions.txt\"}",
		&a);
	load_ok("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 20, \"count\": 10, \"seed\": 7, "
		"\"source\": \"datasets/prompts/llm-questions.txt\"}",
		&b);
	load_ok("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 20, \"count\": 10, \"seed\": 8, "
		"\"source\": \"datasets/prompts/llm-questions.txt\"}",
		&c);
	for (i = 0; i < 10; i++) {
		assert_string_equal(a.v[i].prompt, b.v[i].prompt);
		same += !strcmp(a.v[i].prompt, c.v[i].prompt);
	}
	assert_true(same < 5);
	lb_items_release(&a);
	lb_items_release(&b);
	lb_items_release(&c);
}

static void limit_and_unknown_tokenizer(void **state)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(dataset_load(spec("l.json", "{\"tokenizer\": \"llama-spm\", "
						     "\"prompt_tokens\": 5, \"count\": 50}"),
				      "synthetic", 7, &items, &err),
			 0);
	assert_int_equal(items.n, 7);
	lb_items_release(&items);
	expect_fail("{\"tokenizer\": \"klingon\", \"prompt_tokens\": 8}", LB_ERR_USAGE,
		    "no vocabulary 'klingon'", "ggml-vocab-klingon.gguf", NULL);
}

#else

static void without_llama_a_clear_error(void **state)
{
	(void)state;
	expect_fail("{\"tokenizer\": \"llama-spm\", \"prompt_tokens\": 8}", LB_ERR_USAGE,
		    "not built in", NULL);
}

#endif

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];
	size_t i;

	(void)state;
#ifdef LB_HAVE_LLAMA
	for (i = 0; i < 8; i++)
		llama_model_free(vocabs[i].model);
#else
	(void)i;
#endif
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spec_errors_name_file_field_and_what_is_expected),
#ifdef LB_HAVE_LLAMA
		cmocka_unit_test(lengths_are_exact_with_every_vocabulary),
		cmocka_unit_test(a_one_token_prompt_is_one_token),
		cmocka_unit_test(random_words_without_a_source_are_exact),
		cmocka_unit_test(normal_lengths_have_the_mean_and_stay_in_bounds),
		cmocka_unit_test(prefix_is_shared_by_every_prompt),
		cmocka_unit_test(output_lengths_from_a_sharegpt_source),
		cmocka_unit_test(same_seed_same_set_other_seed_other_set),
		cmocka_unit_test(limit_and_unknown_tokenizer),
#else
		cmocka_unit_test(without_llama_a_clear_error),
#endif
	};
	return cmocka_run_group_tests_name("synthetic", tests, setup, teardown);
}
