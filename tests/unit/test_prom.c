/* test_prom.c: the Prometheus exposition parser (metrics/prom.c) reads what vLLM, SGLang, TGI,
 * llama-server and the sim send, refuses malformed text with its line, and the name table
 * (metrics/prom_map.c) turns documents into the common figures; histogram quantiles agree
 * with Prometheus' histogram_quantile. */
#include "../../metrics/prom.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static int parse(const char *text, struct prom_doc *d, struct lb_error *err)
{
	return prom_parse(text, strlen(text), d, err);
}

static void parses_types_labels_escapes_and_special_values(void **state)
{
	static const char doc[] =
		"# HELP vllm:num_requests_running Number of requests.\n"
		"# TYPE vllm:num_requests_running gauge\n"
		"vllm:num_requests_running{model_name=\"m\\\"1\\\\x\\ny\",engine=\"0\",} 3\n"
		"\n"
		"# TYPE h histogram\r\n"
		"h_bucket{le=\"0.5\"} 1 1700000000000\n"
		"h_bucket{le=\"+Inf\"} 2\n"
		"h_sum 1.25e0\n"
		"h_count 2 # {trace_id=\"x\"} 1\n"
		"  untyped_metric -Inf\n"
		"nan_metric NaN\n"
		"# EOF\n";
	struct prom_doc d = { 0 };
	struct lb_error err = { 0 };

	(void)state;
	assert_int_equal(parse(doc, &d, &err), 0);
	assert_int_equal(d.n, 7);
	assert_string_equal(d.v[0].name, "vllm:num_requests_running");
	assert_int_equal(d.v[0].type, PROM_GAUGE);
	assert_int_equal(d.v[0].n_labels, 2);
	assert_string_equal(prom_label(&d.v[0], "model_name"), "m\"1\\x\ny");
	assert_string_equal(prom_label(&d.v[0], "engine"), "0");
	assert_null(prom_label(&d.v[0], "nope"));
	assert_true(d.v[0].value == 3);
	assert_int_equal(d.v[1].type, PROM_HISTOGRAM);
	assert_true(d.v[1].has_ts);
	assert_true(d.v[1].ts_ms == 1700000000000LL);
	assert_false(d.v[2].has_ts);
	assert_int_equal(d.v[3].type, PROM_HISTOGRAM); /* h_sum of family h */
	assert_true(d.v[3].value == 1.25);
	assert_true(d.v[4].value == 2);
	assert_int_equal(d.v[5].type, PROM_UNTYPED);
	assert_true(isinf(d.v[5].value) && d.v[5].value < 0);
	assert_true(isnan(d.v[6].value));
	prom_doc_free(&d);
}

static void malformed_text_names_its_line(void **state)
{
	static const struct {
		const char *doc, *msg;
	} bad[] = {
		{ "a 1\nb{x=\"1} 2\n", "line 2: unterminated label value" },
		{ "a 1\n\nc{x=1} 2\n", "line 3: expected '\"' before a label value" },
		{ "1abc 2\n", "line 1: expected a metric name" },
		{ "a{x=\"1\" y=\"2\"} 1\n", "line 1: expected ',' or '}' in a label set" },
		{ "a\n", "line 1: expected a number after the metric" },
		{ "a one\n", "line 1: expected a number after the metric" },
		{ "a 1 12x\n", "line 1: bad timestamp" },
		{ "a 1 12 extra\n", "line 1: unexpected text after the timestamp" },
		{ "a{x=\"\\t\"} 1\n", "line 1: bad escape in a label value (\\\\, \\\" or \\n)" },
		{ "# TYPE a\n", "line 1: # TYPE without a type" },
		{ "a{a:b=\"1\"} 1\n", "line 1: expected '=' after a label name" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct prom_doc d = { 0 };
		struct lb_error err = { 0 };

		assert_int_equal(parse(bad[i].doc, &d, &err), LB_ERR_PARSE);
		assert_string_equal(err.msg, bad[i].msg);
		assert_int_equal(d.n, 0);
		assert_null(d.v);
	}
}

static void caps_hold(void **state)
{
	static char buf[1 << 16];
	struct prom_doc d = { 0 };
	struct lb_error err = { 0 };
	size_t n = 0;
	int i;

	(void)state;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "a{");
	for (i = 0; i < 33; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "l%d=\"v\",", i);
	snprintf(buf + n, sizeof(buf) - n, "} 1\n");
	assert_int_equal(parse(buf, &d, &err), LB_ERR_PARSE);
	assert_string_equal(err.msg, "line 1: more than 32 labels");
	memset(buf, 'x', 300);
	memcpy(buf + 300, " 1\n", 4);
	assert_int_equal(parse(buf, &d, &err), LB_ERR_PARSE);
	assert_string_equal(err.msg, "line 1: name longer than 256 characters");
	assert_int_equal(prom_parse(buf, PROM_MAX_BYTES + 1u, &d, &err), LB_ERR_PARSE);
}

