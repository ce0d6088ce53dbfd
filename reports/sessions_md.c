/* sessions_md.c: the table by turn index of multi-turn levels (load modes sessions and
 * session_rate, docs/traffic.md#multi-turn-sessions), from the level summaries turn<k>_*, in
 * Markdown (report.md) and HTML (index.html). */
#include "sessions_md.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

static void esc(FILE *f, const char *s, bool html)
{
	for (; s && *s; s++) {
		if (html && *s == '<')
			fputs("&lt;", f);
		else if (html && *s == '>')
			fputs("&gt;", f);
		else if (html && *s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
}

static void cell(FILE *f, const struct report_row *r, const char *name, const char *fmt, bool html)
{
	const struct report_metric *m = report_row_metric(r, name);

	fputs(html ? "<td class=\"num\">" : " ", f);
	if (!m)
		fputs("-", f);
	else if (!m->n_reps || isnan(m->value))
		fputs("unavailable", f);
	else
		fprintf(f, fmt, m->value);
	fputs(html ? "</td>" : " |", f);
}

static void sessions_table(FILE *f, const struct report_data *d, bool html)
{
	static const char intro[] = "TTFT of turn 1 against later turns shows a prefix cache: "
				    "each turn resends the history.";
	char name[64], lv[64];
	bool title = false;
	size_t i;
	int k;

	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];

		if (r->scope != REPORT_SCOPE_LEVEL || !report_row_metric(r, "turn1_requests"))
			continue;
		if (!title && html)
			fprintf(f,
				"<h2 id=\"sessions\">Sessions by turn</h2>\n<p class=\"note\">%s</p>\n",
				intro);
		else if (!title)
			fprintf(f, "## Sessions by turn\n\n%s\n\n", intro);
		title = true;
		fputs(html ? "<h3>" : "### ", f);
		esc(f, r->backend ? r->backend : "", html);
		fputc(' ', f);
		esc(f, report_row_level(r, lv, sizeof(lv)), html);
		if (html)
			fputs("</h3>\n<table>\n<tr><th>turn</th><th>requests</th><th>TTFT p50 (ms)</th>"
			      "<th>TTFT p99 (ms)</th><th>prompt tokens (mean)</th></tr>\n",
			      f);
		else
			fputs("\n\n| turn | requests | TTFT p50 (ms) | TTFT p99 (ms) | prompt tokens "
			      "(mean) |\n| ---: | ---: | ---: | ---: | ---: |\n",
			      f);
		for (k = 1; k <= 16; k++) {
			snprintf(name, sizeof(name), "turn%d_requests", k);
			if (!report_row_metric(r, name))
				break;
			fprintf(f, html ? "<tr><td class=\"num\">%d</td>" : "| %d |", k);
			cell(f, r, name, "%.0f", html);
			snprintf(name, sizeof(name), "turn%d_ttft_p50_ms", k);
			cell(f, r, name, "%.2f", html);
			snprintf(name, sizeof(name), "turn%d_ttft_p99_ms", k);
			cell(f, r, name, "%.2f", html);
			snprintf(name, sizeof(name), "turn%d_prompt_tokens_mean", k);
			cell(f, r, name, "%.1f", html);
			fputs(html ? "</tr>\n" : "\n", f);
		}
		fputs(html ? "</table>\n" : "\n", f);
	}
}

void report_md_sessions(FILE *f, const struct report_data *d)
{
	sessions_table(f, d, false);
}

void report_html_sessions(FILE *f, const struct report_data *d)
{
	sessions_table(f, d, true);
}
