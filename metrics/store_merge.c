/* store_merge.c: a shard's own row, and the merge of shards' stores into one run (see
 * store_merge.h, docs/scale-out.md). Bulk copies are INSERT ... SELECT from an ATTACHed store;
 * level figures are recomputed from the merged rows in store_merge_fig.c. */
#include "store_merge.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "../base/vec.h"
#include "store_merge_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <limits.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* schema.sql's index, which a new OUT.db builds after its rows are in (t1400 compares the two) */
#define RUN_REQ_INDEX_SQL "CREATE INDEX IF NOT EXISTS requests_run_req ON requests(run_id, req_id)"

int merge_sql_fail(sqlite3 *db, struct lb_error *err, const char *what, const char *path)
{
	int rc = sqlite3_errcode(db) == SQLITE_NOMEM ? LB_ERR_NOMEM : LB_ERR_STORE;

	return lb_error_set(err, rc, "cannot %s '%s': %s", what, path, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, const char *what, const char *path,
		struct lb_error *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return merge_sql_fail(db, err, what, path);
	return 0;
}

sqlite3_stmt *merge_prep(sqlite3 *db, const char *sql, const char *path, struct lb_error *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		merge_sql_fail(db, err, "prepare a merge statement for", path);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* Step a statement with bound parameters to its end; finalizes it. */
static int run_stmt(sqlite3 *db, sqlite3_stmt *st, const char *what, const char *path,
		    struct lb_error *err)
{
	int step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (step != SQLITE_DONE) {
		merge_sql_fail(db, err, what, path);
		sqlite3_finalize(st);
		return err ? err->code : LB_ERR_STORE;
	}
	sqlite3_finalize(st);
	return 0;
}

int merge_put(struct lv_ctx *c, const char *metric, bool has, double v, double n, const char *unit,
	      const char *prov, const char *note)
{
	struct store_summary sm = { .run_id = c->run_id,
				    .backend_id = c->backend_id,
				    .level_id = c->level_id,
				    .metric = metric,
				    .has_value = has,
				    .value = v,
				    .n = n,
				    .unit = unit,
				    .provenance = prov,
				    .note = note };

	return store_summary_put(c->st, &sm, c->err);
}

int store_shard_put(struct store *s, int64_t run_id, const struct store_shard *sh,
		    struct lb_error *err)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	int rc = store_begin(s, err);

	if (rc)
		return rc;
	st = merge_prep(
		db,
		"INSERT OR REPLACE INTO shards (run_id, shard, n_shards, shard_group, split, engine,"
		" host, start_at, anchor_realtime_ns, anchor_monotonic_ns, anchor_read_gap_ns,"
		" clock_synced, clock_esterror_us, clock_maxerror_us) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		store_path(s), err);
	if (!st)
		return err ? err->code : LB_ERR_STORE;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, sh->shard);
	sqlite3_bind_int(st, 3, sh->n_shards);
	bind_text(st, 4, sh->group);
	bind_text(st, 5, sh->split);
	bind_text(st, 6, sh->engine);
	bind_text(st, 7, sh->host);
	bind_text(st, 8, sh->start_at);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)sh->anchor_realtime_ns);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)sh->anchor_monotonic_ns);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)sh->anchor_read_gap_ns);
	if (sh->have_adj) {
		sqlite3_bind_int(st, 12, sh->synced ? 1 : 0);
		sqlite3_bind_int64(st, 13, sh->esterror_us);
		sqlite3_bind_int64(st, 14, sh->maxerror_us);
	}
	rc = run_stmt(db, st, "record the shard in", store_path(s), err);
	return rc ? rc : store_flush(s, err);
}

/* ---- merge (the inspection of the inputs: store_merge_inspect.c) ---- */

struct phase {
	uint64_t wall, cpu;
};

static void phase_start(struct phase *p)
{
	p->wall = lb_now_ns();
	p->cpu = lb_cpu_ns();
}

static void say(const struct merge_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const struct merge_opts *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->note(o->note_ctx, msg);
}

static void phase_note(const struct merge_opts *o, struct phase *p, const char *what, long rows)
{
	double w = (double)(lb_now_ns() - p->wall) / 1e9, c = (double)(lb_cpu_ns() - p->cpu) / 1e9;

	if (o->timing)
		say(o, "timing: %-8s %8.3f s wall %8.3f s cpu (%.0f rows/s of cpu)", what, w, c,
		    c > 0 ? (double)rows / c : 0);
	phase_start(p);
}

