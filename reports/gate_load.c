/* gate_load.c: the gate's data: runs from the store, rows matched by key, rules applied. */
#include "gate_load.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"
#include "../metrics/stats.h"
#include "../metrics/store.h"
#include "query.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct gate_ctx {
	struct store *st;
	const struct gate_opts *o;
	struct gate_report *rep;
	struct gate_rules rules;
	struct report_data cd; /* the candidate: runs[0] */
	struct report_data bd; /* the baseline run(s), newest first */
	bool have_eval;        /* an eval_items table with the columns McNemar needs */
	bool power_unasked;    /* no run on either side asked for power figures */
	char eval_ok_expr[64]; /* SQL for "this item is right" */
};

static bool same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

static bool same_key(const struct report_row *a, const struct report_row *b)
{
	if (a->scope != b->scope)
		return false;
	if (a->scope == REPORT_SCOPE_RUN)
		return true;
	if (!same_str(a->backend, b->backend) || !same_str(a->family, b->family) ||
	    !same_str(a->quant, b->quant))
		return false;
	if (a->scope == REPORT_SCOPE_BACKEND)
		return true;
	return a->occ == b->occ && same_str(a->mode, b->mode) &&
	       (a->value == b->value || (isnan(a->value) && isnan(b->value)));
}

static const char *row_label(const struct report_row *r, bool detail, char *buf, size_t len)
{
	char lv[64], fq[128] = "";

	if (detail && (r->family || r->quant))
		snprintf(fq, sizeof(fq), " (%s%s%s)", r->family ? r->family : "",
			 r->family && r->quant ? " " : "", r->quant ? r->quant : "");
	if (r->scope == REPORT_SCOPE_RUN)
		snprintf(buf, len, "run");
	else if (r->scope == REPORT_SCOPE_BACKEND)
		snprintf(buf, len, "%s%s", r->backend ? r->backend : "?", fq);
	else
		snprintf(buf, len, "%s%s/%s", r->backend ? r->backend : "?", fq,
			 report_row_level(r, lv, sizeof(lv)));
	return buf;
}

/* The rows of run index ri in d that match row r (at most one per run). */
static const struct report_row *find_row(const struct report_data *d, size_t ri,
					 const struct report_row *r)
{
	size_t i;

	for (i = 0; i < d->n_rows; i++)
		if (d->rows[i].run == ri && same_key(&d->rows[i], r))
			return &d->rows[i];
	return NULL;
}

static bool data_has_metric(const struct report_data *d, const char *m)
{
	size_t i;

	for (i = 0; i < d->n_metrics; i++)
		if (!strcmp(d->metrics[i], m))
			return true;
	return false;
}

/* ---- rules ---- */

static int load_rules(struct gate_ctx *g, struct lb_error *err)
{
	const struct report_run *cr = &g->cd.runs[0];
	char origin[300];
	int rc;

	if (g->o->rules_path) {
		struct strbuf sb = STRBUF_INIT;

		rc = strbuf_read_file(&sb, g->o->rules_path, GATE_RULES_MAX_BYTES, err);
		if (rc) {
			strbuf_release(&sb);
			return rc == LB_ERR_NOMEM ? rc
						  : lb_error_set(err, LB_ERR_USAGE, "%s", err->msg);
		}
		snprintf(origin, sizeof(origin), "rules file '%s'", g->o->rules_path);
		rc = gate_rules_parse(&g->rules, sb.buf, sb.len, origin, false, err);
		strbuf_release(&sb);
		return rc;
	}
	if (cr->workload_json) {
		snprintf(origin, sizeof(origin), "the \"gate\" section of the workload of run '%s'",
			 cr->name);
		rc = gate_rules_parse(&g->rules, cr->workload_json, strlen(cr->workload_json),
				      origin, true, err);
		if (rc)
			return rc;
		if (g->rules.n || !g->rules.defaults)
			return 0;
		gate_rules_release(&g->rules);
	}
	gate_rules_init_defaults(&g->rules);
	return 0;
}

