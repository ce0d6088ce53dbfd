/* bench_workload.h: the workload that `llmbench bench`'s flags (vLLM's names) describe, built
 * as workload JSON text (docs/workload.md), so that a flag-only run is stored like any other
 * and --dump-workload shows the file a user can graduate to. */
#ifndef LB_BENCH_WORKLOAD_H
#define LB_BENCH_WORKLOAD_H

#include <stdbool.h>

struct lb_error;

struct bench_opts {
	const char *base_url; /* http://host:port/v1 (or built from host, port) */
	const char *model;
	const char *api;          /* completions or chat */
	const char *name;         /* workload name (default "bench") */
	long num_prompts;         /* default 1000, as vLLM */
	double request_rate;      /* INFINITY: all at once (closed loop) */
	double burstiness;        /* 1: Poisson */
	long max_concurrency;     /* 0: none */
	long workers;             /* load.workers, 0: auto */
	const char *dataset_name; /* random, sharegpt, lines, jsonl, synthetic */
	const char *dataset_path;
	const char *dataset_format;               /* explicit format for dataset_path */
	long random_input_len, random_output_len; /* vLLM: 1024, 128 */
	double random_range_ratio;                /* 0: fixed lengths */
	long random_prefix_len;
	long max_tokens;    /* <0: random_output_len (random) or 128 */
	double temperature; /* <0: 0 (greedy, as vLLM) */
	double top_p;       /* <0: server's */
	long top_k;         /* <0: server's */
	bool ignore_eos;
	bool stream;
	long seed; /* vLLM: 0 */
	long num_warmups;
	const char *goodput; /* "ttft:500 tpot:50 e2el:5000" */
	const char *api_key_env;
	const char *rx_timestamps;    /* NULL: the backend's default (kernel) */
	const char *http_client;      /* NULL: the backend's default (libcurl) */
	const char *random_spec_path; /* where the random dataset's spec file is written */
};

void bench_opts_init(struct bench_opts *o);
/* The workload JSON text (owned by the caller, cJSON_free); writes the random dataset's spec to
 * o->random_spec_path when the dataset is random. LB_ERR_USAGE naming the flag on bad input. */
int bench_workload_build(const struct bench_opts *o, char **json, struct lb_error *err);
/* Parse --goodput "ttft:500 tpot:50 e2el:5000" (vLLM's keys; ms); fills ms (NAN unset). */
int bench_parse_goodput(const char *s, double *ttft, double *tpot, double *e2el,
			struct lb_error *err);

#endif
