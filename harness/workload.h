/* workload.h: a workload file (JSON) parsed, validated and expanded into backends and levels.
 *
 * Parsing is strict: an unknown key is an error naming the key, the file and the valid keys;
 * malformed JSON names the line and column. Nothing is sent before the workload is valid.
 * All strings are owned by the workload and live until workload_release(). */
#ifndef LB_WORKLOAD_H
#define LB_WORKLOAD_H

#include "../backends/backend.h"
#include "../metrics/level.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORKLOAD_MAX_BYTES (4u << 20)

struct wl_backend {
	struct backend_config cfg; /* strings point into memory the workload owns */
	char *base_model; /* model matrix: the unquantized GGUF this one came from, or NULL */
};

struct wl_dataset {
	char *path; /* resolved: relative paths are tried against the cwd, then the workload's dir */
	char *format; /* "lines", "jsonl", "sharegpt" (dataset_formats()) */
	long limit;   /* <= 0: all items */
	bool shuffle;
	uint64_t seed;
	bool token_ids; /* send prompts as token ids (synthetic datasets; /v1/completions) */
	char *reference_lengths; /* a vocabulary: each item asks for its reference reply's
				  * length in its tokens, as vLLM's ShareGPT; NULL: off */
};

struct wl_load {
	char *mode;     /* "concurrency" (closed loop) or "rate" (open loop) */
	double *levels; /* owned: concurrencies or rates (req/s) */
	size_t n_levels;
	long requests;     /* measured requests per level (after warm-up); <= 0 with duration */
	long warmup;       /* warm-up requests per level, excluded from every figure */
	double duration_s; /* > 0: stop a level after this long (measured part) */
	int repeat;        /* repetitions of each level, >= 1 */
	char *arrival;     /* rate mode: "constant", "poisson", "gamma" */
	double burstiness; /* gamma: coefficient of variation, > 0 */
	uint64_t seed;
	double lag_bound_ms; /* p99 schedule lag above this marks a level invalid (default 1) */
	long max_errors;     /* stop a level after this many failed requests (0: no bound) */
	double max_error_rate; /* stop a level when failed/done exceeds this after 20 requests (0: none) */
	double warmup_s;   /* requests sent in the first warmup_s seconds are warm-up too */
	long cooldown;     /* the last `cooldown` requests of a level are excluded from figures */
	long max_inflight; /* rate mode: at most this many in flight (0: unbounded) */
	char *overflow;    /* with max_inflight: "queue" (wait for a slot) or "drop" */
	double ramp_up_s;  /* grow concurrency / rate from ~0 to the level over this long */
	double stagger_ms; /* closed loop: stream k starts k * stagger_ms after the first (0.5;
			      * the whole stagger is capped at 1 s) */
	char *ramp;        /* "linear" or "exponential" */
	int sweep_points;  /* mode "sweep": rates between synchronous and saturation (default 5) */
	/* mode "sla": the highest rate or concurrency whose levels meet the SLOs */
	char *search_over;   /* "concurrency" (default) or "rate" */
	double search_start; /* first value tried (default 1) */
	double search_max;   /* never go above (default 4096) */
	int search_steps;    /* bisection steps after the doubling (default 4) */
	double slo_target;   /* a level meets the SLOs when this fraction of requests does (0.9) */
	/* load.cancel: abandon this fraction of requests after cancel_after_ms (>= 0) or after
	 * cancel_after_tokens output tokens (> 0); fraction 0: none */
	double cancel_fraction, cancel_after_ms;
	long cancel_after_tokens;
	/* worker event loops sending the requests (docs/performance.md "Workers"); 0: auto */
	int workers;
	/* modes "sessions" (levels: users) and "session_rate" (levels: sessions/s), see
	 * harness/workload_sessions.c; sessions: per level (0: each conversation once) */
	bool sessions_mode;
	long sessions;
};

/* "perplexity": llama.cpp's perplexity (and KLD against the matrix base) per in-process backend */
struct wl_perplexity {
	char *text; /* resolved path of the text; NULL: no perplexity section */
	int ctx;    /* tokens per chunk, default 128 */
	int batch;  /* default 2048 (as llama-perplexity) */
	int chunks; /* <= 0: every whole chunk */
	bool kld;   /* KLD against the model matrix's base (default true) */
};

struct workload {
	char *name;
	char *description; /* or NULL */
	char *path;        /* the file it came from */
	char *text;        /* the effective JSON (after --set overrides), stored with the run */
	struct wl_backend *backends;
	size_t n_backends;
	struct wl_dataset dataset;
	struct lb_gen gen; /* stop strings owned by the workload */
	struct wl_load load;
	struct wl_slo slo;
	struct wl_perplexity ppl;
	/* Sections owned by later modules, kept as JSON text (NULL when absent). */
	char *power_json;
	char *eval_json;
	char *gate_json;
	char *server_metrics_json; /* "server_metrics" (runner_prom.h), NULL: not scraped */
	void *priv;                /* owned: the memory the borrowed strings above point into */
};

/* Parse path, apply overrides ("load.requests=10", "backends.0.base_url=http://..."), validate.
 * On error, wl is left empty and err names the file and the field. */
int workload_load(struct workload *wl, const char *path, const char *const *sets, size_t n_sets,
		  struct lb_error *err);
/* Same from text in memory; path is used in messages and to resolve relative paths. */
int workload_parse(struct workload *wl, const char *text, size_t len, const char *path,
		   const char *const *sets, size_t n_sets, struct lb_error *err);
void workload_release(struct workload *wl);

#endif
