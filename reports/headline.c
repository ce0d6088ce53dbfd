/* headline.c: the report's headline and decision view (see headline.h). */
#include "headline.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"
#include "fields.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const struct headline_col_desc headline_cols[HL_N] = {
	[HL_TOKS] = { "output tok/s", "output_token_throughput", +1 },
	[HL_REQS] = { "req/s", "request_throughput", +1 },
	[HL_TTFT50] = { "TTFT p50 (ms)", "ttft_p50_ms", -1 },
	[HL_TTFT99] = { "TTFT p99 (ms)", "ttft_p99_ms", -1 },
	[HL_TPOT] = { "TPOT p50 (ms)", "tpot_p50_ms", -1 },
	[HL_FAIL] = { "failed", "", -1 },
	[HL_PPL] = { "perplexity", "ppl", -1 },
	[HL_KLD] = { "KLD", "kld_mean", -1 },
	[HL_QUAL] = { "QA correct", "qa_correct", +1 },
	[HL_JPT] = { "J/token", "j_per_output_token", -1 },
};

int report_quant_rank(const char *q)
{
	static const char *const order[] = {
		"F32",    "F16",    "BF16",   "Q8_0",    "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_1",
		"Q5_0",   "Q4_K_M", "Q4_K_S", "Q4_1",    "Q4_0", "IQ4_NL", "IQ4_XS", "Q3_K_L",
		"Q3_K_M", "Q3_K_S", "IQ3_M",  "IQ3_XXS", "Q2_K", "IQ2_XS", "IQ1_S",
	};
	size_t i;

	for (i = 0; q && i < sizeof(order) / sizeof(order[0]); i++)
		if (!strcasecmp(q, order[i]))
			return (int)i;
	return 1000;
}

static bool is_float(const char *q)
{
	return q && report_quant_rank(q) <= 2;
}

static bool mval(const struct report_row *r, const char *name, double *v)
{
	const struct report_metric *m = r ? report_row_metric(r, name) : NULL;

	if (!m || !m->n_reps || isnan(m->value))
		return false;
	*v = m->value;
	return true;
}

/* A backend-wide figure: its backend row first, else any of its rows. */
static bool bval(const struct report_data *d, size_t run, int64_t be, const char *name, double *v)
{
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < d->n_rows; i++) {
			const struct report_row *r = &d->rows[i];

			if (r->run != run || r->backend_id != be ||
			    (!pass && r->scope != REPORT_SCOPE_BACKEND))
				continue;
			if (mval(r, name, v))
				return true;
		}
	return false;
}

const char *headline_fmt(enum headline_col c, double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (c == HL_FAIL)
		snprintf(buf, len, "%.1f%%", v * 100);
	else if (c == HL_QUAL)
		snprintf(buf, len, "%.3f", v);
	else
		fields_fmt_num(buf, len, v, FIELD_REAL);
	return buf;
}

