/* eval_selfcheck.c: SelfCheckGPT's n-gram self-consistency: N more answers sampled per QA
 * question at temperature > 0, the QA answer scored against them (docs/quality.md
 * "selfcheck"). */
#include "eval_int.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <math.h>
#include <string.h>

static const char METHOD_SC[] = "llmbench_selfcheck (SelfCheckGPT-style unigram, k = 0, over "
				"lower-cased words only: runs of letters and digits; sentences end "
				"at . ! ? before a space or at a new line)";
static const char METHOD_SC_REF[] =
	"selfcheck_ngram (SelfCheckGPT SelfCheckNgram n = 1, lowercase, k = 0: tokens as spaCy's "
	"English tokenizer cuts plain text, punctuation included; sentence boundaries by rule "
	"where spaCy's parser decides)";
static const char *const sc_modes[] = { "llmbench", "selfcheck_ngram", NULL };

static bool reference(const struct eval_cfg *g)
{
	return g->sc.mode && !strcmp(g->sc.mode, "selfcheck_ngram");
}

static void sc_defaults(struct eval_cfg *g)
{
	g->sc.samples = 5;
	g->sc.temperature = 1.0;
	g->sc.limit = 20;
	g->sc.max_tokens = 48;
}

static int sc_parse(struct pctx *c, const cJSON *s, struct eval_cfg *g)
{
	static const char *const keys[] = { "samples",    "temperature", "limit",
					    "max_tokens", "mode",        NULL };
	int rc;

	g->sc.on = true;
	if ((rc = eval_check_keys(c, s, "eval.selfcheck", keys)) ||
	    (rc = eval_get_int(c, s, "eval.selfcheck", "samples", 1, 100, &g->sc.samples)) ||
	    (rc = eval_get_num(c, s, "eval.selfcheck", "temperature", 1e-6, 10, false,
			       &g->sc.temperature)) ||
	    (rc = eval_get_long(c, s, "eval.selfcheck", "limit", 0, 1e9, &g->sc.limit)) ||
	    (rc = eval_get_int(c, s, "eval.selfcheck", "max_tokens", 1, 1e6, &g->sc.max_tokens)) ||
	    (rc = eval_get_enum(c, s, "eval.selfcheck", "mode", sc_modes, &g->sc.mode)))
		return rc;
	if (!g->qa.on)
		return eval_pfail(c, "eval.selfcheck needs eval.qa (it samples the QA questions)");
	return 0;
}

static bool sc_on(const struct eval_cfg *g)
{
	return g->sc.on;
}

/* The per-item detail: samples, the per-sentence mean and max (JSON). */
static int sc_detail(struct strbuf *d, size_t m, const struct selfcheck_result *r)
{
	size_t si;

	if (strbuf_addf(d, "{\"samples\": %zu, \"avg_max_neg_logprob\": %.6g, \"sentences\": [", m,
			r->avg_max_neg_logprob))
		return LB_ERR_NOMEM;
	for (si = 0; si < r->n_sentences; si++)
		if (strbuf_addf(d, "%s{\"avg\": %.6g, \"max\": %.6g}", si ? ", " : "",
				r->sent_avg[si], r->sent_max[si]))
			return LB_ERR_NOMEM;
	return strbuf_adds(d, "]}") ? LB_ERR_NOMEM : 0;
}

