/* runner.c: the run (see runner.h): its store rows, power sampler and backends, and each
 * level's bookkeeping (figures, validity). The slot loop is in runner_level.c, resume in
 * runner_resume.c, perplexity in runner_ppl.c, sweep and SLA search in runner_search.c. */
#include "runner_int.h"
#include "runner_sessions.h"
#include "runner_trace.h"
#include "shard.h"

#include "../backends/model_cache.h"
#include "../backends/redact.h"
#include "evalrun.h"
#include "../base/alloc.h"
#include "../base/version.h"
#include "../base/clock.h"
#include "../base/strbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

volatile sig_atomic_t runner_stop;

struct emit_ctx {
	struct store *st;
	int64_t run_id, backend_id, level_id;
	struct lb_error *err;
};

static int emit_summary(void *ctx, const char *metric, bool has_value, double value, double n,
			const char *unit, const char *provenance, const char *note)
{
	struct emit_ctx *e = ctx;
	struct store_summary sm = { .run_id = e->run_id,
				    .backend_id = e->backend_id,
				    .level_id = e->level_id,
				    .metric = metric,
				    .has_value = has_value,
				    .value = value,
				    .n = n,
				    .unit = unit,
				    .provenance = provenance,
				    .note = note };

	return store_summary_put(e->st, &sm, e->err);
}

static void backend_json(struct strbuf *sb, const struct backend_config *c)
{
	char url[1024];

	strbuf_addf(sb, "{\"name\":");
	strbuf_add_json_str(sb, c->name, strlen(c->name));
	strbuf_adds(sb, ",\"type\":");
	strbuf_add_json_str(sb, c->type, strlen(c->type));
	if (c->base_url) {
		/* credentials in URLs never reach the store */
		if (redact_url(c->base_url, url, sizeof(url)))
			snprintf(url, sizeof(url), "(redacted)");
		strbuf_adds(sb, ",\"base_url\":");
		strbuf_add_json_str(sb, url, strlen(url));
	}
	if (c->model) {
		strbuf_adds(sb, ",\"model\":");
		strbuf_add_json_str(sb, c->model, strlen(c->model));
	}
	if (c->api)
		strbuf_addf(sb, ",\"api\":\"%s\"", c->api);
	if (c->api_key_env) {
		strbuf_adds(sb, ",\"api_key_env\":");
		strbuf_add_json_str(sb, c->api_key_env, strlen(c->api_key_env));
	}
	/* header values may hold secrets: only their count is stored */
	strbuf_addf(sb, ",\"stream\":%s,\"n_headers\":%zu", c->stream ? "true" : "false",
		    c->n_headers);
	if (c->model_path) {
		strbuf_adds(sb, ",\"model_path\":");
		strbuf_add_json_str(sb, c->model_path, strlen(c->model_path));
		strbuf_addf(sb, ",\"threads\":%d,\"ctx\":%d,\"batch\":%d,\"parallel\":%d",
			    c->threads, c->n_ctx, c->n_batch, c->n_parallel);
	}
	if (c->family) {
		strbuf_adds(sb, ",\"family\":");
		strbuf_add_json_str(sb, c->family, strlen(c->family));
	}
	if (c->quant) {
		strbuf_adds(sb, ",\"quant\":");
		strbuf_add_json_str(sb, c->quant, strlen(c->quant));
	}
	strbuf_addch(sb, '}');
}

static void host_name(char *buf, size_t len)
{
	if (gethostname(buf, len))
		snprintf(buf, len, "unknown");
	buf[len - 1] = 0;
}

void runner_say(const struct runner_opts *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->note(o->note_ctx, msg);
}

int runner_put(struct run_state *rs, int64_t backend_id, int64_t level_id, const char *metric,
	       bool has, double v, const char *unit, const char *prov, const char *note,
	       struct lb_error *err)
{
	struct store_summary sm = { .run_id = rs->res->run_id,
				    .backend_id = backend_id,
				    .level_id = level_id,
				    .metric = metric,
				    .has_value = has,
				    .value = v,
				    .n = -1,
				    .unit = unit,
				    .provenance = prov,
				    .note = note };

