/* power.c: the power sampler (thread, bounded sample storage, window integration), the "power"
 * section parser, the source registry and the energy summaries. Sources: power_*.c. */
#include "power.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "power_source.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define POWER_MAX_SOURCES 8
#define POWER_DEFAULT_INTERVAL_MS 100
#define POWER_DEFAULT_MAX_SAMPLES 65536
#define POWER_DEFAULT_CMD_TIMEOUT_MS 5000
#define NS_PER_S 1e9

/* ---- registry ---------------------------------------------------------------------------- */

static const struct power_source_ops *const registry[] = {
	&power_rapl_ops,
	&power_nvml_ops,
	&power_hlsmi_ops,
	&power_cmd_ops,
};
#define N_REGISTRY (sizeof(registry) / sizeof(registry[0]))

const struct power_source_ops *const *power_source_registry(size_t *n)
{
	*n = N_REGISTRY;
	return registry;
}

static int registry_index(const char *name)
{
	for (size_t i = 0; i < N_REGISTRY; i++)
		if (!strcmp(registry[i]->name, name))
			return (int)i;
	return -1;
}

static void addf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- configuration ----------------------------------------------------------------------- */

void power_config_init(struct power_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->auto_sources = true;
	cfg->interval_ms = POWER_DEFAULT_INTERVAL_MS;
	cfg->max_samples = POWER_DEFAULT_MAX_SAMPLES;
	cfg->rapl.package = true;
	cfg->nvml.devices = UINT64_MAX;
	cfg->hlsmi.devices = UINT64_MAX;
	cfg->cmd.timeout_ms = POWER_DEFAULT_CMD_TIMEOUT_MS;
}

void power_config_release(struct power_config *cfg)
{
	if (!cfg)
		return;
	lb_free(cfg->rapl.root);
	lb_free(cfg->hlsmi.path);
	lb_free(cfg->cmd.command);
	power_config_init(cfg);
}

/* Every key of obj must be in valid (NULL-terminated); else name the key and the valid ones. */
static int check_keys(const cJSON *obj, const char *where, const char *const *valid,
		      struct lb_error *err)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
	{
		size_t i;
		char list[256] = "";

		for (i = 0; valid[i]; i++)
			if (!strcmp(it->string, valid[i]))
				break;
		if (valid[i])
			continue;
		for (i = 0; valid[i]; i++)
			addf(list, sizeof(list), "%s%s", i ? ", " : "", valid[i]);
		return lb_error_set(err, LB_ERR_USAGE, "%s: unknown key '%s' (valid: %s)", where,
				    it->string, list);
	}
	return 0;
}

static int get_uint(const cJSON *v, const char *where, double lo, double hi, double *out,
		    struct lb_error *err)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi)
		return lb_error_set(err, LB_ERR_USAGE, "%s: expected an integer from %.0f to %.0f",
				    where, lo, hi);
	*out = v->valuedouble;
	return 0;
}

static int get_string(const cJSON *v, const char *where, char **out, struct lb_error *err)
{
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return lb_error_set(err, LB_ERR_USAGE, "%s: expected a non-empty string", where);
	lb_free(*out);
	*out = lb_strdup(v->valuestring);
	if (!*out)
		return lb_error_set(err, LB_ERR_NOMEM, "%s: out of memory", where);
	return 0;
}

static int parse_devices(const cJSON *v, const char *where, uint64_t *out, struct lb_error *err)
{
	const cJSON *it;

	if (cJSON_IsString(v) && !strcmp(v->valuestring, "all")) {
		*out = UINT64_MAX;
		return 0;
	}
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: expected \"all\" or a non-empty list of device indices",
				    where);
	*out = 0;
	cJSON_ArrayForEach(it, v)
	{
		double d;
		int rc = get_uint(it, where, 0, 63, &d, err);

		if (rc)
			return rc;
		*out |= (uint64_t)1 << (unsigned)d;
	}
	return 0;
}

static int parse_zones(struct power_config *cfg, const cJSON *v, struct lb_error *err)
{
	const char *where = "power.rapl.zones";
	const cJSON *it;

	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: expected a non-empty list of zones "
				    "(package, dram, core, uncore, psys)",
				    where);
	cfg->rapl.package = false;
	cJSON_ArrayForEach(it, v)
	{
		const char *z = cJSON_IsString(it) ? it->valuestring : "";

		if (!strcmp(z, "package"))
			cfg->rapl.package = true;
		else if (!strcmp(z, "dram"))
			cfg->rapl.dram = true;
		else if (!strcmp(z, "core"))
			cfg->rapl.core = true;
		else if (!strcmp(z, "uncore"))
			cfg->rapl.uncore = true;
		else if (!strcmp(z, "psys"))
			cfg->rapl.psys = true;
		else
			return lb_error_set(err, LB_ERR_USAGE,
					    "%s: unknown zone '%s' (valid: package, dram, core, "
					    "uncore, psys)",
					    where, z);
	}
	if (cfg->rapl.package && (cfg->rapl.core || cfg->rapl.uncore))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: '%s' is inside 'package' (nested zones are never added)",
				    where, cfg->rapl.core ? "core" : "uncore");
	if (cfg->rapl.psys &&
	    (cfg->rapl.package || cfg->rapl.dram || cfg->rapl.core || cfg->rapl.uncore))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: 'psys' covers the whole platform: it cannot be combined "
				    "with other zones (nested zones are never added)",
				    where);
	return 0;
}

