/* eval_mc.c: TruthfulQA-style multiple choice by log-likelihood: every choice scored as a
 * continuation of the question through the backend's loglik (docs/quality.md "mc"). */
#include "eval_int.h"

#include "../base/alloc.h"
#include "runner.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define EVAL_DEFAULT_MC "datasets/mc/truthful-style.json"
#define EVAL_DEFAULT_PRIMER "datasets/mc/primer.txt"

static const char *const mc_modes[] = { "llmbench", "truthfulqa_mc", NULL };

static void mc_cfg_defaults(struct eval_cfg *g)
{
	(void)g;
}

static bool reference(const struct eval_cfg *g)
{
	return g->mc.mode && !strcmp(g->mc.mode, "truthfulqa_mc");
}

static int mc_cfg_parse(struct pctx *c, const cJSON *s, struct eval_cfg *g)
{
	static const char *const keys[] = { "path", "limit", "mode", "primer", NULL };
	int rc;

	g->mc.on = true;
	if ((rc = eval_check_keys(c, s, "eval.mc", keys)) ||
	    (rc = eval_get_str(c, s, "eval.mc", "path", &g->mc.path)) ||
	    (rc = eval_get_long(c, s, "eval.mc", "limit", 0, 1e9, &g->mc.limit)) ||
	    (rc = eval_get_enum(c, s, "eval.mc", "mode", mc_modes, &g->mc.mode)) ||
	    (rc = eval_get_str(c, s, "eval.mc", "primer", &g->mc.primer)) ||
	    (rc = eval_default_path(c, &g->mc.path, EVAL_DEFAULT_MC)) ||
	    (rc = eval_resolve(c, "eval.mc", "path", &g->mc.path)))
		return rc;
	if (g->mc.primer && !reference(g))
		return eval_pfail(c,
				  "eval.mc.primer needs \"mode\": \"truthfulqa_mc\" (the llmbench "
				  "mode is zero-shot)");
	if (reference(g) && ((rc = eval_default_path(c, &g->mc.primer, EVAL_DEFAULT_PRIMER)) ||
			     (rc = eval_resolve(c, "eval.mc", "primer", &g->mc.primer))))
		return rc;
	return 0;
}

static int mc_load_all(struct eval_state *es, struct lb_error *err)
{
	int rc = mc_load(es->cfg.mc.path, es->cfg.mc.limit, &es->mc, err);

	if (!rc && reference(&es->cfg))
		rc = eval_read_prompt(es->cfg.mc.primer, &es->mc_primer, err);
	return rc;
}

static bool mc_on(const struct eval_cfg *g)
{
	return g->mc.on;
}

/* The methods of one run: what was scored, how, and against which published definition. */
struct mc_methods {
	char variant[600], mc1[900], acc[900], acc_norm[900], mc2[900], mc3[900];
};

static void mc_methods(const struct eval_cfg *g, struct mc_methods *m)
{
	if (reference(g))
		snprintf(m->variant, sizeof(m->variant),
			 "truthfulqa_mc (lm-evaluation-harness's prompt: the primer '%s', then "
			 "\"\\n\\nQ: <question>\\nA:\"; continuation \" <choice>\"; sum of token "
			 "log-probabilities)",
			 g->mc.primer);
	else
		snprintf(
			m->variant, sizeof(m->variant),
			"llmbench_mc (zero-shot \"Q: <question>\\nA:\"; continuation \" <choice>\"; "
			"sum of token log-probabilities)");
	snprintf(m->mc1, sizeof(m->mc1),
		 "TruthfulQA MC1 (MC_calcs: the true choice strictly above every false one) on "
		 "mc1_targets; %s",
		 m->variant);
	snprintf(m->acc, sizeof(m->acc),
		 "lm-evaluation-harness acc (argmax, first of ties, is the true choice) on "
		 "mc1_targets; %s",
		 m->variant);
	snprintf(m->acc_norm, sizeof(m->acc_norm),
		 "lm-evaluation-harness acc_norm (argmax of log-likelihood / choice length in "
		 "characters) on mc1_targets; %s",
		 m->variant);
	if (reference(g))
		snprintf(m->mc2, sizeof(m->mc2),
			 "lm-evaluation-harness truthfulqa_mc2 (process_results_mc2: the choices "
			 "before the first false one are true) on mc2_targets; %s",
			 m->variant);
	else
		snprintf(m->mc2, sizeof(m->mc2),
			 "TruthfulQA MC2 (MC_calcs: probability mass of the true choices) on "
			 "mc2_targets; %s",
			 m->variant);
	snprintf(m->mc3, sizeof(m->mc3),
		 "TruthfulQA MC3 (MC_calcs; not in lm-evaluation-harness) on mc2_targets; %s",
		 m->variant);
}

/* Scores of a choice set: ll, is_true and the length in characters per choice. */
struct mc_set_ll {
	double *ll, *len;
	bool *is_true;
	size_t n;
};

static void set_free(struct mc_set_ll *s)
{
	lb_free(s->ll);
	lb_free(s->len);
	lb_free(s->is_true);
	memset(s, 0, sizeof(*s));
}

