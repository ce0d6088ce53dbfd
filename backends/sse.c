/* sse.c: incremental Server-Sent-Events parser (see sse.h). Lines that arrive whole inside one
 * feed are parsed in place; only a line split across feeds is copied. The usual event of a
 * streamed completion, one `data:` line and its blank line inside one feed, is handed to the
 * callback in place, without copying its data. */
#include "sse.h"

#include <string.h>

#define SSE_DEFAULT_MAX (16u << 20)

void sse_parser_init(struct sse_parser *p, size_t max_line, sse_event_fn *fn, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->fn = fn;
	p->ctx = ctx;
	p->max_line = max_line ? max_line : SSE_DEFAULT_MAX;
	strbuf_init(&p->line, 0);
	strbuf_init(&p->data, 0);
	strbuf_init(&p->event, 0);
	strbuf_init(&p->id, 0);
	p->first_line = true;
}

void sse_parser_reset(struct sse_parser *p)
{
	strbuf_reset(&p->line);
	strbuf_reset(&p->data);
	strbuf_reset(&p->event);
	strbuf_reset(&p->id);
	p->has_data = p->has_event = p->has_id = false;
	p->cr_pending = false;
	p->first_line = true;
	p->state = 0;
	p->n_events = 0;
	p->n_bytes = 0;
}

void sse_parser_release(struct sse_parser *p)
{
	strbuf_release(&p->line);
	strbuf_release(&p->data);
	strbuf_release(&p->event);
	strbuf_release(&p->id);
	sse_parser_reset(p);
}

static int sse_fail(struct sse_parser *p, int code, struct lb_error *err, const char *what)
{
	if (code == LB_ERR_NOMEM)
		lb_error_set(err, code, "out of memory for an SSE %s", what);
	else
		lb_error_set(err, code, "SSE %s longer than the bound of %zu bytes", what,
			     p->max_line);
	p->state = code;
	return code;
}

static int sse_dispatch(struct sse_parser *p)
{
	struct sse_event ev;
	int rc;

	if (!p->has_data) {
		/* an event with no data field is not dispatched (WHATWG "dispatch the event") */
		strbuf_reset(&p->event);
		p->has_event = false;
		return 0;
	}
	ev.data = p->data.buf;
	ev.data_len = p->data.len;
	ev.event = p->has_event ? p->event.buf : NULL;
	ev.event_len = p->has_event ? p->event.len : 0;
	ev.id = p->has_id ? p->id.buf : NULL;
	ev.id_len = p->has_id ? p->id.len : 0;
	p->n_events++;
	rc = p->fn ? p->fn(p->ctx, &ev) : 0;
	strbuf_reset(&p->data);
	strbuf_reset(&p->event);
	p->has_data = p->has_event = false;
	if (rc)
		p->state = rc;
	return rc;
}

static int field_is(const char *name, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return len == n && !memcmp(name, lit, n);
}

/* One complete line without its line end. */
static int sse_line(struct sse_parser *p, const char *line, size_t len, struct lb_error *err)
{
	const char *colon, *value;
	size_t name_len, value_len;

	if (p->first_line) {
		p->first_line = false;
		if (len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
			line += 3;
			len -= 3;
		}
	}
	if (!len)
		return sse_dispatch(p);
	if (line[0] == ':')
		return 0; /* comment or keep-alive */
	colon = memchr(line, ':', len);
	if (colon) {
		name_len = (size_t)(colon - line);
		value = colon + 1;
		value_len = len - name_len - 1;
		if (value_len && value[0] == ' ') {
			value++;
			value_len--;
		}
	} else {
		name_len = len;
		value = "";
		value_len = 0;
	}
	if (field_is(line, name_len, "data")) {
		size_t extra = value_len + (p->has_data ? 1 : 0);

		if (p->data.len + extra > p->max_line)
			return sse_fail(p, LB_ERR_LIMIT, err, "event data");
		if ((p->has_data && strbuf_addch(&p->data, '\n')) ||
		    strbuf_add(&p->data, value, value_len))
			return sse_fail(p, LB_ERR_NOMEM, err, "event");
		p->has_data = true;
	} else if (field_is(line, name_len, "event")) {
		strbuf_reset(&p->event);
		if (strbuf_add(&p->event, value, value_len))
			return sse_fail(p, LB_ERR_NOMEM, err, "event");
		p->has_event = true;
	} else if (field_is(line, name_len, "id")) {
		if (!memchr(value, '\0', value_len)) {
			strbuf_reset(&p->id);
			if (strbuf_add(&p->id, value, value_len))
				return sse_fail(p, LB_ERR_NOMEM, err, "event");
			p->has_id = true;
		}
	}
	/* "retry" and unknown fields are ignored, as the specification says */
	return 0;
}

