/* store_resume.c: what `run --resume` reads and rewrites in the store (see store.h): the run,
 * its backends and levels found again, a level's finished requests read back as records. */
#include "store.h"

#include "../base/alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int first_id(void *ctx, const struct store_row *row)
{
	int64_t *id = ctx;

	if (row->n_cols > 0 && row->text[0])
		*id = (int64_t)row->num[0];
	return 1;
}

int store_run_reopen(struct store *s, int64_t run_id, struct lb_error *err)
{
	char a[32];
	const char *p[1] = { a };

	snprintf(a, sizeof(a), "%lld", (long long)run_id);
	return store_exec(s, "UPDATE runs SET status = 'running', ended_at = NULL WHERE id = ?", p,
			  1, err);
}

struct stored_wl_ctx {
	struct store_run_workload *w;
	bool nomem;
};

static char *dup_or_null(const char *s, bool *nomem)
{
	char *d;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	d = lb_malloc(n);
	if (!d) {
		*nomem = true;
		return NULL;
	}
	memcpy(d, s, n);
	return d;
}

static int stored_row(void *ctx, const struct store_row *row)
{
	struct stored_wl_ctx *c = ctx;

	c->w->found = true;
	c->w->text = dup_or_null(row->text[0], &c->nomem);
	c->w->path = dup_or_null(row->text[1], &c->nomem);
	c->w->status = dup_or_null(row->text[2], &c->nomem);
	c->w->host = dup_or_null(row->text[3], &c->nomem);
	c->w->pid = isnan(row->num[4]) ? 0 : (long)row->num[4];
	return 1;
}

int store_run_workload(struct store *s, const char *name, struct store_run_workload *w,
		       struct lb_error *err)
{
	const char *p[1] = { name };
	struct stored_wl_ctx c = { w, false };
	int rc;

	memset(w, 0, sizeof(*w));
	rc = store_query(s,
			 "SELECT workload_json, workload_path, status, host, pid FROM runs WHERE"
			 " name = ?",
			 p, 1, stored_row, &c, err);
	if (!rc && c.nomem)
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory reading run '%s'", name);
	return rc;
}

void store_run_workload_release(struct store_run_workload *w)
{
	lb_free(w->text);
	lb_free(w->path);
	lb_free(w->status);
	lb_free(w->host);
	memset(w, 0, sizeof(*w));
}

int store_backend_find(struct store *s, int64_t run_id, const char *name, int64_t *backend_id,
		       struct lb_error *err)
{
	char a[32];
	const char *p[2] = { a, name };

	*backend_id = 0;
	snprintf(a, sizeof(a), "%lld", (long long)run_id);
	return store_query(s, "SELECT id FROM backends WHERE run_id = ? AND name = ?", p, 2,
			   first_id, backend_id, err);
}

int store_level_find(struct store *s, int64_t run_id, int64_t backend_id, int idx, int rep,
		     int64_t *level_id, bool *done, struct lb_error *err)
{
	char a[32], b[32], c[16], d[16];
	const char *p[4] = { a, b, c, d };
	int64_t id = 0;
	int rc;

	*level_id = 0;
	*done = false;
	snprintf(a, sizeof(a), "%lld", (long long)run_id);
	snprintf(b, sizeof(b), "%lld", (long long)backend_id);
	snprintf(c, sizeof(c), "%d", idx);
	snprintf(d, sizeof(d), "%d", rep);
	rc = store_query(
		s,
		"SELECT id FROM levels WHERE run_id = ? AND backend_id = ? AND idx = ? AND rep = ?"
		" AND status = 'done'",
		p, 4, first_id, &id, err);
	if (rc)
		return rc;
	if (id) {
		*level_id = id;
		*done = true;
		return 0;
	}
	return store_query(
		s,
		"SELECT id FROM levels WHERE run_id = ? AND backend_id = ? AND idx = ? AND rep = ?",
		p, 4, first_id, level_id, err);
}

int store_level_no_success(struct store *s, int64_t level_id, bool *none, struct lb_error *err)
{
	char a[32];
	const char *p[1] = { a };
	int64_t n = -1;
	int rc;

	snprintf(a, sizeof(a), "%lld", (long long)level_id);
	/* a finished level's 'cancelled' rows are the ones abandoned on purpose (load.cancel) */
	rc = store_query(s,
			 "SELECT count(*) FROM requests WHERE level_id = ? AND warmup = 0 AND"
			 " status IN ('ok', 'cancelled')",
			 p, 1, first_id, &n, err);
	*none = !rc && n == 0;
	return rc;
}

