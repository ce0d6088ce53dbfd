/* runner.c: the run loop (see runner.h). One scheduler loop drives one backend per level; no
 * thread per request. Requests live in slots; a finished slot is stored and reused. */
#include "runner.h"

#include "../backends/backend.h"
#include "../datasets/dataset.h"
#include "../metrics/level.h"
#include "alloc.h"
#include "cmd.h"
#include "clock.h"
#include "sched.h"
#include "strbuf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t runner_stop;

struct slot {
	struct request req;
	struct lb_reqrec rec;
	struct slot *next; /* free list or done list */
	struct slot *fl_prev, *fl_next; /* in-flight list */
	struct level_run *lr;
};

struct level_run {
	const struct workload *wl;
	const struct runner_opts *o;
	struct store *st;
	int64_t run_id;
	struct backend *b;
	const struct lb_items *items;
	struct level_agg agg;
	struct slot *free_slots;
	struct slot *done; /* finished during the last poll */
	struct slot *flying; /* in flight (doubly linked) */
	long inflight;
	long submitted, completed, errors;
	long total; /* warmup + requests, or -1 when bounded by duration only */
	uint64_t next_id;
	struct lb_error store_err;
	int store_rc;
	/* progress */
	const char *label;
	uint64_t t_start, t_last_progress;
	long completed_measured;
};

static void slot_sink(void *ctx, const struct lb_event *ev)
{
	struct slot *s = ctx;

	if (s->rec.done)
		return; /* the contract says never; be safe */
	reqrec_on_event(&s->rec, ev);
	if (ev->kind == LB_EV_DONE || ev->kind == LB_EV_ERROR) {
		s->rec.done = true;
		if (s->fl_prev)
			s->fl_prev->fl_next = s->fl_next;
		else
			s->lr->flying = s->fl_next;
		if (s->fl_next)
			s->fl_next->fl_prev = s->fl_prev;
		s->fl_prev = s->fl_next = NULL;
		s->next = s->lr->done;
		s->lr->done = s;
	}
}

static struct slot *slot_get(struct level_run *lr)
{
	struct slot *s = lr->free_slots;

	if (s)
		lr->free_slots = s->next;
	else
		s = lb_calloc(1, sizeof(*s));
	return s;
}

static void slot_put(struct level_run *lr, struct slot *s)
{
	reqrec_release(&s->rec);
	s->next = lr->free_slots;
	lr->free_slots = s;
}

static void slots_free(struct slot *s)
{
	while (s) {
		struct slot *n = s->next;

		reqrec_release(&s->rec);
		lb_free(s);
		s = n;
	}
}

static int submit_one(struct level_run *lr, uint64_t t_scheduled, struct lb_error *err)
{
	const struct workload *wl = lr->wl;
	const struct lb_item *it = &lr->items->v[(size_t)lr->submitted % lr->items->n];
	struct slot *s = slot_get(lr);
	int rc;

	if (!s)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory for a request slot");
	memset(&s->req, 0, sizeof(s->req));
	s->lr = lr;
	s->req.id = ++lr->next_id;
	s->req.prompt = it->prompt;
	s->req.prompt_len = strlen(it->prompt);
	s->req.messages_json = it->messages_json;
	s->req.gen = wl->gen;
	s->req.sink.fn = slot_sink;
	s->req.sink.ctx = s;
	reqrec_init(&s->rec, s->req.id, lr->o->keep_text);
	s->rec.seq = lr->submitted;
	s->rec.item_idx = (long)((size_t)lr->submitted % lr->items->n);
	s->rec.warmup = lr->submitted < wl->load.warmup;
	s->rec.t_scheduled_ns = t_scheduled;
	lr->submitted++;
	lr->inflight++;
	s->fl_prev = NULL;
	s->fl_next = lr->flying;
	if (lr->flying)
		lr->flying->fl_prev = s;
	lr->flying = s;
	rc = lr->b->ops->submit(lr->b, &s->req, err);
	if (rc) {
		if (!s->rec.done) {
			lr->flying = s->fl_next;
			if (s->fl_next)
				s->fl_next->fl_prev = NULL;
			lr->inflight--;
			slot_put(lr, s);
		}
		return rc;
	}
	return 0;
}

/* Store and account every request that finished during the last poll. */
static void reap(struct level_run *lr, uint64_t *last_end)
{
	while (lr->done) {
		struct slot *s = lr->done;
		struct lb_reqrec *r = &s->rec;

		lr->done = s->next;
		lr->inflight--;
		lr->completed++;
		if (!reqrec_ok(r))
			lr->errors += !r->warmup;
		if (!r->warmup)
			lr->completed_measured++;
		if (r->t_end_ns > *last_end)
			*last_end = r->t_end_ns;
		if (!lr->store_rc) {
			lr->store_rc = store_request_add(lr->st, lr->run_id, r, &lr->store_err);
		}
		level_agg_add(&lr->agg, r);
		slot_put(lr, s);
	}
}

