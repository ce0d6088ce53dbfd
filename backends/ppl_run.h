/* ppl_run.h: llama.cpp's perplexity (and KL divergence) of a GGUF model on a text, run
 * in-process; the arithmetic is metrics/ppl.h's. LB_ERR_UNSUPPORTED without llama.cpp. */
#ifndef LB_PPL_RUN_H
#define LB_PPL_RUN_H

#include "../metrics/ppl.h"

/* ---- running it on a model (backends/ppl_run.c; LB_ERR_UNSUPPORTED without llama.cpp) ---- */

struct ppl_config {
	const char *model_path;   /* GGUF */
	const char *text_path;    /* the text; one final newline is dropped, as llama.cpp does */
	const char *kl_base_path; /* NULL: no KLD; else the base (F16/F32) of the same model */
	int n_ctx;                /* tokens per chunk; 0: 512 (llama-perplexity's default) */
	int n_batch;              /* 0: 2048; chunks decoded together: max(1, n_batch / n_ctx) */
	int n_chunks;             /* <= 0: every whole chunk of the text */
	int threads;              /* <= 0: all cores */
	/* Optional progress: called after each group of chunks. */
	void (*progress)(void *user, int chunks_done, int chunks_total);
	void *progress_user;
};

struct ppl_result {
	char method[96];     /* "llama.cpp perplexity: ..." */
	char bos_policy[64]; /* "bos overwrites the first token of each chunk" or "no bos" */
	int n_ctx, n_batch, n_seq;
	bool add_bos;
	int n_chunks;         /* chunks scored */
	size_t n_text_tokens; /* tokens of the whole text */
	size_t n_scored;      /* scored tokens: n_chunks * (n_ctx - n_ctx/2 - 1) */
	uint64_t scored_bytes;
	double ppl, ppl_err;
	double nll_mean;
	double bpb; /* bits per byte */
	double seconds;
	bool has_kld;
	struct kld_result kld; /* when has_kld */
};

/* Run the perplexity (and, with kl_base_path, the KLD) of cfg->model_path on cfg->text_path.
 * Input errors are LB_ERR_USAGE with a clear message: missing/corrupt GGUF, n_ctx larger than
 * the model's n_ctx_train, a text shorter than 2*n_ctx tokens (saying how many it has), a
 * base with another vocabulary. Nothing is written anywhere. */
int ppl_run(const struct ppl_config *cfg, struct ppl_result *out, struct lb_error *err);

#endif
