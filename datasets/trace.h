/* trace.h: timestamped request traces (docs/traffic.md). One JSON object per line, either the
 * Mooncake format {"timestamp": ms, "input_length": N, "output_length": N, "hash_ids": [...]}
 * (one hash id per block of block_size prompt tokens: the same id, the same tokens), or any
 * item with a "timestamp" and a "prompt" text (a fixed schedule). Lines must be sorted by
 * timestamp; every error names file:line, and all of it is checked before anything is sent.
 * Also: the figures `llmbench trace stats` prints and the generator of `llmbench trace gen`. */
#ifndef LB_TRACE_H
#define LB_TRACE_H

#include "../base/error.h"
#include "../base/strbuf.h"

#include <stddef.h>
#include <stdint.h>

#define TRACE_DEFAULT_BLOCK 512
#define TRACE_MAX_LEN 1048576L /* tokens of one request, in or out */
#define TRACE_MAX_LINES 10000000L

struct trace_req {
	double ts_ms;   /* from the trace's start as written (not shifted) */
	long in, out;   /* input_length (-1 with a text prompt), output_length (0: not given) */
	uint64_t *hash; /* owned: hash_ids, NULL when none */
	size_t n_hash;
	char *prompt; /* owned: the text prompt of a timestamped item, else NULL */
	long line;
};

struct trace {
	struct trace_req *v;
	size_t n, cap;
	long block_size;
};

/* Load path; limit > 0 keeps the first limit requests. */
int trace_load(const char *path, long block_size, long limit, struct trace *t,
	       struct lb_error *err);
void trace_free(struct trace *t);

#define TRACE_RATE_BINS 10
struct trace_stats {
	size_t n;
	double duration_s;                /* last minus first timestamp */
	double rate;                      /* requests / duration, 0 when duration is 0 */
	double bin_s;                     /* width of each rate bin */
	double bin_rate[TRACE_RATE_BINS]; /* requests/s in each tenth of the duration */
	size_t n_len;                     /* requests with token lengths (Mooncake lines) */
	double in_mean, in_p50, in_p90, in_p99, in_max, in_total;
	double out_mean, out_p50, out_p90, out_p99, out_max, out_total;
	/* best case with an unbounded prefix cache: a request's leading blocks whose hash ids
	 * were seen before are cached; in tokens of those blocks over all input tokens */
	double hit_tokens, hit_rate; /* hit_rate -1: no hash ids */
	size_t unique_ids, total_ids;
};

int trace_stats(const struct trace *t, struct trace_stats *out, struct lb_error *err);

struct trace_gen_cfg {
	long requests;       /* count */
	double rate;         /* requests/s */
	int poisson;         /* 1: exponential gaps, 0: constant */
	long in_min, in_max; /* input tokens, uniform */
	long out_min, out_max;
	double reuse; /* probability a request starts with an earlier one's blocks */
	long block_size;
	uint64_t seed;
};

/* Append the generated trace's lines to out. Deterministic for a seed. */
int trace_gen(const struct trace_gen_cfg *cfg, struct strbuf *out, struct lb_error *err);

#endif
