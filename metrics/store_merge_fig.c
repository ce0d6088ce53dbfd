/* store_merge_fig.c: a merged level's figures from the union of its rows (store_merge.h): the
 * metrics, units and notes of a single run (level.c), percentiles exact. Columns of up to
 * MERGE_MEM_VALUES values are sorted in memory by stats_compute, as a single run does; larger
 * ones are streamed from SQLite's external sort, so memory stays bounded whatever the rows. */
#include "store_merge_int.h"

#include "../base/alloc.h"
#include "record.h"
#include "stats.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* ---- figures of one merged level, from its rows ---- */

#define PUT(...)                                     \
	do {                                         \
		int rc_ = merge_put(c, __VA_ARGS__); \
		if (rc_)                             \
			return rc_;                  \
	} while (0)

/* Exact statistics of one column over the level's rows, streamed in sorted order: the same
 * figures stats_compute gives on the same values (mean and sd accumulate in sorted order, as
 * there). n: the number of values the query yields. */
static int sorted_stats(struct lv_ctx *c, const char *col, bool ok_only, long n,
			struct lb_stats *out)
{
	static const double pct[5] = { 50, 90, 95, 99, 99.9 };
	double *res[5] = { &out->p50, &out->p90, &out->p95, &out->p99, &out->p999 };
	double lo_v[5] = { 0 }, hi_v[5] = { 0 }, frac[5];
	long lo[5], i = 0;
	double m = 0, m2 = 0, last = NAN;
	char sql[256];
	sqlite3_stmt *st;
	int k, step;

	out->n = 0;
	out->mean = out->sd = out->min = out->p50 = out->p90 = out->p95 = out->p99 = out->p999 =
		out->max = NAN;
	if (n <= 0)
		return 0;
	for (k = 0; k < 5; k++) {
		double rank = pct[k] / 100.0 * (double)(n - 1);

		lo[k] = (long)rank;
		frac[k] = rank - (double)lo[k];
	}
	snprintf(sql, sizeof(sql),
		 "SELECT %s FROM requests WHERE level_id = ? AND warmup = 0%s AND %s IS NOT NULL"
		 " ORDER BY %s",
		 col, ok_only ? " AND status = 'ok'" : "", col, col);
	st = merge_prep(c->db, sql, c->path, c->err);
	if (!st)
		return c->err->code;
	sqlite3_bind_int64(st, 1, c->level_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW && i < n) {
		double v = sqlite3_column_double(st, 0), d = v - m;

		if (!i)
			out->min = v;
		m += d / (double)(i + 1);
		m2 += d * (v - m);
		for (k = 0; k < 5; k++) {
			if (i == lo[k])
				lo_v[k] = v;
			if (i == lo[k] + 1)
				hi_v[k] = v;
		}
		last = v;
		i++;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		merge_sql_fail(c->db, c->err, "read the merged rows of", c->path);
		sqlite3_finalize(st);
		return c->err->code;
	}
	sqlite3_finalize(st);
	if (i != n)
		return lb_error_set(c->err, LB_ERR_STORE,
				    "merged level %lld of '%s': %ld %s values counted but %ld read",
				    (long long)c->level_id, c->path, n, col, i);
	out->n = (size_t)n;
	out->mean = m;
	out->sd = n > 1 ? sqrt(m2 / (double)(n - 1)) : NAN;
	out->max = last;
	for (k = 0; k < 5; k++)
		*res[k] = lo[k] + 1 >= n ? last : lo_v[k] + frac[k] * (hi_v[k] - lo_v[k]);
	return 0;
}

static int emit_stats(struct lv_ctx *c, const struct lb_stats *s, const char *base,
		      const char *prov, const char *empty_note)
{
	static const char *const sfx[] = { "mean", "sd",  "min",  "p50", "p90",
					   "p95",  "p99", "p999", "max" };
	double vals[9] = { s->mean, s->sd, s->min, s->p50, s->p90, s->p95, s->p99, s->p999, s->max };
	char name[64];
	size_t i;

	for (i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "%s_%s_ms", base, sfx[i]);
		if (s->n && !isnan(vals[i]))
			PUT(name, true, vals[i], (double)s->n, "ms", prov, NULL);
		else
			PUT(name, false, 0, (double)s->n, "ms", prov,
			    s->n ? "unavailable: needs at least 2 samples" : empty_note);
	}
	return 0;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define NO_OK "unavailable: no successful request"

/* Columns of up to this many values are sorted in memory (the same code and order as a single
 * run: stats_compute); larger ones by SQLite's external sort, so memory stays bounded. */
