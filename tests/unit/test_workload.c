/* test_workload.c: workload parsing, validation messages, defaults, the model matrix and --set.
 * Run from the top of the tree (tests/run.sh does): workloads name datasets/prompts/. JSON in
 * this file is written with ' for " (see J()). */
#include "../../harness/workload.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define FILE_NAME "workloads/t.json"
#define BACKEND "{'name': 'sim', 'type': 'openai', 'base_url': 'http://127.0.0.1:8089/v1'}"
#define DATASET "'dataset': {'path': 'datasets/prompts/llm-questions.txt'}"
#define LOAD "'load': {'levels': [1, 4]}"
#define MINIMAL "{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD "}"

static char *J(const char *s)
{
	char *p = strdup(s), *q;

	assert_non_null(p);
	for (q = p; *q; q++)
		if (*q == '\'')
			*q = '"';
	return p;
}

static int parse_sets(const char *json, const char *const *sets, size_t n_sets,
		      struct workload *wl, struct lb_error *err)
{
	char *text = J(json);
	int rc = workload_parse(wl, text, strlen(text), FILE_NAME, sets, n_sets, err);

	free(text);
	return rc;
}

static void ok(const char *json, struct workload *wl)
{
	struct lb_error err = LB_ERROR_INIT;

	if (parse_sets(json, NULL, 0, wl, &err))
		fail_msg("unexpected error: %s", err.msg);
}

/* Parse and expect failure with code and a message holding every fragment (NULL-terminated). */
static void bad_sets(const char *json, const char *const *sets, size_t n_sets, int code, ...)
{
	struct workload wl;
	struct lb_error err = LB_ERROR_INIT;
	const char *frag;
	va_list ap;
	int rc = parse_sets(json, sets, n_sets, &wl, &err);

	if (rc != code)
		fail_msg("expected code %d, got %d: %s", code, rc, err.msg);
	if (strncmp(err.msg, "'" FILE_NAME "': ", strlen(FILE_NAME) + 4))
		fail_msg("message does not start with the file name: %s", err.msg);
	va_start(ap, code);
	while ((frag = va_arg(ap, const char *)))
		if (!strstr(err.msg, frag))
			fail_msg("message '%s' lacks '%s'", err.msg, frag);
	va_end(ap);
	/* an error leaves the workload empty */
	assert_null(wl.name);
	assert_null(wl.backends);
	assert_null(wl.priv);
	workload_release(&wl);
}

#define BAD(json, ...) bad_sets(json, NULL, 0, LB_ERR_USAGE, __VA_ARGS__, NULL)

static void minimal_workload_gets_the_defaults(void **state)
{
	struct workload wl;
	const struct backend_config *b;

	(void)state;
	ok(MINIMAL, &wl);
	assert_string_equal(wl.name, "w");
	assert_null(wl.description);
	assert_string_equal(wl.path, FILE_NAME);
	assert_int_equal(wl.n_backends, 1);
	b = &wl.backends[0].cfg;
	assert_string_equal(b->name, "sim");
	assert_string_equal(b->type, "openai");
	assert_string_equal(b->base_url, "http://127.0.0.1:8089/v1");
	assert_string_equal(b->api, "completions");
	assert_null(b->model);
	assert_null(b->api_key_env);
	assert_true(b->stream);
	assert_true(b->tls_verify);
	assert_string_equal(b->rx_timestamps, "kernel");
	assert_int_equal(b->connect_timeout_ms, 10000);
	assert_int_equal(b->timeout_ms, 600000);
	assert_int_equal(b->n_headers, 0);
	assert_null(wl.backends[0].base_model);
	assert_string_equal(wl.dataset.path, "datasets/prompts/llm-questions.txt");
	assert_string_equal(wl.dataset.format, "lines"); /* from the extension */
	assert_int_equal(wl.dataset.limit, 0);
	assert_false(wl.dataset.shuffle);
	assert_int_equal(wl.gen.max_tokens, 128);
	assert_true(wl.gen.temperature < 0);
	assert_true(wl.gen.top_p < 0);
	assert_int_equal(wl.gen.top_k, 0);
	assert_true(wl.gen.seed < 0);
	assert_int_equal(wl.gen.n_stop, 0);
	assert_string_equal(wl.load.mode, "concurrency");
	assert_int_equal(wl.load.n_levels, 2);
	assert_true(wl.load.levels[0] == 1 && wl.load.levels[1] == 4);
	assert_int_equal(wl.load.requests, 100);
	assert_int_equal(wl.load.warmup, 0);
	assert_true(wl.load.duration_s == 0);
	assert_int_equal(wl.load.repeat, 1);
	assert_null(wl.load.arrival);
	assert_true(wl.load.lag_bound_ms == 1);
	assert_int_equal(wl.load.max_errors, 0);
	assert_true(wl.slo.ttft_ms <= 0 && wl.slo.tpot_ms <= 0 && wl.slo.e2e_ms <= 0);
	assert_null(wl.power_json);
	assert_null(wl.eval_json);
	assert_null(wl.gate_json);
	assert_non_null(strstr(wl.text, "\"name\":\"w\""));
	workload_release(&wl);
	assert_null(wl.name);
	workload_release(&wl); /* twice is harmless */
}

