/* gate_out.c: the gate report (gate.h) and its outputs: JUnit XML, a Markdown summary, JSON for
 * github-action-benchmark and Bencher, and plain text. Every output lists unmatched rows. */
#include "gate.h"

#include "../base/alloc.h"
#include "../base/vec.h"
#include "../base/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the report ---- */

void gate_report_init(struct gate_report *r)
{
	memset(r, 0, sizeof(*r));
}

void gate_report_release(struct gate_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n_items; i++) {
		lb_free(r->items[i].key);
		lb_free(r->items[i].metric);
		lb_free(r->items[i].unit);
	}
	for (i = 0; i < r->n_unmatched; i++)
		lb_free(r->unmatched[i]);
	for (i = 0; i < r->n_notes; i++)
		lb_free(r->notes[i]);
	lb_free(r->items);
	lb_free(r->unmatched);
	lb_free(r->notes);
	lb_free(r->candidate);
	lb_free(r->baseline);
	lb_free(r->rules_origin);
	lb_free(r->nothing);
	gate_report_init(r);
}

int gate_report_add(struct gate_report *r, const char *key, const char *metric, const char *unit,
		    const struct gate_rule *rule, const struct gate_side *cand,
		    const struct gate_verdict *v, struct lb_error *err)
{
	struct gate_item it = { 0 };

	if (LB_ALLOC_GROW(r->items, r->n_items + 1, r->alloc_items))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	it.key = lb_strdup(key);
	it.metric = lb_strdup(metric);
	it.unit = unit && *unit ? lb_strdup(unit) : NULL;
	if (!it.key || !it.metric || (unit && *unit && !it.unit)) {
		lb_free(it.key);
		lb_free(it.metric);
		lb_free(it.unit);
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	it.dir = rule->dir;
	it.cand = *cand;
	it.v = *v;
	it.threshold = v->test == GATE_THRESHOLD && rule->test != GATE_THRESHOLD
			       ? rule->fallback_threshold
			       : rule->threshold;
	it.min_effect = rule->min_effect;
	r->items[r->n_items++] = it;
	if (v->status == GATE_PASS && v->undetectable)
		r->n_undetectable++;
	if (v->status == GATE_PASS)
		r->n_pass++;
	else if (v->status == GATE_FAIL)
		r->n_fail++;
	else
		r->n_skip++;
	return 0;
}

static int add_str(char ***v, size_t *n, size_t *alloc, const char *s, struct lb_error *err)
{
	char *d;

	if (LB_ALLOC_GROW(*v, *n + 1, *alloc))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	d = lb_strdup(s);
	if (!d)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	(*v)[(*n)++] = d;
	return 0;
}

int gate_report_unmatched(struct gate_report *r, const char *what, struct lb_error *err)
{
	return add_str(&r->unmatched, &r->n_unmatched, &r->alloc_unmatched, what, err);
}

int gate_report_note(struct gate_report *r, const char *note, struct lb_error *err)
{
	return add_str(&r->notes, &r->n_notes, &r->alloc_notes, note, err);
}

bool gate_report_failed(const struct gate_report *r)
{
	return r->n_fail > 0 || (r->fail_unmatched && r->n_unmatched > 0);
}

int gate_report_finish(struct gate_report *r, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (r->n_pass || r->n_fail)
		return 0;
	if (!r->n_items && !r->n_unmatched)
		strbuf_adds(&sb, "neither run has a row or a metric to compare");
	if (r->n_unmatched) {
		strbuf_adds(&sb, "no row matches (backend, family, quant and level must agree): ");
		for (i = 0; i < r->n_unmatched && i < 8; i++)
			strbuf_addf(&sb, "%s%s", i ? "; " : "", r->unmatched[i]);
		if (i < r->n_unmatched)
			strbuf_addf(&sb, "; and %zu more", r->n_unmatched - i);
	}
	if (r->n_items) {
		strbuf_addf(&sb, "%severy check was skipped: ", sb.len ? "; " : "");
		for (i = 0; i < r->n_items && i < 8; i++)
			strbuf_addf(&sb, "%s%s %s (%s)", i ? "; " : "", r->items[i].key,
				    r->items[i].metric, r->items[i].v.note);
		if (i < r->n_items)
			strbuf_addf(&sb, "; and %zu more", r->n_items - i);
	}
	r->nothing = strbuf_detach(&sb, NULL);
	if (!r->nothing)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	return 0;
}

enum gate_verdict_kind gate_report_verdict(const struct gate_report *r)
{
	if (gate_report_failed(r))
		return GATE_VERDICT_FAIL;
	if (r->nothing || !r->n_pass)
		return GATE_VERDICT_NOTHING;
	if (r->n_undetectable || r->n_weak)
		return GATE_VERDICT_UNDETECTABLE;
	return GATE_VERDICT_PASS;
}

const char *gate_verdict_name(enum gate_verdict_kind k)
{
	switch (k) {
	case GATE_VERDICT_PASS: return "passed";
	case GATE_VERDICT_UNDETECTABLE: return "passed, with warnings";
	case GATE_VERDICT_FAIL: return "FAILED";
	default: return "compared nothing";
	}
}

/* ---- helpers ---- */

static const char *fmt_num(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "n/a");
	else if (isinf(v))
		snprintf(buf, len, "%sinf", v < 0 ? "-" : "");
	else
		snprintf(buf, len, "%.4g", v);
	return buf;
}

