/* sessions_md.c: the table by turn index of multi-turn levels (load modes sessions and
 * session_rate, docs/traffic.md#multi-turn-sessions), from the level summaries turn<k>_*. */
#include "sessions_md.h"

#include <math.h>
#include <stdio.h>

static void cell(FILE *f, const struct report_row *r, const char *name, const char *fmt)
{
	const struct report_metric *m = report_row_metric(r, name);

	if (!m)
		fputs(" - |", f);
	else if (!m->n_reps || isnan(m->value))
		fputs(" unavailable |", f);
	else {
		fputc(' ', f);
		fprintf(f, fmt, m->value);
		fputs(" |", f);
	}
}

void report_md_sessions(FILE *f, const struct report_data *d)
{
	char name[64], lv[64];
	bool title = false;
	size_t i;
	int k;

	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];

		if (r->scope != REPORT_SCOPE_LEVEL || !report_row_metric(r, "turn1_requests"))
			continue;
		if (!title)
			fputs("## Sessions by turn\n\nTTFT of turn 1 against later turns shows a "
			      "prefix cache: each turn resends the history.\n\n",
			      f);
		title = true;
		fprintf(f, "### %s %s\n\n", r->backend ? r->backend : "",
			report_row_level(r, lv, sizeof(lv)));
		fputs("| turn | requests | TTFT p50 (ms) | TTFT p99 (ms) | prompt tokens (mean) |\n"
		      "| ---: | ---: | ---: | ---: | ---: |\n",
		      f);
		for (k = 1; k <= 16; k++) {
			snprintf(name, sizeof(name), "turn%d_requests", k);
			if (!report_row_metric(r, name))
				break;
			fprintf(f, "| %d |", k);
			cell(f, r, name, "%.0f");
			snprintf(name, sizeof(name), "turn%d_ttft_p50_ms", k);
			cell(f, r, name, "%.2f");
			snprintf(name, sizeof(name), "turn%d_ttft_p99_ms", k);
			cell(f, r, name, "%.2f");
			snprintf(name, sizeof(name), "turn%d_prompt_tokens_mean", k);
			cell(f, r, name, "%.1f");
			fputc('\n', f);
		}
		fputc('\n', f);
	}
}
