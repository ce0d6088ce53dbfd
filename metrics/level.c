/* level.c: level aggregates from finished requests (see level.h). */
#include "level.h"

#include "../base/event.h"
#include "../base/alloc.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int dvec_push(struct dvec *d, double x)
{
	if (d->n == d->alloc) {
		size_t na = d->alloc ? d->alloc * 2 : 256;
		double *p = lb_realloc(d->v, na * sizeof(*p));

		if (!p)
			return -1;
		d->v = p;
		d->alloc = na;
	}
	d->v[d->n++] = x;
	return 0;
}

void level_agg_init(struct level_agg *a, const struct wl_slo *slo)
{
	memset(a, 0, sizeof(*a));
	if (slo)
		a->slo = *slo;
	a->rng = 0x9e3779b97f4a7c15ull;
}

void level_agg_release(struct level_agg *a)
{
	if (!a)
		return;
	lb_free(a->ttft.v);
	lb_free(a->tpot.v);
	lb_free(a->itl.v);
	lb_free(a->e2e.v);
	lb_free(a->lag.v);
	lb_free(a->speed.v);
	memset(a, 0, sizeof(*a));
}

bool level_meets_slo(const struct wl_slo *slo, const struct lb_reqrec *r)
{
	bool any = false;
	double v;

	if (!reqrec_ok(r))
		return false;
	if (slo->ttft_ms > 0) {
		any = true;
		v = reqrec_ttft_ms(r);
		if (isnan(v) || v > slo->ttft_ms)
			return false;
	}
	if (slo->tpot_ms > 0) {
		any = true;
		v = reqrec_tpot_ms(r);
		if (isnan(v) || v > slo->tpot_ms)
			return false;
	}
	if (slo->e2e_ms > 0) {
		any = true;
		v = reqrec_e2e_ms(r);
		if (isnan(v) || v > slo->e2e_ms)
			return false;
	}
	return any;
}

