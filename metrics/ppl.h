/* ppl.h: perplexity and KL divergence as llama.cpp's llama-perplexity computes them
 * (tools/perplexity/perplexity.cpp, tag v0.5.0), and the entry point that runs them on a GGUF
 * model (ppl_run, declared in backends/ppl_run.h; it needs llama.cpp).
 *
 * The pure part (log-softmax, accumulators, percentiles) works on logits given by the caller
 * and has no dependency on llama.cpp; the definitions are ../docs/metrics.md's (METRICS.md). */
#ifndef LB_PPL_H
#define LB_PPL_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* log p(tok) under softmax(logits[0..n)), with max subtraction, float exp and a double sum,
 * exactly as llama-perplexity's log_softmax: logits[tok] - max - log(sum exp(l - max)). */
double ppl_log_softmax(const float *logits, int n_vocab, int tok);

/* Index of the largest logit (the first on ties). */
int ppl_argmax(const float *logits, int n_vocab);

/* Sums of the negative log-likelihoods of scored tokens. */
struct ppl_acc {
	double sum_nll;
	double sum_nll2;
	size_t count;
	uint64_t bytes; /* bytes of the scored tokens' text (for bits per byte) */
};

void ppl_acc_add(struct ppl_acc *a, double nll, size_t bytes);
/* PPL = exp(mean NLL); *err = PPL * sqrt((mean(NLL^2) - mean(NLL)^2) / (N - 1)), or NAN (no
 * estimate: unavailable, never 0) when the variance is not positive or N < 2 (llama.cpp then
 * prints no estimate either). */
void ppl_acc_result(const struct ppl_acc *a, double *ppl, double *err);
/* sum NLL / (ln 2 * bytes); 0 bytes gives NAN. */
double ppl_acc_bpb(const struct ppl_acc *a);

/* llama.cpp's mean_and_uncertainty: mean = sum/n, unc = sqrt((sum2/n - mean^2)/(n-1)) when
 * positive and n > 10, else 0. */
void ppl_mean_unc(double sum, double sum2, size_t n, double *mean, double *unc);

/* Percentile of sorted[0..n) by linear interpolation at fraction*(n-1) (llama.cpp, numpy);
 * fraction <= 0 gives the minimum, >= 1 the maximum. n must be > 0. */
double ppl_percentile(const double *sorted, size_t n, double fraction);
/* Median as llama.cpp prints it (mean of the two middle values when n is even). */
double ppl_median(const double *sorted, size_t n);

/* KL divergence of a quantized model Q from its base P, one scored token at a time. */
struct kld_acc {
	double sum_nll, sum_nll2;           /* Q */
	double sum_nll_base, sum_nll_base2; /* P */
	double sum_nll_nll_base;
	double sum_kld, sum_kld2;
	double sum_p_diff, sum_p_diff2, sum_p_diff4;
	double max_p_diff;
	size_t n_same_top;
	size_t count;
	double *kld_values; /* per token, lb_malloc'd, grown by kld_acc_add */
	double *p_diff_values;
	size_t cap;
};

void kld_acc_init(struct kld_acc *a);
void kld_acc_release(struct kld_acc *a);
/* Add one token: logits_q and logits_p over n_vocab, tok the actual next token.
 * KLD = sum_i p_i (log p_i - log q_i) over the terms with log p_i > -16 (llama.cpp skips the
 * rest); same top when both argmaxes agree; dp = q(tok) - p(tok). LB_ERR_NOMEM only. */
int kld_acc_add(struct kld_acc *a, const float *logits_q, const float *logits_p, int n_vocab,
		int tok, struct lb_error *err);

#define KLD_N_PCT 11

struct kld_result {
	size_t count;
	double kld_mean, kld_unc;
	/* max, 99.9, 99, 95, 90, median, 10, 5, 1, 0.1, min (kld_pct_names) */
	double kld_pct[KLD_N_PCT];
	double p_diff_mean, p_diff_unc; /* mean dp, fractions (not %) */
	double p_diff_rms, p_diff_rms_unc;
	double max_abs_p_diff;
	double same_top, same_top_unc; /* fraction, binomial error sqrt(p(1-p)/(n-1)) */
	double ppl_q, ppl_q_unc, ppl_base, ppl_base_unc;
	double log_ppl_ratio, log_ppl_ratio_unc; /* ln(PPL(Q)/PPL(base)), covariance-aware */
	double ppl_ratio, ppl_ratio_unc;
	double ppl_diff, ppl_diff_unc;
	double log_ppl_cor; /* correlation of ln PPL(Q) and ln PPL(base) */
};

extern const char *const kld_pct_names[KLD_N_PCT]; /* "max", "99.9", ..., "min" */

/* Compute the summary; sorts a's value arrays in place. a->count must be > 0. */
void kld_acc_result(struct kld_acc *a, struct kld_result *out);

#endif
