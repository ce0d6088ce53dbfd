/* openai_int.h: the OpenAI backend's private state, shared by its transfer code
 * (openai.c: requests, responses, events, the libcurl transport) and its own HTTP/1.1
 * client (openai_h1.c, backend option http_client "native"). Not for other modules. */
#ifndef LB_OPENAI_INT_H
#define LB_OPENAI_INT_H

#include "backend.h"
#include "http1.h"
#include "openai_json.h"
#include "sse.h"

#include "../base/strbuf.h"

#include <curl/curl.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

#define OAI_ERRBODY_MAX 200      /* bytes of an error body quoted in the message */
#define OAI_KEEP_BUF (64u << 10) /* larger buffers are freed when a request ends */
#define OAI_EPOLL_BATCH 256
#define OAI_PEEK_BYTES 16384 /* curl's read buffer */
#define OAI_MARKS 2          /* own times for the first events of a response */

enum xfer_mode {
	MODE_UNKNOWN,    /* no response bytes yet */
	MODE_SSE,        /* text/event-stream */
	MODE_BODY,       /* one JSON body (not streamed, or a server that ignored "stream") */
	MODE_HTTP_ERROR, /* status >= 400: keep the head of the body for the message */
};

struct openai;

struct xfer {
	struct openai *o;
	CURL *easy;               /* owned */
	struct request *req;      /* borrowed until its DONE/ERROR, then NULL */
	struct curl_slist idnode; /* X-LLMBench-Request-Id, chained to o->headers */
	char idhdr[64];
	char errbuf[CURL_ERROR_SIZE];
	struct strbuf body;    /* owned: the request body; curl reads it until the end */
	struct strbuf resp;    /* owned: a non-streamed body, or an error body's head */
	struct sse_parser sse; /* owned buffers */
	enum xfer_mode mode;
	long status;
	bool active; /* added to the multi handle */
	bool got_first;
	bool finished;   /* a finish_reason arrived */
	size_t n_chunks; /* token-bearing chunks */
	int32_t usage_prompt, usage_completion;
	int32_t cum_completion; /* last per-chunk usage.completion_tokens (vLLM
					 * continuous_usage_stats), 0 before the first */
	double prompt_ms, predicted_ms;
	char finish[32];
	uint64_t t_sent;                /* when it was queued: no response byte is older */
	int fd;                         /* its connection's socket (on_socket), -1 before */
	uint64_t t_now;                 /* the time of the bytes being parsed */
	enum lb_tsrc t_src;             /* how t_now was taken */
	uint64_t t_last;                /* when the last response bytes arrived */
	char msg[512];                  /* the message of a failure event */
	struct xfer *next;              /* free list */
	struct xfer *all_next;          /* every xfer, for close */
	struct xfer *fl_prev, *fl_next; /* in-flight list (req != NULL) */
	/* native client (openai_h1.c) */
	struct h1_conn *conn;             /* its connection, NULL while queued */
	struct xfer *act_prev, *act_next; /* active list, oldest first (queued ones too) */
	struct strbuf head;               /* owned: the request head */
	bool queued;                      /* waiting for a connection (max_connections) */
	bool retried;                     /* sent again after a kept-alive connection closed */
};

struct openai {
	struct backend_config cfg; /* copy; strings borrowed from the workload */
	enum oai_api api;
	char *url;                  /* owned: <base_url>/completions or /chat/completions */
	char *ll_url;               /* owned: <base_url>/completions, for loglik */
	char shown_url[512];        /* url with credentials redacted, for messages */
	struct curl_slist *headers; /* owned; the Authorization entry is wiped before freeing */
	CURLM *multi;               /* owned */
	int epfd;                   /* owned, -1 when not open */
	int wake_fd[2];             /* borrowed (set_wake_fd), -1 when none */
	bool timer_set;
	uint64_t timer_at_ns;
	uint64_t t_ready; /* when the bytes of the socket being handled arrived (the kernel's
			   * receive time, else when epoll_wait returned), 0 outside a batch */
	int ready_fd;     /* the socket t_ready is of */
	/* the kernel's receive time of each SSE event the socket being handled completes, in
	 * order (kernel_rx): on_sse takes them one by one */
	uint64_t marks[OAI_MARKS];
	int n_marks, n_events, mark_next; /* marks, events seen in the peek, events taken */
	bool rx_kernel_on;                /* rx_timestamps "kernel" */
	bool rx_kernel;      /* the kernel timed the bytes of the socket being handled */
	struct xfer **by_fd; /* the transfer on each socket (on_socket), for its parser */
	int n_by_fd;
	int n_active; /* easy handles in the multi handle */
	int inflight; /* requests without DONE/ERROR */
	struct xfer *free;
	struct xfer *all;
	struct xfer *flying;
	struct h1_client *h1; /* owned: the native client, NULL with libcurl */
};

/* ---- shared by the two transports (openai.c) ---- */

/* How a transfer ended, for xfer_complete. */
enum xfer_end {
	XFER_OK,        /* the response ended as HTTP says */
	XFER_TIMEOUT,   /* timeout_ms (or connect_timeout_ms) passed */
	XFER_TRANSPORT, /* a connection or protocol failure: why says which */
};

void xfer_set_mode(struct xfer *x, long status, const char *ctype);
/* Response body bytes read at time t: 0, or -1 when the transfer must stop (its failure
 * event was sent). */
int xfer_body(struct xfer *x, const char *p, size_t n, uint64_t t);
void xfer_complete(struct xfer *x, enum xfer_end end, const char *why);
__attribute__((format(printf, 5, 6))) void xfer_fail(struct xfer *x, uint64_t t, enum lb_fail fail,
						     int status, const char *fmt, ...);
void xfer_recycle(struct xfer *x);
uint64_t kernel_rx(struct openai *o, int fd, int64_t off);
/* epoll_wait for at most timeout_ms, less when at (ns, 0: none) comes first; the wake
 * descriptors are read and left out of evs (OAI_EPOLL_BATCH). *t_batch: when it returned;
 * *off: realtime - monotonic then. Returns the socket events, or a negative lb_errc. */
int oai_wait(struct openai *o, int timeout_ms, uint64_t at, struct epoll_event *evs,
	     uint64_t *t_batch, int64_t *off, struct lb_error *err);
/* Before handling socket fd's bytes: their time (o->t_ready: t_batch, or with peek the
 * kernel's receive time of the newest unread segment and the first events' own, kernel_rx). */
void oai_ready(struct openai *o, int fd, uint64_t t_batch, bool peek, int64_t off);
ssize_t recv_stamped(int fd, char *buf, size_t len, int flags, int64_t off, uint64_t *t);
int64_t realtime_offset_ns(void);
void by_fd_set(struct openai *o, int fd, struct xfer *x);

/* ---- the native HTTP/1.1 client (openai_h1.c) ---- */

/* Whether the native client can serve o->url (http_client "auto"). */
bool h1_can(const struct openai *o);
/* Parse the URL and resolve its host (plain http only); the request head's fixed part. */
int h1_open(struct openai *o, struct lb_error *err);
/* A submit in two halves, around its SENT event: x's request head (its body built) and its
 * place among the active transfers; then onto the wire (an idle connection, a new one, or
 * the queue; a failure is told by the next poll, not inside submit). */
int h1_submit(struct openai *o, struct xfer *x, struct lb_error *err);
void h1_send(struct openai *o, struct xfer *x);
int h1_poll(struct openai *o, int timeout_ms, struct lb_error *err);
/* Drop x's connection (cancel): x is then recycled by the caller. */
void h1_cancel(struct openai *o, struct xfer *x);
void h1_close(struct openai *o);

#endif
