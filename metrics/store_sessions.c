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

int store_session_end_add(struct store *s, int64_t run_id, int64_t level_id,
			  const struct store_session_end *e, struct lb_error *err)
{
	static const char sql[] =
		"INSERT INTO session_ends (run_id, level_id, session, conv, warmup, outcome, "
		"turns_ok, t_start_ns, t_first_send_ns, t_end_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char run[24], lv[24], se[24], wu[4], tu[24], t0[24], t1[24], t2[24];
	const char *params[10] = { run,
				   lv,
				   se,
				   e->conv,
				   wu,
				   e->outcome,
				   tu,
				   e->t_start_ns ? t0 : NULL,
				   e->t_first_send_ns ? t1 : NULL,
				   e->t_end_ns ? t2 : NULL };

	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(lv, sizeof(lv), "%lld", (long long)level_id);
	snprintf(se, sizeof(se), "%ld", e->session);
	snprintf(wu, sizeof(wu), "%d", e->warmup ? 1 : 0);
	snprintf(tu, sizeof(tu), "%ld", e->turns_ok);
	snprintf(t0, sizeof(t0), "%llu", (unsigned long long)e->t_start_ns);
	snprintf(t1, sizeof(t1), "%llu", (unsigned long long)e->t_first_send_ns);
	snprintf(t2, sizeof(t2), "%llu", (unsigned long long)e->t_end_ns);
	return store_exec(s, sql, params, 10, err);
}
