/* sim_logprobs.c: the simulator's prompt log-probabilities: /v1/completions with "echo": true
 * and "logprobs" answered as vLLM answers them (text_offset in characters, the first prompt
 * token's log-probability null), so that multiple choice over HTTP is tested end to end. */
#include "sim_int.h"

#include "../base/strbuf.h"

#include <cjson/cJSON.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_ECHO_TEXT_MAX (1u << 20)

bool sim_echo_asked(const char *body, size_t len)
{
	cJSON *j;
	bool echo;

	if (!memmem(body, len, "\"echo\"", 6))
		return false; /* most requests: no parse */
	j = cJSON_ParseWithLength(body, len);
	echo = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "echo"));

	cJSON_Delete(j);
	return echo;
}

static size_t chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* Add a token of text[from..to) at character offset off; lp < 0: its log-probability, else
 * null (the first prompt token). */
static void add_token(cJSON *toks, cJSON *lps, cJSON *tops, cJSON *offs, const char *text,
		      size_t from, size_t to, size_t off, double lp)
{
	struct strbuf tb = STRBUF_INIT;
	const char *t;
	cJSON *top;

	strbuf_add(&tb, text + from, to - from);
	t = tb.buf ? tb.buf : "";
	cJSON_AddItemToArray(toks, cJSON_CreateString(t));
	cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
	if (lp >= 0) {
		cJSON_AddItemToArray(lps, cJSON_CreateNull());
		cJSON_AddItemToArray(tops, cJSON_CreateNull());
	} else {
		cJSON_AddItemToArray(lps, cJSON_CreateNumber(lp));
		top = cJSON_CreateObject();
		cJSON_AddNumberToObject(top, t, lp);
		cJSON_AddItemToArray(tops, top);
	}
	strbuf_release(&tb);
}

int sim_echo_reply(const char *body, size_t len, struct strbuf *out, char *msg, size_t msg_len)
{
	cJSON *j = cJSON_ParseWithLength(body, len), *r = NULL, *ch, *lp, *toks, *lps, *tops, *offs;
	cJSON *o;
	const cJSON *p, *v;
	const char *text;
	struct strbuf all = STRBUF_INIT;
	size_t n, i, start, n_prompt = 0;
	long gen = 16, k;
	char *js = NULL;
	int rc = -1;

	p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
	if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1)
		p = cJSON_GetArrayItem(p, 0);
	if (!cJSON_IsString(p) || strlen(p->valuestring) > SIM_ECHO_TEXT_MAX) {
		snprintf(msg, msg_len,
			 "echo needs 'prompt' as a string (or an array of one string)");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "logprobs");
	if (!cJSON_IsNumber(v) || v->valuedouble < 0) {
		snprintf(msg, msg_len, "echo without 'logprobs' (a number) is not supported");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "max_tokens");
	if (cJSON_IsNumber(v))
		gen = v->valuedouble < 0 ? 0 : v->valuedouble > 4 ? 4 : (long)v->valuedouble;
	/* the echoed text: the prompt, then `gen` generated tokens " the" */
	text = p->valuestring;
	strbuf_adds(&all, text);
	for (k = 0; k < gen; k++)
		strbuf_adds(&all, " the");
	n = all.len;
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "id", "sim-echo");
	cJSON_AddStringToObject(r, "object", "text_completion");
	ch = cJSON_AddArrayToObject(r, "choices");
	o = cJSON_CreateObject();
	cJSON_AddItemToArray(ch, o);
	cJSON_AddNumberToObject(o, "index", 0);
	cJSON_AddStringToObject(o, "text", all.buf ? all.buf : "");
	lp = cJSON_AddObjectToObject(o, "logprobs");
	toks = cJSON_AddArrayToObject(lp, "tokens");
	lps = cJSON_AddArrayToObject(lp, "token_logprobs");
	tops = cJSON_AddArrayToObject(lp, "top_logprobs");
	offs = cJSON_AddArrayToObject(lp, "text_offset");
	cJSON_AddStringToObject(o, "finish_reason", "length");
	/* tokens: a word with the white space before it; log-probability of a prompt token
	 * -(0.5 + 0.25 x its characters), of a generated one -1; offsets in characters */
	for (start = 0, i = 0; start < n; start = i) {
		while (i < n && isspace((unsigned char)all.buf[i]))
			i++;
		while (i < n && !isspace((unsigned char)all.buf[i]))
			i++;
		add_token(toks, lps, tops, offs, all.buf, start, i, chars(all.buf, start),
			  start == 0 ? 1.0
			  : start < strlen(text)
				  ? -(0.5 + 0.25 * (double)chars(all.buf + start, i - start))
				  : -1.0);
		n_prompt += start < strlen(text);
	}
	o = cJSON_AddObjectToObject(r, "usage");
	cJSON_AddNumberToObject(o, "prompt_tokens", (double)n_prompt);
	cJSON_AddNumberToObject(o, "completion_tokens", (double)gen);
	cJSON_AddNumberToObject(o, "total_tokens", (double)n_prompt + (double)gen);
	js = cJSON_PrintUnformatted(r);
	if (!js || strbuf_adds(out, js)) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(js);
	cJSON_Delete(r);
	cJSON_Delete(j);
	strbuf_release(&all);
	return rc;
}
