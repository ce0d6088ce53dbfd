/* power_sampler.c: the power sampler: opening the sources, the polling thread, bounded
 * per-channel sample storage (decimated past max_samples), start/stop/free, and the raw samples
 * for plots. Windows over the samples: power_energy.c. docs/power.md. */
#include "power.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "power_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void power_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

void power_addf(char *buf, size_t size, const char *fmt, ...)
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
	struct psample smp = { r->t_ns, 0, NAN };

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
static void *sampler_main(void *arg)
{
	struct power_sampler *s = arg;
	uint64_t period = (uint64_t)s->interval_ms * 1000000u;
	uint64_t next = lb_now_ns() + period;

	pthread_mutex_lock(&s->mu);
	while (!s->stop_req) {
		struct timespec ts = power_ts_of(next);
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
		power_addf(s->describe, sizeof(s->describe),
			   "power measurement disabled (power.sources is \"none\")");
		return;
	}
	if (!s->n_ch) {
		power_addf(s->describe, sizeof(s->describe), "no power source (%s)", s->missing);
		return;
	}
	for (size_t i = 0; i < s->n_ch; i++)
		power_addf(s->describe, sizeof(s->describe), "%s%s", i ? ", " : "", s->ch[i].label);
	power_addf(s->describe, sizeof(s->describe), " every %u ms", s->interval_ms);
	if (s->explicit_missing)
		power_addf(s->describe, sizeof(s->describe), " (unavailable: %s)", s->missing);
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
	power_addf(s->missing, sizeof(s->missing), "%s%s: %s", s->missing[0] ? "; " : "", ops->name,
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
	size_t before, n_registry;
	const struct power_source_ops *const *registry = power_source_registry(&n_registry);
	int rc;

	*out = NULL;
	rc = power_config_parse(&cfg, power_json, err);
	if (rc)
		return rc;
	rc = sampler_new(&s, &cfg, err);
	if (rc)
		goto out;
	s->disabled = !cfg.auto_sources && !cfg.sources;
	for (size_t i = 0; i < n_registry && !rc; i++) {
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

			a = power_lower_bound(c->s, c->n, t0_ns);
			b = t1_ns == UINT64_MAX ? c->n : power_lower_bound(c->s, c->n, t1_ns + 1);
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
			struct power_sample smp = { label, copy[k].t_ns, copy[k].e_uj / 1e6,
						    copy[k].p_w };

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
