/* runner_trace.h: the schedule of load mode "trace" (runner_trace.c). */
#ifndef LB_RUNNER_TRACE_H
#define LB_RUNNER_TRACE_H

#include "../base/error.h"
#include "../datasets/dataset.h"

#include <stdbool.h>

/* Every item has a timestamp and the order is kept; else LB_ERR_USAGE saying what to fix. */
int runner_trace_check(const struct lb_items *items, bool shuffle, struct lb_error *err);
/* Seconds from item k's send to item k+1's at speedup 1 (k counts sends, wrapping). */
double runner_trace_gap_s(const struct lb_items *items, long k);

#endif
