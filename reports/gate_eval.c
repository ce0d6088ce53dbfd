/* gate_eval.c: the verdict of each gate test (threshold, welch, history, interval, mcnemar) and
 * the smallest worsening each statistical test could have detected with its data (gate.h;
 * definitions: docs/ci.md). */
#include "gate.h"

#include "../metrics/stats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEF_CONF_INTERVAL 0.95

/* ---- statistics ---- */

double gate_mcnemar_p(long b, long c)
{
	long n = b + c, k = b < c ? b : c, i;
	double sum = 0;

	if (b < 0 || c < 0)
		return NAN;
	if (!n)
		return 1;
	/* P(X <= k), X ~ Bin(n, 1/2), in logs to stay finite for large n */
	for (i = 0; i <= k; i++)
		sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) -
			   lgamma((double)(n - i) + 1) - (double)n * log(2.0));
	sum *= 2;
	return sum > 1 ? 1 : sum;
}

double gate_z(double confidence)
{
	/* Student's t with a huge df is the normal distribution */
	return stats_t_quantile(1 - (1 - confidence) / 2, 1e9);
}

double gate_prediction_bound(double mean, double sd, size_t n, double confidence, enum gate_dir dir)
{
	double t, half;

	if (n < 2 || isnan(mean) || isnan(sd))
		return NAN;
	t = stats_t_quantile(confidence, (double)n - 1);
	half = t * sd * sqrt(1 + 1 / (double)n);
	return dir == GATE_LOWER_IS_BETTER ? mean + half : mean - half;
}

/* One-sided p-value of a t statistic in the bad direction (t > 0 is worse). */
static double p_upper(double t, double df)
{
	double p2 = stats_t_pvalue(t, df);

	if (isnan(p2))
		return NAN;
	return t > 0 ? p2 / 2 : 1 - p2 / 2;
}

/* Worsening of cand against base: > 0 is worse, in the metric's unit. */
static double worse_by(enum gate_dir dir, double base, double cand)
{
	return dir == GATE_LOWER_IS_BETTER ? cand - base : base - cand;
}

static double rel_of(double worse, double base)
{
	if (base != 0)
		return worse / fabs(base);
	return worse > 0 ? INFINITY : worse < 0 ? -INFINITY : 0;
}

/* The value past which a candidate is a regression by threshold and minimum effect. */
static double threshold_limit(enum gate_dir dir, double base, double thr, double min_effect)
{
	double d = thr * fabs(base);

	if (d < min_effect)
		d = min_effect;
	return dir == GATE_LOWER_IS_BETTER ? base + d : base - d;
}

static bool beyond(double worse, double rel, double thr, double min_effect)
{
	return worse > 0 && rel > thr && worse >= min_effect;
}

/* Record the smallest detectable worsening mde (absolute) and whether it is larger than the
 * rule's own limit max(thr * |baseline|, min_effect) when that limit is > 0. */
static void set_mde(const struct gate_rule *r, double thr, double base, double mde,
		    struct gate_verdict *v)
{
	double lim = thr * fabs(base);

	if (isnan(mde))
		return;
	if (lim < r->min_effect)
		lim = r->min_effect;
	v->mde = mde;
	v->mde_rel = base != 0 ? mde / fabs(base) : mde > 0 ? INFINITY : 0;
	v->undetectable = v->status == GATE_PASS && lim > 0 && mde > lim;
}

static void eval_threshold(const struct gate_rule *r, double thr, struct gate_verdict *v,
			   const char *why)
{
	double worse = worse_by(r->dir, v->baseline, v->observed);

	v->test = GATE_THRESHOLD;
	v->rel = rel_of(worse, v->baseline);
	v->limit = threshold_limit(r->dir, v->baseline, thr, r->min_effect);
	if (beyond(worse, v->rel, thr, r->min_effect)) {
		v->status = GATE_FAIL;
		if (isinf(v->rel)) /* from a baseline of 0: no relative change to speak of */
			snprintf(
				v->note, sizeof(v->note),
				"%.4g worse than a baseline of 0, at least the minimum effect %g%s%s",
				worse, r->min_effect, why ? "; " : "", why ? why : "");
		else
			snprintf(v->note, sizeof(v->note),
				 "%.1f%% worse, beyond the %.0f%% threshold%s%s", 100 * v->rel,
				 100 * thr, why ? "; " : "", why ? why : "");
	} else {
		snprintf(v->note, sizeof(v->note), "within the %.0f%% threshold%s%s", 100 * thr,
			 why ? "; " : "", why ? why : "");
	}
}

static void eval_welch(const struct gate_rule *r, const struct gate_input *in,
		       struct gate_verdict *v)
{
	const struct gate_side *b = &in->base, *c = &in->cand;
	double worse = worse_by(r->dir, b->mean, c->mean), t, df, p2, mde;

