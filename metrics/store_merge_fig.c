/* store_merge_fig.c: a merged run's level figures from the union of its rows (store_merge.h):
 * the metrics, units and notes of a single run (level.c), percentiles exact. One sequential
 * scan of the run's rows feeds every level's counters at once; the latency columns go to
 * xsort.h's columns (sorted runs spill to a temporary file beyond a fixed budget), so memory
 * does not grow with the rows. */
#include "store_merge_int.h"

#include "../base/alloc.h"
#include "../base/vec.h"
#include "record.h"
#include "stats.h"
#include "xsort.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define NO_OK "unavailable: no successful request"

enum {
	COL_TTFT,
	COL_TPOT,
	COL_E2E,
	COL_LAG,
	N_COLS
};

struct lv_fail {
	char *status; /* owned */
	long n;
};

/* What the scan gathers for one level: what the aggregate queries of a single level gave (in
 * the same order of rows, so that sums and the reservoir are the same), its latency columns
 * and its chunk gaps in row order. */
struct lv_acc {
	int64_t id;                   /* the merged level's id */
	const struct merge_level *lv; /* set when the figures are emitted */
	long n_ok, n_failed, n_warm, n_good, n_speed, n_in, n_out;
	bool have_send, have_end;
	int64_t first_send, last_send, last_end;
	double sum_in, sum_out, speed_sum;
	char *in_src, *out_src; /* the first source seen (owned) */
	bool in_mixed, out_mixed;
	struct lv_fail *fails;
	size_t n_fails, fails_alloc;
	int64_t *first_send_k; /* per shard, 0: none */
	struct xcol col[N_COLS];
	struct xcol itl;   /* every chunk gap while there are at most LEVEL_MAX_ITL */
	uint64_t itl_seen; /* chunk gaps */
	uint64_t n_chunks; /* the successful requests' chunks */
	uint64_t itl_zero; /* chunk gaps of exactly 0 */
	/* more than LEVEL_MAX_ITL: the reservoir sample (itl_samples) */
	struct xcol itl_sample;
	uint8_t *taken;  /* one bit per slot */
	uint64_t back_i; /* the walk from the last gap: the next gap's index, plus one */
};

struct scan {
	struct xsort xs;
	struct lv_acc *acc; /* by id */
	size_t n, alloc;
	int n_shards;
	const struct wl_slo *slo;
	bool has_slo, oom;
};

static void acc_release(struct scan *sc, struct lv_acc *a)
{
	int64_t id;
	size_t i;

	lb_free(a->in_src);
	lb_free(a->out_src);
	for (i = 0; i < a->n_fails; i++)
		lb_free(a->fails[i].status);
	lb_free(a->fails);
	lb_free(a->first_send_k);
	for (i = 0; i < N_COLS; i++)
		xcol_release(&sc->xs, &a->col[i]);
	xcol_release(&sc->xs, &a->itl);
	xcol_release(&sc->xs, &a->itl_sample);
	lb_free(a->taken);
	id = a->id;
	memset(a, 0, sizeof(*a));
	a->id = id; /* released counters keep their place in the array */
}

static void scan_release(struct scan *sc)
{
	size_t i;

	for (i = 0; sc->acc && i < sc->n; i++)
		acc_release(sc, &sc->acc[i]);
	lb_free(sc->acc);
	xsort_free(&sc->xs);
	memset(sc, 0, sizeof(*sc));
}

static void scan_init(struct scan *sc, int n_shards, const struct wl_slo *slo, size_t budget)
{
	memset(sc, 0, sizeof(*sc));
	xsort_init(&sc->xs, budget);
	sc->n_shards = n_shards > 0 ? n_shards : 1;
	sc->slo = slo;
	sc->has_slo = slo->ttft_ms > 0 || slo->tpot_ms > 0 || slo->e2e_ms > 0;
}

/* count(DISTINCT source) > 1 ? 'mixed' : min(source) */
static void note_src(struct scan *sc, char **src, bool *mixed, const unsigned char *s)
{
	if (!s || *mixed)
		return;
	if (!*src) {
		*src = lb_strdup((const char *)s);
		sc->oom |= !*src;
	} else if (strcmp(*src, (const char *)s)) {
		*mixed = true;
	}
}

static void note_fail(struct scan *sc, struct lv_acc *a, const char *status)
{
	size_t i;

	for (i = 0; i < a->n_fails; i++)
		if (!strcmp(a->fails[i].status, status)) {
			a->fails[i].n++;
			return;
		}
	if (a->n_fails == a->fails_alloc) {
		size_t na = a->fails_alloc ? a->fails_alloc * 2 : 4;
		struct lv_fail *nf = lb_realloc(a->fails, na * sizeof(*nf));

		if (!nf) {
			sc->oom = true;
			return;
		}
		a->fails = nf;
		a->fails_alloc = na;
	}
	a->fails[a->n_fails].status = lb_strdup(status);
	sc->oom |= !a->fails[a->n_fails].status;
	a->fails[a->n_fails++].n = 1;
}

