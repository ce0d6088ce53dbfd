/* cmd_bench_model.c: `llmbench bench-model --model F` — in-process speed in llama-bench's
 * terms: pp N and tg N tokens/s, mean ± stddev over repetitions, measured on the very decode
 * step that serves requests (backends/llamacpp.h); then the same model served through the
 * backend's submit/poll with P concurrent sequences: aggregate and per-sequence tokens/s. */
#include "cmd.h"

#include "../backends/backend.h"
#include "../backends/llamacpp.h"
#include "../metrics/stats.h"
#include "../metrics/store_dump.h"
#include "../base/alloc.h"
#include "../base/clock.h"
#include "../base/error.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench bench-model --model FILE [--threads N] [-p N] [-n N] [-r REPS]\n"
	"                            [--batch N] [--parallel P] [--no-serve] [--no-warmup]\n"
	"                            [-o md|csv|json|jsonl|sql]\n"
	"\n"
	"Measure a GGUF model in-process as llama-bench does: pp N (prompt processing of N\n"
	"tokens) and tg N (generation of N tokens) in tokens/s, mean ± stddev over repetitions,\n"
	"through the llamacpp backend's own decode step. Then serve P concurrent requests of\n"
	"N prompt tokens + N generated tokens through the backend (continuous batching, greedy\n"
	"sampling) and report aggregate and per-sequence tokens/s.\n"
	"\n"
	"  --model FILE       GGUF model (required)\n"
	"  -t, --threads N    decode threads (default 0: all cores)\n"
	"  -p, --n-prompt N   prompt tokens of the pp test (default 512; 0 skips pp)\n"
	"  -n, --n-gen N      generated tokens of the tg test (default 128; 0 skips tg)\n"
	"  -r, --repetitions N  repetitions of each test (default 5)\n"
	"  -b, --batch N      tokens per llama_decode at most (default 512)\n"
	"  --parallel P       sequences served together in the serve test (default 1)\n"
	"  --no-serve         skip the serve test\n"
	"  --no-warmup        skip the warm-up run before each test\n"
	"  -o, --output FMT   md (the tables, default), csv, json, jsonl or sql, as llama-bench:\n"
	"                     csv, jsonl and sql have one row per pp/tg test (llama-bench's\n"
	"                     fields); json is one object with the serve test too\n"
	"  --json             the same as -o json\n"
	"\n"
	"Exit: 0 ok, 2 bad option or model, 3 runtime failure.\n";

struct bm_opts {
	const char *model;
	long threads, n_prompt, n_gen, reps, batch, parallel;
	bool serve, warmup;
	enum cmd_format fmt;
};

/* One test's samples, llama-bench style: each repetition's time and its tokens/s. */
struct bm_test {
	char name[48];
	int n_prompt, n_gen;
	uint64_t *ns; /* owned, reps */
	double *ts;   /* owned, reps */
	long n;
	double mean, sd; /* of ts; sd NAN with one repetition */
};

/* The serve test: per repetition its aggregate rate; per sequence its decode rate and TTFT. */
struct bm_serve {
	long p, reps;
	double *agg;   /* owned, reps: output tokens / (last t_end - first t_send) */
	double *seq;   /* owned, reps*p: (N_out - 1) / (t_end - t_first) */
	double *ttft;  /* owned, reps*p: ms */
	double *total; /* owned, reps: (prompt + output tokens) / (last t_end - first t_send) */
	long n_seq;
	int failed;
	char fail_msg[256];
};

struct bm_req {
	uint64_t t_send, t_first, t_end;
	int32_t n_out;
	bool done, failed;
	char err[256];
};

static void bm_sink(void *ctx, const struct lb_event *ev)
{
	struct bm_req *r = ctx;

	switch (ev->kind) {
	case LB_EV_SENT: r->t_send = ev->t_ns; break;
	case LB_EV_FIRST_TOKEN: r->t_first = ev->t_ns; break;
	case LB_EV_TOKENS: break;
	case LB_EV_DONE:
		r->t_end = ev->t_ns;
		r->n_out = ev->usage_completion_tokens;
		r->done = true;
		break;
	case LB_EV_ERROR:
		r->t_end = ev->t_ns;
		r->done = r->failed = true;
		snprintf(r->err, sizeof(r->err), "%.*s", (int)ev->text_len, ev->text);
		break;
	}
}

