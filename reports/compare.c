/* compare.c: two runs side by side (see compare.h). */
#include "compare.h"
#include "../base/jsonout.h"

#include "../base/alloc.h"
#include "../metrics/stats.h"
#include "fields.h"
#include "gate.h"
#include "query.h"
#include "writer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool rows_match(const struct report_row *a, const struct report_row *b)
{
	if (a->scope != b->scope || !same(a->backend, b->backend))
		return false;
	if (a->scope != REPORT_SCOPE_LEVEL)
		return true;
	return a->occ == b->occ && same(a->mode, b->mode) &&
	       (a->value == b->value || (isnan(a->value) && isnan(b->value)));
}

static const struct report_row *find_match(const struct report_data *d, const struct report_row *r)
{
	size_t i;

	for (i = 0; i < d->n_rows; i++)
		if (rows_match(&d->rows[i], r))
			return &d->rows[i];
	return NULL;
}

static bool synth(const char *note)
{
	return note && !strncmp(note, "synthetic", 9);
}

/* Append s to the text in buf (cut to fit). */
static void strbuf_cat_cstr(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s", s);
}

/* One caveat line per run and backend whose figures come from a synthetic model. */
static void synthetic_caveats(FILE *out, const struct report_data *d, const char *which)
{
	size_t i, k;

	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];
		bool seen = false;

		if (!report_row_synthetic(r))
			continue;
		for (k = 0; k < i && !seen; k++)
			seen = report_row_synthetic(&d->rows[k]) &&
			       same(d->rows[k].backend, r->backend);
		if (!seen)
			fprintf(out, "> **Caveat** (%s, %s): %s.\n\n", which,
				r->backend ? r->backend : "run-wide", REPORT_SYNTHETIC_CAVEAT);
	}
}

/* The workload's "slo" section as compact JSON (lb_malloc'd via cJSON: cJSON_free), or NULL. */
static char *slo_of(const struct report_run *r)
{
	cJSON *w = r->workload_json ? cJSON_Parse(r->workload_json) : NULL;
	const cJSON *slo = w ? cJSON_GetObjectItemCaseSensitive(w, "slo") : NULL;
	char *s = slo ? cJSON_PrintUnformatted(slo) : NULL;

	cJSON_Delete(w);
	return s;
}

/* Goodput counts the requests meeting the workload's SLOs: runs of other SLOs compare
 * against other targets, and the Markdown says so. */
static bool slo_caveat(FILE *out, const struct report_run *a, const struct report_run *b)
{
	char *sa = slo_of(a), *sb = slo_of(b);
	bool differ = !same(sa, sb);

	if (differ && out)
		fprintf(out,
			"> **Caveat**: the runs' SLOs differ (A: %s, B: %s): their goodput counts "
			"requests against different targets, so its change is not a better or "
			"worse server.\n\n",
			sa ? sa : "none", sb ? sb : "none");
	cJSON_free(sa);
	cJSON_free(sb);
	return differ;
}

struct cmp_ctx {
	FILE *out;
	enum compare_fmt fmt;
	bool all;
	const struct report_data *a, *b;
	size_t n_rows;          /* rows written (JSON: for the commas) */
	size_t n_unavail_both;  /* Markdown: figures unavailable in both runs, left out */
	const char *unavail_eg; /* one of them, "goodput (req/s): no SLO" */
	char unavail_buf[256];
	size_t n_better, n_worse;
	bool slo_differs;   /* goodput counts against other targets in each run */
	bool power_unasked; /* neither run asked for power figures */
};

/* The figures a compact comparison shows (--all: every metric). */
static bool is_key(const char *name)
{
	static const char *const keys[] = {
		"output_token_throughput",
		"request_throughput",
		"ttft_p50_ms",
		"ttft_p99_ms",
		"tpot_p50_ms",
		"e2e_p99_ms",
		"requests_failed",
		"goodput",
		"j_per_output_token",
		"tg_tps",
		"pp_tps",
		"ppl",
		"bpb",
		"kld_mean",
		"qa_correct",
		"mc1",
		"mc2",
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(name, keys[i]))
			return true;
	return false;
}

/* Figures that describe the run, not its quality: a change is neither better nor worse. */
static bool neutral(const char *metric)
{
	static const char *const names[] = { "itl_zero_gaps",      "chunks_kernel_own",
					     "chunks_kernel_read", "chunks_harness",
					     "requests_warmup",    "offered_rate",
					     "inflight_peak",      "prompt_tokens_mean",
					     "output_tokens_mean", "workers" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(metric, names[i]))
			return true;
	return !strncmp(metric, "worker_", 7);
}

