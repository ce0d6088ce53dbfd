/* runner_workers.c: worker event loops (docs/performance.md "Workers"). N threads, each with
 * its own copy of the backend (its own epoll loop and libcurl multi handle), send the requests
 * the runner's thread hands them and hand them back finished.
 *
 * The runner's thread keeps everything that decides (runner_level.c): the one schedule of the
 * level (closed loop, open loop arrivals, trace timestamps), warm-up and phases, which worker
 * sends a request, and the store, which still commits as it goes. A worker only sends, reads
 * the response and fills the request's record. Slots go over in lock-free hand-offs
 * (base/handoff.h): one to each worker, one back from each; a sleeping side is woken by an
 * eventfd only when it sleeps. No lock is taken on the way of a request.
 *
 * A request stays on the worker it was handed to: a multi-turn session that hands each of its
 * turns to the same worker (runner_pool_submit with a fixed k) keeps its connection and order.
 *
 * Per worker, per level: requests, chunks (counted by the runner's thread as it reaps), and the
 * thread's CPU and run-queue wait from /proc/self/task/<tid>/schedstat over the measured window,
 * read by the runner's thread (no worker writes a figure). */
#include "runner_int.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "sched.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A level smaller than this per worker stays on fewer workers under "auto": a hand-off costs two
 * wake-ups that a light level does not win back (docs/performance.md "Workers"). */
#define AUTO_MIN_STREAMS 64
#define AUTO_MIN_RATE 2000.0
/* spin this long before a held arrival (the wake-up latency of a sleeping thread) */
#define WORKER_SPIN_NS 50000u

struct worker {
	struct runner_pool *p;
	int idx;
	pthread_t th;
	bool started;
	atomic_int tid; /* 0 until the thread runs */
	struct backend b;
	struct lb_handoff in;          /* slots to send (the runner's thread pushes) */
	int wake_fd;                   /* eventfd: wakes this worker */
	int timer_fd;                  /* timerfd: wakes it shortly before the next held arrival */
	uint64_t timer_at;             /* when timer_fd is armed for (0: not armed) */
	struct slot *flying;           /* this worker's requests in flight */
	struct slot *pend, *pend_tail; /* handed over ahead of their arrival time (open loop) */
	bool pushed;                   /* handed a slot back since the last wake check */
	atomic_int cancel;             /* cancel whatever is held */
	atomic_int quit;
	atomic_int failed; /* err holds a harness failure (read once failed is seen) */
	struct lb_error err;
	/* the runner's thread only */
	long inflight;
	long n_req, n_chunks;
	uint64_t run0, wait0, run1, wait1;
	bool have_sched;
};

struct runner_pool {
	int n;
	bool auto_n; /* load.workers "auto": a small level uses fewer */
	struct worker *w;
	struct lb_handoff *out; /* finished slots, one hand-off per worker */
	int main_fd;            /* eventfd: wakes the runner's thread */
	uint64_t t_win0, t_win1;
};

static void fd_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
		/* a full counter (2^64 - 2 signals) is the only way: the reader is awake */
	}
}

/* The runner's thread sleeps on main_fd when every out[] hand-off is empty. */
static void worker_wake_main(struct worker *w)
{
	if (!w->pushed)
		return;
	w->pushed = false;
	if (lb_handoff_wake_needed(&w->p->out[w->idx]))
		fd_signal(w->p->main_fd);
}

static void worker_unlink(struct worker *w, struct slot *s)
{
	if (s->fl_prev)
		s->fl_prev->fl_next = s->fl_next;
	else if (w->flying == s)
		w->flying = s->fl_next;
	if (s->fl_next)
		s->fl_next->fl_prev = s->fl_prev;
	s->fl_prev = s->fl_next = NULL;
}

/* The sink of a request sent by a worker: runs on that worker's thread. */
static void worker_sink(void *ctx, const struct lb_event *ev)
{
	struct slot *s = ctx;
	struct worker *w = &s->lr->pool->w[s->worker];

	if (s->rec.done)
		return;
	slot_record(s, ev);
	if (ev->kind == LB_EV_DONE || ev->kind == LB_EV_ERROR) {
		s->rec.done = true;
		worker_unlink(w, s);
		lb_handoff_push(&w->p->out[w->idx], &s->hand);
		w->pushed = true;
	}
}

