/* prom_map.c: which metric of which server feeds which common figure (prom.h), and the
 * figures of one scraped document: gauges, prefix-cache counters, histograms. Names from the
 * servers' sources: vLLM (vllm/v1/metrics/loggers.py; gpu_* and time_per_output_token are the
 * older V0 names), SGLang (sglang/srt/metrics/collector.py), TGI (router/src/server.rs),
 * llama-server (tools/server/server-task.cpp, `--metrics`) and `llmbench sim`. */
#include "prom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct prom_map table[] = {
	/* vLLM */
	{ "vllm", "vllm:num_requests_running", PROM_FIG_RUNNING, PROM_HOW_GAUGE, 1 },
	{ "vllm", "vllm:num_requests_waiting", PROM_FIG_WAITING, PROM_HOW_GAUGE, 1 },
	{ "vllm", "vllm:kv_cache_usage_perc", PROM_FIG_KV_USAGE, PROM_HOW_GAUGE, 1 },
	{ "vllm", "vllm:gpu_cache_usage_perc", PROM_FIG_KV_USAGE, PROM_HOW_GAUGE, 1 },
	{ "vllm", "vllm:prefix_cache_hits_total", PROM_FIG_PREFIX_HIT_RATE, PROM_HOW_HITS, 1 },
	{ "vllm", "vllm:prefix_cache_queries_total", PROM_FIG_PREFIX_HIT_RATE, PROM_HOW_QUERIES,
	  1 },
	{ "vllm", "vllm:gpu_prefix_cache_hit_rate", PROM_FIG_PREFIX_HIT_RATE, PROM_HOW_GAUGE, 1 },
	{ "vllm", "vllm:time_to_first_token_seconds", PROM_FIG_TTFT, PROM_HOW_HISTOGRAM, 1 },
	{ "vllm", "vllm:inter_token_latency_seconds", PROM_FIG_ITL, PROM_HOW_HISTOGRAM, 1 },
	{ "vllm", "vllm:time_per_output_token_seconds", PROM_FIG_ITL, PROM_HOW_HISTOGRAM, 1 },
	/* SGLang */
	{ "sglang", "sglang:num_running_reqs", PROM_FIG_RUNNING, PROM_HOW_GAUGE, 1 },
	{ "sglang", "sglang:num_running_reqs", PROM_FIG_BATCH_SIZE, PROM_HOW_GAUGE, 1 },
	{ "sglang", "sglang:num_queue_reqs", PROM_FIG_WAITING, PROM_HOW_GAUGE, 1 },
	{ "sglang", "sglang:token_usage", PROM_FIG_KV_USAGE, PROM_HOW_GAUGE, 1 },
	{ "sglang", "sglang:cache_hit_rate", PROM_FIG_PREFIX_HIT_RATE, PROM_HOW_GAUGE, 1 },
	{ "sglang", "sglang:time_to_first_token_seconds", PROM_FIG_TTFT, PROM_HOW_HISTOGRAM, 1 },
	{ "sglang", "sglang:inter_token_latency_seconds", PROM_FIG_ITL, PROM_HOW_HISTOGRAM, 1 },
	{ "sglang", "sglang:time_per_output_token_seconds", PROM_FIG_ITL, PROM_HOW_HISTOGRAM, 1 },
	/* TGI: no KV usage, no prefix cache figures, no TTFT histogram; the ITL figure is the
	 * per-request mean time per token */
	{ "tgi", "tgi_batch_current_size", PROM_FIG_RUNNING, PROM_HOW_GAUGE, 1 },
	{ "tgi", "tgi_batch_current_size", PROM_FIG_BATCH_SIZE, PROM_HOW_GAUGE, 1 },
	{ "tgi", "tgi_queue_size", PROM_FIG_WAITING, PROM_HOW_GAUGE, 1 },
	{ "tgi", "tgi_request_mean_time_per_token_duration", PROM_FIG_ITL, PROM_HOW_HISTOGRAM, 1 },
	/* llama-server --metrics: no KV usage gauge, no histograms */
	{ "llama-server", "llamacpp:requests_processing", PROM_FIG_RUNNING, PROM_HOW_GAUGE, 1 },
	{ "llama-server", "llamacpp:requests_deferred", PROM_FIG_WAITING, PROM_HOW_GAUGE, 1 },
	{ "llama-server", "llamacpp:n_busy_slots_per_decode", PROM_FIG_BATCH_SIZE, PROM_HOW_GAUGE,
	  1 },
	{ "llama-server", "llamacpp:prompt_tokens_cached_total", PROM_FIG_PREFIX_HIT_RATE,
	  PROM_HOW_HITS, 1 },
	{ "llama-server", "llamacpp:prompt_tokens_total", PROM_FIG_PREFIX_HIT_RATE, PROM_HOW_MISSES,
	  1 },
};

