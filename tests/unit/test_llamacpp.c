/* test_llamacpp.c: the in-process llama.cpp backend on a real (tiny, generated) GGUF model.
 *
 * LLMBENCH_TEST_MODEL names the model; without it (or without llama.cpp built in) every test
 * is skipped, except those that need no model. tests/integration/i0200-llamacpp-backend.sh
 * generates models of each family and runs this program on each. */
#include "../../backends/backend.h"
#include "../../backends/llama_common.h"
#include "../../backends/llamacpp.h"
#include "../../base/clock.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifdef LB_HAVE_LLAMA
#include <llama.h>
#endif

#define MAX_EV 512

struct ev_log {
	int n;
	enum lb_event_kind kind[MAX_EV];
	uint64_t t[MAX_EV];
	int32_t n_tokens[MAX_EV];
	char text[8192]; /* concatenated token text */
	size_t text_len;
	int32_t usage_prompt, usage_completion;
	char finish[16];
	char source[96];
	enum lb_fail fail;
	char err[256];
	bool done;
};

static void sink(void *ctx, const struct lb_event *ev)
{
	struct ev_log *l = ctx;

	assert_false(l->done); /* nothing after DONE/ERROR */
	assert_true(l->n < MAX_EV);
	l->kind[l->n] = ev->kind;
	l->t[l->n] = ev->t_ns;
	l->n_tokens[l->n] = ev->n_tokens;
	l->n++;
	if (ev->kind == LB_EV_FIRST_TOKEN || ev->kind == LB_EV_TOKENS || ev->kind == LB_EV_DONE) {
		assert_true(l->text_len + ev->text_len < sizeof(l->text));
		memcpy(l->text + l->text_len, ev->text, ev->text_len);
		l->text_len += ev->text_len;
		l->text[l->text_len] = '\0';
	}
	if (ev->kind == LB_EV_DONE) {
		l->done = true;
		l->usage_prompt = ev->usage_prompt_tokens;
		l->usage_completion = ev->usage_completion_tokens;
		snprintf(l->finish, sizeof(l->finish), "%s",
			 ev->finish_reason ? ev->finish_reason : "");
		snprintf(l->source, sizeof(l->source), "%s",
			 ev->tokens_source ? ev->tokens_source : "");
	}
	if (ev->kind == LB_EV_ERROR) {
		l->done = true;
		l->fail = ev->fail;
		snprintf(l->err, sizeof(l->err), "%.*s", (int)ev->text_len, ev->text);
	}
}

static int count_kind(const struct ev_log *l, enum lb_event_kind k)
{
	int i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->kind[i] == k;
	return n;
}

static const char *model_path(void)
{
	const char *p = getenv("LLMBENCH_TEST_MODEL");

	return p && *p ? p : NULL;
}

#define NEED_MODEL()                                                                            \
	do {                                                                                    \
		if (!model_path()) {                                                            \
			skip();                                                                 \
			return;                                                                 \
		}                                                                               \
	} while (0)

static void open_backend(struct backend *b, int n_parallel, int n_ctx)
{
	struct backend_config cfg;
	struct lb_error err = LB_ERROR_INIT;
	int rc;

	backend_config_defaults(&cfg);
	cfg.name = "test";
	cfg.type = "llamacpp";
	cfg.model_path = model_path();
	cfg.threads = 1; /* robust when the 2 cores are shared with other tests */
	cfg.n_ctx = n_ctx;
	cfg.n_parallel = n_parallel;
	rc = backend_open(b, &cfg, &err);
	if (rc)
		fail_msg("open: %s", err.msg);
}

static void init_req(struct request *r, struct ev_log *l, uint64_t id, const char *prompt,
		     int max_tokens)
{
	memset(r, 0, sizeof(*r));
	memset(l, 0, sizeof(*l));
	r->id = id;
	r->prompt = prompt;
	r->prompt_len = prompt ? strlen(prompt) : 0;
	lb_gen_defaults(&r->gen);
	r->gen.max_tokens = max_tokens;
	r->gen.temperature = 0;
	r->gen.ignore_eos = true;
	r->sink.fn = sink;
	r->sink.ctx = l;
}

