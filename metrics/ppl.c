/* ppl.c: perplexity and KL divergence math, after llama.cpp's tools/perplexity. */
#include "ppl.h"

#include "../base/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const kld_pct_names[KLD_N_PCT] = {
	"max", "99.9", "99", "95", "90", "median", "10", "5", "1", "0.1", "min",
};

static float max_logit(const float *logits, int n_vocab)
{
	float m = logits[0];
	int i;

	for (i = 1; i < n_vocab; i++)
		if (logits[i] > m)
			m = logits[i];
	return m;
}

/* log(sum exp(l - max)) the way llama.cpp sums: float exps into a double. */
static double log_sum_exp(const float *logits, int n_vocab, float max)
{
	double sum = 0.0;
	int i;

	for (i = 0; i < n_vocab; i++)
		sum += expf(logits[i] - max);
	return log(sum);
}

double ppl_log_softmax(const float *logits, int n_vocab, int tok)
{
	float max = max_logit(logits, n_vocab);

	/* As llama-perplexity: (float)(logits[tok] - max) - (double)log(sum_exp). */
	return (double)(logits[tok] - max) - log_sum_exp(logits, n_vocab, max);
}

int ppl_argmax(const float *logits, int n_vocab)
{
	int i, best = 0;

	for (i = 1; i < n_vocab; i++)
		if (logits[i] > logits[best])
			best = i;
	return best;
}

void ppl_acc_add(struct ppl_acc *a, double nll, size_t bytes)
{
	a->sum_nll += nll;
	a->sum_nll2 += nll * nll;
	a->count++;
	a->bytes += bytes;
}

void ppl_acc_result(const struct ppl_acc *a, double *ppl, double *err)
{
	double mean, var;

	if (!a->count) {
		*ppl = NAN;
		*err = NAN;
		return;
	}
	mean = a->sum_nll / (double)a->count;
	var = a->sum_nll2 / (double)a->count - mean * mean;
	*ppl = exp(mean);
	*err = var > 0 && a->count > 1 ? *ppl * sqrt(var / (double)(a->count - 1)) : NAN;
}

double ppl_acc_bpb(const struct ppl_acc *a)
{
	if (!a->bytes)
		return NAN;
	return a->sum_nll / (M_LN2 * (double)a->bytes);
}

void ppl_mean_unc(double sum, double sum2, size_t n, double *mean, double *unc)
{
	double f, df;

	if (n < 1) {
		*mean = 0;
		*unc = 0;
		return;
	}
	f = sum / (double)n;
	df = sum2 / (double)n - f * f;
	*mean = f;
	*unc = df > 0 && n > 10 ? sqrt(df / (double)(n - 1)) : 0.0;
}

double ppl_percentile(const double *sorted, size_t n, double fraction)
{
	double p;
	size_t ip;

	if (fraction <= 0)
		return sorted[0];
	if (fraction >= 1)
		return sorted[n - 1];
	p = fraction * (double)(n - 1);
	ip = (size_t)p;
	p -= (double)ip;
	return (1 - p) * sorted[ip] + p * sorted[ip + 1 < n ? ip + 1 : n - 1];
}

double ppl_median(const double *sorted, size_t n)
{
	if (n % 2 == 0)
		return 0.5 * (sorted[n / 2] + sorted[n / 2 - 1]);
	return sorted[n / 2];
}

void kld_acc_init(struct kld_acc *a)
{
	memset(a, 0, sizeof(*a));
}

void kld_acc_release(struct kld_acc *a)
{
	lb_free(a->kld_values);
	lb_free(a->p_diff_values);
	kld_acc_init(a);
}

