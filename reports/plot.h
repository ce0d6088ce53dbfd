/* plot.h: the report's plots, drawn by gnuplot run as a child process.
 *
 * Data is accumulated while the report streams requests (a bounded amount per backend: TTFT
 * samples, a log-spaced chunk-gap histogram, mean gap per output position), then each plot
 * writes <dir>/<name>.dat and <name>.gp (kept, so that users can restyle and re-run
 * `gnuplot -e "fmt='svg'" <name>.gp`) and runs gnuplot for PNG and/or SVG. A plot without data
 * is skipped with the reason, never drawn empty. */
#ifndef LB_REPORT_PLOT_H
#define LB_REPORT_PLOT_H

#include "../base/error.h"
#include "query.h"
#include "writer.h"

#include <stdbool.h>

struct plot_set;

/* d is borrowed and must outlive the set. */
int plot_set_new(struct plot_set **out, const struct report_data *d, struct lb_error *err);
void plot_set_free(struct plot_set *p);
/* Account one request of run index run (into d->runs). This function can't fail (a sample that
 * cannot be kept is dropped and counted). */
void plot_set_add_request(struct plot_set *p, size_t run, const struct report_request *rq);
/* Read the power series and level times of run index run. */
int plot_set_load_series(struct plot_set *p, struct store *st, size_t run, struct lb_error *err);

/* The headline whose decision view the Pareto plot draws (borrowed; NULL: no such plot). */
struct headline;
void plot_set_use_headline(struct plot_set *p, const struct headline *h);

/* Is gnuplot runnable? Fills why (naming the package) when not. */
bool plot_gnuplot_available(const char *gnuplot, char *why, size_t len);

/* Write every plot's .dat/.gp under dir and draw it. *plots (owned by the set, valid until
 * plot_set_free) lists every plot, drawn or skipped with the reason. */
int plot_set_render(struct plot_set *p, const char *dir, const char *gnuplot, bool png, bool svg,
		    const struct report_plot **plots, size_t *n_plots, struct lb_error *err);

/* The knee of a latency-throughput curve (Kneedle on normalized axes): index of the point with
 * the largest x_norm - y_norm over points ordered by load, or -1 with fewer than 3 points or
 * when no point lies above the chord. Pure; exported for tests. */
int plot_knee(const double *x, const double *y, int n);

#endif
