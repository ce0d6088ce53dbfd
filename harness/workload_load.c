/* workload_load.c: the workload's "dataset", "perplexity", "generation", "load" (levels, sweep,
 * SLA search, cancel) and "slo" sections. Part of the workload parser (workload_int.h). */
#include "workload_int.h"

#include "../datasets/dataset.h"
#include "../base/alloc.h"
#include "../base/jsoncfg.h"
#include "../base/strbuf.h"
#include "../base/suggest.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_folder(const char *path)
{
	struct stat sb;

	return !stat(path, &sb) && S_ISDIR(sb.st_mode);
}

static const char *const perplexity_keys[] = { "text", "ctx", "batch", "chunks", "kld", NULL };
static const char *const dataset_keys[] = {
	"path", "format", "limit", "shuffle", "seed", "token_ids", "reference_lengths", NULL
};
static const char *const gen_keys[] = {
	"max_tokens", "temperature", "top_p",    "top_k", "seed",
	"ignore_eos", "stop",        "logprobs", NULL,
};
static const char *const load_keys[] = {
	"mode",       "levels",         "requests",   "warmup",     "duration_s",
	"repeat",     "arrival",        "burstiness", "seed",       "lag_bound_ms",
	"max_errors", "max_error_rate", "warmup_s",   "cooldown",   "max_inflight",
	"overflow",   "ramp_up_s",      "ramp",       "stagger_ms", "sweep_points",
	"search",     "cancel",         "sessions",   "workers",    NULL,
};
static const char *const cancel_keys[] = { "fraction", "after_ms", "after_tokens", NULL };
static const char *const search_keys[] = { "over", "start", "max", "steps", "target", NULL };
static const char *const overflow_list[] = { "queue", "drop", NULL };
static const char *const ramp_list[] = { "linear", "exponential", NULL };
static const char *const over_list[] = { "concurrency", "rate", NULL };
static const char *const slo_keys[] = { "ttft_ms", "tpot_ms", "e2e_ms", NULL };
static const char *const mode_list[] = { "concurrency", "rate",     "sweep",        "sla",
					 "trace",       "sessions", "session_rate", NULL };
static const char *const arrival_list[] = { "constant", "poisson", "gamma", NULL };

/* ---- dataset, generation, load, slo ----------------------------------------------------- */

static const char *format_from_ext(const char *path)
{
	size_t n = strlen(path);

	if (n > 6 && !strcmp(path + n - 6, ".jsonl"))
		return "jsonl";
	if (n > 5 && !strcmp(path + n - 5, ".json"))
		return "sharegpt";
	return "lines";
}

int wl_parse_dataset(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *d = item(root, "dataset");
	struct wl_dataset *ds = &c->wl->dataset;
	const char *given = NULL, *format = NULL, *resolved, *tried, *reflen = NULL;
	double seed = 0;
	bool found;
	int rc;

	if (!d) {
		if (item(root, "eval") || item(root, "perplexity"))
			return 0;
		return wl_fail(c, "dataset is required (an object with path and format, e.g. "
				  "{\"path\": \"datasets/prompts/llm-questions.txt\", \"format\": "
				  "\"lines\"})");
	}
	if ((rc = wl_object_at(c, d, "dataset")) ||
	    (rc = wl_check_keys(c, d, "dataset", dataset_keys)) ||
	    (rc = wl_get_string(c, d, "dataset", "path", true, &given)) ||
	    (rc = wl_get_string(c, d, "dataset", "format", false, &format)) ||
	    (rc = wl_get_long(c, d, "dataset", "limit", 0, LONG_MAX, &ds->limit)) ||
	    (rc = wl_get_bool(c, d, "dataset", "shuffle", &ds->shuffle)) ||
	    (rc = wl_get_bool(c, d, "dataset", "token_ids", &ds->token_ids)) ||
	    (rc = wl_get_int(c, d, "dataset", "seed", 0, WL_MAX_INT, &seed, NULL)) ||
	    (rc = wl_get_string(c, d, "dataset", "reference_lengths", false, &reflen)))
		return rc;
	ds->seed = (uint64_t)seed;
	ds->reference_lengths = (char *)reflen;
	if (!format)
		format = format_from_ext(given);
	if (!dataset_find(format))
		return wl_fail(c, "dataset.format: unknown format '%s' (valid: %s)", format,
			       dataset_formats());
	ds->format = (char *)format;
	rc = wl_resolve_path(c, given, &resolved, &tried, &found);
	if (rc)
		return rc;
	if (!found) {
		if (tried)
			return wl_fail(
				c,
				"dataset.path: no such file '%s' (tried '%s' from the current "
				"directory and '%s' beside the workload)",
				given, given, tried);
		return wl_fail(c, "dataset.path: no such file '%s'", given);
	}
	if (is_folder(resolved))
		return wl_fail(c, "dataset.path: '%s' is a folder; give the prompt file in it",
			       resolved);
	ds->path = (char *)resolved;
	return 0;
}

