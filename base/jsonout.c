/* jsonout.c: JSON string output with UTF-8 repair (jsonout.h). */
#include "jsonout.h"

#include "strbuf.h"

#include <stdint.h>
#include <string.h>

#include "banned.h" /* last: after the system headers */

void jsonout_str(FILE *f, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	putc('"', f);
	while (i < len) {
		unsigned char c = p[i];
		size_t n;

		switch (c) {
		case '"':
			fputs("\\\"", f);
			i++;
			continue;
		case '\\':
			fputs("\\\\", f);
			i++;
			continue;
		case '\n':
			fputs("\\n", f);
			i++;
			continue;
		case '\r':
			fputs("\\r", f);
			i++;
			continue;
		case '\t':
			fputs("\\t", f);
			i++;
			continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
			i++;
			continue;
		}
		n = lb_utf8_len(p + i, len - i);
		if (!n) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		fwrite(p + i, 1, n, f);
		i += n;
	}
	putc('"', f);
}

void jsonout_strz(FILE *f, const char *s)
{
	if (s)
		jsonout_str(f, s, strlen(s));
	else
		fputs("null", f);
}

void csvout_field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	putc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', f);
		if (*s == '\r') { /* one line ending in every CSV: CRLF and CR become LF */
			if (s[1] != '\n')
				putc('\n', f);
			continue;
		}
		putc(*s, f);
	}
	putc('"', f);
}

void mdout_cell(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else
			fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
	}
}
