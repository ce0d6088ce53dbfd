/* runner_int.h: what the runner's files share (not for other modules; see runner.h).
 *
 *   runner.c         the run, its backends, and each level's bookkeeping (figures, validity)
 *   runner_level.c   the slot loop of one level: submit, reap, closed and open loop, cancel
 *   runner_resume.c  continuing an interrupted run (levels found again, requests read back)
 *   runner_ppl.c     the perplexity phase of an in-process backend
 *   runner_search.c  load modes "sweep" and "sla" (levels chosen from earlier levels)
 *   runner_sessions.c  load modes "sessions" and "session_rate" (multi-turn conversations) */
#ifndef LB_RUNNER_INT_H
#define LB_RUNNER_INT_H

#include "runner_prom.h"
#include "runner.h"

#include "../backends/backend.h"
#include "../datasets/dataset.h"
#include "../metrics/level.h"
#include "../metrics/power.h"

#include <stdbool.h>
#include <stdint.h>

#include "../base/handoff.h"
#include "../metrics/record.h"

struct level_run;
struct runner_pool; /* worker threads (runner_workers.c) */

#define RUNNER_MAX_WORKERS 256
/* open loop with workers: arrivals are handed to a worker this long before their time */
#define RUNNER_POOL_LEAD_NS 3000000u

/* load.cancel's after_ms counts from the send: a slot's cancel_at_ns holds the delay until it
 * is sent, then this makes it absolute (runner_level.c). */
struct slot;
void slot_cancel_from_send(struct slot *s);

/* One request in flight (runner_level.c). With workers, a slot is owned by the runner's thread
 * until handed to a worker (hand), by that worker while in flight, and by the runner's thread
 * again once handed back: never by two threads at once. */
struct slot {
	struct lb_hnode hand; /* the hand-off to and from a worker */
	struct request req;
	struct lb_reqrec rec;
	struct slot *next;              /* free list or done list */
	struct slot *fl_prev, *fl_next; /* in-flight list (of the level, or of its worker) */
	struct level_run *lr;
	int worker; /* the worker that sends it, -1: the runner's thread */
	/* load.cancel: abandon at this time (before the send: the delay after it), or after this
	 * many output tokens (0: never) */
	uint64_t cancel_at_ns;
	long cancel_at_tokens, got_tokens;
	bool want_cancel;
};
struct runner_sessions; /* runner_sessions.c */
struct lb_sessions;     /* datasets/sessions.h */

/* One level (or repetition) being run on one open backend. */
struct level_run {
	const struct workload *wl;
	const struct runner_opts *o;
	struct store *st;
	int64_t run_id, backend_id, level_id;
	struct backend *b;
	const struct lb_items *items;
	struct level_agg agg;
	struct slot *free_slots;
	struct slot *done;   /* finished during the last poll */
	struct slot *flying; /* in flight (doubly linked) */
	long inflight;
	long submitted, completed, errors;
	long dropped;      /* open loop capped with overflow "drop": arrivals never sent */
	bool resumed;      /* resume: the level was stored in part before the interruption */
	uint8_t *done_seq; /* resume: bit per seq already stored as finished (owned) */
	long n_done_seq;
	long peak_inflight;
	long total; /* warmup + requests, or -1 when bounded by duration only */
	uint64_t next_id;
	struct lb_error store_err;
	int store_rc;
	/* progress */
	const char *label;
	uint64_t t_start, t_last_progress;
	long completed_measured;
	/* measured phase: warm-up requests are sent first and finish before it opens */
	int phase;          /* LEVEL_WARMUP, LEVEL_DRAIN, LEVEL_MEASURE */
	uint64_t t_measure; /* when the measured phase opened */
	/* the scheduler thread over the measured window after the stagger (NAN: not measured) */
	double client_cpu_s, client_runq_s, client_wall_s;
	struct runner_pool *pool; /* workers send the requests (NULL: this thread does) */
	int n_workers;            /* workers used by this level (pool only) */
	/* 0: the next request goes to the least loaded worker; k + 1: to worker k (a multi-turn
	 * session keeps its turns on one worker: set it from the first turn's slot->worker) */
	int pin_worker;
	int last_worker; /* the worker of the last request sent (-1: the runner's thread) */
	bool trace;      /* load mode trace: gaps from the items' timestamps (runner_trace.c) */
	bool cancel_on;  /* load.cancel with a fraction > 0 */
	uint64_t cancel_rng;
	struct runner_sessions *sess; /* modes sessions, session_rate (runner_sessions.c) */
};

