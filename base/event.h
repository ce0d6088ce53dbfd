/* event.h: what a backend reports about one request, as it happens.
 *
 * A backend emits events on req->sink; the harness fans them into the request's record.
 * Event data is lent: valid only during the sink call (like libcurl's write callback). */
#ifndef LB_EVENT_H
#define LB_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum lb_event_kind {
	LB_EV_SENT,        /* request handed to the transport / first prompt decode starts */
	LB_EV_FIRST_TOKEN, /* first chunk with >= 1 output token; also counts as chunk 1 */
	LB_EV_TOKENS,      /* a later content chunk */
	LB_EV_DONE,        /* complete; the backend forgets the request after this. A non-streamed
			    * response carries its whole text here (TTFT then unavailable) */
	LB_EV_ERROR,       /* failed; the backend forgets the request after this */
};

/* Failure categories (METRICS.md): a request that failed is kept with one of these. */
enum lb_fail {
	LB_FAIL_NONE = 0,
	LB_FAIL_CONNECT,   /* "connect" */
	LB_FAIL_HTTP,      /* "http_<status>" */
	LB_FAIL_TIMEOUT,   /* "timeout" */
	LB_FAIL_STREAM,    /* "stream": malformed or cut-off stream, error object mid-stream */
	LB_FAIL_CANCELLED, /* "cancelled" */
	LB_FAIL_BACKEND,   /* "backend": in-process error */
};

/* How a chunk's time was taken (docs/METRICS.md "Chunk timing"): a remote backend states it,
 * an in-process one does not (its tokens are timed when sampled). */
enum lb_tsrc {
	LB_TSRC_UNSTATED = 0,
	LB_TSRC_KERNEL_OWN,  /* the kernel's receive time of the segment that completed it */
	LB_TSRC_KERNEL_READ, /* the kernel's receive time of the newest segment of the read that
			      * brought it (its own when nothing came after it in that read) */
	LB_TSRC_HARNESS,     /* the harness's clock when it read the bytes */
};
#define LB_TSRC_N 4

/* Name of a failure category as stored ("connect", "http_429", "timeout", ...). buf >= 16. */
const char *lb_fail_name(enum lb_fail f, int http_status, char *buf, size_t len);

struct lb_event {
	enum lb_event_kind kind;
	uint64_t req_id;
	uint64_t t_ns; /* CLOCK_MONOTONIC when the bytes (or sampled token) reached the harness */
	int32_t n_tokens;   /* tokens in this chunk, -1 if unknown */
	enum lb_tsrc t_src; /* FIRST_TOKEN/TOKENS: how t_ns was taken (0: not stated) */
	const char *text;   /* borrowed: chunk text (FIRST_TOKEN/TOKENS), error message (ERROR) */
	size_t text_len;
	/* LB_EV_DONE only: what the server said in `usage` (-1 = not given) */
	int32_t usage_prompt_tokens;
	int32_t usage_completion_tokens;
	const char *finish_reason; /* borrowed, may be NULL */
	/* LB_EV_DONE only, optional: provenance of the usage counts when they are not the
	 * server's `usage` (in-process: "tokenizer:<vocab>"); NULL means "usage" */
	const char *tokens_source;
	/* LB_EV_DONE only, optional: server-side timings (llama-server `timings`), ms, <0 unknown */
	double server_prompt_ms;
	double server_predicted_ms;
	/* LB_EV_ERROR only */
	enum lb_fail fail;
	int http_status; /* 0 if not HTTP */
};

/* Initialise an event with every optional field set to "unknown". */
static inline void lb_event_init(struct lb_event *ev, enum lb_event_kind kind, uint64_t req_id,
				 uint64_t t_ns)
{
	*ev = (struct lb_event){ .kind = kind,
				 .req_id = req_id,
				 .t_ns = t_ns,
				 .n_tokens = -1,
				 .usage_prompt_tokens = -1,
				 .usage_completion_tokens = -1,
				 .server_prompt_ms = -1,
				 .server_predicted_ms = -1 };
}

typedef void lb_sink_fn(void *ctx, const struct lb_event *ev);

struct lb_sink {
	lb_sink_fn *fn;
	void *ctx; /* borrowed */
};

static inline void lb_sink_emit(const struct lb_sink *s, const struct lb_event *ev)
{
	if (s && s->fn)
		s->fn(s->ctx, ev);
}

#endif