static bool slo_met(const struct wl_slo *slo, sqlite3_stmt *st)
{
	const double lim[3] = { slo->ttft_ms, slo->tpot_ms, slo->e2e_ms };
	int i;

	for (i = 0; i < 3; i++)
		if (lim[i] > 0 && (sqlite3_column_type(st, 3 + i) == SQLITE_NULL ||
				   !(sqlite3_column_double(st, 3 + i) <= lim[i])))
			return false;
	return true;
}

static struct lv_acc *find_acc(struct scan *sc, int64_t level_id, size_t *hint)
{
	size_t lo = 0, hi = sc->n;

	if (*hint < sc->n && sc->acc[*hint].id == level_id)
		return &sc->acc[*hint];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sc->acc[mid].id < level_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*hint = lo; /* where it would go */
	if (lo < sc->n && sc->acc[lo].id == level_id)
		return &sc->acc[lo];
	return NULL;
}

/* A level's counters, made when its first row is seen (the threaded scan does not know the
 * merged levels in advance); NULL: out of memory. */
static struct lv_acc *find_or_add_acc(struct scan *sc, int64_t level_id, size_t *hint)
{
	struct lv_acc *a = find_acc(sc, level_id, hint);
	int64_t *first_send_k;
	size_t at = *hint;

	if (a)
		return a;
	first_send_k = lb_calloc((size_t)sc->n_shards, sizeof(int64_t));
	if (!first_send_k || LB_ALLOC_GROW(sc->acc, sc->n + 1, sc->alloc)) {
		lb_free(first_send_k);
		return NULL;
	}
	memmove(&sc->acc[at + 1], &sc->acc[at], (sc->n - at) * sizeof(*sc->acc));
	sc->n++;
	a = &sc->acc[at];
	memset(a, 0, sizeof(*a));
	a->id = level_id;
	a->first_send_k = first_send_k;
	return a;
}

/* One row of the run into its level's counters. */
static void scan_row(struct scan *sc, struct lv_acc *a, sqlite3_stmt *st, uint64_t **t,
		     long *t_alloc)
{
	const char *status = (const char *)sqlite3_column_text(st, 2);
	bool ok = status && !strcmp(status, "ok");
	int i;

	if (sqlite3_column_int(st, 1)) {
		a->n_warm++;
		return; /* warm-up: in no figure */
	}
	if (ok)
		a->n_ok++;
	else {
		a->n_failed++;
		note_fail(sc, a, status ? status : "");
	}
	if (sqlite3_column_type(st, 10) != SQLITE_NULL) {
		int64_t ts = sqlite3_column_int64(st, 10), req = sqlite3_column_int64(st, 9);

		if (!a->have_send || ts < a->first_send)
			a->first_send = ts;
		if (!a->have_send || ts > a->last_send)
			a->last_send = ts;
		a->have_send = true;
		if (req >= 1) {
			int k = (int)((req - 1) % sc->n_shards);

			if (!a->first_send_k[k] || ts < a->first_send_k[k])
				a->first_send_k[k] = ts;
		}
	}
	if (sqlite3_column_type(st, 11) != SQLITE_NULL) {
		int64_t te = sqlite3_column_int64(st, 11);

		if (!a->have_end || te > a->last_end)
			a->last_end = te;
		a->have_end = true;
	}
	for (i = 0; i < N_COLS; i++)
		if ((ok || i == COL_LAG) && sqlite3_column_type(st, 3 + i) != SQLITE_NULL &&
		    xcol_push(&sc->xs, &a->col[i], sqlite3_column_double(st, 3 + i)))
			sc->oom = true;
	if (!ok)
		return;
	if (sqlite3_column_type(st, 12) != SQLITE_NULL) {
		a->n_in++;
		a->sum_in += sqlite3_column_type(st, 12) == SQLITE_INTEGER
				     ? (double)sqlite3_column_int64(st, 12)
				     : sqlite3_column_double(st, 12);
		note_src(sc, &a->in_src, &a->in_mixed, sqlite3_column_text(st, 13));
	}
	if (sqlite3_column_type(st, 14) != SQLITE_NULL) {
		a->n_out++;
		a->sum_out += sqlite3_column_type(st, 14) == SQLITE_INTEGER
				      ? (double)sqlite3_column_int64(st, 14)
				      : sqlite3_column_double(st, 14);
		note_src(sc, &a->out_src, &a->out_mixed, sqlite3_column_text(st, 15));
	}
	a->n_chunks += (uint64_t)sqlite3_column_int64(st, 7);
	if (sc->has_slo && slo_met(sc->slo, st))
		a->n_good++;
	if (sqlite3_column_type(st, 4) != SQLITE_NULL && sqlite3_column_double(st, 4) > 0) {
		a->n_speed++;
		a->speed_sum += 1000.0 / sqlite3_column_double(st, 4);
	}
	if (sqlite3_column_int64(st, 7) >= 2 && sqlite3_column_type(st, 8) == SQLITE_BLOB) {
		const uint8_t *p = sqlite3_column_blob(st, 8);
		size_t len = (size_t)sqlite3_column_bytes(st, 8);
		long n = (long)sqlite3_column_int64(st, 7), k;

		if (n > *t_alloc) {
			uint64_t *nt = lb_realloc(*t, (size_t)n * sizeof(**t));

			if (!nt) {
				sc->oom = true;
				return;
			}
			*t = nt;
			*t_alloc = n;
		}
		n = reqrec_decode_chunks(p, len, 0, *t, n);
		for (k = 1; k < n; k++) {
			if ((*t)[k] == (*t)[k - 1])
				a->itl_zero++;
			if (++a->itl_seen > LEVEL_MAX_ITL) {
				/* a reservoir sample: found by itl_sample once the count is known */
				if (a->itl.total)
					xcol_release(&sc->xs, &a->itl);
				continue;
			}
			if (xcol_push(&sc->xs, &a->itl,
				      (double)(int64_t)((*t)[k] - (*t)[k - 1]) / 1e6))
				sc->oom = true;
		}
	}
}

