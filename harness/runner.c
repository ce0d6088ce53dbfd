/* runner.c: the run loop (see runner.h). One scheduler loop drives one backend per level; no
 * thread per request. Requests live in slots; a finished slot is stored and reused. */
#include "runner.h"

#include "../backends/backend.h"
#include "../backends/model_cache.h"
#include "../backends/redact.h"
#include "../datasets/dataset.h"
#include "../metrics/power.h"
#include "../backends/ppl_run.h"
#include "evalrun.h"
#include "../metrics/level.h"
#include "../base/alloc.h"
#include "../base/version.h"
#include "../base/clock.h"
#include "sched.h"
#include "shard.h"
#include "../base/strbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

volatile sig_atomic_t runner_stop;

struct slot {
	struct request req;
	struct lb_reqrec rec;
	struct slot *next; /* free list or done list */
	struct slot *fl_prev, *fl_next; /* in-flight list */
	struct level_run *lr;
};

struct level_run {
	const struct workload *wl;
	const struct runner_opts *o;
	struct store *st;
	int64_t run_id, backend_id, level_id;
	struct backend *b;
	const struct lb_items *items;
	struct level_agg agg;
	struct slot *free_slots;
	struct slot *done; /* finished during the last poll */
	struct slot *flying; /* in flight (doubly linked) */
	long inflight;
	long submitted, completed, errors;
	long dropped; /* open loop capped with overflow "drop": arrivals never sent */
	uint8_t *done_seq; /* resume: bit per seq already stored as finished (owned) */
	long n_done_seq;
	long peak_inflight;
	long total; /* warmup + requests, or -1 when bounded by duration only */
	uint64_t next_id;
	struct lb_error store_err;
	int store_rc;
	/* progress */
	const char *label;
	uint64_t t_start, t_last_progress;
	long completed_measured;
};

static void slot_sink(void *ctx, const struct lb_event *ev)
{
	struct slot *s = ctx;

	if (s->rec.done)
		return; /* the contract says never; be safe */
	reqrec_on_event(&s->rec, ev);
	if (ev->kind == LB_EV_DONE || ev->kind == LB_EV_ERROR) {
		s->rec.done = true;
		if (s->fl_prev)
			s->fl_prev->fl_next = s->fl_next;
		else
			s->lr->flying = s->fl_next;
		if (s->fl_next)
			s->fl_next->fl_prev = s->fl_prev;
		s->fl_prev = s->fl_next = NULL;
		s->next = s->lr->done;
		s->lr->done = s;
	}
}

static struct slot *slot_get(struct level_run *lr)
{
	struct slot *s = lr->free_slots;

	if (s)
		lr->free_slots = s->next;
	else
		s = lb_calloc(1, sizeof(*s));
	return s;
}

static void slot_put(struct level_run *lr, struct slot *s)
{
	reqrec_release(&s->rec);
	s->next = lr->free_slots;
	lr->free_slots = s;
}

static void slots_free(struct slot *s)
{
	while (s) {
		struct slot *n = s->next;

		reqrec_release(&s->rec);
		lb_free(s);
		s = n;
	}
}

static bool seq_done(const struct level_run *lr, long seq)
{
	return lr->done_seq && seq < lr->n_done_seq && (lr->done_seq[seq / 8] >> (seq % 8)) & 1;
}

static int submit_one(struct level_run *lr, uint64_t t_scheduled, struct lb_error *err)
{
	const struct workload *wl = lr->wl;
	const struct lb_item *it;
	struct slot *s;
	int rc;

	while (seq_done(lr, lr->submitted)) /* resume: finished before the interruption */
		lr->submitted++;
	if (lr->total > 0 && lr->submitted >= lr->total)
		return 0;
	it = &lr->items->v[(size_t)lr->submitted % lr->items->n];
	s = slot_get(lr);

	if (!s)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory for a request slot");
	memset(&s->req, 0, sizeof(s->req));
	s->lr = lr;
	s->req.id = ++lr->next_id;
	s->req.prompt = it->prompt;
	s->req.prompt_len = strlen(it->prompt);
	s->req.messages_json = it->messages_json;
	s->req.gen = wl->gen;
	if (it->max_tokens > 0) {
		/* synthetic output length: exactly this many tokens */
		s->req.gen.max_tokens = it->max_tokens;
		s->req.gen.ignore_eos = true;
	}
	if (wl->dataset.token_ids && it->n_token_ids) {
		s->req.prompt_ids = it->token_ids;
		s->req.n_prompt_ids = it->n_token_ids;
	}
	s->req.sink.fn = slot_sink;
	s->req.sink.ctx = s;
	reqrec_init(&s->rec, s->req.id, lr->o->keep_text);
	s->rec.seq = lr->submitted;
	s->rec.level_id = lr->level_id;
	s->rec.backend_id = lr->backend_id;
	s->rec.item_idx = shard_item_index((long)((size_t)lr->submitted % lr->items->n), lr->o->shard);
	/* warm-up (by count or time) and cool-down (the last requests) are stored, never measured */
	s->rec.warmup = lr->submitted < wl->load.warmup ||
			(wl->load.warmup_s > 0 &&
			 (double)(t_scheduled - lr->t_start) / 1e9 < wl->load.warmup_s) ||
			(wl->load.cooldown > 0 && lr->total > 0 &&
			 lr->submitted >= lr->total - wl->load.cooldown);
	s->rec.t_scheduled_ns = t_scheduled;
	lr->submitted++;
	lr->inflight++;
	if (lr->inflight > lr->peak_inflight)
		lr->peak_inflight = lr->inflight;
	s->fl_prev = NULL;
	s->fl_next = lr->flying;
	if (lr->flying)
		lr->flying->fl_prev = s;
	lr->flying = s;
	rc = lr->b->ops->submit(lr->b, &s->req, err);
	if (rc) {
		if (!s->rec.done) {
			lr->flying = s->fl_next;
			if (s->fl_next)
				s->fl_next->fl_prev = NULL;
			lr->inflight--;
			slot_put(lr, s);
		}
		return rc;
	}
	return 0;
}

