/* report.c: report_render(): load, stream requests, plot, hand tables to the writers. */
#include "writer.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"
#include "json.h"
#include "plot.h"
#include "server_cmp.h"
#include "sheets.h"
#include "../metrics/store.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct report_writer_ops *const writers[] = {
	&report_csv_ops,
	&report_md_ops,
	&report_json_ops,
	&report_html_ops,
};

const struct report_writer_ops *report_writer_find(const char *format)
{
	size_t i;

	for (i = 0; i < sizeof(writers) / sizeof(writers[0]); i++)
		if (!strcmp(writers[i]->format, format))
			return writers[i];
	return NULL;
}

/* ---- building tables ---- */

#define N_PARAM_MAX 16

struct params_text {
	char level[32], reps[16], idx[16];
};

static const char *scope_name(enum report_scope s)
{
	return s == REPORT_SCOPE_LEVEL ? "level" : s == REPORT_SCOPE_BACKEND ? "backend" : "run";
}

/* The text of parameter field f for row r (NULL when the row has none). */
static const char *param_text(const struct report_data *d, const struct report_row *r,
			      const struct field_desc *f, struct params_text *pt)
{
	const char *n = f->name;

	if (!strcmp(n, "run"))
		return d->runs[r->run].name;
	if (!strcmp(n, "backend"))
		return r->backend;
	if (!strcmp(n, "type"))
		return r->type;
	if (!strcmp(n, "model"))
		return r->model;
	if (!strcmp(n, "family"))
		return r->family;
	if (!strcmp(n, "quant"))
		return r->quant;
	if (!strcmp(n, "scope"))
		return scope_name(r->scope);
	if (r->scope != REPORT_SCOPE_LEVEL)
		return NULL;
	if (!strcmp(n, "mode"))
		return r->mode;
	if (!strcmp(n, "level"))
		return report_fmt_level_value(r->value, pt->level, sizeof(pt->level));
	if (!strcmp(n, "reps")) {
		snprintf(pt->reps, sizeof(pt->reps), "%d", r->n_reps);
		return pt->reps;
	}
	if (!strcmp(n, "idx")) {
		snprintf(pt->idx, sizeof(pt->idx), "%d", r->idx);
		return pt->idx;
	}
	if (!strcmp(n, "status"))
		return r->status;
	if (!strcmp(n, "valid"))
		return r->valid ? "1" : "0";
	if (!strcmp(n, "invalid_reason"))
		return r->invalid_reason;
	return NULL;
}

static void metric_cell(const struct report_row *r, const char *name, bool companions,
			struct report_cell *c)
{
	const struct report_metric *m = report_row_metric(r, name);

	report_cell_of(m, c);
	if (!m)
		return;
	c->provenance = m->provenance;
	c->n = m->n;
	if (c->kind == REPORT_CELL_NUM && companions) {
		static const char *const sufs[] = { "_err", "_sd" };
		char cn[160];
		const struct report_metric *k;
		size_t i;

		for (i = 0; i < 2 && isnan(c->err); i++) {
			snprintf(cn, sizeof(cn), "%s%s", name, sufs[i]);
			k = report_row_metric(r, cn);
			if (k && k->n_reps)
				c->err = k->value;
		}
		snprintf(cn, sizeof(cn), "%s_lo", name);
		k = report_row_metric(r, cn);
		if (k && k->n_reps) {
			c->lo = k->value;
			snprintf(cn, sizeof(cn), "%s_hi", name);
			k = report_row_metric(r, cn);
			c->hi = k && k->n_reps ? k->value : NAN;
			if (isnan(c->hi))
				c->lo = NAN;
		}
	}
}

struct table_build {
	const struct field_desc **cols;
	struct field_desc *tmp; /* generic descriptors of unknown metrics */
	bool *has_sd;
	bool *has_note;
	size_t n_cols;
	struct report_cell *cells;
	const char **unavail;
	size_t n_unavail;
	struct strbuf folded;
	struct strbuf unavail_text;
};

