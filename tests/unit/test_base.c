/* test_base.c: the base layer's stand-alone helpers: errors, grow-arrays, "did you mean", the
 * strict JSON config reader. */
#include "../../base/error.h"
#include "../../base/jsoncfg.h"
#include "../../base/suggest.h"
#include "../../base/vec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void grow_keeps_elements_and_doubles(void **state)
{
	int *v = NULL;
	size_t n = 0, alloc = 0, i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		assert_int_equal(LB_ALLOC_GROW(v, n + 1, alloc), 0);
		assert_true(alloc >= n + 1);
		v[n++] = (int)i;
	}
	assert_true(alloc >= 1000 && alloc < 4096);
	for (i = 0; i < 1000; i++)
		assert_int_equal(v[i], (int)i);
	assert_int_equal(LB_ALLOC_GROW(v, 10, alloc), 0); /* no shrink, no change */
	lb_free(v);
}

static void grow_refuses_overflow_and_keeps_array(void **state)
{
	double *v = NULL;
	size_t alloc = 0;

	(void)state;
	assert_int_equal(LB_ALLOC_GROW(v, 4, alloc), 0);
	v[0] = 1.5;
	assert_int_equal(LB_ALLOC_GROW(v, SIZE_MAX / 4, alloc), -1);
	assert_non_null(v);
	assert_true(v[0] == 1.5);
	assert_int_equal(alloc, 16);
	lb_free(v);
}

static void suggest_finds_typos_not_strangers(void **state)
{
	static const char *const keys[] = { "mode", "levels", "requests", "warmup", "temperature",
					    NULL };

	(void)state;
	assert_int_equal(lb_edit_distance("levle", "levels"), 2);
	assert_int_equal(lb_edit_distance("abc", "abc"), 0);
	assert_int_equal(lb_edit_distance("ab", "ba"), 1);
	assert_string_equal(lb_suggest("levle", keys), "levels");
	assert_string_equal(lb_suggest("temprature", keys), "temperature");
	assert_string_equal(lb_suggest("request", keys), "requests");
	assert_null(lb_suggest("zzz", keys));
	assert_null(lb_suggest("colour", keys));
}

static void jsoncfg_messages_name_file_path_and_kind(void **state)
{
	static const char *const valid[] = { "rate", "name", NULL };
	struct lb_error err = LB_ERROR_INIT;
	struct jsoncfg c = { .file = "w.json", .err = &err };
	const char *s = NULL;
	double d = 0;
	bool present = false;
	cJSON *root = NULL;

	(void)state;
	assert_int_equal(jsoncfg_parse(&c, "{\n  \"a\": 1,\n  ]", 15, &root), LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "'w.json': malformed JSON at line 3, column "));
	assert_int_equal(jsoncfg_parse(&c, "{\"rat\": \"x\", \"name\": \"\"}", 24, &root), 0);
	assert_int_equal(jsoncfg_check_keys(&c, root, "load", valid), LB_ERR_USAGE);
	assert_string_equal(err.msg, "'w.json': unknown key 'rat' in load (valid: rate, name); "
				     "did you mean 'rate'?");
	assert_int_equal(jsoncfg_num(&c, root, "load", "rat", 0, true, 1e9, &d, &present),
			 LB_ERR_USAGE);
	assert_string_equal(err.msg, "'w.json': load.rat: expected a number > 0 and <= 1e+09, got "
				     "a string");
	assert_int_equal(jsoncfg_string(&c, root, "", "name", true, &s), LB_ERR_USAGE);
	assert_string_equal(err.msg, "'w.json': name: expected a non-empty string");
	assert_int_equal(jsoncfg_int(&c, root, "", "missing", 1, 10, &d, &present), 0);
	assert_false(present);
	cJSON_Delete(root);
	assert_int_equal(jsoncfg_parse(&c, "{\"n\": 2.5, \"n2\": 1e12, \"m\": \"fast\"}", 36, &root), 0);
	assert_int_equal(jsoncfg_int(&c, root, "x", "n", 1, 10, &d, NULL), LB_ERR_USAGE);
	assert_string_equal(err.msg, "'w.json': x.n: expected a positive integer, got 2.5");
	assert_int_equal(jsoncfg_int(&c, root, "x", "n2", 1, 10, &d, NULL), LB_ERR_USAGE);
	assert_string_equal(err.msg, "'w.json': x.n2: 1e+12 is too large (at most 10)");
	{
		static const char *const modes[] = { "slow", "fast", NULL };
		const char *m = NULL;

		assert_int_equal(jsoncfg_enum(&c, root, "", "m", modes, &m), 0);
		assert_string_equal(m, "fast");
	}
	cJSON_Delete(root);
	assert_int_equal(jsoncfg_parse(&c, "{\"a\": 1, \"a\": 2}", 16, &root), 0);
	assert_int_equal(jsoncfg_check_keys(&c, root, "", (const char *const[]){ "a", NULL }),
			 LB_ERR_USAGE);
	assert_string_equal(err.msg, "'w.json': duplicate key 'a' at the top level");
	cJSON_Delete(root);
}

/* A message set again from itself (a new code, the same words, or a prefix added) stays whole:
 * gate --rules with a missing file printed an empty reason when it was formatted in place. */
static void error_set_from_its_own_message(void **state)
{
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	lb_error_set(&err, LB_ERR_IO, "cannot open '%s': %s", "r.json", "No such file");
	assert_int_equal(lb_error_set(&err, LB_ERR_USAGE, "%s", err.msg), LB_ERR_USAGE);
	assert_int_equal(err.code, LB_ERR_USAGE);
	assert_string_equal(err.msg, "cannot open 'r.json': No such file");
	lb_error_set(&err, LB_ERR_USAGE, "rules: %s (%d)", err.msg, 2);
	assert_string_equal(err.msg, "rules: cannot open 'r.json': No such file (2)");
	assert_int_equal(lb_error_set(NULL, LB_ERR_IO, "x"), LB_ERR_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(error_set_from_its_own_message),
		cmocka_unit_test(grow_keeps_elements_and_doubles),
		cmocka_unit_test(grow_refuses_overflow_and_keeps_array),
		cmocka_unit_test(suggest_finds_typos_not_strangers),
		cmocka_unit_test(jsoncfg_messages_name_file_path_and_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