	return store_summary_put(rs->st, &sm, err);
}

struct series_ctx {
	struct run_state *rs;
	int64_t backend_id, level_id;
	struct lb_error *err;
};

static int store_power_sample(void *ctx, const struct power_sample *smp)
{
	struct series_ctx *sc = ctx;
	char name[96];

	if (isnan(smp->power_w))
		return 0;
	snprintf(name, sizeof(name), "power_w:%s", smp->label);
	return store_series_add(sc->rs->st, sc->rs->res->run_id, sc->backend_id, sc->level_id, name,
				smp->t_ns, smp->power_w, sc->err);
}

/* Energy figures of a level from the power sampler's samples over its measured window. */
static int level_power(struct run_state *rs, struct level_run *lr, struct lb_error *err)
{
	struct power_window w;
	struct emit_ctx ec = { rs->st, rs->res->run_id, lr->backend_id, lr->level_id, err };
	struct series_ctx sc = { rs, lr->backend_id, lr->level_id, err };
	const struct level_agg *a = &lr->agg;
	double out = a->n_out_known == a->n_ok ? a->sum_out : NAN;
	double tot = a->n_in_known == a->n_ok && a->n_out_known == a->n_ok ? a->sum_in + a->sum_out
									   : NAN;
	int rc;

	if (a->t_first_send && (!rs->t_first_send || a->t_first_send < rs->t_first_send))
		rs->t_first_send = a->t_first_send;
	if (a->t_last_end > rs->t_last_end)
		rs->t_last_end = a->t_last_end;
	rs->sum_out += out;
	rs->sum_tot += tot;
	rs->n_ok += (double)a->n_ok;
	if (!rs->power || !a->t_first_send || a->t_last_end <= a->t_first_send)
		return 0;
	power_window(rs->power, a->t_first_send, a->t_last_end, &w);
	rc = power_summarize(&w, rs->have_idle ? &rs->idle : NULL, out, tot, (double)a->n_ok,
			     emit_summary, &ec);
	if (rc)
		return rc;
	if (!w.ok)
		return 0;
	return power_sampler_foreach_sample(rs->power, a->t_first_send, a->t_last_end,
					    store_power_sample, &sc);
}

/* The level's failures by category, with the first message of each, as one note; added to the
 * run's tally for the note at its end. */
static void fails_note(struct run_state *rs, const char *label, const struct level_agg *a)
{
	struct strbuf sb = STRBUF_INIT;
	int i, j;

	if (!a->n_failed)
		return;
	strbuf_addf(&sb, "%s: %ld of %ld measured requests failed:", label, a->n_failed,
		    a->n_failed + a->n_ok);
	for (i = 0; i < a->n_fails; i++) {
		strbuf_addf(&sb, "%s %s %ld (first: %s)", i ? ";" : "", a->fails[i].name,
			    a->fails[i].n, a->fails[i].msg[0] ? a->fails[i].msg : "no message");
		for (j = 0; j < rs->n_fails; j++)
			if (!strcmp(rs->fails[j].name, a->fails[i].name))
				break;
		if (j == rs->n_fails && rs->n_fails < LEVEL_MAX_FAILCATS) {
			memcpy(rs->fails[j].name, a->fails[i].name, sizeof(rs->fails[j].name));
			memcpy(rs->fails[j].msg, a->fails[i].msg, sizeof(rs->fails[j].msg));
			rs->fails[j].n = 0;
			rs->n_fails++;
		}
		if (j < rs->n_fails)
			rs->fails[j].n += a->fails[i].n;
	}
	if (sb.buf)
		runner_say(rs->o, "%s", sb.buf);
	strbuf_release(&sb);
}

