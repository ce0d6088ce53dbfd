/* sim_http.c: the simulator's request parsing (HTTP/1.x head, completion bodies) and its
 * answers file. Pure functions over buffers; the event loop lives in sim.c. */
#include "sim_int.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

long sim_count_words(const char *s, size_t len)
{
	long n = 0;
	bool in = false;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool space = c == ' ' || (c >= '\t' && c <= '\r'); /* \t \n \v \f \r */

		if (!space && !in)
			n++;
		in = !space;
	}
	return n;
}

static bool span_eq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && !memcmp(p, lit, n);
}

static bool span_ieq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(p, lit, n);
}

static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

static enum sim_api path_api(const char *p, size_t n)
{
	const char *q = memchr(p, '?', n);

	if (q)
		n = (size_t)(q - p);
	if (n > 3 && !memcmp(p, "/v1", 3)) {
		p += 3;
		n -= 3;
	}
	if (span_eq(p, n, "/completions"))
		return SIM_API_COMPLETIONS;
	if (span_eq(p, n, "/chat/completions"))
		return SIM_API_CHAT;
	if (span_eq(p, n, "/models"))
		return SIM_API_MODELS;
	if (span_eq(p, n, "/health"))
		return SIM_API_HEALTH;
	if (span_eq(p, n, "/metrics"))
		return SIM_API_METRICS;
	return SIM_API_NONE;
}

/* Copy a value for the log or a JSON string: printable ASCII without spaces, quotes or
 * backslashes (each becomes '_'), bounded. */
static void copy_token(char *dst, size_t cap, const char *v, size_t n)
{
	size_t i;

	if (n > cap - 1)
		n = cap - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		dst[i] = (c <= ' ' || c >= 0x7f || c == '"' || c == '\\') ? '_' : (char)c;
	}
	dst[n] = 0;
}

static int parse_request_line(const char *p, size_t n, struct sim_head *h)
{
	const char *sp1 = memchr(p, ' ', n), *sp2, *ver;
	size_t vn;

	if (!sp1 || sp1 == p || (size_t)(sp1 - p) >= sizeof(h->method))
		return -400;
	memcpy(h->method, p, (size_t)(sp1 - p));
	h->method[sp1 - p] = 0;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p));
	if (!sp2 || sp2 == sp1 + 1)
		return -400;
	ver = sp2 + 1;
	vn = n - (size_t)(ver - p);
	if (span_eq(ver, vn, "HTTP/1.1"))
		h->keep_alive = h->http11 = true;
	else if (span_eq(ver, vn, "HTTP/1.0"))
		h->keep_alive = false;
	else if (vn > 5 && !memcmp(ver, "HTTP/", 5))
		return -505;
	else
		return -400;
	h->api = path_api(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	return 0;
}

static int parse_header(const char *p, size_t n, struct sim_head *h)
{
	const char *colon = memchr(p, ':', n), *v;
	size_t name_len, vn, i;

	if (!colon || colon == p)
		return -400;
	name_len = (size_t)(colon - p);
	v = colon + 1;
	vn = n - name_len - 1;
	trim(&v, &vn);
	if (span_ieq(p, name_len, "content-length")) {
		long long cl = 0;

		if (!vn || vn > 18)
			return -400;
		for (i = 0; i < vn; i++) {
			if (!isdigit((unsigned char)v[i]))
				return -400;
			cl = cl * 10 + (v[i] - '0');
		}
		if (h->content_length >= 0 && h->content_length != cl)
			return -400;
		h->content_length = cl;
	} else if (span_ieq(p, name_len, "connection")) {
		/* a token list: "close", "keep-alive", "Upgrade" ... */
		while (vn) {
			const char *comma = memchr(v, ',', vn);
			size_t tn = comma ? (size_t)(comma - v) : vn;
			const char *t = v;
			size_t tl = tn;

			trim(&t, &tl);
			if (span_ieq(t, tl, "close"))
				h->keep_alive = false;
			else if (span_ieq(t, tl, "keep-alive"))
				h->keep_alive = true;
			if (!comma)
				break;
			v = comma + 1;
			vn -= tn + 1;
		}
	} else if (span_ieq(p, name_len, "expect")) {
		if (span_ieq(v, vn, "100-continue"))
			h->expect_continue = true;
	} else if (span_ieq(p, name_len, "transfer-encoding")) {
		h->chunked = true;
	} else if (span_ieq(p, name_len, "x-llmbench-request-id")) {
		copy_token(h->request_id, sizeof(h->request_id), v, vn);
	} else if (span_ieq(p, name_len, "x-llmbench-fault")) {
		copy_token(h->fault, sizeof(h->fault), v, vn);
	}
	return 0;
}