int wl_parse_perplexity(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *d = item(root, "perplexity");
	struct wl_perplexity *pp = &c->wl->ppl;
	const char *given = NULL, *resolved, *tried;
	double v;
	bool found, set;
	int rc;

	pp->ctx = 128;
	pp->batch = 2048;
	pp->kld = true;
	if (!d)
		return 0;
	if ((rc = wl_object_at(c, d, "perplexity")) ||
	    (rc = wl_check_keys(c, d, "perplexity", perplexity_keys)) ||
	    (rc = wl_get_string(c, d, "perplexity", "text", true, &given)) ||
	    (rc = wl_get_bool(c, d, "perplexity", "kld", &pp->kld)))
		return rc;
	if ((rc = wl_get_int(c, d, "perplexity", "ctx", 8, 1 << 20, &v, &set)))
		return rc;
	if (set)
		pp->ctx = (int)v;
	if ((rc = wl_get_int(c, d, "perplexity", "batch", 1, 1 << 20, &v, &set)))
		return rc;
	if (set)
		pp->batch = (int)v;
	if ((rc = wl_get_int(c, d, "perplexity", "chunks", 0, 1 << 20, &v, &set)))
		return rc;
	if (set)
		pp->chunks = (int)v;
	rc = wl_resolve_path(c, given, &resolved, &tried, &found);
	if (rc)
		return rc;
	if (!found)
		return wl_fail(c, "perplexity.text: no such file '%s'%s%s%s", given,
			       tried ? " (also tried '" : "", tried ? tried : "",
			       tried ? "')" : "");
	if (is_folder(resolved))
		return wl_fail(c, "perplexity.text: '%s' is a folder; give the text file in it",
			       resolved);
	pp->text = (char *)resolved;
	return 0;
}

static int parse_stop(struct wl_ctx *c, const cJSON *g, struct lb_gen *gen)
{
	const cJSON *s = item(g, "stop"), *e;
	char path[PATH_MAX_LEN];
	int i = 0;

	if (!s)
		return 0;
	if (cJSON_IsString(s)) {
		if (!*s->valuestring)
			return wl_fail(c, "generation.stop: expected a non-empty string");
		gen->stop[0] = wl_pool_strdup(c, s->valuestring);
		gen->n_stop = 1;
		return gen->stop[0] ? 0 : LB_ERR_NOMEM;
	}
	if (!cJSON_IsArray(s))
		return wl_expected(c, "generation.stop", "a string or an array of strings", s);
	cJSON_ArrayForEach(e, s)
	{
		snprintf(path, sizeof(path), "generation.stop[%d]", i++);
		if (!cJSON_IsString(e) || !*e->valuestring)
			return wl_expected(c, path, "a non-empty string", e);
		if (gen->n_stop >= BACKEND_MAX_STOP)
			return wl_fail(c, "generation.stop: more than %d stop strings",
				       BACKEND_MAX_STOP);
		gen->stop[gen->n_stop] = wl_pool_strdup(c, e->valuestring);
		if (!gen->stop[gen->n_stop++])
			return LB_ERR_NOMEM;
	}
	return 0;
}

int wl_parse_generation(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *g = item(root, "generation");
	struct lb_gen *gen = &c->wl->gen;
	double seed = 0;
	bool has_seed;
	int rc;

	lb_gen_defaults(gen);
	if (!g)
		return 0;
	if ((rc = wl_object_at(c, g, "generation")) ||
	    (rc = wl_check_keys(c, g, "generation", gen_keys)) ||
	    (rc = wl_get_i(c, g, "generation", "max_tokens", 0, &gen->max_tokens)) ||
	    (rc = wl_get_num(c, g, "generation", "temperature", NUM_NON_NEGATIVE, INFINITY,
			     &gen->temperature, NULL)) ||
	    (rc = wl_get_num(c, g, "generation", "top_p", NUM_POSITIVE, 1, &gen->top_p, NULL)) ||
	    (rc = wl_get_i(c, g, "generation", "top_k", 0, &gen->top_k)) ||
	    (rc = wl_get_int(c, g, "generation", "seed", 0, WL_MAX_INT, &seed, &has_seed)) ||
	    (rc = wl_get_bool(c, g, "generation", "ignore_eos", &gen->ignore_eos)) ||
	    (rc = wl_get_bool(c, g, "generation", "logprobs", &gen->logprobs)) ||
	    (rc = parse_stop(c, g, gen)))
		return rc;
	if (has_seed)
		gen->seed = (int64_t)seed;
	return 0;
}

