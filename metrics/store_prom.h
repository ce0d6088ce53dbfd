/* store_prom.h: writing scrapes of a server's metrics (prom_scrape.h) to the store: a
 * server_scrapes row per scrape and, for an ok scrape, one series point per sample. */
#ifndef LB_STORE_PROM_H
#define LB_STORE_PROM_H

#include "prom_scrape.h"
#include "store.h"

int store_server_scrape_add(struct store *s, int64_t run_id, int64_t backend_id, int64_t level_id,
			    const char *url, const struct prom_scrape *sc, struct lb_error *err);

#endif
