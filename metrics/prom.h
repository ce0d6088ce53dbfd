/* prom.h: a bounded parser of the Prometheus text exposition format (0.0.4, and the OpenMetrics
 * text that servers send under it), and the table that maps the metric names of vLLM, SGLang,
 * TGI and llama-server to common figures (prom_map.c). A server's /metrics is outside input:
 * every length and count is capped, and a malformed document is an error naming its line. */
#ifndef LB_PROM_H
#define LB_PROM_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_MAX_BYTES (16u << 20) /* a larger document is refused */
#define PROM_MAX_SAMPLES 200000
#define PROM_MAX_LABELS 32  /* per sample */
#define PROM_MAX_NAME 256   /* metric and label names */
#define PROM_MAX_VALUE 4096 /* label values, after unescaping */

enum prom_type {
	PROM_UNTYPED,
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM,
	PROM_SUMMARY
};

struct prom_label {
	char *name, *value;
};

struct prom_sample {
	char *name;
	struct prom_label *labels;
	size_t n_labels;
	double value; /* NaN and +-Inf as written */
	bool has_ts;
	int64_t ts_ms;
	enum prom_type type; /* of its family (# TYPE), the _bucket/_sum/_count of a histogram too */
};

struct prom_doc {
	struct prom_sample *v;
	size_t n, cap;
};

/* Parse buf[0..len). On error returns LB_ERR_PARSE with "line N: what" in err, and out is
 * empty. out must be zeroed or freed before. */
int prom_parse(const char *buf, size_t len, struct prom_doc *out, struct lb_error *err);
void prom_doc_free(struct prom_doc *d);
/* The value of label name in s, NULL when absent. */
const char *prom_label(const struct prom_sample *s, const char *name);
const char *prom_type_name(enum prom_type t);

/* Common figures (prom_map.c) */

enum prom_fig {
	PROM_FIG_RUNNING,         /* requests being generated now */
	PROM_FIG_WAITING,         /* requests queued */
	PROM_FIG_KV_USAGE,        /* KV-cache usage, fraction 0..1 */
	PROM_FIG_PREFIX_HIT_RATE, /* prefix-cache hit rate, fraction 0..1 (over the window) */
	PROM_FIG_BATCH_SIZE,      /* sequences per forward pass */
	PROM_FIG_TTFT,            /* the server's TTFT histogram, seconds */
	PROM_FIG_ITL,             /* the server's inter-token latency histogram, seconds */
	PROM_FIG_COUNT
};

/* How a server's metric feeds a figure. */
enum prom_how {
	PROM_HOW_GAUGE,     /* the value itself (summed over label sets) */
	PROM_HOW_HITS,      /* counter of cached prompt tokens: rate = d(hits) / d(queries) */
	PROM_HOW_QUERIES,   /* counter of prompt tokens looked up (hits included) */
	PROM_HOW_MISSES,    /* counter of prompt tokens not cached: queries = hits + misses */
	PROM_HOW_HISTOGRAM, /* a histogram family (name without _bucket) */
};

struct prom_map {
	const char *server; /* "vllm", "sglang", "tgi", "llama-server", "llmbench-sim" */
	const char *metric; /* the exposed family name */
	enum prom_fig fig;
	enum prom_how how;
	double scale; /* multiplies values (0..100 percent -> fraction: 0.01) */
};

/* The figure's short name ("requests_running", "kv_cache_usage", ...). */
const char *prom_fig_name(enum prom_fig f);
/* The table entry for a family name, NULL when unknown. */
const struct prom_map *prom_map_find(const char *metric);
/* All entries, for docs and tests. */
const struct prom_map *prom_map_table(size_t *n);

/* The figures of one scraped document: figures whose metrics the document lacks stay
 * unavailable (have[f] false); the prefix hit rate needs two documents (a window) and comes
 * from prom_hit_rate. Histograms: cumulative bucket counts by upper bound. */
#define PROM_MAX_BUCKETS 64
struct prom_hist {
	double le[PROM_MAX_BUCKETS]; /* ascending, +Inf last */
	double cum[PROM_MAX_BUCKETS];
	size_t n;
	double sum, count;
};

struct prom_figures {
	bool have[PROM_FIG_COUNT];
	double value[PROM_FIG_COUNT]; /* gauges */
	double hits, queries;         /* prefix-cache counters, tokens (have_prefix_counts) */
	bool have_prefix_counts;
	bool have_prefix_gauge;     /* a server-computed hit rate gauge (old vLLM, SGLang) */
	struct prom_hist hist[2];   /* [0]: TTFT, [1]: ITL */
	const char *hist_family[2]; /* the metric each came from, NULL: none */
	const char *server;         /* the server the names matched, "" when none */
};

void prom_figures(const struct prom_doc *d, struct prom_figures *out);
/* The hit rate between two documents a (earlier) and b: -1 when unavailable (no counters, or
 * no queries in between). A server's own gauge is used when it has no counters. */
double prom_hit_rate(const struct prom_figures *a, const struct prom_figures *b);
/* Quantile q (0..1) of the observations between a and b (b minus a; a NULL: since start), by
 * linear interpolation inside the bucket as Prometheus' histogram_quantile; -1 when empty. */
double prom_hist_quantile(const struct prom_hist *a, const struct prom_hist *b, double q);

#endif