static int parse_levels(struct wl_ctx *c, const cJSON *l, bool rate)
{
	struct wl_load *ld = &c->wl->load;
	const cJSON *v = item(l, "levels"), *e;
	char path[PATH_MAX_LEN];
	const char *what = rate ? "a rate in requests per second from 0.001 (one request every "
				  "1000 s) to 1e6"
				: "a positive integer concurrency (at most 100000)";
	int n, i = 0;

	if (!v)
		return wl_fail(c, "load.levels is required (e.g. [1, 4, 16]: %s)",
			       rate ? "request rates in requests per second" : "concurrencies");
	if (cJSON_IsNumber(v)) {
		n = 1;
	} else if (cJSON_IsArray(v)) {
		n = cJSON_GetArraySize(v);
		if (!n)
			return wl_fail(c, "load.levels: expected a non-empty array of numbers");
		if (n > WL_MAX_LEVELS)
			return wl_fail(c, "load.levels: more than %d levels", WL_MAX_LEVELS);
	} else {
		return wl_expected(c, "load.levels", "an array of numbers", v);
	}
	ld->levels = (double *)wl_pool_take(c, lb_calloc((size_t)n, sizeof(double)));
	if (!ld->levels)
		return LB_ERR_NOMEM;
	for (e = cJSON_IsArray(v) ? v->child : v; e && i < n; e = e->next, i++) {
		double d = cJSON_IsNumber(e) ? e->valuedouble : NAN;

		if (cJSON_IsArray(v))
			snprintf(path, sizeof(path), "load.levels[%d]", i);
		else
			snprintf(path, sizeof(path), "load.levels");
		if (!cJSON_IsNumber(e) || !isfinite(d) || d <= 0 ||
		    (rate ? d < WL_MIN_RATE || d > WL_MAX_RATE
			  : (d != floor(d) || d > WL_MAX_CONCURRENCY)))
			return wl_expected(c, path, what, e);
		ld->levels[i] = d;
	}
	ld->n_levels = (size_t)n;
	return 0;
}

static int parse_load_extra(struct wl_ctx *c, const cJSON *l);

