/* runner_level.c: the slot loop of one level (see runner_int.h). One scheduler loop drives one
 * backend; no thread per request. Requests live in slots; a finished slot is stored and reused.
 * Closed loop: a new request when one ends; open loop: one per arrival of the schedule. */
#include "runner_int.h"
#include "shard.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "runner_sessions.h"
#include "runner_trace.h"
#include "sched.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void slot_cancel_from_send(struct slot *s)
{
	if (s->cancel_at_ns && !s->rec.done)
		s->cancel_at_ns += s->rec.t_send_ns ? s->rec.t_send_ns : lb_now_ns();
}

void slot_record(struct slot *s, const struct lb_event *ev)
{
	struct lb_event cut;

	if (s->want_cancel) { /* abandoned at its Nth token, the cancel sent after the poll */
		if (ev->kind == LB_EV_FIRST_TOKEN || ev->kind == LB_EV_TOKENS)
			return; /* what the same read brought after that token is not taken */
		if (ev->kind == LB_EV_DONE) { /* it ended in that read: abandoned all the same */
			lb_event_init(&cut, LB_EV_ERROR, ev->req_id, ev->t_ns);
			cut.fail = LB_FAIL_CANCELLED;
			cut.text = "cancelled";
			cut.text_len = strlen(cut.text);
			s->rec.abandoned = true;
			ev = &cut;
		}
	}
	reqrec_on_event(&s->rec, ev);
	if (s->cancel_at_tokens && (ev->kind == LB_EV_FIRST_TOKEN || ev->kind == LB_EV_TOKENS)) {
		s->got_tokens += ev->n_tokens > 0 ? ev->n_tokens : 1;
		if (s->got_tokens >= s->cancel_at_tokens)
			s->want_cancel = true; /* cancelled after the poll: not from inside it */
	}
}

static void slot_sink(void *ctx, const struct lb_event *ev)
{
	struct slot *s = ctx;

	if (s->rec.done)
		return; /* the contract says never; be safe */
	slot_record(s, ev);
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

int level_submit(struct level_run *lr, const struct lb_item *it, long item_idx,
		 uint64_t t_scheduled, int warmup, void *tag, struct lb_error *err)
{
	const struct workload *wl = lr->wl;
	struct slot *s;
	int rc;

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
	s->req.user = tag;
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
	/* sessions: the reply is the next turn's history, whether or not the text is stored */
	reqrec_init(&s->rec, s->req.id, lr->o->keep_text || lr->sess);
	s->rec.seq = lr->submitted;
	s->rec.level_id = lr->level_id;
	s->rec.backend_id = lr->backend_id;
	s->rec.item_idx = item_idx;
	/* warm-up (by count or time: the warm-up phase) and cool-down (the last requests) are
	 * stored, never measured */
	if (warmup >= 0)
		s->rec.warmup = warmup;
	else
		s->rec.warmup = lr->phase != LEVEL_MEASURE ||
				(wl->load.cooldown > 0 && lr->total > 0 &&
				 lr->submitted >= lr->total - wl->load.cooldown);
	s->rec.t_scheduled_ns = t_scheduled;
	s->cancel_at_ns = 0;
	s->cancel_at_tokens = s->got_tokens = 0;
	s->want_cancel = false;
	if (lr->cancel_on && sched_uniform(&lr->cancel_rng) < wl->load.cancel_fraction) {
		if (wl->load.cancel_after_tokens > 0)
			s->cancel_at_tokens = wl->load.cancel_after_tokens;
		else /* after the send: made absolute once it is sent (slot_cancel_from_send) */
			s->cancel_at_ns = (uint64_t)(wl->load.cancel_after_ms * 1e6) + 1;
	}
	lr->submitted++;
	lr->inflight++;
	if (lr->inflight > lr->peak_inflight)
		lr->peak_inflight = lr->inflight;
	s->worker = lr->last_worker = -1;
	if (lr->pool) {
		/* a worker sends it and hands it back (runner_workers.c) */
		lr->last_worker = lr->pin_worker > 0 ? (lr->pin_worker - 1) % lr->n_workers
						     : runner_pool_pick(lr->pool, lr->n_workers);
		runner_pool_submit(lr->pool, lr->last_worker, s);
		return 0;
	}
	s->fl_prev = NULL;
	s->fl_next = lr->flying;
	if (lr->flying)
		lr->flying->fl_prev = s;
	lr->flying = s;
	rc = lr->b->ops->submit(lr->b, &s->req, err);
	if (!rc)
		slot_cancel_from_send(s);
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

static int submit_one(struct level_run *lr, uint64_t t_scheduled, struct lb_error *err)
{
	long k;

	while (seq_done(lr, lr->submitted)) /* resume: finished before the interruption */
		lr->submitted++;
	if (lr->total > 0 && lr->submitted >= lr->total)
		return 0;
	k = (long)((size_t)lr->submitted % lr->items->n);
	return level_submit(lr, &lr->items->v[k], shard_item_index(k, lr->o->shard), t_scheduled,
			    -1, NULL, err);
}

/* Store and account every request that finished during the last poll. */
void level_reap(struct level_run *lr, uint64_t *last_end)
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
		if (lr->sess && !lr->store_rc) /* the next turn's history; its session and turn */
			lr->store_rc = runner_sessions_done(lr, r, s->req.user, &lr->store_err);
		if (!lr->store_rc) {
			bool kt = r->keep_text;

			r->keep_text = lr->o->keep_text; /* stored only when asked */
			lr->store_rc = store_request_add(lr->st, lr->run_id, r, &lr->store_err);
			r->keep_text = kt;
		}
		level_agg_add(&lr->agg, r);
		runner_pool_account(lr->pool, s);
		slot_put(lr, s);
	}
}

