/* query.c: reading runs, levels, summaries, requests and series for reports (see query.h). */
#include "query.h"
#include "../base/proc.h"

#include "../base/alloc.h"
#include "../base/vec.h"
#include "../metrics/record.h"
#include "../metrics/store.h"
#include "fields.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy of s (NULL stays NULL); sets *oom when the copy fails. */
static char *dup_or_null(const char *s, bool *oom)
{
	char *p;

	if (!s)
		return NULL;
	p = lb_strdup(s);
	if (!p)
		*oom = true;
	return p;
}

static int64_t col_i64(const struct store_row *row, int i)
{
	return row->text[i] ? strtoll(row->text[i], NULL, 10) : 0;
}

static void run_release(struct report_run *r)
{
	lb_free(r->name);
	lb_free(r->workload_name);
	lb_free(r->workload_path);
	lb_free(r->workload_json);
	lb_free(r->status);
	lb_free(r->started_at);
	lb_free(r->ended_at);
	lb_free(r->host);
	lb_free(r->version);
	lb_free(r->machine_json);
	lb_free(r->note);
}

static void metric_release(struct report_metric *m)
{
	lb_free(m->name);
	lb_free(m->unit);
	lb_free(m->provenance);
	lb_free(m->note);
}

static void row_release(struct report_row *r)
{
	size_t i;

	lb_free(r->backend);
	lb_free(r->type);
	lb_free(r->model);
	lb_free(r->family);
	lb_free(r->quant);
	lb_free(r->mode);
	lb_free(r->invalid_reason);
	lb_free(r->status);
	lb_free(r->level_ids);
	for (i = 0; i < r->n_m; i++)
		metric_release(&r->m[i]);
	lb_free(r->m);
}

void report_data_release(struct report_data *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n_runs; i++)
		run_release(&d->runs[i]);
	lb_free(d->runs);
	for (i = 0; i < d->n_rows; i++)
		row_release(&d->rows[i]);
	lb_free(d->rows);
	for (i = 0; i < d->n_metrics; i++)
		lb_free(d->metrics[i]);
	lb_free(d->metrics);
	memset(d, 0, sizeof(*d));
}

/* ---- loading ---- */

struct backend_info {
	int64_t id;
	char *name, *type, *model, *family, *quant;
};

struct sum_ent {
	size_t row;
	char *metric;
	bool has;
	double value, n;
	char *unit, *prov, *note;
	size_t order;
};

struct loader {
	struct report_data *d;
	size_t run;
	bool oom;
	bool found;
	struct backend_info *be;
	size_t n_be, alloc_be;
	size_t alloc_rows;
	size_t first_row; /* first row of the current run */
	struct sum_ent *ents;
	size_t n_ents, alloc_ents;
	int64_t latest_id;
};

static int on_latest(void *ctx, const struct store_row *row)
{
	struct loader *l = ctx;

	l->latest_id = col_i64(row, 0);
	l->found = true;
	return 0;
}

/* A 'running' run: 'died' when its process is gone from this host, as `llmbench runs` says;
 * a note says what the report shows of it. */
static void run_liveness(struct report_run *r, long pid, bool *oom)
{
	int state = lb_process_state(r->host, pid);
	char note[400];

	if (state < 0)
		return;
	if (state == 0) {
		lb_free(r->status);
		r->status = dup_or_null("died", oom);
		snprintf(note, sizeof(note),
			 "died: its process (pid %ld) is gone from this host; the levels it ended "
			 "are reported, the requests of the others are in the store "
			 "('llmbench run --resume %.200s' continues it)",
			 pid, r->name ? r->name : "");
	} else {
		snprintf(note, sizeof(note),
			 "still running (pid %ld): the levels ended so far are reported", pid);
	}
	if (!r->note) /* a stored note says more */
		r->note = dup_or_null(note, oom);
}

