/* store_levels.c: the levels of a run with their headline figures, for the table `llmbench run`
 * prints at its end (see store.h). */
#include "store.h"

#include <stdio.h>

int store_level_table(struct store *s, int64_t run_id, store_row_fn *fn, void *ctx,
		      struct lb_error *err)
{
	static const char sql[] =
		"SELECT b.name, l.mode || '=' || printf('%g', l.value) || CASE WHEN l.rep > 0 THEN ' r' || l.rep ELSE '' END,"
		" l.id, l.valid,"
		" (SELECT value FROM summaries s WHERE s.level_id = l.id AND metric = 'requests_ok'),"
		" (SELECT value FROM summaries s WHERE s.level_id = l.id AND metric = 'requests_failed'),"
		" (SELECT value FROM summaries s WHERE s.level_id = l.id AND metric = 'request_throughput'),"
		" (SELECT value FROM summaries s WHERE s.level_id = l.id AND metric = 'output_token_throughput'),"
		" (SELECT value FROM summaries s WHERE s.level_id = l.id AND metric = 'ttft_p50_ms'),"
		" (SELECT value FROM summaries s WHERE s.level_id = l.id AND metric = 'ttft_p99_ms'),"
		" (SELECT value FROM summaries s WHERE s.level_id = l.id AND metric = 'tpot_p50_ms'),"
		" (SELECT value FROM summaries s WHERE s.level_id = l.id AND metric = 'e2e_p50_ms')"
		" FROM levels l JOIN backends b ON b.id = l.backend_id WHERE l.run_id = ? ORDER BY l.id";
	char id[32];
	const char *params[] = { id };

	snprintf(id, sizeof(id), "%lld", (long long)run_id);
	return store_query(s, sql, params, 1, fn, ctx, err);
}