/* The change's verdict: direction per metric (the gate's default rules: lower latency, failures,
 * perplexity, KLD and energy are better, higher throughput and scores). Within 1%: "same". */
static const char *verdict(const struct cmp_ctx *c, const char *metric, bool both, double d,
			   double rel)
{
	struct gate_rule r;

	if (!both)
		return "n/a";
	if (neutral(metric) || (c->slo_differs && !strcmp(metric, "goodput")))
		return "neutral";
	if (d == 0 || (!isnan(rel) && fabs(rel) < 1))
		return "same";
	gate_rule_default(metric, &r);
	return (r.dir == GATE_HIGHER_IS_BETTER) == (d > 0) ? "better" : "worse";
}

/* Welch's two-sided p over repetitions where both runs have two or more, else NAN. */
static double welch_p(const struct report_metric *a, const struct report_metric *b)
{
	double t, df, p;

	if (!a || !b || a->n_reps < 2 || b->n_reps < 2 || isnan(a->sd) || isnan(b->sd))
		return NAN;
	stats_welch(a->value, a->sd, a->n_reps, b->value, b->sd, b->n_reps, &t, &df, &p);
	return p;
}

static void json_num(FILE *f, double v)
{
	char b[64];

	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fputs(fields_fmt_exact(b, sizeof(b), v), f);
}

static const char *scope_word(enum report_scope s)
{
	return s == REPORT_SCOPE_LEVEL ? "level" : s == REPORT_SCOPE_BACKEND ? "backend" : "run";
}

static void json_side(FILE *f, const char *key, const struct report_metric *m)
{
	fprintf(f, ",\"%s\":", key);
	json_num(f, m && m->n_reps ? m->value : NAN);
	fprintf(f, ",\"%s_sd\":", key);
	json_num(f, m && m->n_reps >= 2 ? m->sd : NAN);
	fprintf(f, ",\"%s_reps\":%d,\"%s_note\":", key, m ? m->n_reps : 0, key);
	jsonout_strz(f, m && (!m->n_reps || synth(m->note)) ? m->note : NULL);
}

/* The metric names of two rows, merged in report order. */
static size_t merged_names(const struct report_data *d, const struct report_row *ra,
			   const struct report_row *rb, const char **out)
{
	size_t i, n = 0;

	(void)d;
	for (i = 0; i < ra->n_m; i++)
		out[n++] = ra->m[i].name;
	for (i = 0; i < rb->n_m; i++)
		if (!report_row_metric(ra, rb->m[i].name))
			out[n++] = rb->m[i].name;
	return n;
}

static int cmp_names(const void *x, const void *y)
{
	return fields_cmp(*(const char *const *)x, *(const char *const *)y);
}

