/* plot_load.c: figures against load: throughput per load level and latency against
 * throughput (with the knee of each p99 curve). */
#include "plot_int.h"

/* Value and rep-sd of a metric (false when absent or unavailable). */
bool plot_val(const struct report_row *r, const char *name, double *v, double *sd)
{
	const struct report_metric *m = report_row_metric(r, name);

	if (!m || !m->n_reps)
		return false;
	*v = m->value;
	if (sd)
		*sd = isnan(m->sd) ? 0 : m->sd;
	return true;
}

/* Level rows of backend series s, in index order (rows are stored that way). */
size_t plot_level_rows(const struct plot_set *p, const struct bseries *s,
		       const struct report_row **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < p->d->n_rows && n < max; i++) {
		const struct report_row *r = &p->d->rows[i];

		if (r->scope == REPORT_SCOPE_LEVEL && r->run == s->run &&
		    r->backend_id == s->backend_id)
			out[n++] = r;
	}
	return n;
}

const char *plot_level_axis(const struct plot_set *p)
{
	size_t i;
	const char *mode = NULL;

	for (i = 0; i < p->d->n_rows; i++) {
		const struct report_row *r = &p->d->rows[i];

		if (r->scope != REPORT_SCOPE_LEVEL || !r->mode)
			continue;
		if (mode && strcmp(mode, r->mode))
			return "load level (concurrency or request rate)";
		mode = r->mode;
	}
	if (mode && !strcmp(mode, "concurrency"))
		return "concurrency (requests in flight)";
	if (mode && !strcmp(mode, "rate"))
		return "offered request rate (req/s)";
	return "load level";
}

/* Add v to the sorted set lv of n distinct level values; returns the new count. */
static size_t level_add(double *lv, size_t n, double v)
{
	size_t i, j;

	for (i = 0; i < n && lv[i] < v; i++)
		;
	if ((i < n && lv[i] == v) || n == MAX_LEVELS)
		return n;
	for (j = n; j > i; j--)
		lv[j] = lv[j - 1];
	lv[i] = v;
	return n + 1;
}

/* The load axis: ticks at the levels' own values (never at concurrency 0.5 or 1.5), on a
 * logarithmic axis when the levels span a factor of 16 or more (1, 2, 4 ... 512). */
static void level_tics(struct strbuf *gp, const double *lv, size_t n)
{
	bool log = n > 2 && lv[0] > 0 && lv[n - 1] / lv[0] >= 16;
	size_t i;

	if (log)
		strbuf_addf(gp,
			    "set logscale x 2\nset xrange [%.6g:%.6g]\n"
			    "set offsets 0, 0, graph 0.05, 0\n",
			    lv[0] / 1.25, lv[n - 1] * 1.25);
	else
		strbuf_addf(gp, "set xrange [%.6g:%.6g]\nset offsets 0, 0, graph 0.05, 0\n",
			    fmax(lv[0] - (lv[n - 1] - lv[0]) * 0.1, 0),
			    lv[n - 1] + (lv[n - 1] - lv[0]) * 0.1);
	if (n > 24) {
		/* too many to label each: gnuplot's ticks (whole numbers over so wide a range) */
		strbuf_adds(gp, "set format x \"%g\"\n");
		return;
	}
	strbuf_adds(gp, "set xtics (");
	for (i = 0; i < n; i++)
		strbuf_addf(gp, "%s\"%g\" %.10g", i ? ", " : "", lv[i], lv[i]);
	strbuf_adds(gp, ")\n");
}

int plot_throughput_load(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = plot_new(p, "throughput_load", "Throughput vs load");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	const struct report_row *rows[MAX_LEVELS];
	size_t i, k, n, blocks = 0, most = 0;
	size_t idx[64], n_lv = 0;
	double lv[MAX_LEVELS];

	for (i = 0; i < p->n_b && blocks < 64; i++) {
		size_t pts = 0;

		n = plot_level_rows(p, &p->b[i], rows, MAX_LEVELS);
		strbuf_adds(&dat, "# ");
		plot_dq(&dat, p->b[i].label);
		strbuf_adds(&dat, "\n# level\toutput_tok_s\tsd\trequests_s\tsd\n");
		for (k = 0; k < n; k++) {
			double v, sd, rv = NAN, rsd = 0;

			if (isnan(rows[k]->value) ||
			    !plot_val(rows[k], "output_token_throughput", &v, &sd))
				continue;
			n_lv = level_add(lv, n_lv, rows[k]->value);
			plot_val(rows[k], "request_throughput", &rv, &rsd);
			strbuf_addf(&dat, "%g\t%.4f\t%.4f\t", rows[k]->value, v, sd);
			if (isnan(rv))
				strbuf_adds(&dat, "?\t?\n");
			else
				strbuf_addf(&dat, "%.5f\t%.5f\n", rv, rsd);
			pts++;
		}
		strbuf_adds(&dat, "\n\n");
		if (pts > most)
			most = pts;
		if (pts)
			idx[blocks++] = i;
		else
			idx[blocks++] = (size_t)-1;
	}
	if (most < 2) {
		pl->skipped =
			"fewer than two load levels with an output token throughput for any backend";
		goto out;
	}
	pl->caption =
		plot_keep(p,
			  "Output token throughput (output_token_throughput, tok/s) per load "
			  "level; error bars: sd over repetitions where levels were repeated.%s",
			  n_lv > 2 && lv[0] > 0 && lv[n_lv - 1] / lv[0] >= 16
				  ? " Load axis logarithmic (levels span a factor of 16 or more)."
				  : "");
	plot_gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_addf(&gp, "set xlabel \"%s\"\nset ylabel \"output tokens/s\"\nset yrange [0:*]\n",
		    plot_level_axis(p));
	level_tics(&gp, lv, n_lv);
	strbuf_adds(&gp, "plot ");
	for (i = 0, k = 0; i < blocks; i++) {
		if (idx[i] == (size_t)-1)
			continue;
		plot_series(&gp, !k, pl->name, i, "1:2:3 with yerrorlines lw 2 pt 7",
			    plot_colour(idx[i]), p->b[idx[i]].label);
		k++;
	}
out:
	return plot_done(p, pl, &dat, &gp, err);
}