static void every_key_is_read(void **state)
{
	struct workload wl;
	const struct backend_config *b;

	(void)state;
	ok("{'name': 'all', 'description': 'd',"
	   " 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'https://h.example/v1///',"
	   "  'model': 'm', 'api': 'chat', 'api_key_env': 'MY_KEY', 'headers': {'X-A': '1', 'X-B': "
	   "'two'},"
	   "  'stream': false, 'tls_verify': false, 'rx_timestamps': 'harness',"
	   "  'connect_timeout_ms': 500, 'timeout_ms': 9000,"
	   "  'max_body_bytes': 4096, 'max_connections': 3, 'family': 'llama', 'quant': 'q4_0'},"
	   "  {'name': 'b', 'type': 'llamacpp', 'model_path': 'x.gguf', 'threads': 2, 'ctx': 512,"
	   "   'batch': 64, 'parallel': 4}],"
	   " 'dataset': {'path': 'tests/data/dataset-prompts.jsonl', 'limit': 2, 'shuffle': true, "
	   "'seed': 9},"
	   " 'generation': {'max_tokens': 16, 'temperature': 0.5, 'top_p': 0.9, 'top_k': 40, "
	   "'seed': 3,"
	   "  'ignore_eos': true, 'stop': ['\\n\\n', 'END'], 'logprobs': true},"
	   " 'load': {'mode': 'rate', 'levels': [0.5, 2], 'requests': 10, 'warmup': 1, "
	   "'duration_s': 30,"
	   "  'repeat': 2, 'arrival': 'gamma', 'burstiness': 2.5, 'seed': 11, 'lag_bound_ms': 5,"
	   "  'max_errors': 7},"
	   " 'slo': {'ttft_ms': 100, 'tpot_ms': 10, 'e2e_ms': 2000},"
	   " 'power': {'source': 'rapl'}, 'eval': {'kind': 'qa'}, 'gate': {'max_ttft_p99_ms': 5}}",
	   &wl);
	assert_string_equal(wl.description, "d");
	assert_int_equal(wl.n_backends, 2);
	b = &wl.backends[0].cfg;
	assert_string_equal(b->base_url, "https://h.example/v1"); /* trailing slashes dropped */
	assert_string_equal(b->model, "m");
	assert_string_equal(b->api, "chat");
	assert_string_equal(b->api_key_env, "MY_KEY");
	assert_int_equal(b->n_headers, 2);
	assert_string_equal(b->headers[0], "X-A: 1");
	assert_string_equal(b->headers[1], "X-B: two");
	assert_false(b->stream);
	assert_false(b->tls_verify);
	assert_string_equal(b->rx_timestamps, "harness");
	assert_int_equal(b->connect_timeout_ms, 500);
	assert_int_equal(b->timeout_ms, 9000);
	assert_int_equal(b->max_body_bytes, 4096);
	assert_int_equal(b->max_connections, 3);
	assert_string_equal(b->family, "llama");
	assert_string_equal(b->quant, "q4_0");
	b = &wl.backends[1].cfg;
	assert_string_equal(b->type, "llamacpp");
	assert_string_equal(b->model_path, "x.gguf");
	assert_int_equal(b->threads, 2);
	assert_int_equal(b->n_ctx, 512);
	assert_int_equal(b->n_batch, 64);
	assert_int_equal(b->n_parallel, 4);
	assert_string_equal(wl.dataset.format, "jsonl");
	assert_int_equal(wl.dataset.limit, 2);
	assert_true(wl.dataset.shuffle);
	assert_int_equal(wl.dataset.seed, 9);
	assert_int_equal(wl.gen.max_tokens, 16);
	assert_true(wl.gen.temperature == 0.5);
	assert_true(wl.gen.top_p == 0.9);
	assert_int_equal(wl.gen.top_k, 40);
	assert_int_equal(wl.gen.seed, 3);
	assert_true(wl.gen.ignore_eos);
	assert_true(wl.gen.logprobs);
	assert_int_equal(wl.gen.n_stop, 2);
	assert_string_equal(wl.gen.stop[0], "\n\n");
	assert_string_equal(wl.gen.stop[1], "END");
	assert_string_equal(wl.load.mode, "rate");
	assert_true(wl.load.levels[0] == 0.5);
	assert_int_equal(wl.load.requests, 10);
	assert_int_equal(wl.load.warmup, 1);
	assert_true(wl.load.duration_s == 30);
	assert_int_equal(wl.load.repeat, 2);
	assert_string_equal(wl.load.arrival, "gamma");
	assert_true(wl.load.burstiness == 2.5);
	assert_int_equal(wl.load.seed, 11);
	assert_true(wl.load.lag_bound_ms == 5);
	assert_int_equal(wl.load.max_errors, 7);
	assert_true(wl.slo.ttft_ms == 100 && wl.slo.tpot_ms == 10 && wl.slo.e2e_ms == 2000);
	assert_string_equal(wl.power_json, "{\"source\":\"rapl\"}");
	assert_string_equal(wl.eval_json, "{\"kind\":\"qa\"}");
	assert_string_equal(wl.gate_json, "{\"max_ttft_p99_ms\":5}");
	workload_release(&wl);
}