/* The per-input copy: backends by name, levels by (backend, idx, rep), requests with their
 * times on the wall clock and ids interleaved by shard, series, figures beside. */
static const char *const copy_sql[] = {
	"DELETE FROM temp.m_backends",
	"DELETE FROM temp.m_levels",
	"INSERT INTO main.backends (run_id, name, type, model, family, quant, config_json)"
	" SELECT :dst, b.name, b.type, b.model, b.family, b.quant, b.config_json FROM src.backends b"
	" WHERE b.run_id = :src AND NOT EXISTS (SELECT 1 FROM main.backends d WHERE d.run_id = :dst"
	" AND d.name = b.name) ORDER BY b.id",
	"INSERT INTO temp.m_backends (src, dst) SELECT b.id, (SELECT min(d.id) FROM main.backends d"
	" WHERE d.run_id = :dst AND d.name = b.name) FROM src.backends b WHERE b.run_id = :src",
	"INSERT INTO main.levels (run_id, backend_id, idx, rep, mode, value, status, valid)"
	" SELECT :dst, m.dst, l.idx, l.rep, l.mode, 0, 'done', 1 FROM src.levels l"
	" JOIN temp.m_backends m ON m.src = l.backend_id WHERE l.run_id = :src AND NOT EXISTS"
	" (SELECT 1 FROM main.levels d WHERE d.run_id = :dst AND d.backend_id = m.dst"
	" AND d.idx = l.idx AND d.rep = l.rep) ORDER BY l.id",
	"INSERT INTO temp.m_levels (src, dst, dst_backend) SELECT l.id, (SELECT min(d.id) FROM"
	" main.levels d WHERE d.run_id = :dst AND d.backend_id = m.dst AND d.idx = l.idx AND"
	" d.rep = l.rep), m.dst FROM src.levels l JOIN temp.m_backends m ON m.src = l.backend_id"
	" WHERE l.run_id = :src",
	/* a level's value is the sum of the shards' parts; it is valid when every part is */
	"UPDATE main.levels AS d SET value = coalesce(d.value, 0) + coalesce(l.value, 0),"
	" status = CASE WHEN 'failed' IN (d.status, l.status) THEN 'failed'"
	"  WHEN 'interrupted' IN (d.status, l.status) THEN 'interrupted'"
	"  WHEN 'running' IN (d.status, l.status) THEN 'running' ELSE 'done' END,"
	" valid = d.valid AND l.valid,"
	" invalid_reason = CASE WHEN l.valid THEN d.invalid_reason ELSE coalesce(d.invalid_reason"
	"  || '; ', '') || 'shard ' || :k || '/' || :n || ': ' || coalesce(l.invalid_reason,"
	"  'invalid') END"
	" FROM src.levels AS l JOIN temp.m_levels AS m ON m.src = l.id WHERE d.id = m.dst",
	"INSERT INTO main.requests (run_id, backend_id, level_id, req_id, seq, item_idx, warmup,"
	" status, http_status, error, finish_reason, t_scheduled_ns, t_send_ns, t_first_ns,"
	" t_end_ns, ttft_ms, tpot_ms, e2e_ms, lag_ms, prompt_tokens, prompt_tokens_source,"
	" output_tokens, output_tokens_source, n_chunks, chunk_times, chunk_tokens,"
	" server_prompt_ms, server_predicted_ms, output_text)"
	" SELECT :dst, m.dst_backend, m.dst, (r.req_id - 1) * :n + :k + 1, r.seq * :n + :k,"
	" r.item_idx, r.warmup, r.status, r.http_status, r.error, r.finish_reason,"
	" r.t_scheduled_ns + :off, r.t_send_ns + :off, r.t_first_ns + :off, r.t_end_ns + :off,"
	" r.ttft_ms, r.tpot_ms, r.e2e_ms, r.lag_ms, r.prompt_tokens, r.prompt_tokens_source,"
	" r.output_tokens, r.output_tokens_source, r.n_chunks, r.chunk_times, r.chunk_tokens,"
	" r.server_prompt_ms, r.server_predicted_ms, r.output_text"
	/* a scan of the shard's table in rowid order (not through its run index), each row's
	 * level looked up in the small map */
	" FROM src.requests AS r NOT INDEXED CROSS JOIN temp.m_levels AS m ON m.src = r.level_id"
	" WHERE r.run_id = :src",
	"INSERT INTO main.series (run_id, backend_id, level_id, series, t_ns, value)"
	" SELECT :dst, coalesce(mb.dst, 0), coalesce(ml.dst, 0), s.series || '@shard' || :k,"
	" s.t_ns + :off, s.value FROM src.series s LEFT JOIN temp.m_backends mb ON mb.src ="
	" s.backend_id LEFT JOIN temp.m_levels ml ON ml.src = s.level_id WHERE s.run_id = :src",
	"INSERT INTO main.shard_summaries (run_id, shard, backend_id, level_id, metric, value, n,"
	" unit, provenance, note) SELECT :dst, :k, coalesce(mb.dst, 0), coalesce(ml.dst, 0),"
	" s.metric, s.value, s.n, s.unit, s.provenance, s.note FROM src.summaries s"
	" LEFT JOIN temp.m_backends mb ON mb.src = s.backend_id"
	" LEFT JOIN temp.m_levels ml ON ml.src = s.level_id WHERE s.run_id = :src",
	/* each part's verdict (ended, valid): the merged level's validity is recomputed from
	 * them, so that a part missing or cut short makes it invalid, and a later merge that
	 * brings the part makes it valid again */
	"INSERT INTO main.shard_summaries (run_id, shard, backend_id, level_id, metric, value, n,"
	" unit, provenance, note) SELECT :dst, :k, m.dst_backend, m.dst, 'level_valid',"
	" l.valid AND l.status = 'done', NULL, 'flag', 'merge', CASE WHEN l.status <> 'done'"
	" THEN 'it ended ' || l.status ELSE l.invalid_reason END FROM src.levels l"
	" JOIN temp.m_levels m ON m.src = l.id WHERE l.run_id = :src",
	/* backend-wide figures (model size, perplexity): the backend's own, kept once */
	"INSERT OR IGNORE INTO main.summaries (run_id, backend_id, level_id, metric, value, n, unit,"
	" provenance, note) SELECT :dst, mb.dst, 0, s.metric, s.value, s.n, s.unit, s.provenance,"
	" s.note FROM src.summaries s JOIN temp.m_backends mb ON mb.src = s.backend_id"
	" WHERE s.run_id = :src AND s.level_id = 0",
	"INSERT INTO main.shards (run_id, shard, n_shards, shard_group, split, engine, host,"
	" start_at, anchor_realtime_ns, anchor_monotonic_ns, anchor_read_gap_ns, clock_synced,"
	" clock_esterror_us, clock_maxerror_us, source) SELECT :dst, shard, n_shards, shard_group,"
	" split, engine, host, start_at, anchor_realtime_ns, anchor_monotonic_ns,"
	" anchor_read_gap_ns, clock_synced, clock_esterror_us, clock_maxerror_us, :source"
	" FROM src.shards WHERE run_id = :src AND source IS NULL",
	"UPDATE main.runs SET started_at = (SELECT min(coalesce(main.runs.started_at, r.started_at),"
	" coalesce(r.started_at, main.runs.started_at)) FROM src.runs r WHERE r.id = :src),"
	" ended_at = (SELECT max(coalesce(main.runs.ended_at, r.ended_at, ''), coalesce(r.ended_at,"
	" '')) FROM src.runs r WHERE r.id = :src) WHERE id = :dst",
};