static void progress(struct level_run *lr, bool final)
{
	uint64_t now = lb_now_ns();
	double el;

	if (!lr->o->progress)
		return;
	if (!final && now - lr->t_last_progress < 250000000u)
		return;
	lr->t_last_progress = now;
	el = (double)(now - lr->t_start) / 1e9;
	if (lr->total > 0) {
		double rate = el > 0 ? (double)lr->completed / el : 0;
		double eta = rate > 0 ? (double)(lr->total - lr->completed) / rate : 0;

		fprintf(stderr, "\r\033[K%s: %ld/%ld done, %.1f req/s, %ld errors, ETA %.0fs", lr->label,
			lr->completed, lr->total, rate, lr->errors, eta);
	} else {
		fprintf(stderr, "\r\033[K%s: %ld done, %.1fs of %.1fs, %ld errors", lr->label, lr->completed,
			el, lr->wl->load.duration_s, lr->errors);
	}
	if (final)
		fputc('\n', stderr);
}

/* Cancel every request in flight: through the backend when it can, else by closing it. Each
 * ends as a stored "cancelled" request. */
static void cancel_all(struct level_run *lr, uint64_t *last_end)
{
	struct slot *s, *n;

	if (lr->b->ops && lr->b->ops->cancel)
		for (s = lr->flying; s; s = n) {
			n = s->fl_next;
			lr->b->ops->cancel(lr->b, &s->req);
		}
	reap(lr, last_end);
	if (!lr->flying)
		return;
	backend_close(lr->b); /* aborts whatever the backend still holds */
	for (s = lr->flying; s; s = n) {
		struct lb_event ev;

		n = s->fl_next;
		lb_event_init(&ev, LB_EV_ERROR, s->req.id, lb_now_ns());
		ev.fail = LB_FAIL_CANCELLED;
		ev.text = "cancelled by interrupt";
		ev.text_len = strlen(ev.text);
		slot_sink(s, &ev);
	}
	reap(lr, last_end);
}

struct emit_ctx {
	struct store *st;
	int64_t run_id, backend_id, level_id;
	struct lb_error *err;
};

static int emit_summary(void *ctx, const char *metric, bool has_value, double value, double n,
			const char *unit, const char *provenance, const char *note)
{
	struct emit_ctx *e = ctx;
	struct store_summary sm = { .run_id = e->run_id, .backend_id = e->backend_id,
				    .level_id = e->level_id, .metric = metric, .has_value = has_value,
				    .value = value, .n = n, .unit = unit, .provenance = provenance,
				    .note = note };

	return store_summary_put(e->st, &sm, e->err);
}

static bool can_submit(const struct level_run *lr, uint64_t now)
{
	const struct wl_load *ld = &lr->wl->load;

	if (runner_stop)
		return false;
	if (lr->total > 0 && lr->submitted >= lr->total)
		return false;
	if (ld->duration_s > 0 && (double)(now - lr->t_start) / 1e9 >= ld->duration_s)
		return false;
	if (ld->max_errors > 0 && lr->errors >= ld->max_errors)
		return false;
	return true;
}

