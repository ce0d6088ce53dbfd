/* writer.h: report writers behind one interface (llama-bench's printers in C), and the report
 * as a whole: report_render() loads a store's runs, streams their requests once (JSONL, plot
 * data), draws the plots with gnuplot and hands tables to each writer of --format.
 *
 * A writer writes to a FILE the caller opens and closes; it never reads the store. A table is
 * a list of columns (struct field_desc) and rows of cells; "wide" writers (CSV, JSON) get one
 * table with every column, the others (Markdown, HTML) one table per group with the columns that
 * do not vary folded into a header line. */
#ifndef LB_REPORT_WRITER_H
#define LB_REPORT_WRITER_H

#include "../base/error.h"
#include "fields.h"
#include "headline.h"
#include "query.h"

#include <stdbool.h>
#include <stdio.h>

struct store;

enum report_cell_kind {
	REPORT_CELL_EMPTY,       /* no such figure for this row */
	REPORT_CELL_TEXT,        /* a parameter */
	REPORT_CELL_NUM,         /* a figure */
	REPORT_CELL_UNAVAILABLE, /* stored as unavailable (NULL value); note says why */
};

struct report_cell {
	enum report_cell_kind kind;
	const char *text; /* REPORT_CELL_TEXT; borrowed */
	double v;         /* REPORT_CELL_NUM */
	double sd;        /* sd over repetitions (n_reps >= 2), else NAN */
	int n_reps;
	double err;    /* companion "<x>_err"/"<x>_sd": shown as "v ± err"; NAN none */
	double lo, hi; /* companions "<x>_lo"/"<x>_hi": "v [lo, hi]"; NAN none */
	double n;      /* samples behind the figure, -1 unknown */
	const char *unit, *provenance, *note; /* borrowed, may be NULL */
};

struct report_table {
	const char *id;          /* group id ("ttft", ...) or "all" */
	const char *title;       /* NULL for wide tables */
	const char *note;        /* a line under the title, or NULL */
	enum report_scope scope; /* rows' scope (wide tables mix scopes: see the "scope" column) */
	const struct field_desc *const *cols; /* borrowed for the table's life */
	const bool *has_sd;   /* per column: some row has repetitions (wide tables) */
	const bool *has_note; /* per column: some row has it unavailable (wide tables): CSV
				   * gives the reason its own "<metric>.note" column */
	size_t n_cols;
	const char *folded; /* "run: a · mode: concurrency" (parameters that do not vary) */
	const char *const *all_unavailable; /* lines "goodput (req/s): unavailable: no SLO" */
	size_t n_all_unavailable;
};

struct report_plot {
	const char *name; /* "ttft_cdf": files plots/<name>.{dat,gp,png,svg} */
	const char *title;
	const char *caption; /* what it shows and where the data comes from (provenance) */
	const char *skipped; /* why it was not drawn, or NULL when drawn */
	bool png, svg;       /* files written */
};

struct report_doc {
	const struct report_data *data;
	const struct report_plot *plots;
	size_t n_plots;
	const char *out_dir;
	const char *const *sheets; /* "sheets/x.md" relative to out_dir */
	size_t n_sheets;
	const char *version; /* llmbench that wrote the report; NULL when normalized */
	bool has_requests_jsonl;
	const char *plot_dir_rel;        /* "plots" */
	const struct headline *headline; /* what the report says first; NULL: none */
};

struct report_writer;

struct report_writer_ops {
	const char *format; /* "csv", "md", "json", "html" */
	const char *file;   /* written under the output folder: "report.csv" */
	bool wide;          /* one table, every column, nothing folded */
	int (*begin)(struct report_writer *w, const struct report_doc *doc, struct lb_error *err);
	int (*table_begin)(struct report_writer *w, const struct report_table *t,
			   struct lb_error *err);
	int (*row)(struct report_writer *w, const struct report_row *r,
		   const struct report_cell *cells, struct lb_error *err);
	int (*table_end)(struct report_writer *w, struct lb_error *err);
	int (*end)(struct report_writer *w, struct lb_error *err);
	void (*free)(struct report_writer *w); /* NULL-safe on w->priv; NULL: nothing to free */
};

struct report_writer {
	const struct report_writer_ops *ops;
	FILE *out;                        /* borrowed; the caller opens and closes it */
	const struct report_doc *doc;     /* set by begin's caller */
	const struct report_table *table; /* the current table */
	void *priv;
};

extern const struct report_writer_ops report_csv_ops, report_md_ops, report_json_ops,
	report_html_ops;
/* A writer by format name, or NULL. */
const struct report_writer_ops *report_writer_find(const char *format);

/* Text of a figure for people: "12.3", "12.3 ± 0.4", "0.81 [0.74, 0.86]", "unavailable", "-".
 * Returns buf. */
const char *report_cell_text(const struct report_cell *c, const struct field_desc *f, char *buf,
			     size_t len);
/* The cell of metric m (NULL: an empty cell): its value, sd over repetitions, unit and note;
 * no companions (err, lo, hi: NAN), provenance or sample count (n: -1). */
void report_cell_of(const struct report_metric *m, struct report_cell *c);
/* "unavailable: no SLO" -> "no SLO" (the reason alone). */
const char *report_note_reason(const char *note);

enum report_fmt {
	REPORT_FMT_HTML = 1 << 0,
	REPORT_FMT_MD = 1 << 1,
	REPORT_FMT_CSV = 1 << 2,
	REPORT_FMT_JSON = 1 << 3,
	REPORT_FMT_JSONL = 1 << 4,
	REPORT_FMT_PNG = 1 << 5,
	REPORT_FMT_SVG = 1 << 6,
	REPORT_FMT_ALL = (1 << 7) - 1,
};
/* Parse "html,md,csv": LB_ERR_USAGE naming the bad word. */
int report_parse_formats(const char *s, unsigned *out, struct lb_error *err);

struct report_opts {
	const char *const *runs; /* names; n_runs == 0: the latest run */
	size_t n_runs;
	const char *out_dir;  /* created if missing */
	unsigned formats;     /* enum report_fmt */
	const char *gnuplot;  /* program; NULL: "gnuplot" (or $LLMBENCH_GNUPLOT) */
	bool normalize;       /* leave the writing llmbench's version out (golden files) */
	const char *version;  /* version of this llmbench */
	double max_kld;       /* decision view's quality bound; <= 0: the default */
	double max_ppl_ratio; /* used instead of KLD when set alone; <= 0: the default */
};

struct report_result {
	int n_plots_drawn, n_plots_skipped;
	char index_html[4096]; /* path of index.html when written */
	char warning[512];     /* e.g. gnuplot missing: plots skipped (when not fatal) */
};

/* Render the report. Errors: LB_ERR_USAGE (unknown run, empty store), LB_ERR_IO (cannot write
 * the folder), LB_ERR_UNSUPPORTED (gnuplot missing while png/svg were asked for explicitly). */
int report_render(struct store *st, const struct report_opts *o, struct report_result *res,
		  struct lb_error *err);

#endif
