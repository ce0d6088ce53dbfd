/* sessions_md.h: the report's table by turn index of multi-turn levels, in Markdown and HTML
 * (sessions_md.c). */
#ifndef LB_REPORT_SESSIONS_MD_H
#define LB_REPORT_SESSIONS_MD_H

#include "query.h"

#include <stdio.h>

/* "## Sessions by turn": for each level row with turn figures, a Markdown table of its turns
 * (requests, TTFT p50 and p99, mean prompt tokens); nothing when no row has them. */
void report_md_sessions(FILE *f, const struct report_data *d);
/* The same as HTML: "Sessions by turn" (id "sessions"), a table per level. */
void report_html_sessions(FILE *f, const struct report_data *d);

#endif
