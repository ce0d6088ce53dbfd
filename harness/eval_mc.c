/* eval_mc.c: TruthfulQA-style multiple choice by log-likelihood: every choice scored as a
 * continuation of the question through the backend's loglik (docs/quality.md "mc"). */
#include "eval_int.h"

#include "../base/alloc.h"
#include "runner.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define EVAL_DEFAULT_MC "datasets/mc/truthful-style.json"

static const char METHOD_MC[] = "TruthfulQA MC1/MC2/MC3 by log-likelihood (sum of token "
				"log-probabilities)";

static void mc_cfg_defaults(struct eval_cfg *g)
{
	(void)g;
}

static int mc_cfg_parse(struct pctx *c, const cJSON *s, struct eval_cfg *g)
{
	static const char *const keys[] = { "path", "limit", NULL };
	int rc;

	g->mc.on = true;
	if ((rc = eval_check_keys(c, s, "eval.mc", keys)) ||
	    (rc = eval_get_str(c, s, "eval.mc", "path", &g->mc.path)) ||
	    (rc = eval_get_long(c, s, "eval.mc", "limit", 0, 1e9, &g->mc.limit)) ||
	    (rc = eval_default_path(c, &g->mc.path, EVAL_DEFAULT_MC)) ||
	    (rc = eval_resolve(c, "eval.mc", "path", &g->mc.path)))
		return rc;
	return 0;
}

static int mc_load_all(struct eval_state *es, struct lb_error *err)
{
	return mc_load(es->cfg.mc.path, es->cfg.mc.limit, &es->mc, err);
}

static bool mc_on(const struct eval_cfg *g)
{
	return g->mc.on;
}

/* Log-likelihoods of n choices; *fatal set (with why) when the backend cannot do it at all. */
static int mc_score_set(struct ectx *x, const struct mc_item *it, const char *target,
			const struct mc_choice *ch, size_t n, double *ll, bool *is_true,
			bool *item_ok, bool *fatal, char *why, size_t why_len,
			struct lb_error *err)
{
	char *ctx = eval_fmt("Q: %s\nA:", it->question);
	size_t i;
	int rc = 0;

	if (!ctx)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n && *item_ok && !*fatal; i++) {
		struct loglik_result lr = { 0 };
		struct lb_error e = LB_ERROR_INIT;
		char *cont = eval_fmt(" %s", ch[i].text);
		struct loglik_query q;

		if (!cont) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			break;
		}
		q.context = ctx;
		q.context_len = strlen(ctx);
		q.continuation = cont;
		q.continuation_len = strlen(cont);
		if (x->b->ops->loglik(x->b, &q, &lr, &e)) {
			if (e.code == LB_ERR_NOMEM) {
				rc = lb_error_set(err, LB_ERR_NOMEM, "%s", e.msg);
			} else if (e.code == LB_ERR_UNSUPPORTED || e.code == LB_ERR_BACKEND) {
				*fatal = true;
				snprintf(why, why_len, "%s", e.msg);
			} else {
				*item_ok = false; /* this item only (too long, ...) */
				snprintf(why, why_len, "%s", e.msg);
			}
		} else {
			struct store_mc_choice sc = {
				.run_id = x->run_id, .backend_id = x->backend_id,
				.item_id = it->id, .target = target, .choice_idx = i,
				.choice = ch[i].text, .is_true = ch[i].is_true, .scored = true,
				.logprob_sum = lr.sum_logprob, .n_tokens = lr.n_tokens,
				.n_bytes = lr.n_bytes, .greedy = lr.greedy
			};

			ll[i] = lr.sum_logprob;
			is_true[i] = ch[i].is_true;
			rc = store_mc_choice_add(x->st, &sc, err);
		}
		lb_free(cont);
		if (rc)
			break;
	}
	lb_free(ctx);
	return rc;
}

