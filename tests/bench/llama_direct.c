/* llama_direct.c: the reference for `make bench` — a minimal llama.cpp decode loop, written as
 * llama-bench's test_prompt/test_gen are: pp N is one model pass over N pseudo-random tokens
 * (in chunks of --batch, BOS first when the vocabulary adds one), tg N is N single-token
 * decodes, each test repeated after a warm-up run, printed as mean ± stddev tokens/s.
 * It shares no code with llmbench: scripts/bench-model.sh compares the two.
 *
 * usage: llama_direct --model F [--threads N] [-p N] [-n N] [-r REPS] [--batch N] [--ctx N]
 * Output, one line per test: "pp512 <mean t/s> <stddev t/s> <samples t/s ...>". */
#include <ggml-backend.h>
#include <llama.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void quiet(enum ggml_log_level level, const char *text, void *user)
{
	(void)user;
	if (level == GGML_LOG_LEVEL_ERROR)
		fputs(text, stderr);
}

static int test_prompt(struct llama_context *ctx, int n_prompt, int n_batch)
{
	const struct llama_vocab *vocab = llama_model_get_vocab(llama_get_model(ctx));
	int32_t n_vocab = llama_vocab_n_tokens(vocab);
	llama_token *tokens = malloc((size_t)n_batch * sizeof(*tokens));
	int done = 0, i;

	if (!tokens)
		return -1;
	while (done < n_prompt) {
		int k = n_prompt - done < n_batch ? n_prompt - done : n_batch;

		tokens[0] = done == 0 && llama_vocab_get_add_bos(vocab) ? llama_vocab_bos(vocab)
								       : rand() % n_vocab;
		for (i = 1; i < k; i++)
			tokens[i] = rand() % n_vocab;
		if (llama_decode(ctx, llama_batch_get_one(tokens, k))) {
			free(tokens);
			return -1;
		}
		done += k;
	}
	llama_synchronize(ctx);
	free(tokens);
	return 0;
}

static int test_gen(struct llama_context *ctx, int n_gen)
{
	const struct llama_vocab *vocab = llama_model_get_vocab(llama_get_model(ctx));
	int32_t n_vocab = llama_vocab_n_tokens(vocab);
	llama_token token =
		llama_vocab_get_add_bos(vocab) ? llama_vocab_bos(vocab) : rand() % n_vocab;
	int i;

	for (i = 0; i < n_gen; i++) {
		if (llama_decode(ctx, llama_batch_get_one(&token, 1)))
			return -1;
		llama_synchronize(ctx);
		token = rand() % n_vocab;
	}
	return 0;
}

static int run(struct llama_context *ctx, int n_prompt, int n_gen, int n_batch, int reps)
{
	double *ts = calloc((size_t)reps, sizeof(*ts)), mean = 0, var = 0;
	int r;

	if (!ts)
		return -1;
	/* warm-up, as llama-bench: a whole pp run, or one generated token */
	llama_memory_clear(llama_get_memory(ctx), false);
	if (n_prompt ? test_prompt(ctx, n_prompt, n_batch) : test_gen(ctx, 1))
		goto fail;
	for (r = 0; r < reps; r++) {
		uint64_t t0;

		llama_memory_clear(llama_get_memory(ctx), false);
		t0 = now_ns();
		if (n_prompt ? test_prompt(ctx, n_prompt, n_batch) : test_gen(ctx, n_gen))
			goto fail;
		ts[r] = 1e9 * (n_prompt + n_gen) / (double)(now_ns() - t0);
		mean += ts[r];
	}
	mean /= reps;
	for (r = 0; r < reps; r++)
		var += (ts[r] - mean) * (ts[r] - mean);
	printf("%s%d %.4f %.4f", n_prompt ? "pp" : "tg", n_prompt ? n_prompt : n_gen, mean,
	       reps > 1 ? sqrt(var / (reps - 1)) : NAN);
	for (r = 0; r < reps; r++)
		printf(" %.4f", ts[r]);
	printf("\n");
	free(ts);
	return 0;
fail:
	fprintf(stderr, "llama_direct: llama_decode failed\n");
	free(ts);
	return -1;
}

int main(int argc, char **argv)
{
	const char *model = NULL, *libdir = getenv("LLAMA_LIBDIR");
	int threads = 0, n_prompt = 512, n_gen = 128, reps = 5, n_batch = 512, n_ctx = 0, i, rc = 0;
	struct llama_model_params mp;
	struct llama_context_params cp;
	struct llama_model *m;
	struct llama_context *ctx;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--model"))
			model = argv[i + 1];
		else if (!strcmp(argv[i], "--threads") || !strcmp(argv[i], "-t"))
			threads = (int)strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "-p"))
			n_prompt = (int)strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "-n"))
			n_gen = (int)strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "-r"))
			reps = (int)strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--batch") || !strcmp(argv[i], "-b"))
			n_batch = (int)strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--ctx"))
			n_ctx = (int)strtol(argv[i + 1], NULL, 10);
		else
			break;
	}
	if (!model || i != argc || reps < 1 || n_batch < 1 || n_prompt < 0 || n_gen < 0) {
		fprintf(stderr,
			"usage: llama_direct --model F [--threads N] [-p N] [-n N] [-r REPS] "
			"[--batch N] [--ctx N]\n");
		return 2;
	}
	if (threads <= 0)
		threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n_ctx <= 0)
		n_ctx = n_prompt > n_gen ? n_prompt : n_gen;
	llama_log_set(quiet, NULL);
	if (libdir)
		ggml_backend_load_all_from_path(libdir);
	else
		ggml_backend_load_all();
	llama_backend_init();
	mp = llama_model_default_params();
	m = llama_model_load_from_file(model, mp);
	if (!m) {
		fprintf(stderr, "llama_direct: cannot load '%s'\n", model);
		return 2;
	}
	cp = llama_context_default_params();
	cp.n_ctx = (uint32_t)n_ctx;
	cp.n_batch = (uint32_t)n_batch;
	cp.n_ubatch = (uint32_t)n_batch;
	cp.n_threads = threads;
	cp.n_threads_batch = threads;
	ctx = llama_init_from_model(m, cp);
	if (!ctx) {
		fprintf(stderr, "llama_direct: cannot create a context\n");
		llama_model_free(m);
		return 3;
	}
	srand(1);
	if (n_prompt && run(ctx, n_prompt, 0, n_batch, reps))
		rc = 3;
	if (!rc && n_gen && run(ctx, 0, n_gen, n_batch, reps))
		rc = 3;
	llama_free(ctx);
	llama_model_free(m);
	llama_backend_free();
	return rc;
}
