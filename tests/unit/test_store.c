/* test_store.c: the SQLite store: schema, round trips through store_query, batching, crash
 * safety. With LB_STORE_FIXTURE=PATH set it only writes a fixture store to PATH (used by the
 * CLI tests of `runs` and `export`) and exits. */
#include "../../base/error.h"
#include "../../metrics/record.h"
#include "../../metrics/store.h"

#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define MS 1000000ull
#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static char tmpdir[256];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/llmbench-test-store.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *db_path(const char *name)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

/* ---- reading back through store_query ---- */

struct cell {
	int type;
	char text[512];
	double num;
	uint8_t blob[512];
	int blob_len;
	int rows;
};

static int on_first(void *ctx, const struct store_row *row)
{
	struct cell *c = ctx;

	if (!c->rows++) {
		c->type = row->types[0];
		snprintf(c->text, sizeof(c->text), "%s", row->text[0] ? row->text[0] : "(null)");
		c->num = row->num[0];
		if (row->types[0] == STORE_BLOB && row->blob_len[0] <= (int)sizeof(c->blob)) {
			memcpy(c->blob, row->blob[0], (size_t)row->blob_len[0]);
			c->blob_len = row->blob_len[0];
		}
	}
	return 0;
}

/* The first column of the first row of sql (with one optional text parameter). */
static struct cell q1(struct store *st, const char *sql, const char *param)
{
	struct cell c = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	const char *params[] = { param };

	if (store_query(st, sql, params, param ? 1 : 0, on_first, &c, &err)) {
		fprintf(stderr, "query failed: %s\n", err.msg);
		fail();
	}
	return c;
}

static long count(struct store *st, const char *sql)
{
	return (long)q1(st, sql, NULL).num;
}

static struct store *open_rw(const char *path)
{
	struct store *st = NULL;
	struct lb_error err = LB_ERROR_INIT;

	if (store_open(&st, path, false, &err)) {
		fprintf(stderr, "open failed: %s\n", err.msg);
		fail();
	}
	return st;
}

/* ---- building request records from events ---- */

static void ev(struct lb_reqrec *r, enum lb_event_kind k, uint64_t t, int32_t n, const char *text)
{
	struct lb_event e;

	lb_event_init(&e, k, r->id, t);
	e.n_tokens = n;
	e.text = text;
	e.text_len = text ? strlen(text) : 0;
	reqrec_on_event(r, &e);
}

static void done(struct lb_reqrec *r, uint64_t t, int32_t up, int32_t uc)
{
	struct lb_event e;

	lb_event_init(&e, LB_EV_DONE, r->id, t);
	e.usage_prompt_tokens = up;
	e.usage_completion_tokens = uc;
	e.finish_reason = "length";
	reqrec_on_event(r, &e);
}

static void fail_req(struct lb_reqrec *r, uint64_t t, enum lb_fail f, int http, const char *msg)
{
	struct lb_event e;

	lb_event_init(&e, LB_EV_ERROR, r->id, t);
	e.fail = f;
	e.http_status = http;
	e.text = msg;
	e.text_len = strlen(msg);
	reqrec_on_event(r, &e);
}

/* An ok streamed request: chunks at t0 + offs[i] ms with counts n[i], done at t0 + end ms. */
static void ok_req(struct lb_reqrec *r, uint64_t id, uint64_t t0, const unsigned *offs,
		   const int32_t *n, int k, unsigned end, int32_t up, int32_t uc)
{
	int i;

	reqrec_init(r, id, false);
	ev(r, LB_EV_SENT, t0, -1, NULL);
	for (i = 0; i < k; i++)
		ev(r, i ? LB_EV_TOKENS : LB_EV_FIRST_TOKEN, t0 + offs[i] * MS, n[i], "x");
	done(r, t0 + end * MS, up, uc);
}

static void add(struct store *st, int64_t run_id, struct lb_reqrec *r, int64_t backend_id,
		int64_t level_id, bool warmup)
{
	struct lb_error err = LB_ERROR_INIT;

	r->backend_id = backend_id;
	r->level_id = level_id;
	r->warmup = warmup;
	if (store_request_add(st, run_id, r, &err)) {
		fprintf(stderr, "request_add failed: %s\n", err.msg);
		fail();
	}
	reqrec_release(r);
}

