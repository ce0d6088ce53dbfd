/* html.c: index.html, one self-contained page: inline CSS, plots as inline SVG, no script, no
 * network. Every unavailable figure says so, with its reason in a tooltip and a numbered note;
 * every figure's provenance is in its tooltip and in the provenance table at the end. */
#include "sessions_md.h"
#include "writer.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"
#include "json.h"

#include <math.h>
#include <string.h>

#define HTML_MAX_NOTES 512
#define HTML_MAX_SVG (32u << 20)

struct html_priv {
	char *notes[HTML_MAX_NOTES];
	int n_notes;
	enum report_scope scope;
	bool scope_started;
	int table_no;
};

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static int note_id(struct html_priv *p, const char *text)
{
	int i;

	for (i = 0; i < p->n_notes; i++)
		if (!strcmp(p->notes[i], text))
			return i + 1;
	if (p->n_notes == HTML_MAX_NOTES)
		return 0;
	p->notes[p->n_notes] = lb_strdup(text);
	if (!p->notes[p->n_notes])
		return 0;
	return ++p->n_notes;
}

static const char css[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
	"margin:1.5em auto;max-width:1200px;padding:0 1em;color:#1d1d1f;background:#fff;"
	"line-height:1.4}\n"
	"h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ccc;"
	"padding-bottom:.2em}h3{margin:1.3em 0 .4em;font-size:1.05em}\n"
	"table{border-collapse:collapse;margin:.4em 0 1em;font-size:.88em}\n"
	"th,td{border:1px solid #d0d0d0;padding:.25em .55em;white-space:nowrap}\n"
	"th{background:#f3f4f6;text-align:center}td.num{text-align:right;"
	"font-variant-numeric:tabular-nums}\n"
	"td.na{color:#9a3412;background:#fff7ed;text-align:center;font-style:italic}\n"
	"td.empty{color:#999;text-align:center}\n"
	"tr.invalid td{background:#fef2f2}span.inv{color:#b91c1c;font-weight:bold}\n"
	".scroll{overflow-x:auto}p.folded{color:#374151;background:#f9fafb;padding:.35em .6em;"
	"border-left:3px solid #9ca3af}\n"
	"p.note,li.unav{color:#555;font-size:.9em}sup a{text-decoration:none}\n"
	"figure{margin:1.2em 0 2em;border:1px solid #e5e7eb;padding:.6em}"
	"figure svg{width:100%;max-width:1000px;height:auto;display:block;margin:auto}\n"
	"figcaption{font-size:.9em;color:#374151;margin-top:.4em}\n"
	"p.skipped{color:#9a3412}pre{background:#f6f8fa;padding:.6em;overflow-x:auto;"
	"font-size:.85em;max-height:30em}\n"
	"dl.meta{display:grid;grid-template-columns:max-content auto;gap:.15em 1em}"
	"dl.meta dt{font-weight:bold}dl.meta dd{margin:0}\n"
	"footer{margin-top:3em;color:#666;font-size:.85em}\n"
	"td.best{background:#dcfce7;font-weight:bold}td.worst{background:#fee2e2}\n"
	"tr.dominated td{color:#9ca3af;background:#f9fafb}tr.front td{font-weight:600}\n"
	"ul.answer li{margin:.25em 0}p.lead{font-size:1.05em}\n";

static void inline_svg(FILE *f, const char *path, int k);

/* Run metadata (at the end: the report answers first). */
static void html_runs(FILE *f, const struct report_data *d)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	fputs("<h2 id=\"runs\">Runs</h2>\n", f);
	for (i = 0; i < d->n_runs; i++) {
		const struct report_run *r = &d->runs[i];
		const char *k[] = { "workload", "workload file", "status",           "started",
				    "ended",    "host",          "llmbench version", "note" };
		const char *v[] = { r->workload_name, r->workload_path, r->status,  r->started_at,
				    r->ended_at,      r->host,          r->version, r->note };
		size_t j;

		fputs("<h3>Run ", f);
		esc(f, r->name);
		fputs("</h3>\n<dl class=\"meta\">\n", f);
		for (j = 0; j < sizeof(k) / sizeof(k[0]); j++) {
			if (!v[j] && j == 7)
				continue;
			fprintf(f, "<dt>%s</dt><dd>", k[j]);
			esc(f, v[j] ? v[j] : "unknown");
			fputs("</dd>\n", f);
		}
		fputs("</dl>\n<details><summary>Machine</summary>\n<pre>", f);
		strbuf_reset(&sb);
		if (r->machine_json)
			report_json_pretty(r->machine_json, &sb);
		esc(f, r->machine_json ? sb.buf : "not recorded");
		fputs("</pre>\n</details>\n<details><summary>Workload (JSON, as run)</summary>\n<pre>",
		      f);
		strbuf_reset(&sb);
		if (r->workload_json)
			report_json_pretty(r->workload_json, &sb);
		esc(f, r->workload_json ? sb.buf : "not recorded");
		fputs("</pre>\n</details>\n", f);
	}
	strbuf_release(&sb);
}

