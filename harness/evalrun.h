/* evalrun.h: the eval phase of a run: answer quality per backend (docs/quality.md).
 *
 * The workload's "eval" section (kept by workload.c as JSON text) names what to run: reference
 * QA graded by regular expressions, TruthfulQA-style multiple choice by log-likelihood,
 * SelfCheckGPT n-gram self-consistency, HaluEval's Yes/No self-check, the theory answer sheets
 * and an optional LLM judge. Items are sent through the backend's submit/poll interface a few at
 * a time; every item is a row of table `evals` (choices: `mc_choices`), every score a per-backend
 * summary (level_id 0) labelled with its method. On a random-weight generated model every score
 * is labelled synthetic. Failures of a backend are data (summaries "unavailable: ..."); only
 * store failures, memory and bad input stop the phase. Never prints. */
#ifndef LB_EVALRUN_H
#define LB_EVALRUN_H

#include "../backends/backend.h"
#include "../metrics/store.h"
#include "workload.h"

#include <stdint.h>

/* Parse wl->eval_json strictly, load its datasets and compile every answer pattern: the check
 * to make before any request of the run is sent. 0 when wl has no eval section. Errors
 * (LB_ERR_USAGE / LB_ERR_PARSE) name the workload, the key, the dataset file and line, the item
 * and the PCRE2 offset of an invalid pattern. */
int eval_check(const struct workload *wl, struct lb_error *err);

struct eval_opts {
	/* Messages for the user ("warning: ..."); NULL: none. The eval phase never prints. */
	void (*note)(void *ctx, const char *msg);
	void *note_ctx;
};

/* Run the eval section of wl against the open backend b (one of wl->backends, found by b->name)
 * and store the rows and summaries under run_id / backend_id. Answer sheets are written as
 * Markdown under out_dir/sheets/ when out_dir is given, else under eval.sheets.out/sheets/
 * when the workload names one, else only stored (reports/sheets.h renders them later). Call it
 * after the backend's load levels, with nothing in flight on b. Returns 0 (backend failures are
 * stored as data), or a negative lb_errc on bad input, a store failure or no memory. */
int eval_run_backend(const struct workload *wl, struct backend *b, struct store *st, int64_t run_id,
		     int64_t backend_id, const char *out_dir, struct lb_error *err);
/* Same with options (messages). o may be NULL. */
int eval_run_backend_ex(const struct workload *wl, struct backend *b, struct store *st,
			int64_t run_id, int64_t backend_id, const char *out_dir,
			const struct eval_opts *o, struct lb_error *err);

#endif
