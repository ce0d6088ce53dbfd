/* store_sessions.h: the session_turns table (metrics/schema.sql): which session and turn each
 * request of a multi-turn load was (docs/traffic.md#multi-turn-sessions). */
#ifndef LB_STORE_SESSIONS_H
#define LB_STORE_SESSIONS_H

#include "store.h"

#include <stdint.h>

/* One row: request req_id of the level was turn `turn` (1-based) of session `session`. */
int store_session_turn_add(struct store *s, int64_t run_id, int64_t level_id, uint64_t req_id,
			   long session, const char *conv, long turn, struct lb_error *err);

#endif
