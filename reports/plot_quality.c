/* plot_quality.c: answer quality (reference QA and multiple-choice scores) per backend. */
#include "plot_int.h"

int plot_quality(struct plot_set *p, struct lb_error *err)
{
	static const char *const names[] = { "qa_correct",
					     "qa_accuracy_given_attempted",
					     "qa_hallucination_rate",
					     "qa_f",
					     "mc1",
					     "mc2",
					     "mc3" };
	struct report_plot *pl = plot_new(p, "quality", "Answer quality by backend");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	bool used[sizeof(names) / sizeof(names[0])] = { 0 };
	size_t i, j, n_used = 0, n_rows = 0, col;
	double v, lo, hi;
	char nb[64];

	for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
		for (i = 0; i < p->n_b; i++)
			if (plot_backend_metric(p, &p->b[i], names[j], &v, NULL))
				used[j] = true;
		n_used += used[j];
	}
	if (!n_used) {
		pl->skipped =
			"no QA or multiple-choice scores stored (the workload has no quality task)";
		goto out;
	}
	strbuf_adds(&dat, "# backend");
	for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
		if (used[j])
			strbuf_addf(&dat, "\t%s\tlo\thi", names[j]);
	strbuf_addch(&dat, '\n');
	for (i = 0; i < p->n_b; i++) {
		bool any = false;

		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			any |= used[j] && plot_backend_metric(p, &p->b[i], names[j], &v, NULL);
		if (!any)
			continue;
		plot_dq(&dat, p->b[i].label);
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			if (!used[j])
				continue;
			if (!plot_backend_metric(p, &p->b[i], names[j], &v, NULL)) {
				strbuf_adds(&dat, "\t?\t?\t?");
				continue;
			}
			snprintf(nb, sizeof(nb), "%s_lo", names[j]);
			if (!plot_backend_metric(p, &p->b[i], nb, &lo, NULL))
				lo = v;
			snprintf(nb, sizeof(nb), "%s_hi", names[j]);
			if (!plot_backend_metric(p, &p->b[i], nb, &hi, NULL))
				hi = v;
			strbuf_addf(&dat, "\t%.6g\t%.6g\t%.6g", v, lo, hi);
		}
		strbuf_addch(&dat, '\n');
		n_rows++;
	}
	pl->caption =
		"Reference-QA shares (regex-graded; correct, accuracy given attempted, "
		"hallucination rate, F) and TruthfulQA-style MC1/MC2/MC3 by log-likelihood, per "
		"backend; error bars: Wilson 95% intervals where stored (<metric>_lo/_hi).";
	plot_gp_header(&gp, pl->name, pl->title, 1000, 540);
	strbuf_adds(&gp, "set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
			 "set style fill solid 0.85 border rgb \"#333333\"\nset boxwidth 0.9\n"
			 "set ylabel \"score (fraction)\"\nset yrange [0:1]\nset ytics 0.1\n"
			 "set grid noxtics\n");
	if (n_rows > 4)
		strbuf_adds(&gp, "set xtics rotate by -30\n");
	strbuf_adds(&gp, "plot ");
	for (j = 0, col = 2, i = 0; j < sizeof(names) / sizeof(names[0]); j++) {
		if (!used[j])
			continue;
		strbuf_addf(&gp, "%s\"%s.dat\" using %zu:%zu:%zu%s lc rgb \"%s\" title \"%s\"",
			    i ? ", \\\n     " : "", pl->name, col, col + 1, col + 2,
			    i ? "" : ":xtic(1)", plot_colour(i), names[j]);
		col += 3;
		i++;
	}
out:
	return plot_done(p, pl, &dat, &gp, err);
}
