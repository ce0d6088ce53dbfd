/* query_cli.h: the queries behind the CLI's listings (runs, vLLM's per-level results), kept
 * here with the other report queries so that SQL text lives only in the store and reports/query*. */
#ifndef LB_REPORTS_QUERY_CLI_H
#define LB_REPORTS_QUERY_CLI_H

#include "../metrics/store.h"

#include <stdbool.h>

/* One row: count of a 'pid' column in runs (stores made before runs.pid have none). */
int query_runs_has_pid(struct store *st, store_row_fn *fn, void *ctx, struct lb_error *err);
/* Every run, oldest first: name, status, started_at, ended_at, duration s, workload name and
 * path, backends (comma separated), measured ok, measured failed, warm-up, host, version, note,
 * pid (NULL without the column). */
int query_runs_list(struct store *st, bool has_pid, store_row_fn *fn, void *ctx,
		    struct lb_error *err);
/* The levels of run: id, backend, model, mode, value, idx, rep, duration_s, goodput, valid,
 * invalid_reason. */
int query_vllm_levels(struct store *st, const char *run, store_row_fn *fn, void *ctx,
		      struct lb_error *err);
/* The measured requests of a level (id as text): status, error, ttft_ms, tpot_ms, e2e_ms,
 * prompt_tokens, output_tokens, chunk_times, chunk_tokens, t_send_ns, t_end_ns, output_text. */
int query_vllm_requests(struct store *st, const char *level_id, store_row_fn *fn, void *ctx,
			struct lb_error *err);

/* Run names, oldest first. */
int query_run_names(struct store *st, store_row_fn *fn, void *ctx, struct lb_error *err);
/* The requests of a run (id as text) for `llmbench export`, in request order, warm-up left out
 * when no_warmup is "1": the export columns (harness/cmd_export.c), the chunk blobs, the
 * level's energy_j, its measured ok tokens and how many of those are unknown; with sessions,
 * then each request's session, conversation and turn (session_turns; NULL for none). */
int query_export_requests(struct store *st, const char *run_id, const char *no_warmup,
			  bool sessions, store_row_fn *fn, void *ctx, struct lb_error *err);
/* The sessions of a run (id as text) for `llmbench export --sessions`, by level and session,
 * warm-up left out when no_warmup is "1": run, backend, level, level_mode, level_value, rep,
 * session, conversation, warmup, outcome, turns_answered, duration_ms (first send to the end),
 * first_ttft_ms, later_ttft_mean_ms, t_start_ns, t_first_send_ns, t_end_ns. A store without
 * the session_ends table gives no rows. */
int query_export_sessions(struct store *st, const char *run_id, const char *no_warmup,
			  store_row_fn *fn, void *ctx, struct lb_error *err);
/* Its columns' names, in order (the query names them the same), NULL-terminated. */
extern const char *const query_export_session_cols[];
/* Whether a run (id as text) played multi-turn sessions (rows in session_turns; a store made
 * before that table has none). */
int query_run_has_sessions(struct store *st, const char *run_id, bool *yes, struct lb_error *err);

#endif
