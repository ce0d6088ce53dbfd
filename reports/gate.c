/* gate.c: gate rules, their defaults and parsing, and the verdict of each test (gate.h). */
#include "gate.h"

#include "../base/alloc.h"
#include "../base/jsoncfg.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEF_THRESHOLD 0.15
#define DEF_FALLBACK 0.20
#define DEF_THRESHOLD_RATE 0.25
#define DEF_MIN_EFFECT_MS 1.0
#define DEF_MIN_EFFECT_FAILED_RATE 0.05
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
	"failed_request_rate",
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
static const char *const quality_prefixes[] = { "ppl",    "bpb", "kld_", "same_top",
						"rms_dp", "qa_", "mc",   NULL };
static const char *const default_metrics[] = {
	"failed_request_rate",
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
	if (!strcmp(m, GATE_FAILED_RATE)) {
		/* a share of failed requests: 5 points more than the baseline's fails, whatever the
		 * relative change (0 -> 6% is a server that started failing) */
		out->test = GATE_THRESHOLD;
		out->threshold = 0;
		out->fallback_threshold = 0;
		out->min_effect = DEF_MIN_EFFECT_FAILED_RATE;
		out->confidence = DEF_CONF_HISTORY;
		return;
	}
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
	{ "auto", GATE_AUTO },       { "threshold", GATE_THRESHOLD }, { "welch", GATE_WELCH },
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
						    "%s: duplicate key '%s' in %s", origin,
						    a->string, where);
	return 0;
}

/* A number in [lo, hi] (or (lo, hi]) at path: the jsoncfg message, after origin. */
static int get_num(const cJSON *it, const char *origin, const char *path, double lo, double hi,
		   bool lo_open, double *out, struct lb_error *err)
{
	struct jsoncfg c = { NULL, err };
	double v;

	v = it->valuedouble;
	if (!cJSON_IsNumber(it) || !isfinite(v) || v > hi || (lo_open ? v <= lo : v < lo)) {
		char what[96];

		if (isinf(hi))
			snprintf(what, sizeof(what), "a non-negative number");
		else
			snprintf(what, sizeof(what), "a number %s %g and <= %g",
				 lo_open ? ">" : ">=", lo, hi);
		jsoncfg_expected(&c, path, what, it);
		return lb_error_prefix(err, "%s", origin);
	}
	*out = v;
	return 0;
}

/* Unknown or duplicate keys of o at path: the jsoncfg message ("did you mean"), after origin. */
static int check_keys(const cJSON *o, const char *origin, const char *path,
		      const char *const *valid, struct lb_error *err)
{
	struct jsoncfg c = { NULL, err };

	if (!jsoncfg_check_keys(&c, o, path, valid))
		return 0;
	return lb_error_prefix(err, "%s", origin);
}

static int parse_rule(struct gate_rule *r, const cJSON *o, const char *origin, double alpha,
		      double conf, struct lb_error *err)
{
	static const char keys[] = "direction, test, threshold, fallback_threshold, min_effect, "
				   "alpha, confidence";
	static const char *const valid[] = { "direction",          "test",       "threshold",
					     "fallback_threshold", "min_effect", "alpha",
					     "confidence",         NULL };
	char path[160];
	const cJSON *it;
	bool have_alpha = false, have_conf = false;
	int rc;

	gate_rule_default(o->string, r);
	r->from_defaults = false;
	if (!cJSON_IsObject(o))
		return lb_error_set(err, LB_ERR_USAGE, "%s: 'rules.%s' must be an object with %s",
				    origin, o->string, keys);
	snprintf(path, sizeof(path), "rules.%s", o->string);
	rc = check_keys(o, origin, path, valid, err);
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
			rc = get_num(it, origin, path, 0, INFINITY, false, &r->threshold, err);
		} else if (!strcmp(it->string, "fallback_threshold")) {
			rc = get_num(it, origin, path, 0, INFINITY, false, &r->fallback_threshold,
				     err);
		} else if (!strcmp(it->string, "min_effect")) {
			rc = get_num(it, origin, path, 0, INFINITY, false, &r->min_effect, err);
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
	static const char *const valid[] = { "rules",      "defaults",    "alpha",
					     "confidence", "description", NULL };
	const cJSON *it, *rules = NULL;
	double alpha = NAN, conf = NAN;
	size_t n = 0;
	int rc;

	if (!cJSON_IsObject(g))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: the gate section must be an object (%s)", origin, keys);
	rc = check_keys(g, origin, "gate", valid, err);
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
		size_t off = e && e >= text && e <= text + len ? (size_t)(e - text) : len;
		long line, col;

		jsoncfg_line_col(text, off, &line, &col);
		return lb_error_set(err, LB_ERR_USAGE, "%s: malformed JSON at line %ld, column %ld",
				    origin, line, col);
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
