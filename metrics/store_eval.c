/* store_eval.c: the eval phase's rows (see store_eval.h). */
#include "store_eval.h"

#include <math.h>
#include <stdio.h>

int store_eval_row_add(struct store *st, const struct store_eval_row *r, struct lb_error *err)
{
	char run[32], be[32], idx[32], score[40], lat[40], tok[32], syn[4];
	const char *p[21];

	snprintf(run, sizeof(run), "%lld", (long long)r->run_id);
	snprintf(be, sizeof(be), "%lld", (long long)r->backend_id);
	snprintf(idx, sizeof(idx), "%zu", r->item_idx);
	snprintf(score, sizeof(score), "%.17g", r->score);
	snprintf(lat, sizeof(lat), "%.6f", r->latency_ms);
	snprintf(tok, sizeof(tok), "%d", r->output_tokens);
	snprintf(syn, sizeof(syn), "%d", r->synthetic ? 1 : 0);
	p[0] = run;
	p[1] = be;
	p[2] = r->kind;
	p[3] = idx;
	p[4] = r->item_id;
	p[5] = r->domain;
	p[6] = r->prompt;
	p[7] = r->answer;
	p[8] = r->reference;
	p[9] = r->status;
	p[10] = r->error;
	p[11] = r->grade;
	p[12] = isnan(r->score) ? NULL : score;
	p[13] = r->detail;
	p[14] = isnan(r->latency_ms) ? NULL : lat;
	p[15] = r->output_tokens >= 0 ? tok : NULL;
	p[16] = r->output_tokens >= 0 ? r->output_tokens_source : NULL;
	p[17] = r->judge_grade;
	p[18] = r->judge_reply;
	p[19] = r->method;
	p[20] = syn;
	return store_exec(
		st,
		"INSERT INTO evals (run_id, backend_id, kind, item_idx, item_id, domain, "
		"prompt, answer, reference, status, error, grade, score, detail, "
		"latency_ms, output_tokens, output_tokens_source, judge_grade, judge_reply, "
		"method, synthetic) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
		"?, ?, ?, ?, ?)",
		p, 21, err);
}

int store_mc_choice_add(struct store *st, const struct store_mc_choice *c, struct lb_error *err)
{
	char run[32], be[32], ci[32], it[4], ll[40], nt[32], nb[32], gr[4];
	const char *p[11];

	snprintf(run, sizeof(run), "%lld", (long long)c->run_id);
	snprintf(be, sizeof(be), "%lld", (long long)c->backend_id);
	snprintf(ci, sizeof(ci), "%zu", c->choice_idx);
	snprintf(it, sizeof(it), "%d", c->is_true ? 1 : 0);
	snprintf(ll, sizeof(ll), "%.17g", c->logprob_sum);
	snprintf(nt, sizeof(nt), "%d", c->n_tokens);
	snprintf(nb, sizeof(nb), "%zu", c->n_bytes);
	snprintf(gr, sizeof(gr), "%d", c->greedy ? 1 : 0);
	p[0] = run;
	p[1] = be;
	p[2] = c->item_id;
	p[3] = c->target;
	p[4] = ci;
	p[5] = c->choice;
	p[6] = it;
	/* a NaN log-likelihood is stored as NULL (SQLite has no NaN) */
	p[7] = c->scored && !isnan(c->logprob_sum) ? ll : NULL;
	p[8] = c->scored ? nt : NULL;
	p[9] = c->scored ? nb : NULL;
	p[10] = c->scored ? gr : NULL;
	return store_exec(
		st,
		"INSERT INTO mc_choices (run_id, backend_id, item_id, target, choice_idx, "
		"choice, is_true, logprob_sum, n_tokens, n_bytes, greedy) VALUES (?, ?, ?, "
		"?, ?, ?, ?, ?, ?, ?, ?)",
		p, 11, err);
}

int store_eval_text_add(struct store *st, const struct store_eval_text *t, struct lb_error *err)
{
	char run[32], be[32], idx[32], seed[32];
	const char *p[9];

	snprintf(run, sizeof(run), "%lld", (long long)t->run_id);
	snprintf(be, sizeof(be), "%lld", (long long)t->backend_id);
	snprintf(idx, sizeof(idx), "%ld", t->idx);
	snprintf(seed, sizeof(seed), "%lld", (long long)t->seed);
	p[0] = run;
	p[1] = be;
	p[2] = t->kind;
	p[3] = t->item_id;
	p[4] = t->role;
	p[5] = t->idx >= 0 ? idx : NULL;
	p[6] = t->text;
	p[7] = t->status;
	p[8] = t->seed >= 0 ? seed : NULL;
	return store_exec(st,
			  "INSERT INTO eval_texts (run_id, backend_id, kind, item_id, role, idx, "
			  "text, status, seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			  p, 9, err);
}
