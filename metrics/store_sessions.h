/* store_sessions.h: the session_turns and session_ends tables (metrics/schema.sql): which
 * session and turn each request of a multi-turn load was, and how each session ended (docs/traffic.md#multi-turn-sessions). */
#ifndef LB_STORE_SESSIONS_H
#define LB_STORE_SESSIONS_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* One row: request req_id of the level was turn `turn` (1-based) of session `session`. */
int store_session_turn_add(struct store *s, int64_t run_id, int64_t level_id, uint64_t req_id,
			   long session, const char *conv, long turn, struct lb_error *err);

/* How a session ended (the session_ends table). */
struct store_session_end {
	long session;     /* 1-based within the level */
	const char *conv; /* the conversation's id */
	bool warmup;
	const char *outcome;                            /* "completed", "failed", "cut" */
	long turns_ok;                                  /* turns answered */
	uint64_t t_start_ns, t_first_send_ns, t_end_ns; /* 0: none (stored NULL) */
};
int store_session_end_add(struct store *s, int64_t run_id, int64_t level_id,
			  const struct store_session_end *e, struct lb_error *err);

#endif
