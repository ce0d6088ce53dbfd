/* test_power.c: the power sampler and its sources (docs/power.md).
 *
 * Window integration and summaries are checked against hand-computed values with scripted
 * sources; RAPL against a fake powercap tree in a temp dir (wrap, nesting, permissions, a stuck
 * counter); NVML against tests/fake/fake_nvml.c, compiled here into a shared library and loaded
 * through the real dlopen path; hl-smi against the tests/fake/hl-smi script; the cmd source
 * against shell commands. Run from the repository root (tests/run.sh does).
 * TSan: make BUILD=build-tsan SANITIZE=thread build-tsan/tests/test_power &&
 * build-tsan/tests/test_power */
#include "../../base/clock.h"
#include "../../metrics/power.h"
#include "../../metrics/power_source.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#define MS 1000000ull
#define S 1000000000ull
#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))
#define HAS(hay, needle)                                                                           \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("'%s' does not contain '%s'", (hay), (needle));                   \
	} while (0)

static char tmpdir[256];
static char fake_nvml_so[512];
static char fake_hlsmi[4096];

/* ---- helpers ----------------------------------------------------------------------------- */

static void write_file(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void write_file(const char *path, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0); /* atomic: the sampler never sees half a file */
}

struct fig {
	char metric[40];
	bool has;
	double v;
	char prov[POWER_TEXT_MAX];
	char note[POWER_TEXT_MAX];
};
struct figs {
	struct fig f[16];
	int n;
};

static int collect(void *ctx, const char *metric, bool has_value, double value, double n,
		   const char *unit, const char *provenance, const char *note)
{
	struct figs *fs = ctx;
	struct fig *f = &fs->f[fs->n++];

	(void)n;
	(void)unit;
	assert_true(fs->n <= 16);
	snprintf(f->metric, sizeof(f->metric), "%s", metric);
	f->has = has_value;
	f->v = value;
	snprintf(f->prov, sizeof(f->prov), "%s", provenance ? provenance : "");
	snprintf(f->note, sizeof(f->note), "%s", note ? note : "");
	return 0;
}

static const struct fig *fig(const struct figs *fs, const char *metric)
{
	for (int i = 0; i < fs->n; i++)
		if (!strcmp(fs->f[i].metric, metric))
			return &fs->f[i];
	static struct fig none;

	fail_msg("no figure '%s'", metric);
	return &none;
}

/* ---- scripted sources: exact timestamps and values --------------------------------------- */

struct script {
	const uint64_t *t_ns;
	const double *v; /* J (energy) or W (power) */
	size_t n, i;
	bool energy;
	bool fail_second; /* a second channel that always fails */
};
static struct script sc;

static int script_open(void **self, const struct power_config *cfg, struct power_chan *ch,
		       size_t max, size_t *n_ch, struct lb_error *err)
{
	(void)cfg;
	(void)err;
	assert_true(max >= 2);
	*self = &sc;
	memset(ch, 0, 2 * sizeof(*ch));
	snprintf(ch[0].scope, sizeof(ch[0].scope), "meter");
	ch[0].caps = sc.energy ? POWER_CAP_ENERGY : POWER_CAP_POWER;
	*n_ch = 1;
	if (sc.fail_second) {
		snprintf(ch[1].scope, sizeof(ch[1].scope), "broken");
		ch[1].caps = POWER_CAP_ENERGY;
		*n_ch = 2;
	}
	return 0;
}

static int script_read(void *self, struct power_reading *out, size_t n_ch, struct lb_error *err)
{
	struct script *s = self;

	(void)err;
	if (s->i >= s->n)
		return lb_error_set(err, LB_ERR_IO, "script exhausted");
	out[0].t_ns = s->t_ns[s->i];
	out[0].ok = true;
	if (s->energy) {
		out[0].has_energy = true;
		out[0].energy_uj = (uint64_t)llround(s->v[s->i] * 1e6);
	} else {
		out[0].has_power = true;
		out[0].power_mw = (uint64_t)llround(s->v[s->i] * 1e3);
	}
	if (n_ch > 1)
		snprintf(out[1].err, sizeof(out[1].err), "boom");
	s->i++;
	return 0;
}

static void script_close(void *self)
{
	(void)self;
}

static const struct power_source_ops script_ops = {
	.name = "fake",
	.open = script_open,
	.read = script_read,
	.close = script_close,
};

/* A manual sampler (no thread) over the script; polls every entry. */
static struct power_sampler *script_sampler(const uint64_t *t, const double *v, size_t n,
					    bool energy)
{
	const struct power_source_ops *ops[] = {&script_ops};
	struct power_config cfg;
	struct power_sampler *s = NULL;
	struct lb_error err = LB_ERROR_INIT;

	sc = (struct script){t, v, n, 0, energy, sc.fail_second};
	power_config_init(&cfg);
	cfg.interval_ms = 0;
	assert_int_equal(power_sampler_start_with(&s, &cfg, ops, 1, &err), 0);
	while (sc.i < n)
		power_sampler_poll(s);
	return s;
}

/* ---- configuration ----------------------------------------------------------------------- */

static void config_defaults(void **state)
{
	struct power_config c;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(power_config_parse(&c, NULL, &err), 0);
	assert_true(c.auto_sources);
	assert_int_equal(c.interval_ms, 100);
	assert_true(c.rapl.package && !c.rapl.dram && !c.rapl.core);
	assert_true(c.nvml.devices == UINT64_MAX);
	assert_true(c.idle_s == 0);
	power_config_release(&c);
	assert_int_equal(power_config_parse(&c, "null", &err), 0);
	power_config_release(&c);
}