static int mc_run(struct ectx *x, struct lb_error *err)
{
	struct eval_state *es = x->es;
	char why[LB_ERROR_MSG_MAX + 64] = "";
	double s1 = 0, s2 = 0, s3 = 0, n1 = 0, n23 = 0;
	bool fatal = false;
	size_t i;
	int rc = 0;

	if (!x->b->ops->loglik) {
		snprintf(why, sizeof(why), "unsupported by this backend (%s: no prompt "
			 "log-probabilities)", x->b->ops->type);
		fatal = true;
	}
	for (i = 0; !fatal && !runner_stop && i < es->mc.n; i++) {
		const struct mc_item *it = &es->mc.v[i];
		const struct mc_choice *c2 = it->n_mc2 ? it->mc2 : it->mc1;
		size_t n2 = it->n_mc2 ? it->n_mc2 : it->n_mc1;
		size_t nmax = it->n_mc1 > n2 ? it->n_mc1 : n2;
		double *ll = lb_calloc(nmax, sizeof(*ll));
		bool *tr = lb_calloc(nmax, sizeof(*tr)), ok = true;
		double m1 = NAN, m2 = NAN, m3 = NAN;
		char detail[160];
		struct eval_row row = { .kind = "mc", .item_idx = i, .item_id = it->id,
					.prompt = it->question, .method = METHOD_MC };

		if (!ll || !tr) {
			lb_free(ll);
			lb_free(tr);
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		}
		rc = mc_score_set(x, it, "mc1", it->mc1, it->n_mc1, ll, tr, &ok, &fatal, why,
				  sizeof(why), err);
		if (!rc && ok && !fatal)
			m1 = quality_mc1(ll, tr, it->n_mc1);
		if (!rc && ok && !fatal && it->n_mc2)
			rc = mc_score_set(x, it, "mc2", c2, n2, ll, tr, &ok, &fatal, why,
					  sizeof(why), err);
		if (!rc && ok && !fatal) {
			m2 = quality_mc2(ll, tr, n2);
			m3 = quality_mc3(ll, tr, n2);
		}
		lb_free(ll);
		lb_free(tr);
		if (rc)
			return rc;
		if (fatal)
			break;
		snprintf(detail, sizeof(detail), "{\"mc1\": %.6g, \"mc2\": %.6g, \"mc3\": %.6g}", m1,
			 m2, m3);
		row.score = m1;
		row.grade = ok ? (m1 == 1 ? "correct" : "incorrect") : NULL;
		row.detail = ok ? detail : why;
		rc = eval_row_add(x, &row, err);
		if (rc)
			return rc;
		if (!isnan(m1)) {
			s1 += m1;
			n1++;
		}
		if (!isnan(m2) && !isnan(m3)) {
			s2 += m2;
			s3 += m3;
			n23++;
		}
	}
	if (fatal) {
		struct quality_est none = { NAN, NAN, NAN, 0 };

		eval_note(x, "warning: multiple choice for '%s' unavailable: %s", x->b->name, why);
		if ((rc = eval_put_est(x, "mc1", &none, METHOD_MC, why, err)) ||
		    (rc = eval_put(x, "mc2", NAN, 0, "", METHOD_MC, why, err)) ||
		    (rc = eval_put(x, "mc3", NAN, 0, "", METHOD_MC, why, err)))
			return rc;
		return 0;
	}
	{
		struct quality_est e1;

		quality_prop(s1, n1, QUALITY_Z95, &e1);
		if ((rc = eval_put_est(x, "mc1", &e1, METHOD_MC, NULL, err)) ||
		    (rc = eval_put(x, "mc2", n23 ? s2 / n23 : NAN, n23, "", METHOD_MC, NULL, err)) ||
		    (rc = eval_put(x, "mc3", n23 ? s3 / n23 : NAN, n23, "", METHOD_MC, NULL, err)))
			return rc;
	}
	return 0;
}

const struct eval_ops eval_mc_ops = {
	.key = "mc",
	.defaults = mc_cfg_defaults,
	.parse = mc_cfg_parse,
	.load = mc_load_all,
	.run = mc_run,
	.on = mc_on,
};
