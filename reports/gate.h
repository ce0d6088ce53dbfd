/* gate.h: the CI regression gate: rules, verdicts and the report they make. Pure: no store,
 * no printing (gate_out.c writes a report to a FILE the caller opened; gate_load.c reads runs).
 *
 * A rule says, for one metric, which direction is better, how large a relative and an absolute
 * worsening count, and which test decides: a plain threshold, Welch's t-test over repetitions,
 * a one-sided Student-t prediction interval from earlier runs (Bencher's t-test), the metric's
 * own interval (PPL ± err, Wilson bounds) or McNemar's test on paired items. gate_evaluate()
 * turns one rule and the numbers of one key into a verdict. Definitions: docs/ci.md. */
#ifndef LB_REPORT_GATE_H
#define LB_REPORT_GATE_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum gate_dir {
	GATE_LOWER_IS_BETTER,
	GATE_HIGHER_IS_BETTER
};

/* The share of measured requests that failed, requests_failed / (requests_ok + requests_failed),
 * per row: derived by the gate from the stored counts (a default rule: 5 points worse fails). */
#define GATE_FAILED_RATE "failed_request_rate"

enum gate_test {
	GATE_AUTO, /* history with >= 2 earlier runs, else welch with >= 2 reps, else threshold */
	GATE_THRESHOLD, /* relative and absolute worsening only */
	GATE_WELCH,     /* Welch's t-test over repetitions (one-sided) + threshold */
	GATE_HISTORY, /* outside the one-sided prediction interval of the last N runs + threshold */
	GATE_INTERVAL, /* the candidate's interval lies wholly on the bad side of the baseline's */
	GATE_MCNEMAR,  /* exact McNemar test on items graded in both runs */
};

struct gate_rule {
	char *metric; /* owned */
	enum gate_dir dir;
	enum gate_test test;
	double threshold;          /* relative worsening that counts, >= 0 (0.10 = 10%) */
	double fallback_threshold; /* used instead when a statistical test lacks samples */
	double min_effect;         /* absolute worsening that counts, in the metric's unit, >= 0 */
	double alpha;       /* significance level of welch, interval and mcnemar, in (0, 1) */
	double confidence;  /* history: of the one-sided prediction interval; interval: of an
			     * interval built from a stored ±err (0.95 gives ±1.96 err) */
	bool from_defaults; /* a default rule: applied only where the metric exists */
};

struct gate_rules {
	struct gate_rule *v; /* owned */
	size_t n;
	bool defaults;    /* also apply the default rules to metrics the rules do not name */
	char origin[256]; /* where they came from: "rules file 'x.json'", "defaults", ... */
};

/* The default rule for a metric name: direction by name (throughputs, tokens/s, accuracy-like
 * scores higher; latencies, energy, perplexity, KLD, error rates lower), test auto for speed
 * and energy and interval for quality, threshold 0.15 (fallback 0.20 without repetitions;
 * 0.25 for both on higher-is-better speed such as throughput), min effect 1 ms for *_ms
 * metrics, alpha 0.01, confidence 0.99 (history) or 0.95 (interval). out->metric is NULL;
 * this function can't fail. */
void gate_rule_default(const char *metric, struct gate_rule *out);
/* true for a metric name llmbench writes (the summary names of METRICS.md). */
bool gate_metric_known(const char *metric);
/* The metrics the default rules gate, NULL-terminated (static). */
const char *const *gate_default_metrics(void);

/* Parse rules from JSON text: a gate object ({"rules": {...}, "defaults": ..., "alpha": ...})
 * or a whole workload holding one under "gate". A workload without "gate" (only when
 * workload is true) gives an empty set with defaults on. Fields a rule leaves out take the
 * metric's default. Errors (LB_ERR_USAGE) name the origin and the field; rs is left empty. */
int gate_rules_parse(struct gate_rules *rs, const char *text, size_t len, const char *origin,
		     bool workload, struct lb_error *err);