static int parse_sources(struct power_config *cfg, const cJSON *v, struct lb_error *err)
{
	const char *where = "power.sources";
	const cJSON *it;

	if (cJSON_IsString(v) && !strcmp(v->valuestring, "auto")) {
		cfg->auto_sources = true;
		cfg->sources = 0;
		return 0;
	}
	cfg->auto_sources = false;
	cfg->sources = 0;
	if (cJSON_IsString(v) && !strcmp(v->valuestring, "none"))
		return 0;
	if (!cJSON_IsArray(v))
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s: expected \"auto\", \"none\" or a list of source names "
				    "(rapl, nvml, hlsmi, cmd)",
				    where);
	cJSON_ArrayForEach(it, v)
	{
		const char *name = cJSON_IsString(it) ? it->valuestring : "";
		int i = registry_index(name);

		if (i < 0)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"%s: unknown source '%s' (valid: rapl, nvml, hlsmi, cmd)", where,
				name);
		cfg->sources |= 1u << i;
	}
	return 0;
}

static int parse_section(struct power_config *cfg, const cJSON *root, struct lb_error *err)
{
	static const char *const top[] = {"sources", "interval_ms", "idle_s", "max_samples", "rapl",
					  "nvml",    "hlsmi",	    "cmd",    NULL};
	static const char *const rapl[] = {"zones", "root", NULL};
	static const char *const nvml[] = {"devices", NULL};
	static const char *const hlsmi[] = {"devices", "path", NULL};
	static const char *const cmd[] = {"command", "unit", "timeout_ms", NULL};
	const cJSON *v, *sec;
	double d;
	int rc;

	if (!cJSON_IsObject(root))
		return lb_error_set(err, LB_ERR_USAGE, "power: expected an object");
	if ((rc = check_keys(root, "power", top, err)))
		return rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "sources")) &&
	    (rc = parse_sources(cfg, v, err)))
		return rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "interval_ms"))) {
		if ((rc = get_uint(v, "power.interval_ms", 1, 60000, &d, err)))
			return rc;
		cfg->interval_ms = (unsigned)d;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "idle_s"))) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 3600))
			return lb_error_set(err, LB_ERR_USAGE,
					    "power.idle_s: expected seconds from 0 to 3600");
		cfg->idle_s = v->valuedouble;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "max_samples"))) {
		if ((rc = get_uint(v, "power.max_samples", 16, 1 << 24, &d, err)))
			return rc;
		cfg->max_samples = (size_t)d;
	}
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "rapl"))) {
		if (!cJSON_IsObject(sec))
			return lb_error_set(err, LB_ERR_USAGE, "power.rapl: expected an object");
		if ((rc = check_keys(sec, "power.rapl", rapl, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "zones")) &&
		    (rc = parse_zones(cfg, v, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "root")) &&
		    (rc = get_string(v, "power.rapl.root", &cfg->rapl.root, err)))
			return rc;
	}
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "nvml"))) {
		if (!cJSON_IsObject(sec))
			return lb_error_set(err, LB_ERR_USAGE, "power.nvml: expected an object");
		if ((rc = check_keys(sec, "power.nvml", nvml, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "devices")) &&
		    (rc = parse_devices(v, "power.nvml.devices", &cfg->nvml.devices, err)))
			return rc;
	}
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "hlsmi"))) {
		if (!cJSON_IsObject(sec))
			return lb_error_set(err, LB_ERR_USAGE, "power.hlsmi: expected an object");
		if ((rc = check_keys(sec, "power.hlsmi", hlsmi, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "devices")) &&
		    (rc = parse_devices(v, "power.hlsmi.devices", &cfg->hlsmi.devices, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "path")) &&
		    (rc = get_string(v, "power.hlsmi.path", &cfg->hlsmi.path, err)))
			return rc;
	}
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "cmd"))) {
		if (!cJSON_IsObject(sec))
			return lb_error_set(err, LB_ERR_USAGE, "power.cmd: expected an object");
		if ((rc = check_keys(sec, "power.cmd", cmd, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "command")) &&
		    (rc = get_string(v, "power.cmd.command", &cfg->cmd.command, err)))
			return rc;
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "unit"))) {
			if (cJSON_IsString(v) && !strcmp(v->valuestring, "W"))
				cfg->cmd.joules = false;
			else if (cJSON_IsString(v) && !strcmp(v->valuestring, "J"))
				cfg->cmd.joules = true;
			else
				return lb_error_set(err, LB_ERR_USAGE,
						    "power.cmd.unit: expected \"W\" (the command "
						    "prints watts) or \"J\" (a cumulative joule "
						    "reading)");
		}
		if ((v = cJSON_GetObjectItemCaseSensitive(sec, "timeout_ms"))) {
			if ((rc = get_uint(v, "power.cmd.timeout_ms", 1, 600000, &d, err)))
				return rc;
			cfg->cmd.timeout_ms = (unsigned)d;
		}
	}
	if (!cfg->auto_sources && (cfg->sources & (1u << registry_index("cmd"))) &&
	    !cfg->cmd.command)
		return lb_error_set(err, LB_ERR_USAGE,
				    "power.cmd.command: required when power.sources names 'cmd'");
	return 0;
}

