/* runner.h: runs a workload: for each backend, each level and repetition, schedules requests
 * (closed loop at a concurrency, or open loop at a rate), drives the backend, turns events into
 * request records, stores each finished request and the level's figures.
 *
 * A failure of a request or of one backend is recorded and the run goes on; a failure of the
 * store stops the run. Signals set runner_stop: 1 stops scheduling and drains in-flight
 * requests for at most drain_s, 2 (a second signal) cancels them at once. */
#ifndef LB_RUNNER_H
#define LB_RUNNER_H

#include "../metrics/store.h"
#include "workload.h"

#include <signal.h>

struct shard_run;
#include <stdbool.h>

extern volatile sig_atomic_t runner_stop;

/* Where a level stands, for a progress line drawn by the caller (at most every 250 ms, and
 * once more with final set when the level ends). */
struct runner_progress {
	const char *label; /* "<backend> <mode>=<value>[ (repeat)]" */
	long completed;    /* requests finished, warm-up included */
	long total;        /* requests the level will send, or -1 when bounded by duration */
	long errors;       /* measured requests that failed */
	double elapsed_s, duration_s; /* since the level began; the workload's duration_s */
	bool final;
};

struct runner_opts {
	const char *run_name;   /* NULL: generated */
	const char *resume_run; /* continue this interrupted run (same store) instead of a new one */
	const char *cache_dir;  /* quantized-model cache for model matrices */
	/* Progress of each level (NULL: none); the runner never prints. */
	void (*progress)(void *ctx, const struct runner_progress *p);
	void *progress_ctx;
	bool keep_text;    /* store output text of every request */
	double drain_s;    /* on interrupt, wait this long for in-flight requests (default 2) */
	const char *host;  /* stored with the run */
	bool no_preflight; /* skip the pre-flight request to each remote backend */
	/* Messages for the user ("warning: ...", "preparing ..."); the runner never prints. */
	void (*note)(void *ctx, const char *msg);
	void *note_ctx;
	struct shard_run *shard; /* a shard of a sharded run (shard.h), or NULL */
};

struct runner_result {
	int64_t run_id;
	char run_name[256];
	int backends_failed; /* backends that could not be opened */
	long requests_ok, requests_failed;
	int levels_no_success;   /* levels with no successful measured request: the run failed */
	int levels_client_bound; /* levels marked invalid because the harness set the pace */
	bool interrupted;
};

/* Run wl into st. Returns 0 when the run completed or was interrupted (see res), a negative
 * lb_errc when the harness itself failed (store, memory); the run row says which. Before
 * the first level, one pre-flight request goes to each remote backend: when one fails, the
 * result is LB_ERR_BACKEND naming the URL and the cause, and no run row is stored. A run with
 * a level that had no successful request returns 0 and is stored "failed" (see
 * res->levels_no_success). */
int runner_run(const struct workload *wl, struct store *st, const struct runner_opts *o,
	       struct runner_result *res, struct lb_error *err);

#endif
