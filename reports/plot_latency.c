/* plot_latency.c: latency distributions per backend: the TTFT CDF, the chunk-gap (ITL)
 * histogram and the mean gap by output position. */
#include "plot_int.h"

int plot_ttft_cdf(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = plot_new(p, "ttft_cdf", "TTFT distribution (CDF) per backend");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	size_t i, k, blocks = 0, total = 0;
	double lo = INFINITY, hi = -INFINITY, pad;

	for (i = 0; i < p->n_b; i++) {
		struct bseries *s = &p->b[i];
		size_t pts;

		if (!s->n_ttft)
			continue;
		qsort(s->ttft, s->n_ttft, sizeof(*s->ttft), plot_cmp_double);
		strbuf_adds(&dat, "# ");
		plot_dq(&dat, s->label);
		strbuf_adds(&dat, "\n# ttft_ms\tfraction\n");
		pts = s->n_ttft < PLOT_CDF_POINTS ? s->n_ttft : PLOT_CDF_POINTS;
		strbuf_addf(&dat, "%.4f\t0\n", s->ttft[0]);
		for (k = 0; k < pts; k++) {
			size_t j = pts == s->n_ttft
					   ? k
					   : (size_t)((double)k * (s->n_ttft - 1) / (pts - 1));

			strbuf_addf(&dat, "%.4f\t%.5f\n", s->ttft[j], (double)(j + 1) / s->n_ttft);
		}
		strbuf_adds(&dat, "\n\n");
		blocks++;
		total += s->n_ttft;
		lo = fmin(lo, s->ttft[0]);
		hi = fmax(hi, s->ttft[s->n_ttft - 1]);
	}
	if (!blocks) {
		pl->skipped = "no measured request has a TTFT (no successful streamed request)";
		goto out;
	}
	pl->caption = plot_keep(
		p,
		"Share of successful measured requests whose time to first token is at most x "
		"(%zu requests, every load level pooled; per-request ttft_ms, warm-up and failed "
		"requests excluded; "
		"at most %d points per curve); x axis: the range of the data.",
		total, PLOT_CDF_POINTS);
	plot_gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_adds(&gp, "set xlabel \"TTFT (ms)\"\nset ylabel \"fraction of requests\"\n"
			 "set yrange [0:1.02]\nset ytics 0.1\n");
	/* the x axis spans the data (a tight 50 +- 1 ms distribution must not be a vertical line
	 * at the right of an axis from 0): 5% of the spread each side, at least 1% of the value */
	pad = fmax((hi - lo) * 0.05, fmax(hi * 0.01, 1e-3));
	strbuf_addf(&gp, "set xrange [%.6g:%.6g]\nplot ", fmax(lo - pad, 0), hi + pad);
	for (i = 0, k = 0; i < p->n_b; i++) {
		if (!p->b[i].n_ttft)
			continue;
		plot_series(&gp, !k, pl->name, k, "1:2 with steps lw 2", plot_colour(i),
			    p->b[i].label);
		k++;
	}
out:
	return plot_done(p, pl, &dat, &gp, err);
}