static void config_parses_every_field(void **state)
{
	struct power_config c;
	struct lb_error err = LB_ERROR_INIT;
	const char *j =
		"{\"sources\": [\"rapl\", \"cmd\"], \"interval_ms\": 250, \"idle_s\": 2.5,"
		" \"max_samples\": 1000, \"rapl\": {\"zones\": [\"package\", \"dram\"],"
		" \"root\": \"/x\"}, \"nvml\": {\"devices\": [0, 2]},"
		" \"hlsmi\": {\"devices\": \"all\", \"path\": \"/y/hl-smi\"},"
		" \"cmd\": {\"command\": \"echo 5\", \"unit\": \"J\", \"timeout_ms\": 900}}";

	(void)state;
	assert_int_equal(power_config_parse(&c, j, &err), 0);
	assert_false(c.auto_sources);
	assert_int_equal(c.sources, (1u << 0) | (1u << 3));
	assert_int_equal(c.interval_ms, 250);
	NEAR(c.idle_s, 2.5, 0);
	assert_int_equal(c.max_samples, 1000);
	assert_true(c.rapl.package && c.rapl.dram);
	assert_string_equal(c.rapl.root, "/x");
	assert_true(c.nvml.devices == 5);
	assert_true(c.hlsmi.devices == UINT64_MAX);
	assert_string_equal(c.hlsmi.path, "/y/hl-smi");
	assert_string_equal(c.cmd.command, "echo 5");
	assert_true(c.cmd.joules);
	assert_int_equal(c.cmd.timeout_ms, 900);
	power_config_release(&c);
}

static void expect_bad(const char *json, const char *msg)
{
	struct power_config c;
	struct lb_error err = LB_ERROR_INIT;

	assert_true(power_config_parse(&c, json, &err) < 0);
	HAS(err.msg, msg);
	assert_null(c.cmd.command); /* left with the defaults */
}

static void config_errors_name_the_key(void **state)
{
	(void)state;
	expect_bad("{\"interval\": 5}",
		   "unknown key 'interval' in power (valid: sources, interval_ms, idle_s, "
		   "max_samples, rapl, nvml, hlsmi, cmd); did you mean 'interval_ms'?");
	expect_bad("{\"rapl\": {\"zone\": []}}",
		   "unknown key 'zone' in power.rapl (valid: zones, root); did you mean 'zones'?");
	expect_bad("{\"cmd\": {\"command\": \"x\", \"units\": \"W\"}}",
		   "unknown key 'units' in power.cmd (valid: command, unit, timeout_ms); did you "
		   "mean 'unit'?");
	expect_bad("{\"interval_ms\": 0}",
		   "power.interval_ms: expected an integer from 1 to 60000");
	expect_bad("{\"interval_ms\": 1.5}", "power.interval_ms: expected an integer");
	expect_bad("{\"sources\": [\"rapl\", \"ipmi\"]}",
		   "power.sources: unknown source 'ipmi' (valid: rapl, nvml, hlsmi, cmd)");
	expect_bad("{\"sources\": [\"cmd\"]}", "power.cmd.command: required");
	expect_bad("{\"cmd\": {\"command\": \"x\", \"unit\": \"kW\"}}", "power.cmd.unit: expected");
	expect_bad("{\"nvml\": {\"devices\": [64]}}", "power.nvml.devices: expected an integer");
	expect_bad("{\"nvml\": {\"devices\": \"some\"}}", "power.nvml.devices: expected \"all\"");
	expect_bad("{\"idle_s\": -1}", "power.idle_s: expected seconds");
	expect_bad("[1]", "power: expected an object");
	expect_bad("{\"sources\": ", "power: cannot parse JSON");
}

static void config_refuses_nested_zones(void **state)
{
	(void)state;
	expect_bad("{\"rapl\": {\"zones\": [\"package\", \"core\"]}}",
		   "power.rapl.zones: 'core' is inside 'package' (nested zones are never added)");
	expect_bad("{\"rapl\": {\"zones\": [\"uncore\", \"package\"]}}",
		   "'uncore' is inside 'package'");
	expect_bad("{\"rapl\": {\"zones\": [\"psys\", \"dram\"]}}",
		   "'psys' covers the whole platform");
	expect_bad("{\"rapl\": {\"zones\": [\"gpu\"]}}", "unknown zone 'gpu'");
}

/* ---- integration against hand-computed values -------------------------------------------- */

static const uint64_t t4[] = {1 * S, 2 * S, 3 * S, 4 * S};

static void counter_window_interpolates_edges(void **state)
{
	static const double e[] = {0, 10, 30, 60}; /* 10, 20, 30 W */
	struct power_sampler *s = script_sampler(t4, e, 4, true);
	struct power_window w;

	(void)state;
	power_window(s, 1500 * MS, 3500 * MS, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 45.0 - 5.0, 1e-9); /* E(3.5) = 30 + 15, E(1.5) = 5 */
	NEAR(power_window_avg_w(&w), 20.0, 1e-9);
	NEAR(w.duration_s, 2.0, 1e-12);
	assert_int_equal(w.n_samples, 2);
	assert_string_equal(w.provenance, "fake:meter@0ms");
	assert_string_equal(w.note, "");
	assert_false(w.ch[0].integrated);
	power_window(s, 1 * S, 4 * S, &w); /* the samples themselves */
	NEAR(w.energy_j, 60.0, 1e-9);
	assert_int_equal(w.n_samples, 4);
	power_sampler_free(s);
}

static void power_only_window_uses_trapezoid(void **state)
{
	static const uint64_t t[] = {0, 1 * S, 2 * S, 3 * S};
	static const double p[] = {10, 20, 20, 40}; /* cumulative 0, 15, 35, 65 J */
	struct power_sampler *s = script_sampler(t, p, 4, false);
	struct power_window w;

	(void)state;
	power_window(s, 0, 3 * S, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 65.0, 1e-9);
	power_window(s, 500 * MS, 2500 * MS, &w);
	NEAR(w.energy_j, 50.0 - 7.5, 1e-9);
	assert_true(w.ch[0].integrated);
	HAS(w.note, "integrated from power samples (trapezoid): fake:meter");
	power_sampler_free(s);
}

static void stuck_counter_is_reported(void **state)
{
	static const double e[] = {7, 7, 7, 7};
	struct power_sampler *s = script_sampler(t4, e, 4, true);
	struct power_window w;
	struct figs fs = {0};

	(void)state;
	power_window(s, 1 * S, 4 * S, &w);
	assert_false(w.ok);
	HAS(w.reason, "unavailable: fake:meter: counter did not advance over 3.000 s (4 samples)");
	assert_int_equal(power_summarize(&w, NULL, 100, 200, 4, collect, &fs), 0);
	assert_int_equal(fs.n, 8);
	for (int i = 0; i < fs.n; i++) {
		assert_false(fs.f[i].has);
		HAS(fs.f[i].note, "unavailable: ");
	}
	HAS(fig(&fs, "energy_j")->note, "counter did not advance");
	power_sampler_free(s);
}