static void table_build_release(struct table_build *tb)
{
	lb_free(tb->cols);
	lb_free(tb->tmp);
	lb_free(tb->has_sd);
	lb_free(tb->has_note);
	lb_free(tb->cells);
	lb_free(tb->unavail);
	strbuf_release(&tb->folded);
	strbuf_release(&tb->unavail_text);
	memset(tb, 0, sizeof(*tb));
}

static int table_build_alloc(struct table_build *tb, size_t max_cols)
{
	memset(tb, 0, sizeof(*tb));
	strbuf_init(&tb->folded, 0);
	strbuf_init(&tb->unavail_text, 0);
	tb->cols = lb_calloc(max_cols + 1, sizeof(*tb->cols));
	tb->tmp = lb_calloc(max_cols + 1, sizeof(*tb->tmp));
	tb->has_sd = lb_calloc(max_cols + 1, sizeof(*tb->has_sd));
	tb->has_note = lb_calloc(max_cols + 1, sizeof(*tb->has_note));
	tb->cells = lb_calloc(max_cols + 1, sizeof(*tb->cells));
	tb->unavail = lb_calloc(max_cols + 1, sizeof(*tb->unavail));
	if (!tb->cols || !tb->tmp || !tb->has_sd || !tb->has_note || !tb->cells || !tb->unavail)
		return -1;
	return 0;
}

static void fill_row_cells(const struct report_data *d, const struct report_row *r,
			   const struct table_build *tb, bool companions, struct params_text *pt)
{
	size_t i;

	for (i = 0; i < tb->n_cols; i++) {
		const struct field_desc *f = tb->cols[i];
		struct report_cell *c = &tb->cells[i];

		if (f->is_param) {
			memset(c, 0, sizeof(*c));
			c->sd = c->err = c->lo = c->hi = NAN;
			c->text = param_text(d, r, f, pt);
			c->kind = c->text ? REPORT_CELL_TEXT : REPORT_CELL_EMPTY;
		} else {
			metric_cell(r, f->name, companions, c);
		}
	}
}

static int emit_table(struct report_writer *w, const struct report_data *d,
		      const struct report_table *t, struct table_build *tb, enum report_scope scope,
		      bool all_scopes, const bool *skip_row, struct lb_error *err)
{
	struct params_text pt;
	size_t i;
	int rc;

	w->table = t;
	rc = w->ops->table_begin(w, t, err);
	for (i = 0; !rc && i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];

		if ((!all_scopes && r->scope != scope) || (skip_row && skip_row[i]))
			continue;
		fill_row_cells(d, r, tb, !w->ops->wide, &pt);
		rc = w->ops->row(w, r, tb->cells, err);
	}
	if (!rc)
		rc = w->ops->table_end(w, err);
	w->table = NULL;
	return rc;
}

/* CSV/JSON: one table with every parameter and every metric. */
static int write_wide(struct report_writer *w, const struct report_data *d, struct lb_error *err)
{
	struct table_build tb;
	struct report_table t = { .id = "all", .scope = REPORT_SCOPE_LEVEL };
	const struct field_desc *pf;
	size_t np, i, k;
	int rc;

	pf = fields_params(&np);
	if (table_build_alloc(&tb, np + d->n_metrics)) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < np; i++)
		tb.cols[tb.n_cols++] = &pf[i];
	for (i = 0; i < d->n_metrics; i++) {
		tb.has_sd[tb.n_cols] = false;
		for (k = 0; k < d->n_rows; k++) {
			const struct report_metric *m =
				report_row_metric(&d->rows[k], d->metrics[i]);

			if (m && m->n_reps >= 2)
				tb.has_sd[tb.n_cols] = true;
			if (m && !m->n_reps)
				tb.has_note[tb.n_cols] = true;
		}
		tb.cols[tb.n_cols++] = fields_lookup(d->metrics[i], &tb.tmp[i]);
	}
	t.cols = tb.cols;
	t.has_sd = tb.has_sd;
	t.has_note = tb.has_note;
	t.n_cols = tb.n_cols;
	rc = emit_table(w, d, &t, &tb, REPORT_SCOPE_LEVEL, true, NULL, err);
