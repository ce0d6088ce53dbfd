/* server_cmp.h: the server's own latency quantiles beside the client's (docs/traffic.md).
 *
 * report_server_cmp_add() adds, to every level row that has the server's scraped figures
 * (server_ttft_p50_ms, ...), the derived figures srvcmp_<ttft|itl>_<p50|p99>_<client|server|diff>_ms
 * (diff = server - client), so that every writer shows them as the table "Server vs client".
 * A figure the server does not expose stays unavailable with the server's reason, never 0. */
#ifndef LB_REPORT_SERVER_CMP_H
#define LB_REPORT_SERVER_CMP_H

#include "../base/error.h"
#include "query.h"

int report_server_cmp_add(struct report_data *d, struct lb_error *err);

#endif