int plot_chunk_gaps(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = plot_new(p, "chunk_gaps", "Chunk-gap (ITL) distribution");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	size_t i, k, blocks = 0;
	uint64_t total = 0;
	int b;

	for (i = 0; i < p->n_b; i++) {
		struct bseries *s = &p->b[i];
		uint64_t in = s->n_gaps - s->gaps_out_of_range;

		if (!in)
			continue;
		strbuf_adds(&dat, "# ");
		plot_dq(&dat, s->label);
		strbuf_adds(&dat, "\n# gap_ms_lo\tgap_ms_hi\tfraction\n");
		for (b = 0; b < GAP_BINS; b++) {
			double lo = GAP_MIN_MS * pow(10, (double)b / GAP_BINS_PER_DEC);
			double hi = GAP_MIN_MS * pow(10, (double)(b + 1) / GAP_BINS_PER_DEC);

			if (!s->gaps[b] && (b == 0 || !s->gaps[b - 1]) &&
			    (b + 1 == GAP_BINS || !s->gaps[b + 1]))
				continue;
			strbuf_addf(&dat, "%.6g\t%.6g\t%.6f\n", lo, hi, (double)s->gaps[b] / in);
		}
		strbuf_adds(&dat, "\n\n");
		blocks++;
		total += s->n_gaps;
	}
	if (!blocks) {
		pl->skipped = "no measured request has two or more stream chunks";
		goto out;
	}
	pl->caption = plot_keep(
		p,
		"Gaps between consecutive stream chunks (t_k - t_{k-1}, one sample per chunk, "
		"%llu gaps from the stored chunk times), in log-spaced bins of %d per decade; "
		"y is the share of gaps in each bin.",
		(unsigned long long)total, GAP_BINS_PER_DEC);
	plot_gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_adds(&gp, "set logscale x\nset xlabel \"gap between chunks (ms, log scale)\"\n"
			 "set ylabel \"fraction of gaps per bin\"\nset yrange [0:*]\nplot ");
	for (i = 0, k = 0; i < p->n_b; i++) {
		if (p->b[i].n_gaps == p->b[i].gaps_out_of_range)
			continue;
		plot_series(&gp, !k, pl->name, k,
			    "(sqrt($1*$2)):3 with linespoints lw 2 pt 7 ps 0.5", plot_colour(i),
			    p->b[i].label);
		k++;
	}
out:
	return plot_done(p, pl, &dat, &gp, err);
}

int plot_itl_position(struct plot_set *p, struct lb_error *err)
{
	struct report_plot *pl = plot_new(p, "itl_position", "ITL by output position");
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	size_t i, k, blocks = 0;

	for (i = 0; i < p->n_b; i++) {
		struct bseries *s = &p->b[i];
		uint32_t maxn = 0, minn;
		size_t pos, pts = 0;

		if (!s->pos_n)
			continue;
		for (pos = 0; pos < POS_MAX; pos++)
			if (s->pos_n[pos] > maxn)
				maxn = s->pos_n[pos];
		/* positions reached by few requests are noise: keep those with >= 5% of the most */
		minn = maxn / 20 > 1 ? maxn / 20 : 1;
		strbuf_adds(&dat, "# ");
		plot_dq(&dat, s->label);
		strbuf_adds(&dat, "\n# position\tmean_gap_ms\trequests\n");
		for (pos = 0; pos < POS_MAX; pos++) {
			if (s->pos_n[pos] < minn)
				continue;
			strbuf_addf(&dat, "%zu\t%.4f\t%u\n", pos, s->pos_sum[pos] / s->pos_n[pos],
				    s->pos_n[pos]);
			pts++;
		}
		strbuf_adds(&dat, "\n\n");
		if (pts)
			blocks++;
		else
			s->pos_n[0] = 0;
	}
	if (!blocks) {
		pl->skipped = "no measured request has two or more stream chunks";
		goto out;
	}
	pl->caption = plot_keep(
		p,
		"Mean gap before the chunk that starts at each output position, over "
		"successful measured requests (positions reached by fewer than 5%% of the "
		"requests are left out). Position: %s.",
		p->pos_by_chunk ? (p->pos_by_token ? "token index where chunk token counts "
						     "are stored, else chunk index"
						   : "chunk index (token counts per chunk not "
						     "stored)")
				: "output token index (from per-chunk token counts)");
	plot_gp_header(&gp, pl->name, pl->title, 960, 540);
	strbuf_addf(&gp, "set xlabel \"%s\"\nset ylabel \"mean gap (ms)\"\nset yrange [0:*]\nplot ",
		    p->pos_by_chunk && !p->pos_by_token ? "chunk index" : "output token position");
	for (i = 0, k = 0; i < p->n_b; i++) {
		if (!p->b[i].pos_n)
			continue;
		plot_series(&gp, !k, pl->name, k, "1:2 with lines lw 2", plot_colour(i),
			    p->b[i].label);
		k++;
	}
out:
	return plot_done(p, pl, &dat, &gp, err);
}