out:
	table_build_release(&tb);
	return rc;
}

static bool param_varies(const struct report_data *d, enum report_scope scope,
			 const struct field_desc *f, const char **constant)
{
	struct params_text pt;
	char first[256];
	bool seen = false, first_null = false;
	size_t i;

	*constant = NULL;
	for (i = 0; i < d->n_rows; i++) {
		const char *v;

		if (d->rows[i].scope != scope)
			continue;
		v = param_text(d, &d->rows[i], f, &pt);
		if (!seen) {
			seen = true;
			first_null = !v;
			snprintf(first, sizeof(first), "%s", v ? v : "");
			continue;
		}
		if (!v != first_null || (v && strcmp(v, first)))
			return true;
	}
	return false;
}

/* The folded header of a scope: parameters that do not vary across its rows. */
static void fold_params(const struct report_data *d, enum report_scope scope,
			const struct field_desc **keep, size_t *n_keep, struct strbuf *folded)
{
	const struct field_desc *pf;
	size_t np, i;

	pf = fields_params(&np);
	*n_keep = 0;
	for (i = 0; i < np; i++) {
		const char *cv;
		char buf[64];
		struct params_text pt;

		if (!pf[i].in_table)
			continue;
		if (scope != REPORT_SCOPE_LEVEL &&
		    (!strcmp(pf[i].name, "mode") || !strcmp(pf[i].name, "level") ||
		     !strcmp(pf[i].name, "reps")))
			continue;
		if (scope == REPORT_SCOPE_RUN && strcmp(pf[i].name, "run"))
			continue;
		if (param_varies(d, scope, &pf[i], &cv)) {
			keep[(*n_keep)++] = &pf[i];
			continue;
		}
		/* constant: the value of the first row of the scope */
		for (size_t k = 0; k < d->n_rows; k++) {
			if (d->rows[k].scope == scope) {
				cv = param_text(d, &d->rows[k], &pf[i], &pt);
				if (cv) {
					if (!strcmp(pf[i].name, "level")) {
						snprintf(buf, sizeof(buf), "%s", cv);
						cv = buf;
					}
					strbuf_addf(folded, "%s%s: %s", folded->len ? " · " : "",
						    pf[i].display, cv);
				}
				break;
			}
		}
	}
	/* a row needs something that names it */
	if (!*n_keep && scope == REPORT_SCOPE_LEVEL)
		keep[(*n_keep)++] = &pf[7]; /* level */
	else if (!*n_keep && scope == REPORT_SCOPE_BACKEND)
		keep[(*n_keep)++] = &pf[1]; /* backend */
}

