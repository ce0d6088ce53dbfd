/* gate_load.h: reads a candidate and its baseline (one run, or the last N runs of the same
 * workload) from the store through query.h / store_query, matches rows by key, applies the
 * rules (gate.h) and fills a gate report. Never prints.
 *
 * Key: workload name and host (run level; --ignore-host drops the host), backend name, family,
 * quant, and for level rows the level mode, index and value. Rows of one side only are listed
 * in the report as unmatched. */
#ifndef LB_REPORT_GATE_LOAD_H
#define LB_REPORT_GATE_LOAD_H

#include "../base/error.h"
#include "gate.h"

#include <stdbool.h>

struct store;

struct gate_opts {
	const char *candidate;  /* run name */
	const char *baseline;   /* run name, or NULL with history */
	long history;           /* > 0: the last N earlier done runs of the candidate's workload */
	const char *rules_path; /* NULL: the candidate workload's "gate" section, else defaults */
	bool ignore_host;       /* match runs from other hosts */
	bool fail_unmatched;    /* unmatched rows fail the gate */
};

#define GATE_RULES_MAX_BYTES (1u << 20)

/* Fill rep (initialised by the caller) with every verdict; a candidate level or backend row with
 * no successful request is a failed check of its own; when nothing was compared rep->nothing
 * says what did not match (gate_report_finish). Errors: LB_ERR_USAGE for a missing run, bad
 * rules, an unknown metric, runs of different workloads or hosts;
 * LB_ERR_STORE for the store; LB_ERR_NOMEM. On error rep may hold part of the report. */
int gate_load_and_evaluate(struct store *st, const struct gate_opts *o, struct gate_report *rep,
			   struct lb_error *err);

#endif
