/* test_shard.c: shard specs, the engines' variables, the split and the start time. */
#include "../../base/error.h"
#include "../../harness/shard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void clear_env(void)
{
	static const char *const v[] = { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
					 "SLURM_ARRAY_TASK_MIN", "SLURM_PROCID", "SLURM_NTASKS",
					 "JOB_COMPLETION_INDEX", "LLMBENCH_SHARDS",
					 "LLMBENCH_SHARD_GROUP", "SLURM_ARRAY_JOB_ID", "SLURM_JOB_ID" };
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		unsetenv(v[i]);
}

static void test_spec(void **state)
{
	struct shard_spec s;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(shard_parse("2/4", 0, &s, &err), 0);
	assert_int_equal(s.k, 2);
	assert_int_equal(s.n, 4);
	assert_int_equal(shard_parse("0/1", 0, &s, &err), 0);
	assert_int_equal(shard_parse("4/4", 0, &s, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(shard_parse("-1/4", 0, &s, &err), LB_ERR_USAGE);
	assert_int_equal(shard_parse("1/0", 0, &s, &err), LB_ERR_USAGE);
	assert_int_equal(shard_parse("1/x", 0, &s, &err), LB_ERR_USAGE);
	assert_int_equal(shard_parse("14", 0, &s, &err), LB_ERR_USAGE);
	assert_int_equal(shard_parse("1/4", 3, &s, &err), LB_ERR_USAGE);
	assert_null(strchr(err.msg, '\n'));
}

static void test_auto(void **state)
{
	struct shard_spec s;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	clear_env();
	assert_int_equal(shard_parse("auto", 0, &s, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "no engine variables"));
	setenv("SLURM_ARRAY_TASK_ID", "3", 1);
	assert_int_equal(shard_parse("auto", 0, &s, &err), LB_ERR_USAGE); /* no count */
	setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
	assert_int_equal(shard_parse("auto", 0, &s, &err), 0);
	assert_int_equal(s.k, 3);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.source, "slurm array");
	setenv("SLURM_ARRAY_TASK_MIN", "1", 1); /* --array=1-4 */
	assert_int_equal(shard_parse("auto", 0, &s, &err), 0);
	assert_int_equal(s.k, 2);
	setenv("SLURM_ARRAY_TASK_ID", "9", 1);
	assert_int_equal(shard_parse("auto", 0, &s, &err), LB_ERR_USAGE);
	clear_env();
	setenv("SLURM_PROCID", "1", 1);
	setenv("SLURM_NTASKS", "8", 1);
	assert_int_equal(shard_parse("auto", 0, &s, &err), 0);
	assert_int_equal(s.k, 1);
	assert_int_equal(s.n, 8);
	assert_string_equal(s.source, "slurm tasks");
	clear_env();
	setenv("JOB_COMPLETION_INDEX", "5", 1);
	assert_int_equal(shard_parse("auto", 0, &s, &err), LB_ERR_USAGE); /* count missing */
	assert_non_null(strstr(err.msg, "--shards"));
	assert_int_equal(shard_parse("auto", 6, &s, &err), 0);
	assert_int_equal(s.k, 5);
	assert_int_equal(s.n, 6);
	assert_string_equal(s.source, "kubernetes");
	setenv("LLMBENCH_SHARDS", "8", 1);
	assert_int_equal(shard_parse("auto", 0, &s, &err), 0);
	assert_int_equal(s.n, 8);
	assert_int_equal(shard_parse("auto", 5, &s, &err), LB_ERR_USAGE); /* index 5 of 5 */
	setenv("JOB_COMPLETION_INDEX", "x", 1);
	assert_int_equal(shard_parse("auto", 0, &s, &err), LB_ERR_USAGE);
	clear_env();
}

static void test_split(void **state)
{
	struct shard_spec s = { 0, 3, "option", SHARD_SPLIT_LOAD };
	long sum = 0;
	double rsum = 0;
	size_t i, owned = 0;

	(void)state;
	for (s.k = 0; s.k < 3; s.k++) {
		sum += shard_share(10, &s);
		rsum += shard_rate(90, &s);
		for (i = 0; i < 100; i++)
			owned += shard_owns(i, &s);
	}
	assert_int_equal(sum, 10);
	assert_true(rsum > 89.999 && rsum < 90.001);
	assert_int_equal(owned, 100); /* each item exactly once */
	s.k = 0;
	assert_int_equal(shard_share(10, &s), 4);
	s.k = 2;
	assert_int_equal(shard_share(10, &s), 3);
	assert_int_equal(shard_share(2, &s), 0);
	s.k = 0;
	{
		uint64_t a = shard_seed(42, &s);

		s.k = 1;
		assert_true(a != shard_seed(42, &s));
	}
	assert_int_equal(shard_seed(42, NULL), 42);
}

static void test_start_at(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	uint64_t t, now = 1765056600ull * 1000000000ull; /* 2025-12-06T21:30:00Z */

	(void)state;
	assert_int_equal(shard_parse_start_at("2025-12-06T21:31:00Z", now, &t, &err), 0);
	assert_true(t == now + 60ull * 1000000000ull);
	assert_int_equal(shard_parse_start_at("2025-12-06T21:31:00.5Z", now, &t, &err), 0);
	assert_true(t == now + 60500000000ull);
	assert_int_equal(shard_parse_start_at("@1765056660", now, &t, &err), 0);
	assert_true(t == now + 60ull * 1000000000ull);
	assert_int_equal(shard_parse_start_at("2025-12-06T21:29:00Z", now, &t, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "in the past"));
	assert_int_equal(shard_parse_start_at("2025-12-06 21:31", now, &t, &err), LB_ERR_USAGE);
	assert_int_equal(shard_parse_start_at("@x", now, &t, &err), LB_ERR_USAGE);
}

static void test_clock(void **state)
{
	struct shard_clock c;

	(void)state;
	shard_clock_anchor(&c);
	assert_true(c.realtime_ns > 1600000000ull * 1000000000ull);
	assert_true(c.monotonic_ns > 0);
	assert_true(c.read_gap_ns < 100000000ull);
	assert_true(shard_wall_to_mono(&c, c.realtime_ns + 1000) == c.monotonic_ns + 1000);
}

static void test_rendezvous(void **state)
{
	struct shard_run r;
	struct lb_error err = LB_ERROR_INIT;
	char dir[256], path[300];
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/llmbench-test-rdv.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	memset(&r, 0, sizeof(r));
	r.spec.k = 0;
	r.spec.n = 2;
	/* shard 1 is not there: a short wait fails, naming the count */
	assert_int_equal(shard_rendezvous(&r, dir, 0.3, NULL, &err), LB_ERR_IO);
	assert_non_null(strstr(err.msg, "only 1 of 2"));
	/* shard 1 arrived (later than us): the start is its time plus the margin */
	snprintf(path, sizeof(path), "%s/ready-1", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%llu\n", 4000000000000000000ull);
	fclose(f);
	assert_int_equal(shard_rendezvous(&r, dir, 5, NULL, &err), 0);
	assert_true(r.start_wall_ns == 4000000000000000000ull + 5000000000ull);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec),	 cmocka_unit_test(test_auto),
		cmocka_unit_test(test_split),	 cmocka_unit_test(test_start_at),
		cmocka_unit_test(test_clock),	 cmocka_unit_test(test_rendezvous),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
