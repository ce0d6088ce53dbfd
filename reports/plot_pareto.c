/* plot_pareto.c: the decision view's plot: tokens/s against quality loss for every
 * family x quantization choice, the Pareto front in each family's colour, dominated choices in
 * grey, the quality bound as a dashed line. The points come from the headline (headline.c). */
#include "plot_int.h"

static void point_label(struct strbuf *dat, const struct headline *h,
			const struct headline_point *pt)
{
	const struct headline_backend *b = &h->b[pt->b];

	plot_dq(dat, b->quant);
	if (!isnan(pt->third) && !strcmp(h->third_name, "size (MiB)"))
		strbuf_addf(dat, " %.3g MiB", pt->third);
	else if (!isnan(pt->third))
		strbuf_addf(dat, " %.3g J/tok", pt->third);
}

int plot_pareto(struct plot_set *p, struct lb_error *err)
{
	const struct headline *h = p->hl;
	struct report_plot *pl = plot_new(p, "pareto", "Decision view: speed against quality loss");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	const char *fams[16];
	size_t nf = 0, i, j, n_dom = 0, block = 0, fam_block[16];
	double xmin = INFINITY, xmax = -INFINITY, pad, ymax = 0, *lx, *ly;

	if (!h || !h->n_pts) {
		pl->skipped =
			h && h->why_no_view
				? plot_keep(p, "%s", h->why_no_view)
				: "no family x quantization matrix (two or more quantizations with "
				  "family and quantization labels, a speed and a quality loss)";
		return 0;
	}
	for (i = 0; i < h->n_pts; i++) {
		const char *f = h->b[h->pts[i].b].family_key;
		double x = h->loss_is_ratio ? 1 + h->pts[i].loss : h->pts[i].loss;

		xmin = fmin(xmin, x);
		xmax = fmax(xmax, x);
		n_dom += h->pts[i].dominated;
		for (j = 0; j < nf && strcmp(fams[j], f); j++)
			;
		if (j == nf && nf < 16)
			fams[nf++] = f;
	}
	/* label positions: above the point, else below, further up or down, so that labels of
	 * close points (F16 bases all at loss 0) do not overlap; in data units */
	xmin = fmin(xmin, h->bound);
	xmax = fmax(xmax, h->bound);
	pad = xmax > xmin ? (xmax - xmin) * 0.12 : fmax(fabs(xmax) * 0.1, 0.01);
	for (i = 0; i < h->n_pts; i++)
		ymax = fmax(ymax, h->pts[i].speed);
	lx = lb_calloc(h->n_pts + 1, sizeof(*lx));
	ly = lb_calloc(h->n_pts + 1, sizeof(*ly));
	if (!lx || !ly) {
		lb_free(lx);
		lb_free(ly);
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < h->n_pts; i++) {
		double step = ymax * 0.05, w = (xmax - xmin + 2 * pad) * 0.14;
		int k;

		lx[i] = h->loss_is_ratio ? 1 + h->pts[i].loss : h->pts[i].loss;
		for (k = 0; k < 12; k++) {
			bool clash = false;

			ly[i] = h->pts[i].speed + (k % 2 ? -1 : 1) * (double)(k / 2 + 1) * step;
			for (j = 0; j < i && !clash; j++)
				clash = fabs(lx[j] - lx[i]) < w && fabs(ly[j] - ly[i]) < step * 0.9;
			if (!clash)
				break;
		}
	}
	/* block 0: dominated choices (grey) where there are some; then each family's front.
	 * Empty blocks are not written: gnuplot would not count them. */
	for (j = 0; j <= nf; j++) {
		size_t n = 0;

		for (i = 0; i < h->n_pts; i++) {
			const struct headline_point *pt = &h->pts[i];

			if (j == 0 ? !pt->dominated
				   : pt->dominated || strcmp(h->b[pt->b].family_key, fams[j - 1]))
				continue;
			if (!n++) {
				strbuf_adds(&dat, j ? "# front: " : "# dominated");
				if (j)
					plot_dq(&dat, fams[j - 1]);
				strbuf_addf(&dat, "\n# %s\ttok_s\tlabel\tlabel_x\tlabel_y\n",
					    h->loss_short);
			}
			strbuf_addf(&dat, "%.6g\t%.6g\t",
				    h->loss_is_ratio ? 1 + pt->loss : pt->loss, pt->speed);
			point_label(&dat, h, pt);
			strbuf_addf(&dat, "\t%.6g\t%.6g\n", lx[i], ly[i]);
		}
		if (j)
			fam_block[j - 1] = n ? block : (size_t)-1;
		if (n) {
			strbuf_adds(&dat, "\n\n");
			block++;
		}
	}
	pl->caption = plot_keep(
		p,
		"One point per family x quantization: output tokens/s at the backend's "
		"peak level against %s. Coloured: the Pareto front (no other choice is at "
		"least as fast, as close to its base%s, and better on one); grey: "
		"dominated (%zu). Dashed: the bound %s <= %g.",
		h->loss_name,
		h->third_name ? (!strcmp(h->third_name, "size (MiB)") ? " and as small"
								      : " and as frugal")
			      : "",
		n_dom, h->loss_short, h->bound);
	/* the axes hold every point, label and the bound */
	plot_gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_addf(&gp, "set xlabel ");
	plot_gq(&gp, h->loss_name);
	strbuf_addf(&gp,
		    "\nset ylabel \"output tokens/s\"\nset yrange [0:%.6g]\n"
		    "set xrange [%.6g:%.6g]\n"
		    "set arrow from %.6g, graph 0 to %.6g, graph 1 nohead dt 2 lw 1.5 lc rgb "
		    "\"#b91c1c\"\nset label \"bound\" at %.6g, graph 0.97 left offset 0.5,0 "
		    "tc rgb \"#b91c1c\"\nplot ",
		    ymax * 1.2 + 1e-9, xmin - pad, xmax + pad, h->bound, h->bound, h->bound);
	j = 0;
	if (n_dom) {
		plot_series(&gp, true, pl->name, 0, "1:2 with points pt 7 ps 1.6", "#c0c0c0",
			    "dominated");
		strbuf_addf(&gp,
			    ", \\\n     \"%s.dat\" index 0 using 4:5:3 with labels font \",10\" "
			    "tc rgb \"#9ca3af\" notitle",
			    pl->name);
		j++;
	}
	for (i = 0; i < nf; i++) {
		if (fam_block[i] == (size_t)-1)
			continue;
		plot_series(&gp, !j, pl->name, fam_block[i], "1:2 with points pt 7 ps 1.8",
			    plot_colour(i), plot_keep(p, "%s (front)", fams[i]));
		strbuf_addf(&gp,
			    ", \\\n     \"%s.dat\" index %zu using 4:5:3 with labels "
			    "font \",10\" tc rgb \"%s\" notitle",
			    pl->name, fam_block[i], plot_colour(i));
		j++;
	}
	lb_free(lx);
	lb_free(ly);
	return plot_done(p, pl, &dat, &gp, err);
}