enum {
	LEVEL_WARMUP,
	LEVEL_DRAIN,
	LEVEL_MEASURE
};

/* The whole run: what every backend and level shares. */
struct run_state {
	const struct workload *wl;
	const struct runner_opts *o;
	struct store *st;
	struct runner_result *res;
	struct lb_items items;
	struct power_sampler *power;
	struct power_window idle;
	bool have_idle;
	/* the whole run, for run-wide energy: measured window and token sums over every level */
	uint64_t t_first_send, t_last_end;
	double sum_out, sum_tot, n_ok;
	bool tokens_known;
	/* failures of the whole run by category, first message of each */
	struct {
		char name[24];
		long n;
		char msg[160];
	} fails[LEVEL_MAX_FAILCATS];
	int n_fails;
	struct runner_prom_cfg prom;      /* "server_metrics" (runner_prom.c) */
	const struct backend_config *cfg; /* the backend being run */
	struct runner_pool *pool;         /* its workers, or NULL (runner_workers.c) */
	struct lb_sessions *convs;        /* modes sessions, session_rate: the conversations */
};

/* What a level showed, for sweeps and the SLA search. */
struct level_outcome {
	long n_ok, n_failed, n_good;
	double req_per_s; /* completed ok / measured window, NAN if none */
	bool valid;
};

