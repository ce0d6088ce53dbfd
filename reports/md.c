/* md.c: report.md, tables as llama-bench prints them: parameters that do not vary folded into
 * a line above the tables, "mean ± sd" over repetitions, numbered notes for every unavailable
 * figure and invalid level. Cells are padded to their column's width. */
#include "sessions_md.h"
#include "writer.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <math.h>
#include <string.h>

#define MD_MAX_NOTES 256

struct md_priv {
	char *notes[MD_MAX_NOTES]; /* owned */
	int n_notes;
	enum report_scope scope;
	bool scope_started;
	char **cells; /* owned: the current table's cells, row-major, header first */
	size_t n_cells, alloc_cells;
	size_t n_cols;
};

/* Number of a note (1-based), adding it when new. */
static int note_id(struct md_priv *p, const char *text)
{
	int i;

	for (i = 0; i < p->n_notes; i++)
		if (!strcmp(p->notes[i], text))
			return i + 1;
	if (p->n_notes == MD_MAX_NOTES)
		return 0;
	p->notes[p->n_notes] = lb_strdup(text);
	if (!p->notes[p->n_notes])
		return 0;
	return ++p->n_notes;
}

static void md_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			strbuf_adds(sb, "\\|");
		else if (*s == '\n' || *s == '\r')
			strbuf_addch(sb, ' ');
		else
			strbuf_addch(sb, *s);
	}
}

static void put_line_escaped(FILE *f, const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	md_escape(&sb, s);
	fputs(sb.buf, f);
	strbuf_release(&sb);
}

static int add_cell(struct md_priv *p, struct strbuf *sb)
{
	char **nc;

	if (p->n_cells == p->alloc_cells) {
		size_t na = p->alloc_cells ? p->alloc_cells * 2 : 64;

		nc = lb_realloc(p->cells, na * sizeof(*nc));
		if (!nc)
			return -1;
		p->cells = nc;
		p->alloc_cells = na;
	}
	p->cells[p->n_cells++] = strbuf_detach(sb, NULL);
	return 0;
}

static void free_cells(struct md_priv *p)
{
	size_t i;

	for (i = 0; i < p->n_cells; i++)
		lb_free(p->cells[i]);
	p->n_cells = 0;
}

static const char *scope_title(enum report_scope s)
{
	return s == REPORT_SCOPE_LEVEL     ? "Per backend and level"
	       : s == REPORT_SCOPE_BACKEND ? "Per backend"
					   : "Per run";
}

/* A list of notes on levels under its title ("- label level: text"), nothing when none. */
static void md_notes(FILE *f, const char *title, const struct headline_note *v, size_t n)
{
	size_t i;

	if (!n)
		return;
	fprintf(f, "%s:\n\n", title);
	for (i = 0; i < n; i++) {
		fputs("- ", f);
		put_line_escaped(f, v[i].label);
		fprintf(f, " %s: ", v[i].level);
		put_line_escaped(f, v[i].text);
		fputc('\n', f);
	}
	fputc('\n', f);
}

/* The headline: per backend the figures that matter, best and worst marked, invalid levels
 * with their reason; then the decision view of a family x quantization matrix. */
