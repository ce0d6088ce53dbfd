/* eval_sheets.c: the theory answer sheets: each question of a theory file answered and stored
 * ungraded, written as Markdown by reports/sheets.c (docs/quality.md "sheets"). */
#include "eval_int.h"

#include "../base/alloc.h"

#include <math.h>
#include <stdio.h>

#define EVAL_DEFAULT_SHEETS "datasets/theory/llama-falcon-mistral.md"

static const char METHOD_SHEET[] = "theory answer sheet (ungraded)";
static const char METHOD_SHEET_COUNT[] = "completion count: replies with any text (not a quality "
					 "figure; the sheets are ungraded)";

static void sh_defaults(struct eval_cfg *g)
{
	g->sheets.max_tokens = 256;
	g->sheets.temperature = 0;
}

static int sh_parse(struct pctx *c, const cJSON *s, struct eval_cfg *g)
{
	static const char *const keys[] = { "path",        "limit", "max_tokens",
					    "temperature", "out",   NULL };
	int rc;

	g->sheets.on = true;
	if ((rc = eval_check_keys(c, s, "eval.sheets", keys)) ||
	    (rc = eval_get_str(c, s, "eval.sheets", "path", &g->sheets.path)) ||
	    (rc = eval_get_long(c, s, "eval.sheets", "limit", 0, 1e9, &g->sheets.limit)) ||
	    (rc = eval_get_int(c, s, "eval.sheets", "max_tokens", 1, 1e6, &g->sheets.max_tokens)) ||
	    (rc = eval_get_num(c, s, "eval.sheets", "temperature", 0, 10, false,
			       &g->sheets.temperature)) ||
	    (rc = eval_get_str(c, s, "eval.sheets", "out", &g->sheets.out)) ||
	    (rc = eval_default_path(c, &g->sheets.path, EVAL_DEFAULT_SHEETS)) ||
	    (rc = eval_resolve(c, "eval.sheets", "path", &g->sheets.path)))
		return rc;
	return 0;
}

static int sh_load(struct eval_state *es, struct lb_error *err)
{
	return theory_load(es->cfg.sheets.path, es->cfg.sheets.limit, &es->th, err);
}

static bool sh_on(const struct eval_cfg *g)
{
	return g->sheets.on;
}

static int sh_run(struct ectx *x, struct lb_error *err)
{
	struct eval_state *es = x->es;
	struct job *jobs = lb_calloc(es->th.n ? es->th.n : 1, sizeof(*jobs));
	struct lb_gen g;
	double answered = 0;
	size_t i;
	int rc = 0;

	if (!jobs)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	eval_gen(&g, es->cfg.sheets.max_tokens, es->cfg.sheets.temperature, false);
	g.stop[0] = "\nQuestion:";
	g.stop[1] = "\n## Question";
	g.n_stop = 2;
	for (i = 0; i < es->th.n; i++) {
		rc = eval_job_init(&jobs[i],
				   eval_fmt("Answer the following question about LLaMA, Falcon and "
					    "Mistral models in a short paragraph.\n\nQuestion: %s\n"
					    "Answer:",
					    es->th.v[i].question),
				   &g, err);
		if (rc)
			goto out;
	}
	rc = eval_jobs_run(x->b, jobs, es->th.n, es->cfg.concurrency, err);
	if (rc)
		goto out;
	for (i = 0; i < es->th.n; i++) {
		char id[32], *ans = NULL;
		const char *t = eval_rec_text(&jobs[i]);
		struct eval_row row = { .kind = "sheet",
					.item_idx = i,
					.item_id = id,
					.prompt = es->th.v[i].question,
					.reference = es->th.title,
					.detail = es->cfg.sheets.path,
					.score = NAN,
					.method = METHOD_SHEET };

		if (!jobs[i].rec.done)
			continue;
		snprintf(id, sizeof(id), "%ld", es->th.v[i].number);
		if (t && !(ans = eval_trimmed(t))) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
		row.answer = ans;
		row.rec = &jobs[i].rec;
		answered += ans && ans[0];
		rc = eval_row_add(x, &row, err);
		lb_free(ans);
		if (rc)
			goto out;
	}
	/* a completion count, not a quality figure: a sheet is read by a person, ungraded */
	rc = eval_put(x, "sheets_nonempty_replies", answered, (double)es->th.n, "requests",
		      METHOD_SHEET_COUNT, NULL, err);
out:
	eval_jobs_free(jobs, es->th.n);
	return rc;
}

const struct eval_ops eval_sheets_ops = {
	.key = "sheets",
	.defaults = sh_defaults,
	.parse = sh_parse,
	.load = sh_load,
	.run = sh_run,
	.on = sh_on,
};
