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
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define TURN_FIGS 16 /* as harness/runner_sessions.c: later turns count in turn_later_* */

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

static int put_stat(struct lv_ctx *c, const char *metric, struct dvec *d, double p,
		    const char *unit, const char *why)
{
	struct lb_stats st;
	double v = NAN;

	if (d->n) {
		stats_compute(d->v, d->n, &st);
		v = p < 0 ? st.mean : stats_percentile_sorted(d->v, d->n, p);
	}
	return merge_put(c, metric, d->n > 0, v, -1, unit, "harness", d->n ? NULL : why);
}

/* Each turn's figures from the merged rows. */
static int turn_figures(struct lv_ctx *c)
{
	struct dvec ttft[TURN_FIGS], n_in[TURN_FIGS], later = { 0 };
	sqlite3_stmt *q = merge_prep(
		c->db,
		"SELECT t.turn, r.ttft_ms, r.prompt_tokens FROM session_turns t JOIN requests r"
		" ON r.run_id = t.run_id AND r.req_id = t.req_id WHERE t.run_id = ? AND"
		" t.level_id = ? AND r.warmup = 0 AND r.status = 'ok' ORDER BY t.rowid",
		c->path, c->err);
	char name[64], why[96];
	size_t k, n_turns = 0;
	int rc = 0, step;

	if (!q)
		return c->err->code;
	memset(ttft, 0, sizeof(ttft));
	memset(n_in, 0, sizeof(n_in));
	sqlite3_bind_int64(q, 1, c->run_id);
	sqlite3_bind_int64(q, 2, c->level_id);
	while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
		long turn = (long)sqlite3_column_int64(q, 0);
		double t = sqlite3_column_type(q, 1) == SQLITE_NULL ? NAN
								    : sqlite3_column_double(q, 1);

		if (turn < 1)
			continue;
		k = (size_t)turn - 1;
		if (k < TURN_FIGS) {
			if (isfinite(t))
				rc |= dvec_push(&ttft[k], t);
			if (sqlite3_column_type(q, 2) != SQLITE_NULL &&
			    sqlite3_column_int64(q, 2) >= 0)
				rc |= dvec_push(&n_in[k], (double)sqlite3_column_int64(q, 2));
		}
		if (k >= 1 && isfinite(t))
			rc |= dvec_push(&later, t);
	}
	if (rc)
		rc = lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	else if (sqlite3_finalize(q) != SQLITE_OK)
		rc = merge_sql_fail(c->db, c->err, "read the sessions' turns in", c->path);
	else
		q = NULL;
	sqlite3_finalize(q);
	for (k = 0; k < TURN_FIGS; k++)
		if (ttft[k].n)
			n_turns = k + 1;
	if (!rc)
		rc = put_stat(c, "turn_later_ttft_p50_ms", &later, 50, "ms",
			      "no measured turn after the first answered");
	if (!rc)
		rc = put_stat(c, "turn_later_ttft_p99_ms", &later, 99, "ms",
			      "no measured turn after the first answered");
	for (k = 0; k < n_turns && !rc; k++) {
		snprintf(why, sizeof(why), "no measured turn %zu answered", k + 1);
		snprintf(name, sizeof(name), "turn%zu_requests", k + 1);
		rc = merge_put(c, name, true, (double)ttft[k].n, -1, "requests", "harness", NULL);
		snprintf(name, sizeof(name), "turn%zu_ttft_p50_ms", k + 1);
		if (!rc)
			rc = put_stat(c, name, &ttft[k], 50, "ms", why);
		snprintf(name, sizeof(name), "turn%zu_ttft_p99_ms", k + 1);
		if (!rc)
			rc = put_stat(c, name, &ttft[k], 99, "ms", why);
		snprintf(name, sizeof(name), "turn%zu_prompt_tokens_mean", k + 1);
		if (!rc)
			rc = put_stat(c, name, &n_in[k], -1, "tokens",
				      "the backend reported no prompt token counts");
	}
	for (k = 0; k < TURN_FIGS; k++) {
		lb_free(ttft[k].v);
		lb_free(n_in[k].v);
	}
	lb_free(later.v);
	return rc;
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