static int write_grouped(struct report_writer *w, const struct report_data *d, struct lb_error *err)
{
	static const enum report_scope scopes[] = { REPORT_SCOPE_LEVEL, REPORT_SCOPE_BACKEND,
						    REPORT_SCOPE_RUN };
	const struct field_group *g;
	size_t ng, np, si, gi, i, k;
	struct table_build tb;
	bool *skip = NULL;
	int rc = 0;

	g = fields_groups(&ng);
	fields_params(&np);
	if (table_build_alloc(&tb, np + d->n_metrics)) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	skip = lb_calloc(d->n_rows + 1, sizeof(*skip));
	if (!skip) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (si = 0; !rc && si < 3; si++) {
		enum report_scope scope = scopes[si];
		const struct field_desc *keep[N_PARAM_MAX];
		size_t n_keep;
		bool any = false;

		for (i = 0; i < d->n_rows; i++)
			any |= d->rows[i].scope == scope;
		if (!any)
			continue;
		strbuf_reset(&tb.folded);
		fold_params(d, scope, keep, &n_keep, &tb.folded);
		for (gi = 0; !rc && gi < ng; gi++) {
			struct report_table t = { .id = g[gi].id,
						  .title = g[gi].title,
						  .note = g[gi].note,
						  .scope = scope };
			size_t n_metric_cols = 0, n_rows = 0;

			tb.n_cols = 0;
			tb.n_unavail = 0;
			strbuf_reset(&tb.unavail_text);
			for (i = 0; i < n_keep; i++)
				tb.cols[tb.n_cols++] = keep[i];
			/* metric columns of this group present in some row of the scope */
			for (i = 0; i < d->n_metrics; i++) {
				const struct field_desc *f =
					fields_lookup(d->metrics[i], &tb.tmp[i]);
				bool present = false, all_unavail = true;
				const char *note = NULL;

				if (!f->in_table || strcmp(f->group, g[gi].id))
					continue;
				for (k = 0; k < d->n_rows; k++) {
					const struct report_metric *m;

					if (d->rows[k].scope != scope)
						continue;
					m = report_row_metric(&d->rows[k], d->metrics[i]);
					if (!m)
						continue;
					present = true;
					if (m->n_reps)
						all_unavail = false;
					else if (!note)
						note = m->note;
				}
				if (!present)
					continue;
				if (all_unavail) {
					/* a column of "unavailable": one line under the table instead */
					size_t off = tb.unavail_text.len;

					strbuf_addf(&tb.unavail_text, "%s: unavailable: %s",
						    f->display, report_note_reason(note));
					strbuf_addch(&tb.unavail_text, 0);
					tb.unavail[tb.n_unavail++] = (const char *)(uintptr_t)off;
					continue;
				}
				tb.cols[tb.n_cols++] = f;
				n_metric_cols++;
			}
			if (!n_metric_cols && !tb.n_unavail)
				continue;
			if (!strcmp(g[gi].id, "energy") && !n_metric_cols && tb.n_unavail > 1) {
				/* no power measured: one line, not one per energy figure */
				const char *first = tb.unavail_text.buf + (uintptr_t)tb.unavail[0];
				const char *why = strstr(first, ": unavailable: ");
				struct strbuf one = STRBUF_INIT;

				strbuf_addf(&one,
					    "energy and power (%zu figures): not measured: %s",
					    tb.n_unavail, why ? why + 15 : first);
				strbuf_reset(&tb.unavail_text);
				strbuf_add(&tb.unavail_text, one.buf, one.len + 1);
				strbuf_release(&one);
				tb.unavail[0] = (const char *)(uintptr_t)0;
				tb.n_unavail = 1;
			}
			/* rows with some figure of the group */
			for (k = 0; k < d->n_rows; k++) {
				skip[k] = true;
				if (d->rows[k].scope != scope)
					continue;
				for (i = n_keep; i < tb.n_cols; i++)
					if (report_row_metric(&d->rows[k], tb.cols[i]->name))
						skip[k] = false;
				n_rows += !skip[k];
			}
			for (i = 0; i < tb.n_unavail; i++)
				tb.unavail[i] = tb.unavail_text.buf + (uintptr_t)tb.unavail[i];
			t.cols = tb.cols;
			t.has_sd = tb.has_sd;
			t.n_cols = n_metric_cols ? tb.n_cols : 0;
			t.folded = tb.folded.len ? tb.folded.buf : NULL;
			t.all_unavailable = tb.unavail;
			t.n_all_unavailable = tb.n_unavail;
			if (!n_metric_cols) {
				/* only unavailable lines: a table with no rows */
				memset(skip, 1, d->n_rows * sizeof(*skip));
			}
			(void)n_rows;
			rc = emit_table(w, d, &t, &tb, scope, false, skip, err);
		}
	}
out:
	lb_free(skip);
	table_build_release(&tb);
	return rc;
}

/* ---- the whole report ---- */

