/* sim.h: a simulated OpenAI-compatible endpoint that knows the truth (`llmbench sim`).
 *
 * One thread, one epoll loop, a timer heap driven by a timerfd: tokens leave on a schedule of
 * absolute CLOCK_MONOTONIC times (TTFT, ITL, jitter, chunking, capacity queueing), every send is
 * logged with the time taken right before its write(), and faults are injected per request.
 * docs/sim.md describes the behaviour, the send log and the faults. The sim never prints; the
 * verb (harness/cmd_sim.c) does. */
#ifndef LB_SIM_H
#define LB_SIM_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sim_fault {
	SIM_FAULT_NONE = 0,
	SIM_FAULT_REFUSE,      /* close the connection without a response */
	SIM_FAULT_CLOSE_MID,   /* close after 2 content chunks */
	SIM_FAULT_STALL_FIRST, /* never send the first token; hold the connection */
	SIM_FAULT_STALL_MID,   /* stall after 2 content chunks */
	SIM_FAULT_HTTP_400,
	SIM_FAULT_HTTP_401,
	SIM_FAULT_HTTP_404,
	SIM_FAULT_HTTP_429,
	SIM_FAULT_HTTP_429_RETRY, /* 429 with Retry-After: 1 */
	SIM_FAULT_HTTP_500,
	SIM_FAULT_HTTP_503,
	SIM_FAULT_HTTP_500_TEXT, /* 500 with a text/plain body */
	SIM_FAULT_NO_DATA,       /* an SSE line without "data:" before content chunk 2 */
	SIM_FAULT_BAD_JSON,      /* a data line that is not JSON before content chunk 2 */
	SIM_FAULT_TRUNC_UTF8,    /* content chunk 2 ends in a truncated UTF-8 sequence */
	SIM_FAULT_LONG_LINE,     /* content chunk 2 is a 10 MiB data line */
	SIM_FAULT_NO_DONE,       /* all content chunks, then close: no finish chunk, no [DONE] */
	SIM_FAULT_ERROR_MID,     /* an error data line after 2 chunks, then [DONE] */
	SIM_FAULT_NO_USAGE,      /* omit usage even when asked */
	SIM_FAULT_WRONG_USAGE,   /* usage.completion_tokens is 5 too many */
	SIM_FAULT_EMPTY,         /* no content, no finish: only [DONE] (not streamed: no choices) */
	SIM_FAULT_COUNT
};

#define SIM_MAX_FAULT_RATES 32

struct sim_fault_rate {
	enum sim_fault kind;
	double rate; /* probability per request, 0..1; the rates of one sim add up to <= 1 */
};

/* Everything `llmbench sim` takes; strings are borrowed for the sim's lifetime. */
struct sim_config {
	const char *host;           /* "127.0.0.1" (default), "0.0.0.0", "::1", "localhost" */
	int port;                   /* 0: a free port */
	double ttft_ms;             /* 50 */
	double itl_ms;              /* 10 */
	double jitter_ms;           /* uniform +-, 0 */
	double prompt_ms_per_token; /* added to TTFT per prompt token, 0 */
	double slowdown;            /* multiplies TTFT (prompt part included) and ITL, 1 */
	long out_min, out_max;      /* output tokens, uniform in [min, max]; 32 */
	long tokens_per_chunk;      /* 1 */
	uint64_t seed;              /* 1 */
	long capacity;              /* requests generating at once, 0: unbounded */
	double duration_s;          /* stop after this long, 0: run until interrupted */
	const char *log_path;       /* send log, NULL: none */
	const char *answers_path;   /* JSONL {"match","answer"}, NULL: none */
	const char *model;          /* id in /v1/models and replies, "llmbench-sim" */
	long max_conns;             /* 0: what RLIMIT_NOFILE allows */
	size_t max_body;            /* request bodies above this get 413; 0: 8 MiB */
	double prefix_ms_per_block; /* TTFT saved per cached prompt block; 0: no prefix cache */
	long prefix_block_tokens;   /* tokens per prefix-cache block, 16 */
	long prefix_cache_blocks;   /* blocks the cache holds before it is emptied, 65536 */
	long kv_cache_tokens;       /* KV capacity behind /metrics' kv_cache_usage_perc, 100000 */
	bool no_echo;               /* refuse "echo" (400) as llama-server does; else answer it
				     * with prompt log-probabilities as vLLM does */
	struct sim_fault_rate faults[SIM_MAX_FAULT_RATES];
	size_t n_faults;
};

/* Fill cfg with the defaults above. */
void sim_config_init(struct sim_config *cfg);

struct sim_stats {
	uint64_t connections;    /* accepted */
	uint64_t requests;       /* completion requests fully read */
	uint64_t completed;      /* completion responses fully handed to the kernel */
	uint64_t streamed;       /* of requests, stream: true */
	uint64_t chunks;         /* content chunks sent */
	uint64_t tokens;         /* output tokens sent */
	uint64_t faults;         /* faults injected */
	uint64_t bad_requests;   /* answered 4xx/5xx for a malformed or unknown request */
	uint64_t client_gone;    /* clients that left before their response was complete */
	uint64_t other_requests; /* GET /health, /v1/models, /metrics */
	uint64_t prefix_queries; /* prompt tokens looked up in the prefix cache */
	uint64_t prefix_hits;    /* of those, found (whole cached blocks) */
	uint64_t peak_conns;     /* most connections open at once */
	uint64_t peak_streams;   /* most completion requests in progress, queued too */
	uint64_t peak_queued;    /* most requests waiting for --capacity at once */
	uint64_t accept_paused;  /* times accepting paused: --max-conns or no descriptors */
};

struct sim;

/* The fault named name ("close_mid"), or SIM_FAULT_NONE when unknown. */
enum sim_fault sim_fault_find(const char *name);
const char *sim_fault_name(enum sim_fault kind);
/* "refuse, close_mid, ...": every valid kind, for error messages. Static storage. */
const char *sim_fault_list(void);

/* Bind and listen, load the answers, open the log. On failure *out is NULL and err says why:
 * LB_ERR_USAGE / LB_ERR_PARSE for bad input (answers file line, log path), LB_ERR_IO else. */
int sim_open(struct sim **out, const struct sim_config *cfg, struct lb_error *err);
/* The bound address, numeric ("127.0.0.1") and port. */
const char *sim_host(const struct sim *s);
int sim_port(const struct sim *s);
/* Serve until sim_interrupt() or the duration ends; 0, or LB_ERR_IO on a failure of the loop
 * itself (never because of a client). The send log is flushed before it returns. */
int sim_run(struct sim *s, struct lb_error *err);
/* Ask sim_run to stop soon. Async-signal-safe. */
void sim_interrupt(struct sim *s);
void sim_get_stats(const struct sim *s, struct sim_stats *out);
/* Close every connection, flush and close the log, free s. NULL-safe. */
void sim_close(struct sim *s);

#endif
