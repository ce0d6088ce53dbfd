/* power.h: energy and power of a run (METRICS.md "Power and energy"; docs/power.md).
 *
 * A sampler thread polls the configured sources (RAPL, NVML, hl-smi, a command) every
 * interval_ms and keeps per-channel samples in memory (bounded: decimated past max_samples).
 * The runner asks for the energy of a time window afterwards and turns it into summary figures.
 * A machine with no source gives "unavailable: <reason>" figures, never 0, and nothing fails.
 * This module never prints and never writes SQL. Source interface: power_source.h. */
#ifndef LB_POWER_H
#define LB_POWER_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POWER_MAX_CHANNELS 32
#define POWER_LABEL_MAX 48 /* "nvml:gpu0" */
#define POWER_TEXT_MAX 512 /* provenance, notes, reasons */

/* The workload's "power" section, parsed. Strings are owned; power_config_release frees them. */
struct power_config {
	bool auto_sources;    /* "sources": "auto" (the default) */
	unsigned sources;     /* bit i: power_source_registry()[i] named explicitly */
	unsigned interval_ms; /* poll interval, default 100; 0 only in tests (manual polling) */
	double idle_s;        /* idle baseline window before the run, 0: none */
	size_t max_samples;   /* kept per channel before decimation, default 65536 */
	struct {
		bool package, dram, core, uncore, psys; /* zones to add; default package */
		char *root; /* NULL: $LLMBENCH_POWERCAP_ROOT or /sys/class/powercap */
	} rapl;
	struct {
		uint64_t devices; /* bit i: device i; UINT64_MAX: "all" (the default) */
	} nvml;
	struct {
		uint64_t devices; /* as nvml */
		char *path;       /* NULL: $LLMBENCH_HLSMI or "hl-smi" from PATH */
	} hlsmi;
	struct {
		char *command;       /* run with /bin/sh -c; NULL: no cmd source */
		bool joules;         /* unit "J": prints a cumulative energy reading; "W": power */
		unsigned timeout_ms; /* per invocation, default 5000 */
	} cmd;
};

/* Defaults (auto, 100 ms, no idle window, RAPL packages, all devices). This function can't fail. */
void power_config_init(struct power_config *cfg);
/* Parse the "power" section from JSON text (NULL or "" keeps the defaults). Unknown keys and bad
 * values are LB_ERR_USAGE naming the key: "power: unknown key 'x' (valid: ...)". On error cfg
 * holds the defaults. */
int power_config_parse(struct power_config *cfg, const char *json, struct lb_error *err);
void power_config_release(struct power_config *cfg);

struct power_sampler;

/* Parse power_json (the workload's "power" section, or NULL for auto), open the sources, take a
 * first sample and start the sampler thread. Only bad input (LB_ERR_USAGE), out of memory or a
 * failed thread start are errors (bad JSON is LB_ERR_PARSE); a machine without a usable source gives a sampler with no
 * channels whose windows say why. On error *out is NULL. */
int power_sampler_start(struct power_sampler **out, const char *power_json, struct lb_error *err);
/* One line for the terminal: "rapl:package-0, nvml:gpu0 every 100 ms" or
 * "no power source (rapl: ...; nvml: ...; hlsmi: ...)". Owned by s. */
const char *power_sampler_describe(const struct power_sampler *s);
/* The configured idle baseline length (power.idle_s), 0 when none. */
double power_sampler_idle_s(const struct power_sampler *s);
/* Stop and join the thread after a last poll; samples and windows stay readable. NULL-safe,
 * idempotent. */
void power_sampler_stop(struct power_sampler *s);
/* Stop, close the sources and free everything. NULL-safe. */
void power_sampler_free(struct power_sampler *s);

/* Energy of one channel (one source and scope) over a window. */
struct power_chan_window {
	char label[POWER_LABEL_MAX]; /* "rapl:package-0" */
	bool ok;
	bool integrated; /* from power samples (trapezoid), not from an energy counter */
	double energy_j;
	size_t n_samples;  /* kept samples inside [t0, t1] */
	uint64_t n_failed; /* failed reads of this channel since the start */
	char reason[160];  /* !ok: why ("counter did not advance over 2.0 s"); ok: the last
			    * failed read when n_failed > 0 */
};