/* Store and account every request that finished during the last poll. */
static void reap(struct level_run *lr, uint64_t *last_end)
{
	while (lr->done) {
		struct slot *s = lr->done;
		struct lb_reqrec *r = &s->rec;

		lr->done = s->next;
		lr->inflight--;
		lr->completed++;
		if (!reqrec_ok(r))
			lr->errors += !r->warmup;
		if (!r->warmup)
			lr->completed_measured++;
		if (r->t_end_ns > *last_end)
			*last_end = r->t_end_ns;
		if (!lr->store_rc) {
			lr->store_rc = store_request_add(lr->st, lr->run_id, r, &lr->store_err);
		}
		level_agg_add(&lr->agg, r);
		slot_put(lr, s);
	}
}

static void progress(struct level_run *lr, bool final)
{
	uint64_t now = lb_now_ns();
	double el;

	if (!lr->o->progress)
		return;
	if (!final && now - lr->t_last_progress < 250000000u)
		return;
	lr->t_last_progress = now;
	el = (double)(now - lr->t_start) / 1e9;
	if (lr->total > 0) {
		double rate = el > 0 ? (double)lr->completed / el : 0;
		double eta = rate > 0 ? (double)(lr->total - lr->completed) / rate : 0;

		fprintf(stderr, "\r\033[K%s: %ld/%ld done, %.1f req/s, %ld errors, ETA %.0fs", lr->label,
			lr->completed, lr->total, rate, lr->errors, eta);
	} else {
		fprintf(stderr, "\r\033[K%s: %ld done, %.1fs of %.1fs, %ld errors", lr->label, lr->completed,
			el, lr->wl->load.duration_s, lr->errors);
	}
	if (final)
		fputc('\n', stderr);
}

/* Cancel every request in flight: through the backend when it can, else by closing it. Each
 * ends as a stored "cancelled" request. */
static void cancel_all(struct level_run *lr, uint64_t *last_end)
{
	struct slot *s, *n;

	if (lr->b->ops && lr->b->ops->cancel)
		for (s = lr->flying; s; s = n) {
			n = s->fl_next;
			lr->b->ops->cancel(lr->b, &s->req);
		}
	reap(lr, last_end);
	if (!lr->flying)
		return;
	backend_close(lr->b); /* aborts whatever the backend still holds */
	for (s = lr->flying; s; s = n) {
		struct lb_event ev;

		n = s->fl_next;
		lb_event_init(&ev, LB_EV_ERROR, s->req.id, lb_now_ns());
		ev.fail = LB_FAIL_CANCELLED;
		ev.text = "cancelled by interrupt";
		ev.text_len = strlen(ev.text);
		slot_sink(s, &ev);
	}
	reap(lr, last_end);
}

struct emit_ctx {
	struct store *st;
	int64_t run_id, backend_id, level_id;
	struct lb_error *err;
};

static int emit_summary(void *ctx, const char *metric, bool has_value, double value, double n,
			const char *unit, const char *provenance, const char *note)
{
	struct emit_ctx *e = ctx;
	struct store_summary sm = { .run_id = e->run_id, .backend_id = e->backend_id,
				    .level_id = e->level_id, .metric = metric, .has_value = has_value,
				    .value = value, .n = n, .unit = unit, .provenance = provenance,
				    .note = note };

	return store_summary_put(e->st, &sm, e->err);
}

static bool can_submit(const struct level_run *lr, uint64_t now)
{
	const struct wl_load *ld = &lr->wl->load;

	if (runner_stop)
		return false;
	if (lr->total > 0 && lr->submitted >= lr->total)
		return false;
	if (ld->duration_s > 0 && (double)(now - lr->t_start) / 1e9 >= ld->duration_s)
		return false;
	if (ld->max_errors > 0 && lr->errors >= ld->max_errors)
		return false;
	if (ld->max_error_rate > 0 && lr->completed_measured >= 20 &&
	    (double)lr->errors / (double)lr->completed_measured > ld->max_error_rate)
		return false;
	return true;
}

/* Run one level on an open backend; returns 0 or a store/harness error. */
/* The level's target at time t (ramp-up: linear or exponential from ~0 to value). */
static double ramped(const struct wl_load *ld, double value, uint64_t t_start, uint64_t now)
{
	double t = (double)(now - t_start) / 1e9, f;

	if (ld->ramp_up_s <= 0 || t >= ld->ramp_up_s)
		return value;
	f = t / ld->ramp_up_s;
	if (ld->ramp && !strcmp(ld->ramp, "exponential"))
		return pow(value, f) > 1 ? pow(value, f) : 1; /* 1 -> value */
	return value * f;
}

