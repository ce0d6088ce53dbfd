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

int store_level_sessions_reopen(struct store *s, int64_t run_id, int64_t level_id,
				struct lb_error *err)
{
	static const char *const sql[] = {
		"UPDATE session_ends SET outcome = 'cut' WHERE run_id = ?1 AND level_id = ?2 AND"
		" session IN (SELECT st.session FROM session_turns st JOIN requests r ON"
		" r.run_id = st.run_id AND r.req_id = st.req_id WHERE st.run_id = ?1 AND"
		" st.level_id = ?2 AND r.status = 'cancelled')",
		"DELETE FROM session_turns WHERE run_id = ?1 AND level_id = ?2 AND req_id IN"
		" (SELECT req_id FROM requests WHERE run_id = ?1 AND level_id = ?2 AND"
		" status = 'cancelled')",
		"INSERT INTO session_ends (run_id, level_id, session, conv, warmup, outcome, turns_ok,"
		" t_start_ns, t_first_send_ns, t_end_ns)"
		" SELECT st.run_id, st.level_id, st.session, min(st.conv), max(r.warmup), 'cut',"
		" sum(r.status = 'ok'), min(CASE WHEN st.turn = 1 THEN r.t_scheduled_ns END),"
		" min(CASE WHEN st.turn = 1 THEN r.t_send_ns END), max(r.t_end_ns)"
		" FROM session_turns st JOIN requests r ON r.run_id = st.run_id AND"
		" r.req_id = st.req_id WHERE st.run_id = ?1 AND st.level_id = ?2 AND NOT EXISTS"
		" (SELECT 1 FROM session_ends e WHERE e.run_id = ?1 AND e.level_id = ?2 AND"
		" e.session = st.session) GROUP BY st.session ORDER BY st.session",
	};
	char run[24], lv[24];
	const char *params[2] = { run, lv };
	size_t i;
	int rc = 0;

	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(lv, sizeof(lv), "%lld", (long long)level_id);
	for (i = 0; !rc && i < sizeof(sql) / sizeof(sql[0]); i++)
		rc = store_exec(s, sql[i], params, 2, err);
	return rc;
}

/* A query of one level's rows: ?1 the run, ?2 the level. */
static int level_query(struct store *s, const char *sql, int64_t run_id, int64_t level_id,
		       store_row_fn *fn, void *ctx, struct lb_error *err)
{
	char run[24], lv[24];
	const char *params[2] = { run, lv };

	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(lv, sizeof(lv), "%lld", (long long)level_id);
	return store_query(s, sql, params, 2, fn, ctx, err);
}

int store_level_session_ends(struct store *s, int64_t run_id, int64_t level_id, store_row_fn *fn,
			     void *ctx, struct lb_error *err)
{
	static const char sql[] =
		"SELECT session, warmup, outcome, turns_ok, t_start_ns, t_first_send_ns, t_end_ns"
		" FROM session_ends WHERE run_id = ?1 AND level_id = ?2 ORDER BY session";

	return level_query(s, sql, run_id, level_id, fn, ctx, err);
}

int store_level_session_turns(struct store *s, int64_t run_id, int64_t level_id, store_row_fn *fn,
			      void *ctx, struct lb_error *err)
{
	static const char sql[] =
		"SELECT st.session, st.turn, r.warmup, r.status = 'ok', r.ttft_ms, r.prompt_tokens"
		" FROM session_turns st JOIN requests r ON r.run_id = st.run_id AND"
		" r.req_id = st.req_id WHERE st.run_id = ?1 AND st.level_id = ?2"
		" ORDER BY st.session, st.turn";

	return level_query(s, sql, run_id, level_id, fn, ctx, err);
}
