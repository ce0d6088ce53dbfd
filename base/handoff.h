/* handoff.h: a lock-free hand-off of objects from one thread to another (the runner's workers).
 *
 * An intrusive list: the producer pushes one node at a time with a compare-and-swap on the
 * head; the consumer takes every node at once with an exchange and gets them back in the order
 * they were pushed. Unbounded (no capacity to run out of: a node is a field of the object
 * handed over), never blocks, no ABA hazard (nodes are only ever taken all together). The push
 * is a release and the take an acquire: whatever the producer wrote to an object before pushing
 * it is visible to the consumer once taken, so the object changes owner with no lock.
 *
 * Waking a consumer that sleeps: the consumer calls lb_handoff_sleep() before it blocks and
 * blocks only when that returns true; the producer calls lb_handoff_wake_needed() after its
 * pushes and signals the consumer (an eventfd write) when that returns true. Both are
 * sequentially consistent, so a push is either seen by the consumer's last check or the
 * producer sees the consumer asleep: no wake-up is lost, and none is sent to a busy consumer. */
#ifndef LB_HANDOFF_H
#define LB_HANDOFF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct lb_hnode {
	struct lb_hnode *next;
};

struct lb_handoff {
	_Atomic(struct lb_hnode *) head; /* last pushed first */
	atomic_int sleeping;             /* the consumer is (about to be) blocked */
};

static inline void lb_handoff_init(struct lb_handoff *h)
{
	atomic_init(&h->head, NULL);
	atomic_init(&h->sleeping, 0);
}

/* Producer: hand n over. */
static inline void lb_handoff_push(struct lb_handoff *h, struct lb_hnode *n)
{
	struct lb_hnode *old = atomic_load_explicit(&h->head, memory_order_relaxed);

	do
		n->next = old;
	while (!atomic_compare_exchange_weak_explicit(&h->head, &old, n, memory_order_seq_cst,
						      memory_order_relaxed));
}

/* Consumer: every node pushed so far, oldest first (NULL: none). */
static inline struct lb_hnode *lb_handoff_take(struct lb_handoff *h)
{
	struct lb_hnode *n, *prev = NULL, *next;

	if (!atomic_load_explicit(&h->head, memory_order_relaxed))
		return NULL;
	n = atomic_exchange_explicit(&h->head, NULL, memory_order_acquire);
	for (; n; n = next) { /* newest first: reverse */
		next = n->next;
		n->next = prev;
		prev = n;
	}
	return prev;
}

/* Consumer, before blocking: true when it may block (nothing is waiting); false when a node
 * is there (take it instead). A true must be followed by lb_handoff_awake() once it wakes. */
static inline bool lb_handoff_sleep(struct lb_handoff *h)
{
	atomic_store(&h->sleeping, 1);
	if (atomic_load(&h->head)) {
		atomic_store(&h->sleeping, 0);
		return false;
	}
	return true;
}

static inline void lb_handoff_awake(struct lb_handoff *h)
{
	atomic_store_explicit(&h->sleeping, 0, memory_order_relaxed);
}

/* Producer, after pushing: true when the consumer must be signalled (it was asleep; the flag
 * is cleared so one signal is sent for many pushes). */
static inline bool lb_handoff_wake_needed(struct lb_handoff *h)
{
	if (!atomic_load(&h->sleeping))
		return false;
	return atomic_exchange(&h->sleeping, 0) != 0;
}

#endif