static int bm_alloc_test(struct bm_test *t, long reps)
{
	t->ns = lb_calloc((size_t)reps, sizeof(*t->ns));
	t->ts = lb_calloc((size_t)reps, sizeof(*t->ts));
	return t->ns && t->ts ? 0 : -1;
}

static void bm_finish_test(struct bm_test *t)
{
	long i;
	int n_tok = t->n_prompt + t->n_gen;

	for (i = 0; i < t->n; i++)
		t->ts[i] = t->ns[i] ? 1e9 * n_tok / (double)t->ns[i] : NAN;
	stats_mean_sd(t->ts, (size_t)t->n, &t->mean, &t->sd);
}

static int bm_run_test(struct backend *b, struct bm_test *t, const struct bm_opts *o, uint64_t *rng,
		       struct lb_error *err)
{
	uint64_t ns;
	long i;
	int rc;

	if (bm_alloc_test(t, o->reps))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	if (o->warmup) { /* as llama-bench: a whole pp run, or one generated token */
		rc = t->n_prompt ? llamacpp_bench_pp(b, t->n_prompt, rng, &ns, err)
				 : llamacpp_bench_tg(b, 1, rng, &ns, err);
		if (rc)
			return rc;
	}
	for (i = 0; i < o->reps; i++) {
		rc = t->n_prompt ? llamacpp_bench_pp(b, t->n_prompt, rng, &t->ns[i], err)
				 : llamacpp_bench_tg(b, t->n_gen, rng, &t->ns[i], err);
		if (rc)
			return rc;
		t->n++;
	}
	bm_finish_test(t);
	return 0;
}

/* P requests of n_prompt random tokens + n_gen greedy tokens, submitted at once, polled until
 * all are done; repeated reps times (after one warm-up round when asked). */
static int bm_run_serve(struct backend *b, const struct llamacpp_info *info, struct bm_serve *sv,
			const struct bm_opts *o, uint64_t *rng, struct lb_error *err)
{
	long p = o->parallel, rep, i, j;
	int32_t *ids = NULL;
	struct request *reqs = NULL;
	struct bm_req *st = NULL;
	long n_prompt = o->n_prompt > 0 ? o->n_prompt : 1;
	int rc = 0;

	sv->p = p;
	sv->agg = lb_calloc((size_t)o->reps, sizeof(double));
	sv->total = lb_calloc((size_t)o->reps, sizeof(double));
	sv->seq = lb_calloc((size_t)(o->reps * p), sizeof(double));
	sv->ttft = lb_calloc((size_t)(o->reps * p), sizeof(double));
	ids = lb_calloc((size_t)(p * n_prompt), sizeof(*ids));
	reqs = lb_calloc((size_t)p, sizeof(*reqs));
	st = lb_calloc((size_t)p, sizeof(*st));
	if (!sv->agg || !sv->total || !sv->seq || !sv->ttft || !ids || !reqs || !st) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (rep = o->warmup ? -1 : 0; rep < o->reps; rep++) {
		uint64_t t0 = UINT64_MAX, t1 = 0;
		long out_tok = 0, left, polls = 0;

		for (i = 0; i < p; i++) {
			int32_t *pi = ids + i * n_prompt;

			for (j = 0; j < n_prompt; j++)
				pi[j] = (int32_t)(llamacpp_rand(rng) % (uint64_t)info->n_vocab);
			if (info->bos >= 0)
				pi[0] = info->bos;
			memset(&reqs[i], 0, sizeof(reqs[i]));
			memset(&st[i], 0, sizeof(st[i]));
			reqs[i].id = (uint64_t)(i + 1);
			reqs[i].prompt_ids = pi;
			reqs[i].n_prompt_ids = (size_t)n_prompt;
			lb_gen_defaults(&reqs[i].gen);
			reqs[i].gen.max_tokens = o->n_gen > 0 ? (int)o->n_gen : 1;
			reqs[i].gen.temperature = 0;
			reqs[i].gen.ignore_eos = true;
			reqs[i].sink.fn = bm_sink;
			reqs[i].sink.ctx = &st[i];
			rc = b->ops->submit(b, &reqs[i], err);
			if (rc)
				goto out;
		}
		do {
			left = b->ops->poll(b, 100, err);
			if (left < 0) {
				rc = (int)left;
				goto out;
			}
		} while (left > 0 && ++polls < 100000000L);
		for (i = 0; i < p; i++) {
			if (!st[i].done || st[i].failed) {
				sv->failed++;
				snprintf(sv->fail_msg, sizeof(sv->fail_msg), "%s",
					 st[i].done ? st[i].err : "not finished");
				continue;
			}
			if (rep < 0)
				continue;
			t0 = st[i].t_send < t0 ? st[i].t_send : t0;
			t1 = st[i].t_end > t1 ? st[i].t_end : t1;
			out_tok += st[i].n_out;
			sv->ttft[sv->n_seq] = (double)(st[i].t_first - st[i].t_send) / 1e6;
			sv->seq[sv->n_seq++] =
				st[i].n_out >= 2 && st[i].t_end > st[i].t_first
					? 1e9 * (st[i].n_out - 1) /
						  (double)(st[i].t_end - st[i].t_first)
					: NAN;
		}
		if (sv->failed) {
			rc = lb_error_set(err, LB_ERR_BACKEND, "serve test: %d requests failed: %s",
					  sv->failed, sv->fail_msg);
			goto out;
		}
		if (rep >= 0 && t1 > t0) {
			sv->agg[sv->reps] = 1e9 * (double)out_tok / (double)(t1 - t0);
			sv->total[sv->reps] =
				1e9 * (double)(out_tok + p * n_prompt) / (double)(t1 - t0);
			sv->reps++;
		}
	}
out:
	lb_free(ids);
	lb_free(reqs);
	lb_free(st);
	return rc;
}