/* Energy over [t0_ns, t1_ns]: the sum over the channels that cover it, interpolated linearly at
 * the edges from cumulative energy. */
struct power_window {
	uint64_t t0_ns, t1_ns; /* CLOCK_MONOTONIC */
	double duration_s;
	bool ok; /* energy_j is a measurement */
	double energy_j;
	size_t n_samples; /* over all contributing channels */
	unsigned interval_ms;
	char provenance[POWER_TEXT_MAX]; /* "rapl:package-0@100ms+nvml:gpu0@100ms" */
	char note[POWER_TEXT_MAX];       /* "short window (< 1 s): noise; ...", "" when none */
	char reason[POWER_TEXT_MAX];     /* when !ok: "unavailable: no power source (...)" */
	size_t n_channels;
	struct power_chan_window ch[POWER_MAX_CHANNELS];
};

/* Fill out for [t0_ns, t1_ns]. While the sampler runs, waits (bounded: about one poll plus the
 * command timeout) until a poll that began at or after t1_ns has finished, so the window's end
 * is covered. Thread-safe. This function can't fail: out->ok and out->reason say what it got. */
void power_window(struct power_sampler *s, uint64_t t0_ns, uint64_t t1_ns,
		  struct power_window *out);
/* Measure an idle baseline: sleep idle_s seconds (<= 0: the configured power.idle_s) and fill
 * out with that window. Without an idle length, out->ok is false with the reason. Can't fail. */
void power_sampler_idle(struct power_sampler *s, double idle_s, struct power_window *out);
/* Average power of a window in W, NAN when unavailable. */
double power_window_avg_w(const struct power_window *w);

/* One figure, the same shape as level_emit_fn (metrics/level.h), so one sink serves both. */
typedef int power_emit_fn(void *ctx, const char *metric, bool has_value, double value, double n,
			  const char *unit, const char *provenance, const char *note);
/* Emit energy_j, power_avg_w, power_idle_w, energy_dynamic_j, j_per_output_token,
 * j_per_total_token, tokens_per_j (output tokens per J), j_per_request_attributed for window w.
 * idle: the idle baseline window (NULL: none). Counts < 0 or NAN are unknown (those figures are
 * unavailable). Provenance "<source>:<scope>@<interval>ms". Returns the first nonzero fn result. */
int power_summarize(const struct power_window *w, const struct power_window *idle,
		    double n_output_tokens, double n_total_tokens, double n_requests,
		    power_emit_fn *fn, void *ctx);

/* Energy attributed to one measured ok request (export's energy_j_attributed): the level's
 * measured energy shared out by tokens, level_energy_j * (prompt + output) / level_tokens, where
 * level_tokens is the (prompt + output) tokens of the level's measured ok requests and
 * level_n_unknown how many of those have an unknown count. NAN (unavailable) when an input is
 * NAN or infinite, a count is negative, level_tokens <= 0 or level_n_unknown != 0 (the shares
 * would not add up to the level's energy). */
double power_attributed_energy_j(double level_energy_j, double level_tokens, double level_n_unknown,
				 double prompt_tokens, double output_tokens);

/* A raw sample for plots. energy_j is cumulative since the channel's first sample; power_w is
 * the source's power reading, or the counter difference over the previous kept sample (NAN for
 * the first). */
struct power_sample {
	const char *label; /* "rapl:package-0"; valid only during the callback */
	uint64_t t_ns;
	double energy_j;
	double power_w;
};
typedef int power_sample_fn(void *ctx, const struct power_sample *smp); /* nonzero stops */
/* Call fn for every kept sample with t0_ns <= t_ns <= t1_ns (0, UINT64_MAX: all), channel by
 * channel in time order. Samples are copied first, so fn runs without the sampler's lock.
 * Returns fn's nonzero result, or LB_ERR_NOMEM. */
int power_sampler_foreach_sample(struct power_sampler *s, uint64_t t0_ns, uint64_t t1_ns,
				 power_sample_fn *fn, void *ctx);

#endif