static void rate_mode_defaults_to_poisson_and_duration_drops_the_request_default(void **state)
{
	struct workload wl;

	(void)state;
	ok("{'name': 'w', 'backends': [" BACKEND "], " DATASET
	   ", 'load': {'mode': 'rate', 'levels': [4], 'duration_s': 10}}",
	   &wl);
	assert_string_equal(wl.load.arrival, "poisson");
	assert_int_equal(wl.load.requests, 0);
	assert_true(wl.load.duration_s == 10);
	workload_release(&wl);
	ok("{'name': 'w', 'backends': [" BACKEND "], " DATASET
	   ", 'load': {'mode': 'rate', 'levels': 4, 'arrival': 'constant'}}",
	   &wl);
	assert_string_equal(wl.load.arrival, "constant");
	assert_int_equal(wl.load.n_levels, 1); /* a single number is one level */
	assert_int_equal(wl.load.requests, 100);
	workload_release(&wl);
}

static void shipped_workloads_load(void **state)
{
	static const char *const files[] = { "workloads/smoke.json", "workloads/chat-slo.json",
					     "workloads/llama-server.json" };
	struct lb_error err = LB_ERROR_INIT;
	struct workload wl;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (workload_load(&wl, files[i], NULL, 0, &err))
			fail_msg("%s: %s", files[i], err.msg);
		workload_release(&wl);
	}
	assert_int_equal(workload_load(&wl, "workloads/smoke.json", NULL, 0, &err), 0);
	assert_string_equal(wl.name, "smoke");
	assert_string_equal(wl.backends[0].cfg.base_url, "http://127.0.0.1:8089/v1");
	assert_string_equal(wl.backends[0].cfg.model, "sim-model");
	assert_int_equal(wl.dataset.limit, 40);
	assert_int_equal(wl.gen.max_tokens, 32);
	assert_true(wl.gen.temperature == 0);
	assert_int_equal(wl.load.requests, 40);
	assert_int_equal(wl.load.warmup, 2);
	assert_int_equal(wl.load.n_levels, 2);
	workload_release(&wl);
	assert_int_equal(workload_load(&wl, "workloads/chat-slo.json", NULL, 0, &err), 0);
	assert_string_equal(wl.backends[0].cfg.api, "chat");
	assert_string_equal(wl.load.mode, "rate");
	assert_string_equal(wl.load.arrival, "poisson");
	assert_true(wl.slo.ttft_ms > 0);
	workload_release(&wl);
}

static void unknown_key_names_key_file_and_valid_keys(void **state)
{
	(void)state;
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET
	    ", 'load': {'levle': [1], 'levels': [1]}}",
	    "'" FILE_NAME "': unknown key 'levle' in load (valid: mode, levels, requests, warmup, "
	    "duration_s, repeat, arrival, burstiness, seed, lag_bound_ms, max_errors, max_error_rate, "
	    "warmup_s, cooldown, max_inflight, overflow, ramp_up_s, ramp, stagger_ms, sweep_points, search, cancel, sessions, workers)");
	BAD("{'nmae': 'w'}",
	    "unknown key 'nmae' at the top level (valid: name, description, "
	    "backends, models, dataset, generation, load, slo, power, eval, gate, perplexity, server_metrics)");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://x', "
	    "'base_ulr': 'y'}], " DATASET ", " LOAD "}",
	    "unknown key 'base_ulr' in backends[0] (valid: name, type, base_url, model, api, ");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD ", 'slo': {'ttft': 1}}",
	    "unknown key 'ttft' in slo (valid: ttft_ms, tpot_ms, e2e_ms)");
	BAD("{'name': 'w', 'backends': [" BACKEND "], 'dataset': {'path': 'x', 'fromat': 'lines'}, "
	    LOAD "}",
	    "unknown key 'fromat' in dataset (valid: path, format, limit, shuffle, seed, token_ids, reference_lengths)");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD
	    ", 'generation': {'max_token': 1}}",
	    "unknown key 'max_token' in generation (valid: max_tokens, ");
	BAD("{'name': 'w', 'models': [{'family': 'f', 'base': 'b', 'quants': ['f16'], 'quant': "
	    "1}], " DATASET ", " LOAD "}",
	    "unknown key 'quant' in models[0] (valid: family, base, quants, name, ");
}

