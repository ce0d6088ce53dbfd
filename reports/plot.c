/* plot.c: the report's plot set (see plot.h): the per-backend series accumulated while the
 * report streams requests, the power series, and the table of plots that plot_set_render draws.
 * The plots themselves are in plot_<family>.c, gnuplot's side in plot_gnuplot.c. */
#include "plot_int.h"

bool plot_multi_run(const struct report_data *d)
{
	return d->n_runs > 1;
}

int plot_set_new(struct plot_set **out, const struct report_data *d, struct lb_error *err)
{
	struct plot_set *p = lb_calloc(1, sizeof(*p));
	size_t i, k;

	*out = NULL;
	if (!p)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	p->d = d;
	p->b = lb_calloc(d->n_rows + 1, sizeof(*p->b));
	if (!p->b)
		goto oom;
	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];
		struct bseries *s = NULL;

		if (r->scope == REPORT_SCOPE_RUN)
			continue;
		for (k = 0; k < p->n_b; k++)
			if (p->b[k].run == r->run && p->b[k].backend_id == r->backend_id)
				s = &p->b[k];
		if (s)
			continue;
		s = &p->b[p->n_b++];
		s->run = r->run;
		s->backend_id = r->backend_id;
		s->row = r;
		if (plot_multi_run(d))
			snprintf(s->label, sizeof(s->label), "%s/%s", d->runs[r->run].name,
				 r->backend ? r->backend : "?");
		else
			snprintf(s->label, sizeof(s->label), "%s", r->backend ? r->backend : "?");
	}
	strbuf_init(&p->text, 0);
	*out = p;
	return 0;
oom:
	plot_set_free(p);
	return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
}

void plot_set_free(struct plot_set *p)
{
	size_t i;
	int k;

	if (!p)
		return;
	for (i = 0; i < p->n_b; i++) {
		lb_free(p->b[i].ttft);
		lb_free(p->b[i].pos_sum);
		lb_free(p->b[i].pos_n);
	}
	lb_free(p->b);
	for (i = 0; i < p->n_ps; i++) {
		lb_free(p->ps[i].t_ns);
		lb_free(p->ps[i].w);
	}
	lb_free(p->ps);
	lb_free(p->marks);
	plot_server_free(p);
	for (k = 0; k < p->n_texts; k++)
		lb_free(p->texts[k]);
	strbuf_release(&p->text);
	lb_free(p);
}

static struct bseries *series_of(struct plot_set *p, size_t run, int64_t backend_id)
{
	static size_t last;
	size_t i;

	if (last < p->n_b && p->b[last].run == run && p->b[last].backend_id == backend_id)
		return &p->b[last];
	for (i = 0; i < p->n_b; i++) {
		if (p->b[i].run == run && p->b[i].backend_id == backend_id) {
			last = i;
			return &p->b[i];
		}
	}
	return NULL;
}

void plot_set_add_request(struct plot_set *p, size_t run, const struct report_request *rq)
{
	struct bseries *s;
	uint64_t tok = 0;
	long k;

	if (rq->warmup || !rq->ok)
		return;
	s = series_of(p, run, rq->backend_id);
	if (!s)
		return;
	plot_server_add_request(p, (size_t)(s - p->b), rq);
	if (!isnan(rq->ttft_ms)) {
		if (p->n_ttft_total >= PLOT_MAX_TTFT) {
			p->dropped++;
		} else {
			if (s->n_ttft == s->alloc_ttft) {
				size_t na = s->alloc_ttft ? s->alloc_ttft * 2 : 1024;
				double *nv = lb_realloc(s->ttft, na * sizeof(*nv));

				if (!nv) {
					p->dropped++;
					goto gaps;
				}
				s->ttft = nv;
				s->alloc_ttft = na;
			}
			s->ttft[s->n_ttft++] = rq->ttft_ms;
			p->n_ttft_total++;
		}
	}
gaps:
	if (rq->n_chunks < 2)
		return;
	if (!s->pos_sum) {
		s->pos_sum = lb_calloc(POS_MAX, sizeof(*s->pos_sum));
		s->pos_n = lb_calloc(POS_MAX, sizeof(*s->pos_n));
		if (!s->pos_sum || !s->pos_n) {
			lb_free(s->pos_sum);
			lb_free(s->pos_n);
			s->pos_sum = NULL;
			s->pos_n = NULL;
		}
	}
	if (rq->chunk_n)
		p->pos_by_token = true;
	else
		p->pos_by_chunk = true;
	for (k = 1; k < rq->n_chunks; k++) {
		double gap = (double)(rq->chunk_off_ns[k] - rq->chunk_off_ns[k - 1]) / 1e6;
		uint64_t pos;
		int bin;

		if (rq->chunk_n)
			tok += rq->chunk_n[k - 1] > 0 ? (uint64_t)rq->chunk_n[k - 1] : 1;
		else
			tok = (uint64_t)k;
		pos = tok;
		s->n_gaps++;
		bin = gap > 0 ? (int)floor(log10(gap / GAP_MIN_MS) * GAP_BINS_PER_DEC) : -1;
		if (bin < 0 || bin >= GAP_BINS)
			s->gaps_out_of_range++;
		else
			s->gaps[bin]++;
		if (s->pos_sum && pos < POS_MAX) {
			s->pos_sum[pos] += gap;
			s->pos_n[pos]++;
		}
	}
}

