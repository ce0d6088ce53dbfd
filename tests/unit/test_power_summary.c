/* test_power_summary.c: the energy attributed to one request (power_attributed_energy_j), the
 * arithmetic behind export's energy_j_attributed: hand-computed shares and every unavailable
 * case (never 0). */
#include "../../metrics/power.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void shares_by_tokens(void **state)
{
	(void)state;
	/* level: 120 J over 40 tokens; a request with 10 + 20 tokens gets 3/4 of it */
	assert_true(fabs(power_attributed_energy_j(120, 40, 0, 10, 20) - 90) < 1e-9);
	assert_true(fabs(power_attributed_energy_j(120, 40, 0, 6, 4) - 30) < 1e-9);
	/* the shares of the level's requests add up to the level's energy */
	assert_true(fabs(power_attributed_energy_j(7.5, 13, 0, 3, 0) +
			 power_attributed_energy_j(7.5, 13, 0, 5, 5) - 7.5) < 1e-12);
	/* a request with no tokens gets none of it (a measured 0, not an unknown) */
	assert_true(power_attributed_energy_j(120, 40, 0, 0, 0) == 0);
}

static void unknown_inputs_are_unavailable(void **state)
{
	(void)state;
	assert_true(isnan(power_attributed_energy_j(NAN, 40, 0, 10, 20)));	/* no energy */
	assert_true(isnan(power_attributed_energy_j(INFINITY, 40, 0, 10, 20)));
	assert_true(isnan(power_attributed_energy_j(120, NAN, 0, 10, 20)));	/* no tokens */
	assert_true(isnan(power_attributed_energy_j(120, 0, 0, 0, 0)));	/* 0 tokens */
	assert_true(isnan(power_attributed_energy_j(120, -1, 0, 10, 20)));
	assert_true(isnan(power_attributed_energy_j(120, 40, 1, 10, 20)));	/* a count unknown */
	assert_true(isnan(power_attributed_energy_j(120, 40, NAN, 10, 20)));
	assert_true(isnan(power_attributed_energy_j(120, 40, 0, NAN, 20)));
	assert_true(isnan(power_attributed_energy_j(120, 40, 0, 10, NAN)));
	assert_true(isnan(power_attributed_energy_j(120, 40, 0, -1, 20)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shares_by_tokens),
		cmocka_unit_test(unknown_inputs_are_unavailable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
