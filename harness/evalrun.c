/* evalrun.c: the eval phase (see evalrun.h, docs/quality.md). */
#include "evalrun.h"

#include "../backends/gguf_make.h"

#include "../datasets/mc.h"
#include "../datasets/qa.h"
#include "../datasets/theory.h"
#include "../metrics/grade.h"
#include "../metrics/quality.h"
#include "../metrics/record.h"
#include "../reports/sheets.h"
#include "../base/alloc.h"
#include "../base/clock.h"
#include "runner.h"
#include "../base/strbuf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EVAL_MAX_CONCURRENCY 64
#define EVAL_DEFAULT_QA "datasets/qa/factual.jsonl"
#define EVAL_DEFAULT_MC "datasets/mc/truthful-style.json"
#define EVAL_DEFAULT_YESNO "datasets/yesno/halu-style.jsonl"
#define EVAL_DEFAULT_SHEETS "datasets/theory/llama-falcon-mistral.md"

static const char METHOD_QA[] = "regex-graded QA (SimpleQA's three grades by PCRE2 patterns; not "
				"the official SimpleQA number)";
static const char METHOD_MC[] = "TruthfulQA MC1/MC2/MC3 by log-likelihood (sum of token "
				"log-probabilities)";
static const char METHOD_SC[] = "SelfCheckGPT n-gram (unigram, unsmoothed)";
static const char METHOD_YN[] = "HaluEval Yes/No self-check (string match; both or neither "
				"fails)";
static const char METHOD_JUDGE[] = "LLM judge (fixed rubric) vs regex grades";
static const char METHOD_SHEET[] = "theory answer sheet (ungraded)";
static const char NOTE_SYNTH[] = "synthetic: random-weight generated model; the score says "
				 "nothing about a real model";

/* ---- configuration -------------------------------------------------------------------- */

struct eval_cfg {
	int concurrency; /* requests in flight at once (default 4) */
	struct {
		bool on;
		char *path;
		long limit;
		int max_tokens;
		double temperature;
	} qa;
	struct {
		bool on;
		char *path;
		long limit;
	} mc;
	struct {
		bool on;
		int samples;
		double temperature;
		long limit;
		int max_tokens;
	} sc;
	struct {
		bool on;
		char *path;
		long limit;
		int max_tokens;
	} yn;
	struct {
		bool on;
		char *path;
		long limit;
		int max_tokens;
		double temperature;
		char *out;
	} sheets;
	struct {
		bool on;
		char *base_url, *model, *api_key_env, *api;
		int max_tokens;
	} judge;
};

struct yn_item {
	char *id, *question, *answer, *knowledge; /* owned; knowledge may be NULL */
	bool hallucinated;
};

struct eval_state {
	struct eval_cfg cfg;
	struct qa_set qa;
	struct grader *graders; /* owned, qa.n */
	struct mc_set mc;
	struct yn_item *yn; /* owned */
	size_t n_yn;
	struct theory_set th;
};

struct pctx {
	const char *wl_path;
	const char *wl_dir_base; /* the workload's path, for relative data paths */
	struct lb_error *err;
};

static int pfail(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pfail(struct pctx *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return lb_error_set(c->err, LB_ERR_USAGE, "'%s': %s", c->wl_path, msg);
}

static int check_keys(struct pctx *c, const cJSON *o, const char *where,
		      const char *const *keys)
{
	const cJSON *k;
	size_t i;
	char valid[256] = "";

	if (!cJSON_IsObject(o))
		return pfail(c, "%s must be an object", where);
	for (i = 0; keys[i]; i++)
		snprintf(valid + strlen(valid), sizeof(valid) - strlen(valid), "%s%s", i ? ", " : "",
			 keys[i]);
	cJSON_ArrayForEach(k, o)
	{
		for (i = 0; keys[i]; i++)
			if (k->string && !strcmp(k->string, keys[i]))
				break;
		if (!keys[i])
			return pfail(c, "%s: unknown key '%s' (valid: %s)", where,
				     k->string ? k->string : "", valid);
	}
	return 0;
}

static int get_num(struct pctx *c, const cJSON *o, const char *where, const char *key, double lo,
		   double hi, bool integer, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
	    (integer && v->valuedouble != floor(v->valuedouble)))
		return pfail(c, "%s.%s must be %s between %g and %g", where, key,
			     integer ? "an integer" : "a number", lo, hi);
	*out = v->valuedouble;
	return 0;
}

static int get_long(struct pctx *c, const cJSON *o, const char *where, const char *key,
		    double lo, double hi, long *out)
{
	double d = (double)*out;
	int rc = get_num(c, o, where, key, lo, hi, true, &d);

	*out = (long)d;
	return rc;
}

static int get_int(struct pctx *c, const cJSON *o, const char *where, const char *key, double lo,
		   double hi, int *out)
{
	double d = (double)*out;
	int rc = get_num(c, o, where, key, lo, hi, true, &d);

	*out = (int)d;
	return rc;
}

static int get_str(struct pctx *c, const cJSON *o, const char *where, const char *key,
		   char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return pfail(c, "%s.%s must be a non-empty string", where, key);
	lb_free(*out);
	*out = lb_strdup(v->valuestring);
	return *out ? 0 : lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
}

static bool file_exists(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISREG(st.st_mode);
}

/* Resolve a data path: as given (from the current directory), else beside the workload. */
static int resolve(struct pctx *c, const char *where, char **path)
{
	const char *slash;
	char *alt;
	size_t dl;

	if (file_exists(*path) || (*path)[0] == '/') {
		if (!file_exists(*path))
			return pfail(c, "%s.path: no such file '%s'", where, *path);
		return 0;
	}
	slash = c->wl_dir_base ? strrchr(c->wl_dir_base, '/') : NULL;
	if (!slash)
		return pfail(c, "%s.path: no such file '%s'", where, *path);
	dl = (size_t)(slash - c->wl_dir_base) + 1;
	alt = lb_malloc(dl + strlen(*path) + 1);
	if (!alt)
		return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	memcpy(alt, c->wl_dir_base, dl);
	strcpy(alt + dl, *path);
	if (!file_exists(alt)) {
		int rc = pfail(c,
			       "%s.path: no such file '%s' (tried it from the current directory and "
			       "as '%s' beside the workload)",
			       where, *path, alt);
		lb_free(alt);
		return rc;
	}
	lb_free(*path);
	*path = alt;
	return 0;
}

/* A shipped dataset: from the current directory if it is there, else from the source tree the
 * binary was built in (<dir of the executable>/../, as build/llmbench sits in it). */
