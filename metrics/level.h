/* level.h: the figures of one level (METRICS.md "Run and level aggregates") from its
 * finished requests. Requests are added one at a time and forgotten; only the per-request
 * numbers that statistics need are kept (pooled chunk gaps are reservoir-sampled past
 * LEVEL_MAX_ITL samples, and say so). Warm-up and failed requests are counted, never in stats. */
#ifndef LB_LEVEL_H
#define LB_LEVEL_H

#include "record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEVEL_MAX_ITL (1u << 21)
#define LEVEL_MAX_FAILCATS 16

struct dvec {
	double *v; /* owned */
	size_t n, alloc;
};
/* Append x; -1 when out of memory (d unchanged). */
int dvec_push(struct dvec *d, double x);

/* The workload's service-level objectives (its "slo" section). */
struct wl_slo {
	double ttft_ms; /* <= 0: not set */
	double tpot_ms;
	double e2e_ms;
};

struct level_agg {
	struct wl_slo slo;
	struct dvec ttft, tpot, itl, e2e, lag, speed;
	uint64_t itl_seen; /* gaps offered to the reservoir */
	uint64_t itl_zero; /* of them, exactly 0: chunks timed together */
	uint64_t rng;
	long n_ok, n_failed, n_warmup, n_good;
	long n_cancelled; /* abandoned on purpose (load.cancel): neither ok nor failed */
	long n_in_known, n_out_known;
	double sum_in, sum_out;
	const char *in_src, *out_src; /* static; "mixed" when requests disagree */
	uint64_t t_first_send, t_last_send, t_last_end;
	struct {
		char name[24];
		long n;
		char msg[160]; /* the first failure's message of this category ("" if none) */
	} fails[LEVEL_MAX_FAILCATS];
	int n_fails;
	bool oom;                      /* a sample could not be kept: reported by level_agg_emit */
	uint64_t chunk_src[LB_TSRC_N]; /* the successful requests' chunks by time source */
	bool chunk_src_partial;        /* rows read back (a resumed level) state no source */
	/* Windows closed by level_agg_segment_end (a resumed level: the part before the
	 * interruption), summed so that the downtime between them is never measured. */
	uint64_t seg_dur_ns, seg_send_ns; /* first send to last end; first to last send */
	int n_seg_sends;                  /* closed windows with at least one send */
};

/* itl_zero_gaps (docs/METRICS.md "Chunk timing"): chunk gaps of exactly 0 */
#define LEVEL_ZERO_GAPS_PROV "chunk gaps of exactly 0: chunks timed together"

void level_agg_init(struct level_agg *a, const struct wl_slo *slo);
void level_agg_release(struct level_agg *a);
/* Account one finished request. This function can't fail (out of memory is remembered). */
void level_agg_add(struct level_agg *a, const struct lb_reqrec *r);
/* Does r meet every SLO of the workload? (false when no SLO is set) */
bool level_meets_slo(const struct wl_slo *slo, const struct lb_reqrec *r);

/* Close the current measured window: what follows is measured from its own first send, and
 * durations and rates add the windows' lengths (never the gap between them). */
void level_agg_segment_end(struct level_agg *a);
/* The measured window's length in seconds (all windows), 0 when no measured request. */
double level_agg_duration_s(const struct level_agg *a);

/* Client-bound rule (docs/METRICS.md "Validity"): a closed-loop level whose scheduler thread
 * was on a CPU or waiting for one (run queue) for at least LEVEL_CLIENT_BUSY of its judged
 * window (at least LEVEL_CLIENT_MIN_S long) was paced by the harness, not the server. Returns
 * true and writes the reason with the figures when it was. */
#define LEVEL_CLIENT_BUSY 0.9
#define LEVEL_CLIENT_MIN_S 0.2
bool level_client_bound(double cpu_s, double runq_s, double wall_s, char *reason, size_t len);
/* Did the harness's clock time most of the level's chunks although the kernel's receive times
 * were asked for (docs/METRICS.md "Chunk timing")? True with the warning's text in msg. */
bool level_chunks_harness_timed(const struct level_agg *a, char *msg, size_t len);

/* One figure: has_value false means unavailable, with the reason in note. */
typedef int level_emit_fn(void *ctx, const char *metric, bool has_value, double value, double n,
			  const char *unit, const char *provenance, const char *note);
/* Emit every figure of the level (sorts the samples). offered_rate <= 0: closed loop.
 * Returns the first nonzero value fn returned. */
int level_agg_emit(struct level_agg *a, double offered_rate, level_emit_fn *fn, void *ctx);
/* p99 of the schedule lag in ms (NAN without samples); sorts the lag samples. */
double level_agg_lag_p99(struct level_agg *a);

#endif
