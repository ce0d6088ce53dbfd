/* plot_server.c: the server's own metrics on the client's time axis (docs/traffic.md). One
 * figure per run with scraped samples (server:<metric>{labels} series): the client's TTFT of
 * each request against its send time on top, the server's running and waiting counts under
 * it, and its KV-cache usage and prefix-cache hit rate (between successive scrapes) at the
 * bottom where the server exposes them. Each scrape is rebuilt into an exposition document
 * and read with the scraper's own name table (metrics/prom.h), so the figure and the level
 * summaries agree on what each server's names mean. */
#include "plot_int.h"

#include "query_server.h"
#include "../metrics/prom.h"

#define SRV_MAX_REQ (1u << 21) /* requests kept over all runs */
#define SRV_MAX_PTS (1u << 22) /* samples kept over all runs */
#define SRV_MAX_FIGS 4         /* runs drawn */

struct srv_req {
	size_t run, b; /* b: index into p->b */
	int64_t t_ns;
	double ttft_ms;
};

struct srv_pt {
	size_t run;
	int64_t t_ns;
	size_t name; /* index into names */
	double v;
	size_t seq; /* insertion order: stable sort */
};

struct plot_srv {
	struct srv_req *rq;
	size_t n_rq, alloc_rq;
	struct srv_pt *pt;
	size_t n_pt, alloc_pt;
	char **names;
	size_t n_names, alloc_names;
	uint64_t dropped;
	struct report_scrapes *scr; /* per run */
	size_t run_rq0;             /* first request of the run being read */
};

static struct plot_srv *srv_of(struct plot_set *p)
{
	if (!p->srv) {
		p->srv = lb_calloc(1, sizeof(*p->srv));
		if (p->srv)
			p->srv->scr = lb_calloc(p->d->n_runs + 1, sizeof(*p->srv->scr));
		if (p->srv && !p->srv->scr) {
			lb_free(p->srv);
			p->srv = NULL;
		}
	}
	return p->srv;
}

void plot_server_free(struct plot_set *p)
{
	struct plot_srv *s = p->srv;
	size_t i;

	if (!s)
		return;
	lb_free(s->rq);
	lb_free(s->pt);
	for (i = 0; i < s->n_names; i++)
		lb_free(s->names[i]);
	lb_free(s->names);
	lb_free(s->scr);
	lb_free(s);
	p->srv = NULL;
}

void plot_server_add_request(struct plot_set *p, size_t b, const struct report_request *rq)
{
	struct plot_srv *s = srv_of(p);

	if (!s || isnan(rq->ttft_ms) || rq->t_send_ns <= 0)
		return;
	if (s->n_rq >= SRV_MAX_REQ) {
		s->dropped++;
		return;
	}
	if (s->n_rq == s->alloc_rq) {
		size_t na = s->alloc_rq ? s->alloc_rq * 2 : 1024;
		struct srv_req *nv = lb_realloc(s->rq, na * sizeof(*nv));

		if (!nv) {
			s->dropped++;
			return;
		}
		s->rq = nv;
		s->alloc_rq = na;
	}
	s->rq[s->n_rq].run = p->b[b].run;
	s->rq[s->n_rq].b = b;
	s->rq[s->n_rq].t_ns = rq->t_send_ns;
	s->rq[s->n_rq].ttft_ms = rq->ttft_ms;
	s->n_rq++;
}

int plot_server_add_point(struct plot_set *p, size_t run, const char *series, int64_t t_ns,
			  double v)
{
	struct plot_srv *s = srv_of(p);

	if (!s)
		return -1;
	if (s->n_pt >= SRV_MAX_PTS) {
		s->dropped++;
		return 0;
	}
	/* series arrive ordered by name: intern against the last one */
	if (!s->n_names || strcmp(s->names[s->n_names - 1], series)) {
		if (s->n_names == s->alloc_names) {
			size_t na = s->alloc_names ? s->alloc_names * 2 : 64;
			char **nn = lb_realloc(s->names, na * sizeof(*nn));

			if (!nn)
				return -1;
			s->names = nn;
			s->alloc_names = na;
		}
		s->names[s->n_names] = lb_strdup(series);
		if (!s->names[s->n_names])
			return -1;
		s->n_names++;
	}
	if (s->n_pt == s->alloc_pt) {
		size_t na = s->alloc_pt ? s->alloc_pt * 2 : 4096;
		struct srv_pt *nv = lb_realloc(s->pt, na * sizeof(*nv));

		if (!nv)
			return -1;
		s->pt = nv;
		s->alloc_pt = na;
	}
	s->pt[s->n_pt].run = run;
	s->pt[s->n_pt].t_ns = t_ns;
	s->pt[s->n_pt].name = s->n_names - 1;
	s->pt[s->n_pt].v = v;
	s->pt[s->n_pt].seq = s->n_pt;
	s->n_pt++;
	return 0;
}