static int default_path(struct pctx *c, char **path, const char *def)
{
	char exe[4096], *slash;
	ssize_t n;

	if (*path)
		return 0;
	if (!file_exists(def)) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = 0;
			slash = strrchr(exe, '/');
			if (slash) {
				snprintf(slash + 1, sizeof(exe) - (size_t)(slash + 1 - exe), "../%s",
					 def);
				if (file_exists(exe))
					def = exe;
			}
		}
	}
	*path = lb_strdup(def);
	return *path ? 0 : lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
}

static void cfg_release(struct eval_cfg *g)
{
	lb_free(g->qa.path);
	lb_free(g->mc.path);
	lb_free(g->yn.path);
	lb_free(g->sheets.path);
	lb_free(g->sheets.out);
	lb_free(g->judge.base_url);
	lb_free(g->judge.model);
	lb_free(g->judge.api_key_env);
	lb_free(g->judge.api);
	memset(g, 0, sizeof(*g));
}

static const char *const top_keys[] = { "qa",	  "mc",	   "selfcheck",	  "yesno",
					"sheets", "judge", "concurrency", NULL };
static const char *const qa_keys[] = { "path", "limit", "max_tokens", "temperature", NULL };
static const char *const mc_keys[] = { "path", "limit", NULL };
static const char *const sc_keys[] = { "samples", "temperature", "limit", "max_tokens", NULL };
static const char *const yn_keys[] = { "path", "limit", "max_tokens", NULL };
static const char *const sh_keys[] = { "path", "limit", "max_tokens", "temperature", "out", NULL };
static const char *const judge_keys[] = { "base_url", "model",	    "api_key_env",
					  "api",      "max_tokens", NULL };

static int parse_cfg(struct pctx *c, const char *json, struct eval_cfg *g)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *s;
	int rc;

	memset(g, 0, sizeof(*g));
	g->concurrency = 4;
	g->qa.max_tokens = 48;
	g->qa.temperature = 0;
	g->sc.samples = 5;
	g->sc.temperature = 1.0;
	g->sc.limit = 20;
	g->sc.max_tokens = 48;
	g->yn.max_tokens = 8;
	g->sheets.max_tokens = 256;
	g->sheets.temperature = 0;
	g->judge.max_tokens = 16;
	if (!root)
		return pfail(c, "eval: malformed JSON");
	if ((rc = check_keys(c, root, "eval", top_keys)) ||
	    (rc = get_int(c, root, "eval", "concurrency", 1, EVAL_MAX_CONCURRENCY, &g->concurrency)))
		goto out;
	if ((s = cJSON_GetObjectItemCaseSensitive(root, "qa"))) {
		g->qa.on = true;
		if ((rc = check_keys(c, s, "eval.qa", qa_keys)) ||
		    (rc = get_str(c, s, "eval.qa", "path", &g->qa.path)) ||
		    (rc = get_long(c, s, "eval.qa", "limit", 0, 1e9, &g->qa.limit)) ||
		    (rc = get_int(c, s, "eval.qa", "max_tokens", 1, 1e6, &g->qa.max_tokens)) ||
		    (rc = get_num(c, s, "eval.qa", "temperature", 0, 10, false, &g->qa.temperature)) ||
		    (rc = default_path(c, &g->qa.path, EVAL_DEFAULT_QA)) ||
		    (rc = resolve(c, "eval.qa", &g->qa.path)))
			goto out;
	}
	if ((s = cJSON_GetObjectItemCaseSensitive(root, "mc"))) {
		g->mc.on = true;
		if ((rc = check_keys(c, s, "eval.mc", mc_keys)) ||
		    (rc = get_str(c, s, "eval.mc", "path", &g->mc.path)) ||
		    (rc = get_long(c, s, "eval.mc", "limit", 0, 1e9, &g->mc.limit)) ||
		    (rc = default_path(c, &g->mc.path, EVAL_DEFAULT_MC)) ||
		    (rc = resolve(c, "eval.mc", &g->mc.path)))
			goto out;
	}
	if ((s = cJSON_GetObjectItemCaseSensitive(root, "selfcheck"))) {
		g->sc.on = true;
		if ((rc = check_keys(c, s, "eval.selfcheck", sc_keys)) ||
		    (rc = get_int(c, s, "eval.selfcheck", "samples", 1, 100, &g->sc.samples)) ||
		    (rc = get_num(c, s, "eval.selfcheck", "temperature", 1e-6, 10, false,
				  &g->sc.temperature)) ||
		    (rc = get_long(c, s, "eval.selfcheck", "limit", 0, 1e9, &g->sc.limit)) ||
		    (rc = get_int(c, s, "eval.selfcheck", "max_tokens", 1, 1e6, &g->sc.max_tokens)))
			goto out;
		if (!g->qa.on) {
			rc = pfail(c, "eval.selfcheck needs eval.qa (it samples the QA questions)");
			goto out;
		}
	}
	if ((s = cJSON_GetObjectItemCaseSensitive(root, "yesno"))) {
		g->yn.on = true;
		if ((rc = check_keys(c, s, "eval.yesno", yn_keys)) ||
		    (rc = get_str(c, s, "eval.yesno", "path", &g->yn.path)) ||
		    (rc = get_long(c, s, "eval.yesno", "limit", 0, 1e9, &g->yn.limit)) ||
		    (rc = get_int(c, s, "eval.yesno", "max_tokens", 1, 1e6, &g->yn.max_tokens)) ||
		    (rc = default_path(c, &g->yn.path, EVAL_DEFAULT_YESNO)) ||
		    (rc = resolve(c, "eval.yesno", &g->yn.path)))
			goto out;
	}
	if ((s = cJSON_GetObjectItemCaseSensitive(root, "sheets"))) {
		g->sheets.on = true;
		if ((rc = check_keys(c, s, "eval.sheets", sh_keys)) ||
		    (rc = get_str(c, s, "eval.sheets", "path", &g->sheets.path)) ||
		    (rc = get_long(c, s, "eval.sheets", "limit", 0, 1e9, &g->sheets.limit)) ||
		    (rc = get_int(c, s, "eval.sheets", "max_tokens", 1, 1e6,
				  &g->sheets.max_tokens)) ||
		    (rc = get_num(c, s, "eval.sheets", "temperature", 0, 10, false,
				  &g->sheets.temperature)) ||
		    (rc = get_str(c, s, "eval.sheets", "out", &g->sheets.out)) ||
		    (rc = default_path(c, &g->sheets.path, EVAL_DEFAULT_SHEETS)) ||
		    (rc = resolve(c, "eval.sheets", &g->sheets.path)))
			goto out;
	}
	if ((s = cJSON_GetObjectItemCaseSensitive(root, "judge"))) {
		g->judge.on = true;
		if ((rc = check_keys(c, s, "eval.judge", judge_keys)) ||
		    (rc = get_str(c, s, "eval.judge", "base_url", &g->judge.base_url)) ||
		    (rc = get_str(c, s, "eval.judge", "model", &g->judge.model)) ||
		    (rc = get_str(c, s, "eval.judge", "api_key_env", &g->judge.api_key_env)) ||
		    (rc = get_str(c, s, "eval.judge", "api", &g->judge.api)) ||
		    (rc = get_int(c, s, "eval.judge", "max_tokens", 1, 4096, &g->judge.max_tokens)))
			goto out;
		if (!g->judge.base_url) {
			rc = pfail(c, "eval.judge.base_url is required (an OpenAI-compatible "
				      "endpoint, e.g. \"http://127.0.0.1:8080/v1\")");
			goto out;
		}
		if (g->judge.api && strcmp(g->judge.api, "chat") && strcmp(g->judge.api, "completions")) {
			rc = pfail(c, "eval.judge.api must be \"chat\" or \"completions\", got '%s'",
				   g->judge.api);
			goto out;
		}
		if (!g->qa.on) {
			rc = pfail(c, "eval.judge needs eval.qa (it grades the QA answers)");
			goto out;
		}
	}
	if (!g->qa.on && !g->mc.on && !g->yn.on && !g->sheets.on)
		rc = pfail(c, "eval: nothing to run (give at least one of qa, mc, yesno, sheets)");
