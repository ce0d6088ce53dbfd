/* alloc.h: allocation wrappers. LLMBENCH_TEST_FAIL_ALLOC=n makes the n-th allocation fail
 * (failure-injection in tests). Same contracts as malloc/calloc/realloc/strdup/free. */
#ifndef LB_ALLOC_H
#define LB_ALLOC_H

#include <stddef.h>

void *lb_malloc(size_t n);
void *lb_calloc(size_t n, size_t size);
void *lb_realloc(void *p, size_t n);
char *lb_strdup(const char *s);
char *lb_strndup(const char *s, size_t n);
void lb_free(void *p);

#endif