static void fill_backend(struct headline *h, const struct report_data *d,
			 const struct report_row *first)
{
	struct headline_backend *b = &h->b[h->n_b];
	const struct report_row *peak = NULL, *peak_any = NULL;
	double best = -1, best_any = -1, ok = 0, failed = 0, v;
	size_t i;
	int k;

	memset(b, 0, sizeof(*b));
	for (k = 0; k < HL_N; k++)
		b->v[k] = NAN;
	if (d->n_runs > 1)
		snprintf(b->label, sizeof(b->label), "%s/%s", d->runs[first->run].name,
			 first->backend ? first->backend : "?");
	else
		snprintf(b->label, sizeof(b->label), "%s", first->backend ? first->backend : "?");
	b->family = first->family;
	b->quant = first->quant;
	if (first->family && d->n_runs > 1)
		snprintf(b->family_key, sizeof(b->family_key), "%s/%s", d->runs[first->run].name,
			 first->family);
	else if (first->family)
		snprintf(b->family_key, sizeof(b->family_key), "%s", first->family);
	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];

		if (r->run != first->run || r->backend_id != first->backend_id)
			continue;
		b->synthetic |= report_row_synthetic(r);
		if (r->scope != REPORT_SCOPE_LEVEL)
			continue;
		if (mval(r, "requests_ok", &v))
			ok += v * r->n_reps;
		if (mval(r, "requests_failed", &v))
			failed += v * r->n_reps;
		if (!mval(r, "output_token_throughput", &v))
			continue;
		if (v > best_any) {
			best_any = v;
			peak_any = r;
		}
		if (r->valid && v > best) {
			best = v;
			peak = r;
		}
	}
	if (!peak)
		peak = peak_any; /* every level invalid: still say what was measured */
	if (peak) {
		report_row_level(peak, b->at, sizeof(b->at));
		if (!peak->valid)
			snprintf(b->at + strlen(b->at), sizeof(b->at) - strlen(b->at),
				 " (invalid)");
		mval(peak, "output_token_throughput", &b->v[HL_TOKS]);
		mval(peak, "request_throughput", &b->v[HL_REQS]);
		mval(peak, "ttft_p50_ms", &b->v[HL_TTFT50]);
		mval(peak, "ttft_p99_ms", &b->v[HL_TTFT99]);
		if (!mval(peak, "tpot_p50_ms", &b->v[HL_TPOT]))
			mval(peak, "tpot_mean_ms", &b->v[HL_TPOT]);
		mval(peak, "j_per_output_token", &b->v[HL_JPT]);
	}
	if (ok + failed > 0)
		b->v[HL_FAIL] = failed / (ok + failed);
	b->size_mib = NAN;
	bval(d, first->run, first->backend_id, "model_size_mib", &b->size_mib);
	bval(d, first->run, first->backend_id, "ppl", &b->v[HL_PPL]);
	bval(d, first->run, first->backend_id, "kld_mean", &b->v[HL_KLD]);
	if (!bval(d, first->run, first->backend_id, "qa_correct", &b->v[HL_QUAL]))
		bval(d, first->run, first->backend_id, "mc2", &b->v[HL_QUAL]);
	h->n_synthetic += b->synthetic;
	h->n_b++;
}

static bool one_family(const struct headline *h)
{
	size_t i;

	for (i = 1; i < h->n_b; i++)
		if (!h->b[i].family || !h->b[0].family || strcmp(h->b[i].family, h->b[0].family))
			return false;
	return true;
}

/* Mark each column's best and worst (every backend tied with them), by the column's direction;
 * nothing when fewer than two backends have the figure or all are equal. */
static void mark_best_worst(struct headline *h)
{
	size_t i;
	int c;

	for (c = 0; c < HL_N; c++) {
		size_t n = 0;
		double lo = INFINITY, hi = -INFINITY, best, worst;

		for (i = 0; i < h->n_b; i++) {
			double v = h->b[i].v[c];

			if (isnan(v))
				continue;
			h->col[c] = true;
			n++;
			lo = fmin(lo, v);
			hi = fmax(hi, v);
		}
		/* within 1% is the same figure, as compare's "=": marks only where it shows */
		if (n < 2 || !(hi - lo > 0.01 * fmax(fabs(hi), fabs(lo))))
			continue;
		/* token perplexities of different tokenizers do not compare: no mark across families */
		if (c == HL_PPL && !one_family(h))
			continue;
		best = headline_cols[c].better > 0 ? hi : lo;
		worst = headline_cols[c].better > 0 ? lo : hi;
		for (i = 0; i < h->n_b; i++) {
			double v = h->b[i].v[c];

			if (isnan(v))
				continue;
			if (fabs(v - best) <= 0.01 * fabs(best))
				h->b[i].mark[c] = +1;
			else if (fabs(v - worst) <= 0.01 * fabs(worst))
				h->b[i].mark[c] = -1;
		}
	}
}

/* The family's base precision: its float backend with the lowest rank. */
static const struct headline_backend *family_base(const struct headline *h, const char *fam)
{
	const struct headline_backend *base = NULL;
	size_t i;

	for (i = 0; i < h->n_b; i++) {
		const struct headline_backend *b = &h->b[i];

		if (!b->family || strcmp(b->family_key, fam) || !is_float(b->quant))
			continue;
		if (!base || report_quant_rank(b->quant) < report_quant_rank(base->quant))
			base = b;
	}
	return base;
}

