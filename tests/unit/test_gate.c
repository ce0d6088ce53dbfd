/* test_gate.c: gate rules and verdicts against hand-computed values (threshold, Welch's t,
 * prediction interval, Wilson intervals, McNemar), rule parsing and the outputs' shape. */
#include "../../base/alloc.h"
#include "../../metrics/stats.h"
#include "../../reports/gate.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static struct gate_rule rule(const char *m, enum gate_dir dir, enum gate_test t, double thr,
			     double min_effect, double alpha)
{
	struct gate_rule r;

	gate_rule_default(m, &r);
	r.metric = NULL;
	r.dir = dir;
	r.test = t;
	r.threshold = thr;
	r.min_effect = min_effect;
	r.alpha = alpha;
	r.from_defaults = false;
	return r;
}

static struct gate_side side(double mean, double sd, int n)
{
	struct gate_side s = GATE_SIDE_NONE;

	s.mean = mean;
	s.sd = sd;
	s.n = n;
	return s;
}

static struct gate_input input(struct gate_side b, struct gate_side c)
{
	struct gate_input in;

	memset(&in, 0, sizeof(in));
	in.base = b;
	in.cand = c;
	return in;
}

/* base 100, 20%: lower-is-better fails above 120, higher-is-better below 80 */
static void threshold_by_relative_change_and_min_effect(void **state)
{
	struct gate_rule r =
		rule("ttft_p50_ms", GATE_LOWER_IS_BETTER, GATE_THRESHOLD, 0.2, 0, 0.01);
	struct gate_input in = input(side(100, NAN, 1), side(121, NAN, 1));
	struct gate_verdict v;

	(void)state;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_FAIL);
	assert_int_equal(v.test, GATE_THRESHOLD);
	NEAR(v.rel, 0.21, 1e-12);
	NEAR(v.limit, 120, 1e-12);
	in.cand.mean = 119;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* an improvement never fails */
	in.cand.mean = 50;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* minimum absolute effect: 21 ms worse is not 30 */
	r.min_effect = 30;
	in.cand.mean = 121;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	NEAR(v.limit, 130, 1e-12);
	r = rule("output_token_throughput", GATE_HIGHER_IS_BETTER, GATE_THRESHOLD, 0.2, 0, 0.01);
	in = input(side(100, NAN, 1), side(79, NAN, 1));
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_FAIL);
	NEAR(v.limit, 80, 1e-12);
	in.cand.mean = 81;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* from a zero baseline any worsening beyond min effect counts */
	r = rule("requests_failed", GATE_LOWER_IS_BETTER, GATE_THRESHOLD, 0, 1, 0.01);
	in = input(side(0, NAN, 1), side(1, NAN, 1));
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_FAIL);
	in.cand.mean = 0;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
}

/* {10,11,12} vs {13,14,15}: se = sqrt(1/3 + 1/3), t = 3/se = 3.6742, df = 4; for df = 4
 * F(t) = 1/2 + 3/8 x (1 - x^2 / 12 / (1 + x^2/4)) / sqrt(1 + x^2/4) gives one-sided p 0.010656 */
static void welch_one_sided_p_and_threshold(void **state)
{
	struct gate_rule r = rule("e2e_p50_ms", GATE_LOWER_IS_BETTER, GATE_WELCH, 0.2, 0, 0.05);
	struct gate_input in = input(side(11, 1, 3), side(14, 1, 3));
	struct gate_verdict v;

	(void)state;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.test, GATE_WELCH);
	NEAR(v.stat, 3.6742346, 1e-6);
	NEAR(v.p, 0.0106558, 1e-6);
	NEAR(v.rel, 3.0 / 11, 1e-12);
	assert_int_equal(v.status, GATE_FAIL);
	/* not significant at 1% */
	r.alpha = 0.01;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* significant but within a 30% threshold */
	r.alpha = 0.05;
	r.threshold = 0.3;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* the same shift the good way: p near 1 */
	r.threshold = 0.2;
	in = input(side(14, 1, 3), side(11, 1, 3));
	gate_evaluate(&r, &in, &v);
	NEAR(v.p, 1 - 0.0106558, 1e-6);
	assert_int_equal(v.status, GATE_PASS);
	/* higher is better mirrors it */
	r.dir = GATE_HIGHER_IS_BETTER;
	gate_evaluate(&r, &in, &v);
	NEAR(v.p, 0.0106558, 1e-6);
	assert_int_equal(v.status, GATE_FAIL);
	/* no spread at all: a difference is certain */
	r.dir = GATE_LOWER_IS_BETTER;
	in = input(side(10, 0, 3), side(13, 0, 3));
	gate_evaluate(&r, &in, &v);
	NEAR(v.p, 0, 0);
	assert_int_equal(v.status, GATE_FAIL);
	in.cand.mean = 10;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
}

