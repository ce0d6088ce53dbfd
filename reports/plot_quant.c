/* plot_quant.c: per-backend figures by family and quantization level: tokens/s, energy per
 * token, and perplexity/KL divergence by model size. */
#include "plot_int.h"

#include "headline.h"

int plot_cat_cmp(const void *a, const void *b)
{
	const struct cat *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return strcmp(x->name, y->name);
}

size_t plot_cat_add(struct cat *c, size_t n, size_t max, const char *name, int rank)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return n;
	if (n < max) {
		c[n].name = name;
		c[n].rank = rank;
		n++;
	}
	return n;
}

size_t plot_cat_find(const struct cat *c, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return i;
	return (size_t)-1;
}

const char *plot_quant_of(const struct bseries *s)
{
	return s->row->quant ? s->row->quant : s->row->backend ? s->row->backend : "?";
}

const char *plot_family_of(const struct plot_set *p, const struct bseries *s)
{
	const char *f = s->row->family ? s->row->family : s->row->model ? s->row->model : "model";

	if (plot_multi_run(p->d))
		return ((struct plot_set *)p)->n_texts < 40
			       ? plot_keep((struct plot_set *)p, "%s (%s)", f,
					   p->d->runs[s->run].name)
			       : f;
	return f;
}

/* A backend-wide figure: from its backend row, else any of its level rows. */
bool plot_backend_metric(const struct plot_set *p, const struct bseries *s, const char *name,
			 double *v, double *sd)
{
	size_t i;

	for (i = 0; i < p->d->n_rows; i++) {
		const struct report_row *r = &p->d->rows[i];

		if (r->run == s->run && r->backend_id == s->backend_id &&
		    r->scope == REPORT_SCOPE_BACKEND && plot_val(r, name, v, sd))
			return true;
	}
	for (i = 0; i < p->d->n_rows; i++) {
		const struct report_row *r = &p->d->rows[i];

		if (r->run == s->run && r->backend_id == s->backend_id && plot_val(r, name, v, sd))
			return true;
	}
	return false;
}

/* The level with the highest output throughput among the valid ones where metric is available
 * (all levels when none is valid): the headline's peak level. */
static bool peak_level_metric(const struct plot_set *p, const struct bseries *s, const char *metric,
			      double *v, double *sd, const char **note)
{
	const struct report_row *rows[MAX_LEVELS];
	size_t n = plot_level_rows(p, s, rows, MAX_LEVELS), k;
	double best = -1, t, mv, msd;
	bool found = false, any_valid = false;

	/* the valid levels (as the headline's peak level), unless every level is invalid */
	for (k = 0; k < n; k++)
		any_valid |= rows[k]->valid && plot_val(rows[k], metric, &mv, &msd);
	for (k = 0; k < n; k++) {
		const struct report_metric *m = report_row_metric(rows[k], metric);

		if (m && !m->n_reps && note && !*note)
			*note = m->note;
		if ((any_valid && !rows[k]->valid) || !plot_val(rows[k], metric, &mv, &msd))
			continue;
		if (!plot_val(rows[k], "output_token_throughput", &t, NULL))
			t = 0;
		if (!found || t > best) {
			best = t;
			*v = mv;
			*sd = msd;
			found = true;
		}
	}
	return found;
}

typedef bool bar_value_fn(struct plot_set *p, const struct bseries *s, double *v, double *sd);

static bool toks_value(struct plot_set *p, const struct bseries *s, double *v, double *sd)
{
	if (plot_backend_metric(p, s, "tg_tps", v, sd)) {
		double e;

		if (plot_backend_metric(p, s, "tg_tps_sd", &e, NULL))
			*sd = e;
		return true;
	}
	return peak_level_metric(p, s, "output_token_throughput", v, sd, NULL);
}

static const char *energy_note;

static bool jpt_value(struct plot_set *p, const struct bseries *s, double *v, double *sd)
{
	return peak_level_metric(p, s, "j_per_output_token", v, sd, &energy_note);
}