void level_progress(struct level_run *lr, bool final)
{
	uint64_t now = lb_now_ns();
	struct runner_progress p;

	if (!lr->o->progress)
		return;
	if (!final && now - lr->t_last_progress < 250000000u)
		return;
	lr->t_last_progress = now;
	p.label = lr->label;
	p.completed = lr->completed;
	p.total = lr->total;
	p.errors = lr->errors;
	p.elapsed_s = (double)(now - lr->t_start) / 1e9;
	p.duration_s = lr->wl->load.duration_s;
	p.final = final;
	lr->o->progress(lr->o->progress_ctx, &p);
}

/* load.cancel: abandon the requests whose time or token count has come. They end with
 * LB_FAIL_CANCELLED and are marked abandoned: stored "cancelled", neither ok nor failed. */
void level_cancel_due(struct level_run *lr)
{
	uint64_t now = lb_now_ns();
	struct slot *s, *n;

	for (s = lr->flying; s; s = n) {
		n = s->fl_next;
		if (s->rec.done || !(s->want_cancel || (s->cancel_at_ns && now >= s->cancel_at_ns)))
			continue;
		s->want_cancel = false;
		s->cancel_at_ns = 0;
		s->cancel_at_tokens = 0;
		s->rec.abandoned = true;
		lr->b->ops->cancel(lr->b, &s->req);
	}
}

/* Cancel every request in flight: through the backend when it can, else by closing it. Each
 * ends as a stored "cancelled" request. */
void level_cancel_all(struct level_run *lr, uint64_t *last_end)
{
	struct slot *s, *n;

	if (lr->pool) {
		/* each worker cancels what it holds; everything comes back "cancelled" */
		uint64_t t_end = lb_now_ns() + 10000000000ull;
		struct lb_error e = LB_ERROR_INIT;

		runner_pool_cancel(lr->pool, true);
		while (lr->inflight && lb_now_ns() < t_end) {
			runner_pool_wait(lr->pool, 10000000u, &lr->done, &e);
			level_reap(lr, last_end);
		}
		runner_pool_cancel(lr->pool, false);
		return;
	}

	if (lr->b->ops && lr->b->ops->cancel)
		for (s = lr->flying; s; s = n) {
			n = s->fl_next;
			lr->b->ops->cancel(lr->b, &s->req);
		}
	level_reap(lr, last_end);
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
	level_reap(lr, last_end);
}

/* Is the next request a warm-up one? (the first `warmup` requests, and those due in the first
 * warmup_s seconds of the level) */
static bool warm(const struct level_run *lr, uint64_t now)
{
	const struct wl_load *ld = &lr->wl->load;

	return lr->submitted < ld->warmup ||
	       (ld->warmup_s > 0 && (double)(now - lr->t_start) / 1e9 < ld->warmup_s);
}

/* Warm-up, then drain (nothing sent until every warm-up request has finished), then the
 * measured phase, which opens with all of its first requests sent at once. Returns true when
 * the measured phase opened now. */
static bool phase_update(struct level_run *lr, uint64_t now)
{
	if (lr->phase == LEVEL_WARMUP) {
		while (seq_done(lr, lr->submitted)) /* resume: finished before the interruption */
			lr->submitted++;
		if (!warm(lr, now) || runner_stop ||
		    (lr->total > 0 && lr->submitted >= lr->total)) {
			const struct wl_load *ld = &lr->wl->load;

			lr->phase = LEVEL_DRAIN;
			/* warmup_s sent more warm-up requests than the count: load.requests stays
			 * the measured ones, after whatever warm-up there was */
			if (ld->warmup_s > 0 && ld->requests > 0 && lr->total > 0 &&
			    lr->submitted > ld->warmup && !runner_stop)
				lr->total = lr->submitted + ld->requests;
		}
	}
	if (lr->phase == LEVEL_DRAIN && !lr->inflight) {
		lr->phase = LEVEL_MEASURE;
		lr->t_measure = now;
		return true;
	}
	return false;
}