static void auto_picks_welch_then_falls_back_to_threshold(void **state)
{
	struct gate_rule r;
	struct gate_input in = input(side(100, 1, 3), side(118, 1, 3));
	struct gate_verdict v;

	(void)state;
	gate_rule_default("ttft_p50_ms", &r);
	assert_int_equal(r.test, GATE_AUTO);
	assert_int_equal(r.dir, GATE_LOWER_IS_BETTER);
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.test, GATE_WELCH);
	assert_int_equal(v.status, GATE_FAIL); /* 18% > 15%, p tiny */
	/* one repetition: threshold at the fallback 20% */
	in = input(side(100, NAN, 1), side(118, NAN, 1));
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.test, GATE_THRESHOLD);
	assert_int_equal(v.status, GATE_PASS);
	in.cand.mean = 121;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_FAIL);
	/* below the 1 ms minimum effect */
	in = input(side(2.0, NAN, 1), side(2.9, NAN, 1));
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
}

/* history {10, 12, 11, 13, 9}: mean 11, sd sqrt(2.5), n 5; t(0.95, 4) = 2.131847;
 * bound = 11 + 2.131847 * sqrt(2.5) * sqrt(1.2) = 11 + 2.131847 * sqrt(3) = 14.692475 */
static void history_prediction_interval(void **state)
{
	static const double hist[] = { 10, 12, 11, 13, 9 };
	struct gate_rule r = rule("ttft_p99_ms", GATE_LOWER_IS_BETTER, GATE_HISTORY, 0, 0, 0.05);
	struct gate_input in = input(side(NAN, NAN, 0), side(15, NAN, 1));
	struct gate_verdict v;

	(void)state;
	r.confidence = 0.95;
	NEAR(stats_t_quantile(0.95, 4), 2.131847, 1e-5);
	NEAR(gate_prediction_bound(11, sqrt(2.5), 5, 0.95, GATE_LOWER_IS_BETTER), 14.692475, 1e-5);
	NEAR(gate_prediction_bound(11, sqrt(2.5), 5, 0.95, GATE_HIGHER_IS_BETTER), 7.307525, 1e-5);
	in.history = hist;
	in.n_history = 5;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.test, GATE_HISTORY);
	NEAR(v.baseline, 11, 1e-12);
	NEAR(v.limit, 14.692475, 1e-5);
	NEAR(v.stat, 4 / sqrt(3.0), 1e-9);
	assert_int_equal(v.status, GATE_FAIL);
	in.cand.mean = 14.6;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* a threshold on top of the interval */
	in.cand.mean = 15;
	r.threshold = 0.5;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* auto with history picks it */
	r.threshold = 0;
	r.test = GATE_AUTO;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.test, GATE_HISTORY);
	/* a single earlier run: threshold on it */
	in.n_history = 1;
	in.base = side(10, NAN, 1);
	r.test = GATE_HISTORY;
	r.fallback_threshold = 0.2;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.test, GATE_THRESHOLD);
	assert_int_equal(v.status, GATE_FAIL); /* 15 vs 10 */
}