/* Run one level on an open backend; returns 0 or a store/harness error. */
static int run_level(struct level_run *lr, double value, bool rate_mode, struct lb_error *err)
{
	const struct wl_load *ld = &lr->wl->load;
	struct sched sc;
	uint64_t next_arrival, last_end = 0, drain_deadline = 0;
	bool drop = ld->overflow && !strcmp(ld->overflow, "drop");
	int rc = 0;

	lr->t_start = lb_now_ns();
	lr->t_last_progress = 0;
	/* gaps are drawn at rate 1 and divided by the (ramped) rate of the moment */
	sched_init(&sc, ld->arrival, 1, ld->burstiness, ld->seed + (uint64_t)value * 7919u);
	next_arrival = lr->t_start;
	if (rate_mode && ld->ramp_up_s > 0)
		next_arrival += (uint64_t)(sched_next_gap_s(&sc) / (value > 1 ? 1 : value) * 1e9);
	for (;;) {
		uint64_t now = lb_now_ns();
		int timeout_ms = 100;

		if (runner_stop && !drain_deadline)
			drain_deadline = now + (uint64_t)((lr->o->drain_s > 0 ? lr->o->drain_s : 2) * 1e9);
		if (drain_deadline && (now >= drain_deadline || runner_stop >= 2) && lr->inflight) {
			cancel_all(lr, &last_end);
			break;
		}
		if (rate_mode) {
			while (can_submit(lr, now) && next_arrival <= now) {
				double r = ramped(ld, value, lr->t_start, next_arrival);

				if (ld->max_inflight > 0 && lr->inflight >= ld->max_inflight) {
					if (!drop)
						break; /* queue: it goes out late; its lag says so */
					lr->dropped++;
					lr->submitted++;
				} else {
					rc = submit_one(lr, next_arrival, err);
					if (rc)
						goto out;
				}
				next_arrival += (uint64_t)(sched_next_gap_s(&sc) / (r > 1e-3 ? r : 1e-3) * 1e9);
			}
			if (can_submit(lr, now) && !(ld->max_inflight > 0 && lr->inflight >= ld->max_inflight)) {
				uint64_t wait = next_arrival > now ? next_arrival - now : 0;

				timeout_ms = (int)(wait / 1000000u);
				if (timeout_ms > 100)
					timeout_ms = 100;
			}
		} else {
			long conc = (long)ceil(ramped(ld, value, lr->t_start, now));
			double gap_ms = ld->stagger_ms;

			if (conc < 1)
				conc = 1;
			if (gap_ms > 0 && value > 1) {
				/* staggered start: stream k joins k * gap after the first (at most 1 s in
				 * all), so the level does not open with a burst the client itself queues */
				if (gap_ms * (value - 1) > 1000)
					gap_ms = 1000 / (value - 1);
				if ((double)(now - lr->t_start) / 1e6 < gap_ms * (value - 1)) {
					long k = 1 + (long)((double)(now - lr->t_start) / 1e6 / gap_ms);

					if (k < conc)
						conc = k;
					timeout_ms = 0;
				}
			}
			while (lr->inflight < conc && can_submit(lr, now)) {
				rc = submit_one(lr, last_end ? last_end : now, err);
				if (rc)
					goto out;
				last_end = 0;
			}
			if (conc < (long)value && ld->ramp_up_s > 0 && timeout_ms > 10)
				timeout_ms = 10; /* come back to raise the concurrency */
		}
		if (!lr->inflight && !can_submit(lr, lb_now_ns()))
			break;
		{
			/* Open loops spin on poll(0) in the last millisecond before an arrival: measured
			 * here, sleeping with a sub-millisecond timeout (epoll_pwait2) instead cut the
			 * harness's CPU by half but raised p99 lag at 1k req/s from 0.2 to 0.6-0.8 ms
			 * (wake-up latency), so the spin stays (docs/performance.md). */
			rc = lr->b->ops->poll(lr->b, lr->inflight ? timeout_ms : 0, err);
			if (!lr->inflight && timeout_ms > 0)
				lb_sleep_until_ns(lb_now_ns() + (uint64_t)timeout_ms * 1000000u / 2);
		}
		if (rc < 0)
			goto out;
		rc = 0;
		if (!rate_mode && lr->done) {
			/* closed loop: the next request is due when the previous one ended */
			uint64_t le = 0;

			reap(lr, &le);
			last_end = le;
		} else {
			reap(lr, &last_end);
		}
		if (!lr->store_rc)
			lr->store_rc = store_tick(lr->st, &lr->store_err);
		if (lr->store_rc) {
			*err = lr->store_err;
			rc = lr->store_rc;
			goto out;
		}
		progress(lr, false);
	}
out:
	progress(lr, true);
	return rc;
}

static void backend_json(struct strbuf *sb, const struct backend_config *c)
{
	char url[1024];

	strbuf_addf(sb, "{\"name\":");
	strbuf_add_json_str(sb, c->name, strlen(c->name));
	strbuf_adds(sb, ",\"type\":");
	strbuf_add_json_str(sb, c->type, strlen(c->type));
	if (c->base_url) {
		/* credentials in URLs never reach the store */
		if (redact_url(c->base_url, url, sizeof(url)))
			snprintf(url, sizeof(url), "(redacted)");
		strbuf_adds(sb, ",\"base_url\":");
		strbuf_add_json_str(sb, url, strlen(url));
	}
	if (c->model) {
		strbuf_adds(sb, ",\"model\":");
		strbuf_add_json_str(sb, c->model, strlen(c->model));
	}
	if (c->api)
		strbuf_addf(sb, ",\"api\":\"%s\"", c->api);
	if (c->api_key_env) {
		strbuf_adds(sb, ",\"api_key_env\":");
		strbuf_add_json_str(sb, c->api_key_env, strlen(c->api_key_env));
	}
	/* header values may hold secrets: only their count is stored */
	strbuf_addf(sb, ",\"stream\":%s,\"n_headers\":%zu", c->stream ? "true" : "false", c->n_headers);
	if (c->model_path) {
		strbuf_adds(sb, ",\"model_path\":");
		strbuf_add_json_str(sb, c->model_path, strlen(c->model_path));
		strbuf_addf(sb, ",\"threads\":%d,\"ctx\":%d,\"batch\":%d,\"parallel\":%d", c->threads,
			    c->n_ctx, c->n_batch, c->n_parallel);
	}
	if (c->family) {
		strbuf_adds(sb, ",\"family\":");
		strbuf_add_json_str(sb, c->family, strlen(c->family));
	}
	if (c->quant) {
		strbuf_adds(sb, ",\"quant\":");
		strbuf_add_json_str(sb, c->quant, strlen(c->quant));
	}
	strbuf_addch(sb, '}');
}

static void host_name(char *buf, size_t len)
{
	if (gethostname(buf, len))
		snprintf(buf, len, "unknown");
	buf[len - 1] = 0;
}

static void say(const struct runner_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct runner_opts *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->note(o->note_ctx, msg);
}

/* The whole run: what every backend and level shares. */
struct run_state {
	const struct workload *wl;
	const struct runner_opts *o;
	struct store *st;
	struct runner_result *res;
	struct lb_items items;
	struct power_sampler *power;
	struct power_window idle;
	bool have_idle;
	/* the whole run, for run-wide energy: measured window and token sums over every level */
	uint64_t t_first_send, t_last_end;
	double sum_out, sum_tot, n_ok;
	bool tokens_known;
};

static int put(struct run_state *rs, int64_t backend_id, int64_t level_id, const char *metric,
	       bool has, double v, const char *unit, const char *prov, const char *note,
	       struct lb_error *err)
{
	struct store_summary sm = { .run_id = rs->res->run_id, .backend_id = backend_id,
				    .level_id = level_id, .metric = metric, .has_value = has,
				    .value = v, .n = -1, .unit = unit, .provenance = prov, .note = note };

	return store_summary_put(rs->st, &sm, err);
}

struct series_ctx {
	struct run_state *rs;
	int64_t backend_id, level_id;
	struct lb_error *err;
};