/* Every named metric must be one llmbench writes or one the runs hold. */
static int check_metrics(struct gate_ctx *g, struct lb_error *err)
{
	size_t i;

	for (i = 0; i < g->rules.n; i++) {
		const char *m = g->rules.v[i].metric;

		if (gate_metric_known(m) || data_has_metric(&g->cd, m) ||
		    data_has_metric(&g->bd, m))
			continue;
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: unknown metric '%s' (not a metric llmbench "
				    "writes, and neither run has it; e.g. ttft_p99_ms, "
				    "output_token_throughput, j_per_output_token, ppl, kld_mean, "
				    "qa_hallucination_rate; see docs/ci.md)",
				    g->rules.origin, m);
	}
	return 0;
}

/* ---- baseline runs ---- */

struct hist_ctx {
	const char *host;
	bool ignore_host;
	long want;
	char **names;
	size_t n;
	bool oom;
};

static int on_hist_run(void *ctx, const struct store_row *row)
{
	struct hist_ctx *h = ctx;

	if (!h->ignore_host && !same_str(h->host, row->text[1]))
		return 0;
	h->names[h->n] = lb_strdup(row->text[0] ? row->text[0] : "");
	if (!h->names[h->n]) {
		h->oom = true;
		return 1;
	}
	h->n++;
	return (long)h->n >= h->want;
}

static int load_baseline(struct gate_ctx *g, struct lb_error *err)
{
	static const char sql[] = "SELECT name, host FROM runs WHERE workload_name = ? AND id < ? "
				  "AND status = 'done' ORDER BY id DESC";
	const struct report_run *cr = &g->cd.runs[0];
	struct hist_ctx h = { cr->host, g->o->ignore_host, g->o->history, NULL, 0, false };
	const char *params[2];
	char id[32];
	size_t i;
	int rc;

	if (g->o->baseline)
		return report_data_load(&g->bd, g->st, &g->o->baseline, 1, err);
	if (!cr->workload_name)
		return lb_error_set(err, LB_ERR_USAGE,
				    "run '%s' has no workload name; --history needs "
				    "one to find earlier runs",
				    cr->name);
	h.names = lb_calloc((size_t)g->o->history, sizeof(*h.names));
	if (!h.names)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	snprintf(id, sizeof(id), "%" PRId64, cr->id);
	params[0] = cr->workload_name;
	params[1] = id;
	rc = store_query(g->st, sql, params, 2, on_hist_run, &h, err);
	if (!rc && h.oom)
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	if (!rc && !h.n)
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "no earlier done run of workload '%s'%s%s%s in the "
				  "store to compare run '%s' with%s",
				  cr->workload_name, g->o->ignore_host ? "" : " on host '",
				  g->o->ignore_host ? "" : (cr->host ? cr->host : ""),
				  g->o->ignore_host ? "" : "'", cr->name,
				  g->o->ignore_host ? "" : " (--ignore-host looks at every host)");
	if (!rc)
		rc = report_data_load(&g->bd, g->st, (const char *const *)h.names, h.n, err);
	for (i = 0; i < h.n; i++)
		lb_free(h.names[i]);
	lb_free(h.names);
	return rc;
}

static int describe_baseline(struct gate_ctx *g, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (g->o->baseline) {
		strbuf_addf(&sb, "run '%s'", g->bd.runs[0].name);
	} else {
		strbuf_addf(&sb, "the last %zu earlier run%s of '%s' (", g->bd.n_runs,
			    g->bd.n_runs == 1 ? "" : "s", g->cd.runs[0].workload_name);
		for (i = 0; i < g->bd.n_runs && i < 10; i++)
			strbuf_addf(&sb, "%s'%s'", i ? ", " : "", g->bd.runs[i].name);
		strbuf_adds(&sb, i < g->bd.n_runs ? ", ...)" : ")");
	}
	g->rep->baseline = strbuf_detach(&sb, NULL);
	g->rep->candidate = lb_strdup(g->cd.runs[0].name);
	g->rep->rules_origin = lb_strdup(g->rules.origin);
	if (!g->rep->candidate || !g->rep->rules_origin)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	return 0;
}

