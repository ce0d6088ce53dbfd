/* llamacpp.h: what the in-process llama.cpp backend offers beyond struct backend_ops: facts
 * about the loaded model and its decode step timed in llama-bench's terms (pp N, tg N), so
 * that `llmbench bench-model` measures the very llama_decode calls that serve requests.
 *
 * Each function takes a backend opened with type "llamacpp" and fails with
 * LB_ERR_UNSUPPORTED on any other backend or when llama.cpp is not built in. The timing
 * functions need an idle backend (no request queued or in flight) and leave its memory empty. */
#ifndef LB_LLAMACPP_H
#define LB_LLAMACPP_H

#include "backend.h"

#include <stdint.h>

struct llamacpp_info {
	char desc[128];      /* llama_model_desc(): "llama ?B F16" */
	char arch[32];       /* general.architecture */
	char vocab[64];      /* tokenizer name used in "tokenizer:<vocab>" */
	char backend[32];    /* compute backends as llama-bench names them ("CPU") */
	uint64_t size_bytes; /* weights */
	uint64_t n_params;
	int32_t n_vocab;
	int32_t bos;    /* token a prompt starts with when the vocabulary adds BOS, else -1 */
	int threads;    /* decode threads in use */
	int n_ctx;      /* per sequence, as enforced on requests */
	int n_batch;    /* tokens per llama_decode at most */
	int n_parallel; /* sequences decoded together */
};

/* The training context of the GGUF model at path (<arch>.context_length), read from its header
 * without loading it; the most n_ctx a llamacpp backend accepts for it. LB_ERR_USAGE for a
 * missing or corrupt file or one without the key. */
int llamacpp_train_ctx(const char *path, int *n_ctx_train, struct lb_error *err);

/* Fill *out. This function can't fail on an open llamacpp backend. */
int llamacpp_info(struct backend *b, struct llamacpp_info *out, struct lb_error *err);

/* One pp test as llama-bench runs it: clear the memory, then decode n tokens on one sequence
 * in chunks of n_batch (the first is BOS when the vocabulary adds one, the rest pseudo-random
 * from *rng), then wait for the device; *ns is the time taken. */
int llamacpp_bench_pp(struct backend *b, int n, uint64_t *rng, uint64_t *ns, struct lb_error *err);

/* One tg test as llama-bench runs it: clear the memory, then n single-token decodes (BOS
 * first when the vocabulary adds one, then pseudo-random tokens); *ns is the time taken. */
int llamacpp_bench_tg(struct backend *b, int n, uint64_t *rng, uint64_t *ns, struct lb_error *err);

/* The pseudo-random token generator the timing functions use (xorshift64*), exposed so that
 * callers can build random prompts the same way. *rng must not be 0. */
uint64_t llamacpp_rand(uint64_t *rng);

#endif
