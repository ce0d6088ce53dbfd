/* test_stats.c: statistics against hand-computed values and a two-pass reference. */
#include "../../metrics/stats.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void percentile_of_single_value_is_that_value(void **state)
{
	double v[] = { 42.0 };

	(void)state;
	NEAR(stats_percentile_sorted(v, 1, 99.0), 42.0, 0);
	NEAR(stats_percentile_sorted(v, 1, 0), 42.0, 0);
}

static void percentile_of_empty_is_nan(void **state)
{
	(void)state;
	assert_true(isnan(stats_percentile_sorted(NULL, 0, 50)));
}

static void percentiles_interpolate_linearly(void **state)
{
	/* numpy.percentile([1,2,3,4,5,6,7,8,9,10], [50, 90, 99]) = 5.5, 9.1, 9.91 */
	double v[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	struct lb_stats s;

	(void)state;
	stats_compute(v, 10, &s);
	assert_int_equal(s.n, 10);
	NEAR(s.p50, 5.5, 1e-12);
	NEAR(s.p90, 9.1, 1e-12);
	NEAR(s.p99, 9.91, 1e-12);
	NEAR(s.p999, 9.991, 1e-12);
	NEAR(s.min, 1, 0);
	NEAR(s.max, 10, 0);
	NEAR(s.mean, 5.5, 1e-12);
	/* sample sd of 1..10 = sqrt(82.5/9) */
	NEAR(s.sd, sqrt(82.5 / 9), 1e-12);
}

static void nans_are_dropped(void **state)
{
	double v[] = { NAN, 3, NAN, 1, 2 };
	struct lb_stats s;

	(void)state;
	stats_compute(v, 5, &s);
	assert_int_equal(s.n, 3);
	NEAR(s.p50, 2, 0);
	NEAR(s.sd, 1, 1e-12);
}

static void empty_stats_are_nan(void **state)
{
	struct lb_stats s;

	(void)state;
	stats_compute(NULL, 0, &s);
	assert_int_equal(s.n, 0);
	assert_true(isnan(s.mean) && isnan(s.p99) && isnan(s.sd));
}

static void welford_matches_two_pass_on_random_data(void **state)
{
	double v[1000], m = 0, ss = 0, mean, sd;
	unsigned seed = 7;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		seed = seed * 1103515245u + 12345u;
		v[i] = 1e6 + (double)(seed % 10000) / 7.0;
		m += v[i];
	}
	m /= 1000;
	for (i = 0; i < 1000; i++)
		ss += (v[i] - m) * (v[i] - m);
	stats_mean_sd(v, 1000, &mean, &sd);
	NEAR(mean, m, 1e-6);
	NEAR(sd, sqrt(ss / 999), 1e-6);
}

static void wilson_matches_hand_computation(void **state)
{
	double lo, hi;

	(void)state;
	/* k=8, n=10, z=1.96: centre 0.7167, half 0.2271 -> [0.4902, 0.9433] */
	stats_wilson(8, 10, 1.96, &lo, &hi);
	NEAR(lo, 0.4902, 1e-4);
	NEAR(hi, 0.9433, 1e-4);
	stats_wilson(0, 10, 1.96, &lo, &hi);
	NEAR(lo, 0, 1e-12);
	NEAR(hi, 0.2775, 1e-4);
}

static void t_distribution_values(void **state)
{
	(void)state;
	/* two-sided p of t=2.228 at df=10 is 0.05; t quantile 0.975 at df=10 is 2.228 */
	NEAR(stats_t_pvalue(2.228139, 10), 0.05, 1e-5);
	NEAR(stats_t_quantile(0.975, 10), 2.228139, 1e-4);
	NEAR(stats_t_quantile(0.975, 1e6), 1.959964, 1e-3);
	NEAR(stats_t_pvalue(0, 5), 1.0, 1e-12);
}

static void welch_matches_hand_computation(void **state)
{
	double t, df, p;

	(void)state;
	/* m1=10 s1=2 n1=10, m2=12 s2=3 n2=12: se=sqrt(0.4+0.75)=1.0724, t=-1.8650,
	 * df=(1.15^2)/(0.4^2/9+0.75^2/11)=1.3225/(0.017778+0.051136)=19.19 */
	stats_welch(10, 2, 10, 12, 3, 12, &t, &df, &p);
	NEAR(t, -1.8650, 1e-3);
	NEAR(df, 19.19, 0.01);
	assert_true(p > 0.07 && p < 0.085);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(percentile_of_single_value_is_that_value),
		cmocka_unit_test(percentile_of_empty_is_nan),
		cmocka_unit_test(percentiles_interpolate_linearly),
		cmocka_unit_test(nans_are_dropped),
		cmocka_unit_test(empty_stats_are_nan),
		cmocka_unit_test(welford_matches_two_pass_on_random_data),
		cmocka_unit_test(wilson_matches_hand_computation),
		cmocka_unit_test(t_distribution_values),
		cmocka_unit_test(welch_matches_hand_computation),
	};
	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
