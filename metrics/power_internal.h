/* power_internal.h: what the power module's own files share (the sampler's state, its per-channel
 * sample storage and small helpers). Only metrics/power_{sampler,energy,config,summary}.c include
 * it; sources use power_source.h, everyone else power.h. */
#ifndef LB_POWER_INTERNAL_H
#define LB_POWER_INTERNAL_H

#include "power_source.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define POWER_MAX_SOURCES 8
#define POWER_NS_PER_S 1e9

struct psample {
	uint64_t t_ns;
	double e_uj; /* cumulative since the channel's first sample */
	double p_w;  /* the source's power reading, NAN if none */
};

struct pchan {
	char label[POWER_LABEL_MAX];
	unsigned caps;
	char note[160];
	struct psample *s; /* owned; at most max_samples (then decimated) */
	size_t n, alloc;
	unsigned stride; /* keep 1 poll in stride (doubles at each decimation) */
	uint64_t tick;
	bool tail_prov; /* s[n-1] is the newest poll, to be replaced by the next one */
	bool have_first;
	uint64_t e0_uj, last_raw_uj; /* counter: value at the first sample (or last reset), last */
	double e_offset_uj;          /* cumulative energy at the last reset */
	double acc_uj;               /* power-only: trapezoid integral so far */
	uint64_t last_t_ns;
	double last_p_w;
	uint64_t n_errors;
	char last_err[160];
};

struct psrc {
	const struct power_source_ops *ops;
	void *self;
	size_t ch0, n_ch;
	struct power_reading *rd; /* owned, n_ch */
};

struct power_sampler {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC; broadcast after each poll and on stop */
	pthread_t thread;
	bool thread_started;
	bool stop_req; /* under mu */
	bool stopped;  /* under mu: no more polls will come */
	bool disabled; /* power.sources is "none" or [] */
	unsigned interval_ms, cmd_timeout_ms;
	size_t max_samples;
	double idle_s;
	struct psrc src[POWER_MAX_SOURCES];
	size_t n_src;
	struct pchan ch[POWER_MAX_CHANNELS];
	size_t n_ch;
	uint64_t last_poll_begin_ns; /* under mu: start of the last finished poll */
	char describe[POWER_TEXT_MAX];
	char missing[POWER_TEXT_MAX]; /* "rapl: ...; nvml: ..." sources that could not be used */
	bool explicit_missing;        /* missing names sources the workload asked for */
};

/* Append to a NUL-terminated buffer, truncating quietly. */
void power_addf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* First index with smp[i].t_ns >= t (n if none). */
size_t power_lower_bound(const struct psample *smp, size_t n, uint64_t t);

static inline struct timespec power_ts_of(uint64_t t_ns)
{
	struct timespec ts = { (time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u) };

	return ts;
}

#endif