/* Run one level on an open backend; returns 0 or a store/harness error. */
static int run_level(struct level_run *lr, double value, bool rate_mode, struct lb_error *err)
{
	const struct wl_load *ld = &lr->wl->load;
	struct sched sc;
	uint64_t next_arrival, last_end = 0, drain_deadline = 0;
	long conc = rate_mode ? 0 : (long)value;
	int rc = 0;

	lr->t_start = lb_now_ns();
	lr->t_last_progress = 0;
	sched_init(&sc, ld->arrival, value, ld->burstiness, ld->seed + (uint64_t)value * 7919u);
	next_arrival = lr->t_start;
	for (;;) {
		uint64_t now = lb_now_ns();
		int timeout_ms = 100;

		if (runner_stop && !drain_deadline)
			drain_deadline = now + (uint64_t)((lr->o->drain_s > 0 ? lr->o->drain_s : 2) * 1e9);
		if (drain_deadline && (now >= drain_deadline || runner_stop >= 2) && lr->inflight) {
			cancel_all(lr, &last_end);
			break;
		}
		if (rate_mode) {
			while (can_submit(lr, now) && next_arrival <= now) {
				rc = submit_one(lr, next_arrival, err);
				if (rc)
					goto out;
				next_arrival += (uint64_t)(sched_next_gap_s(&sc) * 1e9);
			}
			if (can_submit(lr, now)) {
				uint64_t wait = next_arrival > now ? next_arrival - now : 0;

				timeout_ms = (int)(wait / 1000000u);
				if (timeout_ms > 100)
					timeout_ms = 100;
			}
		} else {
			while (lr->inflight < conc && can_submit(lr, now)) {
				rc = submit_one(lr, last_end ? last_end : now, err);
				if (rc)
					goto out;
				last_end = 0;
			}
		}
		if (!lr->inflight && !can_submit(lr, lb_now_ns()))
			break;
		rc = lr->b->ops->poll(lr->b, lr->inflight ? timeout_ms : (timeout_ms > 0 ? 0 : 0), err);
		if (!lr->inflight && timeout_ms > 0)
			lb_sleep_until_ns(lb_now_ns() + (uint64_t)timeout_ms * 1000000u / 2);
		if (rc < 0)
			goto out;
		rc = 0;
		if (!rate_mode && lr->done) {
			/* closed loop: the next request is due when the previous one ended */
			uint64_t le = 0;

			reap(lr, &le);
			last_end = le;
		} else {
			reap(lr, &last_end);
		}
		if (lr->store_rc) {
			*err = lr->store_err;
			rc = lr->store_rc;
			goto out;
		}
		progress(lr, false);
	}
out:
	progress(lr, true);
	return rc;
}

