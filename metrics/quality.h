/* quality.h: answer-quality scores (METRICS.md, "Hallucination and answer quality"), pure
 * functions over counts, log-likelihoods and texts; no I/O, no regexes (grade.h grades).
 *
 * - QA with abstention: fractions of correct / incorrect / not attempted, hallucination rate
 *   = incorrect / attempted, accuracy given attempted, F; each with a Wilson interval.
 * - TruthfulQA MC1 / MC2 / MC3 from per-choice sums of token log-probabilities.
 * - SelfCheckGPT's n-gram (unigram, unsmoothed) consistency of an answer with N samples.
 * - Agreement rate of two graders; McNemar's exact test for two models on paired items. */
#ifndef LB_QUALITY_H
#define LB_QUALITY_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>

#define QUALITY_Z95 1.959963984540054 /* two-sided 95% normal quantile */

/* A proportion with its interval; value NAN (and lo/hi NAN) when n == 0. */
struct quality_est {
	double value, lo, hi;
	double n; /* the denominator */
};

/* Wilson interval of k of n at z (stats_wilson); NAN figures when n == 0. */
void quality_prop(double k, double n, double z, struct quality_est *out);

struct qa_tally {
	long correct, incorrect, not_attempted;
};

struct qa_scores {
	struct quality_est correct, incorrect, not_attempted; /* over all graded items */
	struct quality_est hallucination_rate;       /* incorrect / (correct + incorrect) */
	struct quality_est accuracy_given_attempted; /* correct / (correct + incorrect) */
	/* F = harmonic mean of `correct` and accuracy given attempted; lo/hi are F of the two
	 * parts' Wilson bounds (F grows with both), NAN when either part is undefined */
	struct quality_est f;
};

/* Scores of a tally at z. This function can't fail. */
void quality_qa_scores(const struct qa_tally *t, double z, struct qa_scores *out);

/* TruthfulQA multiple choice, from ll[i] = sum of token log-probabilities of choice i (natural
 * log) and is_true[i]. Each is NAN when there is no true or no false choice.
 * MC1: 1 when the best true choice beats every false one (strictly), else 0 (for the mc1_targets
 * set, which has exactly one true choice). MC2: sum exp(ll true) / sum exp(ll all), computed with
 * log-sum-exp. MC3: the share of true choices that beat the best false one. */
double quality_mc1(const double *ll, const bool *is_true, size_t n);
double quality_mc2(const double *ll, const bool *is_true, size_t n);
double quality_mc3(const double *ll, const bool *is_true, size_t n);
/* lm-evaluation-harness's multiple-choice acc (len NULL) and acc_norm (len[i] = the length of
 * choice i in characters, without the leading space): 1 when np.argmax of ll[i] (/ len[i]),
 * the first of equal maxima, is the gold choice (the first true one), else 0. */
double quality_mc_acc(const double *ll, const double *len, const bool *is_true, size_t n);
/* lm-evaluation-harness's process_results_mc2 (truthfulqa_mc2): the choices before the first
 * false one are the true ones; sum exp(ll true) / sum exp(ll all). NAN when no choice is
 * false (lm-eval raises there). */
double quality_mc2_lmeval(const double *ll, const bool *is_true, size_t n);
/* NaN rule for every MC score: an item with any NaN log-likelihood is unavailable for all of
 * them (each function above returns NAN then); true when ll has a NaN. */
bool quality_mc_any_nan(const double *ll, size_t n);

/* SelfCheckGPT n-gram, n = 1: a unigram model without smoothing over the tokens (lower-cased
 * words: runs of letters, digits and bytes >= 0x80) of the answer and the samples; per sentence
 * of the answer (split after . ! ? followed by space, and at new lines) the mean and the max of
 * -log p(token). Higher means less supported by the samples. */
struct selfcheck_result {
	size_t n_sentences;         /* sentences with at least one token */
	double *sent_avg;           /* owned, n_sentences: mean -log p per sentence */
	double *sent_max;           /* owned, n_sentences: max -log p per sentence */
	double avg_neg_logprob;     /* over every token of the answer (doc level); NAN if none */
	double avg_max_neg_logprob; /* mean of sent_max; NAN if no sentence */
};

/* On error (no memory) out is left empty. An answer without tokens gives NAN scores. */
int quality_selfcheck_ngram(const char *answer, const char *const *samples, size_t n_samples,
			    struct selfcheck_result *out, struct lb_error *err);
void selfcheck_result_release(struct selfcheck_result *r);

/* The `selfcheck_ngram` reference mode (selfcheck_ref.c): SelfCheckGPT's SelfCheckNgram(n=1,
 * lowercase=True).predict(sentences, passage, samples) with sentences the passage's own: tokens
 * as spaCy's English tokenizer cuts plain text (punctuation is a token, "isn't" is "is" "n't",
 * "3.5", "U.S." and "Dr." stay whole, white space other than one space is a token), sentences
 * split after . ! ? (and closing quotes) and at new lines (spaCy's parser decides them there: a
 * rule stands in), a unigram model with k = 0 over the lower-cased tokens of the passage and
 * the samples. Per sentence the mean and the max of -log p; avg_neg_logprob over every token of
 * the sentences, avg_max_neg_logprob the mean of the maxima. */
int quality_selfcheck_ngram_ref(const char *passage, const char *const *samples, size_t n_samples,
				struct selfcheck_result *out, struct lb_error *err);
struct selfcheck_span {
	size_t start, len;
};
struct selfcheck_tokens {
	struct selfcheck_span *v; /* owned */
	size_t n, cap;
};
/* The tokens (spans of text) and the sentences (spans, white space stripped) of the reference
 * mode. 0 or LB_ERR_NOMEM (out left empty). */
int selfcheck_tokenize(const char *text, size_t len, struct selfcheck_tokens *out);
int selfcheck_sentences(const char *text, size_t len, struct selfcheck_tokens *out);
void selfcheck_tokens_release(struct selfcheck_tokens *t);

/* Agreement of two graders over n items: items where a[i] == b[i], counting only items where
 * both are >= 0 (graded); Wilson interval. */
void quality_agreement(const int *a, const int *b, size_t n, double z, struct quality_est *out);

/* McNemar's exact test on paired items: b = items model 1 got right and model 2 wrong,
 * c = the reverse. Two-sided p-value (binomial, p = 1/2), 1 when b + c == 0. */
double quality_mcnemar_p(long b, long c);

#endif
