/* runner_sessions.c: multi-turn sessions (docs/traffic.md#multi-turn-sessions). A session is
 * one conversation played by one user: turn k is sent think_ms after turn k-1's reply ended,
 * with the whole history: the system prompt, every earlier user turn and the replies the model
 * really gave (chat: messages; completions: the text concatenated, turns joined by a blank
 * line). The gpt turns of a ShareGPT file are never sent. A turn that fails or is cancelled ends
 * its session (its history would be incomplete).
 *
 * Mode "sessions": the level is the number of users; a user starts the next conversation when
 * its session ends (closed loop: sessions in flight, thinking ones included). Mode
 * "session_rate": sessions start on the open loop's schedule (arrival, rate = the level). */
#include "runner_sessions.h"

#include "sched.h"
#include "shard.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "../base/strbuf.h"
#include "../base/vec.h"
#include "../datasets/sessions.h"
#include "../metrics/stats.h"
#include "../metrics/store_sessions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TURN_FIGS 16 /* turns with figures of their own; later ones count in turn_later_* */

struct user {
	const struct lb_conv *cv;
	long conv_idx;
	long sid;           /* 1-based within the level */
	size_t turn;        /* turns sent (the one in flight included) */
	size_t ok_turns;    /* turns answered */
	struct strbuf hist; /* chat: a JSON array of messages; completions: the text */
	struct lb_item item;
	uint64_t ready_ns, t_first_send, t_start;
	bool flying, warmup;
	int worker; /* with workers: k + 1, every turn goes to worker k (0: not chosen yet) */
	struct user *next;
};

struct sdvec {
	double *v;
	size_t n, cap;
};

struct runner_sessions {
	const struct lb_sessions *convs;
	bool chat;
	struct user *active;
	long n_active, peak_active;
	long started, target; /* target: sessions to start, warm-up included; -1: duration bound */
	long warmup;
	/* measured sessions */
	long m_started, m_completed, m_failed, m_cut;
	struct sdvec dur_s, turns_done, ttft_later;
	struct sdvec ttft[TURN_FIGS], n_in[TURN_FIGS];
	bool oom;
	struct level_run *lr;      /* where session_ends rows go */
	struct lb_error store_err; /* the first failed write of one (told at the level's end) */
};

enum {
	END_COMPLETED,
	END_FAILED,
	END_CUT
};

