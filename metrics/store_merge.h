/* store_merge.h: sharded runs in the store (docs/scale-out.md): the row a shard records about
 * itself, and the merge of the shards' stores into one run.
 *
 * The merge copies every request, backend, level, series point, server scrape and figure of
 * each shard's run, and each backend's evaluation rows (from one shard), into one run (ATTACH
 * and INSERT ... SELECT: rows never pass through llmbench's memory), puts every shard's
 * CLOCK_MONOTONIC times on the wall clock through its anchor (a merged run's *_ns are
 * CLOCK_REALTIME ns), then recomputes each level's figures from the union of its rows in one
 * scan: exact percentiles through an external sort (xsort.h), so memory does not grow with the
 * rows; throughput over the union's window. The shards' own figures are kept in
 * shard_summaries. */
#ifndef LB_STORE_MERGE_H
#define LB_STORE_MERGE_H

#include "level.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

struct store_shard {
	int shard, n_shards;
	const char *group;  /* what the shards of one run share (Slurm job id, ...), or NULL */
	const char *split;  /* "load" or "cell" */
	const char *engine; /* "option", "slurm array", "slurm tasks", "kubernetes" */
	const char *host;
	const char *start_at; /* ISO 8601 UTC of --start-at, or NULL */
	uint64_t anchor_realtime_ns, anchor_monotonic_ns, anchor_read_gap_ns;
	bool have_adj; /* adjtimex answered; else the clock fields are NULL */
	bool synced;
	long esterror_us, maxerror_us;
};
int store_shard_put(struct store *s, int64_t run_id, const struct store_shard *sh,
		    struct lb_error *err);

#define MERGE_MAX_INPUTS 4096

/* One input store, as inspected. */
struct merge_input {
	const char *path;
	char run_name[256];
	int64_t run_id;
	int shard, n_shards;
	char group[128];
	bool have_group;
	char status[16];
	int64_t anchor_off_ns; /* anchor_realtime_ns - anchor_monotonic_ns */
	bool dup;              /* the same shard came in an earlier input: adds nothing */
	long rows;             /* requests */
};

struct merge_plan {
	struct merge_input *in; /* owned */
	size_t n_in;
	int n_shards;
	char *workload_json; /* owned: the shards' common workload text */
	char *workload_name, *workload_path;
	char *version;
};

/* Open every input read-only and check that they are shards of one run: one sharded run per
 * store, the same workload text, shard count and group. A store that is not an llmbench store,
 * is truncated or corrupt, holds no shard, or belongs to another run is LB_ERR_USAGE naming
 * it. Nothing is written. */
int store_merge_inspect(const char *const *paths, size_t n, struct merge_plan *plan,
			struct lb_error *err);
void store_merge_plan_release(struct merge_plan *plan);

typedef void merge_note_fn(void *ctx, const char *msg);

struct merge_opts {
	const char *run_name; /* NULL: the shards' run name */
	struct wl_slo slo;    /* for goodput, from the workload */
	merge_note_fn *note;  /* messages for the user ("shard 1/4 given twice ...") */
	bool timing;          /* note each phase's wall and CPU seconds */
	void *note_ctx;
	size_t sort_values; /* values the figures hold in memory before their sort spills
			       * to a temporary file (0: 524288, 4 MiB) */
};

struct merge_result {
	int64_t run_id;
	char run_name[256];
	int shards_present, shards_added, n_shards;
	char missing[512]; /* "2, 3" or "" */
	long rows_added;
	long evals_added; /* evaluation rows (evals) added */
	long levels;
	uint64_t spilled_values; /* values the figures' sort wrote to its temporary file */
};

/* Merge the plan's shards into out_path (a new store, or one that holds this merged run
 * already: shards merged before add nothing). A new store is built beside out_path and renamed
 * into place at the end, so a failure leaves nothing. */
int store_merge(const char *out_path, const struct merge_plan *plan, const struct merge_opts *o,
		struct merge_result *res, struct lb_error *err);

#endif