/* The harness's own load over the level (client-bound rule, docs/METRICS.md "Validity"). */
/* Not an in-process backend: the harness thread is only the client. */
static bool backend_is_remote(const struct backend *b)
{
	return b->ops && !(b->ops->caps & BACKEND_CAP_INPROC);
}

static int client_figures(struct run_state *rs, struct level_run *lr, struct lb_error *err)
{
	static const char prov[] = "/proc/thread-self/schedstat of the scheduler thread, measured "
				   "window after the stagger";
	int64_t b = lr->backend_id, l = lr->level_id;
	bool have = !isnan(lr->client_cpu_s) && lr->client_wall_s > 0, judged;
	int rc;

	rc = runner_put(rs, b, l, "harness_loop_cpu_s", have, have ? lr->client_cpu_s : 0, "s",
			prov, have ? NULL : "unavailable: no measured window", err);
	if (!rc)
		rc = runner_put(rs, b, l, "harness_runq_wait_s", have && !isnan(lr->client_runq_s),
				have && !isnan(lr->client_runq_s) ? lr->client_runq_s : 0, "s",
				prov,
				!have ? "unavailable: no measured window"
				: isnan(lr->client_runq_s)
					? "unavailable: no /proc/thread-self/schedstat"
					: NULL,
				err);
	/* a share of a window too short to judge is noise (145% on a 3 ms level) */
	judged = have && lr->client_wall_s >= LEVEL_CLIENT_MIN_S;
	if (!rc)
		rc = runner_put(
			rs, b, l, "harness_busy_pct", judged,
			judged ? 100 *
					 (lr->client_cpu_s +
					  (isnan(lr->client_runq_s) ? 0 : lr->client_runq_s)) /
					 lr->client_wall_s
			       : 0,
			"%", prov,
			judged ? NULL
			: have ? "unavailable: a measured window under 0.2 s is too short to judge"
			       : "unavailable: no measured window",
			err);
	return rc;
}