static const char *fmt_p(double p, char *buf, size_t len)
{
	if (isnan(p))
		snprintf(buf, len, "n/a");
	else if (p < 1e-4)
		snprintf(buf, len, "<0.0001");
	else
		snprintf(buf, len, "%.4f", p);
	return buf;
}

static const char *fmt_rel(double rel, enum gate_dir dir, char *buf, size_t len)
{
	/* shown as the signed change of the value, not of "worseness" */
	double change = dir == GATE_LOWER_IS_BETTER ? rel : -rel;

	if (isnan(rel))
		snprintf(buf, len, "n/a");
	else if (isinf(rel))
		snprintf(buf, len, "%sinf", change < 0 ? "-" : "+");
	else
		snprintf(buf, len, "%+.1f%%", 100 * change);
	return buf;
}

/* "the history test could only have detected a worsening of 312% or more (the rule's
 * threshold: 15%)" */
static void add_undetectable(struct strbuf *sb, const struct gate_item *it)
{
	const char *u = it->unit ? it->unit : "";

	if (isinf(it->v.mde))
		strbuf_addf(sb, "the %s test could not have detected any worsening with this data",
			    gate_test_name(it->v.test));
	else
		strbuf_addf(sb,
			    "the %s test could only have detected a worsening of %.4g%s%s (%.1f%%) "
			    "or more",
			    gate_test_name(it->v.test), it->v.mde, *u ? " " : "", u,
			    100 * it->v.mde_rel);
	strbuf_addf(sb, " (the rule's threshold: %.0f%%, min effect %g)", 100 * it->threshold,
		    it->min_effect);
}

/* "; detectable worsening 12.3 ms (61.5%), more than the rule's 15%" or "" */
static void add_mde(struct strbuf *sb, const struct gate_item *it)
{
	const char *u = it->unit ? it->unit : "";

	if (isnan(it->v.mde))
		return;
	if (isinf(it->v.mde))
		strbuf_adds(sb, "; detectable worsening: none with this data");
	else
		strbuf_addf(sb, "; detectable worsening %.4g%s%s (%.1f%%)", it->v.mde,
			    *u ? " " : "", u, 100 * it->v.mde_rel);
	if (it->v.undetectable)
		strbuf_addf(sb,
			    ", more than the rule's %.0f%% / %g: WARNING: this check could not "
			    "have seen a worsening of the rule's size",
			    100 * it->threshold, it->min_effect);
}

/* "observed 26.1 ms, baseline 20.2 ms, limit 23.2 ms (threshold 15%, min effect 0.5),
 * test welch, p = 0.0001: note" */
static void describe(struct strbuf *sb, const struct gate_item *it)
{
	char a[32], b[32], c[32], p[32];
	const char *u = it->unit ? it->unit : "";

	if (it->v.status == GATE_SKIP) {
		strbuf_addf(sb, "%s: skipped (test %s): %s", it->metric, gate_test_name(it->v.test),
			    it->v.note);
		return;
	}
	/* a unit only after a number: "limit n/a", not "limit n/a ms" */
#define UNIT_OF(x) (*u && !isnan(x) ? " " : ""), (!isnan(x) ? u : "")
	strbuf_addf(sb,
		    "%s: observed %s%s%s, baseline %s%s%s, limit %s%s%s (%s, threshold %.0f%%, "
		    "min effect %g), test %s, p-value %s: %s",
		    it->metric, fmt_num(it->v.observed, a, sizeof(a)), UNIT_OF(it->v.observed),
		    fmt_num(it->v.baseline, b, sizeof(b)), UNIT_OF(it->v.baseline),
		    fmt_num(it->v.limit, c, sizeof(c)), UNIT_OF(it->v.limit),
		    it->dir == GATE_LOWER_IS_BETTER ? "lower is better" : "higher is better",
		    100 * it->threshold, it->min_effect, gate_test_name(it->v.test),
		    fmt_p(it->v.p, p, sizeof(p)), it->v.note);
#undef UNIT_OF
	add_mde(sb, it);
}

