/* store_merge_sessions.c: the figures of multi-turn sessions (docs/traffic.md#multi-turn-sessions)
 * for the levels of a merged run (store_merge.h, docs/scale-out.md).
 *
 * A level that one shard ran whole (a cell split, or one shard of a split load merged alone)
 * keeps that shard's figures as they are. A level split over several shards gets:
 *   - the counts (sessions started, completed, failed, cut): the sums of the shards';
 *   - the mean turns and the mean duration of a session: the shards' means weighted by their
 *     sessions (ended, completed);
 *   - each turn's requests, TTFT p50/p99 and mean prompt tokens, and the later turns' TTFT:
 *     recomputed from the merged rows (session_turns joined to requests), as the runner computes
 *     them;
 *   - unavailable, with the reason: the duration percentiles (a session's duration is not
 *     stored, only the shards' percentiles) and the peak of sessions in flight (the shards' peaks
 *     need not coincide; their sum is an upper bound, given in the note). */
#include "store_merge_int.h"

#include "../base/alloc.h"
#include "stats.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define TURN_FIGS 16 /* as harness/runner_sessions.c: later turns count in turn_later_* */

#define PUT(...)                                     \
	do {                                         \
		int rc_ = merge_put(c, __VA_ARGS__); \
		if (rc_)                             \
			return rc_;                  \
	} while (0)

static int dpush(struct dvec *d, double x) /* struct dvec: level.h */
{
	if (d->n == d->alloc) {
		size_t cap = d->alloc ? 2 * d->alloc : 64;
		double *v = lb_realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -1;
		d->v = v;
		d->alloc = cap;
	}
	d->v[d->n++] = x;
	return 0;
}

/* The level's shards with session figures, and the sums over them. */
struct shard_sums {
	int shards;
	double started, completed, failed, cut, peak_sum;
	double turns_w, turns_n; /* sum of mean x ended, sum of ended */
	double dur_w, dur_n;     /* sum of mean x completed, sum of completed */
};

static int read_sums(struct lv_ctx *c, struct shard_sums *s)
{
	sqlite3_stmt *q = merge_prep(
		c->db,
		"SELECT count(*), total(st), total(co), total(fa), total(cu), total(pk),"
		" total(tm * (co + fa + cu)), total(CASE WHEN tm IS NULL THEN 0 ELSE co + fa + cu END),"
		" total(dm * co), total(CASE WHEN dm IS NULL THEN 0 ELSE co END) FROM (SELECT shard,"
		" max(CASE WHEN metric = 'sessions_started' THEN value END) AS st,"
		" max(CASE WHEN metric = 'sessions_completed' THEN value END) AS co,"
		" max(CASE WHEN metric = 'sessions_failed' THEN value END) AS fa,"
		" max(CASE WHEN metric = 'sessions_cut' THEN value END) AS cu,"
		" max(CASE WHEN metric = 'sessions_inflight_peak' THEN value END) AS pk,"
		" max(CASE WHEN metric = 'session_turns_mean' THEN value END) AS tm,"
		" max(CASE WHEN metric = 'session_duration_mean_s' THEN value END) AS dm"
		" FROM shard_summaries WHERE run_id = ? AND level_id = ? AND metric IN"
		" ('sessions_started', 'sessions_completed', 'sessions_failed', 'sessions_cut',"
		" 'sessions_inflight_peak', 'session_turns_mean', 'session_duration_mean_s')"
		" GROUP BY shard HAVING st IS NOT NULL)",
		c->path, c->err);

	memset(s, 0, sizeof(*s));
	if (!q)
		return c->err->code;
	sqlite3_bind_int64(q, 1, c->run_id);
	sqlite3_bind_int64(q, 2, c->level_id);
	if (sqlite3_step(q) == SQLITE_ROW) {
		s->shards = sqlite3_column_int(q, 0);
		s->started = sqlite3_column_double(q, 1);
		s->completed = sqlite3_column_double(q, 2);
		s->failed = sqlite3_column_double(q, 3);
		s->cut = sqlite3_column_double(q, 4);
		s->peak_sum = sqlite3_column_double(q, 5);
		s->turns_w = sqlite3_column_double(q, 6);
		s->turns_n = sqlite3_column_double(q, 7);
		s->dur_w = sqlite3_column_double(q, 8);
		s->dur_n = sqlite3_column_double(q, 9);
	}
	if (sqlite3_finalize(q) != SQLITE_OK)
		return merge_sql_fail(c->db, c->err, "read the shards' session figures in",
				      c->path);
	return 0;
}

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
				rc |= dpush(&ttft[k], t);
			if (sqlite3_column_type(q, 2) != SQLITE_NULL &&
			    sqlite3_column_int64(q, 2) >= 0)
				rc |= dpush(&n_in[k], (double)sqlite3_column_int64(q, 2));
		}
		if (k >= 1 && isfinite(t))
			rc |= dpush(&later, t);
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

static int level_sessions(struct lv_ctx *c)
{
	struct shard_sums s;
	char note[256];
	int rc = read_sums(c, &s);

	if (rc || !s.shards)
		return rc; /* not a level of sessions */
	if (s.shards == 1)
		return copy_one(c);
	PUT("sessions_started", true, s.started, -1, "sessions", "harness",
	    "the sum of the shards'");
	PUT("sessions_completed", true, s.completed, -1, "sessions", "harness",
	    "the sum of the shards'");
	PUT("sessions_failed", true, s.failed, -1, "sessions", "harness", "the sum of the shards'");
	PUT("sessions_cut", true, s.cut, -1, "sessions", "harness", "the sum of the shards'");
	snprintf(note, sizeof(note),
		 "unavailable: the shards' peaks need not coincide (their sum, %.0f over %d "
		 "shards, is an upper bound; each is in shard_summaries)",
		 s.peak_sum, s.shards);
	PUT("sessions_inflight_peak", false, 0, -1, "sessions", "harness", note);
	PUT("session_turns_mean", s.turns_n > 0, s.turns_n > 0 ? s.turns_w / s.turns_n : 0, -1,
	    "turns", "harness",
	    s.turns_n > 0 ? "the shards' means weighted by their ended sessions"
			  : "no measured session ended");
	PUT("session_duration_mean_s", s.dur_n > 0, s.dur_n > 0 ? s.dur_w / s.dur_n : 0, -1, "s",
	    "harness",
	    s.dur_n > 0 ? "the shards' means weighted by their completed sessions"
			: "no measured session completed");
	snprintf(note, sizeof(note),
		 "unavailable: a session's duration is not stored, so the percentiles of the %d "
		 "shards' union cannot be recomputed (each shard's is in shard_summaries)",
		 s.shards);
	PUT("session_duration_p50_s", false, 0, -1, "s", "harness", note);
	PUT("session_duration_p99_s", false, 0, -1, "s", "harness", note);
	return turn_figures(c);
}

int merge_session_figures(struct lv_ctx *c, const struct merge_level *lv, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		c->backend_id = lv[i].backend_id;
		c->level_id = lv[i].id;
		rc = level_sessions(c);
	}
	c->backend_id = c->level_id = 0;
	return rc;
}