static int on_run(void *ctx, const struct store_row *row)
{
	struct loader *l = ctx;
	struct report_run *r = &l->d->runs[l->d->n_runs];

	if (l->found)
		return 0; /* names are unique; never twice */
	memset(r, 0, sizeof(*r));
	r->id = col_i64(row, 0);
	r->name = dup_or_null(row->text[1], &l->oom);
	r->workload_name = dup_or_null(row->text[2], &l->oom);
	r->workload_path = dup_or_null(row->text[3], &l->oom);
	r->workload_json = dup_or_null(row->text[4], &l->oom);
	r->status = dup_or_null(row->text[5], &l->oom);
	r->started_at = dup_or_null(row->text[6], &l->oom);
	r->ended_at = dup_or_null(row->text[7], &l->oom);
	r->host = dup_or_null(row->text[8], &l->oom);
	r->version = dup_or_null(row->text[9], &l->oom);
	r->machine_json = dup_or_null(row->text[10], &l->oom);
	r->note = dup_or_null(row->text[11], &l->oom);
	if (r->status && !strcmp(r->status, "running") && row->text[12])
		run_liveness(r, (long)col_i64(row, 12), &l->oom);
	l->d->n_runs++;
	l->found = true;
	return 0;
}

static int on_backend(void *ctx, const struct store_row *row)
{
	struct loader *l = ctx;
	struct backend_info *b;

	if (LB_ALLOC_GROW(l->be, l->n_be + 1, l->alloc_be)) {
		l->oom = true;
		return 1;
	}
	b = &l->be[l->n_be++];
	b->id = col_i64(row, 0);
	b->name = dup_or_null(row->text[1], &l->oom);
	b->type = dup_or_null(row->text[2], &l->oom);
	b->model = dup_or_null(row->text[3], &l->oom);
	b->family = dup_or_null(row->text[4], &l->oom);
	b->quant = dup_or_null(row->text[5], &l->oom);
	return 0;
}

static const struct backend_info *find_backend(const struct loader *l, int64_t id)
{
	size_t i;

	for (i = 0; i < l->n_be; i++)
		if (l->be[i].id == id)
			return &l->be[i];
	return NULL;
}

static struct report_row *new_row(struct loader *l, enum report_scope scope, int64_t backend_id)
{
	struct report_data *d = l->d;
	struct report_row *r;
	const struct backend_info *b = find_backend(l, backend_id);

	if (LB_ALLOC_GROW(d->rows, d->n_rows + 1, l->alloc_rows)) {
		l->oom = true;
		return NULL;
	}
	r = &d->rows[d->n_rows++];
	memset(r, 0, sizeof(*r));
	r->scope = scope;
	r->run = l->run;
	r->backend_id = backend_id;
	r->value = NAN;
	r->valid = true;
	if (b) {
		r->backend = dup_or_null(b->name, &l->oom);
		r->type = dup_or_null(b->type, &l->oom);
		r->model = dup_or_null(b->model, &l->oom);
		r->family = dup_or_null(b->family, &l->oom);
		r->quant = dup_or_null(b->quant, &l->oom);
	}
	return r;
}

static int on_level(void *ctx, const struct store_row *row)
{
	struct loader *l = ctx;
	struct report_data *d = l->d;
	int64_t id = col_i64(row, 0), backend_id = col_i64(row, 1);
	int idx = (int)col_i64(row, 2);
	bool valid = !row->text[7] || strcmp(row->text[7], "0");
	struct report_row *r = NULL;
	int64_t *ids;

	if (d->n_rows > l->first_row) {
		r = &d->rows[d->n_rows - 1];
		if (r->backend_id != backend_id || r->idx != idx)
			r = NULL;
	}
	if (!r) {
		r = new_row(l, REPORT_SCOPE_LEVEL, backend_id);
		if (!r)
			return 1;
		r->idx = idx;
		r->mode = dup_or_null(row->text[4], &l->oom);
		r->value = row->num[5];
		for (size_t k = l->first_row; k + 1 < d->n_rows; k++) {
			const struct report_row *p = &d->rows[k];

			if (p->backend_id == backend_id && p->scope == REPORT_SCOPE_LEVEL &&
			    p->value == r->value && p->mode && r->mode && !strcmp(p->mode, r->mode))
				r->occ++;
		}
	}
	ids = lb_realloc(r->level_ids, (size_t)(r->n_reps + 1) * sizeof(*ids));
	if (!ids) {
		l->oom = true;
		return 1;
	}
	r->level_ids = ids;
	ids[r->n_reps++] = id;
	if (row->text[6] &&
	    (!r->status || (!strcmp(r->status, "done") && strcmp(row->text[6], "done")))) {
		lb_free(r->status);
		r->status = dup_or_null(row->text[6], &l->oom);
	}
	if (!valid) {
		r->valid = false;
		if (!r->invalid_reason)
			r->invalid_reason = dup_or_null(
				row->text[8] ? row->text[8] : "no reason given", &l->oom);
	}
	return 0;
}