long sim_head_parse(const char *buf, size_t len, struct sim_head *h)
{
	size_t pos = 0, lines = 0;
	int rc;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	/* Tolerate empty lines before the request line (RFC 9112 2.2). */
	while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	for (;;) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n;

		if (!nl)
			return len > SIM_HEAD_MAX ? -431 : 0;
		n = (size_t)(nl - line);
		if (n && line[n - 1] == '\r')
			n--;
		pos = (size_t)(nl - buf) + 1;
		if (pos > SIM_HEAD_MAX)
			return -431;
		if (!n) {
			if (!lines)
				return -400;
			return (long)pos;
		}
		if (!lines++)
			rc = parse_request_line(line, n, h);
		else
			rc = parse_header(line, n, h);
		if (rc)
			return rc;
	}
}

/* Answers file */

static int add_words(struct sim_answer *a, const char *text)
{
	const char *p = text;
	size_t cap = 0;

	for (;;) {
		struct strbuf sb = STRBUF_INIT;
		const char *start;
		size_t n, out_len;
		char *esc;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			return 0;
		start = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		n = (size_t)(p - start);
		/* " word" as a JSON string, then without its quotes */
		if (strbuf_addch(&sb, ' ') || strbuf_add(&sb, start, n))
			goto oom;
		{
			struct strbuf js = STRBUF_INIT;

			if (strbuf_add_json_str(&js, sb.buf, sb.len)) {
				strbuf_release(&js);
				goto oom;
			}
			esc = strbuf_detach(&js, &out_len);
			memmove(esc, esc + 1, out_len - 2);
			esc[out_len - 2] = 0;
		}
		strbuf_release(&sb);
		if (a->n_words == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char **nw = lb_realloc(a->words, ncap * sizeof(*nw));

			if (!nw) {
				lb_free(esc);
				return -1;
			}
			a->words = nw;
			cap = ncap;
		}
		a->words[a->n_words++] = esc;
		continue;
	oom:
		strbuf_release(&sb);
		return -1;
	}
}

void sim_answers_free(struct sim_answers *a)
{
	size_t i, j;

	for (i = 0; i < a->n; i++) {
		lb_free(a->v[i].match);
		for (j = 0; j < a->v[i].n_words; j++)
			lb_free(a->v[i].words[j]);
		lb_free(a->v[i].words);
	}
	lb_free(a->v);
	a->v = NULL;
	a->n = 0;
}

