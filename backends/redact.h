/* redact.h: hide secrets in what gets stored or printed (configs, error messages).
 *
 * Pure string functions; they allocate nothing and can't fail beyond truncation. */
#ifndef LB_REDACT_H
#define LB_REDACT_H

#include <stddef.h>

/* Copy url into out (len bytes, always NUL-terminated when len > 0) with the credentials of its
 * authority ("user:password@" or "token@") replaced by "***@" and the values of the query
 * parameters key, api_key, apikey, api-key, token, access_token, password and secret (names
 * compared without regard to case) replaced by "***". Anything that is not a URL is copied
 * with the same rules applied as far as they fit. Returns 0, or -1 when out was too small and
 * the copy is truncated. */
int redact_url(const char *url, char *out, size_t len);

/* Copy an HTTP header line "Name: value" into out, replacing the value with "***" when the name
 * is one that carries secrets (Authorization, Proxy-Authorization, Cookie, X-Api-Key, Api-Key,
 * or any name containing "token", "secret" or "key"). Returns 0, or -1 when truncated. */
int redact_header(const char *header, char *out, size_t len);

#endif
