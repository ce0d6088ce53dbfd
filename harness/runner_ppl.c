/* runner_ppl.c: the perplexity phase of a run (see runner_int.h): llama.cpp's perplexity of
 * each in-process backend, and its KL divergence against the model matrix's base. */
#include "runner_int.h"

#include "../backends/gguf_make.h"

#include "../backends/ppl_run.h"
#include "../base/alloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A model made by `llmbench model make` (random weights): its GGUF metadata says so. */
static bool is_synthetic(const char *model_path)
{
	return lb_gguf_synthetic(model_path) == 1;
}

#define PPL_ERR_NONE "unavailable: no error estimate (fewer than 2 scored tokens, or no variance)"

int runner_perplexity(struct run_state *rs, const struct backend_config *cfg, const char *base,
		      int64_t backend_id, struct lb_error *err)
{
	const struct wl_perplexity *pp = &rs->wl->ppl;
	struct ppl_config pc = { 0 };
	struct ppl_result pr;
	struct lb_error perr = LB_ERROR_INIT;
	const char *note;
	char prov[256];
	int rc;

	pc.model_path = cfg->model_path;
	pc.text_path = pp->text;
	pc.kl_base_path = pp->kld && base && strcmp(base, cfg->model_path) ? base : NULL;
	pc.n_ctx = pp->ctx;
	pc.n_batch = pp->batch;
	pc.n_chunks = pp->chunks;
	pc.threads = cfg->threads;
	if (ppl_run(&pc, &pr, &perr)) {
		runner_say(rs->o, "warning: perplexity of '%s' unavailable: %s", cfg->name,
			   perr.msg);
		return runner_put(rs, backend_id, 0, "ppl", false, 0, "", "llama.cpp perplexity",
				  perr.msg, err);
	}
	note = is_synthetic(cfg->model_path) ? "synthetic: random-weight generated model" : NULL;
	snprintf(prov, sizeof(prov), "%s; n_ctx %d, batch %d, %s, %zu scored tokens", pr.method,
		 pr.n_ctx, pr.n_batch, pr.bos_policy, pr.n_scored);
	if ((rc = runner_put(rs, backend_id, 0, "ppl", true, pr.ppl, "", prov, note, err)) ||
	    (rc = runner_put(rs, backend_id, 0, "ppl_err", isfinite(pr.ppl_err), pr.ppl_err, "",
			     prov, isfinite(pr.ppl_err) ? note : PPL_ERR_NONE, err)) ||
	    (rc = runner_put(rs, backend_id, 0, "bpb", true, pr.bpb, "bits/byte", prov, note,
			     err)) ||
	    (rc = runner_put(rs, backend_id, 0, "ppl_scored_tokens", true, (double)pr.n_scored,
			     "tokens", prov, NULL, err)))
		return rc;
	if (!pr.has_kld) {
		const char *why = pc.kl_base_path
					  ? "unavailable: KLD failed"
					  : "unavailable: no separate base model to compare with";

		return runner_put(rs, backend_id, 0, "kld_mean", false, 0, "",
				  "llama.cpp kl-divergence", why, err);
	}
	if ((rc = runner_put(rs, backend_id, 0, "kld_mean", true, pr.kld.kld_mean, "nats", prov,
			     note, err)) ||
	    (rc = runner_put(rs, backend_id, 0, "kld_err", true, pr.kld.kld_unc, "nats", prov, note,
			     err)) ||
	    (rc = runner_put(rs, backend_id, 0, "kld_p99", true, pr.kld.kld_pct[2], "nats", prov,
			     note, err)) ||
	    (rc = runner_put(rs, backend_id, 0, "same_top_pct", true, 100 * pr.kld.same_top, "%",
			     prov, note, err)) ||
	    (rc = runner_put(rs, backend_id, 0, "same_top_err_pct", true, 100 * pr.kld.same_top_unc,
			     "%", prov, note, err)) ||
	    (rc = runner_put(rs, backend_id, 0, "rms_dp_pct", true, 100 * pr.kld.p_diff_rms, "%",
			     prov, note, err)) ||
	    (rc = runner_put(rs, backend_id, 0, "ppl_ratio", true, pr.kld.ppl_ratio, "", prov, note,
			     err)) ||
	    (rc = runner_put(rs, backend_id, 0, "ppl_ratio_err", true, pr.kld.ppl_ratio_unc, "",
			     prov, note, err)))
		return rc;
	return 0;
}