static void duplicate_key_is_an_error(void **state)
{
	(void)state;
	BAD("{'name': 'w', 'name': 'v'}", "duplicate key 'name' at the top level");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET
	    ", 'load': {'levels': [1], 'levels': [2]}}",
	    "duplicate key 'levels' in load");
}

static void wrong_type_says_what_is_expected(void **state)
{
	(void)state;
	BAD("{'name': 5}", "name: expected a string, got 5");
	BAD("{'name': 'w', 'backends': {}}",
	    "backends: expected an array of backend objects, got an object");
	BAD("{'name': 'w', 'backends': [5]}", "backends[0]: expected an object, got 5");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://x', "
	    "'stream': 'yes'}], " DATASET ", " LOAD "}",
	    "backends[0].stream: expected true or false, got a string");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'levels': [1], "
	    "'requests': '10'}}",
	    "load.requests: expected a non-negative integer, got a string");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'levels': 'all'}}",
	    "load.levels: expected an array of numbers, got a string");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD ", 'slo': []}",
	    "slo: expected an object, got an array");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD ", 'power': 'rapl'}",
	    "power: expected an object, got a string");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD
	    ", 'generation': {'stop': [1]}}",
	    "generation.stop[0]: expected a non-empty string, got 1");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD
	    ", 'generation': {'stop': {}}}",
	    "generation.stop: expected a string or an array of strings, got an object");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://x', "
	    "'headers': {'X-A': 1}}], " DATASET ", " LOAD "}",
	    "backends[0].headers.X-A: expected a string, got 1");
	BAD("[1, 2]", "expected a JSON object at the top level, got an array");
}

static void missing_required_field_is_named(void **state)
{
	(void)state;
	BAD("{'backends': [" BACKEND "]}", "name is required");
	BAD("{'name': 'w'}", "backends is required");
	BAD("{'name': 'w', 'backends': []}", "backends is empty: at least one backend is needed");
	BAD("{'name': 'w', 'backends': [{'type': 'openai', 'base_url': 'http://x'}]}",
	    "backends[0].name is required");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'base_url': 'http://x'}]}",
	    "backends[0].type is required");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai'}], " DATASET ", " LOAD "}",
	    "backends[0].base_url is required for type openai");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'llamacpp'}], " DATASET ", " LOAD "}",
	    "backends[0].model_path is required for type llamacpp");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " LOAD "}", "dataset is required");
	BAD("{'name': 'w', 'backends': [" BACKEND "], 'dataset': {'format': 'lines'}, " LOAD "}",
	    "dataset.path is required");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET "}", "load is required");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'mode': 'rate'}}",
	    "load.levels is required");
	BAD("{'name': 'w', 'models': [{'family': 'f', 'base': 'b'}], " DATASET ", " LOAD "}",
	    "models[0].quants is required");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'mode': 'rate', "
	    "'levels': [1], 'arrival': 'gamma'}}",
	    "load.burstiness is required with arrival gamma");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'levels': [1], "
	    "'requests': 0}}",
	    "load: nothing ends a level: give requests > 0 or duration_s > 0");
}

static void malformed_json_names_line_and_column(void **state)
{
	(void)state;
	bad_sets("{\n  'name': 'w',\n  'load': {'levels': [1,, 2]}\n}", NULL, 0, LB_ERR_PARSE,
		 "'" FILE_NAME "': malformed JSON at line 3, column 25", NULL);
	bad_sets("{'name': 'w'", NULL, 0, LB_ERR_PARSE, "malformed JSON at line 1, column",
		 "unexpected end of the file", NULL);
	bad_sets("", NULL, 0, LB_ERR_PARSE, "malformed JSON at line 1, column 1", NULL);
	bad_sets("{'name': 'w'} {}", NULL, 0, LB_ERR_PARSE, "malformed JSON at line 1, column 15",
		 NULL);
}

