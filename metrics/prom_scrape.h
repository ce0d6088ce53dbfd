/* prom_scrape.h: a scraper of a server's Prometheus endpoint. A thread GETs the URL every
 * interval (libcurl, bounded size and time), parses the document (prom.h) and keeps each
 * scrape in memory: its time, whether it worked and why not, the samples and the common
 * figures. The runner starts one per level, stops it at the level's end, stores the scrapes
 * (store_prom.c) and their summaries. A server that cannot be reached or sends something
 * malformed gives failed scrapes with the reason; nothing here fails the run or prints. */
#ifndef LB_PROM_SCRAPE_H
#define LB_PROM_SCRAPE_H

#include "../base/error.h"
#include "prom.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_SCRAPE_MAX 100000 /* scrapes kept per scraper; later ones are counted, not kept */

struct prom_scrape_cfg {
	const char *url;      /* "http://127.0.0.1:8080/metrics" */
	unsigned interval_ms; /* default 1000 */
	unsigned timeout_ms;  /* per GET, default 2000 */
	const char *bearer;   /* Authorization: Bearer ..., NULL: none */
};

struct prom_scrape {
	uint64_t t_ns; /* CLOCK_MONOTONIC when the GET started */
	double dur_ms; /* how long the GET and the parse took */
	bool ok;
	char reason[200]; /* !ok: "HTTP 404", "connect: ...", "line 3: ..." */
	struct prom_doc doc;
	struct prom_figures fig;
};

struct prom_scraper;

/* Start the thread after a first scrape (so a level of any length has one). Errors: out of
 * memory, a thread that cannot start. */
int prom_scraper_start(struct prom_scraper **out, const struct prom_scrape_cfg *cfg,
		       struct lb_error *err);
/* Take a last scrape, stop and join. NULL-safe, idempotent. */
void prom_scraper_stop(struct prom_scraper *s);
/* The scrapes so far (after stop: all), in time order; owned by s. */
const struct prom_scrape *prom_scraper_scrapes(const struct prom_scraper *s, size_t *n);
void prom_scraper_free(struct prom_scraper *s);

/* One GET and parse into *out (zeroed first); never fails beyond out->ok = false. */
void prom_scrape_once(const struct prom_scrape_cfg *cfg, struct prom_scrape *out);
void prom_scrape_release(struct prom_scrape *sc);

/* Level figures from the scrapes inside [t0_ns, t1_ns] (a scrape just before t0 is the
 * counters' and histograms' baseline when there is one). Each figure: ok, or a reason. */
enum prom_sum {
	PROM_SUM_RUNNING_MEAN,
	PROM_SUM_RUNNING_MAX,
	PROM_SUM_WAITING_MEAN,
	PROM_SUM_WAITING_MAX,
	PROM_SUM_KV_MEAN,
	PROM_SUM_KV_MAX,
	PROM_SUM_BATCH_MEAN,
	PROM_SUM_PREFIX_HIT_RATE,
	PROM_SUM_TTFT_P50,
	PROM_SUM_TTFT_P99,
	PROM_SUM_ITL_P50,
	PROM_SUM_ITL_P99,
	PROM_SUM_COUNT
};

struct prom_summary {
	bool ok[PROM_SUM_COUNT];
	double value[PROM_SUM_COUNT];
	double n[PROM_SUM_COUNT]; /* scrapes (gauges) or observations (histograms) behind it */
	char reason[PROM_SUM_COUNT][200]; /* !ok: why */
	size_t n_scrapes, n_ok;
	const char *server; /* whose names matched, "" when none */
};

/* "server_running_mean", ... and the unit ("req", "fraction", "ms"). */
const char *prom_sum_name(enum prom_sum k);
const char *prom_sum_unit(enum prom_sum k);
void prom_summarize(const struct prom_scrape *v, size_t n, uint64_t t0_ns, uint64_t t1_ns,
		    struct prom_summary *out);

#endif