static int flush_sb(struct strbuf *sb, FILE *f, struct lb_error *err)
{
	int rc = 0;

	if (sb->len && fwrite(sb->buf, 1, sb->len, f) != sb->len)
		rc = lb_error_set(err, LB_ERR_IO, "cannot write the gate output: %s",
				  strerror(errno));
	if (!rc && fflush(f))
		rc = lb_error_set(err, LB_ERR_IO, "cannot write the gate output: %s",
				  strerror(errno));
	strbuf_release(sb);
	return rc;
}

static void xml_esc(struct strbuf *sb, const char *s)
{
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '<')
			strbuf_adds(sb, "&lt;");
		else if (ch == '>')
			strbuf_adds(sb, "&gt;");
		else if (ch == '&')
			strbuf_adds(sb, "&amp;");
		else if (ch == '"')
			strbuf_adds(sb, "&quot;");
		else if (ch == '\'')
			strbuf_adds(sb, "&apos;");
		else if (ch < 0x20 && ch != '\n' && ch != '\t')
			strbuf_addch(sb, ' '); /* not allowed in XML 1.0 */
		else
			strbuf_addch(sb, (char)ch);
	}
}

/* ---- JUnit XML ---- */

int gate_write_junit(const struct gate_report *r, FILE *f, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT, msg = STRBUF_INIT;
	size_t i, tests = r->n_items + r->n_unmatched;
	size_t fails = r->n_fail + (r->fail_unmatched ? r->n_unmatched : 0);
	size_t skips = r->n_skip + (r->fail_unmatched ? 0 : r->n_unmatched);

	strbuf_adds(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	strbuf_addf(&sb,
		    "<testsuites name=\"llmbench gate\" tests=\"%zu\" failures=\"%zu\" "
		    "errors=\"0\" skipped=\"%zu\">\n",
		    tests, fails, skips);
	strbuf_adds(&sb, "  <testsuite name=\"");
	xml_esc(&sb, r->candidate);
	strbuf_addf(&sb, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n", tests,
		    fails, skips);
	strbuf_adds(&sb, "    <properties>\n      <property name=\"candidate\" value=\"");
	xml_esc(&sb, r->candidate);
	strbuf_adds(&sb, "\"/>\n      <property name=\"baseline\" value=\"");
	xml_esc(&sb, r->baseline);
	strbuf_adds(&sb, "\"/>\n      <property name=\"rules\" value=\"");
	xml_esc(&sb, r->rules_origin);
	strbuf_adds(&sb, "\"/>\n      <property name=\"verdict\" value=\"");
	xml_esc(&sb, gate_verdict_name(gate_report_verdict(r)));
	strbuf_adds(&sb, "\"/>\n");
	if (r->nothing) {
		strbuf_adds(&sb, "      <property name=\"nothing_compared\" value=\"");
		xml_esc(&sb, r->nothing);
		strbuf_adds(&sb, "\"/>\n");
	}
	for (i = 0; i < r->n_items; i++) {
		if (!r->items[i].v.undetectable)
			continue;
		strbuf_reset(&msg);
		strbuf_addf(&msg, "%s %s: ", r->items[i].key, r->items[i].metric);
		add_undetectable(&msg, &r->items[i]);
		strbuf_adds(&sb, "      <property name=\"warning\" value=\"");
		xml_esc(&sb, msg.buf);
		strbuf_adds(&sb, "\"/>\n");
	}
	for (i = 0; i < r->n_notes; i++) {
		strbuf_adds(&sb, "      <property name=\"note\" value=\"");
		xml_esc(&sb, r->notes[i]);
		strbuf_adds(&sb, "\"/>\n");
	}
	strbuf_adds(&sb, "    </properties>\n");
	for (i = 0; i < r->n_items; i++) {
		const struct gate_item *it = &r->items[i];

		strbuf_reset(&msg);
		describe(&msg, it);
		strbuf_adds(&sb, "    <testcase classname=\"");
		xml_esc(&sb, it->key);
		strbuf_adds(&sb, "\" name=\"");
		xml_esc(&sb, it->metric);
		strbuf_adds(&sb, "\" time=\"0\"");
		if (it->v.status == GATE_PASS) {
			strbuf_adds(&sb, ">\n      <system-out>");
			xml_esc(&sb, msg.buf);
			strbuf_adds(&sb, "</system-out>\n    </testcase>\n");
			continue;
		}
		strbuf_adds(&sb, ">\n      <");
		strbuf_adds(&sb,
			    it->v.status == GATE_FAIL ? "failure type=\"regression\"" : "skipped");
		strbuf_adds(&sb, " message=\"");
		xml_esc(&sb, msg.buf);
		strbuf_adds(&sb, "\">");
		xml_esc(&sb, msg.buf);
		strbuf_adds(&sb, it->v.status == GATE_FAIL ? "</failure>\n" : "</skipped>\n");
		strbuf_adds(&sb, "    </testcase>\n");
	}
	for (i = 0; i < r->n_unmatched; i++) {
		strbuf_adds(&sb, "    <testcase classname=\"unmatched\" name=\"");
		xml_esc(&sb, r->unmatched[i]);
		strbuf_adds(&sb, "\" time=\"0\">\n      <");
		strbuf_adds(&sb, r->fail_unmatched ? "failure type=\"unmatched\"" : "skipped");
		strbuf_adds(&sb, " message=\"unmatched row: ");
		xml_esc(&sb, r->unmatched[i]);
		strbuf_adds(&sb, "\"/>\n    </testcase>\n");
	}
	strbuf_adds(&sb, "  </testsuite>\n</testsuites>\n");
	strbuf_release(&msg);
	return flush_sb(&sb, f, err);
}

/* ---- Markdown ---- */

static void md_esc(struct strbuf *sb, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			strbuf_adds(sb, "\\|");
		else if (*s == '\n' || *s == '\r')
			strbuf_addch(sb, ' ');
		else
			strbuf_addch(sb, *s);
	}
}