static void bind_named(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i)
		sqlite3_bind_int64(st, i, v);
}

/* Hands the shard to the figures' thread: its level map (temp.m_levels, just filled). */
static int fig_add_shard(sqlite3 *db, struct merge_fig *f, const char *out_path,
			 const struct merge_input *in, bool last, struct lb_error *err)
{
	sqlite3_stmt *q =
		merge_prep(db, "SELECT src, dst FROM temp.m_levels ORDER BY src", out_path, err);
	int64_t(*map)[2] = NULL;
	size_t n = 0, alloc = 0;
	int step, rc = 0;

	if (!q)
		return err->code;
	while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
		if (LB_ALLOC_GROW(map, n + 1, alloc)) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			break;
		}
		map[n][0] = sqlite3_column_int64(q, 0);
		map[n][1] = sqlite3_column_int64(q, 1);
		n++;
	}
	sqlite3_finalize(q);
	if (!rc)
		rc = merge_fig_add(f, in->path, in->run_id, in->shard, in->n_shards,
				   in->anchor_off_ns, (const int64_t(*)[2])map, n, last, err);
	lb_free(map);
	return rc;
}

static int copy_shard(struct store *st, const char *out_path, int64_t dst_run,
		      const struct merge_input *in, struct merge_fig *fig, bool last, long *rows,
		      long *eval_rows, struct lb_error *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *q;
	char source[1024];
	size_t i;
	int rc;

	q = merge_prep(db, "ATTACH DATABASE ? AS src", out_path, err);
	if (!q)
		return err->code;
	bind_text(q, 1, in->path);
	rc = run_stmt(db, q, "attach a shard to", out_path, err);
	if (rc)
		return rc;
	rc = store_begin(st, err);
	for (i = 0; !rc && i < sizeof(copy_sql) / sizeof(copy_sql[0]); i++) {
		q = merge_prep(db, copy_sql[i], out_path, err);
		if (!q) {
			rc = err->code;
			break;
		}
		bind_named(q, ":dst", dst_run);
		bind_named(q, ":src", in->run_id);
		bind_named(q, ":k", in->shard);
		bind_named(q, ":n", in->n_shards);
		bind_named(q, ":off", in->anchor_off_ns);
		snprintf(source, sizeof(source), "%s (run %s)", in->path, in->run_name);
		if (sqlite3_bind_parameter_index(q, ":source"))
			bind_text(q, sqlite3_bind_parameter_index(q, ":source"), source);
		rc = run_stmt(db, q, "merge a shard into", out_path, err);
		if (!rc && fig && strstr(copy_sql[i], "INTO temp.m_levels"))
			rc = fig_add_shard(db, fig, out_path, in, last, err);
		if (!rc && strstr(copy_sql[i], "INTO main.requests"))
			*rows += (long)sqlite3_changes(db);
	}
	if (!rc)
		rc = merge_copy_side_tables(db, out_path, dst_run, in, eval_rows, err);
	if (!rc)
		rc = store_flush(st, err);
	if (rc) {
		struct lb_error e2 = LB_ERROR_INIT;

		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		store_flush(st, &e2);
	}
	sqlite3_exec(db, "DETACH DATABASE src", NULL, NULL, NULL);
	return rc;
}