int kld_acc_add(struct kld_acc *a, const float *logits_q, const float *logits_p, int n_vocab,
		int tok, struct lb_error *err)
{
	float max_q = max_logit(logits_q, n_vocab), max_p = max_logit(logits_p, n_vocab);
	double lse_q = log_sum_exp(logits_q, n_vocab, max_q);
	double lse_p = log_sum_exp(logits_p, n_vocab, max_p);
	double nll, nll_base, kld = 0, p_diff;
	int i;

	if (a->count == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		double *k = lb_realloc(a->kld_values, cap * sizeof(*k));

		if (!k)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory for KLD values");
		a->kld_values = k;
		k = lb_realloc(a->p_diff_values, cap * sizeof(*k));
		if (!k)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory for KLD values");
		a->p_diff_values = k;
		a->cap = cap;
	}
	nll = -((double)(logits_q[tok] - max_q) - lse_q);
	nll_base = -((double)(logits_p[tok] - max_p) - lse_p);
	for (i = 0; i < n_vocab; i++) {
		double lp = (double)(logits_p[i] - max_p) - lse_p;

		if (lp > -16.0) {
			double lq = (double)(logits_q[i] - max_q) - lse_q;

			kld += exp(lp) * (lp - lq);
		}
	}
	p_diff = exp(-nll) - exp(-nll_base);

	a->sum_nll += nll;
	a->sum_nll2 += nll * nll;
	a->sum_nll_base += nll_base;
	a->sum_nll_base2 += nll_base * nll_base;
	a->sum_nll_nll_base += nll * nll_base;
	a->sum_kld += kld;
	a->sum_kld2 += kld * kld;
	a->sum_p_diff += p_diff;
	a->sum_p_diff2 += p_diff * p_diff;
	a->sum_p_diff4 += p_diff * p_diff * p_diff * p_diff;
	if (fabs(p_diff) > a->max_p_diff)
		a->max_p_diff = fabs(p_diff);
	if (ppl_argmax(logits_q, n_vocab) == ppl_argmax(logits_p, n_vocab))
		a->n_same_top++;
	a->kld_values[a->count] = kld;
	a->p_diff_values[a->count] = p_diff;
	a->count++;
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* llama.cpp's covariance of the two mean log-likelihoods. */
static double covariance(double suma, double sumb, double sumab, size_t n)
{
	double n_d = (double)n, v;

	if (n < 10)
		return 0.0;
	v = sumab / n_d - (suma / n_d) * (sumb / n_d);
	return v / (n_d - 1);
}

void kld_acc_result(struct kld_acc *a, struct kld_result *o)
{
	static const double fr[KLD_N_PCT] = { 1,    0.999, 0.99, 0.95,  0.90, -1,
					      0.10, 0.05,  0.01, 0.001, 0 };
	double lq, uq, lb, ub, cov, mse, mse_unc;
	size_t n = a->count, i;

	memset(o, 0, sizeof(*o));
	o->count = n;
	if (!n)
		return;
	qsort(a->kld_values, n, sizeof(double), cmp_double);
	qsort(a->p_diff_values, n, sizeof(double), cmp_double);
	ppl_mean_unc(a->sum_kld, a->sum_kld2, n, &o->kld_mean, &o->kld_unc);
	for (i = 0; i < KLD_N_PCT; i++)
		o->kld_pct[i] = fr[i] < 0 ? ppl_median(a->kld_values, n)
					  : ppl_percentile(a->kld_values, n, fr[i]);
	ppl_mean_unc(a->sum_p_diff, a->sum_p_diff2, n, &o->p_diff_mean, &o->p_diff_unc);
	ppl_mean_unc(a->sum_p_diff2, a->sum_p_diff4, n, &mse, &mse_unc);
	o->p_diff_rms = sqrt(mse);
	o->p_diff_rms_unc = o->p_diff_rms > 0 ? 0.5 / o->p_diff_rms * mse_unc : 0.0;
	o->max_abs_p_diff = a->max_p_diff;
	o->same_top = (double)a->n_same_top / (double)n;
	o->same_top_unc = n > 1 ? sqrt(o->same_top * (1.0 - o->same_top) / (double)(n - 1)) : 0.0;

	ppl_mean_unc(a->sum_nll, a->sum_nll2, n, &lq, &uq);
	ppl_mean_unc(a->sum_nll_base, a->sum_nll_base2, n, &lb, &ub);
	cov = covariance(a->sum_nll, a->sum_nll_base, a->sum_nll_nll_base, n);
	o->ppl_q = exp(lq);
	o->ppl_q_unc = o->ppl_q * uq;
	o->ppl_base = exp(lb);
	o->ppl_base_unc = o->ppl_base * ub;
	o->log_ppl_cor = uq > 0 && ub > 0 ? cov / (uq * ub) : 0.0;
	o->log_ppl_ratio = lq - lb;
	o->log_ppl_ratio_unc = sqrt(fmax(0.0, uq * uq + ub * ub - 2.0 * cov));
	o->ppl_ratio = exp(o->log_ppl_ratio);
	o->ppl_ratio_unc = o->ppl_ratio * o->log_ppl_ratio_unc;
	o->ppl_diff = o->ppl_q - o->ppl_base;
	o->ppl_diff_unc =
		sqrt(fmax(0.0, o->ppl_q_unc * o->ppl_q_unc + o->ppl_base_unc * o->ppl_base_unc -
				       2.0 * o->ppl_q * o->ppl_base * cov));
}
