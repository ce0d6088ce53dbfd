/* test_report.c: the report module: field table, formatting, loading with repetitions folded,
 * the knee, and the fixture store the golden/CLI tests use.
 *
 * `test_report --make-db PATH [--variant a|b|both|plain|matrix] [--requests N]` writes a fixture store
 * (through the store API) and exits: variant a is the golden run "golden-a", b a second run
 * "golden-b" for compare, N > 0 a large run for scripts/bench-report.sh. */
#include "../../base/alloc.h"
#include "../../metrics/record.h"
#include "../../metrics/store.h"
#include "../../reports/fields.h"
#include "../../reports/headline.h"
#include "../../reports/plot.h"
#include "../../reports/query.h"
#include "../../reports/writer.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define MS 1000000ull

/* ---- the fixture ---- */

struct fx_backend {
	const char *name, *model, *family, *quant;
	double speed;	/* relative decode speed */
	double size_mib;
};

static const struct fx_backend fx_a[] = {
	{ "llama-f16", "tiny-llama", "llama", "F16", 1.0, 58.0 },
	{ "llama-q4_0", "tiny-llama", "llama", "Q4_0", 1.9, 17.5 },
	{ "falcon-q8_0", "tiny-falcon", "falcon", "Q8_0", 1.4, 33.0 },
};
static const struct fx_backend fx_b[] = {
	{ "llama-f16", "tiny-llama", "llama", "F16", 0.9, 58.0 },
	{ "llama-q4_0", "tiny-llama", "llama", "Q4_0", 2.0, 17.5 },
	{ "mistral-q4_k_m", "tiny-mistral", "mistral", "Q4_K_M", 1.7, 20.1 },
};

/* Variant "matrix": 3 families x 3 quantizations, as the demo's (falcon's F16 is dominated by
 * llama's: slower, same loss, larger). */
static const struct fx_backend fx_m[] = {
	{ "llama-f16", "tiny-llama", "llama", "F16", 1.0, 58.0 },
	{ "llama-q8_0", "tiny-llama", "llama", "Q8_0", 1.5, 31.0 },
	{ "llama-q4_0", "tiny-llama", "llama", "Q4_0", 1.9, 17.5 },
	{ "falcon-f16", "tiny-falcon", "falcon", "F16", 0.9, 60.0 },
	{ "falcon-q8_0", "tiny-falcon", "falcon", "Q8_0", 1.4, 33.0 },
	{ "falcon-q4_0", "tiny-falcon", "falcon", "Q4_0", 4.8, 18.0 },
	{ "mistral-f16", "tiny-mistral", "mistral", "F16", 1.1, 59.0 },
	{ "mistral-q8_0", "tiny-mistral", "mistral", "Q8_0", 1.6, 30.0 },
	{ "mistral-q4_0", "tiny-mistral", "mistral", "Q4_0", 2.1, 16.9 },
};