static int64_t begin_run(struct store *st, const char *name, const char *wl)
{
	struct store_run sr = { .name = name, .workload_name = wl, .host = "h", .version = "v" };
	struct lb_error err = LB_ERROR_INIT;
	int64_t id = 0;

	if (store_run_begin(st, &sr, &id, NULL, &err)) {
		fprintf(stderr, "run_begin failed: %s\n", err.msg);
		fail();
	}
	return id;
}

/* ---- tests ---- */

static void embedded_schema_equals_schema_sql(void **state)
{
	static const char *const tries[] = { "metrics/schema.sql", "../metrics/schema.sql",
					      "../../metrics/schema.sql" };
	char path[1024], *buf;
	FILE *f = NULL;
	const char *top = getenv("LB_TOP");
	size_t i, n;
	long len;

	(void)state;
	if (top) {
		snprintf(path, sizeof(path), "%s/metrics/schema.sql", top);
		f = fopen(path, "rb");
	}
	for (i = 0; !f && i < sizeof(tries) / sizeof(tries[0]); i++)
		f = fopen(tries[i], "rb");
	assert_non_null(f); /* run from the repository root (tests/run.sh does) */
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	n = fread(buf, 1, (size_t)len, f);
	fclose(f);
	assert_int_equal(n, (size_t)len);
	assert_string_equal(store_schema_sql(), buf);
	free(buf);
}

static void new_store_has_schema_and_reopens(void **state)
{
	const char *path = db_path("new.db");
	struct store *st;

	(void)state;
	st = open_rw(path);
	assert_string_equal(
		q1(st, "SELECT value FROM meta WHERE key = 'schema_version'", NULL).text, "1");
	assert_int_equal(
		count(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
			  " name IN ('runs','backends','levels','requests','summaries','series')"),
		6);
	assert_string_equal(q1(st, "PRAGMA journal_mode", NULL).text, "wal");
	assert_int_equal(count(st, "PRAGMA foreign_keys"), 1);
	begin_run(st, "a", "wl");
	store_close(st);
	st = open_rw(path);
	assert_int_equal(count(st, "SELECT count(*) FROM runs"), 1);
	assert_int_equal(count(st, "SELECT count(*) FROM meta"), 1);
	store_close(st);
}

static void newer_or_unknown_version_is_refused(void **state)
{
	const char *path = db_path("ver.db");
	struct store *st;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	st = open_rw(path);
	assert_int_equal(store_exec(st, "UPDATE meta SET value = ? WHERE key = 'schema_version'",
				    (const char *[]){ "2" }, 1, &err), 0);
	store_close(st);
	st = NULL;
	assert_int_equal(store_open(&st, path, false, &err), LB_ERR_USAGE);
	assert_null(st);
	assert_non_null(strstr(err.msg, "schema version 2 is newer"));
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(store_open(&st, path, true, &err), LB_ERR_USAGE);
	assert_null(st);
}

static void garbage_version_and_foreign_files_are_refused(void **state)
{
	const char *path = db_path("garbage.db"), *txt = db_path("notadb.db");
	struct store *st = NULL;
	struct lb_error err = LB_ERROR_INIT;
	FILE *f;

	(void)state;
	st = open_rw(path);
	assert_int_equal(store_exec(st, "UPDATE meta SET value = 'x1' WHERE key = 'schema_version'",
				    NULL, 0, &err), 0);
	store_close(st);
	st = NULL;
	assert_int_equal(store_open(&st, path, false, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "unknown schema version 'x1'"));

	f = fopen(txt, "w");
	assert_non_null(f);
	fputs("this is not a database, it is a text file that is long enough to have a header\n"
	      "and more lines so that sqlite reads a full page header from it..................\n",
	      f);
	fclose(f);
	assert_int_equal(store_open(&st, txt, true, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "cannot open"));
	assert_non_null(strstr(err.msg, "not a database"));
	assert_null(st);
}

static void readonly_missing_file_fails_and_creates_nothing(void **state)
{
	const char *path = db_path("missing.db");
	char want[600];
	struct store *st = NULL;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(store_open(&st, path, true, &err), LB_ERR_USAGE);
	snprintf(want, sizeof(want), "cannot open '%s': no such file", path);
	assert_string_equal(err.msg, want);
	assert_null(st);
	assert_int_equal(access(path, F_OK), -1);

	/* read-write in a directory that does not exist: an input error naming the path */
	assert_int_equal(store_open(&st, db_path("no/such/dir/x.db"), false, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "cannot open '"));
	assert_non_null(strstr(err.msg, "no/such/dir/x.db"));
	assert_null(st);
}

