/* workload_sessions.c: the load keys of multi-turn sessions (docs/traffic.md#multi-turn-sessions).
 * Mode "sessions": the levels are users, each with one conversation in flight (closed loop);
 * mode "session_rate": the levels are sessions started per second (open loop, load.arrival).
 * load.sessions: conversations per level (default: each of the dataset's once); load.warmup
 * counts sessions. Part of the workload parser (workload_int.h). */
#include "workload_int.h"

#include <limits.h>
#include <string.h>

int wl_parse_sessions(struct wl_ctx *c, const cJSON *l, bool *rate)
{
	static const char *const refused[] = { "requests", "cooldown",  "max_inflight",
					       "overflow", "ramp_up_s", "warmup_s",
					       NULL };
	struct wl_load *ld = &c->wl->load;
	size_t i;
	int rc;

	ld->sessions_mode = !strcmp(ld->mode, "sessions") || !strcmp(ld->mode, "session_rate");
	if (!ld->sessions_mode) {
		if (item(l, "sessions"))
			return wl_fail(c,
				       "load.sessions applies to modes sessions and session_rate "
				       "only (this load's mode is %s)",
				       ld->mode);
		return 0;
	}
	if (!strcmp(ld->mode, "session_rate"))
		*rate = true;
	for (i = 0; refused[i]; i++)
		if (item(l, refused[i]))
			return wl_fail(c,
				       "load.%s does not apply to mode %s (it counts sessions: "
				       "give load.sessions, load.warmup or duration_s)",
				       refused[i], ld->mode);
	if (!c->wl->dataset.format || strcmp(c->wl->dataset.format, "sessions"))
		return wl_fail(c,
			       "load.mode %s needs conversations: set dataset.format to "
			       "\"sessions\" (docs/traffic.md#multi-turn-sessions)",
			       ld->mode);
	if ((rc = wl_get_long(c, l, "load", "sessions", 1, LONG_MAX, &ld->sessions)))
		return rc;
	return 0;
}