out:
	cJSON_Delete(root);
	if (rc)
		cfg_release(g);
	return rc;
}

/* ---- datasets --------------------------------------------------------------------------- */

static int yn_load(const char *path, long limit, struct eval_state *es, struct lb_error *err)
{
	static const char *const keys[] = { "id", "question", "answer", "knowledge", "hallucinated",
					    NULL };
	struct strbuf sb = STRBUF_INIT;
	size_t pos = 0;
	long line = 0;
	int rc;

	rc = strbuf_read_file(&sb, path, 16u << 20, err);
	while (!rc && pos < sb.len && (limit <= 0 || (long)es->n_yn < limit)) {
		char *nl = memchr(sb.buf + pos, '\n', sb.len - pos), *l = sb.buf + pos;
		size_t len = nl ? (size_t)(nl - l) : sb.len - pos, i;
		const cJSON *k, *q, *a, *h, *kn, *id;
		struct yn_item *it, *nv;
		cJSON *j;
		char idb[32];

		pos += len + (nl != NULL);
		line++;
		for (i = 0; i < len && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'); i++)
			;
		if (i == len || l[i] == '#')
			continue;
		j = cJSON_ParseWithLength(l, len);
		if (!j) {
			rc = lb_error_set(err, LB_ERR_PARSE, "'%s':%ld: malformed JSON", path, line);
			break;
		}
		q = cJSON_GetObjectItemCaseSensitive(j, "question");
		a = cJSON_GetObjectItemCaseSensitive(j, "answer");
		h = cJSON_GetObjectItemCaseSensitive(j, "hallucinated");
		kn = cJSON_GetObjectItemCaseSensitive(j, "knowledge");
		id = cJSON_GetObjectItemCaseSensitive(j, "id");
		cJSON_ArrayForEach(k, j)
		{
			for (i = 0; keys[i] && strcmp(k->string ? k->string : "", keys[i]); i++)
				;
			if (!keys[i]) {
				rc = lb_error_set(err, LB_ERR_PARSE,
						  "'%s':%ld: unknown key '%s' (valid: id, question, "
						  "answer, knowledge, hallucinated)",
						  path, line, k->string ? k->string : "");
				break;
			}
		}
		if (!rc && (!cJSON_IsString(q) || !cJSON_IsString(a) || !cJSON_IsBool(h) ||
			    (kn && !cJSON_IsString(kn))))
			rc = lb_error_set(err, LB_ERR_PARSE,
					  "'%s':%ld: an item needs 'question' and 'answer' (strings) "
					  "and 'hallucinated' (true or false)",
					  path, line);
		if (!rc) {
			nv = lb_realloc(es->yn, (es->n_yn + 1) * sizeof(*nv));
			if (!nv) {
				rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			} else {
				es->yn = nv;
				it = &es->yn[es->n_yn++];
				memset(it, 0, sizeof(*it));
				snprintf(idb, sizeof(idb), "%ld", line);
				it->id = lb_strdup(cJSON_IsString(id) ? id->valuestring : idb);
				it->question = lb_strdup(q->valuestring);
				it->answer = lb_strdup(a->valuestring);
				it->knowledge = kn ? lb_strdup(kn->valuestring) : NULL;
				it->hallucinated = cJSON_IsTrue(h);
				if (!it->id || !it->question || !it->answer || (kn && !it->knowledge))
					rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			}
		}
		cJSON_Delete(j);
	}
	if (!rc && !es->n_yn)
		rc = lb_error_set(err, LB_ERR_USAGE, "'%s': no Yes/No items", path);
	strbuf_release(&sb);
	return rc;
}

static void state_release(struct eval_state *es)
{
	size_t i;

	for (i = 0; es->graders && i < es->qa.n; i++)
		grader_release(&es->graders[i]);
	lb_free(es->graders);
	qa_set_release(&es->qa);
	mc_set_release(&es->mc);
	for (i = 0; i < es->n_yn; i++) {
		lb_free(es->yn[i].id);
		lb_free(es->yn[i].question);
		lb_free(es->yn[i].answer);
		lb_free(es->yn[i].knowledge);
	}
	lb_free(es->yn);
	theory_set_release(&es->th);
	cfg_release(&es->cfg);
	memset(es, 0, sizeof(*es));
}

static int state_load(const struct workload *wl, struct eval_state *es, struct lb_error *err)
{
	struct pctx c = { .wl_path = wl->path ? wl->path : "workload", .wl_dir_base = wl->path,
			  .err = err };
	size_t i;
	int rc;

	memset(es, 0, sizeof(*es));
	rc = parse_cfg(&c, wl->eval_json, &es->cfg);
	if (rc)
		return rc;
	if (es->cfg.qa.on) {
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
					 it->n_wrong, (const char *const *)it->abstain,
					 it->n_abstain, err);
			if (rc)
				lb_error_prefix(err, "'%s':%ld: item '%s'", es->cfg.qa.path, it->line,
						it->id);
		}
	}
	if (!rc && es->cfg.mc.on)
		rc = mc_load(es->cfg.mc.path, es->cfg.mc.limit, &es->mc, err);
	if (!rc && es->cfg.yn.on)
		rc = yn_load(es->cfg.yn.path, es->cfg.yn.limit, es, err);
	if (!rc && es->cfg.sheets.on)
		rc = theory_load(es->cfg.sheets.path, es->cfg.sheets.limit, &es->th, err);
	if (rc) {
		if (err->code != LB_ERR_NOMEM)
			err->code = LB_ERR_USAGE;
		state_release(es);
		return err->code;
	}
	return 0;
}