static void md_row(struct strbuf *sb, const struct gate_item *it)
{
	char a[32], b[32], c[32], d[32], p[32];
	const char *st = it->v.status == GATE_FAIL   ? "**FAIL**"
			 : it->v.status == GATE_SKIP ? "skip"
			 : it->v.undetectable        ? "pass (warn)"
						     : "pass";

	strbuf_addf(sb, "| %s | ", st);
	md_esc(sb, it->key);
	strbuf_adds(sb, " | ");
	md_esc(sb, it->metric);
	strbuf_addf(sb, " | %s | %s | %s | %s | %s | %s | ", fmt_num(it->v.baseline, a, sizeof(a)),
		    fmt_num(it->v.observed, b, sizeof(b)),
		    fmt_rel(it->v.rel, it->dir, c, sizeof(c)), fmt_num(it->v.limit, d, sizeof(d)),
		    gate_test_name(it->v.test), fmt_p(it->v.p, p, sizeof(p)));
	if (isnan(it->v.mde))
		strbuf_adds(sb, "n/a");
	else if (isinf(it->v.mde))
		strbuf_adds(sb, "none");
	else
		strbuf_addf(sb, "%s (%.1f%%)%s", fmt_num(it->v.mde, d, sizeof(d)),
			    100 * it->v.mde_rel, it->v.undetectable ? " **too coarse**" : "");
	strbuf_adds(sb, " | ");
	md_esc(sb, it->v.note);
	strbuf_adds(sb, " |\n");
}

int gate_write_markdown(const struct gate_report *r, FILE *f, size_t max_bytes,
			struct lb_error *err)
{
	static const enum gate_status order[] = { GATE_FAIL, GATE_SKIP, GATE_PASS };
	struct strbuf sb = STRBUF_INIT, row = STRBUF_INIT;
	size_t i, k, left_out = 0, reserve = 512;
	enum gate_verdict_kind verdict = gate_report_verdict(r);