static void emit_pair(struct cmp_ctx *c, const struct report_row *ra, const struct report_row *rb)
{
	const char **names = lb_calloc(ra->n_m + rb->n_m + 1, sizeof(*names));
	char ta[96], tb[96], dv[80], rv[64], lv[64];
	size_t n, i;

	if (!names)
		return;
	n = merged_names(c->a, ra, rb, names);
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		struct field_desc tmp;
		const struct field_desc *f = fields_lookup(names[i], &tmp);
		const struct report_metric *ma = report_row_metric(ra, names[i]);
		const struct report_metric *mb = report_row_metric(rb, names[i]);
		struct report_metric zero;
		struct report_cell ca, cb;
		double d, rel;
		bool both;

		/* a failure category (or abandoned requests) a level did not have is stored as
		 * nothing: 0 beside the other run's count, where the level counted its requests */
		if ((!ma) != (!mb) && (!strncmp(names[i], "requests_failed_", 16) ||
				       !strcmp(names[i], "requests_cancelled"))) {
			const struct report_row *zr = ma ? rb : ra;
			const struct report_metric *cnt = report_row_metric(zr, "requests_failed");

			if (cnt && cnt->n_reps) {
				zero = *(ma ? ma : mb);
				zero.value = 0;
				zero.sd = NAN;
				zero.n_reps = cnt->n_reps;
				zero.n_missing = 0;
				zero.note = NULL;
				if (ma)
					mb = &zero;
				else
					ma = &zero;
			}
		}
		both = ma && mb && ma->n_reps && mb->n_reps;
		d = both ? mb->value - ma->value : NAN;
		rel = both && ma->value != 0 ? d / fabs(ma->value) * 100 : NAN;
		report_cell_of(ma, &ca);
		report_cell_of(mb, &cb);
		if (c->fmt == COMPARE_CSV) {
			fputs("both,", c->out);
			csvout_field(c->out, ra->backend);
			fprintf(c->out, ",%s,",
				ra->scope == REPORT_SCOPE_LEVEL     ? "level"
				: ra->scope == REPORT_SCOPE_BACKEND ? "backend"
								    : "run");
			csvout_field(c->out, ra->scope == REPORT_SCOPE_LEVEL ? ra->mode : NULL);
			fputc(',', c->out);
			if (ra->scope == REPORT_SCOPE_LEVEL)
				fputs(report_fmt_level_value(ra->value, lv, sizeof(lv)), c->out);
			fputc(',', c->out);
			csvout_field(c->out, names[i]);
			fputc(',', c->out);
			csvout_field(c->out, ma && ma->unit   ? ma->unit
					     : mb && mb->unit ? mb->unit
							      : NULL);
			fprintf(c->out, ",%s,%s,%s,%s,",
				/* a number or nothing; why nothing: a_note, b_note */
				ca.kind == REPORT_CELL_NUM ? fields_fmt_exact(ta, sizeof(ta), ca.v)
							   : "",
				cb.kind == REPORT_CELL_NUM ? fields_fmt_exact(tb, sizeof(tb), cb.v)
							   : "",
				both ? fields_fmt_exact(dv, sizeof(dv), d) : "",
				!isnan(rel) ? fields_fmt_exact(rv, sizeof(rv), rel) : "");
			/* unavailable: the reason; synthetic: the caveat */
			csvout_field(c->out, ca.kind == REPORT_CELL_UNAVAILABLE
						     ? (ca.note ? ca.note : "unavailable")
					     : synth(ca.note) ? ca.note
							      : NULL);
			fputc(',', c->out);
			csvout_field(c->out, cb.kind == REPORT_CELL_UNAVAILABLE
						     ? (cb.note ? cb.note : "unavailable")
					     : synth(cb.note) ? cb.note
							      : NULL);
			fputc('\n', c->out);
			continue;
		}
		if (c->fmt == COMPARE_JSON) {
			char lv2[64];

			fputs(c->n_rows++ ? ",\n" : "\n", c->out);
			fputs("{\"backend\":", c->out);
			jsonout_strz(c->out, ra->backend);
			fprintf(c->out, ",\"scope\":\"%s\",\"mode\":", scope_word(ra->scope));
			jsonout_strz(c->out, ra->scope == REPORT_SCOPE_LEVEL ? ra->mode : NULL);
			fputs(",\"level\":", c->out);
			if (ra->scope == REPORT_SCOPE_LEVEL)
				fputs(report_fmt_level_value(ra->value, lv2, sizeof(lv2)), c->out);
			else
				fputs("null", c->out);
			fputs(",\"metric\":", c->out);
			jsonout_strz(c->out, names[i]);
			fputs(",\"unit\":", c->out);
			jsonout_strz(c->out, ma && ma->unit   ? ma->unit
					     : mb && mb->unit ? mb->unit
							      : NULL);
			json_side(c->out, "a", ma);
			json_side(c->out, "b", mb);
			fputs(",\"diff\":", c->out);
			json_num(c->out, d);
			fputs(",\"rel_diff_pct\":", c->out);
			json_num(c->out, rel);
			fprintf(c->out, ",\"verdict\":\"%s\",\"welch_p\":",
				verdict(c, names[i], both, d, rel));
			json_num(c->out, welch_p(ma, mb));
			fputc('}', c->out);
			continue;
		}
		if (!c->all && !is_key(names[i]))
			continue;
		if (!both && (!ma || !ma->n_reps) && (!mb || !mb->n_reps)) {
			/* unavailable (or absent) in both: one line at the end, not a row; energy
			 * that neither run asked for is not even that (power_requested 0) */
			if (c->power_unasked && f->group && !strcmp(f->group, "energy"))
				continue;
			if (!c->n_unavail_both++) {
				const struct report_metric *m = ma ? ma : mb;

				snprintf(c->unavail_buf, sizeof(c->unavail_buf), "%s: %s",
					 f->display, report_note_reason(m ? m->note : NULL));
				c->unavail_eg = c->unavail_buf;
			}
			continue;
		}
		report_cell_text(&ca, f, ta, sizeof(ta));
		report_cell_text(&cb, f, tb, sizeof(tb));
		if (ca.kind == REPORT_CELL_NUM && synth(ca.note))
			strbuf_cat_cstr(ta, sizeof(ta), " (synthetic)");
		if (cb.kind == REPORT_CELL_NUM && synth(cb.note))
			strbuf_cat_cstr(tb, sizeof(tb), " (synthetic)");
		{
			const char *v = verdict(c, names[i], both, d, rel);
			double p = welch_p(ma, mb);
			char ps[32];

			if (both && d == 0)
				snprintf(rv, sizeof(rv), "0");
			else if (both && isnan(rel))
				snprintf(rv, sizeof(rv), "n/a (A = 0)");
			else if (both)
				snprintf(rv, sizeof(rv), "%+.1f%%", rel);
			else
				snprintf(rv, sizeof(rv), "%s",
					 ca.kind == REPORT_CELL_UNAVAILABLE ||
							 cb.kind == REPORT_CELL_UNAVAILABLE
						 ? "unavailable"
						 : "not in both");
			if (isnan(p))
				snprintf(ps, sizeof(ps), "-");
			else if (p < 0.001)
				snprintf(ps, sizeof(ps), "<0.001");
			else
				snprintf(ps, sizeof(ps), "%.3f", p);
			c->n_better += !strcmp(v, "better");
			c->n_worse += !strcmp(v, "worse");
			fputs("| ", c->out);
			mdout_cell(c->out, ra->backend ? ra->backend : "?");
			fprintf(c->out, " | %s | %s | %s | %s | %s | %s | %s |\n",
				ra->scope == REPORT_SCOPE_LEVEL
					? report_row_level(ra, lv, sizeof(lv))
				: ra->scope == REPORT_SCOPE_BACKEND ? "(backend-wide)"
								    : "(run-wide)",
				f->display, ta, tb, rv,
				!strcmp(v, "better")  ? "▲ better"
				: !strcmp(v, "worse") ? "▼ worse"
				: !strcmp(v, "same")  ? "= same"
						      : "-",
				ps);
		}
	}
	lb_free(names);
}

