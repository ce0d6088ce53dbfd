/* power_summary.c: the energy figures of a window (energy, power, idle, dynamic energy, per token
 * and per request) and the energy attributed to one request. Pure arithmetic: no sampler state.
 * METRICS.md "Power and energy". */
#include "power.h"

#include "power_internal.h"

#include <math.h>
#include <stdio.h>

/* ---- summaries --------------------------------------------------------------------------- */

static bool known(double x)
{
	return isfinite(x) && x >= 0;
}

int power_summarize(const struct power_window *w, const struct power_window *idle,
		    double n_output_tokens, double n_total_tokens, double n_requests,
		    power_emit_fn *fn, void *ctx)
{
	const char *prov = w->ok ? w->provenance : "power";
	const char *note = w->note[0] ? w->note : NULL;
	double n = (double)w->n_samples;
	double e = w->energy_j, p_idle = NAN;
	char idle_note[POWER_TEXT_MAX], attr_note[POWER_TEXT_MAX];
	int rc;

#define EMIT(metric, ok, val, unit, why)                                        \
	do {                                                                    \
		if ((ok))                                                       \
			rc = fn(ctx, metric, true, (val), n, unit, prov, note); \
		else                                                            \
			rc = fn(ctx, metric, false, 0, -1, unit, prov, (why));  \
		if (rc)                                                         \
			return rc;                                              \
	} while (0)

	if (idle && idle->ok && idle->duration_s > 0)
		p_idle = idle->energy_j / idle->duration_s;
	if (!idle)
		power_fmt(idle_note, sizeof(idle_note),
			  "unavailable: no idle baseline (set power.idle_s)");
	else if (!idle->ok)
		power_fmt(idle_note, sizeof(idle_note), "%s", idle->reason);
	else
		power_fmt(idle_note, sizeof(idle_note),
			  "idle baseline over %.1f s (%zu samples)%s%s", idle->duration_s,
			  idle->n_samples, idle->note[0] ? "; " : "", idle->note);

	if (!w->ok) {
		const char *why = w->reason[0] ? w->reason : "unavailable: no power measurement";

		EMIT("energy_j", false, 0, "J", why);
		EMIT("power_avg_w", false, 0, "W", why);
		if (isnan(p_idle)) {
			rc = fn(ctx, "power_idle_w", false, 0, -1, "W", prov, idle_note);
		} else {
			rc = fn(ctx, "power_idle_w", true, p_idle, (double)idle->n_samples, "W",
				idle->provenance, idle_note);
		}
		if (rc)
			return rc;
		EMIT("energy_dynamic_j", false, 0, "J", why);
		EMIT("j_per_output_token", false, 0, "J/tok", why);
		EMIT("j_per_total_token", false, 0, "J/tok", why);
		EMIT("tokens_per_j", false, 0, "tok/J", why);
		EMIT("j_per_request_attributed", false, 0, "J/req", why);
		return 0;
	}

	EMIT("energy_j", true, e, "J", NULL);
	EMIT("power_avg_w", w->duration_s > 0, e / w->duration_s, "W", "unavailable: empty window");
	if (isnan(p_idle))
		rc = fn(ctx, "power_idle_w", false, 0, -1, "W", prov, idle_note);
	else
		rc = fn(ctx, "power_idle_w", true, p_idle, (double)idle->n_samples, "W",
			idle->provenance, idle_note);
	if (rc)
		return rc;
	if (isnan(p_idle)) {
		rc = fn(ctx, "energy_dynamic_j", false, 0, -1, "J", prov, idle_note);
		if (rc)
			return rc;
	} else {
		EMIT("energy_dynamic_j", true, e - p_idle * w->duration_s, "J", NULL);
	}
	EMIT("j_per_output_token", known(n_output_tokens) && n_output_tokens > 0,
	     e / n_output_tokens, "J/tok", "unavailable: output token count unknown or 0");
	EMIT("j_per_total_token", known(n_total_tokens) && n_total_tokens > 0, e / n_total_tokens,
	     "J/tok", "unavailable: total token count unknown or 0");
	EMIT("tokens_per_j", known(n_output_tokens) && e > 0, n_output_tokens / e, "tok/J",
	     e > 0 ? "unavailable: output token count unknown" : "unavailable: energy is 0");
	power_fmt(attr_note, sizeof(attr_note),
		  "attributed: each request gets energy in proportion to its tokens; this is the "
		  "mean%s%s",
		  note ? "; " : "", note ? note : "");
	note = attr_note;
	EMIT("j_per_request_attributed", known(n_requests) && n_requests > 0, e / n_requests,
	     "J/req", "unavailable: no measured request");
#undef EMIT
	return 0;
}

double power_attributed_energy_j(double level_energy_j, double level_tokens, double level_n_unknown,
				 double prompt_tokens, double output_tokens)
{
	if (!isfinite(level_energy_j) || !isfinite(level_tokens) || !(level_tokens > 0) ||
	    level_n_unknown != 0 || !isfinite(prompt_tokens) || !isfinite(output_tokens) ||
	    prompt_tokens < 0 || output_tokens < 0)
		return NAN;
	return level_energy_j * (prompt_tokens + output_tokens) / level_tokens;
}