static struct report_row *row_for(struct loader *l, int64_t backend_id, int64_t level_id)
{
	struct report_data *d = l->d;
	size_t i;
	int k;

	for (i = l->first_row; i < d->n_rows; i++) {
		struct report_row *r = &d->rows[i];

		if (level_id) {
			if (r->scope != REPORT_SCOPE_LEVEL)
				continue;
			for (k = 0; k < r->n_reps; k++)
				if (r->level_ids[k] == level_id)
					return r;
		} else if (backend_id && r->scope == REPORT_SCOPE_BACKEND &&
			   r->backend_id == backend_id) {
			return r;
		} else if (!backend_id && r->scope == REPORT_SCOPE_RUN) {
			return r;
		}
	}
	if (level_id)
		return NULL; /* a summary of a level the levels table lacks: ignored */
	return new_row(l, backend_id ? REPORT_SCOPE_BACKEND : REPORT_SCOPE_RUN, backend_id);
}

static int on_summary(void *ctx, const struct store_row *row)
{
	struct loader *l = ctx;
	struct report_row *r;
	struct sum_ent *e;

	if (!row->text[2])
		return 0;
	r = row_for(l, col_i64(row, 0), col_i64(row, 1));
	if (l->oom)
		return 1;
	if (!r)
		return 0;
	if (LB_ALLOC_GROW(l->ents, l->n_ents + 1, l->alloc_ents)) {
		l->oom = true;
		return 1;
	}
	e = &l->ents[l->n_ents++];
	memset(e, 0, sizeof(*e));
	e->row = (size_t)(r - l->d->rows);
	e->order = l->n_ents;
	e->metric = dup_or_null(row->text[2], &l->oom);
	e->has = row->text[3] && !isnan(row->num[3]);
	e->value = row->num[3];
	e->n = row->text[4] ? row->num[4] : -1;
	e->unit = dup_or_null(row->text[5], &l->oom);
	e->prov = dup_or_null(row->text[6], &l->oom);
	e->note = dup_or_null(row->text[7], &l->oom);
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct sum_ent *x = a, *y = b;
	int c;

	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	if (!x->metric || !y->metric)
		return x->metric ? 1 : (y->metric ? -1 : 0);
	c = strcmp(x->metric, y->metric);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void ents_release(struct loader *l)
{
	size_t i;

	for (i = 0; i < l->n_ents; i++) {
		lb_free(l->ents[i].metric);
		lb_free(l->ents[i].unit);
		lb_free(l->ents[i].prov);
		lb_free(l->ents[i].note);
	}
	lb_free(l->ents);
	l->ents = NULL;
	l->n_ents = l->alloc_ents = 0;
}

/* Fold the entries of one (row, metric) group [a, b) into a metric; the strings move. */
static void fold(struct sum_ent *e, size_t a, size_t b, struct report_metric *m)
{
	double sum = 0, ss = 0;
	size_t i;

	memset(m, 0, sizeof(*m));
	m->name = e[a].metric;
	e[a].metric = NULL;
	m->n = e[a].n;
	m->unit = e[a].unit;
	m->provenance = e[a].prov;
	e[a].unit = e[a].prov = NULL;
	for (i = a; i < b; i++) {
		if (!m->note && e[i].note) {
			m->note = e[i].note;
			e[i].note = NULL;
		}
		if (!e[i].has) {
			m->n_missing++;
			continue;
		}
		m->n_reps++;
		sum += e[i].value;
	}
	m->value = m->n_reps ? sum / m->n_reps : NAN;
	m->sd = NAN;
	if (m->n_reps >= 2) {
		for (i = a; i < b; i++)
			if (e[i].has)
				ss += (e[i].value - m->value) * (e[i].value - m->value);
		m->sd = sqrt(ss / (m->n_reps - 1));
	}
}

static int metric_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct report_metric *)a)->name,
		      ((const struct report_metric *)b)->name);
}