/* The sort's failure: its temporary file, or memory. */
static int scan_fail(struct scan *sc, struct lb_error *err)
{
	if (sc->xs.err_no)
		return lb_error_set(err, LB_ERR_IO,
				    "cannot use the temporary file of a merge's sort: %s",
				    strerror(sc->xs.err_no));
	return lb_error_set(err, LB_ERR_NOMEM, "out of memory recomputing the merged levels");
}

static int xs_fail(struct lv_ctx *c, struct scan *sc)
{
	return scan_fail(sc, c->err);
}

static int col_stats(struct lv_ctx *c, struct scan *sc, struct xcol *col, struct lb_stats *s)
{
	int rc = xcol_stats(&sc->xs, col, s) ? xs_fail(c, sc) : 0;

	xcol_release(&sc->xs, col);
	return rc;
}

/* The reservoir sample of chunk gaps level.c keeps when a level has more than LEVEL_MAX_ITL:
 * the first LEVEL_MAX_ITL gaps, then gap i (0-based, in row order) replaces slot rng % (i + 1)
 * when that is below LEVEL_MAX_ITL, rng being call i - LEVEL_MAX_ITL of a splitmix64 seeded
 * with its own increment. Only the sample's values matter (their statistics sort them), so it
 * is found without holding it: splitmix64 is a counter (call t returns mix((t + 2) *
 * increment)), and walking the gaps from the last (the level's rows again, newest first), a
 * gap is in the sample exactly when no later gap took its slot: one bit per slot. */
#define SM_INC 0x9e3779b97f4a7c15ull

static uint64_t splitmix_at(uint64_t t)
{
	uint64_t z = SM_INC * (t + 2);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Gap i of a level (walked from the last): into the sample if its slot is still free. */
static int itl_back(struct scan *sc, struct lv_acc *a, double gap)
{
	uint64_t i = --a->back_i, j = i;

	if (i >= LEVEL_MAX_ITL) {
		j = splitmix_at(i - LEVEL_MAX_ITL) % (i + 1);
		if (j >= LEVEL_MAX_ITL)
			return 0;
	}
	if (a->taken[j >> 3] & (1u << (j & 7)))
		return 0;
	a->taken[j >> 3] |= (uint8_t)(1u << (j & 7));
	return xcol_push(&sc->xs, &a->itl_sample, gap);
}

/* Ready the walk of every level with more than LEVEL_MAX_ITL gaps: the levels that need one,
 * or -1 when out of memory. */
static long itl_prepare(struct scan *sc)
{
	long need = 0;
	size_t i;

	for (i = 0; i < sc->n; i++) {
		struct lv_acc *a = &sc->acc[i];

		if (a->itl_seen <= LEVEL_MAX_ITL)
			continue;
		a->back_i = a->itl_seen;
		a->taken = lb_calloc(LEVEL_MAX_ITL / 8, 1);
		if (!a->taken)
			return -1;
		need++;
	}
	return need;
}

/* One row of the walk, newest first (columns: n_chunks, chunk_times): 0, or -1 when the sort
 * failed, -2 when out of memory. */
static int itl_row(struct scan *sc, struct lv_acc *a, sqlite3_stmt *st, uint64_t **t, long *t_alloc)
{
	long n = (long)sqlite3_column_int64(st, 1), k;

	if (!a || !a->taken || sqlite3_column_type(st, 2) != SQLITE_BLOB)
		return 0;
	if (n > *t_alloc) {
		uint64_t *nt = lb_realloc(*t, (size_t)n * sizeof(**t));

		if (!nt)
			return -2;
		*t = nt;
		*t_alloc = n;
	}
	n = reqrec_decode_chunks(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), 0,
				 *t, n);
	for (k = n - 1; k >= 1; k--) {
		if (!a->back_i) {
			a->back_i = UINT64_MAX; /* more gaps than the first scan saw */
			break;
		}
		if (itl_back(sc, a, (double)(int64_t)((*t)[k] - (*t)[k - 1]) / 1e6))
			return -1;
	}
	return 0;
}

