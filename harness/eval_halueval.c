/* eval_halueval.c: HaluEval's Yes/No self-check: the model is asked whether an answer contains
 * a hallucination, and its reply is read as Yes or No (docs/quality.md "yesno"). */
#include "eval_int.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define EVAL_DEFAULT_YESNO "datasets/yesno/halu-style.jsonl"
#define EVAL_DEFAULT_INSTRUCTION "datasets/yesno/halueval_qa_instruction.txt"
#define EVAL_DEFAULT_SYSTEM "datasets/yesno/halueval_qa_system.txt"

static const char *const yn_modes[] = { "llmbench", "halueval_qa", NULL };

static bool reference(const struct eval_cfg *g)
{
	return g->yn.mode && !strcmp(g->yn.mode, "halueval_qa");
}

static void yn_defaults(struct eval_cfg *g)
{
	g->yn.max_tokens = 0; /* the mode's: 8, or HaluEval's 256 */
}

static int yn_parse(struct pctx *c, const cJSON *s, struct eval_cfg *g)
{
	static const char *const keys[] = { "path",        "limit",  "max_tokens", "mode",
					    "instruction", "system", NULL };
	int rc;

	g->yn.on = true;
	if ((rc = eval_check_keys(c, s, "eval.yesno", keys)) ||
	    (rc = eval_get_str(c, s, "eval.yesno", "path", &g->yn.path)) ||
	    (rc = eval_get_long(c, s, "eval.yesno", "limit", 0, 1e9, &g->yn.limit)) ||
	    (rc = eval_get_int(c, s, "eval.yesno", "max_tokens", 1, 1e6, &g->yn.max_tokens)) ||
	    (rc = eval_get_enum(c, s, "eval.yesno", "mode", yn_modes, &g->yn.mode)) ||
	    (rc = eval_get_str(c, s, "eval.yesno", "instruction", &g->yn.instruction)) ||
	    (rc = eval_get_str(c, s, "eval.yesno", "system", &g->yn.system)) ||
	    (rc = eval_default_path(c, &g->yn.path, EVAL_DEFAULT_YESNO)) ||
	    (rc = eval_resolve(c, "eval.yesno", "path", &g->yn.path)))
		return rc;
	if ((g->yn.instruction || g->yn.system) && !reference(g))
		return eval_pfail(c, "eval.yesno.instruction and .system need \"mode\": "
				     "\"halueval_qa\"");
	if (!g->yn.max_tokens)
		g->yn.max_tokens = reference(g) ? 256 : 8;
	if (reference(g) &&
	    ((rc = eval_default_path(c, &g->yn.instruction, EVAL_DEFAULT_INSTRUCTION)) ||
	     (rc = eval_resolve(c, "eval.yesno", "instruction", &g->yn.instruction)) ||
	     (rc = eval_default_path(c, &g->yn.system, EVAL_DEFAULT_SYSTEM)) ||
	     (rc = eval_resolve(c, "eval.yesno", "system", &g->yn.system))))
		return rc;
	return 0;
}

static int yn_load_all(struct eval_state *es, struct lb_error *err)
{
	int rc = yn_load(es->cfg.yn.path, es->cfg.yn.limit, &es->yn, err);

	if (!rc && reference(&es->cfg))
		rc = eval_read_prompt(es->cfg.yn.instruction, &es->yn_instruction, err);
	if (!rc && reference(&es->cfg))
		rc = eval_read_prompt(es->cfg.yn.system, &es->yn_system, err);
	return rc;
}

static bool yn_on(const struct eval_cfg *g)
{
	return g->yn.on;
}

/* llmbench's own prompt: with the item's knowledge when it has one. */
static char *yn_prompt(const struct yn_item *it)
{
	return eval_fmt("You check answers for hallucinations. Given a question and an answer, "
			"decide whether the answer contains non-factual or made-up information. "
			"Reply with one word, Yes or No.\n\n%s%s%s#Question#: %s\n#Answer#: %s\n"
			"#Does the answer contain a hallucination?#:",
			it->knowledge ? "#Knowledge#: " : "", it->knowledge ? it->knowledge : "",
			it->knowledge ? "\n" : "", it->question, it->answer);
}

/* HaluEval's get_qa_response: instruction + "\n\n#Question#: " + question + "\n#Answer#: " +
 * answer + "\n#Your Judgement#: " (no knowledge). */
char *eval_halueval_prompt(const char *instruction, const char *question, const char *answer)
{
	return eval_fmt("%s\n\n#Question#: %s\n#Answer#: %s\n#Your Judgement#: ", instruction,
			question, answer);
}

