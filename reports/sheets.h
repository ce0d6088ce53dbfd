/* sheets.h: the theory answer sheets, rendered from the store (rows of table `evals` with kind
 * 'sheet', written by the eval phase, harness/evalrun.h).
 *
 * One Markdown file per backend, <dir>/<backend>.md, in the layout of the question file with
 * each answer filled in, and <dir>/side-by-side.md: each question, then every backend's
 * (family, quant) answer with its latency and output token count. Never prints. */
#ifndef LB_SHEETS_H
#define LB_SHEETS_H

#include "../base/error.h"
#include "../metrics/store.h"

#include <stdint.h>

/* Write the sheets of run_id into dir (which must exist). *n_written (may be NULL) gets the
 * number of files written: 0 when the run has no sheet rows (not an error). Errors name the
 * file that could not be written. */
int sheets_write(struct store *st, int64_t run_id, const char *dir, int *n_written,
		 struct lb_error *err);

#endif