/* Every walked level must have met exactly the gaps the first scan counted. */
static int itl_check(struct scan *sc, struct lb_error *err, const char *path)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		if (sc->acc[i].taken && sc->acc[i].back_i)
			return lb_error_set(err, LB_ERR_STORE,
					    "the chunk gaps of merged level %lld of '%s' changed "
					    "while it was being merged",
					    (long long)sc->acc[i].id, path);
	return 0;
}

/* Feeds the rows of st to the counters: forward, with scan_row's columns, or for the ITL
 * sample's walk, newest first, with (level_id, n_chunks, chunk_times). Each row's level is
 * mapped by src (NULL: as stored); a row of no mapped level is skipped. */
struct fig_src;
static int64_t map_level(const struct fig_src *s, int64_t id);
static int scan_rows(struct scan *sc, sqlite3 *db, sqlite3_stmt *st, const struct fig_src *src,
		     bool forward, const char *path, struct lb_error *err)
{
	uint64_t *t = NULL;
	long t_alloc = 0;
	size_t hint = 0;
	int step = SQLITE_DONE, rc = 0;

	while (!rc && !sc->oom && (step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		struct lv_acc *a;
		int r;

		if (src && !(id = map_level(src, id)))
			continue; /* not copied either */
		if (forward) {
			a = find_or_add_acc(sc, id, &hint);
			if (!a)
				sc->oom = true;
			else
				scan_row(sc, a, st, &t, &t_alloc);
			continue;
		}
		r = itl_row(sc, find_acc(sc, id, &hint), st, &t, &t_alloc);
		if (r == -1)
			sc->oom = true;
		else if (r)
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	if (!rc && sc->oom)
		rc = scan_fail(sc, err);
	else if (!rc && step != SQLITE_DONE)
		rc = merge_sql_fail(db, err, "read the rows of", path);
	lb_free(t);
	return rc;
}

/* The merged table's rows of the run (after the copy), first to last. */
static int run_scan(struct lv_ctx *c, struct scan *sc)
{
	static const char q[] =
		"SELECT level_id, warmup, status, ttft_ms, tpot_ms, e2e_ms, lag_ms, n_chunks,"
		" chunk_times, req_id, t_send_ns, t_end_ns, prompt_tokens, prompt_tokens_source,"
		" output_tokens, output_tokens_source FROM requests NOT INDEXED WHERE run_id = ?";
	sqlite3_stmt *st = merge_prep(c->db, q, c->path, c->err);
	int rc;

	if (!st)
		return c->err->code;
	sqlite3_bind_int64(st, 1, c->run_id);
	rc = scan_rows(sc, c->db, st, NULL, true, c->path, c->err);
	sqlite3_finalize(st);
	return rc;
}

/* The reservoir samples of every level with more than LEVEL_MAX_ITL gaps: one scan of the
 * run's rows, newest first. */
static int itl_samples(struct lv_ctx *c, struct scan *sc)
{
	static const char q[] =
		"SELECT level_id, n_chunks, chunk_times FROM requests NOT INDEXED WHERE run_id = ?"
		" AND warmup = 0 AND status = 'ok' AND n_chunks >= 2 ORDER BY id DESC";
	long need = itl_prepare(sc);
	sqlite3_stmt *st;
	int rc;

	if (need < 0)
		return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	if (!need)
		return 0;
	st = merge_prep(c->db, q, c->path, c->err);
	if (!st)
		return c->err->code;
	sqlite3_bind_int64(st, 1, c->run_id);
	rc = scan_rows(sc, c->db, st, NULL, false, c->path, c->err);
	sqlite3_finalize(st);
	return rc ? rc : itl_check(sc, c->err, c->path);
}

/* The chunk gaps' statistics: all of them, or the reservoir sample of a single run. */
static int itl_stats(struct lv_ctx *c, struct scan *sc, struct lv_acc *a, struct lb_stats *s)
{
	return col_stats(c, sc, a->itl_seen <= LEVEL_MAX_ITL ? &a->itl : &a->itl_sample, s);
}

/* How the level's chunks were timed (chunks_kernel_own, _read, chunks_harness, docs/METRICS.md
 * "Chunk timing"): not in the rows, so the sum of the shards' own figures, when they cover
 * every chunk of the level's successful requests (n_chunks); else unavailable, with why. */
static int chunk_src_put(struct lv_ctx *c, uint64_t n_chunks)
{
	sqlite3_stmt *q = merge_prep(
		c->db,
		"SELECT metric, count(*), count(value), sum(value), sum(n), max(unit),"
		" max(provenance), min(shard || ': ' || replace(note, 'unavailable: ', ''))"
		" FROM shard_summaries WHERE run_id = ?1 AND metric IN ('chunks_kernel_own',"
		" 'chunks_kernel_read', 'chunks_harness') AND level_id = ?2 GROUP BY metric"
		" ORDER BY metric",
		c->path, c->err);
	int rc = 0, step = SQLITE_DONE;

	if (!q)
		return c->err->code;
	sqlite3_bind_int64(q, 1, c->run_id);
	sqlite3_bind_int64(q, 2, c->level_id);
	while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
		const char *metric = (const char *)sqlite3_column_text(q, 0);
		const char *unit = (const char *)sqlite3_column_text(q, 5);
		const char *prov = (const char *)sqlite3_column_text(q, 6);
		const char *first_note = (const char *)sqlite3_column_text(q, 7);
		double n = sqlite3_column_double(q, 4);
		char note[400];

		if (sqlite3_column_int(q, 2) < sqlite3_column_int(q, 1)) {
			snprintf(note, sizeof(note), "unavailable: shard %s",
				 first_note ? first_note : "?");
			rc = merge_put(c, metric, false, 0, -1, unit, prov, note);
		} else if (n != (double)n_chunks) {
			/* a shard that does not state it, or whose part never ended (killed) */
			snprintf(note, sizeof(note),
				 "unavailable: the shards' figures cover %.0f of the level's %llu "
				 "chunks",
				 n, (unsigned long long)n_chunks);
			rc = merge_put(c, metric, false, 0, -1, unit, prov, note);
		} else {
			rc = merge_put(c, metric, true, sqlite3_column_double(q, 3), n, unit, prov,
				       NULL);
		}
	}
	if (!rc && step != SQLITE_DONE)
		rc = merge_sql_fail(c->db, c->err, "read the shards' chunk timing figures of",
				    c->path);
	sqlite3_finalize(q);
	return rc;
}

/* The requests the shards abandoned on purpose (load.cancel) in this level: the sum of their
 * requests_cancelled figures. Their rows say "cancelled" as a request cut by an interrupt
 * does, so the rows alone cannot tell them from failures; a single run counts them apart. */
static int abandoned_of(struct lv_ctx *c, double *n)
{
	sqlite3_stmt *q =
		merge_prep(c->db,
			   "SELECT coalesce(sum(value), 0) FROM shard_summaries WHERE"
			   " run_id = ?1 AND level_id = ?2 AND metric = 'requests_cancelled'",
			   c->path, c->err);
	int step;

	*n = 0;
	if (!q)
		return c->err->code;
	sqlite3_bind_int64(q, 1, c->run_id);
	sqlite3_bind_int64(q, 2, c->level_id);
	step = sqlite3_step(q);
	if (step == SQLITE_ROW)
		*n = sqlite3_column_double(q, 0);
	sqlite3_finalize(q);
	return step == SQLITE_ROW
		       ? 0
		       : merge_sql_fail(c->db, c->err, "read the shards' figures of", c->path);
}

/* Everything level_agg_emit (level.c) emits for one level, from what the scan gathered. */
static int level_emit(struct lv_ctx *c, struct scan *sc, struct lv_acc *a)
{
	const char *mode = a->lv->mode;
	double value = a->lv->value;
	/* n_meas: every measured request sent, abandoned ones included (as level.c) */
	double n_ok = (double)a->n_ok, n_failed = (double)a->n_failed, n_meas = n_ok + n_failed;
	double n_abandoned = 0;
	struct lv_fail *cancelled = NULL;
	double dur_s = 0;
	bool have_first = a->have_send, have_dur;
	int64_t first_send = a->first_send, last_send = a->last_send;
	int64_t last_end = a->have_end ? a->last_end : 0, spread_lo = 0, spread_hi = 0;
	char in_src[64], out_src[64], fname[64];
	struct lb_stats s;
	size_t i;
	int rc, k, spread_n = 0;

	c->level_id = a->lv->id;
	c->backend_id = a->lv->backend_id;
	snprintf(in_src, sizeof(in_src), "%s",
		 a->in_mixed ? "mixed"
		 : a->in_src ? a->in_src
			     : "unknown");
	snprintf(out_src, sizeof(out_src), "%s",
		 a->out_mixed ? "mixed"
		 : a->out_src ? a->out_src
			      : "unknown");
	rc = abandoned_of(c, &n_abandoned);
	if (rc)
		return rc;
	/* abandoned: neither ok nor failed, as level.c; taken out of the "cancelled" rows, or
	 * left there when the figures disagree with the rows */
	for (i = 0; i < a->n_fails; i++)
		if (!strcmp(a->fails[i].status, "cancelled"))
			cancelled = &a->fails[i];
	if (cancelled && n_abandoned > 0 && n_abandoned <= (double)cancelled->n) {
		cancelled->n -= (long)n_abandoned;
		n_failed -= n_abandoned;
	} else {
		n_abandoned = 0;
	}
	PUT("requests_ok", true, n_ok, -1, "requests", "harness", NULL);
	PUT("requests_failed", true, n_failed, -1, "requests", "harness", NULL);
	PUT("requests_warmup", true, (double)a->n_warm, -1, "requests", "harness", NULL);
	if (n_abandoned > 0)
		PUT("requests_cancelled", true, n_abandoned, -1, "requests", "harness",
		    "abandoned by the client on purpose (load.cancel): neither ok nor failed");
	for (i = 0; i < a->n_fails; i++) {
		if (!a->fails[i].n)
			continue;
		snprintf(fname, sizeof(fname), "requests_failed_%s", a->fails[i].status);
		PUT(fname, true, (double)a->fails[i].n, -1, "requests", "harness", NULL);
	}
	have_dur = have_first && last_end > first_send;
	if (have_dur)
		dur_s = (double)(last_end - first_send) / 1e9;
	if (have_dur)
		PUT("duration_s", true, dur_s, n_meas, "s", "first measured send to last end",
		    NULL);
	else
		PUT("duration_s", false, 0, n_meas, "s", "harness",
		    "unavailable: no measured request");
	if (!strcmp(mode, "rate") && value > 0)
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
		if (a->n_out == a->n_ok)
			PUT("output_token_throughput", true, a->sum_out / dur_s, n_ok, "tok/s",
			    out_src, NULL);
		else
			PUT("output_token_throughput", false, 0, (double)a->n_out, "tok/s", out_src,
			    "unavailable: output token counts unknown for some requests");
		if (a->n_out == a->n_ok && a->n_in == a->n_ok)
			PUT("total_token_throughput", true, (a->sum_in + a->sum_out) / dur_s, n_ok,
			    "tok/s", in_src, NULL);
		else
			PUT("total_token_throughput", false, 0, (double)a->n_in, "tok/s", "harness",
			    "unavailable: prompt or output token counts unknown for some requests");
		if (sc->has_slo)
			PUT("goodput", true, (double)a->n_good / dur_s, (double)a->n_good, "req/s",
			    "slo", NULL);
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
	if ((rc = col_stats(c, sc, &a->col[COL_TTFT], &s)) ||
	    (rc = emit_stats(
		     c, &s, "ttft", "harness",
		     "unavailable: no request produced a token (non-streamed responses have no TTFT)")) ||
	    (rc = col_stats(c, sc, &a->col[COL_TPOT], &s)) ||
	    (rc = emit_stats(c, &s, "tpot", out_src,
			     "unavailable: no request with 2 or more known output tokens")) ||
	    (rc = itl_stats(c, sc, a, &s)) ||
	    (rc = emit_stats(c, &s, "itl",
			     a->itl_seen > LEVEL_MAX_ITL ? "chunk gaps (reservoir sample)"
							 : "chunk gaps",
			     "unavailable: no request with 2 or more chunks")) ||
	    (rc = col_stats(c, sc, &a->col[COL_E2E], &s)) ||
	    (rc = emit_stats(c, &s, "e2e", "harness", "unavailable: no successful request")) ||
	    (rc = col_stats(c, sc, &a->col[COL_LAG], &s)) ||
	    (rc = emit_stats(c, &s, "lag", "t_send - t_scheduled", "unavailable: no request sent")))
		return rc;
	if (a->itl_seen)
		PUT("itl_zero_gaps", true, (double)a->itl_zero, (double)a->itl_seen, "gaps",
		    LEVEL_ZERO_GAPS_PROV, NULL);
	else
		PUT("itl_zero_gaps", false, 0, 0, "gaps", LEVEL_ZERO_GAPS_PROV,
		    "unavailable: no request with 2 or more chunks");
	/* how well the shards started together: spread of their first measured sends */
	for (k = 0; k < sc->n_shards; k++) {
		int64_t f = a->first_send_k[k];

		if (!f)
			continue;
		if (!spread_n++ || f < spread_lo)
			spread_lo = f;
		if (spread_n == 1 || f > spread_hi)
			spread_hi = f;
	}
	if (a->n_in > 0)
		PUT("prompt_tokens_mean", true, a->sum_in / (double)a->n_in, (double)a->n_in,
		    "tokens", in_src, NULL);
	else
		PUT("prompt_tokens_mean", false, 0, 0, "tokens", "harness",
		    "unavailable: prompt token counts unknown");
	if (a->n_out > 0)
		PUT("output_tokens_mean", true, a->sum_out / (double)a->n_out, (double)a->n_out,
		    "tokens", out_src, NULL);
	else
		PUT("output_tokens_mean", false, 0, 0, "tokens", "harness",
		    "unavailable: output token counts unknown");
	if (a->n_speed > 0)
		PUT("decode_speed_mean", true, a->speed_sum / (double)a->n_speed,
		    (double)a->n_speed, "tok/s", "1/TPOT", NULL);
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
	return chunk_src_put(c, a->n_chunks);
}

/* Every level of lv (ids ascending) from the counters; a level without rows gets empty ones,
 * counters of levels not in lv are dropped. */
static int emit_levels(struct lv_ctx *c, struct scan *sc, const struct merge_level *lv, size_t n,
		       struct merge_fig_stats *fs)
{
	size_t i, hint = 0;
	int rc = 0;

	for (i = 0; !rc && i < n; i++)
		if (i && lv[i].id <= lv[i - 1].id)
			rc = lb_error_set(c->err, LB_ERR_STORE, "merged levels out of order");
		else if (!find_or_add_acc(sc, lv[i].id, &hint))
			rc = lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; !rc && i < n; i++) {
		struct lv_acc *a = find_acc(sc, lv[i].id, &hint);

		a->lv = &lv[i];
		rc = level_emit(c, sc, a);
		acc_release(sc, a); /* its sorted columns, as soon as they are done */
	}
	if (fs) {
		fs->spilled_values = sc->xs.spilled;
		fs->spill_bytes = sc->xs.end;
	}
	return rc;
}