static void bm_fmt_ms(char *buf, size_t len, double mean, double sd, const char *fmt)
{
	char a[24], s[24];

	snprintf(a, sizeof(a), fmt, mean);
	if (isnan(sd))
		snprintf(s, sizeof(s), "n/a");
	else
		snprintf(s, sizeof(s), fmt, sd);
	snprintf(buf, len, "%s ± %s", isnan(mean) ? "n/a" : a, s);
}

static void bm_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes < 1024ull * 1024 * 1024)
		snprintf(buf, len, "%.2f MiB", (double)bytes / 1024.0 / 1024.0);
	else
		snprintf(buf, len, "%.2f GiB", (double)bytes / 1024.0 / 1024.0 / 1024.0);
}

static void bm_params(char *buf, size_t len, uint64_t n)
{
	if (n < 1000ull * 1000 * 1000)
		snprintf(buf, len, "%.2f M", (double)n / 1e6);
	else
		snprintf(buf, len, "%.2f B", (double)n / 1e9);
}

static void bm_print_table(const struct llamacpp_info *in, const struct bm_test *t, int n_t,
			   const struct bm_serve *sv, const struct bm_opts *o)
{
	char size[32], params[32], ts[80], c2[80], c3[80], c4[80], test[48];
	int i;

	bm_size(size, sizeof(size), in->size_bytes);
	bm_params(params, sizeof(params), in->n_params);
	printf("| %-30s | %10s | %10s | %-10s | %7s | %15s | %20s |\n", "model", "size", "params",
	       "backend", "threads", "test", "t/s");
	printf("| ------------------------------ | ---------: | ---------: | ---------- | ------: "
	       "| --------------: | -------------------: |\n");
	for (i = 0; i < n_t; i++) {
		bm_fmt_ms(ts, sizeof(ts), t[i].mean, t[i].sd, "%.2f");
		/* "±" is 2 bytes in UTF-8: one more column of width, as llama-bench does */
		printf("| %-30.30s | %10s | %10s | %-10s | %7d | %15s | %21s |\n", in->desc, size,
		       params, in->backend, in->threads, t[i].name, ts);
	}
	if (!sv)
		return;
	snprintf(test, sizeof(test), "pp%ld+tg%ld", o->n_prompt > 0 ? o->n_prompt : 1,
		 o->n_gen > 0 ? o->n_gen : 1);
	printf("\nserved through the backend (submit/poll, continuous batching, greedy sampling), "
	       "%ld repetitions:\n",
	       sv->reps);
	printf("| %9s | %15s | %20s | %20s | %20s | %16s |\n", "sequences", "test",
	       "aggregate out t/s", "aggregate all t/s", "per-sequence t/s", "TTFT ms");
	printf("| --------: | --------------: | -------------------: | -------------------: "
	       "| -------------------: | ---------------: |\n");
	{
		double am, asd, tm, tsd, sm, ssd, fm, fsd;

		stats_mean_sd(sv->agg, (size_t)sv->reps, &am, &asd);
		stats_mean_sd(sv->total, (size_t)sv->reps, &tm, &tsd);
		stats_mean_sd(sv->seq, (size_t)sv->n_seq, &sm, &ssd);
		stats_mean_sd(sv->ttft, (size_t)sv->n_seq, &fm, &fsd);
		bm_fmt_ms(ts, sizeof(ts), am, asd, "%.2f");
		bm_fmt_ms(c2, sizeof(c2), tm, tsd, "%.2f");
		bm_fmt_ms(c3, sizeof(c3), sm, ssd, "%.2f");
		bm_fmt_ms(c4, sizeof(c4), fm, fsd, "%.2f");
		printf("| %9ld | %15s | %21s | %21s | %21s | %17s |\n", sv->p, test, ts, c2, c3,
		       c4);
	}
}

