/* test_prom_scrape.c: the scraper (metrics/prom_scrape.c) against a real `llmbench sim` served
 * in-process: figures equal the sim's truth, the scraper thread keeps scraping at its interval,
 * an unreachable, a 404 and a malformed endpoint give failed scrapes with the reason and
 * summaries that say "unavailable", and scrapes land in a real store (store_prom.c). */
#include "../../backends/sim.h"
#include "../../metrics/prom_scrape.h"
#include "../../metrics/store_prom.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
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
static char base[64];

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
	cfg.ttft_ms = 5;
	cfg.itl_ms = 1;
	cfg.out_min = cfg.out_max = 3;
	cfg.prefix_ms_per_block = 1;
	cfg.prefix_block_tokens = 2;
	if (sim_open(&the_sim, &cfg, &err))
		return -1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", sim_port(the_sim));
	return pthread_create(&sim_thread, NULL, serve, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	sim_interrupt(the_sim);
	pthread_join(sim_thread, NULL);
	sim_close(the_sim);
	curl_global_cleanup();
	return 0;
}

static void post(const char *prompt)
{
	char url[128], body[256];
	CURL *h = curl_easy_init();
	FILE *devnull = fopen("/dev/null", "w");

	snprintf(url, sizeof(url), "%s/v1/completions", base);
	snprintf(body, sizeof(body), "{\"prompt\": \"%s\", \"stream\": true}", prompt);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_cleanup(h);
	fclose(devnull);
}

static void scrapes_give_the_sims_truth(void **state)
{
	struct prom_scrape_cfg cfg = { 0 };
	struct prom_scrape a, b;
	char url[128];

	(void)state;
	snprintf(url, sizeof(url), "%s/metrics", base);
	cfg.url = url;
	prom_scrape_once(&cfg, &a);
	assert_true(a.ok);
	post("a b c d");
	post("a b c d e f");
	prom_scrape_once(&cfg, &b);
	assert_true(b.ok);
	assert_string_equal(b.fig.server, "vllm");
	assert_true(b.fig.have[PROM_FIG_RUNNING] && b.fig.value[PROM_FIG_RUNNING] == 0);
	assert_true(b.fig.have[PROM_FIG_KV_USAGE] && b.fig.value[PROM_FIG_KV_USAGE] == 0);
	/* queries 4 + 6 tokens, hits: the second request's 2 leading blocks of 2 tokens */
	assert_true(b.fig.queries - a.fig.queries == 10);
	assert_true(b.fig.hits - a.fig.hits == 4);
	assert_true(fabs(prom_hit_rate(&a.fig, &b.fig) - 0.4) < 1e-12);
	assert_true(b.fig.hist[0].count - a.fig.hist[0].count == 2);
	prom_scrape_release(&a);
	prom_scrape_release(&b);
}

static void the_thread_scrapes_at_its_interval_and_summaries_follow(void **state)
{
	struct prom_scrape_cfg cfg = { 0 };
	struct prom_scraper *s;
	struct prom_summary sum;
	struct lb_error err = LB_ERROR_INIT;
	const struct prom_scrape *v;
	uint64_t t0;
	size_t n, i;
	char url[128];

	(void)state;
	snprintf(url, sizeof(url), "%s/metrics", base);
	cfg.url = url;
	cfg.interval_ms = 50;
	assert_int_equal(prom_scraper_start(&s, &cfg, &err), 0);
	t0 = prom_scraper_scrapes(s, &n)[0].t_ns + 1;
	for (i = 0; i < 5; i++)
		post("x y z w v u");
	usleep(300 * 1000);
	prom_scraper_stop(s);
	v = prom_scraper_scrapes(s, &n);
	assert_true(n >= 4); /* first + about 6 in 300 ms on a loaded machine + last */
	for (i = 0; i < n; i++)
		assert_true(v[i].ok);
	prom_summarize(v, n, t0, v[n - 1].t_ns, &sum);
	assert_true(sum.n_ok >= 2);
	assert_string_equal(sum.server, "vllm");
	assert_true(sum.ok[PROM_SUM_RUNNING_MAX] && sum.value[PROM_SUM_RUNNING_MAX] <= 1);
	/* 5 identical 6-token prompts after the earlier test's: all 3 blocks hit each time */
	assert_true(sum.ok[PROM_SUM_PREFIX_HIT_RATE]);
	assert_true(sum.value[PROM_SUM_PREFIX_HIT_RATE] >= 24.0 / 30 - 1e-9);
	assert_true(sum.ok[PROM_SUM_TTFT_P50]);
	assert_true(sum.n[PROM_SUM_TTFT_P50] == 5);
	/* TTFT 5 ms minus 3 cached blocks * 1 ms = 2 ms: in vLLM's (1, 5] ms bucket */
	assert_true(sum.value[PROM_SUM_TTFT_P50] > 1 && sum.value[PROM_SUM_TTFT_P50] <= 5);
	assert_false(sum.ok[PROM_SUM_BATCH_MEAN]);
	assert_non_null(strstr(sum.reason[PROM_SUM_BATCH_MEAN], "exposes no batch_size metric"));
	prom_scraper_free(s);
}