/* A single baseline of another workload or host: nothing can match; say why. */
static int check_run_key(struct gate_ctx *g, struct lb_error *err)
{
	const struct report_run *c = &g->cd.runs[0], *b = &g->bd.runs[0];

	if (!g->o->baseline)
		return 0;
	if (!same_str(c->workload_name, b->workload_name))
		return lb_error_set(
			err, LB_ERR_USAGE,
			"baseline run '%s' is of workload '%s' and "
			"candidate run '%s' of workload '%s': the gate compares runs of "
			"one workload",
			b->name, b->workload_name ? b->workload_name : "?", c->name,
			c->workload_name ? c->workload_name : "?");
	if (!g->o->ignore_host && !same_str(c->host, b->host))
		return lb_error_set(
			err, LB_ERR_USAGE,
			"baseline run '%s' ran on host '%s' and candidate "
			"run '%s' on host '%s'; pass --ignore-host to compare across hosts "
			"(CI runners change names)",
			b->name, b->host ? b->host : "?", c->name, c->host ? c->host : "?");
	return 0;
}

/* ---- sides ---- */

static const struct report_metric *metric_of(const struct report_row *r, const char *fmt,
					     const char *m)
{
	char name[160];

	if (!r)
		return NULL;
	snprintf(name, sizeof(name), fmt, m);
	return report_row_metric(r, name);
}

/* failed_request_rate of a row from its counts (folded over repetitions: the ratio of the
 * means, which is the pooled share when the repetitions send as many requests); one value,
 * no spread. Unavailable when the row has no counts or sent nothing. */
static void failed_rate_side(const struct report_row *r, struct gate_side *s)
{
	const struct report_metric *ok = report_row_metric(r, "requests_ok");
	const struct report_metric *bad = report_row_metric(r, "requests_failed");

	if (!ok || !bad || !ok->n_reps || !bad->n_reps || !(ok->value + bad->value > 0))
		return;
	s->mean = bad->value / (ok->value + bad->value);
	s->n = 1;
}

/* The row has the figure (a stored one, or the counts failed_request_rate is made of). */
static bool row_has(const struct report_row *r, const char *metric)
{
	if (!r)
		return false;
	if (report_row_metric(r, metric))
		return true;
	return !strcmp(metric, GATE_FAILED_RATE) && report_row_metric(r, "requests_ok");
}

static void side_of(const struct report_row *r, const struct gate_rule *rule, struct gate_side *s)
{
	const struct report_metric *m = r ? report_row_metric(r, rule->metric) : NULL;
	const struct report_metric *lo, *hi, *e;
	size_t n;

	*s = (struct gate_side)GATE_SIDE_NONE;
	if (!m && r && !strcmp(rule->metric, GATE_FAILED_RATE)) {
		failed_rate_side(r, s);
		return;
	}
	if (!m || !m->n_reps)
		return;
	s->mean = m->value;
	s->sd = m->sd;
	s->n = m->n_reps;
	lo = metric_of(r, "%s_lo", rule->metric);
	hi = metric_of(r, "%s_hi", rule->metric);
	if (lo && hi && lo->n_reps && hi->n_reps) {
		s->lo = lo->value;
		s->hi = hi->value;
		return;
	}
	e = metric_of(r, "%s_err", rule->metric);
	n = strlen(rule->metric);
	if (!e && n > 4 && !strcmp(rule->metric + n - 4, "_pct")) {
		char base[128];

		snprintf(base, sizeof(base), "%.*s_err_pct", (int)(n - 4), rule->metric);
		e = report_row_metric(r, base);
	}
	if (e && e->n_reps && isfinite(e->value)) {
		double z = gate_z(rule->test == GATE_INTERVAL ? rule->confidence : 0.95);

		s->lo = s->mean - z * e->value;
		s->hi = s->mean + z * e->value;
	}
}