static void bm_json_num(double v)
{
	if (isnan(v) || isinf(v))
		printf("null");
	else
		printf("%.6g", v);
}

static void bm_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void bm_json_arr(const double *v, long n)
{
	long i;

	putchar('[');
	for (i = 0; i < n; i++) {
		if (i)
			putchar(',');
		bm_json_num(v[i]);
	}
	putchar(']');
}

static void bm_print_json(const struct llamacpp_info *in, const struct bm_test *t, int n_t,
			  const struct bm_serve *sv, const struct bm_opts *o)
{
	int i;
	long k;

	printf("{\"model_filename\":");
	bm_json_str(o->model);
	printf(",\"model_type\":");
	bm_json_str(in->desc);
	printf(",\"arch\":");
	bm_json_str(in->arch);
	printf(",\"vocab\":");
	bm_json_str(in->vocab);
	printf(",\"model_size\":%llu,\"model_n_params\":%llu,\"backend\":",
	       (unsigned long long)in->size_bytes, (unsigned long long)in->n_params);
	bm_json_str(in->backend);
	printf(",\"n_threads\":%d,\"n_batch\":%d,\"n_ubatch\":%d,\"tests\":[", in->threads,
	       in->n_batch, in->n_batch);
	for (i = 0; i < n_t; i++) {
		printf("%s{\"test\":\"%s\",\"n_prompt\":%d,\"n_gen\":%d,\"avg_ts\":", i ? "," : "",
		       t[i].name, t[i].n_prompt, t[i].n_gen);
		bm_json_num(t[i].mean);
		printf(",\"stddev_ts\":");
		bm_json_num(t[i].sd);
		printf(",\"samples_ns\":[");
		for (k = 0; k < t[i].n; k++)
			printf("%s%llu", k ? "," : "", (unsigned long long)t[i].ns[k]);
		printf("],\"samples_ts\":");
		bm_json_arr(t[i].ts, t[i].n);
		putchar('}');
	}
	putchar(']');
	if (sv) {
		double m, sd;

		printf(",\"serve\":{\"sequences\":%ld,\"n_prompt\":%ld,\"n_gen\":%ld,\"reps\":%ld,",
		       sv->p, o->n_prompt > 0 ? o->n_prompt : 1, o->n_gen > 0 ? o->n_gen : 1,
		       sv->reps);
		stats_mean_sd(sv->agg, (size_t)sv->reps, &m, &sd);
		printf("\"aggregate_out_ts\":");
		bm_json_num(m);
		printf(",\"aggregate_out_ts_stddev\":");
		bm_json_num(sd);
		stats_mean_sd(sv->total, (size_t)sv->reps, &m, &sd);
		printf(",\"aggregate_all_ts\":");
		bm_json_num(m);
		printf(",\"aggregate_all_ts_stddev\":");
		bm_json_num(sd);
		stats_mean_sd(sv->seq, (size_t)sv->n_seq, &m, &sd);
		printf(",\"per_sequence_ts\":");
		bm_json_num(m);
		printf(",\"per_sequence_ts_stddev\":");
		bm_json_num(sd);
		stats_mean_sd(sv->ttft, (size_t)sv->n_seq, &m, &sd);
		printf(",\"ttft_ms\":");
		bm_json_num(m);
		printf(",\"ttft_ms_stddev\":");
		bm_json_num(sd);
		printf(",\"samples_aggregate_out_ts\":");
		bm_json_arr(sv->agg, sv->reps);
		printf(",\"samples_per_sequence_ts\":");
		bm_json_arr(sv->seq, sv->n_seq);
		putchar('}');
	}
	printf("}\n");
}

