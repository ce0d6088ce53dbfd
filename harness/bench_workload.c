/* bench_workload.c: `llmbench bench`'s flags (vLLM's names) as a workload (bench_workload.h).
 *
 * request_rate inf is a closed loop: every prompt at once, or --max-concurrency of them in
 * flight (vLLM's semaphore); a finite rate is an open loop with Poisson (burstiness 1) or
 * gamma arrivals, capped at --max-concurrency in flight (load.max_inflight, queued). */
#include "bench_workload.h"

#include "../base/alloc.h"
#include "../base/error.h"
#include "../base/strbuf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_opts_init(struct bench_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->api = "completions";
	o->name = "bench";
	o->num_prompts = 1000;
	o->request_rate = INFINITY;
	o->burstiness = 1.0;
	o->dataset_name = "random";
	o->random_input_len = 1024;
	o->random_output_len = 128;
	o->max_tokens = -1;
	o->temperature = -1;
	o->top_p = -1;
	o->top_k = -1;
	o->stream = true;
}

int bench_parse_goodput(const char *s, double *ttft, double *tpot, double *e2el,
			struct lb_error *err)
{
	*ttft = *tpot = *e2el = NAN;
	while (s && *s) {
		char key[16], *end;
		size_t k;
		double v;

		while (*s == ' ' || *s == ',')
			s++;
		if (!*s)
			break;
		k = strcspn(s, ":");
		if (!s[k] || k >= sizeof(key))
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--goodput: expected KEY:MS pairs (ttft, tpot, e2el), got "
				"'%s'",
				s);
		memcpy(key, s, k);
		key[k] = '\0';
		errno = 0;
		v = strtod(s + k + 1, &end);
		if (errno || end == s + k + 1 || (*end && *end != ' ' && *end != ',') || !(v > 0) ||
		    !isfinite(v))
			return lb_error_set(err, LB_ERR_USAGE,
					    "--goodput: '%s' needs a number of ms > 0, got '%.*s'",
					    key, (int)strcspn(s + k + 1, " ,"), s + k + 1);
		if (!strcmp(key, "ttft"))
			*ttft = v;
		else if (!strcmp(key, "tpot"))
			*tpot = v;
		else if (!strcmp(key, "e2el"))
			*e2el = v;
		else
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--goodput: unknown metric '%s' (valid: ttft, tpot, e2el)", key);
		s = end;
	}
	return 0;
}

/* {"dist": "fixed", "mean": n} or uniform over [n(1-r), n(1+r)], as vLLM's random dataset. */
static cJSON *dist(long n, double r)
{
	cJSON *d = cJSON_CreateObject();

	if (!d)
		return NULL;
	if (r > 0) {
		long lo = (long)floor((double)n * (1 - r)), hi = (long)ceil((double)n * (1 + r));

		cJSON_AddStringToObject(d, "dist", "uniform");
		cJSON_AddNumberToObject(d, "min", lo < 1 ? 1 : lo);
		cJSON_AddNumberToObject(d, "max", hi < 1 ? 1 : hi);
	} else {
		cJSON_AddStringToObject(d, "dist", "fixed");
		cJSON_AddNumberToObject(d, "mean", (double)n);
	}
	return d;
}

static int write_random_spec(const struct bench_opts *o, struct lb_error *err)
{
	cJSON *spec = cJSON_CreateObject();
	char *text;
	FILE *f;
	int rc = 0;

	if (!spec)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	cJSON_AddStringToObject(spec, "tokenizer", "llama-spm");
	cJSON_AddItemToObject(spec, "prompt_tokens",
			      dist(o->random_input_len, o->random_range_ratio));
	cJSON_AddItemToObject(spec, "output_tokens",
			      dist(o->random_output_len, o->random_range_ratio));
	if (o->random_prefix_len > 0)
		cJSON_AddNumberToObject(spec, "prefix_tokens", (double)o->random_prefix_len);
	cJSON_AddNumberToObject(spec, "count", (double)o->num_prompts);
	cJSON_AddNumberToObject(spec, "seed", (double)o->seed);
	text = cJSON_Print(spec);
	cJSON_Delete(spec);
	if (!text)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	f = fopen(o->random_spec_path, "w");
	if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0)
		rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", o->random_spec_path,
				  strerror(errno));
	if (f && fclose(f) && !rc)
		rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", o->random_spec_path,
				  strerror(errno));
	cJSON_free(text);
	return rc;
}

/* Output tokens asked for: --max-tokens, else --random-output-len (random), else 128. */
static long bench_max_tokens(const struct bench_opts *o)
{
	return o->max_tokens >= 0                   ? o->max_tokens
	       : !strcmp(o->dataset_name, "random") ? o->random_output_len
						    : 128;
}