struct span {
	uint64_t t;
	bool measured;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return (x->t > y->t) - (x->t < y->t);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The sessions of a split level from their ends: counts, turns, durations, the peak. */
static int ends_figures(struct lv_ctx *c)
{
	sqlite3_stmt *q =
		merge_prep(c->db,
			   "SELECT warmup, outcome, turns_ok, t_start_ns, t_first_send_ns,"
			   " t_end_ns FROM session_ends WHERE run_id = ? AND level_id = ?",
			   c->path, c->err);
	struct dvec turns = { 0 }, dur = { 0 };
	struct span *starts = NULL;
	uint64_t *ends = NULL;
	size_t n = 0, alloc = 0, i, j;
	double started = 0, completed = 0, failed = 0, cut = 0, peak = 0;
	int rc = 0;

	if (!q)
		return c->err->code;
	sqlite3_bind_int64(q, 1, c->run_id);
	sqlite3_bind_int64(q, 2, c->level_id);
	while (!rc && sqlite3_step(q) == SQLITE_ROW) {
		bool measured = !sqlite3_column_int(q, 0);
		const char *how = (const char *)sqlite3_column_text(q, 1);
		uint64_t t0 = (uint64_t)sqlite3_column_int64(q, 3);
		uint64_t t1 = (uint64_t)sqlite3_column_int64(q, 4);
		uint64_t t2 = (uint64_t)sqlite3_column_int64(q, 5);

		if (n == alloc) {
			size_t na = alloc ? 2 * alloc : 64;
			struct span *s2 = lb_realloc(starts, na * sizeof(*s2));
			uint64_t *e2 = s2 ? lb_realloc(ends, na * sizeof(*e2)) : NULL;

			if (s2)
				starts = s2;
			if (e2)
				ends = e2;
			if (!s2 || !e2) {
				rc = -1;
				break;
			}
			alloc = na;
		}
		starts[n].t = t0;
		starts[n].measured = measured;
		ends[n++] = t2;
		if (!measured)
			continue;
		started++;
		rc |= dvec_push(&turns, (double)sqlite3_column_int64(q, 2));
		if (how && !strcmp(how, "completed")) {
			completed++;
			if (t2 > t1 && t1)
				rc |= dvec_push(&dur, (double)(t2 - t1) / 1e9);
		} else if (how && !strcmp(how, "failed")) {
			failed++;
		} else {
			cut++;
		}
	}
	if (rc)
		rc = lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	else if (sqlite3_finalize(q) != SQLITE_OK)
		rc = merge_sql_fail(c->db, c->err, "read the sessions' ends in", c->path);
	else
		q = NULL;
	sqlite3_finalize(q);
	if (!rc && n) { /* the sessions open at each measured start (an end at that time is past) */
		qsort(starts, n, sizeof(*starts), cmp_span);
		qsort(ends, n, sizeof(*ends), cmp_u64);
		for (i = 0, j = 0; i < n; i++) {
			while (j < n && ends[j] <= starts[i].t)
				j++;
			if (starts[i].measured && (double)(i + 1) - (double)j > peak)
				peak = (double)(i + 1) - (double)j;
		}
	}
	if (!rc)
		rc = merge_put(c, "sessions_started", true, started, -1, "sessions", "harness",
			       NULL);
	if (!rc)
		rc = merge_put(c, "sessions_completed", true, completed, -1, "sessions", "harness",
			       NULL);
	if (!rc)
		rc = merge_put(c, "sessions_failed", true, failed, -1, "sessions", "harness", NULL);
	if (!rc)
		rc = merge_put(c, "sessions_cut", true, cut, -1, "sessions", "harness", NULL);
	if (!rc)
		rc = merge_put(c, "sessions_inflight_peak", true, peak, -1, "sessions", "harness",
			       "from the sessions' spans on the common clock");
	if (!rc)
		rc = put_stat(c, "session_turns_mean", &turns, -1, "turns",
			      "no measured session ended");
	if (!rc)
		rc = put_stat(c, "session_duration_mean_s", &dur, -1, "s",
			      "no measured session completed");
	if (!rc)
		rc = put_stat(c, "session_duration_p50_s", &dur, 50, "s",
			      "no measured session completed");
	if (!rc)
		rc = put_stat(c, "session_duration_p99_s", &dur, 99, "s",
			      "no measured session completed");
	lb_free(starts);
	lb_free(ends);
	lb_free(turns.v);
	lb_free(dur.v);
	return rc ? rc : turn_figures(c);
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
