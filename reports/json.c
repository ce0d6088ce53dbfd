/* json.c: report.json (vLLM-compatible keys beside llmbench's; its headline object is built in
 * json_headline.c), JSONL per request, and pretty-printing of stored JSON. */
#include "json.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"
#include "writer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- printing with 2-space indentation and stable number format ---- */

static void put_num(struct strbuf *sb, double v)
{
	char buf[64];

	if (isnan(v) || isinf(v)) {
		strbuf_adds(sb, "null");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, sizeof(buf), "%.0f", v);
	} else {
		snprintf(buf, sizeof(buf), "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, sizeof(buf), "%.17g", v);
	}
	strbuf_adds(sb, buf);
}

static void indent(struct strbuf *sb, int depth)
{
	strbuf_addch(sb, '\n');
	for (int i = 0; i < depth; i++)
		strbuf_adds(sb, "  ");
}

static void print_item(struct strbuf *sb, const cJSON *it, int depth)
{
	const cJSON *c;
	bool first = true;

	if (cJSON_IsNull(it) || cJSON_IsInvalid(it)) {
		strbuf_adds(sb, "null");
	} else if (cJSON_IsTrue(it)) {
		strbuf_adds(sb, "true");
	} else if (cJSON_IsFalse(it)) {
		strbuf_adds(sb, "false");
	} else if (cJSON_IsNumber(it)) {
		put_num(sb, it->valuedouble);
	} else if (cJSON_IsString(it) || cJSON_IsRaw(it)) {
		strbuf_add_json_str(sb, it->valuestring, strlen(it->valuestring));
	} else if (cJSON_IsArray(it) || cJSON_IsObject(it)) {
		bool obj = cJSON_IsObject(it);

		strbuf_addch(sb, obj ? '{' : '[');
		if (!it->child) {
			strbuf_addch(sb, obj ? '}' : ']');
			return;
		}
		for (c = it->child; c; c = c->next) {
			if (!first)
				strbuf_addch(sb, ',');
			first = false;
			indent(sb, depth + 1);
			if (obj) {
				strbuf_add_json_str(sb, c->string, strlen(c->string));
				strbuf_adds(sb, ": ");
			}
			print_item(sb, c, depth + 1);
		}
		indent(sb, depth);
		strbuf_addch(sb, obj ? '}' : ']');
	}
}

int report_json_pretty(const char *text, struct strbuf *out)
{
	cJSON *root = text ? cJSON_Parse(text) : NULL;

	if (!root)
		return strbuf_adds(out, text ? text : "");
	print_item(out, root, 0);
	cJSON_Delete(root);
	return 0;
}

/* ---- JSONL per request ---- */

static const struct report_row *row_of_level(const struct report_data *d, size_t run,
					     int64_t level_id, int *rep)
{
	static const struct report_row *last;
	static int last_rep;
	size_t i;
	int k;

	if (last && last >= d->rows && last < d->rows + d->n_rows && last->run == run) {
		for (k = 0; k < last->n_reps; k++) {
			if (last->level_ids[k] == level_id) {
				*rep = k;
				return last;
			}
		}
	}
	for (i = 0; i < d->n_rows; i++) {
		const struct report_row *r = &d->rows[i];

		if (r->run != run || r->scope != REPORT_SCOPE_LEVEL)
			continue;
		for (k = 0; k < r->n_reps; k++) {
			if (r->level_ids[k] == level_id) {
				last = r;
				last_rep = k;
				*rep = k;
				return r;
			}
		}
	}
	(void)last_rep;
	return NULL;
}

static void kv_str(struct strbuf *sb, const char *k, const char *v)
{
	strbuf_addf(sb, ",\"%s\":", k);
	if (v)
		strbuf_add_json_str(sb, v, strlen(v));
	else
		strbuf_adds(sb, "null");
}

static void kv_ms(struct strbuf *sb, const char *k, double v)
{
	if (isnan(v))
		strbuf_addf(sb, ",\"%s\":null", k);
	else
		strbuf_addf(sb, ",\"%s\":%.3f", k, v);
}

