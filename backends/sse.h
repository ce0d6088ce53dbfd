/* sse.h: an incremental Server-Sent-Events parser (the WHATWG "event stream" format).
 *
 * Pure: no I/O, no clock. Feed it byte chunks split anywhere; it calls back once per complete
 * event (a blank line ends an event) with the joined `data:` lines and the `event:` name.
 * LF, CRLF and CR line ends are accepted, also when a CRLF is split across two feeds. Lines
 * and event data are bounded: going past the bound is LB_ERR_LIMIT, never unbounded growth. */
#ifndef LB_SSE_H
#define LB_SSE_H

#include "../base/error.h"
#include "../base/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One event, lent to the callback: valid only during the call. */
struct sse_event {
	const char *data; /* the data lines joined with '\n'; may hold NULs; NOT NUL-terminated
			   * (a one-line event is lent straight from the fed bytes): use data_len */
	size_t data_len;
	const char *event; /* the `event:` name, NULL when the event had none */
	size_t event_len;
	const char *id; /* the last `id:` value seen on the stream, NULL if none */
	size_t id_len;
};

/* Return 0 to go on; any other value stops the parser, and sse_parser_feed returns it. */
typedef int sse_event_fn(void *ctx, const struct sse_event *ev);

struct sse_parser {
	sse_event_fn *fn;
	void *ctx;           /* borrowed, handed to fn */
	size_t max_line;     /* bound on one line and on one event's data, bytes */
	struct strbuf line;  /* owned: the unterminated tail of the input */
	struct strbuf data;  /* owned: data of the event being built */
	struct strbuf event; /* owned: event name of the event being built */
	struct strbuf id;    /* owned: last event id */
	bool has_data;       /* a data field was seen in the event being built */
	bool has_event;      /* an event field was seen in the event being built */
	bool has_id;
	bool cr_pending;   /* the last byte fed ended a line with CR: skip one LF */
	bool first_line;   /* nothing consumed yet (a UTF-8 BOM is skipped) */
	int state;         /* 0 running, > 0 stopped by the callback, < 0 failed (enum lb_errc) */
	uint64_t n_events; /* events dispatched */
	uint64_t n_bytes;  /* bytes fed */
};

/* Start a parser calling fn(ctx, ev) per event; max_line > 0 bounds a line and an event's data
 * (0 means 16 MiB). Allocates nothing; this function can't fail. */
void sse_parser_init(struct sse_parser *p, size_t max_line, sse_event_fn *fn, void *ctx);

/* Forget all state (for a new stream), keeping the buffers' memory for reuse. */
void sse_parser_reset(struct sse_parser *p);

/* Free the buffers; the parser may be reset or released again. */
void sse_parser_release(struct sse_parser *p);

/* Parse len bytes. Returns 0 when all were consumed; the callback's non-zero value when it
 * stopped the parser (the rest of buf is dropped); or a negative lb_errc: LB_ERR_LIMIT for a line
 * or event over the bound (err names the bound), LB_ERR_NOMEM. Once stopped or failed, every
 * later feed returns the same value without parsing. */
int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len, struct lb_error *err);

/* The stream ended. An event whose lines all arrived but which misses its final blank line is
 * dispatched (lenient: what was received is kept); an unterminated last line is incomplete
 * input and is dropped, as the SSE specification drops an unfinished event. *partial_line
 * (may be NULL) says whether that happened, which usually means the stream was cut off.
 * Returns what sse_parser_feed would. */
int sse_parser_finish(struct sse_parser *p, bool *partial_line, struct lb_error *err);

#endif
