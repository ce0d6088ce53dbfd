/* prom_scrape.c: the scraper thread of prom_scrape.h (libcurl easy handle, one GET per
 * interval) and the level summaries of its scrapes. */
#include "prom_scrape.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "../base/strbuf.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct prom_scraper {
	struct prom_scrape_cfg cfg;
	char *url, *bearer;
	pthread_t thread;
	bool started, stopped;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct prom_scrape *v;
	size_t n, cap;
	uint64_t dropped;
};

struct body {
	struct strbuf sb;
	bool too_big;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n = size * nmemb;

	if (b->sb.len + n > PROM_MAX_BYTES) {
		b->too_big = true;
		return 0;
	}
	return strbuf_add(&b->sb, p, n) ? 0 : n;
}

void prom_scrape_release(struct prom_scrape *sc)
{
	prom_doc_free(&sc->doc);
}

void prom_scrape_once(const struct prom_scrape_cfg *cfg, struct prom_scrape *out)
{
	struct body b = { .sb = STRBUF_INIT };
	struct curl_slist *hdr = NULL;
	struct lb_error err = LB_ERROR_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h;
	CURLcode cc;
	long status = 0;

	memset(out, 0, sizeof(*out));
	out->t_ns = lb_now_ns();
	h = curl_easy_init();
	if (!h) {
		snprintf(out->reason, sizeof(out->reason), "cannot start libcurl");
		goto done;
	}
	curl_easy_setopt(h, CURLOPT_URL, cfg->url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(cfg->timeout_ms ? cfg->timeout_ms : 2000));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (cfg->bearer) {
		char auth[512];

		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->bearer);
		hdr = curl_slist_append(hdr, auth);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (b.too_big) {
		snprintf(out->reason, sizeof(out->reason), "response larger than %u bytes",
			 PROM_MAX_BYTES);
	} else if (cc != CURLE_OK) {
		snprintf(out->reason, sizeof(out->reason), "%.190s",
			 errbuf[0] ? errbuf : curl_easy_strerror(cc));
	} else if (status != 200) {
		snprintf(out->reason, sizeof(out->reason), "HTTP %ld from %.150s", status,
			 cfg->url);
	} else if (prom_parse(b.sb.buf, b.sb.len, &out->doc, &err)) {
		snprintf(out->reason, sizeof(out->reason), "malformed exposition: %.170s", err.msg);
	} else {
		out->ok = true;
		prom_figures(&out->doc, &out->fig);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
done:
	strbuf_release(&b.sb);
	out->dur_ms = (double)(lb_now_ns() - out->t_ns) / 1e6;
}

static void keep(struct prom_scraper *s, struct prom_scrape *sc)
{
	pthread_mutex_lock(&s->mu);
	if (s->n == s->cap && s->n < PROM_SCRAPE_MAX) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct prom_scrape *nv = lb_realloc(s->v, ncap * sizeof(*nv));

		if (nv) {
			s->v = nv;
			s->cap = ncap;
		}
	}
	if (s->n < s->cap) {
		s->v[s->n++] = *sc;
	} else {
		s->dropped++;
		prom_scrape_release(sc);
	}
	pthread_mutex_unlock(&s->mu);
}

static void *run(void *arg)
{
	struct prom_scraper *s = arg;
	uint64_t next = lb_now_ns();

	for (;;) {
		struct timespec ts;
		struct prom_scrape sc;
		bool stop;

		next += (uint64_t)s->cfg.interval_ms * 1000000u;
		pthread_mutex_lock(&s->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		{
			uint64_t now = lb_now_ns(), wait = next > now ? next - now : 0;
			uint64_t ns = (uint64_t)ts.tv_nsec + wait % 1000000000u;

			ts.tv_sec += (time_t)(wait / 1000000000u + ns / 1000000000u);
			ts.tv_nsec = (long)(ns % 1000000000u);
		}
		while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT)
			;
		stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		prom_scrape_once(&s->cfg, &sc);
		keep(s, &sc);
		if (lb_now_ns() > next)
			next = lb_now_ns(); /* a slow server: no burst of catch-up scrapes */
	}
	return NULL;
}

int prom_scraper_start(struct prom_scraper **out, const struct prom_scrape_cfg *cfg,
		       struct lb_error *err)
{
	struct prom_scraper *s = lb_calloc(1, sizeof(*s));
	struct prom_scrape sc;