struct found_run {
	int64_t id;
	bool found;
	int merged_rows, n_shards;
	char *workload;
};

static int find_run(sqlite3 *db, const char *path, const char *name, struct found_run *f,
		    struct lb_error *err)
{
	sqlite3_stmt *q =
		merge_prep(db,
			   "SELECT r.id, r.workload_json, (SELECT count(*) FROM shards s WHERE"
			   " s.run_id = r.id AND s.source IS NOT NULL), (SELECT min(n_shards) FROM"
			   " shards s WHERE s.run_id = r.id) FROM runs r WHERE r.name = ?",
			   path, err);

	memset(f, 0, sizeof(*f));
	if (!q)
		return err->code;
	bind_text(q, 1, name);
	if (sqlite3_step(q) == SQLITE_ROW) {
		f->found = true;
		f->id = sqlite3_column_int64(q, 0);
		f->workload = merge_dup_col(q, 1);
		f->merged_rows = sqlite3_column_int(q, 2);
		f->n_shards = sqlite3_column_int(q, 3);
	}
	sqlite3_finalize(q);
	return 0;
}

/* Shards added to a merged run must be of its group (one submission): another submission of
 * the same workload would mix runs minutes apart into one window. */
static int check_group(sqlite3 *db, const char *target, int64_t run_id, const char *name,
		       const char *out_path, const struct merge_plan *plan, struct lb_error *err)
{
	sqlite3_stmt *q =
		merge_prep(db,
			   "SELECT shard_group FROM shards WHERE run_id = ? AND source IS NOT"
			   " NULL ORDER BY shard LIMIT 1",
			   target, err);
	const struct merge_input *in = &plan->in[0];
	bool have = false, same = true;
	char group[128] = "";

	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, run_id);
	if (sqlite3_step(q) == SQLITE_ROW) {
		have = sqlite3_column_type(q, 0) != SQLITE_NULL;
		snprintf(group, sizeof(group), "%s",
			 have ? (const char *)sqlite3_column_text(q, 0) : "");
		same = have == in->have_group && !strcmp(group, in->group);
	}
	sqlite3_finalize(q);
	if (same)
		return 0;
	return lb_error_set(err, LB_ERR_USAGE,
			    "'%s' is not a shard of run '%s' in '%s': its shard group is '%s', the "
			    "run's is '%s' (another submission of the workload: merge it into "
			    "another OUT.db or give another --name)",
			    in->path, name, out_path, in->have_group ? in->group : "(none)",
			    have ? group : "(none)");
}

