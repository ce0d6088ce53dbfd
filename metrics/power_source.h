/* power_source.h: the interface a power source implements (rapl, nvml, hlsmi, cmd), the
 * registry, and the hooks the tests use. Only metrics/power*.c and tests include it.
 *
 * A source opens one or more channels (a scope each: "package-0", "gpu1", "accel0", "meter").
 * A channel gives an energy counter (preferred: the sampler integrates differences) and/or a
 * power reading (integrated with the trapezoid rule when there is no counter, labelled so).
 * Sources are only ever called from one thread at a time. They never print. */
#ifndef LB_POWER_SOURCE_H
#define LB_POWER_SOURCE_H

#include "power.h"

enum power_chan_caps {
	POWER_CAP_ENERGY = (1 << 0), /* read gives energy_uj, a cumulative counter */
	POWER_CAP_POWER = (1 << 1),  /* read gives power_mw */
};

struct power_chan {
	char scope[32]; /* "package-0", "dram-0", "gpu0", "accel0", "meter" */
	unsigned caps;  /* enum power_chan_caps */
	char note[160]; /* "" or e.g. "nvml power is a 1 s average: edges smeared" */
};

struct power_reading {
	uint64_t t_ns; /* CLOCK_MONOTONIC when the value was read */
	bool ok;       /* false: this channel failed this time; reason in err */
	bool has_energy;
	uint64_t energy_uj; /* cumulative, already wrap-corrected, arbitrary origin */
	bool has_power;
	uint64_t power_mw;
	char err[160];
};

struct power_source_ops {
	const char *name; /* "rapl", "nvml", "hlsmi", "cmd" */
	/* 0 when cfg can be used on this machine; else < 0 with the short reason in err
	 * ("/sys/class/powercap absent", "libnvidia-ml.so.1 not found"). NULL: open decides. */
	int (*probe)(const struct power_config *cfg, struct lb_error *err);
	/* Open, filling ch[0..*n_ch) (at most max). On error nothing is left open. */
	int (*open)(void **self, const struct power_config *cfg, struct power_chan *ch, size_t max,
		    size_t *n_ch, struct lb_error *err);
	/* Read every channel into out[0..n_ch). A failing channel gets ok = false (not fatal);
	 * returns < 0 only when the whole read failed (then every out[i].ok is false too). */
	int (*read)(void *self, struct power_reading *out, size_t n_ch, struct lb_error *err);
	void (*close)(void *self); /* NULL-safe */
};

extern const struct power_source_ops power_rapl_ops, power_nvml_ops, power_hlsmi_ops, power_cmd_ops;

/* Every source, in the order "auto" probes them (cmd only when power.cmd.command is set). */
const struct power_source_ops *const *power_source_registry(size_t *n);

/* Start a sampler on given sources (the tests' scripted ones). cfg is read during the call only;
 * its sources and auto_sources are ignored. cfg->interval_ms == 0: no thread, the caller polls. */
int power_sampler_start_with(struct power_sampler **out, const struct power_config *cfg,
			     const struct power_source_ops *const *ops, size_t n_ops,
			     struct lb_error *err);
/* Poll every source once now (for samplers started with interval_ms == 0). */
void power_sampler_poll(struct power_sampler *s);

/* Run argv (argv[0] searched in PATH) with stdout captured into out (NUL-terminated, at most
 * out_max - 1 bytes), stderr discarded, killed after timeout_ms. Non-zero exit is an error. */
int power_spawn_capture(char *const argv[], unsigned timeout_ms, char *out, size_t out_max,
			struct lb_error *err);
/* snprintf that truncates quietly (messages and labels are bounded on purpose). */
void power_fmt(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Parse a decimal number that fills s except for blanks; false if it does not. */
bool power_parse_number(const char *s, double *v);

/* Tests: how rapl opens files (NULL: open(2)). Lets a test running as root simulate EACCES. */
extern int (*power_rapl_open_hook)(const char *path, int flags);

#endif
