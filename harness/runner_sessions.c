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
#include "../metrics/sessions_fig.h"
#include "../metrics/stats.h"
#include "../metrics/store_sessions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct runner_sessions {
	const struct lb_sessions *convs;
	bool chat;
	struct user *active;
	long n_active;
	long started, target; /* target: sessions to start, warm-up included; -1: duration bound */
	long warmup;
	struct sess_figs fig; /* measured sessions (fig.peak: most in flight at a start) */
	bool oom;
	struct level_run *lr;      /* where session_ends rows go */
	struct lb_error store_err; /* the first failed write of one (told at the level's end) */
};

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
	struct sess_span *span; /* every stored session's, for the peak */
	size_t n_span, cap_span;
	bool oom;
};

static int64_t col_i64(const struct store_row *row, int i)
{
	return row->text[i] ? strtoll(row->text[i], NULL, 10) : 0;
}

static int on_stored_end(void *ctx, const struct store_row *row)
{
	struct preload *p = ctx;
	struct runner_sessions *ss = p->ss;
	long sid = (long)col_i64(row, 0);
	bool measured = !col_i64(row, 1);
	uint64_t start = (uint64_t)col_i64(row, 4), first = (uint64_t)col_i64(row, 5);
	uint64_t end = (uint64_t)col_i64(row, 6);

	if (sid > ss->started)
		ss->started = sid;
	if (LB_ALLOC_GROW(p->span, p->n_span + 1, p->cap_span)) {
		p->oom = true;
		return 1;
	}
	p->span[p->n_span++] = (struct sess_span){ start ? start : first, end, measured };
	if (!measured) /* warm-up: in no figure */
		return 0;
	ss->fig.started++;
	sess_figs_end(&ss->fig, sess_outcome_parse(row->text[2]), (long)col_i64(row, 3), first,
		      end);
	return 0;
}

static int on_stored_turn(void *ctx, const struct store_row *row)
{
	struct runner_sessions *ss = ((struct preload *)ctx)->ss;

	if (col_i64(row, 2) || !col_i64(row, 3) || !row->text[4])
		return 0; /* warm-up, failed, or no token */
	sess_figs_turn(&ss->fig, (long)col_i64(row, 1), strtod(row->text[4], NULL),
		       row->text[5] ? strtod(row->text[5], NULL) : -1);
	return 0;
}

/* A resumed level goes on from its stored sessions: their numbers (new sessions take the
 * next ones, and the next conversations), counts, durations, turns' figures and the peak in
 * flight (from their spans: the two windows never overlap). */
static int sessions_preload(struct runner_sessions *ss, struct level_run *lr, struct lb_error *err)
{
	struct preload p = { ss, NULL, 0, 0, false };
	int rc = store_level_session_ends(lr->st, lr->run_id, lr->level_id, on_stored_end, &p, err);

	if (!rc && !p.oom)
		rc = store_level_session_turns(lr->st, lr->run_id, lr->level_id, on_stored_turn, &p,
					       err);
	if (!rc && (p.oom || ss->fig.oom || sess_peak(p.span, p.n_span, &ss->fig.peak)))
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory resuming a level's sessions");
	if (!rc)
		runner_say(lr->o,
			   "resuming: %ld sessions stored before the interruption, %ld of them "
			   "measured; the next is session %ld",
			   ss->started, ss->fig.started, ss->started + 1);
	lb_free(p.span);
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

static void end_session(struct runner_sessions *ss, struct user *u, enum sess_outcome how,
			uint64_t t_end)
{
	struct store_session_end e = { .session = u->sid,
				       .conv = u->cv->id,
				       .warmup = u->warmup,
				       .outcome = sess_outcome_name[how],
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
	if (!u->warmup)
		sess_figs_end(&ss->fig, how, (long)u->ok_turns, u->t_first_send, e.t_end_ns);
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
		ss->fig.started++;
	u->next = ss->active;
	ss->active = u;
	if (++ss->n_active > ss->fig.peak && !u->warmup)
		ss->fig.peak = ss->n_active;
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
	if (!u->warmup && reqrec_ok(r))
		sess_figs_turn(&ss->fig, (long)u->turn, reqrec_ttft_ms(r), (double)r->n_in);
	if (!reqrec_ok(r)) {
		end_session(ss, u, SESS_FAILED, r->t_end_ns);
		return rc;
	}
	u->ok_turns++;
	if (u->turn >= u->cv->n_turns) {
		end_session(ss, u, SESS_COMPLETED, r->t_end_ns);
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
				end_session(ss, u, SESS_CUT,
					    0); /* stopped while the user was thinking */
			else if (u->ready_ns <= now && (rc = send_turn(lr, u, u->ready_ns, err)))
				goto out;
			else if (u->ready_ns > now)
				min_timeout(&timeout_ms, u->ready_ns, now);
		}
		if (ss->oom || ss->fig.oom) {
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

struct put_ctx {
	struct run_state *rs;
	struct level_run *lr;
	struct lb_error *err;
};

static int put_fig(void *ctx, const char *metric, bool has, double v, const char *unit,
		   const char *note)
{
	struct put_ctx *c = ctx;

	return runner_put(c->rs, c->lr->backend_id, c->lr->level_id, metric, has, v, unit,
			  "harness", note, c->err);
}

static void sessions_free_level(struct level_run *lr)
{
	struct runner_sessions *ss = lr->sess;

	while (ss->active)
		end_session(ss, ss->active, SESS_CUT, 0);
	sess_figs_release(&ss->fig);
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
	struct sess_figs *f;
	struct put_ctx pc = { rs, lr, err };
	size_t k;
	int rc;

	if (!ss)
		return 0;
	while (ss->active) /* an interrupted level: what was left */
		end_session(ss, ss->active, SESS_CUT, 0);
	if (ss->store_err.code) {
		*err = ss->store_err;
		sessions_free_level(lr);
		return err->code;
	}
	f = &ss->fig;
	rc = sess_figs_emit(f, NULL, put_fig, &pc);
	if (!rc) {
		runner_say(rs->o,
			   "%s: sessions %ld started, %ld completed, %ld failed, %ld cut; "
			   "peak %ld in flight",
			   lr->label, f->started, f->completed, f->failed, f->cut, f->peak);
		for (k = 0; k < sess_figs_turns(f); k++) {
			struct dvec *d = &f->ttft[k];

			runner_say(rs->o, "  turn %2zu: %5zu ok, TTFT p50 %8.2f ms, p99 %8.2f ms",
				   k + 1, d->n, stats_percentile_sorted(d->v, d->n, 50),
				   stats_percentile_sorted(d->v, d->n, 99));
		}
	}
	sessions_free_level(lr);
	return rc;
}
