/* server_cmp.c: derived "server vs client" figures of each level row (see server_cmp.h). */
#include "server_cmp.h"

#include "../base/alloc.h"
#include "fields.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_CMP 12 /* {ttft, itl} x {p50, p99} x {client, server, diff} */

static const char *const figs[2][2] = { { "ttft", "TTFT" }, { "itl", "ITL" } };
static const char *const qs[2] = { "p50", "p99" };
static const char *const sides[3] = { "client", "server", "diff" };

static int cmp_metric(const void *a, const void *b)
{
	return strcmp(((const struct report_metric *)a)->name,
		      ((const struct report_metric *)b)->name);
}

static int cmp_name(const void *a, const void *b)
{
	return fields_cmp(*(char *const *)a, *(char *const *)b);
}

static char *dup_or_null(const char *s)
{
	return s ? lb_strdup(s) : NULL;
}

/* A copy of src (NULL: absent, unavailable with why) under name. */
static int copy_metric(struct report_metric *m, const char *name, const struct report_metric *src,
		       const char *why)
{
	memset(m, 0, sizeof(*m));
	m->name = lb_strdup(name);
	m->unit = lb_strdup("ms");
	m->value = m->sd = NAN;
	m->n = -1;
	if (src) {
		m->n_reps = src->n_reps;
		m->n_missing = src->n_missing;
		m->value = src->value;
		m->sd = src->sd;
		m->n = src->n;
		m->provenance = dup_or_null(src->provenance);
		m->note = dup_or_null(src->note);
	} else {
		m->note = lb_strdup(why);
	}
	return m->name && m->unit ? 0 : -1;
}

static int diff_metric(struct report_metric *m, const char *name, const struct report_metric *c,
		       const struct report_metric *s)
{
	memset(m, 0, sizeof(*m));
	m->name = lb_strdup(name);
	m->unit = lb_strdup("ms");
	m->value = m->sd = NAN;
	m->n = -1;
	if (!m->name || !m->unit)
		return -1;
	if (s->n_reps && c->n_reps) {
		m->n_reps = s->n_reps < c->n_reps ? s->n_reps : c->n_reps;
		m->value = s->value - c->value;
		m->provenance = lb_strdup("server - client");
		return m->provenance ? 0 : -1;
	}
	/* the server's reason first: it is the usual one (no histogram, no scrape) */
	m->note = lb_strdup(!s->n_reps ? (s->note ? s->note : "unavailable")
				       : (c->note ? c->note : "unavailable"));
	return m->note ? 0 : -1;
}

static int add_row(struct report_row *r)
{
	struct report_metric *nm = lb_realloc(r->m, (r->n_m + N_CMP) * sizeof(*nm));
	size_t k = 0;
	int f, q, rc = 0;

	if (!nm)
		return -1;
	r->m = nm;
	for (f = 0; f < 2; f++) {
		for (q = 0; q < 2; q++) {
			char cn[32], sn[48], name[64];
			const struct report_metric *c, *s;
			struct report_metric *mc = &r->m[r->n_m + k];
			char why[160];

			snprintf(cn, sizeof(cn), "%s_%s_ms", figs[f][0], qs[q]);
			snprintf(sn, sizeof(sn), "server_%s_%s_ms", figs[f][0], qs[q]);
			c = report_row_metric(r, cn);
			s = report_row_metric(r, sn);
			snprintf(why, sizeof(why), "unavailable: the client measured no %s %s",
				 figs[f][1], qs[q]);
			snprintf(name, sizeof(name), "srvcmp_%s_%s_%s_ms", figs[f][0], qs[q],
				 sides[0]);
			rc |= copy_metric(mc, name, c, why);
			snprintf(why, sizeof(why),
				 "unavailable: the server's %s %s was not scraped", figs[f][1],
				 qs[q]);
			snprintf(name, sizeof(name), "srvcmp_%s_%s_%s_ms", figs[f][0], qs[q],
				 sides[1]);
			rc |= copy_metric(mc + 1, name, s, why);
			snprintf(name, sizeof(name), "srvcmp_%s_%s_%s_ms", figs[f][0], qs[q],
				 sides[2]);
			rc |= diff_metric(mc + 2, name, mc, mc + 1);
			k += 3;
		}
	}
	r->n_m += k;
	qsort(r->m, r->n_m, sizeof(*r->m), cmp_metric);
	return rc;
}

int report_server_cmp_add(struct report_data *d, struct lb_error *err)
{
	bool any = false;
	size_t i, k;
	int f, q, s;

	for (i = 0; i < d->n_rows; i++) {
		struct report_row *r = &d->rows[i];

		if (r->scope != REPORT_SCOPE_LEVEL ||
		    (!report_row_metric(r, "server_ttft_p50_ms") &&
		     !report_row_metric(r, "server_itl_p50_ms")) ||
		    report_row_metric(r, "srvcmp_ttft_p50_diff_ms"))
			continue;
		if (add_row(r))
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		any = true;
	}
	if (!any)
		return 0;
	for (f = 0; f < 2; f++) {
		for (q = 0; q < 2; q++) {
			for (s = 0; s < 3; s++) {
				char name[64], **nv;
				bool have = false;

				snprintf(name, sizeof(name), "srvcmp_%s_%s_%s_ms", figs[f][0],
					 qs[q], sides[s]);
				for (k = 0; k < d->n_metrics && !have; k++)
					have = !strcmp(d->metrics[k], name);
				if (have)
					continue;
				nv = lb_realloc(d->metrics, (d->n_metrics + 1) * sizeof(*nv));
				if (!nv)
					return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
				d->metrics = nv;
				d->metrics[d->n_metrics] = lb_strdup(name);
				if (!d->metrics[d->n_metrics])
					return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
				d->n_metrics++;
			}
		}
	}
	qsort(d->metrics, d->n_metrics, sizeof(*d->metrics), cmp_name);
	return 0;
}
