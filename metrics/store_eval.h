/* store_eval.h: the eval phase's rows in the store (tables evals, mc_choices, eval_texts of
 * metrics/schema.sql; docs/quality.md). Bound parameters only; joins the current batch. */
#ifndef LB_STORE_EVAL_H
#define LB_STORE_EVAL_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One row of evals. NULL strings and NAN figures are stored as NULL; output_tokens < 0: NULL. */
struct store_eval_row {
	int64_t run_id, backend_id;
	const char *kind;
	size_t item_idx;
	const char *item_id, *domain, *prompt, *answer, *reference;
	const char *status, *error, *grade;
	double score;
	const char *detail;
	double latency_ms;
	int output_tokens;
	const char *output_tokens_source;
	const char *judge_grade, *judge_reply, *method;
	bool synthetic;
};
int store_eval_row_add(struct store *st, const struct store_eval_row *r, struct lb_error *err);

/* One choice of a multiple-choice item (mc_choices); scored false: the figures are NULL. */
struct store_mc_choice {
	int64_t run_id, backend_id;
	const char *item_id, *target; /* target "mc1" or "mc2" */
	size_t choice_idx;
	const char *choice;
	bool is_true, scored;
	double logprob_sum;
	int n_tokens;
	size_t n_bytes;
	bool greedy;
};
int store_mc_choice_add(struct store *st, const struct store_mc_choice *c, struct lb_error *err);

/* One text of eval_texts (role "context", "prompt" or "sample"); idx, seed < 0: NULL. */
struct store_eval_text {
	int64_t run_id, backend_id;
	const char *kind, *item_id, *role;
	long idx;
	const char *text, *status;
	int64_t seed;
};
int store_eval_text_add(struct store *st, const struct store_eval_text *t, struct lb_error *err);

#endif