/* The chat messages HaluEval sends: the system message, then the prompt as the user's. */
static char *yn_messages(const char *system, const char *user)
{
	struct strbuf sb = STRBUF_INIT;

	if (strbuf_adds(&sb, "[{\"role\": \"system\", \"content\": ") ||
	    strbuf_add_json_str(&sb, system, strlen(system)) ||
	    strbuf_adds(&sb, "}, {\"role\": \"user\", \"content\": ") ||
	    strbuf_add_json_str(&sb, user, strlen(user)) || strbuf_adds(&sb, "}]")) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* The backend speaks chat (an openai backend with api "chat"): it gets the system message. */
static bool chat_backend(const struct ectx *x)
{
	size_t i;

	for (i = 0; i < x->wl->n_backends; i++) {
		const struct wl_backend *wb = &x->wl->backends[i];

		if (wb->cfg.name && x->b->name && !strcmp(wb->cfg.name, x->b->name))
			return wb->cfg.type && !strcmp(wb->cfg.type, "openai") && wb->cfg.api &&
			       !strcmp(wb->cfg.api, "chat");
	}
	return false;
}

static void yn_method(const struct eval_cfg *g, char *m, size_t cap)
{
	if (reference(g))
		snprintf(
			m, cap,
			"halueval_qa (HaluEval evaluate.py: the instruction '%s' + "
			"\"\\n\\n#Question#: <question>\\n#Answer#: <answer>\\n#Your Judgement#: \", "
			"no knowledge; the system message '%s' on chat; temperature 0; \".\" removed, "
			"then \"Yes\"/\"No\" as case-sensitive substrings; both or neither fails)",
			g->yn.instruction, g->yn.system);
	else
		snprintf(
			m, cap,
			"llmbench_yesno (HaluEval-style Yes/No self-check with llmbench's prompt, "
			"knowledge included when given; the whole words yes/no in any case; both or "
			"neither fails)");
}

static int yn_run(struct ectx *x, struct lb_error *err)
{
	struct eval_state *es = x->es;
	bool ref = reference(&es->cfg), chat = ref && chat_backend(x);
	size_t n = es->yn.n, i;
	struct job *jobs = lb_calloc(n ? n : 1, sizeof(*jobs));
	struct lb_gen g;
	double right = 0, graded = 0, bad_format = 0;
	char method[1400];
	long failed = 0;
	int rc = 0;

	if (!jobs)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	yn_method(&es->cfg, method, sizeof(method));
	eval_gen(&g, es->cfg.yn.max_tokens, 0, false);
	if (!ref) {
		g.stop[0] = "\n";
		g.n_stop = 1;
	}
	for (i = 0; i < n; i++) {
		const struct yn_item *it = &es->yn.v[i];
		struct store_eval_text tx = { .run_id = x->run_id,
					      .backend_id = x->backend_id,
					      .kind = "yesno",
					      .item_id = it->id,
					      .role = "prompt",
					      .idx = -1,
					      .seed = -1 };

		rc = eval_job_init(&jobs[i],
				   ref ? eval_halueval_prompt(es->yn_instruction, it->question,
							      it->answer)
				       : yn_prompt(it),
				   &g, err);
		if (!rc && chat) {
			jobs[i].messages_json = yn_messages(es->yn_system, jobs[i].prompt);
			jobs[i].req.messages_json = jobs[i].messages_json;
			if (!jobs[i].messages_json)
				rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		}
		tx.text = chat ? jobs[i].messages_json : jobs[i].prompt;
		if (!rc)
			rc = store_eval_text_add(x->st, &tx, err);
		if (rc)
			goto out;
	}
	rc = eval_jobs_run(x->b, jobs, n, es->cfg.concurrency, err);
	if (rc)
		goto out;
	for (i = 0; i < n; i++) {
		const struct yn_item *it = &es->yn.v[i];
		const char *t = eval_rec_text(&jobs[i]);
		struct eval_row row = { .kind = "yesno",
					.item_idx = i,
					.item_id = it->id,
					.prompt = it->question,
					.answer = t,
					.reference = it->hallucinated ? "yes" : "no",
					.score = NAN,
					.method = method };
		enum yesno v;
		bool ok;

		if (!jobs[i].rec.done)
			continue;
		row.rec = &jobs[i].rec;
		if (!t) {
			failed++;
		} else {
			v = ref ? grade_yesno_halueval(t, strlen(t)) : grade_yesno(t, strlen(t));
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
		if ((rc = eval_put_est(x, "yesno_accuracy", &e, method, NULL, err)) ||
		    (rc = eval_put(x, "yesno_unparsed", bad_format, graded, "items", method, NULL,
				   err)) ||
		    (rc = eval_put(x, "yesno_failed", (double)failed, -1, "requests", method, NULL,
				   err)))
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