int sim_answers_load(struct sim_answers *a, const char *path, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	size_t cap = 0, lineno = 0;
	char *line, *next;
	int rc = 0;

	a->v = NULL;
	a->n = 0;
	if (strbuf_read_file(&sb, path, 64u << 20, err)) {
		if (err && err->code == LB_ERR_IO)
			err->code = LB_ERR_USAGE; /* a path the user gave: exit 2 */
		return err ? err->code : LB_ERR_USAGE;
	}
	for (line = sb.buf; line && *line; line = next) {
		cJSON *j;
		const cJSON *m, *ans;
		struct sim_answer *sa;
		size_t n;

		next = strchr(line, '\n');
		n = next ? (size_t)(next - line) : strlen(line);
		if (next)
			next++;
		lineno++;
		if (!sim_count_words(line, n))
			continue;
		j = cJSON_ParseWithLength(line, n);
		m = cJSON_GetObjectItemCaseSensitive(j, "match");
		ans = cJSON_GetObjectItemCaseSensitive(j, "answer");
		if (!j || !cJSON_IsObject(j) || !cJSON_IsString(m) || !cJSON_IsString(ans) ||
		    !m->valuestring[0]) {
			rc = lb_error_set(err, LB_ERR_PARSE,
					  "%s:%zu: expected a JSON object with a non-empty string "
					  "\"match\" and a string \"answer\"",
					  path, lineno);
			cJSON_Delete(j);
			goto out;
		}
		if (a->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct sim_answer *nv = lb_realloc(a->v, ncap * sizeof(*nv));

			if (!nv)
				goto oom_j;
			a->v = nv;
			cap = ncap;
		}
		sa = &a->v[a->n];
		memset(sa, 0, sizeof(*sa));
		sa->match = lb_strdup(m->valuestring);
		a->n++;
		if (!sa->match || add_words(sa, ans->valuestring))
			goto oom_j;
		cJSON_Delete(j);
		continue;
	oom_j:
		cJSON_Delete(j);
		rc = lb_error_set(err, LB_ERR_NOMEM, "%s:%zu: out of memory", path, lineno);
		goto out;
	}
out:
	strbuf_release(&sb);
	if (rc)
		sim_answers_free(a);
	return rc;
}

/* Request bodies */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void blocks_token(struct sim_blocks *bl, uint64_t tok)
{
	bl->acc = mix64(bl->acc ^ tok) + 0x9e3779b97f4a7c15ull;
	if (++bl->in_block < bl->block_tokens)
		return;
	bl->prev = mix64(bl->prev ^ bl->acc ^ 0x5851f42d4c957f2dull);
	if (bl->n < bl->cap)
		bl->hash[bl->n++] = bl->prev;
	bl->acc = 0;
	bl->in_block = 0;
}

/* Feed the whitespace-separated words of s[0..len) as tokens (the tokenizer of
 * sim_count_words). */
static void blocks_words(struct sim_blocks *bl, const char *s, size_t len)
{
	size_t i = 0;

	if (!bl)
		return;
	while (i < len) {
		uint64_t h = 0xcbf29ce484222325ull;
		size_t j;

		while (i < len && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
			i++;
		if (i >= len)
			break;
		for (j = i; j < len && !(s[j] == ' ' || (s[j] >= '\t' && s[j] <= '\r')); j++)
			h = (h ^ (unsigned char)s[j]) * 0x100000001b3ull;
		blocks_token(bl, h);
		i = j;
	}
}

static const struct sim_answer *find_answer(const struct sim_answers *ans, const char *text)
{
	size_t i;

	if (!ans || !text)
		return NULL;
	for (i = 0; i < ans->n; i++)
		if (strstr(text, ans->v[i].match))
			return &ans->v[i];
	return NULL;
}

/* Text of a chat message's content: a string, or an array of {"type":"text","text":...}. */
static int content_text(const cJSON *content, struct strbuf *out, char *msg, size_t msg_len)
{
	const cJSON *part;

	if (!content || cJSON_IsNull(content))
		return 0;
	if (cJSON_IsString(content))
		return strbuf_adds(out, content->valuestring);
	if (!cJSON_IsArray(content)) {
		snprintf(msg, msg_len, "'content' must be a string or an array of parts");
		return -1;
	}
	cJSON_ArrayForEach(part, content)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");

		if (cJSON_IsString(t) &&
		    (strbuf_adds(out, t->valuestring) || strbuf_addch(out, ' '))) {
			snprintf(msg, msg_len, "out of memory");
			return -1;
		}
	}
	return 0;
}

