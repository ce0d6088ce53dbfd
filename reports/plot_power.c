/* plot_power.c: power samples over time, with the start of each load level marked. */
#include "plot_int.h"

static const struct report_row *row_of_level_id(const struct plot_set *p, size_t run, int64_t id)
{
	size_t i;
	int k;

	for (i = 0; i < p->d->n_rows; i++) {
		const struct report_row *r = &p->d->rows[i];

		if (r->run != run || r->scope != REPORT_SCOPE_LEVEL)
			continue;
		for (k = 0; k < r->n_reps; k++)
			if (r->level_ids[k] == id)
				return r;
	}
	return NULL;
}

int plot_power(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = plot_new(p, "power_time", "Power over time");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	size_t i, k, run;
	int64_t t0 = INT64_MAX, t1 = INT64_MIN;

	if (!p->n_ps) {
		pl->skipped =
			"no power samples stored (the workload has no power source, or none was "
			"readable)";
		goto out;
	}
	run = p->ps[0].run;
	for (i = 0; i < p->n_ps; i++) {
		if (p->ps[i].run != run || !p->ps[i].n)
			continue;
		if (p->ps[i].t_ns[0] < t0)
			t0 = p->ps[i].t_ns[0];
		if (p->ps[i].t_ns[p->ps[i].n - 1] > t1)
			t1 = p->ps[i].t_ns[p->ps[i].n - 1];
	}
	for (i = 0; i < p->n_ps; i++) {
		if (p->ps[i].run != run)
			continue;
		strbuf_adds(&dat, "# ");
		plot_dq(&dat, p->ps[i].name);
		strbuf_adds(&dat, "\n# t_s\twatts\n");
		for (k = 0; k < p->ps[i].n; k++)
			strbuf_addf(&dat, "%.3f\t%.3f\n", (double)(p->ps[i].t_ns[k] - t0) / 1e9,
				    p->ps[i].w[k]);
		strbuf_adds(&dat, "\n\n");
	}
	pl->caption = plot_keep(
		p,
		"Power samples of run %s (series table: %s...), seconds from the first sample "
		"or request; dashed lines mark the start of each load level's measured "
		"requests.",
		p->d->runs[run].name, p->ps[0].name);
	plot_gp_header(&gp, pl->name, pl->title, 1100, 500);
	strbuf_addf(&gp,
		    "set xlabel \"time (s)\"\nset ylabel \"power (W)\"\nset yrange [0:*]\n"
		    "set offsets 0, 0, graph 0.3, 0\nset xrange [0:%.3f]\n",
		    (double)(t1 - t0) / 1e9);
	for (i = 0, k = 0; i < p->n_marks; i++) {
		const struct report_row *r;
		char lv[64], v[32];

		int rep;

		/* only levels that start inside the sampled window */
		if (p->marks[i].run != run || p->marks[i].t0_ns < t0 || p->marks[i].t0_ns >= t1)
			continue;
		r = row_of_level_id(p, run, p->marks[i].level_id);
		if (!r)
			continue;
		for (rep = 0; rep < r->n_reps && r->level_ids[rep] != p->marks[i].level_id; rep++)
			;
		snprintf(lv, sizeof(lv), "%s %s=%s%s", p->n_b > 1 && r->backend ? r->backend : "",
			 r->mode && !strcmp(r->mode, "rate") ? "rate" : "c",
			 report_fmt_level_value(r->value, v, sizeof(v)),
			 r->n_reps > 1 ? plot_keep(p, " #%d", rep + 1) : "");
		strbuf_addf(&gp,
			    "set arrow from %.3f, graph 0 to %.3f, graph 1 nohead dt 2 lc rgb "
			    "\"#888888\"\n",
			    (double)(p->marks[i].t0_ns - t0) / 1e9,
			    (double)(p->marks[i].t0_ns - t0) / 1e9);
		strbuf_addf(&gp, "set label %zu ", ++k);
		plot_gq(&gp, lv[0] == ' ' ? lv + 1 : lv);
		strbuf_addf(&gp,
			    " at %.3f, graph 0.98 rotate by 90 right offset 0.9,0 font \",10\" "
			    "tc rgb \"#555555\"\n",
			    (double)(p->marks[i].t0_ns - t0) / 1e9);
	}
	strbuf_adds(&gp, "plot ");
	for (i = 0, k = 0; i < p->n_ps; i++) {
		if (p->ps[i].run != run)
			continue;
		plot_series(&gp, !k, pl->name, k, "1:2 with lines lw 1.5", plot_colour(k),
			    p->ps[i].name);
		k++;
	}
out:
	return plot_done(p, pl, &dat, &gp, err);
}