int plot_server_load(struct plot_set *p, struct store *st, size_t run, bool *has_points,
		     struct lb_error *err)
{
	struct plot_srv *s = srv_of(p);
	size_t i;

	*has_points = false;
	if (!s)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; i < s->n_pt && !*has_points; i++)
		*has_points = s->pt[i].run == run;
	if (!*has_points) /* the run's requests are not needed: keep memory for the others */
		s->n_rq = s->run_rq0;
	s->run_rq0 = s->n_rq;
	return report_server_scrapes(st, p->d->runs[run].id, &s->scr[run], err);
}

static int cmp_pt(const void *a, const void *b)
{
	const struct srv_pt *x = a, *y = b;

	if (x->run != y->run)
		return x->run < y->run ? -1 : 1;
	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The figures of the samples [a, b) (one scrape): the document they came from, re-read. */
static void scrape_figures(const struct plot_srv *s, size_t a, size_t b, struct prom_figures *f)
{
	struct strbuf doc = STRBUF_INIT;
	struct prom_doc pd = { 0 };
	struct lb_error e = LB_ERROR_INIT;
	size_t i;

	for (i = a; i < b; i++) {
		char num[64];

		if (isnan(s->pt[i].v))
			snprintf(num, sizeof(num), "NaN");
		else if (isinf(s->pt[i].v))
			snprintf(num, sizeof(num), "%s", s->pt[i].v > 0 ? "+Inf" : "-Inf");
		else
			snprintf(num, sizeof(num), "%.17g", s->pt[i].v);
		strbuf_addf(&doc, "%s %s\n", s->names[s->pt[i].name], num);
	}
	if (prom_parse(doc.buf ? doc.buf : "", doc.len, &pd, &e)) {
		memset(f, 0, sizeof(*f));
		f->server = "";
	} else {
		prom_figures(&pd, f);
	}
	prom_doc_free(&pd);
	strbuf_release(&doc);
}

static void fmt_val(struct strbuf *sb, bool have, double v)
{
	if (have && isfinite(v))
		strbuf_addf(sb, "\t%.6g", v);
	else
		strbuf_adds(sb, "\t?");
}

static const char *level_label(struct plot_set *p, size_t run, int64_t level_id, char *buf,
			       size_t len)
{
	size_t i;
	int k;

	for (i = 0; i < p->d->n_rows; i++) {
		const struct report_row *r = &p->d->rows[i];
		char v[32];

		if (r->run != run || r->scope != REPORT_SCOPE_LEVEL)
			continue;
		for (k = 0; k < r->n_reps; k++) {
			if (r->level_ids[k] != level_id)
				continue;
			snprintf(buf, len, "%s%s%s=%s", p->n_b > 1 && r->backend ? r->backend : "",
				 p->n_b > 1 && r->backend ? " " : "", r->mode ? r->mode : "level",
				 report_fmt_level_value(r->value, v, sizeof(v)));
			return buf;
		}
	}
	return NULL;
}

/* One figure: run's samples are s->pt[a, b), sorted by time. */
static int draw_run(struct plot_set *p, size_t run, size_t a, size_t b, const char *name,
		    struct lb_error *err)
{
	struct plot_srv *s = p->srv;
	struct report_plot *pl;
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	struct prom_figures prev, cur;
	bool have_prev = false, h_run = false, h_wait = false, h_kv = false, h_hit = false;
	const char *server = "";
	int64_t t0 = INT64_MAX, t1 = INT64_MIN;
	size_t i, j, n_scrapes = 0, n_req = 0, blk, nb;
	size_t *blk_of = NULL;
	int rc = 0, panels, k;
	char lv[192];

	pl = plot_new(p, name,
		      plot_multi_run(p->d)
			      ? plot_keep(p, "Client TTFT and server metrics over time (%s)",
					  p->d->runs[run].name)
			      : "Client TTFT and server metrics over time");
	for (i = 0; i < s->n_rq; i++) {
		if (s->rq[i].run != run)
			continue;
		n_req++;
		t0 = s->rq[i].t_ns < t0 ? s->rq[i].t_ns : t0;
		t1 = s->rq[i].t_ns > t1 ? s->rq[i].t_ns : t1;
	}
	t0 = s->pt[a].t_ns < t0 ? s->pt[a].t_ns : t0;
	t1 = s->pt[b - 1].t_ns > t1 ? s->pt[b - 1].t_ns : t1;
	/* block 0: one row per scrape */
	strbuf_adds(&dat, "# server: t_s\trunning\twaiting\tkv_cache_usage\tprefix_hit_rate\n");
	for (i = a; i < b; i = j) {
		double hit;

		for (j = i; j < b && s->pt[j].t_ns == s->pt[i].t_ns; j++)
			;
		scrape_figures(s, i, j, &cur);
		if (cur.server[0])
			server = cur.server;
		hit = prom_hit_rate(have_prev ? &prev : NULL, &cur);
		h_run |= cur.have[PROM_FIG_RUNNING];
		h_wait |= cur.have[PROM_FIG_WAITING];
		h_kv |= cur.have[PROM_FIG_KV_USAGE];
		h_hit |= hit >= 0;
		strbuf_addf(&dat, "%.4f", (double)(s->pt[i].t_ns - t0) / 1e9);
		fmt_val(&dat, cur.have[PROM_FIG_RUNNING], cur.value[PROM_FIG_RUNNING]);
		fmt_val(&dat, cur.have[PROM_FIG_WAITING], cur.value[PROM_FIG_WAITING]);
		fmt_val(&dat, cur.have[PROM_FIG_KV_USAGE], cur.value[PROM_FIG_KV_USAGE]);
		fmt_val(&dat, hit >= 0, hit);
		strbuf_addch(&dat, '\n');
		if (cur.have_prefix_counts || !have_prev) {
			prev = cur;
			have_prev = true;
		}
		n_scrapes++;
	}
	/* blocks 1..: the client's requests, one block per backend */
	blk_of = lb_calloc(p->n_b + 1, sizeof(*blk_of));
	if (!blk_of) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (nb = 0, blk = 1; nb < p->n_b; nb++) {
		bool any = false;

		if (p->b[nb].run != run)
			continue;
		for (i = 0; i < s->n_rq; i++) {
			if (s->rq[i].run != run || s->rq[i].b != nb)
				continue;
			if (!any) {
				strbuf_adds(&dat, "\n\n# client ");
				plot_dq(&dat, p->b[nb].label);
				strbuf_adds(&dat, ": t_send_s\tttft_ms\n");
				any = true;
			}
			strbuf_addf(&dat, "%.4f\t%.3f\n", (double)(s->rq[i].t_ns - t0) / 1e9,
				    s->rq[i].ttft_ms);
		}
		if (any)
			blk_of[nb] = blk++;
	}
	if (!h_run && !h_wait && !h_kv && !h_hit) {
		pl->skipped = plot_keep(
			p,
			"the server's metrics were scraped (%zu scrapes) but none of its names is "
			"known (requests running/waiting, KV-cache usage, prefix-cache counters)",
			n_scrapes);
		goto out;
	}
	panels = h_kv || h_hit ? 3 : 2;
	pl->caption = plot_keep(
		p,
		"Run %s, seconds from its first request or scrape: top, the client's TTFT of "
		"each measured request at its send time (%zu requests); below, the server's own "
		"figures from %zu scrapes of its /metrics (server: %s)%s%s%s%s. Dashed lines mark "
		"the start of each load level.%s",
		p->d->runs[run].name, n_req, n_scrapes, server[0] ? server : "unknown",
		h_run ? "" : "; requests running: not exposed",
		h_wait ? "" : "; requests waiting: not exposed",
		h_kv ? "" : "; KV-cache usage: not exposed",
		h_hit ? "; the prefix-cache hit rate is taken between successive scrapes"
		      : "; prefix-cache hit rate: not exposed",
		s->dropped ? " Some samples were dropped (too many to keep)." : "");
	plot_gp_header(&gp, pl->name, pl->title, 1100, panels == 3 ? 900 : 650);
	strbuf_addf(&gp, "unset title\nset lmargin 12\nset rmargin 31\nset xrange [0:%.3f]\n",
		    t1 > t0 ? (double)(t1 - t0) / 1e9 : 1.0);
	for (i = 0, k = 0; i < p->n_marks; i++) {
		double x;

		if (p->marks[i].run != run || p->marks[i].t0_ns < t0 || p->marks[i].t0_ns > t1)
			continue;
		if (!level_label(p, run, p->marks[i].level_id, lv, sizeof(lv)))
			continue;
		x = (double)(p->marks[i].t0_ns - t0) / 1e9;
		strbuf_addf(&gp,
			    "set arrow from %.4f, graph 0 to %.4f, graph 1 nohead dt 2 lc rgb "
			    "\"#888888\"\n",
			    x, x);
		strbuf_addf(&gp, "set label %d ", ++k);
		plot_gq(&gp, lv);
		strbuf_addf(&gp,
			    " at %.4f, graph 0.98 rotate by 90 right offset 0.9,0 font \",10\" "
			    "tc rgb \"#555555\"\n",
			    x);
	}
	strbuf_addf(&gp, "set multiplot layout %d,1 title ", panels);
	plot_gq(&gp, pl->title);
	strbuf_adds(&gp, " font \",15\"\n");
	/* panel 1: the client's TTFT */
	strbuf_adds(&gp, "set ylabel \"client TTFT (ms)\"\nset yrange [0:*]\nset format x \"\"\n"
			 "unset xlabel\nplot ");
	for (nb = 0, k = 0; nb < p->n_b; nb++) {
		if (!blk_of[nb])
			continue;
		snprintf(lv, sizeof(lv), "TTFT %s", p->b[nb].label);
		plot_series(&gp, !k, pl->name, blk_of[nb], "1:2 with points pt 7 ps 0.5",
			    plot_colour(nb), lv);
		k++;
	}
	if (!k)
		strbuf_adds(&gp, "NaN notitle");
	strbuf_adds(&gp, "\nunset label\n");
	/* panel 2: running and waiting */
	if (panels == 2)
		strbuf_adds(&gp, "set format x \"%g\"\nset xlabel \"time (s)\"\n");
	strbuf_adds(&gp, "set ylabel \"server requests\"\nset yrange [0:*]\nplot ");
	if (h_run)
		plot_series(&gp, true, pl->name, 0, "1:2 with steps lw 2", "#2ca02c", "running");
	if (h_wait)
		plot_series(&gp, !h_run, pl->name, 0, "1:3 with steps lw 2 dt 2", "#ff7f0e",
			    "waiting");
	if (!h_run && !h_wait)
		strbuf_adds(&gp, "NaN title \"running, waiting: not exposed\"");
	strbuf_addch(&gp, '\n');
	if (panels == 3) {
		strbuf_adds(&gp, "set format x \"%g\"\nset xlabel \"time (s)\"\n"
				 "set ylabel \"fraction\"\nset yrange [0:1.05]\nplot ");
		if (h_kv)
			plot_series(&gp, true, pl->name, 0, "1:4 with steps lw 2", "#9467bd",
				    "KV-cache usage");
		/* points: a scrape without new prompts has no rate, and a line would bridge it */
		if (h_hit)
			plot_series(&gp, !h_kv, pl->name, 0, "1:5 with points pt 7 ps 0.7",
				    "#17becf", "prefix-cache hit rate");
		strbuf_addch(&gp, '\n');
	}
	strbuf_adds(&gp, "unset multiplot\n");
	rc = plot_finish(p, pl, &dat, &gp, err);
out:
	lb_free(blk_of);
	strbuf_release(&dat);
	strbuf_release(&gp);
	return rc;
}

int plot_server_time(struct plot_set *p, struct lb_error *err)
{
	struct plot_srv *s = p->srv;
	size_t i, j, figs = 0, n_runs_with = 0;
	int rc = 0;

	if (s && s->n_pt) {
		qsort(s->pt, s->n_pt, sizeof(*s->pt), cmp_pt);
		for (i = 0; i < s->n_pt; i = j) {
			for (j = i; j < s->n_pt && s->pt[j].run == s->pt[i].run; j++)
				;
			n_runs_with++;
		}
	}
	if (!n_runs_with) {
		struct report_plot *pl =
			plot_new(p, "server_time", "Client TTFT and server metrics over time");
		const struct report_scrapes *f = NULL;

		for (i = 0; s && i < p->d->n_runs; i++)
			if (s->scr[i].n_failed && !f)
				f = &s->scr[i];
		pl->skipped =
			f ? plot_keep(
				    p,
				    "no successful scrape of the server's metrics (%ld failed: %s)",
				    f->n_failed, f->first_reason)
			  : "no server metrics scraped (the workload has no server_metrics section, "
			    "or its backends are in-process)";
		return 0;
	}
	for (i = 0; !rc && i < s->n_pt && figs < SRV_MAX_FIGS; i = j) {
		for (j = i; j < s->n_pt && s->pt[j].run == s->pt[i].run; j++)
			;
		if (p->n_plots >= sizeof(p->plots) / sizeof(p->plots[0]))
			break;
		rc = draw_run(p, s->pt[i].run, i, j,
			      n_runs_with > 1 ? plot_keep(p, "server_time_%zu", figs + 1)
					      : "server_time",
			      err);
		figs++;
	}
	return rc;
}
