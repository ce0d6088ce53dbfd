/* gate.c: gate rules, their defaults and parsing, and the verdict of each test (gate.h). */
#include "gate.h"

#include "../base/alloc.h"
#include "../metrics/stats.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEF_THRESHOLD 0.15
#define DEF_FALLBACK 0.20
#define DEF_THRESHOLD_RATE 0.25
#define DEF_MIN_EFFECT_MS 1.0
#define DEF_ALPHA 0.01
#define DEF_CONF_HISTORY 0.99
#define DEF_CONF_INTERVAL 0.95

/* ---- names ---- */

static const char *const latency_bases[] = { "ttft", "tpot", "itl", "e2e", "lag", NULL };
static const char *const latency_stats[] = { "mean", "sd",  "min",  "p50", "p90",
					     "p95",  "p99", "p999", "max", NULL };
static const char *const plain_names[] = {
	"requests_ok",
	"requests_failed",
	"requests_warmup",
	"duration_s",
	"offered_rate",
	"achieved_rate",
	"request_throughput",
	"output_token_throughput",
	"total_token_throughput",
	"goodput",
	"prompt_tokens_mean",
	"output_tokens_mean",
	"decode_speed_mean",
	"harness_cpu_s",
	"harness_peak_rss_mib",
	"energy_j",
	"power_avg_w",
	"power_idle_w",
	"energy_dynamic_j",
	"j_per_output_token",
	"j_per_total_token",
	"tokens_per_j",
	"j_per_request_attributed",
	"pp_tps",
	"tg_tps",
	"pp_tps_sd",
	"tg_tps_sd",
	"ppl",
	"ppl_err",
	"bpb",
	"kld_mean",
	"kld_err",
	"kld_p99",
	"same_top_pct",
	"same_top_err_pct",
	"rms_dp_pct",
	"ppl_ratio",
	"ppl_ratio_err",
	"qa_correct",
	"qa_incorrect",
	"qa_not_attempted",
	"qa_hallucination_rate",
	"qa_accuracy_given_attempted",
	"qa_f",
	"mc1",
	"mc2",
	"mc3",
	NULL,
};
/* Metrics where a larger value is better; every other one is lower-is-better. */
static const char *const higher_names[] = {
	"requests_ok",
	"achieved_rate",
	"request_throughput",
	"output_token_throughput",
	"total_token_throughput",
	"goodput",
	"decode_speed_mean",
	"tokens_per_j",
	"pp_tps",
	"tg_tps",
	"same_top_pct",
	"qa_correct",
	"qa_accuracy_given_attempted",
	"qa_f",
	"mc1",
	"mc2",
	"mc3",
	NULL,
};
static const char *const quality_prefixes[] = { "ppl",	  "bpb", "kld_", "same_top",
						"rms_dp", "qa_", "mc",	 NULL };
static const char *const default_metrics[] = {
	"ttft_p50_ms",
	"tpot_p50_ms",
	"output_token_throughput",
	"j_per_output_token",
	"pp_tps",
	"tg_tps",
	"ppl",
	"kld_mean",
	"qa_hallucination_rate",
	"qa_correct",
	NULL,
};

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static bool has_suffix(const char *s, const char *x)
{
	size_t n = strlen(s), m = strlen(x);

	return n >= m && !strcmp(s + n - m, x);
}

static bool is_latency(const char *m)
{
	const char *const *b, *const *st;
	char buf[32];

	for (b = latency_bases; *b; b++)
		for (st = latency_stats; *st; st++) {
			snprintf(buf, sizeof(buf), "%s_%s_ms", *b, *st);
			if (!strcmp(buf, m))
				return true;
		}
	return false;
}

bool gate_metric_known(const char *m)
{
	char base[64];
	size_t n = strlen(m);

	if (in_list(plain_names, m) || is_latency(m))
		return true;
	if (has_prefix(m, "requests_failed_"))
		return true;
	/* Wilson bounds qa_*_lo / qa_*_hi and mc*_lo / _hi */
	if (n < sizeof(base) && (has_suffix(m, "_lo") || has_suffix(m, "_hi"))) {
		memcpy(base, m, n - 3);
		base[n - 3] = '\0';
		return in_list(plain_names, base);
	}
	return false;
}

const char *const *gate_default_metrics(void)
{
	return default_metrics;
}

static bool is_quality(const char *m)
{
	const char *const *p;

	for (p = quality_prefixes; *p; p++)
		if (has_prefix(m, *p))
			return true;
	return false;
}