static void counter_reset_goes_on_and_is_noted(void **state)
{
	static const uint64_t t[] = {1 * S, 2 * S, 3 * S, 4 * S, 5 * S};
	static const double e[] = {0, 10, 2, 12, 22}; /* a meter restarted before t = 3 s */
	struct power_sampler *s = script_sampler(t, e, 5, true);
	struct power_window w;

	(void)state;
	power_window(s, 1 * S, 5 * S, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 10.0 + 10.0 + 10.0, 1e-9); /* the reading at 3 s only rebases */
	assert_int_equal(w.ch[0].n_failed, 1);
	HAS(w.note, "fake:meter: 1 failed reads (last: counter went backwards");
	power_sampler_free(s);
}

static void window_outside_samples_is_unavailable(void **state)
{
	static const double e[] = {0, 10, 30, 60};
	struct power_sampler *s = script_sampler(t4, e, 4, true);
	struct power_window w;

	(void)state;
	power_window(s, 2 * S, 5 * S, &w);
	assert_false(w.ok);
	HAS(w.reason, "no sample after the window's end");
	power_window(s, 500 * MS, 2 * S, &w);
	assert_false(w.ok);
	HAS(w.reason, "window starts before the first sample");
	power_window(s, 3 * S, 3 * S, &w);
	assert_false(w.ok);
	HAS(w.reason, "empty window");
	power_sampler_free(s);
}

static void short_window_is_flagged(void **state)
{
	static const double e[] = {0, 10, 30, 60};
	struct power_sampler *s = script_sampler(t4, e, 4, true);
	struct power_window w;
	struct figs fs = {0};

	(void)state;
	power_window(s, 2 * S, 2500 * MS, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 10.0, 1e-9);
	HAS(w.note, "short window (< 1 s): noise");
	power_summarize(&w, NULL, 10, 20, 1, collect, &fs);
	HAS(fig(&fs, "energy_j")->note, "short window (< 1 s): noise");
	power_sampler_free(s);
}

static void summaries_match_hand_computed(void **state)
{
	static const double e[] = {0, 10, 30, 60};
	struct power_sampler *s = script_sampler(t4, e, 4, true);
	struct power_window w, idle;
	struct figs fs = {0};

	(void)state;
	power_window(s, 1 * S, 2 * S, &idle);	   /* 10 W */
	power_window(s, 1500 * MS, 3500 * MS, &w); /* 40 J over 2 s */
	assert_int_equal(power_summarize(&w, &idle, 100, 400, 4, collect, &fs), 0);
	assert_int_equal(fs.n, 8);
	NEAR(fig(&fs, "energy_j")->v, 40.0, 1e-9);
	NEAR(fig(&fs, "power_avg_w")->v, 20.0, 1e-9);
	NEAR(fig(&fs, "power_idle_w")->v, 10.0, 1e-9);
	HAS(fig(&fs, "power_idle_w")->note, "idle baseline over 1.0 s");
	NEAR(fig(&fs, "energy_dynamic_j")->v, 40.0 - 10.0 * 2.0, 1e-9);
	NEAR(fig(&fs, "j_per_output_token")->v, 0.4, 1e-12);
	NEAR(fig(&fs, "j_per_total_token")->v, 0.1, 1e-12);
	NEAR(fig(&fs, "tokens_per_j")->v, 2.5, 1e-12);
	NEAR(fig(&fs, "j_per_request_attributed")->v, 10.0, 1e-12);
	HAS(fig(&fs, "j_per_request_attributed")->note, "attributed");
	for (int i = 0; i < fs.n; i++) {
		assert_true(fs.f[i].has);
		assert_string_equal(fs.f[i].prov, "fake:meter@0ms");
	}

	fs.n = 0; /* no idle window, unknown token counts */
	power_summarize(&w, NULL, NAN, -1, 0, collect, &fs);
	assert_true(fig(&fs, "energy_j")->has);
	assert_false(fig(&fs, "power_idle_w")->has);
	HAS(fig(&fs, "power_idle_w")->note, "unavailable: no idle baseline (set power.idle_s)");
	assert_false(fig(&fs, "energy_dynamic_j")->has);
	assert_false(fig(&fs, "j_per_output_token")->has);
	HAS(fig(&fs, "j_per_output_token")->note, "unavailable: output token count unknown");
	assert_false(fig(&fs, "j_per_total_token")->has);
	assert_false(fig(&fs, "tokens_per_j")->has);
	assert_false(fig(&fs, "j_per_request_attributed")->has);
	power_sampler_free(s);
}

static void failing_channel_is_excluded_and_named(void **state)
{
	static const double e[] = {0, 10, 30, 60};
	struct power_sampler *s;
	struct power_window w;

	(void)state;
	sc.fail_second = true;
	s = script_sampler(t4, e, 4, true);
	sc.fail_second = false;
	power_window(s, 1 * S, 4 * S, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 60.0, 1e-9);
	assert_string_equal(w.provenance, "fake:meter@0ms");
	HAS(w.note, "excluded fake:broken: no sample (4 failed reads, last: boom)");
	power_sampler_free(s);
}

static void decimation_keeps_memory_bounded_and_energy_exact(void **state)
{
	enum { N = 1000 };
	static uint64_t t[N];
	static double e[N];
	const struct power_source_ops *ops[] = {&script_ops};
	struct power_config cfg;
	struct power_sampler *s = NULL;
	struct lb_error err = LB_ERROR_INIT;
	struct power_window w;
	size_t kept = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		t[i] = (uint64_t)(i + 1) * 100 * MS;
		e[i] = 5.0 * (double)i * 0.1; /* 5 W */
	}
	sc = (struct script){t, e, N, 0, true, false};
	power_config_init(&cfg);
	cfg.interval_ms = 0;
	cfg.max_samples = 16;
	assert_int_equal(power_sampler_start_with(&s, &cfg, ops, 1, &err), 0);
	while (sc.i < N)
		power_sampler_poll(s);
	power_window(s, t[0], t[N - 1], &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 5.0 * 99.9, 1e-6);
	HAS(w.note, "samples thinned to 1 poll in");
	power_window(s, t[0] + 50 * MS, t[N - 1] - 50 * MS, &w); /* linear: interpolation exact */
	NEAR(w.energy_j, 5.0 * 99.8, 1e-6);
	kept = w.n_samples;
	assert_true(kept <= 16);
	power_sampler_free(s);
}