#define MERGE_MEM_VALUES (1u << 20)

enum {
	COL_TTFT,
	COL_TPOT,
	COL_E2E,
	COL_LAG,
	N_COLS
};

/* What one pass over a level's rows gathers: the latency columns (those small enough), the
 * chunk gaps (a reservoir as level.c keeps them) and each shard's first measured send. */
struct lv_scan {
	struct dvec col[N_COLS];
	bool keep[N_COLS];
	struct dvec itl;
	uint64_t itl_seen, rng;
	int64_t *first_send; /* per shard, 0: none */
	int n_shards;
	bool oom;
};

static void scan_release(struct lv_scan *sc)
{
	int i;

	for (i = 0; i < N_COLS; i++)
		lb_free(sc->col[i].v);
	lb_free(sc->itl.v);
	lb_free(sc->first_send);
	memset(sc, 0, sizeof(*sc));
}

static void dpush(struct lv_scan *sc, struct dvec *d, double x)
{
	if (d->n == d->alloc) {
		size_t na = d->alloc ? d->alloc * 2 : 1024;
		double *nv = lb_realloc(d->v, na * sizeof(*nv));

		if (!nv) {
			sc->oom = true;
			return;
		}
		d->v = nv;
		d->alloc = na;
	}
	d->v[d->n++] = x;
}

static int level_scan(struct lv_ctx *c, struct lv_scan *sc)
{
	static const char q[] =
		"SELECT warmup, status = 'ok', ttft_ms, tpot_ms, e2e_ms, lag_ms, n_chunks,"
		" CASE WHEN n_chunks >= 2 AND status = 'ok' AND warmup = 0 THEN chunk_times END,"
		" req_id, t_send_ns FROM requests WHERE level_id = ? ORDER BY id";
	uint64_t *t = NULL;
	long t_alloc = 0;
	sqlite3_stmt *st;
	int step, i, rc = 0;

	sc->rng = 0x9e3779b97f4a7c15ull;
	sc->first_send = lb_calloc((size_t)sc->n_shards, sizeof(*sc->first_send));
	if (!sc->first_send)
		return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	st = merge_prep(c->db, q, c->path, c->err);
	if (!st)
		return c->err->code;
	sqlite3_bind_int64(st, 1, c->level_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		bool ok = sqlite3_column_int(st, 1) != 0;
		int64_t req = sqlite3_column_int64(st, 8);

		if (sqlite3_column_int(st, 0))
			continue; /* warm-up: in no figure */
		if (sqlite3_column_type(st, 9) != SQLITE_NULL && req >= 1) {
			int k = (int)((req - 1) % sc->n_shards);
			int64_t ts = sqlite3_column_int64(st, 9);

			if (!sc->first_send[k] || ts < sc->first_send[k])
				sc->first_send[k] = ts;
		}
		for (i = 0; i < N_COLS; i++)
			if (sc->keep[i] && (ok || i == COL_LAG) &&
			    sqlite3_column_type(st, 2 + i) != SQLITE_NULL)
				dpush(sc, &sc->col[i], sqlite3_column_double(st, 2 + i));
		if (ok && sqlite3_column_type(st, 7) == SQLITE_BLOB) {
			const uint8_t *p = sqlite3_column_blob(st, 7);
			size_t len = (size_t)sqlite3_column_bytes(st, 7);
			long n = (long)sqlite3_column_int64(st, 6), k;

			if (n > t_alloc) {
				uint64_t *nt = lb_realloc(t, (size_t)n * sizeof(*t));

				if (!nt) {
					sc->oom = true;
					continue;
				}
				t = nt;
				t_alloc = n;
			}
			n = reqrec_decode_chunks(p, len, 0, t, n);
			for (k = 1; k < n; k++) {
				double gap = (double)(int64_t)(t[k] - t[k - 1]) / 1e6;

				sc->itl_seen++;
				if (sc->itl.n < LEVEL_MAX_ITL) {
					dpush(sc, &sc->itl, gap);
				} else {
					uint64_t j = rng_next(&sc->rng) % sc->itl_seen;

					if (j < LEVEL_MAX_ITL)
						sc->itl.v[j] = gap;
				}
			}
		}
	}
	if (step != SQLITE_DONE)
		rc = merge_sql_fail(c->db, c->err, "read the merged rows of", c->path);
	else if (sc->oom)
		rc = lb_error_set(c->err, LB_ERR_NOMEM, "out of memory recomputing a merged level");
	sqlite3_finalize(st);
	lb_free(t);
	return rc;
}