/* One level (or repetition) of one open backend, stored as it goes. */
int runner_level(struct run_state *rs, struct backend *b, int64_t backend_id, int idx, int rep,
		 bool rate_mode, double value, struct level_outcome *oc, struct lb_error *err)
{
	const struct workload *wl = rs->wl;
	bool trace = !strcmp(wl->load.mode, "trace");
	struct store_level sl = { idx, rep,
				  trace || wl->load.sessions_mode ? wl->load.mode
				  : rate_mode                     ? "rate"
								  : "concurrency",
				  value };
	struct level_run lr = { 0 };
	struct runner_prom rp;
	struct emit_ctx ec;
	char label[256], reason[400] = "";
	uint64_t cpu0 = lb_cpu_ns();
	double lag_p99;
	bool valid = true, wk_bound = false;
	char wk_reason[300] = "";
	int64_t level_id = 0;
	int rc;

	if (rs->o->resume_run) {
		bool done = false;

		rc = resume_level(rs, &lr, backend_id, &sl, &level_id, &done, err);
		if (rc || done) {
			bool none = false;

			lr.done_seq = NULL;
			level_agg_release(&lr.agg);
			/* a finished level keeps its verdict: one with no successful request
			 * still fails the run (resuming a dead run must not make it green) */
			if (!rc && done)
				rc = store_level_no_success(rs->st, level_id, &none, err);
			if (!rc && none)
				rs->res->levels_no_success++;
			if (done && oc) {
				memset(oc, 0, sizeof(*oc));
				oc->valid = !none;
			}
			return rc;
		}
	} else {
		rc = store_level_begin(rs->st, rs->res->run_id, backend_id, &sl, &level_id, err);
		if (rc)
			return rc;
		level_agg_init(&lr.agg, &wl->slo);
	}
	lr.wl = wl;
	lr.o = rs->o;
	lr.st = rs->st;
	lr.run_id = rs->res->run_id;
	lr.backend_id = backend_id;
	lr.level_id = level_id;
	lr.b = b;
	lr.items = &rs->items;
	if (!lr.next_id)
		lr.next_id = (uint64_t)level_id * 1000000000ull;
	lr.total = wl->load.requests > 0 ? wl->load.requests + wl->load.warmup : -1;
	if (trace && wl->load.requests <= 0 && wl->load.duration_s <= 0)
		lr.total = (long)rs->items.n; /* one pass over the trace */
	lr.trace = trace;
	lr.n_workers = runner_pool_level_workers(rs->pool, wl, rate_mode, value);
	if (lr.n_workers > 1) {
		lr.pool = rs->pool; /* else this thread sends, as without workers */
		if (!wl->load.workers)
			runner_say(rs->o, "%s %s=%g: %d worker event loops (load.workers auto)",
				   b->name, sl.mode, value, lr.n_workers);
	}
	runner_pool_level_begin(lr.pool);
	lr.cancel_on = wl->load.cancel_fraction > 0;
	lr.cancel_rng = wl->load.seed * 0x9e3779b97f4a7c15ull + (uint64_t)level_id;
	if (lr.cancel_on && (!b->ops || !b->ops->cancel)) {
		level_agg_release(&lr.agg);
		return lb_error_set(err, LB_ERR_USAGE,
				    "load.cancel: backend '%s' cannot cancel a request in flight",
				    b->name);
	}
	snprintf(label, sizeof(label), "%s %s=%g%s", b->name, sl.mode, value,
		 rep ? " (repeat)" : "");
	lr.label = label;
	lr.client_cpu_s = lr.client_runq_s = NAN;
	rc = runner_sessions_begin(rs, &lr, err);
	if (!rc)
		rc = runner_prom_begin(
			&rp, &rs->prom,
			rs->cfg && !strcmp(rs->cfg->type, "openai") ? rs->cfg->base_url : NULL,
			NULL, err);
	if (!rc && rs->o->shard)
		shard_level_begin(rs->o->shard, &runner_stop); /* in step with the other shards */
	if (!rc)
		rc = level_loop(&lr, value, rate_mode, err);
	level_cancel_inflight(&lr);
	if (!rc)
		rc = runner_sessions_end(rs, &lr, err); /* figures by turn and by session */
	else
		runner_sessions_abort(&lr);
	if (!rc)
		rc = runner_prom_end(&rp, rs->st, rs->res->run_id, backend_id, level_id, lr.t_start,
				     lb_now_ns(), err);
	else
		runner_prom_abort(&rp);
	rs->res->requests_ok += lr.agg.n_ok;
	rs->res->requests_failed += lr.agg.n_failed;
	if (!rc && lr.store_rc) {
		*err = lr.store_err;
		rc = lr.store_rc;
	}
	if (!rc) {
		ec = (struct emit_ctx){ rs->st, rs->res->run_id, backend_id, level_id, err };
		rc = level_agg_emit(&lr.agg, rate_mode ? value : 0, emit_summary, &ec);
	}
	if (!rc)
		rc = runner_put(rs, backend_id, level_id, "harness_cpu_s", true,
				(double)(lb_cpu_ns() - cpu0) / 1e9, "s",
				"clock_gettime(CLOCK_PROCESS_CPUTIME_ID)", NULL, err);
	if (!rc)
		rc = runner_put(rs, backend_id, level_id, "harness_peak_rss_mib", true,
				(double)lb_peak_rss_kib() / 1024.0, "MiB", "getrusage",
				"process peak so far", err);
	if (!rc)
		rc = level_power(rs, &lr, err);
	if (!rc)
		rc = runner_put(rs, backend_id, level_id, "inflight_peak", true,
				(double)lr.peak_inflight, "requests", "harness", NULL, err);
	if (!rc && rate_mode && wl->load.max_inflight > 0)
		rc = runner_put(
			rs, backend_id, level_id, "requests_dropped", true, (double)lr.dropped,
			"requests", "harness",
			!strcmp(wl->load.overflow, "drop")
				? "open loop capped at max_inflight; overflow drop: arrivals over the cap are not sent"
				: "open loop capped at max_inflight; overflow queue: arrivals wait (schedule lag shows it)",
			err);
	if (!rc && lr.resumed)
		rc = runner_put(
			rs, backend_id, level_id, "resumed", true, 1, "flag", "harness",
			"level resumed after an interruption: measured as two windows (before and "
			"after), without the time between them",
			err);
	if (!rc)
		rc = client_figures(rs, &lr, err);
	if (!rc && lr.pool)
		rc = runner_pool_figures(rs, &lr, !rate_mode, &wk_bound, wk_reason,
					 sizeof(wk_reason), err);
	oc->n_ok = lr.agg.n_ok;
	oc->n_failed = lr.agg.n_failed;
	oc->n_good = lr.agg.n_good;
	oc->req_per_s = NAN;
	if (lr.agg.n_ok && level_agg_duration_s(&lr.agg) > 0)
		oc->req_per_s = (double)lr.agg.n_ok / level_agg_duration_s(&lr.agg);
	lag_p99 = level_agg_lag_p99(&lr.agg);
	if (!lr.agg.n_ok && !lr.agg.n_cancelled) {
		/* nothing was measured: no figure of this level describes the server (a level whose
		 * requests were all abandoned on purpose, load.cancel, is not this) */
		valid = false;
		long cut = 0;

		for (int k = 0; k < lr.agg.n_fails; k++)
			if (!strcmp(lr.agg.fails[k].name, "cancelled"))
				cut = lr.agg.fails[k].n;
		if (runner_stop && cut == lr.agg.n_failed)
			/* a stop is not a server's failure: say so */
			snprintf(reason, sizeof(reason),
				 "no successful request (stopped before any measured request "
				 "ended; %ld cut by the stop)",
				 cut);
		else
			snprintf(reason, sizeof(reason),
				 "no successful request (%ld measured, all failed)",
				 lr.agg.n_failed);
		if (!runner_stop)
			rs->res->levels_no_success++;
	} else if (!rate_mode && backend_is_remote(b) &&
		   level_client_bound(lr.client_cpu_s, lr.client_runq_s, lr.client_wall_s, reason,
				      sizeof(reason))) {
		/* remote backends only: an in-process backend decodes on this thread, so there the
		 * busy thread is the server's work, not the client's */
		valid = false;
		rs->res->levels_client_bound++;
	} else if (wk_bound && backend_is_remote(b)) {
		/* the same rule for each worker thread (docs/METRICS.md "Validity") */
		valid = false;
		snprintf(reason, sizeof(reason), "%s", wk_reason);
		rs->res->levels_client_bound++;
	} else if (!isnan(lag_p99) && lag_p99 > wl->load.lag_bound_ms && rate_mode) {
		valid = false;
		snprintf(
			reason, sizeof(reason),
			"p99 schedule lag %.3f ms exceeds the bound of %.3f ms: the client set the pace",
			lag_p99, wl->load.lag_bound_ms);
	}
	if (rs->o->shard) {
		char sreason[400];

		/* a shard that fell behind its level's window (docs/scale-out.md) */
		if (!shard_level_end(rs->o->shard, sreason, sizeof(sreason)) && valid) {
			valid = false;
			snprintf(reason, sizeof(reason), "%s", sreason);
		}
	}
	fails_note(rs, label, &lr.agg);
	if (rs->cfg && (!rs->cfg->rx_timestamps || !strcmp(rs->cfg->rx_timestamps, "kernel"))) {
		char late[400];

		if (level_chunks_harness_timed(&lr.agg, late, sizeof(late)))
			runner_say(rs->o, "warning: %s: %s", label, late);
	}
	if (!rc)
		rc = store_level_end(rs->st, level_id, runner_stop ? "interrupted" : "done", valid,
				     valid ? NULL : reason, err);
	oc->valid = valid;
	level_agg_release(&lr.agg);
	level_slots_free(&lr);
	lb_free(lr.done_seq);
	if (!rc && !valid)
		runner_say(rs->o, "warning: %s marked invalid: %s", label, reason);
	return rc;
}

