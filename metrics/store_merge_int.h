/* store_merge_int.h: what metrics/store_merge.c and store_merge_fig.c share. Never included
 * outside metrics/store_merge*.c. */
#ifndef LB_STORE_MERGE_INT_H
#define LB_STORE_MERGE_INT_H

#include "store_int.h"
#include "store_merge.h"

struct lv_ctx {
	struct store *st;
	struct sqlite3 *db;
	const char *path;
	int64_t run_id, backend_id, level_id;
	struct lb_error *err;
};

struct sqlite3_stmt;
int merge_sql_fail(struct sqlite3 *db, struct lb_error *err, const char *what, const char *path);
struct sqlite3_stmt *merge_prep(struct sqlite3 *db, const char *sql, const char *path,
				struct lb_error *err);
/* A copy of column i's text, NULL for NULL. */
char *merge_dup_col(struct sqlite3_stmt *st, int i);
/* One figure of the level (or run) in c. */
int merge_put(struct lv_ctx *c, const char *metric, bool has, double v, double n, const char *unit,
	      const char *prov, const char *note);
/* merge_put through the struct lv_ctx *c in scope, returning its failure. */
#define PUT(...)                                     \
	do {                                         \
		int rc_ = merge_put(c, __VA_ARGS__); \
		if (rc_)                             \
			return rc_;                  \
	} while (0)
/* A level of the merged run, as recompute reads it (ids ascending). */
struct merge_level {
	int64_t id, backend_id;
	char mode[32];
	double value; /* the level's concurrency or rate */
};
struct merge_fig_stats {
	uint64_t spilled_values, spill_bytes; /* what the sort wrote to its temporary file */
};
/* Every figure of every level of the merged run from its rows, in one scan of them (what
 * level_agg_emit emits for one run, plus shard_start_spread_ms). budget: the values held in
 * memory before the sort spills (0: the default). */
int merge_run_figures(struct lv_ctx *c, const struct merge_level *lv, size_t n, int n_shards,
		      const struct wl_slo *slo, size_t budget, struct merge_fig_stats *fs);

/* The same figures from a thread that reads the shards' own stores while the copy runs (a new
 * OUT.db only: its rows are then exactly the shards' rows in the order given here). start it,
 * add each shard as its copy begins (map: its level ids to the merged ones, by the first;
 * last: no more will come), and finish once the copy is done: the thread is joined and the
 * figures written through c. abort on a failure (also safe on NULL). */
struct merge_fig;
int merge_fig_start(struct merge_fig **out, int n_shards, const struct wl_slo *slo, size_t budget,
		    struct lb_error *err);
int merge_fig_add(struct merge_fig *f, const char *path, int64_t run_id, int k, int n, int64_t off,
		  const int64_t (*map)[2], size_t n_map, bool last, struct lb_error *err);
int merge_fig_finish(struct merge_fig *f, struct lv_ctx *c, const struct merge_level *lv, size_t n,
		     struct merge_fig_stats *fs);
void merge_fig_abort(struct merge_fig *f);

/* The sessions' figures of each level (store_merge_sessions.c), after the level figures. */
int merge_session_figures(struct lv_ctx *c, const struct merge_level *lv, size_t n, int n_shards);
/* Copy a shard's evaluation rows and server scrapes (store_merge_eval.c), inside the shard's
 * copy; eval_rows: evals rows added. */
int merge_copy_side_tables(struct sqlite3 *db, const char *out_path, int64_t dst_run,
			   const struct merge_input *in, long *eval_rows, struct lb_error *err);

#endif