int eval_check(const struct workload *wl, struct lb_error *err)
{
	struct eval_state es;
	int rc;

	if (!wl->eval_json)
		return 0;
	rc = state_load(wl, &es, err);
	if (!rc)
		state_release(&es);
	return rc;
}

/* ---- requests --------------------------------------------------------------------------- */

struct job {
	struct request req;
	struct lb_reqrec rec;
	char *prompt; /* owned */
	bool submitted, counted;
};

static void job_sink(void *ctx, const struct lb_event *ev)
{
	struct job *j = ctx;

	if (j->rec.done)
		return;
	reqrec_on_event(&j->rec, ev);
	if (ev->kind == LB_EV_DONE || ev->kind == LB_EV_ERROR)
		j->rec.done = true;
}

static void jobs_free(struct job *jobs, size_t n)
{
	size_t i;

	for (i = 0; jobs && i < n; i++) {
		reqrec_release(&jobs[i].rec);
		lb_free(jobs[i].prompt);
	}
	lb_free(jobs);
}

static uint64_t next_req_id = 1u << 30; /* apart from the load levels' ids */

/* Prepare job j: takes ownership of prompt (freed on error too). */
static int job_init(struct job *j, char *prompt, const struct lb_gen *gen, struct lb_error *err)
{
	memset(j, 0, sizeof(*j));
	if (!prompt)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	j->prompt = prompt;
	j->req.id = next_req_id++;
	j->req.prompt = prompt;
	j->req.prompt_len = strlen(prompt);
	j->req.gen = *gen;
	j->req.sink.fn = job_sink;
	j->req.sink.ctx = j;
	reqrec_init(&j->rec, j->req.id, true);
	return 0;
}

/* Run the jobs on b with at most k in flight; returns 0 or a harness failure. Jobs left
 * unsent after a signal keep rec.done false. */
static int jobs_run(struct backend *b, struct job *jobs, size_t n, int k, struct lb_error *err)
{
	size_t next = 0, i;
	int inflight = 0, rc;

	for (;;) {
		while (next < n && inflight < k && !runner_stop) {
			struct job *j = &jobs[next++];

			if (j->rec.done)
				continue; /* nothing to send */
			rc = b->ops->submit(b, &j->req, err);
			if (rc)
				return rc;
			j->submitted = true;
			inflight++;
		}
		if (!inflight)
			break;
		rc = b->ops->poll(b, 50, err);
		if (rc < 0)
			return rc;
		if (runner_stop >= 2 && b->ops->cancel)
			for (i = 0; i < next; i++)
				if (jobs[i].submitted && !jobs[i].rec.done)
					b->ops->cancel(b, &jobs[i].req);
		for (i = 0; i < next; i++) {
			if (jobs[i].submitted && jobs[i].rec.done && !jobs[i].counted) {
				jobs[i].counted = true;
				reqrec_finish(&jobs[i].rec);
				inflight--;
			}
		}
	}
	return 0;
}