/* Each level of the workload, each repeated load.repeat times. */
static int run_levels(struct run_state *rs, struct backend *b, int64_t backend_id,
		      struct lb_error *err)
{
	const struct wl_load *ld = &rs->wl->load;
	bool rate_mode = !strcmp(ld->mode, "rate") || !strcmp(ld->mode, "trace") ||
			 !strcmp(ld->mode, "session_rate");
	struct level_outcome oc;
	size_t li;
	int rep, rc;

	for (li = 0; li < ld->n_levels && !runner_stop && b->ops; li++)
		for (rep = 0; rep < (ld->repeat > 0 ? ld->repeat : 1) && !runner_stop && b->ops;
		     rep++) {
			rc = runner_level(rs, b, backend_id, (int)li, rep, rate_mode,
					  ld->levels[li], &oc, err);
			if (rc)
				return rc;
		}
	return 0;
}

static int run_backend(struct run_state *rs, const struct wl_backend *wb, struct lb_error *err)
{
	const struct workload *wl = rs->wl;
	struct backend_config cfg = wb->cfg;
	struct store_backend sb;
	struct strbuf cj = STRBUF_INIT;
	struct backend b = { 0 };
	struct lb_error berr = LB_ERROR_INIT;
	char *model_path = NULL;
	int64_t backend_id = 0;
	int rc = 0;

	rs->cfg = &wb->cfg;
	if (!cfg.model_path && wb->base_model) {
		/* a model matrix entry: quantize the base once into the cache */
		runner_say(rs->o, "preparing %s (%s of %s)", cfg.name,
			   cfg.quant ? cfg.quant : "base", wb->base_model);
		if (model_cache_get(wb->base_model, cfg.quant ? cfg.quant : "base",
				    rs->o->cache_dir, &model_path, &berr))
			model_path = NULL;
		cfg.model_path = model_path;
	}
	sb = (struct store_backend){ cfg.name,   cfg.type,  cfg.model ? cfg.model : cfg.model_path,
				     cfg.family, cfg.quant, NULL };
	backend_json(&cj, &cfg);
	sb.config_json = cj.buf;
	if (rs->o->resume_run)
		rc = resume_backend(rs, cfg.name, &backend_id, err);
	if (!rc && !backend_id)
		rc = store_backend_add(rs->st, rs->res->run_id, &sb, &backend_id, err);
	strbuf_release(&cj);
	if (rc)
		goto out;
	if (berr.code || backend_open(&b, &cfg, &berr)) {
		runner_say(rs->o, "warning: backend '%s' skipped: %s", cfg.name, berr.msg);
		rs->res->backends_failed++;
		rc = runner_put(rs, backend_id, 0, "backend_open", false, 0, "", "harness",
				berr.msg, err);
		goto out;
	}
	if (cfg.model_path) {
		struct stat stt;

		if (!stat(cfg.model_path, &stt))
			rc = runner_put(rs, backend_id, 0, "model_size_mib", true,
					(double)stt.st_size / 1048576.0, "MiB",
					"file size of the GGUF", NULL, err);
		if (rc)
			goto out;
	}
	if (rs->items.n) {
		char why[160] = "";
		int nw = runner_workers_count(wl, &cfg, &b, why, sizeof(why));

		if (nw > 1) {
			rc = runner_pool_open(&rs->pool, nw, &cfg, err);
			if (rc)
				goto out;
			runner_pool_set_auto(rs->pool, wl->load.workers == 0);
			if (wl->load.workers > 1)
				runner_say(rs->o, "%s: %d worker event loops (%s)", cfg.name, nw,
					   why);
		}
		if (!strcmp(wl->load.mode, "sweep"))
			rc = runner_sweep(rs, &b, backend_id, err);
		else if (!strcmp(wl->load.mode, "sla"))
			rc = runner_sla_search(rs, &b, backend_id, err);
		else
			rc = run_levels(rs, &b, backend_id, err);
		runner_pool_close(rs->pool);
		rs->pool = NULL;
		if (rc)
			goto out;
	}
	if (wl->eval_json && !runner_stop) {
		struct eval_opts eo = { rs->o->note, rs->o->note_ctx };

		rc = eval_run_backend_ex(wl, &b, rs->st, rs->res->run_id, backend_id, NULL, &eo,
					 err);
		if (rc)
			goto out;
	}
	backend_close(&b);
	if (wl->ppl.text && !runner_stop) {
		if (strcmp(cfg.type, "llamacpp"))
			rc = runner_put(
				rs, backend_id, 0, "ppl", false, 0, "", "llama.cpp perplexity",
				"unavailable: perplexity needs the in-process backend (an endpoint's prompt "
				"log-probabilities are not used for it)",
				err);
		else
			rc = runner_perplexity(rs, &cfg, wb->base_model, backend_id, err);
	}
out:
	runner_pool_close(rs->pool);
	rs->pool = NULL;
	backend_close(&b);
	lb_free(model_path);
	return rc;
}