int wl_parse_load(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *l = item(root, "load");
	struct wl_load *ld = &c->wl->load;
	bool has_req, has_dur, has_burst, rate;
	double seed = 1, requests = 100;
	int rc;

	ld->mode = (char *)"concurrency";
	ld->repeat = 1;
	ld->lag_bound_ms = 1;
	if (!l)
		return wl_fail(
			c, "load is required (e.g. {\"mode\": \"concurrency\", \"levels\": [1, 8], "
			   "\"requests\": 100})");
	if ((rc = wl_object_at(c, l, "load")) || (rc = wl_check_keys(c, l, "load", load_keys)) ||
	    (rc = wl_get_enum(c, l, "load", "mode", mode_list, (const char **)&ld->mode)))
		return rc;
	/* trace: the levels are speedups of the trace's timestamps (docs/traffic.md) */
	rate = !strcmp(ld->mode, "rate") || !strcmp(ld->mode, "trace");
	if (!strcmp(ld->mode, "trace") && item(l, "arrival"))
		return wl_fail(c,
			       "load.arrival: mode trace sends at the trace's timestamps; remove "
			       "arrival");
	if (!strcmp(ld->mode, "trace") && !item(l, "requests"))
		requests = 0; /* one pass over the trace (runner_trace.c) */
	if ((rc = wl_parse_sessions(c, l, &rate)))
		return rc;
	if (ld->sessions_mode)
		requests = 0; /* sessions count conversations (load.sessions), not requests */
	if ((rc = parse_load_extra(c, l)))
		return rc;
	if (!strcmp(ld->mode, "sweep") || !strcmp(ld->mode, "sla")) {
		if (item(l, "levels"))
			return wl_fail(c,
				       "load.levels: mode %s chooses its own levels; remove levels",
				       ld->mode);
		ld->levels = NULL;
		ld->n_levels = 0;
	} else if ((rc = parse_levels(c, l, rate))) {
		return rc;
	}
	if ((rc = wl_get_int(c, l, "load", "requests", 0, WL_MAX_INT, &requests, &has_req)) ||
	    (rc = wl_get_int(c, l, "load", "requests", 0, WL_MAX_INT, &requests, &has_req)) ||
	    (rc = wl_get_long(c, l, "load", "warmup", 0, LONG_MAX, &ld->warmup)) ||
	    (rc = wl_get_num(c, l, "load", "duration_s", NUM_NON_NEGATIVE, INFINITY,
			     &ld->duration_s, &has_dur)) ||
	    (rc = wl_get_i(c, l, "load", "repeat", 1, &ld->repeat)) ||
	    (rc = wl_get_enum(c, l, "load", "arrival", arrival_list,
			      (const char **)&ld->arrival)) ||
	    (rc = wl_get_num(c, l, "load", "burstiness", NUM_POSITIVE, INFINITY, &ld->burstiness,
			     &has_burst)) ||
	    (rc = wl_get_int(c, l, "load", "seed", 0, WL_MAX_INT, &seed, NULL)) ||
	    (rc = wl_get_num(c, l, "load", "lag_bound_ms", NUM_POSITIVE, INFINITY,
			     &ld->lag_bound_ms, NULL)) ||
	    (rc = wl_get_long(c, l, "load", "max_errors", 0, LONG_MAX, &ld->max_errors)))
		return rc;
	ld->seed = (uint64_t)seed;
	if (!has_req && has_dur && ld->duration_s > 0)
		requests = 0; /* the duration bounds the level */
	ld->requests = requests > (double)LONG_MAX ? LONG_MAX : (long)requests;
	if (ld->requests <= 0 && ld->duration_s <= 0 && strcmp(ld->mode, "trace") &&
	    !ld->sessions_mode)
		return wl_fail(c,
			       "load: nothing ends a level: give requests > 0 or duration_s > 0");
	if (!strcmp(ld->mode, "sweep") ||
	    (!strcmp(ld->mode, "sla") && !strcmp(ld->search_over, "rate")))
		rate = true;
	if (ld->arrival && !rate)
		return wl_fail(c, "load.arrival applies to mode rate only (this load's mode is %s)",
			       ld->mode);
	if (ld->max_inflight && !rate)
		return wl_fail(
			c,
			"load.max_inflight caps an open loop: it applies to rate, sweep and sla over "
			"rate only (mode %s already bounds what is in flight)",
			ld->mode);
	if (rate && !ld->arrival)
		ld->arrival = (char *)"poisson";
	if (has_burst && (!ld->arrival || strcmp(ld->arrival, "gamma")))
		return wl_fail(c, "load.burstiness applies to arrival gamma only");
	if (ld->arrival && !strcmp(ld->arrival, "gamma") && !has_burst)
		return wl_fail(c,
			       "load.burstiness is required with arrival gamma (the coefficient of "
			       "variation of the gaps: 1 is like poisson, 2 burstier)");
	return 0;
}

/* load.cancel: a fraction of requests abandoned by the client after a time or a number of
 * tokens (docs/traffic.md#cancellations). */
static int parse_cancel(struct wl_ctx *c, const cJSON *l)
{
	struct wl_load *ld = &c->wl->load;
	const cJSON *cn = item(l, "cancel");
	bool has_ms, has_tok;
	double tok = 0;
	int rc;

	if (!cn)
		return 0;
	if ((rc = wl_object_at(c, cn, "load.cancel")) ||
	    (rc = wl_check_keys(c, cn, "load.cancel", cancel_keys)) ||
	    (rc = wl_get_num(c, cn, "load.cancel", "fraction", NUM_NON_NEGATIVE, 1,
			     &ld->cancel_fraction, NULL)) ||
	    (rc = wl_get_num(c, cn, "load.cancel", "after_ms", NUM_NON_NEGATIVE, 1e9,
			     &ld->cancel_after_ms, &has_ms)) ||
	    (rc = wl_get_int(c, cn, "load.cancel", "after_tokens", 1, 1e9, &tok, &has_tok)))
		return rc;
	if (!item(cn, "fraction"))
		return wl_fail(
			c,
			"load.cancel.fraction is required (the share of requests abandoned, 0..1)");
	if (has_ms == has_tok)
		return wl_fail(
			c, "load.cancel: give one of after_ms (ms after the send) or after_tokens "
			   "(output tokens received)");
	ld->cancel_after_tokens = (long)tok;
	if (!has_ms)
		ld->cancel_after_ms = -1;
	return 0;
}

