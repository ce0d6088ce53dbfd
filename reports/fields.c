/* fields.c: the report field table (see fields.h). Adding a metric: add a row here. */
#include "fields.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define P(n, t, d, w)                                                                        \
	{                                                                                    \
		.name = n, .type = t, .display = d, .width = w, .is_param = 1, .in_table = 1 \
	}
#define M(n, t, d, g, s, v, tab)                                                              \
	{                                                                                     \
		.name = n, .type = t, .display = d, .width = 10, .in_table = tab, .group = g, \
		.vllm = v, .short_display = s                                                 \
	}

static const struct field_desc params[] = {
	P("run", FIELD_TEXT, "run", -16),
	P("backend", FIELD_TEXT, "backend", -16),
	P("type", FIELD_TEXT, "type", -8),
	P("model", FIELD_TEXT, "model", -16),
	P("family", FIELD_TEXT, "family", -8),
	P("quant", FIELD_TEXT, "quant", -8),
	P("mode", FIELD_TEXT, "mode", -11),
	P("level", FIELD_REAL, "level", 6),
	P("reps", FIELD_INT, "reps", 4),
	/* machine-readable only (CSV/JSON); tables mark invalid levels instead */
	{ .name = "scope", .type = FIELD_TEXT, .display = "scope", .width = -7, .is_param = 1 },
	{ .name = "idx", .type = FIELD_INT, .display = "idx", .width = 3, .is_param = 1 },
	{ .name = "status", .type = FIELD_TEXT, .display = "status", .width = -8, .is_param = 1 },
	{ .name = "valid", .type = FIELD_BOOL, .display = "valid", .width = 5, .is_param = 1 },
	{ .name = "invalid_reason",
	  .type = FIELD_TEXT,
	  .display = "invalid reason",
	  .width = -20,
	  .is_param = 1 },
};

