/* store_sessions.c: the SQL of store_sessions.h. */
#include "store_sessions.h"

#include <stdio.h>

int store_session_turn_add(struct store *s, int64_t run_id, int64_t level_id, uint64_t req_id,
			   long session, const char *conv, long turn, struct lb_error *err)
{
	static const char sql[] = "INSERT INTO session_turns (run_id, level_id, req_id, session, "
				  "conv, turn) VALUES (?, ?, ?, ?, ?, ?)";
	char run[24], lv[24], rq[24], se[24], tu[24];
	const char *params[6] = { run, lv, rq, se, conv, tu };

	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(lv, sizeof(lv), "%lld", (long long)level_id);
	snprintf(rq, sizeof(rq), "%llu", (unsigned long long)req_id);
	snprintf(se, sizeof(se), "%ld", session);
	snprintf(tu, sizeof(tu), "%ld", turn);
	return store_exec(s, sql, params, 6, err);
}