	v->test = GATE_WELCH;
	v->rel = rel_of(worse, b->mean);
	v->limit = threshold_limit(r->dir, b->mean, r->threshold, r->min_effect);
	stats_welch(c->mean, c->sd, c->n, b->mean, b->sd, b->n, &t, &df, &p2);
	{
		/* the critical difference: the smallest worsening with p < alpha */
		double vc = c->sd * c->sd / c->n, vb = b->sd * b->sd / b->n, se = sqrt(vc + vb);
		double wdf = (vc + vb) * (vc + vb) / (vc * vc / (c->n - 1) + vb * vb / (b->n - 1));

		if (isnan(se))
			mde = NAN; /* no spread known: nothing to say */
		else if (!(se > 0))
			mde = 0;
		else
			mde = stats_t_quantile(1 - r->alpha, wdf) * se;
	}
	if (isnan(t)) {
		/* no spread on either side: any difference is certain */
		v->stat = NAN;
		v->p = worse > 0 ? 0 : 1;
	} else {
		v->stat = r->dir == GATE_LOWER_IS_BETTER ? t : -t;
		v->p = p_upper(v->stat, df);
	}
	if (v->p < r->alpha && beyond(worse, v->rel, r->threshold, r->min_effect)) {
		v->status = GATE_FAIL;
		snprintf(v->note, sizeof(v->note), "%.1f%% worse (p = %.3g < %g, %d vs %d reps)",
			 100 * v->rel, v->p, r->alpha, c->n, b->n);
	} else if (v->p < r->alpha && worse > 0) {
		snprintf(v->note, sizeof(v->note),
			 "%.1f%% worse, significant but within the %.0f%% "
			 "threshold",
			 100 * v->rel, 100 * r->threshold);
	} else {
		snprintf(v->note, sizeof(v->note),
			 "no significant worsening (p = %.3g, %d vs %d reps)", v->p, c->n, b->n);
	}
	set_mde(r, r->threshold, b->mean, mde, v);
}

static void eval_history(const struct gate_rule *r, const struct gate_input *in,
			 struct gate_verdict *v)
{
	double m, sd, se, worse, lim_pi, lim_thr;
	size_t n = in->n_history;
	bool outside;

	stats_mean_sd(in->history, n, &m, &sd);
	v->test = GATE_HISTORY;
	v->baseline = m;
	worse = worse_by(r->dir, m, v->observed);
	v->rel = rel_of(worse, m);
	lim_pi = gate_prediction_bound(m, sd, n, r->confidence, r->dir);
	lim_thr = threshold_limit(r->dir, m, r->threshold, r->min_effect);
	se = sd * sqrt(1 + 1 / (double)n);
	if (se > 0) {
		v->stat = worse / se;
		v->p = p_upper(v->stat, (double)n - 1);
		outside = worse_by(r->dir, lim_pi, v->observed) > 0;
	} else {
		v->stat = NAN;
		v->p = worse > 0 ? 0 : 1;
		outside = worse > 0;
	}
	/* the limit shown is the stricter of the two conditions */
	v->limit = r->dir == GATE_LOWER_IS_BETTER ? fmax(lim_pi, lim_thr) : fmin(lim_pi, lim_thr);
	if (outside && beyond(worse, v->rel, r->threshold, r->min_effect)) {
		v->status = GATE_FAIL;
		snprintf(v->note, sizeof(v->note),
			 "outside the %.0f%% prediction interval of %zu runs "
			 "(bound %.4g), %.1f%% worse",
			 100 * r->confidence, n, lim_pi, 100 * v->rel);
	} else {
		snprintf(v->note, sizeof(v->note),
			 "%s the %.0f%% prediction interval of %zu runs "
			 "(bound %.4g)%s",
			 outside ? "outside" : "inside", 100 * r->confidence, n, lim_pi,
			 outside ? " but within the threshold" : "");
	}
	set_mde(r, r->threshold, m, se > 0 ? fabs(lim_pi - m) : 0, v);
}

static void eval_interval(const struct gate_rule *r, const struct gate_input *in,
			  struct gate_verdict *v)
{
	const struct gate_side *b = &in->base, *c = &in->cand;
	double worse = worse_by(r->dir, b->mean, c->mean), z = gate_z(DEF_CONF_INTERVAL);
	double se_b = (b->hi - b->lo) / (2 * z), se_c = (c->hi - c->lo) / (2 * z), se;
	bool disjoint;

	v->test = GATE_INTERVAL;
	v->rel = rel_of(worse, b->mean);
	if (r->dir == GATE_LOWER_IS_BETTER) {
		disjoint = c->lo > b->hi;
		v->limit = b->hi;
	} else {
		disjoint = c->hi < b->lo;
		v->limit = b->lo;
	}
	se = sqrt(se_b * se_b + se_c * se_c);
	if (se > 0) {
		v->stat = worse / se;
		v->p = 0.5 * erfc(v->stat / sqrt(2.0));
	} else {
		v->stat = NAN;
		v->p = worse > 0 ? 0 : 1;
	}
	if (disjoint && beyond(worse, v->rel, r->threshold, r->min_effect)) {
		v->status = GATE_FAIL;
		snprintf(v->note, sizeof(v->note),
			 "intervals disjoint: [%.4g, %.4g] vs baseline "
			 "[%.4g, %.4g]",
			 c->lo, c->hi, b->lo, b->hi);
	} else {
		snprintf(v->note, sizeof(v->note),
			 "intervals %s: [%.4g, %.4g] vs baseline [%.4g, %.4g]",
			 disjoint ? "disjoint but within the threshold" : "overlap", c->lo, c->hi,
			 b->lo, b->hi);
	}
	/* the candidate interval, of its width, clears the baseline's past this worsening */
	set_mde(r, r->threshold, b->mean, (b->hi - b->lo) / 2 + (c->hi - c->lo) / 2, v);
}

