/* store_merge_sessions.c: the figures of multi-turn sessions (docs/traffic.md#multi-turn-sessions)
 * for the levels of a merged run (store_merge.h, docs/scale-out.md).
 *
 * A level that one shard ran whole (a cell split, or one shard of a split load merged alone)
 * keeps that shard's figures as they are. A level split over several shards gets its figures
 * again from the merged rows: the counts, turns and durations of the sessions from session_ends
 * (how each ended), the peak of sessions in flight from their spans on the common clock (the
 * most sessions, warm-up ones included, open at a measured session's start), and each turn's
 * figures from session_turns joined to requests, as the runner computes them. */
#include "store_merge_int.h"

#include "../base/alloc.h"
#include "../base/vec.h"
#include "sessions_fig.h"

#include <math.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* One shard ran the level: its figures are the level's. */
static int copy_one(struct lv_ctx *c)
{
	sqlite3_stmt *q = merge_prep(
		c->db,
		"INSERT OR REPLACE INTO summaries (run_id, backend_id, level_id, metric, value, n,"
		" unit, provenance, note) SELECT run_id, backend_id, level_id, metric, value, n, unit,"
		" provenance, note FROM shard_summaries WHERE run_id = ? AND level_id = ? AND (metric"
		" IN ('sessions_started', 'sessions_completed', 'sessions_failed', 'sessions_cut',"
		" 'sessions_inflight_peak', 'session_turns_mean', 'session_duration_mean_s',"
		" 'session_duration_p50_s', 'session_duration_p99_s', 'turn_later_ttft_p50_ms',"
		" 'turn_later_ttft_p99_ms') OR metric GLOB 'turn[0-9]*_requests' OR metric GLOB"
		" 'turn[0-9]*_ttft_p[59]*_ms' OR metric GLOB 'turn[0-9]*_prompt_tokens_mean')",
		c->path, c->err);
	int step;

	if (!q)
		return c->err->code;
	sqlite3_bind_int64(q, 1, c->run_id);
	sqlite3_bind_int64(q, 2, c->level_id);
	step = sqlite3_step(q);
	sqlite3_finalize(q);
	if (step != SQLITE_DONE)
		return merge_sql_fail(c->db, c->err, "copy a shard's session figures into",
				      c->path);
	return 0;
}

/* The shards whose session_ends rows the level has (a session's shard: (session - 1) mod N). */
static int ends_shards(struct lv_ctx *c, int n_shards, int *out)
{
	sqlite3_stmt *q = merge_prep(c->db,
				     "SELECT count(DISTINCT (session - 1) % ?) FROM session_ends"
				     " WHERE run_id = ? AND level_id = ?",
				     c->path, c->err);

	*out = 0;
	if (!q)
		return c->err->code;
	sqlite3_bind_int(q, 1, n_shards > 0 ? n_shards : 1);
	sqlite3_bind_int64(q, 2, c->run_id);
	sqlite3_bind_int64(q, 3, c->level_id);
	if (sqlite3_step(q) == SQLITE_ROW)
		*out = sqlite3_column_int(q, 0);
	if (sqlite3_finalize(q) != SQLITE_OK)
		return merge_sql_fail(c->db, c->err, "read the sessions' ends in", c->path);
	return 0;
}

static int put_fig(void *ctx, const char *metric, bool has, double v, const char *unit,
		   const char *note)
{
	return merge_put(ctx, metric, has, v, -1, unit, "harness", note);
}

/* Each measured answered turn of the level, from the merged rows. */
static int read_turns(struct lv_ctx *c, struct sess_figs *f)
{
	sqlite3_stmt *q = merge_prep(
		c->db,
		"SELECT t.turn, r.ttft_ms, r.prompt_tokens FROM session_turns t JOIN requests r"
		" ON r.run_id = t.run_id AND r.req_id = t.req_id WHERE t.run_id = ? AND"
		" t.level_id = ? AND r.warmup = 0 AND r.status = 'ok' ORDER BY t.rowid",
		c->path, c->err);

	if (!q)
		return c->err->code;
	sqlite3_bind_int64(q, 1, c->run_id);
	sqlite3_bind_int64(q, 2, c->level_id);
	while (sqlite3_step(q) == SQLITE_ROW)
		sess_figs_turn(f, (long)sqlite3_column_int64(q, 0),
			       sqlite3_column_type(q, 1) == SQLITE_NULL
				       ? NAN
				       : sqlite3_column_double(q, 1),
			       sqlite3_column_type(q, 2) == SQLITE_NULL
				       ? -1
				       : (double)sqlite3_column_int64(q, 2));
	if (sqlite3_finalize(q) != SQLITE_OK)
		return merge_sql_fail(c->db, c->err, "read the sessions' turns in", c->path);
	return 0;
}

/* How each session of the level ended, and its span for the peak. */
static int read_ends(struct lv_ctx *c, struct sess_figs *f, struct sess_span **span, size_t *n)
{
	sqlite3_stmt *q =
		merge_prep(c->db,
			   "SELECT warmup, outcome, turns_ok, t_start_ns, t_first_send_ns,"
			   " t_end_ns FROM session_ends WHERE run_id = ? AND level_id = ?",
			   c->path, c->err);
	size_t alloc = 0;

	if (!q)
		return c->err->code;
	sqlite3_bind_int64(q, 1, c->run_id);
	sqlite3_bind_int64(q, 2, c->level_id);
	while (!f->oom && sqlite3_step(q) == SQLITE_ROW) {
		bool measured = !sqlite3_column_int(q, 0);
		uint64_t t1 = (uint64_t)sqlite3_column_int64(q, 4);
		uint64_t t2 = (uint64_t)sqlite3_column_int64(q, 5);

		if (LB_ALLOC_GROW(*span, *n + 1, alloc)) {
			f->oom = true;
			break;
		}
		(*span)[(*n)++] =
			(struct sess_span){ (uint64_t)sqlite3_column_int64(q, 3), t2, measured };
		if (!measured)
			continue;
		f->started++;
		sess_figs_end(f, sess_outcome_parse((const char *)sqlite3_column_text(q, 1)),
			      (long)sqlite3_column_int64(q, 2), t1, t2);
	}
	if (sqlite3_finalize(q) != SQLITE_OK && !f->oom)
		return merge_sql_fail(c->db, c->err, "read the sessions' ends in", c->path);
	return 0;
}

/* The sessions of a split level from the merged rows: counts, turns, durations, the peak (from
 * the spans on the common clock) and each turn's figures. */
static int ends_figures(struct lv_ctx *c)
{
	struct sess_figs f = { 0 };
	struct sess_span *span = NULL;
	size_t n = 0;
	int rc = read_ends(c, &f, &span, &n);

	if (!rc)
		rc = read_turns(c, &f);
	if (!rc && (f.oom || sess_peak(span, n, &f.peak)))
		rc = lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = sess_figs_emit(&f, "from the sessions' spans on the common clock", put_fig, c);
	lb_free(span);
	sess_figs_release(&f);
	return rc;
}

static int level_sessions(struct lv_ctx *c, int n_shards)
{
	int shards, rc = ends_shards(c, n_shards, &shards);

	if (rc || !shards)
		return rc; /* not a level of sessions */
	return shards == 1 ? copy_one(c) : ends_figures(c);
}

int merge_session_figures(struct lv_ctx *c, const struct merge_level *lv, size_t n, int n_shards)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		c->backend_id = lv[i].backend_id;
		c->level_id = lv[i].id;
		rc = level_sessions(c, n_shards);
	}
	c->backend_id = c->level_id = 0;
	return rc;
}
