/* json.h: the JSON side of reports (json.c and json_headline.c are the only report files that
 * use cJSON): the report.json writer (report_json_ops in writer.h) with its headline object, one
 * JSONL line per request, and pretty-printing of stored JSON (workload, machine) for the HTML
 * page. */
#ifndef LB_REPORT_JSON_H
#define LB_REPORT_JSON_H

#include "headline.h"
#include "query.h"

#include <stdio.h>

struct strbuf;
struct cJSON;

/* Write one request of run index run as a JSON line. Returns 0 or -1 (errno set). */
int report_jsonl_request(FILE *f, const struct report_data *d, size_t run,
			 const struct report_request *rq);
/* Pretty-print JSON text into out (2-space indentation); the text itself when it does not
 * parse. Returns 0 or -1 when out of memory. */
int report_json_pretty(const char *text, struct strbuf *out);

/* The headline and decision view as report.json's "headline" object (NULL when out of memory). */
struct cJSON *report_json_headline(const struct headline *h);

#endif
