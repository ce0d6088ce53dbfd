/* test_sched.c: arrival processes have the right mean and coefficient of variation (seeded). */
#include "../../harness/sched.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void moments(const char *kind, double rate, double cv_in, uint64_t seed, double *mean, double *cv)
{
	struct sched s;
	double sum = 0, sum2 = 0;
	int i, n = 200000;

	sched_init(&s, kind, rate, cv_in, seed);
	for (i = 0; i < n; i++) {
		double g = sched_next_gap_s(&s);

		sum += g;
		sum2 += g * g;
	}
	*mean = sum / n;
	*cv = sqrt(fabs(sum2 / n - *mean * *mean)) / *mean;
}

static void poisson_has_mean_1_over_rate_and_cv_1(void **state)
{
	double m, cv;

	(void)state;
	moments("poisson", 100, 0, 42, &m, &cv);
	assert_true(fabs(m - 0.01) < 0.01 * 0.02);
	assert_true(fabs(cv - 1) < 0.02);
}

static void gamma_has_the_requested_cv(void **state)
{
	static const double cvs[] = { 0.5, 2.0, 4.0 };
	double m, cv;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		moments("gamma", 50, cvs[i], 7 + (uint64_t)i, &m, &cv);
		assert_true(fabs(m - 0.02) < 0.02 * 0.05);
		assert_true(fabs(cv - cvs[i]) < cvs[i] * 0.08);
	}
}

static void constant_is_exact(void **state)
{
	double m, cv;

	(void)state;
	moments("constant", 1000, 0, 1, &m, &cv);
	assert_true(fabs(m - 0.001) < 1e-12);
	assert_true(cv < 1e-4);
}

static void same_seed_same_schedule(void **state)
{
	struct sched a, b;
	int i;

	(void)state;
	sched_init(&a, "gamma", 10, 3, 99);
	sched_init(&b, "gamma", 10, 3, 99);
	for (i = 0; i < 1000; i++)
		assert_true(sched_next_gap_s(&a) == sched_next_gap_s(&b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(poisson_has_mean_1_over_rate_and_cv_1),
		cmocka_unit_test(gamma_has_the_requested_cv),
		cmocka_unit_test(constant_is_exact),
		cmocka_unit_test(same_seed_same_schedule),
	};
	return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