static int put(struct store *st, int64_t run, int64_t be, int64_t lv, const char *metric,
	       double v, double n, const char *unit, const char *prov)
{
	struct store_summary sm = { .run_id = run, .backend_id = be, .level_id = lv, .metric = metric,
				    .has_value = true, .value = v, .n = n, .unit = unit,
				    .provenance = prov };
	struct lb_error err = LB_ERROR_INIT;

	if (store_summary_put(st, &sm, &err)) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int put_na(struct store *st, int64_t run, int64_t be, int64_t lv, const char *metric,
		  const char *unit, const char *note)
{
	struct store_summary sm = { .run_id = run, .backend_id = be, .level_id = lv, .metric = metric,
				    .has_value = false, .n = -1, .unit = unit, .note = note };
	struct lb_error err = LB_ERROR_INIT;

	if (store_summary_put(st, &sm, &err)) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* Latency stats with a shape: mean m, spread s. */
static int put_lat(struct store *st, int64_t run, int64_t be, int64_t lv, const char *x, double m,
		   double s, double n)
{
	static const struct {
		const char *suf;
		double k;
	} q[] = { { "mean", 0 }, { "sd", -1 }, { "min", -1.2 }, { "p50", -0.1 }, { "p90", 1.3 },
		  { "p95", 1.7 },  { "p99", 2.4 }, { "p999", 3.1 }, { "max", 3.3 } };
	char name[64];
	size_t i;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		double v = !strcmp(q[i].suf, "sd") ? s : m + q[i].k * s;

		snprintf(name, sizeof(name), "%s_%s_ms", x, q[i].suf);
		if (put(st, run, be, lv, name, v, n, "ms", "events"))
			return -1;
	}
	return 0;
}

static int add_request(struct store *st, int64_t run, int64_t be, int64_t lv, uint64_t id,
		       uint64_t t0, double ttft_ms, double gap_ms, int n_chunks, bool warm, bool fail)
{
	struct lb_reqrec r;
	struct lb_error err = LB_ERROR_INIT;
	uint64_t t;
	int k, rc;

	reqrec_init(&r, id, false);
	r.backend_id = be;
	r.level_id = lv;
	r.seq = (long)id;
	r.item_idx = (long)(id % 7);
	r.warmup = warm;
	r.t_scheduled_ns = t0;
	r.t_send_ns = t0;
	r.done = true;
	if (fail) {
		r.fail = LB_FAIL_HTTP;
		r.http_status = 503;
		snprintf(r.err_msg, sizeof(r.err_msg), "HTTP 503 Service Unavailable");
		r.t_end_ns = t0 + 5 * MS;
	} else {
		r.chunk_t_ns = lb_malloc((size_t)n_chunks * sizeof(*r.chunk_t_ns));
		r.chunk_n = lb_malloc((size_t)n_chunks * sizeof(*r.chunk_n));
		if (!r.chunk_t_ns || !r.chunk_n)
			return -1;
		r.chunk_alloc = (uint32_t)n_chunks;
		t = t0 + (uint64_t)(ttft_ms * 1e6);
		r.t_first_ns = t;
		for (k = 0; k < n_chunks; k++) {
			r.chunk_t_ns[k] = t;
			r.chunk_n[k] = k % 5 == 4 ? 2 : 1;
			t += (uint64_t)((gap_ms + 0.37 * (k % 3)) * 1e6);
		}
		r.n_chunks = (uint32_t)n_chunks;
		r.t_end_ns = r.chunk_t_ns[n_chunks - 1] + 200000;
		r.n_in = 32 + (int32_t)(id % 5);
		r.n_out = n_chunks + n_chunks / 5;
		r.n_in_src = "usage";
		r.n_out_src = "usage";
		snprintf(r.finish_reason, sizeof(r.finish_reason), "length");
	}
	rc = store_request_add(st, run, &r, &err);
	if (rc)
		fprintf(stderr, "fixture: %s\n", err.msg);
	reqrec_release(&r);
	return rc;
}

static double w_of(double c, uint64_t dt_ns)
{
	return 20 + 2 * c + 3 * sin((double)dt_ns / 7e6);
}

/* One run of the fixture. big > 0: that many requests, spread over the levels. */
static int fx_run(struct store *st, const char *name, const struct fx_backend *bes, size_t n_be,
		  double lat_scale, long big)
{
	static const double levels[] = { 1, 4, 16 };
	const int n_levels = big ? 5 : 3;
	struct lb_error err = LB_ERROR_INIT;
	struct store_run r = {
		.name = name,
		.workload_name = "golden",
		.workload_path = "tests/golden/golden.json",
		.workload_json = "{\"name\":\"golden\",\"load\":{\"mode\":\"concurrency\",\"levels\":[1,4,16],"
				 "\"requests\":4,\"warmup\":1},\"backends\":[{\"type\":\"llamacpp\"}]}",
		.host = "golden-host",
		.version = "golden-version",
		.machine_json = "{\"cpu\":\"Test CPU @ 2.0GHz\",\"cores\":2,\"memory_gib\":24}",
	};
	const char *params[1];
	char idbuf[32];
	int64_t run, be_ids[16];
	uint64_t t = 1000ull * 1000 * MS, id = 0;
	long per_level = 4;
	size_t b;
	int li, rep, i;

	if (store_run_begin(st, &r, &run, NULL, &err))
		goto fail;
	if (big)
		per_level = big / (long)(n_be * (size_t)n_levels);
	for (b = 0; b < n_be; b++) {
		struct store_backend sb = { .name = bes[b].name, .type = "llamacpp", .model = bes[b].model,
					    .family = bes[b].family, .quant = bes[b].quant,
					    .config_json = "{}" };

		if (store_backend_add(st, run, &sb, &be_ids[b], &err))
			goto fail;
	}
	for (b = 0; b < n_be; b++) {
		const struct fx_backend *fb = &bes[b];

		for (li = 0; li < n_levels; li++) {
			double c = big ? (double)(1 << li) : levels[li];
			int reps = !big && b == 0 && li == 0 ? 2 : 1;

			for (rep = 0; rep < reps; rep++) {
				struct store_level lv = { .idx = li, .rep = rep, .mode = "concurrency",
							  .value = c };
				int64_t lid;
				double ttft = lat_scale * (8 + 3 * c) / fb->speed + rep * 0.8;
				double gap = lat_scale * (9 + 0.6 * c) / fb->speed;
				double tput = c * 1000 / (gap * (1 + c / 24)) * (1 + 0.02 * rep);
				bool invalid = !big && b == 2 && li == 2;
				bool energy = b == 0;
				long n_ok = 0;

				if (store_level_begin(st, run, be_ids[b], &lv, &lid, &err))
					goto fail;
				if (add_request(st, run, be_ids[b], lid, id++, t, ttft, gap, 8, true, false))
					return -1;
				for (i = 0; i < per_level; i++) {
					bool fail = !big && b == 1 && li == 1 && i == 3;
					int nch = big ? 64 : 6 + i;

					if (add_request(st, run, be_ids[b], lid, id++, t + (uint64_t)i * 3 * MS,
							ttft + 1.5 * i, gap + 0.1 * i, nch, false, fail))
						return -1;
					n_ok += !fail;
				}
				if (store_level_end(st, lid, "done", !invalid,
						    invalid ? "p99 schedule lag 120 ms exceeds 50 ms" : NULL,
						    &err))
					goto fail;
				if (put_lat(st, run, be_ids[b], lid, "ttft", ttft, ttft / 8, n_ok) ||
				    put_lat(st, run, be_ids[b], lid, "tpot", gap * 0.97, gap / 12, n_ok) ||
				    put_lat(st, run, be_ids[b], lid, "itl", gap, gap / 9, n_ok * 6) ||
				    put_lat(st, run, be_ids[b], lid, "e2e", ttft + 7 * gap, gap, n_ok) ||
				    put(st, run, be_ids[b], lid, "requests_ok", (double)n_ok, -1, "count", "store") ||
				    put(st, run, be_ids[b], lid, "requests_failed", (double)(per_level - n_ok), -1,
					"count", "store") ||
				    put(st, run, be_ids[b], lid, "requests_warmup", 1, -1, "count", "store") ||
				    put(st, run, be_ids[b], lid, "duration_s", n_ok * 8 * gap / c / 1000, -1, "s",
					"events") ||
				    put_na(st, run, be_ids[b], lid, "offered_rate", "req/s",
					   "unavailable: closed loop (fixed concurrency)") ||
				    put(st, run, be_ids[b], lid, "achieved_rate", tput / 8, n_ok, "req/s", "events") ||
				    put(st, run, be_ids[b], lid, "request_throughput", tput / 8, n_ok, "req/s",
					"events") ||
				    put(st, run, be_ids[b], lid, "output_token_throughput", tput, n_ok, "tok/s",
					"usage") ||
				    put(st, run, be_ids[b], lid, "total_token_throughput", tput * 5, n_ok, "tok/s",
					"usage") ||
				    put_na(st, run, be_ids[b], lid, "goodput", "req/s",
					   "unavailable: the workload sets no SLO") ||
				    put(st, run, be_ids[b], lid, "prompt_tokens_mean", 34, n_ok, "tokens", "usage") ||
				    put(st, run, be_ids[b], lid, "output_tokens_mean", 8.5, n_ok, "tokens", "usage") ||
				    put(st, run, be_ids[b], lid, "decode_speed_mean", 1000 / gap, n_ok, "tok/s",
					"events") ||
				    put(st, run, be_ids[b], lid, "harness_cpu_s", 0.05 * (li + 1), -1, "s",
					"getrusage") ||
				    put(st, run, be_ids[b], lid, "harness_peak_rss_mib", 21.5, -1, "MiB",
					"getrusage"))
					return -1;
				if (!big && b == 1 && li == 1 &&
				    put(st, run, be_ids[b], lid, "requests_failed_http_503", 1, -1, "count", "store"))
					return -1;
				if (energy) {
					double w = 20 + 2 * c;
					double e = w * n_ok * 8 * gap / c / 1000;

					if (put(st, run, be_ids[b], lid, "energy_j", e, -1, "J", "rapl:package-0") ||
					    put(st, run, be_ids[b], lid, "power_avg_w", w, -1, "W", "rapl:package-0") ||
					    put(st, run, be_ids[b], lid, "j_per_output_token", e / (n_ok * 8.5), -1,
						"J/token", "rapl:package-0") ||
					    put(st, run, be_ids[b], lid, "tokens_per_j", n_ok * 8.5 / e, -1, "token/J",
						"rapl:package-0"))
						return -1;
				} else if (put_na(st, run, be_ids[b], lid, "energy_j", "J",
						  "unavailable: RAPL energy_uj is readable by root only (EACCES)") ||
					   put_na(st, run, be_ids[b], lid, "j_per_output_token", "J/token",
						  "unavailable: RAPL energy_uj is readable by root only (EACCES)")) {
					return -1;
				}
				if (energy && !big) {
					uint64_t tt;

					for (tt = t; tt < t + 60 * MS; tt += 10 * MS)
						if (store_series_add(st, run, be_ids[b], lid, "power_w", tt,
								     w_of(c, tt - t), &err))
							goto fail;
				}
				t += 100 * MS;
			}
		}
		/* backend-wide quality figures */
		if (!big) {
			double ppl = (fb->family[0] == 'f' ? 14.2 : 11.8) * (1 + 0.08 * (fb->speed - 1));

			if (put(st, run, be_ids[b], 0, "ppl", ppl, 2048, "", "llama-perplexity method, n_ctx 128") ||
			    put(st, run, be_ids[b], 0, "ppl_err", ppl * 0.021, 2048, "", "llama-perplexity method") ||
			    put(st, run, be_ids[b], 0, "bpb", log2(ppl) / 3.9, 2048, "bits/byte", "tokenizer:test") ||
			    put(st, run, be_ids[b], 0, "model_size_mib", fb->size_mib, -1, "MiB", "gguf file size") ||
			    put(st, run, be_ids[b], 0, "qa_correct", 0.42 + 0.02 * (double)b, 50, "fraction",
				"regex-graded") ||
			    put(st, run, be_ids[b], 0, "qa_correct_lo", 0.30 + 0.02 * (double)b, 50, "fraction",
				"wilson 95%") ||
			    put(st, run, be_ids[b], 0, "qa_correct_hi", 0.56 + 0.02 * (double)b, 50, "fraction",
				"wilson 95%") ||
			    put(st, run, be_ids[b], 0, "qa_hallucination_rate", 0.31 - 0.03 * (double)b, 50,
				"fraction", "regex-graded") ||
			    put(st, run, be_ids[b], 0, "mc2", 0.5 + 0.04 * (double)b, 40, "fraction",
				"loglik, synthetic model") ||
			    put(st, run, be_ids[b], 0, "custom_score", 3.25 + (double)b, 10, "points",
				"a metric the field table does not know"))
				return -1;
			if (!strcmp(fb->quant, "F16")) {
				if (put_na(st, run, be_ids[b], 0, "kld_mean", "nats",
					   "unavailable: this is the base precision"))
					return -1;
			} else if (put(st, run, be_ids[b], 0, "kld_mean", 0.011 * fb->speed, 2048, "nats",
				       "base: llama-f16") ||
				   put(st, run, be_ids[b], 0, "kld_err", 0.0007 * fb->speed, 2048, "nats",
				       "base: llama-f16")) {
				return -1;
			}
		}
	}
	if (store_run_end(st, run, "done", NULL, &err))
		goto fail;
	/* wall-clock times would defeat golden files */
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)run);
	params[0] = idbuf;
	if (store_exec(st, "UPDATE runs SET started_at = '2024-05-01T10:00:00Z',"
			   " ended_at = '2024-05-01T10:02:03Z' WHERE id = ?",
		       params, 1, &err))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "fixture: %s\n", err.msg);
	return -1;
}

