/* redact.c: hide credentials in URLs and header lines (see redact.h). */
#include "redact.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

struct out {
	char *buf;
	size_t len, at;
	bool truncated;
};

static void put(struct out *o, const char *s, size_t n)
{
	size_t room;

	if (!o->len)
		return;
	room = o->len - 1 - o->at;
	if (n > room) {
		n = room;
		o->truncated = true;
	}
	memcpy(o->buf + o->at, s, n);
	o->at += n;
	o->buf[o->at] = 0;
}

static bool secret_param(const char *name, size_t n)
{
	static const char *const names[] = { "key",   "api_key",      "apikey",   "api-key",
					     "token", "access_token", "password", "secret" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && !strncasecmp(name, names[i], n))
			return true;
	return false;
}

int redact_url(const char *url, char *out, size_t len)
{
	struct out o = { out, len, 0, len == 0 };
	const char *p = url, *scheme, *auth_end, *at, *q, *frag;

	if (len)
		out[0] = 0;
	if (!url)
		return o.truncated ? -1 : 0;
	scheme = strstr(url, "://");
	if (scheme && (size_t)(scheme - url) < strcspn(url, "/?#")) {
		put(&o, url, (size_t)(scheme + 3 - url));
		p = scheme + 3;
	}
	auth_end = p + strcspn(p, "/?#");
	at = NULL;
	for (q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	if (at) {
		put(&o, "***", 3);
		p = at;
	}
	q = strchr(p, '?');
	frag = strchr(p, '#');
	if (!q || (frag && frag < q)) {
		put(&o, p, strlen(p));
		return o.truncated ? -1 : 0;
	}
	put(&o, p, (size_t)(q + 1 - p));
	p = q + 1;
	while (*p && *p != '#') {
		size_t n = strcspn(p, "&;#");
		const char *eq = memchr(p, '=', n);

		if (eq && secret_param(p, (size_t)(eq - p))) {
			put(&o, p, (size_t)(eq + 1 - p));
			put(&o, "***", 3);
		} else {
			put(&o, p, n);
		}
		p += n;
		if (*p == '&' || *p == ';') {
			put(&o, p, 1);
			p++;
		}
	}
	put(&o, p, strlen(p));
	return o.truncated ? -1 : 0;
}

static bool contains_ci(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word), i;

	for (i = 0; i + w <= n; i++)
		if (!strncasecmp(s + i, word, w))
			return true;
	return false;
}

int redact_header(const char *header, char *out, size_t len)
{
	struct out o = { out, len, 0, len == 0 };
	const char *colon;
	size_t n;

	if (len)
		out[0] = 0;
	if (!header)
		return o.truncated ? -1 : 0;
	colon = strchr(header, ':');
	if (!colon) {
		put(&o, header, strlen(header));
		return o.truncated ? -1 : 0;
	}
	n = (size_t)(colon - header);
	while (n && (header[n - 1] == ' ' || header[n - 1] == '\t'))
		n--;
	if ((n == 13 && !strncasecmp(header, "authorization", n)) ||
	    (n == 19 && !strncasecmp(header, "proxy-authorization", n)) ||
	    (n == 6 && !strncasecmp(header, "cookie", n)) || contains_ci(header, n, "token") ||
	    contains_ci(header, n, "secret") || contains_ci(header, n, "key")) {
		put(&o, header, (size_t)(colon + 1 - header));
		put(&o, " ***", 4);
	} else {
		put(&o, header, strlen(header));
	}
	return o.truncated ? -1 : 0;
}
