/* sessions_fig.c: the figures of a level's multi-turn sessions (sessions_fig.h). */
#include "sessions_fig.h"

#include "../base/alloc.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sess_outcome_name[3] = { "completed", "failed", "cut" };

enum sess_outcome sess_outcome_parse(const char *s)
{
	if (s && !strcmp(s, "completed"))
		return SESS_COMPLETED;
	if (s && !strcmp(s, "failed"))
		return SESS_FAILED;
	return SESS_CUT;
}

static void push(struct sess_figs *f, struct dvec *d, double x)
{
	if (dvec_push(d, x))
		f->oom = true;
}

void sess_figs_end(struct sess_figs *f, enum sess_outcome how, long turns_ok, uint64_t t_first_send,
		   uint64_t t_end)
{
	if (how == SESS_COMPLETED) {
		f->completed++;
		if (t_first_send && t_end > t_first_send)
			push(f, &f->dur_s, (double)(t_end - t_first_send) / 1e9);
	} else if (how == SESS_FAILED) {
		f->failed++;
	} else {
		f->cut++;
	}
	push(f, &f->turns, (double)turns_ok);
}

void sess_figs_turn(struct sess_figs *f, long turn, double ttft_ms, double n_in)
{
	size_t k;

	if (turn < 1 || !isfinite(ttft_ms))
		return;
	k = (size_t)turn - 1;
	if (k < SESS_TURN_FIGS) {
		push(f, &f->ttft[k], ttft_ms);
		if (n_in >= 0)
			push(f, &f->n_in[k], n_in);
	}
	if (k >= 1)
		push(f, &f->later, ttft_ms);
}

static int cmp_span(const void *a, const void *b)
{
	const struct sess_span *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int sess_peak(struct sess_span *s, size_t n, long *peak)
{
	uint64_t *ends;
	size_t i, j;

	*peak = 0;
	if (!n)
		return 0;
	ends = lb_malloc(n * sizeof(*ends));
	if (!ends)
		return -1;
	for (i = 0; i < n; i++)
		ends[i] = s[i].end;
	qsort(s, n, sizeof(*s), cmp_span);
	qsort(ends, n, sizeof(*ends), cmp_u64);
	for (i = 0, j = 0; i < n; i++) {
		while (j < n && ends[j] <= s[i].start)
			j++;
		if (s[i].measured && (long)(i + 1 - j) > *peak)
			*peak = (long)(i + 1 - j);
	}
	lb_free(ends);
	return 0;
}

/* p50/p99 (p), or the mean (p < 0), of d, or unavailable with why. */
static int put_stat(sess_put_fn *put, void *ctx, const char *metric, struct dvec *d, double p,
		    const char *unit, const char *why)
{
	double v = NAN;

	if (d->n) {
		struct lb_stats st;

		stats_compute(d->v, d->n, &st);
		v = p < 0 ? st.mean : stats_percentile_sorted(d->v, d->n, p);
	}
	return put(ctx, metric, d->n > 0, v, unit, d->n ? NULL : why);
}

size_t sess_figs_turns(const struct sess_figs *f)
{
	size_t k, n = 0;

	for (k = 0; k < SESS_TURN_FIGS; k++)
		if (f->ttft[k].n)
			n = k + 1;
	return n;
}

int sess_figs_emit(struct sess_figs *f, const char *peak_note, sess_put_fn *put, void *ctx)
{
	static const char no_end[] = "no measured session ended",
			  no_done[] = "no measured session completed",
			  no_later[] = "no measured turn after the first answered";
	char name[64], why[96];
	size_t k, n_turns = sess_figs_turns(f);
	int rc = put(ctx, "sessions_started", true, (double)f->started, "sessions", NULL);

	if (!rc)
		rc = put(ctx, "sessions_completed", true, (double)f->completed, "sessions", NULL);
	if (!rc)
		rc = put(ctx, "sessions_failed", true, (double)f->failed, "sessions", NULL);
	if (!rc)
		rc = put(ctx, "sessions_cut", true, (double)f->cut, "sessions", NULL);
	if (!rc)
		rc = put(ctx, "sessions_inflight_peak", true, (double)f->peak, "sessions",
			 peak_note);
	if (!rc)
		rc = put_stat(put, ctx, "session_turns_mean", &f->turns, -1, "turns", no_end);
	if (!rc)
		rc = put_stat(put, ctx, "session_duration_mean_s", &f->dur_s, -1, "s", no_done);
	if (!rc)
		rc = put_stat(put, ctx, "session_duration_p50_s", &f->dur_s, 50, "s", no_done);
	if (!rc)
		rc = put_stat(put, ctx, "session_duration_p99_s", &f->dur_s, 99, "s", no_done);
	if (!rc)
		rc = put_stat(put, ctx, "turn_later_ttft_p50_ms", &f->later, 50, "ms", no_later);
	if (!rc)
		rc = put_stat(put, ctx, "turn_later_ttft_p99_ms", &f->later, 99, "ms", no_later);
	for (k = 0; k < n_turns && !rc; k++) {
		snprintf(why, sizeof(why), "no measured turn %zu answered", k + 1);
		snprintf(name, sizeof(name), "turn%zu_requests", k + 1);
		rc = put(ctx, name, true, (double)f->ttft[k].n, "requests", NULL);
		snprintf(name, sizeof(name), "turn%zu_ttft_p50_ms", k + 1);
		if (!rc)
			rc = put_stat(put, ctx, name, &f->ttft[k], 50, "ms", why);
		snprintf(name, sizeof(name), "turn%zu_ttft_p99_ms", k + 1);
		if (!rc)
			rc = put_stat(put, ctx, name, &f->ttft[k], 99, "ms", why);
		snprintf(name, sizeof(name), "turn%zu_prompt_tokens_mean", k + 1);
		if (!rc)
			rc = put_stat(put, ctx, name, &f->n_in[k], -1, "tokens",
				      "the backend reported no prompt token counts");
	}
	return rc;
}

void sess_figs_release(struct sess_figs *f)
{
	size_t k;

	for (k = 0; k < SESS_TURN_FIGS; k++) {
		lb_free(f->ttft[k].v);
		lb_free(f->n_in[k].v);
	}
	lb_free(f->turns.v);
	lb_free(f->dur_s.v);
	lb_free(f->later.v);
	memset(f, 0, sizeof(*f));
}