/* End s without sending it (cancelled before it went out, or the harness failed). */
static void worker_end(struct worker *w, struct slot *s, enum lb_fail fail, const char *msg)
{
	struct lb_event ev;

	lb_event_init(&ev, LB_EV_ERROR, s->req.id, lb_now_ns());
	ev.fail = fail;
	ev.text = msg;
	ev.text_len = strlen(msg);
	(void)w;
	worker_sink(s, &ev);
}

static void worker_failed(struct worker *w, const struct lb_error *e)
{
	if (atomic_load(&w->failed))
		return;
	w->err = *e;
	atomic_store(&w->failed, 1);
}

static void worker_send(struct worker *w, struct slot *s)
{
	struct lb_error e = LB_ERROR_INIT;

	s->fl_prev = NULL;
	s->fl_next = w->flying;
	if (w->flying)
		w->flying->fl_prev = s;
	w->flying = s;
	if (atomic_load(&w->cancel)) {
		worker_end(w, s, LB_FAIL_CANCELLED, "cancelled by interrupt");
		return;
	}
	if (w->b.ops->submit(&w->b, &s->req, &e)) {
		worker_failed(w, &e);
		if (!s->rec.done)
			worker_end(w, s, LB_FAIL_BACKEND, e.msg);
		return;
	}
	slot_cancel_from_send(s); /* load.cancel: after_ms counts from the send */
}

/* Send the held requests whose arrival time has come; the time (ns) of the next, or 0. */
static uint64_t worker_send_due(struct worker *w)
{
	uint64_t now = lb_now_ns();

	while (w->pend) {
		struct slot *s = w->pend;

		if (s->rec.t_scheduled_ns > now && !atomic_load(&w->cancel)) {
			now = lb_now_ns();
			if (s->rec.t_scheduled_ns > now)
				return s->rec.t_scheduled_ns;
		}
		w->pend = s->next;
		if (!w->pend)
			w->pend_tail = NULL;
		worker_send(w, s);
	}
	return 0;
}

/* Take what the runner's thread handed over: sent now, or held to its arrival time. */
static void worker_take(struct worker *w)
{
	struct lb_hnode *n = lb_handoff_take(&w->in), *next;

	for (; n; n = next) {
		struct slot *s = (struct slot *)((char *)n - offsetof(struct slot, hand));

		next = n->next;
		s->next = NULL;
		if (w->pend_tail)
			w->pend_tail->next = s;
		else
			w->pend = s;
		w->pend_tail = s;
	}
}

/* load.cancel and interrupts: cancel this worker's requests whose time has come (or all). */
static void worker_cancel_due(struct worker *w, bool all)
{
	uint64_t now = lb_now_ns();
	struct slot *s, *n;

	for (s = w->flying; s; s = n) {
		n = s->fl_next;
		if (all) {
			w->b.ops->cancel(&w->b, &s->req);
			continue;
		}
		if (s->rec.done || !(s->want_cancel || (s->cancel_at_ns && now >= s->cancel_at_ns)))
			continue;
		s->want_cancel = false;
		s->cancel_at_ns = 0;
		s->cancel_at_tokens = 0;
		s->rec.abandoned = true;
		w->b.ops->cancel(&w->b, &s->req);
	}
}

