/* backend.h: a model server or engine the harness can send requests to.
 *
 * Every backend is a table of functions found by type name; the harness knows only this.
 * The harness owns struct backend and struct request; a backend owns only what hangs off
 * b->priv. A backend never writes SQL and never prints. */
#ifndef LB_BACKEND_H
#define LB_BACKEND_H

#include "../base/error.h"
#include "../base/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum backend_caps {
	BACKEND_CAP_STREAM = (1 << 0),   /* token-level events (TTFT/ITL measurable) */
	BACKEND_CAP_LOGLIK = (1 << 1),   /* prompt log-probabilities (perplexity, MC) */
	BACKEND_CAP_TOKENIZE = (1 << 2), /* exact token counts */
	BACKEND_CAP_USAGE = (1 << 3),    /* server reports usage.{prompt,completion}_tokens */
	/* the model runs on the caller's thread (poll decodes): a busy harness thread is the server
	 * working, not the client falling behind, and the backend cannot be spread over threads */
	BACKEND_CAP_INPROC = (1 << 4),
};

#define BACKEND_MAX_HEADERS 16
#define BACKEND_MAX_STOP 8

/* Everything needed to open a backend; strings borrowed from the workload (live for the run). */
struct backend_config {
	const char *name; /* the workload's name for this backend */
	const char *type; /* "openai", "llamacpp" */
	/* openai */
	const char *base_url;    /* "http://127.0.0.1:8089/v1" */
	const char *model;       /* "model" field sent to the server */
	const char *api;         /* "completions" or "chat" */
	const char *api_key_env; /* name of the environment variable holding the key, or NULL */
	const char *headers[BACKEND_MAX_HEADERS]; /* "Name: value" */
	size_t n_headers;
	bool stream;               /* default true */
	bool tls_verify;           /* default true */
	const char *rx_timestamps; /* "kernel" (default): response bytes timed by the kernel's
				    * receive stamps (SO_TIMESTAMPNS); "harness": when read */
	const char *http_client;   /* "native": the backend's own HTTP/1.1 client, plain
				    * http:// only (openai_h1.c); "libcurl"; "auto" (default):
				    * native where it can, libcurl for https, credentials in
				    * the URL or a proxy from the environment */
	long connect_timeout_ms;   /* default 10000 */
	long timeout_ms;           /* whole request, default 600000 */
	size_t max_body_bytes;     /* bound on a response body / SSE line, default 16 MiB */
	int max_connections;       /* 0: unbounded (one per in-flight request) */
	/* llamacpp */
	const char *model_path; /* GGUF */
	int threads;            /* 0: all cores */
	int n_ctx;              /* 0: 4096 or the model's, whichever is smaller */
	int n_batch;            /* 0: 512 */
	int n_parallel;         /* sequences decoded together (continuous batching), 0: 1 */
	const char *family;     /* "llama", "falcon", "mistral": a label */
	const char *quant;      /* "f16", "q4_0", ...: a label */
};

/* Generation parameters of one request. */
struct lb_gen {
	int max_tokens;     /* <= 0: server default */
	double temperature; /* < 0: server default */
	double top_p;       /* < 0: server default */
	int top_k;          /* <= 0: server default */
	int64_t seed;       /* < 0: none */
	bool ignore_eos;
	const char *stop[BACKEND_MAX_STOP]; /* borrowed */
	size_t n_stop;
	bool logprobs; /* ask for token log-probabilities where supported */
};

/* One request. The harness allocates it and keeps it alive until the backend has emitted
 * LB_EV_DONE or LB_EV_ERROR for it; after that the backend must not touch it. */
struct request {
	uint64_t id;        /* unique within the run; sent as X-LLMBench-Request-Id */
	const char *prompt; /* borrowed: completions prompt / single user message */
	size_t prompt_len;
	const char *messages_json; /* borrowed, optional: a JSON array of chat messages */
	const int32_t *prompt_ids; /* borrowed, optional: prompt as token ids (completions) */
	size_t n_prompt_ids;
	struct lb_gen gen;
	struct lb_sink sink; /* where events go */
	void *user;          /* harness data, never touched by the backend */
};

/* Log-likelihood of a continuation given a context (perplexity, multiple choice). */
struct loglik_query {
	const char *context; /* borrowed */
	size_t context_len;
	const char *continuation; /* borrowed; scored part */
	size_t continuation_len;
};

struct loglik_result {
	double sum_logprob; /* natural log */
	int32_t n_tokens;   /* tokens of the continuation */
	size_t n_bytes;     /* bytes of the continuation */
	bool greedy;        /* every continuation token was the argmax */
};

struct backend;

struct backend_ops {
	const char *type; /* "openai", "llamacpp" */
	unsigned caps;    /* enum backend_caps */
	int (*open)(struct backend *b, const struct backend_config *cfg, struct lb_error *err);
	/* Queue a request; never blocks. Errors returned here are harness failures (no memory);
	 * transport failures arrive later as LB_EV_ERROR. */
	int (*submit)(struct backend *b, struct request *req, struct lb_error *err);
	/* Drive I/O or one decode step for at most timeout_ms; emits events. Returns the number of
	 * requests still in flight (>= 0) or a negative lb_errc on a harness failure. */
	int (*poll)(struct backend *b, int timeout_ms, struct lb_error *err);
	/* Abort an in-flight request: it ends with LB_EV_ERROR(LB_FAIL_CANCELLED) before this
	 * returns or on the next poll. NULL: requests cannot be cancelled, only drained. */
	void (*cancel)(struct backend *b, struct request *req);
	/* NULL: unsupported (report "unsupported by this backend", never a number). */
	int (*loglik)(struct backend *b, const struct loglik_query *q, struct loglik_result *out,
		      struct lb_error *err);
	/* Count tokens of text with the backend's own tokenizer; NULL if it has none. */
	int (*tokenize_count)(struct backend *b, const char *text, size_t len, int32_t *n_tokens,
			      struct lb_error *err);
	void (*close)(struct backend *b); /* frees b->priv; safe after a failed open */
	/* Watch fd (an eventfd another thread writes, or a timerfd) in poll's wait: when it is
	 * readable, poll reads it and returns early. This is how the runner wakes a worker thread
	 * that owns this backend for a new request or at an arrival time
	 * (harness/runner_workers.c); up to two. NULL: the backend is driven from the harness's
	 * thread only (an in-process backend decodes there). */
	int (*set_wake_fd)(struct backend *b, int fd, struct lb_error *err);
};

struct backend {
	const struct backend_ops *ops;
	const char *name; /* borrowed from the workload */
	void *priv;       /* backend-private state, freed by ops->close */
};

/* Registry lookup by type name; NULL if unknown. */
const struct backend_ops *backend_find(const char *type);
/* Comma-separated list of known types, for error messages. This function can't fail. */
const char *backend_types(void);

/* Fill cfg with the defaults named in struct backend_config. */
void backend_config_defaults(struct backend_config *cfg);
void lb_gen_defaults(struct lb_gen *gen);

/* Open a backend of cfg->type into b (b->ops set on success). */
int backend_open(struct backend *b, const struct backend_config *cfg, struct lb_error *err);
void backend_close(struct backend *b);

#endif