/* Variant "plain": one run "plain", one backend without family or quantization labels, two
 * concurrency levels (1 and 2), TTFT tightly around 50 ms (49..51), no power source. */
static int fx_plain(struct store *st)
{
	struct lb_error err = LB_ERROR_INIT;
	struct store_run r = {
		.name = "plain",
		.workload_name = "plain",
		.workload_path = "plain.json",
		.workload_json = "{\"name\":\"plain\",\"load\":{\"mode\":\"concurrency\","
				 "\"levels\":[1,2],\"requests\":21}}",
		.host = "golden-host",
		.version = "golden-version",
	};
	struct store_backend sb = { .name = "server", .type = "openai", .model = "m",
				    .config_json = "{}" };
	uint64_t t = 1000ull * 1000 * MS, id = 0;
	int64_t run, be, lid;
	int li, i;

	if (store_run_begin(st, &r, &run, NULL, &err) || store_backend_add(st, run, &sb, &be, &err))
		goto fail;
	for (li = 0; li < 2; li++) {
		struct store_level lv = { .idx = li, .mode = "concurrency", .value = li + 1 };
		double tput = 150.0 * (li + 1) * 0.9;

		if (store_level_begin(st, run, be, &lv, &lid, &err))
			goto fail;
		for (i = 0; i < 21; i++)
			if (add_request(st, run, be, lid, id++, t + (uint64_t)i * 60 * MS,
					49 + 0.1 * i, 6.5, 8, false, false))
				return -1;
		if (store_level_end(st, lid, "done", true, NULL, &err))
			goto fail;
		if (put_lat(st, run, be, lid, "ttft", 50, 0.6, 21) ||
		    put_lat(st, run, be, lid, "tpot", 6.5, 0.2, 21) ||
		    put(st, run, be, lid, "requests_ok", 21, -1, "count", "store") ||
		    put(st, run, be, lid, "requests_failed", 0, -1, "count", "store") ||
		    put(st, run, be, lid, "request_throughput", tput / 8, 21, "req/s", "events") ||
		    put(st, run, be, lid, "output_token_throughput", tput, 21, "tok/s", "usage") ||
		    put_na(st, run, be, lid, "energy_j", "J",
			   "unavailable: the workload has no power source") ||
		    put_na(st, run, be, lid, "j_per_output_token", "J/token",
			   "unavailable: the workload has no power source"))
			return -1;
		t += 2000 * MS;
	}
	if (store_run_end(st, run, "done", NULL, &err))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "fixture: %s\n", err.msg);
	return -1;
}