static void readonly_store_refuses_writes(void **state)
{
	const char *path = db_path("ro.db");
	struct store *st = open_rw(path), *ro = NULL;
	struct lb_error err = LB_ERROR_INIT;
	struct lb_reqrec r;

	(void)state;
	store_close(st);
	assert_int_equal(store_open(&ro, path, true, &err), 0);
	reqrec_init(&r, 1, false);
	assert_int_equal(store_request_add(ro, 1, &r, &err), LB_ERR_STORE);
	assert_non_null(strstr(err.msg, "read-only"));
	reqrec_release(&r);
	assert_int_equal(count(ro, "SELECT count(*) FROM runs"), 0);
	store_close(ro);
}

static void run_backend_level_request_summary_round_trip(void **state)
{
	const char *path = db_path("rt.db");
	struct store *st = open_rw(path);
	struct lb_error err = LB_ERROR_INIT;
	struct store_run sr = { "rt", "wl", "w.json", "{\"a\":1}", "host1", "v1", "{\"cores\":2}" };
	struct store_backend sb = { "b1", "openai", "m", "llama", "q4_0", "{}" };
	struct store_level sl = { 2, 1, "rate", 2.5 };
	struct store_summary sm = { 0 };
	const char *name = NULL;
	int64_t run_id, backend_id, level_id, found;
	unsigned offs[] = { 150, 165, 180 };
	int32_t n[] = { 1, 2, -1 };
	uint64_t t[8];
	int32_t cn[8];
	struct lb_reqrec r;
	struct cell c;
	char id[32];

	(void)state;
	assert_int_equal(store_run_begin(st, &sr, &run_id, &name, &err), 0);
	assert_string_equal(name, "rt");
	assert_true(run_id > 0);
	assert_int_equal(store_run_find(st, "rt", &found, &err), 0);
	assert_int_equal(found, run_id);
	assert_int_equal(store_run_find(st, "nope", &found, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "no run 'nope'"));
	assert_int_equal(store_backend_add(st, run_id, &sb, &backend_id, &err), 0);
	assert_int_equal(store_level_begin(st, run_id, backend_id, &sl, &level_id, &err), 0);
	assert_string_equal(q1(st, "SELECT status FROM levels", NULL).text, "running");

	ok_req(&r, 77, 1000 * MS, offs, n, 3, 181, 7, 4);
	r.seq = 3;
	r.item_idx = 9;
	r.t_scheduled_ns = 990 * MS;
	add(st, run_id, &r, backend_id, level_id, false);

	sm = (struct store_summary){ run_id, backend_id, level_id, "ttft_p50_ms", true, 150.0, 10,
				     "ms", "events", NULL };
	assert_int_equal(store_summary_put(st, &sm, &err), 0);
	assert_int_equal(
		store_series_add(st, run_id, 0, level_id, "power_w", 123456789, 41.5, &err), 0);
	assert_int_equal(store_level_end(st, level_id, "done", false, "lag too high", &err), 0);
	assert_int_equal(store_run_end(st, run_id, "done", "fine", &err), 0);

	snprintf(id, sizeof(id), "%lld", (long long)run_id);
	c = q1(st, "SELECT name || '|' || workload_name || '|' || workload_path || '|' ||"
		   " workload_json || '|' || status || '|' || host || '|' || version || '|' ||"
		   " machine_json || '|' || note FROM runs WHERE id = ?", id);
	assert_string_equal(c.text, "rt|wl|w.json|{\"a\":1}|done|host1|v1|{\"cores\":2}|fine");
	c = q1(st, "SELECT started_at FROM runs", NULL);
	assert_int_equal(strlen(c.text), 24); /* 2026-01-02T03:04:05.678Z */
	assert_true(c.text[10] == 'T' && c.text[19] == '.' && c.text[23] == 'Z');
	assert_int_equal(count(st, "SELECT julianday(ended_at) >= julianday(started_at) FROM runs"),
			 1);
	assert_string_equal(
		q1(st, "SELECT name||type||model||family||quant||config_json FROM backends", NULL)
			.text,
		"b1openaimllamaq4_0{}");
	assert_string_equal(q1(st, "SELECT idx||'|'||rep||'|'||mode||'|'||value||'|'||status||'|'||"
				   "valid||'|'||invalid_reason FROM levels", NULL).text,
			    "2|1|rate|2.5|done|0|lag too high");

	assert_string_equal(q1(st, "SELECT status FROM requests", NULL).text, "ok");
	c = q1(st, "SELECT ttft_ms FROM requests", NULL);
	assert_int_equal(c.type, STORE_REAL);
	NEAR(c.num, 150, 1e-9);
	NEAR(q1(st, "SELECT tpot_ms FROM requests", NULL).num, 31.0 / 3, 1e-9);
	NEAR(q1(st, "SELECT e2e_ms FROM requests", NULL).num, 181, 1e-9);
	NEAR(q1(st, "SELECT lag_ms FROM requests", NULL).num, 10, 1e-9);
	assert_string_equal(q1(st,
			       "SELECT req_id||'|'||seq||'|'||item_idx||'|'||warmup||'|'||"
			       "prompt_tokens||'|'||prompt_tokens_source||'|'||output_tokens||'|'||"
			       "output_tokens_source||'|'||n_chunks||'|'||finish_reason||'|'||"
			       "t_send_ns||'|'||t_first_ns||'|'||t_end_ns||'|'||t_scheduled_ns"
			       " FROM requests",
			       NULL)
				    .text,
			    "77|3|9|0|7|usage|4|usage|3|length|1000000000|1150000000|1181000000|"
			    "990000000");
	assert_int_equal(q1(st, "SELECT http_status FROM requests", NULL).type, STORE_NULL);
	assert_int_equal(q1(st, "SELECT error FROM requests", NULL).type, STORE_NULL);
	assert_int_equal(q1(st, "SELECT output_text FROM requests", NULL).type, STORE_NULL);
	c = q1(st, "SELECT chunk_times FROM requests", NULL);
	assert_int_equal(c.type, STORE_BLOB);
	assert_int_equal(reqrec_decode_chunks(c.blob, (size_t)c.blob_len, 1000 * MS, t, 8), 3);
	assert_true(t[0] == 1150 * MS && t[1] == 1165 * MS && t[2] == 1180 * MS);
	c = q1(st, "SELECT chunk_tokens FROM requests", NULL);
	assert_int_equal(reqrec_decode_counts(c.blob, (size_t)c.blob_len, cn, 8), 3);
	assert_true(cn[0] == 1 && cn[1] == 2 && cn[2] == -1);

	c = q1(st, "SELECT value FROM summaries WHERE metric = 'ttft_p50_ms'", NULL);
	NEAR(c.num, 150, 1e-12);
	assert_string_equal(q1(st, "SELECT n||unit||provenance FROM summaries", NULL).text,
			    "10.0msevents");
	assert_string_equal(q1(st, "SELECT series||t_ns||value FROM series", NULL).text,
			    "power_w12345678941.5");
	/* a text parameter is compared with column affinity */
	NEAR(q1(st, "SELECT count(*) FROM requests WHERE req_id = ?", "77").num, 1, 0);
	store_close(st);
}

