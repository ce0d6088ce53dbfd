/* json_headline.c: the headline and decision view (headline.h) as report.json's "headline"
 * object, so a script reads the same answer the Markdown and HTML pages open with: per backend
 * the figures that matter with best/worst marks, the invalid levels with their reason, and the
 * Pareto front of speed against quality loss with one sentence per family. A figure that was
 * not measured is null. */
#include "json.h"

#include <cjson/cJSON.h>
#include <math.h>

/* report.json's keys of the headline columns (headline_cols[].name is the display name) */
static const char *const hl_key[HL_N] = {
	[HL_TOKS] = "output_tokens_per_s",
	[HL_REQS] = "requests_per_s",
	[HL_TTFT50] = "ttft_p50_ms",
	[HL_TTFT99] = "ttft_p99_ms",
	[HL_TPOT] = "tpot_p50_ms",
	[HL_FAIL] = "failed_request_rate",
	[HL_PPL] = "perplexity",
	[HL_KLD] = "kld",
	[HL_QUAL] = "quality",
	[HL_JPT] = "joules_per_output_token",
};

static cJSON *num_or_null(double v)
{
	return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *hl_backend(const struct headline *h, const struct headline_backend *b)
{
	cJSON *o = cJSON_CreateObject(), *fig, *best, *worst;
	int c;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "label", b->label);
	cJSON_AddItemToObject(o, "family",
			      b->family ? cJSON_CreateString(b->family) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "quant",
			      b->quant ? cJSON_CreateString(b->quant) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "at", b->at[0] ? cJSON_CreateString(b->at) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "size_mib", num_or_null(b->size_mib));
	cJSON_AddBoolToObject(o, "synthetic", b->synthetic);
	fig = cJSON_AddObjectToObject(o, "figures");
	best = cJSON_AddArrayToObject(o, "best");
	worst = cJSON_AddArrayToObject(o, "worst");
	for (c = 0; c < HL_N; c++) {
		if (!h->col[c])
			continue;
		if (fig)
			cJSON_AddItemToObject(fig, hl_key[c], num_or_null(b->v[c]));
		if (b->mark[c] > 0 && best)
			cJSON_AddItemToArray(best, cJSON_CreateString(hl_key[c]));
		if (b->mark[c] < 0 && worst)
			cJSON_AddItemToArray(worst, cJSON_CreateString(hl_key[c]));
	}
	return o;
}

static cJSON *hl_decision(const struct headline *h)
{
	cJSON *o = cJSON_CreateObject(), *pts, *sent;
	size_t i;

	if (!o)
		return NULL;
	if (!h->n_pts) {
		cJSON_AddItemToObject(o, "unavailable",
				      h->why_no_view ? cJSON_CreateString(h->why_no_view)
						     : cJSON_CreateString("no family x "
									  "quantization matrix"));
		return o;
	}
	cJSON_AddStringToObject(o, "loss", h->loss_name ? h->loss_name : "");
	cJSON_AddItemToObject(o, "bound", num_or_null(h->bound));
	cJSON_AddItemToObject(
		o, "third", h->third_name ? cJSON_CreateString(h->third_name) : cJSON_CreateNull());
	pts = cJSON_AddArrayToObject(o, "points");
	for (i = 0; pts && i < h->n_pts; i++) {
		const struct headline_point *p = &h->pts[i];
		cJSON *q = cJSON_CreateObject();

		if (!q)
			break;
		cJSON_AddItemToArray(pts, q);
		cJSON_AddStringToObject(q, "label", h->b[p->b].label);
		cJSON_AddItemToObject(q, "tokens_per_s", num_or_null(p->speed));
		cJSON_AddItemToObject(q, "loss",
				      num_or_null(h->loss_is_ratio ? 1 + p->loss : p->loss));
		cJSON_AddItemToObject(q, "third", num_or_null(p->third));
		cJSON_AddBoolToObject(q, "base", p->base);
		cJSON_AddBoolToObject(q, "dominated", p->dominated);
		cJSON_AddBoolToObject(q, "within_bound", p->within);
	}
	sent = cJSON_AddArrayToObject(o, "sentences");
	for (i = 0; sent && i < h->n_sentences; i++)
		cJSON_AddItemToArray(sent, cJSON_CreateString(h->sentences[i]));
	return o;
}

/* key: [{backend, level, <text_key>: text}] of notes on levels. */
static void hl_notes(cJSON *o, const char *key, const char *text_key, const struct headline_note *v,
		     size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(o, key);
	size_t i;

	for (i = 0; a && i < n; i++) {
		cJSON *q = cJSON_CreateObject();

		if (!q)
			break;
		cJSON_AddItemToArray(a, q);
		cJSON_AddStringToObject(q, "backend", v[i].label);
		cJSON_AddStringToObject(q, "level", v[i].level);
		cJSON_AddStringToObject(q, text_key, v[i].text);
	}
}

cJSON *report_json_headline(const struct headline *h)
{
	cJSON *o = cJSON_CreateObject(), *bs;
	size_t i;

	if (!o)
		return NULL;
	bs = cJSON_AddArrayToObject(o, "backends");
	for (i = 0; bs && i < h->n_b; i++)
		cJSON_AddItemToArray(bs, hl_backend(h, &h->b[i]));
	cJSON_AddNumberToObject(o, "synthetic_backends", (double)h->n_synthetic);
	hl_notes(o, "invalid_levels", "reason", h->inv, h->n_inv);
	hl_notes(o, "timing_caveats", "caveat", h->cav, h->n_cav);
	cJSON_AddItemToObject(o, "decision", hl_decision(h));
	return o;
}