static void nul_byte_is_malformed(void **state)
{
	struct workload wl;
	struct lb_error err = LB_ERROR_INIT;
	const char text[] = "{\"name\":\n \"w\0\"}";

	(void)state;
	assert_int_equal(workload_parse(&wl, text, sizeof(text) - 1, FILE_NAME, NULL, 0, &err),
			 LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "line 2, column 4: a NUL byte"));
}

static void bad_enum_value_lists_the_valid_ones(void **state)
{
	(void)state;
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'vllm', 'base_url': 'http://x'}]}",
	    "backends[0].type: unknown value 'vllm' (valid: openai, llamacpp)");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://x', "
	    "'api': 'responses'}]}",
	    "backends[0].api: unknown value 'responses' (valid: completions, chat)");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://x', "
	    "'rx_timestamps': 'nic'}]}",
	    "backends[0].rx_timestamps: unknown value 'nic' (valid: kernel, harness)");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'mode': 'open', "
	    "'levels': [1]}}",
	    "load.mode: unknown value 'open' (valid: concurrency, rate, sweep, sla, trace, sessions, session_rate)");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'mode': 'rate', "
	    "'levels': [1], 'arrival': 'bursty'}}",
	    "load.arrival: unknown value 'bursty' (valid: constant, poisson, gamma)");
	BAD("{'name': 'w', 'models': [{'family': 'llama', 'base': 'b.gguf', 'quants': ['q4_0', "
	    "'q4']}], " DATASET ", " LOAD "}",
	    "models[0].quants[1]: unknown quantization 'q4' (valid: f32, f16, bf16, q8_0, q6_k, "
	    "q5_k_m, q5_k_s, q5_0, q4_k_m, q4_k_s, q4_0, q3_k_m, q2_k)");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'ftp://x'}]}",
	    "backends[0].base_url: expected a URL starting with http:// or https://, got "
	    "'ftp://x'");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://'}]}",
	    "backends[0].base_url: the URL 'http://' has no host");
}

static void negative_and_out_of_range_numbers_are_refused(void **state)
{
	(void)state;
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'levels': [1], "
	    "'requests': -5}}",
	    "load.requests: expected a non-negative integer, got -5");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'levels': [1, -2]}}",
	    "load.levels[1]: expected a positive integer concurrency (at most 100000), got -2");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'levels': [1.5]}}",
	    "load.levels[0]: expected a positive integer concurrency (at most 100000), got 1.5");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'levels': []}}",
	    "load.levels: expected a non-empty array of numbers");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'mode': 'rate', "
	    "'levels': [0]}}",
	    "load.levels[0]: expected a rate in requests per second from 0.001 (one request every "
	    "1000 s) to 1e6, got 0");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'mode': 'rate', "
	    "'levels': [2, 1e-300]}}",
	    "load.levels[1]: expected a rate in requests per second from 0.001 (one request every "
	    "1000 s) to 1e6, got 1e-300");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'levels': [1], "
	    "'repeat': 0}}",
	    "load.repeat: expected a positive integer, got 0");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'levels': [1], "
	    "'duration_s': -1}}",
	    "load.duration_s: expected a non-negative number, got -1");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'mode': 'rate', "
	    "'levels': [1], 'arrival': 'gamma', 'burstiness': 0}}",
	    "load.burstiness: expected a positive number, got 0");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD
	    ", 'slo': {'ttft_ms': -1}}",
	    "slo.ttft_ms: expected a positive number, got -1");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD
	    ", 'generation': {'top_p': 1.5}}",
	    "generation.top_p: expected a number > 0 and <= 1, got 1.5");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD
	    ", 'generation': {'max_tokens': 1e12}}",
	    "generation.max_tokens: 1e+12 is too large (at most 2147483647)");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://x', "
	    "'timeout_ms': 0}]}",
	    "backends[0].timeout_ms: expected a positive integer, got 0");
	BAD("{'name': 'w', 'backends': [" BACKEND "], 'dataset': {'path': 'x', 'limit': -1}}",
	    "dataset.limit: expected a non-negative integer, got -1");
}

static void options_that_do_not_apply_are_refused(void **state)
{
	(void)state;
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'levels': [1], "
	    "'arrival': 'poisson'}}",
	    "load.arrival applies to mode rate only");
	BAD("{'name': 'w', 'backends': [" BACKEND "], " DATASET ", 'load': {'mode': 'rate', "
	    "'levels': [1], 'burstiness': 2}}",
	    "load.burstiness applies to arrival gamma only");
}