int power_config_parse(struct power_config *cfg, const char *json, struct lb_error *err)
{
	cJSON *root;
	int rc;

	power_config_init(cfg);
	if (!json || !json[strspn(json, " \t\r\n")])
		return 0;
	root = cJSON_Parse(json);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();

		return lb_error_set(err, LB_ERR_PARSE, "power: cannot parse JSON near byte %td",
				    at ? at - json : (ptrdiff_t)0);
	}
	if (cJSON_IsNull(root))
		rc = 0;
	else
		rc = parse_section(cfg, root, err);
	cJSON_Delete(root);
	if (rc)
		power_config_release(cfg);
	return rc;
}

/* ---- sampler ----------------------------------------------------------------------------- */

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
	double e_offset_uj;	      /* cumulative energy at the last reset */
	double acc_uj; /* power-only: trapezoid integral so far */
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
	bool explicit_missing;	      /* missing names sources the workload asked for */
};

void power_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

static void addf(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strnlen(buf, size);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static void chan_decimate(struct pchan *c)
{
	size_t j = 0;

	for (size_t i = 0; i < c->n; i += 2)
		c->s[j++] = c->s[i];
	c->n = j;
	c->stride *= 2;
}

/* Under s->mu. */
static void chan_push(struct power_sampler *s, struct pchan *c, const struct psample *smp)
{
	if (c->n && c->tail_prov) {
		c->s[c->n - 1] = *smp;
	} else {
		if (c->n >= s->max_samples)
			chan_decimate(c);
		if (c->n == c->alloc) {
			size_t na = c->alloc ? c->alloc * 2 : 256;
			struct psample *p;

			if (na > s->max_samples)
				na = s->max_samples;
			p = lb_realloc(c->s, na * sizeof(*p));
			if (!p) {
				c->n_errors++;
				power_fmt(c->last_err, sizeof(c->last_err), "out of memory");
				return;
			}
			c->s = p;
			c->alloc = na;
		}
		c->s[c->n++] = *smp;
	}
	c->tick++;
	c->tail_prov = c->tick % c->stride != 0;
}

/* Under s->mu: account one reading of channel c. */
static void chan_account(struct power_sampler *s, struct pchan *c, const struct power_reading *r)
{
	struct psample smp = {r->t_ns, 0, NAN};

	if (!r->ok) {
		c->n_errors++;
		power_fmt(c->last_err, sizeof(c->last_err), "%s",
			  r->err[0] ? r->err : "read failed");
		return;
	}
	if (c->have_first && r->t_ns <= c->last_t_ns)
		return; /* clock did not move: nothing to add */
	if (r->has_power)
		smp.p_w = (double)r->power_mw / 1000.0;
	if (c->caps & POWER_CAP_ENERGY) {
		if (!r->has_energy) {
			c->n_errors++;
			power_fmt(c->last_err, sizeof(c->last_err), "no energy value");
			return;
		}
		if (!c->have_first)
			c->e0_uj = c->last_raw_uj = r->energy_uj;
		if (r->energy_uj < c->last_raw_uj) {
			/* a reset (a meter restarted): go on from the new value; the energy since
			 * the previous sample is lost, and the error says so */
			c->n_errors++;
			power_fmt(c->last_err, sizeof(c->last_err),
				  "counter went backwards (energy since the previous sample lost)");
			c->e_offset_uj = c->n ? c->s[c->n - 1].e_uj : 0;
			c->e0_uj = c->last_raw_uj = r->energy_uj;
			c->last_t_ns = r->t_ns;
			return;
		}
		c->last_raw_uj = r->energy_uj;
		smp.e_uj = c->e_offset_uj + (double)(r->energy_uj - c->e0_uj);
	} else {
		if (!r->has_power) {
			c->n_errors++;
			power_fmt(c->last_err, sizeof(c->last_err), "no power value");
			return;
		}
		if (c->have_first) /* W * ns = nJ */
			c->acc_uj += (c->last_p_w + smp.p_w) / 2.0 *
				     (double)(r->t_ns - c->last_t_ns) / 1e3;
		smp.e_uj = c->acc_uj;
	}
	c->have_first = true;
	c->last_t_ns = r->t_ns;
	c->last_p_w = smp.p_w;
	chan_push(s, c, &smp);
}

void power_sampler_poll(struct power_sampler *s)
{
	uint64_t t_begin = lb_now_ns();

	for (size_t i = 0; i < s->n_src; i++) {
		struct psrc *p = &s->src[i];
		struct lb_error err = LB_ERROR_INIT;

		memset(p->rd, 0, p->n_ch * sizeof(*p->rd));
		if (p->ops->read(p->self, p->rd, p->n_ch, &err) < 0) {
			for (size_t k = 0; k < p->n_ch; k++) {
				p->rd[k].ok = false;
				power_fmt(p->rd[k].err, sizeof(p->rd[k].err), "%s", err.msg);
			}
		}
	}
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n_src; i++)
		for (size_t k = 0; k < s->src[i].n_ch; k++)
			chan_account(s, &s->ch[s->src[i].ch0 + k], &s->src[i].rd[k]);
	s->last_poll_begin_ns = t_begin;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static struct timespec ts_of(uint64_t t_ns)
{
	struct timespec ts = {(time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u)};

	return ts;
}

static void *sampler_main(void *arg)
{
	struct power_sampler *s = arg;
	uint64_t period = (uint64_t)s->interval_ms * 1000000u;
	uint64_t next = lb_now_ns() + period;

	pthread_mutex_lock(&s->mu);
	while (!s->stop_req) {
		struct timespec ts = ts_of(next);
		uint64_t now;

		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT && !s->stop_req &&
		    lb_now_ns() < next)
			continue; /* a window waiter's broadcast or a spurious wake-up */
		if (s->stop_req)
			break;
		pthread_mutex_unlock(&s->mu);
		power_sampler_poll(s);
		pthread_mutex_lock(&s->mu);
		now = lb_now_ns();
		next += period;
		if (next <= now) /* a slow read: skip the ticks it overran */
			next = now + period - (now - next) % period;
	}
	pthread_mutex_unlock(&s->mu);
	power_sampler_poll(s); /* the last one covers windows that end at stop */
	pthread_mutex_lock(&s->mu);
	s->stopped = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void sampler_describe(struct power_sampler *s)
{
	s->describe[0] = '\0';
	if (s->disabled) {
		addf(s->describe, sizeof(s->describe),
		     "power measurement disabled (power.sources is \"none\")");
		return;
	}
	if (!s->n_ch) {
		addf(s->describe, sizeof(s->describe), "no power source (%s)", s->missing);
		return;
	}
	for (size_t i = 0; i < s->n_ch; i++)
		addf(s->describe, sizeof(s->describe), "%s%s", i ? ", " : "", s->ch[i].label);
	addf(s->describe, sizeof(s->describe), " every %u ms", s->interval_ms);
	if (s->explicit_missing)
		addf(s->describe, sizeof(s->describe), " (unavailable: %s)", s->missing);
}

/* Open one source; its failure is recorded in s->missing, not returned. */
static int sampler_add_source(struct power_sampler *s, const struct power_source_ops *ops,
			      const struct power_config *cfg)
{
	struct power_chan chans[POWER_MAX_CHANNELS];
	struct lb_error e = LB_ERROR_INIT;
	struct psrc *p;
	size_t n = 0;
	void *self = NULL;

	memset(chans, 0, sizeof(chans));
	if (s->n_src == POWER_MAX_SOURCES || s->n_ch == POWER_MAX_CHANNELS) {
		lb_error_set(&e, LB_ERR_LIMIT, "too many power channels (at most %d)",
			     POWER_MAX_CHANNELS);
		goto missing;
	}
	if (ops->probe && ops->probe(cfg, &e) < 0)
		goto missing;
	if (ops->open(&self, cfg, chans, POWER_MAX_CHANNELS - s->n_ch, &n, &e) < 0)
		goto missing;
	if (!n) {
		ops->close(self);
		lb_error_set(&e, LB_ERR_UNSUPPORTED, "no device selected");
		goto missing;
	}
	p = &s->src[s->n_src];
	p->rd = lb_calloc(n, sizeof(*p->rd));
	if (!p->rd) {
		ops->close(self);
		return LB_ERR_NOMEM;
	}
	p->ops = ops;
	p->self = self;
	p->ch0 = s->n_ch;
	p->n_ch = n;
	for (size_t k = 0; k < n; k++) {
		struct pchan *c = &s->ch[s->n_ch++];

		power_fmt(c->label, sizeof(c->label), "%s:%s", ops->name, chans[k].scope);
		c->caps = chans[k].caps;
		power_fmt(c->note, sizeof(c->note), "%s", chans[k].note);
		c->stride = 1;
	}
	s->n_src++;
	return 0;
missing:
	addf(s->missing, sizeof(s->missing), "%s%s: %s", s->missing[0] ? "; " : "", ops->name,
	     e.msg[0] ? e.msg : "unusable");
	return 0;
}

static int sampler_new(struct power_sampler **out, const struct power_config *cfg,
		       struct lb_error *err)
{
	struct power_sampler *s = lb_calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	*out = NULL;
	if (!s)
		return lb_error_set(err, LB_ERR_NOMEM, "power: out of memory");
	s->interval_ms = cfg->interval_ms;
	s->cmd_timeout_ms = cfg->cmd.command ? cfg->cmd.timeout_ms : 0;
	s->max_samples = cfg->max_samples < 16 ? 16 : cfg->max_samples;
	s->idle_s = cfg->idle_s;
	s->stopped = true; /* until a thread runs */
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = s;
	return 0;
}

/* First poll, then the thread (when there is something to poll and an interval). */
static int sampler_run(struct power_sampler *s, struct lb_error *err)
{
	int rc;

	sampler_describe(s);
	if (!s->n_ch)
		return 0;
	power_sampler_poll(s);
	if (!s->interval_ms)
		return 0;
	s->stopped = false;
	rc = pthread_create(&s->thread, NULL, sampler_main, s);
	if (rc) {
		s->stopped = true;
		return lb_error_set(err, LB_ERR_IO, "power: cannot start the sampler thread: %s",
				    strerror(rc));
	}
	s->thread_started = true;
	return 0;
}

int power_sampler_start_with(struct power_sampler **out, const struct power_config *cfg,
			     const struct power_source_ops *const *ops, size_t n_ops,
			     struct lb_error *err)
{
	struct power_sampler *s;
	int rc = sampler_new(&s, cfg, err);

	if (rc)
		return rc;
	for (size_t i = 0; i < n_ops && !rc; i++)
		rc = sampler_add_source(s, ops[i], cfg);
	if (rc)
		lb_error_set(err, rc, "power: out of memory");
	else
		rc = sampler_run(s, err);
	if (rc) {
		power_sampler_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int power_sampler_start(struct power_sampler **out, const char *power_json, struct lb_error *err)
{
	struct power_config cfg;
	struct power_sampler *s = NULL;
	size_t before;
	int rc;

	*out = NULL;
	rc = power_config_parse(&cfg, power_json, err);
	if (rc)
		return rc;
	rc = sampler_new(&s, &cfg, err);
	if (rc)
		goto out;
	s->disabled = !cfg.auto_sources && !cfg.sources;
	for (size_t i = 0; i < N_REGISTRY && !rc; i++) {
		bool named = cfg.sources & (1u << i);

		if (!cfg.auto_sources && !named)
			continue;
		if (cfg.auto_sources && registry[i] == &power_cmd_ops && !cfg.cmd.command)
			continue;
		before = strlen(s->missing);
		rc = sampler_add_source(s, registry[i], &cfg);
		if (named && strlen(s->missing) != before)
			s->explicit_missing = true;
	}
	if (rc)
		lb_error_set(err, rc, "power: out of memory");
	else
		rc = sampler_run(s, err);
	if (rc) {
		power_sampler_free(s);
		s = NULL;
	}
	*out = s;
out:
	power_config_release(&cfg);
	return rc;
}

const char *power_sampler_describe(const struct power_sampler *s)
{
	return s->describe;
}

double power_sampler_idle_s(const struct power_sampler *s)
{
	return s->idle_s;
}

void power_sampler_stop(struct power_sampler *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop_req = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->thread_started) {
		pthread_join(s->thread, NULL);
		s->thread_started = false;
	}
}

void power_sampler_free(struct power_sampler *s)
{
	if (!s)
		return;
	power_sampler_stop(s);
	for (size_t i = 0; i < s->n_src; i++) {
		s->src[i].ops->close(s->src[i].self);
		lb_free(s->src[i].rd);
	}
	for (size_t i = 0; i < s->n_ch; i++)
		lb_free(s->ch[i].s);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	lb_free(s);
}

/* ---- windows ----------------------------------------------------------------------------- */

/* First index with s[i].t_ns >= t (n if none). */
static size_t lower_bound(const struct psample *smp, size_t n, uint64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (smp[mid].t_ns < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Cumulative energy at t, linear between samples; t within [s[0].t, s[n-1].t]. */
static double energy_at(const struct psample *smp, size_t n, uint64_t t)
{
	size_t i = lower_bound(smp, n, t);
	const struct psample *a, *b;

	if (i >= n)
		return smp[n - 1].e_uj;
	if (smp[i].t_ns == t || i == 0)
		return smp[i].e_uj;
	a = &smp[i - 1];
	b = &smp[i];
	return a->e_uj + (b->e_uj - a->e_uj) * (double)(t - a->t_ns) / (double)(b->t_ns - a->t_ns);
}

static void chan_window(const struct pchan *c, uint64_t t0, uint64_t t1,
			struct power_chan_window *cw)
{
	double d_s = (double)(t1 - t0) / NS_PER_S;
	double e;

	memset(cw, 0, sizeof(*cw));
	power_fmt(cw->label, sizeof(cw->label), "%s", c->label);
	cw->integrated = !(c->caps & POWER_CAP_ENERGY);
	if (!c->n) {
		if (c->n_errors)
			power_fmt(cw->reason, sizeof(cw->reason),
				  "no sample (%llu failed reads, last: %s)",
				  (unsigned long long)c->n_errors, c->last_err);
		else
			power_fmt(cw->reason, sizeof(cw->reason), "no sample");
		return;
	}
	if (t0 < c->s[0].t_ns) {
		power_fmt(cw->reason, sizeof(cw->reason), "window starts before the first sample");
		return;
	}
	if (t1 > c->s[c->n - 1].t_ns) {
		if (c->n_errors)
			power_fmt(cw->reason, sizeof(cw->reason),
				  "no sample after the window's end (%llu failed reads, last: %s)",
				  (unsigned long long)c->n_errors, c->last_err);
		else
			power_fmt(cw->reason, sizeof(cw->reason),
				  "no sample after the window's end");
		return;
	}
	cw->n_samples = lower_bound(c->s, c->n, t1 + 1) - lower_bound(c->s, c->n, t0);
	e = energy_at(c->s, c->n, t1) - energy_at(c->s, c->n, t0);
	if ((c->caps & POWER_CAP_ENERGY) && !(e > 0)) {
		power_fmt(cw->reason, sizeof(cw->reason),
			  "counter did not advance over %.3f s (%zu samples)", d_s, cw->n_samples);
		return;
	}
	cw->ok = true;
	cw->energy_j = e / 1e6;
	cw->n_failed = c->n_errors;
	if (c->n_errors)
		power_fmt(cw->reason, sizeof(cw->reason), "%s", c->last_err);
}

/* Under s->mu: wait until a poll that began at or after t1 has finished (bounded). */
static void wait_cover(struct power_sampler *s, uint64_t t1)
{
	uint64_t now = lb_now_ns();
	uint64_t deadline = (t1 > now ? t1 : now) +
			    ((uint64_t)2 * s->interval_ms + s->cmd_timeout_ms + 1000) * 1000000u;

	while (!s->stopped && s->last_poll_begin_ns < t1) {
		struct timespec ts = ts_of(deadline);

		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
			break;
	}
}

void power_window(struct power_sampler *s, uint64_t t0_ns, uint64_t t1_ns, struct power_window *out)
{
	size_t n_ok = 0, n_int = 0;
	unsigned max_stride = 1;

	memset(out, 0, sizeof(*out));
	out->t0_ns = t0_ns;
	out->t1_ns = t1_ns;
	out->duration_s = t1_ns > t0_ns ? (double)(t1_ns - t0_ns) / NS_PER_S : 0;
	out->interval_ms = s->interval_ms;
	if (s->disabled) {
		power_fmt(out->reason, sizeof(out->reason),
			  "unavailable: power measurement disabled (power.sources is \"none\")");
		return;
	}
	if (!s->n_ch) {
		power_fmt(out->reason, sizeof(out->reason), "unavailable: no power source (%s)",
			  s->missing);
		return;
	}
	if (t1_ns <= t0_ns) {
		power_fmt(out->reason, sizeof(out->reason), "unavailable: empty window");
		return;
	}
	pthread_mutex_lock(&s->mu);
	wait_cover(s, t1_ns);
	out->n_channels = s->n_ch;
	for (size_t i = 0; i < s->n_ch; i++) {
		struct power_chan_window *cw = &out->ch[i];

		chan_window(&s->ch[i], t0_ns, t1_ns, cw);
		if (s->ch[i].stride > max_stride)
			max_stride = s->ch[i].stride;
		if (!cw->ok)
			continue;
		out->energy_j += cw->energy_j;
		out->n_samples += cw->n_samples;
		addf(out->provenance, sizeof(out->provenance), "%s%s@%ums", n_ok ? "+" : "",
		     cw->label, s->interval_ms);
		n_ok++;
		if (cw->integrated)
			n_int++;
	}
	pthread_mutex_unlock(&s->mu);
	out->ok = n_ok > 0;
	if (!out->ok) {
		power_fmt(out->reason, sizeof(out->reason), "unavailable: ");
		for (size_t i = 0; i < out->n_channels; i++)
			addf(out->reason, sizeof(out->reason), "%s%s: %s", i ? "; " : "",
			     out->ch[i].label, out->ch[i].reason);
		return;
	}
	if (out->duration_s < 1.0)
		addf(out->note, sizeof(out->note), "short window (< 1 s): noise");
	if (n_int) {
		addf(out->note, sizeof(out->note),
		     "%sintegrated from power samples (trapezoid):", out->note[0] ? "; " : "");
		for (size_t i = 0, k = 0; i < out->n_channels; i++)
			if (out->ch[i].ok && out->ch[i].integrated)
				addf(out->note, sizeof(out->note), "%s %s", k++ ? "," : "",
				     out->ch[i].label);
	}
	for (size_t i = 0; i < out->n_channels; i++) {
		if (out->ch[i].ok && s->ch[i].note[0])
			addf(out->note, sizeof(out->note), "%s%s: %s", out->note[0] ? "; " : "",
			     out->ch[i].label, s->ch[i].note);
		if (out->ch[i].ok && out->ch[i].n_failed)
			addf(out->note, sizeof(out->note), "%s%s: %llu failed reads (last: %s)",
			     out->note[0] ? "; " : "", out->ch[i].label,
			     (unsigned long long)out->ch[i].n_failed, out->ch[i].reason);
		if (!out->ch[i].ok)
			addf(out->note, sizeof(out->note), "%sexcluded %s: %s",
			     out->note[0] ? "; " : "", out->ch[i].label, out->ch[i].reason);
	}
	if (s->explicit_missing)
		addf(out->note, sizeof(out->note), "%sunavailable sources: %s",
		     out->note[0] ? "; " : "", s->missing);
	if (max_stride > 1)
		addf(out->note, sizeof(out->note),
		     "%ssamples thinned to 1 poll in %u (max_samples)", out->note[0] ? "; " : "",
		     max_stride);
}

void power_sampler_idle(struct power_sampler *s, double idle_s, struct power_window *out)
{
	uint64_t t0, t1;

	if (idle_s <= 0)
		idle_s = s->idle_s;
	if (!(idle_s > 0)) {
		memset(out, 0, sizeof(*out));
		out->interval_ms = s->interval_ms;
		power_fmt(out->reason, sizeof(out->reason),
			  "unavailable: no idle baseline (set power.idle_s)");
		return;
	}
	if (s->disabled || !s->n_ch) { /* nothing to measure: no point in waiting */
		power_window(s, 0, 0, out);
		return;
	}
	t0 = lb_now_ns();
	lb_sleep_until_ns(t0 + (uint64_t)(idle_s * NS_PER_S));
	t1 = lb_now_ns();
	power_window(s, t0, t1, out);
}

double power_window_avg_w(const struct power_window *w)
{
	if (!w->ok || !(w->duration_s > 0))
		return NAN;
	return w->energy_j / w->duration_s;
}

/* ---- summaries --------------------------------------------------------------------------- */

static bool known(double x)
{
	return isfinite(x) && x >= 0;
}

int power_summarize(const struct power_window *w, const struct power_window *idle,
		    double n_output_tokens, double n_total_tokens, double n_requests,
		    power_emit_fn *fn, void *ctx)
{
	const char *prov = w->ok ? w->provenance : "power";
	const char *note = w->note[0] ? w->note : NULL;
	double n = (double)w->n_samples;
	double e = w->energy_j, p_idle = NAN;
	char idle_note[POWER_TEXT_MAX], attr_note[POWER_TEXT_MAX];
	int rc;

#define EMIT(metric, ok, val, unit, why)                                                           \
	do {                                                                                       \
		if ((ok))                                                                          \
			rc = fn(ctx, metric, true, (val), n, unit, prov, note);                    \
		else                                                                               \
			rc = fn(ctx, metric, false, 0, -1, unit, prov, (why));                     \
		if (rc)                                                                            \
			return rc;                                                                 \
	} while (0)

	if (idle && idle->ok && idle->duration_s > 0)
		p_idle = idle->energy_j / idle->duration_s;
	if (!idle)
		power_fmt(idle_note, sizeof(idle_note),
			  "unavailable: no idle baseline (set power.idle_s)");
	else if (!idle->ok)
		power_fmt(idle_note, sizeof(idle_note), "%s", idle->reason);
	else
		power_fmt(idle_note, sizeof(idle_note),
			  "idle baseline over %.1f s (%zu samples)%s%s", idle->duration_s,
			  idle->n_samples, idle->note[0] ? "; " : "", idle->note);

	if (!w->ok) {
		const char *why = w->reason[0] ? w->reason : "unavailable: no power measurement";

		EMIT("energy_j", false, 0, "J", why);
		EMIT("power_avg_w", false, 0, "W", why);
		if (isnan(p_idle)) {
			rc = fn(ctx, "power_idle_w", false, 0, -1, "W", prov, idle_note);
		} else {
			rc = fn(ctx, "power_idle_w", true, p_idle, (double)idle->n_samples, "W",
				idle->provenance, idle_note);
		}
		if (rc)
			return rc;
		EMIT("energy_dynamic_j", false, 0, "J", why);
		EMIT("j_per_output_token", false, 0, "J/tok", why);
		EMIT("j_per_total_token", false, 0, "J/tok", why);
		EMIT("tokens_per_j", false, 0, "tok/J", why);
		EMIT("j_per_request_attributed", false, 0, "J/req", why);
		return 0;
	}

	EMIT("energy_j", true, e, "J", NULL);
	EMIT("power_avg_w", w->duration_s > 0, e / w->duration_s, "W", "unavailable: empty window");
	if (isnan(p_idle))
		rc = fn(ctx, "power_idle_w", false, 0, -1, "W", prov, idle_note);
	else
		rc = fn(ctx, "power_idle_w", true, p_idle, (double)idle->n_samples, "W",
			idle->provenance, idle_note);
	if (rc)
		return rc;
	if (isnan(p_idle)) {
		rc = fn(ctx, "energy_dynamic_j", false, 0, -1, "J", prov, idle_note);
		if (rc)
			return rc;
	} else {
		EMIT("energy_dynamic_j", true, e - p_idle * w->duration_s, "J", NULL);
	}
	EMIT("j_per_output_token", known(n_output_tokens) && n_output_tokens > 0,
	     e / n_output_tokens, "J/tok", "unavailable: output token count unknown or 0");
	EMIT("j_per_total_token", known(n_total_tokens) && n_total_tokens > 0, e / n_total_tokens,
	     "J/tok", "unavailable: total token count unknown or 0");
	EMIT("tokens_per_j", known(n_output_tokens) && e > 0, n_output_tokens / e, "tok/J",
	     e > 0 ? "unavailable: output token count unknown" : "unavailable: energy is 0");
	power_fmt(attr_note, sizeof(attr_note),
		  "attributed: each request gets energy in proportion to its tokens; this is the "
		  "mean%s%s",
		  note ? "; " : "", note ? note : "");
	note = attr_note;
	EMIT("j_per_request_attributed", known(n_requests) && n_requests > 0, e / n_requests,
	     "J/req", "unavailable: no measured request");
#undef EMIT
	return 0;
}

/* ---- raw samples ------------------------------------------------------------------------- */

int power_sampler_foreach_sample(struct power_sampler *s, uint64_t t0_ns, uint64_t t1_ns,
				 power_sample_fn *fn, void *ctx)
{
	for (size_t i = 0; i < s->n_ch; i++) {
		struct psample *copy = NULL;
		char label[POWER_LABEL_MAX];
		size_t a, b, n = 0;
		bool counter;
		int rc = 0;

		pthread_mutex_lock(&s->mu);
		{
			const struct pchan *c = &s->ch[i];

			a = lower_bound(c->s, c->n, t0_ns);
			b = t1_ns == UINT64_MAX ? c->n : lower_bound(c->s, c->n, t1_ns + 1);
			if (a > 0)
				a--; /* the previous sample, for the first difference */
			if (b > a) {
				copy = lb_malloc((b - a) * sizeof(*copy));
				if (copy) {
					memcpy(copy, c->s + a, (b - a) * sizeof(*copy));
					n = b - a;
				}
			}
			memcpy(label, c->label, sizeof(label));
			counter = c->caps & POWER_CAP_ENERGY;
		}
		pthread_mutex_unlock(&s->mu);
		if (b > a && !copy)
			return LB_ERR_NOMEM;
		for (size_t k = 0; k < n && !rc; k++) {
			struct power_sample smp = {label, copy[k].t_ns, copy[k].e_uj / 1e6,
						   copy[k].p_w};

			if (smp.t_ns < t0_ns)
				continue;
			if (isnan(smp.power_w) && counter && k > 0)
				smp.power_w = (copy[k].e_uj - copy[k - 1].e_uj) /
					      (double)(copy[k].t_ns - copy[k - 1].t_ns) * 1e3;
			rc = fn(ctx, &smp);
		}
		lb_free(copy);
		if (rc)
			return rc;
	}
	return 0;
}