static void emit_unmatched(struct cmp_ctx *c, const struct report_data *d,
			   const struct report_data *o, const char *which, const char *run)
{
	char lv[64];
	size_t i, k;
	bool any = false;

	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];
		bool first = true;

		if (find_match(o, r))
			continue;
		if (c->fmt == COMPARE_CSV) {
			fprintf(c->out, "only_in_%s,", which);
			csvout_field(c->out, r->backend);
			fprintf(c->out, ",%s,",
				r->scope == REPORT_SCOPE_LEVEL     ? "level"
				: r->scope == REPORT_SCOPE_BACKEND ? "backend"
								   : "run");
			csvout_field(c->out, r->scope == REPORT_SCOPE_LEVEL ? r->mode : NULL);
			fputc(',', c->out);
			if (r->scope == REPORT_SCOPE_LEVEL)
				fputs(report_fmt_level_value(r->value, lv, sizeof(lv)), c->out);
			fputs(",,,,,,,,\n", c->out);
			continue;
		}
		if (c->fmt == COMPARE_JSON) {
			fputs(any ? ",{\"backend\":" : "{\"backend\":", c->out);
			any = true;
			jsonout_strz(c->out, r->backend);
			fprintf(c->out, ",\"scope\":\"%s\",\"mode\":", scope_word(r->scope));
			jsonout_strz(c->out, r->scope == REPORT_SCOPE_LEVEL ? r->mode : NULL);
			fprintf(c->out, ",\"level\":%s}",
				r->scope == REPORT_SCOPE_LEVEL
					? report_fmt_level_value(r->value, lv, sizeof(lv))
					: "null");
			continue;
		}
		/* Markdown: one line per backend, its rows of this run only after it */
		for (k = 0; k < i; k++)
			if (!find_match(o, &d->rows[k]) && same(d->rows[k].backend, r->backend) &&
			    d->rows[k].scope != REPORT_SCOPE_RUN)
				first = false;
		if (!first && r->scope != REPORT_SCOPE_RUN)
			continue;

		if (!any) {
			fprintf(c->out, "Only in %s (", which);
			mdout_cell(c->out, run);
			fputs("):\n\n", c->out);
		}
		any = true;
		if (r->scope == REPORT_SCOPE_RUN) {
			fputs("- run-wide figures\n", c->out);
			continue;
		}
		fputs("- ", c->out);
		mdout_cell(c->out, r->backend ? r->backend : "?");
		fputs(":", c->out);
		for (k = i; k < d->n_rows; k++) {
			const struct report_row *x = &d->rows[k];

			if (find_match(o, x) || !same(x->backend, r->backend) ||
			    x->scope == REPORT_SCOPE_RUN)
				continue;
			fprintf(c->out, "%s %s", k == i ? "" : ",",
				x->scope == REPORT_SCOPE_LEVEL ? report_row_level(x, lv, sizeof(lv))
							       : "backend-wide");
		}
		fputc('\n', c->out);
	}
	if (any && c->fmt == COMPARE_MD)
		fputc('\n', c->out);
}

