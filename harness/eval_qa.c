/* eval_qa.c: reference QA with abstention, graded by PCRE2 patterns (SimpleQA's three grades;
 * docs/quality.md "qa"), optionally also graded by an LLM judge (eval_judge.c). */
#include "eval_int.h"

#include "../base/alloc.h"

#include <math.h>
#include <string.h>

#define EVAL_DEFAULT_QA "datasets/qa/factual.jsonl"

static const char METHOD_QA[] = "regex-graded QA (SimpleQA's three grades by PCRE2 patterns; not "
				"the official SimpleQA number)";
static const char METHOD_JUDGE[] = "LLM judge (fixed rubric) vs regex grades";

static void qa_defaults(struct eval_cfg *g)
{
	g->qa.max_tokens = 48;
	g->qa.temperature = 0;
}

static int qa_cfg_parse(struct pctx *c, const cJSON *s, struct eval_cfg *g)
{
	static const char *const keys[] = { "path", "limit", "max_tokens", "temperature", NULL };
	int rc;

	g->qa.on = true;
	if ((rc = eval_check_keys(c, s, "eval.qa", keys)) ||
	    (rc = eval_get_str(c, s, "eval.qa", "path", &g->qa.path)) ||
	    (rc = eval_get_long(c, s, "eval.qa", "limit", 0, 1e9, &g->qa.limit)) ||
	    (rc = eval_get_int(c, s, "eval.qa", "max_tokens", 1, 1e6, &g->qa.max_tokens)) ||
	    (rc = eval_get_num(c, s, "eval.qa", "temperature", 0, 10, false, &g->qa.temperature)) ||
	    (rc = eval_default_path(c, &g->qa.path, EVAL_DEFAULT_QA)) ||
	    (rc = eval_resolve(c, "eval.qa", "path", &g->qa.path)))
		return rc;
	return 0;
}

static int qa_load_all(struct eval_state *es, struct lb_error *err)
{
	size_t i;
	int rc;

	rc = qa_load(es->cfg.qa.path, es->cfg.qa.limit, &es->qa, err);
	if (!rc && !(es->graders = lb_calloc(es->qa.n, sizeof(*es->graders))))
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; !rc && i < es->qa.n; i++) {
		const struct qa_item *it = &es->qa.v[i];
		const char *const *corr = (const char *const *)it->correct;
		size_t nc = it->n_correct;

		if (!it->answerable && !nc)
			corr = grade_default_premise(&nc);
		rc = grader_init(&es->graders[i], corr, nc, (const char *const *)it->wrong,
				 it->n_wrong, (const char *const *)it->abstain, it->n_abstain, err);
		if (rc)
			lb_error_prefix(err, "'%s':%ld: item '%s'", es->cfg.qa.path, it->line,
					it->id);
		else
			es->graders[i].unanswerable = !it->answerable;
	}
	return rc;
}

static bool qa_on(const struct eval_cfg *g)
{
	return g->qa.on;
}

char *eval_qa_prompt(const char *question)
{
	return eval_fmt("Answer the question with a short fact. If you do not know the answer, "
			"say \"I don't know\".\n\nQuestion: %s\nAnswer:",
			question);
}

static int put_scores(struct ectx *x, const struct qa_tally *t, long failed, struct lb_error *err)
{
	struct qa_scores s;
	int rc;

	quality_qa_scores(t, QUALITY_Z95, &s);
	if ((rc = eval_put_est(x, "qa_correct", &s.correct, METHOD_QA, NULL, err)) ||
	    (rc = eval_put_est(x, "qa_incorrect", &s.incorrect, METHOD_QA, NULL, err)) ||
	    (rc = eval_put_est(x, "qa_not_attempted", &s.not_attempted, METHOD_QA, NULL, err)) ||
	    (rc = eval_put_est(x, "qa_hallucination_rate", &s.hallucination_rate, METHOD_QA, NULL,
			       err)) ||
	    (rc = eval_put_est(x, "qa_accuracy_given_attempted", &s.accuracy_given_attempted,
			       METHOD_QA, NULL, err)) ||
	    (rc = eval_put_est(x, "qa_f", &s.f, METHOD_QA, NULL, err)) ||
	    (rc = eval_put(x, "qa_items", (double)(t->correct + t->incorrect + t->not_attempted),
			   -1, "items", METHOD_QA, NULL, err)) ||
	    (rc = eval_put(x, "qa_failed", (double)failed, -1, "requests", METHOD_QA, NULL, err)))
		return rc;
	return 0;
}