static void duplicate_backend_names_are_refused(void **state)
{
	(void)state;
	BAD("{'name': 'w', 'backends': [" BACKEND ", " BACKEND "]}",
	    "duplicate backend name 'sim' (backends[0] and backends[1])");
	BAD("{'name': 'w', 'backends': [{'name': 'llama-q4_0', 'type': 'openai', 'base_url': "
	    "'http://x'}], 'models': [{'family': 'llama', 'base': 'b.gguf', 'quants': ['q4_0']}]}",
	    "duplicate backend name 'llama-q4_0' (backends[0] and models[0].quants[0])");
	BAD("{'name': 'w', 'models': [{'family': 'llama', 'base': 'b.gguf', 'quants': ['q4_0', "
	    "'q4_0']}]}",
	    "models[0].quants[1]: 'q4_0' is listed twice");
}

static void api_key_in_the_file_is_refused(void **state)
{
	(void)state;
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://x', "
	    "'api_key': 'sk-secret'}]}",
	    "backends[0].api_key: a key does not belong in a workload file", "api_key_env");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://x', "
	    "'api_key_env': 'sk-secret-123'}]}",
	    "backends[0].api_key_env: expected the name of an environment variable");
}

static void api_key_messages_never_echo_the_key(void **state)
{
	struct workload wl;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_not_equal(
		parse_sets("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', "
			   "'base_url': 'http://x', 'api_key_env': 'sk-secret-123'}]}",
			   NULL, 0, &wl, &err),
		0);
	assert_null(strstr(err.msg, "sk-secret"));
}

static void unknown_dataset_format_lists_the_known_ones(void **state)
{
	(void)state;
	BAD("{'name': 'w', 'backends': [" BACKEND "], 'dataset': {'path': "
	    "'datasets/prompts/llm-questions.txt', 'format': 'csv'}, " LOAD "}",
	    "dataset.format: unknown format 'csv' (valid: lines, jsonl, sharegpt, synthetic, qa, theory, trace, sessions)");
}

static void missing_dataset_file_names_both_tried_paths(void **state)
{
	(void)state;
	BAD("{'name': 'w', 'backends': [" BACKEND "], 'dataset': {'path': 'nope/prompts.txt'}, "
	    LOAD "}",
	    "dataset.path: no such file 'nope/prompts.txt' (tried 'nope/prompts.txt' from the "
	    "current directory and 'workloads/nope/prompts.txt' beside the workload)");
}

static void dataset_path_resolves_beside_the_workload(void **state)
{
	struct workload wl;
	struct lb_error err = LB_ERROR_INIT;
	char *text = J("{'name': 'w', 'backends': [" BACKEND "], 'dataset': {'path': "
		       "'dataset-prompts.jsonl'}, " LOAD "}");

	(void)state;
	assert_int_equal(
		workload_parse(&wl, text, strlen(text), "tests/data/w.json", NULL, 0, &err), 0);
	assert_string_equal(wl.dataset.path, "tests/data/dataset-prompts.jsonl");
	assert_string_equal(wl.dataset.format, "jsonl");
	workload_release(&wl);
	free(text);
}

static void model_matrix_expands_one_backend_per_quant(void **state)
{
	struct workload wl;
	const struct backend_config *b;

	(void)state;
	ok("{'name': 'm', 'backends': [" BACKEND "], 'models': ["
	   " {'family': 'llama', 'base': 'models/llama-f16.gguf', 'quants': ['f16', 'q8_0', "
	   "'q4_0'],"
	   "  'threads': 2, 'ctx': 1024, 'batch': 128, 'parallel': 4},"
	   " {'family': 'mistral', 'name': 'mis', 'base': 'm.gguf', 'quants': "
	   "['q4_k_m']}], " DATASET ", " LOAD "}",
	   &wl);
	assert_int_equal(wl.n_backends, 5);
	assert_string_equal(wl.backends[0].cfg.name, "sim");
	b = &wl.backends[1].cfg;
	assert_string_equal(b->name, "llama-f16");
	assert_string_equal(b->type, "llamacpp");
	assert_string_equal(b->family, "llama");
	assert_string_equal(b->quant, "f16");
	assert_null(b->model_path);
	assert_string_equal(wl.backends[1].base_model, "models/llama-f16.gguf");
	assert_int_equal(b->threads, 2);
	assert_int_equal(b->n_ctx, 1024);
	assert_int_equal(b->n_batch, 128);
	assert_int_equal(b->n_parallel, 4);
	assert_string_equal(wl.backends[2].cfg.name, "llama-q8_0");
	assert_string_equal(wl.backends[3].cfg.name, "llama-q4_0");
	assert_string_equal(wl.backends[3].cfg.quant, "q4_0");
	assert_string_equal(wl.backends[4].cfg.name, "mis-q4_k_m");
	assert_string_equal(wl.backends[4].cfg.family, "mistral");
	assert_string_equal(wl.backends[4].base_model, "m.gguf");
	assert_int_equal(wl.backends[4].cfg.threads, 0);
	workload_release(&wl);
	/* models alone are enough */
	ok("{'name': 'm', 'models': [{'family': 'falcon', 'base': 'f.gguf', 'quants': ['q8_0']}], "
	   DATASET ", " LOAD "}",
	   &wl);
	assert_int_equal(wl.n_backends, 1);
	assert_string_equal(wl.backends[0].cfg.name, "falcon-q8_0");
	workload_release(&wl);
}

