/* query_sheets.h: the queries behind the theory answer sheets (reports/sheets.c), kept with the
 * other report queries so that SQL text lives only in the store and reports/query*. */
#ifndef LB_REPORTS_QUERY_SHEETS_H
#define LB_REPORTS_QUERY_SHEETS_H

#include "../metrics/store.h"

/* One row when the store has an 'evals' table (stores made before evals have none). */
int query_sheets_has_evals(struct store *st, store_row_fn *fn, void *ctx, struct lb_error *err);
/* The sheet answers of run (id as text), by backend then item: backend_id, backend name,
 * family, quant, item_idx, item_id, prompt, answer, latency_ms, output_tokens, reference,
 * status, error, synthetic, run name. */
int query_sheets_answers(struct store *st, const char *run_id, store_row_fn *fn, void *ctx,
			 struct lb_error *err);

#endif