void gate_rule_default(const char *m, struct gate_rule *out)
{
	memset(out, 0, sizeof(*out));
	out->dir = in_list(higher_names, m) ? GATE_HIGHER_IS_BETTER : GATE_LOWER_IS_BETTER;
	if (has_suffix(m, "_lo") || has_suffix(m, "_hi")) {
		char base[64];
		size_t n = strlen(m);

		if (n < sizeof(base)) {
			memcpy(base, m, n - 3);
			base[n - 3] = '\0';
			out->dir = in_list(higher_names, base) ? GATE_HIGHER_IS_BETTER
							       : GATE_LOWER_IS_BETTER;
		}
	}
	out->alpha = DEF_ALPHA;
	out->fallback_threshold = DEF_FALLBACK;
	out->from_defaults = true;
	if (is_quality(m)) {
		out->test = GATE_INTERVAL;
		out->threshold = 0;
		out->confidence = DEF_CONF_INTERVAL;
		out->fallback_threshold = 0.05;
	} else {
		out->test = GATE_AUTO;
		out->threshold = DEF_THRESHOLD;
		out->confidence = DEF_CONF_HISTORY;
		out->min_effect = has_suffix(m, "_ms") ? DEF_MIN_EFFECT_MS : 0;
		/* throughput over short runs moves most between identical runs (a stall of one
		 * request stretches the whole window): only a larger drop counts by default */
		if (out->dir == GATE_HIGHER_IS_BETTER) {
			out->threshold = DEF_THRESHOLD_RATE;
			out->fallback_threshold = DEF_THRESHOLD_RATE;
		}
	}
}

/* ---- parsing ---- */

static const struct {
	const char *name;
	enum gate_test t;
} test_names[] = {
	{ "auto", GATE_AUTO },	     { "threshold", GATE_THRESHOLD }, { "welch", GATE_WELCH },
	{ "history", GATE_HISTORY }, { "interval", GATE_INTERVAL },   { "mcnemar", GATE_MCNEMAR },
};

const char *gate_test_name(enum gate_test t)
{
	size_t i;

	for (i = 0; i < sizeof(test_names) / sizeof(test_names[0]); i++)
		if (test_names[i].t == t)
			return test_names[i].name;
	return "?";
}

const char *gate_status_name(enum gate_status s)
{
	return s == GATE_PASS ? "pass" : s == GATE_FAIL ? "fail" : "skip";
}

static int dup_key(const cJSON *obj, const char *origin, const char *where, struct lb_error *err)
{
	const cJSON *a, *b;

	for (a = obj->child; a; a = a->next)
		for (b = a->next; b; b = b->next)
			if (a->string && b->string && !strcmp(a->string, b->string))
				return lb_error_set(err, LB_ERR_USAGE,
						    "%s: %s: key '%s' given twice", origin, where,
						    a->string);
	return 0;
}

static int get_num(const cJSON *it, const char *origin, const char *path, double lo, double hi,
		   bool lo_open, double *out, struct lb_error *err)
{
	double v;

	if (!cJSON_IsNumber(it))
		return lb_error_set(err, LB_ERR_USAGE, "%s: '%s' must be a number", origin, path);
	v = it->valuedouble;
	if (!isfinite(v) || v < lo || (lo_open && v == lo) || v > hi)
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: '%s' is %g; expected a number in %s%g, %g%s", origin, path,
				    v, lo_open ? "(" : "[", lo, hi,
				    hi < 1e300 ? (hi == 1 ? ")" : "]") : "]");
	*out = v;
	return 0;
}

