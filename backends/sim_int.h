/* sim_int.h: internals shared by the simulator's files: sim.c (connections, requests, setup on
 * base/ev.h's loop), sim_http.c (request parsing, the answers file, HTTP responses),
 * sim_sched.c (the token schedule, faults, the send log), sim_prefix.c (the prefix cache) and
 * sim_metrics.c (GET /metrics). Not an interface for anything else. */
#ifndef LB_SIM_INT_H
#define LB_SIM_INT_H

#include "../base/error.h"
#include "../base/ev.h"
#include "../base/strbuf.h"
#include "sim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SIM_ID_MAX 128     /* request ids longer than this are cut in the log */
#define SIM_MODEL_MAX 128  /* echoed model names longer than this are cut */
#define SIM_HEAD_MAX 65536 /* request line + headers */

enum sim_api {
	SIM_API_NONE,
	SIM_API_COMPLETIONS,
	SIM_API_CHAT,
	SIM_API_MODELS,
	SIM_API_HEALTH,
	SIM_API_METRICS
};

/* The request line and the headers the sim cares about. */
struct sim_head {
	char method[8];
	enum sim_api api;         /* SIM_API_NONE: unknown path */
	long long content_length; /* -1: absent */
	bool http11;              /* else HTTP/1.0: no chunked responses */
	bool keep_alive;
	bool expect_continue;
	bool chunked;                    /* Transfer-Encoding present: unsupported */
	char request_id[SIM_ID_MAX + 1]; /* "" when absent; spaces and controls become '_' */
	char fault[40];                  /* X-LLMBench-Fault, "" when absent */
};

/* Parse the head at buf[0..len). Returns the head's length (through the blank line) when
 * complete, 0 when more bytes are needed, or -status (-400, -431, -505) when malformed. */
long sim_head_parse(const char *buf, size_t len, struct sim_head *h);

/* One answer of --answers: the output when a prompt contains match. */
struct sim_answer {
	char *match;
	char **words; /* each with its leading space, JSON-escaped without quotes */
	size_t n_words;
};

struct sim_answers {
	struct sim_answer *v;
	size_t n;
};

/* Load a JSONL answers file; errors name path:line. */
int sim_answers_load(struct sim_answers *a, const char *path, struct lb_error *err);
void sim_answers_free(struct sim_answers *a);

/* What the sim needs from a completion request body. */
struct sim_body {
	bool stream;
	bool include_usage;
	long max_tokens;    /* 0: not given */
	long prompt_tokens; /* the sim's tokenizer: whitespace-separated words, or ids */
	const struct sim_answer *answer; /* NULL: generate words */
	char model[SIM_MODEL_MAX + 1];   /* "" when absent */
};

/* Parse a completions or chat body; on failure returns -1 with a message for a 400. */
int sim_body_parse(const char *body, size_t len, enum sim_api api, const struct sim_answers *ans,
		   struct sim_body *out, char *msg, size_t msg_len);

/* The prompt's whole blocks of block_tokens tokens (the sim's tokens: words or ids), each as a
 * hash chained over every token from the start, so equal hashes mean equal prefixes. */
struct sim_blocks {
	long block_tokens;
	uint64_t *hash; /* caller's array of cap; blocks past cap are not kept */
	size_t cap, n;
	uint64_t prev, acc; /* the chain so far, the current block's tokens */
	long in_block;
};

/* sim_body_parse that also fills bl (NULL: as sim_body_parse). */
int sim_body_parse_blocks(const char *body, size_t len, enum sim_api api,
			  const struct sim_answers *ans, struct sim_body *out, char *msg,
			  size_t msg_len, struct sim_blocks *bl);

/* Prompt log-probabilities (sim_logprobs.c): whether a completions body asks for "echo": true,
 * and the vLLM-style answer to it in out (text_offset in characters; a token is a word with
 * the white space before it, log-probability -(0.5 + 0.25 x its characters), the first one
 * null; max_tokens (at most 4) generated tokens " the" at -1). -1 with a message for a 400. */
struct strbuf;
bool sim_echo_asked(const char *body, size_t len);
int sim_echo_reply(const char *body, size_t len, struct strbuf *out, char *msg, size_t msg_len);

/* Number of whitespace-separated words in s[0..len). */
long sim_count_words(const char *s, size_t len);

/* The connection and the sim (sim.c owns them; the other files read and schedule). */

#define SIM_OUT_MAX (96u << 20)       /* unread response bytes before a client is dropped */
#define SIM_LONG_LINE (10u << 20)     /* the long_line fault's text */
#define SIM_LINGER_NS 1000000000ull   /* wait for the client's FIN after our last response */
#define SIM_LOG_FLUSH_NS 100000000ull /* the send log reaches the file at least this often */
#define SIM_LOG_FLUSH_BYTES (256u << 10)
#define SIM_READ_BUF 65536

enum conn_state {
	C_READ,    /* waiting for (the rest of) a request */
	C_QUEUED,  /* request read, waiting for a --capacity slot */
	C_GEN,     /* generating: the timer sends the next piece */
	C_STALLED, /* a stall fault: nothing more until the client leaves */
	C_CLOSING, /* last response queued; close once flushed and the client's FIN came */
};

