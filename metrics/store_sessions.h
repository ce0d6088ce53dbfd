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

/* Resume (run --resume) of an interrupted level of sessions, before store_level_reopen deletes
 * its cancelled requests: a session whose turn was cancelled by the interruption is 'cut' (the
 * conversation is not played again; that turn's session_turns row goes with the request), and
 * a session with stored turns but no session_ends row (the process was killed) gets one, 'cut',
 * from its turns. */
int store_level_sessions_reopen(struct store *s, int64_t run_id, int64_t level_id,
				struct lb_error *err);
/* The level's stored sessions for a resumed level's figures, by session: session, warmup,
 * outcome, turns_ok, t_start_ns, t_first_send_ns, t_end_ns (session_ends). */
int store_level_session_ends(struct store *s, int64_t run_id, int64_t level_id, store_row_fn *fn,
			     void *ctx, struct lb_error *err);
/* ... and their turns, by session and turn: session, turn, warmup, ok (1/0), ttft_ms,
 * prompt_tokens. */
int store_level_session_turns(struct store *s, int64_t run_id, int64_t level_id, store_row_fn *fn,
			      void *ctx, struct lb_error *err);

#endif
