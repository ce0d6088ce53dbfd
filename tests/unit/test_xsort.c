/* test_xsort.c: the merge's external sort gives exactly stats_compute's figures, whether the
 * values stay in memory or spill as many sorted runs; ordered columns replay in arrival order,
 * and backwards. */
#include "../../metrics/stats.h"
#include "../../metrics/xsort.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static uint64_t rng = 12345;

static double next_value(int kind)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	switch (kind) {
	case 0: return (double)(rng >> 11) / (double)(1ull << 53) * 1000.0;       /* 0..1000 ms */
	case 1: return (double)((rng >> 40) % 7);                                 /* many ties */
	default: return ((double)(rng >> 11) / (double)(1ull << 53) - 0.5) * 1e6; /* signs */
	}
}

static void same_stats(const struct lb_stats *a, const struct lb_stats *b)
{
	assert_int_equal(a->n, b->n);
	/* bit for bit: the same values in the same order through the same arithmetic */
	assert_memory_equal(&a->mean, &b->mean, sizeof(double));
	assert_memory_equal(&a->sd, &b->sd, sizeof(double));
	assert_memory_equal(&a->min, &b->min, sizeof(double));
	assert_memory_equal(&a->p50, &b->p50, sizeof(double));
	assert_memory_equal(&a->p90, &b->p90, sizeof(double));
	assert_memory_equal(&a->p95, &b->p95, sizeof(double));
	assert_memory_equal(&a->p99, &b->p99, sizeof(double));
	assert_memory_equal(&a->p999, &b->p999, sizeof(double));
	assert_memory_equal(&a->max, &b->max, sizeof(double));
}

/* n values of a kind through two columns sharing a budget, against stats_compute */
static void check(size_t n, int kind, size_t budget)
{
	struct xsort x;
	struct xcol c1 = { 0 }, c2 = { 0 };
	double *v1 = malloc((n ? n : 1) * sizeof(double)),
	       *v2 = malloc((n ? n : 1) * sizeof(double));
	struct lb_stats want1, want2, got1, got2;
	size_t i;

	assert_non_null(v1);
	assert_non_null(v2);
	xsort_init(&x, budget);
	for (i = 0; i < n; i++) {
		v1[i] = next_value(kind);
		v2[i] = next_value(0);
		assert_int_equal(xcol_push(&x, &c1, v1[i]), 0);
		assert_int_equal(xcol_push(&x, &c2, v2[i]), 0);
	}
	assert_true(x.held <= budget);
	if (n > budget)
		assert_true(x.spilled > 0);
	stats_compute(v1, n, &want1);
	stats_compute(v2, n, &want2);
	assert_int_equal(xcol_stats(&x, &c1, &got1), 0);
	assert_int_equal(xcol_stats(&x, &c2, &got2), 0);
	same_stats(&got1, &want1);
	same_stats(&got2, &want2);
	xcol_release(&x, &c1);
	xcol_release(&x, &c2);
	assert_int_equal(x.held, 0);
	xsort_free(&x);
	free(v1);
	free(v2);
}

static void in_memory_equals_stats_compute(void **state)
{
	(void)state;
	check(0, 0, 1000);
	check(1, 0, 1000);
	check(2, 1, 1000);
	check(300, 0, 1000);
	check(400, 2, 1000);
}

static void spilled_runs_equal_stats_compute(void **state)
{
	(void)state;
	check(5000, 0, 64);    /* ~150 runs */
	check(20000, 1, 1000); /* ties across runs */
	check(70000, 2, 4096); /* negative values, radix-sorted runs */
}

struct seq {
	double *v;
	size_t n;
};

static void collect(void *ctx, double v)
{
	struct seq *s = ctx;

	s->v[s->n++] = v;
}

static void ordered_column_replays_in_arrival_order(void **state)
{
	struct xsort x;
	struct xcol o = { 0 }, other = { 0 };
	double in[3000];
	struct seq got = { malloc(sizeof(in)), 0 };
	size_t i;

	(void)state;
	o.ordered = true;
	xsort_init(&x, 100);
	for (i = 0; i < 3000; i++) {
		in[i] = next_value(2);
		assert_int_equal(xcol_push(&x, &o, in[i]), 0);
		assert_int_equal(xcol_push(&x, &other, next_value(0)), 0);
	}
	assert_true(o.n_runs > 1);
	assert_int_equal(xcol_replay(&x, &o, collect, &got), 0);
	assert_int_equal(got.n, 3000);
	assert_memory_equal(got.v, in, sizeof(in));
	got.n = 0;
	assert_int_equal(xcol_replay_rev(&x, &o, collect, &got), 0);
	assert_int_equal(got.n, 3000);
	for (i = 0; i < 3000; i++)
		assert_true(got.v[i] == in[2999 - i]);
	xcol_release(&x, &o);
	xcol_release(&x, &other);
	xsort_free(&x);
	free(got.v);
}

static void radix_sort_equals_qsort(void **state)
{
	size_t n = 100000, i;
	double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double));
	struct lb_stats s;

	(void)state;
	for (i = 0; i < n; i++)
		a[i] = next_value((int)(i % 3));
	memcpy(b, a, n * sizeof(double));
	assert_int_equal(xsort_doubles(a, n), 0);
	stats_compute(b, n, &s); /* sorts b with qsort */
	for (i = 0; i < n; i++)
		assert_true(a[i] == b[i]);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(in_memory_equals_stats_compute),
		cmocka_unit_test(spilled_runs_equal_stats_compute),
		cmocka_unit_test(ordered_column_replays_in_arrival_order),
		cmocka_unit_test(radix_sort_equals_qsort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