int merge_run_figures(struct lv_ctx *c, const struct merge_level *lv, size_t n, int n_shards,
		      const struct wl_slo *slo, size_t budget, struct merge_fig_stats *fs)
{
	struct scan sc;
	int rc;

	scan_init(&sc, n_shards, slo, budget);
	rc = run_scan(c, &sc);
	if (!rc)
		rc = itl_samples(c, &sc);
	if (!rc)
		rc = emit_levels(c, &sc, lv, n, fs);
	scan_release(&sc);
	return rc;
}

/* ---- the scan in a thread of its own, beside the copy (a new OUT.db) ----
 * The copy and the figures are independent work on the same rows: the thread reads each
 * shard's rows from the shard's own store, in the order the copy appends them (the shard's
 * rowid order), mapped and shifted as the copy maps and shifts them, so it sees the merged
 * table's rows in its rowid order: the same sums and the same sample as a scan of it. */

struct fig_src {
	char *path;
	int64_t run_id, off;
	int k, n;
	int64_t (*map)[2]; /* (shard's level id, merged level id), by the first */
	size_t n_map;
};

struct merge_fig {
	struct scan sc;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fig_src *src; /* grows; the thread reads an entry's copy */
	size_t n_src, alloc_src;
	bool closed, stop;
	struct lb_error err; /* the thread's */
	int rc;
};