static bool shard_merged(sqlite3 *db, int64_t run_id, int k)
{
	sqlite3_stmt *q = NULL;
	bool yes = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM shards WHERE run_id = ? AND shard = ?", -1, &q,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, run_id);
		sqlite3_bind_int(q, 2, k);
		yes = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	return yes;
}

/* Each merged level is valid when every shard's part of it is there, ended and valid (a split
 * load: all N parts; a split by cell: its one part); otherwise invalid, naming the parts. From
 * the parts' verdicts (shard_summaries 'level_valid'), so a later merge can complete it.
 * Stores merged before the parts' verdicts were kept have none: left as they are. */
static int level_validity(sqlite3 *db, const char *path, int64_t run_id, int n_shards,
			  struct lb_error *err)
{
	sqlite3_stmt *q = merge_prep(
		db,
		"UPDATE levels AS d SET valid = (p.parts >= p.want AND p.bad = 0),"
		" invalid_reason = CASE WHEN p.parts >= p.want AND p.bad = 0 THEN NULL ELSE"
		"  coalesce(p.reasons, '') || CASE WHEN p.parts < p.want THEN"
		"  CASE WHEN p.reasons IS NULL THEN '' ELSE '; ' END || 'only ' || p.parts || ' of '"
		"  || p.want || ' shards measured this level (the others are missing or never"
		" began it): its figures are those of part of its load' ELSE '' END END"
		" FROM (SELECT level_id, count(DISTINCT shard) AS parts, sum(value = 0) AS bad,"
		"  group_concat(CASE WHEN value = 0 THEN 'shard ' || shard || '/' || ?2 || ': ' ||"
		"  coalesce(note, 'invalid') END, '; ') AS reasons, CASE (SELECT min(split) FROM"
		"  shards WHERE run_id = ?1) WHEN 'cell' THEN 1 ELSE ?2 END AS want"
		"  FROM shard_summaries WHERE run_id = ?1 AND metric = 'level_valid'"
		"  GROUP BY level_id) AS p WHERE d.id = p.level_id AND d.run_id = ?1",
		path, err);
	int step;

	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, run_id);
	sqlite3_bind_int(q, 2, n_shards);
	step = sqlite3_step(q);
	sqlite3_finalize(q);
	return step == SQLITE_DONE ? 0
				   : merge_sql_fail(db, err, "judge the merged levels of", path);
}

/* Every level's figures again from the union of rows, the run's own figures and row. */
static int recompute(struct store *st, const char *path, int64_t run_id, int n_shards,
		     const struct merge_opts *o, struct merge_fig **fig, struct merge_result *res,
		     struct lb_error *err)
{
	sqlite3 *db = store_db(st);
	struct lv_ctx c = { st, db, path, run_id, 0, 0, err };
	sqlite3_stmt *q;
	char a[32], miss[512] = "";
	size_t ml = 0;
	int rc, k, present = 0;
	const char *p[1] = { a };
	struct merge_level *lv = NULL;
	struct merge_fig_stats fs = { 0 };
	size_t lv_alloc = 0;