static bool dominates(const struct headline_point *a, const struct headline_point *b)
{
	bool ge = a->speed >= b->speed && a->loss <= b->loss &&
		  (isnan(a->third) || a->third <= b->third);
	bool gt = a->speed > b->speed || a->loss < b->loss ||
		  (!isnan(a->third) && a->third < b->third);

	return ge && gt;
}

static char *sentence(const struct headline *h, const char *fam)
{
	const struct headline_point *pick = NULL, *closest = NULL, *base = NULL;
	bool by_size = h->third_name && !strcmp(h->third_name, "size (MiB)");
	struct strbuf sb = STRBUF_INIT;
	char a[48], b[48], c[48];
	size_t i;
	int n = 0;

	for (i = 0; i < h->n_pts; i++) {
		const struct headline_point *p = &h->pts[i];
		const struct headline_backend *hb = &h->b[p->b];

		if (strcmp(hb->family_key, fam))
			continue;
		n++;
		if (p->base) {
			base = p;
			continue;
		}
		if (!closest || p->loss < closest->loss)
			closest = p;
		if (!p->within)
			continue;
		/* the smallest: by size where known, else the coarsest quantization */
		if (!pick || (by_size ? p->third < pick->third
				      : report_quant_rank(hb->quant) >
						report_quant_rank(h->b[pick->b].quant)))
			pick = p;
	}
	if (!n || (n == 1 && base))
		return NULL;
#define LOSS(p) \
	fields_fmt_num(a, sizeof(a), h->loss_is_ratio ? 1 + (p)->loss : (p)->loss, FIELD_REAL)
	if (pick && n == 1) {
		strbuf_addf(&sb, "%s: only %s was measured (%s %s: within %s <= %g).", fam,
			    h->b[pick->b].quant, h->loss_short, LOSS(pick), h->loss_short,
			    h->bound);
	} else if (pick) {
		strbuf_addf(&sb,
			    "%s: %s is the smallest quantization within %s <= %g (%s %s, %s tok/s",
			    fam, h->b[pick->b].quant, h->loss_short, h->bound, h->loss_short,
			    LOSS(pick), fields_fmt_num(b, sizeof(b), pick->speed, FIELD_REAL));
		if (!isnan(pick->third))
			strbuf_addf(&sb, ", %s %s",
				    fields_fmt_num(c, sizeof(c), pick->third, FIELD_REAL),
				    !strcmp(h->third_name, "size (MiB)") ? "MiB" : "J/token");
		if (base && base->speed > 0)
			strbuf_addf(&sb, "; %.2fx the speed of %s", pick->speed / base->speed,
				    h->b[base->b].quant);
		strbuf_adds(&sb, ").");
	} else if (closest && n == 1) {
		strbuf_addf(&sb, "%s: only %s was measured (%s %s: outside %s <= %g).", fam,
			    h->b[closest->b].quant, h->loss_short, LOSS(closest), h->loss_short,
			    h->bound);
	} else if (closest) {
		strbuf_addf(
			&sb,
			"%s: no quantization is within %s <= %g; the closest is %s (%s %s)%s%s.",
			fam, h->loss_short, h->bound, h->b[closest->b].quant, h->loss_short,
			LOSS(closest), base ? ": keep " : "", base ? h->b[base->b].quant : "");
	}
#undef LOSS
	return sb.len ? strbuf_detach(&sb, NULL) : (strbuf_release(&sb), NULL);
}

