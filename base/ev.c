/* ev.c: the event loop of ev.h: epoll for descriptors, a min-heap of timers behind one timerfd
 * (armed with an absolute CLOCK_MONOTONIC time, so a due token leaves at its time and not a
 * millisecond rounding later), and an eventfd for lb_ev_stop(). */
#include "ev.h"

#include "alloc.h"
#include "clock.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define EV_MAX_EVENTS 512

_Static_assert(LB_EV_READ == EPOLLIN && LB_EV_WRITE == EPOLLOUT && LB_EV_RDHUP == EPOLLRDHUP &&
		       LB_EV_EDGE == (uint32_t)EPOLLET,
	       "ev.h's event bits are epoll's");

struct lb_ev {
	int ep_fd, timer_fd, stop_fd;
	struct lb_ev_io timer_io, stop_io;
	atomic_int stop; /* set by lb_ev_stop from a signal handler or another thread (lock-free) */
	struct lb_ev_timer **heap;
	size_t heap_len, heap_cap;
	uint64_t armed; /* the due time the timerfd is set to, 0: none */
	lb_ev_before_fn before;
	lb_ev_after_fn after;
	void *hook_arg;
};

/* The timer heap, min on due */

static void heap_set(struct lb_ev *ev, size_t i, struct lb_ev_timer *t)
{
	ev->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct lb_ev *ev, size_t i)
{
	struct lb_ev_timer *t = ev->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (t->due >= ev->heap[p]->due)
			break;
		heap_set(ev, i, ev->heap[p]);
		i = p;
	}
	heap_set(ev, i, t);
}

static void heap_down(struct lb_ev *ev, size_t i)
{
	struct lb_ev_timer *t = ev->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct lb_ev_timer *best = t;

		if (l < ev->heap_len && ev->heap[l]->due < best->due)
			best = ev->heap[m = l];
		if (l + 1 < ev->heap_len && ev->heap[l + 1]->due < best->due)
			best = ev->heap[m = l + 1];
		if (m == i)
			break;
		heap_set(ev, i, best);
		i = m;
	}
	heap_set(ev, i, t);
}

void lb_ev_timer_init(struct lb_ev_timer *t, lb_ev_timer_fn fn, void *arg)
{
	t->due = 0;
	t->heap_idx = SIZE_MAX;
	t->fn = fn;
	t->arg = arg;
}

void lb_ev_timer_cancel(struct lb_ev *ev, struct lb_ev_timer *t)
{
	size_t i = t->heap_idx;
	struct lb_ev_timer *last;

	if (i == SIZE_MAX)
		return;
	t->heap_idx = SIZE_MAX;
	last = ev->heap[--ev->heap_len];
	if (i == ev->heap_len)
		return;
	heap_set(ev, i, last);
	heap_up(ev, i);
	heap_down(ev, last->heap_idx);
}

int lb_ev_timer_set(struct lb_ev *ev, struct lb_ev_timer *t, uint64_t due)
{
	if (t->heap_idx != SIZE_MAX) {
		t->due = due;
		heap_up(ev, t->heap_idx);
		heap_down(ev, t->heap_idx);
		return 0;
	}
	if (ev->heap_len == ev->heap_cap) {
		size_t ncap = ev->heap_cap ? ev->heap_cap * 2 : 1024;
		struct lb_ev_timer **nh = lb_realloc(ev->heap, ncap * sizeof(*nh));

		if (!nh)
			return -1;
		ev->heap = nh;
		ev->heap_cap = ncap;
	}
	t->due = due;
	ev->heap[ev->heap_len] = t;
	t->heap_idx = ev->heap_len++;
	heap_up(ev, t->heap_idx);
	return 0;
}

