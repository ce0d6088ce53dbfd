/* compare.c: two runs side by side (see compare.h). */
#include "compare.h"
#include "../base/jsonout.h"

#include "../base/alloc.h"
#include "fields.h"
#include "query.h"
#include "writer.h"

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
	return a->idx == b->idx && same(a->mode, b->mode) &&
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

static const char *row_name(const struct report_row *r, char *buf, size_t len)
{
	char lv[64];

	if (r->scope == REPORT_SCOPE_RUN)
		snprintf(buf, len, "run-wide");
	else if (r->scope == REPORT_SCOPE_BACKEND)
		snprintf(buf, len, "%s (backend-wide)", r->backend ? r->backend : "?");
	else
		snprintf(buf, len, "%s · %s", r->backend ? r->backend : "?",
			 report_row_level(r, lv, sizeof(lv)));
	return buf;
}

static void cell_of(const struct report_metric *m, struct report_cell *c)
{
	memset(c, 0, sizeof(*c));
	c->sd = c->err = c->lo = c->hi = NAN;
	c->n = -1;
	if (!m) {
		c->kind = REPORT_CELL_EMPTY;
		return;
	}
	c->note = m->note;
	c->unit = m->unit;
	if (!m->n_reps) {
		c->kind = REPORT_CELL_UNAVAILABLE;
		return;
	}
	c->kind = REPORT_CELL_NUM;
	c->v = m->value;
	c->sd = m->sd;
	c->n_reps = m->n_reps;
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

struct cmp_ctx {
	FILE *out;
	enum compare_fmt fmt;
	bool all;
	const struct report_data *a, *b;
};

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
	char title[256], ta[96], tb[96], dv[80], rv[64], lv[64], ex[64];
	size_t n, i;
	bool header = false;

	if (!names)
		return;
	n = merged_names(c->a, ra, rb, names);
	qsort(names, n, sizeof(*names), cmp_names);
	row_name(ra, title, sizeof(title));
	for (i = 0; i < n; i++) {
		struct field_desc tmp;
		const struct field_desc *f = fields_lookup(names[i], &tmp);
		const struct report_metric *ma = report_row_metric(ra, names[i]);
		const struct report_metric *mb = report_row_metric(rb, names[i]);
		struct report_cell ca, cb;
		bool both = ma && mb && ma->n_reps && mb->n_reps;
		double d = both ? mb->value - ma->value : NAN;
		double rel = both && ma->value != 0 ? d / fabs(ma->value) * 100 : NAN;

		cell_of(ma, &ca);
		cell_of(mb, &cb);
		if (c->fmt == COMPARE_CSV) {
			fputs("both,", c->out);
			csvout_field(c->out, ra->backend);
			fprintf(c->out, ",%s,",
				ra->scope == REPORT_SCOPE_LEVEL ? "level"
				: ra->scope == REPORT_SCOPE_BACKEND ? "backend" : "run");
			csvout_field(c->out, ra->scope == REPORT_SCOPE_LEVEL ? ra->mode : NULL);
			fputc(',', c->out);
			if (ra->scope == REPORT_SCOPE_LEVEL)
				fputs(report_fmt_level_value(ra->value, lv, sizeof(lv)), c->out);
			fputc(',', c->out);
			csvout_field(c->out, names[i]);
			fputc(',', c->out);
			csvout_field(c->out, ma && ma->unit ? ma->unit : mb && mb->unit ? mb->unit : NULL);
			fprintf(c->out, ",%s,%s,%s,%s,",
				/* a number or nothing; why nothing: a_note, b_note */
				ca.kind == REPORT_CELL_NUM ? fields_fmt_exact(ta, sizeof(ta), ca.v) : "",
				cb.kind == REPORT_CELL_NUM ? fields_fmt_exact(tb, sizeof(tb), cb.v) : "",
				both ? fields_fmt_exact(dv, sizeof(dv), d) : "",
				!isnan(rel) ? fields_fmt_exact(rv, sizeof(rv), rel) : "");
			/* unavailable: the reason; synthetic: the caveat */
			csvout_field(c->out, ca.kind == REPORT_CELL_UNAVAILABLE
						     ? (ca.note ? ca.note : "unavailable")
						     : synth(ca.note) ? ca.note : NULL);
			fputc(',', c->out);
			csvout_field(c->out, cb.kind == REPORT_CELL_UNAVAILABLE
						     ? (cb.note ? cb.note : "unavailable")
						     : synth(cb.note) ? cb.note : NULL);
			fputc('\n', c->out);
			continue;
		}
		if (!c->all && !f->in_table)
			continue;
		if (!header) {
			fprintf(c->out, "### %s\n\n| metric | A | B | B - A | change |\n"
					"| :--- | ---: | ---: | ---: | ---: |\n",
				title);
			header = true;
		}
		report_cell_text(&ca, f, ta, sizeof(ta));
		report_cell_text(&cb, f, tb, sizeof(tb));
		if (ca.kind == REPORT_CELL_NUM && synth(ca.note))
			strbuf_cat_cstr(ta, sizeof(ta), " (synthetic)");
		if (cb.kind == REPORT_CELL_NUM && synth(cb.note))
			strbuf_cat_cstr(tb, sizeof(tb), " (synthetic)");
		if (both) {
			fields_fmt_num(ex, sizeof(ex), fabs(d), FIELD_REAL);
			snprintf(dv, sizeof(dv), "%s%s", d > 0 ? "+" : d < 0 ? "-" : "", ex);
			if (isnan(rel))
				snprintf(rv, sizeof(rv), "n/a (A = 0)");
			else
				snprintf(rv, sizeof(rv), "%+.1f%%", rel);
		} else {
			snprintf(dv, sizeof(dv), "-");
			snprintf(rv, sizeof(rv), "%s",
				 ca.kind == REPORT_CELL_UNAVAILABLE || cb.kind == REPORT_CELL_UNAVAILABLE
					 ? "unavailable"
					 : "not in both");
		}
		fprintf(c->out, "| %s | %s | %s | %s | %s |\n", f->display, ta, tb, dv, rv);
	}
	if (header)
		fputc('\n', c->out);
	lb_free(names);
}

