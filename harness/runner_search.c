/* runner_search.c: load modes whose levels depend on earlier levels (see runner_int.h):
 * GuideLLM's sweep and the SLA search. */
#include "runner_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* GuideLLM's sweep: synchronous (concurrency 1), then saturation (all requests of the level at
 * once, capped at 256 in flight), then sweep_points rates interpolated between the two rates. */
int runner_sweep(struct run_state *rs, struct backend *b, int64_t backend_id, struct lb_error *err)
{
	const struct wl_load *ld = &rs->wl->load;
	struct level_outcome sync, sat, oc;
	double sat_conc = ld->requests > 0 && ld->requests < 256 ? (double)ld->requests : 256;
	int i, idx = 0, rc;

	rc = runner_level(rs, b, backend_id, idx++, 0, false, 1, &sync, err);
	if (rc || runner_stop || !b->ops)
		return rc;
	rc = runner_level(rs, b, backend_id, idx++, 0, false, sat_conc, &sat, err);
	if (rc || runner_stop || !b->ops)
		return rc;
	if (!(sync.req_per_s > 0) || !(sat.req_per_s > 0)) {
		runner_say(rs->o,
			   "warning: sweep of '%s' stopped: no throughput measured at the ends",
			   b->name);
		return runner_put(
			rs, backend_id, 0, "sweep", false, 0, "", "harness",
			"unavailable: the synchronous or saturation level completed no request",
			err);
	}
	for (i = 1; i <= ld->sweep_points && !runner_stop && b->ops; i++) {
		double lo = sync.req_per_s, hi = sat.req_per_s > lo ? sat.req_per_s : lo * 1.01;
		double r = lo + (hi - lo) * i / (ld->sweep_points + 1);

		rc = runner_level(rs, b, backend_id, idx++, 0, true, r, &oc, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Does a level meet the workload's SLOs? The fraction of its measured requests meeting every
 * SLO must reach slo_target, and the level must be valid. */
static bool level_passes(const struct wl_load *ld, const struct level_outcome *oc)
{
	long n = oc->n_ok + oc->n_failed;

	return oc->valid && n > 0 && (double)oc->n_good / (double)n >= ld->slo_target;
}

/* SLA search: double from start until a level fails the SLOs (or max), then bisect. */
int runner_sla_search(struct run_state *rs, struct backend *b, int64_t backend_id,
		      struct lb_error *err)
{
	const struct wl_load *ld = &rs->wl->load;
	const struct wl_slo *slo = &rs->wl->slo;
	bool rate = !strcmp(ld->search_over, "rate");
	double lo = 0, hi = 0, v = ld->search_start;
	struct level_outcome oc;
	char prov[256];
	int idx = 0, step, rc;

	if (!(slo->ttft_ms > 0 || slo->tpot_ms > 0 || slo->e2e_ms > 0))
		return runner_put(rs, backend_id, 0, rate ? "sla_max_rate" : "sla_max_concurrency",
				  false, 0, "", "sla search",
				  "unavailable: the workload sets no slo to search against", err);
	for (;;) {
		if (!rate)
			v = floor(v);
		rc = runner_level(rs, b, backend_id, idx++, 0, rate, v, &oc, err);
		if (rc || runner_stop || !b->ops)
			return rc;
		if (!level_passes(ld, &oc)) {
			hi = v;
			break;
		}
		lo = v;
		if (v >= ld->search_max)
			break;
		v = v * 2 > ld->search_max ? ld->search_max : v * 2;
	}
	for (step = 0; hi > 0 && lo > 0 && step < ld->search_steps && !runner_stop && b->ops;
	     step++) {
		v = (lo + hi) / 2;
		if (!rate)
			v = floor(v);
		if (v <= lo || (!rate && hi - lo <= 1))
			break;
		rc = runner_level(rs, b, backend_id, idx++, 0, rate, v, &oc, err);
		if (rc)
			return rc;
		if (level_passes(ld, &oc))
			lo = v;
		else
			hi = v;
	}
	snprintf(
		prov, sizeof(prov),
		"sla search over %s: doubling from %g then bisection; a level passes when %.0f%% of its "
		"requests meet every slo; first failing value %g",
		ld->search_over, ld->search_start, ld->slo_target * 100, hi);
	if (lo <= 0)
		return runner_put(rs, backend_id, 0, rate ? "sla_max_rate" : "sla_max_concurrency",
				  false, 0, rate ? "req/s" : "requests", prov,
				  "unavailable: even the first value fails the slos", err);
	return runner_put(rs, backend_id, 0, rate ? "sla_max_rate" : "sla_max_concurrency", true,
			  lo, rate ? "req/s" : "requests", prov,
			  hi > 0 ? NULL : "the search stopped at load.search.max", err);
}