static int fixture_make(const char *path, const char *variant, long big)
{
	struct store *st = NULL;
	struct lb_error err = LB_ERROR_INIT;
	int rc;

	unlink(path);
	if (store_open(&st, path, false, &err)) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		return -1;
	}
	store_set_commit_policy(st, 4096, 5000);
	if (big)
		rc = fx_run(st, "bench", fx_a, 2, 1.0, big);
	else if (!strcmp(variant, "plain"))
		rc = fx_plain(st);
	else if (!strcmp(variant, "matrix"))
		rc = fx_run(st, "matrix", fx_m, 9, 1.0, 0);
	else {
		rc = 0;
		if (strcmp(variant, "b"))
			rc = fx_run(st, "golden-a", fx_a, 3, 1.0, 0);
		if (!rc && strcmp(variant, "a"))
			rc = fx_run(st, "golden-b", fx_b, 3, 1.12, 0);
	}
	if (!rc && store_flush(st, &err)) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		rc = -1;
	}
	store_close(st);
	return rc;
}

/* ---- tests ---- */

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
	return buf;
}

static void fmt_num_is_stable(void **state)
{
	char b[64];

	(void)state;
	assert_string_equal(fields_fmt_num(b, sizeof(b), 12345.6, FIELD_REAL), "12346");
	assert_string_equal(fields_fmt_num(b, sizeof(b), 123.456, FIELD_REAL), "123.5");
	assert_string_equal(fields_fmt_num(b, sizeof(b), 12.3456, FIELD_REAL), "12.35");
	assert_string_equal(fields_fmt_num(b, sizeof(b), 0.12345, FIELD_REAL), "0.123");
	assert_string_equal(fields_fmt_num(b, sizeof(b), 0.0012345, FIELD_REAL), "1.23e-03");
	assert_string_equal(fields_fmt_num(b, sizeof(b), 0, FIELD_REAL), "0.000");
	assert_string_equal(fields_fmt_num(b, sizeof(b), 7, FIELD_INT), "7");
	assert_string_equal(fields_fmt_num(b, sizeof(b), -0.0001, FIELD_REAL), "-1.00e-04");
	assert_string_equal(fields_fmt_exact(b, sizeof(b), 0.1), "0.1");
	assert_string_equal(fields_fmt_exact(b, sizeof(b), 3), "3");
}