static int attach_metrics(struct loader *l, struct lb_error *err)
{
	size_t a, b;

	if (!l->n_ents)
		return 0;
	qsort(l->ents, l->n_ents, sizeof(*l->ents), ent_cmp);
	for (a = 0; a < l->n_ents; a = b) {
		struct report_row *r = &l->d->rows[l->ents[a].row];
		struct report_metric *m;

		for (b = a + 1; b < l->n_ents && l->ents[b].row == l->ents[a].row &&
				!strcmp(l->ents[b].metric, l->ents[a].metric);
		     b++)
			;
		m = lb_realloc(r->m, (r->n_m + 1) * sizeof(*m));
		if (!m)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory reading summaries");
		r->m = m;
		fold(l->ents, a, b, &r->m[r->n_m++]);
	}
	for (a = l->first_row; a < l->d->n_rows; a++)
		if (l->d->rows[a].n_m > 1)
			qsort(l->d->rows[a].m, l->d->rows[a].n_m, sizeof(*l->d->rows[a].m),
			      metric_name_cmp);
	return 0;
}

/* Backend and run rows without a figure are dropped; level rows always stay. */
static void drop_empty_rows(struct report_data *d, size_t from)
{
	size_t i, j = from;

	for (i = from; i < d->n_rows; i++) {
		if (d->rows[i].scope != REPORT_SCOPE_LEVEL && !d->rows[i].n_m) {
			row_release(&d->rows[i]);
			continue;
		}
		if (i != j)
			d->rows[j] = d->rows[i];
		j++;
	}
	d->n_rows = j;
}

static int cmp_name_ptr(const void *a, const void *b)
{
	return fields_cmp(*(char *const *)a, *(char *const *)b);
}

static int collect_metric_names(struct report_data *d, struct lb_error *err)
{
	size_t total = 0, i, k, n = 0;
	char **names;

	for (i = 0; i < d->n_rows; i++)
		total += d->rows[i].n_m;
	if (!total)
		return 0;
	names = lb_calloc(total, sizeof(*names));
	if (!names)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; i < d->n_rows; i++)
		for (k = 0; k < d->rows[i].n_m; k++)
			names[n++] = d->rows[i].m[k].name;
	qsort(names, n, sizeof(*names), cmp_name_ptr);
	for (i = 0, k = 0; i < n; i++) {
		if (k && !strcmp(names[k - 1], names[i]))
			continue;
		names[k++] = names[i];
	}
	for (i = 0; i < k; i++) {
		names[i] = lb_strdup(names[i]);
		if (!names[i]) {
			while (i--)
				lb_free(names[i]);
			lb_free(names);
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		}
	}
	d->metrics = names;
	d->n_metrics = k;
	return 0;
}

static void backends_release(struct loader *l)
{
	size_t i;

	for (i = 0; i < l->n_be; i++) {
		lb_free(l->be[i].name);
		lb_free(l->be[i].type);
		lb_free(l->be[i].model);
		lb_free(l->be[i].family);
		lb_free(l->be[i].quant);
	}
	l->n_be = 0;
}

static int load_run(struct loader *l, struct store *st, int64_t run_id, struct lb_error *err)
{
	static const char sql_be[] =
		"SELECT id, name, type, model, family, quant FROM backends WHERE run_id = ? ORDER BY id";
	static const char sql_lv[] =
		"SELECT id, backend_id, idx, rep, mode, value, status, valid, invalid_reason FROM levels"
		" WHERE run_id = ? ORDER BY backend_id, idx, rep, id";
	static const char sql_sum[] =
		"SELECT backend_id, level_id, metric, value, n, unit, provenance, note FROM summaries"
		" WHERE run_id = ? ORDER BY id";
	char id[32];
	const char *params[] = { id };
	int rc;

	snprintf(id, sizeof(id), "%" PRId64, run_id);
	l->first_row = l->d->n_rows;
	rc = store_query(st, sql_be, params, 1, on_backend, l, err);
	if (!rc)
		rc = store_query(st, sql_lv, params, 1, on_level, l, err);
	if (!rc)
		rc = store_query(st, sql_sum, params, 1, on_summary, l, err);
	if (!rc && l->oom)
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory reading run %" PRId64, run_id);
	if (!rc)
		rc = attach_metrics(l, err);
	ents_release(l);
	backends_release(l);
	drop_empty_rows(l->d, l->first_row);
	return rc;
}