/* ---- series (power) ---- */

struct series_load {
	struct plot_set *p;
	size_t run;
	bool oom;
};

static bool is_power_series(const char *name)
{
	return strstr(name, "power") || strstr(name, "watt") || !strcmp(name, "w");
}

static int on_series(void *ctx, int64_t backend_id, int64_t level_id, const char *series,
		     int64_t t_ns, double value)
{
	struct series_load *l = ctx;
	struct plot_set *p = l->p;
	struct pseries *s = NULL;
	size_t i;

	(void)backend_id;
	(void)level_id;
	if (!strncmp(series, "server:", 7)) {
		if (plot_server_add_point(p, l->run, series + 7, t_ns, value)) {
			l->oom = true;
			return 1;
		}
		return 0;
	}
	if (!is_power_series(series) || isnan(value))
		return 0;
	for (i = 0; i < p->n_ps; i++)
		if (p->ps[i].run == l->run && !strcmp(p->ps[i].name, series))
			s = &p->ps[i];
	if (!s) {
		struct pseries *np = lb_realloc(p->ps, (p->n_ps + 1) * sizeof(*np));

		if (!np) {
			l->oom = true;
			return 1;
		}
		p->ps = np;
		s = &p->ps[p->n_ps++];
		memset(s, 0, sizeof(*s));
		s->run = l->run;
		snprintf(s->name, sizeof(s->name), "%s", series);
	}
	if (s->n >= PLOT_MAX_POWER)
		return 0;
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 256;
		int64_t *nt = lb_realloc(s->t_ns, na * sizeof(*nt));
		double *nw;

		if (!nt) {
			l->oom = true;
			return 1;
		}
		s->t_ns = nt;
		nw = lb_realloc(s->w, na * sizeof(*nw));
		if (!nw) {
			l->oom = true;
			return 1;
		}
		s->w = nw;
		s->alloc = na;
	}
	s->t_ns[s->n] = t_ns;
	s->w[s->n++] = value;
	return 0;
}

static int on_level_time(void *ctx, int64_t level_id, int64_t t0, int64_t t1)
{
	struct series_load *l = ctx;
	struct plot_set *p = l->p;
	struct level_mark *m;

	(void)t1;
	if (p->n_marks == p->alloc_marks) {
		size_t na = p->alloc_marks ? p->alloc_marks * 2 : 32;

		m = lb_realloc(p->marks, na * sizeof(*m));
		if (!m) {
			l->oom = true;
			return 1;
		}
		p->marks = m;
		p->alloc_marks = na;
	}
	m = &p->marks[p->n_marks++];
	m->run = l->run;
	m->level_id = level_id;
	m->t0_ns = t0;
	return 0;
}

int plot_set_load_series(struct plot_set *p, struct store *st, size_t run, struct lb_error *err)
{
	struct series_load l = { p, run, false };
	size_t before = p->n_ps;
	bool server = false;
	int rc;

	rc = report_series_each(st, p->d->runs[run].id, on_series, &l, err);
	if (!rc && !l.oom)
		rc = plot_server_load(p, st, run, &server, err);
	if (!rc && !l.oom && (p->n_ps > before || server))
		rc = report_level_times(st, p->d->runs[run].id, on_level_time, &l, err);
	if (!rc && l.oom)
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory reading series");
	return rc;
}

/* ---- drawing ---- */

void plot_set_use_headline(struct plot_set *p, const struct headline *h)
{
	p->hl = h;
}

int plot_set_render(struct plot_set *p, const char *dir, const char *gnuplot, bool png, bool svg,
		    const struct report_plot **plots, size_t *n_plots, struct lb_error *err)
{
	typedef int plot_fn(struct plot_set *, struct lb_error *);
	static plot_fn *const all[] = {
		plot_ttft_cdf,
		plot_chunk_gaps,
		plot_itl_position,
		plot_throughput_load,
		plot_latency_throughput,
		plot_toks_by_quant,
		plot_ppl_size,
		plot_j_per_token,
		plot_power,
		plot_quality,
		plot_pareto,
		plot_server_time,
	};
	size_t i;
	int rc = 0;

	p->dir = dir;
	p->gnuplot = gnuplot;
	p->png = png;
	p->svg = svg;
	p->n_plots = 0;
	for (i = 0; !rc && i < sizeof(all) / sizeof(all[0]); i++)
		rc = all[i](p, err);
	*plots = p->plots;
	*n_plots = p->n_plots;
	return rc;
}