/* The run's failures by category, first message of each, as one note at its end. */
static void run_fails_note(struct run_state *rs)
{
	struct strbuf sb = STRBUF_INIT;
	int i;

	if (!rs->n_fails)
		return;
	strbuf_addf(&sb, "failures in run '%s':", rs->res->run_name);
	for (i = 0; i < rs->n_fails; i++)
		strbuf_addf(&sb, "%s %s %ld (first: %s)", i ? ";" : "", rs->fails[i].name,
			    rs->fails[i].n, rs->fails[i].msg[0] ? rs->fails[i].msg : "no message");
	if (sb.buf)
		runner_say(rs->o, "%s", sb.buf);
	strbuf_release(&sb);
}

int runner_run(const struct workload *wl, struct store *st, const struct runner_opts *o,
	       struct runner_result *res, struct lb_error *err)
{
	struct run_state rs = { .wl = wl, .o = o, .st = st, .res = res };
	struct store_run sr = { 0 };
	const char *name_out = NULL;
	char host[256];
	size_t bi;
	int rc;

	memset(res, 0, sizeof(*res));
	/* timers wake us within a microsecond, not the default 50 us (open-loop schedules) */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	rc = eval_check(wl, err); /* every eval dataset and pattern, before any request */
	if (rc)
		return rc;
	if (wl->dataset.path) {
		rc = dataset_load(wl->dataset.path, wl->dataset.format, wl->dataset.limit,
				  &rs.items, err);
		if (rc)
			goto out;
		if (wl->dataset.reference_lengths) {
			size_t before = rs.items.skipped;

			rc = dataset_reference_lengths(&rs.items, wl->dataset.reference_lengths,
						       wl->dataset.path, err);
			if (rc)
				goto out;
			runner_say(o,
				   "dataset: %zu items ask for their reference reply's length "
				   "(%s tokens); %zu left out, as vLLM's ShareGPT leaves them",
				   rs.items.n, wl->dataset.reference_lengths,
				   rs.items.skipped - before);
			rs.items.skipped = before; /* said here, not as "no prompt" below */
		}
		if (wl->dataset.shuffle)
			lb_items_shuffle(&rs.items, wl->dataset.seed);
		if (!strcmp(wl->load.mode, "trace") &&
		    (rc = runner_trace_check(&rs.items, wl->dataset.shuffle, err)))
			goto out;
		if ((rc = runner_sessions_load(&rs,
					       err))) /* conversations, checked before sending */
			goto out;
		if (o->shard)
			shard_items(&rs.items, o->shard); /* a split load partitions the items */
		if (rs.items.skipped)
			runner_say(o, "warning: %zu dataset entries skipped (no prompt)",
				   rs.items.skipped);
		/* a level of more requests than items sends them again in turn: say so (vLLM
		 * oversamples the same way, and says so too) */
		if (rs.items.n && wl->load.requests > 0 &&
		    (!strcmp(wl->load.mode, "concurrency") || !strcmp(wl->load.mode, "rate")) &&
		    (size_t)(wl->load.requests + wl->load.warmup) > rs.items.n)
			runner_say(
				o,
				"dataset: %zu item%s for %ld requests a level (warm-up included): "
				"items are sent again in turn",
				rs.items.n, rs.items.n == 1 ? "" : "s",
				wl->load.requests + wl->load.warmup);
	}
	rc = runner_prom_config(wl->server_metrics_json, &rs.prom, err);
	if (rc)
		goto out;
	rc = power_sampler_start(&rs.power, wl->power_json, err);
	if (rc)
		goto out;
	runner_say(o, "power: %s", power_sampler_describe(rs.power));
	if (power_sampler_idle_s(rs.power) > 0) {
		/* before any request, the pre-flight one included: the machine at rest */
		runner_say(o, "measuring idle power for %.1f s", power_sampler_idle_s(rs.power));
		power_sampler_idle(rs.power, 0, &rs.idle);
		rs.have_idle = true; /* power_summarize says why when the idle window failed */
	}
	if (rs.items.n && !o->no_preflight) {
		/* nothing is stored when a backend fails it (docs/reliability.md) */
		rc = runner_preflight(&rs, err);
		if (rc)
			goto out;
	}
	host_name(host, sizeof(host));
	sr.name = o->run_name;
	sr.workload_name = wl->name;
	sr.workload_path = wl->path;
	sr.workload_json = wl->text;
	sr.host = o->host ? o->host : host;
	sr.version = lb_version();
	if (o->resume_run) {
		rc = resume_run_begin(&rs, err);
		name_out = o->resume_run;
	} else {
		rc = store_run_begin(st, &sr, &res->run_id, &name_out, err);
		if (!rc && o->shard)
			rc = shard_record(st, res->run_id, o->shard, sr.host, err);
	}
	if (rc)
		goto out;
	snprintf(res->run_name, sizeof(res->run_name), "%s", name_out ? name_out : "");
	for (bi = 0; bi < wl->n_backends && !runner_stop; bi++) {
		rc = run_backend(&rs, &wl->backends[bi], err);
		if (rc)
			goto fail;
	}
	if (rs.power && rs.t_last_end > rs.t_first_send) {
		/* run-wide energy: from the first measured send to the last end, all backends */
		struct power_window w;
		struct emit_ctx ec = { st, res->run_id, 0, 0, err };

		power_window(rs.power, rs.t_first_send, rs.t_last_end, &w);
		rc = power_summarize(&w, rs.have_idle ? &rs.idle : NULL, rs.sum_out, rs.sum_tot,
				     rs.n_ok, emit_summary, &ec);
		if (rc)
			goto fail;
	}
	power_sampler_stop(rs.power);
	res->interrupted = runner_stop != 0;
	run_fails_note(&rs);
	if (res->interrupted) {
		rc = store_run_end(st, res->run_id, "interrupted", "stopped by a signal", err);
	} else if (res->backends_failed && (size_t)res->backends_failed == wl->n_backends) {
		/* nothing was measured: never a done run */
		rc = store_run_end(st, res->run_id, "failed", "no backend could be opened", err);
	} else if (res->levels_no_success) {
		char note[160];

		snprintf(note, sizeof(note), "%d level%s had no successful request",
			 res->levels_no_success, res->levels_no_success > 1 ? "s" : "");
		rc = store_run_end(st, res->run_id, "failed", note, err);
	} else {
		rc = store_run_end(st, res->run_id, "done", NULL, err);
	}
	goto out;
fail : {
	struct lb_error e2 = LB_ERROR_INIT;

	store_run_end(st, res->run_id, "failed", err->msg, &e2);
}
out:
	power_sampler_free(rs.power);
	lb_items_release(&rs.items);
	runner_sessions_unload(&rs);
	return rc;
}
