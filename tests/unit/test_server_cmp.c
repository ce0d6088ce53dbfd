/* test_server_cmp.c: the report's "server vs client" figures (reports/server_cmp.c): copies of
 * the client's and the server's quantiles with server - client, added only to level rows that
 * have server figures; a side that is unavailable keeps its reason and the difference takes it,
 * never 0; the report's metric list gains the new names in report order. */
#include "../../base/alloc.h"
#include "../../reports/fields.h"
#include "../../reports/server_cmp.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void set_metric(struct report_metric *m, const char *name, double v, const char *note)
{
	memset(m, 0, sizeof(*m));
	m->name = lb_strdup(name);
	m->unit = lb_strdup("ms");
	m->value = v;
	m->sd = NAN;
	m->n = 30;
	m->n_reps = isnan(v) ? 0 : 1;
	m->note = note ? lb_strdup(note) : NULL;
	m->provenance = lb_strdup(isnan(v) ? "vllm" : "harness");
}

static int cmp_m(const void *a, const void *b)
{
	return strcmp(((const struct report_metric *)a)->name,
		      ((const struct report_metric *)b)->name);
}

/* Two level rows: row 0 with the server's figures (ITL unavailable), row 1 without. */
static void make(struct report_data *d)
{
	static const char *const names[] = { "itl_p50_ms",         "itl_p99_ms",
					     "server_itl_p50_ms",  "server_itl_p99_ms",
					     "server_ttft_p50_ms", "server_ttft_p99_ms",
					     "ttft_p50_ms",        "ttft_p99_ms" };
	const char *why = "unavailable: the server exposes no inter-token latency histogram";
	struct report_row *r;
	size_t i;

	memset(d, 0, sizeof(*d));
	d->runs = lb_calloc(1, sizeof(*d->runs));
	d->n_runs = 1;
	d->rows = lb_calloc(2, sizeof(*d->rows));
	d->n_rows = 2;
	for (i = 0; i < 2; i++) {
		r = &d->rows[i];
		r->scope = REPORT_SCOPE_LEVEL;
		r->n_reps = 1;
		r->m = lb_calloc(8, sizeof(*r->m));
	}
	r = &d->rows[0];
	set_metric(&r->m[r->n_m++], "ttft_p50_ms", 48.4, NULL);
	set_metric(&r->m[r->n_m++], "ttft_p99_ms", 51.5, NULL);
	set_metric(&r->m[r->n_m++], "itl_p50_ms", 30.0, NULL);
	set_metric(&r->m[r->n_m++], "itl_p99_ms", 31.8, NULL);
	set_metric(&r->m[r->n_m++], "server_ttft_p50_ms", 50.0, NULL);
	set_metric(&r->m[r->n_m++], "server_ttft_p99_ms", 59.8, NULL);
	set_metric(&r->m[r->n_m++], "server_itl_p50_ms", NAN, why);
	set_metric(&r->m[r->n_m++], "server_itl_p99_ms", NAN, why);
	qsort(r->m, r->n_m, sizeof(*r->m), cmp_m);
	r = &d->rows[1];
	set_metric(&r->m[r->n_m++], "ttft_p50_ms", 10, NULL);
	d->metrics = lb_calloc(8, sizeof(*d->metrics));
	for (i = 0; i < 8; i++)
		d->metrics[d->n_metrics++] = lb_strdup(names[i]);
}

static double val(const struct report_row *r, const char *name)
{
	const struct report_metric *m = report_row_metric(r, name);

	assert_non_null(m);
	return m->n_reps ? m->value : NAN;
}

static void server_and_client_side_by_side(void **state)
{
	struct report_data d;
	struct lb_error err = LB_ERROR_INIT;
	const struct report_metric *m;
	size_t i;

	(void)state;
	make(&d);
	assert_int_equal(report_server_cmp_add(&d, &err), 0);
	assert_true(fabs(val(&d.rows[0], "srvcmp_ttft_p50_client_ms") - 48.4) < 1e-12);
	assert_true(fabs(val(&d.rows[0], "srvcmp_ttft_p50_server_ms") - 50.0) < 1e-12);
	assert_true(fabs(val(&d.rows[0], "srvcmp_ttft_p50_diff_ms") - 1.6) < 1e-9);
	assert_true(fabs(val(&d.rows[0], "srvcmp_ttft_p99_diff_ms") - 8.3) < 1e-9);
	/* the server has no ITL histogram: its side and the difference say so, never 0 */
	m = report_row_metric(&d.rows[0], "srvcmp_itl_p50_diff_ms");
	assert_non_null(m);
	assert_int_equal(m->n_reps, 0);
	assert_string_equal(m->note,
			    "unavailable: the server exposes no inter-token latency histogram");
	assert_int_equal(report_row_metric(&d.rows[0], "srvcmp_itl_p99_server_ms")->n_reps, 0);
	assert_true(fabs(val(&d.rows[0], "srvcmp_itl_p50_client_ms") - 30.0) < 1e-12);
	/* rows are still sorted by name (report_row_metric bisects) */
	for (i = 1; i < d.rows[0].n_m; i++)
		assert_true(strcmp(d.rows[0].m[i - 1].name, d.rows[0].m[i].name) < 0);
	/* a row without server figures gets none */
	assert_null(report_row_metric(&d.rows[1], "srvcmp_ttft_p50_client_ms"));
	/* the metric list: 8 + 12 names, in report order */
	assert_int_equal(d.n_metrics, 20);
	for (i = 1; i < d.n_metrics; i++)
		assert_true(fields_cmp(d.metrics[i - 1], d.metrics[i]) < 0);
	/* twice is once */
	assert_int_equal(report_server_cmp_add(&d, &err), 0);
	assert_int_equal(d.n_metrics, 20);
	assert_int_equal(d.rows[0].n_m, 20);
	report_data_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_and_client_side_by_side),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