static void bad_endpoints_are_unavailable_with_the_reason(void **state)
{
	struct prom_scrape_cfg cfg = { 0 };
	struct prom_scrape sc;
	struct prom_summary sum;
	char url[128];

	(void)state;
	snprintf(url, sizeof(url), "%s/nope", base);
	cfg.url = url;
	prom_scrape_once(&cfg, &sc);
	assert_false(sc.ok);
	assert_non_null(strstr(sc.reason, "HTTP 404"));
	prom_summarize(&sc, 1, 0, UINT64_MAX, &sum);
	assert_false(sum.ok[PROM_SUM_RUNNING_MEAN]);
	assert_non_null(strstr(sum.reason[PROM_SUM_KV_MAX], "no successful scrape"));
	assert_non_null(strstr(sum.reason[PROM_SUM_KV_MAX], "HTTP 404"));
	prom_scrape_release(&sc);

	snprintf(url, sizeof(url), "%s/health", base); /* JSON, not an exposition */
	prom_scrape_once(&cfg, &sc);
	assert_false(sc.ok);
	assert_string_equal(sc.reason, "malformed exposition: line 1: expected a metric name");
	prom_scrape_release(&sc);

	cfg.url = "http://127.0.0.1:9/metrics"; /* discard port: nothing listens */
	cfg.timeout_ms = 1000;
	prom_scrape_once(&cfg, &sc);
	assert_false(sc.ok);
	assert_true(sc.reason[0] != 0);
	prom_scrape_release(&sc);
}

struct count {
	int n;
	double v;
};

static int count_rows(void *ctx, const struct store_row *row)
{
	struct count *c = ctx;

	c->n++;
	c->v = row->num[0];
	return 0;
}

static void scrapes_are_stored_with_series(void **state)
{
	char dir[] = "/tmp/llmbench-test-prom.XXXXXX", path[600], cmd[700];
	struct prom_scrape_cfg cfg = { 0 };
	struct prom_scrape ok, bad;
	struct lb_error err = LB_ERROR_INIT;
	struct store *st;
	struct store_run sr = { 0 };
	struct count c = { 0 };
	int64_t run;
	char url[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.db", dir);
	assert_int_equal(store_open(&st, path, false, &err), 0);
	sr.name = "prom";
	sr.workload_name = "w";
	assert_int_equal(store_run_begin(st, &sr, &run, NULL, &err), 0);
	snprintf(url, sizeof(url), "%s/metrics", base);
	cfg.url = url;
	prom_scrape_once(&cfg, &ok);
	cfg.url = "http://127.0.0.1:9/metrics";
	prom_scrape_once(&cfg, &bad);
	assert_int_equal(store_server_scrape_add(st, run, 0, 7, url, &ok, &err), 0);
	assert_int_equal(store_server_scrape_add(st, run, 0, 7, cfg.url, &bad, &err), 0);
	assert_int_equal(store_flush(st, &err), 0);
	assert_int_equal(store_query(st, "SELECT ok FROM server_scrapes WHERE level_id = 7 AND "
					 "reason IS NOT NULL",
				     NULL, 0, count_rows, &c, &err),
			 0);
	assert_int_equal(c.n, 1);
	assert_true(c.v == 0);
	c.n = 0;
	assert_int_equal(store_query(st, "SELECT value FROM series WHERE series = "
					 "'server:vllm:num_requests_running{model_name=\"llmbench-sim\"}'",
				     NULL, 0, count_rows, &c, &err),
			 0);
	assert_int_equal(c.n, 1);
	assert_true(c.v == 0);
	store_close(st);
	prom_scrape_release(&ok);
	prom_scrape_release(&bad);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scrapes_give_the_sims_truth),
		cmocka_unit_test(the_thread_scrapes_at_its_interval_and_summaries_follow),
		cmocka_unit_test(bad_endpoints_are_unavailable_with_the_reason),
		cmocka_unit_test(scrapes_are_stored_with_series),
	};
	return cmocka_run_group_tests_name("prom_scrape", tests, setup, teardown);
}
