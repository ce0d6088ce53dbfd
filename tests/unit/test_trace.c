/* test_trace.c: the "trace" dataset format (datasets/trace_prompts.c): items carry their send
 * times; synthesized prompts have exactly input_length words (the sim's tokens); equal hash ids
 * give equal blocks and so equal prefixes, different ids different blocks; a spec file sets the
 * block size; text-prompt traces keep their prompts. With tokenizer "gguf:PATH" (a real
 * vocabulary) prompts tokenize to exactly input_length tokens and equal ids give equal
 * prefixes. */
#include "../../backends/llama_common.h"
#include "../../backends/sim_int.h"
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

static char dir[] = "/tmp/llmbench-test-trace.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
	static char path[4][600];
	static int k;
	FILE *f;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	f = fopen(path[k], "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path[k];
}

/* Words of s before word index n (the byte offset), for prefix comparisons. */
static size_t word_offset(const char *s, long n)
{
	const char *p = s;

	while (n-- > 0 && (p = strchr(p, ' ')))
		p++;
	return p ? (size_t)(p - s) : strlen(s);
}

static void mooncake_lines_become_exact_prompts_with_shared_blocks(void **state)
{
	const char *path = write_file(
		"t.jsonl",
		"{\"timestamp\": 100, \"input_length\": 1100, \"output_length\": 7, \"hash_ids\": [5, 6, 7]}\n"
		"{\"timestamp\": 350, \"input_length\": 1030, \"output_length\": 9, \"hash_ids\": [5, 6]}\n"
		"{\"timestamp\": 350, \"input_length\": 600, \"output_length\": 9, \"hash_ids\": [8, 6]}\n");
	struct lb_items it = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	size_t b2;

	(void)state;
	assert_int_equal(dataset_load(path, "trace", 0, &it, &err), 0);
	assert_int_equal(it.n, 3);
	assert_true(it.v[0].has_t && it.v[0].t_ms == 0);
	assert_true(it.v[1].t_ms == 250 && it.v[2].t_ms == 250);
	assert_int_equal(it.v[0].max_tokens, 7);
	assert_int_equal(sim_count_words(it.v[0].prompt, strlen(it.v[0].prompt)), 1100);
	assert_int_equal(sim_count_words(it.v[1].prompt, strlen(it.v[1].prompt)), 1030);
	assert_int_equal(sim_count_words(it.v[2].prompt, strlen(it.v[2].prompt)), 600);
	/* lines 1 and 2 share blocks 5 and 6: the first 1024 words */
	b2 = word_offset(it.v[0].prompt, 1024);
	assert_int_equal(word_offset(it.v[1].prompt, 1024), b2);
	assert_memory_equal(it.v[0].prompt, it.v[1].prompt, b2);
	/* ... and differ after (block 7 vs the line's own words) */
	assert_true(strncmp(it.v[0].prompt + b2, it.v[1].prompt + b2, 20) != 0);
	/* line 3 starts with block 8: different from the first word on */
	assert_true(strncmp(it.v[0].prompt, it.v[2].prompt, word_offset(it.v[0].prompt, 8)) != 0);
	lb_items_release(&it);
}

static void a_spec_sets_the_block_size_and_text_prompts_pass_through(void **state)
{
	const char *spec, *path;
	struct lb_items it = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	write_file(
		"s.jsonl",
		"{\"timestamp\": 0, \"input_length\": 20, \"output_length\": 1, \"hash_ids\": [1, 2]}\n"
		"{\"timestamp\": 5, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [1]}\n");
	spec = write_file("spec.json",
			  "{\"trace\": \"s.jsonl\", \"tokenizer\": \"words\", \"block_size\": 10}");
	assert_int_equal(dataset_load(spec, "trace", 0, &it, &err), 0);
	assert_int_equal(it.n, 2);
	assert_memory_equal(it.v[0].prompt, it.v[1].prompt, strlen(it.v[1].prompt));
	assert_int_equal(sim_count_words(it.v[1].prompt, strlen(it.v[1].prompt)), 10);
	lb_items_release(&it);

	spec = write_file("bad.json", "{\"trace\": \"s.jsonl\", \"tokenizer\": \"llama-spm\"}");
	assert_int_equal(dataset_load(spec, "trace", 0, &it, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "expected \"words\""));
	spec = write_file("bad2.json", "{\"trace\": \"s.jsonl\", \"blocks\": 3}");
	assert_int_equal(dataset_load(spec, "trace", 0, &it, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "unknown key 'blocks'"));

	path = write_file("p.jsonl",
			  "{\"timestamp\": 10, \"prompt\": \"hello there\"}\n"
			  "{\"timestamp\": 30, \"prompt\": \"again\", \"output_length\": 4}\n");
	assert_int_equal(dataset_load(path, "trace", 0, &it, &err), 0);
	assert_string_equal(it.v[0].prompt, "hello there");
	assert_true(it.v[1].t_ms == 20 && it.v[1].max_tokens == 4 && it.v[0].max_tokens == 0);
	lb_items_release(&it);

	path = write_file(
		"u.jsonl",
		"{\"timestamp\": 10, \"prompt\": \"a\"}\n{\"timestamp\": 3, \"prompt\": \"b\"}\n");
	assert_int_equal(dataset_load(path, "trace", 0, &it, &err), LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "u.jsonl:2: timestamp 3 is before line 1"));
	assert_int_equal(it.n, 0);
}

