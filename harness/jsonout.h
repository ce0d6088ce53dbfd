/* jsonout.h: writing JSON text to a stream, for the verbs that print JSON by hand (runs,
 * export). Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become U+FFFD so
 * that the output always parses. Errors show in ferror(f). */
#ifndef LB_JSONOUT_H
#define LB_JSONOUT_H

#include <stddef.h>
#include <stdio.h>

/* s[0..len) as a quoted JSON string. */
void jsonout_str(FILE *f, const char *s, size_t len);
/* A NUL-terminated string, or null when s is NULL. */
void jsonout_strz(FILE *f, const char *s);

#endif