static void md_headline(FILE *f, const struct headline *h)
{
	char buf[64];
	size_t i;
	int c;

	if (!h || !h->n_b)
		return;
	fprintf(f,
		"## Headline\n\nPer backend at its peak level (the valid level with the highest "
		"output tokens/s); failed: share of failed requests over every level.%s\n\n"
		"| backend | peak level |",
		h->n_b > 1 ? " **Bold (best)** and (worst) mark each column's extremes." : "");
	for (c = 0; c < HL_N; c++)
		if (h->col[c])
			fprintf(f, " %s |", headline_cols[c].name);
	fputs("\n| :--- | :--- |", f);
	for (c = 0; c < HL_N; c++)
		if (h->col[c])
			fputs(" ---: |", f);
	fputc('\n', f);
	for (i = 0; i < h->n_b; i++) {
		const struct headline_backend *b = &h->b[i];

		fputs("| ", f);
		put_line_escaped(f, b->label);
		fputs(" | ", f);
		put_line_escaped(f, b->at[0] ? b->at : "-");
		fputs(" |", f);
		for (c = 0; c < HL_N; c++) {
			if (!h->col[c])
				continue;
			headline_fmt(c, b->v[c], buf, sizeof(buf));
			if (b->mark[c] > 0)
				fprintf(f, " **%s** (best) |", buf);
			else if (b->mark[c] < 0)
				fprintf(f, " %s (worst) |", buf);
			else
				fprintf(f, " %s |", buf);
		}
		fputc('\n', f);
	}
	fputc('\n', f);
	if (h->n_synthetic) {
		fputs("> **Caveat** (", f);
		for (i = 0, c = 0; i < h->n_b; i++) {
			if (!h->b[i].synthetic)
				continue;
			fputs(c++ ? ", " : "", f);
			put_line_escaped(f, h->b[i].label);
		}
		fprintf(f, "): %s.\n\n", REPORT_SYNTHETIC_CAVEAT);
	}
	if (!h->col[HL_JPT])
		fputs("Energy: not measured (no power source in the workload, or none readable).\n\n",
		      f);
	md_notes(f, "Invalid levels (their figures are shown but must not be compared)", h->inv,
		 h->n_inv);
	md_notes(f, "Timing caveats (the figures are shown; read them with this in mind)", h->cav,
		 h->n_cav);
	if (!h->n_pts) {
		if (h->why_no_view)
			fprintf(f, "Decision view: none: %s.\n\n", h->why_no_view);
		return;
	}
	fprintf(f,
		"## Decision: speed against quality loss\n\nQuality loss: %s; bound: %s <= %g "
		"(%s). Pareto front: no other choice is at least as fast, as close to its base%s, "
		"and better on one of them; the others are dominated.\n\n",
		h->loss_name, h->loss_short, h->bound,
		h->loss_is_ratio ? "--max-ppl-ratio" : "--max-kld",
		h->third_name ? (!strcmp(h->third_name, "size (MiB)") ? " and as small"
								      : " and as frugal (J/token)")
			      : "");
	for (i = 0; i < h->n_sentences; i++)
		fprintf(f, "- %s\n", h->sentences[i]);
	fprintf(f, "\n| family | quant | backend | tok/s | %s |", h->loss_short);
	if (h->third_name)
		fprintf(f, " %s |", h->third_name);
	fprintf(f,
		" within bound | Pareto |\n| :--- | :--- | :--- | ---: | ---: |%s :--- | :--- |\n",
		h->third_name ? " ---: |" : "");
	for (i = 0; i < h->n_pts; i++) {
		const struct headline_point *p = &h->pts[i];
		const struct headline_backend *b = &h->b[p->b];
		char s[48], l[48], x[48];

		fields_fmt_num(s, sizeof(s), p->speed, FIELD_REAL);
		fields_fmt_num(l, sizeof(l), h->loss_is_ratio ? 1 + p->loss : p->loss, FIELD_REAL);
		fputs("| ", f);
		put_line_escaped(f, b->family);
		fputs(" | ", f);
		put_line_escaped(f, b->quant);
		fputs(" | ", f);
		put_line_escaped(f, b->label);
		fprintf(f, " | %s | %s |", s,
			p->base ? (h->loss_is_ratio ? "1 (base)" : "0 (base)") : l);
		if (h->third_name)
			fprintf(f, " %s |", fields_fmt_num(x, sizeof(x), p->third, FIELD_REAL));
		fprintf(f, " %s | %s |\n",
			p->base     ? "base"
			: p->within ? "yes"
				    : "no",
			p->dominated ? "dominated" : "**front**");
	}
	fputc('\n', f);
}

