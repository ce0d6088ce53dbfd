/* lineread.c: a bounded line reader (see lineread.h). */
#include "lineread.h"

#include "dataset.h"

#include <errno.h>
#include <string.h>

int lineread_open(struct lineread *r, const char *path, struct lb_error *err)
{
	memset(r, 0, sizeof(*r));
	strbuf_init(&r->line, DATASET_MAX_LINE);
	r->path = path;
	r->f = fopen(path, "rb");
	if (!r->f)
		return lb_error_set(err, LB_ERR_USAGE, "cannot open dataset '%s': %s", path,
				    strerror(errno));
	return 0;
}

static int fill(struct lineread *r, struct lb_error *err)
{
	r->pos = 0;
	r->len = fread(r->buf, 1, sizeof(r->buf), r->f);
	if (r->len)
		return 0;
	if (ferror(r->f))
		return lb_error_set(err, LB_ERR_IO, "cannot read '%s': %s", r->path,
				    strerror(errno));
	r->eof = 1;
	return 0;
}

int lineread_next(struct lineread *r, char **line, size_t *len, struct lb_error *err)
{
	int got = 0, rc;

	strbuf_reset(&r->line);
	for (;;) {
		const char *start, *nl;
		size_t n;

		if (r->pos == r->len) {
			if (r->eof)
				break;
			rc = fill(r, err);
			if (rc)
				return rc;
			if (r->eof)
				break;
		}
		got = 1;
		start = r->buf + r->pos;
		nl = memchr(start, '\n', r->len - r->pos);
		n = nl ? (size_t)(nl - start) : r->len - r->pos;
		if (strbuf_add(&r->line, start, n)) {
			if (r->line.len + n > DATASET_MAX_LINE)
				return lb_error_set(
					err, LB_ERR_LIMIT,
					"'%s':%ld: line longer than the limit of %u bytes", r->path,
					r->lineno + 1, DATASET_MAX_LINE);
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory reading '%s'",
					    r->path);
		}
		r->pos += n + (nl ? 1 : 0);
		if (nl)
			break;
	}
	if (!got)
		return 0;
	r->lineno++;
	if (r->line.len && r->line.buf[r->line.len - 1] == '\r')
		r->line.buf[--r->line.len] = 0;
	if (memchr(r->line.buf, 0, r->line.len))
		return lb_error_set(err, LB_ERR_PARSE,
				    "'%s':%ld: line holds a NUL byte (expected text)", r->path,
				    r->lineno);
	*line = r->line.buf;
	*len = r->line.len;
	return 1;
}

void lineread_close(struct lineread *r)
{
	if (r->f)
		fclose(r->f);
	r->f = NULL;
	strbuf_release(&r->line);
}