static int decision_view(struct headline *h, const struct headline_opts *o)
{
	bool use_kld = false, use_ppl = false, size_all = true, jpt_all = true;
	size_t i, j, n_q = 0, n_fam = 0;
	const char *fams[64];

	for (i = 0; i < h->n_b; i++) {
		const struct headline_backend *b = &h->b[i];

		if (!b->family || !b->quant)
			continue;
		n_q++;
		use_kld |= !isnan(b->v[HL_KLD]);
		use_ppl |= !isnan(b->v[HL_PPL]);
	}
	if (n_q < 2)
		return 0;
	if (!isnan(o->max_ppl_ratio) && isnan(o->max_kld) && use_ppl)
		use_kld = false;
	if (!use_kld && !use_ppl) {
		h->why_no_view = "no KL divergence or perplexity stored (run a workload with a "
				 "perplexity task and quantizations of one base)";
		return 0;
	}
	h->loss_is_ratio = !use_kld;
	h->loss_name = use_kld ? "KL divergence to the family's base (nats/token)"
			       : "perplexity ratio to the family's base";
	h->loss_short = use_kld ? "KLD" : "ppl ratio";
	h->bound = use_kld ? (isnan(o->max_kld) ? HEADLINE_DEFAULT_MAX_KLD : o->max_kld)
			   : (isnan(o->max_ppl_ratio) ? HEADLINE_DEFAULT_MAX_PPL_RATIO
						      : o->max_ppl_ratio);
	h->pts = lb_calloc(h->n_b, sizeof(*h->pts));
	if (!h->pts)
		return -1;
	for (i = 0; i < h->n_b; i++) {
		const struct headline_backend *b = &h->b[i], *base;
		struct headline_point *p = &h->pts[h->n_pts];

		if (!b->family || !b->quant || isnan(b->v[HL_TOKS]))
			continue;
		base = family_base(h, b->family_key);
		p->b = i;
		p->speed = b->v[HL_TOKS];
		p->base = base == b;
		if (p->base)
			p->loss = 0;
		else if (use_kld)
			p->loss = b->v[HL_KLD];
		else
			p->loss = base && !isnan(base->v[HL_PPL]) && base->v[HL_PPL] > 0
					  ? b->v[HL_PPL] / base->v[HL_PPL] - 1
					  : NAN;
		if (isnan(p->loss))
			continue;
		p->within = (h->loss_is_ratio ? 1 + p->loss : p->loss) <= h->bound + 1e-12;
		h->n_pts++;
	}
	if (h->n_pts < 2) {
		h->n_pts = 0;
		h->why_no_view =
			"fewer than two quantizations with both a speed and a quality-loss "
			"figure";
		return 0;
	}
	/* the third axis: size where every point has one, else energy where every point has it */
	for (i = 0; i < h->n_pts; i++) {
		size_all &= !isnan(h->b[h->pts[i].b].size_mib);
		jpt_all &= !isnan(h->b[h->pts[i].b].v[HL_JPT]);
	}
	h->third_name = size_all ? "size (MiB)" : jpt_all ? "J/token" : NULL;
	for (i = 0; i < h->n_pts; i++)
		h->pts[i].third = size_all  ? h->b[h->pts[i].b].size_mib
				  : jpt_all ? h->b[h->pts[i].b].v[HL_JPT]
					    : NAN;
	for (i = 0; i < h->n_pts; i++)
		for (j = 0; j < h->n_pts; j++)
			if (i != j && dominates(&h->pts[j], &h->pts[i]))
				h->pts[i].dominated = true;
	/* one sentence per family, in order of first appearance */
	for (i = 0; i < h->n_pts && n_fam < 64; i++) {
		const char *f = h->b[h->pts[i].b].family_key;

		for (j = 0; j < n_fam && strcmp(fams[j], f); j++)
			;
		if (j == n_fam)
			fams[n_fam++] = f;
	}
	h->sentences = lb_calloc(n_fam + 1, sizeof(*h->sentences));
	if (!h->sentences)
		return -1;
	for (j = 0; j < n_fam; j++) {
		char *s = sentence(h, fams[j]);

		if (s)
			h->sentences[h->n_sentences++] = s;
	}
	return 0;
}

/* A share of n from a level's figure, NAN when it has none. */
static double share_of(const struct report_row *r, const char *name)
{
	const struct report_metric *m = report_row_metric(r, name);

	return m && m->n_reps && m->n > 0 ? m->value / m->n : NAN;
}

/* A level figure's value, NAN when absent or unavailable. */
static double value_of(const struct report_row *r, const char *name)
{
	const struct report_metric *m = report_row_metric(r, name);

	return m && m->n_reps ? m->value : NAN;
}

/* The share of the level's judged window its scheduler thread waited for a CPU, from
 * harness_busy_pct = (loop CPU + run-queue wait) / window; NAN when not measured. */
static double runq_share(const struct report_row *r)
{
	double cpu = value_of(r, "harness_loop_cpu_s"), wait = value_of(r, "harness_runq_wait_s");
	double busy = value_of(r, "harness_busy_pct");

	return cpu + wait > 0 && busy > 0 ? busy / 100 * wait / (cpu + wait) : NAN;
}

