/* query_cli.c: the queries behind the CLI's listings (reports/query_cli.h). */
#include "query_cli.h"

#include <string.h>

#define RUNS_SQL(pid)                                                                \
	"SELECT r.name, r.status, r.started_at, r.ended_at,"                         \
	" (julianday(r.ended_at) - julianday(r.started_at)) * 86400.0,"              \
	" r.workload_name, r.workload_path,"                                         \
	" (SELECT group_concat(b.name, ',') FROM backends b WHERE b.run_id = r.id)," \
	" (SELECT count(*) FROM requests q WHERE q.run_id = r.id AND q.warmup = 0"   \
	"  AND q.status = 'ok'),"                                                    \
	" (SELECT count(*) FROM requests q WHERE q.run_id = r.id AND q.warmup = 0"   \
	"  AND q.status <> 'ok'),"                                                   \
	" (SELECT count(*) FROM requests q WHERE q.run_id = r.id AND q.warmup = 1)," \
	" r.host, r.version, r.note, " pid " FROM runs r ORDER BY r.id"

int query_runs_has_pid(struct store *st, store_row_fn *fn, void *ctx, struct lb_error *err)
{
	return store_query(st, "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'pid'",
			   NULL, 0, fn, ctx, err);
}

int query_runs_list(struct store *st, bool has_pid, store_row_fn *fn, void *ctx,
		    struct lb_error *err)
{
	static const char with_pid[] = RUNS_SQL("r.pid");
	static const char without_pid[] = RUNS_SQL("NULL");

	return store_query(st, has_pid ? with_pid : without_pid, NULL, 0, fn, ctx, err);
}

int query_vllm_levels(struct store *st, const char *run, store_row_fn *fn, void *ctx,
		      struct lb_error *err)
{
	static const char sql[] =
		"SELECT l.id, b.name, b.model, l.mode, l.value, l.idx, l.rep,"
		" (SELECT value FROM summaries s WHERE s.level_id = l.id AND s.metric = 'duration_s'),"
		" (SELECT value FROM summaries s WHERE s.level_id = l.id AND s.metric = 'goodput'),"
		" l.valid, l.invalid_reason, strftime('%Y%m%d-%H%M%S', r.started_at),"
		" json_extract(b.config_json, '$.api'),"
		/* vLLM's burstiness is the gamma shape: 1 for Poisson, 1 / CV^2 for gamma */
		" CASE WHEN l.mode <> 'rate' THEN NULL"
		"  WHEN coalesce(json_extract(r.workload_json, '$.load.arrival'), 'poisson') = 'poisson'"
		"  THEN 1.0 WHEN json_extract(r.workload_json, '$.load.arrival') = 'gamma'"
		"  THEN 1.0 / (json_extract(r.workload_json, '$.load.burstiness') *"
		"  json_extract(r.workload_json, '$.load.burstiness')) END"
		" FROM levels l JOIN backends b ON b.id = l.backend_id JOIN runs r ON r.id = l.run_id"
		" WHERE r.name = ? ORDER BY l.id";
	const char *p[1] = { run };

	return store_query(st, sql, p, 1, fn, ctx, err);
}

int query_vllm_requests(struct store *st, const char *level_id, store_row_fn *fn, void *ctx,
			struct lb_error *err)
{
	static const char sql[] =
		"SELECT status, error, ttft_ms, tpot_ms, e2e_ms, prompt_tokens, output_tokens,"
		" chunk_times, chunk_tokens, t_send_ns, t_end_ns, output_text"
		" FROM requests WHERE level_id = ? AND warmup = 0 ORDER BY req_id, id";
	const char *p[1] = { level_id };

	return store_query(st, sql, p, 1, fn, ctx, err);
}

int query_run_names(struct store *st, store_row_fn *fn, void *ctx, struct lb_error *err)
{
	return store_query(st, "SELECT name FROM runs ORDER BY id", NULL, 0, fn, ctx, err);
}