static void dpush(struct runner_sessions *ss, struct sdvec *d, double x)
{
	if (!isfinite(x))
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		double *v = lb_realloc(d->v, cap * sizeof(*v));

		if (!v) {
			ss->oom = true;
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = x;
}

int runner_sessions_load(struct run_state *rs, struct lb_error *err)
{
	const struct workload *wl = rs->wl;
	int rc;

	if (!wl->load.sessions_mode)
		return 0;
	if (wl->dataset.shuffle)
		return lb_error_set(err, LB_ERR_USAGE,
				    "load.mode \"%s\" plays the conversations in their order: set "
				    "dataset.shuffle to false",
				    wl->load.mode);
	rs->convs = lb_calloc(1, sizeof(*rs->convs));
	if (!rs->convs)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	rc = sessions_load(wl->dataset.path, wl->dataset.limit, rs->convs, err);
	if (!rc && rs->o->shard) {
		size_t all = rs->convs->n;

		/* a split load: conversation i to shard i mod N (docs/scale-out.md) */
		shard_sessions(rs->convs, rs->o->shard);
		if (!rs->convs->n) {
			sessions_free(rs->convs);
			rc = lb_error_set(err, LB_ERR_USAGE,
					  "'%s' holds %zu conversations: a split load over %d "
					  "shards leaves shard %d none; use at most %zu shards",
					  wl->dataset.path, all, rs->o->shard->spec.n,
					  rs->o->shard->spec.k, all);
		}
	}
	if (rc) {
		lb_free(rs->convs);
		rs->convs = NULL;
	}
	return rc;
}

void runner_sessions_unload(struct run_state *rs)
{
	if (!rs->convs)
		return;
	sessions_free(rs->convs);
	lb_free(rs->convs);
	rs->convs = NULL;
}

/* ---- resume: the sessions stored before the interruption ------------------------------ */

struct preload {
	struct runner_sessions *ss;
	int64_t (*ev)[2]; /* measured sessions' (time, +1 start / -1 end), for the peak */
	size_t n_ev, cap_ev;
	bool oom;
};

static int64_t col_i64(const struct store_row *row, int i, bool *null)
{
	*null = !row->text[i];
	return row->text[i] ? strtoll(row->text[i], NULL, 10) : 0;
}

static void add_ev(struct preload *p, int64_t t, int64_t d)
{
	if (LB_ALLOC_GROW(p->ev, p->n_ev + 1, p->cap_ev)) {
		p->oom = true;
		return;
	}
	p->ev[p->n_ev][0] = t;
	p->ev[p->n_ev][1] = d;
	p->n_ev++;
}

static int on_stored_end(void *ctx, const struct store_row *row)
{
	struct preload *p = ctx;
	struct runner_sessions *ss = p->ss;
	const char *outcome = row->text[2] ? row->text[2] : "";
	bool n0, n1, n2, n3;
	long sid = (long)col_i64(row, 0, &n0);
	int64_t start = col_i64(row, 4, &n0), first = col_i64(row, 5, &n1);
	int64_t end = col_i64(row, 6, &n2);

	if (sid > ss->started)
		ss->started = sid;
	if (col_i64(row, 1, &n3)) /* warm-up: in no figure */
		return 0;
	ss->m_started++;
	if (!strcmp(outcome, "completed")) {
		ss->m_completed++;
		if (!n1 && !n2 && end > first)
			dpush(ss, &ss->dur_s, (double)(end - first) / 1e9);
	} else if (!strcmp(outcome, "failed")) {
		ss->m_failed++;
	} else {
		ss->m_cut++;
	}
	dpush(ss, &ss->turns_done, (double)col_i64(row, 3, &n3));
	if (n0)
		start = first;
	if ((!n0 || !n1) && !n2 && end >= start) {
		add_ev(p, start, 1);
		add_ev(p, end, -1);
	}
	return 0;
}

static int on_stored_turn(void *ctx, const struct store_row *row)
{
	struct runner_sessions *ss = ((struct preload *)ctx)->ss;
	bool null;
	long turn = (long)col_i64(row, 1, &null);
	size_t k = turn >= 1 ? (size_t)turn - 1 : 0;

	if (col_i64(row, 2, &null) || !col_i64(row, 3, &null) || !row->text[4])
		return 0; /* warm-up, failed, or no token */
	if (k < TURN_FIGS) {
		dpush(ss, &ss->ttft[k], strtod(row->text[4], NULL));
		if (row->text[5])
			dpush(ss, &ss->n_in[k], strtod(row->text[5], NULL));
	}
	if (k >= 1)
		dpush(ss, &ss->ttft_later, strtod(row->text[4], NULL));
	return 0;
}

static int cmp_ev(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1]; /* an end before a start at the same time */
}

/* A resumed level goes on from its stored sessions: their numbers (new sessions take the
 * next ones, and the next conversations), counts, durations, turns' figures and the peak in
 * flight (from their spans: the two windows never overlap). */
static int sessions_preload(struct runner_sessions *ss, struct level_run *lr, struct lb_error *err)
{
	struct preload p = { ss, NULL, 0, 0, false };
	long n = 0, peak = 0;
	size_t i;
	int rc = store_level_session_ends(lr->st, lr->run_id, lr->level_id, on_stored_end, &p, err);

	if (!rc)
		rc = store_level_session_turns(lr->st, lr->run_id, lr->level_id, on_stored_turn, &p,
					       err);
	if (!rc && (p.oom || ss->oom))
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory resuming a level's sessions");
	if (!rc) {
		if (p.n_ev)
			qsort(p.ev, p.n_ev, sizeof(*p.ev), cmp_ev);
		for (i = 0; i < p.n_ev; i++)
			if ((n += (long)p.ev[i][1]) > peak)
				peak = n;
		ss->peak_active = peak;
		runner_say(lr->o,
			   "resuming: %ld sessions stored before the interruption, %ld of them "
			   "measured; the next is session %ld",
			   ss->started, ss->m_started, ss->started + 1);
	}
	lb_free(p.ev);
	return rc;
}