/* Log-likelihoods of n choices after ctx; *fatal set (with why) when the backend cannot do it
 * at all, *item_ok cleared (with why) when this item cannot be scored. */
static int mc_score_set(struct ectx *x, const struct mc_item *it, const char *target,
			const char *ctx, const struct mc_choice *ch, size_t n,
			struct mc_set_ll *out, bool *item_ok, bool *fatal, char *why,
			size_t why_len, struct lb_error *err)
{
	size_t i;
	int rc = 0;

	out->n = n;
	out->ll = lb_calloc(n ? n : 1, sizeof(*out->ll));
	out->len = lb_calloc(n ? n : 1, sizeof(*out->len));
	out->is_true = lb_calloc(n ? n : 1, sizeof(*out->is_true));
	if (!out->ll || !out->len || !out->is_true)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n && *item_ok && !*fatal; i++) {
		struct loglik_result lr = { 0 };
		struct lb_error e = LB_ERROR_INIT;
		char *cont = mc_continuation(ch[i].text);
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
			struct store_mc_choice sc = { .run_id = x->run_id,
						      .backend_id = x->backend_id,
						      .item_id = it->id,
						      .target = target,
						      .choice_idx = i,
						      .choice = ch[i].text,
						      .is_true = ch[i].is_true,
						      .scored = true,
						      .logprob_sum = lr.sum_logprob,
						      .n_tokens = lr.n_tokens,
						      .n_bytes = lr.n_bytes,
						      .greedy = lr.greedy };

			out->ll[i] = lr.sum_logprob;
			out->len[i] = (double)mc_char_len(ch[i].text);
			out->is_true[i] = ch[i].is_true;
			if (isnan(lr.sum_logprob)) {
				*item_ok = false;
				snprintf(
					why, why_len,
					"NaN log-likelihood (%s choice %zu): the item counts in no "
					"score",
					target, i);
			}
			rc = store_mc_choice_add(x->st, &sc, err);
		}
		lb_free(cont);
		if (rc)
			break;
	}
	return rc;
}

static void jnum(char *buf, size_t cap, double v)
{
	if (isnan(v))
		snprintf(buf, cap, "null");
	else
		snprintf(buf, cap, "%.6g", v);
}

struct mc_sums {
	double s1, sa, sn, s2, s3, n1, n23, unavailable, no_mc2;
};

/* Score one item: its row in evals and its share of the sums. */
static int mc_item(struct ectx *x, size_t i, const struct mc_methods *mm, struct mc_sums *t,
		   bool *fatal, char *why, size_t why_len, struct lb_error *err)
{
	struct eval_state *es = x->es;
	const struct mc_item *it = &es->mc.v[i];
	struct mc_set_ll s1 = { 0 }, s2 = { 0 };
	double m1 = NAN, acc = NAN, accn = NAN, m2 = NAN, m3 = NAN;
	char *ctx = mc_context(reference(&es->cfg) ? es->mc_primer : NULL, it->question);
	char detail[LB_ERROR_MSG_MAX + 400], b1[32], b2[32], b3[32], b4[32], b5[32];
	struct eval_row row = { .kind = "mc",
				.item_idx = i,
				.item_id = it->id,
				.prompt = it->question,
				.method = mm->variant,
				.score = NAN };
	struct store_eval_text tx = { .run_id = x->run_id,
				      .backend_id = x->backend_id,
				      .kind = "mc",
				      .item_id = it->id,
				      .role = "context",
				      .idx = -1,
				      .text = ctx,
				      .seed = -1 };
	bool ok = true;
	int rc;

	if (!ctx)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	rc = store_eval_text_add(x->st, &tx, err);
	if (!rc)
		rc = mc_score_set(x, it, "mc1", ctx, it->mc1, it->n_mc1, &s1, &ok, fatal, why,
				  why_len, err);
	if (!rc && ok && !*fatal && it->n_mc2)
		rc = mc_score_set(x, it, "mc2", ctx, it->mc2, it->n_mc2, &s2, &ok, fatal, why,
				  why_len, err);
	if (!rc && ok && !*fatal) {
		m1 = quality_mc1(s1.ll, s1.is_true, s1.n);
		acc = quality_mc_acc(s1.ll, NULL, s1.is_true, s1.n);
		accn = quality_mc_acc(s1.ll, s1.len, s1.is_true, s1.n);
		if (it->n_mc2) {
			m2 = reference(&es->cfg) ? quality_mc2_lmeval(s2.ll, s2.is_true, s2.n)
						 : quality_mc2(s2.ll, s2.is_true, s2.n);
			m3 = quality_mc3(s2.ll, s2.is_true, s2.n);
		}
	}
	set_free(&s1);
	set_free(&s2);
	lb_free(ctx);
	if (rc || *fatal)
		return rc;
	jnum(b1, sizeof(b1), m1);
	jnum(b2, sizeof(b2), acc);
	jnum(b3, sizeof(b3), accn);
	jnum(b4, sizeof(b4), m2);
	jnum(b5, sizeof(b5), m3);
	if (ok)
		snprintf(detail, sizeof(detail),
			 "{\"mc1\": %s, \"acc\": %s, \"acc_norm\": %s, \"mc2\": %s, \"mc3\": %s%s}",
			 b1, b2, b3, b4, b5,
			 it->n_mc2 ? "" : ", \"mc2_unavailable\": \"the item has no mc2_targets\"");
	else
		snprintf(detail, sizeof(detail), "unavailable: %s", why);
	row.score = reference(&es->cfg) ? acc : m1;
	row.grade = isnan(row.score) ? NULL : row.score == 1 ? "correct" : "incorrect";
	row.detail = detail;
	rc = eval_row_add(x, &row, err);
	if (rc)
		return rc;
	if (!ok || isnan(m1) || isnan(acc) || isnan(accn)) {
		t->unavailable++;
		return 0;
	}
	t->s1 += m1;
	t->sa += acc;
	t->sn += accn;
	t->n1++;
	if (!it->n_mc2) {
		t->no_mc2++;
	} else if (!isnan(m2) && !isnan(m3)) {
		t->s2 += m2;
		t->s3 += m3;
		t->n23++;
	}
	return 0;
}

