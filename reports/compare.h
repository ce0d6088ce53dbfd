/* compare.h: two runs side by side, per metric: A, B, B - A and (B - A) / |A|, better or worse
 * by the metric's direction, and Welch's p over repetitions where both runs have them.
 * Markdown is one compact table of the key figures (every metric with all_metrics); CSV and
 * JSON carry every metric.
 *
 * Rows are matched by backend name and level (index and value), backend-wide rows by backend
 * name; rows of one run only are listed as unmatched. Reads the store through query.h only. */
#ifndef LB_REPORT_COMPARE_H
#define LB_REPORT_COMPARE_H

#include "../base/error.h"

#include <stdbool.h>
#include <stdio.h>

struct store;

enum compare_fmt {
	COMPARE_MD,
	COMPARE_CSV,
	COMPARE_JSON
};

/* all_metrics: Markdown shows every metric, not only the key figures (CSV and JSON always do).
 * Errors: LB_ERR_USAGE (unknown run), LB_ERR_IO (write). */
int compare_render(struct store *st, const char *run_a, const char *run_b, enum compare_fmt fmt,
		   bool all_metrics, FILE *out, struct lb_error *err);

#endif
