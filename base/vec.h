/* vec.h: growable arrays, one macro for every caller (git's ALLOC_GROW).
 *
 *	struct item *v = NULL;  size_t n = 0, alloc = 0;
 *	if (LB_ALLOC_GROW(v, n + 1, alloc))
 *		return LB_ERR_NOMEM;        // v and alloc unchanged, still valid
 *	v[n++] = it;
 *
 * Capacity doubles (at least 16, at least nr); the array is freed with lb_free. */
#ifndef LB_VEC_H
#define LB_VEC_H

#include "alloc.h"

#include <stdint.h>
#include <string.h>

/* *pp (a pointer to any object pointer) grown to hold nr elements of size bytes. 0, or -1 with
 * nothing changed when memory (or size_t) runs out. */
static inline int lb_grow_array(void *pp, size_t *alloc, size_t nr, size_t size)
{
	void *p, *np;
	size_t na;

	if (nr <= *alloc)
		return 0;
	na = *alloc ? *alloc : 8;
	while (na < nr) {
		if (na > SIZE_MAX / 2)
			return -1;
		na *= 2;
	}
	if (na < 16)
		na = 16;
	if (size && na > SIZE_MAX / size)
		return -1;
	memcpy(&p, pp, sizeof(p));
	np = lb_realloc(p, na * size);
	if (!np)
		return -1;
	memcpy(pp, &np, sizeof(np));
	*alloc = na;
	return 0;
}

/* Make room for nr elements in x (capacity alloc); 0 or -1. */
#define LB_ALLOC_GROW(x, nr, alloc) lb_grow_array(&(x), &(alloc), (nr), sizeof(*(x)))

#endif