/* tokens of text with the vocabulary at path (no special tokens) */
static size_t n_tokens(const char *vocab_path, const char *text)
{
	struct llama_model *m = NULL;
	struct lb_error err = LB_ERROR_INIT;
	const struct llama_vocab *v;
	int32_t *toks = NULL, nv;
	size_t n = 0;
	bool bos;

	assert_int_equal(llama_common_vocab_load(vocab_path, &m, &err), 0);
	v = llama_common_model_vocab(m, &nv, &bos);
	assert_int_equal(
		llama_common_tokenize(v, text, strlen(text), false, false, &toks, &n, &err), 0);
	free(toks);
	llama_common_model_free(m);
	return n;
}

static void a_gguf_vocabulary_gives_exact_token_counts(void **state)
{
	static const char *const vocabs[] = { "llama-spm", "gpt-2" };
	char spec_text[800], vpath[600], cwd[300];
	struct lb_items it = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	const char *spec;
	size_t i, k;

	(void)state;
	if (!llama_common_available())
		skip();
	write_file(
		"g.jsonl",
		"{\"timestamp\": 0, \"input_length\": 70, \"output_length\": 1, \"hash_ids\": [4, 5]}\n"
		"{\"timestamp\": 5, \"input_length\": 45, \"output_length\": 1, \"hash_ids\": [4]}\n"
		"{\"timestamp\": 9, \"input_length\": 33, \"output_length\": 1}\n");
	for (i = 0; i < sizeof(vocabs) / sizeof(vocabs[0]); i++) {
		snprintf(vpath, sizeof(vpath), "%s/third_party/llama/models/ggml-vocab-%s.gguf",
			 getenv("LB_TOP") ? getenv("LB_TOP") : getcwd(cwd, sizeof(cwd)), vocabs[i]);
		snprintf(spec_text, sizeof(spec_text),
			 "{\"trace\": \"g.jsonl\", \"tokenizer\": \"gguf:%s\", \"block_size\": 32}",
			 vpath);
		spec = write_file("g.json", spec_text);
		if (dataset_load(spec, "trace", 0, &it, &err))
			fail_msg("%s", err.msg);
		assert_int_equal(it.n, 3);
		assert_int_equal(n_tokens(vpath, it.v[0].prompt), 70);
		assert_int_equal(n_tokens(vpath, it.v[1].prompt), 45);
		assert_int_equal(n_tokens(vpath, it.v[2].prompt), 33);
		/* lines 1 and 2 share block 4: the same first bytes, then they differ */
		for (k = 0; it.v[0].prompt[k] && it.v[0].prompt[k] == it.v[1].prompt[k]; k++)
			;
		assert_true(k > 32 * 4 && k < strlen(it.v[1].prompt));
		assert_true(it.v[0].prompt[0] != it.v[2].prompt[0] ||
			    strncmp(it.v[0].prompt, it.v[2].prompt, 20) != 0);
		lb_items_release(&it);
	}
	spec = write_file(
		"g2.json",
		"{\"trace\": \"g.jsonl\", \"tokenizer\": \"gguf:none.gguf\", \"block_size\": 32}");
	assert_int_not_equal(dataset_load(spec, "trace", 0, &it, &err), 0);
	assert_non_null(strstr(err.msg, "none.gguf"));
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mooncake_lines_become_exact_prompts_with_shared_blocks),
		cmocka_unit_test(a_spec_sets_the_block_size_and_text_prompts_pass_through),
		cmocka_unit_test(a_gguf_vocabulary_gives_exact_token_counts),
	};
	return cmocka_run_group_tests_name("trace", tests, setup, teardown);
}