static int make_dir(const char *path, struct lb_error *err)
{
	if (!mkdir(path, 0777) || errno == EEXIST) {
		struct stat stt;

		if (!stat(path, &stt) && S_ISDIR(stt.st_mode))
			return 0;
		return lb_error_set(err, LB_ERR_IO,
				    "cannot create '%s': a file of that name exists", path);
	}
	return lb_error_set(err, LB_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
}

struct stream_ctx {
	struct plot_set *plots;
	FILE *jsonl;
	const struct report_data *d;
	size_t run;
	int write_err;
};

static int on_request(void *ctx, const struct report_request *rq)
{
	struct stream_ctx *c = ctx;

	if (c->plots)
		plot_set_add_request(c->plots, c->run, rq);
	if (c->jsonl && report_jsonl_request(c->jsonl, c->d, c->run, rq)) {
		c->write_err = errno ? errno : EIO;
		return LB_ERR_IO;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_row(void *ctx, const struct store_row *row)
{
	(void)row;
	*(bool *)ctx = true;
	return 1;
}

/* Answer sheets stored by a run's eval phase, rendered into DIR/sheets (docs/quality.md). */
static int render_sheets(struct store *st, const struct report_data *d, const char *dir,
			 struct lb_error *err)
{
	char path[4096];
	bool have = false;
	size_t i;
	int rc;

	rc = store_query(st, "SELECT 1 FROM sqlite_master WHERE name = 'evals'", NULL, 0, has_row,
			 &have, err);
	if (rc || !have)
		return rc;
	snprintf(path, sizeof(path), "%s/sheets", dir);
	for (i = 0; i < d->n_runs; i++) {
		int n = 0;

		have = false;
		{
			char id[32];
			const char *p[1] = { id };

			snprintf(id, sizeof(id), "%lld", (long long)d->runs[i].id);
			rc = store_query(
				st,
				"SELECT 1 FROM evals WHERE run_id = ? AND kind = 'sheet' LIMIT 1",
				p, 1, has_row, &have, err);
		}
		if (rc)
			return rc;
		if (!have)
			continue;
		rc = make_dir(path, err);
		if (!rc)
			rc = sheets_write(st, d->runs[i].id, path, &n, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Answer sheets already in DIR/sheets (*.md), sorted (owned array of owned strings). */
static size_t find_sheets(const char *dir, char ***out)
{
	char path[4096];
	DIR *dp;
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/sheets", dir);
	dp = opendir(path);
	if (!dp)
		return 0;
	while ((de = readdir(dp))) {
		size_t l = strlen(de->d_name);
		char **nv;

		if (l < 4 || strcmp(de->d_name + l - 3, ".md") || de->d_name[0] == '.')
			continue;
		nv = lb_realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n] = lb_malloc(l + 8);
		if (!v[n])
			break;
		snprintf(v[n], l + 8, "sheets/%s", de->d_name);
		n++;
	}
	closedir(dp);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static int run_writer(const struct report_writer_ops *ops, const struct report_doc *doc,
		      const char *dir, struct lb_error *err)
{
	struct report_writer w = { .ops = ops, .doc = doc };
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, ops->file);
	w.out = fopen(path, "w");
	if (!w.out)
		return lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	rc = ops->begin(&w, doc, err);
	if (!rc)
		rc = ops->wide ? write_wide(&w, doc->data, err) : write_grouped(&w, doc->data, err);
	if (!rc)
		rc = ops->end(&w, err);
	if (ops->free)
		ops->free(&w);
	if (ferror(w.out) && !rc)
		rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	if (fclose(w.out) && !rc)
		rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	return rc;
}

int report_render(struct store *st, const struct report_opts *o, struct report_result *res,
		  struct lb_error *err)
{
	struct report_data d = { 0 };
	struct report_doc doc = { 0 };
	struct headline hl = { 0 };
	struct headline_opts ho = { NAN, NAN };
	struct plot_set *plots = NULL;
	struct stream_ctx sc = { 0 };
	const struct report_plot *pl = NULL;
	char path[4096], why[256];
	char **sheets = NULL;
	size_t n_pl = 0, n_sheets = 0, i;
	bool want_plots = o->formats & (REPORT_FMT_PNG | REPORT_FMT_SVG | REPORT_FMT_HTML);
	bool explicit_plots = o->formats & (REPORT_FMT_PNG | REPORT_FMT_SVG);
	int rc;

	memset(res, 0, sizeof(*res));
	rc = report_data_load(&d, st, o->runs, o->n_runs, err);
	if (rc)
		return rc;
	rc = report_server_cmp_add(&d, err);
	if (rc)
		goto out;
	rc = make_dir(o->out_dir, err);
	if (rc)
		goto out;
	if (want_plots && !plot_gnuplot_available(o->gnuplot, why, sizeof(why))) {
		if (explicit_plots) {
			rc = lb_error_set(err, LB_ERR_UNSUPPORTED, "%s", why);
			goto out;
		}
		snprintf(res->warning, sizeof(res->warning), "%s; plots skipped", why);
		want_plots = false;
	}
	if (o->max_kld > 0)
		ho.max_kld = o->max_kld;
	if (o->max_ppl_ratio > 0)
		ho.max_ppl_ratio = o->max_ppl_ratio;
	rc = headline_build(&hl, &d, &ho, err);
	if (rc)
		goto out;
	if (want_plots) {
		rc = plot_set_new(&plots, &d, err);
		if (rc)
			goto out;
		plot_set_use_headline(plots, &hl);
	}
	if (o->formats & REPORT_FMT_JSONL) {
		snprintf(path, sizeof(path), "%s/requests.jsonl", o->out_dir);
		sc.jsonl = fopen(path, "w");
		if (!sc.jsonl) {
			rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path,
					  strerror(errno));
			goto out;
		}
	}
	sc.plots = plots;
	sc.d = &d;
	for (i = 0; !rc && i < d.n_runs && (plots || sc.jsonl); i++) {
		sc.run = i;
		rc = report_requests_each(st, d.runs[i].id, on_request, &sc, err);
		if (!rc && sc.write_err)
			rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s/requests.jsonl': %s",
					  o->out_dir, strerror(sc.write_err));
		if (!rc && plots)
			rc = plot_set_load_series(plots, st, i, err);
	}
	if (sc.jsonl && fclose(sc.jsonl) && !rc)
		rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s/requests.jsonl': %s",
				  o->out_dir, strerror(errno));
	sc.jsonl = NULL;
	if (rc)
		goto out;
	if (plots) {
		snprintf(path, sizeof(path), "%s/plots", o->out_dir);
		rc = make_dir(path, err);
		if (!rc)
			rc = plot_set_render(plots, path, o->gnuplot, o->formats & REPORT_FMT_PNG,
					     true, &pl, &n_pl, err);
		if (rc)
			goto out;
		for (i = 0; i < n_pl; i++) {
			if (pl[i].skipped)
				res->n_plots_skipped++;
			else
				res->n_plots_drawn++;
		}
	}
	rc = render_sheets(st, &d, o->out_dir, err);
	if (rc)
		goto out;
	n_sheets = find_sheets(o->out_dir, &sheets);
	doc.data = &d;
	doc.plots = pl;
	doc.n_plots = n_pl;
	doc.out_dir = o->out_dir;
	doc.sheets = (const char *const *)sheets;
	doc.n_sheets = n_sheets;
	doc.version = o->normalize ? NULL : o->version;
	doc.has_requests_jsonl = o->formats & REPORT_FMT_JSONL;
	doc.plot_dir_rel = "plots";
	doc.headline = &hl;
	for (i = 0; !rc && i < sizeof(writers) / sizeof(writers[0]); i++) {
		unsigned bit = !strcmp(writers[i]->format, "csv")    ? REPORT_FMT_CSV
			       : !strcmp(writers[i]->format, "md")   ? REPORT_FMT_MD
			       : !strcmp(writers[i]->format, "json") ? REPORT_FMT_JSON
								     : REPORT_FMT_HTML;

		if (!(o->formats & bit))
			continue;
		rc = run_writer(writers[i], &doc, o->out_dir, err);
		if (!rc && bit == REPORT_FMT_HTML)
			snprintf(res->index_html, sizeof(res->index_html), "%s/%s", o->out_dir,
				 writers[i]->file);
	}
out:
	if (sc.jsonl)
		fclose(sc.jsonl);
	for (i = 0; i < n_sheets; i++)
		lb_free(sheets[i]);
	lb_free(sheets);
	plot_set_free(plots);
	headline_release(&hl);
	report_data_release(&d);
	return rc;
}
