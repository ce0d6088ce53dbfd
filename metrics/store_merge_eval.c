/* store_merge_eval.c: the merge's copy of a shard's per-backend side tables (store_merge.h,
 * docs/scale-out.md): its evaluation rows (evals, mc_choices, eval_texts), its sessions' turns
 * and its server scrapes, with the merged run's backend and level ids. Runs inside copy_shard's transaction,
 * after temp.m_backends and temp.m_levels map the shard's ids to the merged run's. */
#include "store_merge_int.h"

#include <sqlite3.h>
#include <string.h>

struct side_copy {
	const char *table; /* in the shard's store: skipped when absent (an older store) */
	const char *sql;
};

/* A backend's evaluation is taken whole from one shard: the first merged that has it. A cell
 * split evaluates each backend in one shard; a split load evaluates the backend in every
 * shard (the same items each time), and one copy is the backend's evaluation. */
static const struct side_copy side_sql[] = {
	{ NULL,
	  "UPDATE temp.m_backends SET take_eval = NOT EXISTS (SELECT 1 FROM main.evals e WHERE"
	  " e.run_id = :dst AND e.backend_id = temp.m_backends.dst) AND NOT EXISTS (SELECT 1 FROM"
	  " main.eval_texts t WHERE t.run_id = :dst AND t.backend_id = temp.m_backends.dst) AND"
	  " NOT EXISTS (SELECT 1 FROM main.mc_choices c WHERE c.run_id = :dst AND c.backend_id ="
	  " temp.m_backends.dst)" },
	{ "evals",
	  "INSERT INTO main.evals (run_id, backend_id, kind, item_idx, item_id, domain, prompt,"
	  " answer, reference, status, error, grade, score, detail, latency_ms, output_tokens,"
	  " output_tokens_source, judge_grade, judge_reply, method, synthetic)"
	  " SELECT :dst, mb.dst, e.kind, e.item_idx, e.item_id, e.domain, e.prompt, e.answer,"
	  " e.reference, e.status, e.error, e.grade, e.score, e.detail, e.latency_ms,"
	  " e.output_tokens, e.output_tokens_source, e.judge_grade, e.judge_reply, e.method,"
	  " e.synthetic FROM src.evals e JOIN temp.m_backends mb ON mb.src = e.backend_id"
	  " WHERE e.run_id = :src AND mb.take_eval ORDER BY e.id" },
	{ "mc_choices",
	  "INSERT INTO main.mc_choices (run_id, backend_id, item_id, target, choice_idx, choice,"
	  " is_true, logprob_sum, n_tokens, n_bytes, greedy) SELECT :dst, mb.dst, c.item_id,"
	  " c.target, c.choice_idx, c.choice, c.is_true, c.logprob_sum, c.n_tokens, c.n_bytes,"
	  " c.greedy FROM src.mc_choices c JOIN temp.m_backends mb ON mb.src = c.backend_id"
	  " WHERE c.run_id = :src AND mb.take_eval ORDER BY c.id" },
	{ "eval_texts",
	  "INSERT INTO main.eval_texts (run_id, backend_id, kind, item_id, role, idx, text, status,"
	  " seed) SELECT :dst, mb.dst, t.kind, t.item_id, t.role, t.idx, t.text, t.status, t.seed"
	  " FROM src.eval_texts t JOIN temp.m_backends mb ON mb.src = t.backend_id"
	  " WHERE t.run_id = :src AND mb.take_eval ORDER BY t.id" },
	/* the turns of sessions: request and session ids interleaved by shard as the requests'
	 * are (a shard's sessions are numbered 1, 2, ... within the level) */
	{ "session_turns",
	  "INSERT INTO main.session_turns (run_id, level_id, req_id, session, conv, turn)"
	  " SELECT :dst, ml.dst, (t.req_id - 1) * :n + :k + 1, (t.session - 1) * :n + :k + 1,"
	  " t.conv, t.turn FROM src.session_turns t JOIN temp.m_levels ml ON ml.src = t.level_id"
	  " WHERE t.run_id = :src ORDER BY t.rowid" },
	{ "session_ends",
	  "INSERT INTO main.session_ends (run_id, level_id, session, conv, warmup, outcome,"
	  " turns_ok, t_start_ns, t_first_send_ns, t_end_ns) SELECT :dst, ml.dst,"
	  " (e.session - 1) * :n + :k + 1, e.conv, e.warmup, e.outcome, e.turns_ok,"
	  " e.t_start_ns + :off, e.t_first_send_ns + :off, e.t_end_ns + :off"
	  " FROM src.session_ends e JOIN temp.m_levels ml ON ml.src = e.level_id"
	  " WHERE e.run_id = :src ORDER BY e.rowid" },
	/* every shard's scrapes: each is an observation of the server at its own time */
	{ "server_scrapes",
	  "INSERT INTO main.server_scrapes (run_id, backend_id, level_id, t_ns, url, ok, reason,"
	  " n_samples, duration_ms, server) SELECT :dst, coalesce(mb.dst, 0), coalesce(ml.dst, 0),"
	  " s.t_ns + :off, s.url, s.ok, s.reason, s.n_samples, s.duration_ms, s.server"
	  " FROM src.server_scrapes s LEFT JOIN temp.m_backends mb ON mb.src = s.backend_id"
	  " LEFT JOIN temp.m_levels ml ON ml.src = s.level_id WHERE s.run_id = :src ORDER BY s.id" },
};

static bool src_has(sqlite3 *db, const char *table)
{
	sqlite3_stmt *q = NULL;
	bool yes = false;

	if (sqlite3_prepare_v2(db,
			       "SELECT 1 FROM src.sqlite_master WHERE type = 'table' AND name = ?",
			       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
		yes = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	return yes;
}

static void bind_named(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i)
		sqlite3_bind_int64(st, i, v);
}

int merge_copy_side_tables(sqlite3 *db, const char *out_path, int64_t dst_run,
			   const struct merge_input *in, long *eval_rows, struct lb_error *err)
{
	size_t i;

	for (i = 0; i < sizeof(side_sql) / sizeof(side_sql[0]); i++) {
		sqlite3_stmt *q;
		int step;

		if (side_sql[i].table && !src_has(db, side_sql[i].table))
			continue;
		q = merge_prep(db, side_sql[i].sql, out_path, err);
		if (!q)
			return err->code;
		bind_named(q, ":dst", dst_run);
		bind_named(q, ":src", in->run_id);
		bind_named(q, ":off", in->anchor_off_ns);
		bind_named(q, ":k", in->shard);
		bind_named(q, ":n", in->n_shards);
		while ((step = sqlite3_step(q)) == SQLITE_ROW)
			;
		sqlite3_finalize(q);
		if (step != SQLITE_DONE)
			return merge_sql_fail(db, err, "merge a shard's evaluation into", out_path);
		if (side_sql[i].table && !strcmp(side_sql[i].table, "evals"))
			*eval_rows += (long)sqlite3_changes(db);
	}
	return 0;
}