/* The level's timing caveats (docs/METRICS.md "Chunk timing", "Validity"), "; "-joined, as an
 * owned string; "" when none, NULL out of memory. */
static char *timing_caveat(const struct report_row *r)
{
	double harness = share_of(r, "chunks_harness"), zero = share_of(r, "itl_zero_gaps");
	double runq = runq_share(r);
	struct strbuf sb = STRBUF_INIT;
	int rc = 0;

	if (!rc && runq >= HEADLINE_RUNQ_CAVEAT)
		rc = strbuf_addf(
			&sb,
			"its scheduler thread waited for a CPU %.0f%% of the level (other "
			"work on the machine had it): its speed figures may be low and its "
			"latencies high",
			100 * runq);
	if (!rc && harness > 0.5)
		rc = strbuf_addf(
			&sb,
			"%s%.0f%% of its chunks were timed by the harness's clock "
			"(rx_timestamps harness, or no kernel receive times): TTFT and ITL "
			"are as late as the harness was",
			sb.len ? "; " : "", 100 * harness);
	if (!rc && zero >= 0.5)
		rc = strbuf_addf(&sb,
				 "%s%.0f%% of its chunk gaps are 0 (chunks timed together): ITL's "
				 "low percentiles are 0, TPOT is the per-token figure",
				 sb.len ? "; " : "", 100 * zero);
	if (rc) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* A note on level row r under label (text owned by the note). */
static void note_set(struct headline_note *n, const char *label, const struct report_row *r,
		     char *text)
{
	snprintf(n->label, sizeof(n->label), "%s", label);
	report_row_level(r, n->level, sizeof(n->level));
	n->text = text;
}

int headline_build(struct headline *h, const struct report_data *d, const struct headline_opts *o,
		   struct lb_error *err)
{
	size_t i, k;

	memset(h, 0, sizeof(*h));
	h->b = lb_calloc(d->n_rows + 1, sizeof(*h->b));
	h->inv = lb_calloc(d->n_rows + 1, sizeof(*h->inv));
	h->cav = lb_calloc(d->n_rows + 1, sizeof(*h->cav));
	if (!h->b || !h->inv || !h->cav)
		goto oom;
	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];
		bool seen = false;

		if (r->scope == REPORT_SCOPE_RUN)
			continue;
		for (k = 0; k < i && !seen; k++)
			seen = d->rows[k].scope != REPORT_SCOPE_RUN && d->rows[k].run == r->run &&
			       d->rows[k].backend_id == r->backend_id;
		if (seen)
			continue;
		fill_backend(h, d, r);
	}
	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];
		char label[160], *cav;

		if (r->scope != REPORT_SCOPE_LEVEL)
			continue;
		if (d->n_runs > 1)
			snprintf(label, sizeof(label), "%s/%s", d->runs[r->run].name,
				 r->backend ? r->backend : "?");
		else
			snprintf(label, sizeof(label), "%s", r->backend ? r->backend : "?");
		if (!(cav = timing_caveat(r)))
			goto oom;
		if (*cav)
			note_set(&h->cav[h->n_cav++], label, r, cav);
		else
			lb_free(cav);
		if (r->valid)
			continue;
		cav = lb_strdup(r->invalid_reason ? r->invalid_reason : "no reason recorded");
		if (!cav)
			goto oom;
		note_set(&h->inv[h->n_inv++], label, r, cav);
	}
	mark_best_worst(h);
	if (decision_view(h, o))
		goto oom;
	return 0;
oom:
	headline_release(h);
	return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
}

void headline_release(struct headline *h)
{
	size_t i;

	for (i = 0; i < h->n_sentences; i++)
		lb_free(h->sentences[i]);
	lb_free(h->sentences);
	lb_free(h->pts);
	for (i = 0; h->inv && i < h->n_inv; i++)
		lb_free(h->inv[i].text);
	for (i = 0; h->cav && i < h->n_cav; i++)
		lb_free(h->cav[i].text);
	lb_free(h->inv);
	lb_free(h->cav);
	lb_free(h->b);
	memset(h, 0, sizeof(*h));
}
