/* strbuf.h: a growable NUL-terminated byte buffer (after git's strbuf). buf is never NULL
 * after strbuf_init or STRBUF_INIT. A strbuf with max > 0 refuses to grow past max bytes. */
#ifndef LB_STRBUF_H
#define LB_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct lb_error;

struct strbuf {
	char *buf;    /* owned; "" (static) until the first growth */
	size_t len;   /* bytes used, not counting the NUL */
	size_t alloc; /* bytes allocated, 0 while buf is the static "" */
	size_t max;   /* 0: unbounded, else the most bytes len may reach */
};

extern char strbuf_slopbuf[];
#define STRBUF_INIT                     \
	{                               \
		strbuf_slopbuf, 0, 0, 0 \
	}

void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_release(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
/* Take the buffer out (caller frees), leaving sb empty. Never NULL. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
/* 0, or -1 when growing would exceed sb->max or memory is out (sb unchanged). */
int strbuf_grow(struct strbuf *sb, size_t extra);
int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_adds(struct strbuf *sb, const char *s);
int strbuf_addch(struct strbuf *sb, char c);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Append s as a JSON string literal with quotes and escapes. */
int strbuf_add_json_str(struct strbuf *sb, const char *s, size_t len);
/* Read a whole file (at most max bytes, 0 = unbounded) into sb; fills err naming the path. */
int strbuf_read_file(struct strbuf *sb, const char *path, size_t max, struct lb_error *err);

/* Length of the valid UTF-8 sequence at s (at most n bytes, n >= 1), or 0 when it is not valid
 * (truncated, overlong, a surrogate or above U+10FFFF). */
size_t lb_utf8_len(const unsigned char *s, size_t n);

#endif