int report_data_load(struct report_data *d, struct store *st, const char *const *runs, size_t n,
		     struct lb_error *err)
{
	static const char sql_run[] =
		"SELECT id, name, workload_name, workload_path, workload_json, status, started_at,"
		" ended_at, host, version, machine_json, note, pid FROM runs WHERE ";
	struct loader l = { 0 };
	char sql[512], id[32];
	size_t i, want = n ? n : 1;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	l.d = d;
	d->runs = lb_calloc(want, sizeof(*d->runs));
	if (!d->runs)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	if (!n) {
		rc = store_query(st, "SELECT id FROM runs ORDER BY id DESC LIMIT 1", NULL, 0,
				 on_latest, &l, err);
		if (!rc && !l.found)
			rc = lb_error_set(err, LB_ERR_USAGE, "the store holds no run");
	}
	for (i = 0; !rc && i < want; i++) {
		const char *params[1];

		l.found = false;
		if (n) {
			snprintf(sql, sizeof(sql), "%sname = ? LIMIT 1", sql_run);
			params[0] = runs[i];
		} else {
			snprintf(sql, sizeof(sql), "%sid = ? LIMIT 1", sql_run);
			snprintf(id, sizeof(id), "%" PRId64, l.latest_id);
			params[0] = id;
		}
		rc = store_query(st, sql, params, 1, on_run, &l, err);
		if (!rc && !l.found)
			rc = lb_error_set(err, LB_ERR_USAGE,
					  "no run named '%s' in the store; see 'llmbench runs'",
					  runs[i]);
		if (!rc && l.oom)
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		if (!rc) {
			l.run = d->n_runs - 1;
			rc = load_run(&l, st, d->runs[l.run].id, err);
		}
	}
	lb_free(l.be);
	if (!rc)
		rc = collect_metric_names(d, err);
	if (rc)
		report_data_release(d);
	return rc;
}

bool report_row_synthetic(const struct report_row *r)
{
	size_t i;

	for (i = 0; i < r->n_m; i++)
		if (r->m[i].note && !strncmp(r->m[i].note, "synthetic", 9))
			return true;
	return false;
}

