/* record.h: one request's measured timeline, built from its events (METRICS.md).
 *
 * reqrec_on_event() is the sink the harness gives each request; the derived figures are
 * computed from the raw times, never stored twice. A record owns its chunk arrays and text. */
#ifndef LB_RECORD_H
#define LB_RECORD_H

#include "../base/event.h"
#include "../base/strbuf.h"

#include <stdbool.h>
#include <stdint.h>

#define REQREC_MAX_TEXT (1u << 20) /* output text kept per request, bytes */

struct lb_reqrec {
	uint64_t id;      /* request id within the run */
	int64_t level_id; /* store row ids */
	int64_t backend_id;
	long seq;                /* 0-based order of submission within the level */
	long item_idx;           /* dataset item used */
	bool warmup;             /* warm-up requests are stored but excluded from figures */
	uint64_t t_scheduled_ns; /* when the schedule wanted it sent (0: closed loop, = t_send) */
	uint64_t t_send_ns;
	uint64_t t_first_ns; /* 0 if no token arrived */
	uint64_t t_end_ns;   /* 0 until done or failed */
	uint32_t n_chunks;
	uint32_t chunk_alloc;
	uint64_t *chunk_t_ns; /* owned: arrival of each content chunk (chunk 1 = first token) */
	int32_t *chunk_n;     /* owned: tokens in each chunk, -1 unknown */
	uint32_t n_chunk_src[LB_TSRC_N]; /* chunks by how their time was taken (enum lb_tsrc) */
	int32_t n_in;                    /* prompt tokens, -1 unknown */
	int32_t n_out;                   /* output tokens, -1 unknown */
	const char *n_in_src;            /* static: "usage", "tokenizer:<name>", "unknown" */
	const char *n_out_src; /* static: "usage", "events", "tokenizer:<name>", "unknown" */
	int32_t usage_prompt, usage_completion; /* from the server, -1 if not given */
	enum lb_fail fail;                      /* LB_FAIL_NONE: ok */
	int http_status;
	char err_msg[256];
	char finish_reason[16];
	double server_prompt_ms, server_predicted_ms; /* backend-reported timings, <0 unknown */
	bool keep_text;                               /* accumulate the output text */
	struct strbuf text;                           /* output text when keep_text */
	bool done;                                    /* DONE or ERROR seen */
	bool abandoned; /* the client cancelled it on purpose (load.cancel): stored as
			    * "cancelled", counted as neither ok nor failed */
};

void reqrec_init(struct lb_reqrec *r, uint64_t id, bool keep_text);
void reqrec_release(struct lb_reqrec *r);
/* An lb_sink_fn: ctx is the struct lb_reqrec. Out of memory for chunk times marks the record
 * failed ("backend": harness out of memory) rather than losing it silently. */
void reqrec_on_event(void *ctx, const struct lb_event *ev);
/* Settle N_in/N_out and their provenance once done (usage > events); tokenizer counts, when
 * the caller has them, are set with reqrec_set_tokens(). */
void reqrec_finish(struct lb_reqrec *r);
void reqrec_set_tokens(struct lb_reqrec *r, int32_t n_in, const char *in_src, int32_t n_out,
		       const char *out_src);

/* Derived figures in ms; NAN when not defined (failed, no token, N_out < 2 for TPOT). */
double reqrec_ttft_ms(const struct lb_reqrec *r);
double reqrec_e2e_ms(const struct lb_reqrec *r);
double reqrec_tpot_ms(const struct lb_reqrec *r);
double reqrec_lag_ms(const struct lb_reqrec *r); /* t_send - t_scheduled */
static inline bool reqrec_ok(const struct lb_reqrec *r)
{
	return r->done && r->fail == LB_FAIL_NONE;
}

/* Compact encodings for the store: chunk offsets from t_send as unsigned LEB128 deltas (ns),
 * token counts as zigzag LEB128. The caller frees *out. */
int reqrec_encode_chunks(const struct lb_reqrec *r, uint8_t **out, size_t *len);
int reqrec_encode_counts(const struct lb_reqrec *r, uint8_t **out, size_t *len);
/* Decode what encode wrote: fills t_ns (absolute, t_send added) for up to max chunks.
 * Returns the number decoded, or -1 on a malformed blob. */
long reqrec_decode_chunks(const uint8_t *p, size_t len, uint64_t t_send_ns, uint64_t *t_ns,
			  long max);
long reqrec_decode_counts(const uint8_t *p, size_t len, int32_t *n, long max);

#endif
