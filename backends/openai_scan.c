/* openai_scan.c: the lean path for streamed chunks (see oai_chunk_scan in openai_json.h).
 *
 * One pass over the bytes of a chunk, building nothing: a strict JSON grammar walker that keeps
 * the first occurrence of the few members a chunk carries (choices[0].text, or delta/message
 * .content for chat, choices[0].finish_reason, and whether error/usage/timings are given) and
 * skips everything else. It answers only for inputs it fully understands: a well-formed object
 * whose needed strings hold no escape and no control byte, with no error, usage or timings
 * object. For anything else (escapes in a needed string, \u anywhere, numbers it would not
 * round-trip, nesting deeper than SCAN_DEPTH, a BOM, whitespace other than the four JSON ones,
 * trailing bytes) it says "unsure" and the caller parses with cJSON, so its grammar is a subset
 * of what cJSON accepts and, where it answers, it answers as oai_chunk_parse does
 * (tests/fuzz/fuzz_openai_scan.c checks that on every input). */
#include "openai_json.h"

#include <string.h>

#define SCAN_DEPTH 32
#define SCAN_NUM_MAX 32 /* cJSON copies at most 63 number bytes; stay well below */

struct scan {
	const char *p, *end;
};

static void ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* Bytes that end the fast run over a string: the quote, a backslash, control bytes. */
#define C8 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char str_stop[256] = { C8, C8, C8, C8, ['"'] = 1, ['\\'] = 1 };
#undef C8

/* A string at s->p (the opening quote). *plain says it held no backslash. -1: unsure. */
static int str(struct scan *s, const char **at, size_t *len, bool *plain)
{
	const char *q = ++s->p;

	*plain = true;
	for (;;) {
		unsigned char c;

		while (q < s->end && !str_stop[(unsigned char)*q])
			q++;
		if (q >= s->end)
			return -1;
		c = (unsigned char)*q;
		if (c == '"') {
			*at = s->p;
			*len = (size_t)(q - s->p);
			s->p = q + 1;
			return 0;
		}
		if (c != '\\')
			return -1; /* cJSON keeps control bytes, and a NUL would cut its copy */
		*plain = false;
		if (q + 1 >= s->end)
			return -1;
		c = (unsigned char)q[1];
		if (!c || !strchr("\"\\/bfnrt", c))
			return -1; /* \u (surrogates) and bad escapes go to cJSON */
		q += 2;
	}
}

static int num(struct scan *s)
{
	const char *q = s->p, *start = s->p;

	if (q < s->end && *q == '-')
		q++;
	if (q >= s->end)
		return -1;
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		while (q < s->end && *q >= '0' && *q <= '9')
			q++;
	else
		return -1;
	if (q < s->end && *q == '.') {
		if (++q >= s->end || *q < '0' || *q > '9')
			return -1;
		while (q < s->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < s->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < s->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= s->end || *q < '0' || *q > '9')
			return -1;
		while (q < s->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q - start > SCAN_NUM_MAX)
		return -1;
	s->p = q;
	return 0;
}

static int lit(struct scan *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n))
		return -1;
	s->p += n;
	return 0;
}

static int skip(struct scan *s, int depth);

/* Between members/elements: ',' goes on (1), the closer ends (0), anything else is unsure. */
static int next(struct scan *s, char close)
{
	ws(s);
	if (s->p >= s->end)
		return -1;
	if (*s->p == close) {
		s->p++;
		return 0;
	}
	if (*s->p != ',')
		return -1;
	s->p++;
	ws(s);
	return s->p < s->end ? 1 : -1;
}

/* The opening of an object or array at s->p: 0 when it is empty (consumed), 1 when members
 * follow (s->p at the first), -1 unsure. */
static int enter(struct scan *s, int depth, char close)
{
	if (depth > SCAN_DEPTH)
		return -1;
	s->p++;
	ws(s);
	if (s->p >= s->end)
		return -1;
	if (*s->p == close) {
		s->p++;
		return 0;
	}
	return 1;
}

/* A member's key and its ':' (s->p then at the value). Escaped keys are unsure: one might
 * spell a wanted name once decoded. */
static int key(struct scan *s, const char **k, size_t *klen)
{
	bool plain;

	if (s->p >= s->end || *s->p != '"' || str(s, k, klen, &plain) || !plain)
		return -1;
	ws(s);
	if (s->p >= s->end || *s->p != ':')
		return -1;
	s->p++;
	ws(s);
	return s->p < s->end ? 0 : -1;
}

static int skip(struct scan *s, int depth)
{
	const char *at, *k;
	size_t len;
	bool plain;
	int r;

	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
		for (r = enter(s, depth, '}'); r > 0; r = next(s, '}'))
			if (key(s, &k, &len) || skip(s, depth + 1))
				return -1;
		return r;
	case '[':
		for (r = enter(s, depth, ']'); r > 0; r = next(s, ']'))
			if (skip(s, depth + 1))
				return -1;
		return r;
	case '"': return str(s, &at, &len, &plain);
	case 'n': return lit(s, "null", 4);
	case 't': return lit(s, "true", 4);
	case 'f': return lit(s, "false", 5);
	default: return num(s);
	}
}

#define KEY(k, n, lit) ((n) == sizeof(lit) - 1 && !memcmp((k), lit, sizeof(lit) - 1))

/* A wanted string member: a plain string is noted (*v, *n), null or another type leaves *v
 * NULL (as cJSON_IsString would), an escaped string is unsure. */