/* Arm the timer for t (absolute, CLOCK_MONOTONIC as lb_now_ns); -1 when it cannot be. */
static int worker_timer(struct worker *w, uint64_t t)
{
	struct itimerspec its = { { 0, 0 },
				  { (time_t)(t / 1000000000u), (long)(t % 1000000000u) } };

	if (w->timer_fd < 0)
		return -1;
	if (w->timer_at == t)
		return 0; /* armed for t, in the future (the caller's check): not fired yet */
	if (timerfd_settime(w->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		return -1;
	w->timer_at = t;
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	atomic_store(&w->tid, (int)syscall(SYS_gettid));
	for (;;) {
		struct lb_error e = LB_ERROR_INIT;
		bool cancel = atomic_load(&w->cancel) != 0;
		int timeout_ms = 100, rc;
		uint64_t due;
		struct slot *s;

		worker_take(w);
		due = worker_send_due(w);
		if (cancel)
			worker_cancel_due(w, true);
		else
			for (s = w->flying; s; s = s->fl_next)
				if (s->cancel_at_ns || s->want_cancel) {
					worker_cancel_due(w, false);
					timeout_ms = 5; /* abandon on time within about 5 ms */
					break;
				}
		worker_wake_main(w);
		if (atomic_load(&w->quit) && !w->flying && !w->pend)
			break;
		if (due) {
			/* a timerfd in the backend's epoll set wakes the worker WORKER_SPIN_NS before
			 * the arrival (epoll_wait's own timeout is in milliseconds); it spins (poll(0))
			 * the rest, so the send is on time without spinning between arrivals */
			uint64_t now = lb_now_ns();

			if (due <= now + WORKER_SPIN_NS || worker_timer(w, due - WORKER_SPIN_NS))
				timeout_ms = 0;
		}
		if (timeout_ms && !lb_handoff_sleep(&w->in))
			timeout_ms = 0;
		rc = w->b.ops->poll(&w->b, timeout_ms, &e);
		if (timeout_ms)
			lb_handoff_awake(&w->in);
		if (rc < 0) {
			worker_failed(w, &e);
			worker_cancel_due(w, true);
		}
		worker_wake_main(w);
	}
	return NULL;
}

/* ---- the runner's side ------------------------------------------------------------------- */

static int affinity_cpus(void)
{
	cpu_set_t set;
	long n;

	if (!sched_getaffinity(0, sizeof(set), &set))
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static bool url_is_local(const char *url)
{
	const char *h = url ? strstr(url, "://") : NULL, *at, *slash;

	if (!h)
		return false;
	h += 3;
	at = strchr(h, '@');
	slash = strchr(h, '/');
	if (at && (!slash || at < slash))
		h = at + 1; /* user:password@ */
	return !strncmp(h, "127.", 4) || !strncmp(h, "localhost", 9) || !strncmp(h, "[::1]", 5);
}

int runner_workers_count(const struct workload *wl, const struct backend_config *cfg,
			 const struct backend *b, char *why, size_t len)
{
	int n = wl->load.workers, cpus;

	if (!b->ops || (b->ops->caps & BACKEND_CAP_INPROC) || !b->ops->set_wake_fd ||
	    !b->ops->cancel) {
		snprintf(why, len, "backend type %s runs on the harness's thread",
			 b->ops ? b->ops->type : "?");
		return 1;
	}
	if (n > 0) {
		snprintf(why, len, "load.workers");
		return n;
	}
	cpus = affinity_cpus();
	n = cpus;
	if (url_is_local(cfg->base_url)) {
		/* the server shares this machine: leave it a core (its need is not known) */
		n = cpus - 1;
		snprintf(why, len,
			 "auto: %d CPUs this process may use, less 1 for the server on "
			 "this host",
			 cpus);
	} else {
		snprintf(why, len, "auto: %d CPUs this process may use", cpus);
	}
	if (n > RUNNER_MAX_WORKERS)
		n = RUNNER_MAX_WORKERS;
	return n < 1 ? 1 : n;
}

int runner_pool_size(const struct runner_pool *p)
{
	return p ? p->n : 1;
}

int runner_pool_level_workers(const struct runner_pool *p, const struct workload *wl,
			      bool rate_mode, double value)
{
	int n;

	if (!p)
		return 1;
	if (!p->auto_n)
		return p->n;
	/* auto: each worker gets at least AUTO_MIN_STREAMS streams or AUTO_MIN_RATE req/s */
	n = (int)(rate_mode ? value / AUTO_MIN_RATE : value / AUTO_MIN_STREAMS);
	(void)wl;
	if (n > p->n)
		n = p->n;
	return n < 1 ? 1 : n;
}

void runner_pool_close(struct runner_pool *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];

		if (!w->started)
			continue;
		atomic_store(&w->quit, 1);
		atomic_store(&w->cancel, 1);
		fd_signal(w->wake_fd);
		pthread_join(w->th, NULL);
	}
	for (i = 0; i < p->n; i++) {
		backend_close(&p->w[i].b);
		if (p->w[i].wake_fd >= 0)
			close(p->w[i].wake_fd);
		if (p->w[i].timer_fd >= 0)
			close(p->w[i].timer_fd);
	}
	if (p->main_fd >= 0)
		close(p->main_fd);
	lb_free(p->out);
	lb_free(p->w);
	lb_free(p);
}

int runner_pool_open(struct runner_pool **out, int n, const struct backend_config *cfg,
		     struct lb_error *err)
{
	struct runner_pool *p = lb_calloc(1, sizeof(*p));
	sigset_t all, old;
	int i, rc = 0;

	*out = NULL;
	if (!p)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory for %d workers", n);
	p->n = n;
	p->main_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->w = lb_calloc((size_t)n, sizeof(*p->w));
	p->out = lb_calloc((size_t)n, sizeof(*p->out));
	if (!p->w || !p->out || p->main_fd < 0) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "cannot set up %d workers: %s", n,
				  p->main_fd < 0 ? strerror(errno) : "out of memory");
		if (!p->w)
			p->n = 0;
		goto fail;
	}
	for (i = 0; i < n; i++)
		p->w[i].wake_fd = p->w[i].timer_fd = -1;
	for (i = 0; i < n; i++) {
		struct worker *w = &p->w[i];

		w->p = p;
		w->idx = i;
		lb_handoff_init(&w->in);
		lb_handoff_init(&p->out[i]);
		w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (w->wake_fd < 0 || w->timer_fd < 0) {
			rc = lb_error_set(err, LB_ERR_IO, "eventfd: %s", strerror(errno));
			goto fail;
		}
		rc = backend_open(&w->b, cfg, err);
		if (!rc)
			rc = w->b.ops->set_wake_fd(&w->b, w->wake_fd, err);
		if (!rc)
			rc = w->b.ops->set_wake_fd(&w->b, w->timer_fd, err);
		if (rc) {
			lb_error_prefix(err, "worker %d", i);
			goto fail;
		}
	}
	/* signals go to the runner's thread (runner_stop), never to a worker */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < n; i++) {
		if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i])) {
			rc = lb_error_set(err, LB_ERR_IO, "cannot start worker %d", i);
			break;
		}
		p->w[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto fail;
	for (i = 0; i < n; i++)
		while (!atomic_load(&p->w[i].tid))
			lb_sleep_until_ns(lb_now_ns() + 100000u);
	*out = p;
	return 0;
fail:
	runner_pool_close(p);
	return rc;
}