static int store_power_sample(void *ctx, const struct power_sample *smp)
{
	struct series_ctx *sc = ctx;
	char name[96];

	if (isnan(smp->power_w))
		return 0;
	snprintf(name, sizeof(name), "power_w:%s", smp->label);
	return store_series_add(sc->rs->st, sc->rs->res->run_id, sc->backend_id, sc->level_id, name,
				smp->t_ns, smp->power_w, sc->err);
}

/* Energy figures of a level from the power sampler's samples over its measured window. */
static int level_power(struct run_state *rs, struct level_run *lr, struct lb_error *err)
{
	struct power_window w;
	struct emit_ctx ec = { rs->st, rs->res->run_id, lr->backend_id, lr->level_id, err };
	struct series_ctx sc = { rs, lr->backend_id, lr->level_id, err };
	const struct level_agg *a = &lr->agg;
	double out = a->n_out_known == a->n_ok ? a->sum_out : NAN;
	double tot = a->n_in_known == a->n_ok && a->n_out_known == a->n_ok ? a->sum_in + a->sum_out : NAN;
	int rc;

	if (a->t_first_send && (!rs->t_first_send || a->t_first_send < rs->t_first_send))
		rs->t_first_send = a->t_first_send;
	if (a->t_last_end > rs->t_last_end)
		rs->t_last_end = a->t_last_end;
	rs->sum_out += out;
	rs->sum_tot += tot;
	rs->n_ok += (double)a->n_ok;
	if (!rs->power || !a->t_first_send || a->t_last_end <= a->t_first_send)
		return 0;
	power_window(rs->power, a->t_first_send, a->t_last_end, &w);
	rc = power_summarize(&w, rs->have_idle ? &rs->idle : NULL, out, tot, (double)a->n_ok,
			     emit_summary, &ec);
	if (rc)
		return rc;
	if (!w.ok)
		return 0;
	return power_sampler_foreach_sample(rs->power, a->t_first_send, a->t_last_end,
					    store_power_sample, &sc);
}

/* ---- resume: continue an interrupted run without repeating finished requests ---- */

static int first_id(void *ctx, const struct store_row *row)
{
	int64_t *id = ctx;

	if (row->n_cols > 0 && row->text[0])
		*id = (int64_t)row->num[0];
	return 1;
}

struct resume_ctx {
	struct level_run *lr;
	uint64_t max_req_id;
	int rc;
};

static enum lb_fail fail_from(const char *status, int *http)
{
	*http = 0;
	if (!strcmp(status, "connect"))
		return LB_FAIL_CONNECT;
	if (!strncmp(status, "http_", 5)) {
		*http = atoi(status + 5);
		return LB_FAIL_HTTP;
	}
	if (!strcmp(status, "timeout"))
		return LB_FAIL_TIMEOUT;
	if (!strcmp(status, "stream"))
		return LB_FAIL_STREAM;
	return LB_FAIL_BACKEND;
}

/* One stored request back into the level's figures, and its seq marked done. */
static int resume_row(void *ctx, const struct store_row *row)
{
	struct resume_ctx *rc = ctx;
	struct level_run *lr = rc->lr;
	struct lb_reqrec r;
	long seq = (long)row->num[1], n;
	uint64_t *t = NULL;
	int32_t *cnt = NULL;

	reqrec_init(&r, (uint64_t)row->num[0], false);
	r.seq = seq;
	r.warmup = row->num[2] != 0;
	r.done = true;
	if (strcmp(row->text[3], "ok"))
		r.fail = fail_from(row->text[3], &r.http_status);
	r.t_scheduled_ns = row->text[4] ? (uint64_t)row->num[4] : 0;
	r.t_send_ns = row->text[5] ? (uint64_t)row->num[5] : 0;
	r.t_first_ns = row->text[6] ? (uint64_t)row->num[6] : 0;
	r.t_end_ns = row->text[7] ? (uint64_t)row->num[7] : 0;
	if (row->text[8]) {
		r.n_in = (int32_t)row->num[8];
		r.n_in_src = "stored";
	}
	if (row->text[9]) {
		r.n_out = (int32_t)row->num[9];
		r.n_out_src = "stored";
	}
	n = row->text[10] ? (long)row->num[10] : 0;
	if (n > 0 && row->blob[11]) {
		t = lb_calloc((size_t)n, sizeof(*t));
		cnt = lb_calloc((size_t)n, sizeof(*cnt));
		if (!t || !cnt) {
			lb_free(t);
			lb_free(cnt);
			rc->rc = LB_ERR_NOMEM;
			return 1;
		}
		n = reqrec_decode_chunks(row->blob[11], (size_t)row->blob_len[11], r.t_send_ns, t, n);
		if (n > 0 && row->blob[12])
			reqrec_decode_counts(row->blob[12], (size_t)row->blob_len[12], cnt, n);
		r.chunk_t_ns = t;
		r.chunk_n = cnt;
		r.n_chunks = r.chunk_alloc = n > 0 ? (uint32_t)n : 0;
	}
	level_agg_add(&lr->agg, &r);
	reqrec_release(&r);
	if ((uint64_t)row->num[0] > rc->max_req_id)
		rc->max_req_id = (uint64_t)row->num[0];
	if (seq >= 0 && seq < lr->n_done_seq)
		lr->done_seq[seq / 8] |= (uint8_t)(1u << (seq % 8));
	return 0;
}

/* Find the stored level; *done when it finished before. Otherwise load its finished requests
 * (cancelled ones are deleted: they run again) into lr->agg and lr->done_seq. */
static int resume_level(struct run_state *rs, struct level_run *lr, int64_t backend_id,
			const struct store_level *sl, int64_t *level_id, bool *done,
			struct lb_error *err)
{
	static const char q_level[] =
		"SELECT id, status FROM levels WHERE run_id = ? AND backend_id = ? AND idx = ? AND rep = ?";
	static const char q_reqs[] =
		"SELECT req_id, seq, warmup, status, t_scheduled_ns, t_send_ns, t_first_ns, t_end_ns,"
		" prompt_tokens, output_tokens, n_chunks, chunk_times, chunk_tokens"
		" FROM requests WHERE level_id = ? ORDER BY id";
	char a[32], b[32], c[16], d[16];
	const char *p[4] = { a, b, c, d };
	struct resume_ctx rc = { lr, 0, 0 };
	int64_t id = 0;
	long total = rs->wl->load.requests > 0 ? rs->wl->load.requests + rs->wl->load.warmup : 0;
	int r;