/* The default rule set (defaults on, no named rule). */
void gate_rules_init_defaults(struct gate_rules *rs);
void gate_rules_release(struct gate_rules *rs);
/* The named rule for metric, or NULL. */
const struct gate_rule *gate_rules_find(const struct gate_rules *rs, const char *metric);

/* One side of a comparison: a metric's figure folded over repetitions. */
struct gate_side {
	double mean;   /* NAN: unavailable */
	double sd;     /* sample sd over repetitions, NAN when n < 2 */
	int n;         /* repetitions (or runs) with a value */
	double lo, hi; /* the metric's own interval, NAN when none was stored */
};
#define GATE_SIDE_NONE                                                                        \
	{                                                                                     \
		__builtin_nan(""), __builtin_nan(""), 0, __builtin_nan(""), __builtin_nan("") \
	}

struct gate_input {
	struct gate_side base, cand;
	const double *history; /* per-run values of the earlier runs (borrowed), or NULL */
	size_t n_history;
	long mc_worse;  /* mcnemar: items right in the baseline and wrong in the candidate */
	long mc_better; /* items wrong in the baseline and right in the candidate */
	long mc_pairs;  /* items graded in both; 0: no paired data */
};

enum gate_status {
	GATE_PASS,
	GATE_FAIL,
	GATE_SKIP
};

struct gate_verdict {
	enum gate_status status;
	enum gate_test test; /* the test that decided (auto resolved) */
	double observed;     /* candidate */
	double baseline;
	double rel;   /* relative worsening (worse - better sign: > 0 is worse), NAN if none */
	double limit; /* the candidate value beyond which it counts as a regression */
	double p;     /* one-sided p-value of the test, NAN when it has none */
	double stat;  /* t (welch, history), z (interval), chi-square (mcnemar), else NAN */
	/* The smallest worsening the test could have detected with its data (welch: the critical
	 * difference t(1 - alpha, df) * se; history: the prediction bound's distance from the mean;
	 * interval: the two half-widths; mcnemar: the smallest (b - c) / n that is significant
	 * given c), in the metric's unit; INFINITY: no worsening could have been; NAN: the test
	 * has none (threshold, skip). mde_rel: relative to |baseline|. */
	double mde, mde_rel;
	/* A pass whose test could not have detected a worsening of the rule's size (mde larger
	 * than max(threshold * |baseline|, min_effect) > 0): a pass that says little. */
	bool undetectable;
	char note[192]; /* why it passed, failed or was skipped, in a few words */
};

/* Decide one key x metric. Can't fail: missing data gives GATE_SKIP with a note. */
void gate_evaluate(const struct gate_rule *r, const struct gate_input *in, struct gate_verdict *v);

/* Exact two-sided McNemar p-value for b and c discordant pairs: min(1, 2 P(X <= min(b,c)))
 * with X ~ Binomial(b + c, 1/2); 1 when b + c == 0. */
double gate_mcnemar_p(long b, long c);
/* The two-sided normal quantile for a confidence (0.95 gives 1.96). */
double gate_z(double confidence);
/* The one-sided prediction bound of the next value from n earlier values with mean and sd:
 * mean +- t(confidence, n - 1) * sd * sqrt(1 + 1/n), + for GATE_LOWER_IS_BETTER. NAN if n < 2. */
double gate_prediction_bound(double mean, double sd, size_t n, double confidence,
			     enum gate_dir dir);

const char *gate_test_name(enum gate_test t);
const char *gate_status_name(enum gate_status s); /* "pass", "fail", "skip" */

/* ---- the report: every key x metric verdict and every unmatched row ---- */

struct gate_item {
	char *key;    /* owned: "backend/level", e.g. "sim/concurrency=1" or "sim" */
	char *metric; /* owned */
	char *unit;   /* owned, may be NULL */
	enum gate_dir dir;
	struct gate_side cand; /* for the JSON outputs (value, sd, interval) */
	struct gate_verdict v;
	double threshold; /* the rule's relative threshold (for messages) */
	double min_effect;
};