/* ---- McNemar on eval_items ---- */

static int on_col(void *ctx, const struct store_row *row)
{
	unsigned *have = ctx;
	const char *c = row->text[0];

	if (!c)
		return 0;
	if (!strcmp(c, "run_id"))
		*have |= 1;
	else if (!strcmp(c, "backend_id"))
		*have |= 2;
	else if (!strcmp(c, "item_id"))
		*have |= 4;
	else if (!strcmp(c, "grade"))
		*have |= 8;
	else if (!strcmp(c, "correct"))
		*have |= 16;
	return 0;
}

static int probe_eval(struct gate_ctx *g, struct lb_error *err)
{
	unsigned have = 0;
	int rc;

	rc = store_query(g->st, "SELECT name FROM pragma_table_info('eval_items')", NULL, 0, on_col,
			 &have, err);
	if (rc)
		return rc;
	if ((have & 7) == 7 && (have & 24)) {
		g->have_eval = true;
		snprintf(g->eval_ok_expr, sizeof(g->eval_ok_expr), "%s",
			 have & 8 ? "grade = 'correct'" : "correct <> 0");
	}
	return 0;
}

struct mc_res {
	long pairs, worse, better;
	double acc_b, acc_c;
};

static int on_mc(void *ctx, const struct store_row *row)
{
	struct mc_res *m = ctx;

	m->pairs = row->text[0] ? (long)row->num[0] : 0;
	m->worse = row->text[1] ? (long)row->num[1] : 0;
	m->better = row->text[2] ? (long)row->num[2] : 0;
	m->acc_b = row->text[3] ? row->num[3] : NAN;
	m->acc_c = row->text[4] ? row->num[4] : NAN;
	return 1;
}

static int mcnemar_input(struct gate_ctx *g, const struct report_row *brow,
			 const struct report_row *crow, struct gate_input *in, struct lb_error *err)
{
	char sql[768], rb[32], bb[32], rc_[32], bc[32];
	const char *params[4] = { rb, bb, rc_, bc };
	struct mc_res m = { 0, 0, 0, NAN, NAN };
	int rc;

	if (!g->have_eval || !brow || !crow || crow->scope == REPORT_SCOPE_RUN)
		return 0;
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*), SUM(b.ok = 1 AND c.ok = 0), SUM(b.ok = 0 AND c.ok = 1), "
		 "AVG(b.ok), "
		 "AVG(c.ok) FROM (SELECT item_id, MAX(%s) AS ok FROM eval_items WHERE run_id = ? "
		 "AND "
		 "backend_id = ? GROUP BY item_id) b JOIN (SELECT item_id, MAX(%s) AS ok FROM "
		 "eval_items WHERE run_id = ? AND backend_id = ? GROUP BY item_id) c USING "
		 "(item_id)",
		 g->eval_ok_expr, g->eval_ok_expr);
	snprintf(rb, sizeof(rb), "%" PRId64, g->bd.runs[brow->run].id);
	snprintf(bb, sizeof(bb), "%" PRId64, brow->backend_id);
	snprintf(rc_, sizeof(rc_), "%" PRId64, g->cd.runs[0].id);
	snprintf(bc, sizeof(bc), "%" PRId64, crow->backend_id);
	rc = store_query(g->st, sql, params, 4, on_mc, &m, err);
	if (rc)
		return rc;
	in->mc_pairs = m.pairs;
	in->mc_worse = m.worse;
	in->mc_better = m.better;
	if (m.pairs) {
		in->base.mean = m.acc_b;
		in->cand.mean = m.acc_c;
	}
	return 0;
}