static int parse_rule(struct gate_rule *r, const cJSON *o, const char *origin, double alpha,
		      double conf, struct lb_error *err)
{
	static const char keys[] = "direction, test, threshold, fallback_threshold, min_effect, "
				   "alpha, confidence";
	char path[160];
	const cJSON *it;
	bool have_alpha = false, have_conf = false;
	int rc;

	gate_rule_default(o->string, r);
	r->from_defaults = false;
	if (!cJSON_IsObject(o))
		return lb_error_set(err, LB_ERR_USAGE, "%s: 'rules.%s' must be an object with %s",
				    origin, o->string, keys);
	rc = dup_key(o, origin, o->string, err);
	if (rc)
		return rc;
	for (it = o->child; it; it = it->next) {
		snprintf(path, sizeof(path), "rules.%s.%s", o->string, it->string);
		if (!strcmp(it->string, "direction")) {
			if (cJSON_IsString(it) && (!strcmp(it->valuestring, "lower") ||
						   !strcmp(it->valuestring, "lower_is_better")))
				r->dir = GATE_LOWER_IS_BETTER;
			else if (cJSON_IsString(it) &&
				 (!strcmp(it->valuestring, "higher") ||
				  !strcmp(it->valuestring, "higher_is_better")))
				r->dir = GATE_HIGHER_IS_BETTER;
			else
				return lb_error_set(err, LB_ERR_USAGE,
						    "%s: '%s' must be \"lower\" or \"higher\"",
						    origin, path);
		} else if (!strcmp(it->string, "test")) {
			size_t i, nt = sizeof(test_names) / sizeof(test_names[0]);

			for (i = 0; i < nt; i++)
				if (cJSON_IsString(it) &&
				    !strcmp(it->valuestring, test_names[i].name))
					break;
			if (i == nt)
				return lb_error_set(
					err, LB_ERR_USAGE,
					"%s: '%s' must be one of auto, threshold, welch, "
					"history, interval, mcnemar",
					origin, path);
			r->test = test_names[i].t;
		} else if (!strcmp(it->string, "threshold")) {
			rc = get_num(it, origin, path, 0, 1e300, false, &r->threshold, err);
		} else if (!strcmp(it->string, "fallback_threshold")) {
			rc = get_num(it, origin, path, 0, 1e300, false, &r->fallback_threshold,
				     err);
		} else if (!strcmp(it->string, "min_effect")) {
			rc = get_num(it, origin, path, 0, 1e300, false, &r->min_effect, err);
		} else if (!strcmp(it->string, "alpha")) {
			rc = get_num(it, origin, path, 0, 1, true, &r->alpha, err);
			have_alpha = true;
			if (!rc && r->alpha >= 1)
				rc = lb_error_set(err, LB_ERR_USAGE, "%s: '%s' must be below 1",
						  origin, path);
		} else if (!strcmp(it->string, "confidence")) {
			rc = get_num(it, origin, path, 0, 1, true, &r->confidence, err);
			have_conf = true;
			if (!rc && r->confidence >= 1)
				rc = lb_error_set(err, LB_ERR_USAGE, "%s: '%s' must be below 1",
						  origin, path);
		} else {
			return lb_error_set(err, LB_ERR_USAGE, "%s: unknown key '%s' (valid: %s)",
					    origin, path, keys);
		}
		if (rc)
			return rc;
	}
	if (!have_alpha && !isnan(alpha))
		r->alpha = alpha;
	if (!have_conf && !isnan(conf))
		r->confidence = conf;
	return 0;
}

static int rules_from_json(struct gate_rules *rs, const cJSON *g, const char *origin,
			   struct lb_error *err)
{
	static const char keys[] = "rules, defaults, alpha, confidence, description";
	const cJSON *it, *rules = NULL;
	double alpha = NAN, conf = NAN;
	size_t n = 0;
	int rc;

	if (!cJSON_IsObject(g))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: the gate section must be an object (%s)", origin, keys);
	rc = dup_key(g, origin, "gate", err);
	if (rc)
		return rc;
	rs->defaults = false;
	for (it = g->child; it; it = it->next) {
		if (!strcmp(it->string, "rules")) {
			if (!cJSON_IsObject(it))
				return lb_error_set(
					err, LB_ERR_USAGE,
					"%s: 'rules' must be an object: metric name -> rule",
					origin);
			rules = it;
		} else if (!strcmp(it->string, "defaults")) {
			if (!cJSON_IsBool(it))
				return lb_error_set(err, LB_ERR_USAGE,
						    "%s: 'defaults' must be true or false", origin);
			rs->defaults = cJSON_IsTrue(it);
		} else if (!strcmp(it->string, "alpha")) {
			rc = get_num(it, origin, "alpha", 0, 1, true, &alpha, err);
			if (!rc && alpha >= 1)
				rc = lb_error_set(err, LB_ERR_USAGE, "%s: 'alpha' must be below 1",
						  origin);
		} else if (!strcmp(it->string, "confidence")) {
			rc = get_num(it, origin, "confidence", 0, 1, true, &conf, err);
			if (!rc && conf >= 1)
				rc = lb_error_set(err, LB_ERR_USAGE,
						  "%s: 'confidence' must be below 1", origin);
		} else if (!strcmp(it->string, "description")) {
			if (!cJSON_IsString(it))
				rc = lb_error_set(err, LB_ERR_USAGE,
						  "%s: 'description' must be a string", origin);
		} else {
			return lb_error_set(err, LB_ERR_USAGE,
					    "%s: unknown key '%s' in the gate section "
					    "(valid: %s)",
					    origin, it->string, keys);
		}
		if (rc)
			return rc;
	}
	if (!rules) {
		rs->defaults = true;
		return 0;
	}
	rc = dup_key(rules, origin, "rules", err);
	if (rc)
		return rc;
	for (it = rules->child; it; it = it->next)
		n++;
	if (!n) {
		rs->defaults = true;
		return 0;
	}
	rs->v = lb_calloc(n, sizeof(*rs->v));
	if (!rs->v)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (it = rules->child; it; it = it->next) {
		struct gate_rule *r = &rs->v[rs->n];

		if (!*it->string)
			return lb_error_set(err, LB_ERR_USAGE,
					    "%s: a rule with an empty metric name", origin);
		rc = parse_rule(r, it, origin, alpha, conf, err);
		if (rc)
			return rc;
		r->metric = lb_strdup(it->string);
		if (!r->metric)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		rs->n++;
	}
	return 0;
}