/* Submit n requests and poll until each has ended (bounded). */
static void run_all(struct backend *b, struct request *r, struct ev_log *l, int n)
{
	struct lb_error err = LB_ERROR_INIT;
	int i, polls = 0, left;

	for (i = 0; i < n; i++)
		assert_int_equal(b->ops->submit(b, &r[i], &err), 0);
	do {
		left = b->ops->poll(b, 100, &err);
		assert_true(left >= 0);
		assert_true(++polls < 100000);
	} while (left > 0);
	for (i = 0; i < n; i++)
		assert_true(l[i].done);
}

static void missing_model_is_a_clear_error(void **state)
{
	struct backend b;
	struct backend_config cfg;
	struct lb_error err = LB_ERROR_INIT;
	int rc;

	(void)state;
	backend_config_defaults(&cfg);
	cfg.name = "m";
	cfg.type = "llamacpp";
	cfg.model_path = "/nonexistent/model.gguf";
	rc = backend_open(&b, &cfg, &err);
#ifdef LB_HAVE_LLAMA
	assert_int_equal(rc, LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "'/nonexistent/model.gguf'"));
	assert_non_null(strstr(err.msg, "No such file"));
#else
	assert_int_equal(rc, LB_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "not built in"));
#endif
}

/* The CPU kernels in use: the variant forced by LLMBENCH_LLAMA_CPU (tests/integration/i0200
 * runs this program on other variants too), else the one llama.cpp picked for this CPU. */
static void cpu_variant_is_the_one_asked_for(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	const char *want = getenv("LLMBENCH_LLAMA_CPU");

	(void)state;
#ifdef LB_HAVE_LLAMA
	assert_int_equal(llama_common_init(&err), 0);
	printf("llama.cpp CPU backend: %s\n", llama_common_cpu());
	if (want && *want) {
		assert_true(!strncmp(llama_common_cpu(), want, strlen(want)));
		assert_int_equal(llama_common_cpu()[strlen(want)], ':');
	}
#else
	(void)want;
	assert_int_equal(llama_common_init(&err), LB_ERR_UNSUPPORTED);
#endif
}

static void events_come_in_order_with_exact_counts(void **state)
{
	struct backend b;
	struct request r;
	struct ev_log l;
	struct lb_error err = LB_ERROR_INIT;
	int32_t n_text = -1;
	int i;

	(void)state;
	NEED_MODEL();
	open_backend(&b, 1, 256);
	init_req(&r, &l, 1, "The quick brown fox", 8);
	run_all(&b, &r, &l, 1);
	assert_int_equal(l.kind[0], LB_EV_SENT);
	assert_int_equal(l.kind[1], LB_EV_FIRST_TOKEN);
	for (i = 2; i < l.n - 1; i++)
		assert_int_equal(l.kind[i], LB_EV_TOKENS);
	assert_int_equal(l.kind[l.n - 1], LB_EV_DONE);
	assert_int_equal(l.n, 1 + 8 + 1);
	for (i = 1; i < l.n - 1; i++)
		assert_int_equal(l.n_tokens[i], 1);
	for (i = 1; i < l.n; i++)
		assert_true(l.t[i] >= l.t[i - 1]);
	assert_int_equal(l.usage_completion, 8);
	assert_string_equal(l.finish, "length");
	assert_true(!strncmp(l.source, "tokenizer:", 10));
	/* prompt tokens: the text's tokens plus BOS when the vocabulary adds one */
	assert_int_equal(b.ops->tokenize_count(&b, r.prompt, r.prompt_len, &n_text, &err), 0);
	assert_true(l.usage_prompt == n_text || l.usage_prompt == n_text + 1);
	backend_close(&b);
}

static void generate(struct backend *b, const char *prompt, int max_tokens, struct ev_log *l)
{
	struct request r;

	init_req(&r, l, 7, prompt, max_tokens);
	run_all(b, &r, l, 1);
	assert_int_equal(l->fail, LB_FAIL_NONE);
}