/* Clustered bars: x = quantization level, one bar per family. */
static int plot_bars_by_quant(struct plot_set *p, struct report_plot *pl, bar_value_fn *fn,
			      const char *ylabel, struct lb_error *err)
{
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	struct cat q[64], f[16];
	double v[64][16], sd[64][16];
	size_t nq = 0, nf = 0, i, j, n_vals = 0;

	for (i = 0; i < 64; i++)
		for (j = 0; j < 16; j++)
			v[i][j] = NAN;
	for (i = 0; i < p->n_b; i++) {
		double x, s;
		size_t qi, fi;

		if (!fn(p, &p->b[i], &x, &s))
			continue;
		nq = plot_cat_add(q, nq, 64, plot_quant_of(&p->b[i]),
				  report_quant_rank(plot_quant_of(&p->b[i])));
		nf = plot_cat_add(f, nf, 16, plot_family_of(p, &p->b[i]), 0);
		qsort(q, nq, sizeof(*q), plot_cat_cmp);
		qi = plot_cat_find(q, nq, plot_quant_of(&p->b[i]));
		fi = plot_cat_find(f, nf, plot_family_of(p, &p->b[i]));
		(void)qi;
		(void)fi;
	}
	for (i = 0; i < p->n_b; i++) {
		double x, s;
		size_t qi, fi;

		if (!fn(p, &p->b[i], &x, &s))
			continue;
		qi = plot_cat_find(q, nq, plot_quant_of(&p->b[i]));
		fi = plot_cat_find(f, nf, plot_family_of(p, &p->b[i]));
		if (qi == (size_t)-1 || fi == (size_t)-1)
			continue;
		v[qi][fi] = x;
		sd[qi][fi] = s;
		n_vals++;
	}
	if (!n_vals)
		return 1; /* caller says why */
	strbuf_adds(&dat, "# quant");
	for (j = 0; j < nf; j++) {
		strbuf_adds(&dat, "\t");
		plot_dq(&dat, f[j].name);
		strbuf_adds(&dat, "\tsd");
	}
	strbuf_addch(&dat, '\n');
	for (i = 0; i < nq; i++) {
		plot_dq(&dat, q[i].name);
		for (j = 0; j < nf; j++) {
			if (isnan(v[i][j]))
				strbuf_adds(&dat, "\t?\t?");
			else
				strbuf_addf(&dat, "\t%.6g\t%.6g", v[i][j], sd[i][j]);
		}
		strbuf_addch(&dat, '\n');
	}
	plot_gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_addf(&gp,
		    "set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
		    "set style fill solid 0.85 border rgb \"#333333\"\nset boxwidth 0.9\n"
		    "set xlabel \"quantization level\"\nset ylabel \"%s\"\nset yrange [0:*]\n"
		    "set grid noxtics\nplot ",
		    ylabel);
	for (j = 0; j < nf; j++) {
		strbuf_addf(&gp,
			    "%s\"%s.dat\" using %zu:($%zu-$%zu):($%zu+$%zu)%s lc rgb \"%s\" title ",
			    j ? ", \\\n     " : "", pl->name, 2 + 2 * j, 2 + 2 * j, 3 + 2 * j,
			    2 + 2 * j, 3 + 2 * j, j ? "" : ":xtic(1)", plot_colour(j));
		plot_gq(&gp, f[j].name);
	}
	return plot_done(p, pl, &dat, &gp, err);
}

/* Does any backend carry a quantization label? Without one a "by quantization" plot would
 * only repeat the backends' names on its axis. */
static bool any_quant(const struct plot_set *p)
{
	size_t i;

	for (i = 0; i < p->n_b; i++)
		if (p->b[i].row->quant && *p->b[i].row->quant)
			return true;
	return false;
}

#define NO_QUANT                                                                          \
	"no backend has a quantization label (model quant unknown); per-backend figures " \
	"are in the tables"

int plot_toks_by_quant(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = plot_new(p, "toks_by_quant", "Tokens/s by quantization level");
	int rc;

	if (!any_quant(p)) {
		pl->skipped = NO_QUANT;
		return 0;
	}

	pl->caption =
		"Per backend: in-process generation speed (tg_tps, llama-bench tg, ± sd) where "
		"measured, else the highest output_token_throughput over its valid load levels (± sd "
		"over repetitions). Bars grouped by quantization level, one colour per family.";
	rc = plot_bars_by_quant(p, pl, toks_value, "tokens/s", err);
	if (rc == 1) {
		pl->skipped = "no backend has tg_tps or an output token throughput";
		rc = 0;
	}
	return rc;
}