static int md_begin(struct report_writer *w, const struct report_doc *doc, struct lb_error *err)
{
	struct md_priv *p = lb_calloc(1, sizeof(*p));
	const struct report_data *d = doc->data;
	size_t i;

	if (!p)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	w->priv = p;
	fprintf(w->out, "# llmbench report:");
	for (i = 0; i < d->n_runs; i++) {
		fputs(i ? ", " : " ", w->out);
		put_line_escaped(w->out, d->runs[i].name);
	}
	fputs("\n\n", w->out);
	for (i = 0; i < d->n_runs; i++)
		if (d->runs[i].note) {
			fputs("Run ", w->out);
			put_line_escaped(w->out, d->runs[i].name);
			fputs(": ", w->out);
			put_line_escaped(w->out, d->runs[i].note);
			fputs("\n\n", w->out);
		}
	md_headline(w->out, doc->headline);
	return 0;
}

/* Run metadata, at the end. */
static void md_runs(FILE *f, const struct report_data *d)
{
	size_t i;

	fputs("## Runs\n\n| run | workload | status | started | ended | host | llmbench |\n"
	      "| :--- | :--- | :--- | :--- | :--- | :--- | :--- |\n",
	      f);
	for (i = 0; i < d->n_runs; i++) {
		const struct report_run *r = &d->runs[i];
		const char *v[] = { r->name,     r->workload_name, r->status, r->started_at,
				    r->ended_at, r->host,          r->version };
		size_t k;

		fputs("|", f);
		for (k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
			fputc(' ', f);
			put_line_escaped(f, v[k] ? v[k] : "-");
			fputs(" |", f);
		}
		fputc('\n', f);
	}
	fputc('\n', f);
}