static void unavailable_summaries_are_null_with_note(void **state)
{
	struct store *st = open_rw(db_path("sum.db"));
	struct lb_error err = LB_ERROR_INIT;
	int64_t run_id = begin_run(st, "s", "wl");
	struct store_summary sm = { run_id, 0, 0, "goodput", false, 0, -1, "req/s", "slo",
				    "unavailable: the workload sets no slo" };
	struct cell c;

	(void)state;
	assert_int_equal(store_summary_put(st, &sm, &err), 0);
	c = q1(st, "SELECT value FROM summaries WHERE metric = 'goodput'", NULL);
	assert_int_equal(c.type, STORE_NULL);
	assert_true(isnan(c.num));
	assert_string_equal(
		q1(st, "SELECT note FROM summaries WHERE metric = 'goodput'", NULL).text,
		"unavailable: the workload sets no slo");
	assert_int_equal(q1(st, "SELECT n FROM summaries WHERE metric = 'goodput'", NULL).type,
			 STORE_NULL);

	sm.metric = "energy_j"; /* a bare reason gets the prefix */
	sm.note = "no power source";
	assert_int_equal(store_summary_put(st, &sm, &err), 0);
	assert_string_equal(
		q1(st, "SELECT note FROM summaries WHERE metric = 'energy_j'", NULL).text,
		"unavailable: no power source");
	sm.metric =
		"tg_tps"; /* NAN passed as a value is unavailable too, never stored as a number */
	sm.has_value = true;
	sm.value = NAN;
	sm.note = NULL;
	assert_int_equal(store_summary_put(st, &sm, &err), 0);
	assert_int_equal(q1(st, "SELECT value FROM summaries WHERE metric = 'tg_tps'", NULL).type,
			 STORE_NULL);
	assert_non_null(
		strstr(q1(st, "SELECT note FROM summaries WHERE metric = 'tg_tps'", NULL).text,
		       "unavailable"));
	/* put again: replaces */
	sm.metric = "goodput";
	sm.value = 3.5;
	sm.note = NULL;
	assert_int_equal(store_summary_put(st, &sm, &err), 0);
	assert_int_equal(count(st, "SELECT count(*) FROM summaries WHERE metric = 'goodput'"), 1);
	NEAR(q1(st, "SELECT value FROM summaries WHERE metric = 'goodput'", NULL).num, 3.5, 0);
	store_close(st);
}

