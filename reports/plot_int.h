/* plot_int.h: what the plot files share (private to reports/plot*.c): the plot set, the
 * per-backend series, and the gnuplot helpers that every family of plot uses. */
#ifndef LB_REPORT_PLOT_INT_H
#define LB_REPORT_PLOT_INT_H

#include "headline.h"
#include "plot.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PLOT_MAX_TTFT (1u << 22) /* TTFT samples kept over all backends */
#define PLOT_CDF_POINTS 400      /* points per CDF curve */
#define GAP_BINS_PER_DEC 20
#define GAP_DECADES 8 /* 0.01 ms .. 1e6 ms */
#define GAP_BINS (GAP_BINS_PER_DEC * GAP_DECADES)
#define GAP_MIN_MS 0.01
#define POS_MAX 4096              /* output positions tracked for ITL by position */
#define PLOT_MAX_POWER (1u << 20) /* power samples kept */

struct bseries {
	size_t run;
	int64_t backend_id;
	char label[160];
	const struct report_row *row; /* any row of this backend (family, quant) */
	double *ttft;
	size_t n_ttft, alloc_ttft;
	uint64_t gaps[GAP_BINS];
	uint64_t n_gaps, gaps_out_of_range;
	double *pos_sum; /* POS_MAX */
	uint32_t *pos_n;
};

struct pseries {
	char name[96];
	size_t run;
	int64_t *t_ns;
	double *w;
	size_t n, alloc;
};

struct level_mark {
	size_t run;
	int64_t level_id;
	int64_t t0_ns;
};

struct plot_set {
	const struct report_data *d;
	struct bseries *b;
	size_t n_b;
	size_t n_ttft_total;
	uint64_t dropped;
	bool pos_by_chunk, pos_by_token;
	struct pseries *ps;
	size_t n_ps;
	struct level_mark *marks;
	size_t n_marks, alloc_marks;
	struct report_plot plots[16];
	size_t n_plots;
	struct strbuf text; /* titles, captions and skip reasons of the plots */
	char *texts[48];
	int n_texts;
	const char *gnuplot;
	const char *dir;
	bool png, svg;
	const struct headline *hl; /* the decision view's points (plot_set_use_headline) */
	struct plot_srv *srv;      /* the server's scraped metrics (plot_server.c) */
};

#define MAX_LEVELS 512

/* A category of a clustered plot (a quantization level or a family) with its sort rank. */
struct cat {
	const char *name;
	int rank;
};

/* plot.c: the set */
bool plot_multi_run(const struct report_data *d);

/* plot_gnuplot.c: scripts, data files and the gnuplot child */
void plot_gq(struct strbuf *sb, const char *s); /* a gnuplot string literal */
void plot_dq(struct strbuf *sb, const char *s); /* a data-file field (no tabs or newlines) */
void plot_gp_header(struct strbuf *gp, const char *name, const char *title, int w, int h);
/* Keep a formatted text for the life of the set (titles, captions, skip reasons). */
const char *plot_keep(struct plot_set *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct report_plot *plot_new(struct plot_set *p, const char *name, const char *title);
/* Write <name>.dat and <name>.gp, then draw; a failure of gnuplot skips the plot with the
 * reason. */
int plot_finish(struct plot_set *p, struct report_plot *pl, const struct strbuf *dat,
		const struct strbuf *gp, struct lb_error *err);
/* End the plot command with a new line, then write and draw (plot_finish) unless pl->skipped
 * says why the plot is not drawn; dat and gp are released either way. */
int plot_done(struct plot_set *p, struct report_plot *pl, struct strbuf *dat, struct strbuf *gp,
	      struct lb_error *err);
/* One series of a plot command: "<name>.dat" index <block> using <style> lc rgb "<colour>"
 * title "<title>", after ", \" and a new line unless it is the command's first. */
void plot_series(struct strbuf *gp, bool first, const char *name, size_t block, const char *style,
		 const char *colour, const char *title);
int plot_cmp_double(const void *a, const void *b);
const char *plot_colour(size_t i);

/* plot_load.c: per-level figures */
bool plot_val(const struct report_row *r, const char *name, double *v, double *sd);
size_t plot_level_rows(const struct plot_set *p, const struct bseries *s,
		       const struct report_row **out, size_t max);
const char *plot_level_axis(const struct plot_set *p);

/* plot_quant.c: per-backend figures by family and quantization */
int plot_cat_cmp(const void *a, const void *b);
size_t plot_cat_add(struct cat *c, size_t n, size_t max, const char *name, int rank);
size_t plot_cat_find(const struct cat *c, size_t n, const char *name);
const char *plot_quant_of(const struct bseries *s);
const char *plot_family_of(const struct plot_set *p, const struct bseries *s);
bool plot_backend_metric(const struct plot_set *p, const struct bseries *s, const char *name,
			 double *v, double *sd);

/* The plots, in the order plot_set_render draws them. Each adds one entry to p->plots. */
int plot_ttft_cdf(struct plot_set *p, struct lb_error *err);           /* plot_latency.c */
int plot_chunk_gaps(struct plot_set *p, struct lb_error *err);         /* plot_latency.c */
int plot_itl_position(struct plot_set *p, struct lb_error *err);       /* plot_latency.c */
int plot_throughput_load(struct plot_set *p, struct lb_error *err);    /* plot_load.c */
int plot_latency_throughput(struct plot_set *p, struct lb_error *err); /* plot_load.c */
int plot_toks_by_quant(struct plot_set *p, struct lb_error *err);      /* plot_quant.c */
int plot_ppl_size(struct plot_set *p, struct lb_error *err);           /* plot_quant.c */
int plot_j_per_token(struct plot_set *p, struct lb_error *err);        /* plot_quant.c */
int plot_power(struct plot_set *p, struct lb_error *err);              /* plot_power.c */
int plot_quality(struct plot_set *p, struct lb_error *err);            /* plot_quality.c */
int plot_pareto(struct plot_set *p, struct lb_error *err);             /* plot_pareto.c */
int plot_server_time(struct plot_set *p, struct lb_error *err);        /* plot_server.c */

/* plot_server.c: the client's TTFT and the server's scraped figures on one time axis */
void plot_server_add_request(struct plot_set *p, size_t b, const struct report_request *rq);
int plot_server_add_point(struct plot_set *p, size_t run, const char *series, int64_t t_ns,
			  double v);
/* After the requests and series of run: the run's scrapes; true in *has_points when the run
 * has server samples (level times are then wanted). */
int plot_server_load(struct plot_set *p, struct store *st, size_t run, bool *has_points,
		     struct lb_error *err);
void plot_server_free(struct plot_set *p);

#endif