static int want_str(struct scan *s, int depth, const char **v, size_t *n)
{
	bool plain;

	*v = NULL;
	*n = 0;
	if (*s->p != '"')
		return skip(s, depth);
	if (str(s, v, n, &plain) || !plain)
		return -1;
	return 0;
}

/* delta or message (chat): its first "content". *is_obj says it was an object. */
static int msg(struct scan *s, int depth, bool *is_obj, const char **v, size_t *n)
{
	const char *k;
	size_t klen;
	bool seen = false;
	int r;

	*v = NULL;
	*n = 0;
	*is_obj = *s->p == '{';
	if (!*is_obj)
		return skip(s, depth);
	for (r = enter(s, depth, '}'); r > 0; r = next(s, '}')) {
		if (key(s, &k, &klen))
			return -1;
		if (!seen && KEY(k, klen, "content")) {
			seen = true;
			if (want_str(s, depth + 1, v, n))
				return -1;
		} else if (skip(s, depth + 1)) {
			return -1;
		}
	}
	return r;
}

struct found {
	bool choice;
	const char *text, *fin, *dtext, *mtext;
	size_t text_len, fin_len, dlen, mlen;
	bool delta_obj, msg_obj;
};

static int choice(struct scan *s, int depth, enum oai_api api, struct found *f)
{
	const char *k;
	size_t klen;
	bool s_text = false, s_fin = false, s_delta = false, s_msg = false;
	int r;

	f->choice = true;
	for (r = enter(s, depth, '}'); r > 0; r = next(s, '}')) {
		if (key(s, &k, &klen))
			return -1;
		if (api == OAI_API_COMPLETIONS && !s_text && KEY(k, klen, "text")) {
			s_text = true;
			r = want_str(s, depth + 1, &f->text, &f->text_len);
		} else if (!s_fin && KEY(k, klen, "finish_reason")) {
			s_fin = true;
			r = want_str(s, depth + 1, &f->fin, &f->fin_len);
		} else if (api == OAI_API_CHAT && !s_delta && KEY(k, klen, "delta")) {
			s_delta = true;
			r = msg(s, depth + 1, &f->delta_obj, &f->dtext, &f->dlen);
		} else if (api == OAI_API_CHAT && !s_msg && KEY(k, klen, "message")) {
			s_msg = true;
			r = msg(s, depth + 1, &f->msg_obj, &f->mtext, &f->mlen);
		} else {
			r = skip(s, depth + 1);
		}
		if (r)
			return -1;
	}
	return r;
}

static int choices(struct scan *s, int depth, enum oai_api api, struct found *f)
{
	int r, i = 0;

	if (*s->p != '[')
		return skip(s, depth);
	for (r = enter(s, depth, ']'); r > 0; r = next(s, ']'), i++) {
		if (i == 0 && *s->p == '{')
			r = choice(s, depth + 1, api, f);
		else
			r = skip(s, depth + 1);
		if (r)
			return -1;
	}
	return r;
}

int oai_chunk_scan(struct oai_chunk *c, enum oai_api api, const char *json, size_t len)
{
	struct scan s = { json, json + len };
	struct found f = { 0 };
	const char *k;
	size_t klen;
	bool s_err = false, s_choices = false, s_usage = false, s_timings = false;
	int r;

	memset(c, 0, sizeof(*c));
	c->usage_prompt = c->usage_completion = -1;
	c->prompt_ms = c->predicted_ms = -1;
	ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return 0;
	for (r = enter(&s, 1, '}'); r > 0; r = next(&s, '}')) {
		if (key(&s, &k, &klen))
			return 0;
		if (!s_err && KEY(k, klen, "error")) {
			s_err = true;
			if (*s.p != 'n')
				return 0; /* an error object: the full parse reads its message */
			r = skip(&s, 2);
		} else if (!s_choices && KEY(k, klen, "choices")) {
			s_choices = true;
			r = choices(&s, 2, api, &f);
		} else if ((!s_usage && KEY(k, klen, "usage")) ||
			   (!s_timings && KEY(k, klen, "timings"))) {
			if (KEY(k, klen, "usage"))
				s_usage = true;
			else
				s_timings = true;
			if (*s.p == '{')
				return 0; /* the usage chunk: the full parse reads its counts */
			r = skip(&s, 2);
		} else {
			r = skip(&s, 2);
		}
		if (r)
			return 0;
	}
	if (r < 0)
		return 0;
	ws(&s);
	if (s.p != s.end)
		return 0; /* trailing bytes */
	if (f.fin && f.fin_len >= sizeof(c->fin_buf))
		return 0;
	c->has_choice = f.choice;
	if (api == OAI_API_COMPLETIONS) {
		c->text = f.text;
		c->text_len = f.text_len;
	} else if (f.delta_obj) {
		c->text = f.dtext;
		c->text_len = f.dlen;
	} else if (f.msg_obj) {
		c->text = f.mtext;
		c->text_len = f.mlen;
	}
	if (f.fin) {
		memcpy(c->fin_buf, f.fin, f.fin_len);
		c->fin_buf[f.fin_len] = 0;
		c->finish_reason = c->fin_buf;
	}
	c->scanned = true;
	return 1;
}

int oai_chunk_read(struct oai_chunk *c, enum oai_api api, const char *json, size_t len,
		   struct lb_error *err)
{
	if (oai_chunk_scan(c, api, json, len))
		return 0;
	return oai_chunk_parse(c, api, json, len, err);
}
