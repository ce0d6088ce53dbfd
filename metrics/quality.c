/* quality.c: answer-quality scores (see quality.h). */
#include "quality.h"

#include "../base/alloc.h"
#include "stats.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

void quality_prop(double k, double n, double z, struct quality_est *out)
{
	out->n = n;
	if (n <= 0) {
		out->value = out->lo = out->hi = NAN;
		return;
	}
	out->value = k / n;
	stats_wilson(k, n, z, &out->lo, &out->hi);
	/* exact at the ends (the formula leaves rounding noise of ~1e-17 there) */
	if (k <= 0)
		out->lo = 0;
	if (k >= n)
		out->hi = 1;
}

static double harmonic(double a, double b)
{
	if (isnan(a) || isnan(b))
		return NAN;
	if (a + b <= 0)
		return 0;
	return 2 * a * b / (a + b);
}

void quality_qa_scores(const struct qa_tally *t, double z, struct qa_scores *out)
{
	double n = (double)t->correct + (double)t->incorrect + (double)t->not_attempted;
	double att = (double)t->correct + (double)t->incorrect;

	quality_prop((double)t->correct, n, z, &out->correct);
	quality_prop((double)t->incorrect, n, z, &out->incorrect);
	quality_prop((double)t->not_attempted, n, z, &out->not_attempted);
	quality_prop((double)t->incorrect, att, z, &out->hallucination_rate);
	quality_prop((double)t->correct, att, z, &out->accuracy_given_attempted);
	out->f.n = n;
	out->f.value = harmonic(out->correct.value, out->accuracy_given_attempted.value);
	out->f.lo = harmonic(out->correct.lo, out->accuracy_given_attempted.lo);
	out->f.hi = harmonic(out->correct.hi, out->accuracy_given_attempted.hi);
}

bool quality_mc_any_nan(const double *ll, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (isnan(ll[i]))
			return true;
	return false;
}

/* Best true and best false log-likelihoods; false when either set is empty or a value is NaN
 * (the item is then unavailable for every score: docs/quality.md, "NaN"). */
static bool best_of(const double *ll, const bool *is_true, size_t n, double *bt, double *bf)
{
	bool have_t = false, have_f = false;
	size_t i;

	*bt = *bf = -INFINITY;
	if (quality_mc_any_nan(ll, n))
		return false;
	for (i = 0; i < n; i++) {
		if (is_true[i]) {
			have_t = true;
			if (ll[i] > *bt)
				*bt = ll[i];
		} else {
			have_f = true;
			if (ll[i] > *bf)
				*bf = ll[i];
		}
	}
	return have_t && have_f;
}

double quality_mc1(const double *ll, const bool *is_true, size_t n)
{
	double bt, bf;

	if (!best_of(ll, is_true, n, &bt, &bf))
		return NAN;
	return bt > bf ? 1.0 : 0.0;
}

double quality_mc2(const double *ll, const bool *is_true, size_t n)
{
	double bt, bf, mx, st = 0, sa = 0;
	size_t i;

	if (!best_of(ll, is_true, n, &bt, &bf))
		return NAN;
	mx = bt > bf ? bt : bf;
	if (!isfinite(mx))
		return NAN; /* every choice impossible: no distribution to normalise */
	for (i = 0; i < n; i++) {
		double e = exp(ll[i] - mx);

		sa += e;
		if (is_true[i])
			st += e;
	}
	return st / sa;
}

double quality_mc3(const double *ll, const bool *is_true, size_t n)
{
	double bt, bf;
	size_t i, nt = 0, win = 0;

	if (!best_of(ll, is_true, n, &bt, &bf))
		return NAN;
	for (i = 0; i < n; i++) {
		if (!is_true[i])
			continue;
		nt++;
		if (ll[i] > bf)
			win++;
	}
	return (double)win / (double)nt;
}

