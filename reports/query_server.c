/* query_server.c: the queries behind reports/query_server.h. */
#include "query_server.h"

#include "../metrics/store.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int on_exists(void *ctx, const struct store_row *row)
{
	(void)row;
	*(bool *)ctx = true;
	return 1;
}

static int on_counts(void *ctx, const struct store_row *row)
{
	struct report_scrapes *o = ctx;

	o->n_ok = row->text[0] ? (long)row->num[0] : 0;
	o->n_failed = row->text[1] ? (long)row->num[1] : 0;
	snprintf(o->server, sizeof(o->server), "%s", row->text[2] ? row->text[2] : "");
	return 0;
}

static int on_reason(void *ctx, const struct store_row *row)
{
	struct report_scrapes *o = ctx;

	snprintf(o->first_reason, sizeof(o->first_reason), "%s", row->text[0] ? row->text[0] : "");
	return 1;
}

int report_server_scrapes(struct store *st, int64_t run_id, struct report_scrapes *out,
			  struct lb_error *err)
{
	char id[32];
	const char *p[1] = { id };
	bool have = false;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_query(st,
			 "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
			 "'server_scrapes'",
			 NULL, 0, on_exists, &have, err);
	if (rc || !have)
		return rc;
	snprintf(id, sizeof(id), "%" PRId64, run_id);
	rc = store_query(st,
			 "SELECT SUM(ok <> 0), SUM(ok = 0), MAX(server) FROM server_scrapes"
			 " WHERE run_id = ?",
			 p, 1, on_counts, out, err);
	if (!rc && out->n_failed)
		rc = store_query(st,
				 "SELECT reason FROM server_scrapes WHERE run_id = ? AND ok = 0"
				 " ORDER BY t_ns LIMIT 1",
				 p, 1, on_reason, out, err);
	return rc;
}