/* Plot i's figure with the SVG inline, up to the end of its caption's text (title and
 * caption); the caller ends the caption and the figure. */
static void figure_begin(FILE *f, const struct report_doc *doc, const struct report_plot *pl,
			 size_t i)
{
	char path[4096];

	fprintf(f, "<figure id=\"plot-%s\">\n", pl->name);
	snprintf(path, sizeof(path), "%s/%s/%s.svg", doc->out_dir, doc->plot_dir_rel, pl->name);
	inline_svg(f, path, (int)i);
	fputs("<figcaption><b>", f);
	esc(f, pl->title);
	fputs("</b>. ", f);
	esc(f, pl->caption);
}

/* The plots; the decision view's Pareto plot is drawn in the decision section instead. */
static void html_plots(FILE *f, const struct report_doc *doc)
{
	size_t i;

	fputs("<h2 id=\"plots\">Plots</h2>\n", f);
	if (!doc->n_plots)
		fputs("<p class=\"skipped\">No plots: gnuplot was not run (see the report's "
		      "warnings).</p>\n",
		      f);
	for (i = 0; i < doc->n_plots; i++) {
		const struct report_plot *pl = &doc->plots[i];

		if (!strcmp(pl->name, "pareto") && doc->headline && doc->headline->n_pts)
			continue;

		if (pl->skipped) {
			fputs("<p class=\"skipped\"><b>", f);
			esc(f, pl->title);
			fputs("</b>: not drawn: ", f);
			esc(f, pl->skipped);
			fputs("</p>\n", f);
			continue;
		}
		figure_begin(f, doc, pl, i);
		fprintf(f, " Files: <a href=\"%s/%s.svg\">svg</a>", doc->plot_dir_rel, pl->name);
		if (pl->png)
			fprintf(f, ", <a href=\"%s/%s.png\">png</a>", doc->plot_dir_rel, pl->name);
		fprintf(f,
			", <a href=\"%s/%s.dat\">data</a>, <a href=\"%s/%s.gp\">gnuplot script</a>."
			"</figcaption>\n</figure>\n",
			doc->plot_dir_rel, pl->name, doc->plot_dir_rel, pl->name);
	}
}