static void fig_src_free(struct fig_src *s)
{
	lb_free(s->path);
	lb_free(s->map);
}

static int64_t map_level(const struct fig_src *s, int64_t id)
{
	size_t lo = 0, hi = s->n_map;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->map[mid][0] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n_map && s->map[lo][0] == id ? s->map[lo][1] : 0;
}

/* A source's rows, first to last (forward) or for the sample's walk, last to first. */
static int fig_scan_src(struct merge_fig *f, const struct fig_src *s, bool forward)
{
	static const char fq[] =
		"SELECT level_id, warmup, status, ttft_ms, tpot_ms, e2e_ms, lag_ms, n_chunks,"
		" chunk_times, (req_id - 1) * ?2 + ?3 + 1, t_send_ns + ?4, t_end_ns + ?4,"
		" prompt_tokens, prompt_tokens_source, output_tokens, output_tokens_source"
		" FROM requests NOT INDEXED WHERE run_id = ?1";
	static const char bq[] =
		"SELECT level_id, n_chunks, chunk_times FROM requests NOT INDEXED WHERE run_id = ?1"
		" AND warmup = 0 AND status = 'ok' AND n_chunks >= 2 ORDER BY rowid DESC";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	/* one thread per connection: no mutex around each column read */
	if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
		    SQLITE_OK ||
	    sqlite3_busy_timeout(db, STORE_BUSY_MS) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, forward ? fq : bq, -1, &st, NULL) != SQLITE_OK) {
		rc = merge_sql_fail(db, &f->err, "read the rows of", s->path);
	} else {
		sqlite3_bind_int64(st, 1, s->run_id);
		if (forward) {
			sqlite3_bind_int64(st, 2, s->n);
			sqlite3_bind_int64(st, 3, s->k);
			sqlite3_bind_int64(st, 4, s->off);
		}
		rc = scan_rows(&f->sc, db, st, s, forward, s->path, &f->err);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* Takes source i (a copy: the array may grow meanwhile), waiting for it; false when there
 * is none and none will come, or when told to stop. */
static bool fig_take(struct merge_fig *f, size_t i, struct fig_src *out)
{
	bool got;

	pthread_mutex_lock(&f->mu);
	while (i >= f->n_src && !f->closed && !f->stop)
		pthread_cond_wait(&f->cv, &f->mu);
	got = !f->stop && i < f->n_src;
	if (got)
		*out = f->src[i];
	pthread_mutex_unlock(&f->mu);
	return got;
}

static void *fig_main(void *arg)
{
	struct merge_fig *f = arg;
	struct fig_src s;
	size_t i, n = 0;
	long need;
	int rc = 0;

	for (i = 0; !rc && fig_take(f, i, &s); i++)
		rc = fig_scan_src(f, &s, true);
	if (!rc) {
		pthread_mutex_lock(&f->mu);
		n = f->stop ? 0 : f->n_src;
		pthread_mutex_unlock(&f->mu);
		need = n ? itl_prepare(&f->sc) : 0;
		if (need < 0)
			rc = lb_error_set(&f->err, LB_ERR_NOMEM, "out of memory");
		/* the sample's walk: the newest rows first, so the last source first */
		for (i = n; !rc && need > 0 && i-- > 0;) {
			bool stop;

			pthread_mutex_lock(&f->mu);
			s = f->src[i];
			stop = f->stop;
			pthread_mutex_unlock(&f->mu);
			if (stop)
				break; /* the merge failed: nothing will read the figures */
			rc = fig_scan_src(f, &s, false);
		}
	}
	f->rc = rc;
	return NULL;
}

int merge_fig_start(struct merge_fig **out, int n_shards, const struct wl_slo *slo, size_t budget,
		    struct lb_error *err)
{
	struct merge_fig *f = lb_calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	scan_init(&f->sc, n_shards, slo, budget);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pthread_create(&f->th, NULL, fig_main, f)) {
		merge_fig_abort(f);
		return lb_error_set(err, LB_ERR_NOMEM, "cannot start the merge's figures thread");
	}
	f->started = true;
	*out = f;
	return 0;
}

