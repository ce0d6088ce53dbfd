/* http1.h: an incremental HTTP/1.1 response parser (RFC 9112), for the backend's own client
 * (openai_h1.c).
 *
 * Pure: no I/O, no clock. A head that arrives whole in one feed (the usual case) is parsed
 * where it lies; one split over feeds is gathered in a buffer that the parser owns. Feed it
 * the bytes of one connection split anywhere; it calls back once with the response's status
 * and content type, then with the body's bytes as they come, decoded from chunked transfer
 * coding, and says when the response ended. 1xx interim responses are skipped. The head is
 * bounded (H1_HEAD_MAX): going past it is an error, never unbounded growth. One response per
 * parser run (no pipelining): bytes after the response's end are dropped and noted. */
#ifndef LB_HTTP1_H
#define LB_HTTP1_H

#include "../base/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H1_HEAD_MAX 16384 /* bytes of a response head, status line and headers */

enum h1_state {
	H1_HEAD,       /* reading the status line and headers */
	H1_BODY_LEN,   /* Content-Length body: `left` bytes to go */
	H1_CHUNK_SIZE, /* chunked: reading a chunk-size line */
	H1_CHUNK_DATA, /* chunked: `left` bytes of the chunk to go */
	H1_CHUNK_END,  /* chunked: the CRLF after a chunk's data */
	H1_TRAILERS,   /* chunked: trailer lines up to an empty line */
	H1_BODY_CLOSE, /* no length: the body ends when the connection closes */
	H1_DONE,       /* the response ended */
	H1_FAILED,     /* a protocol error: see err */
};

struct h1_resp {
	enum h1_state state;
	int status;         /* 0 until the head is read */
	bool keep_alive;    /* the connection may carry another request after this response */
	bool chunked;       /* Transfer-Encoding: chunked */
	bool got_bytes;     /* any byte of the response arrived */
	bool excess;        /* bytes came after its end (dropped): no other request on it */
	uint64_t left;      /* body bytes left: of the whole body, or of the chunk */
	uint64_t body_len;  /* body bytes handed over */
	char ctype[128];    /* the Content-Type value, "" when none (cut to fit) */
	char err[160];      /* what was wrong, when state is H1_FAILED */
	struct strbuf head; /* owned: a head split over feeds, gathered (<= H1_HEAD_MAX) */
	size_t line_len;    /* a chunk-size or trailer line being read */
	char line[256];
};

/* Called once the head of the final response is read (r->status, r->ctype); return 0 to go
 * on, non-zero to stop (h1_resp_feed returns it). */
typedef int h1_head_fn(void *ctx, const struct h1_resp *r);
/* Called with body bytes, decoded; the bytes are lent for the call. Same return rule. */
typedef int h1_body_fn(void *ctx, const char *p, size_t n);

/* A new parser; allocates nothing (can't fail). */
void h1_resp_init(struct h1_resp *r);
/* Ready for a new response on the connection, keeping the buffer. */
void h1_resp_reset(struct h1_resp *r);
/* Free the buffer; the parser may be reset or released again. */
void h1_resp_release(struct h1_resp *r);

/* Parse n bytes. Returns 0 when all were consumed (the response may have ended: state
 * H1_DONE); a callback's non-zero value when it stopped the parser; -1 on a protocol error
 * (state H1_FAILED, err says what) or no memory for a split head. Bytes after the response's
 * end are dropped and noted (excess). */
int h1_resp_feed(struct h1_resp *r, const char *p, size_t n, h1_head_fn *on_head,
		 h1_body_fn *on_body, void *ctx);

/* The connection closed (no more bytes): true when that ended the response (a body read to
 * the close), or it had ended before. */
bool h1_resp_eof(struct h1_resp *r);

#endif