static void timer_arm(struct lb_ev *ev)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	uint64_t due;

	if (!ev->heap_len || ev->heap[0]->due == ev->armed)
		return;
	due = ev->heap[0]->due;
	if (!due)
		due = 1;
	its.it_value.tv_sec = (time_t)(due / 1000000000u);
	its.it_value.tv_nsec = (long)(due % 1000000000u);
	if (!timerfd_settime(ev->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		ev->armed = ev->heap[0]->due;
}

static void run_timers(struct lb_ev *ev, uint64_t now)
{
	while (ev->heap_len && ev->heap[0]->due <= now) {
		struct lb_ev_timer *t = ev->heap[0];

		lb_ev_timer_cancel(ev, t);
		t->fn(ev, t);
	}
}

/* Descriptors */

int lb_ev_io_add(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = io };

	return epoll_ctl(ev->ep_fd, EPOLL_CTL_ADD, io->fd, &e) ? -1 : 0;
}

int lb_ev_io_mod(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = io };

	return epoll_ctl(ev->ep_fd, EPOLL_CTL_MOD, io->fd, &e) ? -1 : 0;
}

void lb_ev_io_del(struct lb_ev *ev, struct lb_ev_io *io)
{
	struct epoll_event e = { 0 };

	epoll_ctl(ev->ep_fd, EPOLL_CTL_DEL, io->fd, &e);
}

static void on_timerfd(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events)
{
	uint64_t ticks;
	ssize_t r = read(io->fd, &ticks, sizeof(ticks));

	(void)r;
	(void)events;
	ev->armed = 0;
}

static void on_stopfd(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events)
{
	(void)io;
	(void)events;
	ev->stop = 1;
}

/* The loop */

int lb_ev_open(struct lb_ev **out, struct lb_error *err)
{
	struct lb_ev *ev = lb_calloc(1, sizeof(*ev));

	*out = NULL;
	if (!ev)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	ev->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	ev->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev->timer_io = (struct lb_ev_io){ ev->timer_fd, on_timerfd, NULL };
	ev->stop_io = (struct lb_ev_io){ ev->stop_fd, on_stopfd, NULL };
	if (ev->ep_fd < 0 || ev->timer_fd < 0 || ev->stop_fd < 0 ||
	    lb_ev_io_add(ev, &ev->timer_io, LB_EV_READ) ||
	    lb_ev_io_add(ev, &ev->stop_io, LB_EV_READ)) {
		int rc = lb_error_set(err, LB_ERR_IO, "cannot set up the event loop: %s",
				      strerror(errno));

		lb_ev_close(ev);
		return rc;
	}
	*out = ev;
	return 0;
}

void lb_ev_close(struct lb_ev *ev)
{
	if (!ev)
		return;
	if (ev->ep_fd >= 0)
		close(ev->ep_fd);
	if (ev->timer_fd >= 0)
		close(ev->timer_fd);
	if (ev->stop_fd >= 0)
		close(ev->stop_fd);
	lb_free(ev->heap);
	lb_free(ev);
}

void lb_ev_hooks(struct lb_ev *ev, lb_ev_before_fn before, lb_ev_after_fn after, void *arg)
{
	ev->before = before;
	ev->after = after;
	ev->hook_arg = arg;
}

void lb_ev_stop(struct lb_ev *ev)
{
	uint64_t one = 1;
	ssize_t n;

	ev->stop = 1;
	n = write(ev->stop_fd, &one, sizeof(one));
	(void)n;
}

int lb_ev_stopped(const struct lb_ev *ev)
{
	return ev->stop != 0;
}

int lb_ev_run(struct lb_ev *ev, struct lb_error *err)
{
	struct epoll_event evs[EV_MAX_EVENTS];

	while (!ev->stop) {
		uint64_t now = lb_now_ns(), wake = UINT64_MAX;
		int n, i, timeout;

		run_timers(ev, now);
		now = lb_now_ns();
		if (ev->before)
			wake = ev->before(ev, now, ev->hook_arg);
		if (ev->stop)
			break;
		timer_arm(ev);
		if (wake == UINT64_MAX)
			timeout = -1;
		else if (wake <= now)
			timeout = 0;
		else
			timeout = (int)((wake - now + 999999) / 1000000);
		n = epoll_wait(ev->ep_fd, evs, EV_MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return lb_error_set(err, LB_ERR_IO, "epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			struct lb_ev_io *io = evs[i].data.ptr;

			io->fn(ev, io, evs[i].events);
		}
		if (ev->after)
			ev->after(ev, ev->hook_arg);
	}
	return 0;
}