	*done = false;
	snprintf(a, sizeof(a), "%lld", (long long)rs->res->run_id);
	snprintf(b, sizeof(b), "%lld", (long long)backend_id);
	snprintf(c, sizeof(c), "%d", sl->idx);
	snprintf(d, sizeof(d), "%d", sl->rep);
	level_agg_init(&lr->agg, &rs->wl->slo);
	r = store_query(rs->st, "SELECT id FROM levels WHERE run_id = ? AND backend_id = ? AND idx = ? AND rep = ? AND status = 'done'",
			p, 4, first_id, &id, err);
	if (r)
		return r;
	if (id) {
		*done = true;
		return 0;
	}
	r = store_query(rs->st, q_level, p, 4, first_id, &id, err);
	if (r)
		return r;
	if (!id)
		return store_level_begin(rs->st, rs->res->run_id, backend_id, sl, level_id, err);
	*level_id = id;
	snprintf(a, sizeof(a), "%lld", (long long)id);
	r = store_exec(rs->st, "DELETE FROM requests WHERE level_id = ? AND status = 'cancelled'", p, 1, err);
	if (!r)
		r = store_exec(rs->st, "UPDATE levels SET status = 'running' WHERE id = ?", p, 1, err);
	if (r)
		return r;
	if (total > 0) {
		lr->n_done_seq = total;
		lr->done_seq = lb_calloc((size_t)total / 8 + 1, 1);
		if (!lr->done_seq)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory resuming a level");
	}
	r = store_query(rs->st, q_reqs, p, 1, resume_row, &rc, err);
	if (!r && rc.rc)
		r = lb_error_set(err, rc.rc, "out of memory resuming a level");
	lr->next_id = rc.max_req_id;
	say(rs->o, "resuming level %d of backend %lld: %ld requests already stored", sl->idx,
	    (long long)backend_id, lr->agg.n_ok + lr->agg.n_failed + lr->agg.n_warmup);
	return r;
}

/* What a level showed, for sweeps and the SLA search. */
struct level_outcome {
	long n_ok, n_failed, n_good;
	double req_per_s; /* completed ok / measured window, NAN if none */
	bool valid;
};

/* One level (or repetition) of one open backend, stored as it goes. */
static int run_store_level(struct run_state *rs, struct backend *b, int64_t backend_id, int idx,
			   int rep, bool rate_mode, double value, struct level_outcome *oc,
			   struct lb_error *err)
{
	const struct workload *wl = rs->wl;
	struct store_level sl = { idx, rep, rate_mode ? "rate" : "concurrency", value };
	struct level_run lr = { 0 };
	struct emit_ctx ec;
	char label[256], reason[200] = "";
	uint64_t cpu0 = lb_cpu_ns();
	double lag_p99;
	bool valid = true;
	int64_t level_id = 0;
	int rc;

	if (rs->o->resume_run) {
		bool done = false;

		rc = resume_level(rs, &lr, backend_id, &sl, &level_id, &done, err);
		if (rc || done) {
			lr.done_seq = NULL;
			level_agg_release(&lr.agg);
			if (done && oc) {
				memset(oc, 0, sizeof(*oc));
				oc->valid = true;
			}
			return rc;
		}
	} else {
		rc = store_level_begin(rs->st, rs->res->run_id, backend_id, &sl, &level_id, err);
		if (rc)
			return rc;
		level_agg_init(&lr.agg, &wl->slo);
	}
	lr.wl = wl;
	lr.o = rs->o;
	lr.st = rs->st;
	lr.run_id = rs->res->run_id;
	lr.backend_id = backend_id;
	lr.level_id = level_id;
	lr.b = b;
	lr.items = &rs->items;
	if (!lr.next_id)
		lr.next_id = (uint64_t)level_id * 1000000000ull;
	lr.total = wl->load.requests > 0 ? wl->load.requests + wl->load.warmup : -1;
	snprintf(label, sizeof(label), "%s %s=%g%s", b->name, sl.mode, value, rep ? " (repeat)" : "");
	lr.label = label;
	if (rs->o->shard)
		shard_level_begin(rs->o->shard, &runner_stop); /* in step with the other shards */
	rc = run_level(&lr, value, rate_mode, err);
	if (lr.inflight && b->ops) {
		uint64_t le = 0;

		cancel_all(&lr, &le);
	}
	rs->res->requests_ok += lr.agg.n_ok;
	rs->res->requests_failed += lr.agg.n_failed;
	if (!rc && lr.store_rc) {
		*err = lr.store_err;
		rc = lr.store_rc;
	}
	if (!rc) {
		ec = (struct emit_ctx){ rs->st, rs->res->run_id, backend_id, level_id, err };
		rc = level_agg_emit(&lr.agg, rate_mode ? value : 0, emit_summary, &ec);
	}
	if (!rc)
		rc = put(rs, backend_id, level_id, "harness_cpu_s", true, (double)(lb_cpu_ns() - cpu0) / 1e9,
			 "s", "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)", NULL, err);
	if (!rc)
		rc = put(rs, backend_id, level_id, "harness_peak_rss_mib", true,
			 (double)lb_peak_rss_kib() / 1024.0, "MiB", "getrusage", "process peak so far", err);
	if (!rc)
		rc = level_power(rs, &lr, err);
	if (!rc)
		rc = put(rs, backend_id, level_id, "inflight_peak", true, (double)lr.peak_inflight,
			 "requests", "harness", NULL, err);
	if (!rc && rate_mode && wl->load.max_inflight > 0)
		rc = put(rs, backend_id, level_id, "requests_dropped", true, (double)lr.dropped, "requests",
			 "harness",
			 !strcmp(wl->load.overflow, "drop")
				 ? "open loop capped at max_inflight; overflow drop: arrivals over the cap are not sent"
				 : "open loop capped at max_inflight; overflow queue: arrivals wait (schedule lag shows it)",
			 err);
	if (!rc && lr.done_seq)
		rc = put(rs, backend_id, level_id, "resumed", true, 1, "flag", "harness",
			 "level resumed after an interruption: its measured window includes the pause, so "
			 "its throughput figures are lower bounds",
			 err);
	oc->n_ok = lr.agg.n_ok;
	oc->n_failed = lr.agg.n_failed;
	oc->n_good = 0;
	oc->req_per_s = NAN;
	if (lr.agg.t_first_send && lr.agg.t_last_end > lr.agg.t_first_send)
		oc->req_per_s = (double)lr.agg.n_ok / ((double)(lr.agg.t_last_end - lr.agg.t_first_send) / 1e9);
	oc->n_good = lr.agg.n_good;
	lag_p99 = level_agg_lag_p99(&lr.agg);
	if (!isnan(lag_p99) && lag_p99 > wl->load.lag_bound_ms && rate_mode) {
		valid = false;
		snprintf(reason, sizeof(reason),
			 "p99 schedule lag %.3f ms exceeds the bound of %.3f ms: the client set the pace",
			 lag_p99, wl->load.lag_bound_ms);
	}
	if (rs->o->shard && !shard_level_end(rs->o->shard, reason, sizeof(reason)))
		valid = false;
	if (!rc)
		rc = store_level_end(rs->st, level_id, runner_stop ? "interrupted" : "done", valid,
				     valid ? NULL : reason, err);
	oc->valid = valid;
	level_agg_release(&lr.agg);
	slots_free(lr.free_slots);
	lb_free(lr.done_seq);
	if (!rc && !valid)
		say(rs->o, "warning: %s marked invalid: %s", label, reason);
	return rc;
}