int plot_knee(const double *x, const double *y, int n)
{
	double x0, x1, y0, y1, best = 0;
	int i, knee = -1;

	if (n < 3)
		return -1;
	x0 = x1 = x[0];
	y0 = y1 = y[0];
	for (i = 1; i < n; i++) {
		x0 = fmin(x0, x[i]);
		x1 = fmax(x1, x[i]);
		y0 = fmin(y0, y[i]);
		y1 = fmax(y1, y[i]);
	}
	/* a latency that moves under 10% has no knee: normalizing would turn its noise into one */
	if (x1 <= x0 || y1 <= y0 || y1 - y0 < 0.1 * fabs(y1))
		return -1;
	for (i = 1; i < n - 1; i++) {
		double dx = (x[i] - x0) / (x1 - x0), dy = (y[i] - y0) / (y1 - y0);

		if (dx - dy > best + 1e-12) {
			best = dx - dy;
			knee = i;
		}
	}
	return knee;
}

int plot_latency_throughput(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = plot_new(p, "latency_throughput", "Latency vs throughput");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT, knees = STRBUF_INIT;
	const struct report_row *rows[MAX_LEVELS];
	double x[MAX_LEVELS], y50[MAX_LEVELS], y99[MAX_LEVELS];
	size_t i, k, n, blocks = 0, most = 0, idx[64];
	int n_knees = 0;
	const char *lat = "e2e";

	for (i = 0; i < p->d->n_metrics; i++)
		if (!strcmp(p->d->metrics[i], "e2e_p99_ms"))
			break;
	if (i == p->d->n_metrics)
		lat = "ttft";
	for (i = 0; i < p->n_b && blocks < 64; i++) {
		char m50[32], m99[32];
		int pts = 0, kn;

		snprintf(m50, sizeof(m50), "%s_p50_ms", lat);
		snprintf(m99, sizeof(m99), "%s_p99_ms", lat);
		n = plot_level_rows(p, &p->b[i], rows, MAX_LEVELS);
		strbuf_adds(&dat, "# ");
		plot_dq(&dat, p->b[i].label);
		strbuf_adds(&dat, "\n# output_tok_s\tp50_ms\tp99_ms\tlevel\n");
		for (k = 0; k < n; k++) {
			if (!plot_val(rows[k], "output_token_throughput", &x[pts], NULL) ||
			    !plot_val(rows[k], m50, &y50[pts], NULL) ||
			    !plot_val(rows[k], m99, &y99[pts], NULL))
				continue;
			strbuf_addf(&dat, "%.4f\t%.4f\t%.4f\t%g\n", x[pts], y50[pts], y99[pts],
				    rows[k]->value);
			pts++;
		}
		strbuf_adds(&dat, "\n\n");
		kn = plot_knee(x, y99, pts);
		if (kn >= 0) {
			strbuf_adds(&knees, "# ");
			plot_dq(&knees, p->b[i].label);
			strbuf_addf(&knees, "\n%.4f\t%.4f\n", x[kn], y99[kn]);
			n_knees++;
		}
		if ((size_t)pts > most)
			most = (size_t)pts;
		idx[blocks++] = pts ? i : (size_t)-1;
	}
	if (most < 2) {
		pl->skipped =
			"fewer than two load levels with throughput and latency percentiles for "
			"any backend";
		goto out;
	}
	strbuf_adds(&dat, "# knees (p99)\n");
	strbuf_add(&dat, knees.buf, knees.len);
	strbuf_adds(&dat, "\n\n");
	pl->caption = plot_keep(
		p,
		"%s latency p50 (solid) and p99 (dashed) against output token throughput, one "
		"point per load level (%s_p50_ms, %s_p99_ms, output_token_throughput). Circles "
		"mark the knee of each p99 curve (largest normalized throughput minus latency, "
		"Kneedle; needs three or more levels)%s.",
		!strcmp(lat, "e2e") ? "End-to-end" : "Time-to-first-token", lat, lat,
		n_knees ? "" : "; no curve has a knee");
	plot_gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_addf(&gp,
		    "set xlabel \"output tokens/s\"\nset ylabel \"%s latency (ms)\"\n"
		    "set yrange [0:*]\nset xrange [0:*]\n"
		    "set offsets graph 0.03, graph 0.03, graph 0.05, 0\nplot ",
		    !strcmp(lat, "e2e") ? "E2E" : "TTFT");
	for (i = 0, k = 0; i < blocks; i++) {
		if (idx[i] == (size_t)-1)
			continue;
		plot_series(&gp, !k, pl->name, i, "1:2 with linespoints lw 2 pt 7",
			    plot_colour(idx[i]), plot_keep(p, "%s p50", p->b[idx[i]].label));
		plot_series(&gp, false, pl->name, i, "1:3 with linespoints lw 2 dt 2 pt 5",
			    plot_colour(idx[i]), plot_keep(p, "%s p99", p->b[idx[i]].label));
		k++;
	}
	if (n_knees)
		plot_series(&gp, false, pl->name, blocks, "1:2 with points pt 6 ps 3 lw 2", "black",
			    "knee (p99)");
out:
	strbuf_release(&knees);
	return plot_done(p, pl, &dat, &gp, err);
}
