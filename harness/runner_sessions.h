/* runner_sessions.h: load modes "sessions" (levels: users, each with one conversation in flight)
 * and "session_rate" (levels: sessions started per second), runner_sessions.c. */
#ifndef LB_RUNNER_SESSIONS_H
#define LB_RUNNER_SESSIONS_H

#include "runner_int.h"

#include "../metrics/record.h"

/* Before any request: the conversations of a sessions mode into rs->convs (nothing to do for
 * other modes); a bad file is LB_ERR_PARSE naming file:line. */
int runner_sessions_load(struct run_state *rs, struct lb_error *err);
void runner_sessions_unload(struct run_state *rs);
/* Set lr->sess up for one level (modes sessions and session_rate only). */
int runner_sessions_begin(struct run_state *rs, struct level_run *lr, struct lb_error *err);
/* The level's schedule: users or session starts, turns after their think times. */
int runner_sessions_loop(struct level_run *lr, double value, bool rate_mode, struct lb_error *err);
/* A turn ended (called by level_reap before the request is stored): its reply joins the
 * history, its session and turn are stored; tag is what level_submit was given. */
int runner_sessions_done(struct level_run *lr, const struct lb_reqrec *r, void *tag,
			 struct lb_error *err);
/* The level's figures by turn and by session (level summaries); frees lr->sess. */
int runner_sessions_end(struct run_state *rs, struct level_run *lr, struct lb_error *err);
/* Free lr->sess without figures (the level failed). */
void runner_sessions_abort(struct level_run *lr);

#endif
