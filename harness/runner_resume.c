/* runner_resume.c: continue an interrupted run without repeating finished requests (see
 * runner_int.h). The store reads and rewrites the rows (metrics/store_resume.c); this file
 * decides what is skipped, what runs again and what the level's figures start from. */
#include "runner_int.h"

#include "../base/alloc.h"
#include "../metrics/store_sessions.h"

#include <string.h>

int resume_run_begin(struct run_state *rs, struct lb_error *err)
{
	const char *mode = rs->wl->load.mode;
	int rc;

	if (!strcmp(mode, "sweep") || !strcmp(mode, "sla"))
		return lb_error_set(
			err, LB_ERR_USAGE,
			"run '%s': resume supports load modes concurrency and rate, not %s",
			rs->o->resume_run, mode);
	rc = store_run_find(rs->st, rs->o->resume_run, &rs->res->run_id, err);
	if (!rc)
		rc = store_run_reopen(rs->st, rs->res->run_id, err);
	return rc;
}

int resume_backend(struct run_state *rs, const char *name, int64_t *backend_id,
		   struct lb_error *err)
{
	int rc = store_backend_find(rs->st, rs->res->run_id, name, backend_id, err);

	/* its eval phase runs again from the start: what it stored before goes (no item twice) */
	if (!rc && *backend_id && rs->wl->eval_json)
		rc = store_backend_evals_drop(rs->st, *backend_id, err);
	return rc;
}

struct resume_ctx {
	struct level_run *lr;
	uint64_t max_req_id;
};

/* One stored request back into the level's figures, and its seq marked done. */
static int resume_row(void *ctx, const struct lb_reqrec *r)
{
	struct resume_ctx *rc = ctx;
	struct level_run *lr = rc->lr;

	level_agg_add(&lr->agg, r);
	if (r->id > rc->max_req_id)
		rc->max_req_id = r->id;
	if (r->seq >= 0 && r->seq < lr->n_done_seq)
		lr->done_seq[r->seq / 8] |= (uint8_t)(1u << (r->seq % 8));
	return 0;
}

int resume_level(struct run_state *rs, struct level_run *lr, int64_t backend_id,
		 const struct store_level *sl, int64_t *level_id, bool *done, struct lb_error *err)
{
	struct resume_ctx rc = { lr, 0 };
	long total = rs->wl->load.requests > 0 ? rs->wl->load.requests + rs->wl->load.warmup : 0;
	int64_t id = 0;
	int r;

	*done = false;
	level_agg_init(&lr->agg, &rs->wl->slo);
	r = store_level_find(rs->st, rs->res->run_id, backend_id, sl->idx, sl->rep, &id, done, err);
	if (r || *done) {
		*level_id = id;
		return r;
	}
	if (!id)
		return store_level_begin(rs->st, rs->res->run_id, backend_id, sl, level_id, err);
	*level_id = id;
	/* sessions: the interrupted ones are cut, not played again (before their cancelled
	 * turns go) */
	r = rs->wl->load.sessions_mode
		    ? store_level_sessions_reopen(rs->st, rs->res->run_id, id, err)
		    : 0;
	if (!r)
		r = store_level_reopen(rs->st, id, false, err);
	if (r)
		return r;
	lr->resumed = true;
	if (total > 0) {
		lr->n_done_seq = total;
		lr->done_seq = lb_calloc((size_t)total / 8 + 1, 1);
		if (!lr->done_seq)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory resuming a level");
	}
	r = store_level_requests(rs->st, id, resume_row, &rc, err);
	/* what ran before the interruption is one measured window; the rest is measured as a
	 * window of its own, so that the downtime between them is never measured */
	level_agg_segment_end(&lr->agg);
	lr->agg.chunk_src_partial = true; /* rows state no chunk's time source */
	lr->next_id = rc.max_req_id;
	runner_say(rs->o, "resuming level %d of backend %lld: %ld requests already stored", sl->idx,
		   (long long)backend_id, lr->agg.n_ok + lr->agg.n_failed + lr->agg.n_warmup);
	return r;
}