static void max_tokens_and_stop_strings(void **state)
{
	struct backend b;
	struct request r;
	struct ev_log full, l;
	const char *stop = NULL, *hit;
	char st[8];
	size_t k;

	(void)state;
	NEED_MODEL();
	open_backend(&b, 1, 256);
	generate(&b, "Once upon a time", 3, &l);
	assert_int_equal(count_kind(&l, LB_EV_FIRST_TOKEN) + count_kind(&l, LB_EV_TOKENS), 3);
	assert_int_equal(l.usage_completion, 3);

	generate(&b, "Once upon a time", 24, &full);
	assert_true(full.text_len >= 8);
	/* a stop string taken from the middle of the greedy output: plain ASCII bytes */
	for (k = full.text_len / 2; k + 2 < full.text_len && !stop; k++) {
		if ((unsigned char)full.text[k] < 0x80 && (unsigned char)full.text[k + 1] < 0x80 &&
		    full.text[k] != ' ') {
			snprintf(st, sizeof(st), "%.2s", full.text + k);
			stop = st;
		}
	}
	if (!stop) {
		backend_close(&b);
		skip(); /* the output has no ASCII pair to stop on */
		return;
	}
	hit = strstr(full.text, stop);
	assert_non_null(hit);
	init_req(&r, &l, 8, "Once upon a time", 24);
	r.gen.stop[0] = "\x01never";
	r.gen.stop[1] = stop;
	r.gen.n_stop = 2;
	run_all(&b, &r, &l, 1);
	assert_string_equal(l.finish, "stop");
	assert_int_equal(l.text_len, (size_t)(hit - full.text));
	assert_memory_equal(l.text, full.text, l.text_len);
	assert_null(strstr(l.text, stop));
	assert_true(l.usage_completion < 24);
	assert_int_equal(count_kind(&l, LB_EV_FIRST_TOKEN) + count_kind(&l, LB_EV_TOKENS),
			 l.usage_completion);
	backend_close(&b);
}

/* Four prompts decoded together in the batch-shape tests. */
static const char *const prompts4[4] = { "I like to eat", "The capital of France is",
					 "Once upon a time", "1, 2, 3, 4," };

#ifdef LB_HAVE_LLAMA
/* How far logits may move when only the batch shape changes (same model, same threads), and the
 * margin by which a top logit must win for its token to be the same under any shape: twice the
 * tolerance, since either side may move by it. Measured here: about 1e-5 (see the log line). */
#define LOGIT_TOL 0.01
#define CLEAR_MARGIN (2 * LOGIT_TOL)
#define REF_STEPS 16

struct greedy_ref {
	int n_clear;	   /* leading tokens whose top logit won by at least CLEAR_MARGIN */
	double min_margin; /* smallest margin over all REF_STEPS steps */
	char text[4096];   /* text of the n_clear leading tokens */
	size_t text_len;
};

static struct llama_context *ref_ctx(struct llama_model *m, int n_seq)
{
	struct llama_context_params cp = llama_context_default_params();
	struct llama_context *c;

	cp.n_ctx = 256u * (uint32_t)n_seq;
	cp.n_batch = cp.n_ubatch = 512;
	cp.n_seq_max = (uint32_t)n_seq;
	cp.n_threads = cp.n_threads_batch = 1;
	cp.kv_unified = false;
	cp.no_perf = true;
	c = llama_init_from_model(m, cp);
	assert_non_null(c);
	return c;
}

/* The best token that does not end generation (the backend's ignore_eos bias), and by how much
 * its logit beats the next one. */
static llama_token top_token(const struct llama_vocab *v, const float *lg, double *margin)
{
	int j, nv = llama_vocab_n_tokens(v);
	llama_token best = -1;
	double b1 = -INFINITY, b2 = -INFINITY;

	for (j = 0; j < nv; j++) {
		if (llama_vocab_is_eog(v, j))
			continue;
		if (lg[j] > b1) {
			b2 = b1;
			b1 = lg[j];
			best = j;
		} else if (lg[j] > b2) {
			b2 = lg[j];
		}
	}
	*margin = b1 - b2;
	return best;
}

