/* record.c: one request's timeline from its events, and the derived figures (METRICS.md). */
#include "record.h"

#include "../base/alloc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void reqrec_init(struct lb_reqrec *r, uint64_t id, bool keep_text)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->n_in = -1;
	r->n_out = -1;
	r->n_in_src = "unknown";
	r->n_out_src = "unknown";
	r->usage_prompt = -1;
	r->usage_completion = -1;
	r->server_prompt_ms = -1;
	r->server_predicted_ms = -1;
	r->keep_text = keep_text;
	strbuf_init(&r->text, REQREC_MAX_TEXT);
}

void reqrec_release(struct lb_reqrec *r)
{
	if (!r)
		return;
	lb_free(r->chunk_t_ns);
	lb_free(r->chunk_n);
	r->chunk_t_ns = NULL;
	r->chunk_n = NULL;
	r->n_chunks = r->chunk_alloc = 0;
	strbuf_release(&r->text);
}

static void fail_oom(struct lb_reqrec *r, uint64_t t_ns)
{
	r->fail = LB_FAIL_BACKEND;
	snprintf(r->err_msg, sizeof(r->err_msg), "harness out of memory recording chunk times");
	r->t_end_ns = t_ns;
}

static int add_chunk(struct lb_reqrec *r, uint64_t t_ns, int32_t n)
{
	if (r->n_chunks == r->chunk_alloc) {
		uint32_t na = r->chunk_alloc ? r->chunk_alloc * 2 : 16;
		uint64_t *t = lb_realloc(r->chunk_t_ns, na * sizeof(*t));
		int32_t *c;

		if (!t)
			return -1;
		r->chunk_t_ns = t;
		c = lb_realloc(r->chunk_n, na * sizeof(*c));
		if (!c)
			return -1;
		r->chunk_n = c;
		r->chunk_alloc = na;
	}
	r->chunk_t_ns[r->n_chunks] = t_ns;
	r->chunk_n[r->n_chunks] = n;
	r->n_chunks++;
	return 0;
}

/* Each byte of the kept text that is not valid UTF-8 (a server that cut a character, as the
 * sim's trunc_utf8 fault does) becomes U+FFFD, so output_text is always valid UTF-8; the text
 * is kept unchanged when it cannot be rewritten (no memory). */
static void text_repair_utf8(struct strbuf *sb)
{
	const unsigned char *p = (const unsigned char *)sb->buf;
	struct strbuf out = STRBUF_INIT;
	size_t i = 0, n;

	for (i = 0; i < sb->len; i += n)
		if (!(n = lb_utf8_len(p + i, sb->len - i)))
			break;
	if (i >= sb->len)
		return;
	if (strbuf_add(&out, sb->buf, i))
		goto out;
	while (i < sb->len) {
		n = lb_utf8_len(p + i, sb->len - i);
		if (n ? strbuf_add(&out, p + i, n) : strbuf_add(&out, "\xef\xbf\xbd", 3))
			goto out;
		i += n ? n : 1;
	}
	out.max = sb->max > out.len ? sb->max : out.len;
	strbuf_release(sb);
	*sb = out;
	return;
out:
	strbuf_release(&out);
}

/* A response's times never go backwards (docs/METRICS.md "Request timeline"): a chunk or an
 * end timed before the chunk before it (that one was timed late, by the harness's clock: bytes
 * that came after the kernel-time peek) takes that chunk's time, as the store's chunk encoding
 * does, so that the live figures and those recomputed from the rows agree. */
static uint64_t not_before(const struct lb_reqrec *r, uint64_t t)
{
	uint64_t prev = r->n_chunks ? r->chunk_t_ns[r->n_chunks - 1] : r->t_send_ns;

	return t < prev ? prev : t;
}

void reqrec_on_event(void *ctx, const struct lb_event *ev)
{
	struct lb_reqrec *r = ctx;
	uint64_t t;

	if (r->done)
		return;
	switch (ev->kind) {
	case LB_EV_SENT:
		r->t_send_ns = ev->t_ns;
		if (!r->t_scheduled_ns)
			r->t_scheduled_ns = ev->t_ns;
		break;
	case LB_EV_FIRST_TOKEN:
	case LB_EV_TOKENS:
		t = not_before(r, ev->t_ns);
		if (!r->t_first_ns)
			r->t_first_ns = t;
		if (add_chunk(r, t, ev->n_tokens)) {
			fail_oom(r, t);
			r->done = true;
			return;
		}
		r->n_chunk_src[(unsigned)ev->t_src < LB_TSRC_N ? ev->t_src : LB_TSRC_UNSTATED]++;
		if (r->keep_text && ev->text_len)
			strbuf_add(&r->text, ev->text, ev->text_len); /* bounded: keeps a prefix */
		break;
	case LB_EV_DONE:
		r->t_end_ns = not_before(r, ev->t_ns);
		r->usage_prompt = ev->usage_prompt_tokens;
		r->usage_completion = ev->usage_completion_tokens;
		r->server_prompt_ms = ev->server_prompt_ms;
		r->server_predicted_ms = ev->server_predicted_ms;
		if (ev->finish_reason)
			snprintf(r->finish_reason, sizeof(r->finish_reason), "%s",
				 ev->finish_reason);
		if (r->keep_text && ev->text_len)
			strbuf_add(&r->text, ev->text, ev->text_len);
		if (r->keep_text)
			text_repair_utf8(&r->text);
		r->done = true;
		reqrec_finish(r);
		if (ev->tokens_source) {
			if (r->usage_prompt >= 0)
				r->n_in_src = ev->tokens_source;
			if (r->usage_completion >= 0)
				r->n_out_src = ev->tokens_source;
		}
		break;
	case LB_EV_ERROR:
		r->t_end_ns = not_before(r, ev->t_ns);
		r->fail = ev->fail == LB_FAIL_NONE ? LB_FAIL_BACKEND : ev->fail;
		r->http_status = ev->http_status;
		if (ev->text_len)
			snprintf(r->err_msg, sizeof(r->err_msg), "%.*s",
				 (int)(ev->text_len < 255 ? ev->text_len : 255), ev->text);
		r->done = true;
		break;
	}
}