int runner_sessions_begin(struct run_state *rs, struct level_run *lr, struct lb_error *err)
{
	const struct wl_load *ld = &rs->wl->load;
	struct runner_sessions *ss;

	if (!rs->convs)
		return 0;
	ss = lb_calloc(1, sizeof(*ss));
	if (!ss)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	ss->convs = rs->convs;
	ss->chat = rs->cfg && rs->cfg->api && !strcmp(rs->cfg->api, "chat");
	ss->warmup = ld->warmup;
	ss->target = ld->sessions > 0     ? ld->warmup + ld->sessions
		     : ld->duration_s > 0 ? -1
					  : ld->warmup + (long)rs->convs->n;
	ss->lr = lr;
	lr->sess = ss;
	lr->total = -1;
	return lr->resumed ? sessions_preload(ss, lr, err) : 0;
}

/* The next turn's text appended to the history; item points into it. */
static int turn_prepare(struct runner_sessions *ss, struct user *u)
{
	const struct lb_conv *cv = u->cv;
	const char *text = cv->turns[u->turn].user;
	struct strbuf *h = &u->hist;
	int rc = 0;

	if (ss->chat) {
		if (!u->turn) {
			rc |= strbuf_addch(h, '[');
			if (cv->system) {
				rc |= strbuf_adds(h, "{\"role\":\"system\",\"content\":");
				rc |= strbuf_add_json_str(h, cv->system, strlen(cv->system));
				rc |= strbuf_adds(h, "},");
			}
		} else {
			rc |= strbuf_addch(h, ',');
		}
		rc |= strbuf_adds(h, "{\"role\":\"user\",\"content\":");
		rc |= strbuf_add_json_str(h, text, strlen(text));
		rc |= strbuf_adds(h, "}]"); /* the ']' goes when the reply comes */
	} else {
		if (!u->turn && cv->system)
			rc |= strbuf_adds(h, cv->system) || strbuf_adds(h, "\n\n");
		else if (u->turn)
			rc |= strbuf_adds(h, "\n\n");
		rc |= strbuf_adds(h, text);
	}
	if (rc)
		return -1;
	memset(&u->item, 0, sizeof(u->item));
	u->item.prompt = ss->chat ? (char *)text : h->buf;
	u->item.messages_json = ss->chat ? h->buf : NULL;
	u->item.max_tokens = cv->turns[u->turn].max_tokens;
	return 0;
}

static int send_turn(struct level_run *lr, struct user *u, uint64_t t_sched, struct lb_error *err)
{
	int rc;

	if (turn_prepare(lr->sess, u))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory for a session's history");
	u->turn++;
	u->flying = true;
	lr->pin_worker = u->worker; /* a session stays on one worker (runner_workers.c) */
	rc = level_submit(lr, &u->item, u->conv_idx, t_sched, u->warmup, u, err);
	u->worker = lr->last_worker + 1;
	lr->pin_worker = 0;
	if (!u->t_first_send)
		u->t_first_send = lb_now_ns();
	return rc;
}