static bool is_synthetic(const char *model_path)
{
	/* models made by `llmbench model make` are named "llmbench tiny <arch> (random weights)";
	 * general.name sits among the metadata, after the vocabulary: scan the first 8 MiB */
	static const char mark[] = "(random weights)";
	char *buf = lb_malloc(8u << 20);
	FILE *f = model_path ? fopen(model_path, "rb") : NULL;
	bool found = false;
	size_t n;

	if (f && buf) {
		n = fread(buf, 1, 8u << 20, f);
		found = memmem(buf, n, mark, sizeof(mark) - 1) != NULL;
	}
	if (f)
		fclose(f);
	lb_free(buf);
	return found;
}

/* Perplexity (and KLD against the matrix base) of an in-process backend, stored per backend. */
static int backend_perplexity(struct run_state *rs, const struct backend_config *cfg,
			      const char *base, int64_t backend_id, struct lb_error *err)
{
	const struct wl_perplexity *pp = &rs->wl->ppl;
	struct ppl_config pc = { 0 };
	struct ppl_result pr;
	struct lb_error perr = LB_ERROR_INIT;
	const char *note;
	char prov[256];
	int rc;

	pc.model_path = cfg->model_path;
	pc.text_path = pp->text;
	pc.kl_base_path = pp->kld && base && strcmp(base, cfg->model_path) ? base : NULL;
	pc.n_ctx = pp->ctx;
	pc.n_batch = pp->batch;
	pc.n_chunks = pp->chunks;
	pc.threads = cfg->threads;
	if (ppl_run(&pc, &pr, &perr)) {
		say(rs->o, "warning: perplexity of '%s' unavailable: %s", cfg->name, perr.msg);
		return put(rs, backend_id, 0, "ppl", false, 0, "", "llama.cpp perplexity", perr.msg, err);
	}
	note = is_synthetic(cfg->model_path) ? "synthetic: random-weight generated model" : NULL;
	snprintf(prov, sizeof(prov), "%s; n_ctx %d, batch %d, %s, %zu scored tokens", pr.method, pr.n_ctx,
		 pr.n_batch, pr.bos_policy, pr.n_scored);
	if ((rc = put(rs, backend_id, 0, "ppl", true, pr.ppl, "", prov, note, err)) ||
	    (rc = put(rs, backend_id, 0, "ppl_err", true, pr.ppl_err, "", prov, note, err)) ||
	    (rc = put(rs, backend_id, 0, "bpb", true, pr.bpb, "bits/byte", prov, note, err)) ||
	    (rc = put(rs, backend_id, 0, "ppl_scored_tokens", true, (double)pr.n_scored, "tokens", prov,
		      NULL, err)))
		return rc;
	if (!pr.has_kld) {
		const char *why = pc.kl_base_path ? "unavailable: KLD failed"
						  : "unavailable: no separate base model to compare with";

		return put(rs, backend_id, 0, "kld_mean", false, 0, "", "llama.cpp kl-divergence", why, err);
	}
	if ((rc = put(rs, backend_id, 0, "kld_mean", true, pr.kld.kld_mean, "nats", prov, note, err)) ||
	    (rc = put(rs, backend_id, 0, "kld_err", true, pr.kld.kld_unc, "nats", prov, note, err)) ||
	    (rc = put(rs, backend_id, 0, "kld_p99", true, pr.kld.kld_pct[2], "nats", prov, note, err)) ||
	    (rc = put(rs, backend_id, 0, "same_top_pct", true, 100 * pr.kld.same_top, "%", prov, note, err)) ||
	    (rc = put(rs, backend_id, 0, "same_top_err_pct", true, 100 * pr.kld.same_top_unc, "%", prov, note, err)) ||
	    (rc = put(rs, backend_id, 0, "rms_dp_pct", true, 100 * pr.kld.p_diff_rms, "%", prov, note, err)) ||
	    (rc = put(rs, backend_id, 0, "ppl_ratio", true, pr.kld.ppl_ratio, "", prov, note, err)) ||
	    (rc = put(rs, backend_id, 0, "ppl_ratio_err", true, pr.kld.ppl_ratio_unc, "", prov, note, err)))
		return rc;
	return 0;
}

/* Each level of the workload, each repeated load.repeat times. */
static int run_levels(struct run_state *rs, struct backend *b, int64_t backend_id, struct lb_error *err)
{
	const struct wl_load *ld = &rs->wl->load;
	bool rate_mode = !strcmp(ld->mode, "rate");
	struct level_outcome oc;
	size_t li;
	int rep, rc;

	for (li = 0; li < ld->n_levels && !runner_stop && b->ops; li++)
		for (rep = 0; rep < (ld->repeat > 0 ? ld->repeat : 1) && !runner_stop && b->ops; rep++) {
			rc = run_store_level(rs, b, backend_id, (int)li, rep, rate_mode, ld->levels[li], &oc, err);
			if (rc)
				return rc;
		}
	return 0;
}