int plot_j_per_token(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl =
		plot_new(p, "j_per_token", "Energy per output token by quantization level");
	int rc;

	energy_note = NULL;
	pl->caption =
		"j_per_output_token (J) at each backend's highest-throughput load level where "
		"energy was measured (± sd over repetitions); lower is better.";
	if (!any_quant(p)) {
		double v, sd;
		size_t i;

		for (i = 0; i < p->n_b; i++)
			if (jpt_value(p, &p->b[i], &v, &sd)) {
				pl->skipped = NO_QUANT;
				return 0;
			}
		rc = 1;
	} else {
		rc = plot_bars_by_quant(p, pl, jpt_value, "J per output token", err);
	}
	if (rc == 1) {
		pl->skipped =
			energy_note ? plot_keep(p, "energy %s", energy_note)
				    : "no energy figures stored (no power source in the workload)";
		rc = 0;
	}
	return rc;
}

int plot_ppl_size(struct plot_set *p, struct lb_error *err)
{
	static const char *const size_names[] = { "model_size_mib", "model_size_bytes",
						  "model_bytes", "model_params" };
	struct report_plot *pl =
		plot_new(p, "ppl_kld", "Perplexity and KL divergence by model size");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	struct cat q[64], f[16];
	const char *size_metric = NULL, *left = "ppl", *left_err = "ppl_err";
	size_t nq = 0, nf = 0, i, j, n_left = 0, n_kld = 0;
	int rc = 0;
	double v;

	for (i = 0; i < p->n_b; i++) {
		for (j = 0; !size_metric && j < sizeof(size_names) / sizeof(size_names[0]); j++)
			if (plot_backend_metric(p, &p->b[i], size_names[j], &v, NULL))
				size_metric = size_names[j];
		nf = plot_cat_add(f, nf, 16, plot_family_of(p, &p->b[i]), 0);
	}
	/* token perplexities of different tokenizers do not compare: bits per byte then */
	if (nf > 1) {
		for (i = 0; i < p->n_b; i++)
			if (plot_backend_metric(p, &p->b[i], "bpb", &v, NULL))
				left = "bpb";
		if (!strcmp(left, "bpb"))
			left_err = "bpb_err";
	}
	nf = 0;
	for (i = 0; i < p->n_b; i++) {
		bool l = plot_backend_metric(p, &p->b[i], left, &v, NULL);
		bool k = plot_backend_metric(p, &p->b[i], "kld_mean", &v, NULL);

		if (!l && !k)
			continue;
		n_left += l;
		n_kld += k;
		nq = plot_cat_add(q, nq, 64, plot_quant_of(&p->b[i]),
				  report_quant_rank(plot_quant_of(&p->b[i])));
		nf = plot_cat_add(f, nf, 16, plot_family_of(p, &p->b[i]), 0);
	}
	if (!n_left && !n_kld) {
		pl->skipped =
			"no perplexity, bits-per-byte or KL-divergence figures (run `llmbench "
			"perplexity` or a workload with a perplexity task)";
		goto out;
	}
	qsort(q, nq, sizeof(*q), plot_cat_cmp);
	for (j = 0; j < nf; j++) {
		strbuf_adds(&dat, "# ");
		plot_dq(&dat, f[j].name);
		strbuf_addf(&dat, "\n# x\tquant\t%s\t%s_err\tkld_mean\tkld_err\n", left, left);
		for (i = 0; i < p->n_b; i++) {
			const struct bseries *s = &p->b[i];
			double x, l = NAN, le = 0, k = NAN, ke = 0;

			if (strcmp(plot_family_of(p, s), f[j].name))
				continue;
			if (!plot_backend_metric(p, s, left, &l, NULL))
				l = NAN;
			if (!plot_backend_metric(p, s, left_err, &le, NULL))
				le = 0;
			if (!plot_backend_metric(p, s, "kld_mean", &k, NULL))
				k = NAN;
			if (!plot_backend_metric(p, s, "kld_err", &ke, NULL))
				ke = 0;
			if (isnan(l) && isnan(k))
				continue;
			if (size_metric) {
				if (!plot_backend_metric(p, s, size_metric, &x, NULL))
					continue;
			} else {
				x = (double)plot_cat_find(q, nq, plot_quant_of(s));
			}
			strbuf_addf(&dat, "%.6g\t", x);
			plot_dq(&dat, plot_quant_of(s));
			if (isnan(l))
				strbuf_adds(&dat, "\t?\t?");
			else
				strbuf_addf(&dat, "\t%.6g\t%.6g", l, le);
			if (isnan(k))
				strbuf_adds(&dat, "\t?\t?\n");
			else
				strbuf_addf(&dat, "\t%.6g\t%.6g\n", k, ke);
		}
		strbuf_adds(&dat, "\n\n");
	}
	pl->caption = plot_keep(
		p,
		"Left: %s; right: mean KL divergence against the same model's base precision "
		"(kld_mean), both ± their stored errors. x: %s. One colour per family.%s",
		!strcmp(left, "bpb") ? "bits per byte (bpb; families tokenize differently, "
				       "so token perplexities are not compared)"
				     : "perplexity (ppl)",
		size_metric ? plot_keep(p, "model size (%s)", size_metric)
			    : "quantization level (no model size stored)",
		n_kld ? "" : " No KL divergence stored.");
	plot_gp_header(&gp, pl->name, pl->title, 1100, 520);
	strbuf_adds(&gp, "set multiplot layout 1,2 title ");
	plot_gq(&gp, pl->title);
	strbuf_adds(&gp, " font \",15\"\nunset title\nset key inside top right opaque box\n");
	if (size_metric) {
		strbuf_adds(&gp, "set xlabel ");
		plot_gq(&gp, !strcmp(size_metric, "model_size_mib") ? "model size (MiB)"
			     : !strcmp(size_metric, "model_params") ? "parameters"
								    : "model size (bytes)");
		strbuf_adds(&gp, "\n");
	} else {
		strbuf_adds(&gp, "set xlabel \"quantization level\"\nset xtics (");
		for (i = 0; i < nq; i++) {
			strbuf_adds(&gp, i ? ", " : "");
			plot_gq(&gp, q[i].name);
			strbuf_addf(&gp, " %zu", i);
		}
		strbuf_addf(&gp, ")\nset xrange [-0.5:%zu.5]\n", nq ? nq - 1 : 0);
	}
	strbuf_addf(&gp,
		    "set offsets graph 0.05, graph 0.05, graph 0.1, graph 0.1\n"
		    "set ylabel \"%s\"\n",
		    !strcmp(left, "bpb") ? "bits per byte" : "perplexity");
	if (n_left) {
		strbuf_adds(&gp, "plot ");
		for (j = 0; j < nf; j++) {
			plot_series(&gp, !j, pl->name, j, "1:3:4 with yerrorlines lw 2 pt 7",
				    plot_colour(j), f[j].name);
			strbuf_addf(&gp,
				    ", \\\n     \"%s.dat\" index %zu using 1:3:2 with labels "
				    "offset 2.2,0.8 font \",10\" tc rgb \"%s\" notitle",
				    pl->name, j, plot_colour(j));
		}
		strbuf_addch(&gp, '\n');
	} else {
		strbuf_adds(&gp,
			    "set label 1 \"no perplexity stored\" at graph 0.5, graph 0.5 center\n"
			    "plot NaN notitle\nunset label 1\n");
	}
	strbuf_adds(&gp, "set ylabel \"KL divergence (nats/token)\"\n");
	if (n_kld) {
		strbuf_adds(&gp, "plot ");
		for (j = 0; j < nf; j++) {
			plot_series(&gp, !j, pl->name, j, "1:5:6 with yerrorlines lw 2 pt 7",
				    plot_colour(j), f[j].name);
			strbuf_addf(&gp,
				    ", \\\n     \"%s.dat\" index %zu using 1:5:2 with labels "
				    "offset 2.2,0.8 font \",10\" tc rgb \"%s\" notitle",
				    pl->name, j, plot_colour(j));
		}
		strbuf_addch(&gp, '\n');
	} else {
		strbuf_adds(
			&gp,
			"set label 1 \"no KL divergence stored\" at graph 0.5, graph 0.5 center\n"
			"plot NaN notitle\n");
	}
	strbuf_adds(&gp, "unset multiplot\n");
	rc = plot_finish(p, pl, &dat, &gp, err);
out:
	strbuf_release(&dat);
	strbuf_release(&gp);
	return rc;
}