static bool has_slo(const struct wl_slo *s)
{
	return s->ttft_ms > 0 || s->tpot_ms > 0 || s->e2e_ms > 0;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void push(struct level_agg *a, struct dvec *d, double x)
{
	if (isnan(x))
		return;
	if (dvec_push(d, x))
		a->oom = true;
}

static void add_itl(struct level_agg *a, double gap_ms)
{
	a->itl_seen++;
	if (a->itl.n < LEVEL_MAX_ITL) {
		push(a, &a->itl, gap_ms);
		return;
	}
	/* reservoir sampling keeps a uniform sample of all gaps */
	{
		uint64_t j = rng_next(&a->rng) % a->itl_seen;

		if (j < LEVEL_MAX_ITL)
			a->itl.v[j] = gap_ms;
	}
}

static const char *merge_src(const char *have, const char *src)
{
	if (!have)
		return src;
	return strcmp(have, src) ? "mixed" : have;
}

void level_agg_add(struct level_agg *a, const struct lb_reqrec *r)
{
	uint32_t k;
	double tpot;

	if (r->warmup) {
		a->n_warmup++;
		return;
	}
	if (r->t_send_ns) {
		if (!a->t_first_send || r->t_send_ns < a->t_first_send)
			a->t_first_send = r->t_send_ns;
		if (r->t_send_ns > a->t_last_send)
			a->t_last_send = r->t_send_ns;
	}
	if (r->t_end_ns > a->t_last_end)
		a->t_last_end = r->t_end_ns;
	push(a, &a->lag, reqrec_lag_ms(r));
	if (r->abandoned) {
		a->n_cancelled++;
		return;
	}
	if (!reqrec_ok(r)) {
		char buf[24];
		const char *name = lb_fail_name(r->fail, r->http_status, buf, sizeof(buf));
		int i;

		a->n_failed++;
		for (i = 0; i < a->n_fails; i++)
			if (!strcmp(a->fails[i].name, name))
				break;
		if (i == a->n_fails && a->n_fails < LEVEL_MAX_FAILCATS) {
			snprintf(a->fails[i].name, sizeof(a->fails[i].name), "%s", name);
			snprintf(a->fails[i].msg, sizeof(a->fails[i].msg), "%.159s", r->err_msg);
			a->n_fails++;
		}
		if (i < a->n_fails)
			a->fails[i].n++;
		return;
	}
	a->n_ok++;
	if (level_meets_slo(&a->slo, r))
		a->n_good++;
	push(a, &a->ttft, reqrec_ttft_ms(r));
	push(a, &a->e2e, reqrec_e2e_ms(r));
	tpot = reqrec_tpot_ms(r);
	push(a, &a->tpot, tpot);
	if (tpot > 0)
		push(a, &a->speed, 1000.0 / tpot);
	for (k = 1; k < r->n_chunks; k++) {
		if (r->chunk_t_ns[k] == r->chunk_t_ns[k - 1])
			a->itl_zero++;
		add_itl(a, (double)(int64_t)(r->chunk_t_ns[k] - r->chunk_t_ns[k - 1]) / 1e6);
	}
	for (k = 0; k < LB_TSRC_N; k++)
		a->chunk_src[k] += r->n_chunk_src[k];
	if (r->n_in >= 0) {
		a->n_in_known++;
		a->sum_in += r->n_in;
		a->in_src = merge_src(a->in_src, r->n_in_src);
	}
	if (r->n_out >= 0) {
		a->n_out_known++;
		a->sum_out += r->n_out;
		a->out_src = merge_src(a->out_src, r->n_out_src);
	}
}

void level_agg_segment_end(struct level_agg *a)
{
	if (a->t_first_send && a->t_last_end > a->t_first_send)
		a->seg_dur_ns += a->t_last_end - a->t_first_send;
	if (a->t_first_send) {
		a->seg_send_ns += a->t_last_send - a->t_first_send;
		a->n_seg_sends++;
	}
	a->t_first_send = a->t_last_send = a->t_last_end = 0;
}

double level_agg_duration_s(const struct level_agg *a)
{
	uint64_t d = a->seg_dur_ns;

	if (a->t_first_send && a->t_last_end > a->t_first_send)
		d += a->t_last_end - a->t_first_send;
	return (double)d / 1e9;
}

bool level_client_bound(double cpu_s, double runq_s, double wall_s, char *reason, size_t len)
{
	double busy;

	if (!(wall_s >= LEVEL_CLIENT_MIN_S) || isnan(cpu_s))
		return false;
	busy = (cpu_s + (isnan(runq_s) ? 0 : runq_s)) / wall_s;
	if (busy < LEVEL_CLIENT_BUSY)
		return false;
	if (isnan(runq_s))
		snprintf(
			reason, len,
			"client-bound: the harness's scheduler thread used %.0f%% of a CPU (%.3f s in "
			"%.3f s; bound %.0f%%): the client set the pace",
			100 * busy, cpu_s, wall_s, 100 * LEVEL_CLIENT_BUSY);
	else
		snprintf(
			reason, len,
			"client-bound: the harness's scheduler thread was busy %.0f%% of %.3f s (CPU "
			"%.3f s + run-queue wait %.3f s; bound %.0f%%): the client set the pace",
			100 * busy, wall_s, cpu_s, runq_s, 100 * LEVEL_CLIENT_BUSY);
	return true;
}

bool level_chunks_harness_timed(const struct level_agg *a, char *msg, size_t len)
{
	uint64_t h = a->chunk_src[LB_TSRC_HARNESS];
	uint64_t all = h + a->chunk_src[LB_TSRC_KERNEL_OWN] + a->chunk_src[LB_TSRC_KERNEL_READ];

	if (a->chunk_src_partial || !all || h * 2 <= all)
		return false;
	snprintf(msg, len,
		 "%llu of its %llu chunks (%.0f%%) were timed by the harness's clock, not by the "
		 "kernel's receive times (rx_timestamps: kernel): TTFT and ITL are as late as the "
		 "harness was to read them (docs/METRICS.md \"Chunk timing\")",
		 (unsigned long long)h, (unsigned long long)all, 100.0 * (double)h / (double)all);
	return true;
}

double level_agg_lag_p99(struct level_agg *a)
{
	struct lb_stats s;

	stats_compute(a->lag.v, a->lag.n, &s);
	a->lag.n = s.n;
	return s.p99;
}

#define EMIT(...)                               \
	do {                                    \
		int rc_ = fn(ctx, __VA_ARGS__); \
		if (rc_)                        \
			return rc_;             \
	} while (0)

static int emit_stats(struct dvec *d, const char *base, const char *prov, const char *empty_note,
		      level_emit_fn *fn, void *ctx)
{
	static const char *const sfx[] = { "mean", "sd",  "min",  "p50", "p90",
					   "p95",  "p99", "p999", "max" };
	struct lb_stats s;
	double vals[9];
	char name[64];
	size_t i;

	stats_compute(d->v, d->n, &s);
	d->n = s.n;
	vals[0] = s.mean, vals[1] = s.sd, vals[2] = s.min, vals[3] = s.p50, vals[4] = s.p90;
	vals[5] = s.p95, vals[6] = s.p99, vals[7] = s.p999, vals[8] = s.max;
	for (i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "%s_%s_ms", base, sfx[i]);
		if (s.n && !isnan(vals[i]))
			EMIT(name, true, vals[i], (double)s.n, "ms", prov, NULL);
		else
			EMIT(name, false, 0, (double)s.n, "ms", prov,
			     s.n ? "unavailable: needs at least 2 samples" : empty_note);
	}
	return 0;
}

