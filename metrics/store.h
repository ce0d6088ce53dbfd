/* store.h: the SQLite store, the only module that includes <sqlite3.h>.
 *
 * Runs, backends, levels, requests (one row each, chunk times as compact blobs), summaries
 * (one row per figure, with unit and provenance; unavailable figures have value NULL and a
 * note) and raw series (power samples, ...). WAL journal; requests are written in batched
 * transactions committed at least every commit interval, so a killed run keeps every request
 * finished before the last commit. Bound parameters only. Schema: docs/schema.md. */
#ifndef LB_STORE_H
#define LB_STORE_H

#include "../base/error.h"
#include "record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

#define STORE_SCHEMA_VERSION 1

/* Open or create path (schema created or checked). readonly: fail if missing, never write. */
int store_open(struct store **out, const char *path, bool readonly, struct lb_error *err);
/* Commit what is pending and close; NULL-safe. */
void store_close(struct store *s);
/* Commit pending rows now. */
int store_flush(struct store *s, struct lb_error *err);
/* Batching: commit when this many rows are pending or this long since the batch began
 * (checked on each write and by store_tick; defaults 256 rows, 200 ms; 0 commits each row). */
void store_set_commit_policy(struct store *s, unsigned max_rows, unsigned max_ms);
/* Commit the open batch if its interval has passed: call it from an idle loop so that rows
 * are not held longer than max_ms when no further write comes. */
int store_tick(struct store *s, struct lb_error *err);
/* The path the store was opened with (owned by the store). */
const char *store_path(const struct store *s);
/* The schema text (metrics/schema.sql, embedded); static. */
const char *store_schema_sql(void);

struct store_run {
	const char *name; /* unique in the store; NULL: generated
				    * "<workload>-<YYYYmmdd-HHMMSS>" (UTC), then -2, -3, ... */
	const char *workload_name;
	const char *workload_path;
	const char *workload_json; /* effective workload text (secrets never in it) */
	const char *host;
	const char *version;
	const char *machine_json; /* optional: cpu, cores, memory */
};
/* Insert a run with status "running"; *run_id and the final name (owned by the store until
 * close, via *name_out) are returned. A name that exists already is a usage error. */
int store_run_begin(struct store *s, const struct store_run *r, int64_t *run_id,
		    const char **name_out, struct lb_error *err);
/* status: "done", "interrupted", "failed". Commits. */
int store_run_end(struct store *s, int64_t run_id, const char *status, const char *note,
		  struct lb_error *err);
/* Look a run up by name; LB_ERR_USAGE naming the run when absent. */
int store_run_find(struct store *s, const char *name, int64_t *run_id, struct lb_error *err);
/* Whether the store holds any run. */
int store_has_runs(struct store *s, bool *yes, struct lb_error *err);

struct store_backend {
	const char *name, *type, *model, *family, *quant;
	const char *config_json; /* redacted: no keys, no credentials in URLs */
};
int store_backend_add(struct store *s, int64_t run_id, const struct store_backend *b,
		      int64_t *backend_id, struct lb_error *err);

struct store_level {
	int idx;          /* position in the sweep */
	int rep;          /* repetition, 0-based */
	const char *mode; /* "concurrency", "rate", ... */
	double value;     /* concurrency or rate */
};
int store_level_begin(struct store *s, int64_t run_id, int64_t backend_id,
		      const struct store_level *lv, int64_t *level_id, struct lb_error *err);
/* status: "done", "interrupted", "failed"; valid = false with a reason marks it invalid. */
int store_level_end(struct store *s, int64_t level_id, const char *status, bool valid,
		    const char *invalid_reason, struct lb_error *err);

/* Queue one finished request (warm-up ones too); committed per the policy. */
int store_request_add(struct store *s, int64_t run_id, const struct lb_reqrec *r,
		      struct lb_error *err);

/* One figure. level_id / backend_id may be 0 for run-wide figures. has_value false stores NULL
 * with note "unavailable: <reason>". */
struct store_summary {
	int64_t run_id, backend_id, level_id;
	const char *metric; /* "ttft_p50_ms" - unit in the name */
	bool has_value;
	double value;
	double n;               /* samples behind it, or -1 */
	const char *unit;       /* "ms", "req/s", "tok/s", "J", ... */
	const char *provenance; /* "usage", "events", "rapl:package-0", ... */
	const char *note;       /* "unavailable: ...", "synthetic", NULL */
};
int store_summary_put(struct store *s, const struct store_summary *sm, struct lb_error *err);

