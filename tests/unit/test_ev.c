/* test_ev.c: base/ev.c fires timers in due order and never early, cancels and reschedules them,
 * delivers descriptor events to their registered callback, and stops from a callback. */
#include "../../base/clock.h"
#include "../../base/ev.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

struct rec {
	int order[16];
	uint64_t late[16];
	int n;
	int stop_after;
};

struct tm {
	struct lb_ev_timer t;
	int id;
	struct rec *r;
};

static void on_tm(struct lb_ev *ev, struct lb_ev_timer *t)
{
	struct tm *m = t->arg;
	uint64_t now = lb_now_ns();

	assert_true(now >= t->due); /* never early */
	m->r->late[m->r->n] = now - t->due;
	m->r->order[m->r->n++] = m->id;
	if (m->r->n == m->r->stop_after)
		lb_ev_stop(ev);
}

static void timers_fire_in_due_order(void **state)
{
	struct lb_ev *ev;
	struct lb_error err = { 0 };
	struct rec r = { .stop_after = 4 };
	struct tm m[6];
	uint64_t t0 = lb_now_ns();
	static const int due_ms[6] = { 30, 10, 50, 20, 5, 40 };
	int i;

	(void)state;
	assert_int_equal(lb_ev_open(&ev, &err), 0);
	for (i = 0; i < 6; i++) {
		m[i].id = i;
		m[i].r = &r;
		lb_ev_timer_init(&m[i].t, on_tm, &m[i]);
		assert_int_equal(lb_ev_timer_set(ev, &m[i].t, t0 + (uint64_t)due_ms[i] * 1000000u), 0);
	}
	lb_ev_timer_cancel(ev, &m[4].t);  /* 5 ms: never fires */
	assert_false(lb_ev_timer_pending(&m[4].t));
	lb_ev_timer_set(ev, &m[2].t, t0 + 1000000u); /* 50 ms -> 1 ms */
	assert_int_equal(lb_ev_run(ev, &err), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.order[0], 2);
	assert_int_equal(r.order[1], 1);
	assert_int_equal(r.order[2], 3);
	assert_int_equal(r.order[3], 0);
	assert_true(lb_ev_timer_pending(&m[5].t)); /* 40 ms: still waiting when stopped */
	lb_ev_close(ev);
}

struct pipe_rec {
	struct lb_ev_io io;
	int reads;
	char got;
};

static void on_pipe(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events)
{
	struct pipe_rec *p = io->arg;
	ssize_t n;

	assert_true(events & LB_EV_READ);
	n = read(io->fd, &p->got, 1);
	assert_int_equal(n, 1);
	p->reads++;
	lb_ev_stop(ev);
}

static void descriptor_events_reach_their_callback(void **state)
{
	struct lb_ev *ev;
	struct lb_error err = { 0 };
	struct pipe_rec p = { 0 };
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(lb_ev_open(&ev, &err), 0);
	p.io = (struct lb_ev_io){ fds[0], on_pipe, &p };
	assert_int_equal(lb_ev_io_add(ev, &p.io, LB_EV_READ), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(lb_ev_run(ev, &err), 0);
	assert_int_equal(p.reads, 1);
	assert_int_equal(p.got, 'x');
	lb_ev_io_del(ev, &p.io);
	lb_ev_close(ev);
	close(fds[0]);
	close(fds[1]);
}

static uint64_t before_stop(struct lb_ev *ev, uint64_t now, void *arg)
{
	int *calls = arg;

	(void)now;
	if (++*calls == 3)
		lb_ev_stop(ev);
	return 0; /* do not sleep */
}

static void before_hook_runs_each_turn_and_can_stop(void **state)
{
	struct lb_ev *ev;
	struct lb_error err = { 0 };
	int calls = 0;

	(void)state;
	assert_int_equal(lb_ev_open(&ev, &err), 0);
	lb_ev_hooks(ev, before_stop, NULL, &calls);
	assert_int_equal(lb_ev_run(ev, &err), 0);
	assert_int_equal(calls, 3);
	assert_true(lb_ev_stopped(ev));
	lb_ev_close(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_in_due_order),
		cmocka_unit_test(descriptor_events_reach_their_callback),
		cmocka_unit_test(before_hook_runs_each_turn_and_can_stop),
	};
	return cmocka_run_group_tests_name("ev", tests, NULL, NULL);
}