static int ref_tokenize(const struct llama_vocab *v, const char *text, llama_token *out)
{
	int n = llama_tokenize(v, text, (int)strlen(text), out, 256, true, true);

	assert_true(n > 0);
	return n;
}

/* Greedy generation of prompt, one sequence, one token per decode, as the backend's single
 * sequence does; the text of the leading tokens chosen by a clear margin. */
static void greedy_ref(struct llama_model *m, const char *prompt, struct greedy_ref *g)
{
	const struct llama_vocab *v = llama_model_get_vocab(m);
	struct llama_context *c = ref_ctx(m, 1);
	struct llama_batch batch = llama_batch_init(256, 0, 1);
	llama_token toks[256], tok;
	bool clear = true;
	double margin;
	char piece[256];
	int n, i, s, k;

	memset(g, 0, sizeof(*g));
	g->min_margin = INFINITY;
	n = ref_tokenize(v, prompt, toks);
	for (i = 0; i < n; i++) {
		batch.token[i] = toks[i];
		batch.pos[i] = i;
		batch.n_seq_id[i] = 1;
		batch.seq_id[i][0] = 0;
		batch.logits[i] = i == n - 1;
	}
	batch.n_tokens = n;
	assert_int_equal(llama_decode(c, batch), 0);
	for (s = 0; s < REF_STEPS; s++) {
		tok = top_token(v, llama_get_logits_ith(c, -1), &margin);
		if (margin < g->min_margin)
			g->min_margin = margin;
		clear = clear && margin >= CLEAR_MARGIN;
		if (clear) {
			k = llama_token_to_piece(v, tok, piece, sizeof(piece), 0, false);
			assert_true(k >= 0 && g->text_len + (size_t)k < sizeof(g->text));
			memcpy(g->text + g->text_len, piece, (size_t)k);
			g->text_len += (size_t)k;
			g->n_clear++;
		}
		batch.token[0] = tok;
		batch.pos[0] = n + s;
		batch.n_seq_id[0] = 1;
		batch.seq_id[0][0] = 0;
		batch.logits[0] = 1;
		batch.n_tokens = 1;
		assert_int_equal(llama_decode(c, batch), 0);
	}
	llama_batch_free(batch);
	llama_free(c);
}

static double max_abs_diff(const float *a, const float *b, int n)
{
	double d = 0;
	int j;

	for (j = 0; j < n; j++)
		if (fabs((double)a[j] - b[j]) > d)
			d = fabs((double)a[j] - b[j]);
	return d;
}
#endif

/* The same prompt alone and in a batch of four sequences (prompt step, then one token of each
 * sequence per decode): its logits differ by rounding only, within LOGIT_TOL. */