static void end_session(struct runner_sessions *ss, struct user *u, int how, uint64_t t_end)
{
	static const char *const outcome[] = { "completed", "failed", "cut" };
	struct store_session_end e = { .session = u->sid,
				       .conv = u->cv->id,
				       .warmup = u->warmup,
				       .outcome = outcome[how],
				       .turns_ok = (long)u->ok_turns,
				       .t_start_ns = u->t_start,
				       .t_first_send_ns = u->t_first_send,
				       .t_end_ns = t_end ? t_end : lb_now_ns() };
	struct user **pp;

	if (ss->lr && !ss->store_err.code)
		store_session_end_add(ss->lr->st, ss->lr->run_id, ss->lr->level_id, &e,
				      &ss->store_err);

	for (pp = &ss->active; *pp && *pp != u; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = u->next;
	ss->n_active--;
	if (!u->warmup) {
		if (how == END_COMPLETED) {
			ss->m_completed++;
			if (t_end > u->t_first_send)
				dpush(ss, &ss->dur_s, (double)(t_end - u->t_first_send) / 1e9);
		} else if (how == END_FAILED) {
			ss->m_failed++;
		} else {
			ss->m_cut++;
		}
		dpush(ss, &ss->turns_done, (double)u->ok_turns);
	}
	strbuf_release(&u->hist);
	lb_free(u);
}

static int start_session(struct level_run *lr, uint64_t t_sched, struct lb_error *err)
{
	struct runner_sessions *ss = lr->sess;
	struct user *u = lb_calloc(1, sizeof(*u));

	if (!u)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory for a session");
	u->conv_idx = ss->started % (long)ss->convs->n;
	u->cv = &ss->convs->v[u->conv_idx];
	u->sid = ++ss->started;
	u->t_start = lb_now_ns();
	u->warmup = lr->phase != LEVEL_MEASURE;
	if (!u->warmup)
		ss->m_started++;
	u->next = ss->active;
	ss->active = u;
	if (++ss->n_active > ss->peak_active && !u->warmup)
		ss->peak_active = ss->n_active;
	return send_turn(lr, u, t_sched, err);
}

int runner_sessions_done(struct level_run *lr, const struct lb_reqrec *r, void *tag,
			 struct lb_error *err)
{
	struct runner_sessions *ss = lr->sess;
	struct user *u = tag;
	int rc;

	if (!u)
		return 0;
	rc = store_session_turn_add(lr->st, lr->run_id, lr->level_id, r->id, u->sid, u->cv->id,
				    (long)u->turn, err);
	u->flying = false;
	if (!u->warmup && reqrec_ok(r)) {
		size_t k = u->turn - 1;

		if (k < TURN_FIGS) {
			dpush(ss, &ss->ttft[k], reqrec_ttft_ms(r));
			if (r->n_in >= 0)
				dpush(ss, &ss->n_in[k], (double)r->n_in);
		}
		if (k >= 1)
			dpush(ss, &ss->ttft_later, reqrec_ttft_ms(r));
	}
	if (!reqrec_ok(r)) {
		end_session(ss, u, END_FAILED, r->t_end_ns);
		return rc;
	}
	u->ok_turns++;
	if (u->turn >= u->cv->n_turns) {
		end_session(ss, u, END_COMPLETED, r->t_end_ns);
		return rc;
	}
	/* the model's reply joins the history */
	if (ss->chat) {
		u->hist.buf[--u->hist.len] = 0; /* the ']' */
		if (strbuf_adds(&u->hist, ",{\"role\":\"assistant\",\"content\":") ||
		    strbuf_add_json_str(&u->hist, r->text.buf, r->text.len) ||
		    strbuf_addch(&u->hist, '}'))
			ss->oom = true;
	} else if (strbuf_add(&u->hist, r->text.buf, r->text.len)) {
		ss->oom = true;
	}
	u->ready_ns = r->t_end_ns + (uint64_t)(u->cv->turns[u->turn].think_ms * 1e6);
	return rc;
}

/* May a turn or a session still be sent (stop, duration, error bounds)? */
static bool may_send(const struct level_run *lr, uint64_t now)
{
	return !runner_stop && !level_bound_hit(lr, now);
}

static bool can_start(const struct level_run *lr, bool go)
{
	const struct runner_sessions *ss = lr->sess;

	if (!go || lr->phase == LEVEL_DRAIN)
		return false;
	if (lr->phase == LEVEL_WARMUP && ss->started >= ss->warmup)
		return false;
	return ss->target < 0 || ss->started < ss->target;
}

static void min_timeout(int *timeout_ms, uint64_t at, uint64_t now)
{
	uint64_t ms = at > now ? (at - now) / 1000000u : 0;

	if ((uint64_t)*timeout_ms > ms)
		*timeout_ms = (int)ms;
}

int runner_sessions_loop(struct level_run *lr, double value, bool rate_mode, struct lb_error *err)
{
	const struct wl_load *ld = &lr->wl->load;
	struct runner_sessions *ss = lr->sess;
	uint64_t next_arrival, last_end = 0, drain_deadline = 0;
	struct client_window cw = { 0 };
	struct sched sc;
	int rc = 0;

	lr->t_start = lb_now_ns();
	lr->t_last_progress = 0;
	lr->phase = ss->warmup > 0 ? LEVEL_WARMUP : LEVEL_MEASURE;
	lr->t_measure = lr->t_start;
	sched_init(&sc, ld->arrival ? ld->arrival : "poisson", 1, ld->burstiness,
		   ld->seed + (uint64_t)value * 7919u);
	next_arrival = lr->t_start;
	for (;;) {
		uint64_t now = lb_now_ns();
		int timeout_ms = 100;
		struct user *u, *nx;
		bool go;

		if (runner_stop && !drain_deadline)
			drain_deadline =
				now + (uint64_t)((lr->o->drain_s > 0 ? lr->o->drain_s : 2) * 1e9);
		if (drain_deadline && (now >= drain_deadline || runner_stop >= 2) && lr->inflight) {
			level_cancel_all(lr, &last_end);
			break;
		}
		if (lr->phase == LEVEL_WARMUP && (ss->started >= ss->warmup || runner_stop))
			lr->phase = LEVEL_DRAIN;
		if (lr->phase == LEVEL_DRAIN && !ss->n_active) {
			/* warm-up sessions over: the measured sessions start now */
			lr->phase = LEVEL_MEASURE;
			lr->t_measure = next_arrival = now;
		}
		if (lr->phase == LEVEL_MEASURE && !cw.t0)
			client_window_begin(lr, &cw, now);
		go = may_send(lr, now);
		if (rate_mode) {
			while (can_start(lr, go) && next_arrival <= now) {
				if ((rc = start_session(lr, next_arrival, err)))
					goto out;
				next_arrival += (uint64_t)(sched_next_gap_s(&sc) / value * 1e9);
			}
			if (can_start(lr, go))
				min_timeout(&timeout_ms, next_arrival, now);
		} else {
			while (ss->n_active < (long)value && can_start(lr, go))
				if ((rc = start_session(lr, last_end ? last_end : now, err)))
					goto out;
		}
		for (u = ss->active; u; u = nx) {
			nx = u->next;
			if (u->flying)
				continue;
			if (!go)
				end_session(ss, u, END_CUT,
					    0); /* stopped while the user was thinking */
			else if (u->ready_ns <= now && (rc = send_turn(lr, u, u->ready_ns, err)))
				goto out;
			else if (u->ready_ns > now)
				min_timeout(&timeout_ms, u->ready_ns, now);
		}
		if (ss->oom) {
			rc = lb_error_set(err, LB_ERR_NOMEM,
					  "out of memory for a session's history");
			goto out;
		}
		if (!ss->n_active && !can_start(lr, may_send(lr, lb_now_ns()))) {
			if (lr->phase != LEVEL_MEASURE)
				continue; /* warm-up over and drained: the measured sessions next */
			break;
		}
		if (lr->cancel_on && timeout_ms > 5)
			timeout_ms = 5; /* abandon on time within about 5 ms */
		if (lr->pool) {         /* the workers send; wait for what they hand back */
			rc = runner_pool_wait(lr->pool,
					      timeout_ms > 0 ? (uint64_t)timeout_ms * 1000000u
							     : 100000u,
					      &lr->done, err);
		} else {
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
		last_end = 0;
		level_reap(lr, &last_end);
		if ((rc = level_tick(lr, err)))
			goto out;
	}
out:
	client_window_end(lr, &cw);
	level_progress(lr, true);
	return rc;
}

/* ---- figures -------------------------------------------------------------------------------- */

static int put_n(struct run_state *rs, struct level_run *lr, const char *metric, double v,
		 const char *unit, struct lb_error *err)
{
	return runner_put(rs, lr->backend_id, lr->level_id, metric, true, v, unit, "harness", NULL,
			  err);
}

/* p50/p99 (or the mean) of d, or unavailable with why. */
static int put_stat(struct run_state *rs, struct level_run *lr, const char *metric, struct sdvec *d,
		    double p, const char *unit, const char *why, struct lb_error *err)
{
	double v = NAN;

	if (d->n) {
		struct lb_stats st;

		stats_compute(d->v, d->n, &st);
		v = p < 0 ? st.mean : stats_percentile_sorted(d->v, d->n, p);
	}
	return runner_put(rs, lr->backend_id, lr->level_id, metric, d->n > 0, v, unit, "harness",
			  d->n ? NULL : why, err);
}

static void sessions_free_level(struct level_run *lr)
{
	struct runner_sessions *ss = lr->sess;
	size_t k;

	while (ss->active)
		end_session(ss, ss->active, END_CUT, 0);
	for (k = 0; k < TURN_FIGS; k++) {
		lb_free(ss->ttft[k].v);
		lb_free(ss->n_in[k].v);
	}
	lb_free(ss->dur_s.v);
	lb_free(ss->turns_done.v);
	lb_free(ss->ttft_later.v);
	lb_free(ss);
	lr->sess = NULL;
}

void runner_sessions_abort(struct level_run *lr)
{
	if (lr->sess)
		sessions_free_level(lr);
}

int runner_sessions_end(struct run_state *rs, struct level_run *lr, struct lb_error *err)
{
	struct runner_sessions *ss = lr->sess;
	char name[64], why[96];
	size_t k, n_turns = 0;
	int rc = 0;

	if (!ss)
		return 0;
	while (ss->active) /* an interrupted level: what was left */
		end_session(ss, ss->active, END_CUT, 0);
	if (ss->store_err.code) {
		*err = ss->store_err;
		sessions_free_level(lr);
		return err->code;
	}
	for (k = 0; k < TURN_FIGS; k++)
		if (ss->ttft[k].n)
			n_turns = k + 1;
	rc = put_n(rs, lr, "sessions_started", (double)ss->m_started, "sessions", err);
	if (!rc)
		rc = put_n(rs, lr, "sessions_completed", (double)ss->m_completed, "sessions", err);
	if (!rc)
		rc = put_n(rs, lr, "sessions_failed", (double)ss->m_failed, "sessions", err);
	if (!rc)
		rc = put_n(rs, lr, "sessions_cut", (double)ss->m_cut, "sessions", err);
	if (!rc)
		rc = put_n(rs, lr, "sessions_inflight_peak", (double)ss->peak_active, "sessions",
			   err);
	if (!rc)
		rc = put_stat(rs, lr, "session_turns_mean", &ss->turns_done, -1, "turns",
			      "no measured session ended", err);
	if (!rc)
		rc = put_stat(rs, lr, "session_duration_mean_s", &ss->dur_s, -1, "s",
			      "no measured session completed", err);
	if (!rc)
		rc = put_stat(rs, lr, "session_duration_p50_s", &ss->dur_s, 50, "s",
			      "no measured session completed", err);
	if (!rc)
		rc = put_stat(rs, lr, "session_duration_p99_s", &ss->dur_s, 99, "s",
			      "no measured session completed", err);
	if (!rc)
		rc = put_stat(rs, lr, "turn_later_ttft_p50_ms", &ss->ttft_later, 50, "ms",
			      "no measured turn after the first answered", err);
	if (!rc)
		rc = put_stat(rs, lr, "turn_later_ttft_p99_ms", &ss->ttft_later, 99, "ms",
			      "no measured turn after the first answered", err);
	for (k = 0; k < n_turns && !rc; k++) {
		snprintf(why, sizeof(why), "no measured turn %zu answered", k + 1);
		snprintf(name, sizeof(name), "turn%zu_requests", k + 1);
		rc = put_n(rs, lr, name, (double)ss->ttft[k].n, "requests", err);
		snprintf(name, sizeof(name), "turn%zu_ttft_p50_ms", k + 1);
		if (!rc)
			rc = put_stat(rs, lr, name, &ss->ttft[k], 50, "ms", why, err);
		snprintf(name, sizeof(name), "turn%zu_ttft_p99_ms", k + 1);
		if (!rc)
			rc = put_stat(rs, lr, name, &ss->ttft[k], 99, "ms", why, err);
		snprintf(name, sizeof(name), "turn%zu_prompt_tokens_mean", k + 1);
		if (!rc)
			rc = put_stat(rs, lr, name, &ss->n_in[k], -1, "tokens",
				      "the backend reported no prompt token counts", err);
	}
	if (!rc) {
		runner_say(rs->o,
			   "%s: sessions %ld started, %ld completed, %ld failed, %ld cut; "
			   "peak %ld in flight",
			   lr->label, ss->m_started, ss->m_completed, ss->m_failed, ss->m_cut,
			   ss->peak_active);
		for (k = 0; k < n_turns; k++) {
			struct sdvec *d = &ss->ttft[k];

			runner_say(rs->o, "  turn %2zu: %5zu ok, TTFT p50 %8.2f ms, p99 %8.2f ms",
				   k + 1, d->n, stats_percentile_sorted(d->v, d->n, 50),
				   stats_percentile_sorted(d->v, d->n, 99));
		}
	}
	sessions_free_level(lr);
	return rc;
}
