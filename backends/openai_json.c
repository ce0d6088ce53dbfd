/* openai_json.c: request bodies and response parsing of the OpenAI-compatible API (see
 * openai_json.h). Bodies are written straight into a strbuf; responses are read with cJSON. */
#include "openai_json.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <string.h>

int oai_api_parse(const char *name, enum oai_api *api, struct lb_error *err)
{
	if (!name || !strcmp(name, "completions")) {
		*api = OAI_API_COMPLETIONS;
		return 0;
	}
	if (!strcmp(name, "chat")) {
		*api = OAI_API_CHAT;
		return 0;
	}
	return lb_error_set(err, LB_ERR_USAGE,
			    "unknown api '%s' (expected 'completions' or 'chat')", name);
}

const char *oai_api_path(enum oai_api api)
{
	return api == OAI_API_CHAT ? "/chat/completions" : "/completions";
}

static int body_limit(struct strbuf *out, struct lb_error *err)
{
	return lb_error_set(err, out->max ? LB_ERR_LIMIT : LB_ERR_NOMEM,
			    "cannot build the request body: %s",
			    out->max ? "it exceeds its bound" : "out of memory");
}

static int add_number(struct strbuf *out, const char *key, double v, struct lb_error *err)
{
	if (!isfinite(v))
		return lb_error_set(err, LB_ERR_USAGE, "%s must be a finite number", key);
	return strbuf_addf(out, ",\"%s\":%.15g", key, v) ? body_limit(out, err) : 0;
}

static int add_prompt(struct strbuf *out, enum oai_api api, const struct request *req,
		      struct lb_error *err)
{
	size_t i;
	int rc = 0;

	if (req->prompt_ids && req->n_prompt_ids) {
		if (api != OAI_API_COMPLETIONS)
			return lb_error_set(err, LB_ERR_USAGE,
					    "a prompt of token ids needs api 'completions'");
		rc |= strbuf_adds(out, "\"prompt\":[");
		for (i = 0; i < req->n_prompt_ids && !rc; i++)
			rc |= strbuf_addf(out, "%s%ld", i ? "," : "", (long)req->prompt_ids[i]);
		rc |= strbuf_addch(out, ']');
		return rc ? body_limit(out, err) : 0;
	}
	if (api == OAI_API_CHAT && req->messages_json) {
		const char *m = req->messages_json;

		while (*m == ' ' || *m == '\t' || *m == '\n' || *m == '\r')
			m++;
		if (*m != '[')
			return lb_error_set(err, LB_ERR_USAGE,
					    "chat messages must be a JSON array, not '%.20s'", m);
		rc |= strbuf_adds(out, "\"messages\":");
		rc |= strbuf_adds(out, m);
		return rc ? body_limit(out, err) : 0;
	}
	if (!req->prompt)
		return lb_error_set(err, LB_ERR_USAGE, "request %llu has no prompt",
				    (unsigned long long)req->id);
	if (api == OAI_API_CHAT) {
		rc |= strbuf_adds(out, "\"messages\":[{\"role\":\"user\",\"content\":");
		rc |= strbuf_add_json_str(out, req->prompt, req->prompt_len);
		rc |= strbuf_adds(out, "}]");
	} else {
		rc |= strbuf_adds(out, "\"prompt\":");
		rc |= strbuf_add_json_str(out, req->prompt, req->prompt_len);
	}
	return rc ? body_limit(out, err) : 0;
}