double quality_mc_acc(const double *ll, const double *len, const bool *is_true, size_t n)
{
	size_t i, gold = n, best = 0;
	double bv = -INFINITY;

	if (!n || quality_mc_any_nan(ll, n))
		return NAN;
	for (i = 0; i < n; i++) {
		double v = len ? ll[i] / len[i] : ll[i];

		if (gold == n && is_true[i])
			gold = i;
		if (i == 0 || v > bv) { /* np.argmax: the first of equal maxima */
			bv = v;
			best = i;
		}
	}
	if (gold == n)
		return NAN;
	return best == gold ? 1.0 : 0.0;
}

double quality_mc2_lmeval(const double *ll, const bool *is_true, size_t n)
{
	size_t split, i;
	double mx = -INFINITY, st = 0, sa = 0;

	if (!n || quality_mc_any_nan(ll, n))
		return NAN;
	for (split = 0; split < n && is_true[split]; split++)
		;
	if (split == n)
		return NAN; /* no false choice: list.index(0) raises in lm-eval */
	for (i = 0; i < n; i++)
		if (ll[i] > mx)
			mx = ll[i];
	if (!isfinite(mx))
		return NAN;
	for (i = 0; i < n; i++) {
		double e = exp(ll[i] - mx);

		sa += e;
		if (i < split)
			st += e;
	}
	return st / sa;
}

/* ---- SelfCheckGPT unigram ---------------------------------------------------------------- */

struct uni_entry {
	char *word; /* owned */
	size_t len;
	long count;
};

struct unigram {
	struct uni_entry *v; /* open addressing, power of two */
	size_t cap, n;
	long total;
};

static uint64_t hash_word(const char *w, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)w[i];
		h *= 1099511628211ull;
	}
	return h;
}

static struct uni_entry *uni_find(struct unigram *u, const char *w, size_t len)
{
	size_t i = (size_t)hash_word(w, len) & (u->cap - 1);

	while (u->v[i].word && (u->v[i].len != len || memcmp(u->v[i].word, w, len)))
		i = (i + 1) & (u->cap - 1);
	return &u->v[i];
}

static int uni_grow(struct unigram *u)
{
	struct unigram nu = { 0 };
	size_t i;

	nu.cap = u->cap ? u->cap * 2 : 256;
	nu.v = lb_calloc(nu.cap, sizeof(*nu.v));
	if (!nu.v)
		return LB_ERR_NOMEM;
	for (i = 0; i < u->cap; i++)
		if (u->v[i].word)
			*uni_find(&nu, u->v[i].word, u->v[i].len) = u->v[i];
	nu.n = u->n;
	nu.total = u->total;
	lb_free(u->v);
	*u = nu;
	return 0;
}

static void uni_release(struct unigram *u)
{
	size_t i;

	for (i = 0; i < u->cap; i++)
		lb_free(u->v[i].word);
	lb_free(u->v);
	memset(u, 0, sizeof(*u));
}