static int md_table_begin(struct report_writer *w, const struct report_table *t,
			  struct lb_error *err)
{
	struct md_priv *p = w->priv;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (!p->scope_started || p->scope != t->scope) {
		fprintf(w->out, "## %s\n\n", scope_title(t->scope));
		if (t->folded)
			fprintf(w->out, "All rows: %s\n\n", t->folded);
		p->scope = t->scope;
		p->scope_started = true;
	}
	fprintf(w->out, "### %s\n\n", t->title);
	if (t->note)
		fprintf(w->out, "%s\n\n", t->note);
	free_cells(p);
	p->n_cols = t->n_cols;
	for (i = 0; i < t->n_cols; i++) {
		const struct field_desc *f = t->cols[i];

		md_escape(&sb, f->is_param        ? f->display
			       : f->short_display ? f->short_display
						  : f->display);
		if (add_cell(p, &sb))
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	return 0;
}

static int md_row(struct report_writer *w, const struct report_row *r,
		  const struct report_cell *cells, struct lb_error *err)
{
	struct md_priv *p = w->priv;
	const struct report_table *t = w->table;
	struct strbuf sb = STRBUF_INIT;
	char buf[256], nb[512];
	size_t i, mark = 0;

	for (i = 0; i < t->n_cols; i++)
		if (!strcmp(t->cols[i]->name, "level"))
			mark = i;
	for (i = 0; i < t->n_cols; i++) {
		const struct report_cell *c = &cells[i];

		md_escape(&sb, report_cell_text(c, t->cols[i], buf, sizeof(buf)));
		if (c->kind == REPORT_CELL_UNAVAILABLE) {
			snprintf(nb, sizeof(nb), "%s: unavailable: %s", t->cols[i]->display,
				 report_note_reason(c->note));
			strbuf_addf(&sb, " [%d]", note_id(p, nb));
		} else if (c->kind == REPORT_CELL_NUM && c->note) {
			snprintf(nb, sizeof(nb), "%s: %s", t->cols[i]->display, c->note);
			strbuf_addf(&sb, " [%d]", note_id(p, nb));
		}
		if (i == mark && !r->valid) {
			snprintf(nb, sizeof(nb), "invalid level: %s",
				 r->invalid_reason ? r->invalid_reason : "no reason recorded");
			strbuf_addf(&sb, " (INVALID [%d])", note_id(p, nb));
		}
		if (add_cell(p, &sb))
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* Display width: UTF-8 code points (± and Δ are one column each). */
static size_t width_of(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static int md_table_end(struct report_writer *w, struct lb_error *err)
{
	struct md_priv *p = w->priv;
	const struct report_table *t = w->table;
	size_t i, k, n_rows = p->n_cols ? p->n_cells / p->n_cols : 0, wmax[128];

	(void)err;
	if (p->n_cols && n_rows > 1) {
		for (i = 0; i < p->n_cols && i < 128; i++) {
			wmax[i] = 3;
			for (k = 0; k < n_rows; k++) {
				size_t x = width_of(p->cells[k * p->n_cols + i]);

				if (x > wmax[i])
					wmax[i] = x;
			}
		}
		for (k = 0; k < n_rows; k++) {
			fputc('|', w->out);
			for (i = 0; i < p->n_cols; i++) {
				const char *s = p->cells[k * p->n_cols + i];
				size_t pad = i < 128 ? wmax[i] - width_of(s) : 0;
				bool left = t->cols[i]->is_param && t->cols[i]->type == FIELD_TEXT;

				fprintf(w->out, " %*s%s%*s |", left ? 0 : (int)pad, "", s,
					left ? (int)pad : 0, "");
			}
			fputc('\n', w->out);
			if (!k) {
				fputc('|', w->out);
				for (i = 0; i < p->n_cols; i++) {
					bool left = t->cols[i]->is_param &&
						    t->cols[i]->type == FIELD_TEXT;
					size_t wd = i < 128 ? wmax[i] : 3;

					fputs(left ? " :" : " ", w->out);
					for (size_t j = 0; j < wd - 1; j++)
						fputc('-', w->out);
					fputs(left ? " |" : ": |", w->out);
				}
				fputc('\n', w->out);
			}
		}
		fputc('\n', w->out);
	}
	for (i = 0; i < t->n_all_unavailable; i++)
		fprintf(w->out, "- %s\n", t->all_unavailable[i]);
	if (t->n_all_unavailable)
		fputc('\n', w->out);
	free_cells(p);
	return 0;
}

static int md_end(struct report_writer *w, struct lb_error *err)
{
	struct md_priv *p = w->priv;
	const struct report_doc *doc = w->doc;
	size_t i;
	int k;

	(void)err;
	report_md_sessions(w->out, doc->data); /* multi-turn levels: a table by turn */
	if (doc->n_plots) {
		fputs("## Plots\n\n", w->out);
		for (i = 0; i < doc->n_plots; i++) {
			const struct report_plot *pl = &doc->plots[i];

			if (pl->skipped)
				fprintf(w->out, "- %s: not drawn: %s\n", pl->title, pl->skipped);
			else
				fprintf(w->out, "- [%s](%s/%s.%s): %s\n", pl->title,
					doc->plot_dir_rel, pl->name, pl->png ? "png" : "svg",
					pl->caption);
		}
		fputc('\n', w->out);
	}
	if (doc->n_sheets) {
		fputs("## Answer sheets\n\n", w->out);
		for (i = 0; i < doc->n_sheets; i++)
			fprintf(w->out, "- [%s](%s)\n", doc->sheets[i], doc->sheets[i]);
		fputc('\n', w->out);
	}
	md_runs(w->out, doc->data);
	if (p->n_notes) {
		fputs("## Notes\n\n", w->out);
		for (k = 0; k < p->n_notes; k++)
			fprintf(w->out, "%d. %s\n", k + 1, p->notes[k]);
		fputc('\n', w->out);
	}
	fputs("Percentiles interpolate linearly on sorted samples (numpy, llama.cpp). "
	      "\"a ± b\": mean ± standard deviation over repetitions, or a figure ± its error.\n",
	      w->out);
	if (doc->version)
		fprintf(w->out, "\nWritten by llmbench %s.\n", doc->version);
	return 0;
}

static void md_free(struct report_writer *w)
{
	struct md_priv *p = w->priv;
	int i;

	if (!p)
		return;
	free_cells(p);
	lb_free(p->cells);
	for (i = 0; i < p->n_notes; i++)
		lb_free(p->notes[i]);
	lb_free(p);
	w->priv = NULL;
}

const struct report_writer_ops report_md_ops = {
	.format = "md",
	.file = "report.md",
	.begin = md_begin,
	.table_begin = md_table_begin,
	.row = md_row,
	.table_end = md_table_end,
	.end = md_end,
	.free = md_free,
};