const struct report_metric *report_row_metric(const struct report_row *r, const char *name)
{
	size_t lo = 0, hi = r->n_m;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(r->m[mid].name, name);

		if (!c)
			return &r->m[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool report_data_power_unasked(const struct report_data *d)
{
	size_t i, runs = 0;

	for (i = 0; i < d->n_rows; i++) {
		const struct report_metric *m;

		if (d->rows[i].scope != REPORT_SCOPE_RUN)
			continue;
		m = report_row_metric(&d->rows[i], "power_requested");
		if (!m || !m->n_reps || m->value != 0)
			return false;
		runs++;
	}
	return runs == d->n_runs && runs > 0;
}

const char *report_fmt_level_value(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%g", v);
	return buf;
}

const char *report_row_level(const struct report_row *r, char *buf, size_t len)
{
	char v[32];

	if (r->scope != REPORT_SCOPE_LEVEL)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s=%s", r->mode ? r->mode : "level",
			 report_fmt_level_value(r->value, v, sizeof(v)));
	return buf;
}

/* ---- requests, series ---- */

struct req_ctx {
	report_request_fn *fn;
	void *ctx;
	uint64_t *t;
	int32_t *cn;
	bool bad_blob;
	int stopped;
};

static double col_num_or_nan(const struct store_row *row, int i)
{
	return row->text[i] ? row->num[i] : NAN;
}

static int on_request(void *ctx, const struct store_row *row)
{
	struct req_ctx *c = ctx;
	struct report_request rq = { 0 };
	long n = 0, nc;

	rq.backend_id = col_i64(row, 0);
	rq.level_id = col_i64(row, 1);
	rq.req_id = col_i64(row, 2);
	rq.warmup = row->text[3] && strcmp(row->text[3], "0");
	rq.status = row->text[4];
	rq.ok = rq.status && !strcmp(rq.status, "ok");
	rq.error = row->text[5];
	rq.finish_reason = row->text[6];
	rq.http_status = (int)col_i64(row, 7);
	rq.ttft_ms = col_num_or_nan(row, 8);
	rq.tpot_ms = col_num_or_nan(row, 9);
	rq.e2e_ms = col_num_or_nan(row, 10);
	rq.lag_ms = col_num_or_nan(row, 11);
	rq.t_send_ns = col_i64(row, 12);
	rq.t_end_ns = col_i64(row, 13);
	rq.prompt_tokens = row->text[14] ? (long)col_i64(row, 14) : -1;
	rq.output_tokens = row->text[15] ? (long)col_i64(row, 15) : -1;
	rq.prompt_tokens_source = row->text[16];
	rq.output_tokens_source = row->text[17];
	if (row->types[19] == STORE_BLOB && row->blob_len[19] > 0) {
		n = reqrec_decode_chunks(row->blob[19], (size_t)row->blob_len[19], 0, c->t,
					 REPORT_MAX_CHUNKS);
		if (n < 0) {
			c->bad_blob = true;
			n = 0;
		}
	}
	rq.n_chunks = n;
	rq.chunk_off_ns = c->t;
	if (n && row->types[20] == STORE_BLOB && row->blob_len[20] > 0) {
		nc = reqrec_decode_counts(row->blob[20], (size_t)row->blob_len[20], c->cn,
					  REPORT_MAX_CHUNKS);
		if (nc == n)
			rq.chunk_n = c->cn;
	}
	c->stopped = c->fn(c->ctx, &rq);
	return c->stopped;
}

int report_requests_each(struct store *st, int64_t run_id, report_request_fn *fn, void *ctx,
			 struct lb_error *err)
{
	static const char sql[] =
		"SELECT backend_id, level_id, req_id, warmup, status, error, finish_reason, http_status,"
		" ttft_ms, tpot_ms, e2e_ms, lag_ms, t_send_ns, t_end_ns, prompt_tokens, output_tokens,"
		" prompt_tokens_source, output_tokens_source, n_chunks, chunk_times, chunk_tokens"
		" FROM requests WHERE run_id = ? ORDER BY id";
	struct req_ctx c = { .fn = fn, .ctx = ctx };
	char id[32];
	const char *params[] = { id };
	int rc;

	c.t = lb_malloc(REPORT_MAX_CHUNKS * sizeof(*c.t));
	c.cn = lb_malloc(REPORT_MAX_CHUNKS * sizeof(*c.cn));
	if (!c.t || !c.cn) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(id, sizeof(id), "%" PRId64, run_id);
	rc = store_query(st, sql, params, 1, on_request, &c, err);
	if (!rc && c.stopped < 0)
		rc = lb_error_set(err, c.stopped, "cannot write a request of run %" PRId64, run_id);
out:
	lb_free(c.t);
	lb_free(c.cn);
	return rc;
}

struct series_ctx {
	report_series_fn *fn;
	void *ctx;
};

static int on_series(void *ctx, const struct store_row *row)
{
	struct series_ctx *c = ctx;

	if (!row->text[2] || !row->text[4])
		return 0;
	return c->fn(c->ctx, col_i64(row, 0), col_i64(row, 1), row->text[2], col_i64(row, 3),
		     row->num[4]);
}

int report_series_each(struct store *st, int64_t run_id, report_series_fn *fn, void *ctx,
		       struct lb_error *err)
{
	static const char sql[] = "SELECT backend_id, level_id, series, t_ns, value FROM series"
				  " WHERE run_id = ? ORDER BY series, t_ns";
	struct series_ctx c = { fn, ctx };
	char id[32];
	const char *params[] = { id };

	snprintf(id, sizeof(id), "%" PRId64, run_id);
	return store_query(st, sql, params, 1, on_series, &c, err);
}

struct lt_ctx {
	report_level_time_fn *fn;
	void *ctx;
};

static int on_level_time(void *ctx, const struct store_row *row)
{
	struct lt_ctx *c = ctx;

	if (!row->text[1])
		return 0;
	return c->fn(c->ctx, col_i64(row, 0), col_i64(row, 1), col_i64(row, 2));
}

int report_level_times(struct store *st, int64_t run_id, report_level_time_fn *fn, void *ctx,
		       struct lb_error *err)
{
	static const char sql[] = "SELECT level_id, MIN(t_send_ns), MAX(t_end_ns) FROM requests"
				  " WHERE run_id = ? AND warmup = 0 GROUP BY level_id ORDER BY 2";
	struct lt_ctx c = { fn, ctx };
	char id[32];
	const char *params[] = { id };

	snprintf(id, sizeof(id), "%" PRId64, run_id);
	return store_query(st, sql, params, 1, on_level_time, &c, err);
}
