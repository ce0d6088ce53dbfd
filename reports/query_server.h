/* query_server.h: what the report reads of a run's scrapes of the server's /metrics
 * (server_scrapes; the samples themselves come through report_series_each). */
#ifndef LB_REPORT_QUERY_SERVER_H
#define LB_REPORT_QUERY_SERVER_H

#include "../base/error.h"

#include <stddef.h>
#include <stdint.h>

struct store;

struct report_scrapes {
	long n_ok, n_failed;
	char first_reason[256]; /* of the first failed scrape, "" when none */
	char server[32];        /* the server whose names matched, "" when none */
};

/* The scrapes of a run; all zero when there were none (or the store predates the table). */
int report_server_scrapes(struct store *st, int64_t run_id, struct report_scrapes *out,
			  struct lb_error *err);

#endif
