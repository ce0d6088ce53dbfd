/* evalrun.c: the eval phase's driver (see evalrun.h, docs/quality.md): loads the section, runs
 * each evaluator of eval_table on the backend, and holds the helpers that store rows and
 * summaries. The evaluators are eval_*.c (eval_int.h). */
#include "eval_int.h"

#include "../backends/gguf_make.h"
#include "../base/alloc.h"
#include "../reports/sheets.h"
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char EVAL_NOTE_SYNTH[] = "synthetic: random-weight generated model; the score says "
			       "nothing about a real model";

const struct eval_ops *const eval_table[] = {
	&eval_qa_ops,     &eval_selfcheck_ops, &eval_mc_ops, &eval_halueval_ops,
	&eval_sheets_ops, &eval_judge_ops,     NULL
};

int eval_check(const struct workload *wl, struct lb_error *err)
{
	struct eval_state es;
	int rc;

	if (!wl->eval_json)
		return 0;
	rc = eval_state_load(wl, &es, err);
	if (!rc)
		eval_state_release(&es);
	return rc;
}

void eval_note(struct ectx *x, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!x->o || !x->o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->o->note(x->o->note_ctx, msg);
}

int eval_put(struct ectx *x, const char *metric, double value, double n, const char *unit,
	     const char *method, const char *why_unavailable, struct lb_error *err)
{
	struct store_summary sm = { .run_id = x->run_id,
				    .backend_id = x->backend_id,
				    .level_id = 0,
				    .metric = metric,
				    .n = n,
				    .unit = unit,
				    .provenance = method };
	char note_buf[LB_ERROR_MSG_MAX + 32];

	sm.has_value = !why_unavailable && !isnan(value);
	sm.value = sm.has_value ? value : 0;
	if (!sm.has_value) {
		snprintf(note_buf, sizeof(note_buf), "unavailable: %s",
			 why_unavailable ? why_unavailable : "no items were scored");
		sm.note = note_buf;
	} else if (x->synthetic) {
		sm.note = EVAL_NOTE_SYNTH;
	}
	return store_summary_put(x->st, &sm, err);
}

int eval_put_est(struct ectx *x, const char *metric, const struct quality_est *e,
		 const char *method, const char *why, struct lb_error *err)
{
	char name[96];
	int rc;

	rc = eval_put(x, metric, e->value, e->n, "", method, why, err);
	snprintf(name, sizeof(name), "%s_lo", metric);
	if (!rc)
		rc = eval_put(x, name, e->lo, e->n, "", method, why, err);
	snprintf(name, sizeof(name), "%s_hi", metric);
	if (!rc)
		rc = eval_put(x, name, e->hi, e->n, "", method, why, err);
	return rc;
}

int eval_row_add(struct ectx *x, const struct eval_row *r, struct lb_error *err)
{
	struct store_eval_row s = { .run_id = x->run_id,
				    .backend_id = x->backend_id,
				    .kind = r->kind,
				    .item_idx = r->item_idx,
				    .item_id = r->item_id,
				    .domain = r->domain,
				    .prompt = r->prompt,
				    .answer = r->answer,
				    .reference = r->reference,
				    .grade = r->grade,
				    .score = r->score,
				    .detail = r->detail,
				    .latency_ms = NAN,
				    .output_tokens = -1,
				    .judge_grade = r->judge_grade,
				    .judge_reply = r->judge_reply,
				    .method = r->method,
				    .synthetic = x->synthetic };
	char fb[16];

	if (r->rec) {
		s.status = reqrec_ok(r->rec) ? "ok"
					     : lb_fail_name(r->rec->fail, r->rec->http_status, fb,
							    sizeof(fb));
		s.error = reqrec_ok(r->rec) ? NULL : r->rec->err_msg;
		s.latency_ms = reqrec_e2e_ms(r->rec);
		s.output_tokens = r->rec->n_out;
		s.output_tokens_source = r->rec->n_out_src;
	}
	return store_eval_row_add(x->st, &s, err);
}

/* ---- the phase ------------------------------------------------------------------------------ */

/* A model made by `llmbench model make` (random weights) behind an in-process backend. */
static bool is_synthetic(const struct workload *wl, const struct backend *b)
{
	size_t i;

	for (i = 0; i < wl->n_backends; i++) {
		const struct wl_backend *wb = &wl->backends[i];

		if (!wb->cfg.name || !b->name || strcmp(wb->cfg.name, b->name))
			continue;
		return lb_gguf_synthetic(wb->cfg.model_path) == 1 ||
		       lb_gguf_synthetic(wb->base_model) == 1;
	}
	return false;
}

static int make_dirs(const char *dir, struct lb_error *err)
{
	char buf[4096];
	size_t i, n = strlen(dir);

	if (n >= sizeof(buf))
		return lb_error_set(err, LB_ERR_USAGE, "path too long '%.64s...'", dir);
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		buf[i] = 0;
		if (mkdir(buf, 0777) && errno != EEXIST)
			return lb_error_set(err, LB_ERR_IO, "cannot create '%s': %s", buf,
					    strerror(errno));
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

int eval_run_backend_ex(const struct workload *wl, struct backend *b, struct store *st,
			int64_t run_id, int64_t backend_id, const char *out_dir,
			const struct eval_opts *o, struct lb_error *err)
{
	struct eval_state es;
	struct ectx x = { .wl = wl,
			  .es = &es,
			  .b = b,
			  .st = st,
			  .run_id = run_id,
			  .backend_id = backend_id,
			  .o = o };
	size_t i;
	int rc = 0;

	if (!wl->eval_json)
		return 0;
	rc = eval_state_load(wl, &es, err);
	if (rc)
		return rc;
	x.synthetic = is_synthetic(wl, b);
	if (x.synthetic)
		eval_note(&x, "eval of '%s': random-weight model, scores are synthetic", b->name);
	for (i = 0; !rc && eval_table[i]; i++)
		if (eval_table[i]->run && eval_table[i]->on(&es.cfg) && !runner_stop)
			rc = eval_table[i]->run(&x, err);
	if (!rc)
		rc = store_flush(st, err);
	if (!rc && es.cfg.sheets.on && (out_dir || es.cfg.sheets.out)) {
		struct lb_error e = LB_ERROR_INIT;
		char dir[4096];
		int n_written = 0;

		snprintf(dir, sizeof(dir), "%s/sheets", out_dir ? out_dir : es.cfg.sheets.out);
		if (make_dirs(dir, &e) || sheets_write(st, run_id, dir, &n_written, &e))
			eval_note(&x, "warning: answer sheets not written: %s", e.msg);
	}
	if (x.answers)
		for (i = 0; i < es.qa.n; i++)
			lb_free(x.answers[i]);
	lb_free(x.answers);
	eval_state_release(&es);
	return rc;
}

int eval_run_backend(const struct workload *wl, struct backend *b, struct store *st, int64_t run_id,
		     int64_t backend_id, const char *out_dir, struct lb_error *err)
{
	return eval_run_backend_ex(wl, b, st, run_id, backend_id, out_dir, NULL, err);
}