static void fields_order_and_unknown_names(void **state)
{
	struct field_desc tmp;
	const struct field_desc *f;
	size_t base;

	(void)state;
	assert_true(fields_cmp("ttft_p50_ms", "ttft_p99_ms") < 0);
	assert_true(fields_cmp("ttft_p99_ms", "tpot_mean_ms") < 0);
	assert_true(fields_cmp("ppl", "zzz_unknown") < 0);
	assert_true(fields_cmp("ppl", "ppl_err") < 0);
	assert_true(fields_cmp("ppl_err", "bpb") < 0);
	f = fields_lookup("ttft_p50_ms", &tmp);
	assert_string_equal(f->vllm, "median_ttft_ms");
	f = fields_lookup("e2e_p99_ms", &tmp);
	assert_string_equal(f->vllm, "p99_e2el_ms");
	f = fields_lookup("requests_ok", &tmp);
	assert_string_equal(f->vllm, "completed");
	f = fields_lookup("my_new_metric", &tmp);
	assert_ptr_equal(f, &tmp);
	assert_string_equal(f->group, "other");
	assert_true(f->in_table);
	f = fields_lookup("requests_failed_http_429", &tmp);
	assert_string_equal(f->group, "requests");
	assert_int_equal(f->type, FIELD_INT);
	f = fields_lookup("qa_f_lo", &tmp);
	assert_string_equal(f->group, "qa");
	assert_false(f->in_table);
	assert_true(fields_is_companion("kld_err", &base));
	assert_int_equal(base, 3);
	assert_false(fields_is_companion("ttft_sd_ms", &base));
}

static void formats_parse(void **state)
{
	struct lb_error err = LB_ERROR_INIT;
	unsigned f = 0;

	(void)state;
	assert_int_equal(report_parse_formats("md,csv", &f, &err), 0);
	assert_int_equal(f, REPORT_FMT_MD | REPORT_FMT_CSV);
	assert_int_equal(report_parse_formats("all", &f, &err), 0);
	assert_int_equal(f, REPORT_FMT_ALL);
	assert_int_equal(report_parse_formats("md,pdf", &f, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "'pdf'"));
	assert_int_equal(report_parse_formats("", &f, &err), LB_ERR_USAGE);
}

static void knee_of_a_saturating_curve(void **state)
{
	/* throughput saturates while latency climbs: the knee is where latency starts to run */
	double x[] = { 100, 380, 700, 900, 950, 960 };
	double y[] = { 10, 11, 13, 20, 60, 200 };
	double flat_x[] = { 1, 2, 3 }, flat_y[] = { 5, 5, 5 };
	double noisy_y[] = { 82.07, 82.2, 82.57, 82.4 };

	(void)state;
	assert_int_equal(plot_knee(x, y, 6), 3);
	assert_int_equal(plot_knee(x, y, 2), -1);
	assert_int_equal(plot_knee(flat_x, flat_y, 3), -1);
	/* p99 between 82.07 and 82.57 ms: noise, not a knee */
	assert_int_equal(plot_knee(x, noisy_y, 4), -1);
}

static void cell_text_says_unavailable_never_zero(void **state)
{
	struct report_cell c = { .kind = REPORT_CELL_UNAVAILABLE, .sd = NAN, .err = NAN, .lo = NAN,
				 .hi = NAN, .note = "unavailable: no SLO" };
	struct field_desc tmp;
	const struct field_desc *f = fields_lookup("goodput", &tmp);
	char b[128];

	(void)state;
	assert_string_equal(report_cell_text(&c, f, b, sizeof(b)), "unavailable");
	assert_string_equal(report_note_reason(c.note), "no SLO");
	c.kind = REPORT_CELL_NUM;
	c.v = 12.5;
	c.sd = 0.25;
	c.n_reps = 3;
	assert_string_equal(report_cell_text(&c, f, b, sizeof(b)), "12.50 ± 0.250");
	c.n_reps = 1;
	c.lo = 10;
	c.hi = 14;
	assert_string_equal(report_cell_text(&c, f, b, sizeof(b)), "12.50 [10.00, 14.00]");
}

static struct store *open_fixture(const char *variant)
{
	struct store *st = NULL;
	struct lb_error err = LB_ERROR_INIT;
	char name[64];

	snprintf(name, sizeof(name), "fx-%s.db", variant);
	assert_int_equal(fixture_make(tmp_path(name), variant, 0), 0);
	assert_int_equal(store_open(&st, tmp_path(name), true, &err), 0);
	return st;
}

static const struct headline_backend *hl_find(const struct headline *h, const char *label)
{
	size_t i;

	for (i = 0; i < h->n_b; i++)
		if (!strcmp(h->b[i].label, label))
			return &h->b[i];
	fail_msg("no backend %s in the headline", label);
	return NULL;
}

static const struct headline_point *pt_find(const struct headline *h, const char *label)
{
	size_t i;

	for (i = 0; i < h->n_pts; i++)
		if (!strcmp(h->b[h->pts[i].b].label, label))
			return &h->pts[i];
	fail_msg("no point %s in the decision view", label);
	return NULL;
}

/* The headline: peak level, best and worst per column (by direction), invalid levels with
 * their reason, and the decision view with its bound and one sentence per family. */