static int parse_chat(const cJSON *j, const struct sim_answers *ans, struct sim_body *out,
		      char *msg, size_t msg_len, struct sim_blocks *bl)
{
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages"), *m;
	struct strbuf all = STRBUF_INIT, last_user = STRBUF_INIT;
	int rc = -1;

	if (!cJSON_IsArray(msgs) || !cJSON_GetArraySize(msgs)) {
		snprintf(msg, msg_len, "'messages' must be a non-empty array");
		return -1;
	}
	cJSON_ArrayForEach(m, msgs)
	{
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
		size_t before = all.len;

		if (!cJSON_IsObject(m) || !cJSON_IsString(role)) {
			snprintf(msg, msg_len,
				 "each message must be an object with a string 'role'");
			goto out;
		}
		if (content_text(content, &all, msg, msg_len))
			goto out;
		if (strbuf_addch(&all, ' '))
			goto out;
		if (!strcmp(role->valuestring, "user")) {
			strbuf_reset(&last_user);
			if (strbuf_add(&last_user, all.buf + before, all.len - before))
				goto out;
		}
	}
	out->prompt_tokens = sim_count_words(all.buf, all.len);
	blocks_words(bl, all.buf, all.len);
	out->answer = find_answer(ans, last_user.len ? last_user.buf : NULL);
	rc = 0;
out:
	strbuf_release(&all);
	strbuf_release(&last_user);
	return rc;
}

#define SIM_MAX_TOKEN_ID 2147483647.0 /* token ids: what an int32 vocabulary index holds */

static int parse_prompt(const cJSON *j, const struct sim_answers *ans, struct sim_body *out,
			char *msg, size_t msg_len, struct sim_blocks *bl)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "prompt"), *e;
	long n_num = 0, n_other = 0;

	if (cJSON_IsString(p)) {
		out->prompt_tokens = sim_count_words(p->valuestring, strlen(p->valuestring));
		blocks_words(bl, p->valuestring, strlen(p->valuestring));
		out->answer = find_answer(ans, p->valuestring);
		return 0;
	}
	if (cJSON_IsArray(p)) {
		cJSON_ArrayForEach(e, p)
		{
			if (!cJSON_IsNumber(e)) {
				n_other++;
				continue;
			}
			/* a token id: a whole number a vocabulary can hold (fuzz_sim_http found a
			 * 1e300 converted to an integer) */
			if (!(e->valuedouble >= 0 && e->valuedouble <= SIM_MAX_TOKEN_ID) ||
			    e->valuedouble != floor(e->valuedouble)) {
				snprintf(msg, msg_len,
					 "'prompt': token ids must be whole numbers from 0 to %ld",
					 (long)SIM_MAX_TOKEN_ID);
				return -1;
			}
			n_num++;
		}
		if (!n_other) {
			out->prompt_tokens = n_num;
			if (bl)
				cJSON_ArrayForEach(e, p)
					blocks_token(bl, (uint64_t)e->valuedouble * 2 + 1);
			return 0;
		}
		e = cJSON_GetArrayItem(p, 0);
		if (!n_num && n_other == 1 && cJSON_IsString(e)) {
			out->prompt_tokens =
				sim_count_words(e->valuestring, strlen(e->valuestring));
			blocks_words(bl, e->valuestring, strlen(e->valuestring));
			out->answer = find_answer(ans, e->valuestring);
			return 0;
		}
	}
	snprintf(msg, msg_len,
		 "'prompt' must be a string, an array of one string or an array of token ids");
	return -1;
}

int sim_body_parse(const char *body, size_t len, enum sim_api api, const struct sim_answers *ans,
		   struct sim_body *out, char *msg, size_t msg_len)
{
	return sim_body_parse_blocks(body, len, api, ans, out, msg, msg_len, NULL);
}

