/* jsonout.h: writing JSON and CSV text to a stream, for the code that prints them by hand
 * (runs, export, report, compare). Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become U+FFFD so
 * that the output always parses. Errors show in ferror(f). */
#ifndef LB_JSONOUT_H
#define LB_JSONOUT_H

#include <stddef.h>
#include <stdio.h>

/* s[0..len) as a quoted JSON string. */
void jsonout_str(FILE *f, const char *s, size_t len);
/* A NUL-terminated string, or null when s is NULL. */
void jsonout_strz(FILE *f, const char *s);

/* s as one RFC 4180 CSV field: quoted (quotes doubled) when it holds a comma, quote, CR or LF;
 * nothing for NULL. A line break inside is written as LF (CRLF and a lone CR too), so a CSV has
 * one line ending. */
void csvout_field(FILE *f, const char *s);

/* s as text in a Markdown table cell: '|' escaped, CR and LF as spaces; nothing for NULL. */
void mdout_cell(FILE *f, const char *s);

#endif
