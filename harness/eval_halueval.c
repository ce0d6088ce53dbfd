/* eval_halueval.c: HaluEval's Yes/No self-check: the model is asked whether an answer contains
 * a hallucination, and its reply is read as Yes or No (docs/quality.md "yesno"). */
#include "eval_int.h"

#include "../base/alloc.h"

#include <math.h>
#include <string.h>

#define EVAL_DEFAULT_YESNO "datasets/yesno/halu-style.jsonl"

static const char METHOD_YN[] = "HaluEval Yes/No self-check (string match; both or neither "
				"fails)";

static void yn_defaults(struct eval_cfg *g)
{
	g->yn.max_tokens = 8;
}

static int yn_parse(struct pctx *c, const cJSON *s, struct eval_cfg *g)
{
	static const char *const keys[] = { "path", "limit", "max_tokens", NULL };
	int rc;

	g->yn.on = true;
	if ((rc = eval_check_keys(c, s, "eval.yesno", keys)) ||
	    (rc = eval_get_str(c, s, "eval.yesno", "path", &g->yn.path)) ||
	    (rc = eval_get_long(c, s, "eval.yesno", "limit", 0, 1e9, &g->yn.limit)) ||
	    (rc = eval_get_int(c, s, "eval.yesno", "max_tokens", 1, 1e6, &g->yn.max_tokens)) ||
	    (rc = eval_default_path(c, &g->yn.path, EVAL_DEFAULT_YESNO)) ||
	    (rc = eval_resolve(c, "eval.yesno", "path", &g->yn.path)))
		return rc;
	return 0;
}

static int yn_load_all(struct eval_state *es, struct lb_error *err)
{
	return yn_load(es->cfg.yn.path, es->cfg.yn.limit, &es->yn, err);
}

static bool yn_on(const struct eval_cfg *g)
{
	return g->yn.on;
}

static char *yn_prompt(const struct yn_item *it)
{
	return eval_fmt("You check answers for hallucinations. Given a question and an answer, "
			"decide whether the answer contains non-factual or made-up information. "
			"Reply with one word, Yes or No.\n\n%s%s%s#Question#: %s\n#Answer#: %s\n"
			"#Does the answer contain a hallucination?#:",
			it->knowledge ? "#Knowledge#: " : "", it->knowledge ? it->knowledge : "",
			it->knowledge ? "\n" : "", it->question, it->answer);
}

static int yn_run(struct ectx *x, struct lb_error *err)
{
	struct eval_state *es = x->es;
	size_t n = es->yn.n, i;
	struct job *jobs = lb_calloc(n ? n : 1, sizeof(*jobs));
	struct lb_gen g;
	double right = 0, graded = 0, bad_format = 0;
	long failed = 0;
	int rc = 0;

	if (!jobs)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	eval_gen(&g, es->cfg.yn.max_tokens, 0, false);
	g.stop[0] = "\n";
	g.n_stop = 1;
	for (i = 0; i < n; i++) {
		rc = eval_job_init(&jobs[i], yn_prompt(&es->yn.v[i]), &g, err);
		if (rc)
			goto out;
	}
	rc = eval_jobs_run(x->b, jobs, n, es->cfg.concurrency, err);
	if (rc)
		goto out;
	for (i = 0; i < n; i++) {
		const struct yn_item *it = &es->yn.v[i];
		const char *t = eval_rec_text(&jobs[i]);
		struct eval_row row = { .kind = "yesno", .item_idx = i, .item_id = it->id,
					.prompt = it->question, .answer = t,
					.reference = it->hallucinated ? "yes" : "no",
					.score = NAN, .method = METHOD_YN };
		enum yesno v;
		bool ok;

		if (!jobs[i].rec.done)
			continue;
		row.rec = &jobs[i].rec;
		if (!t) {
			failed++;
		} else {
			v = grade_yesno(t, strlen(t));
			ok = (v == YESNO_YES && it->hallucinated) ||
			     (v == YESNO_NO && !it->hallucinated);
			bad_format += v == YESNO_BOTH || v == YESNO_NEITHER;
			right += ok;
			graded++;
			row.grade = ok ? "correct" : "incorrect";
			row.detail = yesno_name(v);
			row.score = ok;
		}
		rc = eval_row_add(x, &row, err);
		if (rc)
			goto out;
	}
	{
		struct quality_est e;

		quality_prop(right, graded, QUALITY_Z95, &e);
		if ((rc = eval_put_est(x, "yesno_accuracy", &e, METHOD_YN, NULL, err)) ||
		    (rc = eval_put(x, "yesno_unparsed", bad_format, graded, "items", METHOD_YN, NULL,
				   err)) ||
		    (rc = eval_put(x, "yesno_failed", (double)failed, -1, "requests", METHOD_YN,
				   NULL, err)))
			goto out;
	}
out:
	eval_jobs_free(jobs, n);
	return rc;
}

const struct eval_ops eval_halueval_ops = {
	.key = "yesno",
	.defaults = yn_defaults,
	.parse = yn_parse,
	.load = yn_load_all,
	.run = yn_run,
	.on = yn_on,
};