/* Wilson 95% for 8/10 is [0.4902, 0.9433]; 80/100 [0.7112, 0.8666]; 60/100 [0.5020, 0.6906] */
static void interval_test_on_wilson_bounds(void **state)
{
	struct gate_rule r = rule("qa_correct", GATE_HIGHER_IS_BETTER, GATE_INTERVAL, 0, 0, 0.01);
	struct gate_input in;
	struct gate_verdict v;
	double lo, hi;

	(void)state;
	stats_wilson(8, 10, 1.96, &lo, &hi);
	NEAR(lo, 0.4902, 1e-4);
	NEAR(hi, 0.9433, 1e-4);
	in = input(side(0.8, NAN, 1), side(0.6, NAN, 1));
	stats_wilson(80, 100, 1.96, &in.base.lo, &in.base.hi);
	stats_wilson(60, 100, 1.96, &in.cand.lo, &in.cand.hi);
	NEAR(in.base.lo, 0.7112, 1e-4);
	NEAR(in.cand.hi, 0.6906, 1e-4);
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.test, GATE_INTERVAL);
	assert_int_equal(v.status, GATE_FAIL);
	NEAR(v.limit, in.base.lo, 1e-12);
	assert_true(v.p < 0.01);
	/* 75/100 overlaps 80/100 */
	in.cand.mean = 0.75;
	stats_wilson(75, 100, 1.96, &in.cand.lo, &in.cand.hi);
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* PPL 10.0 +- 0.1 vs 10.5 +- 0.1 (lower is better): [9.804, 10.196] vs [10.304, 10.696] */
	r = rule("ppl", GATE_LOWER_IS_BETTER, GATE_INTERVAL, 0, 0, 0.01);
	in = input(side(10, NAN, 1), side(10.5, NAN, 1));
	in.base.lo = 10 - gate_z(0.95) * 0.1;
	in.base.hi = 10 + gate_z(0.95) * 0.1;
	in.cand.lo = 10.5 - gate_z(0.95) * 0.1;
	in.cand.hi = 10.5 + gate_z(0.95) * 0.1;
	NEAR(gate_z(0.95), 1.959964, 1e-5);
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_FAIL);
	/* z = 0.5 / sqrt(0.1^2 + 0.1^2) = 3.5355, one-sided p = 0.000203 */
	NEAR(v.stat, 3.5355339, 1e-4);
	NEAR(v.p, 0.000203, 1e-5);
	in.cand.mean = 10.3;
	in.cand.lo = 10.3 - gate_z(0.95) * 0.1;
	in.cand.hi = 10.3 + gate_z(0.95) * 0.1;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* no interval stored: the fallback threshold decides */
	in = input(side(10, NAN, 1), side(10.3, NAN, 1));
	r.fallback_threshold = 0.05;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.test, GATE_THRESHOLD);
	assert_int_equal(v.status, GATE_PASS);
	in.cand.mean = 10.6;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_FAIL);
}

/* b = 10 worse, c = 2 better: 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 158/4096 = 0.0385742;
 * one-sided 0.0192871; chi-square with continuity (|10 - 2| - 1)^2 / 12 = 4.0833 */
static void mcnemar_exact(void **state)
{
	struct gate_rule r = rule("qa_correct", GATE_HIGHER_IS_BETTER, GATE_MCNEMAR, 0, 0, 0.05);
	struct gate_input in = input(side(0.8, NAN, 1), side(0.72, NAN, 1));
	struct gate_verdict v;

	(void)state;
	NEAR(gate_mcnemar_p(10, 2), 158.0 / 4096, 1e-12);
	NEAR(gate_mcnemar_p(2, 10), 158.0 / 4096, 1e-12);
	NEAR(gate_mcnemar_p(5, 5), 1, 0);
	NEAR(gate_mcnemar_p(0, 0), 1, 0);
	NEAR(gate_mcnemar_p(0, 5), 2.0 / 32, 1e-12);
	in.mc_worse = 10;
	in.mc_better = 2;
	in.mc_pairs = 100;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.test, GATE_MCNEMAR);
	NEAR(v.p, 79.0 / 4096, 1e-12);
	NEAR(v.stat, 49.0 / 12, 1e-12);
	assert_int_equal(v.status, GATE_FAIL);
	r.alpha = 0.01;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* more items got better: never a regression */
	r.alpha = 0.05;
	in.mc_worse = 2;
	in.mc_better = 10;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	/* no paired data: skipped, not passed */
	in.mc_pairs = 0;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_SKIP);
}