bool level_bound_hit(const struct level_run *lr, uint64_t now)
{
	const struct wl_load *ld = &lr->wl->load;

	if (ld->duration_s > 0 && lr->phase == LEVEL_MEASURE &&
	    (double)(now - lr->t_measure) / 1e9 >= ld->duration_s)
		return true;
	if (ld->max_errors > 0 && lr->errors >= ld->max_errors)
		return true;
	return ld->max_error_rate > 0 && lr->completed_measured >= 20 &&
	       (double)lr->errors / (double)lr->completed_measured > ld->max_error_rate;
}

static bool can_submit(const struct level_run *lr, uint64_t now)
{
	if (runner_stop)
		return false;
	if (lr->total > 0 && lr->submitted >= lr->total)
		return false;
	if (lr->phase == LEVEL_DRAIN || (lr->phase == LEVEL_WARMUP && !warm(lr, now)))
		return false;
	return !level_bound_hit(lr, now);
}

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

/* The calling thread's time on a CPU and waiting on a run queue (ns); false when the kernel
 * does not say (then *wait_ns is 0 and *run_ns the thread's CPU clock). */
bool level_thread_sched(uint64_t *run_ns, uint64_t *wait_ns)
{
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	unsigned long long run = 0, wait = 0;
	bool ok = f && fscanf(f, "%llu %llu", &run, &wait) == 2;

	if (f)
		fclose(f);
	if (!ok) {
		struct timespec ts;

		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		run = (unsigned long long)ts.tv_sec * 1000000000ull +
		      (unsigned long long)ts.tv_nsec;
		wait = 0;
	}
	*run_ns = run;
	*wait_ns = wait;
	return ok;
}

void client_window_begin(struct level_run *lr, struct client_window *cw, uint64_t now)
{
	cw->schedstat = level_thread_sched(&cw->run0, &cw->wait0);
	runner_pool_window(lr->pool, false);
	cw->t0 = now;
}

void client_window_end(struct level_run *lr, const struct client_window *cw)
{
	uint64_t run1, wait1, t1;

	if (!cw->t0)
		return;
	t1 = lb_now_ns();
	level_thread_sched(&run1, &wait1);
	runner_pool_window(lr->pool, true);
	lr->client_wall_s = (double)(t1 - cw->t0) / 1e9;
	lr->client_cpu_s = (double)(run1 - cw->run0) / 1e9;
	lr->client_runq_s = cw->schedstat ? (double)(wait1 - cw->wait0) / 1e9 : NAN;
}

int level_tick(struct level_run *lr, struct lb_error *err)
{
	if (!lr->store_rc)
		lr->store_rc = store_tick(lr->st, &lr->store_err);
	if (lr->store_rc) {
		*err = lr->store_err;
		return lr->store_rc;
	}
	level_progress(lr, false);
	return 0;
}