#define NO_OK "unavailable: no successful request"

/* How the successful requests' chunks were timed (docs/METRICS.md "Chunk timing"): only where
 * the backend states it (remote backends; an in-process one times tokens when sampled). */
static int emit_chunk_src(const struct level_agg *a, level_emit_fn *fn, void *ctx)
{
	static const struct {
		enum lb_tsrc src;
		const char *name, *prov;
	} figs[] = {
		{ LB_TSRC_KERNEL_OWN, "chunks_kernel_own",
		  "kernel receive time of its own segment" },
		{ LB_TSRC_KERNEL_READ, "chunks_kernel_read",
		  "kernel receive time of the newest segment of its read" },
		{ LB_TSRC_HARNESS, "chunks_harness", "harness clock when read" },
	};
	uint64_t stated = a->chunk_src[LB_TSRC_KERNEL_OWN] + a->chunk_src[LB_TSRC_KERNEL_READ] +
			  a->chunk_src[LB_TSRC_HARNESS];
	size_t i;

	if (!stated)
		return 0;
	for (i = 0; i < sizeof(figs) / sizeof(figs[0]); i++)
		if (a->chunk_src_partial)
			EMIT(figs[i].name, false, 0, -1, "chunks", figs[i].prov,
			     "unavailable: resumed level: the chunks stored before the interruption "
			     "do not say how they were timed");
		else
			EMIT(figs[i].name, true, (double)a->chunk_src[figs[i].src], (double)stated,
			     "chunks", figs[i].prov, NULL);
	return 0;
}