static bool generated_name_ok(const char *name, const char *wl)
{
	size_t n = strlen(wl), i;

	if (strncmp(name, wl, n) || name[n] != '-' || strlen(name) < n + 16)
		return false;
	for (i = 0; i < 15; i++) {
		char ch = name[n + 1 + i];

		if (i == 8 ? ch != '-' : (ch < '0' || ch > '9'))
			return false;
	}
	return name[n + 16] == 0 || name[n + 16] == '-';
}

static void names_are_unique_and_generated_ones_get_suffixes(void **state)
{
	struct store *st = open_rw(db_path("names.db"));
	struct lb_error err = LB_ERROR_INIT;
	struct store_run sr = { .name = "dup", .workload_name = "wl" };
	const char *n1 = NULL, *n2 = NULL, *n3 = NULL;
	int64_t id;
	int tries, suffixed = 0;
	char want[600];

	(void)state;
	assert_int_equal(store_run_begin(st, &sr, &id, NULL, &err), 0);
	assert_int_equal(store_run_begin(st, &sr, &id, NULL, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "run 'dup' already exists"));
	sr.name = "";
	assert_int_equal(store_run_begin(st, &sr, &id, NULL, &err), LB_ERR_USAGE);

	sr.name = NULL;
	for (tries = 0; tries < 5 && !suffixed; tries++) {
		assert_int_equal(store_run_begin(st, &sr, &id, &n1, &err), 0);
		assert_int_equal(store_run_begin(st, &sr, &id, &n2, &err), 0);
		assert_int_equal(store_run_begin(st, &sr, &id, &n3, &err), 0);
		assert_true(generated_name_ok(n1, "wl"));
		assert_true(generated_name_ok(n2, "wl"));
		assert_string_not_equal(n1, n2);
		assert_string_not_equal(n2, n3);
		if (!strncmp(n1, n3, strlen("wl-20260101-000000"))) { /* same second */
			/* tries > 0: n1 itself may already be suffixed */
			if (tries == 0) {
				snprintf(want, sizeof(want), "%s-2", n1);
				assert_string_equal(n2, want);
				snprintf(want, sizeof(want), "%s-3", n1);
				assert_string_equal(n3, want);
			}
			suffixed = 1;
		}
	}
	assert_true(suffixed);
	sr.workload_name = NULL;
	assert_int_equal(store_run_begin(st, &sr, &id, &n1, &err), 0);
	assert_true(generated_name_ok(n1, "run"));
	store_close(st);
}