void runner_pool_set_auto(struct runner_pool *p, bool on)
{
	if (p)
		p->auto_n = on;
}

int runner_pool_pick(const struct runner_pool *p, int n)
{
	int i, best = 0;

	for (i = 1; i < n && i < p->n; i++)
		if (p->w[i].inflight < p->w[best].inflight)
			best = i;
	return best;
}

void runner_pool_submit(struct runner_pool *p, int k, struct slot *s)
{
	struct worker *w = &p->w[k];

	s->worker = k;
	s->req.sink.fn = worker_sink;
	s->req.sink.ctx = s;
	w->inflight++;
	lb_handoff_push(&w->in, &s->hand);
	if (lb_handoff_wake_needed(&w->in))
		fd_signal(w->wake_fd);
}

static int collect(struct runner_pool *p, struct slot **done)
{
	int i, got = 0;

	for (i = 0; i < p->n; i++) {
		struct lb_hnode *n = lb_handoff_take(&p->out[i]), *next;

		for (; n; n = next) {
			struct slot *s = (struct slot *)((char *)n - offsetof(struct slot, hand));

			next = n->next;
			s->next = *done;
			*done = s;
			got++;
		}
	}
	return got;
}

static int pool_failed(struct runner_pool *p, struct lb_error *err)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (atomic_load(&p->w[i].failed)) {
			*err = p->w[i].err;
			lb_error_prefix(err, "worker %d", i);
			return err->code ? err->code : LB_ERR_BACKEND;
		}
	return 0;
}

int runner_pool_wait(struct runner_pool *p, uint64_t timeout_ns, struct slot **done,
		     struct lb_error *err)
{
	int i, rc;