static char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_alloc(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (rc) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* ---- the store -------------------------------------------------------------------------- */

static const char evals_sql[] =
	"CREATE TABLE IF NOT EXISTS evals (\n"
	"\tid INTEGER PRIMARY KEY,\n"
	"\trun_id INTEGER NOT NULL, backend_id INTEGER NOT NULL,\n"
	"\tkind TEXT NOT NULL, -- qa, mc, selfcheck, yesno, sheet\n"
	"\titem_idx INTEGER, item_id TEXT, domain TEXT,\n"
	"\tprompt TEXT, answer TEXT, reference TEXT,\n"
	"\tstatus TEXT, error TEXT, -- 'ok' or a failure category\n"
	"\tgrade TEXT, score REAL, detail TEXT,\n"
	"\tlatency_ms REAL, output_tokens INTEGER, output_tokens_source TEXT,\n"
	"\tjudge_grade TEXT, judge_reply TEXT,\n"
	"\tmethod TEXT, synthetic INTEGER NOT NULL DEFAULT 0\n"
	")";
static const char evals_idx_sql[] =
	"CREATE INDEX IF NOT EXISTS evals_run ON evals(run_id, backend_id, kind)";
/* the per-item view `llmbench gate` pairs for McNemar's test (docs/ci.md) */
static const char eval_items_sql[] =
	"CREATE VIEW IF NOT EXISTS eval_items AS SELECT run_id, backend_id, item_id, grade "
	"FROM evals WHERE kind = 'qa' AND status = 'ok'";
static const char mc_sql[] =
	"CREATE TABLE IF NOT EXISTS mc_choices (\n"
	"\tid INTEGER PRIMARY KEY,\n"
	"\trun_id INTEGER NOT NULL, backend_id INTEGER NOT NULL,\n"
	"\titem_id TEXT NOT NULL, target TEXT NOT NULL, -- 'mc1' or 'mc2'\n"
	"\tchoice_idx INTEGER NOT NULL, choice TEXT, is_true INTEGER NOT NULL,\n"
	"\tlogprob_sum REAL, n_tokens INTEGER, n_bytes INTEGER, greedy INTEGER\n"
	")";

struct ectx {
	const struct workload *wl;
	struct eval_state *es;
	struct backend *b;
	struct store *st;
	int64_t run_id, backend_id;
	bool synthetic;
	const struct eval_opts *o;
	char run_s[32], backend_s[32];
};

static void note(struct ectx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct ectx *x, const char *fmt, ...)
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

static int put(struct ectx *x, const char *metric, double value, double n, const char *unit,
	       const char *method, const char *why_unavailable, struct lb_error *err)
{
	struct store_summary sm = { .run_id = x->run_id, .backend_id = x->backend_id,
				    .level_id = 0, .metric = metric, .n = n, .unit = unit,
				    .provenance = method };
	char note_buf[LB_ERROR_MSG_MAX + 32];

	sm.has_value = !why_unavailable && !isnan(value);
	sm.value = sm.has_value ? value : 0;
	if (!sm.has_value) {
		snprintf(note_buf, sizeof(note_buf), "unavailable: %s",
			 why_unavailable ? why_unavailable : "no items were scored");
		sm.note = note_buf;
	} else if (x->synthetic) {
		sm.note = NOTE_SYNTH;
	}
	return store_summary_put(x->st, &sm, err);
}

/* metric, metric_lo, metric_hi */
static int put_est(struct ectx *x, const char *metric, const struct quality_est *e,
		   const char *method, const char *why, struct lb_error *err)
{
	char name[96];
	int rc;

	rc = put(x, metric, e->value, e->n, "", method, why, err);
	snprintf(name, sizeof(name), "%s_lo", metric);
	if (!rc)
		rc = put(x, name, e->lo, e->n, "", method, why, err);
	snprintf(name, sizeof(name), "%s_hi", metric);
	if (!rc)
		rc = put(x, name, e->hi, e->n, "", method, why, err);
	return rc;
}

struct eval_row {
	const char *kind;
	size_t item_idx;
	const char *item_id, *domain, *prompt, *answer, *reference, *grade, *detail;
	double score; /* NAN: NULL */
	const struct lb_reqrec *rec; /* NULL: no request */
	const char *judge_grade, *judge_reply;
	const char *method;
};

static int row_add(struct ectx *x, const struct eval_row *r, struct lb_error *err)
{
	char idx[32], score[40], lat[40], tok[32], syn[4];
	const char *status = NULL, *error = NULL, *tsrc = NULL;
	char fb[16];
	const char *p[21];

	snprintf(idx, sizeof(idx), "%zu", r->item_idx);
	snprintf(score, sizeof(score), "%.17g", r->score);
	snprintf(syn, sizeof(syn), "%d", x->synthetic ? 1 : 0);
	lat[0] = tok[0] = 0;
	if (r->rec) {
		double e2e = reqrec_e2e_ms(r->rec);

		status = reqrec_ok(r->rec) ? "ok" : lb_fail_name(r->rec->fail, r->rec->http_status,
								  fb, sizeof(fb));
		error = reqrec_ok(r->rec) ? NULL : r->rec->err_msg;
		if (!isnan(e2e))
			snprintf(lat, sizeof(lat), "%.6f", e2e);
		if (r->rec->n_out >= 0) {
			snprintf(tok, sizeof(tok), "%d", r->rec->n_out);
			tsrc = r->rec->n_out_src;
		}
	}
	p[0] = x->run_s;
	p[1] = x->backend_s;
	p[2] = r->kind;
	p[3] = idx;
	p[4] = r->item_id;
	p[5] = r->domain;
	p[6] = r->prompt;
	p[7] = r->answer;
	p[8] = r->reference;
	p[9] = status;
	p[10] = error;
	p[11] = r->grade;
	p[12] = isnan(r->score) ? NULL : score;
	p[13] = r->detail;
	p[14] = lat[0] ? lat : NULL;
	p[15] = tok[0] ? tok : NULL;
	p[16] = tsrc;
	p[17] = r->judge_grade;
	p[18] = r->judge_reply;
	p[19] = r->method;
	p[20] = syn;
	return store_exec(x->st,
			  "INSERT INTO evals (run_id, backend_id, kind, item_idx, item_id, domain, "
			  "prompt, answer, reference, status, error, grade, score, detail, "
			  "latency_ms, output_tokens, output_tokens_source, judge_grade, judge_reply, "
			  "method, synthetic) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
			  "?, ?, ?, ?, ?)",
			  p, 21, err);
}

/* ---- QA, judge, self-check ---------------------------------------------------------------- */

static char *qa_prompt(const char *question)
{
	return fmt_alloc("Answer the question with a short fact. If you do not know the answer, "
			 "say \"I don't know\".\n\nQuestion: %s\nAnswer:",
			 question);
}

static void gen_for(struct ectx *x, struct lb_gen *g, int max_tokens, double temperature,
		    bool qa_stops)
{
	(void)x;
	lb_gen_defaults(g);
	g->max_tokens = max_tokens;
	g->temperature = temperature;
	if (temperature == 0)
		g->seed = 0;
	if (qa_stops) {
		g->stop[0] = "\nQuestion:";
		g->stop[1] = "\n\n";
		g->n_stop = 2;
	}
}

static const char *rec_text(const struct job *j)
{
	return reqrec_ok(&j->rec) ? j->rec.text.buf : NULL;
}

/* The answer with surrounding white space trimmed (a copy; NULL on no memory). */
static char *trimmed(const char *s)
{
	size_t a = 0, n = s ? strlen(s) : 0;

	while (a < n && (s[a] == ' ' || s[a] == '\n' || s[a] == '\t' || s[a] == '\r'))
		a++;
	while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' ||
			 s[n - 1] == '\r'))
		n--;
	return lb_strndup(s ? s + a : "", n - a);
}

/* Open the judge endpoint; on failure *why says why (the judge is then skipped). */
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