/* One column's statistics: sorted in memory when gathered, else streamed from SQLite. */
static int col_stats(struct lv_ctx *c, struct lv_scan *sc, int i, const char *col, long n,
		     struct lb_stats *out)
{
	if (sc->keep[i]) {
		stats_compute(sc->col[i].v, sc->col[i].n, out);
		return 0;
	}
	return sorted_stats(c, col, i != COL_LAG, n, out);
}

/* Everything level_agg_emit (level.c) emits, from the merged rows. */
int merge_level_figures(struct lv_ctx *c, const char *mode, double value, int n_shards,
			const struct wl_slo *slo)
{
	static const char q_agg[] =
		"SELECT sum(warmup = 0 AND status = 'ok'), sum(warmup = 0 AND status <> 'ok'),"
		" sum(warmup = 1),"
		" min(CASE WHEN warmup = 0 THEN t_send_ns END), max(CASE WHEN warmup = 0 THEN t_send_ns END),"
		" max(CASE WHEN warmup = 0 THEN t_end_ns END),"
		" count(CASE WHEN warmup = 0 AND status = 'ok' THEN prompt_tokens END),"
		" total(CASE WHEN warmup = 0 AND status = 'ok' THEN prompt_tokens END),"
		" count(DISTINCT CASE WHEN warmup = 0 AND status = 'ok' AND prompt_tokens IS NOT NULL"
		"  THEN prompt_tokens_source END),"
		" min(CASE WHEN warmup = 0 AND status = 'ok' AND prompt_tokens IS NOT NULL THEN prompt_tokens_source END),"
		" count(CASE WHEN warmup = 0 AND status = 'ok' THEN output_tokens END),"
		" total(CASE WHEN warmup = 0 AND status = 'ok' THEN output_tokens END),"
		" count(DISTINCT CASE WHEN warmup = 0 AND status = 'ok' AND output_tokens IS NOT NULL"
		"  THEN output_tokens_source END),"
		" min(CASE WHEN warmup = 0 AND status = 'ok' AND output_tokens IS NOT NULL THEN output_tokens_source END),"
		" sum(warmup = 0 AND status = 'ok' AND (?2 > 0 OR ?3 > 0 OR ?4 > 0)"
		"  AND (?2 <= 0 OR ttft_ms <= ?2) AND (?3 <= 0 OR tpot_ms <= ?3) AND (?4 <= 0 OR e2e_ms <= ?4)),"
		" count(CASE WHEN warmup = 0 AND status = 'ok' THEN ttft_ms END),"
		" count(CASE WHEN warmup = 0 AND status = 'ok' THEN tpot_ms END),"
		" count(CASE WHEN warmup = 0 AND status = 'ok' THEN e2e_ms END),"
		" count(CASE WHEN warmup = 0 THEN lag_ms END),"
		" count(CASE WHEN warmup = 0 AND status = 'ok' AND tpot_ms > 0 THEN 1 END),"
		" avg(CASE WHEN warmup = 0 AND status = 'ok' AND tpot_ms > 0 THEN 1000.0 / tpot_ms END)"
		" FROM requests WHERE level_id = ?1";
	sqlite3_stmt *st;
	double n_ok, n_failed, n_warm, n_in_known, sum_in, n_out_known, sum_out, n_good, dur_s = 0;
	int64_t first_send, last_send, last_end;
	bool have_first, have_dur,
		has_slo = slo->ttft_ms > 0 || slo->tpot_ms > 0 || slo->e2e_ms > 0;
	long n_ttft, n_tpot, n_e2e, n_lag, n_speed;
	double speed_mean, n_meas;
	char in_src[64], out_src[64], fname[64];
	struct lb_stats s, s_ttft;
	struct lv_scan sc = { 0 };
	uint64_t itl_seen = 0;
	int64_t spread_lo = 0, spread_hi = 0;
	int rc, k, spread_n = 0;

	st = merge_prep(c->db, q_agg, c->path, c->err);
	if (!st)
		return c->err->code;
	sqlite3_bind_int64(st, 1, c->level_id);
	sqlite3_bind_double(st, 2, slo->ttft_ms);
	sqlite3_bind_double(st, 3, slo->tpot_ms);
	sqlite3_bind_double(st, 4, slo->e2e_ms);
	if (sqlite3_step(st) != SQLITE_ROW) {
		merge_sql_fail(c->db, c->err, "read the merged rows of", c->path);
		sqlite3_finalize(st);
		return c->err->code;
	}
	n_ok = sqlite3_column_double(st, 0);
	n_failed = sqlite3_column_double(st, 1);
	n_warm = sqlite3_column_double(st, 2);
	have_first = sqlite3_column_type(st, 3) != SQLITE_NULL;
	first_send = sqlite3_column_int64(st, 3);
	last_send = sqlite3_column_int64(st, 4);
	last_end = sqlite3_column_int64(st, 5);
	n_in_known = sqlite3_column_double(st, 6);
	sum_in = sqlite3_column_double(st, 7);
	snprintf(in_src, sizeof(in_src), "%s",
		 sqlite3_column_int(st, 8) > 1 ? "mixed"
		 : sqlite3_column_text(st, 9)  ? (const char *)sqlite3_column_text(st, 9)
					       : "unknown");
	n_out_known = sqlite3_column_double(st, 10);
	sum_out = sqlite3_column_double(st, 11);
	snprintf(out_src, sizeof(out_src), "%s",
		 sqlite3_column_int(st, 12) > 1 ? "mixed"
		 : sqlite3_column_text(st, 13)  ? (const char *)sqlite3_column_text(st, 13)
						: "unknown");
	n_good = sqlite3_column_double(st, 14);
	n_ttft = (long)sqlite3_column_int64(st, 15);
	n_tpot = (long)sqlite3_column_int64(st, 16);
	n_e2e = (long)sqlite3_column_int64(st, 17);
	n_lag = (long)sqlite3_column_int64(st, 18);
	n_speed = (long)sqlite3_column_int64(st, 19);
	speed_mean = sqlite3_column_double(st, 20);
	sqlite3_finalize(st);
	n_meas = n_ok + n_failed;

	PUT("requests_ok", true, n_ok, -1, "requests", "harness", NULL);
	PUT("requests_failed", true, n_failed, -1, "requests", "harness", NULL);
	PUT("requests_warmup", true, n_warm, -1, "requests", "harness", NULL);
	st = merge_prep(
		c->db,
		"SELECT status, count(*) FROM requests WHERE level_id = ? AND warmup = 0 AND"
		" status <> 'ok' GROUP BY status ORDER BY min(id)",
		c->path, c->err);
	if (!st)
		return c->err->code;
	sqlite3_bind_int64(st, 1, c->level_id);
	rc = 0;
	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		snprintf(fname, sizeof(fname), "requests_failed_%s", sqlite3_column_text(st, 0));
		rc = merge_put(c, fname, true, sqlite3_column_double(st, 1), -1, "requests",
			       "harness", NULL);
	}
	sqlite3_finalize(st);
	if (rc)
		return rc;
	have_dur = have_first && last_end > first_send;
	if (have_dur)
		dur_s = (double)(last_end - first_send) / 1e9;
	if (have_dur)
		PUT("duration_s", true, dur_s, n_meas, "s", "first measured send to last end",
		    NULL);
	else
		PUT("duration_s", false, 0, n_meas, "s", "harness",
		    "unavailable: no measured request");
	if (mode && !strcmp(mode, "rate") && value > 0)
		PUT("offered_rate", true, value, -1, "req/s", "workload", NULL);
	else
		PUT("offered_rate", false, 0, -1, "req/s", "workload", "unavailable: closed loop");
	/* as level.c: no rate figure for a level without a successful request; the union of the
	 * shards is one window (a resumed shard's downtime is inside it) */
	if (n_ok <= 0)
		PUT("achieved_rate", false, 0, n_meas, "req/s", "sends", NO_OK);
	else if (have_first && last_send > first_send && n_meas > 1)
		PUT("achieved_rate", true, (n_meas - 1) / ((double)(last_send - first_send) / 1e9),
		    n_meas, "req/s", "sends", NULL);
	else
		PUT("achieved_rate", false, 0, n_meas, "req/s", "sends",
		    "unavailable: fewer than 2 sends");
	if (have_dur && n_ok > 0) {
		PUT("request_throughput", true, n_ok / dur_s, n_ok, "req/s", "harness", NULL);
		if (n_out_known == n_ok && n_ok > 0)
			PUT("output_token_throughput", true, sum_out / dur_s, n_ok, "tok/s",
			    out_src, NULL);
		else
			PUT("output_token_throughput", false, 0, n_out_known, "tok/s", out_src,
			    "unavailable: output token counts unknown for some requests");
		if (n_out_known == n_ok && n_in_known == n_ok && n_ok > 0)
			PUT("total_token_throughput", true, (sum_in + sum_out) / dur_s, n_ok,
			    "tok/s", in_src, NULL);
		else
			PUT("total_token_throughput", false, 0, n_in_known, "tok/s", "harness",
			    "unavailable: prompt or output token counts unknown for some requests");
		if (has_slo)
			PUT("goodput", true, n_good / dur_s, n_good, "req/s", "slo", NULL);
		else
			PUT("goodput", false, 0, -1, "req/s", "slo",
			    "unavailable: the workload sets no slo");
	} else {
		const char *why = have_dur ? NO_OK : "unavailable: no measured request";

		PUT("request_throughput", false, 0, 0, "req/s", "harness", why);
		PUT("output_token_throughput", false, 0, 0, "tok/s", "harness", why);
		PUT("total_token_throughput", false, 0, 0, "tok/s", "harness", why);
		PUT("goodput", false, 0, 0, "req/s", "slo", why);
	}
	sc.n_shards = n_shards > 0 ? n_shards : 1;
	sc.keep[COL_TTFT] = n_ttft <= (long)MERGE_MEM_VALUES;
	sc.keep[COL_TPOT] = n_tpot <= (long)MERGE_MEM_VALUES;
	sc.keep[COL_E2E] = n_e2e <= (long)MERGE_MEM_VALUES;
	sc.keep[COL_LAG] = n_lag <= (long)MERGE_MEM_VALUES;
	rc = level_scan(c, &sc);
	if (!rc) {
		stats_compute(sc.itl.v, sc.itl.n, &s);
		itl_seen = sc.itl_seen;
	}
	if (rc || (rc = col_stats(c, &sc, COL_TTFT, "ttft_ms", n_ttft, &s_ttft)) ||
	    (rc = emit_stats(
		     c, &s_ttft, "ttft", "harness",
		     "unavailable: no request produced a token (non-streamed responses have no TTFT)")) ||
	    (rc = col_stats(c, &sc, COL_TPOT, "tpot_ms", n_tpot, &s_ttft)) ||
	    (rc = emit_stats(c, &s_ttft, "tpot", out_src,
			     "unavailable: no request with 2 or more known output tokens")) ||
	    (rc = emit_stats(c, &s, "itl",
			     itl_seen > LEVEL_MAX_ITL ? "chunk gaps (reservoir sample)"
						      : "chunk gaps",
			     "unavailable: no request with 2 or more chunks")) ||
	    (rc = col_stats(c, &sc, COL_E2E, "e2e_ms", n_e2e, &s_ttft)) ||
	    (rc = emit_stats(c, &s_ttft, "e2e", "harness", "unavailable: no successful request")) ||
	    (rc = col_stats(c, &sc, COL_LAG, "lag_ms", n_lag, &s_ttft)) ||
	    (rc = emit_stats(c, &s_ttft, "lag", "t_send - t_scheduled",
			     "unavailable: no request sent"))) {
		scan_release(&sc);
		return rc;
	}
	/* how well the shards started together: spread of their first measured sends */
	for (k = 0; k < sc.n_shards; k++) {
		int64_t f = sc.first_send[k];

		if (!f)
			continue;
		if (!spread_n++ || f < spread_lo)
			spread_lo = f;
		if (spread_n == 1 || f > spread_hi)
			spread_hi = f;
	}
	scan_release(&sc);
	if (n_in_known > 0)
		PUT("prompt_tokens_mean", true, sum_in / n_in_known, n_in_known, "tokens", in_src,
		    NULL);
	else
		PUT("prompt_tokens_mean", false, 0, 0, "tokens", "harness",
		    "unavailable: prompt token counts unknown");
	if (n_out_known > 0)
		PUT("output_tokens_mean", true, sum_out / n_out_known, n_out_known, "tokens",
		    out_src, NULL);
	else
		PUT("output_tokens_mean", false, 0, 0, "tokens", "harness",
		    "unavailable: output token counts unknown");
	if (n_speed > 0)
		PUT("decode_speed_mean", true, speed_mean, (double)n_speed, "tok/s", "1/TPOT",
		    NULL);
	else
		PUT("decode_speed_mean", false, 0, 0, "tok/s", "1/TPOT",
		    "unavailable: no TPOT sample");

	if (spread_n >= 2)
		PUT("shard_start_spread_ms", true, (double)(spread_hi - spread_lo) / 1e6, spread_n,
		    "ms", "first measured send of each shard, wall clock through the anchors",
		    NULL);
	else
		PUT("shard_start_spread_ms", false, 0, spread_n, "ms", "merge",
		    "unavailable: fewer than 2 shards sent requests in this level");
	return 0;
}
