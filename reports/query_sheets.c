/* query_sheets.c: the queries behind the theory answer sheets (reports/query_sheets.h). */
#include "query_sheets.h"

int query_sheets_has_evals(struct store *st, store_row_fn *fn, void *ctx, struct lb_error *err)
{
	return store_query(st,
			   "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'evals'",
			   NULL, 0, fn, ctx, err);
}

int query_sheets_answers(struct store *st, const char *run_id, store_row_fn *fn, void *ctx,
			 struct lb_error *err)
{
	static const char sql[] =
		"SELECT e.backend_id, b.name, b.family, b.quant, e.item_idx, e.item_id,"
		" e.prompt, e.answer, e.latency_ms, e.output_tokens, e.reference, e.status,"
		" e.error, e.synthetic, r.name FROM evals e JOIN backends b ON b.id = e.backend_id"
		" JOIN runs r ON r.id = e.run_id WHERE e.run_id = ? AND e.kind = 'sheet'"
		" ORDER BY e.backend_id, e.item_idx";
	const char *p[1] = { run_id };

	return store_query(st, sql, p, 1, fn, ctx, err);
}