static void batch_shape_moves_logits_within_a_tolerance(void **state)
{
#ifdef LB_HAVE_LLAMA
	struct llama_model *m;
	const struct llama_vocab *v;
	struct llama_context *c1, *c4;
	struct llama_batch batch;
	llama_token toks[4][256], next;
	int n[4], i, j, k, nv, last0 = 0;
	float *l1;
	double margin, d_prompt, d_step;

	(void)state;
	NEED_MODEL();
	assert_int_equal(llama_common_init(NULL), 0);
	m = llama_model_load_from_file(model_path(), llama_model_default_params());
	assert_non_null(m);
	v = llama_model_get_vocab(m);
	nv = llama_vocab_n_tokens(v);
	l1 = malloc((size_t)nv * sizeof(float));
	assert_non_null(l1);
	batch = llama_batch_init(1024, 0, 4);
	for (i = 0; i < 4; i++)
		n[i] = ref_tokenize(v, prompts4[i], toks[i]);

	/* prompt 0 alone */
	c1 = ref_ctx(m, 1);
	for (j = 0; j < n[0]; j++) {
		batch.token[j] = toks[0][j];
		batch.pos[j] = j;
		batch.n_seq_id[j] = 1;
		batch.seq_id[j][0] = 0;
		batch.logits[j] = j == n[0] - 1;
	}
	batch.n_tokens = n[0];
	assert_int_equal(llama_decode(c1, batch), 0);
	memcpy(l1, llama_get_logits_ith(c1, -1), (size_t)nv * sizeof(float));

	/* the four prompts in one batch */
	c4 = ref_ctx(m, 4);
	k = 0;
	for (i = 0; i < 4; i++)
		for (j = 0; j < n[i]; j++, k++) {
			batch.token[k] = toks[i][j];
			batch.pos[k] = j;
			batch.n_seq_id[k] = 1;
			batch.seq_id[k][0] = i;
			batch.logits[k] = j == n[i] - 1;
			if (i == 0 && j == n[0] - 1)
				last0 = k;
		}
	batch.n_tokens = k;
	assert_int_equal(llama_decode(c4, batch), 0);
	d_prompt = max_abs_diff(l1, llama_get_logits_ith(c4, last0), nv);

	/* one generated token: alone, and with one token of every sequence */
	next = top_token(v, l1, &margin);
	batch.token[0] = next;
	batch.pos[0] = n[0];
	batch.n_seq_id[0] = 1;
	batch.seq_id[0][0] = 0;
	batch.logits[0] = 1;
	batch.n_tokens = 1;
	assert_int_equal(llama_decode(c1, batch), 0);
	memcpy(l1, llama_get_logits_ith(c1, 0), (size_t)nv * sizeof(float));
	for (i = 0; i < 4; i++) {
		batch.token[i] = i ? toks[i][0] : next;
		batch.pos[i] = n[i];
		batch.n_seq_id[i] = 1;
		batch.seq_id[i][0] = i;
		batch.logits[i] = 1;
	}
	batch.n_tokens = 4;
	assert_int_equal(llama_decode(c4, batch), 0);
	d_step = max_abs_diff(l1, llama_get_logits_ith(c4, 0), nv);
	printf("batch shape: max |logit difference| %.3g (prompt), %.3g (one token); "
	       "tolerance %.3g\n", d_prompt, d_step, LOGIT_TOL);
	assert_true(d_prompt <= LOGIT_TOL);
	assert_true(d_step <= LOGIT_TOL);
	llama_batch_free(batch);
	llama_free(c1);
	llama_free(c4);
	free(l1);
	llama_model_free(m);
#else
	(void)state;
	skip();
#endif
}

/* Across batch shapes (one sequence, four together) the greedy tokens are the same while the top
 * logit wins by a clear margin; after the first close call they may part, as llama.cpp allows. */
static void greedy_across_batch_shapes_agrees_where_the_top_logit_is_clear(void **state)
{
#ifdef LB_HAVE_LLAMA
	struct llama_model *m;
	struct greedy_ref *ref;
	struct backend b;
	struct request r[4];
	struct ev_log l[4], one;
	int i, compared = 0;

	(void)state;
	NEED_MODEL();
	ref = calloc(4, sizeof(*ref));
	assert_non_null(ref);
	assert_int_equal(llama_common_init(NULL), 0);
	m = llama_model_load_from_file(model_path(), llama_model_default_params());
	assert_non_null(m);
	for (i = 0; i < 4; i++) {
		greedy_ref(m, prompts4[i], &ref[i]);
		compared += ref[i].n_clear;
		printf("'%s': %d of %d greedy tokens won by >= %.3g (smallest margin %.3g)\n",
		       prompts4[i], ref[i].n_clear, REF_STEPS, CLEAR_MARGIN, ref[i].min_margin);
	}
	llama_model_free(m);
	/* a check that compares nothing is no check: the prompts give clear leads */
	assert_true(compared >= 4);

	open_backend(&b, 1, 256);
	for (i = 0; i < 4; i++) {
		generate(&b, prompts4[i], REF_STEPS, &one);
		assert_true(one.text_len >= ref[i].text_len);
		assert_memory_equal(one.text, ref[i].text, ref[i].text_len);
	}
	backend_close(&b);

	open_backend(&b, 4, 256);
	for (i = 0; i < 4; i++)
		init_req(&r[i], &l[i], (uint64_t)i, prompts4[i], REF_STEPS);
	run_all(&b, r, l, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(l[i].fail, LB_FAIL_NONE);
		assert_true(l[i].text_len >= ref[i].text_len);
		assert_memory_equal(l[i].text, ref[i].text, ref[i].text_len);
	}
	backend_close(&b);
	free(ref);
#else
	(void)state;
	skip();
#endif
}