static void backend_json(struct strbuf *sb, const struct backend_config *c)
{
	char url[512];
	size_t i;
	const char *at, *scheme;

	/* redact credentials in the URL (user:pass@host) */
	url[0] = 0;
	if (c->base_url) {
		scheme = strstr(c->base_url, "://");
		at = scheme ? strchr(scheme + 3, '@') : NULL;
		if (scheme && at && (!strchr(scheme + 3, '/') || at < strchr(scheme + 3, '/')))
			snprintf(url, sizeof(url), "%.*s***@%s", (int)(scheme + 3 - c->base_url), c->base_url,
				 at + 1);
		else
			snprintf(url, sizeof(url), "%s", c->base_url);
	}
	strbuf_addf(sb, "{\"name\":");
	strbuf_add_json_str(sb, c->name, strlen(c->name));
	strbuf_addf(sb, ",\"type\":\"%s\"", c->type);
	if (c->base_url) {
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
	strbuf_addf(sb, ",\"stream\":%s,\"n_headers\":%zu", c->stream ? "true" : "false", c->n_headers);
	for (i = 0; i < c->n_headers; i++)
		; /* header values may hold secrets: only their count is stored */
	if (c->model_path) {
		strbuf_adds(sb, ",\"model_path\":");
		strbuf_add_json_str(sb, c->model_path, strlen(c->model_path));
		strbuf_addf(sb, ",\"threads\":%d,\"ctx\":%d,\"batch\":%d,\"parallel\":%d", c->threads,
			    c->n_ctx, c->n_batch, c->n_parallel);
	}
	strbuf_addch(sb, '}');
}

static void host_name(char *buf, size_t len)
{
	if (gethostname(buf, len))
		snprintf(buf, len, "unknown");
	buf[len - 1] = 0;
}

int runner_run(const struct workload *wl, struct store *st, const struct runner_opts *o,
	       struct runner_result *res, struct lb_error *err)
{
	struct lb_items items = { 0 };
	struct store_run sr = { 0 };
	const char *name_out = NULL;
	char host[256];
	size_t bi;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = dataset_load(wl->dataset.path, wl->dataset.format, wl->dataset.limit, &items, err);
	if (rc)
		return rc;
	host_name(host, sizeof(host));
	sr.name = o->run_name;
	sr.workload_name = wl->name;
	sr.workload_path = wl->path;
	sr.workload_json = wl->text;
	sr.host = o->host ? o->host : host;
	sr.version = lb_version();
	rc = store_run_begin(st, &sr, &res->run_id, &name_out, err);
	if (rc)
		goto out;
	snprintf(res->run_name, sizeof(res->run_name), "%s", name_out ? name_out : "");

	for (bi = 0; bi < wl->n_backends && !runner_stop; bi++) {
		const struct backend_config *cfg = &wl->backends[bi].cfg;
		struct store_backend sb = { cfg->name, cfg->type, cfg->model ? cfg->model : cfg->model_path,
					    cfg->family, cfg->quant, NULL };
		struct strbuf cj = STRBUF_INIT;
		struct backend b = { 0 };
		struct lb_error berr = LB_ERROR_INIT;
		int64_t backend_id = 0;
		size_t li;
		int rep;

		backend_json(&cj, cfg);
		sb.config_json = cj.buf;
		rc = store_backend_add(st, res->run_id, &sb, &backend_id, err);
		strbuf_release(&cj);
		if (rc)
			goto fail;
		if (backend_open(&b, cfg, &berr)) {
			struct store_summary sm = { .run_id = res->run_id, .backend_id = backend_id,
						    .metric = "backend_open", .has_value = false,
						    .provenance = "harness", .note = berr.msg };

			fprintf(stderr, "llmbench: warning: backend '%s' skipped: %s\n", cfg->name, berr.msg);
			res->backends_failed++;
			rc = store_summary_put(st, &sm, err);
			if (rc)
				goto fail;
			continue;
		}
		for (li = 0; li < wl->load.n_levels && !runner_stop; li++) {
			for (rep = 0; rep < (wl->load.repeat > 0 ? wl->load.repeat : 1) && !runner_stop; rep++) {
				bool rate_mode = wl->load.mode && !strcmp(wl->load.mode, "rate");
				double value = wl->load.levels[li];
				struct store_level sl = { (int)li, rep, rate_mode ? "rate" : "concurrency", value };
				struct level_run lr = { 0 };
				struct emit_ctx ec;
				char label[256];
				uint64_t cpu0 = lb_cpu_ns();
				double lag_p99;
				bool valid = true;
				char reason[160] = "";
				int64_t level_id = 0;

				rc = store_level_begin(st, res->run_id, backend_id, &sl, &level_id, err);
				if (rc)
					goto close_fail;
				lr.wl = wl;
				lr.o = o;
				lr.st = st;
				lr.run_id = res->run_id;
				lr.b = &b;
				lr.items = &items;
				lr.next_id = (uint64_t)level_id * 1000000000ull;
				lr.total = wl->load.requests > 0 ? wl->load.requests + wl->load.warmup : -1;
				snprintf(label, sizeof(label), "%s %s=%g%s", cfg->name, sl.mode, value,
					 rep ? " (repeat)" : "");
				lr.label = label;
				level_agg_init(&lr.agg, &wl->slo);
				rc = run_level(&lr, value, rate_mode, err);
				if (lr.inflight && b.ops) {
					uint64_t le = 0;

					cancel_all(&lr, &le);
				}
				res->requests_ok += lr.agg.n_ok;
				res->requests_failed += lr.agg.n_failed;
				if (!rc) {
					ec = (struct emit_ctx){ st, res->run_id, backend_id, level_id, err };
					rc = level_agg_emit(&lr.agg, rate_mode ? value : 0, emit_summary, &ec);
					if (!rc) {
						struct store_summary sm = { .run_id = res->run_id, .backend_id = backend_id,
									    .level_id = level_id, .n = -1,
									    .metric = "harness_cpu_s", .has_value = true,
									    .value = (double)(lb_cpu_ns() - cpu0) / 1e9,
									    .unit = "s", .provenance = "getrusage/clock_gettime" };

						rc = store_summary_put(st, &sm, err);
						sm.metric = "harness_peak_rss_mib";
						sm.value = (double)lb_peak_rss_kib() / 1024.0;
						sm.unit = "MiB";
						sm.note = "process peak so far";
						if (!rc)
							rc = store_summary_put(st, &sm, err);
					}
				}
				lag_p99 = level_agg_lag_p99(&lr.agg);
				if (!isnan(lag_p99) && lag_p99 > wl->load.lag_bound_ms && rate_mode) {
					valid = false;
					snprintf(reason, sizeof(reason),
						 "p99 schedule lag %.3f ms exceeds the bound of %.3f ms: the client set the pace",
						 lag_p99, wl->load.lag_bound_ms);
				}
				if (!rc)
					rc = store_level_end(st, level_id, runner_stop ? "interrupted" : "done", valid,
							     valid ? NULL : reason, err);
				level_agg_release(&lr.agg);
				slots_free(lr.free_slots);
				if (rc)
					goto close_fail;
				if (!valid)
					fprintf(stderr, "llmbench: warning: %s marked invalid: %s\n", label, reason);
				if (!b.ops)
					break;
			}
			if (!b.ops)
				break;
		}
		backend_close(&b);
		continue;
close_fail:
		backend_close(&b);
		goto fail;
	}
	res->interrupted = runner_stop != 0;
	rc = store_run_end(st, res->run_id, res->interrupted ? "interrupted" : "done",
			   res->interrupted ? "stopped by a signal" : NULL, err);
	goto out;
fail:
	{
		struct lb_error e2 = LB_ERROR_INIT;

		store_run_end(st, res->run_id, "failed", err->msg, &e2);
	}
out:
	lb_items_release(&items);
	return rc;
}