static void set_overrides_number_string_array_and_index(void **state)
{
	static const char *const sets[] = {
		"load.requests=10",
		"backends.0.base_url=http://127.0.0.1:9000/v1",
		"load.levels=[1,4,16]",
		"generation.stop=[\"a\",\"b\"]",
		"backends.0.model=7b", /* not valid JSON: a string */
		"backends.0.stream=false",
		"slo.ttft_ms=250",	 /* a section that was absent */
		"dataset.limit=5",
		"name=\"quoted\"",
	};
	struct workload wl;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	if (parse_sets(MINIMAL, sets, sizeof(sets) / sizeof(sets[0]), &wl, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(wl.load.requests, 10);
	assert_string_equal(wl.backends[0].cfg.base_url, "http://127.0.0.1:9000/v1");
	assert_int_equal(wl.load.n_levels, 3);
	assert_true(wl.load.levels[2] == 16);
	assert_int_equal(wl.gen.n_stop, 2);
	assert_string_equal(wl.backends[0].cfg.model, "7b");
	assert_false(wl.backends[0].cfg.stream);
	assert_true(wl.slo.ttft_ms == 250);
	assert_int_equal(wl.dataset.limit, 5);
	assert_string_equal(wl.name, "quoted");
	/* the effective JSON is what is stored with the run */
	assert_non_null(strstr(wl.text, "\"requests\":10"));
	assert_non_null(strstr(wl.text, "\"base_url\":\"http://127.0.0.1:9000/v1\""));
	assert_non_null(strstr(wl.text, "\"levels\":[1,4,16]"));
	assert_non_null(strstr(wl.text, "\"slo\":{\"ttft_ms\":250}"));
	workload_release(&wl);
}

static void set_index_in_an_array_and_null_removes(void **state)
{
	static const char *const sets[] = { "load.levels.1=8", "load.requests=null",
					    "load.duration_s=5" };
	struct workload wl;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	if (parse_sets(MINIMAL, sets, 3, &wl, &err))
		fail_msg("%s", err.msg);
	assert_true(wl.load.levels[0] == 1 && wl.load.levels[1] == 8);
	assert_int_equal(wl.load.requests, 0); /* removed: the duration ends each level */
	workload_release(&wl);
}

static void set_with_a_bad_path_is_an_error(void **state)
{
	static const char *const missing_index[] = { "backends.3.base_url=http://x" };
	static const char *const not_index[] = { "backends.first.base_url=http://x" };
	static const char *const through_scalar[] = { "name.first=x" };
	static const char *const no_value[] = { "load.requests" };
	static const char *const empty_part[] = { "load..requests=1" };
	static const char *const typo[] = { "load.reqests=10" };
	static const char *const wrong_type[] = { "load.requests=ten" };

	(void)state;
	bad_sets(MINIMAL, missing_index, 1, LB_ERR_USAGE,
		 "--set backends.3.base_url: backends has no element 3 (it has 1)", NULL);
	bad_sets(MINIMAL, not_index, 1, LB_ERR_USAGE,
		 "--set backends.first.base_url: backends is an array: expected an index", NULL);
	bad_sets(MINIMAL, through_scalar, 1, LB_ERR_USAGE,
		 "--set name.first: name is a string, not an object or an array", NULL);
	bad_sets(MINIMAL, no_value, 1, LB_ERR_USAGE, "--set 'load.requests': expected key=value",
		 NULL);
	bad_sets(MINIMAL, empty_part, 1, LB_ERR_USAGE, "--set load..requests: empty part", NULL);
	bad_sets(MINIMAL, typo, 1, LB_ERR_USAGE, "unknown key 'reqests' in load", NULL);
	bad_sets(MINIMAL, wrong_type, 1, LB_ERR_USAGE,
		 "load.requests: expected a non-negative integer, got a string", NULL);
}

static void missing_and_oversized_files(void **state)
{
	struct workload wl;
	struct lb_error err = LB_ERROR_INIT;
	char path[] = "/tmp/llmbench-test-workload.XXXXXX";
	char want[96];
	int fd;
	FILE *f;

	(void)state;
	assert_int_equal(workload_load(&wl, "workloads/no-such.json", NULL, 0, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "cannot open workload 'workloads/no-such.json'"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)WORKLOAD_MAX_BYTES, SEEK_SET), 0);
	assert_int_equal(fputc(' ', f), ' ');
	assert_int_equal(fclose(f), 0);
	assert_int_equal(workload_load(&wl, path, NULL, 0, &err), LB_ERR_USAGE);
	snprintf(want, sizeof(want), "larger than the limit of %u bytes", WORKLOAD_MAX_BYTES);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, path));
	remove(path);
}