static void unavailable_is_skipped(void **state)
{
	struct gate_rule r =
		rule("j_per_output_token", GATE_LOWER_IS_BETTER, GATE_AUTO, 0.1, 0, 0.01);
	struct gate_input in = input(side(NAN, NAN, 0), side(1, NAN, 1));
	struct gate_verdict v;

	(void)state;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_SKIP);
	assert_non_null(strstr(v.note, "baseline"));
	in = input(side(1, NAN, 1), side(NAN, NAN, 0));
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_SKIP);
	assert_non_null(strstr(v.note, "candidate"));
}

static void default_directions_by_name(void **state)
{
	static const char *const higher[] = { "output_token_throughput",
					      "request_throughput",
					      "tg_tps",
					      "pp_tps",
					      "goodput",
					      "qa_correct",
					      "tokens_per_j",
					      "mc1",
					      "qa_correct_lo",
					      NULL };
	static const char *const lower[] = {
		"ttft_p99_ms",		 "tpot_mean_ms",    "j_per_output_token", "ppl", "kld_mean",
		"qa_hallucination_rate", "requests_failed", "energy_j",		  NULL
	};
	struct gate_rule r;
	size_t i;

	(void)state;
	for (i = 0; higher[i]; i++) {
		gate_rule_default(higher[i], &r);
		assert_int_equal(r.dir, GATE_HIGHER_IS_BETTER);
		assert_true(gate_metric_known(higher[i]));
	}
	for (i = 0; lower[i]; i++) {
		gate_rule_default(lower[i], &r);
		assert_int_equal(r.dir, GATE_LOWER_IS_BETTER);
		assert_true(gate_metric_known(lower[i]));
	}
	gate_rule_default("ppl", &r);
	assert_int_equal(r.test, GATE_INTERVAL);
	gate_rule_default("ttft_p99_ms", &r);
	assert_int_equal(r.test, GATE_AUTO);
	NEAR(r.min_effect, 1, 0);
	assert_false(gate_metric_known("p99_ttft_ms"));
	assert_false(gate_metric_known("ttft_p98_ms"));
	assert_true(gate_metric_known("requests_failed_http_429"));
	assert_true(gate_metric_known("qa_hallucination_rate_hi"));
}

static void rules_parse_and_inherit_defaults(void **state)
{
	static const char txt[] =
		"{\"name\": \"w\", \"gate\": {\"alpha\": 0.05, \"rules\": {"
		"\"ttft_p99_ms\": {\"threshold\": 0.1, \"test\": \"welch\"},"
		"\"output_token_throughput\": {\"direction\": \"higher\", \"min_effect\": 5},"
		"\"qa_correct\": {\"test\": \"mcnemar\", \"alpha\": 0.01}}}}";
	struct gate_rules rs;
	struct lb_error err = LB_ERROR_INIT;
	const struct gate_rule *r;

	(void)state;
	assert_int_equal(gate_rules_parse(&rs, txt, strlen(txt), "t", true, &err), 0);
	assert_int_equal(rs.n, 3);
	assert_false(rs.defaults);
	r = gate_rules_find(&rs, "ttft_p99_ms");
	assert_non_null(r);
	assert_int_equal(r->test, GATE_WELCH);
	NEAR(r->threshold, 0.1, 0);
	NEAR(r->alpha, 0.05, 0);
	NEAR(r->min_effect, 1, 0); /* inherited */
	assert_false(r->from_defaults);
	r = gate_rules_find(&rs, "output_token_throughput");
	assert_int_equal(r->dir, GATE_HIGHER_IS_BETTER);
	NEAR(r->min_effect, 5, 0);
	r = gate_rules_find(&rs, "qa_correct");
	NEAR(r->alpha, 0.01, 0);
	assert_null(gate_rules_find(&rs, "ppl"));
	gate_rules_release(&rs);
	/* a workload without a gate section: the defaults */
	assert_int_equal(gate_rules_parse(&rs, "{\"name\": \"w\"}", 13, "t", true, &err), 0);
	assert_true(rs.defaults);
	assert_int_equal(rs.n, 0);
	gate_rules_release(&rs);
}