static bool word_byte(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

/* Next lower-cased token from s[*pos..len) into buf (truncated at cap-1); 0 at the end. */
static size_t next_token(const char *s, size_t len, size_t *pos, char *buf, size_t cap,
			 size_t *start)
{
	size_t i = *pos, n = 0;

	while (i < len && !word_byte((unsigned char)s[i]))
		i++;
	*start = i;
	while (i < len && word_byte((unsigned char)s[i])) {
		if (n + 1 < cap)
			buf[n++] = (char)tolower((unsigned char)s[i]);
		i++;
	}
	*pos = i;
	buf[n] = 0;
	return n;
}

static int uni_add_text(struct unigram *u, const char *s)
{
	char buf[128];
	size_t pos = 0, len = s ? strlen(s) : 0, n, start;

	while ((n = next_token(s, len, &pos, buf, sizeof(buf), &start))) {
		struct uni_entry *e;

		if ((u->n + 1) * 2 > u->cap && uni_grow(u))
			return LB_ERR_NOMEM;
		e = uni_find(u, buf, n);
		if (!e->word) {
			e->word = lb_strndup(buf, n);
			if (!e->word)
				return LB_ERR_NOMEM;
			e->len = n;
			u->n++;
		}
		e->count++;
		u->total++;
	}
	return 0;
}

/* End of the sentence that starts at i: after . ! ? followed by white space, or at a new line. */
static size_t sentence_end(const char *s, size_t len, size_t i)
{
	for (; i < len; i++) {
		if (s[i] == '\n')
			return i + 1;
		if ((s[i] == '.' || s[i] == '!' || s[i] == '?') &&
		    (i + 1 == len || isspace((unsigned char)s[i + 1])))
			return i + 1;
	}
	return len;
}

void selfcheck_result_release(struct selfcheck_result *r)
{
	if (!r)
		return;
	lb_free(r->sent_avg);
	lb_free(r->sent_max);
	memset(r, 0, sizeof(*r));
}

int quality_selfcheck_ngram(const char *answer, const char *const *samples, size_t n_samples,
			    struct selfcheck_result *out, struct lb_error *err)
{
	struct unigram u = { 0 };
	size_t len = answer ? strlen(answer) : 0, i, at, cap = 0;
	double doc_sum = 0, max_sum = 0;
	long doc_n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = uni_add_text(&u, answer);
	for (i = 0; !rc && i < n_samples; i++)
		rc = uni_add_text(&u, samples[i]);
	if (rc)
		goto fail;
	for (at = 0; at < len;) {
		size_t end = sentence_end(answer, len, at), pos = at, n, start;
		double sum = 0, mx = 0;
		long cnt = 0;
		char buf[128];

		while ((n = next_token(answer, end, &pos, buf, sizeof(buf), &start))) {
			const struct uni_entry *e = uni_find(&u, buf, n);
			double nlp = -log((double)e->count / (double)u.total);

			sum += nlp;
			if (!cnt || nlp > mx)
				mx = nlp;
			cnt++;
		}
		at = end;
		if (!cnt)
			continue;
		if (out->n_sentences == cap) {
			size_t nc = cap ? cap * 2 : 8;
			double *a = lb_realloc(out->sent_avg, nc * sizeof(*a)), *m;

			if (!a)
				goto nomem;
			out->sent_avg = a;
			m = lb_realloc(out->sent_max, nc * sizeof(*m));
			if (!m)
				goto nomem;
			out->sent_max = m;
			cap = nc;
		}
		out->sent_avg[out->n_sentences] = sum / (double)cnt;
		out->sent_max[out->n_sentences] = mx;
		out->n_sentences++;
		doc_sum += sum;
		doc_n += cnt;
		max_sum += mx;
	}
	out->avg_neg_logprob = doc_n ? doc_sum / (double)doc_n : NAN;
	out->avg_max_neg_logprob = out->n_sentences ? max_sum / (double)out->n_sentences : NAN;
	uni_release(&u);
	return 0;
nomem:
	rc = LB_ERR_NOMEM;
fail:
	uni_release(&u);
	selfcheck_result_release(out);
	return lb_error_set(err, rc, "out of memory scoring self-consistency");
}

void quality_agreement(const int *a, const int *b, size_t n, double z, struct quality_est *out)
{
	double k = 0, m = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (a[i] < 0 || b[i] < 0)
			continue;
		m++;
		k += a[i] == b[i];
	}
	quality_prop(k, m, z, out);
}

double quality_mcnemar_p(long b, long c)
{
	long n = b + c, k = b < c ? b : c, i;
	double lp, sum = 0, p;

	if (n <= 0)
		return 1.0;
	/* P(X <= k) for X ~ Binomial(n, 1/2), summed in log space */
	for (i = 0; i <= k; i++) {
		lp = lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
		     (double)n * log(2.0);
		sum += exp(lp);
	}
	p = 2 * sum;
	return p > 1 ? 1 : p;
}
