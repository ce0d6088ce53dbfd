/* test_runner_workers.c: the runner with worker event loops (harness/runner_workers.c) against a
 * real `llmbench sim` served in-process, into a real store: the closed loop and the open loop
 * on 2 workers store every request once, all ok, and the per-worker
 * request and chunk counts add up to the stored ones. Its point is the tsan suite: the whole
 * hand-off (runner's thread, two workers, the sim's thread) under ThreadSanitizer:
 * make BUILD=build-tsan SANITIZE=thread build-tsan/tests/test_runner_workers
 * Run from the repository root (tests/run.sh does). */
#include "../../backends/sim.h"
#include "../../harness/runner.h"
#include "../../harness/workload.h"

#include <curl/curl.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static struct sim *the_sim;
static pthread_t sim_thread;
static char dbpath[256];

static void *serve(void *arg)
{
	struct lb_error err = LB_ERROR_INIT;

	(void)arg;
	sim_run(the_sim, &err);
	return NULL;
}

static int setup(void **state)
{
	struct sim_config cfg;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sim_config_init(&cfg);
	cfg.ttft_ms = 3;
	cfg.itl_ms = 1;
	cfg.out_min = cfg.out_max = 4;
	if (sim_open(&the_sim, &cfg, &err))
		return -1;
	snprintf(dbpath, sizeof(dbpath), "/tmp/llmbench-test-workers-%d.db", (int)getpid());
	unlink(dbpath);
	return pthread_create(&sim_thread, NULL, serve, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
	char path[300];

	(void)state;
	sim_interrupt(the_sim);
	pthread_join(sim_thread, NULL);
	sim_close(the_sim);
	curl_global_cleanup();
	unlink(dbpath);
	snprintf(path, sizeof(path), "%s-wal", dbpath);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", dbpath);
	unlink(path);
	return 0;
}

/* One number from the store */
static double q(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	double v = -1;

	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void run_level(const char *name, const char *load)
{
	char text[1024], sql[512];
	struct workload wl;
	struct store *st = NULL;
	struct runner_opts o = { 0 };
	struct runner_result res;
	struct lb_error err = LB_ERROR_INIT;
	int rc;

	snprintf(text, sizeof(text),
		 "{\"name\": \"%s\", \"backends\": [{\"name\": \"sim\", \"type\": \"openai\", "
		 "\"base_url\": \"http://127.0.0.1:%d/v1\", \"model\": \"m\"}], "
		 "\"dataset\": {\"path\": \"datasets/prompts/llm-questions.txt\", \"limit\": 20}, "
		 "\"generation\": {\"max_tokens\": 4}, \"load\": %s}",
		 name, sim_port(the_sim), load);
	rc = workload_parse(&wl, text, strlen(text), "test.json", NULL, 0, &err);
	if (rc)
		fail_msg("%s", err.msg);
	assert_int_equal(wl.load.workers, 2);
	assert_int_equal(store_open(&st, dbpath, false, &err), 0);
	o.run_name = name;
	o.drain_s = 2;
	o.no_preflight = true;
	rc = runner_run(&wl, st, &o, &res, &err);
	if (rc)
		fail_msg("%s", err.msg);
	store_close(st);
	workload_release(&wl);
	assert_int_equal(res.requests_failed, 0);
	assert_int_equal(res.requests_ok, 100);

	/* every request stored once, all ok; the workers' counts add up; both worked */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) = count(DISTINCT req_id) AND count(*) = 104 AND "
		 "sum(status = 'ok') = 104 FROM requests WHERE run_id = %lld",
		 (long long)res.run_id);
	assert_true(q(sql) == 1);
	snprintf(sql, sizeof(sql),
		 "SELECT sum(value) FROM summaries WHERE run_id = %lld AND metric LIKE "
		 "'worker_requests:%%'",
		 (long long)res.run_id);
	assert_true(q(sql) == 104);
	snprintf(sql, sizeof(sql),
		 "SELECT (SELECT sum(value) FROM summaries WHERE run_id = %lld AND metric LIKE "
		 "'worker_chunks:%%') = (SELECT sum(n_chunks) FROM requests WHERE run_id = %lld)",
		 (long long)res.run_id, (long long)res.run_id);
	assert_true(q(sql) == 1);
	snprintf(sql, sizeof(sql),
		 "SELECT min(value) FROM summaries WHERE run_id = %lld AND metric LIKE "
		 "'worker_requests:%%'",
		 (long long)res.run_id);
	assert_true(q(sql) > 0);
}

static void closed_loop_on_two_workers(void **state)
{
	(void)state;
	run_level("closed", "{\"mode\": \"concurrency\", \"levels\": [8], \"requests\": 100, "
			    "\"warmup\": 4, \"workers\": 2}");
}

static void open_loop_on_two_workers(void **state)
{
	(void)state;
	run_level("open", "{\"mode\": \"rate\", \"levels\": [400], \"requests\": 100, "
			  "\"warmup\": 4, \"workers\": 2, \"lag_bound_ms\": 1000}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(closed_loop_on_two_workers),
		cmocka_unit_test(open_loop_on_two_workers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