static void rules_errors_name_the_field(void **state)
{
	static const struct {
		const char *txt, *want;
	} cases[] = {
		{ "{\"rules\": {\"ttft_p99_ms\": {\"treshold\": 0.1}}}",
		  "rules.ttft_p99_ms.treshold" },
		{ "{\"rules\": {\"ttft_p99_ms\": {\"direction\": \"up\"}}}",
		  "\"lower\" or \"higher\"" },
		{ "{\"rules\": {\"ttft_p99_ms\": {\"test\": \"ttest\"}}}", "welch" },
		{ "{\"rules\": {\"ttft_p99_ms\": {\"threshold\": -1}}}", "threshold" },
		{ "{\"rules\": {\"ttft_p99_ms\": {\"alpha\": 1.5}}}", "alpha" },
		{ "{\"rules\": {\"a\": {}, \"a\": {}}}", "given twice" },
		{ "{\"rulez\": {}}", "unknown key 'rulez'" },
		{ "{\"rules\": [1]}", "metric name -> rule" },
		{ "{\"rules\": ", "not valid JSON" },
	};
	struct gate_rules rs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lb_error err = LB_ERROR_INIT;

		assert_int_equal(gate_rules_parse(&rs, cases[i].txt, strlen(cases[i].txt),
						  "rules.json", false, &err),
				 LB_ERR_USAGE);
		if (!strstr(err.msg, cases[i].want) || !strstr(err.msg, "rules.json"))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].want);
		assert_int_equal(rs.n, 0);
	}
}

static void report_fixture(struct gate_report *rep)
{
	struct gate_rule r =
		rule("ttft_p50_ms", GATE_LOWER_IS_BETTER, GATE_THRESHOLD, 0.2, 0, 0.01);
	struct gate_input in = input(side(10, NAN, 1), side(13, NAN, 1));
	struct gate_verdict v;
	struct lb_error err = LB_ERROR_INIT;

	gate_report_init(rep);
	rep->candidate = strdup("cand <&>");
	rep->baseline = strdup("run 'base'");
	rep->rules_origin = strdup("default rules");
	gate_evaluate(&r, &in, &v);
	assert_int_equal(gate_report_add(rep, "sim/concurrency=1", "ttft_p50_ms", "ms", &r,
					 &in.cand, &v, &err),
			 0);
	in.cand.mean = 10.5;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(gate_report_add(rep, "sim/concurrency=4", "ttft_p50_ms", "ms", &r,
					 &in.cand, &v, &err),
			 0);
	assert_int_equal(gate_report_unmatched(rep, "candidate only: sim/concurrency=8", &err), 0);
}

static char *write_to_string(int (*fn)(const struct gate_report *, FILE *, struct lb_error *),
			     const struct gate_report *rep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct lb_error err = LB_ERROR_INIT;

	assert_non_null(f);
	assert_int_equal(fn(rep, f, &err), 0);
	fclose(f);
	return buf;
}

static void junit_has_cases_failures_and_escapes(void **state)
{
	struct gate_report rep;
	char *x;

	(void)state;
	report_fixture(&rep);
	assert_true(gate_report_failed(&rep));
	x = write_to_string(gate_write_junit, &rep);
	assert_non_null(strstr(x, "<testsuites name=\"llmbench gate\" tests=\"3\" failures=\"1\""));
	assert_non_null(
		strstr(x, "<testcase classname=\"sim/concurrency=1\" name=\"ttft_p50_ms\""));
	assert_non_null(
		strstr(x, "<failure type=\"regression\" message=\"ttft_p50_ms: observed 13 ms, "
			  "baseline 10 ms, limit 12 ms"));
	assert_non_null(strstr(x, "test threshold, p-value n/a"));
	assert_non_null(strstr(x, "cand &lt;&amp;&gt;"));
	assert_non_null(strstr(x, "<skipped message=\"unmatched row: candidate only"));
	free(x);
	rep.fail_unmatched = true;
	x = write_to_string(gate_write_junit, &rep);
	assert_non_null(strstr(x, "failures=\"2\""));
	free(x);
	gate_report_release(&rep);
}