int merge_fig_add(struct merge_fig *f, const char *path, int64_t run_id, int k, int n, int64_t off,
		  const int64_t (*map)[2], size_t n_map, bool last, struct lb_error *err)
{
	struct fig_src s = { 0 };
	int rc = 0;

	s.path = lb_strdup(path);
	s.map = lb_malloc((n_map ? n_map : 1) * sizeof(*s.map));
	if (!s.path || !s.map) {
		fig_src_free(&s);
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	if (n_map)
		memcpy(s.map, map, n_map * sizeof(*s.map));
	s.n_map = n_map;
	s.run_id = run_id;
	s.k = k;
	s.n = n;
	s.off = off;
	pthread_mutex_lock(&f->mu);
	if (LB_ALLOC_GROW(f->src, f->n_src + 1, f->alloc_src))
		rc = LB_ERR_NOMEM;
	else
		f->src[f->n_src++] = s;
	if (last)
		f->closed = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	if (rc) {
		fig_src_free(&s);
		return lb_error_set(err, rc, "out of memory");
	}
	return 0;
}

/* Stops the thread (when told to) and waits for it. */
static void fig_join(struct merge_fig *f, bool stop)
{
	if (!f->started)
		return;
	pthread_mutex_lock(&f->mu);
	f->closed = true;
	f->stop = f->stop || stop;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->th, NULL);
	f->started = false;
}

void merge_fig_abort(struct merge_fig *f)
{
	size_t i;

	if (!f)
		return;
	fig_join(f, true);
	for (i = 0; i < f->n_src; i++)
		fig_src_free(&f->src[i]);
	lb_free(f->src);
	scan_release(&f->sc);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	lb_free(f);
}

int merge_fig_finish(struct merge_fig *f, struct lv_ctx *c, const struct merge_level *lv, size_t n,
		     struct merge_fig_stats *fs)
{
	int rc;

	fig_join(f, false);
	if (f->rc)
		rc = lb_error_set(c->err, f->err.code ? f->err.code : f->rc, "%s", f->err.msg);
	else
		rc = itl_check(&f->sc, c->err, c->path);
	if (!rc)
		rc = emit_levels(c, &f->sc, lv, n, fs);
	merge_fig_abort(f);
	return rc;
}