static int parse_load_extra(struct wl_ctx *c, const cJSON *l)
{
	struct wl_load *ld = &c->wl->load;
	const cJSON *sr = item(l, "search");
	double v;
	bool set;
	int rc;

	ld->overflow = (char *)"queue";
	ld->ramp = (char *)"linear";
	ld->sweep_points = 5;
	ld->search_over = (char *)"concurrency";
	ld->search_start = 1;
	ld->search_max = 4096;
	ld->search_steps = 4;
	ld->slo_target = 0.9;
	ld->stagger_ms = 0.5;
	ld->workers = 0; /* auto */
	if (cJSON_IsString(item(l, "workers"))) {
		if (strcmp(item(l, "workers")->valuestring, "auto"))
			return wl_fail(c,
				       "load.workers: expected a number of worker threads (1 to "
				       "256) or \"auto\", got \"%s\"",
				       item(l, "workers")->valuestring);
	} else {
		double nw = 0;
		bool has_nw = false;

		if ((rc = wl_get_int(c, l, "load", "workers", 1, 256, &nw, &has_nw)))
			return rc;
		if (has_nw)
			ld->workers = (int)nw;
	}
	if ((rc = wl_get_num(c, l, "load", "max_error_rate", NUM_NON_NEGATIVE, 1,
			     &ld->max_error_rate, NULL)) ||
	    (rc = wl_get_num(c, l, "load", "warmup_s", NUM_NON_NEGATIVE, INFINITY, &ld->warmup_s,
			     NULL)) ||
	    (rc = wl_get_long(c, l, "load", "cooldown", 0, LONG_MAX, &ld->cooldown)) ||
	    (rc = wl_get_long(c, l, "load", "max_inflight", 0, 1000000, &ld->max_inflight)) ||
	    (rc = wl_get_enum(c, l, "load", "overflow", overflow_list,
			      (const char **)&ld->overflow)) ||
	    (rc = wl_get_num(c, l, "load", "ramp_up_s", NUM_NON_NEGATIVE, INFINITY, &ld->ramp_up_s,
			     NULL)) ||
	    (rc = wl_get_enum(c, l, "load", "ramp", ramp_list, (const char **)&ld->ramp)) ||
	    (rc = wl_get_num(c, l, "load", "stagger_ms", NUM_NON_NEGATIVE, 1000, &ld->stagger_ms,
			     NULL)))
		return rc;
	if ((rc = wl_get_int(c, l, "load", "sweep_points", 2, 100, &v, &set)))
		return rc;
	if (set)
		ld->sweep_points = (int)v;
	if ((rc = parse_cancel(c, l)))
		return rc;
	if (!sr)
		return 0;
	if (strcmp(ld->mode, "sla"))
		return wl_fail(c, "load.search applies to mode sla only (this load's mode is %s)",
			       ld->mode);
	if ((rc = wl_object_at(c, sr, "load.search")) ||
	    (rc = wl_check_keys(c, sr, "load.search", search_keys)) ||
	    (rc = wl_get_enum(c, sr, "load.search", "over", over_list,
			      (const char **)&ld->search_over)) ||
	    (rc = wl_get_num(c, sr, "load.search", "start", NUM_POSITIVE, 1e6, &ld->search_start,
			     NULL)) ||
	    (rc = wl_get_num(c, sr, "load.search", "max", NUM_POSITIVE, 1e6, &ld->search_max,
			     NULL)) ||
	    (rc = wl_get_num(c, sr, "load.search", "target", NUM_POSITIVE, 1, &ld->slo_target,
			     NULL)))
		return rc;
	if ((rc = wl_get_int(c, sr, "load.search", "steps", 0, 30, &v, &set)))
		return rc;
	if (set)
		ld->search_steps = (int)v;
	if (ld->search_start > ld->search_max)
		return wl_fail(c, "load.search: start %g is above max %g", ld->search_start,
			       ld->search_max);
	return 0;
}

int wl_parse_slo(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *s = item(root, "slo");
	struct wl_slo *slo = &c->wl->slo;
	int rc;

	if (!s)
		return 0;
	if ((rc = wl_object_at(c, s, "slo")) || (rc = wl_check_keys(c, s, "slo", slo_keys)) ||
	    (rc = wl_get_num(c, s, "slo", "ttft_ms", NUM_POSITIVE, INFINITY, &slo->ttft_ms,
			     NULL)) ||
	    (rc = wl_get_num(c, s, "slo", "tpot_ms", NUM_POSITIVE, INFINITY, &slo->tpot_ms,
			     NULL)) ||
	    (rc = wl_get_num(c, s, "slo", "e2e_ms", NUM_POSITIVE, INFINITY, &slo->e2e_ms, NULL)))
		return rc;
	return 0;
}