static void eval_mcnemar(const struct gate_rule *r, const struct gate_input *in,
			 struct gate_verdict *v)
{
	long b = in->mc_worse, c = in->mc_better, n = in->mc_pairs;
	double eff = n ? (double)(b - c) / (double)n : 0, p2 = gate_mcnemar_p(b, c);

	v->test = GATE_MCNEMAR;
	v->stat = b + c ? pow(fabs((double)(b - c)) - 1 > 0 ? fabs((double)(b - c)) - 1 : 0, 2) /
				  (double)(b + c)
			: 0;
	v->p = b > c ? p2 / 2 : 1; /* one-sided: only a worse candidate counts */
	if (!isnan(v->baseline) && !isnan(v->observed))
		v->rel = rel_of(worse_by(r->dir, v->baseline, v->observed), v->baseline);
	v->limit = NAN;
	if (b > c && v->p < r->alpha && eff >= r->min_effect &&
	    (isnan(v->rel) || v->rel > r->threshold)) {
		v->status = GATE_FAIL;
		snprintf(v->note, sizeof(v->note),
			 "%ld items got worse, %ld better of %ld paired "
			 "(p = %.3g < %g)",
			 b, c, n, v->p, r->alpha);
	} else {
		snprintf(v->note, sizeof(v->note),
			 "%ld items got worse, %ld better of %ld paired "
			 "(p = %.3g)",
			 b, c, n, v->p);
	}
	/* the smallest b (right -> wrong) that would have been significant given the c observed */
	{
		double mde = INFINITY;
		long k;

		for (k = c + 1; k + c <= n; k++)
			if (gate_mcnemar_p(k, c) / 2 < r->alpha) {
				mde = (double)(k - c) / (double)n;
				break;
			}
		if (!isnan(v->baseline))
			set_mde(r, r->threshold, v->baseline, mde, v);
		else
			set_mde(r, 0, 1, mde, v); /* no accuracy: the effect alone */
	}
}

void gate_evaluate(const struct gate_rule *r, const struct gate_input *in, struct gate_verdict *v)
{
	enum gate_test t = r->test;
	bool have_b = !isnan(in->base.mean), have_c = !isnan(in->cand.mean);

	memset(v, 0, sizeof(*v));
	v->status = GATE_PASS;
	v->observed = in->cand.mean;
	v->baseline = in->base.mean;
	v->rel = v->limit = v->p = v->stat = v->mde = v->mde_rel = NAN;
	if (t == GATE_AUTO) {
		if (in->n_history >= 2)
			t = GATE_HISTORY;
		else if (in->base.n >= 2 && in->cand.n >= 2)
			t = GATE_WELCH;
		else
			t = GATE_THRESHOLD;
	}
	v->test = t;
	if (t == GATE_MCNEMAR) {
		if (in->mc_pairs <= 0) {
			v->status = GATE_SKIP;
			snprintf(v->note, sizeof(v->note),
				 "unavailable: no items graded in both runs (per-item eval table)");
			return;
		}
		eval_mcnemar(r, in, v);
		return;
	}
	if (!have_c || (t == GATE_HISTORY ? in->n_history == 0 && !have_b : !have_b)) {
		v->status = GATE_SKIP;
		snprintf(v->note, sizeof(v->note), "unavailable in the %s",
			 !have_c ? "candidate" : "baseline");
		return;
	}
	switch (t) {
	case GATE_WELCH:
		if (in->base.n >= 2 && in->cand.n >= 2)
			eval_welch(r, in, v);
		else
			eval_threshold(r, r->fallback_threshold, v,
				       "welch needs 2 repetitions on each side");
		break;
	case GATE_HISTORY:
		if (in->n_history >= 2) {
			eval_history(r, in, v);
		} else {
			if (in->n_history == 1)
				v->baseline = in->history[0];
			eval_threshold(r, r->fallback_threshold, v,
				       "a prediction interval needs 2 earlier runs");
		}
		break;
	case GATE_INTERVAL:
		if (!isnan(in->base.lo) && !isnan(in->base.hi) && !isnan(in->cand.lo) &&
		    !isnan(in->cand.hi))
			eval_interval(r, in, v);
		else
			eval_threshold(r, r->fallback_threshold, v, "no interval stored");
		break;
	default:
		if (r->test == GATE_THRESHOLD)
			eval_threshold(r, r->threshold, v, NULL);
		else
			eval_threshold(r, r->fallback_threshold, v,
				       in->n_history == 1 ? "one earlier run"
							  : "fewer than 2 repetitions");
		break;
	}
}
