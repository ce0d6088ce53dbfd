/* runner_preflight.c: one request to each remote backend before the first level (as
 * `vllm bench serve` does), so that a dead or refusing server stops the run with its cause on
 * one line instead of giving a run of failed requests. Nothing of it is stored or measured: its
 * prompt is "Hello" with max_tokens 1, the workload's other generation parameters kept. */
#include "runner_int.h"

#include "../backends/redact.h"

#include <stdio.h>
#include <string.h>

static void preflight_sink(void *ctx, const struct lb_event *ev)
{
	struct lb_reqrec *r = ctx;

	if (r->done)
		return;
	reqrec_on_event(r, ev);
	if (ev->kind == LB_EV_DONE || ev->kind == LB_EV_ERROR)
		r->done = true;
}

/* The URL the backend sends completions to, credentials redacted. */
static void endpoint(const struct backend_config *c, char *buf, size_t len)
{
	char url[1024];

	if (!c->base_url || redact_url(c->base_url, url, sizeof(url)))
		snprintf(url, sizeof(url), "(redacted)");
	snprintf(buf, len, "%s%s", url,
		 c->api && !strcmp(c->api, "chat") ? "/chat/completions" : "/completions");
}

static int preflight_one(struct run_state *rs, const struct backend_config *cfg,
			 struct lb_error *err)
{
	const struct workload *wl = rs->wl;
	struct backend b = { 0 };
	struct request req = { 0 };
	struct lb_reqrec rec;
	struct lb_error e = LB_ERROR_INIT;
	char url[1200], cat[24];
	int rc;

	endpoint(cfg, url, sizeof(url));
	rc = backend_open(&b, cfg, &e);
	if (rc == LB_ERR_USAGE) /* the workload's fault (a key unset, a URL the client cannot
				 * serve): bad input, as when the run opens it */
		return lb_error_set(err, LB_ERR_USAGE, "%s", e.msg);
	if (rc)
		return lb_error_set(err, LB_ERR_BACKEND, "pre-flight request to %s failed: %s", url,
				    e.msg);
	reqrec_init(&rec, 1, false);
	req.id = 1;
	req.gen = wl->gen;
	/* a fixed prompt, none of the dataset's: the pre-flight must not warm the server's prefix
	 * cache for the measured requests */
	req.prompt = "Hello";
	req.prompt_len = 5;
	req.gen.max_tokens = 1;
	req.sink.fn = preflight_sink;
	req.sink.ctx = &rec;
	rc = b.ops->submit(&b, &req, &e);
	while (!rc && !rec.done && !runner_stop)
		rc = b.ops->poll(&b, 100, &e) < 0 ? -1 : 0;
	backend_close(&b); /* ends what is still in flight (interrupted) */
	if (rc)
		rc = lb_error_set(err, LB_ERR_BACKEND, "pre-flight request to %s failed: %s", url,
				  e.msg);
	else if (runner_stop)
		rc = lb_error_set(err, LB_ERR_INTERRUPTED,
				  "interrupted during the pre-flight request to %s", url);
	else if (!reqrec_ok(&rec))
		rc = lb_error_set(err, LB_ERR_BACKEND, "pre-flight request to %s failed: %s: %s",
				  url, lb_fail_name(rec.fail, rec.http_status, cat, sizeof(cat)),
				  rec.err_msg[0] ? rec.err_msg : "(no message)");
	reqrec_release(&rec);
	return rc;
}

int runner_preflight(struct run_state *rs, struct lb_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < rs->wl->n_backends; i++) {
		const struct backend_config *cfg = &rs->wl->backends[i].cfg;

		if (strcmp(cfg->type, "openai"))
			continue; /* in-process backends fail at open, with their own message */
		rc = preflight_one(rs, cfg, err);
		if (rc)
			return rc;
	}
	return 0;
}