static void headline_answers_first(void **state)
{
	struct store *st = open_fixture("a");
	struct report_data d;
	struct headline h;
	struct headline_opts o = { NAN, NAN };
	struct lb_error err = LB_ERROR_INIT;
	const struct headline_backend *f16, *q4, *fal;

	(void)state;
	assert_int_equal(report_data_load(&d, st, NULL, 0, &err), 0);
	assert_int_equal(headline_build(&h, &d, &o, &err), 0);
	assert_int_equal(h.n_b, 3);
	f16 = hl_find(&h, "llama-f16");
	q4 = hl_find(&h, "llama-q4_0");
	fal = hl_find(&h, "falcon-q8_0");
	/* falcon's level 16 is invalid: its peak is the valid level 4 */
	assert_string_equal(fal->at, "concurrency=4");
	assert_string_equal(q4->at, "concurrency=16");
	assert_int_equal(q4->mark[HL_TOKS], 1);	 /* higher throughput is better */
	assert_int_equal(fal->mark[HL_TOKS], -1);
	assert_int_equal(fal->mark[HL_TTFT99], 1); /* lower latency is better */
	assert_int_equal(f16->mark[HL_TTFT99], -1);
	assert_int_equal(q4->mark[HL_FAIL], -1);	 /* one 503 of 12 */
	assert_true(fabs(q4->v[HL_FAIL] - 1.0 / 12) < 1e-9);
	assert_true(h.col[HL_JPT]);		 /* llama-f16 measured energy */
	assert_true(isnan(q4->v[HL_JPT]));
	assert_int_equal(h.n_inv, 1);
	assert_string_equal(h.inv[0].text, "p99 schedule lag 120 ms exceeds 50 ms");
	/* the decision view: KLD, default bound, sizes as the third axis */
	assert_int_equal(h.n_pts, 3);
	assert_string_equal(h.loss_short, "KLD");
	assert_true(h.bound == HEADLINE_DEFAULT_MAX_KLD);
	assert_string_equal(h.third_name, "size (MiB)");
	assert_true(pt_find(&h, "llama-f16")->base);
	assert_false(pt_find(&h, "llama-q4_0")->dominated);
	assert_int_equal(h.n_sentences, 2);
	assert_non_null(strstr(h.sentences[0], "llama: Q4_0 is the smallest quantization within KLD"));
	headline_release(&h);
	/* a tighter bound: nothing of llama fits */
	o.max_kld = 0.018;
	assert_int_equal(headline_build(&h, &d, &o, &err), 0);
	assert_non_null(strstr(h.sentences[0], "llama: no quantization is within KLD <= 0.018"));
	headline_release(&h);
	/* perplexity ratio asked alone */
	o.max_kld = NAN;
	o.max_ppl_ratio = 1.1;
	assert_int_equal(headline_build(&h, &d, &o, &err), 0);
	assert_string_equal(h.loss_short, "ppl ratio");
	assert_true(fabs(pt_find(&h, "llama-q4_0")->loss - (12.65 / 11.8 - 1)) < 0.01);
	headline_release(&h);
	report_data_release(&d);
	store_close(st);
}

/* Timing caveats (docs/METRICS.md "Chunk timing"): a level with most chunk gaps 0, or most
 * chunks timed by the harness's clock, is listed with what it means; the others are not. */
static void headline_timing_caveats(void **state)
{
	struct store *st = NULL;
	struct report_data d;
	struct headline h;
	struct headline_opts o = { NAN, NAN };
	struct lb_error err = LB_ERROR_INIT;
	size_t i, n_zero = 0, n_harness = 0, n_runq = 0;

	(void)state;
	assert_int_equal(fixture_make(tmp_path("fx-cav.db"), "a", 0), 0);
	assert_int_equal(store_open(&st, tmp_path("fx-cav.db"), false, &err), 0);
	/* every level of llama-q4_0: 8 of 10 gaps are 0; of llama-f16: 9 of 10 chunks by the
	 * harness; falcon: 2 of 10 gaps, 1 of 10 chunks (no caveat) */
	assert_int_equal(
		store_exec(st,
			   "INSERT INTO summaries (run_id, backend_id, level_id, metric, value, n)"
			   " SELECT l.run_id, l.backend_id, l.id, m.metric,"
			   "  CASE WHEN b.name = 'llama-q4_0' AND m.metric = 'itl_zero_gaps' THEN 8"
			   "   WHEN b.name = 'llama-f16' AND m.metric = 'chunks_harness' THEN 9"
			   "   WHEN m.metric = 'itl_zero_gaps' THEN 2 ELSE 1 END, 10"
			   " FROM levels l JOIN backends b ON b.id = l.backend_id,"
			   " (SELECT 'itl_zero_gaps' AS metric UNION ALL SELECT 'chunks_harness') m",
			   NULL, 0, &err),
		0);
	/* falcon-q8_0's levels: its scheduler thread waited 0.3 s of a 1 s window (0.5 s CPU,
	 * busy 80%): a caveat; the others' 0.02 s of 1 s: none */
	assert_int_equal(
		store_exec(st,
			   "INSERT INTO summaries (run_id, backend_id, level_id, metric, value, n)"
			   " SELECT l.run_id, l.backend_id, l.id, m.metric, CASE m.metric"
			   "  WHEN 'harness_loop_cpu_s' THEN 0.5 WHEN 'harness_runq_wait_s' THEN"
			   "  (CASE WHEN b.name = 'falcon-q8_0' THEN 0.3 ELSE 0.02 END)"
			   "  ELSE (CASE WHEN b.name = 'falcon-q8_0' THEN 80 ELSE 52 END) END, -1"
			   " FROM levels l JOIN backends b ON b.id = l.backend_id,"
			   " (SELECT 'harness_loop_cpu_s' AS metric UNION ALL SELECT"
			   "  'harness_runq_wait_s' UNION ALL SELECT 'harness_busy_pct') m",
			   NULL, 0, &err),
		0);
	assert_int_equal(store_flush(st, &err), 0);
	assert_int_equal(report_data_load(&d, st, NULL, 0, &err), 0);
	assert_int_equal(headline_build(&h, &d, &o, &err), 0);
	assert_true(h.n_cav > 0);
	for (i = 0; i < h.n_cav; i++) {
		if (!strcmp(h.cav[i].label, "llama-q4_0")) {
			assert_non_null(strstr(h.cav[i].text, "80% of its chunk gaps are 0"));
			assert_null(strstr(h.cav[i].text, "harness"));
			n_zero++;
		} else if (!strcmp(h.cav[i].label, "falcon-q8_0")) {
			assert_non_null(strstr(h.cav[i].text, "waited for a CPU 30% of the level"));
			n_runq++;
		} else {
			assert_string_equal(h.cav[i].label, "llama-f16");
			assert_non_null(strstr(h.cav[i].text, "90% of its chunks were timed by the "
							      "harness's clock"));
			n_harness++;
		}
	}
	assert_true(n_zero > 0 && n_harness > 0 && n_runq > 0);
	headline_release(&h);
	report_data_release(&d);
	store_close(st);
}