	snprintf(a, sizeof(a), "%lld", (long long)run_id);
	rc = store_begin(st, err);
	if (!rc)
		rc = store_exec(st, "DELETE FROM summaries WHERE run_id = ? AND level_id <> 0", p,
				1, err);
	if (!rc)
		rc = store_exec(
			st,
			"DELETE FROM summaries WHERE run_id = ? AND backend_id = 0 AND level_id = 0",
			p, 1, err);
	if (rc)
		return rc;
	q = merge_prep(
		db, "SELECT id, backend_id, mode, value FROM levels WHERE run_id = ? ORDER BY id",
		path, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, run_id);
	res->levels = 0;
	while (!rc && sqlite3_step(q) == SQLITE_ROW) {
		struct merge_level *l;

		if ((size_t)res->levels == lv_alloc) {
			size_t na = lv_alloc ? lv_alloc * 2 : 16;

			l = lb_realloc(lv, na * sizeof(*l));
			if (!l) {
				rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
				break;
			}
			lv = l;
			lv_alloc = na;
		}
		l = &lv[res->levels++];
		l->id = sqlite3_column_int64(q, 0);
		l->backend_id = sqlite3_column_int64(q, 1);
		snprintf(l->mode, sizeof(l->mode), "%s",
			 sqlite3_column_text(q, 2) ? (const char *)sqlite3_column_text(q, 2) : "");
		l->value = sqlite3_column_double(q, 3);
	}
	sqlite3_finalize(q);
	if (!rc && *fig) {
		rc = merge_fig_finish(*fig, &c, lv, (size_t)res->levels, &fs);
		*fig = NULL; /* finished or not, it is gone */
	} else if (!rc)
		rc = merge_run_figures(&c, lv, (size_t)res->levels, n_shards, &o->slo,
				       o->sort_values, &fs);
	if (!rc)
		rc = merge_session_figures(&c, lv, (size_t)res->levels, n_shards);
	lb_free(lv);
	res->spilled_values = fs.spilled_values;
	if (rc)
		return rc;
	/* which shards are here */
	for (k = 0; k < n_shards; k++) {
		if (shard_merged(db, run_id, k)) {
			present++;
			continue;
		}
		if (ml + 16 < sizeof(miss))
			ml += (size_t)snprintf(miss + ml, sizeof(miss) - ml, "%s%d", ml ? ", " : "",
					       k);
		else if (ml + 5 < sizeof(miss) && !strstr(miss, "..."))
			ml += (size_t)snprintf(miss + ml, sizeof(miss) - ml, ", ...");
	}
	res->shards_present = present;
	res->n_shards = n_shards;
	snprintf(res->missing, sizeof(res->missing), "%s", miss);
	c.level_id = c.backend_id = 0;
	{
		char note[600];

		snprintf(note, sizeof(note), "missing shards: %s", miss);
		rc = merge_put(&c, "shards_merged", true, present, n_shards, "shards", "merge",
			       present < n_shards ? note : NULL);
		if (!rc) /* 0 too: a rule on shards_missing = 0 finds its row */
			rc = merge_put(&c, "shards_missing", true, n_shards - present, n_shards,
				       "shards", "merge", present < n_shards ? note : NULL);
	}
	if (!rc)
		rc = level_validity(db, path, run_id, n_shards, err);
	if (rc)
		return rc;
	/* clock alignment: one host shares one clock; otherwise the kernel's error estimates */
	q = merge_prep(
		db,
		"SELECT count(DISTINCT host), sum(clock_synced IS NULL), sum(clock_synced = 0),"
		" max(clock_esterror_us), max(anchor_read_gap_ns),"
		" (SELECT group_concat(shard) FROM shards s2 WHERE s2.run_id = ?1 AND"
		"  coalesce(s2.clock_synced, 0) = 0)"
		" FROM shards WHERE run_id = ?1",
		path, err);
	if (!q)
		return err->code;
	sqlite3_bind_int64(q, 1, run_id);
	if (sqlite3_step(q) == SQLITE_ROW) {
		int hosts = sqlite3_column_int(q, 0), unknown = sqlite3_column_int(q, 1);
		int unsynced = sqlite3_column_int(q, 2);
		double est_ms = sqlite3_column_double(q, 3) / 1000.0;
		double gap_ms = sqlite3_column_double(q, 4) / 1e6;
		char note[512];

		if (hosts <= 1)
			rc = merge_put(&c, "clock_error_bound_ms", true, gap_ms, present, "ms",
				       "one host, one clock: the anchors' read gap", NULL);
		else if (unknown || unsynced) {
			snprintf(
				note, sizeof(note),
				"unavailable: the clock of shard(s) %s is not synchronised (adjtimex), "
				"so their times may be off by any amount",
				sqlite3_column_text(q, 5) ? (const char *)sqlite3_column_text(q, 5)
							  : "?");
			rc = merge_put(&c, "clock_error_bound_ms", false, 0, present, "ms",
				       "adjtimex", note);
		} else
			rc = merge_put(
				&c, "clock_error_bound_ms", true, 2 * est_ms + gap_ms, present,
				"ms",
				"adjtimex: twice the largest estimated error plus the anchors' read gap",
				NULL);
	}
	sqlite3_finalize(q);
	if (rc)
		return rc;
	/* the run row: its window, hosts, the worst status of its shards */
	{
		char note[700];

		snprintf(note, sizeof(note), "merged from %d of %d shards%s%s", present, n_shards,
			 present < n_shards ? "; missing: " : "", present < n_shards ? miss : "");
		q = merge_prep(
			db,
			"UPDATE runs SET host = (SELECT group_concat(h, ',') FROM (SELECT DISTINCT host h"
			" FROM shards WHERE run_id = ?1 ORDER BY host)), note = ?2, status = CASE"
			" WHEN EXISTS (SELECT 1 FROM levels WHERE run_id = ?1 AND status = 'failed') THEN 'failed'"
			" WHEN EXISTS (SELECT 1 FROM levels WHERE run_id = ?1 AND status <> 'done') THEN 'interrupted'"
			" ELSE 'done' END WHERE id = ?1",
			path, err);
		if (!q)
			return err->code;
		sqlite3_bind_int64(q, 1, run_id);
		bind_text(q, 2, note);
		rc = run_stmt(db, q, "update the merged run in", path, err);
	}
	return rc ? rc : store_flush(st, err);
}