int oai_build_body(struct strbuf *out, enum oai_api api, const char *model, bool stream,
		   const struct request *req, struct lb_error *err)
{
	const struct lb_gen *g = &req->gen;
	size_t i;
	int rc;

	/* the prompt or messages come first: every later member starts with ',' */
	if (strbuf_addch(out, '{'))
		return body_limit(out, err);
	rc = add_prompt(out, api, req, err);
	if (rc)
		return rc;
	if (model &&
	    (strbuf_adds(out, ",\"model\":") || strbuf_add_json_str(out, model, strlen(model))))
		return body_limit(out, err);
	if (g->max_tokens > 0 && strbuf_addf(out, ",\"max_tokens\":%d", g->max_tokens))
		return body_limit(out, err);
	if (g->temperature >= 0 && (rc = add_number(out, "temperature", g->temperature, err)))
		return rc;
	if (g->top_p >= 0 && (rc = add_number(out, "top_p", g->top_p, err)))
		return rc;
	if (g->top_k > 0 && strbuf_addf(out, ",\"top_k\":%d", g->top_k))
		return body_limit(out, err);
	if (g->seed >= 0 && strbuf_addf(out, ",\"seed\":%lld", (long long)g->seed))
		return body_limit(out, err);
	if (g->ignore_eos && strbuf_adds(out, ",\"ignore_eos\":true"))
		return body_limit(out, err);
	if (g->n_stop) {
		rc = strbuf_adds(out, ",\"stop\":[");
		for (i = 0; i < g->n_stop && i < BACKEND_MAX_STOP; i++) {
			const char *s = g->stop[i] ? g->stop[i] : "";

			rc |= (i && strbuf_addch(out, ','));
			rc |= strbuf_add_json_str(out, s, strlen(s));
		}
		rc |= strbuf_addch(out, ']');
		if (rc)
			return body_limit(out, err);
	}
	if (g->logprobs &&
	    strbuf_adds(out, api == OAI_API_CHAT ? ",\"logprobs\":true" : ",\"logprobs\":1"))
		return body_limit(out, err);
	if (stream &&
	    strbuf_adds(out, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"))
		return body_limit(out, err);
	if (!stream && strbuf_adds(out, ",\"stream\":false"))
		return body_limit(out, err);
	if (strbuf_addch(out, '}'))
		return body_limit(out, err);
	return 0;
}

int oai_build_loglik_body(struct strbuf *out, const char *model, const char *text, size_t len,
			  int max_tokens, struct lb_error *err)
{
	int rc = strbuf_addch(out, '{');

	if (model) {
		rc |= strbuf_adds(out, "\"model\":");
		rc |= strbuf_add_json_str(out, model, strlen(model));
		rc |= strbuf_addch(out, ',');
	}
	rc |= strbuf_adds(out, "\"prompt\":");
	rc |= strbuf_add_json_str(out, text, len);
	rc |= strbuf_addf(out,
			  ",\"echo\":true,\"logprobs\":1,\"max_tokens\":%d,"
			  "\"temperature\":0,\"stream\":false}",
			  max_tokens);
	return rc ? body_limit(out, err) : 0;
}

/* Parse a JSON object, rejecting trailing garbage; NULL with err filled on failure. */
static cJSON *parse_object(const char *json, size_t len, const char *what, struct lb_error *err)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	size_t at;

	if (!root) {
		at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
		lb_error_set(err, LB_ERR_PARSE, "malformed JSON in %s near byte %zu of %zu", what,
			     at, len);
		return NULL;
	}
	while (end && end < json + len &&
	       (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end && end < json + len && *end) {
		lb_error_set(err, LB_ERR_PARSE,
			     "malformed JSON in %s: trailing bytes after byte %zu", what,
			     (size_t)(end - json));
		cJSON_Delete(root);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		lb_error_set(err, LB_ERR_PARSE, "malformed JSON in %s: not an object", what);
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* A non-negative integer that fits int32, else -1. */
static int32_t get_count(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 2147483647.0 ||
	    v->valuedouble != floor(v->valuedouble))
		return -1;
	return (int32_t)v->valuedouble;
}

static double get_ms(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
		return -1;
	return v->valuedouble;
}

static const char *get_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int oai_chunk_parse(struct oai_chunk *c, enum oai_api api, const char *json, size_t len,
		    struct lb_error *err)
{
	const cJSON *root, *e, *choices, *ch, *usage, *timings;

	memset(c, 0, sizeof(*c));
	c->usage_prompt = c->usage_completion = -1;
	c->prompt_ms = c->predicted_ms = -1;
	root = parse_object(json, len, "data line", err);
	if (!root)
		return err ? err->code : LB_ERR_PARSE;
	c->root = (void *)root;
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (e && !cJSON_IsNull(e)) {
		c->is_error = true;
		if (cJSON_IsString(e))
			c->error_msg = e->valuestring;
		else if (cJSON_IsObject(e))
			c->error_msg = get_string(e, "message");
		if (!c->error_msg)
			c->error_msg = "error object without a message";
		return 0;
	}
	choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	ch = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	if (cJSON_IsObject(ch)) {
		const cJSON *t = NULL;

		c->has_choice = true;
		if (api == OAI_API_CHAT) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(ch, "delta");

			if (!cJSON_IsObject(m))
				m = cJSON_GetObjectItemCaseSensitive(ch, "message");
			if (cJSON_IsObject(m))
				t = cJSON_GetObjectItemCaseSensitive(m, "content");
		} else {
			t = cJSON_GetObjectItemCaseSensitive(ch, "text");
		}
		if (cJSON_IsString(t)) {
			c->text = t->valuestring;
			c->text_len = strlen(t->valuestring);
		}
		c->finish_reason = get_string(ch, "finish_reason");
	}
	usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	if (cJSON_IsObject(usage)) {
		c->usage_prompt = get_count(usage, "prompt_tokens");
		c->usage_completion = get_count(usage, "completion_tokens");
	}
	timings = cJSON_GetObjectItemCaseSensitive(root, "timings");
	if (cJSON_IsObject(timings)) {
		c->prompt_ms = get_ms(timings, "prompt_ms");
		c->predicted_ms = get_ms(timings, "predicted_ms");
	}
	return 0;
}

void oai_chunk_release(struct oai_chunk *c)
{
	if (!c)
		return;
	cJSON_Delete(c->root);
	c->root = NULL;
	c->text = c->finish_reason = c->error_msg = NULL;
}

/* Characters (Unicode code points; each byte of invalid UTF-8 counts as one, as a decoder with
 * replacement does) in s[0..n). */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* Byte length of the character starting at s[0] (1 for a byte that starts none). */
static size_t utf8_step(const char *s, size_t left)
{
	unsigned char b = (unsigned char)s[0];
	size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1, i;

	if (n > left)
		return 1;
	for (i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			return 1;
	return n;
}

/* Which unit text_offset counts in. The OpenAI API and vLLM report characters (Python string
 * indices); a server that reports bytes is recognised when logprobs.tokens is there and the
 * offsets step by the tokens' byte lengths but not by their character lengths. Pure ASCII: the
 * same either way. */
static bool offsets_in_bytes(const cJSON *offs, const cJSON *tokens, int n)
{
	bool by_chars = true, by_bytes = true, differ = false;
	int i;

	if (!cJSON_IsArray(tokens) || cJSON_GetArraySize(tokens) != n)
		return false;
	for (i = 0; i + 1 < n && (by_chars || by_bytes); i++) {
		const cJSON *t = cJSON_GetArrayItem(tokens, i);
		double step = cJSON_GetArrayItem(offs, i + 1)->valuedouble -
			      cJSON_GetArrayItem(offs, i)->valuedouble;
		size_t nb, nc;

		if (!cJSON_IsString(t))
			return false;
		nb = strlen(t->valuestring);
		nc = utf8_chars(t->valuestring, nb);
		differ |= nb != nc;
		by_chars &= step == (double)nc;
		by_bytes &= step == (double)nb;
	}
	return differ && by_bytes && !by_chars;
}

int oai_loglik_parse(const char *json, size_t len, const char *text, size_t text_len,
		     size_t cont_start, struct loglik_result *out, struct lb_error *err)
{
	cJSON *root;
	const cJSON *ch, *lp, *toklp, *offs, *top, *t;
	const char *echoed;
	size_t echoed_len, ci = 0, bi = 0;
	int n, i, rc = 0;
	double sum = 0, prev = -1;
	int32_t ntok = 0;
	bool greedy = true, bytes;

	memset(out, 0, sizeof(*out));
	root = parse_object(json, len, "log-probability response", err);
	if (!root)
		return err ? err->code : LB_ERR_PARSE;
	t = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (t && !cJSON_IsNull(t)) {
		const char *m = cJSON_IsString(t) ? t->valuestring : get_string(t, "message");

		rc = lb_error_set(err, LB_ERR_UNSUPPORTED, "server error: %.200s",
				  m ? m : "error object without a message");
		goto out;
	}
	ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
	lp = ch ? cJSON_GetObjectItemCaseSensitive(ch, "logprobs") : NULL;
	toklp = lp ? cJSON_GetObjectItemCaseSensitive(lp, "token_logprobs") : NULL;
	offs = lp ? cJSON_GetObjectItemCaseSensitive(lp, "text_offset") : NULL;
	top = lp ? cJSON_GetObjectItemCaseSensitive(lp, "top_logprobs") : NULL;
	echoed = ch ? get_string(ch, "text") : NULL;
	if (!cJSON_IsArray(toklp) || !cJSON_IsArray(offs)) {
		rc = lb_error_set(err, LB_ERR_UNSUPPORTED,
				  "no logprobs.token_logprobs/text_offset in the response");
		goto out;
	}
	echoed_len = echoed ? strlen(echoed) : 0;
	if (!echoed || echoed_len < text_len || memcmp(echoed, text, text_len)) {
		rc = lb_error_set(err, LB_ERR_UNSUPPORTED,
				  "the response text does not echo the prompt");
		goto out;
	}
	n = cJSON_GetArraySize(toklp);
	if (n < 1 || cJSON_GetArraySize(offs) != n) {
		rc = lb_error_set(err, LB_ERR_UNSUPPORTED,
				  "logprobs.token_logprobs and text_offset differ in length");
		goto out;
	}
	for (i = 0; i < n; i++) {
		const cJSON *o = cJSON_GetArrayItem(offs, i);

		if (!cJSON_IsNumber(o) || !(o->valuedouble >= prev) ||
		    o->valuedouble != floor(o->valuedouble) || o->valuedouble > 1e15) {
			rc = lb_error_set(err, LB_ERR_UNSUPPORTED,
					  "logprobs.text_offset[%d] is not a non-decreasing offset",
					  i);
			goto out;
		}
		prev = o->valuedouble;
	}
	bytes = offsets_in_bytes(offs, cJSON_GetObjectItemCaseSensitive(lp, "tokens"), n);
	if (!cJSON_IsArray(top) || cJSON_GetArraySize(top) != n)
		top = NULL;
	for (i = 0; i < n; i++) {
		const cJSON *l = cJSON_GetArrayItem(toklp, i);
		double off = cJSON_GetArrayItem(offs, i)->valuedouble;

		if (i == 0 && off != 0) {
			rc = lb_error_set(
				err, LB_ERR_UNSUPPORTED,
				"prompt log-probabilities do not start at the text's start");
			goto out;
		}
		/* the token's byte offset in the echoed text */
		if (bytes) {
			bi = (size_t)off;
		} else {
			while ((double)ci < off && bi < echoed_len) {
				bi += utf8_step(echoed + bi, echoed_len - bi);
				ci++;
			}
			if ((double)ci < off) {
				rc = lb_error_set(err, LB_ERR_UNSUPPORTED,
						  "logprobs.text_offset[%d] = %.0f is past the %zu "
						  "characters of the echoed text",
						  i, off, ci);
				goto out;
			}
		}
		if (bi >= text_len)
			break; /* generated tokens (max_tokens 1) */
		if (bi < cont_start)
			continue;
		if (!cJSON_IsNumber(l) || !isfinite(l->valuedouble)) {
			rc = lb_error_set(err, LB_ERR_UNSUPPORTED,
					  "no log-probability for continuation token %d", i);
			goto out;
		}
		sum += l->valuedouble;
		ntok++;
		if (top) {
			const cJSON *alt, *d = cJSON_GetArrayItem(top, i);
			double best = -INFINITY;

			cJSON_ArrayForEach(alt,
					   d) if (cJSON_IsNumber(alt) && alt->valuedouble > best)
				best = alt->valuedouble;
			if (l->valuedouble < best - 1e-6)
				greedy = false;
		}
	}
	if (!ntok && cont_start < text_len) {
		rc = lb_error_set(err, LB_ERR_UNSUPPORTED,
				  "no prompt token starts inside the continuation");
		goto out;
	}
	out->sum_logprob = sum;
	out->n_tokens = ntok;
	out->n_bytes = text_len - cont_start;
	out->greedy = top ? greedy : false;
out:
	cJSON_Delete(root);
	return rc;
}