static int bm_parse_count(const char *opt, const char *arg, long min, long max, long *out)
{
	if (cmd_parse_long(arg, out) || *out < min || *out > max)
		return cmd_usage_error("bench-model",
				       "%s needs a whole number in %ld..%ld, got '%s'", opt, min,
				       max, arg);
	return 0;
}

/* llama-bench's per-test fields, for -o csv, jsonl and sql. */
static const char *const bm_fields[] = {
	"model_filename", "model_type", "model_size", "model_n_params", "backends",
	"n_threads",      "n_batch",    "n_prompt",   "n_gen",          "test",
	"avg_ns",         "stddev_ns",  "avg_ts",     "stddev_ts",
};
#define BM_N_FIELDS (sizeof(bm_fields) / sizeof(bm_fields[0]))

/* One test's fields as text; a string field is flagged in *is_str. */
static void bm_row(const struct llamacpp_info *in, const struct bm_test *t, const struct bm_opts *o,
		   char v[BM_N_FIELDS][512], bool *is_str)
{
	double ns_mean = 0, ns_sd = NAN;
	long k;

	for (k = 0; k < t->n; k++)
		ns_mean += (double)t->ns[k] / (double)t->n;
	if (t->n > 1) {
		double ss = 0;

		for (k = 0; k < t->n; k++)
			ss += ((double)t->ns[k] - ns_mean) * ((double)t->ns[k] - ns_mean);
		ns_sd = sqrt(ss / (double)(t->n - 1));
	}
	snprintf(v[0], 512, "%s", o->model);
	snprintf(v[1], 512, "%s", in->desc);
	snprintf(v[2], 512, "%llu", (unsigned long long)in->size_bytes);
	snprintf(v[3], 512, "%llu", (unsigned long long)in->n_params);
	snprintf(v[4], 512, "%s", in->backend);
	snprintf(v[5], 512, "%d", in->threads);
	snprintf(v[6], 512, "%d", in->n_batch);
	snprintf(v[7], 512, "%d", t->n_prompt);
	snprintf(v[8], 512, "%d", t->n_gen);
	snprintf(v[9], 512, "%s", t->name);
	snprintf(v[10], 512, "%.0f", ns_mean);
	if (isnan(ns_sd))
		v[11][0] = '\0';
	else
		snprintf(v[11], 512, "%.0f", ns_sd);
	snprintf(v[12], 512, "%.6f", t->mean);
	if (isnan(t->sd))
		v[13][0] = '\0';
	else
		snprintf(v[13], 512, "%.6f", t->sd);
	for (k = 0; k < (long)BM_N_FIELDS; k++)
		is_str[k] = k == 0 || k == 1 || k == 4 || k == 9;
}

static void bm_quoted(const char *s, char q)
{
	putchar(q);
	for (; *s; s++) {
		if (*s == q)
			putchar(q);
		putchar(*s);
	}
	putchar(q);
}