int level_agg_emit(struct level_agg *a, double offered_rate, level_emit_fn *fn, void *ctx)
{
	/* sent and measured: abandoned ones too (load.cancel), as the send window holds them */
	double dur_s, send_s, n_meas = (double)(a->n_ok + a->n_failed + a->n_cancelled);
	int n_send_windows;
	bool have_dur;
	const char *out_src = a->out_src ? a->out_src : "unknown";
	char fname[64];
	int i, rc;

	EMIT("requests_ok", true, (double)a->n_ok, -1, "requests", "harness", NULL);
	EMIT("requests_failed", true, (double)a->n_failed, -1, "requests", "harness", NULL);
	EMIT("requests_warmup", true, (double)a->n_warmup, -1, "requests", "harness", NULL);
	if (a->n_cancelled)
		EMIT("requests_cancelled", true, (double)a->n_cancelled, -1, "requests", "harness",
		     "abandoned by the client on purpose (load.cancel): neither ok nor failed");
	for (i = 0; i < a->n_fails; i++) {
		snprintf(fname, sizeof(fname), "requests_failed_%s", a->fails[i].name);
		EMIT(fname, true, (double)a->fails[i].n, -1, "requests", "harness", NULL);
	}
	dur_s = level_agg_duration_s(a);
	have_dur = dur_s > 0;
	if (a->t_first_send) {
		send_s = (double)(a->seg_send_ns + (a->t_last_send - a->t_first_send)) / 1e9;
		n_send_windows = a->n_seg_sends + 1;
	} else {
		send_s = (double)a->seg_send_ns / 1e9;
		n_send_windows = a->n_seg_sends;
	}
	if (have_dur)
		EMIT("duration_s", true, dur_s, n_meas, "s",
		     a->n_seg_sends ? "first measured send to last end, each window (resumed)"
				    : "first measured send to last end",
		     NULL);
	else
		EMIT("duration_s", false, 0, n_meas, "s", "harness",
		     "unavailable: no measured request");
	if (offered_rate > 0)
		EMIT("offered_rate", true, offered_rate, -1, "req/s", "workload", NULL);
	else
		EMIT("offered_rate", false, 0, -1, "req/s", "workload", "unavailable: closed loop");
	if (!a->n_ok)
		EMIT("achieved_rate", false, 0, n_meas, "req/s", "sends", NO_OK);
	else if (send_s > 0 && n_meas > n_send_windows)
		EMIT("achieved_rate", true, (n_meas - n_send_windows) / send_s, n_meas, "req/s",
		     "sends", NULL);
	else
		EMIT("achieved_rate", false, 0, n_meas, "req/s", "sends",
		     "unavailable: fewer than 2 sends");
	if (have_dur && a->n_ok) {
		EMIT("request_throughput", true, (double)a->n_ok / dur_s, (double)a->n_ok, "req/s",
		     "harness", NULL);
		if (a->n_out_known == a->n_ok && a->n_ok)
			EMIT("output_token_throughput", true, a->sum_out / dur_s, (double)a->n_ok,
			     "tok/s", out_src, NULL);
		else
			EMIT("output_token_throughput", false, 0, (double)a->n_out_known, "tok/s",
			     out_src, "unavailable: output token counts unknown for some requests");
		if (a->n_out_known == a->n_ok && a->n_in_known == a->n_ok && a->n_ok)
			EMIT("total_token_throughput", true, (a->sum_in + a->sum_out) / dur_s,
			     (double)a->n_ok, "tok/s", a->in_src ? a->in_src : "unknown", NULL);
		else
			EMIT("total_token_throughput", false, 0, (double)a->n_in_known, "tok/s",
			     "harness",
			     "unavailable: prompt or output token counts unknown for some requests");
		if (has_slo(&a->slo))
			EMIT("goodput", true, (double)a->n_good / dur_s, (double)a->n_good, "req/s",
			     "slo", NULL);
		else
			EMIT("goodput", false, 0, -1, "req/s", "slo",
			     "unavailable: the workload sets no slo");
	} else {
		const char *why = have_dur ? NO_OK : "unavailable: no measured request";

		EMIT("request_throughput", false, 0, 0, "req/s", "harness", why);
		EMIT("output_token_throughput", false, 0, 0, "tok/s", "harness", why);
		EMIT("total_token_throughput", false, 0, 0, "tok/s", "harness", why);
		EMIT("goodput", false, 0, 0, "req/s", "slo", why);
	}
	if ((rc = emit_stats(
		     &a->ttft, "ttft", "harness",
		     "unavailable: no request produced a token (non-streamed responses have no TTFT)",
		     fn, ctx)))
		return rc;
	if ((rc = emit_stats(&a->tpot, "tpot", out_src,
			     "unavailable: no request with 2 or more known output tokens", fn,
			     ctx)))
		return rc;
	if ((rc = emit_stats(&a->itl, a->itl_seen > LEVEL_MAX_ITL ? "itl" : "itl",
			     a->itl_seen > LEVEL_MAX_ITL ? "chunk gaps (reservoir sample)"
							 : "chunk gaps",
			     "unavailable: no request with 2 or more chunks", fn, ctx)))
		return rc;
	if (a->itl_seen)
		EMIT("itl_zero_gaps", true, (double)a->itl_zero, (double)a->itl_seen, "gaps",
		     LEVEL_ZERO_GAPS_PROV, NULL);
	else
		EMIT("itl_zero_gaps", false, 0, 0, "gaps", LEVEL_ZERO_GAPS_PROV,
		     "unavailable: no request with 2 or more chunks");
	if ((rc = emit_stats(&a->e2e, "e2e", "harness", "unavailable: no successful request", fn,
			     ctx)))
		return rc;
	if ((rc = emit_stats(&a->lag, "lag", "t_send - t_scheduled", "unavailable: no request sent",
			     fn, ctx)))
		return rc;
	if ((rc = emit_chunk_src(a, fn, ctx)))
		return rc;
	if (a->n_in_known)
		EMIT("prompt_tokens_mean", true, a->sum_in / (double)a->n_in_known,
		     (double)a->n_in_known, "tokens", a->in_src, NULL);
	else
		EMIT("prompt_tokens_mean", false, 0, 0, "tokens", "harness",
		     "unavailable: prompt token counts unknown");
	if (a->n_out_known)
		EMIT("output_tokens_mean", true, a->sum_out / (double)a->n_out_known,
		     (double)a->n_out_known, "tokens", out_src, NULL);
	else
		EMIT("output_tokens_mean", false, 0, 0, "tokens", "harness",
		     "unavailable: output token counts unknown");
	if (a->speed.n) {
		double m, sd;

		stats_mean_sd(a->speed.v, a->speed.n, &m, &sd);
		EMIT("decode_speed_mean", true, m, (double)a->speed.n, "tok/s", "1/TPOT", NULL);
	} else {
		EMIT("decode_speed_mean", false, 0, 0, "tok/s", "1/TPOT",
		     "unavailable: no TPOT sample");
	}
	if (a->oom)
		EMIT("samples_dropped", true, 1, -1, "flag", "harness",
		     "out of memory: some samples were not kept");
	return 0;
}