static int md_small(const struct gate_report *r, FILE *f, struct lb_error *err)
{
	return gate_write_markdown(r, f, 1200, err);
}

static int md_full(const struct gate_report *r, FILE *f, struct lb_error *err)
{
	return gate_write_markdown(r, f, 0, err);
}

static int gab_lower(const struct gate_report *r, FILE *f, struct lb_error *err)
{
	return gate_write_gab(r, GATE_LOWER_IS_BETTER, f, err);
}

static int gab_higher(const struct gate_report *r, FILE *f, struct lb_error *err)
{
	return gate_write_gab(r, GATE_HIGHER_IS_BETTER, f, err);
}

static void markdown_table_failures_first_and_truncated(void **state)
{
	struct gate_report rep;
	struct gate_rule r = rule("itl_p50_ms", GATE_LOWER_IS_BETTER, GATE_THRESHOLD, 0.2, 0, 0.01);
	struct gate_input in = input(side(10, NAN, 1), side(10, NAN, 1));
	struct gate_verdict v;
	struct lb_error err = LB_ERROR_INIT;
	char *md, key[32];
	int i;

	(void)state;
	report_fixture(&rep);
	md = write_to_string(md_full, &rep);
	assert_non_null(strstr(md, "## llmbench gate: FAILED"));
	assert_non_null(strstr(md, "| status | key | metric | baseline | candidate |"));
	assert_non_null(strstr(md, "| --- |"));
	assert_true(strstr(md, "**FAIL**") < strstr(md, "| pass |"));
	assert_non_null(
		strstr(md, "| **FAIL** | sim/concurrency=1 | ttft_p50_ms | 10 | 13 | +30.0% |"));
	assert_non_null(strstr(md, "- candidate only: sim/concurrency=8"));
	free(md);
	gate_evaluate(&r, &in, &v);
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "b%d/concurrency=1", i);
		assert_int_equal(
			gate_report_add(&rep, key, "itl_p50_ms", "ms", &r, &in.cand, &v, &err), 0);
	}
	md = write_to_string(md_small, &rep);
	assert_true(strlen(md) <= 1200);
	assert_non_null(strstr(md, "_Truncated: "));
	assert_non_null(strstr(md, "**FAIL**")); /* failures are kept */
	free(md);
	gate_report_release(&rep);
}

static void json_outputs(void **state)
{
	struct gate_report rep;
	char *j;

	(void)state;
	report_fixture(&rep);
	rep.items[0].cand.sd = 0.5;
	j = write_to_string(gab_lower, &rep);
	assert_non_null(strstr(j, "{\"name\": \"sim/concurrency=1 ttft_p50_ms\", \"unit\": \"ms\", "
				  "\"value\": 13, \"range\": \"± 0.5\", \"extra\": \"gate fail"));
	free(j);
	j = write_to_string(gab_higher, &rep);
	assert_string_equal(j, "[]\n");
	free(j);
	j = write_to_string(gate_write_bencher, &rep);
	assert_non_null(strstr(j, "\"sim/concurrency=1\": {\n    \"ttft_p50_ms\": {\"value\": 13, "
				  "\"lower_value\": 12.5, \"upper_value\": 13.5}"));
	assert_non_null(
		strstr(j, "\"sim/concurrency=4\": {\n    \"ttft_p50_ms\": {\"value\": 10.5}"));
	free(j);
	gate_report_release(&rep);
}

/* The smallest detectable worsening of each statistical test, against hand-computed values
 * (t quantiles from tables: t(0.99, 4) = 3.746947, t(0.99, 1) = 31.820516). */