/* Run one level on an open backend; returns 0 or a store/harness error. */
int level_loop(struct level_run *lr, double value, bool rate_mode, struct lb_error *err)
{
	const struct wl_load *ld = &lr->wl->load;
	struct sched sc;
	uint64_t next_arrival, last_end = 0, drain_deadline = 0, stagger_end = 0;
	struct client_window cw = { 0 };
	bool drop = ld->overflow && !strcmp(ld->overflow, "drop");
	double gap_ms = ld->stagger_ms;
	int rc = 0;

	if (lr->sess) /* multi-turn sessions: their own schedule (runner_sessions.c) */
		return runner_sessions_loop(lr, value, rate_mode, err);
	lr->t_start = lb_now_ns();
	lr->t_last_progress = 0;
	lr->phase = LEVEL_WARMUP;
	phase_update(lr, lr->t_start);
	/* staggered start of a closed loop: stream k joins k * gap after the first (at most 1 s in
	 * all), so the level does not open with a burst the client itself queues */
	if (rate_mode || value <= 1)
		gap_ms = 0;
	if (gap_ms * (value - 1) > 1000)
		gap_ms = 1000 / (value - 1);
	/* gaps are drawn at rate 1 and divided by the (ramped) rate of the moment */
	sched_init(&sc, ld->arrival, 1, ld->burstiness, ld->seed + (uint64_t)value * 7919u);
	next_arrival = lr->t_start;
	if (rate_mode && ld->ramp_up_s > 0)
		next_arrival += (uint64_t)(sched_next_gap_s(&sc) / (value > 1 ? 1 : value) * 1e9);
	for (;;) {
		uint64_t now = lb_now_ns();
		int timeout_ms = 100;

		if (runner_stop && !drain_deadline)
			drain_deadline =
				now + (uint64_t)((lr->o->drain_s > 0 ? lr->o->drain_s : 2) * 1e9);
		if (drain_deadline && (now >= drain_deadline || runner_stop >= 2) && lr->inflight) {
			level_cancel_all(lr, &last_end);
			break;
		}
		if (phase_update(lr, now)) {
			/* the measured phase opens: its schedule starts now, with nothing in flight */
			next_arrival = now;
			last_end = 0;
			stagger_end = now + (uint64_t)(gap_ms * (value - 1) * 1e6);
		}
		if (lr->phase == LEVEL_MEASURE && !cw.t0 && now >= stagger_end)
			client_window_begin(lr, &cw, now); /* the client's own load, from here */
		if (rate_mode) {
			/* with workers, an arrival is handed over up to lead ahead of its time and the
			 * worker sends it on time: the runner's wake-up latency is not in the lag */
			uint64_t lead = lr->pool ? RUNNER_POOL_LEAD_NS : 0;

			while (can_submit(lr, now) && next_arrival <= now + lead) {
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
				next_arrival +=
					(uint64_t)((lr->trace
							    ? runner_trace_gap_s(lr->items,
										 lr->submitted - 1)
							    : sched_next_gap_s(&sc)) /
						   (r > 1e-3 ? r : 1e-3) * 1e9);
			}
			if (can_submit(lr, now) &&
			    !(ld->max_inflight > 0 && lr->inflight >= ld->max_inflight)) {
				uint64_t wait =
					next_arrival > now + lead ? next_arrival - now - lead : 0;

				timeout_ms = (int)(wait / 1000000u);
				if (timeout_ms > 100)
					timeout_ms = 100;
			}
		} else {
			long conc = (long)ceil(ramped(ld, value, lr->t_start, now));
			uint64_t t0 = lr->phase == LEVEL_MEASURE ? lr->t_measure : lr->t_start;

			if (conc < 1)
				conc = 1;
			if (gap_ms > 0 && (double)(now - t0) / 1e6 < gap_ms * (value - 1)) {
				long k = 1 + (long)((double)(now - t0) / 1e6 / gap_ms);

				if (k < conc)
					conc = k;
				timeout_ms = 0;
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
		if (!lr->inflight && !can_submit(lr, lb_now_ns())) {
			if (lr->phase != LEVEL_MEASURE)
				continue; /* warm-up over and drained: the measured phase opens next */
			break;
		}
		if (lr->pool) {
			/* the runner's thread only waits for finished requests or the next hand-over
			 * (lead ahead of an arrival: it need not wake on time, the worker sends) */
			uint64_t wait_ns = (uint64_t)timeout_ms * 1000000u;

			if (rate_mode && timeout_ms < 100) {
				uint64_t t = lb_now_ns() + RUNNER_POOL_LEAD_NS;

				wait_ns = next_arrival > t ? next_arrival - t : 0;
				if (!wait_ns)
					wait_ns = 1; /* block briefly rather than spin */
			} else if (!timeout_ms) {
				wait_ns = 100000u; /* the stagger: the next stream within 0.1 ms */
			}
			rc = runner_pool_wait(lr->pool, wait_ns, &lr->done, err);
		} else {
			/* Open loops spin on poll(0) in the last millisecond before an arrival: measured
			 * here, sleeping with a sub-millisecond timeout (epoll_pwait2) instead cut the
			 * harness's CPU by half but raised p99 lag at 1k req/s from 0.2 to 0.6-0.8 ms
			 * (wake-up latency), so the spin stays (docs/performance.md). */
			if (lr->cancel_on && timeout_ms > 5)
				timeout_ms = 5; /* abandon on time within about 5 ms */
			rc = lr->b->ops->poll(lr->b, lr->inflight ? timeout_ms : 0, err);
			if (rc >= 0 && lr->cancel_on)
				level_cancel_due(lr);
			if (!lr->inflight && timeout_ms > 0)
				lb_sleep_until_ns(lb_now_ns() +
						  (uint64_t)timeout_ms * 1000000u / 2);
		}
		if (rc < 0)
			goto out;
		rc = 0;
		if (!rate_mode && lr->done) {
			/* closed loop: the next request is due when the previous one ended */
			uint64_t le = 0;

			level_reap(lr, &le);
			last_end = le;
		} else {
			level_reap(lr, &last_end);
		}
		if ((rc = level_tick(lr, err)))
			goto out;
	}
out:
	client_window_end(lr, &cw);
	level_progress(lr, true);
	return rc;
}

void level_cancel_inflight(struct level_run *lr)
{
	uint64_t le = 0;

	if (lr->inflight && lr->b->ops)
		level_cancel_all(lr, &le);
}

void level_slots_free(struct level_run *lr)
{
	slots_free(lr->free_slots);
	lr->free_slots = NULL;
}
