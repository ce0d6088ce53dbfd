/* shard.h: sharded runs (docs/scale-out.md): which shard this process is, what part of the
 * workload it runs, when the shards of a split load start, and its clock anchor.
 *
 * A shard is K of N, 0-based. "auto" reads the engine's variables: Slurm job arrays
 * (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN), one multi-task Slurm step
 * (SLURM_PROCID, SLURM_NTASKS) or Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX, with the count
 * from --shards or LLMBENCH_SHARDS). A model matrix (more than one backend) is split by cell:
 * shard K runs backends K, K+N, ...; one backend's load is split by load: concurrency and
 * request counts are divided (the remainder to the first shards), rates divided by N with
 * independent seeds, dataset items partitioned (item i belongs to shard i mod N). */
#ifndef LB_SHARD_H
#define LB_SHARD_H

#include "../base/error.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct workload;
struct store;
struct lb_items;
struct lb_sessions;

#define SHARD_MAX 100000

enum shard_split {
	SHARD_SPLIT_LOAD,
	SHARD_SPLIT_CELL
};

struct shard_spec {
	int k, n;           /* shard k of n (0-based); n == 0: not sharded */
	const char *source; /* static: "option", "slurm array", "slurm tasks", "kubernetes" */
	enum shard_split split;
};

/* "K/N" (0 <= K < N <= SHARD_MAX) or "auto" (the engine's variables). shards: the count given
 * with --shards (0: none), needed for Kubernetes. Errors name what is wrong and what is
 * expected (LB_ERR_USAGE). */
int shard_parse(const char *spec, int shards, struct shard_spec *out, struct lb_error *err);

/* The group the shards of one run share, so that merge can tell them from shards of another
 * run: LLMBENCH_SHARD_GROUP, else SLURM_ARRAY_JOB_ID, SLURM_JOB_ID, else fallback (may be
 * NULL). Static or environment storage. */
const char *shard_group(const char *fallback);

/* --start-at: "YYYY-MM-DDTHH:MM:SS[.fff]Z" (UTC) or "@EPOCH" (seconds, may be fractional), in
 * wall-clock ns. A time not after now_wall_ns is an error ("in the past"). */
int shard_parse_start_at(const char *s, uint64_t now_wall_ns, uint64_t *wall_ns,
			 struct lb_error *err);

/* This shard's part of a count (concurrency, requests): total/N, the first total%N shards one
 * more. Not sharded: total. */
long shard_share(long total, const struct shard_spec *s);
/* This shard's part of a rate: rate / N. */
double shard_rate(double rate, const struct shard_spec *s);
/* An independent seed for this shard's schedule (splitmix of seed and k; seed itself when not
 * sharded, so a 1-shard run draws what an unsharded one does). */
uint64_t shard_seed(uint64_t seed, const struct shard_spec *s);
/* Does this shard run item i / backend i? (i mod N == K) */
bool shard_owns(size_t i, const struct shard_spec *s);

/* The clock anchor: CLOCK_REALTIME and CLOCK_MONOTONIC read back to back (the closest pair of
 * a few tries), and the kernel's own estimate of the wall clock's error (adjtimex). */
struct shard_clock {
	uint64_t realtime_ns, monotonic_ns;
	uint64_t read_gap_ns; /* how far apart the two reads were */
	bool have_adj;        /* adjtimex answered */
	bool synced;          /* the kernel says the clock is synchronised (no STA_UNSYNC) */
	long esterror_us, maxerror_us;
};
void shard_clock_anchor(struct shard_clock *c);
/* A wall-clock time on this machine's monotonic axis through the anchor. */
uint64_t shard_wall_to_mono(const struct shard_clock *c, uint64_t wall_ns);

/* What one shard of a run runs, and how its levels keep in step with the other shards'. */
struct shard_run {
	struct shard_spec spec;
	const char *group;      /* see shard_group() */
	uint64_t start_wall_ns; /* --start-at, 0: start at once */
	char start_at[40];      /* its ISO 8601 UTC form */
	double window_s;        /* each level of a split load starts window_s after the last */
	struct shard_clock clock;
	int level_no;            /* levels begun so far */
	uint64_t level_end_mono; /* when the current level's window closes (0: unbounded) */
	char late[200];          /* why the current level is invalid already, or "" */
};

/* Set up a shard run: spec, start time (0: none), level window (<= 0: from the workload's
 * duration), the clock anchor. A split load of more than one shard needs a start time and
 * levels bounded by time (load.duration_s or window_s); rendezvous: the start time comes later
 * from shard_rendezvous(). Checks that the shard gets a part of
 * every level. LB_ERR_USAGE with a one-line message otherwise. */
int shard_run_init(struct shard_run *r, const struct shard_spec *spec, const struct workload *wl,
		   uint64_t start_wall_ns, bool rendezvous, double window_s, const char *group,
		   struct lb_error *err);
/* What shard_run_init refuses for any shard of a plan of n shards (the generators: slurm,
 * k8s), before a job is queued: LB_ERR_USAGE, "--shards N: ...". */
int shard_check_plan(const struct workload *wl, int n, double window_s, struct lb_error *err);
/* Agree on the start time through a folder every shard sees (a shared filesystem): each shard
 * writes DIR/ready-K with its wall clock, waits until all N are there, and all take the latest
 * plus 5 s. Sets r->start_wall_ns. Fails (LB_ERR_IO, or LB_ERR_INTERRUPTED when *stop is set)
 * when not every shard has arrived within timeout_s. */
#define SHARD_RENDEZVOUS_MARGIN_S 5.0
int shard_rendezvous(struct shard_run *r, const char *dir, double timeout_s,
		     volatile sig_atomic_t *stop, struct lb_error *err);
/* This shard's workload: a shallow copy of wl whose backends (cell split) or level values,
 * request and warm-up counts and seed (load split) are this shard's part. The stored workload
 * text stays wl's. Release with shard_workload_release (never workload_release). */
int shard_workload(const struct workload *wl, const struct shard_run *r, struct workload *out,
		   struct lb_error *err);
void shard_workload_release(struct workload *w);
/* Keep the dataset items this shard owns (split load); item i of the shard is item
 * i * N + K of the whole set (shard_item_index). */
void shard_items(struct lb_items *items, const struct shard_run *r);
long shard_item_index(long local, const struct shard_run *r);
/* A split load's part of the conversations (modes sessions and session_rate): conversation i
 * goes to shard i mod N, as items do. */
void shard_sessions(struct lb_sessions *convs, const struct shard_run *r);
/* Record the shard, its host and clock anchor with the run. */
int shard_record(struct store *st, int64_t run_id, const struct shard_run *r, const char *host,
		 struct lb_error *err);
/* Before a level: wait for its start (start_at + level_no * window), returning early when
 * *stop is set; a shard already past the start by more than 100 ms notes the level late. */
void shard_level_begin(struct shard_run *r, volatile sig_atomic_t *stop);
/* After a level: false with the reason when the level started late or ended after its
 * window closed (the shards were out of step: the level is invalid). */
bool shard_level_end(struct shard_run *r, char *reason, size_t len);

#endif
