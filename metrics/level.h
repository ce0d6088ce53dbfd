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
	} fails[LEVEL_MAX_FAILCATS];
	int n_fails;
	bool oom; /* a sample could not be kept: reported by level_agg_emit */
};

void level_agg_init(struct level_agg *a, const struct wl_slo *slo);
void level_agg_release(struct level_agg *a);
/* Account one finished request. This function can't fail (out of memory is remembered). */
void level_agg_add(struct level_agg *a, const struct lb_reqrec *r);
/* Does r meet every SLO of the workload? (false when no SLO is set) */
bool level_meets_slo(const struct wl_slo *slo, const struct lb_reqrec *r);

/* One figure: has_value false means unavailable, with the reason in note. */
typedef int level_emit_fn(void *ctx, const char *metric, bool has_value, double value, double n,
			  const char *unit, const char *provenance, const char *note);
/* Emit every figure of the level (sorts the samples). offered_rate <= 0: closed loop.
 * Returns the first nonzero value fn returned. */
int level_agg_emit(struct level_agg *a, double offered_rate, level_emit_fn *fn, void *ctx);
/* p99 of the schedule lag in ms (NAN without samples); sorts the lag samples. */
double level_agg_lag_p99(struct level_agg *a);

#endif
