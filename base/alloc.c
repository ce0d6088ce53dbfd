#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h" /* last: after the system headers */

static long fail_at = -1; /* -1: not read yet; 0: never fail */
static long n_allocs;

static int should_fail(void)
{
	if (fail_at < 0) {
		const char *s = getenv("LLMBENCH_TEST_FAIL_ALLOC");
		fail_at = s ? strtol(s, NULL, 10) : 0;
		if (fail_at < 0)
			fail_at = 0;
	}
	return fail_at && ++n_allocs == fail_at;
}

void *lb_malloc(size_t n)
{
	return should_fail() ? NULL : malloc(n ? n : 1);
}
void *lb_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}
void *lb_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : realloc(p, n ? n : 1);
}
void lb_free(void *p)
{
	free(p);
}

char *lb_strdup(const char *s)
{
	return s ? lb_strndup(s, strlen(s)) : NULL;
}

char *lb_strndup(const char *s, size_t n)
{
	char *p = lb_malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}