/* Two runs: the slower copy of a choice is dominated (greyed); families group per run. */
static void headline_pareto_dominated(void **state)
{
	struct store *st = open_fixture("both");
	struct report_data d;
	struct headline h;
	struct headline_opts o = { NAN, NAN };
	struct lb_error err = LB_ERROR_INIT;
	const char *runs[] = { "golden-a", "golden-b" };

	(void)state;
	assert_int_equal(report_data_load(&d, st, runs, 2, &err), 0);
	assert_int_equal(headline_build(&h, &d, &o, &err), 0);
	assert_true(pt_find(&h, "golden-b/llama-f16")->dominated);
	assert_false(pt_find(&h, "golden-a/llama-f16")->dominated);
	/* b's Q4_0 is slower (latency scale 1.12) with a higher KLD (0.022 > 0.0209) */
	assert_true(pt_find(&h, "golden-b/llama-q4_0")->dominated);
	assert_false(pt_find(&h, "golden-a/llama-q4_0")->dominated);
	headline_release(&h);
	report_data_release(&d);
	store_close(st);
}

/* The 3 x 3 matrix: a point dominated across families, one sentence per family. */
static void headline_matrix(void **state)
{
	struct store *st = open_fixture("matrix");
	struct report_data d;
	struct headline h;
	struct headline_opts o = { NAN, NAN };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(report_data_load(&d, st, NULL, 0, &err), 0);
	assert_int_equal(headline_build(&h, &d, &o, &err), 0);
	assert_int_equal(h.n_pts, 9);
	assert_int_equal(h.n_sentences, 3);
	assert_true(pt_find(&h, "falcon-f16")->dominated); /* by llama-f16 */
	assert_false(pt_find(&h, "llama-f16")->dominated);
	/* falcon Q4_0: KLD 0.011 * 4.8 = 0.053, outside 0.05: Q8_0 is falcon's answer */
	assert_false(pt_find(&h, "falcon-q4_0")->within);
	assert_non_null(strstr(h.sentences[1], "falcon: Q8_0 is the smallest quantization within"));
	assert_non_null(strstr(h.sentences[0], "llama: Q4_0 is the smallest"));
	headline_release(&h);
	report_data_release(&d);
	store_close(st);
}

/* A run without family and quantization labels has a headline and no decision view. */
/* Near ties: within 1% of the best shares its mark; a column all within 1% marks nothing. */
static void set_ttft99(struct report_data *d, const char *backend, double v)
{
	size_t i, k;

	for (i = 0; i < d->n_rows; i++)
		for (k = 0; k < d->rows[i].n_m; k++)
			if (d->rows[i].backend && !strcmp(d->rows[i].backend, backend) &&
			    !strcmp(d->rows[i].m[k].name, "ttft_p99_ms"))
				d->rows[i].m[k].value = v;
}

static void headline_marks_within_one_percent(void **state)
{
	struct store *st = open_fixture("a");
	struct report_data d;
	struct headline h;
	struct headline_opts o = { NAN, NAN };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(report_data_load(&d, st, NULL, 0, &err), 0);
	set_ttft99(&d, "llama-f16", 100.0);
	set_ttft99(&d, "llama-q4_0", 100.5);
	set_ttft99(&d, "falcon-q8_0", 100.9);
	assert_int_equal(headline_build(&h, &d, &o, &err), 0);
	assert_int_equal(hl_find(&h, "llama-f16")->mark[HL_TTFT99], 0);
	assert_int_equal(hl_find(&h, "falcon-q8_0")->mark[HL_TTFT99], 0);
	headline_release(&h);
	set_ttft99(&d, "falcon-q8_0", 120.0);
	assert_int_equal(headline_build(&h, &d, &o, &err), 0);
	assert_int_equal(hl_find(&h, "llama-f16")->mark[HL_TTFT99], 1);
	assert_int_equal(hl_find(&h, "llama-q4_0")->mark[HL_TTFT99], 1); /* 0.5% off the best */
	assert_int_equal(hl_find(&h, "falcon-q8_0")->mark[HL_TTFT99], -1);
	headline_release(&h);
	report_data_release(&d);
	store_close(st);
}

static void headline_without_matrix(void **state)
{
	struct store *st = open_fixture("plain");
	struct report_data d;
	struct headline h;
	struct headline_opts o = { NAN, NAN };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(report_data_load(&d, st, NULL, 0, &err), 0);
	assert_int_equal(headline_build(&h, &d, &o, &err), 0);
	assert_int_equal(h.n_b, 1);
	assert_int_equal(h.n_pts, 0);
	assert_false(h.col[HL_JPT]);	 /* energy unavailable: no column */
	assert_false(h.col[HL_KLD]);
	assert_true(h.b[0].v[HL_FAIL] == 0);
	assert_int_equal(h.b[0].mark[HL_TOKS], 0); /* one backend: nothing to mark */
	headline_release(&h);
	report_data_release(&d);
	store_close(st);
}

