/* runner_prom.h: scraping the server's Prometheus metrics during each level (runner_prom.c). */
#ifndef LB_RUNNER_PROM_H
#define LB_RUNNER_PROM_H

#include "../base/error.h"
#include "../metrics/prom_scrape.h"
#include "../metrics/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The workload's "server_metrics": true, false, or {"url", "interval_ms", "timeout_ms"}. */
struct runner_prom_cfg {
	bool enabled;
	char url[512]; /* "" : the backend's URL root + /metrics */
	unsigned interval_ms, timeout_ms;
};

/* json: the section's text, NULL when absent (off). Errors name the key (LB_ERR_USAGE). */
int runner_prom_config(const char *json, struct runner_prom_cfg *cfg, struct lb_error *err);
/* The URL scraped for a backend: cfg->url, else scheme://host:port of base_url + "/metrics". */
void runner_prom_url(const struct runner_prom_cfg *cfg, const char *base_url, char *out,
		     size_t cap);

struct runner_prom {
	struct prom_scraper *scraper; /* NULL: not scraping */
	char url[512];
	size_t n_scrapes, n_ok; /* of the last level ended */
};

/* Start scraping before a level (nothing when disabled or base_url is NULL). */
int runner_prom_begin(struct runner_prom *rp, const struct runner_prom_cfg *cfg,
		      const char *base_url, const char *api_key, struct lb_error *err);
/* Stop, store every scrape and the level's server_* summaries over [t0_ns, t1_ns]. */
int runner_prom_end(struct runner_prom *rp, struct store *st, int64_t run_id, int64_t backend_id,
		    int64_t level_id, uint64_t t0_ns, uint64_t t1_ns, struct lb_error *err);
void runner_prom_abort(struct runner_prom *rp);

#endif