/* Greedy output depends on the batch shape (llama.cpp promises the same output only for the same
 * batch shape and threads: other shapes take other CPU kernels and round differently). Same
 * shape, same threads: identical text, run after run. */
static void greedy_is_deterministic_for_the_same_batch_shape(void **state)
{
	struct backend b1, b4;
	struct ev_log a, c, l[4], m[4];
	struct request r[4];
	int i;

	(void)state;
	NEED_MODEL();
	open_backend(&b1, 1, 256);
	generate(&b1, "I like to eat", 16, &a);
	generate(&b1, "I like to eat", 16, &c);
	assert_int_equal(a.text_len, c.text_len);
	assert_memory_equal(a.text, c.text, a.text_len);
	backend_close(&b1);

	/* four sequences decoded together, twice, on two fresh backends: the same text per slot */
	open_backend(&b4, 4, 256);
	for (i = 0; i < 4; i++)
		init_req(&r[i], &l[i], (uint64_t)i, prompts4[i], 16 + 4 * i);
	run_all(&b4, r, l, 4);
	/* the 4 requests ran together: their first tokens came from the same decode steps */
	assert_true(l[0].t[1] <= l[3].t[l[3].n - 1] && l[3].t[1] <= l[0].t[l[0].n - 1]);
	backend_close(&b4);
	open_backend(&b4, 4, 256);
	for (i = 0; i < 4; i++)
		init_req(&r[i], &m[i], (uint64_t)i, prompts4[i], 16 + 4 * i);
	run_all(&b4, r, m, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(l[i].fail, LB_FAIL_NONE);
		assert_int_equal(m[i].fail, LB_FAIL_NONE);
		assert_int_equal(l[i].usage_completion, 16 + 4 * i);
		assert_int_equal(l[i].text_len, m[i].text_len);
		assert_memory_equal(l[i].text, m[i].text, l[i].text_len);
	}
	backend_close(&b4);
}

static void seeded_sampling_is_reproducible(void **state)
{
	struct backend b;
	struct request r;
	struct ev_log x, y;

	(void)state;
	NEED_MODEL();
	open_backend(&b, 1, 256);
	init_req(&r, &x, 1, "Tell me a story", 24);
	r.gen.temperature = 1.0;
	r.gen.top_k = 40;
	r.gen.top_p = 0.95;
	r.gen.seed = 1234;
	run_all(&b, &r, &x, 1);
	init_req(&r, &y, 2, "Tell me a story", 24);
	r.gen.temperature = 1.0;
	r.gen.top_k = 40;
	r.gen.top_p = 0.95;
	r.gen.seed = 1234;
	run_all(&b, &r, &y, 1);
	assert_int_equal(x.text_len, y.text_len);
	assert_memory_equal(x.text, y.text, x.text_len);
	backend_close(&b);
}

static void too_long_prompt_fails_that_request_only(void **state)
{
	struct backend b;
	struct request r[2];
	struct ev_log l[2];
	int32_t ids[300];
	int i;

	(void)state;
	NEED_MODEL();
	open_backend(&b, 2, 256);
	for (i = 0; i < 300; i++)
		ids[i] = 100 + i;
	init_req(&r[0], &l[0], 1, NULL, 4);
	r[0].prompt_ids = ids;
	r[0].n_prompt_ids = 300;
	init_req(&r[1], &l[1], 2, "A short prompt", 4);
	run_all(&b, r, l, 2);
	assert_int_equal(l[0].fail, LB_FAIL_BACKEND);
	assert_non_null(strstr(l[0].err, "300 tokens"));
	assert_non_null(strstr(l[0].err, "256"));
	assert_int_equal(l[1].fail, LB_FAIL_NONE);
	assert_int_equal(l[1].usage_completion, 4);
	backend_close(&b);
}

