/* sim_int.h: internals shared by sim.c (event loop, schedule, output) and sim_http.c
 * (request parsing, the answers file). Not an interface for anything else. */
#ifndef LB_SIM_INT_H
#define LB_SIM_INT_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_ID_MAX 128	      /* request ids longer than this are cut in the log */
#define SIM_MODEL_MAX 128     /* echoed model names longer than this are cut */
#define SIM_HEAD_MAX 65536    /* request line + headers */

enum sim_api { SIM_API_NONE, SIM_API_COMPLETIONS, SIM_API_CHAT, SIM_API_MODELS, SIM_API_HEALTH };

/* The request line and the headers the sim cares about. */
struct sim_head {
	char method[8];
	enum sim_api api;	/* SIM_API_NONE: unknown path */
	long long content_length; /* -1: absent */
	bool http11;		/* else HTTP/1.0: no chunked responses */
	bool keep_alive;
	bool expect_continue;
	bool chunked;		/* Transfer-Encoding present: unsupported */
	char request_id[SIM_ID_MAX + 1]; /* "" when absent; spaces and controls become '_' */
	char fault[40];		/* X-LLMBench-Fault, "" when absent */
};

/* Parse the head at buf[0..len). Returns the head's length (through the blank line) when
 * complete, 0 when more bytes are needed, or -status (-400, -431, -505) when malformed. */
long sim_head_parse(const char *buf, size_t len, struct sim_head *h);

/* One answer of --answers: the output when a prompt contains match. */
struct sim_answer {
	char *match;
	char **words;	/* each with its leading space, JSON-escaped without quotes */
	size_t n_words;
};

struct sim_answers {
	struct sim_answer *v;
	size_t n;
};

/* Load a JSONL answers file; errors name path:line. */
int sim_answers_load(struct sim_answers *a, const char *path, struct lb_error *err);
void sim_answers_free(struct sim_answers *a);

/* What the sim needs from a completion request body. */
struct sim_body {
	bool stream;
	bool include_usage;
	long max_tokens;	/* 0: not given */
	long prompt_tokens;	/* the sim's tokenizer: whitespace-separated words, or ids */
	const struct sim_answer *answer; /* NULL: generate words */
	char model[SIM_MODEL_MAX + 1];	 /* "" when absent */
};

/* Parse a completions or chat body; on failure returns -1 with a message for a 400. */
int sim_body_parse(const char *body, size_t len, enum sim_api api, const struct sim_answers *ans,
		   struct sim_body *out, char *msg, size_t msg_len);

/* Prompt log-probabilities (sim_logprobs.c): whether a completions body asks for "echo": true,
 * and the vLLM-style answer to it in out (text_offset in characters; a token is a word with
 * the white space before it, log-probability -(0.5 + 0.25 x its characters), the first one
 * null; max_tokens (at most 4) generated tokens " the" at -1). -1 with a message for a 400. */
struct strbuf;
bool sim_echo_asked(const char *body, size_t len);
int sim_echo_reply(const char *body, size_t len, struct strbuf *out, char *msg, size_t msg_len);

/* Number of whitespace-separated words in s[0..len). */
long sim_count_words(const char *s, size_t len);

#endif