static void detectable_change_of_each_test(void **state)
{
	struct gate_rule r = rule("ttft_p50_ms", GATE_LOWER_IS_BETTER, GATE_WELCH, 0.15, 0, 0.01);
	struct gate_input in = input(side(100, 2, 3), side(101, 2, 3));
	double hist[] = { 40, 90 };
	struct gate_verdict v;

	(void)state;
	/* welch: se = sqrt(4/3 + 4/3), df = 4: 3.746947 * 1.632993 = 6.1187 ms */
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	NEAR(v.mde, 6.11874, 1e-3);
	NEAR(v.mde_rel, 0.0611874, 1e-5);
	assert_false(v.undetectable); /* 6.1 ms < 15% of 100 */
	r.threshold = 0.02;	      /* 2 ms: the test could not have seen it */
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	assert_true(v.undetectable);
	r.min_effect = 7; /* the rule asks for 7 ms: 6.1 ms is fine */
	gate_evaluate(&r, &in, &v);
	assert_false(v.undetectable);
	/* no spread: any worsening is seen */
	r.min_effect = 0;
	in = input(side(100, 0, 3), side(100, 0, 3));
	gate_evaluate(&r, &in, &v);
	NEAR(v.mde, 0, 0);
	assert_false(v.undetectable);

	/* history of 40 and 90 (issue 12's case): mean 65, sd 35.355; the 99% bound is
	 * 31.820516 * 35.355 * sqrt(1.5) = 1377.87 ms above the mean: a 54% regression (100 ms)
	 * passes, and says its interval could not see 15% */
	r = rule("ttft_p50_ms", GATE_LOWER_IS_BETTER, GATE_HISTORY, 0.15, 1, 0.01);
	in = input(side(NAN, NAN, 0), side(100, NAN, 1));
	in.history = hist;
	in.n_history = 2;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	assert_int_equal(v.test, GATE_HISTORY);
	NEAR(v.mde, 1377.87, 0.05);
	NEAR(v.mde_rel, 1377.87 / 65, 1e-3);
	assert_true(v.undetectable);
	/* a threshold test has no detectable change to report */
	r.test = GATE_THRESHOLD;
	in = input(side(100, NAN, 1), side(101, NAN, 1));
	gate_evaluate(&r, &in, &v);
	assert_true(isnan(v.mde));
	assert_false(v.undetectable);

	/* interval: half-widths 1 and 1: the candidate must move by 2 to clear the baseline's */
	r = rule("ppl", GATE_LOWER_IS_BETTER, GATE_INTERVAL, 0.01, 0, 0.01);
	in = input(side(10, NAN, 1), side(11, NAN, 1));
	in.base.lo = 9;
	in.base.hi = 11;
	in.cand.lo = 10;
	in.cand.hi = 12;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	NEAR(v.mde, 2, 1e-12);
	NEAR(v.mde_rel, 0.2, 1e-12);
	assert_true(v.undetectable); /* 20% needed, the rule says 1% */
	r.threshold = 0;		/* a rule without a size: nothing to warn about */
	gate_evaluate(&r, &in, &v);
	assert_false(v.undetectable);

	/* mcnemar: c = 0 better items of 50 at alpha 0.05: 0.5^5 = 0.031 < 0.05 <= 0.5^4, so 5
	 * worse items (0.1 of accuracy) is the smallest significant change */
	r = rule("qa_correct", GATE_HIGHER_IS_BETTER, GATE_MCNEMAR, 0.05, 0, 0.05);
	in = input(side(0.8, NAN, 1), side(0.8, NAN, 1));
	in.mc_pairs = 50;
	in.mc_worse = 2;
	in.mc_better = 0;
	gate_evaluate(&r, &in, &v);
	assert_int_equal(v.status, GATE_PASS);
	NEAR(v.mde, 0.1, 1e-12);
	NEAR(v.mde_rel, 0.125, 1e-12);
	assert_true(v.undetectable); /* 0.125 > 5% of 0.8 = 0.04 */
	/* 3 pairs only: no split of them is significant */
	in.mc_pairs = 3;
	gate_evaluate(&r, &in, &v);
	assert_true(isinf(v.mde));
	assert_true(v.undetectable);
}