/* A raw time series point (power samples, ...). */
int store_series_add(struct store *s, int64_t run_id, int64_t backend_id, int64_t level_id,
		     const char *series, uint64_t t_ns, double value, struct lb_error *err);

/* Generic read access for exports, reports and the gate, so that no other module includes
 * sqlite3.h. Parameters are bound as text (column affinity applies; a NULL param binds NULL).
 * The row is lent: valid only during the callback. A blob's text form is "" (not NULL). */
enum store_col_type {
	STORE_NULL,
	STORE_INT,
	STORE_REAL,
	STORE_TEXT,
	STORE_BLOB
};
struct store_row {
	int n_cols;
	const char *const *names; /* column names */
	const int *types;         /* enum store_col_type */
	const char *const *text;  /* text form of each value (NULL for NULL) */
	const double *num;        /* numeric form (NAN for NULL/non-numeric) */
	const void *const *blob;  /* blob bytes (STORE_BLOB) */
	const int *blob_len;
};
typedef int store_row_fn(void *ctx, const struct store_row *row); /* nonzero stops */
int store_query(struct store *s, const char *sql, const char *const *params, size_t n_params,
		store_row_fn *fn, void *ctx, struct lb_error *err);
/* Execute a statement with no rows (for small writes by other modules, e.g. eval tables
 * created with CREATE TABLE IF NOT EXISTS). Joins the current batch. */
int store_exec(struct store *s, const char *sql, const char *const *params, size_t n_params,
	       struct lb_error *err);

/* Resume (store_resume.c): what `run --resume` reads back and reopens. */
struct store_run_workload {
	bool found;
	char *text, *path, *status; /* owned; NULL when the column is NULL */
	char *host;                 /* owned: the host that ran it, NULL unknown */
	long pid;                   /* its process there, 0 unknown */
};
/* The stored workload text, path and status of run `name` (found false when absent). */
int store_run_workload(struct store *s, const char *name, struct store_run_workload *w,
		       struct lb_error *err);
void store_run_workload_release(struct store_run_workload *w);
/* Mark a stored run running again (ended_at cleared). */
int store_run_reopen(struct store *s, int64_t run_id, struct lb_error *err);
/* The id of backend `name` of the run, 0 when absent. */
int store_backend_find(struct store *s, int64_t run_id, const char *name, int64_t *backend_id,
		       struct lb_error *err);
/* The level (idx, rep) of a backend: *level_id 0 when absent, *done when it finished. */
int store_level_find(struct store *s, int64_t run_id, int64_t backend_id, int idx, int rep,
		     int64_t *level_id, bool *done, struct lb_error *err);
/* Whether a finished level had no successful request (nor one abandoned on purpose): a resumed
 * run counts it as a new one would (docs/METRICS.md, validity 1). */
int store_level_no_success(struct store *s, int64_t level_id, bool *none, struct lb_error *err);
/* Reopen a level: its cancelled requests are deleted (they run again), or with drop_all every
 * request, figure and series point of it; status back to running. */
int store_level_reopen(struct store *s, int64_t level_id, bool drop_all, struct lb_error *err);
/* Delete a backend's eval rows (evals, mc_choices, eval_texts): a resumed backend runs its
 * eval phase again from the start, so a half-done or finished phase is not stored twice. */
int store_backend_evals_drop(struct store *s, int64_t backend_id, struct lb_error *err);
/* Each stored request of a level, in storage order, as a record (lent during the call; token
 * counts have provenance "stored"). fn returns nonzero to stop. */
typedef int store_request_fn(void *ctx, const struct lb_reqrec *r);
int store_level_requests(struct store *s, int64_t level_id, store_request_fn *fn, void *ctx,
			 struct lb_error *err);

/* The levels of a run in order, one row each (store_levels.c): backend name, "<mode>=<value>"
 * (" rN" for a repetition), level id, valid, then the figures requests_ok, requests_failed,
 * request_throughput, output_token_throughput, ttft_p50_ms, ttft_p99_ms, tpot_p50_ms,
 * e2e_p50_ms (NULL when unavailable). */
int store_level_table(struct store *s, int64_t run_id, store_row_fn *fn, void *ctx,
		      struct lb_error *err);

#endif