	*out = NULL;
	if (!s)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	s->cfg = *cfg;
	if (!s->cfg.interval_ms)
		s->cfg.interval_ms = 1000;
	s->url = lb_strdup(cfg->url);
	s->bearer = cfg->bearer ? lb_strdup(cfg->bearer) : NULL;
	if (!s->url || (cfg->bearer && !s->bearer)) {
		prom_scraper_free(s);
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	s->cfg.url = s->url;
	s->cfg.bearer = s->bearer;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	prom_scrape_once(&s->cfg, &sc);
	keep(s, &sc);
	if (pthread_create(&s->thread, NULL, run, s)) {
		prom_scraper_free(s);
		return lb_error_set(err, LB_ERR_IO, "cannot start the metrics scraper thread");
	}
	s->started = true;
	*out = s;
	return 0;
}

void prom_scraper_stop(struct prom_scraper *s)
{
	struct prom_scrape sc;

	if (!s || s->stopped)
		return;
	s->stopped = true;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	prom_scrape_once(&s->cfg, &sc);
	keep(s, &sc);
}

const struct prom_scrape *prom_scraper_scrapes(const struct prom_scraper *s, size_t *n)
{
	*n = s->n;
	return s->v;
}

void prom_scraper_free(struct prom_scraper *s)
{
	size_t i;

	if (!s)
		return;
	if (s->started && !s->stopped)
		prom_scraper_stop(s);
	for (i = 0; i < s->n; i++)
		prom_scrape_release(&s->v[i]);
	lb_free(s->v);
	lb_free(s->url);
	lb_free(s->bearer);
	if (s->started) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
	}
	lb_free(s);
}

/* Summaries */

const char *prom_sum_name(enum prom_sum k)
{
	static const char *const names[PROM_SUM_COUNT] = {
		[PROM_SUM_RUNNING_MEAN] = "server_running_mean",
		[PROM_SUM_RUNNING_MAX] = "server_running_max",
		[PROM_SUM_WAITING_MEAN] = "server_waiting_mean",
		[PROM_SUM_WAITING_MAX] = "server_waiting_max",
		[PROM_SUM_KV_MEAN] = "server_kv_cache_usage_mean",
		[PROM_SUM_KV_MAX] = "server_kv_cache_usage_max",
		[PROM_SUM_BATCH_MEAN] = "server_batch_size_mean",
		[PROM_SUM_PREFIX_HIT_RATE] = "server_prefix_cache_hit_rate",
		[PROM_SUM_TTFT_P50] = "server_ttft_p50_ms",
		[PROM_SUM_TTFT_P99] = "server_ttft_p99_ms",
		[PROM_SUM_ITL_P50] = "server_itl_p50_ms",
		[PROM_SUM_ITL_P99] = "server_itl_p99_ms",
	};

	return (unsigned)k < PROM_SUM_COUNT ? names[k] : "?";
}

const char *prom_sum_unit(enum prom_sum k)
{
	switch (k) {
	case PROM_SUM_RUNNING_MEAN:
	case PROM_SUM_RUNNING_MAX:
	case PROM_SUM_WAITING_MEAN:
	case PROM_SUM_WAITING_MAX:
	case PROM_SUM_BATCH_MEAN: return "req";
	case PROM_SUM_KV_MEAN:
	case PROM_SUM_KV_MAX:
	case PROM_SUM_PREFIX_HIT_RATE: return "fraction";
	default: return "ms";
	}
}

static void set(struct prom_summary *o, enum prom_sum k, double v, double n)
{
	o->ok[k] = true;
	o->value[k] = v;
	o->n[k] = n;
}

static void gauge(struct prom_summary *o, const struct prom_scrape *v, size_t a, size_t b,
		  enum prom_fig f, enum prom_sum mean_k, int max_k)
{
	double sum = 0, max = -INFINITY;
	size_t i, n = 0;

	for (i = a; i < b; i++) {
		if (!v[i].ok || !v[i].fig.have[f])
			continue;
		sum += v[i].fig.value[f];
		if (v[i].fig.value[f] > max)
			max = v[i].fig.value[f];
		n++;
	}
	if (!n) {
		snprintf(o->reason[mean_k], sizeof(o->reason[mean_k]),
			 "unavailable: the server exposes no %s metric%s%s%s", prom_fig_name(f),
			 o->server[0] ? " (server: " : "", o->server[0] ? o->server : "",
			 o->server[0] ? ")" : "");
		if (max_k >= 0)
			memcpy(o->reason[max_k], o->reason[mean_k], sizeof(o->reason[mean_k]));
		return;
	}
	set(o, mean_k, sum / (double)n, (double)n);
	if (max_k >= 0)
		set(o, (enum prom_sum)max_k, max, (double)n);
}