static void failed_request_with_nans_stores_nulls(void **state)
{
	struct store *st = open_rw(db_path("nan.db"));
	int64_t run_id = begin_run(st, "n", "wl");
	struct lb_reqrec r;
	static const char *const null_cols[] = {
		"ttft_ms",       "tpot_ms",          "e2e_ms",      "t_first_ns",
		"prompt_tokens", "output_tokens",    "chunk_times", "chunk_tokens",
		"finish_reason", "server_prompt_ms", "http_status"};
	char sql[128];
	size_t i;

	(void)state;
	reqrec_init(&r, 5, false);
	ev(&r, LB_EV_SENT, 100 * MS, -1, NULL);
	fail_req(&r, 200 * MS, LB_FAIL_TIMEOUT, 0, "no answer in 100 ms");
	assert_true(isnan(reqrec_ttft_ms(&r)) && isnan(reqrec_e2e_ms(&r)));
	add(st, run_id, &r, 1, 1, false);
	for (i = 0; i < sizeof(null_cols) / sizeof(null_cols[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT %s FROM requests", null_cols[i]);
		if (q1(st, sql, NULL).type != STORE_NULL)
			fail_msg("%s is not NULL", null_cols[i]);
	}
	assert_string_equal(q1(st, "SELECT status FROM requests", NULL).text, "timeout");
	assert_string_equal(q1(st, "SELECT error FROM requests", NULL).text, "no answer in 100 ms");
	assert_int_equal(count(st, "SELECT n_chunks FROM requests"), 0);
	NEAR(q1(st, "SELECT lag_ms FROM requests", NULL).num, 0, 0);

	reqrec_init(&r, 6, true); /* http failure: category and status; kept text */
	ev(&r, LB_EV_SENT, 100 * MS, -1, NULL);
	fail_req(&r, 200 * MS, LB_FAIL_HTTP, 429, "slow down");
	add(st, run_id, &r, 1, 1, false);
	assert_string_equal(
		q1(st, "SELECT status||http_status FROM requests WHERE req_id = 6", NULL).text,
		"http_429429");
	assert_string_equal(q1(st, "SELECT output_text FROM requests WHERE req_id = 6", NULL).text,
			    "");
	store_close(st);
}

static long count_in(const char *path, const char *sql)
{
	struct store *ro = NULL;
	struct lb_error err = LB_ERROR_INIT;
	long n;

	if (store_open(&ro, path, true, &err)) {
		fprintf(stderr, "readonly open failed: %s\n", err.msg);
		fail();
	}
	n = count(ro, sql);
	store_close(ro);
	return n;
}

static void batches_are_visible_only_after_commit(void **state)
{
	const char *path = db_path("batch.db");
	const char *sql = "SELECT count(*) FROM requests";
	struct store *st = open_rw(path);
	struct lb_error err = LB_ERROR_INIT;
	int64_t run_id = begin_run(st, "b", "wl");
	struct lb_reqrec r;
	uint64_t id = 1;
	int i;

	(void)state;
	assert_int_equal(count_in(path, "SELECT count(*) FROM runs"),
			 1); /* run rows commit at once */

	store_set_commit_policy(st, 1000, 1000000);
	reqrec_init(&r, id++, false);
	add(st, run_id, &r, 1, 1, false);
	assert_int_equal(count(st, sql), 1); /* the writer sees its own batch */
	assert_int_equal(count_in(path, sql), 0);
	assert_int_equal(store_flush(st, &err), 0);
	assert_int_equal(count_in(path, sql), 1);

	store_set_commit_policy(st, 3, 1000000); /* by rows */
	for (i = 0; i < 2; i++) {
		reqrec_init(&r, id++, false);
		add(st, run_id, &r, 1, 1, false);
	}
	assert_int_equal(count_in(path, sql), 1);
	reqrec_init(&r, id++, false);
	add(st, run_id, &r, 1, 1, false);
	assert_int_equal(count_in(path, sql), 4);

	store_set_commit_policy(st, 1000, 50); /* by time, checked on the next write */
	reqrec_init(&r, id++, false);
	add(st, run_id, &r, 1, 1, false);
	assert_int_equal(count_in(path, sql), 4);
	usleep(80 * 1000);
	reqrec_init(&r, id++, false);
	add(st, run_id, &r, 1, 1, false);
	assert_int_equal(count_in(path, sql), 6);

	reqrec_init(&r, id++, false); /* by time, checked by store_tick */
	add(st, run_id, &r, 1, 1, false);
	assert_int_equal(store_tick(st, &err), 0);
	assert_int_equal(count_in(path, sql), 6);
	usleep(80 * 1000);
	assert_int_equal(store_tick(st, &err), 0);
	assert_int_equal(count_in(path, sql), 7);

	store_set_commit_policy(st, 1000, 1000000); /* summaries and series batch too */
	{
		struct store_summary sm = { run_id, 0, 0, "x", true, 1, 1, "s", "t", NULL };

		assert_int_equal(store_summary_put(st, &sm, &err), 0);
		assert_int_equal(store_series_add(st, run_id, 0, 0, "p", 1, 2, &err), 0);
	}
	assert_int_equal(count_in(path, "SELECT count(*) FROM summaries"), 0);
	assert_int_equal(count_in(path, "SELECT count(*) FROM series"), 0);
	assert_int_equal(store_run_end(st, run_id, "done", NULL, &err), 0); /* commits */
	assert_int_equal(count_in(path, "SELECT count(*) FROM summaries"), 1);
	assert_int_equal(count_in(path, "SELECT count(*) FROM series"), 1);

	reqrec_init(&r, id++, false); /* close commits */
	add(st, run_id, &r, 1, 1, false);
	store_close(st);
	assert_int_equal(count_in(path, sql), 8);
}

static void killed_writer_leaves_an_intact_store(void **state)
{
	const char *path = db_path("killed.db");
	int fds[2];
	pid_t pid;
	char ch;
	int status, i;
	struct store *ro = NULL;
	struct lb_error err = LB_ERROR_INIT;
	long n;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *st = open_rw(path);
		int64_t run_id = begin_run(st, "k", "wl");
		struct lb_reqrec r;

		close(fds[0]);
		for (i = 0; i < 300; i++) { /* default policy: one commit at 256 rows */
			unsigned offs[] = { 10, 20 };
			int32_t cn[] = { 1, 1 };

			ok_req(&r, (uint64_t)i + 1, 1000 * MS, offs, cn, 2, 25, 3, 2);
			add(st, run_id, &r, 1, 1, false);
		}
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		for (;;) /* killed here, with 44 rows in an open batch */
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &ch, 1), 1);
	close(fds[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(store_open(&ro, path, true, &err), 0);
	assert_string_equal(q1(ro, "PRAGMA integrity_check", NULL).text, "ok");
	n = count(ro, "SELECT count(*) FROM requests");
	assert_true(n >= 256 && n < 300);
	assert_string_equal(q1(ro, "SELECT status FROM runs", NULL).text, "running");
	store_close(ro);
	ro = open_rw(path); /* a writer can continue in it */
	assert_int_equal(count(ro, "SELECT count(*) FROM runs"), 1);
	store_close(ro);
}

static void query_reports_bad_sql_and_parameter_counts(void **state)
{
	struct store *st = open_rw(db_path("q.db"));
	struct lb_error err = LB_ERROR_INIT;
	const char *p[] = { "1", "2" };
	struct cell c = { 0 };

	(void)state;
	assert_int_equal(store_query(st, "SELECT ?", p, 2, on_first, &c, &err), LB_ERR_STORE);
	assert_non_null(strstr(err.msg, "parameters"));
	assert_int_equal(store_query(st, "SELEKT 1", NULL, 0, on_first, &c, &err), LB_ERR_STORE);
	assert_non_null(strstr(err.msg, "syntax error"));
	assert_int_equal(store_query(st, "SELECT 1; SELECT 2", NULL, 0, on_first, &c, &err),
			 LB_ERR_STORE);
	assert_int_equal(store_query(st, "SELECT ?, 'x', 2.5, X'0102'", p, 1, on_first, &c, &err),
			 0);
	assert_int_equal(c.type, STORE_TEXT);
	NEAR(c.num, 1, 0); /* a numeric text has a numeric form */
	c.rows = 0;
	assert_int_equal(store_query(st, "SELECT X'0102'", NULL, 0, on_first, &c, &err), 0);
	assert_int_equal(c.type, STORE_BLOB);
	assert_int_equal(c.blob_len, 2);
	assert_string_equal(c.text, "");
	store_close(st);
}

/* ---- the fixture for tests/cli (LB_STORE_FIXTURE=path) ---- */

static int write_fixture(const char *path)
{
	struct store *st = NULL;
	struct lb_error err = LB_ERROR_INIT;
	struct store_run sr = { "fx", "fixture", "workloads/fixture.json", "{}", "h", "v", NULL };
	struct store_backend sb = { "sim-a", "openai", "m", "llama", "q4_0", "{}" };
	struct store_level l0 = { 0, 0, "concurrency", 1 }, l1 = { 1, 0, "concurrency", 4 };
	int64_t run_id, backend_id, lv0, lv1, id2;
	unsigned offs[] = { 20, 30, 40 };
	int32_t ones[] = { 1, 1, 1 }, two3[] = { 2, 3 };
	struct lb_reqrec r;
	uint64_t t0 = 1000000 * MS;
	int i, rc;

	unlink(path);
	rc = store_open(&st, path, false, &err);
	if (!rc)
		rc = store_run_begin(st, &sr, &run_id, NULL, &err);
	if (!rc)
		rc = store_backend_add(st, run_id, &sb, &backend_id, &err);
	if (!rc)
		rc = store_level_begin(st, run_id, backend_id, &l0, &lv0, &err);
	if (!rc)
		rc = store_level_begin(st, run_id, backend_id, &l1, &lv1, &err);
	if (rc)
		goto out;
	/* level 0: requests 1-2 warm-up, 3-6 measured; each TTFT 20, ITL 10, TPOT 12.5, E2E 45 */
	for (i = 1; i <= 6; i++) {
		ok_req(&r, (uint64_t)i, t0 + (uint64_t)i * 100 * MS, offs, ones, 3, 45, 11, -1);
		r.backend_id = backend_id;
		r.level_id = lv0;
		r.warmup = i <= 2;
		r.seq = i - 1;
		if ((rc = store_request_add(st, run_id, &r, &err)))
			goto out;
		reqrec_release(&r);
	}
	/* level 1, stored out of order: 10, 9, 8, 7 */
	ok_req(&r, 10, t0 + 2000 * MS, offs, two3, 2, 35, -1, -1); /* 2 chunks: ITL 10 */
	r.backend_id = backend_id;
	r.level_id = lv1;
	if ((rc = store_request_add(st, run_id, &r, &err)))
		goto out;
	reqrec_release(&r);
	ok_req(&r, 9, t0 + 2100 * MS, offs, ones, 1, 25, 5, 1); /* 1 chunk: no ITL */
	r.backend_id = backend_id;
	r.level_id = lv1;
	if ((rc = store_request_add(st, run_id, &r, &err)))
		goto out;
	reqrec_release(&r);
	reqrec_init(&r, 8, false);
	ev(&r, LB_EV_SENT, t0 + 2200 * MS, -1, NULL);
	ev(&r, LB_EV_FIRST_TOKEN, t0 + 2210 * MS, 1, "a");
	fail_req(&r, t0 + 2220 * MS, LB_FAIL_STREAM, 0, "stream cut\noff");
	r.backend_id = backend_id;
	r.level_id = lv1;
	if ((rc = store_request_add(st, run_id, &r, &err)))
		goto out;
	reqrec_release(&r);
	reqrec_init(&r, 7, false);
	ev(&r, LB_EV_SENT, t0 + 2300 * MS, -1, NULL);
	fail_req(&r, t0 + 2301 * MS, LB_FAIL_HTTP, 429, "too many \"requests\", slow down");
	r.backend_id = backend_id;
	r.level_id = lv1;
	if ((rc = store_request_add(st, run_id, &r, &err)))
		goto out;
	reqrec_release(&r);
	rc = store_level_end(st, lv0, "done", true, NULL, &err);
	if (!rc)
		rc = store_level_end(st, lv1, "done", true, NULL, &err);
	if (!rc)
		rc = store_run_end(st, run_id, "done", NULL, &err);
	sr.name = "fx-empty";
	if (!rc)
		rc = store_run_begin(st, &sr, &id2, NULL, &err);
	if (!rc)
		rc = store_run_end(st, id2, "interrupted", "stopped by a signal", &err);
	sr.name = "fx-running";
	if (!rc)
		rc = store_run_begin(st, &sr, &id2, NULL, &err);
out:
	store_close(st);
	if (rc)
		fprintf(stderr, "fixture: %s\n", err.msg);
	return rc ? 1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(embedded_schema_equals_schema_sql),
		cmocka_unit_test(new_store_has_schema_and_reopens),
		cmocka_unit_test(newer_or_unknown_version_is_refused),
		cmocka_unit_test(garbage_version_and_foreign_files_are_refused),
		cmocka_unit_test(readonly_missing_file_fails_and_creates_nothing),
		cmocka_unit_test(readonly_store_refuses_writes),
		cmocka_unit_test(run_backend_level_request_summary_round_trip),
		cmocka_unit_test(unavailable_summaries_are_null_with_note),
		cmocka_unit_test(names_are_unique_and_generated_ones_get_suffixes),
		cmocka_unit_test(failed_request_with_nans_stores_nulls),
		cmocka_unit_test(batches_are_visible_only_after_commit),
		cmocka_unit_test(killed_writer_leaves_an_intact_store),
		cmocka_unit_test(query_reports_bad_sql_and_parameter_counts),
	};
	const char *fx = getenv("LB_STORE_FIXTURE");

	if (fx && *fx)
		return write_fixture(fx);
	return cmocka_run_group_tests_name("store", tests, setup_dir, teardown_dir);
}