static int qa_run(struct ectx *x, struct lb_error *err)
{
	struct eval_state *es = x->es;
	struct job *jobs = NULL;
	struct qa_tally t = { 0 };
	struct lb_gen g;
	char **answers = NULL, **jreplies = NULL, why[LB_ERROR_MSG_MAX + 64] = "";
	int *rg = NULL, *jgr = NULL;
	long failed = 0;
	bool judge = es->cfg.judge.on;
	size_t i;
	int rc = 0;

	jobs = lb_calloc(es->qa.n, sizeof(*jobs));
	answers = lb_calloc(es->qa.n, sizeof(*answers));
	rg = lb_calloc(es->qa.n, sizeof(*rg));
	jgr = lb_calloc(es->qa.n, sizeof(*jgr));
	if (!jobs || !answers || !rg || !jgr) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	eval_gen(&g, es->cfg.qa.max_tokens, es->cfg.qa.temperature, true);
	for (i = 0; i < es->qa.n; i++) {
		rc = eval_job_init(&jobs[i], eval_qa_prompt(es->qa.v[i].question), &g, err);
		if (rc)
			goto out;
	}
	rc = eval_jobs_run(x->b, jobs, es->qa.n, es->cfg.concurrency, err);
	if (rc)
		goto out;
	for (i = 0; i < es->qa.n; i++) {
		const char *txt = eval_rec_text(&jobs[i]);

		rg[i] = jgr[i] = GRADE_NONE;
		if (!jobs[i].rec.done)
			continue;
		if (!txt) {
			failed++;
			continue;
		}
		answers[i] = eval_trimmed(txt);
		if (!answers[i]) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
		rg[i] = grader_grade(&es->graders[i], answers[i], strlen(answers[i]));
		t.correct += rg[i] == GRADE_CORRECT;
		t.incorrect += rg[i] == GRADE_INCORRECT;
		t.not_attempted += rg[i] == GRADE_NOT_ATTEMPTED;
	}
	if (judge) {
		rc = eval_judge_qa(x, answers, jgr, &jreplies, why, sizeof(why), err);
		if (rc < 0)
			goto out;
		if (rc > 0) {
			eval_note(x, "warning: judge for '%s' unavailable: %s", x->b->name, why);
			judge = false;
		}
		rc = 0;
	}
	for (i = 0; i < es->qa.n; i++) {
		const struct qa_item *it = &es->qa.v[i];
		struct eval_row r = { .kind = "qa",
				      .item_idx = i,
				      .item_id = it->id,
				      .domain = it->domain,
				      .prompt = it->question,
				      .answer = answers[i],
				      .reference = it->answer,
				      .score = NAN,
				      .method = METHOD_QA };

		if (!jobs[i].rec.done)
			continue;
		r.rec = &jobs[i].rec;
		r.grade = rg[i] == GRADE_NONE ? NULL : grade_name(rg[i]);
		r.detail = it->answerable ? NULL : "unanswerable";
		if (rg[i] != GRADE_NONE)
			r.score = rg[i] == GRADE_CORRECT;
		if (judge && answers[i]) {
			r.judge_grade = jgr[i] == GRADE_NONE ? "none" : grade_name(jgr[i]);
			r.judge_reply = jreplies[i];
		}
		rc = eval_row_add(x, &r, err);
		if (rc)
			goto out;
	}
	rc = put_scores(x, &t, failed, err);
	if (rc)
		goto out;
	if (failed)
		eval_note(x,
			  "warning: %ld of %zu QA requests to '%s' failed (left out of the scores)",
			  failed, es->qa.n, x->b->name);
	if (es->cfg.judge.on) {
		struct quality_est ag = { NAN, NAN, NAN, 0 };

		if (judge)
			quality_agreement(rg, jgr, es->qa.n, QUALITY_Z95, &ag);
		rc = eval_put_est(x, "judge_agreement", &ag, METHOD_JUDGE, judge ? NULL : why, err);
		if (rc)
			goto out;
	}
	x->answers = answers;
	answers = NULL;
out:
	if (answers)
		for (i = 0; i < es->qa.n; i++)
			lb_free(answers[i]);
	lb_free(answers);
	if (jreplies)
		for (i = 0; i < es->qa.n; i++)
			lb_free(jreplies[i]);
	lb_free(jreplies);
	eval_jobs_free(jobs, es->qa.n);
	lb_free(rg);
	lb_free(jgr);
	return rc;
}

const struct eval_ops eval_qa_ops = {
	.key = "qa",
	.defaults = qa_defaults,
	.parse = qa_cfg_parse,
	.load = qa_load_all,
	.run = qa_run,
	.on = qa_on,
};
