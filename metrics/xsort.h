/* xsort.h: exact statistics of columns larger than memory, for `llmbench merge`
 * (docs/scale-out.md). Values are gathered in memory up to a budget shared by every column;
 * beyond it the largest column is sorted and written as a run to one temporary file, and a
 * column's statistics stream from a k-way merge of its runs: the same figures stats_compute
 * gives on the same values (Welford in sorted order, percentiles at rank f * (n - 1)), in a
 * memory that does not grow with the number of values. An ordered column keeps its values in
 * arrival order instead (replayed in that order, e.g. into a reservoir sample). */
#ifndef LB_XSORT_H
#define LB_XSORT_H

#include "stats.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xrun {
	uint64_t off; /* byte offset in the temporary file */
	size_t n;
};

struct xcol {
	uint64_t *k; /* held values as order-preserving keys (owned) */
	size_t n, alloc;
	struct xrun *runs; /* spilled runs (owned) */
	size_t n_runs, runs_alloc;
	uint64_t total; /* values pushed */
	bool ordered;   /* keep arrival order: runs are not sorted */
	bool tracked;
};

struct xsort {
	int fd; /* the temporary file (unlinked), -1 until the first spill */
	uint64_t end;
	size_t budget, held; /* values in memory, all columns */
	struct xcol **cols;  /* tracked columns (not owned) */
	size_t n_cols, cols_alloc;
	int err_no; /* errno of the first I/O failure */
	bool oom;
	uint64_t spilled; /* values written, all columns */
};

/* budget: values held in memory by all columns together before one spills (0: a default). */
void xsort_init(struct xsort *x, size_t budget);
void xsort_free(struct xsort *x);
/* Add v to c (c zeroed, or released, before its first push; NaN is dropped as stats_compute
 * drops it). 0, or -1 out of memory or on an I/O error (x->oom, x->err_no). */
int xcol_push(struct xsort *x, struct xcol *c, double v);
/* c's statistics (c sorted, not ordered); the values stay. 0 or -1 as xcol_push. */
int xcol_stats(struct xsort *x, struct xcol *c, struct lb_stats *out);
/* Each value of an ordered c in arrival order. 0 or -1 as xcol_push. */
int xcol_replay(struct xsort *x, struct xcol *c, void (*fn)(void *ctx, double v), void *ctx);
/* The same, last value first. */
int xcol_replay_rev(struct xsort *x, struct xcol *c, void (*fn)(void *ctx, double v), void *ctx);
/* Free c's memory (its runs stay in the file until xsort_free). */
void xcol_release(struct xsort *x, struct xcol *c);
/* Sort v (no NaN) ascending as qsort with a numeric comparison would, in O(n). */
int xsort_doubles(double *v, size_t n);

#endif
