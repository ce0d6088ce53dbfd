/* sessions.h: multi-turn conversations for load modes "sessions" and "session_rate"
 * (docs/traffic.md#multi-turn-sessions). A conversation is an optional system prompt and the
 * user's turns; the model's replies are not part of it: the harness sends the replies the model
 * really gave. Sources:
 *   - ShareGPT multi-turn: {"id", "conversations": [{"from": "human"|"gpt"|"system", "value"}]}
 *     as a JSON array (.json) or one object per line (.jsonl);
 *   - the OpenAI shape: {"messages": [{"role": "system"|"user"|"assistant", "content"}]};
 *   - a spec (.json object): {"file": F, "think_ms": T} for a file above with a think time, or
 *     a generator {"sessions", "turns", "user_tokens", "output_tokens", "system_tokens",
 *     "think_ms", "seed"} (numbers, or [min, max] ranges drawn uniformly).
 * Every error names file:line (the line where the conversation begins). */
#ifndef LB_SESSIONS_H
#define LB_SESSIONS_H

#include "../base/error.h"

#include <stddef.h>
#include <stdint.h>

#define SESSIONS_MAX_TURNS 1000 /* user turns in one conversation */

struct lb_turn {
	char *user;      /* owned, never empty */
	int max_tokens;  /* the reply's length (generator), 0: the workload's max_tokens */
	double think_ms; /* wait from the previous reply's end to this turn's send (turn 1: 0) */
};

struct lb_conv {
	char *id;     /* owned: the file's id, else the line number (generator: the index) */
	char *system; /* owned, NULL when none */
	struct lb_turn *turns;
	size_t n_turns;
	long line; /* 1-based line where it begins (0: generated) */
};

struct lb_sessions {
	struct lb_conv *v;
	size_t n, cap;
	size_t model_turns; /* model replies in the file, not sent (the model's own are) */
};

/* Load path (a conversations file or a spec), at most limit conversations (<= 0: all). */
int sessions_load(const char *path, long limit, struct lb_sessions *out, struct lb_error *err);
/* Conversations from text in memory (a JSON array, JSONL or a spec without "file"); path is
 * for messages. For the fuzz target and tests. */
int sessions_parse(const char *text, size_t len, const char *path, long limit,
		   struct lb_sessions *out, struct lb_error *err);
void sessions_free(struct lb_sessions *s);
/* Keep conversation i only where i mod n == k (a shard's part of a split load, in order). */
void sessions_partition(struct lb_sessions *s, size_t k, size_t n);
/* Total user turns. */
size_t sessions_turns(const struct lb_sessions *s);

#endif