/* runner.c */
void runner_say(const struct runner_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One figure of the run (backend_id / level_id 0 for wider figures). */
int runner_put(struct run_state *rs, int64_t backend_id, int64_t level_id, const char *metric,
	       bool has, double v, const char *unit, const char *prov, const char *note,
	       struct lb_error *err);
/* One level (or repetition) of one open backend, stored as it goes; *oc what it showed. */
int runner_level(struct run_state *rs, struct backend *b, int64_t backend_id, int idx, int rep,
		 bool rate_mode, double value, struct level_outcome *oc, struct lb_error *err);

/* runner_level.c */
/* Run the level's schedule until done, stopped or failed; 0 or a store/harness error. */
int level_loop(struct level_run *lr, double value, bool rate_mode, struct lb_error *err);
/* Cancel what is still in flight (each stored as "cancelled"). */
void level_cancel_inflight(struct level_run *lr);
/* For other schedules (runner_sessions.c): send one request of item `it` (borrowed until it
 * ends); warmup -1: by the level's phase; tag comes back to runner_sessions_done(). */
int level_submit(struct level_run *lr, const struct lb_item *it, long item_idx,
		 uint64_t t_scheduled, int warmup, void *tag, struct lb_error *err);
/* Store and account what finished during the last poll (*last_end: the latest end). */
void level_reap(struct level_run *lr, uint64_t *last_end);
void level_progress(struct level_run *lr, bool final);
/* load.cancel: abandon what is due; every request in flight (interrupt). */
void level_cancel_due(struct level_run *lr);
void level_cancel_all(struct level_run *lr, uint64_t *last_end);
/* The calling thread's CPU and run-queue time (ns); false without schedstat. */
bool level_thread_sched(uint64_t *run_ns, uint64_t *wait_ns);
/* Free the level's request slots. */
void level_slots_free(struct level_run *lr);
/* The client's own load over the measured window (docs/METRICS.md "Validity"): begin when the
 * measured phase starts (workers included), end after the loop (sets lr->client_*). */
struct client_window {
	uint64_t t0, run0, wait0; /* t0 0: not begun */
	bool schedstat;
};
void client_window_begin(struct level_run *lr, struct client_window *cw, uint64_t now);
void client_window_end(struct level_run *lr, const struct client_window *cw);
/* The level's stop bounds reached: load.duration_s of measuring, max_errors, max_error_rate. */
bool level_bound_hit(const struct level_run *lr, uint64_t now);
/* A request's event into its record, and load.cancel's token count (every event sink). */
void slot_record(struct slot *s, const struct lb_event *ev);
/* After a reap: commit what is due and show progress; nonzero (err set) ends the loop. */
int level_tick(struct level_run *lr, struct lb_error *err);

/* runner_workers.c: N threads, each with its own copy of the backend (event loop, curl multi
 * handle); the runner's thread schedules, hands requests over and stores what comes back. */
/* How many workers a run of cfg uses: workers (load.workers, 0: auto); 1 means none (the
 * runner's thread sends). *why says how auto chose. */
int runner_workers_count(const struct workload *wl, const struct backend_config *cfg,
			 const struct backend *b, char *why, size_t len);
/* Start n workers, each opening its own backend from cfg. */
int runner_pool_open(struct runner_pool **out, int n, const struct backend_config *cfg,
		     struct lb_error *err);
void runner_pool_close(struct runner_pool *p);
int runner_pool_size(const struct runner_pool *p);
/* load.workers "auto": a small level uses fewer workers (runner_pool_level_workers). */
void runner_pool_set_auto(struct runner_pool *p, bool on);
/* Workers a level uses (auto: fewer for a small level), *why when fewer than the pool. */
int runner_pool_level_workers(const struct runner_pool *p, const struct workload *wl,
			      bool rate_mode, double value);
/* The worker for the next request: the least loaded of the level's first n. */
int runner_pool_pick(const struct runner_pool *p, int n);
/* Hand s over to worker k (never fails; the worker sends it). */
void runner_pool_submit(struct runner_pool *p, int k, struct slot *s);
/* Collect finished slots onto *done; wait up to timeout_ns for one when none is there.
 * 0, or a harness error a worker met. */
int runner_pool_wait(struct runner_pool *p, uint64_t timeout_ns, struct slot **done,
		     struct lb_error *err);
/* A reaped slot: counted for its worker. */
void runner_pool_account(struct runner_pool *p, const struct slot *s);
/* Ask the workers to cancel what they hold (each comes back "cancelled"); off again. */
void runner_pool_cancel(struct runner_pool *p, bool on);
/* The measured window of the level: begin samples each worker's CPU, end reads them again. */
void runner_pool_window(struct runner_pool *p, bool end);
void runner_pool_level_begin(struct runner_pool *p);
/* Per-worker figures of the level and the client-bound rule for each worker: true (reason
 * filled) when one was busy >= 90% of the window. */
int runner_pool_figures(struct run_state *rs, struct level_run *lr, bool closed, bool *bound,
			char *reason, size_t len, struct lb_error *err);

/* runner_resume.c */
/* Reopen the run o->resume_run: res->run_id set, its status back to running. */
int resume_run_begin(struct run_state *rs, struct lb_error *err);
/* The stored backend of that name (*backend_id 0 when absent). */
int resume_backend(struct run_state *rs, const char *name, int64_t *backend_id,
		   struct lb_error *err);
/* Find the stored level; *done when it finished before. Otherwise load its finished requests
 * (cancelled ones are deleted: they run again) into lr->agg and lr->done_seq, or begin it. */
int resume_level(struct run_state *rs, struct level_run *lr, int64_t backend_id,
		 const struct store_level *sl, int64_t *level_id, bool *done, struct lb_error *err);

/* runner_ppl.c */
/* Perplexity (and KLD against the matrix base) of an in-process backend, stored per backend. */
int runner_perplexity(struct run_state *rs, const struct backend_config *cfg, const char *base,
		      int64_t backend_id, struct lb_error *err);

/* runner_preflight.c */
/* One request to each remote backend; an error naming the URL and the cause when one fails. */
int runner_preflight(struct run_state *rs, struct lb_error *err);

/* runner_search.c */
int runner_sweep(struct run_state *rs, struct backend *b, int64_t backend_id, struct lb_error *err);
int runner_sla_search(struct run_state *rs, struct backend *b, int64_t backend_id,
		      struct lb_error *err);

#endif