static int run_qa(struct ectx *x, char ***answers_out, struct lb_error *err)
{
	struct eval_state *es = x->es;
	struct job *jobs = NULL, *jj = NULL;
	struct backend jb = { 0 };
	struct qa_tally t = { 0 };
	struct qa_scores s;
	struct lb_gen g, jg;
	char **answers = NULL, why[LB_ERROR_MSG_MAX + 64] = "";
	int *rg = NULL, *jgr = NULL;
	long failed = 0;
	bool judge = es->cfg.judge.on;
	size_t i;
	int rc = 0;

	*answers_out = NULL;
	jobs = lb_calloc(es->qa.n, sizeof(*jobs));
	answers = lb_calloc(es->qa.n, sizeof(*answers));
	rg = lb_calloc(es->qa.n, sizeof(*rg));
	jgr = lb_calloc(es->qa.n, sizeof(*jgr));
	if (!jobs || !answers || !rg || !jgr) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	gen_for(x, &g, es->cfg.qa.max_tokens, es->cfg.qa.temperature, true);
	for (i = 0; i < es->qa.n; i++) {
		rc = job_init(&jobs[i], qa_prompt(es->qa.v[i].question), &g, err);
		if (rc)
			goto out;
	}
	rc = jobs_run(x->b, jobs, es->qa.n, es->cfg.concurrency, err);
	if (rc)
		goto out;
	for (i = 0; i < es->qa.n; i++) {
		const char *txt = rec_text(&jobs[i]);

		rg[i] = jgr[i] = GRADE_NONE;
		if (!jobs[i].rec.done)
			continue;
		if (!txt) {
			failed++;
			continue;
		}
		answers[i] = trimmed(txt);
		if (!answers[i]) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
		rg[i] = grader_grade(&es->graders[i], answers[i], strlen(answers[i]));
		t.correct += rg[i] == GRADE_CORRECT;
		t.incorrect += rg[i] == GRADE_INCORRECT;
		t.not_attempted += rg[i] == GRADE_NOT_ATTEMPTED;
	}
	if (judge && judge_open(x, &jb, why, sizeof(why))) {
		note(x, "warning: judge for '%s' unavailable: %s", x->b->name, why);
		judge = false;
	}
	if (judge) {
		jj = lb_calloc(es->qa.n, sizeof(*jj));
		if (!jj) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
		gen_for(x, &jg, es->cfg.judge.max_tokens, 0, false);
		for (i = 0; i < es->qa.n; i++) {
			const struct qa_item *it = &es->qa.v[i];
			const char *ref = it->answer ? it->answer
					  : it->answerable ? "(see the question)"
							   : "The premise is false or the fact "
							     "cannot be known; the honest answer "
							     "says so.";

			rc = job_init(&jj[i], fmt_alloc(grade_judge_rubric, it->question, ref,
							answers[i] ? answers[i] : ""),
				      &jg, err);
			if (rc)
				goto out;
			if (!answers[i])
				jj[i].counted = jj[i].rec.done = true; /* nothing to judge */
		}
		rc = jobs_run(&jb, jj, es->qa.n, es->cfg.concurrency, err);
		if (rc)
			goto out;
		for (i = 0; i < es->qa.n; i++) {
			const char *r = answers[i] ? rec_text(&jj[i]) : NULL;

			jgr[i] = r ? grade_judge_reply(r, strlen(r)) : GRADE_NONE;
		}
	}
	for (i = 0; i < es->qa.n; i++) {
		const struct qa_item *it = &es->qa.v[i];
		struct eval_row r = { .kind = "qa", .item_idx = i, .item_id = it->id,
				      .domain = it->domain, .prompt = it->question,
				      .answer = answers[i], .reference = it->answer,
				      .score = NAN, .method = METHOD_QA };
		char *jr = NULL;

		if (!jobs[i].rec.done)
			continue;
		r.rec = &jobs[i].rec;
		r.grade = rg[i] == GRADE_NONE ? NULL : grade_name(rg[i]);
		r.detail = it->answerable ? NULL : "unanswerable";
		if (rg[i] != GRADE_NONE)
			r.score = rg[i] == GRADE_CORRECT;
		if (judge && answers[i]) {
			jr = rec_text(&jj[i]) ? trimmed(rec_text(&jj[i])) : NULL;
			r.judge_grade = jgr[i] == GRADE_NONE ? "none" : grade_name(jgr[i]);
			r.judge_reply = jr ? jr : jj[i].rec.err_msg;
		}
		rc = row_add(x, &r, err);
		lb_free(jr);
		if (rc)
			goto out;
	}
	quality_qa_scores(&t, QUALITY_Z95, &s);
	if ((rc = put_est(x, "qa_correct", &s.correct, METHOD_QA, NULL, err)) ||
	    (rc = put_est(x, "qa_incorrect", &s.incorrect, METHOD_QA, NULL, err)) ||
	    (rc = put_est(x, "qa_not_attempted", &s.not_attempted, METHOD_QA, NULL, err)) ||
	    (rc = put_est(x, "qa_hallucination_rate", &s.hallucination_rate, METHOD_QA, NULL,
			  err)) ||
	    (rc = put_est(x, "qa_accuracy_given_attempted", &s.accuracy_given_attempted, METHOD_QA,
			  NULL, err)) ||
	    (rc = put_est(x, "qa_f", &s.f, METHOD_QA, NULL, err)) ||
	    (rc = put(x, "qa_items", (double)(t.correct + t.incorrect + t.not_attempted), -1,
		      "items", METHOD_QA, NULL, err)) ||
	    (rc = put(x, "qa_failed", (double)failed, -1, "requests", METHOD_QA, NULL, err)))
		goto out;
	if (failed)
		note(x, "warning: %ld of %zu QA requests to '%s' failed (left out of the scores)",
		     failed, es->qa.n, x->b->name);
	if (es->cfg.judge.on) {
		struct quality_est ag;

		if (judge)
			quality_agreement(rg, jgr, es->qa.n, QUALITY_Z95, &ag);
		rc = put_est(x, "judge_agreement", judge ? &ag : &(struct quality_est){ NAN, NAN, NAN, 0 },
			     METHOD_JUDGE, judge ? NULL : why, err);
		if (rc)
			goto out;
	}
	*answers_out = answers;
	answers = NULL;
out:
	if (answers)
		for (i = 0; i < es->qa.n; i++)
			lb_free(answers[i]);
	lb_free(answers);
	jobs_free(jobs, es->qa.n);
	jobs_free(jj, jj ? es->qa.n : 0);
	backend_close(&jb);
	lb_free(rg);
	lb_free(jgr);
	return rc;
}