static int mc_run(struct ectx *x, struct lb_error *err)
{
	struct eval_state *es = x->es;
	struct mc_methods *mm = lb_calloc(1, sizeof(*mm));
	struct mc_sums t = { 0 };
	char why[LB_ERROR_MSG_MAX + 64] = "", first_why[LB_ERROR_MSG_MAX + 256] = "";
	const char *why23 = NULL;
	struct quality_est e1, ea, en, none = { NAN, NAN, NAN, 0 };
	bool fatal = false;
	size_t i;
	int rc = 0;

	if (!mm)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	mc_methods(&es->cfg, mm);
	if (!x->b->ops->loglik) {
		snprintf(why, sizeof(why),
			 "unsupported by this backend (%s: no prompt "
			 "log-probabilities)",
			 x->b->ops->type);
		fatal = true;
	}
	for (i = 0; !rc && !fatal && !runner_stop && i < es->mc.n; i++) {
		double before = t.unavailable;

		why[0] = 0;
		rc = mc_item(x, i, mm, &t, &fatal, why, sizeof(why), err);
		if (!rc && t.unavailable > before && !first_why[0])
			snprintf(first_why, sizeof(first_why), "item '%.64s': %s", es->mc.v[i].id,
				 why);
	}
	if (rc)
		goto out;
	if (fatal) {
		eval_note(x, "warning: multiple choice for '%s' unavailable: %s", x->b->name, why);
		if ((rc = eval_put_est(x, "mc1", &none, mm->mc1, why, err)) ||
		    (rc = eval_put_est(x, "mc1_acc", &none, mm->acc, why, err)) ||
		    (rc = eval_put_est(x, "mc1_acc_norm", &none, mm->acc_norm, why, err)) ||
		    (rc = eval_put(x, "mc2", NAN, 0, "", mm->mc2, why, err)) ||
		    (rc = eval_put(x, "mc3", NAN, 0, "", mm->mc3, why, err)))
			goto out;
		goto out;
	}
	if (t.unavailable)
		eval_note(x, "warning: %g multiple-choice item(s) of '%s' unavailable, first: %s",
			  t.unavailable, x->b->name, first_why);
	if (!t.n23 && t.n1 && t.no_mc2 == t.n1)
		why23 = "no item has mc2_targets (MC2 and MC3 need the set of true and false "
			"answers)";
	quality_prop(t.s1, t.n1, QUALITY_Z95, &e1);
	quality_prop(t.sa, t.n1, QUALITY_Z95, &ea);
	quality_prop(t.sn, t.n1, QUALITY_Z95, &en);
	if ((rc = eval_put_est(x, "mc1", &e1, mm->mc1, NULL, err)) ||
	    (rc = eval_put_est(x, "mc1_acc", &ea, mm->acc, NULL, err)) ||
	    (rc = eval_put_est(x, "mc1_acc_norm", &en, mm->acc_norm, NULL, err)) ||
	    (rc = eval_put(x, "mc2", t.n23 ? t.s2 / t.n23 : NAN, t.n23, "", mm->mc2, why23, err)) ||
	    (rc = eval_put(x, "mc3", t.n23 ? t.s3 / t.n23 : NAN, t.n23, "", mm->mc3, why23, err)) ||
	    (rc = eval_put(x, "mc_items_unavailable", t.unavailable, -1, "items", mm->variant, NULL,
			   err)) ||
	    (rc = eval_put(x, "mc_items_without_mc2", t.no_mc2, -1, "items", mm->variant, NULL,
			   err)))
		goto out;
out:
	lb_free(mm);
	return rc;
}

const struct eval_ops eval_mc_ops = {
	.key = "mc",
	.defaults = mc_cfg_defaults,
	.parse = mc_cfg_parse,
	.load = mc_load_all,
	.run = mc_run,
	.on = mc_on,
};
