/* eval_judge.c: an LLM judge (an OpenAI-compatible endpoint) that grades the QA answers with a
 * fixed rubric (grade_judge_rubric); its agreement with the regex grades is a score of the QA
 * evaluator (eval_qa.c). docs/quality.md "judge". */
#include "eval_int.h"

#include "../base/alloc.h"

#include <stdio.h>
#include <string.h>

static void judge_defaults(struct eval_cfg *g)
{
	g->judge.max_tokens = 16;
}

static int judge_parse(struct pctx *c, const cJSON *s, struct eval_cfg *g)
{
	static const char *const keys[] = { "base_url", "model",      "api_key_env",
					    "api",      "max_tokens", NULL };
	int rc;

	g->judge.on = true;
	if ((rc = eval_check_keys(c, s, "eval.judge", keys)) ||
	    (rc = eval_get_str(c, s, "eval.judge", "base_url", &g->judge.base_url)) ||
	    (rc = eval_get_str(c, s, "eval.judge", "model", &g->judge.model)) ||
	    (rc = eval_get_str(c, s, "eval.judge", "api_key_env", &g->judge.api_key_env)) ||
	    (rc = eval_get_str(c, s, "eval.judge", "api", &g->judge.api)) ||
	    (rc = eval_get_int(c, s, "eval.judge", "max_tokens", 1, 4096, &g->judge.max_tokens)))
		return rc;
	if (!g->judge.base_url)
		return eval_pfail(c, "eval.judge.base_url is required (an OpenAI-compatible "
				     "endpoint, e.g. \"http://127.0.0.1:8080/v1\")");
	if (g->judge.api && strcmp(g->judge.api, "chat") && strcmp(g->judge.api, "completions"))
		return eval_pfail(c, "eval.judge.api must be \"chat\" or \"completions\", got '%s'",
				  g->judge.api);
	if (!g->qa.on)
		return eval_pfail(c, "eval.judge needs eval.qa (it grades the QA answers)");
	return 0;
}

static bool judge_on(const struct eval_cfg *g)
{
	return g->judge.on;
}

/* Open the judge endpoint; on failure why says why. */
static int judge_open(struct ectx *x, struct backend *jb, char *why, size_t why_len)
{
	struct backend_config cfg;
	struct lb_error e = LB_ERROR_INIT;

	backend_config_defaults(&cfg);
	cfg.name = "judge";
	cfg.type = "openai";
	cfg.base_url = x->es->cfg.judge.base_url;
	cfg.model = x->es->cfg.judge.model;
	cfg.api = x->es->cfg.judge.api ? x->es->cfg.judge.api : "chat";
	cfg.api_key_env = x->es->cfg.judge.api_key_env;
	cfg.stream = false;
	if (backend_open(jb, &cfg, &e)) {
		snprintf(why, why_len, "judge endpoint: %s", e.msg);
		return -1;
	}
	return 0;
}

int eval_judge_qa(struct ectx *x, char *const *answers, int *jgr, char ***replies, char *why,
		  size_t why_len, struct lb_error *err)
{
	struct eval_state *es = x->es;
	struct backend jb = { 0 };
	struct job *jj = NULL;
	struct lb_gen jg;
	char **rep = NULL;
	size_t i;
	int rc = 0;

	*replies = NULL;
	if (judge_open(x, &jb, why, why_len))
		return 1;
	jj = lb_calloc(es->qa.n ? es->qa.n : 1, sizeof(*jj));
	rep = lb_calloc(es->qa.n ? es->qa.n : 1, sizeof(*rep));
	if (!jj || !rep) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	eval_gen(&jg, es->cfg.judge.max_tokens, 0, false);
	for (i = 0; i < es->qa.n; i++) {
		const struct qa_item *it = &es->qa.v[i];
		const char *ref = it->answer       ? it->answer
				  : it->answerable ? "(see the question)"
						   : "The premise is false or the fact cannot be "
						     "known; the honest answer says so.";

		rc = eval_job_init(&jj[i],
				   eval_fmt(grade_judge_rubric, it->question, ref,
					    answers[i] ? answers[i] : ""),
				   &jg, err);
		if (rc)
			goto out;
		if (!answers[i])
			jj[i].counted = jj[i].rec.done = true; /* nothing to judge */
	}
	rc = eval_jobs_run(&jb, jj, es->qa.n, es->cfg.concurrency, err);
	if (rc)
		goto out;
	for (i = 0; i < es->qa.n; i++) {
		const char *r = answers[i] ? eval_rec_text(&jj[i]) : NULL;

		jgr[i] = r ? grade_judge_reply(r, strlen(r)) : GRADE_NONE;
		if (!answers[i])
			continue;
		rep[i] = r ? eval_trimmed(r) : lb_strdup(jj[i].rec.err_msg);
		if (!rep[i]) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	*replies = rep;
	rep = NULL;
out:
	if (rep)
		for (i = 0; i < es->qa.n; i++)
			lb_free(rep[i]);
	lb_free(rep);
	eval_jobs_free(jj, jj ? es->qa.n : 0);
	backend_close(&jb);
	return rc;
}

const struct eval_ops eval_judge_ops = {
	.key = "judge",
	.defaults = judge_defaults,
	.parse = judge_parse,
	.run = NULL, /* run by the QA evaluator, over its answers */
	.on = judge_on,
};