/* ---- one key ---- */

static bool metric_anywhere(const struct gate_ctx *g, const char *m)
{
	if (!strcmp(m, GATE_FAILED_RATE) && metric_anywhere(g, "requests_ok"))
		return true;
	return data_has_metric(&g->cd, m) || data_has_metric(&g->bd, m);
}

static int eval_metric(struct gate_ctx *g, const struct report_row *crow, const char *label,
		       const struct gate_rule *rule, struct lb_error *err)
{
	const struct report_row *brows[64];
	size_t nb = g->bd.n_runs < 64 ? g->bd.n_runs : 64, i, nh = 0;
	double hist[64];
	struct gate_input in = { .base = GATE_SIDE_NONE, .cand = GATE_SIDE_NONE };
	struct gate_verdict v;
	struct gate_side bs;
	const struct report_metric *cm = report_row_metric(crow, rule->metric);
	bool any_b = false, derived = !cm && !strcmp(rule->metric, GATE_FAILED_RATE);

	for (i = 0; i < nb; i++) {
		brows[i] = find_row(&g->bd, i, crow);
		if (row_has(brows[i], rule->metric))
			any_b = true;
	}
	if (!row_has(crow, rule->metric) && !any_b)
		return 0; /* the metric belongs to rows of another kind */
	side_of(crow, rule, &in.cand);
	if (g->o->baseline || nb == 1) {
		side_of(brows[0], rule, &in.base);
	} else {
		/* history: one value per earlier run; the interval of the newest one */
		for (i = 0; i < nb; i++) {
			side_of(brows[i], rule, &bs);
			if (!isnan(bs.mean))
				hist[nh++] = bs.mean;
			if (i == 0 || (isnan(in.base.lo) && !isnan(bs.lo))) {
				in.base.lo = bs.lo;
				in.base.hi = bs.hi;
			}
		}
		if (nh) {
			double m, sd;

			stats_mean_sd(hist, nh, &m, &sd);
			in.base.mean = m;
			in.base.sd = sd;
			in.base.n = (int)nh;
		}
		in.history = hist;
		in.n_history = nh;
	}
	gate_evaluate(rule, &in, &v);
	if (v.status == GATE_SKIP && cm && cm->note && !cm->n_reps)
		snprintf(v.note, sizeof(v.note), "candidate: %s", cm->note);
	return gate_report_add(g->rep, label, rule->metric,
			       cm        ? cm->unit
			       : derived ? "fraction"
					 : NULL,
			       rule, &in.cand, &v, err);
}

static int eval_row(struct gate_ctx *g, const struct report_row *crow, struct lb_error *err)
{
	const char *const *dm;
	char label[300];
	size_t i;
	int rc;

	row_label(crow, false, label, sizeof(label));
	for (i = 0; i < g->rules.n; i++) {
		if (g->rules.v[i].test == GATE_MCNEMAR)
			continue; /* per backend: eval_mcnemar_rules() */
		rc = eval_metric(g, crow, label, &g->rules.v[i], err);
		if (rc)
			return rc;
	}
	if (!g->rules.defaults)
		return 0;
	for (dm = gate_default_metrics(); *dm; dm++) {
		struct gate_rule r;
		char name[64];

		if (gate_rules_find(&g->rules, *dm))
			continue;
		if (g->power_unasked && !strcmp(*dm, "j_per_output_token"))
			continue; /* no run asked for power: not a check skipped, no check */
		gate_rule_default(*dm, &r);
		snprintf(name, sizeof(name), "%s", *dm);
		r.metric = name;
		rc = eval_metric(g, crow, label, &r, err);
		if (rc)
			return rc;
	}
	return 0;
}

static bool same_backend(const struct report_row *a, const struct report_row *b)
{
	return a->scope != REPORT_SCOPE_RUN && b->scope != REPORT_SCOPE_RUN &&
	       same_str(a->backend, b->backend) && same_str(a->family, b->family) &&
	       same_str(a->quant, b->quant);
}

