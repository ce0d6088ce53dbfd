/* sim_prefix.c: the simulator's prefix cache. A set of chained block hashes (sim_blocks in
 * sim_http.c): a request's cached blocks are its leading blocks already in the set, then all of
 * its blocks go in. When the set would pass its capacity it is emptied first, so what is cached
 * is always known: everything since the last emptying. docs/sim.md gives the TTFT it saves. */
#include "../base/alloc.h"
#include "sim_int.h"

#include <string.h>

struct sim_prefix {
	uint64_t *slot; /* open addressing, 0: empty */
	size_t mask, used, max_blocks;
};

int sim_prefix_open(struct sim_prefix **out, long max_blocks)
{
	struct sim_prefix *p = lb_calloc(1, sizeof(*p));
	size_t n = 64;

	*out = NULL;
	if (!p)
		return -1;
	p->max_blocks = max_blocks > 0 ? (size_t)max_blocks : 1;
	while (n < 2 * p->max_blocks)
		n *= 2;
	p->slot = lb_calloc(n, sizeof(*p->slot));
	if (!p->slot) {
		lb_free(p);
		return -1;
	}
	p->mask = n - 1;
	*out = p;
	return 0;
}

void sim_prefix_free(struct sim_prefix *p)
{
	if (!p)
		return;
	lb_free(p->slot);
	lb_free(p);
}

static size_t find(const struct sim_prefix *p, uint64_t h)
{
	size_t i = (size_t)(h ^ (h >> 29)) & p->mask;

	while (p->slot[i] && p->slot[i] != h)
		i = (i + 1) & p->mask;
	return i;
}

long sim_prefix_lookup_insert(struct sim_prefix *p, const uint64_t *hash, size_t n)
{
	size_t i, hit = 0;

	for (i = 0; i < n; i++) {
		uint64_t h = hash[i] ? hash[i] : 1;

		if (!p->slot[find(p, h)])
			break;
		hit++;
	}
	if (n > p->max_blocks)
		n = p->max_blocks;
	if (p->used + n > p->max_blocks) {
		memset(p->slot, 0, (p->mask + 1) * sizeof(*p->slot));
		p->used = 0;
	}
	for (i = 0; i < n; i++) {
		uint64_t h = hash[i] ? hash[i] : 1;
		size_t k = find(p, h);

		if (!p->slot[k]) {
			p->slot[k] = h;
			p->used++;
		}
	}
	return (long)hit;
}
