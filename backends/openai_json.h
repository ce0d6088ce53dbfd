/* openai_json.h: the JSON of the OpenAI-compatible API, as pure functions (no I/O, no clock).
 *
 * Builds request bodies for /completions and /chat/completions, parses one streamed chunk or a
 * whole response, and scores echoed prompt log-probabilities. backends/openai.c does the HTTP;
 * these are unit-tested and fuzzed on their own. */
#ifndef LB_OPENAI_JSON_H
#define LB_OPENAI_JSON_H

#include "../base/error.h"
#include "../base/strbuf.h"
#include "backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum oai_api {
	OAI_API_COMPLETIONS, /* POST <base_url>/completions, choices[0].text */
	OAI_API_CHAT, /* POST <base_url>/chat/completions, choices[0].delta|message.content */
};

/* "completions" or "chat" (NULL means "completions"); LB_ERR_USAGE naming the value otherwise. */
int oai_api_parse(const char *name, enum oai_api *api, struct lb_error *err);
/* The path below base_url: "/completions" or "/chat/completions". This function can't fail. */
const char *oai_api_path(enum oai_api api);

/* Append the JSON body for req to out: model (omitted when model is NULL), prompt (text, or the
 * token-id array when req->prompt_ids is set; completions only) or messages (req->messages_json
 * verbatim, else one user message), max_tokens, and temperature/top_p/top_k/seed only when set
 * (struct lb_gen), ignore_eos only when true, stop when given, logprobs when asked, and
 * `"stream": true, "stream_options": {"include_usage": true}` when stream. On error
 * (LB_ERR_USAGE for a request the API cannot carry, LB_ERR_LIMIT when out's bound is reached)
 * out may hold a partial body. */
int oai_build_body(struct strbuf *out, enum oai_api api, const char *model, bool stream,
		   const struct request *req, struct lb_error *err);

/* Append the body of a prompt-scoring request: /completions with the text as prompt,
 * `echo: true, logprobs: 1, max_tokens: <max_tokens>`, temperature 0, not streamed. */
int oai_build_loglik_body(struct strbuf *out, const char *model, const char *text, size_t len,
			  int max_tokens, struct lb_error *err);

/* What one streamed chunk (or a whole non-streamed response) says. After oai_chunk_parse the
 * strings point into the parse tree the chunk owns (valid until oai_chunk_release); after
 * oai_chunk_scan text points into the input (not NUL-terminated: use text_len; valid while the
 * input is) and finish_reason into fin_buf. */
struct oai_chunk {
	bool has_choice;  /* choices[0] exists */
	const char *text; /* output text of choices[0], NULL when absent or null */
	size_t text_len;
	const char *finish_reason; /* NULL when absent or null */
	int32_t usage_prompt;      /* usage.prompt_tokens, -1 when not given */
	int32_t usage_completion;  /* usage.completion_tokens, -1 when not given */
	double prompt_ms;          /* llama-server timings.prompt_ms, -1 when not given */
	double predicted_ms;       /* llama-server timings.predicted_ms, -1 when not given */
	bool is_error;             /* the object is {"error": ...} */
	const char *error_msg;     /* its message (never NULL when is_error) */
	void *root;                /* owned: the parse tree (NULL after a scan) */
	bool scanned;              /* filled by oai_chunk_scan, not by cJSON */
	char fin_buf[32];          /* finish_reason's bytes after a scan */
};

/* Parse one JSON object of api's response format into c (c need not be initialised). Returns 0
 * (also for an error object: c->is_error), or LB_ERR_PARSE for malformed JSON or a value that is
 * not an object, with err saying where. c must be released either way. */
int oai_chunk_parse(struct oai_chunk *c, enum oai_api api, const char *json, size_t len,
		    struct lb_error *err);
void oai_chunk_release(struct oai_chunk *c);

/* The lean path for streamed chunks (backends/openai_scan.c): one pass over the bytes, no tree,
 * no allocation. Returns 1 when it could decide, with c filled exactly as oai_chunk_parse would
 * fill it (text then points into json); 0 when it is unsure, and the caller must use
 * oai_chunk_parse: malformed input, an escape in the text or finish_reason, any \u escape or
 * escaped key, an error object, a usage or timings object, nesting deeper than 32, a
 * finish_reason of 32 bytes or more. c must be released either way. */
int oai_chunk_scan(struct oai_chunk *c, enum oai_api api, const char *json, size_t len);
/* oai_chunk_scan, and oai_chunk_parse where the scan is unsure. */
int oai_chunk_read(struct oai_chunk *c, enum oai_api api, const char *json, size_t len,
		   struct lb_error *err);

/* Score an echoed prompt: json is a /completions response to oai_build_loglik_body for a text
 * of text_len bytes whose continuation starts at byte cont_start. Checks that choices[0].text
 * starts with the prompt and that logprobs.text_offset/token_logprobs cover it from its start,
 * then sums the log-probabilities of the prompt tokens whose offset lies in
 * [cont_start, text_len). text_offset counts characters (Unicode code points), as the OpenAI API
 * and vLLM report it, and is converted to bytes through the echoed text; offsets that step by
 * the byte lengths of logprobs.tokens (and not by their character lengths) are taken as bytes.
 * (llama-server refuses echo: "Only no echo is supported".)
 * LB_ERR_UNSUPPORTED (err says what was missing) when the response carries no usable prompt
 * log-probabilities; LB_ERR_PARSE for malformed JSON. */
int oai_loglik_parse(const char *json, size_t len, const char *text, size_t text_len,
		     size_t cont_start, struct loglik_result *out, struct lb_error *err);

#endif