static int count_samples(void *ctx, const struct power_sample *smp)
{
	size_t *n = ctx;

	(void)smp;
	(*n)++;
	return 0;
}

static int check_sample_power(void *ctx, const struct power_sample *smp)
{
	double *want = ctx;

	if (!isnan(smp->power_w))
		NEAR(smp->power_w, *want, 1e-6);
	return 0;
}

static void raw_samples_are_listed(void **state)
{
	static const double e[] = {0, 10, 20, 30};
	struct power_sampler *s = script_sampler(t4, e, 4, true);
	size_t n = 0;
	double want = 10.0;

	(void)state;
	assert_int_equal(power_sampler_foreach_sample(s, 0, UINT64_MAX, count_samples, &n), 0);
	assert_int_equal(n, 4);
	n = 0;
	assert_int_equal(power_sampler_foreach_sample(s, 2 * S, 3 * S, count_samples, &n), 0);
	assert_int_equal(n, 2);
	/* derived from counter differences, including the first in range (uses the one before) */
	assert_int_equal(
		power_sampler_foreach_sample(s, 2 * S, UINT64_MAX, check_sample_power, &want), 0);
	power_sampler_free(s);
}

/* ---- no source --------------------------------------------------------------------------- */

static void no_source_gives_unavailable_with_reasons(void **state)
{
	struct power_sampler *s = NULL;
	struct lb_error err = LB_ERROR_INIT;
	struct power_window w, idle;
	struct figs fs = {0};

	(void)state;
	setenv("LLMBENCH_POWERCAP_ROOT", "/nonexistent/powercap", 1);
	setenv("LLMBENCH_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
	setenv("LLMBENCH_HLSMI", "/nonexistent/hl-smi", 1);
	assert_int_equal(power_sampler_start(&s, NULL, &err), 0);
	assert_string_equal(power_sampler_describe(s),
			    "no power source (rapl: /nonexistent/powercap absent; nvml: "
			    "/nonexistent/libnvidia-ml.so.1 not found; hlsmi: "
			    "/nonexistent/hl-smi not found)");
	power_window(s, lb_now_ns() - S, lb_now_ns(), &w);
	assert_false(w.ok);
	HAS(w.reason, "unavailable: no power source (rapl: /nonexistent/powercap absent;");
	power_sampler_idle(s, 0, &idle);
	assert_false(idle.ok);
	assert_int_equal(power_summarize(&w, &idle, 10, 20, 2, collect, &fs), 0);
	assert_int_equal(fs.n, 8);
	for (int i = 0; i < fs.n; i++) {
		assert_false(fs.f[i].has); /* never 0 */
		HAS(fs.f[i].note, "unavailable: ");
	}
	HAS(fig(&fs, "energy_j")->note, "no power source");
	power_sampler_stop(s);
	power_sampler_free(s);

	/* an idle baseline is not waited for when there is nothing to measure */
	assert_int_equal(power_sampler_start(&s, "{\"idle_s\": 30}", &err), 0);
	NEAR(power_sampler_idle_s(s), 30, 0);
	{
		uint64_t t = lb_now_ns();

		power_sampler_idle(s, 0, &idle);
		assert_true(lb_now_ns() - t < S);
	}
	assert_false(idle.ok);
	HAS(idle.reason, "unavailable: no power source (rapl: ");
	power_sampler_free(s);

	assert_int_equal(power_sampler_start(&s, "{\"sources\": \"none\"}", &err), 0);
	power_window(s, 0, S, &w);
	assert_false(w.ok);
	HAS(w.reason, "disabled");
	power_sampler_free(s);
	unsetenv("LLMBENCH_POWERCAP_ROOT");
	unsetenv("LLMBENCH_NVML_LIB");
	unsetenv("LLMBENCH_HLSMI");
}

static void bad_section_fails_start(void **state)
{
	struct power_sampler *s = (struct power_sampler *)1;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(power_sampler_start(&s, "{\"bogus\": 1}", &err), LB_ERR_USAGE);
	assert_null(s);
	HAS(err.msg, "unknown key 'bogus' in power");
}

/* ---- RAPL against a fake powercap tree --------------------------------------------------- */

static char rapl_root[512];

static void zone(const char *dir, const char *name, uint64_t energy_uj, uint64_t range_uj)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", rapl_root, dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/name", rapl_root, dir);
	write_file(p, "%s\n", name);
	snprintf(p, sizeof(p), "%s/%s/max_energy_range_uj", rapl_root, dir);
	write_file(p, "%llu\n", (unsigned long long)range_uj);
	snprintf(p, sizeof(p), "%s/%s/energy_uj", rapl_root, dir);
	write_file(p, "%llu\n", (unsigned long long)energy_uj);
}

static void set_energy(const char *dir, uint64_t energy_uj)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s/energy_uj", rapl_root, dir);
	write_file(p, "%llu\n", (unsigned long long)energy_uj);
}