struct conn {
	struct lb_ev_io io; /* io.fd: the socket, -1 once closed; io.arg: this conn */
	struct sim *sim;
	enum conn_state state;
	struct strbuf in;  /* bytes read, not yet consumed */
	struct strbuf out; /* response bytes the kernel did not take yet */
	size_t out_off;    /* of out, already sent */
	bool shut;         /* C_CLOSING: our write side is shut */
	bool dead;         /* closed; freed at the end of the loop iteration (epoll may still
			    * hold an event for it in this batch) */
	struct lb_ev_timer timer;
	struct conn *prev, *next; /* every open connection */
	/* the --capacity queue */
	struct conn *qprev, *qnext;
	bool holds_slot;
	/* the current completion request */
	bool active;
	bool keep_alive, http11, stream, include_usage;
	enum sim_api api;
	enum sim_fault fault;
	uint64_t seq;
	char id[SIM_ID_MAX + 1];
	char model[SIM_MODEL_MAX + 1];
	const struct sim_answer *answer;
	long prompt_tokens, max_tokens, n_out, sent, n_chunks, k, fault_at;
	long cached_blocks; /* prompt blocks found in the prefix cache */
	uint64_t rng_words, rng_time;
	uint64_t t_start, ttft_ns, itl_chunk_ns, last_due;
	uint64_t t_recv, t_prev; /* receipt, the previous content send */
	long long created;
};

struct sim_prefix; /* sim_prefix.c */

#define SIM_HIST_MAX 24
/* A Prometheus histogram: counts per upper bound (not cumulative), +Inf last. */
struct sim_hist {
	uint64_t b[SIM_HIST_MAX + 1];
	uint64_t count;
	double sum;
};

/* What GET /metrics reports beside the live gauges (sim_metrics.c). */
struct sim_mstate {
	struct sim_hist ttft, itl;
	uint64_t fin_stop, fin_length, fin_abort, prompt_tokens;
};

struct sim {
	struct sim_config cfg;
	struct sim_answers answers;
	struct lb_ev *ev;
	struct lb_ev_io listen_io;
	int log_fd;
	char host[64];
	int port;
	bool accept_paused;
	uint64_t accept_retry_ns, deadline;
	bool closing;       /* sim_close: start nothing new */
	struct conn *conns; /* every open connection */
	struct conn *dead;  /* closed, to be freed (linked through next) */
	/* the capacity queue */
	struct conn *q_head, *q_tail;
	uint64_t n_queued, n_generating, n_active, n_conns;
	long max_conns;
	uint64_t seq;
	uint64_t ttft_ns, prompt_ns_per_token, itl_ns, jitter_ns, prefix_ns_per_block;
	struct strbuf log;
	uint64_t log_flushed_ns;
	int log_errno;
	struct strbuf scratch;
	struct sim_prefix *prefix; /* NULL: no prefix cache */
	struct sim_blocks blocks;  /* the current request's block hashes (prefix cache on) */
	struct sim_mstate m;
	char rbuf[SIM_READ_BUF];
	struct sim_stats st;
};

/* sim.c */
void sim_conn_close(struct sim *s, struct conn *c, bool gone);
int sim_conn_writev(struct sim *s, struct conn *c, struct iovec *iov, int n_iov);
int sim_conn_closing(struct sim *s, struct conn *c);
void sim_req_end(struct sim *s, struct conn *c);
int sim_req_finish(struct sim *s, struct conn *c);

/* sim_http.c: responses. Each returns 0, or -1 when c was closed. */
void sim_error_json(struct strbuf *sb, int status, const char *msg);
int sim_send_response(struct sim *s, struct conn *c, int status, const char *ctype,
		      const char *body, size_t len, const char *extra, bool keep_alive);
int sim_send_error(struct sim *s, struct conn *c, int status, const char *msg, bool keep_alive);
int sim_send_stream(struct sim *s, struct conn *c, const char *head, size_t head_len,
		    const char *payload, size_t len, bool last);

/* sim_sched.c */
uint64_t sim_rng_next(uint64_t *x);
double sim_rng_unit(uint64_t *x);
uint64_t sim_hash_str(const char *s);
void sim_log_flush(struct sim *s);
void sim_log_event(struct sim *s, uint64_t t, const struct conn *c, const char *ev, long n,
		   const char *extra);
void sim_log_fault(struct sim *s, uint64_t t, struct conn *c);
/* Generation starts now: schedule the first piece. 0, or -1 when c was closed. */
int sim_start_gen(struct sim *s, struct conn *c, uint64_t now);
/* The connection timer's callback (arg: the conn). */
void sim_on_timer(struct lb_ev *ev, struct lb_ev_timer *t);
int sim_pick_fault(struct sim *s, struct conn *c, const struct sim_head *h, char *msg,
		   size_t msg_len);
int sim_http_fault_status(enum sim_fault f);

/* sim_prefix.c. open: 0, or -1 when out of memory. */
int sim_prefix_open(struct sim_prefix **out, long max_blocks);
void sim_prefix_free(struct sim_prefix *p);
/* The number of leading hashes already cached; then every hash is cached. */
long sim_prefix_lookup_insert(struct sim_prefix *p, const uint64_t *hash, size_t n);

/* sim_metrics.c */
void sim_metrics_ttft(struct sim *s, uint64_t ns);
void sim_metrics_itl(struct sim *s, uint64_t ns);
/* The Prometheus text exposition (format 0.0.4) of the sim's state now, into sb. */
void sim_metrics_render(struct sim *s, struct strbuf *sb);

#endif
