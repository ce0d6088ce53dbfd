/* eval_jobs.c: the eval phase's job pool: requests sent through a backend's submit/poll
 * interface with at most k in flight (see eval_int.h). */
#include "eval_int.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"
#include "runner.h"

#include <stdarg.h>
#include <string.h>

static void job_sink(void *ctx, const struct lb_event *ev)
{
	struct job *j = ctx;

	if (j->rec.done)
		return;
	reqrec_on_event(&j->rec, ev);
	if (ev->kind == LB_EV_DONE || ev->kind == LB_EV_ERROR)
		j->rec.done = true;
}

void eval_jobs_free(struct job *jobs, size_t n)
{
	size_t i;

	for (i = 0; jobs && i < n; i++) {
		reqrec_release(&jobs[i].rec);
		lb_free(jobs[i].prompt);
		lb_free(jobs[i].messages_json);
	}
	lb_free(jobs);
}

static uint64_t next_req_id = 1u << 30; /* apart from the load levels' ids */

int eval_job_init(struct job *j, char *prompt, const struct lb_gen *gen, struct lb_error *err)
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

int eval_jobs_run(struct backend *b, struct job *jobs, size_t n, int k, struct lb_error *err)
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

char *eval_fmt(const char *fmt, ...)
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

const char *eval_rec_text(const struct job *j)
{
	return reqrec_ok(&j->rec) ? j->rec.text.buf : NULL;
}

char *eval_trimmed(const char *s)
{
	size_t a = 0, n = s ? strlen(s) : 0;

	while (a < n && (s[a] == ' ' || s[a] == '\n' || s[a] == '\t' || s[a] == '\r'))
		a++;
	while (n > a &&
	       (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return lb_strndup(s ? s + a : "", n - a);
}

void eval_gen(struct lb_gen *g, int max_tokens, double temperature, bool qa_stops)
{
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