/* -o csv | jsonl | sql: one row per test, as llama-bench prints them. */
static void bm_print_rows(const struct llamacpp_info *in, const struct bm_test *t, int n_t,
			  const struct bm_opts *o)
{
	char v[BM_N_FIELDS][512];
	bool is_str[BM_N_FIELDS];
	size_t k;
	int i;

	if (o->fmt == CMD_FMT_CSV)
		for (k = 0; k < BM_N_FIELDS; k++)
			printf("%s%s", bm_fields[k], k + 1 < BM_N_FIELDS ? "," : "\n");
	if (o->fmt == CMD_FMT_SQL) {
		const char *types[BM_N_FIELDS];

		for (k = 0; k < BM_N_FIELDS; k++)
			types[k] = k == 0 || k == 1 || k == 4 || k == 9 ? "TEXT"
				   : k >= 12                            ? "REAL"
									: "INTEGER";
		store_dump_create(stdout, "test", bm_fields, types, BM_N_FIELDS);
	}
	for (i = 0; i < n_t; i++) {
		bm_row(in, &t[i], o, v, is_str);
		if (o->fmt == CMD_FMT_SQL) {
			const char *vals[BM_N_FIELDS];

			for (k = 0; k < BM_N_FIELDS; k++)
				vals[k] = v[k];
			store_dump_insert(stdout, "test", bm_fields, vals, is_str, BM_N_FIELDS);
			continue;
		}
		if (o->fmt == CMD_FMT_JSONL) {
			putchar('{');
		}
		for (k = 0; k < BM_N_FIELDS; k++) {
			if (o->fmt == CMD_FMT_JSONL)
				printf("\"%s\": ", bm_fields[k]);
			if (!v[k][0])
				fputs(o->fmt == CMD_FMT_CSV ? "" : "null", stdout);
			else if (is_str[k] && o->fmt == CMD_FMT_JSONL)
				bm_json_str(v[k]);
			else if (is_str[k])
				bm_quoted(v[k], '"');
			else
				fputs(v[k], stdout);
			if (k + 1 < BM_N_FIELDS)
				fputs(o->fmt == CMD_FMT_CSV ? "," : ", ", stdout);
		}
		puts(o->fmt == CMD_FMT_JSONL ? "}" : "");
	}
}

