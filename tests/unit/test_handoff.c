/* test_handoff.c: the lock-free hand-off of the runner's workers (base/handoff.h): order kept,
 * nothing lost or doubled, payload written before a push seen after the take, and the sleep /
 * wake protocol never losing a wake-up, with a producer and a consumer thread (and a two-way
 * ping-pong as the runner and a worker use it). Run under TSan by the tsan suite:
 * make BUILD=build-tsan SANITIZE=thread build-tsan/tests/test_handoff */
#include "../../base/handoff.h"

#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#ifdef LB_SANITIZE
#define N_ITEMS 20000
#else
#define N_ITEMS 200000
#endif

struct item {
	struct lb_hnode node; /* first: the node is the item */
	long seq;
	long payload[4];
};

struct pc {
	struct lb_handoff h;
	int efd;
	struct item *items;
	long n;
	long wakes;
};

static void signal_fd(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static void wait_fd(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint64_t v;

	/* a lost wake-up shows as this timeout: the test would then fail on time, not hang */
	assert_true(poll(&p, 1, 10000) == 1);
	assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
}

static void *producer(void *arg)
{
	struct pc *pc = arg;
	long i;

	for (i = 0; i < pc->n; i++) {
		struct item *it = &pc->items[i];

		it->seq = i;
		it->payload[0] = i * 3;
		it->payload[3] = i * 7;
		lb_handoff_push(&pc->h, &it->node);
		if (lb_handoff_wake_needed(&pc->h)) {
			pc->wakes++;
			signal_fd(pc->efd);
		}
		if (i % 1024 == 0)
			usleep(50); /* let the consumer fall asleep now and then */
	}
	return NULL;
}

static void test_order_and_payload(void **state)
{
	struct pc pc = { .n = N_ITEMS };
	pthread_t th;
	long next = 0, sleeps = 0;

	(void)state;
	lb_handoff_init(&pc.h);
	pc.efd = eventfd(0, EFD_CLOEXEC);
	assert_true(pc.efd >= 0);
	pc.items = calloc((size_t)pc.n, sizeof(*pc.items));
	assert_non_null(pc.items);
	assert_null(lb_handoff_take(&pc.h));
	assert_int_equal(pthread_create(&th, NULL, producer, &pc), 0);
	while (next < pc.n) {
		struct lb_hnode *n = lb_handoff_take(&pc.h);

		if (!n) {
			if (lb_handoff_sleep(&pc.h)) {
				sleeps++;
				wait_fd(pc.efd);
				lb_handoff_awake(&pc.h);
			}
			continue;
		}
		for (; n; n = n->next) {
			struct item *it = (struct item *)n;

			assert_int_equal(it->seq, next); /* oldest first, none lost or doubled */
			assert_int_equal(it->payload[0], next * 3);
			assert_int_equal(it->payload[3], next * 7);
			next++;
		}
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_null(lb_handoff_take(&pc.h));
	assert_int_equal(next, pc.n);
	/* the consumer slept at times and was woken each time (else wait_fd failed); a signal may
	 * also reach a consumer that saw the node and did not sleep (the next wait then returns at
	 * once), so wakes and sleeps need not be equal */
	assert_true(sleeps > 0);
	assert_true(pc.wakes > 0);
	close(pc.efd);
	free(pc.items);
}

/* Two hand-offs, as the runner (sends requests) and a worker (returns them finished) use them:
 * a fixed set of items goes round and round; every item is owned by one side at a time. */
struct pp {
	struct lb_handoff to_w, to_m;
	int efd_w, efd_m;
	long rounds;
};

static void *worker(void *arg)
{
	struct pp *pp = arg;
	long seen = 0;

	while (seen < pp->rounds) {
		struct lb_hnode *n = lb_handoff_take(&pp->to_w), *next;

		if (!n) {
			if (lb_handoff_sleep(&pp->to_w)) {
				wait_fd(pp->efd_w);
				lb_handoff_awake(&pp->to_w);
			}
			continue;
		}
		for (; n; n = next) {
			struct item *it = (struct item *)n;

			next = n->next;
			it->payload[1]++; /* the worker's write, read by the runner */
			seen++;
			lb_handoff_push(&pp->to_m, n);
		}
		if (lb_handoff_wake_needed(&pp->to_m))
			signal_fd(pp->efd_m);
	}
	return NULL;
}

static void test_ping_pong(void **state)
{
	struct item items[64];
	struct pp pp = { .rounds = N_ITEMS };
	pthread_t th;
	long sent = 0, back = 0, sum = 0;
	size_t i;

	(void)state;
	memset(items, 0, sizeof(items));
	lb_handoff_init(&pp.to_w);
	lb_handoff_init(&pp.to_m);
	pp.efd_w = eventfd(0, EFD_CLOEXEC);
	pp.efd_m = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(pthread_create(&th, NULL, worker, &pp), 0);
	for (i = 0; i < 64; i++, sent++)
		lb_handoff_push(&pp.to_w, &items[i].node);
	if (lb_handoff_wake_needed(&pp.to_w))
		signal_fd(pp.efd_w);
	while (back < pp.rounds) {
		struct lb_hnode *n = lb_handoff_take(&pp.to_m), *next;
		bool pushed = false;

		if (!n) {
			if (lb_handoff_sleep(&pp.to_m)) {
				wait_fd(pp.efd_m);
				lb_handoff_awake(&pp.to_m);
			}
			continue;
		}
		for (; n; n = next) {
			next = n->next;
			back++;
			((struct item *)n)->payload[2]++; /* the runner's write */
			if (sent < pp.rounds) {
				lb_handoff_push(&pp.to_w, n);
				sent++;
				pushed = true;
			}
		}
		if (pushed && lb_handoff_wake_needed(&pp.to_w))
			signal_fd(pp.efd_w);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	for (i = 0; i < 64; i++) {
		assert_int_equal(items[i].payload[1], items[i].payload[2]);
		sum += items[i].payload[1];
	}
	assert_int_equal(sum, pp.rounds);
	close(pp.efd_w);
	close(pp.efd_m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_payload),
		cmocka_unit_test(test_ping_pong),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