static int dataset(const struct bench_opts *o, cJSON *ds, struct lb_error *err)
{
	const char *n = o->dataset_name;

	if (!strcmp(n, "random")) {
		if (o->random_input_len < 1 || o->random_output_len < 1)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"--random-input-len and --random-output-len must be >= 1");
		if (o->random_range_ratio < 0 || o->random_range_ratio >= 1)
			return lb_error_set(err, LB_ERR_USAGE,
					    "--random-range-ratio must be in [0, 1), got %g",
					    o->random_range_ratio);
		if (!o->random_spec_path)
			return lb_error_set(err, LB_ERR_USAGE,
					    "no place for the random dataset's spec");
		if (write_random_spec(o, err))
			return err->code;
		cJSON_AddStringToObject(ds, "path", o->random_spec_path);
		cJSON_AddStringToObject(ds, "format", "synthetic");
		return 0;
	}
	/* the dataset names and the workload format each one is */
	static const char *const formats[][2] = {
		{ "sharegpt", "sharegpt" }, { "lines", "lines" },         { "prompts", "lines" },
		{ "jsonl", "jsonl" },       { "synthetic", "synthetic" }, { "custom", "jsonl" },
	};
	const char *format = NULL;
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(n, formats[i][0]))
			format = formats[i][1]; /* vLLM's custom: JSONL with a "prompt" field */
	if (!format)
		return lb_error_set(
			err, LB_ERR_USAGE,
			"--dataset-name: unknown dataset '%s' (valid: random, sharegpt, "
			"custom, jsonl, lines, synthetic; sonnet, hf and burstgpt: convert them to "
			"JSONL with a prompt field, docs/cli/bench.md)",
			n);
	if (!o->dataset_path && strcmp(format, "lines"))
		return lb_error_set(err, LB_ERR_USAGE,
				    "--dataset-name %s needs --dataset-path FILE", n);
	/* lines without a path: the shipped prompts (resolved in share/llmbench too) */
	cJSON_AddStringToObject(ds, "path",
				o->dataset_path ? o->dataset_path
						: "datasets/prompts/llm-questions.txt");
	cJSON_AddStringToObject(ds, "format", format);
	/* vLLM's ShareGPT: each request asks for its conversation's reply length, unless
	 * --sharegpt-output-len (--max-tokens) fixes it */
	if (!strcmp(n, "sharegpt") && o->max_tokens < 0)
		cJSON_AddStringToObject(ds, "reference_lengths", "llama-spm");
	if (o->seed) {
		cJSON_AddBoolToObject(ds, "shuffle", true);
		cJSON_AddNumberToObject(ds, "seed", (double)o->seed);
	}
	return 0;
}

/* The workload's name: what makes two bench runs comparable (the gate and --history compare
 * runs of one workload name; the load is each level's key), e.g.
 * bench-completions-random-in1024-out128, bench-chat-sharegpt-sg.json-out128. */
static int add_name(const struct bench_opts *o, cJSON *root, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	const char *base = o->dataset_path ? strrchr(o->dataset_path, '/') : NULL;
	bool random = !strcmp(o->dataset_name, "random");
	int rc = 0;

	base = base ? base + 1 : o->dataset_path;
	if (strcmp(o->name, "bench")) {
		strbuf_adds(&sb, o->name);
	} else {
		strbuf_addf(&sb, "bench-%s-%s", o->api, o->dataset_name);
		if (base && !random)
			strbuf_addf(&sb, "-%s", base);
		if (random)
			strbuf_addf(&sb, "-in%ld", o->random_input_len);
		if (!strcmp(o->dataset_name, "sharegpt") && o->max_tokens < 0)
			strbuf_adds(&sb, "-outref"); /* each conversation's reply length */
		else
			strbuf_addf(&sb, "-out%ld", bench_max_tokens(o));
		if (random && o->random_range_ratio > 0)
			strbuf_addf(&sb, "-r%g", o->random_range_ratio);
		if (random && o->random_prefix_len > 0)
			strbuf_addf(&sb, "-p%ld", o->random_prefix_len);
	}
	if (!sb.buf || !cJSON_AddStringToObject(root, "name", sb.buf))
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	strbuf_release(&sb);
	return rc;
}