static void vllm_figures_and_hit_rate_over_a_window(void **state)
{
	static const char a[] =
		"vllm:num_requests_running{model_name=\"m\"} 3\n"
		"vllm:num_requests_waiting{model_name=\"m\"} 1\n"
		"vllm:kv_cache_usage_perc{model_name=\"m\"} 0.25\n"
		"vllm:prefix_cache_queries_total{model_name=\"m\"} 100\n"
		"vllm:prefix_cache_hits_total{model_name=\"m\"} 20\n"
		"vllm:time_to_first_token_seconds_bucket{le=\"0.1\"} 10\n"
		"vllm:time_to_first_token_seconds_bucket{le=\"0.2\"} 10\n"
		"vllm:time_to_first_token_seconds_bucket{le=\"+Inf\"} 10\n"
		"vllm:time_to_first_token_seconds_count 10\n"
		"vllm:time_to_first_token_seconds_sum 0.5\n";
	static const char b[] =
		"vllm:num_requests_running{model_name=\"m\"} 2\n"
		"vllm:prefix_cache_queries_total{model_name=\"m\"} 300\n"
		"vllm:prefix_cache_hits_total{model_name=\"m\"} 170\n"
		"vllm:time_to_first_token_seconds_bucket{le=\"0.1\"} 10\n"
		"vllm:time_to_first_token_seconds_bucket{le=\"0.2\"} 30\n"
		"vllm:time_to_first_token_seconds_bucket{le=\"+Inf\"} 30\n";
	struct prom_doc da = { 0 }, db = { 0 };
	struct prom_figures fa, fb;
	struct lb_error err = { 0 };

	(void)state;
	assert_int_equal(parse(a, &da, &err), 0);
	assert_int_equal(parse(b, &db, &err), 0);
	prom_figures(&da, &fa);
	prom_figures(&db, &fb);
	assert_string_equal(fa.server, "vllm");
	assert_true(fa.have[PROM_FIG_RUNNING] && fa.value[PROM_FIG_RUNNING] == 3);
	assert_true(fa.have[PROM_FIG_WAITING] && fa.value[PROM_FIG_WAITING] == 1);
	assert_true(fa.have[PROM_FIG_KV_USAGE] && fa.value[PROM_FIG_KV_USAGE] == 0.25);
	assert_false(fb.have[PROM_FIG_KV_USAGE]); /* absent: unavailable, not 0 */
	assert_false(fa.have[PROM_FIG_BATCH_SIZE]);
	assert_true(fabs(prom_hit_rate(&fa, &fb) - 150.0 / 200.0) < 1e-12);
	assert_true(prom_hit_rate(&fa, &fa) < 0); /* no queries in the window */
	/* all 10 first observations under 0.1 s; in the window, 20 between 0.1 and 0.2 */
	assert_true(fabs(prom_hist_quantile(NULL, &fa.hist[0], 0.5) - 0.05) < 1e-12);
	assert_true(fabs(prom_hist_quantile(&fa.hist[0], &fb.hist[0], 0.5) - 0.15) < 1e-12);
	assert_true(fabs(prom_hist_quantile(NULL, &fb.hist[0], 0.99) - (0.1 + 0.1 * (29.7 - 10) / 20)) < 1e-12);
	assert_true(fa.hist[0].count == 10 && fa.hist[0].sum == 0.5);
	prom_doc_free(&da);
	prom_doc_free(&db);
}

