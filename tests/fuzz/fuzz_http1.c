/* fuzz_http1.c: libFuzzer target for the HTTP/1.1 response parser (backends/http1.c), which
 * reads what a server sends to the native client (openai_h1.c).
 *
 * Input: the bytes of one connection. They are parsed once in one feed (a head that arrives
 * whole is parsed where it lies), then again in pieces whose sizes come from a generator
 * seeded by the input (heads gathered in the parser's buffer); both runs must agree on the
 * status, the content type, the decoded body, keep-alive, the end state and the error, and
 * then on what the connection's close means. The body may not outgrow the input. */
#include "../../backends/http1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trace {
	struct strbuf body;
	int heads;
	int status;
	char ctype[128];
};

static int on_head(void *ctx, const struct h1_resp *r)
{
	struct trace *t = ctx;

	t->heads++;
	t->status = r->status;
	memcpy(t->ctype, r->ctype, sizeof(t->ctype));
	if (r->status < 200 || r->status > 599)
		abort(); /* the parser hands over final statuses only */
	return 0;
}

static int on_body(void *ctx, const char *p, size_t n)
{
	struct trace *t = ctx;

	if (!t->heads)
		abort(); /* a body before its head */
	strbuf_add(&t->body, p, n);
	return 0;
}

static int run(const char *s, size_t len, uint32_t seed, struct trace *t, struct h1_resp *r,
	       bool *eof_done)
{
	size_t at = 0;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	strbuf_init(&t->body, 0);
	h1_resp_init(r);
	while (at < len && !rc) {
		size_t step = len - at;

		if (seed) {
			seed = seed * 1103515245u + 12345u;
			step = 1 + (seed >> 16) % 48;
			if (step > len - at)
				step = len - at;
		}
		rc = h1_resp_feed(r, s + at, step, on_head, on_body, t);
		at += step;
	}
	*eof_done = rc == 0 && h1_resp_eof(r);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace a, b;
	struct h1_resp ra, rb;
	bool ea, eb;
	uint32_t seed = 1;
	size_t i;
	int rca, rcb;

	for (i = 0; i < size && i < 16; i++)
		seed = seed * 31u + data[i];
	rca = run((const char *)data, size, 0, &a, &ra, &ea);
	rcb = run((const char *)data, size, seed | 1u, &b, &rb, &eb);
	if (rca != rcb || a.heads != b.heads || a.status != b.status ||
	    strcmp(a.ctype, b.ctype) || a.body.len != b.body.len ||
	    (a.body.len && memcmp(a.body.buf, b.body.buf, a.body.len)) || ea != eb ||
	    ra.state != rb.state || ra.keep_alive != rb.keep_alive || ra.excess != rb.excess ||
	    strcmp(ra.err, rb.err))
		abort();
	if (a.heads > 1 || a.body.len > size || ra.body_len != a.body.len)
		abort();
	strbuf_release(&a.body);
	strbuf_release(&b.body);
	h1_resp_release(&ra);
	h1_resp_release(&rb);
	return 0;
}