	if (!max_bytes)
		max_bytes = GATE_MD_MAX;
	strbuf_addf(&sb, "## llmbench gate: %s\n\n", gate_verdict_name(verdict));
	strbuf_adds(&sb, "Candidate `");
	md_esc(&sb, r->candidate);
	strbuf_adds(&sb, "` against ");
	md_esc(&sb, r->baseline);
	strbuf_adds(&sb, "; rules: ");
	md_esc(&sb, r->rules_origin);
	strbuf_addf(&sb,
		    ".\n\n%zu checks: %zu failed, %zu passed, %zu skipped; %zu unmatched "
		    "rows%s.\n\n",
		    r->n_items, r->n_fail, r->n_pass, r->n_skip, r->n_unmatched,
		    r->n_unmatched && r->fail_unmatched ? " (counted as failures)" : "");
	if (r->nothing) {
		strbuf_adds(&sb, "> **Nothing compared** (no verdict): ");
		md_esc(&sb, r->nothing);
		strbuf_adds(&sb, "\n\n");
	}
	for (i = 0; i < r->n_items; i++) {
		if (!r->items[i].v.undetectable)
			continue;
		strbuf_reset(&row);
		strbuf_addf(&row, "%s %s: ", r->items[i].key, r->items[i].metric);
		add_undetectable(&row, &r->items[i]);
		strbuf_adds(&sb, "> **Warning**: ");
		md_esc(&sb, row.buf);
		strbuf_adds(&sb, "\n\n");
	}
	for (i = 0; i < r->n_notes; i++) {
		strbuf_adds(&sb, "> ");
		md_esc(&sb, r->notes[i]);
		strbuf_adds(&sb, "\n\n");
	}
	strbuf_adds(
		&sb,
		"| status | key | metric | baseline | candidate | change | limit | test | "
		"p-value | detectable | note |\n| --- | --- | --- | ---: | ---: | ---: | ---: | --- "
		"| ---: | ---: | --- |\n");
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (i = 0; i < r->n_items; i++) {
			if (r->items[i].v.status != order[k])
				continue;
			strbuf_reset(&row);
			md_row(&row, &r->items[i]);
			if (left_out || sb.len + row.len + reserve > max_bytes) {
				left_out++;
				continue;
			}
			strbuf_add(&sb, row.buf, row.len);
		}
	if (r->n_unmatched) {
		strbuf_adds(&sb, "\nUnmatched rows (no counterpart to compare with):\n\n");
		for (i = 0; i < r->n_unmatched; i++) {
			strbuf_reset(&row);
			strbuf_adds(&row, "- ");
			md_esc(&row, r->unmatched[i]);
			strbuf_addch(&row, '\n');
			if (left_out || sb.len + row.len + reserve > max_bytes) {
				left_out++;
				continue;
			}
			strbuf_add(&sb, row.buf, row.len);
		}
	}
	if (left_out)
		strbuf_addf(
			&sb,
			"\n_Truncated: %zu more rows left out to stay under %zu bytes (GitHub's "
			"step summary limit); the JUnit file has them all._\n",
			left_out, max_bytes);
	strbuf_release(&row);
	return flush_sb(&sb, f, err);
}

/* ---- JSON ---- */

