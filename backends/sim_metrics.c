/* sim_metrics.c: GET /metrics, the simulator's own Prometheus exposition under vLLM's metric
 * names, with values the sim knows exactly: requests running (generating) and waiting (the
 * --capacity queue), KV-cache usage (the prompt and output tokens of running requests over
 * --kv-cache-tokens), prefix-cache queries and hits in tokens, finished requests by reason
 * (abort: the client left mid-response), and the server-side TTFT and ITL histograms of
 * streamed requests with vLLM's buckets. docs/sim.md lists each figure's definition. */
#include "sim_int.h"

#include <stdio.h>
#include <string.h>

/* vLLM's buckets (vllm/v1/metrics/loggers.py). */
static const double ttft_bounds[] = { 0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
				      0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
				      20.0,  40.0,  80.0, 160.0, 640.0, 2560.0 };
static const double itl_bounds[] = { 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
				     0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0 };
#define N_TTFT (sizeof(ttft_bounds) / sizeof(ttft_bounds[0]))
#define N_ITL (sizeof(itl_bounds) / sizeof(itl_bounds[0]))
_Static_assert(N_TTFT <= SIM_HIST_MAX && N_ITL <= SIM_HIST_MAX, "SIM_HIST_MAX too small");

static void observe(struct sim_hist *h, const double *bounds, size_t n, double v)
{
	size_t i = 0;

	while (i < n && v > bounds[i])
		i++;
	h->b[i]++;
	h->count++;
	h->sum += v;
}

void sim_metrics_ttft(struct sim *s, uint64_t ns)
{
	observe(&s->m.ttft, ttft_bounds, N_TTFT, (double)ns / 1e9);
}

void sim_metrics_itl(struct sim *s, uint64_t ns)
{
	observe(&s->m.itl, itl_bounds, N_ITL, (double)ns / 1e9);
}

/* The model_name label's value, escaped as the exposition format asks. */
static void add_label(struct strbuf *sb, const char *model)
{
	strbuf_adds(sb, "{model_name=\"");
	for (; *model; model++) {
		if (*model == '\\' || *model == '"')
			strbuf_addch(sb, '\\');
		if (*model == '\n')
			strbuf_adds(sb, "\\n");
		else
			strbuf_addch(sb, *model);
	}
	strbuf_addch(sb, '"');
}

static void add_head(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void add_value(struct strbuf *sb, const char *name, const char *model, const char *extra,
		      double v)
{
	strbuf_adds(sb, name);
	add_label(sb, model);
	if (extra)
		strbuf_addf(sb, ",%s", extra);
	strbuf_addf(sb, "} %.17g\n", v);
}

static void add_hist(struct strbuf *sb, const char *name, const char *help, const char *model,
		     const struct sim_hist *h, const double *bounds, size_t n)
{
	uint64_t cum = 0;
	char le[48];
	size_t i;

	add_head(sb, name, "histogram", help);
	for (i = 0; i <= n; i++) {
		cum += h->b[i];
		if (i < n)
			snprintf(le, sizeof(le), "le=\"%g\"", bounds[i]);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		strbuf_addf(sb, "%s_bucket", name);
		add_label(sb, model);
		strbuf_addf(sb, ",%s} %llu\n", le, (unsigned long long)cum);
	}
	strbuf_addf(sb, "%s_sum", name);
	add_label(sb, model);
	strbuf_addf(sb, "} %.17g\n%s_count", h->sum, name);
	add_label(sb, model);
	strbuf_addf(sb, "} %llu\n", (unsigned long long)h->count);
}

void sim_metrics_render(struct sim *s, struct strbuf *sb)
{
	const char *m = s->cfg.model;
	const struct conn *c;
	uint64_t kv = 0;

	for (c = s->conns; c; c = c->next)
		if (c->holds_slot)
			kv += (uint64_t)c->prompt_tokens + (uint64_t)c->sent;
	add_head(sb, "vllm:num_requests_running", "gauge",
		 "Number of requests in model execution batches.");
	add_value(sb, "vllm:num_requests_running", m, NULL, (double)s->n_generating);
	add_head(sb, "vllm:num_requests_waiting", "gauge",
		 "Number of requests waiting to be processed.");
	add_value(sb, "vllm:num_requests_waiting", m, NULL, (double)s->n_queued);
	add_head(sb, "vllm:kv_cache_usage_perc", "gauge",
		 "KV-cache usage. 1 means 100 percent usage.");
	add_value(sb, "vllm:kv_cache_usage_perc", m, NULL,
		  (double)kv / (double)(s->cfg.kv_cache_tokens > 0 ? s->cfg.kv_cache_tokens : 1));
	if (s->prefix) {
		add_head(sb, "vllm:prefix_cache_queries_total", "counter",
			 "Prefix cache queries, in terms of number of queried tokens.");
		add_value(sb, "vllm:prefix_cache_queries_total", m, NULL,
			  (double)s->st.prefix_queries);
		add_head(sb, "vllm:prefix_cache_hits_total", "counter",
			 "Prefix cache hits, in terms of number of cached tokens.");
		add_value(sb, "vllm:prefix_cache_hits_total", m, NULL, (double)s->st.prefix_hits);
	}
	add_head(sb, "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
	add_value(sb, "vllm:prompt_tokens_total", m, NULL, (double)s->m.prompt_tokens);
	add_head(sb, "vllm:generation_tokens_total", "counter",
		 "Number of generation tokens processed.");
	add_value(sb, "vllm:generation_tokens_total", m, NULL, (double)s->st.tokens);
	add_head(sb, "vllm:request_success_total", "counter",
		 "Count of successfully processed requests.");
	add_value(sb, "vllm:request_success_total", m, "finished_reason=\"stop\"",
		  (double)s->m.fin_stop);
	add_value(sb, "vllm:request_success_total", m, "finished_reason=\"length\"",
		  (double)s->m.fin_length);
	add_value(sb, "vllm:request_success_total", m, "finished_reason=\"abort\"",
		  (double)s->m.fin_abort);
	add_hist(sb, "vllm:time_to_first_token_seconds",
		 "Histogram of time to first token in seconds.", m, &s->m.ttft, ttft_bounds,
		 N_TTFT);
	add_hist(sb, "vllm:inter_token_latency_seconds",
		 "Histogram of inter-token latency in seconds.", m, &s->m.itl, itl_bounds, N_ITL);
}