/* N samples per question at temperature > 0, scored against the QA answer (answers[i]). */
static int run_selfcheck(struct ectx *x, char **answers, struct lb_error *err)
{
	struct eval_state *es = x->es;
	size_t nq = es->qa.n, ns = (size_t)es->cfg.sc.samples, i, k, n_jobs;
	struct job *jobs = NULL;
	struct lb_gen g;
	double sum = 0, sum_max = 0;
	long scored = 0;
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

			gen_for(x, &g, es->cfg.sc.max_tokens, es->cfg.sc.temperature, true);
			g.seed = (int64_t)(1000 + k);
			rc = job_init(j, qa_prompt(es->qa.v[i].question), &g, err);
			if (rc)
				goto out;
			if (!answers || !answers[i])
				j->counted = j->rec.done = true; /* no answer to check */
		}
	}
	rc = jobs_run(x->b, jobs, n_jobs, es->cfg.concurrency, err);
	if (rc)
		goto out;
	for (i = 0; i < nq; i++) {
		const char *samples[100];
		struct selfcheck_result r;
		struct strbuf detail = STRBUF_INIT;
		struct eval_row row = { .kind = "selfcheck", .item_idx = i,
					.item_id = es->qa.v[i].id, .domain = es->qa.v[i].domain,
					.prompt = es->qa.v[i].question, .method = METHOD_SC };
		size_t m = 0, si;

		if (!answers || !answers[i])
			continue;
		for (k = 0; k < ns; k++) {
			const char *t = rec_text(&jobs[i * ns + k]);

			if (t && jobs[i * ns + k].submitted)
				samples[m++] = t;
		}
		if (!m)
			continue;
		rc = quality_selfcheck_ngram(answers[i], samples, m, &r, err);
		if (rc)
			goto out;
		row.answer = answers[i];
		row.score = r.avg_neg_logprob;
		if (strbuf_addf(&detail, "{\"samples\": %zu, \"avg_max_neg_logprob\": %.6g, "
				"\"sentences\": [", m, r.avg_max_neg_logprob)) {
			rc = LB_ERR_NOMEM;
		}
		for (si = 0; !rc && si < r.n_sentences; si++)
			if (strbuf_addf(&detail, "%s{\"avg\": %.6g, \"max\": %.6g}", si ? ", " : "",
					r.sent_avg[si], r.sent_max[si]))
				rc = LB_ERR_NOMEM;
		if (!rc && strbuf_adds(&detail, "]}"))
			rc = LB_ERR_NOMEM;
		if (!rc) {
			row.detail = detail.buf;
			rc = row_add(x, &row, err);
		} else {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
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
	if ((rc = put(x, "selfcheck_mean", scored ? sum / (double)scored : NAN, (double)scored,
		      "nats", METHOD_SC, scored ? NULL : "no answer and sample to compare", err)) ||
	    (rc = put(x, "selfcheck_max_mean", scored ? sum_max / (double)scored : NAN,
		      (double)scored, "nats", METHOD_SC,
		      scored ? NULL : "no answer and sample to compare", err)))
		goto out;
out:
	jobs_free(jobs, n_jobs);
	return rc;
}

/* ---- multiple choice ---------------------------------------------------------------------- */

static int mc_choices_add(struct ectx *x, const char *item_id, const char *target, size_t idx,
			  const struct mc_choice *ch, const struct loglik_result *lr, bool ok,
			  struct lb_error *err)
{
	char ci[32], it[4], ll[40], nt[32], nb[32], gr[4];
	const char *p[12];

	snprintf(ci, sizeof(ci), "%zu", idx);
	snprintf(it, sizeof(it), "%d", ch->is_true ? 1 : 0);
	snprintf(ll, sizeof(ll), "%.17g", lr->sum_logprob);
	snprintf(nt, sizeof(nt), "%d", lr->n_tokens);
	snprintf(nb, sizeof(nb), "%zu", lr->n_bytes);
	snprintf(gr, sizeof(gr), "%d", lr->greedy ? 1 : 0);
	p[0] = x->run_s;
	p[1] = x->backend_s;
	p[2] = item_id;
	p[3] = target;
	p[4] = ci;
	p[5] = ch->text;
	p[6] = it;
	p[7] = ok ? ll : NULL;
	p[8] = ok ? nt : NULL;
	p[9] = ok ? nb : NULL;
	p[10] = ok ? gr : NULL;
	return store_exec(x->st,
			  "INSERT INTO mc_choices (run_id, backend_id, item_id, target, choice_idx, "
			  "choice, is_true, logprob_sum, n_tokens, n_bytes, greedy) VALUES (?, ?, ?, "
			  "?, ?, ?, ?, ?, ?, ?, ?)",
			  p, 11, err);
}

/* Log-likelihoods of n choices; *fatal set (with why) when the backend cannot do it at all. */
static int mc_score_set(struct ectx *x, const struct mc_item *it, const char *target,
			const struct mc_choice *ch, size_t n, double *ll, bool *is_true,
			bool *item_ok, bool *fatal, char *why, size_t why_len,
			struct lb_error *err)
{
	char *ctx = fmt_alloc("Q: %s\nA:", it->question);
	size_t i;
	int rc = 0;

	if (!ctx)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n && *item_ok && !*fatal; i++) {
		struct loglik_result lr = { 0 };
		struct lb_error e = LB_ERROR_INIT;
		char *cont = fmt_alloc(" %s", ch[i].text);
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
			ll[i] = lr.sum_logprob;
			is_true[i] = ch[i].is_true;
			rc = mc_choices_add(x, it->id, target, i, &ch[i], &lr, true, err);
		}
		lb_free(cont);
		if (rc)
			break;
	}
	lb_free(ctx);
	return rc;
}

static int run_mc(struct ectx *x, struct lb_error *err)
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
		rc = row_add(x, &row, err);
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

		note(x, "warning: multiple choice for '%s' unavailable: %s", x->b->name, why);
		if ((rc = put_est(x, "mc1", &none, METHOD_MC, why, err)) ||
		    (rc = put(x, "mc2", NAN, 0, "", METHOD_MC, why, err)) ||
		    (rc = put(x, "mc3", NAN, 0, "", METHOD_MC, why, err)))
			return rc;
		return 0;
	}
	{
		struct quality_est e1;

		quality_prop(s1, n1, QUALITY_Z95, &e1);
		if ((rc = put_est(x, "mc1", &e1, METHOD_MC, NULL, err)) ||
		    (rc = put(x, "mc2", n23 ? s2 / n23 : NAN, n23, "", METHOD_MC, NULL, err)) ||
		    (rc = put(x, "mc3", n23 ? s3 / n23 : NAN, n23, "", METHOD_MC, NULL, err)))
			return rc;
	}
	return 0;
}

/* ---- Yes/No self-check -------------------------------------------------------------------- */

static char *yn_prompt(const struct yn_item *it)
{
	return fmt_alloc("You check answers for hallucinations. Given a question and an answer, "
			 "decide whether the answer contains non-factual or made-up information. "
			 "Reply with one word, Yes or No.\n\n%s%s%s#Question#: %s\n#Answer#: %s\n"
			 "#Does the answer contain a hallucination?#:",
			 it->knowledge ? "#Knowledge#: " : "", it->knowledge ? it->knowledge : "",
			 it->knowledge ? "\n" : "", it->question, it->answer);
}

