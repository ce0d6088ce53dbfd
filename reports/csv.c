/* csv.c: report.csv, RFC 4180 with LF line ends (quotes doubled). One row per level (repetitions
 * folded), per backend and per run ("scope" column); metric columns are the store's metric names,
 * with "<metric>.sd" beside those that have repetitions and "<metric>.note" beside those that
 * are unavailable in some row. A metric column holds a number or nothing: an unavailable figure
 * is empty there and its reason ("unavailable: no SLO") is in its ".note" column. */
#include "writer.h"
#include "../base/jsonout.h"

#include <math.h>
#include <string.h>

static int csv_begin(struct report_writer *w, const struct report_doc *doc, struct lb_error *err)
{
	(void)w;
	(void)doc;
	(void)err;
	return 0;
}

static int csv_table_begin(struct report_writer *w, const struct report_table *t,
			   struct lb_error *err)
{
	size_t i;
	char sd[192], note[192];

	(void)err;
	for (i = 0; i < t->n_cols; i++) {
		if (i)
			fputc(',', w->out);
		csvout_field(w->out, t->cols[i]->name);
		if (t->has_sd && t->has_sd[i]) {
			snprintf(sd, sizeof(sd), "%s.sd", t->cols[i]->name);
			fputc(',', w->out);
			csvout_field(w->out, sd);
		}
		if (t->has_note && t->has_note[i]) {
			snprintf(note, sizeof(note), "%s.note", t->cols[i]->name);
			fputc(',', w->out);
			csvout_field(w->out, note);
		}
	}
	fputc('\n', w->out);
	return 0;
}

static int csv_row(struct report_writer *w, const struct report_row *r,
		   const struct report_cell *cells, struct lb_error *err)
{
	const struct report_table *t = w->table;
	char buf[64];
	size_t i;

	(void)r;
	(void)err;
	for (i = 0; i < t->n_cols; i++) {
		const struct report_cell *c = &cells[i];

		if (i)
			fputc(',', w->out);
		switch (c->kind) {
		case REPORT_CELL_EMPTY: break;
		case REPORT_CELL_TEXT: csvout_field(w->out, c->text); break;
		case REPORT_CELL_UNAVAILABLE: /* empty: the reason goes in "<metric>.note" */ break;
		case REPORT_CELL_NUM:
			fputs(fields_fmt_exact(buf, sizeof(buf), c->v), w->out);
			break;
		}
		if (t->has_sd && t->has_sd[i]) {
			fputc(',', w->out);
			if (c->kind == REPORT_CELL_NUM && c->n_reps >= 2 && !isnan(c->sd))
				fputs(fields_fmt_exact(buf, sizeof(buf), c->sd), w->out);
		}
		if (t->has_note && t->has_note[i]) {
			fputc(',', w->out);
			if (c->kind == REPORT_CELL_UNAVAILABLE)
				csvout_field(w->out, c->note ? c->note : "unavailable");
		}
	}
	fputc('\n', w->out);
	return 0;
}

static int csv_table_end(struct report_writer *w, struct lb_error *err)
{
	(void)w;
	(void)err;
	return 0;
}

static int csv_end(struct report_writer *w, struct lb_error *err)
{
	(void)w;
	(void)err;
	return 0;
}

const struct report_writer_ops report_csv_ops = {
	.format = "csv",
	.file = "report.csv",
	.wide = true,
	.begin = csv_begin,
	.table_begin = csv_table_begin,
	.row = csv_row,
	.table_end = csv_table_end,
	.end = csv_end,
};