int compare_render(struct store *st, const char *run_a, const char *run_b, enum compare_fmt fmt,
		   bool all_metrics, FILE *out, struct lb_error *err)
{
	struct report_data a = { 0 }, b = { 0 };
	struct cmp_ctx c = { .out = out, .fmt = fmt, .all = all_metrics, .a = &a, .b = &b };
	const char *na[] = { run_a }, *nb[] = { run_b };
	size_t i;
	int rc;

	rc = report_data_load(&a, st, na, 1, err);
	if (!rc)
		rc = report_data_load(&b, st, nb, 1, err);
	if (rc)
		goto out;
	if (fmt != COMPARE_MD)
		c.slo_differs = slo_caveat(NULL, &a.runs[0], &b.runs[0]);
	c.power_unasked = report_data_power_unasked(&a) && report_data_power_unasked(&b);
	if (fmt == COMPARE_CSV) {
		fputs("match,backend,scope,mode,level,metric,unit,a,b,diff,rel_diff_pct,a_note,b_note\n",
		      out);
	} else if (fmt == COMPARE_JSON) {
		fputs("{\"a\":", out);
		jsonout_strz(out, a.runs[0].name);
		fputs(",\"b\":", out);
		jsonout_strz(out, b.runs[0].name);
		fputs(",\"rows\":[", out);
	} else {
		const struct report_run *ra = &a.runs[0], *rb = &b.runs[0];

		/* names on one line: '|' escaped, line breaks as spaces */
		fputs("# llmbench compare: ", out);
		mdout_cell(out, ra->name);
		fputs(" (A) vs ", out);
		mdout_cell(out, rb->name);
		fputs(" (B)\n\nA: ", out);
		mdout_cell(out, ra->name);
		fputs(" (workload ", out);
		mdout_cell(out, ra->workload_name ? ra->workload_name : "?");
		fprintf(out,
			", started %s, llmbench %s). B: ", ra->started_at ? ra->started_at : "?",
			ra->version ? ra->version : "?");
		mdout_cell(out, rb->name);
		fputs(" (workload ", out);
		mdout_cell(out, rb->workload_name ? rb->workload_name : "?");
		fprintf(out, ", started %s, llmbench %s).\n\n",
			rb->started_at ? rb->started_at : "?", rb->version ? rb->version : "?");
		fprintf(out,
			"Rows matched by backend and level; %s. change: (B - A) / |A|; "
			"▲ better, ▼ worse by the metric's direction (lower latency, failures, "
			"perplexity, KLD and energy; higher throughput and scores), = within 1%%. "
			"p: Welch's two-sided t-test over repetitions where both runs have two or "
			"more. \"a ± b\": mean ± sd over repetitions.\n\n",
			all_metrics ? "every metric (--all)"
				    : "the key figures (--all: every metric)");
		synthetic_caveats(out, &a, "A");
		synthetic_caveats(out, &b, "B");
		c.slo_differs = slo_caveat(out, &a.runs[0], &b.runs[0]);
		fputs("| backend | level | metric | A | B | change | B vs A | p |\n"
		      "| :--- | :--- | :--- | ---: | ---: | ---: | :--- | ---: |\n",
		      out);
	}
	for (i = 0; i < a.n_rows; i++) {
		const struct report_row *m = find_match(&b, &a.rows[i]);

		if (m)
			emit_pair(&c, &a.rows[i], m);
	}
	if (fmt == COMPARE_JSON) {
		fputs("\n],\"only_in_a\":[", out);
		emit_unmatched(&c, &a, &b, "A", run_a);
		fputs("],\"only_in_b\":[", out);
		emit_unmatched(&c, &b, &a, "B", run_b);
		fputs("]}\n", out);
	} else {
		if (fmt == COMPARE_MD) {
			fprintf(out, "\n%zu better, %zu worse.", c.n_better, c.n_worse);
			if (c.n_unavail_both)
				fprintf(out,
					" %zu figure%s unavailable in both runs left out (%s).",
					c.n_unavail_both, c.n_unavail_both > 1 ? "s" : "",
					c.unavail_eg);
			fputs("\n\n", out);
		}
		emit_unmatched(&c, &a, &b, "A", run_a);
		emit_unmatched(&c, &b, &a, "B", run_b);
	}
	if (ferror(out))
		rc = lb_error_set(err, LB_ERR_IO, "cannot write the comparison: %s",
				  strerror(errno));
out:
	report_data_release(&a);
	report_data_release(&b);
	return rc;
}