/* The four latency families share one shape; vLLM names e2e "e2el". */
#define LAT(x, X, v)                                                                             \
	M(#x "_mean_ms", FIELD_REAL, X " mean (ms)", #x, "mean", "mean_" v "_ms", 1),            \
		M(#x "_p50_ms", FIELD_REAL, X " p50 (ms)", #x, "p50", "median_" v "_ms", 1),     \
		M(#x "_p90_ms", FIELD_REAL, X " p90 (ms)", #x, "p90", "p90_" v "_ms", 1),        \
		M(#x "_p99_ms", FIELD_REAL, X " p99 (ms)", #x, "p99", "p99_" v "_ms", 1),        \
		M(#x "_sd_ms", FIELD_REAL, X " sd (ms)", #x, "sd", "std_" v "_ms", 0),           \
		M(#x "_min_ms", FIELD_REAL, X " min (ms)", #x, "min", NULL, 0),                  \
		M(#x "_p95_ms", FIELD_REAL, X " p95 (ms)", #x, "p95", "p95_" v "_ms", 0),        \
		M(#x "_p999_ms", FIELD_REAL, X " p99.9 (ms)", #x, "p99.9", "p99.9_" v "_ms", 0), \
		M(#x "_max_ms", FIELD_REAL, X " max (ms)", #x, "max", NULL, 0)

/* The server's histogram quantile beside the client's (reports/server_cmp.c). */
#define SRVCMP(x, X, q)                                                                            \
	M("srvcmp_" #x "_" #q "_client_ms", FIELD_REAL, X " " #q " client (ms)", "srvcmp",         \
	  X " " #q " client", NULL, 1),                                                            \
		M("srvcmp_" #x "_" #q "_server_ms", FIELD_REAL, X " " #q " server (ms)", "srvcmp", \
		  X " " #q " server", NULL, 1),                                                    \
		M("srvcmp_" #x "_" #q "_diff_ms", FIELD_REAL, X " " #q " server - client (ms)",    \
		  "srvcmp", X " " #q " diff", NULL, 1)

static const struct field_desc metrics[] = {
	LAT(ttft, "TTFT", "ttft"),
	LAT(tpot, "TPOT", "tpot"),
	LAT(itl, "ITL", "itl"),
	LAT(e2e, "E2E", "e2el"),
	M("request_throughput", FIELD_REAL, "requests/s", "throughput", "req/s",
	  "request_throughput", 1),
	M("output_token_throughput", FIELD_REAL, "output tokens/s", "throughput", "out tok/s",
	  "output_throughput", 1),
	M("total_token_throughput", FIELD_REAL, "total tokens/s", "throughput", "total tok/s",
	  "total_token_throughput", 1),
	M("goodput", FIELD_REAL, "goodput (req/s)", "throughput", "goodput req/s",
	  "request_goodput", 1),
	M("offered_rate", FIELD_REAL, "offered rate (req/s)", "throughput", "offered req/s", NULL,
	  1),
	M("achieved_rate", FIELD_REAL, "achieved rate (req/s)", "throughput", "achieved req/s",
	  NULL, 1),
	M("duration_s", FIELD_REAL, "duration (s)", "throughput", "duration s", "duration", 1),
	M("requests_ok", FIELD_INT, "requests ok", "requests", "ok", "completed", 1),
	M("requests_failed", FIELD_INT, "requests failed", "requests", "failed", NULL, 1),
	M("requests_warmup", FIELD_INT, "warm-up requests", "requests", "warm-up", NULL, 1),
	M("inflight_peak", FIELD_INT, "peak requests in flight", "requests", "peak in flight", NULL,
	  1),
	M("prompt_tokens_mean", FIELD_REAL, "prompt tokens (mean)", "tokens", "prompt tok", NULL,
	  1),
	M("output_tokens_mean", FIELD_REAL, "output tokens (mean)", "tokens", "output tok", NULL,
	  1),
	M("decode_speed_mean", FIELD_REAL, "decode speed per user (tok/s)", "tokens", "tok/s/user",
	  NULL, 1),
	M("pp_tps", FIELD_REAL, "prompt processing (tok/s)", "speed", "pp t/s", NULL, 1),
	M("pp_tps_sd", FIELD_REAL, "prompt processing sd (tok/s)", "speed", "pp sd", NULL, 0),
	M("tg_tps", FIELD_REAL, "generation (tok/s)", "speed", "tg t/s", NULL, 1),
	M("tg_tps_sd", FIELD_REAL, "generation sd (tok/s)", "speed", "tg sd", NULL, 0),
	M("energy_j", FIELD_REAL, "energy (J)", "energy", "J", NULL, 1),
	M("power_avg_w", FIELD_REAL, "average power (W)", "energy", "avg W", NULL, 1),
	M("power_idle_w", FIELD_REAL, "idle power (W)", "energy", "idle W", NULL, 1),
	M("energy_dynamic_j", FIELD_REAL, "dynamic energy (J)", "energy", "dyn J", NULL, 1),
	M("j_per_output_token", FIELD_REAL, "J per output token", "energy", "J/out tok", NULL, 1),
	M("j_per_total_token", FIELD_REAL, "J per total token", "energy", "J/tok", NULL, 1),
	M("tokens_per_j", FIELD_REAL, "tokens per J", "energy", "tok/J", NULL, 1),
	M("j_per_request_attributed", FIELD_REAL, "J per request (attributed)", "energy",
	  "J/req attr", NULL, 1),
	M("model_size_mib", FIELD_REAL, "model size (MiB)", "ppl", "size MiB", NULL, 1),
	M("ppl", FIELD_REAL, "perplexity", "ppl", "PPL", NULL, 1),
	M("ppl_err", FIELD_REAL, "perplexity error", "ppl", "PPL ±", NULL, 0),
	M("bpb", FIELD_REAL, "bits per byte", "ppl", "BPB", NULL, 1),
	M("kld_mean", FIELD_REAL, "KL divergence (mean)", "ppl", "KLD", NULL, 1),
	M("kld_err", FIELD_REAL, "KL divergence error", "ppl", "KLD ±", NULL, 0),
	M("kld_p99", FIELD_REAL, "KL divergence p99", "ppl", "KLD p99", NULL, 1),
	M("same_top_pct", FIELD_REAL, "same top token (%)", "ppl", "same top %", NULL, 1),
	M("rms_dp_pct", FIELD_REAL, "RMS Δp (%)", "ppl", "RMS Δp %", NULL, 1),
	M("ppl_ratio", FIELD_REAL, "PPL(Q)/PPL(base)", "ppl", "PPL ratio", NULL, 1),
	M("qa_correct", FIELD_REAL, "QA correct", "qa", "correct", NULL, 1),
	M("qa_incorrect", FIELD_REAL, "QA incorrect", "qa", "incorrect", NULL, 1),
	M("qa_not_attempted", FIELD_REAL, "QA not attempted", "qa", "not attempted", NULL, 1),
	M("qa_hallucination_rate", FIELD_REAL, "hallucination rate", "qa", "halluc. rate", NULL, 1),
	M("qa_accuracy_given_attempted", FIELD_REAL, "accuracy given attempted", "qa",
	  "acc | attempted", NULL, 1),
	M("qa_f", FIELD_REAL, "F score", "qa", "F", NULL, 1),
	M("mc1", FIELD_REAL, "MC1", "mc", "MC1", NULL, 1),
	M("mc2", FIELD_REAL, "MC2", "mc", "MC2", NULL, 1),
	M("mc3", FIELD_REAL, "MC3", "mc", "MC3", NULL, 1),
	M("harness_cpu_s", FIELD_REAL, "harness CPU (s)", "harness", "CPU s", NULL, 1),
	M("harness_peak_rss_mib", FIELD_REAL, "harness peak RSS (MiB)", "harness", "RSS MiB", NULL,
	  1),
	LAT(lag, "schedule lag", "lag"),
	SRVCMP(ttft, "TTFT", p50),
	SRVCMP(ttft, "TTFT", p99),
	SRVCMP(itl, "ITL", p50),
	SRVCMP(itl, "ITL", p99),
};

static const struct field_group groups[] = {
	{ "ttft", "TTFT (ms): time to first token", NULL },
	{ "tpot", "TPOT (ms): time per output token after the first", NULL },
	{ "itl", "ITL (ms): chunk gaps pooled over requests",
	  "One sample per stream chunk (vLLM's ITL); a chunk may carry several tokens." },
	{ "e2e", "E2E latency (ms)", NULL },
	{ "throughput", "Throughput", NULL },
	{ "requests", "Requests", "Failed and warm-up requests are excluded from every figure." },
	{ "tokens", "Tokens", NULL },
	{ "speed", "In-process speed (llama-bench pp/tg)", NULL },
	{ "energy", "Energy", NULL },
	{ "ppl", "Perplexity and quantization error", NULL },
	{ "qa", "Reference QA (regex-graded, with Wilson 95% intervals)",
	  "Graded by regular expressions: not the official SimpleQA number." },
	{ "mc", "Multiple choice by log-likelihood (TruthfulQA MC1/MC2/MC3)", NULL },
	{ "harness", "Harness self-cost and schedule lag", NULL },
	{ "lag", "Schedule lag (ms): t_send - t_scheduled", NULL },
	{ "server", "The server's own metrics (scraped from its /metrics)",
	  "Means and maxima over the level's scrapes; unavailable: the server exposes no such "
	  "metric." },
	{ "srvcmp", "Server vs client latency quantiles (ms)",
	  "The server's quantiles come from its histogram, interpolated inside a bucket (vLLM's TTFT "
	  "buckets near 50 ms are 40, 60, 80 ms): a difference within the bucket's width is no "
	  "disagreement. The server's clock starts when it receives the request." },
	{ "other", "Other figures", NULL },
};

const struct field_desc *fields_params(size_t *n)
{
	*n = sizeof(params) / sizeof(params[0]);
	return params;
}

const struct field_desc *fields_metrics(size_t *n)
{
	*n = sizeof(metrics) / sizeof(metrics[0]);
	return metrics;
}

const struct field_group *fields_groups(size_t *n)
{
	*n = sizeof(groups) / sizeof(groups[0]);
	return groups;
}

static int known_index(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (!strcmp(metrics[i].name, name))
			return (int)i;
	return -1;
}

static bool ends_with(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);

	return len > n && !memcmp(s + len - n, suf, n);
}

bool fields_is_companion(const char *name, size_t *base_len)
{
	static const char *const sufs[] = { "_sd", "_err", "_lo", "_hi" };
	size_t len = strlen(name), i;

	for (i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++) {
		if (ends_with(name, len, sufs[i])) {
			if (base_len)
				*base_len = len - strlen(sufs[i]);
			return true;
		}
	}
	return false;
}

const struct field_desc *fields_lookup(const char *name, struct field_desc *tmp)
{
	int i = known_index(name);
	size_t base;

	if (i >= 0)
		return &metrics[i];
	memset(tmp, 0, sizeof(*tmp));
	tmp->name = name;
	tmp->type = FIELD_REAL;
	tmp->display = name;
	tmp->short_display = name;
	tmp->width = 10;
	tmp->in_table = 1;
	tmp->group = "other";
	if (!strncmp(name, "requests_failed_", 16)) {
		tmp->type = FIELD_INT;
		tmp->group = "requests";
		tmp->short_display = name + 9; /* "failed_http_503" */
	} else if (!strncmp(name, "qa_", 3)) {
		tmp->group = "qa";
		tmp->short_display = name + 3;
	} else if (!strncmp(name, "kld_", 4)) {
		tmp->group = "ppl";
	} else if (!strncmp(name, "server_", 7)) {
		tmp->group = "server";
		tmp->short_display = name + 7; /* "running_mean" */
	}
	if (fields_is_companion(name, &base)) {
		/* the companion of a known metric lives with it and hides behind it */
		char b[128];

		if (base < sizeof(b)) {
			memcpy(b, name, base);
			b[base] = 0;
			i = known_index(b);
			if (i >= 0) {
				tmp->group = metrics[i].group;
				tmp->in_table = 0;
			}
		}
	}
	return tmp;
}

int fields_rank(const char *name)
{
	int i = known_index(name);
	size_t base;

	if (i >= 0)
		return 2 * i;
	if (fields_is_companion(name, &base)) {
		char b[128];

		if (base < sizeof(b)) {
			memcpy(b, name, base);
			b[base] = 0;
			i = known_index(b);
			if (i >= 0)
				return 2 * i + 1;
		}
	}
	if (!strncmp(name, "requests_failed_", 16))
		return 2 * known_index("requests_failed") + 1;
	return 1 << 20;
}

int fields_cmp(const char *a, const char *b)
{
	int ra = fields_rank(a), rb = fields_rank(b);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(a, b);
}

char *fields_fmt_num(char *buf, size_t len, double v, enum field_type type)
{
	double a = fabs(v);

	if (isnan(v))
		snprintf(buf, len, "nan");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "inf" : "-inf");
	else if (type == FIELD_INT || (a >= 1000 && a < 1e15 && v == (double)(long long)v))
		snprintf(buf, len, "%.0f", v);
	else if (a >= 1000)
		snprintf(buf, len, "%.0f", v);
	else if (a >= 100)
		snprintf(buf, len, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, len, "%.2f", v);
	else if (a >= 0.01 || v == 0)
		snprintf(buf, len, "%.3f", v);
	else
		snprintf(buf, len, "%.2e", v);
	/* "-0.000" reads as a sign error */
	if (!strcmp(buf, "-0.000") || !strcmp(buf, "-0"))
		memmove(buf, buf + 1, strlen(buf));
	return buf;
}

char *fields_fmt_exact(char *buf, size_t len, double v)
{
	if (isnan(v) || isinf(v))
		snprintf(buf, len, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else {
		snprintf(buf, len, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.17g", v);
	}
	return buf;
}
