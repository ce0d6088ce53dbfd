/* test_llamacpp.c: the in-process llama.cpp backend on a real (tiny, generated) GGUF model.
 *
 * LLMBENCH_TEST_MODEL names the model; without it (or without llama.cpp built in) every test
 * is skipped, except those that need no model. tests/integration/i0200-llamacpp-backend.sh
 * generates models of each family and runs this program on each. */
#include "../../backends/backend.h"
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

static void greedy_is_deterministic_across_runs_and_parallelism(void **state)
{
	struct backend b1, b4;
	struct ev_log a, c, l[4];
	struct request r[4];
	const char *prompts[4] = { "I like to eat", "The capital of France is",
				   "I like to eat", "1, 2, 3, 4," };
	int i;

	(void)state;
	NEED_MODEL();
	open_backend(&b1, 1, 256);
	generate(&b1, "I like to eat", 16, &a);
	generate(&b1, "I like to eat", 16, &c);
	assert_int_equal(a.text_len, c.text_len);
	assert_memory_equal(a.text, c.text, a.text_len);
	backend_close(&b1);

	open_backend(&b4, 4, 256);
	for (i = 0; i < 4; i++)
		init_req(&r[i], &l[i], (uint64_t)i, prompts[i], 16 + 4 * i);
	run_all(&b4, r, l, 4);
	for (i = 0; i < 4; i += 2) {
		assert_int_equal(l[i].fail, LB_FAIL_NONE);
		assert_true(l[i].text_len >= a.text_len);
		assert_memory_equal(l[i].text, a.text, a.text_len); /* same prompt, same tokens */
	}
	/* the 4 requests ran together: their first tokens came from the same decode steps */
	assert_true(l[0].t[1] <= l[3].t[l[3].n - 1] && l[3].t[1] <= l[0].t[l[0].n - 1]);
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
		cmocka_unit_test(events_come_in_order_with_exact_counts),
		cmocka_unit_test(max_tokens_and_stop_strings),
		cmocka_unit_test(greedy_is_deterministic_across_runs_and_parallelism),
		cmocka_unit_test(seeded_sampling_is_reproducible),
		cmocka_unit_test(too_long_prompt_fails_that_request_only),
		cmocka_unit_test(cancel_queued_and_running),
		cmocka_unit_test(chat_messages_are_served),
		cmocka_unit_test(loglik_matches_a_direct_computation),
		cmocka_unit_test(bench_timings_are_positive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