int store_level_reopen(struct store *s, int64_t level_id, bool drop_all, struct lb_error *err)
{
	char a[32];
	const char *p[1] = { a };
	int rc;

	snprintf(a, sizeof(a), "%lld", (long long)level_id);
	rc = store_exec(
		s,
		drop_all ? "DELETE FROM requests WHERE level_id = ?"
			 : "DELETE FROM requests WHERE level_id = ? AND status = 'cancelled'",
		p, 1, err);
	/* every figure of the level is written again when it ends (from all its rows): one that
	 * is written only when it applies (a failure category the cut requests alone had) must not
	 * outlive the resume */
	if (!rc)
		rc = store_exec(s, "DELETE FROM summaries WHERE level_id = ?", p, 1, err);
	if (!rc && drop_all)
		rc = store_exec(s, "DELETE FROM series WHERE level_id = ?", p, 1, err);
	if (!rc)
		rc = store_exec(s, "UPDATE levels SET status = 'running' WHERE id = ?", p, 1, err);
	return rc;
}

int store_backend_evals_drop(struct store *s, int64_t backend_id, struct lb_error *err)
{
	static const char *const sql[] = { "DELETE FROM evals WHERE backend_id = ?",
					   "DELETE FROM mc_choices WHERE backend_id = ?",
					   "DELETE FROM eval_texts WHERE backend_id = ?" };
	char a[32];
	const char *p[1] = { a };
	size_t i;
	int rc = 0;

	snprintf(a, sizeof(a), "%lld", (long long)backend_id);
	for (i = 0; !rc && i < sizeof(sql) / sizeof(sql[0]); i++)
		rc = store_exec(s, sql[i], p, 1, err);
	return rc;
}

/* The failure category a stored status names (the inverse of lb_fail_name). */
static enum lb_fail fail_from(const char *status, int *http)
{
	*http = 0;
	if (!strcmp(status, "connect"))
		return LB_FAIL_CONNECT;
	if (!strncmp(status, "http_", 5)) {
		*http = (int)strtol(status + 5, NULL, 10);
		return LB_FAIL_HTTP;
	}
	if (!strcmp(status, "timeout"))
		return LB_FAIL_TIMEOUT;
	if (!strcmp(status, "stream"))
		return LB_FAIL_STREAM;
	return LB_FAIL_BACKEND;
}

struct reqs_ctx {
	store_request_fn *fn;
	void *ctx;
	int rc;
};

static int request_row(void *ctx, const struct store_row *row)
{
	struct reqs_ctx *c = ctx;
	struct lb_reqrec r;
	long n;
	uint64_t *t = NULL;
	int32_t *cnt = NULL;
	int stop;

	reqrec_init(&r, (uint64_t)row->num[0], false);
	r.seq = (long)row->num[1];
	r.warmup = row->num[2] != 0;
	r.done = true;
	if (strcmp(row->text[3], "ok"))
		r.fail = fail_from(row->text[3], &r.http_status);
	r.t_scheduled_ns = row->text[4] ? (uint64_t)row->num[4] : 0;
	r.t_send_ns = row->text[5] ? (uint64_t)row->num[5] : 0;
	r.t_first_ns = row->text[6] ? (uint64_t)row->num[6] : 0;
	r.t_end_ns = row->text[7] ? (uint64_t)row->num[7] : 0;
	if (row->text[8]) {
		r.n_in = (int32_t)row->num[8];
		r.n_in_src = "stored";
	}
	if (row->text[9]) {
		r.n_out = (int32_t)row->num[9];
		r.n_out_src = "stored";
	}
	if (row->text[13])
		snprintf(r.err_msg, sizeof(r.err_msg), "%s", row->text[13]);
	n = row->text[10] ? (long)row->num[10] : 0;
	if (n > 0 && row->blob[11]) {
		t = lb_calloc((size_t)n, sizeof(*t));
		cnt = lb_calloc((size_t)n, sizeof(*cnt));
		if (!t || !cnt) {
			lb_free(t);
			lb_free(cnt);
			c->rc = LB_ERR_NOMEM;
			return 1;
		}
		n = reqrec_decode_chunks(row->blob[11], (size_t)row->blob_len[11], r.t_send_ns, t,
					 n);
		if (n > 0 && row->blob[12])
			reqrec_decode_counts(row->blob[12], (size_t)row->blob_len[12], cnt, n);
		r.chunk_t_ns = t;
		r.chunk_n = cnt;
		r.n_chunks = r.chunk_alloc = n > 0 ? (uint32_t)n : 0;
	}
	stop = c->fn(c->ctx, &r);
	reqrec_release(&r);
	return stop;
}

int store_level_requests(struct store *s, int64_t level_id, store_request_fn *fn, void *ctx,
			 struct lb_error *err)
{
	static const char q[] =
		"SELECT req_id, seq, warmup, status, t_scheduled_ns, t_send_ns, t_first_ns, t_end_ns,"
		" prompt_tokens, output_tokens, n_chunks, chunk_times, chunk_tokens, error"
		" FROM requests WHERE level_id = ? ORDER BY id";
	char a[32];
	const char *p[1] = { a };
	struct reqs_ctx c = { fn, ctx, 0 };
	int rc;

	snprintf(a, sizeof(a), "%lld", (long long)level_id);
	rc = store_query(s, q, p, 1, request_row, &c, err);
	if (!rc && c.rc)
		rc = lb_error_set(err, c.rc, "out of memory reading the requests of level %lld",
				  (long long)level_id);
	return rc;
}