struct gate_report {
	char *candidate;         /* owned: the candidate run name */
	char *baseline;          /* owned: "run 'x'" or "3 earlier runs of 'w' (a, b, c)" */
	char *rules_origin;      /* owned */
	struct gate_item *items; /* owned */
	size_t n_items, alloc_items;
	char **unmatched; /* owned: "candidate only: sim/concurrency=4", ... */
	size_t n_unmatched, alloc_unmatched;
	char **notes; /* owned: warnings worth showing in every output */
	size_t n_notes, alloc_notes;
	bool fail_unmatched; /* unmatched rows count as failures */
	size_t n_pass, n_fail, n_skip;
	size_t n_undetectable; /* passes with v.undetectable */
	size_t n_weak;         /* matched rows whose baseline had no successful request (a note) */
	char *nothing;         /* owned: set when nothing was compared: what did not match */
};

/* What the gate says (docs/ci.md "Verdicts"); the CLI maps it to its exit code. */
enum gate_verdict_kind {
	GATE_VERDICT_PASS,         /* every compared check passed and could see its threshold */
	GATE_VERDICT_UNDETECTABLE, /* passed, but some checks could not see their threshold, or
				    * a baseline row had no successful request */
	GATE_VERDICT_FAIL,         /* a regression, a dead candidate row, or --fail-unmatched */
	GATE_VERDICT_NOTHING,      /* no check compared anything: no verdict (r->nothing says) */
};

void gate_report_init(struct gate_report *r);
void gate_report_release(struct gate_report *r);
/* Copy the strings; LB_ERR_NOMEM leaves the report as it was. */
int gate_report_add(struct gate_report *r, const char *key, const char *metric, const char *unit,
		    const struct gate_rule *rule, const struct gate_side *cand,
		    const struct gate_verdict *v, struct lb_error *err);
int gate_report_unmatched(struct gate_report *r, const char *what, struct lb_error *err);
int gate_report_note(struct gate_report *r, const char *note, struct lb_error *err);
/* true when the gate failed: a regression, or an unmatched row with fail_unmatched. */
bool gate_report_failed(const struct gate_report *r);
/* Set r->nothing when no check passed or failed (every check skipped, or none at all), naming
 * what did not match (the unmatched rows, the skipped checks). LB_ERR_NOMEM only. */
int gate_report_finish(struct gate_report *r, struct lb_error *err);
enum gate_verdict_kind gate_report_verdict(const struct gate_report *r);
const char *gate_verdict_name(enum gate_verdict_kind k); /* "passed", "FAILED", ... */

/* ---- outputs (gate_out.c); each returns LB_ERR_IO when writing fails ---- */

/* JUnit XML: <testsuites><testsuite name="llmbench gate"> one <testcase classname="key"
 * name="metric"> per item with <failure> or <skipped>, unmatched rows as testcases too. */
int gate_write_junit(const struct gate_report *r, FILE *f, struct lb_error *err);
/* A Markdown summary (a table) of at most max_bytes (0: GATE_MD_MAX), failures first; when it
 * would be longer, rows are left out and a note says how many. */
#define GATE_MD_MAX (1000u * 1024u)
int gate_write_markdown(const struct gate_report *r, FILE *f, size_t max_bytes,
			struct lb_error *err);
/* github-action-benchmark's customSmallerIsBetter (dir GATE_LOWER_IS_BETTER) or
 * customBiggerIsBetter JSON: [{"name", "unit", "value", "range", "extra"}], candidate values. */
int gate_write_gab(const struct gate_report *r, enum gate_dir dir, FILE *f, struct lb_error *err);
/* Bencher Metric Format: {"<key>": {"<metric>": {"value", "lower_value", "upper_value"}}}. */
int gate_write_bencher(const struct gate_report *r, FILE *f, struct lb_error *err);
/* Plain text for a terminal: failures and skips one per line, then a one-line verdict. */
int gate_write_text(const struct gate_report *r, FILE *f, bool all, struct lb_error *err);

#endif