static void cancel_queued_and_running(void **state)
{
	struct backend b;
	struct request r[2];
	struct ev_log l[2];
	struct lb_error err = LB_ERROR_INIT;
	int polls = 0;

	(void)state;
	NEED_MODEL();
	open_backend(&b, 1, 256);
	init_req(&r[0], &l[0], 1, "first", 50);
	init_req(&r[1], &l[1], 2, "second", 50);
	assert_int_equal(b.ops->submit(&b, &r[0], &err), 0);
	assert_int_equal(b.ops->submit(&b, &r[1], &err), 0);
	b.ops->cancel(&b, &r[1]); /* still queued */
	assert_true(l[1].done);
	assert_int_equal(l[1].fail, LB_FAIL_CANCELLED);
	while (count_kind(&l[0], LB_EV_TOKENS) < 2 && polls++ < 1000)
		assert_true(b.ops->poll(&b, 0, &err) >= 0);
	b.ops->cancel(&b, &r[0]); /* generating */
	assert_true(l[0].done);
	assert_int_equal(l[0].fail, LB_FAIL_CANCELLED);
	assert_int_equal(b.ops->poll(&b, 0, &err), 0);
	/* the sequence is free and clean: a new request gives the same tokens as on a fresh one */
	generate(&b, "first", 6, &l[1]);
	backend_close(&b);
}

static void chat_messages_are_served(void **state)
{
	struct backend b;
	struct request r;
	struct ev_log l;

	(void)state;
	NEED_MODEL();
	open_backend(&b, 1, 256);
	init_req(&r, &l, 1, NULL, 4);
	r.messages_json = "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
			  "{\"role\":\"user\",\"content\":\"Hello there\"}]";
	run_all(&b, &r, &l, 1);
	assert_int_equal(l.fail, LB_FAIL_NONE);
	assert_int_equal(l.usage_completion, 4);
	assert_true(l.usage_prompt > 4);
	init_req(&r, &l, 2, NULL, 4);
	r.messages_json = "{\"role\":\"user\"}";
	run_all(&b, &r, &l, 1);
	assert_int_equal(l.fail, LB_FAIL_BACKEND);
	assert_non_null(strstr(l.err, "array"));
	backend_close(&b);
}

#ifdef LB_HAVE_LLAMA
/* log p(tokens[n_ctx..]) computed directly: one llama_decode of everything, logits at each
 * position, log-softmax in double. */
static double direct_loglik(const char *ctx_text, const char *cont, int *n_cont, bool *greedy)
{
	struct llama_model_params mp = llama_model_default_params();
	struct llama_context_params cp = llama_context_default_params();
	struct llama_model *m = llama_model_load_from_file(model_path(), mp);
	const struct llama_vocab *v;
	struct llama_context *c;
	struct llama_batch batch;
	llama_token tc[512], ta[512];
	char all[1024];
	int nc, na, i, nv;
	double sum = 0;

	assert_non_null(m);
	v = llama_model_get_vocab(m);
	nv = llama_vocab_n_tokens(v);
	snprintf(all, sizeof(all), "%s%s", ctx_text, cont);
	nc = llama_tokenize(v, ctx_text, (int)strlen(ctx_text), tc, 512, true, false);
	na = llama_tokenize(v, all, (int)strlen(all), ta, 512, true, false);
	assert_true(nc > 0 && na > nc);
	cp.n_ctx = 512;
	cp.n_batch = 512;
	cp.n_ubatch = 512;
	cp.n_threads = cp.n_threads_batch = 1;
	c = llama_init_from_model(m, cp);
	assert_non_null(c);
	batch = llama_batch_init(512, 0, 1);
	for (i = 0; i < na; i++) {
		batch.token[i] = ta[i];
		batch.pos[i] = i;
		batch.n_seq_id[i] = 1;
		batch.seq_id[i][0] = 0;
		batch.logits[i] = 1;
	}
	batch.n_tokens = na;
	assert_int_equal(llama_decode(c, batch), 0);
	*greedy = true;
	for (i = nc - 1; i < na - 1; i++) {
		const float *lg = llama_get_logits_ith(c, i);
		double mx = lg[0], s = 0;
		int j, am = 0;

		for (j = 1; j < nv; j++)
			if (lg[j] > mx) {
				mx = lg[j];
				am = j;
			}
		for (j = 0; j < nv; j++)
			s += exp(lg[j] - mx);
		sum += lg[ta[i + 1]] - mx - log(s);
		if (am != ta[i + 1])
			*greedy = false;
	}
	*n_cont = na - nc;
	llama_batch_free(batch);
	llama_free(c);
	llama_model_free(m);
	return sum;
}
#endif

