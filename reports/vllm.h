/* vllm.h: a run's levels in `vllm bench serve` terms: its printed summary block ("Serving
 * Benchmark Result") and the flat result JSON of --save-result, with vLLM's key names and units
 * (docs/cli/bench.md lists the keys). Read from the store; one level at a time. */
#ifndef LB_REPORTS_VLLM_H
#define LB_REPORTS_VLLM_H

#include "../metrics/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct lb_error;

/* A growable list of doubles. */
struct vllm_vec {
	double *v;
	size_t n, alloc;
};

struct vllm_level {
	const char *run, *backend, *model, *mode; /* lent: valid during the callback */
	int64_t level_id;
	int idx, rep;
	double value; /* the concurrency or rate of the level */
	bool valid;   /* false: the level's figures are not to be trusted, see reason */
	const char *invalid_reason;
	const char *date;  /* the run's start, UTC, YYYYmmdd-HHMMSS (vLLM's form); NULL unknown */
	const char *api;   /* the backend's API: completions or chat; NULL unknown */
	double burstiness; /* vLLM's gamma shape of a rate level's arrivals; NAN none */
	double duration_s; /* first measured send to last end (the level's duration_s) */
	double goodput;    /* req/s meeting every SLO; NAN when no SLO was set */
	long completed, failed;
	long total_input, total_output;
	struct vllm_vec ttft, tpot, itl, e2el; /* ms, over completed requests */
	double peak_output_tps; /* the highest output tokens in a 1 s bucket; NAN unknown */
	long peak_concurrency;  /* most requests in flight at once */
	/* every measured request in request order, for the per-request arrays */
	size_t n_req;
	struct vllm_req {
		long input_len, output_len; /* -1 unknown */
		double ttft_s;              /* NAN: none (failed) */
		char *text, *error;         /* owned; NULL none */
		struct vllm_vec itl_s;
	} * req;
};

struct vllm_opts {
	const char *backend_name; /* "openai" / "openai-chat", as vLLM's --backend */
	const char *tokenizer_id; /* NULL: the model */
	const char *date;         /* YYYYmmdd-HHMMSS */
	long num_prompts;
	double request_rate; /* INFINITY: all at once ("inf") */
	double burstiness;
	long max_concurrency;           /* <= 0: none (null) */
	const char *percentile_metrics; /* "ttft,tpot,itl" (vLLM's default) */
	const double *percentiles;      /* e.g. {99} */
	size_t n_percentiles;
	bool goodput_set;
};

typedef int vllm_level_fn(void *ctx, const struct vllm_level *l, struct lb_error *err);

/* Call fn for each level (and repetition) of the run, in order. */
int vllm_levels(struct store *st, const char *run, vllm_level_fn *fn, void *ctx,
		struct lb_error *err);

/* vLLM's summary block, byte for byte its layout. */
void vllm_print_summary(FILE *f, const struct vllm_level *l, const struct vllm_opts *o);
/* The flat result object of `vllm bench serve --save-result` (one line, then "\n"). */
int vllm_write_result(FILE *f, const struct vllm_level *l, const struct vllm_opts *o,
		      struct lb_error *err);

/* Percentile by linear interpolation on sorted v (numpy's default); NAN when empty. */
double vllm_percentile(const struct vllm_vec *sorted, double p);

#endif