void reqrec_finish(struct lb_reqrec *r)
{
	uint32_t i;
	int64_t sum = 0;
	bool all_known = r->n_chunks > 0;

	if (r->usage_prompt >= 0) {
		r->n_in = r->usage_prompt;
		r->n_in_src = "usage";
	}
	if (r->usage_completion >= 0) {
		r->n_out = r->usage_completion;
		r->n_out_src = "usage";
		return;
	}
	for (i = 0; i < r->n_chunks; i++) {
		if (r->chunk_n[i] < 0) {
			all_known = false;
			break;
		}
		sum += r->chunk_n[i];
	}
	if (all_known) {
		r->n_out = (int32_t)sum;
		r->n_out_src = "events";
	}
}

void reqrec_set_tokens(struct lb_reqrec *r, int32_t n_in, const char *in_src, int32_t n_out,
		       const char *out_src)
{
	if (n_in >= 0) {
		r->n_in = n_in;
		r->n_in_src = in_src;
	}
	if (n_out >= 0) {
		r->n_out = n_out;
		r->n_out_src = out_src;
	}
}

static double ns_ms(uint64_t a, uint64_t b)
{
	return (double)(int64_t)(b - a) / 1e6;
}

double reqrec_ttft_ms(const struct lb_reqrec *r)
{
	if (!reqrec_ok(r) || !r->t_first_ns || !r->t_send_ns)
		return NAN;
	return ns_ms(r->t_send_ns, r->t_first_ns);
}

double reqrec_e2e_ms(const struct lb_reqrec *r)
{
	if (!reqrec_ok(r) || !r->t_send_ns)
		return NAN;
	return ns_ms(r->t_send_ns, r->t_end_ns);
}

double reqrec_tpot_ms(const struct lb_reqrec *r)
{
	if (!reqrec_ok(r) || !r->t_first_ns || r->n_out < 2)
		return NAN;
	return ns_ms(r->t_first_ns, r->t_end_ns) / (r->n_out - 1);
}

double reqrec_lag_ms(const struct lb_reqrec *r)
{
	if (!r->t_send_ns || !r->t_scheduled_ns)
		return NAN;
	return ns_ms(r->t_scheduled_ns, r->t_send_ns);
}

/* LEB128 */
static int put_u(uint8_t **p, size_t *len, size_t *cap, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		if (v)
			b |= 0x80;
		if (*len == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			uint8_t *q = lb_realloc(*p, nc);

			if (!q)
				return -1;
			*p = q;
			*cap = nc;
		}
		(*p)[(*len)++] = b;
	} while (v);
	return 0;
}

static int get_u(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift = 0;

	while (*pos < len) {
		uint8_t b = p[(*pos)++];

		if (shift > 63)
			return -1;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

int reqrec_encode_chunks(const struct lb_reqrec *r, uint8_t **out, size_t *len)
{
	uint8_t *p = NULL;
	size_t n = 0, cap = 0;
	uint64_t prev = r->t_send_ns;
	uint32_t i;

	for (i = 0; i < r->n_chunks; i++) {
		uint64_t t = r->chunk_t_ns[i];
		uint64_t d = t >= prev ? t - prev : 0;

		if (put_u(&p, &n, &cap, d)) {
			lb_free(p);
			return -1;
		}
		prev = t >= prev ? t : prev;
	}
	*out = p;
	*len = n;
	return 0;
}

int reqrec_encode_counts(const struct lb_reqrec *r, uint8_t **out, size_t *len)
{
	uint8_t *p = NULL;
	size_t n = 0, cap = 0;
	uint32_t i;

	for (i = 0; i < r->n_chunks; i++) {
		int64_t v = r->chunk_n[i];
		uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

		if (put_u(&p, &n, &cap, z)) {
			lb_free(p);
			return -1;
		}
	}
	*out = p;
	*len = n;
	return 0;
}

long reqrec_decode_chunks(const uint8_t *p, size_t len, uint64_t t_send_ns, uint64_t *t_ns,
			  long max)
{
	size_t pos = 0;
	long k = 0;
	uint64_t t = t_send_ns, d;

	while (pos < len && k < max) {
		if (get_u(p, len, &pos, &d))
			return -1;
		t += d;
		t_ns[k++] = t;
	}
	return k;
}

long reqrec_decode_counts(const uint8_t *p, size_t len, int32_t *n, long max)
{
	size_t pos = 0;
	long k = 0;
	uint64_t z;

	while (pos < len && k < max) {
		if (get_u(p, len, &pos, &z))
			return -1;
		n[k++] = (int32_t)((int64_t)(z >> 1) ^ -(int64_t)(z & 1));
	}
	return k;
}