static void hist(struct prom_summary *o, const struct prom_scrape *base,
		 const struct prom_scrape *last, int which, enum prom_sum p50, enum prom_sum p99)
{
	const struct prom_hist *a = base ? &base->fig.hist[which] : NULL, *b;
	double n;

	if (!last || !last->fig.hist[which].n) {
		snprintf(o->reason[p50], sizeof(o->reason[p50]),
			 "unavailable: the server exposes no %s histogram",
			 which ? "inter-token latency" : "TTFT");
		memcpy(o->reason[p99], o->reason[p50], sizeof(o->reason[p50]));
		return;
	}
	b = &last->fig.hist[which];
	n = b->cum[b->n - 1] - (a && a->n ? a->cum[a->n - 1] : 0);
	if (n <= 0) {
		snprintf(o->reason[p50], sizeof(o->reason[p50]),
			 "unavailable: no observations in the server's histogram during the level");
		memcpy(o->reason[p99], o->reason[p50], sizeof(o->reason[p50]));
		return;
	}
	set(o, p50, 1000 * prom_hist_quantile(a && a->n ? a : NULL, b, 0.5), n);
	set(o, p99, 1000 * prom_hist_quantile(a && a->n ? a : NULL, b, 0.99), n);
}

void prom_summarize(const struct prom_scrape *v, size_t n, uint64_t t0_ns, uint64_t t1_ns,
		    struct prom_summary *out)
{
	const struct prom_scrape *base = NULL, *first = NULL, *last = NULL;
	const char *last_reason = "no scrape";
	size_t i, a = n, b = 0;
	double hr;

	memset(out, 0, sizeof(*out));
	out->server = "";
	for (i = 0; i < n; i++) {
		if (v[i].t_ns < t0_ns) {
			if (v[i].ok)
				base = &v[i];
			continue;
		}
		if (v[i].t_ns > t1_ns)
			break;
		if (a == n)
			a = i;
		b = i + 1;
		out->n_scrapes++;
		if (!v[i].ok) {
			last_reason = v[i].reason;
			continue;
		}
		out->n_ok++;
		if (!first)
			first = &v[i];
		last = &v[i];
		if (v[i].fig.server[0])
			out->server = v[i].fig.server;
	}
	if (!out->n_ok) {
		for (i = 0; i < PROM_SUM_COUNT; i++)
			snprintf(out->reason[i], sizeof(out->reason[i]),
				 "unavailable: no successful scrape of the server's metrics "
				 "during the level (%zu tried; last: %s)",
				 out->n_scrapes, last_reason);
		return;
	}
	gauge(out, v, a, b, PROM_FIG_RUNNING, PROM_SUM_RUNNING_MEAN, PROM_SUM_RUNNING_MAX);
	gauge(out, v, a, b, PROM_FIG_WAITING, PROM_SUM_WAITING_MEAN, PROM_SUM_WAITING_MAX);
	gauge(out, v, a, b, PROM_FIG_KV_USAGE, PROM_SUM_KV_MEAN, PROM_SUM_KV_MAX);
	gauge(out, v, a, b, PROM_FIG_BATCH_SIZE, PROM_SUM_BATCH_MEAN, -1);
	if (!base)
		base = first; /* counters since the level's first scrape */
	hr = prom_hit_rate(&base->fig, &last->fig);
	if (hr >= 0)
		set(out, PROM_SUM_PREFIX_HIT_RATE, hr,
		    last->fig.have_prefix_counts ? last->fig.queries - base->fig.queries : 1);
	else
		snprintf(out->reason[PROM_SUM_PREFIX_HIT_RATE],
			 sizeof(out->reason[PROM_SUM_PREFIX_HIT_RATE]), "%s",
			 last->fig.have_prefix_counts || last->fig.have_prefix_gauge
				 ? "unavailable: no prefix-cache lookups during the level"
				 : "unavailable: the server exposes no prefix-cache metrics");
	hist(out, base, last, 0, PROM_SUM_TTFT_P50, PROM_SUM_TTFT_P99);
	hist(out, base, last, 1, PROM_SUM_ITL_P50, PROM_SUM_ITL_P99);
}
