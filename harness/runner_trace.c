/* runner_trace.c: load mode "trace" (docs/traffic.md): the open loop, with each request sent
 * at its item's timestamp divided by the level's speedup instead of on a drawn arrival process.
 * Lag is measured as in the open loop (send time minus scheduled time). */
#include "runner_trace.h"

#include <stdio.h>

int runner_trace_check(const struct lb_items *items, bool shuffle, struct lb_error *err)
{
	size_t i;

	if (shuffle)
		return lb_error_set(err, LB_ERR_USAGE,
				    "load.mode \"trace\" sends items in their timestamp order: "
				    "set dataset.shuffle to false");
	for (i = 0; i < items->n; i++)
		if (!items->v[i].has_t)
			return lb_error_set(err, LB_ERR_USAGE,
					    "load.mode \"trace\" needs a dataset whose items carry "
					    "timestamps (format \"trace\"); item %zu has none",
					    i + 1);
	return 0;
}

double runner_trace_gap_s(const struct lb_items *items, long k)
{
	size_t i = (size_t)k % items->n;

	if (i + 1 >= items->n)
		return 0; /* the trace's end: a repeated trace starts again at once */
	return (items->v[i + 1].t_ms - items->v[i].t_ms) / 1000.0;
}