/* McNemar rules compare the items of a backend: once per backend both runs have. */
static int eval_mcnemar_rules(struct gate_ctx *g, struct lb_error *err)
{
	size_t ri, i, k;
	int rc;

	for (ri = 0; ri < g->rules.n; ri++) {
		const struct gate_rule *rule = &g->rules.v[ri];

		if (rule->test != GATE_MCNEMAR)
			continue;
		for (i = 0; i < g->cd.n_rows; i++) {
			const struct report_row *c = &g->cd.rows[i], *b = NULL;
			struct gate_input in = { .base = GATE_SIDE_NONE, .cand = GATE_SIDE_NONE };
			struct gate_verdict v;
			bool seen = false;

			if (c->scope == REPORT_SCOPE_RUN)
				continue;
			for (k = 0; k < i && !seen; k++)
				seen = g->cd.rows[k].scope != REPORT_SCOPE_RUN &&
				       g->cd.rows[k].backend_id == c->backend_id;
			for (k = 0; k < g->bd.n_rows && !seen && !b; k++)
				if (g->bd.rows[k].run == 0 && same_backend(&g->bd.rows[k], c))
					b = &g->bd.rows[k];
			if (seen || !b)
				continue;
			rc = mcnemar_input(g, b, c, &in, err);
			if (rc)
				return rc;
			gate_evaluate(rule, &in, &v);
			if (v.status == GATE_SKIP && !g->have_eval)
				snprintf(v.note, sizeof(v.note),
					 "unavailable: the store has no per-item "
					 "eval_items table (run_id, backend_id, item_id, grade)");
			rc = gate_report_add(g->rep, c->backend ? c->backend : "?", rule->metric,
					     NULL, rule, &in.cand, &v, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int any_match(const struct gate_ctx *g, const struct report_row *r, bool in_candidate)
{
	size_t i;

	if (in_candidate) {
		for (i = 0; i < g->cd.n_rows; i++)
			if (same_key(&g->cd.rows[i], r))
				return 1;
		return 0;
	}
	for (i = 0; i < g->bd.n_rows; i++)
		if (same_key(&g->bd.rows[i], r))
			return 1;
	return 0;
}

/* A candidate level or backend row that sent requests and got none back fails, whatever the
 * rules say: a dead server is not a pass. */
static int check_dead(struct gate_ctx *g, const struct report_row *r, struct lb_error *err)
{
	const struct report_metric *ok = report_row_metric(r, "requests_ok");
	const struct report_metric *bad = report_row_metric(r, "requests_failed");
	const struct report_row *b = find_row(&g->bd, 0, r);
	const struct report_metric *bok = b ? report_row_metric(b, "requests_ok") : NULL;
	struct gate_side cand = GATE_SIDE_NONE;
	struct gate_verdict v;
	struct gate_rule rule;
	char label[300], name[] = "requests_ok";

	if (r->scope == REPORT_SCOPE_RUN || !ok || !ok->n_reps || ok->value != 0)
		return 0;
	gate_rule_default(name, &rule);
	rule.metric = name;
	rule.test = GATE_THRESHOLD;
	rule.threshold = 0;
	memset(&v, 0, sizeof(v));
	v.status = GATE_FAIL;
	v.test = GATE_THRESHOLD;
	v.observed = 0;
	v.baseline = bok && bok->n_reps ? bok->value : NAN;
	v.rel = v.limit = v.p = v.stat = v.mde = v.mde_rel = NAN;
	if (bad && bad->n_reps && bad->value > 0)
		snprintf(v.note, sizeof(v.note),
			 "no successful request: all %.0f measured requests failed%s%.100s",
			 bad->value * bad->n_reps, r->invalid_reason ? "; " : "",
			 r->invalid_reason ? r->invalid_reason : "");
	else
		snprintf(v.note, sizeof(v.note), "no successful request%s%s%.100s",
			 bad && bad->n_reps ? " (no measured request at all)" : "",
			 r->invalid_reason ? ": " : "", r->invalid_reason ? r->invalid_reason : "");
	cand.mean = 0;
	cand.n = ok->n_reps;
	return gate_report_add(g->rep, row_label(r, false, label, sizeof(label)), name, "requests",
			       &rule, &cand, &v, err);
}

/* The baseline side of a matched candidate row: its levels marked invalid are noted, as the
 * candidate's are; a baseline row with no successful request leaves only the failure figures
 * to compare, so the pass comes with a warning (docs/ci.md "Verdicts"). */
static int note_baseline_row(struct gate_ctx *g, const struct report_row *r, struct lb_error *err)
{
	char label[300], line[600];
	bool weak = false;
	size_t ri;
	int rc = 0;

	if (r->scope == REPORT_SCOPE_RUN)
		return 0;
	for (ri = 0; !rc && ri < g->bd.n_runs; ri++) {
		const struct report_row *b = find_row(&g->bd, ri, r);
		const struct report_metric *ok = b ? report_row_metric(b, "requests_ok") : NULL;
		const char *run = g->bd.runs[ri].name;

		if (!b)
			continue;
		if (ok && ok->n_reps && ok->value == 0) {
			snprintf(line, sizeof(line),
				 "baseline %s of run '%s' had no successful request: only its "
				 "failure figures could be compared",
				 row_label(r, false, label, sizeof(label)), run);
			rc = gate_report_note(g->rep, line, err);
			weak = true;
		} else if (b->scope == REPORT_SCOPE_LEVEL && !b->valid) {
			snprintf(line, sizeof(line),
				 "baseline level %s of run '%s' is marked invalid: %s",
				 row_label(r, false, label, sizeof(label)), run,
				 b->invalid_reason ? b->invalid_reason : "no reason given");
			rc = gate_report_note(g->rep, line, err);
		}
	}
	if (weak)
		g->rep->n_weak++;
	return rc;
}

static int run_gate(struct gate_ctx *g, struct lb_error *err)
{
	char label[300], line[400];
	size_t i, matched = 0, k;
	int rc;

	for (i = 0; i < g->cd.n_rows; i++) {
		const struct report_row *r = &g->cd.rows[i];

		rc = check_dead(g, r, err);
		if (rc)
			return rc;
		if (!any_match(g, r, false)) {
			snprintf(line, sizeof(line), "candidate only: %s",
				 row_label(r, true, label, sizeof(label)));
			rc = gate_report_unmatched(g->rep, line, err);
			if (rc)
				return rc;
			continue;
		}
		matched++;
		rc = note_baseline_row(g, r, err);
		if (rc)
			return rc;
		if (r->scope == REPORT_SCOPE_LEVEL && !r->valid) {
			snprintf(line, sizeof(line), "candidate level %s is marked invalid: %s",
				 row_label(r, false, label, sizeof(label)),
				 r->invalid_reason ? r->invalid_reason : "no reason given");
			rc = gate_report_note(g->rep, line, err);
			if (rc)
				return rc;
		}
		rc = eval_row(g, r, err);
		if (rc)
			return rc;
	}
	for (i = 0; i < g->bd.n_rows; i++) {
		const struct report_row *r = &g->bd.rows[i];
		bool dup = false;

		for (k = 0; k < i && !dup; k++)
			dup = same_key(&g->bd.rows[k], r);
		if (dup || any_match(g, r, true))
			continue;
		snprintf(line, sizeof(line), "baseline only: %s",
			 row_label(r, true, label, sizeof(label)));
		rc = gate_report_unmatched(g->rep, line, err);
		if (rc)
			return rc;
	}
	if (matched) {
		rc = eval_mcnemar_rules(g, err);
		if (rc)
			return rc;
	}
	/* named rules that no row has at all: say so once instead of dropping them */
	for (i = 0; i < g->rules.n; i++) {
		const struct gate_rule *r = &g->rules.v[i];
		struct gate_verdict v;
		struct gate_side none = GATE_SIDE_NONE;

		if (metric_anywhere(g, r->metric) || r->test == GATE_MCNEMAR)
			continue;
		memset(&v, 0, sizeof(v));
		v.status = GATE_SKIP;
		v.test = r->test;
		v.observed = v.baseline = v.rel = v.limit = v.p = v.stat = NAN;
		snprintf(v.note, sizeof(v.note), "unavailable: neither run has this metric");
		rc = gate_report_add(g->rep, "(all rows)", r->metric, NULL, r, &none, &v, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* A note per backend whose figures come from a synthetic (random-weight) model. */
static int note_synthetic(const struct report_data *d, const char *which, struct gate_report *rep,
			  struct lb_error *err)
{
	char line[400];
	size_t i, k;
	int rc = 0;

	for (i = 0; !rc && i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];
		bool seen = false;

		if (!report_row_synthetic(r))
			continue;
		for (k = 0; k < i && !seen; k++)
			seen = report_row_synthetic(&d->rows[k]) && d->rows[k].backend &&
			       r->backend && !strcmp(d->rows[k].backend, r->backend);
		if (seen)
			continue;
		snprintf(line, sizeof(line), "%s backend '%s' is a %s", which,
			 r->backend ? r->backend : "?", REPORT_SYNTHETIC_CAVEAT);
		rc = gate_report_note(rep, line, err);
	}
	return rc;
}

int gate_load_and_evaluate(struct store *st, const struct gate_opts *o, struct gate_report *rep,
			   struct lb_error *err)
{
	struct gate_ctx g = { .st = st, .o = o, .rep = rep };
	int rc;

	rep->fail_unmatched = o->fail_unmatched;
	rc = report_data_load(&g.cd, st, &o->candidate, 1, err);
	if (!rc)
		rc = load_rules(&g, err);
	if (!rc)
		rc = load_baseline(&g, err);
	if (!rc && o->baseline && !strcmp(g.cd.runs[0].name, g.bd.runs[0].name))
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "the baseline and the candidate are the same run "
				  "'%s'",
				  o->candidate);
	if (!rc)
		rc = check_run_key(&g, err);
	if (!rc)
		rc = check_metrics(&g, err);
	if (!rc)
		rc = describe_baseline(&g, err);
	if (!rc)
		rc = probe_eval(&g, err);
	if (!rc)
		rc = note_synthetic(&g.cd, "candidate", rep, err);
	if (!rc)
		rc = note_synthetic(&g.bd, "baseline", rep, err);
	if (!rc && strcmp(g.cd.runs[0].status, "done")) {
		char note[300];

		snprintf(note, sizeof(note), "candidate run '%s' is %s, not done",
			 g.cd.runs[0].name, g.cd.runs[0].status);
		rc = gate_report_note(rep, note, err);
	}
	for (size_t ri = 0; !rc && ri < g.bd.n_runs; ri++) {
		char note[300];

		if (!strcmp(g.bd.runs[ri].status, "done"))
			continue;
		snprintf(note, sizeof(note), "baseline run '%s' is %s, not done",
			 g.bd.runs[ri].name, g.bd.runs[ri].status);
		rc = gate_report_note(rep, note, err);
	}
	g.power_unasked = !rc && report_data_power_unasked(&g.cd) &&
			  report_data_power_unasked(&g.bd);
	if (!rc)
		rc = run_gate(&g, err);
	if (!rc)
		rc = gate_report_finish(rep, err);
	gate_rules_release(&g.rules);
	report_data_release(&g.cd);
	report_data_release(&g.bd);
	return rc;
}
