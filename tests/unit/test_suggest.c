/* test_suggest.c: edit distance and "did you mean" (base/suggest.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "../../base/suggest.h"

static void distance(void **state)
{
	(void)state;
	assert_int_equal(lb_edit_distance("", ""), 0);
	assert_int_equal(lb_edit_distance("abc", ""), 3);
	assert_int_equal(lb_edit_distance("levle", "level"), 1); /* a swap costs 1 */
	assert_int_equal(lb_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(lb_edit_distance("temprature", "temperature"), 1);
}

static void suggest(void **state)
{
	static const char *const verbs[] = { "bench", "bench-model", "compare", "export", "run",
					     "runs", "report", NULL };
	static const char *const keys[] = { "mode", "levels", "requests", "warmup", NULL };

	(void)state;
	assert_string_equal(lb_suggest("runz", verbs), "run");
	assert_string_equal(lb_suggest("comapre", verbs), "compare");
	assert_string_equal(lb_suggest("levle", keys), "levels");
	assert_string_equal(lb_suggest("request", keys), "requests");
	assert_null(lb_suggest("frobnicate", verbs));
	assert_null(lb_suggest("run", verbs)); /* an exact name is no suggestion */
	assert_null(lb_suggest("x", keys));
	assert_null(lb_suggest("", keys));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(distance),
		cmocka_unit_test(suggest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