/* fsync a file, or a folder (the rename's entry); 0 or errno */
static int sync_path(const char *path, bool dir)
{
	int fd = open(path, O_RDONLY | (dir ? O_DIRECTORY : 0) | O_CLOEXEC), e = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd))
		e = errno;
	close(fd);
	return e;
}

/* The folder of path, for its fsync after the rename. */
static void dir_of(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, cap, ".");
	else if (slash == path)
		snprintf(out, cap, "/");
	else
		snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

static bool env_off(const char *name)
{
	const char *v = getenv(name);

	return v && !strcmp(v, "0");
}

static void remove_files(const char *path)
{
	char b[4200];

	unlink(path);
	snprintf(b, sizeof(b), "%s-wal", path);
	unlink(b);
	snprintf(b, sizeof(b), "%s-shm", path);
	unlink(b);
	snprintf(b, sizeof(b), "%s-journal", path);
	unlink(b);
}

int store_merge(const char *out_path, const struct merge_plan *plan, const struct merge_opts *o,
		struct merge_result *res, struct lb_error *err)
{
	struct stat sb;
	struct store *st = NULL;
	struct found_run f = { 0 };
	struct merge_fig *fig = NULL;
	struct phase ph;
	char tmp[4096];
	const char *target = out_path, *name;
	bool fresh = stat(out_path, &sb) != 0;
	sqlite3 *db;
	size_t i, last;
	int rc;

