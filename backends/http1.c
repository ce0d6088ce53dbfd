/* http1.c: an incremental HTTP/1.1 response parser (see http1.h). */
#include "http1.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void h1_resp_init(struct h1_resp *r)
{
	memset(r, 0, sizeof(*r));
	strbuf_init(&r->head, 0);
	h1_resp_reset(r);
}

void h1_resp_release(struct h1_resp *r)
{
	strbuf_release(&r->head);
}

void h1_resp_reset(struct h1_resp *r)
{
	r->state = H1_HEAD;
	r->status = 0;
	r->keep_alive = false;
	r->chunked = false;
	r->got_bytes = false;
	r->excess = false;
	r->left = 0;
	r->body_len = 0;
	r->ctype[0] = 0;
	r->err[0] = 0;
	strbuf_reset(&r->head);
	r->line_len = 0;
}

static int fail(struct h1_resp *r, const char *what)
{
	snprintf(r->err, sizeof(r->err), "%s", what);
	r->state = H1_FAILED;
	return -1;
}

static const char *skip_ows(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *trim_ows(const char *p, const char *e)
{
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	return e;
}

static bool name_is(const char *p, size_t n, const char *name)
{
	return n == strlen(name) && !strncasecmp(p, name, n);
}

/* Whether the comma-separated list [p, e) holds token (case-insensitive). */
static bool list_has(const char *p, const char *e, const char *token)
{
	size_t tn = strlen(token);

	while (p < e) {
		const char *c = memchr(p, ',', (size_t)(e - p)), *te;

		if (!c)
			c = e;
		p = skip_ows(p, c);
		te = trim_ows(p, c);
		if ((size_t)(te - p) == tn && !strncasecmp(p, token, tn))
			return true;
		p = c + 1;
	}
	return false;
}

/* The last coding of a Transfer-Encoding list is chunked. */
static bool last_is_chunked(const char *p, const char *e)
{
	const char *c = e;

	e = trim_ows(p, e);
	while (c > p && c[-1] != ',')
		c--;
	c = skip_ows(c, e);
	return e - c == 7 && !strncasecmp(c, "chunked", 7);
}

/* Parse a complete head h[0, len): the status line and headers. */
static int parse_head(struct h1_resp *r, const char *h, size_t len)
{
	const char *p = h, *e = h + len, *nl;
	bool http10, have_len = false, te = false, conn_close = false, conn_keep = false;
	uint64_t clen = 0;

	if (len < 12 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
		return fail(r, "not an HTTP/1.x status line");
	if (len > 12 && p[12] != ' ' && p[12] != '\r' && p[12] != '\n')
		return fail(r, "not an HTTP/1.x status line");
	http10 = p[7] == '0';
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	nl = memchr(p, '\n', len);
	p = nl + 1;
	while (p < e) {
		const char *le = memchr(p, '\n', (size_t)(e - p)), *colon, *v, *ve;

		if (!le)
			le = e;
		ve = trim_ows(p, le);
		if (ve == p) /* the empty line */
			break;
		if (*p == ' ' || *p == '\t')
			return fail(r, "folded header line (obsolete line folding)");
		colon = memchr(p, ':', (size_t)(ve - p));
		if (!colon || colon == p)
			return fail(r, "header line without a name and ':'");
		v = skip_ows(colon + 1, ve);
		if (name_is(p, (size_t)(colon - p), "content-length")) {
			uint64_t n = 0;
			const char *d;

			if (v == ve)
				return fail(r, "empty Content-Length");
			for (d = v; d < ve; d++) {
				if (*d < '0' || *d > '9' || n > (UINT64_C(1) << 56))
					return fail(r, "bad Content-Length");
				n = n * 10 + (uint64_t)(*d - '0');
			}
			if (have_len && n != clen)
				return fail(r, "two different Content-Length values");
			have_len = true;
			clen = n;
		} else if (name_is(p, (size_t)(colon - p), "transfer-encoding")) {
			te = true;
			r->chunked = last_is_chunked(v, ve);
		} else if (name_is(p, (size_t)(colon - p), "connection")) {
			conn_close |= list_has(v, ve, "close");
			conn_keep |= list_has(v, ve, "keep-alive");
		} else if (name_is(p, (size_t)(colon - p), "content-type")) {
			size_t n = (size_t)(ve - v);

			if (n >= sizeof(r->ctype))
				n = sizeof(r->ctype) - 1;
			memcpy(r->ctype, v, n);
			r->ctype[n] = 0;
		}
		p = le + 1;
	}
	r->keep_alive = http10 ? conn_keep && !conn_close : !conn_close;
	if (r->status == 101)
		return fail(r, "101 Switching Protocols was not asked for");
	if (r->status < 200)
		return 0; /* interim: the caller reads the next head */
	if (r->status == 204 || r->status == 304) {
		r->state = H1_DONE;
	} else if (te && r->chunked) {
		r->state = H1_CHUNK_SIZE;
	} else if (te) {
		r->state = H1_BODY_CLOSE; /* a coding that is not chunked: to the close */
		r->keep_alive = false;
	} else if (have_len) {
		r->left = clen;
		r->state = clen ? H1_BODY_LEN : H1_DONE;
	} else {
		r->state = H1_BODY_CLOSE;
		r->keep_alive = false;
	}
	if (te && have_len)
		r->keep_alive = false; /* RFC 9112 6.1: close after such a response */
	return 0;
}

/* The end of a head in h[from, len) (after its blank line), 0 when not there yet. A stray
 * line end before the status line is no blank line. */
static size_t head_end(const char *h, size_t from, size_t len)
{
	const char *p = h + from, *e = h + len;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		size_t i = (size_t)(p - h);

		p++;
		if (i == 0 || (i == 1 && h[0] == '\r'))
			continue;
		if (i + 1 < len && h[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && h[i + 1] == '\r' && h[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Take head bytes from p[0, n); *used: how many. Returns -1 on error, else 0 (the state tells
 * whether the head is complete). */
static int take_head(struct h1_resp *r, const char *p, size_t n, size_t *used)
{
	size_t old = r->head.len, end;
	int rc;

	if (!old) { /* the usual case: the whole head in this feed, parsed where it lies */
		end = head_end(p, 0, n < H1_HEAD_MAX ? n : H1_HEAD_MAX);
		if (end) {
			*used = end;
			rc = parse_head(r, p, end);
			goto parsed;
		}
	}
	end = n < H1_HEAD_MAX - old ? n : H1_HEAD_MAX - old;
	if (strbuf_add(&r->head, p, end))
		return fail(r, "out of memory for a response head");
	end = head_end(r->head.buf, old > 3 ? old - 3 : 0, r->head.len);
	if (!end) {
		*used = r->head.len - old;
		if (r->head.len == H1_HEAD_MAX)
			return fail(r, "response head longer than 16 KiB");
		return 0;
	}
	*used = end - old;
	rc = parse_head(r, r->head.buf, end);
parsed:
	if (rc)
		return -1;
	strbuf_reset(&r->head);
	if (r->state == H1_HEAD) { /* 1xx: the real head follows */
		r->status = 0;
		r->ctype[0] = 0;
		r->chunked = false;
	}
	return 0;
}

/* Take one line (up to its '\n') into r->line; true when it is complete. */
static int take_line(struct h1_resp *r, const char *p, size_t n, size_t *used, bool *done)
{
	const char *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;

	*done = nl != NULL;
	*used = take;
	if (r->line_len + take > sizeof(r->line))
		return fail(r, "chunk-size or trailer line longer than 256 bytes");
	memcpy(r->line + r->line_len, p, take);
	r->line_len += take;
	return 0;
}

static int chunk_size(struct h1_resp *r)
{
	const char *p = r->line, *e = trim_ows(r->line, r->line + r->line_len - 1);
	uint64_t v = 0;
	int digits = 0;

	for (; p < e && *p != ';' && *p != ' ' && *p != '\t'; p++, digits++) {
		int d = (*p >= '0' && *p <= '9')   ? *p - '0'
			: (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10
			: (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10
						   : -1;

		if (d < 0 || digits >= 15)
			return fail(r, "bad chunk size");
		v = v * 16 + (uint64_t)d;
	}
	if (!digits)
		return fail(r, "bad chunk size");
	r->left = v;
	r->state = v ? H1_CHUNK_DATA : H1_TRAILERS;
	return 0;
}

int h1_resp_feed(struct h1_resp *r, const char *p, size_t n, h1_head_fn *on_head,
		 h1_body_fn *on_body, void *ctx)
{
	if (n)
		r->got_bytes = true;
	while (n) {
		size_t used = 0, take;
		bool done;
		int rc;

		switch (r->state) {
		case H1_HEAD:
			if (take_head(r, p, n, &used))
				return -1;
			if (r->state != H1_HEAD && on_head && (rc = on_head(ctx, r)))
				return rc;
			break;
		case H1_BODY_LEN:
		case H1_CHUNK_DATA:
		case H1_BODY_CLOSE:
			take = n;
			if (r->state != H1_BODY_CLOSE && take > r->left)
				take = (size_t)r->left;
			used = take;
			if (r->state != H1_BODY_CLOSE)
				r->left -= take;
			r->body_len += take;
			if (r->state == H1_BODY_LEN && !r->left)
				r->state = H1_DONE;
			else if (r->state == H1_CHUNK_DATA && !r->left)
				r->state = H1_CHUNK_END;
			if (on_body && (rc = on_body(ctx, p, take)))
				return rc;
			break;
		case H1_CHUNK_SIZE:
		case H1_CHUNK_END:
		case H1_TRAILERS:
			if (take_line(r, p, n, &used, &done))
				return -1;
			if (!done)
				break;
			if (r->state == H1_CHUNK_SIZE) {
				if (chunk_size(r))
					return -1;
			} else if (r->state == H1_CHUNK_END) {
				if (r->line_len > 2 || (r->line_len == 2 && r->line[0] != '\r'))
					return fail(r, "chunk data longer than its size");
				r->state = H1_CHUNK_SIZE;
			} else if (r->line_len == 1 || (r->line_len == 2 && r->line[0] == '\r')) {
				r->state = H1_DONE;
			}
			r->line_len = 0;
			break;
		case H1_DONE: r->excess = true; return 0;
		case H1_FAILED: return -1;
		}
		p += used;
		n -= used;
	}
	return 0;
}

bool h1_resp_eof(struct h1_resp *r)
{
	if (r->state == H1_BODY_CLOSE)
		r->state = H1_DONE;
	return r->state == H1_DONE;
}