int gate_rules_parse(struct gate_rules *rs, const char *text, size_t len, const char *origin,
		     bool workload, struct lb_error *err)
{
	cJSON *root;
	const cJSON *g;
	int rc;

	memset(rs, 0, sizeof(*rs));
	snprintf(rs->origin, sizeof(rs->origin), "%s", origin);
	root = cJSON_ParseWithLength(text, len);
	if (!root) {
		const char *e = cJSON_GetErrorPtr();
		long off = e && e >= text && e <= text + len ? (long)(e - text) : -1;

		return lb_error_set(err, LB_ERR_USAGE, "%s: not valid JSON (near byte %ld)", origin,
				    off);
	}
	g = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "gate") : NULL;
	if (!g && workload) {
		rs->defaults = true;
		rc = 0;
	} else {
		rc = rules_from_json(rs, g ? g : root, origin, err);
	}
	cJSON_Delete(root);
	if (rc) {
		gate_rules_release(rs);
		snprintf(rs->origin, sizeof(rs->origin), "%s", origin);
	}
	return rc;
}

void gate_rules_init_defaults(struct gate_rules *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->defaults = true;
	snprintf(rs->origin, sizeof(rs->origin), "default rules");
}

void gate_rules_release(struct gate_rules *rs)
{
	size_t i;

	if (!rs)
		return;
	for (i = 0; i < rs->n; i++)
		lb_free(rs->v[i].metric);
	lb_free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

const struct gate_rule *gate_rules_find(const struct gate_rules *rs, const char *metric)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (!strcmp(rs->v[i].metric, metric))
			return &rs->v[i];
	return NULL;
}

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

static void eval_threshold(const struct gate_rule *r, double thr, struct gate_verdict *v,
			   const char *why)
{
	double worse = worse_by(r->dir, v->baseline, v->observed);

	v->test = GATE_THRESHOLD;
	v->rel = rel_of(worse, v->baseline);
	v->limit = threshold_limit(r->dir, v->baseline, thr, r->min_effect);
	if (beyond(worse, v->rel, thr, r->min_effect)) {
		v->status = GATE_FAIL;
		snprintf(v->note, sizeof(v->note), "%.1f%% worse, beyond the %.0f%% threshold%s%s",
			 100 * v->rel, 100 * thr, why ? "; " : "", why ? why : "");
	} else {
		snprintf(v->note, sizeof(v->note), "within the %.0f%% threshold%s%s", 100 * thr,
			 why ? "; " : "", why ? why : "");
	}
}

static void eval_welch(const struct gate_rule *r, const struct gate_input *in,
		       struct gate_verdict *v)
{
	const struct gate_side *b = &in->base, *c = &in->cand;
	double worse = worse_by(r->dir, b->mean, c->mean), t, df, p2;

	v->test = GATE_WELCH;
	v->rel = rel_of(worse, b->mean);
	v->limit = threshold_limit(r->dir, b->mean, r->threshold, r->min_effect);
	stats_welch(c->mean, c->sd, c->n, b->mean, b->sd, b->n, &t, &df, &p2);
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
}

void gate_evaluate(const struct gate_rule *r, const struct gate_input *in, struct gate_verdict *v)
{
	enum gate_test t = r->test;
	bool have_b = !isnan(in->base.mean), have_c = !isnan(in->cand.mean);

	memset(v, 0, sizeof(*v));
	v->status = GATE_PASS;
	v->observed = in->cand.mean;
	v->baseline = in->base.mean;
	v->rel = v->limit = v->p = v->stat = NAN;
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