	memset(res, 0, sizeof(*res));
	name = o->run_name ? o->run_name : plan->in[0].run_name;
	snprintf(res->run_name, sizeof(res->run_name), "%s", name);
	if (fresh) {
		/* built beside the target and renamed into place: a failure leaves nothing */
		snprintf(tmp, sizeof(tmp), "%s.merging-%ld", out_path, (long)getpid());
		remove_files(tmp);
		target = tmp;
	}
	rc = store_open(&st, target, false, err);
	if (rc)
		goto fail;
	db = store_db(st);
	store_set_commit_policy(st, UINT_MAX, UINT_MAX);
	if (fresh) {
		/* a new file: no journal while building (it is deleted on failure); 64 KiB pages
		 * (set before the first row, by rebuilding the empty schema), 16 times fewer reads
		 * and writes than 4 KiB ones (measured: 1M rows merged in 2.26-2.39 s against
		 * 2.58-2.82 s). The level index stays (rows arrive in level order, nearly
		 * appends); the (run_id, req_id) one is dropped and built after the copy */
		rc = exec(db,
			  "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
			  " PRAGMA foreign_keys = OFF; PRAGMA page_size = 65536; VACUUM;"
			  " DROP INDEX requests_run_req",
			  "prepare", target, err);
		if (rc)
			goto fail;
	}
	rc = exec(
		db,
		/* memory flat in the rows: a bounded page cache; sorts spill to files */
		"PRAGMA cache_size = -16384; PRAGMA temp_store = FILE;"
		" CREATE TEMP TABLE IF NOT EXISTS m_backends (src INTEGER PRIMARY KEY, dst INTEGER,"
		" take_eval INTEGER);"
		" CREATE TEMP TABLE IF NOT EXISTS m_levels (src INTEGER PRIMARY KEY, dst INTEGER,"
		" dst_backend INTEGER)",
		"prepare", target, err);
	if (rc)
		goto fail;
	rc = find_run(db, target, name, &f, err);
	if (rc)
		goto fail;
	if (f.found) {
		if (!f.merged_rows) {
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"run '%s' already exists in '%s' and is not a merged run; give "
				"another --name",
				name, out_path);
			goto fail;
		}
		if (f.n_shards != plan->n_shards || !f.workload || !plan->workload_json ||
		    strcmp(f.workload, plan->workload_json)) {
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"run '%s' in '%s' merges shards of another run (different "
				"workload or shard count); give another --name",
				name, out_path);
			goto fail;
		}
		rc = check_group(db, target, f.id, name, out_path, plan, err);
		if (rc)
			goto fail;
		res->run_id = f.id;
	} else {
		struct store_run sr = { name,
					plan->workload_name,
					plan->workload_path,
					plan->workload_json,
					NULL,
					plan->version,
					NULL };
		const char *got = NULL;

		rc = store_run_begin(st, &sr, &res->run_id, &got, err);
		if (!rc)
			rc = store_flush(st, err);
		if (rc)
			goto fail;
	}
	phase_start(&ph);
	/* a new OUT.db: the figures are read from the shards' stores beside the copy, in a
	 * thread of its own (LLMBENCH_MERGE_THREAD=0: after the copy, from OUT.db) */
	last = plan->n_in;
	for (i = 0; i < plan->n_in; i++)
		if (!plan->in[i].dup)
			last = i;
	if (fresh && last < plan->n_in && !env_off("LLMBENCH_MERGE_THREAD")) {
		rc = merge_fig_start(&fig, plan->n_shards, &o->slo, o->sort_values, err);
		if (rc)
			goto fail;
	}
	for (i = 0; i < plan->n_in; i++) {
		const struct merge_input *in = &plan->in[i];

		if (in->dup) {
			say(o, "shard %d/%d given twice ('%s'): merged once", in->shard,
			    in->n_shards, in->path);
			continue;
		}
		if (shard_merged(db, res->run_id, in->shard)) {
			say(o, "shard %d/%d ('%s') is already in run '%s': adds nothing", in->shard,
			    in->n_shards, in->path, name);
			continue;
		}
		if (strcmp(in->status, "done"))
			say(o, "warning: shard %d/%d ('%s') ended '%s': merged as it is", in->shard,
			    in->n_shards, in->path, in->status);
		rc = copy_shard(st, target, res->run_id, in, fig, i == last, &res->rows_added,
				&res->evals_added, err);
		if (rc)
			goto fail;
		res->shards_added++;
	}
	phase_note(o, &ph, "copy", res->rows_added);
	if (fresh) {
		/* built once the rows are in (a sort, while the figures' thread ends its work)
		 * rather than kept up to date: the interleaved ids made each insert a random one
		 * (measured, 1M rows from 8 stores: 1.98-2.03 s against 2.39-2.50 s). SQLite's
		 * sort holds at most 250 pages (16 MiB) and spills the rest to a file */
		rc = exec(db, RUN_REQ_INDEX_SQL, "index the requests of", target, err);
		if (rc)
			goto fail;
		phase_note(o, &ph, "index", res->rows_added);
	}
	rc = recompute(st, target, res->run_id, plan->n_shards, o, &fig, res, err);
	if (rc)
		goto fail;
	phase_note(o, &ph, "figures", res->rows_added);
	if (o->timing && res->spilled_values)
		say(o, "timing: the figures' sort spilled %llu values to a temporary file",
		    (unsigned long long)res->spilled_values);
	/* store_close leaves it with a rollback journal (DELETE), as every closed store */
	store_close(st);
	st = NULL;
	if (fresh) {
		/* built with synchronous = OFF: on the disk before it takes the name, so that a
		 * power loss leaves the old name free or a whole file under it (measured: 0.16 s
		 * for the 196 MB of a 1M-row merge) */
		char dir[4096];
		int e = sync_path(tmp, false);

		if (e) {
			rc = lb_error_set(err, LB_ERR_IO, "cannot sync '%s' to disk: %s", tmp,
					  strerror(e));
			goto fail;
		}
		if (rename(tmp, out_path)) {
			rc = lb_error_set(err, LB_ERR_IO, "cannot rename '%s' to '%s': %s", tmp,
					  out_path, strerror(errno));
			goto fail;
		}
		dir_of(out_path, dir, sizeof(dir));
		e = sync_path(dir, true);
		if (e && e != EINVAL && e != EBADF) /* a folder some file systems cannot sync */
			say(o, "warning: cannot sync the folder '%s' after the merge: %s", dir,
			    strerror(e));
		phase_note(o, &ph, "sync", res->rows_added);
	}
	lb_free(f.workload);
	return 0;
fail:
	merge_fig_abort(fig);
	store_close(st);
	if (fresh)
		remove_files(tmp);
	lb_free(f.workload);
	return rc;
}