#define EXPORT_SQL(sess_cols, sess_join)                                                       \
	"SELECT r.req_id, ru.name, b.name, b.family, b.quant, l.idx, l.mode, l.value, l.rep,"  \
	" r.warmup, r.status, r.http_status, r.error, r.ttft_ms, r.tpot_ms, NULL, r.e2e_ms,"   \
	" r.lag_ms, r.prompt_tokens, r.prompt_tokens_source, r.output_tokens,"                 \
	" r.output_tokens_source, r.n_chunks, r.t_scheduled_ns, r.t_send_ns, r.t_first_ns,"    \
	" r.t_end_ns, NULL, r.chunk_times, r.chunk_tokens, e.value, t.tok,"                    \
	" t.n_unknown" sess_cols " FROM requests r JOIN runs ru ON ru.id = r.run_id"           \
	" LEFT JOIN backends b ON b.id = r.backend_id LEFT JOIN levels l ON l.id = r.level_id" \
	" LEFT JOIN summaries e ON e.run_id = r.run_id AND e.backend_id = r.backend_id"        \
	" AND e.level_id = r.level_id AND e.metric = 'energy_j'"                               \
	" LEFT JOIN (SELECT backend_id, level_id, SUM(prompt_tokens + output_tokens) AS tok,"  \
	" SUM(prompt_tokens IS NULL OR output_tokens IS NULL) AS n_unknown FROM requests"      \
	" WHERE run_id = ?1 AND warmup = 0 AND status = 'ok' GROUP BY backend_id, level_id) t" \
	" ON t.backend_id = r.backend_id AND t.level_id = r.level_id" sess_join                \
	" WHERE r.run_id = ?1 AND (CAST(?2 AS INTEGER) = 0 OR r.warmup = 0)"                   \
	" ORDER BY r.req_id, r.id"

int query_export_requests(struct store *st, const char *run_id, const char *no_warmup,
			  bool sessions, store_row_fn *fn, void *ctx, struct lb_error *err)
{
	static const char plain[] = EXPORT_SQL("", "");
	static const char with_sessions[] = EXPORT_SQL(
		", s.session, s.conv, s.turn",
		" LEFT JOIN session_turns s ON s.run_id = r.run_id AND s.level_id = r.level_id"
		" AND s.req_id = r.req_id");
	const char *p[2] = { run_id, no_warmup };

	return store_query(st, sessions ? with_sessions : plain, p, 2, fn, ctx, err);
}

static int on_flag(void *ctx, const struct store_row *row);

const char *const query_export_session_cols[] = {
	"run",
	"backend",
	"level",
	"level_mode",
	"level_value",
	"rep",
	"session",
	"conversation",
	"warmup",
	"outcome",
	"turns_answered",
	"duration_ms",
	"first_ttft_ms",
	"later_ttft_mean_ms",
	"t_start_ns",
	"t_first_send_ns",
	"t_end_ns",
	NULL,
};

int query_export_sessions(struct store *st, const char *run_id, const char *no_warmup,
			  store_row_fn *fn, void *ctx, struct lb_error *err)
{
	static const char sql[] =
		"SELECT ru.name AS run, b.name AS backend, l.idx AS level, l.mode AS level_mode,"
		" l.value AS level_value, l.rep AS rep, se.session AS session,"
		" se.conv AS conversation, se.warmup AS warmup, se.outcome AS outcome,"
		" se.turns_ok AS turns_answered,"
		" (se.t_end_ns - se.t_first_send_ns) / 1e6 AS duration_ms,"
		" f.ttft1 AS first_ttft_ms, f.later AS later_ttft_mean_ms, se.t_start_ns AS t_start_ns,"
		" se.t_first_send_ns AS t_first_send_ns, se.t_end_ns AS t_end_ns"
		" FROM session_ends se JOIN runs ru ON ru.id = se.run_id"
		" LEFT JOIN levels l ON l.id = se.level_id LEFT JOIN backends b ON b.id = l.backend_id"
		" LEFT JOIN (SELECT st.level_id, st.session,"
		"  max(CASE WHEN st.turn = 1 THEN r.ttft_ms END) AS ttft1,"
		"  avg(CASE WHEN st.turn > 1 THEN r.ttft_ms END) AS later"
		"  FROM session_turns st JOIN requests r ON r.run_id = st.run_id AND r.req_id = st.req_id"
		"  WHERE st.run_id = ?1 AND r.status = 'ok' GROUP BY st.level_id, st.session) f"
		" ON f.level_id = se.level_id AND f.session = se.session"
		" WHERE se.run_id = ?1 AND (CAST(?2 AS INTEGER) = 0 OR se.warmup = 0)"
		" ORDER BY se.level_id, se.session";
	const char *p[2] = { run_id, no_warmup };
	bool table = false;
	int rc = store_query(st,
			     "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			     " AND name = 'session_ends'",
			     NULL, 0, on_flag, &table, err);

	if (rc || !table)
		return rc;
	return store_query(st, sql, p, 2, fn, ctx, err);
}

static int on_flag(void *ctx, const struct store_row *row)
{
	*(bool *)ctx = row->text[0] && strcmp(row->text[0], "0");
	return 0;
}

int query_run_has_sessions(struct store *st, const char *run_id, bool *yes, struct lb_error *err)
{
	const char *p[1] = { run_id };
	bool table = false;
	int rc;

	*yes = false;
	rc = store_query(st,
			 "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			 " AND name = 'session_turns'",
			 NULL, 0, on_flag, &table, err);
	if (rc || !table)
		return rc;
	return store_query(st, "SELECT EXISTS (SELECT 1 FROM session_turns WHERE run_id = ?1)", p,
			   1, on_flag, yes, err);
}