static int rapl_setup(void **state)
{
	char cmd[1200];

	(void)state;
	snprintf(rapl_root, sizeof(rapl_root), "%s/powercap", tmpdir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", rapl_root, rapl_root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct power_sampler *rapl_sampler(const char *zones_json, struct lb_error *err)
{
	const struct power_source_ops *ops[] = {&power_rapl_ops};
	struct power_config cfg;
	struct power_sampler *s = NULL;
	char json[1024];

	snprintf(json, sizeof(json), "{\"rapl\": {\"zones\": %s, \"root\": \"%s\"}}",
		 zones_json ? zones_json : "[\"package\"]", rapl_root);
	assert_int_equal(power_config_parse(&cfg, json, err), 0);
	cfg.interval_ms = 0;
	assert_int_equal(power_sampler_start_with(&s, &cfg, ops, 1, err), 0);
	power_config_release(&cfg);
	return s;
}

static void rapl_tree(void)
{
	const uint64_t r = 262143328850ull;

	zone("intel-rapl:0", "package-0", 1000000, r);
	zone("intel-rapl:0:0", "core", 500000, r);
	zone("intel-rapl:0:1", "dram", 100000, r);
	zone("intel-rapl:1", "package-1", 2000000, r);
	zone("intel-rapl:2", "psys", 9000000, r);
	zone("intel-rapl-mmio:0", "package-0", 1000000, r); /* the same counter, another path */
}

static void rapl_tree_advance(void)
{
	set_energy("intel-rapl:0", 2000000);   /* +1 J */
	set_energy("intel-rapl:0:0", 1500000); /* +1 J, inside package-0 */
	set_energy("intel-rapl:0:1", 300000);  /* +0.2 J */
	set_energy("intel-rapl:1", 4000000);   /* +2 J */
	set_energy("intel-rapl:2", 19000000);  /* +10 J, the whole platform */
	set_energy("intel-rapl-mmio:0", 2000000);
}

/* Polls P0 (at start), P1, change, P2, P3 with t0 between P0 and P1 and t1 between P2 and P3:
 * every channel is flat around both edges, so the window's energy is exactly the change. */
static void rapl_measure(struct power_sampler *s, void (*change)(void), struct power_window *w)
{
	uint64_t t0, t1;

	t0 = lb_now_ns();
	power_sampler_poll(s);
	change();
	power_sampler_poll(s);
	t1 = lb_now_ns();
	power_sampler_poll(s);
	power_window(s, t0, t1, w);
}

static void rapl_adds_packages_never_nested_zones(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s;
	struct power_window w;

	(void)state;
	rapl_tree();
	s = rapl_sampler(NULL, &err);
	assert_string_equal(power_sampler_describe(s), "rapl:package-0, rapl:package-1 every 0 ms");
	rapl_measure(s, rapl_tree_advance, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 3.0, 1e-9); /* package-0 + package-1; not core, not psys, not mmio */
	assert_string_equal(w.provenance, "rapl:package-0@0ms+rapl:package-1@0ms");
	power_sampler_free(s);

	rapl_tree();
	s = rapl_sampler("[\"package\", \"dram\"]", &err);
	assert_string_equal(power_sampler_describe(s),
			    "rapl:package-0, rapl:dram-0, rapl:package-1 every 0 ms");
	rapl_measure(s, rapl_tree_advance, &w);
	NEAR(w.energy_j, 3.2, 1e-9);
	power_sampler_free(s);

	rapl_tree();
	s = rapl_sampler("[\"psys\"]", &err);
	rapl_measure(s, rapl_tree_advance, &w);
	assert_string_equal(w.provenance, "rapl:psys@0ms");
	NEAR(w.energy_j, 10.0, 1e-9);
	power_sampler_free(s);

	rapl_tree();
	s = rapl_sampler("[\"core\"]", &err);
	rapl_measure(s, rapl_tree_advance, &w);
	assert_string_equal(w.provenance, "rapl:core-0@0ms");
	NEAR(w.energy_j, 1.0, 1e-9);
	power_sampler_free(s);
}

static void wrap_step1(void)
{
	set_energy("intel-rapl:0", 100000); /* wrapped at 1 J: +0.2 J */
}

static void rapl_corrects_wrap(void **state)
{
	const struct power_source_ops *ops[] = {&power_rapl_ops};
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s = NULL;
	struct power_config cfg;
	struct power_window w;
	uint64_t t0, t1;

	(void)state;
	zone("intel-rapl:0", "package-0", 900000, 1000000);
	power_config_init(&cfg);
	cfg.interval_ms = 0;
	cfg.rapl.root = rapl_root; /* borrowed for the call; not released */
	assert_int_equal(power_sampler_start_with(&s, &cfg, ops, 1, &err), 0);
	t0 = lb_now_ns();
	power_sampler_poll(s);
	wrap_step1();
	power_sampler_poll(s);
	set_energy("intel-rapl:0", 500000); /* +0.4 J */
	power_sampler_poll(s);
	set_energy("intel-rapl:0", 950000); /* +0.45 J */
	power_sampler_poll(s);
	set_energy("intel-rapl:0", 50000); /* wrapped again: +0.1 J */
	power_sampler_poll(s);
	t1 = lb_now_ns();
	power_sampler_poll(s);
	power_window(s, t0, t1, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 0.2 + 0.4 + 0.45 + 0.1, 1e-9);
	power_sampler_free(s);
}

static void advance_package1(void)
{
	set_energy("intel-rapl:1", 4000000); /* +2 J; package-0 stays */
}

static void rapl_stuck_counter_is_reported(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s;
	struct power_window w;

	(void)state;
	rapl_tree();
	s = rapl_sampler(NULL, &err);
	rapl_measure(s, rapl_tree, &w); /* nothing moves */
	assert_false(w.ok);
	HAS(w.reason, "rapl:package-0: counter did not advance over");
	HAS(w.reason, "rapl:package-1: counter did not advance over");
	power_sampler_free(s);

	/* one stuck, one moving: the moving one counts, the stuck one is named */
	rapl_tree();
	s = rapl_sampler(NULL, &err);
	rapl_measure(s, advance_package1, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 2.0, 1e-9);
	assert_string_equal(w.provenance, "rapl:package-1@0ms");
	HAS(w.note, "excluded rapl:package-0: counter did not advance over");
	power_sampler_free(s);
}

static const char *denied_path;
static int deny_energy(const char *path, int flags)
{
	if (!strcmp(path, denied_path)) {
		errno = EACCES;
		return -1;
	}
	return open(path, flags);
}

static void rapl_permission_denied_says_how_to_fix(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s;
	struct power_window w;
	char path[1024], want[2600];
	bool simulated = false;

	(void)state;
	rapl_tree();
	snprintf(path, sizeof(path), "%s/intel-rapl:1/energy_uj", rapl_root);
	assert_int_equal(chmod(path, 0), 0);
	if (!access(path, R_OK)) { /* root reads anyway: simulate EACCES through the open hook */
		denied_path = path;
		power_rapl_open_hook = deny_energy;
		simulated = true;
	}
	s = rapl_sampler(NULL, &err);
	power_rapl_open_hook = NULL;
	chmod(path, 0644);
	snprintf(want, sizeof(want),
		 "no power source (rapl: cannot read '%s': Permission denied (run as root or grant "
		 "read permission on '%s'))",
		 path, path);
	assert_string_equal(power_sampler_describe(s), want);
	power_window(s, 0, S, &w);
	assert_false(w.ok);
	HAS(w.reason, "Permission denied (run as root");
	power_sampler_free(s);
	if (simulated)
		print_message("# running as root: EACCES simulated through power_rapl_open_hook\n");
}

static void rapl_absent_root_is_a_reason(void **state)
{
	const struct power_source_ops *ops[] = {&power_rapl_ops};
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s = NULL;
	struct power_config cfg;
	char root[600];

	(void)state;
	snprintf(root, sizeof(root), "%s/nope", rapl_root);
	power_config_init(&cfg);
	cfg.interval_ms = 0;
	cfg.rapl.root = root;
	assert_int_equal(power_sampler_start_with(&s, &cfg, ops, 1, &err), 0);
	HAS(power_sampler_describe(s), "/nope absent");
	power_sampler_free(s);
	/* a root with no package zone */
	cfg.rapl.root = rapl_root;
	assert_int_equal(power_sampler_start_with(&s, &cfg, ops, 1, &err), 0);
	HAS(power_sampler_describe(s), "rapl: no package zone under");
	power_sampler_free(s);
}

/* ---- NVML through the fake library ------------------------------------------------------- */

static unsigned long long (*fake_energy_mj)(unsigned i, uint64_t t_ns);
static void *fake_lib;

static int nvml_setup(void **state)
{
	(void)state;
	setenv("LLMBENCH_NVML_LIB", fake_nvml_so, 1);
	unsetenv("FAKE_NVML_DEVICES");
	unsetenv("FAKE_NVML_POWER_MW");
	unsetenv("FAKE_NVML_FAIL_ENERGY");
	unsetenv("FAKE_NVML_NO_ENERGY");
	unsetenv("FAKE_NVML_INIT_FAIL");
	return 0;
}

static int nvml_teardown(void **state)
{
	(void)state;
	unsetenv("LLMBENCH_NVML_LIB");
	return 0;
}

static int check_gpu_power(void *ctx, const struct power_sample *smp)
{
	int *n = ctx;

	if (!strcmp(smp->label, "nvml:gpu0")) {
		NEAR(smp->power_w, 250.0, 1e-9); /* the second series: nvmlDeviceGetPowerUsage */
		(*n)++;
	}
	return 0;
}

static void nvml_energy_equals_fake_counter_delta(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s = NULL;
	struct power_window w;
	uint64_t t0, t1;
	double want;
	int n = 0;

	(void)state;
	setenv("FAKE_NVML_DEVICES", "2", 1);
	setenv("FAKE_NVML_POWER_MW", "250000,100000", 1);
	assert_int_equal(
		power_sampler_start(&s, "{\"sources\": [\"nvml\"], \"interval_ms\": 20}", &err), 0);
	assert_string_equal(power_sampler_describe(s), "nvml:gpu0, nvml:gpu1 every 20 ms");
	t0 = lb_now_ns();
	usleep(300000);
	t1 = lb_now_ns();
	power_window(s, t0, t1, &w);
	want = (double)(fake_energy_mj(0, t1) - fake_energy_mj(0, t0) + fake_energy_mj(1, t1) -
			fake_energy_mj(1, t0)) /
	       1e3;
	assert_true(w.ok);
	NEAR(w.energy_j, want, 0.005); /* 1 mJ counter resolution at each edge */
	NEAR(w.energy_j, 350.0 * (double)(t1 - t0) / 1e9, 0.005);
	assert_string_equal(w.provenance, "nvml:gpu0@20ms+nvml:gpu1@20ms");
	assert_false(w.ch[0].integrated);
	assert_true(w.n_samples >= 3);
	power_sampler_stop(s);
	assert_int_equal(power_sampler_foreach_sample(s, t0, t1, check_gpu_power, &n), 0);
	assert_true(n >= 2);
	power_sampler_free(s);
}

static void nvml_failing_device_is_reported_not_fatal(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s = NULL;
	struct power_window w;
	uint64_t t0, t1;

	(void)state;
	setenv("FAKE_NVML_DEVICES", "2", 1);
	setenv("FAKE_NVML_FAIL_ENERGY", "1", 1);
	assert_int_equal(
		power_sampler_start(&s, "{\"sources\": [\"nvml\"], \"interval_ms\": 20}", &err), 0);
	t0 = lb_now_ns();
	usleep(150000);
	t1 = lb_now_ns();
	power_window(s, t0, t1, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 250.0 * (double)(t1 - t0) / 1e9, 0.005);
	assert_string_equal(w.provenance, "nvml:gpu0@20ms");
	HAS(w.note, "excluded nvml:gpu1: no sample (");
	HAS(w.note, "failed reads, last: nvmlDeviceGetTotalEnergyConsumption: Unknown Error)");
	power_sampler_free(s);
}

static void nvml_without_energy_counter_integrates_power(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s = NULL;
	struct power_window w;
	uint64_t t0, t1;

	(void)state;
	setenv("FAKE_NVML_NO_ENERGY", "1", 1);
	assert_int_equal(
		power_sampler_start(&s, "{\"sources\": [\"nvml\"], \"interval_ms\": 20}", &err), 0);
	t0 = lb_now_ns();
	usleep(150000);
	t1 = lb_now_ns();
	power_window(s, t0, t1, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 250.0 * (double)(t1 - t0) / 1e9, 1e-6);
	assert_true(w.ch[0].integrated);
	HAS(w.note, "integrated from power samples (trapezoid): nvml:gpu0");
	HAS(w.note, "no energy counter on this GPU");
	power_sampler_free(s);
}

static void nvml_device_selection_and_init_failure(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s = NULL;

	(void)state;
	setenv("FAKE_NVML_DEVICES", "3", 1);
	assert_int_equal(power_sampler_start(&s,
					     "{\"sources\": [\"nvml\"], \"interval_ms\": 50,"
					     " \"nvml\": {\"devices\": [2, 0]}}",
					     &err),
			 0);
	assert_string_equal(power_sampler_describe(s), "nvml:gpu0, nvml:gpu2 every 50 ms");
	power_sampler_free(s);
	assert_int_equal(power_sampler_start(&s,
					     "{\"sources\": [\"nvml\"],"
					     " \"nvml\": {\"devices\": [5]}}",
					     &err),
			 0);
	assert_string_equal(
		power_sampler_describe(s),
		"no power source (nvml: power.nvml.devices: device 5 not present (3 GPUs))");
	power_sampler_free(s);
	setenv("FAKE_NVML_INIT_FAIL", "1", 1);
	assert_int_equal(power_sampler_start(&s, "{\"sources\": [\"nvml\"]}", &err), 0);
	assert_string_equal(power_sampler_describe(s),
			    "no power source (nvml: nvmlInit_v2: Driver Not Loaded)");
	power_sampler_free(s);
}

/* ---- hl-smi through the fake script ------------------------------------------------------ */

static struct power_sampler *hlsmi_sampler(const char *extra)
{
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s = NULL;
	char json[5000];

	snprintf(json, sizeof(json),
		 "{\"sources\": [\"hlsmi\"], \"interval_ms\": 50, \"hlsmi\": {\"path\": \"%s\"%s}}",
		 fake_hlsmi, extra ? extra : "");
	assert_int_equal(power_sampler_start(&s, json, &err), 0);
	return s;
}

static void hlsmi_power_is_integrated_and_labelled(void **state)
{
	struct power_sampler *s;
	struct power_window w, idle;
	struct figs fs = {0};
	uint64_t t0, t1;

	(void)state;
	setenv("FAKE_HLSMI_W", "100,200.5", 1);
	s = hlsmi_sampler(NULL);
	assert_string_equal(power_sampler_describe(s), "hlsmi:accel0, hlsmi:accel1 every 50 ms");
	power_sampler_idle(s, 0.2, &idle);
	assert_true(idle.ok);
	NEAR(power_window_avg_w(&idle), 300.5, 1e-6);
	t0 = lb_now_ns();
	usleep(400000);
	t1 = lb_now_ns();
	power_window(s, t0, t1, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 300.5 * (double)(t1 - t0) / 1e9, 1e-6);
	assert_string_equal(w.provenance, "hlsmi:accel0@50ms+hlsmi:accel1@50ms");
	HAS(w.note, "integrated from power samples (trapezoid): hlsmi:accel0, hlsmi:accel1");
	power_summarize(&w, &idle, 10, 20, 2, collect, &fs);
	NEAR(fig(&fs, "energy_dynamic_j")->v, 0.0, 1e-5);
	NEAR(fig(&fs, "power_idle_w")->v, 300.5, 1e-6);
	HAS(fig(&fs, "energy_j")->note, "integrated from power samples");
	power_sampler_free(s);

	s = hlsmi_sampler(", \"devices\": [1]");
	assert_string_equal(power_sampler_describe(s), "hlsmi:accel1 every 50 ms");
	t0 = lb_now_ns();
	usleep(200000);
	t1 = lb_now_ns();
	power_window(s, t0, t1, &w);
	NEAR(w.energy_j, 200.5 * (double)(t1 - t0) / 1e9, 1e-6);
	power_sampler_free(s);
	unsetenv("FAKE_HLSMI_W");
}

static void hlsmi_failures_are_reasons(void **state)
{
	struct power_sampler *s;
	char want[5000];

	(void)state;
	setenv("FAKE_HLSMI_FAIL", "1", 1);
	s = hlsmi_sampler(NULL);
	snprintf(want, sizeof(want), "no power source (hlsmi: '%s' exited with status 1)",
		 fake_hlsmi);
	assert_string_equal(power_sampler_describe(s), want);
	power_sampler_free(s);
	unsetenv("FAKE_HLSMI_FAIL");
	s = hlsmi_sampler(", \"devices\": [5]");
	HAS(power_sampler_describe(s), "device 5 not present (1 devices)");
	power_sampler_free(s);
}

/* ---- cmd --------------------------------------------------------------------------------- */

static void cmd_source_in_watts_and_joules(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s = NULL;
	struct power_window w;
	uint64_t t0, t1;

	(void)state;
	assert_int_equal(power_sampler_start(&s,
					     "{\"sources\": [\"cmd\"], \"interval_ms\": 20,"
					     " \"cmd\": {\"command\": \"echo 42\"}}",
					     &err),
			 0);
	assert_string_equal(power_sampler_describe(s), "cmd:meter every 20 ms");
	t0 = lb_now_ns();
	usleep(300000);
	t1 = lb_now_ns();
	power_window(s, t0, t1, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 42.0 * (double)(t1 - t0) / 1e9, 1e-6);
	HAS(w.note, "integrated from power samples (trapezoid): cmd:meter");
	power_sampler_free(s);

	/* a cumulative joule reading: seconds since the epoch are a 1 W meter */
	assert_int_equal(power_sampler_start(&s,
					     "{\"sources\": [\"cmd\"], \"interval_ms\": 20,"
					     " \"cmd\": {\"command\": \"date +%s.%N\", \"unit\": "
					     "\"J\"}}",
					     &err),
			 0);
	t0 = lb_now_ns();
	usleep(500000);
	t1 = lb_now_ns();
	power_window(s, t0, t1, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, (double)(t1 - t0) / 1e9, 0.1); /* spawn jitter at the edges */
	assert_false(w.ch[0].integrated);
	power_sampler_free(s);
}

static void cmd_failures_are_reasons(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s = NULL;

	(void)state;
	assert_int_equal(power_sampler_start(&s,
					     "{\"sources\": [\"cmd\"],"
					     " \"cmd\": {\"command\": \"echo abc\"}}",
					     &err),
			 0);
	assert_string_equal(power_sampler_describe(s),
			    "no power source (cmd: command 'echo abc' printed 'abc', not a "
			    "non-negative number of watts)");
	power_sampler_free(s);
	assert_int_equal(power_sampler_start(&s,
					     "{\"sources\": [\"cmd\"],"
					     " \"cmd\": {\"command\": \"exit 3\"}}",
					     &err),
			 0);
	assert_string_equal(power_sampler_describe(s),
			    "no power source (cmd: command 'exit 3' exited with status 3)");
	power_sampler_free(s);
	assert_int_equal(power_sampler_start(&s,
					     "{\"sources\": [\"cmd\"], \"cmd\": {\"command\":"
					     " \"sleep 5\", \"timeout_ms\": 100}}",
					     &err),
			 0);
	assert_string_equal(power_sampler_describe(s),
			    "no power source (cmd: command 'sleep 5' timed out after 100 ms)");
	power_sampler_free(s);
}

/* ---- the thread under concurrent readers (run this one under TSan) ----------------------- */

static int live_open(void **self, const struct power_config *cfg, struct power_chan *ch, size_t max,
		     size_t *n_ch, struct lb_error *err)
{
	(void)cfg;
	(void)max;
	(void)err;
	*self = NULL;
	memset(ch, 0, sizeof(*ch));
	snprintf(ch[0].scope, sizeof(ch[0].scope), "live");
	ch[0].caps = POWER_CAP_ENERGY | POWER_CAP_POWER;
	*n_ch = 1;
	return 0;
}

static int live_read(void *self, struct power_reading *out, size_t n_ch, struct lb_error *err)
{
	(void)self;
	(void)n_ch;
	(void)err;
	out[0].t_ns = lb_now_ns();
	out[0].ok = true;
	out[0].has_energy = true;
	out[0].energy_uj = out[0].t_ns / 100; /* 10 W: 10 J/s = 10 uJ/us */
	out[0].has_power = true;
	out[0].power_mw = 10000;
	return 0;
}

static const struct power_source_ops live_ops = {
	.name = "live",
	.open = live_open,
	.read = live_read,
	.close = script_close,
};

static void sampler_thread_with_concurrent_readers(void **state)
{
	const struct power_source_ops *ops[] = {&live_ops};
	struct lb_error err = LB_ERROR_INIT;
	struct power_sampler *s = NULL;
	struct power_config cfg;
	struct power_window w;
	uint64_t t_start, t_end;
	int windows = 0;

	(void)state;
	power_config_init(&cfg);
	cfg.interval_ms = 1;
	cfg.max_samples = 64; /* decimation runs while readers read */
	assert_int_equal(power_sampler_start_with(&s, &cfg, ops, 1, &err), 0);
	t_start = lb_now_ns();
	t_end = t_start + 300 * MS;
	while (lb_now_ns() < t_end) {
		uint64_t t1 = lb_now_ns();
		size_t n = 0;

		power_window(s, t_start, t1, &w);
		assert_true(w.ok);
		NEAR(w.energy_j, 10.0 * (double)(t1 - t_start) / 1e9, 1e-3);
		assert_int_equal(power_sampler_foreach_sample(s, 0, UINT64_MAX, count_samples, &n),
				 0);
		assert_true(n <= 64);
		windows++;
	}
	power_sampler_stop(s);
	power_sampler_stop(s); /* idempotent */
	power_window(s, t_start, t_end, &w);
	assert_true(w.ok);
	NEAR(w.energy_j, 3.0, 1e-3);
	power_sampler_free(s);
	assert_true(windows > 3);
}

/* ---- main -------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
	char cmd[2048];
	char *hl;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lb-test-power-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	if (access("tests/fake/fake_nvml.c", R_OK)) {
		fprintf(stderr,
			"test_power: run from the repository root (tests/fake/ not found)\n");
		return -1;
	}
	snprintf(fake_nvml_so, sizeof(fake_nvml_so), "%s/libfake_nvml.so", tmpdir);
	snprintf(cmd, sizeof(cmd), "${CC:-cc} -shared -fPIC -O1 -o '%s' tests/fake/fake_nvml.c",
		 fake_nvml_so);
	if (system(cmd)) {
		fprintf(stderr, "test_power: cannot build the fake NVML library: %s\n", cmd);
		return -1;
	}
	fake_lib = dlopen(fake_nvml_so, RTLD_NOW | RTLD_LOCAL);
	if (!fake_lib)
		return -1;
	fake_energy_mj = (__typeof__(fake_energy_mj))dlsym(fake_lib, "fake_nvml_energy_mj");
	hl = realpath("tests/fake/hl-smi", NULL);
	if (!hl || !fake_energy_mj)
		return -1;
	snprintf(fake_hlsmi, sizeof(fake_hlsmi), "%s", hl);
	free(hl);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[512];

	(void)state;
	if (fake_lib)
		dlclose(fake_lib);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_defaults),
		cmocka_unit_test(config_parses_every_field),
		cmocka_unit_test(config_errors_name_the_key),
		cmocka_unit_test(config_refuses_nested_zones),
		cmocka_unit_test(counter_window_interpolates_edges),
		cmocka_unit_test(power_only_window_uses_trapezoid),
		cmocka_unit_test(stuck_counter_is_reported),
		cmocka_unit_test(counter_reset_goes_on_and_is_noted),
		cmocka_unit_test(window_outside_samples_is_unavailable),
		cmocka_unit_test(short_window_is_flagged),
		cmocka_unit_test(summaries_match_hand_computed),
		cmocka_unit_test(failing_channel_is_excluded_and_named),
		cmocka_unit_test(decimation_keeps_memory_bounded_and_energy_exact),
		cmocka_unit_test(raw_samples_are_listed),
		cmocka_unit_test(no_source_gives_unavailable_with_reasons),
		cmocka_unit_test(bad_section_fails_start),
		cmocka_unit_test_setup(rapl_adds_packages_never_nested_zones, rapl_setup),
		cmocka_unit_test_setup(rapl_corrects_wrap, rapl_setup),
		cmocka_unit_test_setup(rapl_stuck_counter_is_reported, rapl_setup),
		cmocka_unit_test_setup(rapl_permission_denied_says_how_to_fix, rapl_setup),
		cmocka_unit_test_setup(rapl_absent_root_is_a_reason, rapl_setup),
		cmocka_unit_test_setup_teardown(nvml_energy_equals_fake_counter_delta, nvml_setup,
						nvml_teardown),
		cmocka_unit_test_setup_teardown(nvml_failing_device_is_reported_not_fatal,
						nvml_setup, nvml_teardown),
		cmocka_unit_test_setup_teardown(nvml_without_energy_counter_integrates_power,
						nvml_setup, nvml_teardown),
		cmocka_unit_test_setup_teardown(nvml_device_selection_and_init_failure, nvml_setup,
						nvml_teardown),
		cmocka_unit_test(hlsmi_power_is_integrated_and_labelled),
		cmocka_unit_test(hlsmi_failures_are_reasons),
		cmocka_unit_test(cmd_source_in_watts_and_joules),
		cmocka_unit_test(cmd_failures_are_reasons),
		cmocka_unit_test(sampler_thread_with_concurrent_readers),
	};
	return cmocka_run_group_tests_name("power", tests, group_setup, group_teardown);
}