/* GuideLLM's sweep: synchronous (concurrency 1), then saturation (all requests of the level at
 * once, capped at 256 in flight), then sweep_points rates interpolated between the two rates. */
static int run_sweep(struct run_state *rs, struct backend *b, int64_t backend_id, struct lb_error *err)
{
	const struct wl_load *ld = &rs->wl->load;
	struct level_outcome sync, sat, oc;
	double sat_conc = ld->requests > 0 && ld->requests < 256 ? (double)ld->requests : 256;
	int i, idx = 0, rc;

	rc = run_store_level(rs, b, backend_id, idx++, 0, false, 1, &sync, err);
	if (rc || runner_stop || !b->ops)
		return rc;
	rc = run_store_level(rs, b, backend_id, idx++, 0, false, sat_conc, &sat, err);
	if (rc || runner_stop || !b->ops)
		return rc;
	if (!(sync.req_per_s > 0) || !(sat.req_per_s > 0)) {
		say(rs->o, "warning: sweep of '%s' stopped: no throughput measured at the ends", b->name);
		return put(rs, backend_id, 0, "sweep", false, 0, "", "harness",
			   "unavailable: the synchronous or saturation level completed no request", err);
	}
	for (i = 1; i <= ld->sweep_points && !runner_stop && b->ops; i++) {
		double lo = sync.req_per_s, hi = sat.req_per_s > lo ? sat.req_per_s : lo * 1.01;
		double r = lo + (hi - lo) * i / (ld->sweep_points + 1);

		rc = run_store_level(rs, b, backend_id, idx++, 0, true, r, &oc, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Does a level meet the workload's SLOs? The fraction of its measured requests meeting every
 * SLO must reach slo_target, and the level must be valid. */
static bool level_passes(const struct wl_load *ld, const struct level_outcome *oc)
{
	long n = oc->n_ok + oc->n_failed;

	return oc->valid && n > 0 && (double)oc->n_good / (double)n >= ld->slo_target;
}

/* SLA search: double from start until a level fails the SLOs (or max), then bisect. */
static int run_sla_search(struct run_state *rs, struct backend *b, int64_t backend_id,
			  struct lb_error *err)
{
	const struct wl_load *ld = &rs->wl->load;
	const struct wl_slo *slo = &rs->wl->slo;
	bool rate = !strcmp(ld->search_over, "rate");
	double lo = 0, hi = 0, v = ld->search_start;
	struct level_outcome oc;
	char prov[256];
	int idx = 0, step, rc;

	if (!(slo->ttft_ms > 0 || slo->tpot_ms > 0 || slo->e2e_ms > 0))
		return put(rs, backend_id, 0, rate ? "sla_max_rate" : "sla_max_concurrency", false, 0, "",
			   "sla search", "unavailable: the workload sets no slo to search against", err);
	for (;;) {
		if (!rate)
			v = floor(v);
		rc = run_store_level(rs, b, backend_id, idx++, 0, rate, v, &oc, err);
		if (rc || runner_stop || !b->ops)
			return rc;
		if (!level_passes(ld, &oc)) {
			hi = v;
			break;
		}
		lo = v;
		if (v >= ld->search_max)
			break;
		v = v * 2 > ld->search_max ? ld->search_max : v * 2;
	}
	for (step = 0; hi > 0 && lo > 0 && step < ld->search_steps && !runner_stop && b->ops; step++) {
		v = (lo + hi) / 2;
		if (!rate)
			v = floor(v);
		if (v <= lo || (!rate && hi - lo <= 1))
			break;
		rc = run_store_level(rs, b, backend_id, idx++, 0, rate, v, &oc, err);
		if (rc)
			return rc;
		if (level_passes(ld, &oc))
			lo = v;
		else
			hi = v;
	}
	snprintf(prov, sizeof(prov),
		 "sla search over %s: doubling from %g then bisection; a level passes when %.0f%% of its "
		 "requests meet every slo; first failing value %g",
		 ld->search_over, ld->search_start, ld->slo_target * 100, hi);
	if (lo <= 0)
		return put(rs, backend_id, 0, rate ? "sla_max_rate" : "sla_max_concurrency", false, 0,
			   rate ? "req/s" : "requests", prov,
			   "unavailable: even the first value fails the slos", err);
	return put(rs, backend_id, 0, rate ? "sla_max_rate" : "sla_max_concurrency", true, lo,
		   rate ? "req/s" : "requests", prov, hi > 0 ? NULL : "the search stopped at load.search.max",
		   err);
}

static int run_backend(struct run_state *rs, const struct wl_backend *wb, struct lb_error *err)
{
	const struct workload *wl = rs->wl;
	struct backend_config cfg = wb->cfg;
	struct store_backend sb;
	struct strbuf cj = STRBUF_INIT;
	struct backend b = { 0 };
	struct lb_error berr = LB_ERROR_INIT;
	char *model_path = NULL;
	int64_t backend_id = 0;
	int rc = 0;

	if (!cfg.model_path && wb->base_model) {
		/* a model matrix entry: quantize the base once into the cache */
		say(rs->o, "preparing %s (%s of %s)", cfg.name, cfg.quant ? cfg.quant : "base", wb->base_model);
		if (model_cache_get(wb->base_model, cfg.quant ? cfg.quant : "base", rs->o->cache_dir,
				    &model_path, &berr))
			model_path = NULL;
		cfg.model_path = model_path;
	}
	sb = (struct store_backend){ cfg.name, cfg.type, cfg.model ? cfg.model : cfg.model_path,
				     cfg.family, cfg.quant, NULL };
	backend_json(&cj, &cfg);
	sb.config_json = cj.buf;
	if (rs->o->resume_run) {
		char a[32];
		const char *p[2] = { a, cfg.name };

		snprintf(a, sizeof(a), "%lld", (long long)rs->res->run_id);
		rc = store_query(rs->st, "SELECT id FROM backends WHERE run_id = ? AND name = ?", p, 2,
				 first_id, &backend_id, err);
	}
	if (!rc && !backend_id)
		rc = store_backend_add(rs->st, rs->res->run_id, &sb, &backend_id, err);
	strbuf_release(&cj);
	if (rc)
		goto out;
	if (berr.code || backend_open(&b, &cfg, &berr)) {
		say(rs->o, "warning: backend '%s' skipped: %s", cfg.name, berr.msg);
		rs->res->backends_failed++;
		rc = put(rs, backend_id, 0, "backend_open", false, 0, "", "harness", berr.msg, err);
		goto out;
	}
	if (cfg.model_path) {
		struct stat stt;

		if (!stat(cfg.model_path, &stt))
			rc = put(rs, backend_id, 0, "model_size_mib", true, (double)stt.st_size / 1048576.0,
				 "MiB", "file size of the GGUF", NULL, err);
		if (rc)
			goto out;
	}
	if (rs->items.n) {
		if (!strcmp(wl->load.mode, "sweep"))
			rc = run_sweep(rs, &b, backend_id, err);
		else if (!strcmp(wl->load.mode, "sla"))
			rc = run_sla_search(rs, &b, backend_id, err);
		else
			rc = run_levels(rs, &b, backend_id, err);
		if (rc)
			goto out;
	}
	if (wl->eval_json && !runner_stop) {
		struct eval_opts eo = { rs->o->note, rs->o->note_ctx };

		rc = eval_run_backend_ex(wl, &b, rs->st, rs->res->run_id, backend_id, NULL, &eo, err);
		if (rc)
			goto out;
	}
	backend_close(&b);
	if (wl->ppl.text && !runner_stop) {
		if (strcmp(cfg.type, "llamacpp"))
			rc = put(rs, backend_id, 0, "ppl", false, 0, "", "llama.cpp perplexity",
				 "unavailable: perplexity needs the in-process backend (an endpoint's prompt "
				 "log-probabilities are not used for it)", err);
		else
			rc = backend_perplexity(rs, &cfg, wb->base_model, backend_id, err);
	}
out:
	backend_close(&b);
	lb_free(model_path);
	return rc;
}

int runner_run(const struct workload *wl, struct store *st, const struct runner_opts *o,
	       struct runner_result *res, struct lb_error *err)
{
	struct run_state rs = { .wl = wl, .o = o, .st = st, .res = res };
	struct store_run sr = { 0 };
	const char *name_out = NULL;
	char host[256];
	size_t bi;
	int rc;

	memset(res, 0, sizeof(*res));
	/* timers wake us within a microsecond, not the default 50 us (open-loop schedules) */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	rc = eval_check(wl, err); /* every eval dataset and pattern, before any request */
	if (rc)
		return rc;
	if (wl->dataset.path) {
		rc = dataset_load(wl->dataset.path, wl->dataset.format, wl->dataset.limit, &rs.items, err);
		if (rc)
			goto out;
		if (wl->dataset.shuffle)
			lb_items_shuffle(&rs.items, wl->dataset.seed);
		if (o->shard)
			shard_items(&rs.items, o->shard); /* a split load partitions the items */
		if (rs.items.skipped)
			say(o, "warning: %zu dataset entries skipped (no prompt)", rs.items.skipped);
	}
	rc = power_sampler_start(&rs.power, wl->power_json, err);
	if (rc)
		goto out;
	say(o, "power: %s", power_sampler_describe(rs.power));
	host_name(host, sizeof(host));
	sr.name = o->run_name;
	sr.workload_name = wl->name;
	sr.workload_path = wl->path;
	sr.workload_json = wl->text;
	sr.host = o->host ? o->host : host;
	sr.version = lb_version();
	if (o->resume_run) {
		const char *p[1];
		char a[32];

		if (!strcmp(wl->load.mode, "sweep") || !strcmp(wl->load.mode, "sla")) {
			rc = lb_error_set(err, LB_ERR_USAGE,
					  "run '%s': resume supports load modes concurrency and rate, not %s",
					  o->resume_run, wl->load.mode);
			goto out;
		}
		rc = store_run_find(st, o->resume_run, &res->run_id, err);
		if (rc)
			goto out;
		name_out = o->resume_run;
		snprintf(a, sizeof(a), "%lld", (long long)res->run_id);
		p[0] = a;
		rc = store_exec(st, "UPDATE runs SET status = 'running', ended_at = NULL WHERE id = ?", p, 1, err);
	} else {
		rc = store_run_begin(st, &sr, &res->run_id, &name_out, err);
		if (!rc && o->shard)
			rc = shard_record(st, res->run_id, o->shard, sr.host, err);
	}
	if (rc)
		goto out;
	snprintf(res->run_name, sizeof(res->run_name), "%s", name_out ? name_out : "");
	if (power_sampler_idle_s(rs.power) > 0) {
		say(o, "measuring idle power for %.1f s", power_sampler_idle_s(rs.power));
		power_sampler_idle(rs.power, 0, &rs.idle);
		rs.have_idle = true; /* power_summarize says why when the idle window failed */
	}
	for (bi = 0; bi < wl->n_backends && !runner_stop; bi++) {
		rc = run_backend(&rs, &wl->backends[bi], err);
		if (rc)
			goto fail;
	}
	if (rs.power && rs.t_last_end > rs.t_first_send) {
		/* run-wide energy: from the first measured send to the last end, all backends */
		struct power_window w;
		struct emit_ctx ec = { st, res->run_id, 0, 0, err };

		power_window(rs.power, rs.t_first_send, rs.t_last_end, &w);
		rc = power_summarize(&w, rs.have_idle ? &rs.idle : NULL, rs.sum_out, rs.sum_tot, rs.n_ok,
				     emit_summary, &ec);
		if (rc)
			goto fail;
	}
	power_sampler_stop(rs.power);
	res->interrupted = runner_stop != 0;
	rc = store_run_end(st, res->run_id, res->interrupted ? "interrupted" : "done",
			   res->interrupted ? "stopped by a signal" : NULL, err);
	goto out;
fail:
	{
		struct lb_error e2 = LB_ERROR_INIT;

		store_run_end(st, res->run_id, "failed", err->msg, &e2);
	}
out:
	power_sampler_free(rs.power);
	lb_items_release(&rs.items);
	return rc;
}
