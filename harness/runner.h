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

struct runner_opts {
	const char *run_name;  /* NULL: generated */
	const char *resume_run; /* continue this interrupted run (same store) instead of a new one */
	const char *cache_dir; /* quantized-model cache for model matrices */
	bool progress;	       /* draw a progress line on stderr */
	bool keep_text;	       /* store output text of every request */
	double drain_s;	       /* on interrupt, wait this long for in-flight requests (default 2) */
	const char *host;      /* stored with the run */
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
	bool interrupted;
};

/* Run wl into st. Returns 0 when the run completed or was interrupted (see res), a negative
 * lb_errc when the harness itself failed (store, memory); the run row says which. */
int runner_run(const struct workload *wl, struct store *st, const struct runner_opts *o,
	       struct runner_result *res, struct lb_error *err);

#endif