int cmd_bench_model(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "n-prompt", required_argument, NULL, 'p' },
		{ "n-gen", required_argument, NULL, 'n' },
		{ "repetitions", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "parallel", required_argument, NULL, 'P' },
		{ "no-serve", no_argument, NULL, 'S' },
		{ "no-warmup", no_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bm_opts o = { .threads = 0,
			     .n_prompt = 512,
			     .n_gen = 128,
			     .reps = 5,
			     .batch = 512,
			     .parallel = 1,
			     .serve = true,
			     .warmup = true,
			     .fmt = CMD_FMT_MD };
	struct backend b = { 0 };
	struct backend_config cfg;
	struct llamacpp_info info;
	struct bm_test tests[2];
	struct bm_serve sv = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	uint64_t rng = 0x9E3779B97F4A7C15ULL;
	int c, rc, n_t = 0, exit_code = 0;
	long n_ctx;
	int n_train = 0;

	(void)ctx;
	memset(tests, 0, sizeof(tests));
	optind = 1;
	while ((c = cmd_getopt(argc, argv, "bench-model", "ht:p:n:r:b:o:", longopts)) != -1) {
		switch (c) {
		case 'm': o.model = optarg; break;
		case 't':
			if (bm_parse_count("--threads", optarg, 0, 4096, &o.threads))
				return 2;
			break;
		case 'p':
			if (bm_parse_count("-p", optarg, 0, 1 << 20, &o.n_prompt))
				return 2;
			break;
		case 'n':
			if (bm_parse_count("-n", optarg, 0, 1 << 20, &o.n_gen))
				return 2;
			break;
		case 'r':
			if (bm_parse_count("-r", optarg, 1, 100000, &o.reps))
				return 2;
			break;
		case 'b':
			if (bm_parse_count("--batch", optarg, 1, 1 << 20, &o.batch))
				return 2;
			break;
		case 'P':
			if (bm_parse_count("--parallel", optarg, 1, 256, &o.parallel))
				return 2;
			break;
		case 'S': o.serve = false; break;
		case 'W': o.warmup = false; break;
		case 'j': o.fmt = CMD_FMT_JSON; break;
		case 'o':
			if (cmd_parse_format("bench-model", optarg,
					     1u << CMD_FMT_MD | 1u << CMD_FMT_CSV |
						     1u << CMD_FMT_JSON | 1u << CMD_FMT_JSONL |
						     1u << CMD_FMT_SQL,
					     &o.fmt))
				return 2;
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return cmd_usage_error("bench-model", "unexpected argument '%s'", argv[optind]);
	if (o.fmt == CMD_FMT_CSV || o.fmt == CMD_FMT_JSONL || o.fmt == CMD_FMT_SQL)
		o.serve = false; /* llama-bench's rows: pp and tg only */
	if (!o.model)
		return cmd_usage_error("bench-model", "--model FILE is required");
	if (!o.n_prompt && !o.n_gen)
		return cmd_usage_error("bench-model", "-p and -n are both 0: nothing to measure");
	if (o.parallel > o.batch)
		return cmd_usage_error("bench-model", "--parallel %ld is more than --batch %ld",
				       o.parallel, o.batch);

	/* room for the longest test, and for prompt + generation of each served sequence */
	n_ctx = o.n_prompt > o.n_gen ? o.n_prompt : o.n_gen;
	if (o.serve && (o.n_prompt > 0 ? o.n_prompt : 1) + (o.n_gen > 0 ? o.n_gen : 1) > n_ctx)
		n_ctx = (o.n_prompt > 0 ? o.n_prompt : 1) + (o.n_gen > 0 ? o.n_gen : 1);
	rc = llamacpp_train_ctx(o.model, &n_train, &err);
	if (rc)
		return cmd_fail(&err);
	if (n_train > 0 && n_ctx > n_train)
		return cmd_usage_error("bench-model",
				       "%s needs a context of %ld tokens, more than the "
				       "%d that model '%s' was made for; lower -p/-n%s",
				       o.serve ? "the serve test (-p + -n)" : "the longest test",
				       n_ctx, n_train, o.model,
				       o.serve ? " or add --no-serve" : "");
	backend_config_defaults(&cfg);
	cfg.name = "bench-model";
	cfg.type = "llamacpp";
	cfg.model_path = o.model;
	cfg.threads = (int)o.threads;
	cfg.n_ctx = (int)n_ctx;
	cfg.n_batch = (int)o.batch;
	cfg.n_parallel = o.serve ? (int)o.parallel : 1;
#ifdef LB_SANITIZE
	cmd_warn("sanitizer enabled, timings are not comparable");
#endif
	rc = backend_open(&b, &cfg, &err);
	if (rc)
		return cmd_fail(&err);
	rc = llamacpp_info(&b, &info, &err);
	if (rc)
		goto fail;
	if (o.n_prompt) {
		snprintf(tests[n_t].name, sizeof(tests[n_t].name), "pp%ld", o.n_prompt);
		tests[n_t++].n_prompt = (int)o.n_prompt;
	}
	if (o.n_gen) {
		snprintf(tests[n_t].name, sizeof(tests[n_t].name), "tg%ld", o.n_gen);
		tests[n_t++].n_gen = (int)o.n_gen;
	}
	for (c = 0; c < n_t; c++) {
		rc = bm_run_test(&b, &tests[c], &o, &rng, &err);
		if (rc)
			goto fail;
	}
	if (o.serve) {
		rc = bm_run_serve(&b, &info, &sv, &o, &rng, &err);
		if (rc)
			goto fail;
	}
	if (o.fmt == CMD_FMT_JSON)
		bm_print_json(&info, tests, n_t, o.serve ? &sv : NULL, &o);
	else if (o.fmt == CMD_FMT_MD)
		bm_print_table(&info, tests, n_t, o.serve ? &sv : NULL, &o);
	else
		bm_print_rows(&info, tests, n_t, &o);
	goto out;
fail:
	exit_code = cmd_fail(&err);
out:
	for (c = 0; c < 2; c++) {
		lb_free(tests[c].ns);
		lb_free(tests[c].ts);
	}
	lb_free(sv.agg);
	lb_free(sv.seq);
	lb_free(sv.ttft);
	lb_free(sv.total);
	backend_close(&b);
	return exit_code;
}