/* The verdict: nothing compared when every check skipped or no row matched (with what did not
 * match), undetectable when a pass could not see its threshold, fail before either. */
static void verdict_kinds(void **state)
{
	struct gate_rule r = rule("ttft_p50_ms", GATE_LOWER_IS_BETTER, GATE_WELCH, 0.02, 0, 0.01);
	struct gate_input skip = input(side(100, 2, 3), side(NAN, NAN, 0));
	struct gate_input coarse = input(side(100, 2, 3), side(101, 2, 3));
	struct gate_input worse = input(side(100, 0, 3), side(150, 0, 3));
	struct lb_error err = LB_ERROR_INIT;
	struct gate_report rep;
	struct gate_verdict v;

	(void)state;
	/* nothing at all */
	gate_report_init(&rep);
	assert_int_equal(gate_report_finish(&rep, &err), 0);
	assert_int_equal(gate_report_verdict(&rep), GATE_VERDICT_NOTHING);
	assert_non_null(strstr(rep.nothing, "neither run has a row"));
	gate_report_release(&rep);
	/* unmatched rows and a skipped check */
	gate_report_init(&rep);
	assert_int_equal(gate_report_unmatched(&rep, "candidate only: sim/concurrency=2", &err), 0);
	gate_evaluate(&r, &skip, &v);
	assert_int_equal(v.status, GATE_SKIP);
	assert_int_equal(gate_report_add(&rep, "sim/concurrency=1", "ttft_p50_ms", "ms", &r,
					 &skip.cand, &v, &err), 0);
	assert_int_equal(gate_report_finish(&rep, &err), 0);
	assert_int_equal(gate_report_verdict(&rep), GATE_VERDICT_NOTHING);
	assert_non_null(strstr(rep.nothing, "candidate only: sim/concurrency=2"));
	assert_non_null(strstr(rep.nothing, "every check was skipped: sim/concurrency=1 ttft_p50_ms"));
	/* a pass too coarse for its 2% threshold: undetectable, exit 0 */
	gate_evaluate(&r, &coarse, &v);
	assert_true(v.status == GATE_PASS && v.undetectable);
	assert_int_equal(gate_report_add(&rep, "sim/concurrency=4", "ttft_p50_ms", "ms", &r,
					 &coarse.cand, &v, &err), 0);
	lb_free(rep.nothing);
	rep.nothing = NULL;
	assert_int_equal(gate_report_finish(&rep, &err), 0);
	assert_null(rep.nothing);
	assert_int_equal(rep.n_undetectable, 1);
	assert_int_equal(gate_report_verdict(&rep), GATE_VERDICT_UNDETECTABLE);
	/* a regression wins */
	gate_evaluate(&r, &worse, &v);
	assert_int_equal(v.status, GATE_FAIL);
	assert_int_equal(gate_report_add(&rep, "sim/concurrency=8", "ttft_p50_ms", "ms", &r,
					 &worse.cand, &v, &err), 0);
	assert_int_equal(gate_report_verdict(&rep), GATE_VERDICT_FAIL);
	gate_report_release(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threshold_by_relative_change_and_min_effect),
		cmocka_unit_test(welch_one_sided_p_and_threshold),
		cmocka_unit_test(auto_picks_welch_then_falls_back_to_threshold),
		cmocka_unit_test(history_prediction_interval),
		cmocka_unit_test(interval_test_on_wilson_bounds),
		cmocka_unit_test(mcnemar_exact),
		cmocka_unit_test(unavailable_is_skipped),
		cmocka_unit_test(default_directions_by_name),
		cmocka_unit_test(rules_parse_and_inherit_defaults),
		cmocka_unit_test(rules_errors_name_the_field),
		cmocka_unit_test(junit_has_cases_failures_and_escapes),
		cmocka_unit_test(markdown_table_failures_first_and_truncated),
		cmocka_unit_test(json_outputs),
		cmocka_unit_test(detectable_change_of_each_test),
		cmocka_unit_test(verdict_kinds),
	};
	return cmocka_run_group_tests_name("gate", tests, NULL, NULL);
}
