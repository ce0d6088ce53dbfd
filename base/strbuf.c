#include "strbuf.h"

#include "alloc.h"
#include "error.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "banned.h" /* last: after the system headers */

char strbuf_slopbuf[1];

void strbuf_init(struct strbuf *sb, size_t max)
{
	sb->buf = strbuf_slopbuf;
	sb->len = 0;
	sb->alloc = 0;
	sb->max = max;
}

void strbuf_release(struct strbuf *sb)
{
	if (!sb)
		return;
	if (sb->alloc)
		lb_free(sb->buf);
	strbuf_init(sb, sb->max);
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->alloc)
		sb->buf[0] = 0;
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *p;

	if (len)
		*len = sb->len;
	if (!sb->alloc) {
		p = lb_malloc(1);
		if (p)
			p[0] = 0;
	} else {
		p = sb->buf;
	}
	strbuf_init(sb, sb->max);
	return p;
}

int strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1, n;
	char *p;

	if (sb->max && sb->len + extra > sb->max)
		return -1;
	if (need <= sb->alloc)
		return 0;
	n = sb->alloc ? sb->alloc : 64;
	while (n < need)
		n = n / 2 * 3 + 16;
	p = lb_realloc(sb->alloc ? sb->buf : NULL, n);
	if (!p)
		return -1;
	if (!sb->alloc)
		p[0] = 0;
	sb->buf = p;
	sb->alloc = n;
	return 0;
}

int strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	if (strbuf_grow(sb, len))
		return -1;
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = 0;
	return 0;
}

int strbuf_adds(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}
int strbuf_addch(struct strbuf *sb, char c)
{
	return strbuf_add(sb, &c, 1);
}

int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || strbuf_grow(sb, (size_t)n))
		return -1;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return rc;
}

int strbuf_add_json_str(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (strbuf_addch(sb, '"'))
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc;

		switch (c) {
		case '"': rc = strbuf_add(sb, "\\\"", 2); break;
		case '\\': rc = strbuf_add(sb, "\\\\", 2); break;
		case '\n': rc = strbuf_add(sb, "\\n", 2); break;
		case '\r': rc = strbuf_add(sb, "\\r", 2); break;
		case '\t': rc = strbuf_add(sb, "\\t", 2); break;
		default:
			if (c < 0x20) {
				char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
				rc = strbuf_add(sb, e, 6);
			} else {
				rc = strbuf_addch(sb, (char)c);
			}
		}
		if (rc)
			return -1;
	}
	return strbuf_addch(sb, '"');
}

int strbuf_read_file(struct strbuf *sb, const char *path, size_t max, struct lb_error *err)
{
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return lb_error_set(err, LB_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (max && sb->len + n > max) {
			fclose(f);
			return lb_error_set(err, LB_ERR_LIMIT,
					    "'%s' is larger than the limit of %zu bytes", path,
					    max);
		}
		if (strbuf_add(sb, chunk, n)) {
			fclose(f);
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory reading '%s'", path);
		}
	}
	if (ferror(f)) {
		fclose(f);
		return lb_error_set(err, LB_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
	}
	fclose(f);
	return 0;
}

size_t lb_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range, surrogate */
	return len;
}