#define N_TABLE (sizeof(table) / sizeof(table[0]))

const char *prom_fig_name(enum prom_fig f)
{
	static const char *const names[PROM_FIG_COUNT] = {
		[PROM_FIG_RUNNING] = "requests_running",
		[PROM_FIG_WAITING] = "requests_waiting",
		[PROM_FIG_KV_USAGE] = "kv_cache_usage",
		[PROM_FIG_PREFIX_HIT_RATE] = "prefix_cache_hit_rate",
		[PROM_FIG_BATCH_SIZE] = "batch_size",
		[PROM_FIG_TTFT] = "server_ttft_s",
		[PROM_FIG_ITL] = "server_itl_s",
	};

	return (unsigned)f < PROM_FIG_COUNT ? names[f] : "?";
}

const struct prom_map *prom_map_find(const char *metric)
{
	size_t i;

	for (i = 0; i < N_TABLE; i++)
		if (!strcmp(table[i].metric, metric))
			return &table[i];
	return NULL;
}

const struct prom_map *prom_map_table(size_t *n)
{
	*n = N_TABLE;
	return table;
}

/* name is family + suffix: the suffix, else NULL. */
static const char *suffix_of(const char *name, const char *family)
{
	size_t n = strlen(family);

	return strncmp(name, family, n) ? NULL : name + n;
}

static void add_bucket(struct prom_hist *h, double le, double v)
{
	size_t i, j;

	for (i = 0; i < h->n; i++)
		if (h->le[i] == le) {
			h->cum[i] += v; /* label sets (models, engines) add up */
			return;
		}
	if (h->n >= PROM_MAX_BUCKETS)
		return;
	for (i = 0; i < h->n && h->le[i] < le; i++)
		;
	for (j = h->n; j > i; j--) {
		h->le[j] = h->le[j - 1];
		h->cum[j] = h->cum[j - 1];
	}
	h->le[i] = le;
	h->cum[i] = v;
	h->n++;
}

static void take_hist(const struct prom_sample *s, const struct prom_map *m,
		      struct prom_figures *out, const char *family)
{
	const char *sfx = suffix_of(s->name, family);
	struct prom_hist *h = &out->hist[m->fig == PROM_FIG_TTFT ? 0 : 1];
	const char *le;

	const char **fam = &out->hist_family[m->fig == PROM_FIG_TTFT ? 0 : 1];

	if (!sfx || !isfinite(s->value) || (*fam && strcmp(*fam, m->metric)))
		return; /* one family per figure: the first seen (vLLM may expose old and new) */
	*fam = m->metric;
	if (!strcmp(sfx, "_bucket") && (le = prom_label(s, "le"))) {
		double v = strcmp(le, "+Inf") ? strtod(le, NULL) : INFINITY;

		add_bucket(h, v, s->value);
	} else if (!strcmp(sfx, "_sum")) {
		h->sum += s->value;
	} else if (!strcmp(sfx, "_count")) {
		h->count += s->value;
	} else {
		return;
	}
	out->have[m->fig] = true;
	out->server = m->server;
}