static void put_num(struct strbuf *sb, double v)
{
	char buf[64];

	if (!isfinite(v)) {
		strbuf_adds(sb, "null");
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	strbuf_adds(sb, buf);
}

static void json_str(struct strbuf *sb, const char *s)
{
	strbuf_add_json_str(sb, s ? s : "", s ? strlen(s) : 0);
}

int gate_write_gab(const struct gate_report *r, enum gate_dir dir, FILE *f, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT, tmp = STRBUF_INIT;
	bool first = true;
	size_t i;

	strbuf_addch(&sb, '[');
	for (i = 0; i < r->n_items; i++) {
		const struct gate_item *it = &r->items[i];
		char p[32];

		if (it->dir != dir || !isfinite(it->cand.mean))
			continue;
		strbuf_adds(&sb, first ? "\n  {" : ",\n  {");
		first = false;
		strbuf_reset(&tmp);
		strbuf_addf(&tmp, "%s %s", it->key, it->metric);
		strbuf_adds(&sb, "\"name\": ");
		json_str(&sb, tmp.buf);
		strbuf_adds(&sb, ", \"unit\": ");
		json_str(&sb, it->unit ? it->unit : "");
		strbuf_adds(&sb, ", \"value\": ");
		put_num(&sb, it->cand.mean);
		if (isfinite(it->cand.sd)) {
			strbuf_reset(&tmp);
			strbuf_addf(&tmp, "± %.4g", it->cand.sd);
			strbuf_adds(&sb, ", \"range\": ");
			json_str(&sb, tmp.buf);
		}
		strbuf_reset(&tmp);
		strbuf_addf(&tmp, "gate %s (%s, p-value %s); %s", gate_status_name(it->v.status),
			    gate_test_name(it->v.test), fmt_p(it->v.p, p, sizeof(p)), it->v.note);
		add_mde(&tmp, it);
		strbuf_adds(&sb, ", \"extra\": ");
		json_str(&sb, tmp.buf);
		strbuf_addch(&sb, '}');
	}
	strbuf_adds(&sb, first ? "]\n" : "\n]\n");
	strbuf_release(&tmp);
	return flush_sb(&sb, f, err);
}

int gate_write_bencher(const struct gate_report *r, FILE *f, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	bool first_key = true;
	size_t i, j, k;

	strbuf_addch(&sb, '{');
	for (i = 0; i < r->n_items; i++) {
		bool seen = false, first_m = true;

		for (j = 0; j < i && !seen; j++)
			seen = !strcmp(r->items[j].key, r->items[i].key);
		if (seen)
			continue;
		for (k = i; k < r->n_items; k++) {
			const struct gate_item *it = &r->items[k];
			double lo = it->cand.lo, hi = it->cand.hi;

			if (strcmp(it->key, r->items[i].key) || !isfinite(it->cand.mean))
				continue;
			if (first_m) {
				strbuf_adds(&sb, first_key ? "\n  " : ",\n  ");
				first_key = false;
				json_str(&sb, it->key);
				strbuf_adds(&sb, ": {");
			}
			strbuf_adds(&sb, first_m ? "\n    " : ",\n    ");
			first_m = false;
			json_str(&sb, it->metric);
			strbuf_adds(&sb, ": {\"value\": ");
			put_num(&sb, it->cand.mean);
			if (!(isfinite(lo) && isfinite(hi)) && isfinite(it->cand.sd)) {
				lo = it->cand.mean - it->cand.sd;
				hi = it->cand.mean + it->cand.sd;
			}
			if (isfinite(lo) && isfinite(hi)) {
				strbuf_adds(&sb, ", \"lower_value\": ");
				put_num(&sb, lo);
				strbuf_adds(&sb, ", \"upper_value\": ");
				put_num(&sb, hi);
			}
			strbuf_addch(&sb, '}');
		}
		if (!first_m)
			strbuf_adds(&sb, "\n  }");
	}
	strbuf_adds(&sb, first_key ? "}\n" : "\n}\n");
	return flush_sb(&sb, f, err);
}

/* ---- text ---- */

int gate_write_text(const struct gate_report *r, FILE *f, bool all, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < r->n_items; i++) {
		const struct gate_item *it = &r->items[i];

		if (!all && it->v.status == GATE_PASS && !it->v.undetectable)
			continue;
		strbuf_addf(&sb, "%-4s %s ",
			    it->v.status == GATE_FAIL ? "FAIL"
			    : it->v.undetectable      ? "warn"
						      : gate_status_name(it->v.status),
			    it->key);
		describe(&sb, it);
		strbuf_addch(&sb, '\n');
	}
	for (i = 0; i < r->n_unmatched; i++)
		strbuf_addf(&sb, "%-4s unmatched row: %s\n", r->fail_unmatched ? "FAIL" : "skip",
			    r->unmatched[i]);
	for (i = 0; i < r->n_notes; i++)
		strbuf_addf(&sb, "note: %s\n", r->notes[i]);
	for (i = 0; i < r->n_items; i++) {
		if (!r->items[i].v.undetectable)
			continue;
		strbuf_addf(&sb, "warning: %s %s: ", r->items[i].key, r->items[i].metric);
		add_undetectable(&sb, &r->items[i]);
		strbuf_addch(&sb, '\n');
	}
	if (r->nothing)
		strbuf_addf(&sb, "nothing compared: %s\n", r->nothing);
	strbuf_addf(&sb,
		    "gate %s: candidate '%s' against %s: %zu checks, %zu failed, %zu passed, "
		    "%zu skipped, %zu unmatched",
		    gate_verdict_name(gate_report_verdict(r)), r->candidate ? r->candidate : "",
		    r->baseline ? r->baseline : "", r->n_items, r->n_fail, r->n_pass, r->n_skip,
		    r->n_unmatched);
	if (r->n_undetectable)
		strbuf_addf(&sb,
			    "; %zu passed check%s could not have seen a worsening of the "
			    "rule's size",
			    r->n_undetectable, r->n_undetectable == 1 ? "" : "s");
	if (r->n_weak)
		strbuf_addf(&sb, "; the baseline of %zu row%s had no successful request", r->n_weak,
			    r->n_weak == 1 ? "" : "s");
	strbuf_addch(&sb, '\n');
	return flush_sb(&sb, f, err);
}