static void llama_server_sglang_and_tgi_names(void **state)
{
	static const char ls[] = "# TYPE llamacpp:prompt_tokens_total counter\n"
				 "llamacpp:prompt_tokens_total 60\n"
				 "llamacpp:prompt_tokens_cached_total 40\n"
				 "llamacpp:requests_processing 2\n"
				 "llamacpp:requests_deferred 0\n"
				 "llamacpp:n_busy_slots_per_decode 1.5\n";
	static const char sg[] = "sglang:num_running_reqs{model_name=\"x\"} 7\n"
				 "sglang:num_queue_reqs{model_name=\"x\"} 2\n"
				 "sglang:token_usage{model_name=\"x\"} 0.5\n"
				 "sglang:cache_hit_rate{model_name=\"x\"} 0.3\n";
	static const char tg[] = "tgi_queue_size 4\ntgi_batch_current_size 8\n";
	struct prom_doc d = { 0 };
	struct prom_figures f, z;
	struct lb_error err = { 0 };

	(void)state;
	assert_int_equal(parse(ls, &d, &err), 0);
	prom_figures(&d, &f);
	prom_doc_free(&d);
	assert_string_equal(f.server, "llama-server");
	assert_true(f.value[PROM_FIG_RUNNING] == 2 && f.value[PROM_FIG_WAITING] == 0);
	assert_true(f.have[PROM_FIG_WAITING]);
	assert_true(f.value[PROM_FIG_BATCH_SIZE] == 1.5);
	assert_false(f.have[PROM_FIG_KV_USAGE]);
	assert_false(f.have[PROM_FIG_TTFT]);
	assert_true(f.have_prefix_counts && f.hits == 40 && f.queries == 100);
	memset(&z, 0, sizeof(z));
	z.have_prefix_counts = true;
	assert_true(fabs(prom_hit_rate(&z, &f) - 0.4) < 1e-12);

	assert_int_equal(parse(sg, &d, &err), 0);
	prom_figures(&d, &f);
	prom_doc_free(&d);
	assert_string_equal(f.server, "sglang");
	assert_true(f.value[PROM_FIG_RUNNING] == 7 && f.value[PROM_FIG_BATCH_SIZE] == 7);
	assert_true(f.value[PROM_FIG_KV_USAGE] == 0.5);
	assert_true(fabs(prom_hit_rate(NULL, &f) - 0.3) < 1e-12);

	assert_int_equal(parse(tg, &d, &err), 0);
	prom_figures(&d, &f);
	prom_doc_free(&d);
	assert_string_equal(f.server, "tgi");
	assert_true(f.value[PROM_FIG_WAITING] == 4 && f.value[PROM_FIG_BATCH_SIZE] == 8);
	assert_true(prom_hit_rate(NULL, &f) < 0);

	assert_int_equal(parse("something_else 1\n", &d, &err), 0);
	prom_figures(&d, &f);
	prom_doc_free(&d);
	assert_string_equal(f.server, "");
	assert_false(f.have[PROM_FIG_RUNNING]);
}

static void every_table_name_is_a_valid_metric_name(void **state)
{
	size_t n, i;
	const struct prom_map *t = prom_map_table(&n);

	(void)state;
	assert_true(n >= 20);
	for (i = 0; i < n; i++) {
		char line[300];
		struct prom_doc d = { 0 };
		struct lb_error err = { 0 };

		snprintf(line, sizeof(line), "%s 1\n", t[i].metric);
		assert_int_equal(parse(line, &d, &err), 0);
		prom_doc_free(&d);
		assert_non_null(prom_map_find(t[i].metric));
		assert_string_not_equal(prom_fig_name(t[i].fig), "?");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_types_labels_escapes_and_special_values),
		cmocka_unit_test(malformed_text_names_its_line),
		cmocka_unit_test(caps_hold),
		cmocka_unit_test(vllm_figures_and_hit_rate_over_a_window),
		cmocka_unit_test(llama_server_sglang_and_tgi_names),
		cmocka_unit_test(every_table_name_is_a_valid_metric_name),
	};
	return cmocka_run_group_tests_name("prom", tests, NULL, NULL);
}