int sim_body_parse_blocks(const char *body, size_t len, enum sim_api api,
			  const struct sim_answers *ans, struct sim_body *out, char *msg,
			  size_t msg_len, struct sim_blocks *bl)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *v, *so;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (bl) {
		bl->n = 0;
		bl->prev = bl->acc = 0;
		bl->in_block = 0;
		if (bl->block_tokens < 1)
			bl->block_tokens = 1;
	}
	if (!cJSON_IsObject(j)) {
		snprintf(msg, msg_len, "the request body is not a JSON object");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "stream");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v)) {
			snprintf(msg, msg_len, "'stream' must be a boolean");
			goto out;
		}
		out->stream = cJSON_IsTrue(v);
	}
	so = cJSON_GetObjectItemCaseSensitive(j, "stream_options");
	v = cJSON_GetObjectItemCaseSensitive(so, "include_usage");
	out->include_usage = cJSON_IsTrue(v);
	v = cJSON_GetObjectItemCaseSensitive(j, "max_tokens");
	if (!v || cJSON_IsNull(v))
		v = cJSON_GetObjectItemCaseSensitive(j, "max_completion_tokens");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9 ||
		    v->valuedouble != (double)(long)v->valuedouble) {
			snprintf(msg, msg_len, "'max_tokens' must be a whole number >= 1");
			goto out;
		}
		out->max_tokens = (long)v->valuedouble;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "model");
	if (cJSON_IsString(v)) /* echoed into JSON: keep it plain */
		copy_token(out->model, sizeof(out->model), v->valuestring, strlen(v->valuestring));
	if (api == SIM_API_CHAT)
		rc = parse_chat(j, ans, out, msg, msg_len, bl);
	else
		rc = parse_prompt(j, ans, out, msg, msg_len, bl);
out:
	cJSON_Delete(j);
	return rc;
}

/* Responses */

static const char *status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* Send a whole response; the connection stays open when keep_alive. 0, or -1 when c closed. */
int sim_send_response(struct sim *s, struct conn *c, int status, const char *ctype,
		      const char *body, size_t len, const char *extra, bool keep_alive)
{
	char head[512];
	struct iovec iov[2];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nServer: llmbench-sim\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\n%sConnection: %s\r\n\r\n",
		     status, status_text(status), ctype, len, extra ? extra : "",
		     keep_alive ? "keep-alive" : "close");
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)n;
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = len;
	if (sim_conn_writev(s, c, iov, 2))
		return -1;
	if (!keep_alive)
		return sim_conn_closing(s, c);
	return 0;
}

void sim_error_json(struct strbuf *sb, int status, const char *msg)
{
	const char *type = status == 401   ? "authentication_error"
			   : status == 404 ? "not_found_error"
			   : status == 429 ? "rate_limit_error"
			   : status >= 500 ? "server_error"
					   : "invalid_request_error";

	strbuf_adds(sb, "{\"error\":{\"message\":");
	strbuf_add_json_str(sb, msg, strlen(msg));
	strbuf_addf(sb, ",\"type\":\"%s\",\"param\":null,\"code\":%d}}", type, status);
}

int sim_send_error(struct sim *s, struct conn *c, int status, const char *msg, bool keep_alive)
{
	struct strbuf *sb = &s->scratch;

	strbuf_reset(sb);
	sim_error_json(sb, status, msg);
	return sim_send_response(s, c, status, "application/json", sb->buf, sb->len, NULL,
				 keep_alive);
}

/* Send payload as one HTTP chunk (HTTP/1.1) or raw (HTTP/1.0), after head when given, and the
 * last-chunk marker when last. 0, or -1 when c was closed. */
int sim_send_stream(struct sim *s, struct conn *c, const char *head, size_t head_len,
		    const char *payload, size_t len, bool last)
{
	struct iovec iov[5];
	char hex[24];
	int n = 0;

	if (head_len) {
		iov[n].iov_base = (void *)head;
		iov[n++].iov_len = head_len;
	}
	if (c->http11 && len) {
		iov[n].iov_base = hex;
		iov[n++].iov_len = (size_t)snprintf(hex, sizeof(hex), "%zx\r\n", len);
	}
	if (len) {
		iov[n].iov_base = (void *)payload;
		iov[n++].iov_len = len;
		if (c->http11) {
			iov[n].iov_base = (void *)"\r\n";
			iov[n++].iov_len = 2;
		}
	}
	if (last && c->http11) {
		iov[n].iov_base = (void *)"0\r\n\r\n";
		iov[n++].iov_len = 5;
	}
	if (!n)
		return 0;
	return sim_conn_writev(s, c, iov, n);
}