static int sc_run(struct ectx *x, struct lb_error *err)
{
	struct eval_state *es = x->es;
	char **answers = x->answers;
	size_t nq = es->qa.n, ns = (size_t)es->cfg.sc.samples, i, k, n_jobs;
	struct job *jobs = NULL;
	struct lb_gen g;
	double sum = 0, sum_max = 0;
	long scored = 0;
	bool ref = reference(&es->cfg);
	const char *method = ref ? METHOD_SC_REF : METHOD_SC;
	int rc = 0;

	if (es->cfg.sc.limit > 0 && (size_t)es->cfg.sc.limit < nq)
		nq = (size_t)es->cfg.sc.limit;
	n_jobs = nq * ns;
	jobs = lb_calloc(n_jobs ? n_jobs : 1, sizeof(*jobs));
	if (!jobs)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; i < nq; i++) {
		for (k = 0; k < ns; k++) {
			struct job *j = &jobs[i * ns + k];

			eval_gen(&g, es->cfg.sc.max_tokens, es->cfg.sc.temperature, true);
			g.seed = (int64_t)(1000 + k);
			rc = eval_job_init(j, eval_qa_prompt(es->qa.v[i].question), &g, err);
			if (rc)
				goto out;
			if (!answers || !answers[i])
				j->counted = j->rec.done = true; /* no answer to check */
		}
	}
	rc = eval_jobs_run(x->b, jobs, n_jobs, es->cfg.concurrency, err);
	for (i = 0; !rc && i < nq; i++) /* the samples, the evidence a score is computed from */
		for (k = 0; !rc && k < ns; k++) {
			const struct job *j = &jobs[i * ns + k];
			char fb[16];
			struct store_eval_text tx = { .run_id = x->run_id,
						      .backend_id = x->backend_id,
						      .kind = "selfcheck",
						      .item_id = es->qa.v[i].id,
						      .role = "sample",
						      .idx = (long)k,
						      .text = eval_rec_text(j),
						      .seed = (int64_t)(1000 + k) };

			if (!j->submitted || !j->rec.done)
				continue;
			tx.status = reqrec_ok(&j->rec)
					    ? "ok"
					    : lb_fail_name(j->rec.fail, j->rec.http_status, fb,
							   sizeof(fb));
			rc = store_eval_text_add(x->st, &tx, err);
		}
	if (rc)
		goto out;
	for (i = 0; i < nq; i++) {
		const char *samples[100];
		struct selfcheck_result r;
		struct strbuf detail = STRBUF_INIT;
		struct eval_row row = { .kind = "selfcheck",
					.item_idx = i,
					.item_id = es->qa.v[i].id,
					.domain = es->qa.v[i].domain,
					.prompt = es->qa.v[i].question,
					.method = method };
		size_t m = 0;

		if (!answers || !answers[i])
			continue;
		for (k = 0; k < ns; k++) {
			const char *t = eval_rec_text(&jobs[i * ns + k]);

			if (t && jobs[i * ns + k].submitted)
				samples[m++] = t;
		}
		if (!m)
			continue;
		rc = ref ? quality_selfcheck_ngram_ref(answers[i], samples, m, &r, err)
			 : quality_selfcheck_ngram(answers[i], samples, m, &r, err);
		if (rc)
			goto out;
		row.answer = answers[i];
		row.score = r.avg_neg_logprob;
		if (sc_detail(&detail, m, &r)) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		} else {
			row.detail = detail.buf;
			rc = eval_row_add(x, &row, err);
		}
		if (!rc && !isnan(r.avg_neg_logprob)) {
			sum += r.avg_neg_logprob;
			sum_max += r.avg_max_neg_logprob;
			scored++;
		}
		strbuf_release(&detail);
		selfcheck_result_release(&r);
		if (rc)
			goto out;
	}
	if ((rc = eval_put(x, "selfcheck_mean", scored ? sum / (double)scored : NAN, (double)scored,
			   "nats", method, scored ? NULL : "no answer and sample to compare",
			   err)) ||
	    (rc = eval_put(x, "selfcheck_max_mean", scored ? sum_max / (double)scored : NAN,
			   (double)scored, "nats", method,
			   scored ? NULL : "no answer and sample to compare", err)))
		goto out;
out:
	eval_jobs_free(jobs, n_jobs);
	return rc;
}

const struct eval_ops eval_selfcheck_ops = {
	.key = "selfcheck",
	.defaults = sc_defaults,
	.parse = sc_parse,
	.run = sc_run,
	.on = sc_on,
};