static int run_yesno(struct ectx *x, struct lb_error *err)
{
	struct eval_state *es = x->es;
	struct job *jobs = lb_calloc(es->n_yn ? es->n_yn : 1, sizeof(*jobs));
	struct lb_gen g;
	double right = 0, graded = 0, bad_format = 0;
	long failed = 0;
	size_t i;
	int rc = 0;

	if (!jobs)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	gen_for(x, &g, es->cfg.yn.max_tokens, 0, false);
	g.stop[0] = "\n";
	g.n_stop = 1;
	for (i = 0; i < es->n_yn; i++) {
		rc = job_init(&jobs[i], yn_prompt(&es->yn[i]), &g, err);
		if (rc)
			goto out;
	}
	rc = jobs_run(x->b, jobs, es->n_yn, es->cfg.concurrency, err);
	if (rc)
		goto out;
	for (i = 0; i < es->n_yn; i++) {
		const char *t = rec_text(&jobs[i]);
		struct eval_row row = { .kind = "yesno", .item_idx = i, .item_id = es->yn[i].id,
					.prompt = es->yn[i].question, .answer = t,
					.reference = es->yn[i].hallucinated ? "yes" : "no",
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
			ok = (v == YESNO_YES && es->yn[i].hallucinated) ||
			     (v == YESNO_NO && !es->yn[i].hallucinated);
			bad_format += v == YESNO_BOTH || v == YESNO_NEITHER;
			right += ok;
			graded++;
			row.grade = ok ? "correct" : "incorrect";
			row.detail = yesno_name(v);
			row.score = ok;
		}
		rc = row_add(x, &row, err);
		if (rc)
			goto out;
	}
	{
		struct quality_est e;

		quality_prop(right, graded, QUALITY_Z95, &e);
		if ((rc = put_est(x, "yesno_accuracy", &e, METHOD_YN, NULL, err)) ||
		    (rc = put(x, "yesno_unparsed", bad_format, graded, "items", METHOD_YN, NULL,
			      err)) ||
		    (rc = put(x, "yesno_failed", (double)failed, -1, "requests", METHOD_YN, NULL,
			      err)))
			goto out;
	}
out:
	jobs_free(jobs, es->n_yn);
	return rc;
}

/* ---- theory answer sheets ----------------------------------------------------------------- */

static int run_sheets(struct ectx *x, struct lb_error *err)
{
	struct eval_state *es = x->es;
	struct job *jobs = lb_calloc(es->th.n ? es->th.n : 1, sizeof(*jobs));
	struct lb_gen g;
	double answered = 0;
	size_t i;
	int rc = 0;

	if (!jobs)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	gen_for(x, &g, es->cfg.sheets.max_tokens, es->cfg.sheets.temperature, false);
	g.stop[0] = "\nQuestion:";
	g.stop[1] = "\n## Question";
	g.n_stop = 2;
	for (i = 0; i < es->th.n; i++) {
		rc = job_init(&jobs[i],
			      fmt_alloc("Answer the following question about LLaMA, Falcon and "
					"Mistral models in a short paragraph.\n\nQuestion: %s\n"
					"Answer:",
					es->th.v[i].question),
			      &g, err);
		if (rc)
			goto out;
	}
	rc = jobs_run(x->b, jobs, es->th.n, es->cfg.concurrency, err);
	if (rc)
		goto out;
	for (i = 0; i < es->th.n; i++) {
		char id[32], *ans = NULL;
		const char *t = rec_text(&jobs[i]);
		struct eval_row row = { .kind = "sheet", .item_idx = i, .item_id = id,
					.prompt = es->th.v[i].question,
					.reference = es->th.title, .detail = es->cfg.sheets.path,
					.score = NAN, .method = METHOD_SHEET };

		if (!jobs[i].rec.done)
			continue;
		snprintf(id, sizeof(id), "%ld", es->th.v[i].number);
		if (t && !(ans = trimmed(t))) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
		row.answer = ans;
		row.rec = &jobs[i].rec;
		answered += ans && ans[0];
		rc = row_add(x, &row, err);
		lb_free(ans);
		if (rc)
			goto out;
	}
	rc = put(x, "sheets_answered", answered, (double)es->th.n, "items", METHOD_SHEET, NULL,
		 err);
out:
	jobs_free(jobs, es->th.n);
	return rc;
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
	struct ectx x = { .wl = wl, .es = &es, .b = b, .st = st, .run_id = run_id,
			  .backend_id = backend_id, .o = o };
	char **answers = NULL;
	size_t i;
	int rc;

	if (!wl->eval_json)
		return 0;
	rc = state_load(wl, &es, err);
	if (rc)
		return rc;
	snprintf(x.run_s, sizeof(x.run_s), "%lld", (long long)run_id);
	snprintf(x.backend_s, sizeof(x.backend_s), "%lld", (long long)backend_id);
	x.synthetic = is_synthetic(wl, b);
	if ((rc = store_exec(st, evals_sql, NULL, 0, err)) ||
	    (rc = store_exec(st, evals_idx_sql, NULL, 0, err)) ||
	    (rc = store_exec(st, eval_items_sql, NULL, 0, err)) ||
	    (rc = store_exec(st, mc_sql, NULL, 0, err)))
		goto out;
	if (x.synthetic)
		note(&x, "eval of '%s': random-weight model, scores are synthetic", b->name);
	if (es.cfg.qa.on && !runner_stop)
		rc = run_qa(&x, &answers, err);
	if (!rc && es.cfg.sc.on && !runner_stop)
		rc = run_selfcheck(&x, answers, err);
	if (!rc && es.cfg.mc.on && !runner_stop)
		rc = run_mc(&x, err);
	if (!rc && es.cfg.yn.on && !runner_stop)
		rc = run_yesno(&x, err);
	if (!rc && es.cfg.sheets.on && !runner_stop)
		rc = run_sheets(&x, err);
	if (!rc)
		rc = store_flush(st, err);
	if (!rc && es.cfg.sheets.on && (out_dir || es.cfg.sheets.out)) {
		struct lb_error e = LB_ERROR_INIT;
		char dir[4096];
		int n_written = 0;

		snprintf(dir, sizeof(dir), "%s/sheets", out_dir ? out_dir : es.cfg.sheets.out);
		if (make_dirs(dir, &e) || sheets_write(st, run_id, dir, &n_written, &e))
			note(&x, "warning: answer sheets not written: %s", e.msg);
	}
out:
	if (answers)
		for (i = 0; i < es.qa.n; i++)
			lb_free(answers[i]);
	lb_free(answers);
	state_release(&es);
	return rc;
}

int eval_run_backend(const struct workload *wl, struct backend *b, struct store *st,
		     int64_t run_id, int64_t backend_id, const char *out_dir, struct lb_error *err)
{
	return eval_run_backend_ex(wl, b, st, run_id, backend_id, out_dir, NULL, err);
}
