/* sessions_fig.h: the figures of one level's multi-turn sessions (docs/METRICS.md "Multi-turn
 * sessions") from how its sessions ended and its answered turns. The runner feeds it as the
 * sessions run (and from the store when it resumes a level), the merge from the merged rows of
 * a split level: one definition of each figure. */
#ifndef LB_SESSIONS_FIG_H
#define LB_SESSIONS_FIG_H

#include "level.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SESS_TURN_FIGS 16 /* turns with figures of their own; later ones count in turn_later_* */

enum sess_outcome {
	SESS_COMPLETED,
	SESS_FAILED,
	SESS_CUT
};
extern const char *const sess_outcome_name[3]; /* "completed", "failed", "cut" */
/* A stored outcome; anything but completed or failed is cut. */
enum sess_outcome sess_outcome_parse(const char *s);

/* Measured sessions only; the caller counts `started` and sets `peak`. */
struct sess_figs {
	long started, completed, failed, cut, peak;
	struct dvec turns, dur_s, later; /* answered turns per ended session; completed durations */
	struct dvec ttft[SESS_TURN_FIGS], n_in[SESS_TURN_FIGS];
	bool oom;
};

/* A measured session ended: its outcome, turns answered, first send and end (ns, 0: none). */
void sess_figs_end(struct sess_figs *f, enum sess_outcome how, long turns_ok, uint64_t t_first_send,
		   uint64_t t_end);
/* A measured answered turn (1-based) and its TTFT; n_in < 0: prompt tokens unknown. */
void sess_figs_turn(struct sess_figs *f, long turn, double ttft_ms, double n_in);

/* The most sessions open (warm-up ones included) at a measured session's start; an end at that
 * very time is past. Sorts s; -1 when out of memory. */
struct sess_span {
	uint64_t start, end;
	bool measured;
};
int sess_peak(struct sess_span *s, size_t n, long *peak);

/* Each figure once, through put (metric, has a value, value, unit, note when it has none; 0 or
 * an error code that stops); sorts the vectors (the runner prints its turn lines after).
 * peak_note: what the peak was counted from (NULL: as the sessions ran). */
typedef int sess_put_fn(void *ctx, const char *metric, bool has, double v, const char *unit,
			const char *note);
int sess_figs_emit(struct sess_figs *f, const char *peak_note, sess_put_fn *put, void *ctx);
/* The turns with figures of their own: the last with an answered turn. */
size_t sess_figs_turns(const struct sess_figs *f);
void sess_figs_release(struct sess_figs *f);

#endif