static void loglik_matches_a_direct_computation(void **state)
{
#ifdef LB_HAVE_LLAMA
	struct backend b;
	struct loglik_query q = { 0 };
	struct loglik_result res;
	struct lb_error err = LB_ERROR_INIT;
	const char *ctx = "The capital of France is", *cont = " Paris, a city on the Seine.";
	double want;
	int n_want;
	bool greedy;

	(void)state;
	NEED_MODEL();
	open_backend(&b, 2, 256);
	q.context = ctx;
	q.context_len = strlen(ctx);
	q.continuation = cont;
	q.continuation_len = strlen(cont);
	assert_int_equal(b.ops->loglik(&b, &q, &res, &err), 0);
	want = direct_loglik(ctx, cont, &n_want, &greedy);
	assert_int_equal(res.n_tokens, n_want);
	assert_int_equal(res.n_bytes, strlen(cont));
	assert_true(res.sum_logprob < 0);
	assert_true(fabs(res.sum_logprob - want) <= 1e-3 * fabs(want) + 1e-3);
	assert_int_equal(res.greedy, greedy);
	/* and again: the sequence was emptied after the first query */
	assert_int_equal(b.ops->loglik(&b, &q, &res, &err), 0);
	assert_true(fabs(res.sum_logprob - want) <= 1e-3 * fabs(want) + 1e-3);
	backend_close(&b);
#else
	(void)state;
	skip();
#endif
}

static void bench_timings_are_positive(void **state)
{
	struct backend b;
	struct llamacpp_info info;
	struct lb_error err = LB_ERROR_INIT;
	uint64_t rng = 99, ns = 0;

	(void)state;
	NEED_MODEL();
	open_backend(&b, 1, 256);
	assert_int_equal(llamacpp_info(&b, &info, &err), 0);
	assert_true(info.n_params > 0 && info.size_bytes > 0 && info.n_vocab > 0);
	assert_int_equal(llamacpp_bench_pp(&b, 64, &rng, &ns, &err), 0);
	assert_true(ns > 0);
	assert_int_equal(llamacpp_bench_tg(&b, 4, &rng, &ns, &err), 0);
	assert_true(ns > 0);
	assert_int_equal(llamacpp_bench_pp(&b, 1000, &rng, &ns, &err), LB_ERR_USAGE);
	backend_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(missing_model_is_a_clear_error),
		cmocka_unit_test(cpu_variant_is_the_one_asked_for),
		cmocka_unit_test(events_come_in_order_with_exact_counts),
		cmocka_unit_test(max_tokens_and_stop_strings),
		cmocka_unit_test(greedy_is_deterministic_for_the_same_batch_shape),
		cmocka_unit_test(batch_shape_moves_logits_within_a_tolerance),
		cmocka_unit_test(greedy_across_batch_shapes_agrees_where_the_top_logit_is_clear),
		cmocka_unit_test(seeded_sampling_is_reproducible),
		cmocka_unit_test(too_long_prompt_fails_that_request_only),
		cmocka_unit_test(cancel_queued_and_running),
		cmocka_unit_test(chat_messages_are_served),
		cmocka_unit_test(loglik_matches_a_direct_computation),
		cmocka_unit_test(bench_timings_are_positive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