static void load_folds_repetitions(void **state)
{
	struct store *st = open_fixture("a");
	struct report_data d;
	struct lb_error err = LB_ERROR_INIT;
	const struct report_metric *m;
	size_t i, n_level = 0, n_backend = 0;
	bool saw_invalid = false;

	(void)state;
	assert_int_equal(report_data_load(&d, st, NULL, 0, &err), 0);
	assert_int_equal(d.n_runs, 1);
	assert_string_equal(d.runs[0].name, "golden-a");
	for (i = 0; i < d.n_rows; i++) {
		n_level += d.rows[i].scope == REPORT_SCOPE_LEVEL;
		n_backend += d.rows[i].scope == REPORT_SCOPE_BACKEND;
		if (!d.rows[i].valid) {
			saw_invalid = true;
			assert_string_equal(d.rows[i].backend, "falcon-q8_0");
			assert_non_null(strstr(d.rows[i].invalid_reason, "schedule lag"));
		}
	}
	assert_int_equal(n_level, 9); /* 3 backends x 3 levels; 2 repetitions folded */
	assert_int_equal(n_backend, 3);
	assert_true(saw_invalid);
	/* first row: llama-f16 at concurrency 1, repeated twice */
	assert_string_equal(d.rows[0].backend, "llama-f16");
	assert_int_equal(d.rows[0].n_reps, 2);
	m = report_row_metric(&d.rows[0], "ttft_mean_ms");
	assert_non_null(m);
	assert_int_equal(m->n_reps, 2);
	assert_true(fabs(m->value - 11.4) < 1e-9);	     /* (11 + 11.8) / 2 */
	assert_true(fabs(m->sd - sqrt(0.32)) < 1e-9);	     /* sd of {11, 11.8} */
	m = report_row_metric(&d.rows[0], "goodput");
	assert_non_null(m);
	assert_int_equal(m->n_reps, 0);
	assert_true(isnan(m->value));
	assert_non_null(strstr(m->note, "no SLO"));
	/* metric names in report order, unknown ones last */
	assert_string_equal(d.metrics[0], "ttft_mean_ms");
	assert_string_equal(d.metrics[d.n_metrics - 1], "custom_score");
	report_data_release(&d);
	store_close(st);
}

static void unknown_run_is_a_usage_error(void **state)
{
	struct store *st = open_fixture("a");
	struct report_data d;
	struct lb_error err = LB_ERROR_INIT;
	const char *runs[] = { "golden-a", "nope" };

	(void)state;
	assert_int_equal(report_data_load(&d, st, runs, 2, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "'nope'"));
	assert_int_equal(d.n_rows, 0);
	store_close(st);
}

static int count_requests(void *ctx, const struct report_request *rq)
{
	long *n = ctx;

	n[0]++;
	n[1] += rq->warmup;
	n[2] += !rq->ok;
	if (rq->ok && !rq->warmup && rq->n_chunks >= 2 && rq->chunk_off_ns[1] <= rq->chunk_off_ns[0])
		n[3]++;
	return 0;
}

static void requests_stream_with_chunks(void **state)
{
	struct store *st = open_fixture("a");
	struct report_data d;
	struct lb_error err = LB_ERROR_INIT;
	long n[4] = { 0 };

	(void)state;
	assert_int_equal(report_data_load(&d, st, NULL, 0, &err), 0);
	assert_int_equal(report_requests_each(st, d.runs[0].id, count_requests, n, &err), 0);
	assert_int_equal(n[0], 10 * 5); /* 10 levels incl. a repetition, 4 + 1 warm-up each */
	assert_int_equal(n[1], 10);
	assert_int_equal(n[2], 1);
	assert_int_equal(n[3], 0);	/* chunk offsets increase */
	report_data_release(&d);
	store_close(st);
}

static void render_writes_every_file(void **state)
{
	struct store *st = open_fixture("a");
	struct lb_error err = LB_ERROR_INIT;
	struct report_opts o = { .out_dir = tmp_path("out"),
				 .formats = REPORT_FMT_MD | REPORT_FMT_CSV | REPORT_FMT_JSON |
					    REPORT_FMT_JSONL,
				 .normalize = true };
	struct report_result res;
	static const char *const files[] = { "report.md", "report.csv", "report.json",
					     "requests.jsonl" };
	size_t i;
	char p[600];

	(void)state;
	assert_int_equal(report_render(st, &o, &res, &err), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", o.out_dir, files[i]);
		assert_int_equal(access(p, R_OK), 0);
	}
	store_close(st);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fmt_num_is_stable),
		cmocka_unit_test(fields_order_and_unknown_names),
		cmocka_unit_test(formats_parse),
		cmocka_unit_test(knee_of_a_saturating_curve),
		cmocka_unit_test(cell_text_says_unavailable_never_zero),
		cmocka_unit_test(load_folds_repetitions),
		cmocka_unit_test(unknown_run_is_a_usage_error),
		cmocka_unit_test(requests_stream_with_chunks),
		cmocka_unit_test(render_writes_every_file),
		cmocka_unit_test(headline_answers_first),
		cmocka_unit_test(headline_timing_caveats),
		cmocka_unit_test(headline_pareto_dominated),
		cmocka_unit_test(headline_matrix),
		cmocka_unit_test(headline_without_matrix),
		cmocka_unit_test(headline_marks_within_one_percent),
	};
	char cmd[600];
	int rc;

	if (argc >= 3 && !strcmp(argv[1], "--make-db")) {
		const char *variant = "a";
		long big = 0;
		int i;

		for (i = 3; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--variant"))
				variant = argv[i + 1];
			else if (!strcmp(argv[i], "--requests"))
				big = strtol(argv[i + 1], NULL, 10);
		}
		return fixture_make(argv[2], variant, big) ? 1 : 0;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/llmbench-test-report.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return 1;
	rc = cmocka_run_group_tests_name("report", tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return rc;
}