/* Histogram samples carry a suffix: the family name without it, NULL when none fits. */
static const struct prom_map *find_family(const char *name, char *fam, size_t cap)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	size_t n = strlen(name), k;

	for (k = 0; k < 3; k++) {
		size_t m = strlen(sfx[k]);
		const struct prom_map *pm;

		if (n <= m || n - m >= cap || strcmp(name + n - m, sfx[k]))
			continue;
		memcpy(fam, name, n - m);
		fam[n - m] = 0;
		pm = prom_map_find(fam);
		if (pm && pm->how == PROM_HOW_HISTOGRAM)
			return pm;
	}
	return NULL;
}

void prom_figures(const struct prom_doc *d, struct prom_figures *out)
{
	double misses = 0;
	bool have_q = false, have_h = false, have_m = false;
	size_t i, k;

	memset(out, 0, sizeof(*out));
	out->server = "";
	for (i = 0; i < d->n; i++) {
		const struct prom_sample *s = &d->v[i];
		char fam[PROM_MAX_NAME + 1];
		const struct prom_map *hm = find_family(s->name, fam, sizeof(fam));

		if (hm) {
			take_hist(s, hm, out, fam);
			continue;
		}
		for (k = 0; k < N_TABLE; k++) {
			const struct prom_map *m = &table[k];

			if (strcmp(m->metric, s->name) || !isfinite(s->value))
				continue;
			out->server = m->server;
			switch (m->how) {
			case PROM_HOW_GAUGE:
				if (m->fig == PROM_FIG_PREFIX_HIT_RATE)
					out->have_prefix_gauge = true;
				out->value[m->fig] += s->value * m->scale;
				out->have[m->fig] = true;
				break;
			case PROM_HOW_HITS:
				out->hits += s->value;
				have_h = true;
				break;
			case PROM_HOW_QUERIES:
				out->queries += s->value;
				have_q = true;
				break;
			case PROM_HOW_MISSES:
				misses += s->value;
				have_m = true;
				break;
			case PROM_HOW_HISTOGRAM: break;
			}
		}
	}
	if (have_h && (have_q || have_m)) {
		if (!have_q)
			out->queries = out->hits + misses;
		out->have_prefix_counts = true;
		out->have[PROM_FIG_PREFIX_HIT_RATE] = true;
	}
}

double prom_hit_rate(const struct prom_figures *a, const struct prom_figures *b)
{
	if (a && b && a->have_prefix_counts && b->have_prefix_counts) {
		double dq = b->queries - a->queries, dh = b->hits - a->hits;

		return dq > 0 && dh >= 0 ? dh / dq : -1;
	}
	if (b && b->have_prefix_gauge)
		return b->value[PROM_FIG_PREFIX_HIT_RATE];
	return -1;
}

double prom_hist_quantile(const struct prom_hist *a, const struct prom_hist *b, double q)
{
	double cum[PROM_MAX_BUCKETS], total, rank, prev_le = 0, prev_c = 0;
	size_t i;

	if (!b || !b->n || !isinf(b->le[b->n - 1]))
		return -1;
	for (i = 0; i < b->n; i++) {
		double base = 0;
		size_t j;

		if (a)
			for (j = 0; j < a->n; j++)
				if (a->le[j] == b->le[i])
					base = a->cum[j];
		cum[i] = b->cum[i] - base;
	}
	total = cum[b->n - 1];
	if (total <= 0)
		return -1;
	rank = q * total;
	for (i = 0; i < b->n; i++) {
		if (cum[i] >= rank) {
			if (isinf(b->le[i])) /* in the +Inf bucket: the highest finite bound */
				return i ? b->le[i - 1] : -1;
			if (cum[i] == prev_c)
				return b->le[i];
			return prev_le + (b->le[i] - prev_le) * (rank - prev_c) / (cum[i] - prev_c);
		}
		prev_le = b->le[i];
		prev_c = cum[i];
	}
	return -1;
}
