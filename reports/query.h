/* query.h: what reports, compare and plots read from the store, through store_query() only.
 *
 * report_data_load() reads runs, backends, levels and summaries into rows: one row per
 * backend x level index (repetitions folded into mean ± sd), one per backend for its
 * backend-wide figures (level_id 0: perplexity, QA, ...), one per run for run-wide figures.
 * Requests are never held here: report_requests_each() streams them one at a time. */
#ifndef LB_REPORT_QUERY_H
#define LB_REPORT_QUERY_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct report_run {
	int64_t id;
	char *name, *workload_name, *workload_path, *workload_json, *status; /* owned */
	char *started_at, *ended_at, *host, *version, *machine_json, *note; /* owned, may be NULL */
};

/* One metric of a row, folded over the row's repetitions. */
struct report_metric {
	char *name;    /* owned; the store's metric name */
	int n_reps;    /* repetitions with a value */
	int n_missing; /* repetitions where it is unavailable (NULL) */
	double value;  /* mean over repetitions with a value; NAN when none */
	double sd;     /* sd over repetitions (n_reps >= 2), else NAN */
	double n;      /* samples behind the figure (first repetition), -1 unknown */
	char *unit, *provenance, *note; /* owned, may be NULL (note: first non-NULL one) */
};

enum report_scope {
	REPORT_SCOPE_LEVEL,
	REPORT_SCOPE_BACKEND,
	REPORT_SCOPE_RUN
};

struct report_row {
	enum report_scope scope;
	size_t run;                                    /* index into report_data.runs */
	int64_t backend_id;                            /* 0 for run scope */
	char *backend, *type, *model, *family, *quant; /* owned, may be NULL */
	int idx;                                       /* level index (level scope) */
	int occ;      /* earlier levels of the backend with this mode and value: rows match on
		  * (mode, value, occ), so [1, 8] and [1, 2, 4, 8] pair their concurrency=8 */
	char *mode;   /* "concurrency", "rate", ... */
	double value; /* level value */
	int n_reps;   /* levels folded into this row */
	bool valid;   /* every folded level valid */
	char *invalid_reason;    /* owned: first reason, NULL when valid */
	char *status;            /* owned: level status (first non-"done" one wins) */
	int64_t *level_ids;      /* owned, n_reps of them */
	struct report_metric *m; /* owned, sorted by name */
	size_t n_m;
};

struct report_data {
	struct report_run *runs;
	size_t n_runs;
	struct report_row *rows; /* per run: level rows (backend, idx), then backend, then run */
	size_t n_rows;
	char **metrics; /* every metric name present, in fields_cmp order (owned) */
	size_t n_metrics;
};

/* Load the named runs (n == 0: the latest run by id). An unknown run is LB_ERR_USAGE naming
 * it; an empty store is LB_ERR_USAGE too. On error d is left empty. */
int report_data_load(struct report_data *d, struct store *st, const char *const *runs, size_t n,
		     struct lb_error *err);
void report_data_release(struct report_data *d);
/* The metric of a row, or NULL when the row has no such figure. */
const struct report_metric *report_row_metric(const struct report_row *r, const char *name);
/* Every run of d stored power_requested = 0: its workload asked for no power figures (no
 * "power" section, or bench), so views leave energy out instead of listing it unavailable. */
bool report_data_power_unasked(const struct report_data *d);
/* Whether a figure of the row comes from a synthetic (random-weight, `llmbench model make`)
 * model: the run stored its note as "synthetic: ..." (harness/runner.c, harness/evalrun.c). */
bool report_row_synthetic(const struct report_row *r);
/* The caveat every view of such a row shows beside its scores, perplexity or KL divergence. */
#define REPORT_SYNTHETIC_CAVEAT                                                                    \
	"synthetic model (random weights, made by `llmbench model make`): its scores, perplexity " \
	"and KL divergence say nothing about a real model"
/* "concurrency=4", "rate=2.5", ... written to buf. */
const char *report_row_level(const struct report_row *r, char *buf, size_t len);
/* The level value as text ("4", "2.5"). */
const char *report_fmt_level_value(double v, char *buf, size_t len);

/* One request as the report sees it; valid only during the callback. */
struct report_request {
	int64_t run_id, backend_id, level_id;
	int64_t req_id;
	bool warmup, ok;
	const char *status, *error, *finish_reason; /* may be NULL */
	int http_status;
	double ttft_ms, tpot_ms, e2e_ms, lag_ms; /* NAN when unknown */
	int64_t t_send_ns, t_end_ns;             /* 0 when unknown */
	long prompt_tokens, output_tokens;       /* -1 unknown */
	const char *prompt_tokens_source, *output_tokens_source;
	long n_chunks; /* chunks decoded into chunk_off_ns (may be fewer than stored) */
	const uint64_t *chunk_off_ns; /* arrival of each chunk, ns after t_send */
	const int32_t *chunk_n;       /* tokens per chunk (-1 unknown), NULL when not stored */
};
typedef int report_request_fn(void *ctx, const struct report_request *rq); /* nonzero stops */
/* Stream the requests of a run in id order. Chunk arrays are decoded into buffers reused from
 * one request to the next (at most REPORT_MAX_CHUNKS per request). */
#define REPORT_MAX_CHUNKS 65536
int report_requests_each(struct store *st, int64_t run_id, report_request_fn *fn, void *ctx,
			 struct lb_error *err);

/* One point of a raw series (power samples, ...). */
typedef int report_series_fn(void *ctx, int64_t backend_id, int64_t level_id, const char *series,
			     int64_t t_ns, double value);
int report_series_each(struct store *st, int64_t run_id, report_series_fn *fn, void *ctx,
		       struct lb_error *err);

/* First t_send of the measured requests of each level of a run (for level markers on time
 * plots): fn(ctx, level_id, t_ns). */
typedef int report_level_time_fn(void *ctx, int64_t level_id, int64_t t_first_ns,
				 int64_t t_last_ns);
int report_level_times(struct store *st, int64_t run_id, report_level_time_fn *fn, void *ctx,
		       struct lb_error *err);

#endif
