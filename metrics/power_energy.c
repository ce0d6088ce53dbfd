/* power_energy.c: energy over a time window from the sampler's stored samples (counter
 * differences interpolated at the edges, or trapezoid-integrated power), the idle baseline and the
 * average power. docs/power.md, METRICS.md "Power and energy". */
#include "power.h"

#include "../base/clock.h"
#include "power_internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* ---- windows ----------------------------------------------------------------------------- */

size_t power_lower_bound(const struct psample *smp, size_t n, uint64_t t)
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
	size_t i = power_lower_bound(smp, n, t);
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
	double d_s = (double)(t1 - t0) / POWER_NS_PER_S;
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
	cw->n_samples = power_lower_bound(c->s, c->n, t1 + 1) - power_lower_bound(c->s, c->n, t0);
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
		struct timespec ts = power_ts_of(deadline);

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
	out->duration_s = t1_ns > t0_ns ? (double)(t1_ns - t0_ns) / POWER_NS_PER_S : 0;
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
		power_addf(out->provenance, sizeof(out->provenance), "%s%s@%ums", n_ok ? "+" : "",
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
			power_addf(out->reason, sizeof(out->reason), "%s%s: %s", i ? "; " : "",
				   out->ch[i].label, out->ch[i].reason);
		return;
	}
	if (out->duration_s < 1.0)
		power_addf(out->note, sizeof(out->note), "short window (< 1 s): noise");
	if (n_int) {
		power_addf(
			out->note, sizeof(out->note),
			"%sintegrated from power samples (trapezoid):", out->note[0] ? "; " : "");
		for (size_t i = 0, k = 0; i < out->n_channels; i++)
			if (out->ch[i].ok && out->ch[i].integrated)
				power_addf(out->note, sizeof(out->note), "%s %s", k++ ? "," : "",
					   out->ch[i].label);
	}
	for (size_t i = 0; i < out->n_channels; i++) {
		if (out->ch[i].ok && s->ch[i].note[0])
			power_addf(out->note, sizeof(out->note), "%s%s: %s",
				   out->note[0] ? "; " : "", out->ch[i].label, s->ch[i].note);
		if (out->ch[i].ok && out->ch[i].n_failed)
			power_addf(out->note, sizeof(out->note),
				   "%s%s: %llu failed reads (last: %s)", out->note[0] ? "; " : "",
				   out->ch[i].label, (unsigned long long)out->ch[i].n_failed,
				   out->ch[i].reason);
		if (!out->ch[i].ok)
			power_addf(out->note, sizeof(out->note), "%sexcluded %s: %s",
				   out->note[0] ? "; " : "", out->ch[i].label, out->ch[i].reason);
	}
	if (s->explicit_missing)
		power_addf(out->note, sizeof(out->note), "%sunavailable sources: %s",
			   out->note[0] ? "; " : "", s->missing);
	if (max_stride > 1)
		power_addf(out->note, sizeof(out->note),
			   "%ssamples thinned to 1 poll in %u (max_samples)",
			   out->note[0] ? "; " : "", max_stride);
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
	lb_sleep_until_ns(t0 + (uint64_t)(idle_s * POWER_NS_PER_S));
	t1 = lb_now_ns();
	power_window(s, t0, t1, out);
}

double power_window_avg_w(const struct power_window *w)
{
	if (!w->ok || !(w->duration_s > 0))
		return NAN;
	return w->energy_j / w->duration_s;
}
