/* fuzz_sse.c: libFuzzer target for the incremental SSE parser (backends/sse.c).
 *
 * Input: byte 0 picks the line bound (16 << (b % 8) bytes) and the bytes after it are an event
 * stream. It is parsed once in one feed, then again in chunks whose sizes come from a simple
 * generator seeded by the input; both runs must report the same events and the same result.
 * The one-feed run hands whole one-line events to the callback in place (sse.c's lean path)
 * wherever it applies; the split run mostly goes through the copying path: they must agree.
 * Needs: backends/sse.c harness/strbuf.c harness/alloc.c harness/error.c (or the whole
 * build-fuzz/libllmbench.a). */
#include "../../backends/sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trace {
	struct strbuf sb;
	int n;
};

static int on_event(void *ctx, const struct sse_event *ev)
{
	struct trace *t = ctx;
	size_t n = ev->data_len + ev->event_len;

	t->n++;
	/* a length-prefixed record per event, so any difference shows */
	strbuf_add(&t->sb, &n, sizeof(n));
	strbuf_add(&t->sb, ev->data, ev->data_len);
	strbuf_addch(&t->sb, ev->event ? 1 : 0);
	if (ev->event)
		strbuf_add(&t->sb, ev->event, ev->event_len);
	/* stop at the 50th event, to exercise stopping */
	return t->n == 50 ? 9 : 0;
}

static int run(const char *s, size_t len, size_t bound, uint32_t seed, struct trace *t,
	       bool *partial)
{
	struct sse_parser p;
	struct lb_error err = LB_ERROR_INIT;
	size_t at = 0;
	int rc = 0;

	strbuf_init(&t->sb, 0);
	t->n = 0;
	sse_parser_init(&p, bound, on_event, t);
	while (at < len && !rc) {
		size_t step = len - at;

		if (seed) {
			seed = seed * 1103515245u + 12345u;
			step = 1 + (seed >> 16) % 64;
			if (step > len - at)
				step = len - at;
		}
		rc = sse_parser_feed(&p, s + at, step, &err);
		at += step;
	}
	if (!rc)
		rc = sse_parser_finish(&p, partial, &err);
	if (rc < 0 && !err.msg[0])
		abort();
	sse_parser_release(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace a, b;
	bool pa = false, pb = false;
	size_t bound;
	uint32_t seed;
	int ra, rb;

	if (size < 1)
		return 0;
	bound = (size_t)16 << (data[0] % 8);
	seed = (uint32_t)size * 2654435761u | 1u;
	ra = run((const char *)data + 1, size - 1, bound, 0, &a, &pa);
	rb = run((const char *)data + 1, size - 1, bound, seed, &b, &pb);
	if (ra != rb || a.n != b.n || a.sb.len != b.sb.len || memcmp(a.sb.buf, b.sb.buf, a.sb.len) ||
	    (ra == 0 && pa != pb))
		abort();
	strbuf_release(&a.sb);
	strbuf_release(&b.sb);
	return 0;
}