static void headers_and_stop_are_bounded(void **state)
{
	char json[4096];
	size_t off;
	int i;

	(void)state;
	off = (size_t)snprintf(json, sizeof(json),
			       "{'name': 'w', 'backends': [" BACKEND "], " DATASET ", " LOAD
			       ", 'generation': {'stop': [");
	for (i = 0; i <= BACKEND_MAX_STOP; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s'%d'", i ? "," : "", i);
	snprintf(json + off, sizeof(json) - off, "]}}");
	BAD(json, "generation.stop: more than 8 stop strings");
	off = (size_t)snprintf(json, sizeof(json),
			       "{'name': 'w', 'backends': [{'name': 'a', 'type': "
			       "'openai', 'base_url': 'http://x', 'headers': {");
	for (i = 0; i <= BACKEND_MAX_HEADERS; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s'X-%d': 'v'",
					i ? "," : "", i);
	snprintf(json + off, sizeof(json) - off, "}}]}");
	BAD(json, "backends[0].headers: more than 16 headers");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://x', "
	    "'headers': {'Bad Name': 'v'}}]}",
	    "backends[0].headers.Bad Name: 'Bad Name' is not a valid HTTP header name");
	BAD("{'name': 'w', 'backends': [{'name': 'a', 'type': 'openai', 'base_url': 'http://x', "
	    "'headers': {'X-A': 'v\\r\\nX-Injected: 1'}}]}",
	    "backends[0].headers.X-A: the value holds a control character");
}

static void eval_only_workload_needs_no_dataset(void **state)
{
	struct workload wl;

	(void)state;
	ok("{'name': 'e', 'backends': [" BACKEND "], " LOAD ", 'eval': {'kind': 'perplexity'}}",
	   &wl);
	assert_null(wl.dataset.path);
	assert_string_equal(wl.eval_json, "{\"kind\":\"perplexity\"}");
	workload_release(&wl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_workload_gets_the_defaults),
		cmocka_unit_test(every_key_is_read),
		cmocka_unit_test(
			rate_mode_defaults_to_poisson_and_duration_drops_the_request_default),
		cmocka_unit_test(shipped_workloads_load),
		cmocka_unit_test(unknown_key_names_key_file_and_valid_keys),
		cmocka_unit_test(duplicate_key_is_an_error),
		cmocka_unit_test(wrong_type_says_what_is_expected),
		cmocka_unit_test(missing_required_field_is_named),
		cmocka_unit_test(malformed_json_names_line_and_column),
		cmocka_unit_test(nul_byte_is_malformed),
		cmocka_unit_test(bad_enum_value_lists_the_valid_ones),
		cmocka_unit_test(negative_and_out_of_range_numbers_are_refused),
		cmocka_unit_test(options_that_do_not_apply_are_refused),
		cmocka_unit_test(duplicate_backend_names_are_refused),
		cmocka_unit_test(api_key_in_the_file_is_refused),
		cmocka_unit_test(api_key_messages_never_echo_the_key),
		cmocka_unit_test(unknown_dataset_format_lists_the_known_ones),
		cmocka_unit_test(missing_dataset_file_names_both_tried_paths),
		cmocka_unit_test(dataset_path_resolves_beside_the_workload),
		cmocka_unit_test(model_matrix_expands_one_backend_per_quant),
		cmocka_unit_test(set_overrides_number_string_array_and_index),
		cmocka_unit_test(set_index_in_an_array_and_null_removes),
		cmocka_unit_test(set_with_a_bad_path_is_an_error),
		cmocka_unit_test(missing_and_oversized_files),
		cmocka_unit_test(headers_and_stop_are_bounded),
		cmocka_unit_test(eval_only_workload_needs_no_dataset),
	};
	return cmocka_run_group_tests_name("workload", tests, NULL, NULL);
}