int bench_workload_build(const struct bench_opts *o, char **json, struct lb_error *err)
{
	cJSON *root = cJSON_CreateObject(), *backends, *be, *ds, *gen, *load, *slo;
	double ttft, tpot, e2el;
	long max_tokens;
	int rc = 0;

	*json = NULL;
	if (!root)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	if (!o->base_url || !o->model) {
		rc = lb_error_set(err, LB_ERR_USAGE, "%s is required",
				  !o->base_url ? "--base-url URL (or --host/--port)"
					       : "--model NAME");
		goto out;
	}
	if (o->num_prompts < 1) {
		rc = lb_error_set(err, LB_ERR_USAGE, "--num-prompts must be >= 1");
		goto out;
	}
	if (!(o->request_rate > 0)) {
		rc = lb_error_set(err, LB_ERR_USAGE, "--request-rate must be > 0 or inf");
		goto out;
	}
	if (!(o->burstiness > 0)) {
		rc = lb_error_set(err, LB_ERR_USAGE, "--burstiness must be > 0, got %g",
				  o->burstiness);
		goto out;
	}
	rc = bench_parse_goodput(o->goodput, &ttft, &tpot, &e2el, err);
	if (rc)
		goto out;
	rc = add_name(o, root, err);
	if (rc)
		goto out;
	cJSON_AddStringToObject(root, "description", "built by llmbench bench from its flags");
	backends = cJSON_AddArrayToObject(root, "backends");
	be = cJSON_CreateObject();
	cJSON_AddItemToArray(backends, be);
	cJSON_AddStringToObject(be, "name", o->model);
	cJSON_AddStringToObject(be, "type", "openai");
	cJSON_AddStringToObject(be, "base_url", o->base_url);
	cJSON_AddStringToObject(be, "model", o->model);
	cJSON_AddStringToObject(be, "api", o->api);
	cJSON_AddBoolToObject(be, "stream", o->stream);
	if (o->api_key_env)
		cJSON_AddStringToObject(be, "api_key_env", o->api_key_env);
	if (o->rx_timestamps)
		cJSON_AddStringToObject(be, "rx_timestamps", o->rx_timestamps);
	if (o->http_client)
		cJSON_AddStringToObject(be, "http_client", o->http_client);
	ds = cJSON_AddObjectToObject(root, "dataset");
	rc = dataset(o, ds, err);
	if (rc)
		goto out;
	gen = cJSON_AddObjectToObject(root, "generation");
	max_tokens = bench_max_tokens(o);
	cJSON_AddNumberToObject(gen, "max_tokens", (double)max_tokens);
	cJSON_AddNumberToObject(gen, "temperature", o->temperature >= 0 ? o->temperature : 0);
	if (o->top_p > 0)
		cJSON_AddNumberToObject(gen, "top_p", o->top_p);
	if (o->top_k >= 0)
		cJSON_AddNumberToObject(gen, "top_k", (double)o->top_k);
	if (o->ignore_eos || !strcmp(o->dataset_name, "random"))
		cJSON_AddBoolToObject(gen, "ignore_eos", true);
	cJSON_AddNumberToObject(gen, "seed", (double)o->seed);
	load = cJSON_AddObjectToObject(root, "load");
	if (isinf(o->request_rate)) {
		long c = o->max_concurrency > 0 && o->max_concurrency < o->num_prompts
				 ? o->max_concurrency
				 : o->num_prompts;

		cJSON_AddStringToObject(load, "mode", "concurrency");
		cJSON_AddItemToObject(load, "levels",
				      cJSON_CreateIntArray((const int[]){ (int)c }, 1));
		cJSON_AddNumberToObject(load, "stagger_ms", 0); /* all at once, as vLLM */
	} else {
		cJSON_AddStringToObject(load, "mode", "rate");
		cJSON_AddItemToObject(load, "levels",
				      cJSON_CreateDoubleArray((const double[]){ o->request_rate },
							      1));
		if (o->burstiness == 1.0) {
			cJSON_AddStringToObject(load, "arrival", "poisson");
		} else {
			cJSON_AddStringToObject(load, "arrival", "gamma");
			/* vLLM's burstiness is the gamma shape k; the gaps' CV is 1/sqrt(k) */
			cJSON_AddNumberToObject(load, "burstiness", 1.0 / sqrt(o->burstiness));
		}
		cJSON_AddNumberToObject(load, "seed", (double)o->seed);
		if (o->max_concurrency > 0)
			cJSON_AddNumberToObject(load, "max_inflight", (double)o->max_concurrency);
	}
	cJSON_AddNumberToObject(load, "requests", (double)o->num_prompts);
	if (o->workers > 0)
		cJSON_AddNumberToObject(load, "workers", (double)o->workers);
	if (o->num_warmups > 0)
		cJSON_AddNumberToObject(load, "warmup", (double)o->num_warmups);
	if (!isnan(ttft) || !isnan(tpot) || !isnan(e2el)) {
		slo = cJSON_AddObjectToObject(root, "slo");
		if (!isnan(ttft))
			cJSON_AddNumberToObject(slo, "ttft_ms", ttft);
		if (!isnan(tpot))
			cJSON_AddNumberToObject(slo, "tpot_ms", tpot);
		if (!isnan(e2el))
			cJSON_AddNumberToObject(slo, "e2e_ms", e2el);
	}
	*json = cJSON_Print(root);
	if (!*json)
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
out:
	cJSON_Delete(root);
	return rc;
}