static void add_u64(struct strbuf *sb, uint64_t v)
{
	char b[24];
	int n = 0;

	do {
		b[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		strbuf_addch(sb, b[--n]);
}

int report_jsonl_request(FILE *f, const struct report_data *d, size_t run,
			 const struct report_request *rq)
{
	static struct strbuf sb = STRBUF_INIT; /* reused: one line at a time */
	const struct report_row *r;
	char lv[64];
	int rep = 0;
	long i;

	strbuf_reset(&sb);
	r = row_of_level(d, run, rq->level_id, &rep);
	strbuf_adds(&sb, "{\"run\":");
	strbuf_add_json_str(&sb, d->runs[run].name, strlen(d->runs[run].name));
	kv_str(&sb, "backend", r ? r->backend : NULL);
	kv_str(&sb, "level", r ? report_row_level(r, lv, sizeof(lv)) : NULL);
	strbuf_addf(&sb, ",\"idx\":%d,\"rep\":%d,\"req_id\":%" PRId64 ",\"warmup\":%s",
		    r ? r->idx : -1, rep, rq->req_id, rq->warmup ? "true" : "false");
	kv_str(&sb, "status", rq->status);
	if (rq->http_status)
		strbuf_addf(&sb, ",\"http_status\":%d", rq->http_status);
	if (rq->error)
		kv_str(&sb, "error", rq->error);
	if (rq->finish_reason)
		kv_str(&sb, "finish_reason", rq->finish_reason);
	kv_ms(&sb, "ttft_ms", rq->ttft_ms);
	kv_ms(&sb, "tpot_ms", rq->tpot_ms);
	kv_ms(&sb, "e2e_ms", rq->e2e_ms);
	kv_ms(&sb, "lag_ms", rq->lag_ms);
	if (rq->prompt_tokens >= 0)
		strbuf_addf(&sb, ",\"prompt_tokens\":%ld", rq->prompt_tokens);
	else
		strbuf_adds(&sb, ",\"prompt_tokens\":null");
	kv_str(&sb, "prompt_tokens_source", rq->prompt_tokens_source);
	if (rq->output_tokens >= 0)
		strbuf_addf(&sb, ",\"output_tokens\":%ld", rq->output_tokens);
	else
		strbuf_adds(&sb, ",\"output_tokens\":null");
	kv_str(&sb, "output_tokens_source", rq->output_tokens_source);
	strbuf_addf(&sb, ",\"n_chunks\":%ld,\"itl_ms\":[", rq->n_chunks);
	for (i = 1; i < rq->n_chunks; i++) {
		/* gaps in ms with 3 decimals, formatted by hand: 100k requests x 64 chunks */
		uint64_t us = (rq->chunk_off_ns[i] - rq->chunk_off_ns[i - 1] + 500) / 1000;

		if (i > 1)
			strbuf_addch(&sb, ',');
		add_u64(&sb, us / 1000);
		strbuf_addch(&sb, '.');
		strbuf_addch(&sb, (char)('0' + us / 100 % 10));
		strbuf_addch(&sb, (char)('0' + us / 10 % 10));
		strbuf_addch(&sb, (char)('0' + us % 10));
	}
	strbuf_adds(&sb, "]");
	if (rq->chunk_n) {
		strbuf_adds(&sb, ",\"chunk_tokens\":[");
		for (i = 0; i < rq->n_chunks; i++) {
			if (i)
				strbuf_addch(&sb, ',');
			if (rq->chunk_n[i] < 0)
				strbuf_adds(&sb, "null");
			else
				add_u64(&sb, (uint64_t)rq->chunk_n[i]);
		}
		strbuf_adds(&sb, "]");
	}
	strbuf_adds(&sb, "}\n");
	if (fwrite(sb.buf, 1, sb.len, f) != sb.len)
		return -1;
	return 0;
}

/* ---- report.json ---- */

struct json_priv {
	cJSON *root, *rows;
};

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *parsed_or_string(const char *s)
{
	cJSON *j;

	if (!s)
		return cJSON_CreateNull();
	j = cJSON_Parse(s);
	return j ? j : cJSON_CreateString(s);
}

static int json_begin(struct report_writer *w, const struct report_doc *doc, struct lb_error *err)
{
	struct json_priv *p = lb_calloc(1, sizeof(*p));
	cJSON *runs;
	size_t i;

	if (!p)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	w->priv = p;
	p->root = cJSON_CreateObject();
	if (!p->root)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	cJSON_AddStringToObject(p->root, "format", "llmbench-report");
	cJSON_AddNumberToObject(p->root, "format_version", 1);
	if (doc->version)
		cJSON_AddStringToObject(p->root, "llmbench_version", doc->version);
	runs = cJSON_AddArrayToObject(p->root, "runs");
	for (i = 0; runs && i < doc->data->n_runs; i++) {
		const struct report_run *r = &doc->data->runs[i];
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddItemToArray(runs, o);
		cJSON_AddItemToObject(o, "name", str_or_null(r->name));
		cJSON_AddItemToObject(o, "workload_name", str_or_null(r->workload_name));
		cJSON_AddItemToObject(o, "workload_path", str_or_null(r->workload_path));
		cJSON_AddItemToObject(o, "status", str_or_null(r->status));
		cJSON_AddItemToObject(o, "started_at", str_or_null(r->started_at));
		cJSON_AddItemToObject(o, "ended_at", str_or_null(r->ended_at));
		cJSON_AddItemToObject(o, "host", str_or_null(r->host));
		cJSON_AddItemToObject(o, "version", str_or_null(r->version));
		cJSON_AddItemToObject(o, "note", str_or_null(r->note));
		cJSON_AddItemToObject(o, "machine", parsed_or_string(r->machine_json));
		cJSON_AddItemToObject(o, "workload", parsed_or_string(r->workload_json));
	}
	p->rows = cJSON_AddArrayToObject(p->root, "rows");
	if (!p->rows)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	return 0;
}

static int json_table_begin(struct report_writer *w, const struct report_table *t,
			    struct lb_error *err)
{
	(void)w;
	(void)t;
	(void)err;
	return 0;
}

static cJSON *param_json(const struct field_desc *f, const struct report_cell *c)
{
	if (c->kind != REPORT_CELL_TEXT)
		return cJSON_CreateNull();
	switch (f->type) {
	case FIELD_INT:
	case FIELD_REAL: return cJSON_CreateNumber(strtod(c->text, NULL));
	case FIELD_BOOL: return cJSON_CreateBool(strcmp(c->text, "0") != 0);
	case FIELD_TEXT: break;
	}
	return cJSON_CreateString(c->text);
}

static int json_row(struct report_writer *w, const struct report_row *r,
		    const struct report_cell *cells, struct lb_error *err)
{
	struct json_priv *p = w->priv;
	const struct report_table *t = w->table;
	cJSON *o = cJSON_CreateObject(), *m, *vl;
	const struct report_cell *mode = NULL, *level = NULL;
	size_t i;

	if (!o)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	cJSON_AddItemToArray(p->rows, o);
	for (i = 0; i < t->n_cols; i++) {
		const struct field_desc *f = t->cols[i];

		if (!f->is_param)
			continue;
		cJSON_AddItemToObject(o, f->name, param_json(f, &cells[i]));
		if (!strcmp(f->name, "mode"))
			mode = &cells[i];
		else if (!strcmp(f->name, "level"))
			level = &cells[i];
	}
	m = cJSON_AddObjectToObject(o, "metrics");
	for (i = 0; m && i < t->n_cols; i++) {
		const struct field_desc *f = t->cols[i];
		const struct report_cell *c = &cells[i];
		cJSON *e;

		if (f->is_param || c->kind == REPORT_CELL_EMPTY)
			continue;
		e = cJSON_AddObjectToObject(m, f->name);
		if (!e)
			break;
		if (c->kind == REPORT_CELL_NUM)
			cJSON_AddNumberToObject(e, "value", c->v);
		else
			cJSON_AddNullToObject(e, "value");
		if (c->n_reps >= 2) {
			cJSON_AddNumberToObject(e, "reps", c->n_reps);
			if (!isnan(c->sd))
				cJSON_AddNumberToObject(e, "sd", c->sd);
		}
		if (c->n >= 0)
			cJSON_AddNumberToObject(e, "n", c->n);
		cJSON_AddItemToObject(e, "unit", str_or_null(c->unit));
		cJSON_AddItemToObject(e, "provenance", str_or_null(c->provenance));
		if (c->note)
			cJSON_AddStringToObject(e, "note", c->note);
	}
	/* vLLM bench_serving's key names, for the same figures (mean over repetitions) */
	if (r->scope != REPORT_SCOPE_LEVEL)
		return 0;
	vl = cJSON_AddObjectToObject(o, "vllm");
	if (!vl)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	if (mode && level && mode->kind == REPORT_CELL_TEXT && level->kind == REPORT_CELL_TEXT) {
		if (!strcmp(mode->text, "concurrency"))
			cJSON_AddNumberToObject(vl, "max_concurrency", strtod(level->text, NULL));
		else if (!strcmp(mode->text, "rate"))
			cJSON_AddNumberToObject(vl, "request_rate", strtod(level->text, NULL));
	}
	for (i = 0; i < t->n_cols; i++) {
		const struct field_desc *f = t->cols[i];
		const struct report_cell *c = &cells[i];

		if (f->is_param || !f->vllm || c->kind == REPORT_CELL_EMPTY)
			continue;
		if (c->kind == REPORT_CELL_NUM && !strncmp(f->vllm, "std_", 4) && c->n >= 2)
			/* vLLM's std is numpy's, the population one; the store's sd is the
			 * sample one (its count: the first repetition's) */
			cJSON_AddNumberToObject(vl, f->vllm, c->v * sqrt((c->n - 1) / c->n));
		else if (c->kind == REPORT_CELL_NUM)
			cJSON_AddNumberToObject(vl, f->vllm, c->v);
		else
			cJSON_AddNullToObject(vl, f->vllm);
	}
	return 0;
}

static int json_table_end(struct report_writer *w, struct lb_error *err)
{
	(void)w;
	(void)err;
	return 0;
}

static int json_end(struct report_writer *w, struct lb_error *err)
{
	struct json_priv *p = w->priv;
	const struct report_doc *doc = w->doc;
	struct strbuf sb = STRBUF_INIT;
	cJSON *plots = cJSON_AddArrayToObject(p->root, "plots");
	size_t i;
	int rc = 0;

	for (i = 0; plots && i < doc->n_plots; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddItemToArray(plots, o);
		cJSON_AddStringToObject(o, "name", doc->plots[i].name);
		cJSON_AddStringToObject(o, "title", doc->plots[i].title);
		cJSON_AddBoolToObject(o, "drawn", !doc->plots[i].skipped);
		if (doc->plots[i].skipped)
			cJSON_AddStringToObject(o, "skipped", doc->plots[i].skipped);
	}
	if (doc->headline)
		cJSON_AddItemToObject(p->root, "headline", report_json_headline(doc->headline));
	print_item(&sb, p->root, 0);
	strbuf_addch(&sb, '\n');
	if (fwrite(sb.buf, 1, sb.len, w->out) != sb.len)
		rc = lb_error_set(err, LB_ERR_IO, "cannot write report.json: %s", strerror(errno));
	strbuf_release(&sb);
	return rc;
}

static void json_free(struct report_writer *w)
{
	struct json_priv *p = w->priv;

	if (!p)
		return;
	cJSON_Delete(p->root);
	lb_free(p);
	w->priv = NULL;
}

const struct report_writer_ops report_json_ops = {
	.format = "json",
	.file = "report.json",
	.wide = true,
	.begin = json_begin,
	.table_begin = json_table_begin,
	.row = json_row,
	.table_end = json_table_end,
	.end = json_end,
	.free = json_free,
};