	if (collect(p, done) || !timeout_ns)
		return pool_failed(p, err);
	for (i = 0; i < p->n; i++)
		if (!lb_handoff_sleep(&p->out[i]))
			break;
	if (i == p->n) {
		struct pollfd pf = { p->main_fd, POLLIN, 0 };
		struct timespec ts = { (time_t)(timeout_ns / 1000000000u),
				       (long)(timeout_ns % 1000000000u) };
		uint64_t v;

		rc = ppoll(&pf, 1, &ts, NULL);
		if (rc > 0 && read(p->main_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return lb_error_set(err, LB_ERR_IO, "workers' eventfd: %s",
					    strerror(errno));
	}
	for (i = 0; i < p->n; i++)
		lb_handoff_awake(&p->out[i]);
	collect(p, done);
	return pool_failed(p, err);
}

void runner_pool_account(struct runner_pool *p, const struct slot *s)
{
	struct worker *w;

	if (!p || s->worker < 0 || s->worker >= p->n)
		return;
	w = &p->w[s->worker];
	w->inflight--;
	w->n_req++;
	w->n_chunks += s->rec.n_chunks;
}

void runner_pool_cancel(struct runner_pool *p, bool on)
{
	int i;

	for (i = 0; i < p->n; i++) {
		atomic_store(&p->w[i].cancel, on);
		if (on)
			fd_signal(p->w[i].wake_fd);
	}
}

/* A worker thread's time on a CPU and waiting for one (ns), from the kernel's schedstat. */
static bool task_sched(int tid, uint64_t *run_ns, uint64_t *wait_ns)
{
	char path[64];
	FILE *f;
	unsigned long long run = 0, wait = 0;
	bool ok;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	f = fopen(path, "r");
	ok = f && fscanf(f, "%llu %llu", &run, &wait) == 2;
	if (f)
		fclose(f);
	*run_ns = run;
	*wait_ns = wait;
	return ok;
}

void runner_pool_level_begin(struct runner_pool *p)
{
	int i;

	for (i = 0; p && i < p->n; i++) {
		p->w[i].n_req = p->w[i].n_chunks = 0;
		p->w[i].have_sched = false;
	}
	if (p)
		p->t_win0 = p->t_win1 = 0;
}

void runner_pool_window(struct runner_pool *p, bool end)
{
	int i;

	if (!p)
		return;
	if (end && !p->t_win0)
		return;
	for (i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];
		int tid = atomic_load(&w->tid);

		if (end)
			w->have_sched = w->have_sched && task_sched(tid, &w->run1, &w->wait1);
		else
			w->have_sched = task_sched(tid, &w->run0, &w->wait0);
	}
	if (end)
		p->t_win1 = lb_now_ns();
	else
		p->t_win0 = lb_now_ns();
}

int runner_pool_figures(struct run_state *rs, struct level_run *lr, bool closed, bool *bound,
			char *reason, size_t len, struct lb_error *err)
{
	static const char prov[] = "/proc/self/task/<tid>/schedstat of the worker thread, "
				   "measured window after the stagger";
	struct runner_pool *p = lr->pool;
	int64_t b = lr->backend_id, l = lr->level_id;
	double wall = p->t_win1 > p->t_win0 ? (double)(p->t_win1 - p->t_win0) / 1e9 : 0;
	double worst = -1;
	char m[64];
	int i, rc;

	*bound = false;
	rc = runner_put(rs, b, l, "workers", true, lr->n_workers, "threads", "harness",
			"worker event loops that sent this level's requests", err);
	for (i = 0; !rc && i < lr->n_workers; i++) {
		struct worker *w = &p->w[i];
		bool have = w->have_sched && wall > 0;
		double cpu = have ? (double)(w->run1 - w->run0) / 1e9 : 0;
		double wq = have ? (double)(w->wait1 - w->wait0) / 1e9 : 0;
		double busy = have ? (cpu + wq) / wall : 0;
		const char *why = have ? NULL : "unavailable: no measured window or no schedstat";

		snprintf(m, sizeof(m), "worker_requests:%d", i);
		rc = runner_put(rs, b, l, m, true, (double)w->n_req, "requests", "harness",
				"every request of the level sent by this worker, warm-up included",
				err);
		snprintf(m, sizeof(m), "worker_chunks:%d", i);
		if (!rc)
			rc = runner_put(rs, b, l, m, true, (double)w->n_chunks, "chunks", "harness",
					"streamed chunks of those requests", err);
		snprintf(m, sizeof(m), "worker_cpu_s:%d", i);
		if (!rc)
			rc = runner_put(rs, b, l, m, have, cpu, "s", prov, why, err);
		snprintf(m, sizeof(m), "worker_runq_wait_s:%d", i);
		if (!rc)
			rc = runner_put(rs, b, l, m, have, wq, "s", prov, why, err);
		snprintf(m, sizeof(m), "worker_busy_pct:%d", i);
		if (!rc) /* a share of a window too short to judge is noise (over 100% at 3 ms) */
			rc = runner_put(
				rs, b, l, m, have && wall >= LEVEL_CLIENT_MIN_S, 100 * busy, "%",
				prov,
				have && wall < LEVEL_CLIENT_MIN_S
					? "unavailable: a measured window under 0.2 s is too "
					  "short to judge"
					: why,
				err);
		if (have && closed && wall >= LEVEL_CLIENT_MIN_S && busy >= LEVEL_CLIENT_BUSY &&
		    busy > worst) {
			worst = busy;
			*bound = true;
			snprintf(reason, len,
				 "client-bound: worker %d was busy %.0f%% of %.3f s (CPU %.3f s + "
				 "run-queue wait %.3f s; bound %.0f%%): the client set the pace",
				 i, 100 * busy, wall, cpu, wq, 100 * LEVEL_CLIENT_BUSY);
		}
	}
	return rc;
}