static void emit_unmatched(struct cmp_ctx *c, const struct report_data *d, const struct report_data *o,
			   const char *which, const char *run)
{
	char name[256], lv[64];
	size_t i;
	bool any = false;

	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];

		if (find_match(o, r))
			continue;
		if (c->fmt == COMPARE_CSV) {
			fprintf(c->out, "only_in_%s,", which);
			csvout_field(c->out, r->backend);
			fprintf(c->out, ",%s,",
				r->scope == REPORT_SCOPE_LEVEL ? "level"
				: r->scope == REPORT_SCOPE_BACKEND ? "backend" : "run");
			csvout_field(c->out, r->scope == REPORT_SCOPE_LEVEL ? r->mode : NULL);
			fputc(',', c->out);
			if (r->scope == REPORT_SCOPE_LEVEL)
				fputs(report_fmt_level_value(r->value, lv, sizeof(lv)), c->out);
			fputs(",,,,,,,,\n", c->out);
			continue;
		}
		if (!any)
			fprintf(c->out, "## Only in %s (%s)\n\n", which, run);
		any = true;
		fprintf(c->out, "- %s\n", row_name(r, name, sizeof(name)));
	}
	if (any)
		fputc('\n', c->out);
}

int compare_render(struct store *st, const char *run_a, const char *run_b, enum compare_fmt fmt,
		   bool all_metrics, FILE *out, struct lb_error *err)
{
	struct report_data a = { 0 }, b = { 0 };
	struct cmp_ctx c = { out, fmt, all_metrics, &a, &b };
	const char *na[] = { run_a }, *nb[] = { run_b };
	size_t i;
	int rc;

	rc = report_data_load(&a, st, na, 1, err);
	if (!rc)
		rc = report_data_load(&b, st, nb, 1, err);
	if (rc)
		goto out;
	if (fmt == COMPARE_CSV) {
		fputs("match,backend,scope,mode,level,metric,unit,a,b,diff,rel_diff_pct,a_note,b_note\n",
		      out);
	} else {
		const struct report_run *ra = &a.runs[0], *rb = &b.runs[0];

		fprintf(out, "# llmbench compare: %s vs %s\n\n", ra->name, rb->name);
		fprintf(out, "- A: %s (workload %s, started %s, llmbench %s)\n", ra->name,
			ra->workload_name ? ra->workload_name : "?",
			ra->started_at ? ra->started_at : "?", ra->version ? ra->version : "?");
		fprintf(out, "- B: %s (workload %s, started %s, llmbench %s)\n\n", rb->name,
			rb->workload_name ? rb->workload_name : "?",
			rb->started_at ? rb->started_at : "?", rb->version ? rb->version : "?");
		fputs("Rows are matched by backend name and level (index and value). \"B - A\" is the "
		      "absolute difference, \"change\" (B - A) / |A|; \"a ± b\": mean ± sd over "
		      "repetitions.\n\n",
		      out);
		synthetic_caveats(out, &a, "A");
		synthetic_caveats(out, &b, "B");
		fputs("## Matched rows\n\n", out);
	}
	for (i = 0; i < a.n_rows; i++) {
		const struct report_row *m = find_match(&b, &a.rows[i]);

		if (m)
			emit_pair(&c, &a.rows[i], m);
	}
	emit_unmatched(&c, &a, &b, "A", run_a);
	emit_unmatched(&c, &b, &a, "B", run_b);
	if (ferror(out))
		rc = lb_error_set(err, LB_ERR_IO, "cannot write the comparison: %s", strerror(errno));
out:
	report_data_release(&a);
	report_data_release(&b);
	return rc;
}