static size_t find_eol(const char *s, size_t n)
{
	const char *lf = memchr(s, '\n', n);
	size_t upto = lf ? (size_t)(lf - s) : n;
	const char *cr = memchr(s, '\r', upto);

	return cr ? (size_t)(cr - s) : upto;
}

/* The lean path: buf[0..j) is a whole line starting "data:", nothing of an event is pending,
 * and the line's end is followed at once by a blank line ("\n\n" or "\r\n\r\n") in the same
 * feed. Dispatch it in place; returns the bytes consumed (line and both ends), 0 when the case
 * does not apply (the general path then handles it), with *rc the callback's value. */
static size_t sse_fast(struct sse_parser *p, const char *buf, size_t j, size_t avail, int *rc)
{
	struct sse_event ev;
	size_t used, off = 5;

	*rc = 0;
	if (p->has_data || p->has_event || p->first_line || j < 5 || memcmp(buf, "data:", 5) ||
	    j > p->max_line)
		return 0;
	if (j + 2 <= avail && buf[j] == '\n' && buf[j + 1] == '\n')
		used = j + 2;
	else if (j + 4 <= avail && !memcmp(buf + j, "\r\n\r\n", 4))
		used = j + 4;
	else
		return 0;
	if (j > 5 && buf[5] == ' ')
		off = 6;
	ev.data = buf + off;
	ev.data_len = j - off;
	ev.event = NULL;
	ev.event_len = 0;
	ev.id = p->has_id ? p->id.buf : NULL;
	ev.id_len = p->has_id ? p->id.len : 0;
	p->n_events++;
	*rc = p->fn ? p->fn(p->ctx, &ev) : 0;
	if (*rc)
		p->state = *rc;
	return used;
}

int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len, struct lb_error *err)
{
	size_t i = 0;
	int rc;

	if (p->state)
		return p->state;
	p->n_bytes += len;
	while (i < len) {
		size_t j;

		if (p->cr_pending) {
			p->cr_pending = false;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		j = find_eol(buf + i, len - i);
		if (!p->line.len && i + j < len) {
			size_t used = sse_fast(p, buf + i, j, len - i, &rc);

			if (rc)
				return rc;
			if (used) {
				i += used;
				continue;
			}
		}
		if (p->line.len + j > p->max_line)
			return sse_fail(p, LB_ERR_LIMIT, err, "line");
		if (i + j == len) {
			if (strbuf_add(&p->line, buf + i, j))
				return sse_fail(p, LB_ERR_NOMEM, err, "line");
			break;
		}
		if (p->line.len) {
			if (strbuf_add(&p->line, buf + i, j))
				return sse_fail(p, LB_ERR_NOMEM, err, "line");
			rc = sse_line(p, p->line.buf, p->line.len, err);
			strbuf_reset(&p->line);
		} else {
			rc = sse_line(p, buf + i, j, err);
		}
		if (rc)
			return rc;
		p->cr_pending = buf[i + j] == '\r';
		i += j + 1;
	}
	return 0;
}

int sse_parser_finish(struct sse_parser *p, bool *partial_line, struct lb_error *err)
{
	(void)err;
	if (partial_line)
		*partial_line = false;
	if (p->state)
		return p->state;
	if (p->line.len) {
		if (partial_line)
			*partial_line = true;
		strbuf_reset(&p->line);
		strbuf_reset(&p->data);
		strbuf_reset(&p->event);
		p->has_data = p->has_event = false;
		return 0;
	}
	return sse_dispatch(p);
}