/* A list of notes on levels under its title (HTML), the label and level in span_attr. */
static void html_notes(FILE *f, const char *title_html, const char *span_attr,
		       const struct headline_note *v, size_t n)
{
	size_t i;

	if (!n)
		return;
	fprintf(f, "<p>%s:</p>\n<ul>\n", title_html);
	for (i = 0; i < n; i++) {
		fprintf(f, "<li><span%s>", span_attr);
		esc(f, v[i].label);
		fputs(" ", f);
		esc(f, v[i].level);
		fputs("</span>: ", f);
		esc(f, v[i].text);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
}

static void html_headline(FILE *f, const struct headline *h)
{
	char buf[64];
	size_t i;
	int c;

	fputs("<h2 id=\"headline\">Headline</h2>\n", f);
	if (!h || !h->n_b) {
		fputs("<p class=\"note\">No backend has figures.</p>\n", f);
		return;
	}
	fputs("<p class=\"note\">Per backend at its peak level (the valid level with the highest "
	      "output tokens/s); failed: share of failed requests over every level. Green and bold: "
	      "the column's best; red: its worst (by the metric's direction).</p>\n<div class=\"scroll\"><table>\n<thead><tr>"
	      "<th>backend</th><th>peak level</th>",
	      f);
	for (c = 0; c < HL_N; c++) {
		if (!h->col[c])
			continue;
		fprintf(f, "<th title=\"%s; %s is better\">",
			headline_cols[c].metric[0]
				? headline_cols[c].metric
				: "requests_failed / (requests_ok + requests_failed)",
			headline_cols[c].better > 0 ? "higher" : "lower");
		esc(f, headline_cols[c].name);
		fputs("</th>", f);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
	for (i = 0; i < h->n_b; i++) {
		const struct headline_backend *b = &h->b[i];

		fputs("<tr><td>", f);
		esc(f, b->label);
		fputs("</td><td>", f);
		esc(f, b->at[0] ? b->at : "-");
		fputs("</td>", f);
		for (c = 0; c < HL_N; c++) {
			if (!h->col[c])
				continue;
			fputs(b->mark[c] > 0
				      ? "<td class=\"num best\" title=\"best of the backends\">"
			      : b->mark[c] < 0
				      ? "<td class=\"num worst\" title=\"worst of the backends\">"
				      : "<td class=\"num\">",
			      f);
			esc(f, headline_fmt(c, b->v[c], buf, sizeof(buf)));
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table></div>\n", f);
	if (h->n_synthetic) {
		fputs("<p class=\"skipped\"><b>Caveat</b> (", f);
		for (i = 0, c = 0; i < h->n_b; i++) {
			if (!h->b[i].synthetic)
				continue;
			fputs(c++ ? ", " : "", f);
			esc(f, h->b[i].label);
		}
		fputs("): ", f);
		esc(f, REPORT_SYNTHETIC_CAVEAT);
		fputs(".</p>\n", f);
	}
	if (!h->col[HL_JPT])
		fputs("<p class=\"note\">Energy: not measured (no power source in the workload, or "
		      "none readable).</p>\n",
		      f);
	html_notes(f, "<b>Invalid levels</b> (their figures are shown but must not be compared)",
		   " class=\"inv\"", h->inv, h->n_inv);
	html_notes(f, "<b>Timing caveats</b> (the figures are shown; read them with this in mind)",
		   "", h->cav, h->n_cav);
	if (!h->n_pts && h->why_no_view) {
		fputs("<p class=\"note\">Decision view: none: ", f);
		esc(f, h->why_no_view);
		fputs(".</p>\n", f);
	}
}

/* The decision view of a family x quantization matrix: one sentence per family, the Pareto
 * plot, and the table with dominated choices greyed. */
static void html_decision(FILE *f, const struct report_doc *doc)
{
	const struct headline *h = doc->headline;
	char s[48], l[48], x[48];
	size_t i;

	if (!h || !h->n_pts)
		return;
	fputs("<h2 id=\"decision\">Decision: speed against quality loss</h2>\n<p class=\"note\">"
	      "Quality loss: ",
	      f);
	esc(f, h->loss_name);
	fprintf(f,
		"; bound: %s &lt;= %g (<code>%s</code>). Pareto front: no other choice is at "
		"least as fast, as close to its base%s, and better on one of them; dominated choices "
		"are greyed.</p>\n<ul class=\"answer\">\n",
		h->loss_short, h->bound, h->loss_is_ratio ? "--max-ppl-ratio" : "--max-kld",
		h->third_name ? (!strcmp(h->third_name, "size (MiB)") ? " and as small"
								      : " and as frugal (J/token)")
			      : "");
	for (i = 0; i < h->n_sentences; i++) {
		fputs("<li>", f);
		esc(f, h->sentences[i]);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
	for (i = 0; i < doc->n_plots; i++) {
		const struct report_plot *pl = &doc->plots[i];

		if (strcmp(pl->name, "pareto") || pl->skipped || !pl->svg)
			continue;
		figure_begin(f, doc, pl, i);
		fputs("</figcaption>\n</figure>\n", f);
	}
	fprintf(f,
		"<div class=\"scroll\"><table>\n<thead><tr><th>family</th><th>quant</th>"
		"<th>backend</th><th>tok/s</th><th>%s</th>",
		h->loss_short);
	if (h->third_name) {
		fputs("<th>", f);
		esc(f, h->third_name);
		fputs("</th>", f);
	}
	fputs("<th>within bound</th><th>Pareto</th></tr></thead>\n<tbody>\n", f);
	for (i = 0; i < h->n_pts; i++) {
		const struct headline_point *p = &h->pts[i];
		const struct headline_backend *b = &h->b[p->b];

		fields_fmt_num(s, sizeof(s), p->speed, FIELD_REAL);
		fields_fmt_num(l, sizeof(l), h->loss_is_ratio ? 1 + p->loss : p->loss, FIELD_REAL);
		fprintf(f, "<tr class=\"%s\"><td>", p->dominated ? "dominated" : "front");
		esc(f, b->family);
		fputs("</td><td>", f);
		esc(f, b->quant);
		fputs("</td><td>", f);
		esc(f, b->label);
		fprintf(f, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td>", s,
			p->base ? (h->loss_is_ratio ? "1 (base)" : "0 (base)") : l);
		if (h->third_name)
			fprintf(f, "<td class=\"num\">%s</td>",
				fields_fmt_num(x, sizeof(x), p->third, FIELD_REAL));
		fprintf(f, "<td>%s</td><td>%s</td></tr>\n",
			p->base     ? "base"
			: p->within ? "yes"
				    : "no",
			p->dominated ? "dominated" : "front");
	}
	fputs("</tbody>\n</table></div>\n", f);
}

static int html_begin(struct report_writer *w, const struct report_doc *doc, struct lb_error *err)
{
	struct html_priv *p = lb_calloc(1, sizeof(*p));
	const struct report_data *d = doc->data;
	struct strbuf sb = STRBUF_INIT;
	FILE *f = w->out;
	size_t i;

	if (!p)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	w->priv = p;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>llmbench report: ",
	      f);
	for (i = 0; i < d->n_runs; i++) {
		fputs(i ? ", " : "", f);
		esc(f, d->runs[i].name);
	}
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>llmbench report: ", css);
	for (i = 0; i < d->n_runs; i++) {
		fputs(i ? ", " : "", f);
		esc(f, d->runs[i].name);
	}
	fputs("</h1>\n<nav><a href=\"#headline\">headline</a>", f);
	if (doc->headline && doc->headline->n_pts)
		fputs(" · <a href=\"#decision\">decision</a>", f);
	fputs(" · <a href=\"#plots\">plots</a> · <a href=\"#tables\">tables</a>", f);
	if (doc->n_sheets)
		fputs(" · <a href=\"#sheets\">answer sheets</a>", f);
	fputs(" · <a href=\"#runs\">runs</a> · <a href=\"#provenance\">provenance</a> · "
	      "<a href=\"#notes\">notes</a> · "
	      "files: <a href=\"report.md\">report.md</a>, <a href=\"report.csv\">report.csv</a>, "
	      "<a href=\"report.json\">report.json</a>",
	      f);
	if (doc->has_requests_jsonl)
		fputs(", <a href=\"requests.jsonl\">requests.jsonl</a>", f);
	fputs("</nav>\n", f);
	html_headline(f, doc->headline);
	html_decision(f, doc);
	html_plots(f, doc);
	strbuf_release(&sb);
	fputs("<h2 id=\"tables\">Tables</h2>\n<p class=\"note\">Hover a figure for its provenance, "
	      "sample count and unit. \"a ± b\": mean ± standard deviation over repetitions, or a "
	      "figure ± its error; [lo, hi]: a 95% interval.</p>\n",
	      f);
	return 0;
}

static const char *scope_title(enum report_scope s)
{
	return s == REPORT_SCOPE_LEVEL     ? "Per backend and level"
	       : s == REPORT_SCOPE_BACKEND ? "Per backend"
					   : "Per run";
}

static int html_table_begin(struct report_writer *w, const struct report_table *t,
			    struct lb_error *err)
{
	struct html_priv *p = w->priv;
	FILE *f = w->out;
	size_t i;

	(void)err;
	if (!p->scope_started || p->scope != t->scope) {
		fprintf(f, "<h3 style=\"font-size:1.25em\">%s</h3>\n", scope_title(t->scope));
		if (t->folded) {
			fputs("<p class=\"folded\">All rows: ", f);
			esc(f, t->folded);
			fputs("</p>\n", f);
		}
		p->scope = t->scope;
		p->scope_started = true;
	}
	p->table_no++;
	fprintf(f, "<h3 id=\"t%d-%s\">", p->table_no, t->id);
	esc(f, t->title);
	fputs("</h3>\n", f);
	if (t->note) {
		fputs("<p class=\"note\">", f);
		esc(f, t->note);
		fputs("</p>\n", f);
	}
	if (!t->n_cols)
		return 0;
	fputs("<div class=\"scroll\"><table>\n<thead><tr>", f);
	for (i = 0; i < t->n_cols; i++) {
		const struct field_desc *c = t->cols[i];

		fputs("<th title=\"", f);
		esc(f, c->is_param ? c->display : c->name);
		fputs("\">", f);
		esc(f, c->is_param ? c->display : c->short_display ? c->short_display : c->display);
		fputs("</th>", f);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
	return 0;
}

static int html_row(struct report_writer *w, const struct report_row *r,
		    const struct report_cell *cells, struct lb_error *err)
{
	struct html_priv *p = w->priv;
	const struct report_table *t = w->table;
	FILE *f = w->out;
	char buf[256], nb[512], tmp[64];
	size_t i, mark = 0;

	(void)err;
	for (i = 0; i < t->n_cols; i++)
		if (!strcmp(t->cols[i]->name, "level"))
			mark = i;
	fputs(r->valid ? "<tr>" : "<tr class=\"invalid\">", f);
	for (i = 0; i < t->n_cols; i++) {
		const struct report_cell *c = &cells[i];
		const struct field_desc *fd = t->cols[i];
		int id;

		switch (c->kind) {
		case REPORT_CELL_TEXT:
			fputs("<td>", f);
			esc(f, c->text);
			break;
		case REPORT_CELL_EMPTY:
			fputs("<td class=\"empty\" title=\"not measured in this row\">-", f);
			break;
		case REPORT_CELL_UNAVAILABLE:
			snprintf(nb, sizeof(nb), "%s: unavailable: %s", fd->display,
				 report_note_reason(c->note));
			id = note_id(p, nb);
			fputs("<td class=\"na\" title=\"", f);
			esc(f, nb);
			fprintf(f, "\">unavailable<sup><a href=\"#note-%d\">%d</a></sup>", id, id);
			break;
		case REPORT_CELL_NUM:
			fputs("<td class=\"num\" title=\"", f);
			esc(f, fd->name);
			if (c->unit) {
				fputs(" · unit: ", f);
				esc(f, c->unit);
			}
			fputs(" · provenance: ", f);
			esc(f, c->provenance ? c->provenance : "not recorded");
			if (c->n >= 0)
				fprintf(f, " · n=%s",
					fields_fmt_num(tmp, sizeof(tmp), c->n, FIELD_INT));
			if (c->n_reps >= 2)
				fprintf(f, " · %d repetitions", c->n_reps);
			if (c->note) {
				fputs(" · ", f);
				esc(f, c->note);
			}
			fputs("\">", f);
			esc(f, report_cell_text(c, fd, buf, sizeof(buf)));
			if (c->note) {
				snprintf(nb, sizeof(nb), "%s: %s", fd->display, c->note);
				id = note_id(p, nb);
				fprintf(f, "<sup><a href=\"#note-%d\">%d</a></sup>", id, id);
			}
			break;
		}
		if (i == mark && !r->valid) {
			snprintf(nb, sizeof(nb), "invalid level: %s",
				 r->invalid_reason ? r->invalid_reason : "no reason recorded");
			id = note_id(p, nb);
			fputs(" <span class=\"inv\" title=\"", f);
			esc(f, nb);
			fprintf(f, "\">INVALID<sup><a href=\"#note-%d\">%d</a></sup></span>", id,
				id);
		}
		fputs("</td>", f);
	}
	fputs("</tr>\n", f);
	return 0;
}

static int html_table_end(struct report_writer *w, struct lb_error *err)
{
	const struct report_table *t = w->table;
	FILE *f = w->out;
	size_t i;

	(void)err;
	if (t->n_cols)
		fputs("</tbody>\n</table></div>\n", f);
	if (t->n_all_unavailable) {
		fputs("<ul>\n", f);
		for (i = 0; i < t->n_all_unavailable; i++) {
			fputs("<li class=\"unav\">", f);
			esc(f, t->all_unavailable[i]);
			fputs("</li>\n", f);
		}
		fputs("</ul>\n", f);
	}
	return 0;
}

/* Copy an SVG file inline: drop the XML prolog, make ids unique per plot. */
static void inline_svg(FILE *f, const char *path, int k)
{
	struct strbuf sb = STRBUF_INIT;
	struct lb_error e = LB_ERROR_INIT;
	const char *s, *q;
	char pre[16];

	if (strbuf_read_file(&sb, path, HTML_MAX_SVG, &e) || !(s = strstr(sb.buf, "<svg"))) {
		fputs("<p class=\"skipped\">cannot read ", f);
		esc(f, path);
		fputs("</p>\n", f);
		strbuf_release(&sb);
		return;
	}
	snprintf(pre, sizeof(pre), "p%d_", k);
	fputs("<svg role=\"img\"", f);
	s += 4;
	while (*s) {
		if (!strncmp(s, "id='", 4) || !strncmp(s, "id=\"", 4)) {
			fwrite(s, 1, 4, f);
			fputs(pre, f);
			s += 4;
		} else if (!strncmp(s, "href='#", 7) || !strncmp(s, "href=\"#", 7)) {
			fwrite(s, 1, 7, f);
			fputs(pre, f);
			s += 7;
		} else if (!strncmp(s, "url(#", 5)) {
			fputs("url(#", f);
			fputs(pre, f);
			s += 5;
		} else {
			q = s + 1;
			while (*q && *q != 'i' && *q != 'h' && *q != 'u')
				q++;
			fwrite(s, 1, (size_t)(q - s), f);
			s = q;
		}
	}
	fputc('\n', f);
	strbuf_release(&sb);
}

/* Distinct provenance and units of every metric (the provenance table). */
static void provenance_table(FILE *f, const struct report_data *d)
{
	size_t i, k, j;

	fputs("<h2 id=\"provenance\">Provenance</h2>\n<p class=\"note\">Where each figure comes "
	      "from, as stored with it.</p>\n<div class=\"scroll\"><table>\n<thead><tr><th>metric"
	      "</th><th>unit</th><th>provenance</th><th>rows</th></tr></thead>\n<tbody>\n",
	      f);
	for (i = 0; i < d->n_metrics; i++) {
		const char *seen[16];
		size_t n_seen = 0, rows = 0;
		const char *unit = NULL;

		for (k = 0; k < d->n_rows; k++) {
			const struct report_metric *m =
				report_row_metric(&d->rows[k], d->metrics[i]);
			const char *pv;

			if (!m)
				continue;
			rows++;
			if (!unit)
				unit = m->unit;
			pv = !m->n_reps      ? "(unavailable)"
			     : m->provenance ? m->provenance
					     : "not recorded";
			for (j = 0; j < n_seen; j++)
				if (!strcmp(seen[j], pv))
					break;
			if (j == n_seen && n_seen < 16)
				seen[n_seen++] = pv;
		}
		fputs("<tr><td>", f);
		esc(f, d->metrics[i]);
		fputs("</td><td>", f);
		esc(f, unit ? unit : "-");
		fputs("</td><td>", f);
		for (j = 0; j < n_seen; j++) {
			fputs(j ? ", " : "", f);
			esc(f, seen[j]);
		}
		fprintf(f, "</td><td class=\"num\">%zu</td></tr>\n", rows);
	}
	fputs("</tbody>\n</table></div>\n", f);
}

static int html_end(struct report_writer *w, struct lb_error *err)
{
	struct html_priv *p = w->priv;
	const struct report_doc *doc = w->doc;
	FILE *f = w->out;
	size_t i;
	int k;

	(void)err;
	report_html_sessions(f, doc->data); /* multi-turn levels: a table by turn */
	if (doc->n_sheets) {
		fputs("<h2 id=\"sheets\">Answer sheets</h2>\n<ul>\n", f);
		for (i = 0; i < doc->n_sheets; i++) {
			fputs("<li><a href=\"", f);
			esc(f, doc->sheets[i]);
			fputs("\">", f);
			esc(f, doc->sheets[i]);
			fputs("</a></li>\n", f);
		}
		fputs("</ul>\n", f);
	}
	html_runs(f, doc->data);
	provenance_table(f, doc->data);
	fputs("<h2 id=\"notes\">Notes</h2>\n", f);
	if (!p->n_notes)
		fputs("<p class=\"note\">No figure is unavailable and every level is valid.</p>\n",
		      f);
	else
		fputs("<ol>\n", f);
	for (k = 0; k < p->n_notes; k++) {
		fprintf(f, "<li id=\"note-%d\">", k + 1);
		esc(f, p->notes[k]);
		fputs("</li>\n", f);
	}
	if (p->n_notes)
		fputs("</ol>\n", f);
	fputs("<footer>Percentiles interpolate linearly on sorted samples (numpy, llama.cpp). "
	      "Failed and warm-up requests are excluded from every figure.",
	      f);
	if (doc->version) {
		fputs(" Written by llmbench ", f);
		esc(f, doc->version);
		fputs(".", f);
	}
	fputs("</footer>\n</body>\n</html>\n", f);
	return 0;
}

static void html_free(struct report_writer *w)
{
	struct html_priv *p = w->priv;
	int i;

	if (!p)
		return;
	for (i = 0; i < p->n_notes; i++)
		lb_free(p->notes[i]);
	lb_free(p);
	w->priv = NULL;
}

const struct report_writer_ops report_html_ops = {
	.format = "html",
	.file = "index.html",
	.begin = html_begin,
	.table_begin = html_table_begin,
	.row = html_row,
	.table_end = html_table_end,
	.end = html_end,
	.free = html_free,
};
