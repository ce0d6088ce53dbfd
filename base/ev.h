/* ev.h: a small event loop with registered callbacks (in the spirit of redis's ae.c).
 *
 * One epoll instance for descriptors, one timerfd armed at the earliest due time of a min-heap
 * of timers (absolute CLOCK_MONOTONIC ns, as lb_now_ns()), and an eventfd that lb_ev_stop()
 * writes, so a signal handler can end the loop. Descriptor and timer records are intrusive:
 * the caller embeds a struct lb_ev_io / struct lb_ev_timer in its own object and the loop
 * never allocates per descriptor; timers only grow the heap's array. Single-threaded: every
 * call but lb_ev_stop() is from the loop's thread. Nothing here prints. */
#ifndef LB_EV_H
#define LB_EV_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

struct lb_ev;
struct lb_ev_io;
struct lb_ev_timer;

/* events: the epoll bits that fired (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP). */
typedef void (*lb_ev_io_fn)(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events);
/* The timer is already out of the heap when its callback runs; it may set itself again. */
typedef void (*lb_ev_timer_fn)(struct lb_ev *ev, struct lb_ev_timer *t);
/* Before each wait: do periodic work and return the latest time (ns) the loop may sleep to,
 * UINT64_MAX for no limit. May call lb_ev_stop(). */
typedef uint64_t (*lb_ev_before_fn)(struct lb_ev *ev, uint64_t now, void *arg);
/* After each batch of events, e.g. to free objects closed while the batch ran. */
typedef void (*lb_ev_after_fn)(struct lb_ev *ev, void *arg);

struct lb_ev_io {
	int fd;
	lb_ev_io_fn fn;
	void *arg;
};

struct lb_ev_timer {
	uint64_t due;
	size_t heap_idx; /* SIZE_MAX: not pending; lb_ev_timer_init sets it */
	lb_ev_timer_fn fn;
	void *arg;
};

/* Event bits for lb_ev_io_add/mod. */
#define LB_EV_READ 0x1u
#define LB_EV_WRITE 0x4u       /* EPOLLOUT */
#define LB_EV_RDHUP 0x2000u    /* EPOLLRDHUP */
#define LB_EV_EDGE 0x80000000u /* EPOLLET */

int lb_ev_open(struct lb_ev **out, struct lb_error *err);
/* Free the loop (the caller closes its own descriptors). NULL-safe. */
void lb_ev_close(struct lb_ev *ev);

void lb_ev_hooks(struct lb_ev *ev, lb_ev_before_fn before, lb_ev_after_fn after, void *arg);

/* Register io (fd, fn, arg filled by the caller) for events. 0, or -1 with errno. */
int lb_ev_io_add(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events);
int lb_ev_io_mod(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events);
/* Closing the descriptor removes it too; an event already fetched in the current batch may
 * still be delivered, so objects are freed in the after hook, not in a callback. */
void lb_ev_io_del(struct lb_ev *ev, struct lb_ev_io *io);

void lb_ev_timer_init(struct lb_ev_timer *t, lb_ev_timer_fn fn, void *arg);
/* (Re)schedule t at due. 0, or -1 when out of memory (t stays as it was). */
int lb_ev_timer_set(struct lb_ev *ev, struct lb_ev_timer *t, uint64_t due);
void lb_ev_timer_cancel(struct lb_ev *ev, struct lb_ev_timer *t);
static inline int lb_ev_timer_pending(const struct lb_ev_timer *t)
{
	return t->heap_idx != SIZE_MAX;
}

/* Run until lb_ev_stop(): due timers, the before hook, a wait, the batch's callbacks, the after
 * hook. 0, or LB_ERR_IO when epoll_wait fails (err says why). */
int lb_ev_run(struct lb_ev *ev, struct lb_error *err);
/* Ask lb_ev_run to return soon. Async-signal-safe. */
void lb_ev_stop(struct lb_ev *ev);
int lb_ev_stopped(const struct lb_ev *ev);

#endif
