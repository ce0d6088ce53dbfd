/* store.c: the SQLite store (store.h, docs/schema.md). The only file including <sqlite3.h>.
 *
 * Writes join one open transaction (BEGIN IMMEDIATE) that is committed when max_rows rows are
 * pending or max_ms have passed since it began, and at every flush, run/level end and close. In
 * WAL mode with synchronous=NORMAL a committed transaction survives the process being killed,
 * so a kill -9 loses at most the rows of the open batch.
 *
 * Over 800 lines on purpose: every writer and query here goes through struct store's private
 * state (the prepared-statement cache and the open batch); splitting them off would expose it. */
#include "store_int.h"

#include "../base/event.h"
#include "../base/alloc.h"
#include "../base/clock.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

/* metrics/schema.sql, compiled in by scripts/embed.sh (Makefile): the store owns the schema. */
extern const char lb_schema_sql[];

#define STORE_MAX_NAME_TRIES 1000

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_RUN_INSERT,
	ST_RUN_END,
	ST_RUN_FIND,
	ST_BACKEND_INSERT,
	ST_LEVEL_INSERT,
	ST_LEVEL_END,
	ST_REQUEST_INSERT,
	ST_SUMMARY_PUT,
	ST_SERIES_INSERT,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_RUN_INSERT] =
		"INSERT INTO runs (name, workload_name, workload_path, workload_json, status,"
		" started_at, host, version, machine_json, pid) VALUES (?,?,?,?,'running',?,?,?,?,?)",
	[ST_RUN_END] = "UPDATE runs SET status = ?, ended_at = ?, note = ? WHERE id = ?",
	[ST_RUN_FIND] = "SELECT id FROM runs WHERE name = ?",
	[ST_BACKEND_INSERT] = "INSERT INTO backends (run_id, name, type, model, family, quant,"
			      " config_json) VALUES (?,?,?,?,?,?,?)",
	[ST_LEVEL_INSERT] = "INSERT INTO levels (run_id, backend_id, idx, rep, mode, value, status)"
			    " VALUES (?,?,?,?,?,?,'running')",
	[ST_LEVEL_END] = "UPDATE levels SET status = ?, valid = ?, invalid_reason = ? WHERE id = ?",
	[ST_REQUEST_INSERT] =
		"INSERT INTO requests (run_id, backend_id, level_id, req_id, seq, item_idx, warmup,"
		" status, http_status, error, finish_reason, t_scheduled_ns, t_send_ns, t_first_ns,"
		" t_end_ns, ttft_ms, tpot_ms, e2e_ms, lag_ms, prompt_tokens, prompt_tokens_source,"
		" output_tokens, output_tokens_source, n_chunks, chunk_times, chunk_tokens,"
		" server_prompt_ms, server_predicted_ms, output_text)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[ST_SUMMARY_PUT] =
		"INSERT INTO summaries (run_id, backend_id, level_id, metric, value, n, unit,"
		" provenance, note) VALUES (?,?,?,?,?,?,?,?,?)"
		" ON CONFLICT (run_id, backend_id, level_id, metric) DO UPDATE SET"
		" value = excluded.value, n = excluded.n, unit = excluded.unit,"
		" provenance = excluded.provenance, note = excluded.note",
	[ST_SERIES_INSERT] =
		"INSERT INTO series (run_id, backend_id, level_id, series, t_ns, value)"
		" VALUES (?,?,?,?,?,?)",
};

struct store_name {
	struct store_name *next;
	char name[]; /* owned with the node */
};

struct store {
	sqlite3 *db;
	char *path; /* owned */
	bool readonly;
	sqlite3_stmt *stmt[ST_COUNT]; /* prepared on first use, finalized at close */
	bool in_txn;                  /* a batch transaction is open */
	unsigned pending;             /* rows written in the open batch */
	uint64_t txn_start_ns;        /* lb_now_ns() when the batch began */
	unsigned max_rows, max_ms;
	struct store_name *names; /* owned: run names handed out by store_run_begin */
};

const char *store_schema_sql(void)
{
	return lb_schema_sql;
}

const char *store_path(const struct store *s)
{
	return s ? s->path : NULL;
}

/* Fill err from the connection's message, copied at once. */
static int db_error(struct store *s, struct lb_error *err, const char *what)
{
	int rc = sqlite3_extended_errcode(s->db) & 0xff;
	int code = LB_ERR_STORE;

	if (rc == SQLITE_NOTADB || rc == SQLITE_CANTOPEN) /* the path given is wrong: input */
		code = LB_ERR_USAGE;
	else if (rc == SQLITE_NOMEM)
		code = LB_ERR_NOMEM;
	return lb_error_set(err, code, "cannot %s '%s': %s", what, s->path, sqlite3_errmsg(s->db));
}

static int readonly_error(struct store *s, struct lb_error *err)
{
	return lb_error_set(err, LB_ERR_STORE, "cannot write to '%s': store opened read-only",
			    s->path);
}

static sqlite3_stmt *stmt_get(struct store *s, enum stmt_id id, struct lb_error *err)
{
	sqlite3_stmt *st = s->stmt[id];

	if (!st) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st,
				       NULL) != SQLITE_OK) {
			db_error(s, err, "prepare a statement for");
			return NULL;
		}
		s->stmt[id] = st;
	}
	return st;
}

/* Run a cached statement that returns no rows; it is reset for the next use. */
static int stmt_done(struct store *s, sqlite3_stmt *st, const char *what, struct lb_error *err)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_error(s, err, what);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (s->in_txn && sqlite3_get_autocommit(s->db)) /* sqlite rolled it back */
			s->in_txn = false;
		return err ? err->code : LB_ERR_STORE;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return 0;
}

static int exec_simple(struct store *s, enum stmt_id id, const char *what, struct lb_error *err)
{
	sqlite3_stmt *st = stmt_get(s, id, err);

	if (!st)
		return err ? err->code : LB_ERR_STORE;
	return stmt_done(s, st, what, err);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_real(sqlite3_stmt *st, int i, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* 0 means unknown for the clock fields of a record. */
static void bind_ns(sqlite3_stmt *st, int i, uint64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, (sqlite3_int64)v);
	else
		sqlite3_bind_null(st, i);
}

static void bind_nonneg(sqlite3_stmt *st, int i, int64_t v)
{
	if (v >= 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int batch_begin(struct store *s, struct lb_error *err)
{
	int rc;

	if (s->readonly)
		return readonly_error(s, err);
	if (s->in_txn)
		return 0;
	rc = exec_simple(s, ST_BEGIN, "begin a transaction in", err);
	if (rc)
		return rc;
	s->in_txn = true;
	s->pending = 0;
	s->txn_start_ns = lb_now_ns();
	return 0;
}

int store_flush(struct store *s, struct lb_error *err)
{
	int rc;

	if (!s->in_txn)
		return 0;
	rc = exec_simple(s, ST_COMMIT, "commit to", err);
	if (rc) {
		if (sqlite3_get_autocommit(s->db))
			s->in_txn = false;
		return rc;
	}
	s->in_txn = false;
	s->pending = 0;
	return 0;
}

static bool batch_due(const struct store *s)
{
	return s->in_txn && (s->pending >= s->max_rows ||
			     lb_now_ns() - s->txn_start_ns >= (uint64_t)s->max_ms * 1000000u);
}

/* Count a written row; commit when the batch is full or old. */
static int batch_row_done(struct store *s, struct lb_error *err)
{
	s->pending++;
	return batch_due(s) ? store_flush(s, err) : 0;
}

int store_tick(struct store *s, struct lb_error *err)
{
	return batch_due(s) ? store_flush(s, err) : 0;
}

void store_set_commit_policy(struct store *s, unsigned max_rows, unsigned max_ms)
{
	s->max_rows = max_rows;
	s->max_ms = max_ms;
}

static int pragma(struct store *s, const char *sql, struct lb_error *err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, err, "open");
	return 0;
}

struct count_ctx {
	long n;
	char version[32];
	bool have_version;
};

static int on_count(void *ctx, const struct store_row *row)
{
	((struct count_ctx *)ctx)->n = row->text[0] ? strtol(row->text[0], NULL, 10) : 0;
	return 0;
}

static int on_version(void *ctx, const struct store_row *row)
{
	struct count_ctx *c = ctx;

	c->have_version = row->text[0] != NULL;
	snprintf(c->version, sizeof(c->version), "%s", row->text[0] ? row->text[0] : "");
	return 0;
}

/* Create the schema in a new database, or check the version of an existing one. */
static int schema_check(struct store *s, struct lb_error *err)
{
	struct count_ctx tables = { 0 }, meta = { 0 }, ver = { 0 };
	char *end;
	long v;
	int rc;

	if (!s->readonly) {
		rc = batch_begin(s, err);
		if (rc)
			return rc;
	}
	rc = store_query(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", NULL, 0,
			 on_count, &tables, err);
	if (!rc)
		rc = store_query(s,
				 "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				 " AND name = 'meta'",
				 NULL, 0, on_count, &meta, err);
	if (rc)
		goto out;
	if (!tables.n) {
		if (s->readonly) {
			rc = lb_error_set(err, LB_ERR_USAGE,
					  "cannot open '%s': not an llmbench store (no tables)",
					  s->path);
			goto out;
		}
		if (sqlite3_exec(s->db, lb_schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = db_error(s, err, "create the schema in");
			goto out;
		}
	} else if (!meta.n) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "cannot open '%s': not an llmbench store (no meta table)",
				  s->path);
		goto out;
	}
	rc = store_query(s, "SELECT value FROM meta WHERE key = 'schema_version'", NULL, 0,
			 on_version, &ver, err);
	if (rc)
		goto out;
	errno = 0;
	v = strtol(ver.version, &end, 10);
	if (!ver.have_version || !ver.version[0] || *end || errno || v < 1) {
		rc = lb_error_set(
			err, LB_ERR_USAGE,
			"cannot open '%s': unknown schema version '%s' (this llmbench reads %d)",
			s->path, ver.version, STORE_SCHEMA_VERSION);
	} else if (v > STORE_SCHEMA_VERSION) {
		rc = lb_error_set(
			err, LB_ERR_USAGE,
			"cannot open '%s': schema version %ld is newer than this llmbench "
			"supports (%d); upgrade llmbench",
			s->path, v, STORE_SCHEMA_VERSION);
	} else if (v < STORE_SCHEMA_VERSION) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "cannot open '%s': schema version %ld has no migration to %d",
				  s->path, v, STORE_SCHEMA_VERSION);
	} else if (!s->readonly) {
		/* additive columns of the same schema version, for stores made before them */
		struct count_ctx pid = { 0 };

		rc = store_query(
			s, "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'pid'",
			NULL, 0, on_count, &pid, err);
		if (!rc && !pid.n &&
		    sqlite3_exec(s->db, "ALTER TABLE runs ADD COLUMN pid INTEGER", NULL, NULL,
				 NULL))
			rc = db_error(s, err, "add runs.pid to");
		/* a store of this version made before a table was added gets it (the schema is
		 * idempotent: IF NOT EXISTS, OR IGNORE) */
		if (!rc && tables.n &&
		    sqlite3_exec(s->db, lb_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
			rc = db_error(s, err, "complete the schema in");
	}
out:
	if (!s->readonly) {
		if (rc) {
			if (s->in_txn)
				exec_simple(s, ST_ROLLBACK, "roll back", NULL);
			s->in_txn = false;
		} else {
			rc = store_flush(s, err);
		}
	}
	return rc;
}

int store_open(struct store **out, const char *path, bool readonly, struct lb_error *err)
{
	struct store *s;
	struct stat sb;
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int rc;

	*out = NULL;
	if (readonly && stat(path, &sb)) {
		int e = errno;

		return lb_error_set(err, e == ENOENT ? LB_ERR_USAGE : LB_ERR_IO,
				    "cannot open '%s': %s", path,
				    e == ENOENT ? "no such file" : strerror(e));
	}
	s = lb_calloc(1, sizeof(*s));
	if (!s)
		return lb_error_set(err, LB_ERR_NOMEM, "cannot open '%s': out of memory", path);
	s->path = lb_strdup(path);
	if (!s->path) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "cannot open '%s': out of memory", path);
		goto fail;
	}
	s->readonly = readonly;
	s->max_rows = 256;
	s->max_ms = 200;
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (!s->db) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "cannot open '%s': out of memory",
					  path);
			goto fail;
		}
		rc = db_error(s, err, "open");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if (sqlite3_busy_timeout(s->db, STORE_BUSY_MS) != SQLITE_OK) {
		rc = db_error(s, err, "open");
		goto fail;
	}
	rc = pragma(s, "PRAGMA foreign_keys = ON", err);
	if (!rc) /* reads the header: "file is not a database" shows here */
		rc = pragma(s, "SELECT count(*) FROM sqlite_master", err);
	if (!rc && !readonly)
		rc = pragma(s, "PRAGMA journal_mode = WAL", err);
	if (!rc && !readonly)
		rc = pragma(s, "PRAGMA synchronous = NORMAL", err);
	if (!rc)
		rc = schema_check(s, err);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	/* a file cut short or damaged, found at open: the path given is wrong, as a file that
	 * is no store (exit 2); found later, in a run, it stays a runtime failure */
	if (rc == LB_ERR_STORE && s->db &&
	    (sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_CORRUPT && err) {
		size_t n = strlen(err->msg);

		err->code = LB_ERR_USAGE;
		snprintf(err->msg + n, sizeof(err->msg) - n, " (truncated or corrupt?)");
	}
	store_close(s);
	return rc == LB_ERR_STORE && err && err->code == LB_ERR_USAGE ? LB_ERR_USAGE : rc;
}

void store_close(struct store *s)
{
	int i;

	if (!s)
		return;
	if (s->db) {
		if (s->in_txn && store_flush(s, NULL) && s->in_txn) {
			exec_simple(s, ST_ROLLBACK, "roll back", NULL);
			s->in_txn = false;
		}
		for (i = 0; i < ST_COUNT; i++)
			sqlite3_finalize(s->stmt[i]);
		/* Leave a rollback-journal file behind (WAL is for the writer while it runs), so
		 * that read-only verbs open it without creating -wal/-shm files; when another
		 * connection is open this fails and the store stays in WAL mode. */
		if (!s->readonly)
			sqlite3_exec(s->db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
		sqlite3_close_v2(s->db);
	}
	while (s->names) {
		struct store_name *n = s->names;

		s->names = n->next;
		lb_free(n);
	}
	lb_free(s->path);
	lb_free(s);
}

/* "2026-01-02T03:04:05.678Z": milliseconds, so that short runs have a real duration. */
static void now_iso(char *buf, unsigned len)
{
	uint64_t ns = lb_wall_ns();
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;
	char sec[32];

	gmtime_r(&t, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", sec, (unsigned)(ns / 1000000u % 1000u));
}

/* Insert the run row under name; 1 when the name is taken, 0 done, <0 error. */
static int run_insert(struct store *s, const struct store_run *r, const char *name,
		      const char *started, struct lb_error *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_RUN_INSERT, err);
	int rc;

	if (!st)
		return err ? err->code : LB_ERR_STORE;
	bind_text(st, 1, name);
	bind_text(st, 2, r->workload_name);
	bind_text(st, 3, r->workload_path);
	bind_text(st, 4, r->workload_json);
	bind_text(st, 5, started);
	bind_text(st, 6, r->host);
	bind_text(st, 7, r->version);
	bind_text(st, 8, r->machine_json);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)getpid());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE)
		return 1;
	db_error(s, err, "insert a run into");
	if (s->in_txn && sqlite3_get_autocommit(s->db))
		s->in_txn = false;
	return err ? err->code : LB_ERR_STORE;
}

static const char *keep_name(struct store *s, const char *name)
{
	size_t len = strlen(name);
	struct store_name *n = lb_malloc(sizeof(*n) + len + 1);

	if (!n)
		return NULL;
	memcpy(n->name, name, len + 1);
	n->next = s->names;
	s->names = n;
	return n->name;
}

int store_run_begin(struct store *s, const struct store_run *r, int64_t *run_id,
		    const char **name_out, struct lb_error *err)
{
	char started[64], base[512], name[600];
	int rc, i;

	*run_id = 0;
	if (name_out)
		*name_out = NULL;
	if (r->name && !r->name[0])
		return lb_error_set(err, LB_ERR_USAGE, "a run name cannot be empty");
	rc = batch_begin(s, err);
	if (rc)
		return rc;
	now_iso(started, sizeof(started));
	if (r->name) {
		snprintf(name, sizeof(name), "%s", r->name);
		rc = run_insert(s, r, r->name, started, err);
		if (rc == 1)
			rc = lb_error_set(err, LB_ERR_USAGE, "run '%s' already exists in '%s'",
					  r->name, s->path);
	} else {
		time_t t = (time_t)(lb_wall_ns() / 1000000000u);
		struct tm tm;
		char stamp[32];

		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		snprintf(base, sizeof(base), "%.400s-%s",
			 r->workload_name && r->workload_name[0] ? r->workload_name : "run", stamp);
		rc = 1;
		for (i = 1; rc == 1 && i <= STORE_MAX_NAME_TRIES; i++) {
			if (i == 1)
				snprintf(name, sizeof(name), "%s", base);
			else
				snprintf(name, sizeof(name), "%s-%d", base, i);
			rc = run_insert(s, r, name, started, err);
		}
		if (rc == 1)
			rc = lb_error_set(err, LB_ERR_USAGE,
					  "cannot name the run: '%s' to '%s-%d' exist in '%s'",
					  base, base, STORE_MAX_NAME_TRIES, s->path);
	}
	if (rc)
		return rc;
	*run_id = sqlite3_last_insert_rowid(s->db);
	rc = store_flush(s, err);
	if (rc)
		return rc;
	if (name_out) {
		*name_out = keep_name(s, r->name ? r->name : name);
		if (!*name_out)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	return 0;
}

static bool run_status_ok(const char *status)
{
	return status && (!strcmp(status, "done") || !strcmp(status, "interrupted") ||
			  !strcmp(status, "failed") || !strcmp(status, "running"));
}

int store_run_end(struct store *s, int64_t run_id, const char *status, const char *note,
		  struct lb_error *err)
{
	char ended[64];
	sqlite3_stmt *st;
	int rc;

	if (!run_status_ok(status))
		LB_BUG("bad run status '%s'", status ? status : "(null)");
	rc = batch_begin(s, err);
	if (rc)
		return rc;
	st = stmt_get(s, ST_RUN_END, err);
	if (!st)
		return err ? err->code : LB_ERR_STORE;
	now_iso(ended, sizeof(ended));
	bind_text(st, 1, status);
	bind_text(st, 2, ended);
	bind_text(st, 3, note);
	sqlite3_bind_int64(st, 4, run_id);
	rc = stmt_done(s, st, "end a run in", err);
	if (rc)
		return rc;
	return store_flush(s, err);
}

int store_has_runs(struct store *s, bool *yes, struct lb_error *err)
{
	struct count_ctx c = { 0 };
	int rc = store_query(s, "SELECT EXISTS (SELECT 1 FROM runs)", NULL, 0, on_count, &c, err);

	*yes = rc || c.n != 0; /* unknown counts as yes: nothing is removed on a doubt */
	return rc;
}

int store_run_find(struct store *s, const char *name, int64_t *run_id, struct lb_error *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_RUN_FIND, err);
	int rc;

	*run_id = 0;
	if (!st)
		return err ? err->code : LB_ERR_STORE;
	bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*run_id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		db_error(s, err, "read runs from");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return err ? err->code : LB_ERR_STORE;
	if (rc == SQLITE_DONE)
		return lb_error_set(err, LB_ERR_USAGE, "no run '%s' in '%s'", name, s->path);
	return 0;
}

int store_backend_add(struct store *s, int64_t run_id, const struct store_backend *b,
		      int64_t *backend_id, struct lb_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*backend_id = 0;
	rc = batch_begin(s, err);
	if (rc)
		return rc;
	st = stmt_get(s, ST_BACKEND_INSERT, err);
	if (!st)
		return err ? err->code : LB_ERR_STORE;
	sqlite3_bind_int64(st, 1, run_id);
	bind_text(st, 2, b->name ? b->name : "");
	bind_text(st, 3, b->type);
	bind_text(st, 4, b->model);
	bind_text(st, 5, b->family);
	bind_text(st, 6, b->quant);
	bind_text(st, 7, b->config_json);
	rc = stmt_done(s, st, "insert a backend into", err);
	if (rc)
		return rc;
	*backend_id = sqlite3_last_insert_rowid(s->db);
	return store_flush(s, err);
}

int store_level_begin(struct store *s, int64_t run_id, int64_t backend_id,
		      const struct store_level *lv, int64_t *level_id, struct lb_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*level_id = 0;
	rc = batch_begin(s, err);
	if (rc)
		return rc;
	st = stmt_get(s, ST_LEVEL_INSERT, err);
	if (!st)
		return err ? err->code : LB_ERR_STORE;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, backend_id);
	sqlite3_bind_int(st, 3, lv->idx);
	sqlite3_bind_int(st, 4, lv->rep);
	bind_text(st, 5, lv->mode);
	bind_real(st, 6, lv->value);
	rc = stmt_done(s, st, "insert a level into", err);
	if (rc)
		return rc;
	*level_id = sqlite3_last_insert_rowid(s->db);
	return store_flush(s, err);
}

int store_level_end(struct store *s, int64_t level_id, const char *status, bool valid,
		    const char *invalid_reason, struct lb_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!run_status_ok(status))
		LB_BUG("bad level status '%s'", status ? status : "(null)");
	rc = batch_begin(s, err);
	if (rc)
		return rc;
	st = stmt_get(s, ST_LEVEL_END, err);
	if (!st)
		return err ? err->code : LB_ERR_STORE;
	bind_text(st, 1, status);
	sqlite3_bind_int(st, 2, valid ? 1 : 0);
	bind_text(st, 3, valid ? NULL : invalid_reason);
	sqlite3_bind_int64(st, 4, level_id);
	rc = stmt_done(s, st, "end a level in", err);
	if (rc)
		return rc;
	return store_flush(s, err);
}

/* The request's status: "ok", its failure category, or "cancelled" if it never finished. */
static const char *request_status(const struct lb_reqrec *r, char *buf, size_t len)
{
	if (reqrec_ok(r))
		return "ok";
	if (r->fail == LB_FAIL_NONE)
		return "cancelled";
	return lb_fail_name(r->fail, r->http_status, buf, len);
}

int store_request_add(struct store *s, int64_t run_id, const struct lb_reqrec *r,
		      struct lb_error *err)
{
	uint8_t *times = NULL, *counts = NULL;
	size_t times_len = 0, counts_len = 0;
	char status[32];
	sqlite3_stmt *st;
	int rc;

	rc = batch_begin(s, err);
	if (rc)
		return rc;
	st = stmt_get(s, ST_REQUEST_INSERT, err);
	if (!st)
		return err ? err->code : LB_ERR_STORE;
	if (r->n_chunks && (reqrec_encode_chunks(r, &times, &times_len) ||
			    reqrec_encode_counts(r, &counts, &counts_len))) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "cannot store request %llu: out of memory",
				  (unsigned long long)r->id);
		goto out;
	}
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, r->backend_id);
	sqlite3_bind_int64(st, 3, r->level_id);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->id);
	sqlite3_bind_int64(st, 5, r->seq);
	sqlite3_bind_int64(st, 6, r->item_idx);
	sqlite3_bind_int(st, 7, r->warmup ? 1 : 0);
	bind_text(st, 8, request_status(r, status, sizeof(status)));
	if (r->http_status > 0)
		sqlite3_bind_int(st, 9, r->http_status);
	bind_text(st, 10, r->err_msg[0] ? r->err_msg : NULL);
	bind_text(st, 11, r->finish_reason[0] ? r->finish_reason : NULL);
	bind_ns(st, 12, r->t_scheduled_ns);
	bind_ns(st, 13, r->t_send_ns);
	bind_ns(st, 14, r->t_first_ns);
	bind_ns(st, 15, r->t_end_ns);
	bind_real(st, 16, reqrec_ttft_ms(r));
	bind_real(st, 17, reqrec_tpot_ms(r));
	bind_real(st, 18, reqrec_e2e_ms(r));
	bind_real(st, 19, reqrec_lag_ms(r));
	bind_nonneg(st, 20, r->n_in);
	bind_text(st, 21, r->n_in_src);
	bind_nonneg(st, 22, r->n_out);
	bind_text(st, 23, r->n_out_src);
	sqlite3_bind_int64(st, 24, r->n_chunks);
	if (times)
		sqlite3_bind_blob(st, 25, times, (int)times_len, SQLITE_STATIC);
	if (counts)
		sqlite3_bind_blob(st, 26, counts, (int)counts_len, SQLITE_STATIC);
	bind_real(st, 27, r->server_prompt_ms >= 0 ? r->server_prompt_ms : NAN);
	bind_real(st, 28, r->server_predicted_ms >= 0 ? r->server_predicted_ms : NAN);
	if (r->keep_text)
		sqlite3_bind_text(st, 29, r->text.buf, (int)r->text.len, SQLITE_STATIC);
	rc = stmt_done(s, st, "insert a request into", err);
	if (!rc)
		rc = batch_row_done(s, err);
out:
	lb_free(times);
	lb_free(counts);
	return rc;
}

int store_summary_put(struct store *s, const struct store_summary *sm, struct lb_error *err)
{
	bool has = sm->has_value && isfinite(sm->value);
	char note[512];
	const char *nt = sm->note;
	sqlite3_stmt *st;
	int rc;

	if (!has) {
		if (!nt || !nt[0])
			nt = sm->has_value ? "unavailable: not a finite number" : "unavailable";
		else if (strncmp(nt, "unavailable", 11)) {
			snprintf(note, sizeof(note), "unavailable: %s", nt);
			nt = note;
		}
	}
	rc = batch_begin(s, err);
	if (rc)
		return rc;
	st = stmt_get(s, ST_SUMMARY_PUT, err);
	if (!st)
		return err ? err->code : LB_ERR_STORE;
	sqlite3_bind_int64(st, 1, sm->run_id);
	sqlite3_bind_int64(st, 2, sm->backend_id);
	sqlite3_bind_int64(st, 3, sm->level_id);
	bind_text(st, 4, sm->metric);
	if (has)
		sqlite3_bind_double(st, 5, sm->value);
	bind_real(st, 6, sm->n >= 0 ? sm->n : NAN);
	bind_text(st, 7, sm->unit);
	bind_text(st, 8, sm->provenance);
	bind_text(st, 9, nt);
	rc = stmt_done(s, st, "store a summary in", err);
	if (!rc)
		rc = batch_row_done(s, err);
	return rc;
}

int store_series_add(struct store *s, int64_t run_id, int64_t backend_id, int64_t level_id,
		     const char *series, uint64_t t_ns, double value, struct lb_error *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = batch_begin(s, err);
	if (rc)
		return rc;
	st = stmt_get(s, ST_SERIES_INSERT, err);
	if (!st)
		return err ? err->code : LB_ERR_STORE;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, backend_id);
	sqlite3_bind_int64(st, 3, level_id);
	bind_text(st, 4, series);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)t_ns);
	bind_real(st, 6, value);
	rc = stmt_done(s, st, "store a series point in", err);
	if (!rc)
		rc = batch_row_done(s, err);
	return rc;
}

/* Prepare sql (one statement) and bind params as text. */
static int prepare_bound(struct store *s, const char *sql, const char *const *params,
			 size_t n_params, sqlite3_stmt **out, struct lb_error *err)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	size_t i;

	*out = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, &tail) != SQLITE_OK)
		return db_error(s, err, "prepare a query on");
	if (!st)
		return lb_error_set(err, LB_ERR_STORE, "cannot query '%s': empty statement",
				    s->path);
	while (tail &&
	       (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';'))
		tail++;
	if (tail && *tail) {
		sqlite3_finalize(st);
		return lb_error_set(err, LB_ERR_STORE, "cannot query '%s': more than one statement",
				    s->path);
	}
	if ((size_t)sqlite3_bind_parameter_count(st) != n_params) {
		int want = sqlite3_bind_parameter_count(st);

		sqlite3_finalize(st);
		return lb_error_set(err, LB_ERR_STORE,
				    "cannot query '%s': %zu parameters given, the statement has %d",
				    s->path, n_params, want);
	}
	for (i = 0; i < n_params; i++)
		bind_text(st, (int)i + 1, params[i]);
	*out = st;
	return 0;
}

int store_query(struct store *s, const char *sql, const char *const *params, size_t n_params,
		store_row_fn *fn, void *ctx, struct lb_error *err)
{
	sqlite3_stmt *st = NULL;
	const char **names = NULL, **text = NULL;
	const void **blob = NULL;
	int *types = NULL, *blob_len = NULL;
	double *num = NULL;
	struct store_row row = { 0 };
	int n, i, step, rc;

	rc = prepare_bound(s, sql, params, n_params, &st, err);
	if (rc)
		return rc;
	n = sqlite3_column_count(st);
	if (n > 0) {
		names = lb_calloc((size_t)n, sizeof(*names));
		text = lb_calloc((size_t)n, sizeof(*text));
		blob = lb_calloc((size_t)n, sizeof(*blob));
		types = lb_calloc((size_t)n, sizeof(*types));
		blob_len = lb_calloc((size_t)n, sizeof(*blob_len));
		num = lb_calloc((size_t)n, sizeof(*num));
		if (!names || !text || !blob || !types || !blob_len || !num) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "cannot query '%s': out of memory",
					  s->path);
			goto out;
		}
	}
	for (i = 0; i < n; i++)
		names[i] = sqlite3_column_name(st, i);
	row.n_cols = n;
	row.names = names;
	row.types = types;
	row.text = text;
	row.num = num;
	row.blob = blob;
	row.blob_len = blob_len;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < n; i++) {
			const char *t;
			char *end;

			blob[i] = NULL;
			blob_len[i] = 0;
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				types[i] = STORE_INT;
				num[i] = (double)sqlite3_column_int64(st, i);
				text[i] = (const char *)sqlite3_column_text(st, i);
				break;
			case SQLITE_FLOAT:
				types[i] = STORE_REAL;
				num[i] = sqlite3_column_double(st, i);
				text[i] = (const char *)sqlite3_column_text(st, i);
				break;
			case SQLITE_TEXT:
				types[i] = STORE_TEXT;
				t = (const char *)sqlite3_column_text(st, i);
				text[i] = t ? t : "";
				num[i] = NAN;
				if (t && *t) {
					double v = strtod(t, &end);

					if (!*end)
						num[i] = v;
				}
				break;
			case SQLITE_BLOB:
				types[i] = STORE_BLOB;
				blob[i] = sqlite3_column_blob(st, i);
				blob_len[i] = sqlite3_column_bytes(st, i);
				text[i] = "";
				num[i] = NAN;
				break;
			default:
				types[i] = STORE_NULL;
				text[i] = NULL;
				num[i] = NAN;
				break;
			}
			if (!text[i] && types[i] != STORE_NULL) { /* out of memory converting */
				rc = lb_error_set(err, LB_ERR_NOMEM,
						  "cannot query '%s': out of memory", s->path);
				goto out;
			}
		}
		if (fn && fn(ctx, &row))
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = db_error(s, err, "query");
out:
	sqlite3_finalize(st);
	if (s->in_txn && sqlite3_get_autocommit(s->db))
		s->in_txn = false;
	lb_free(names);
	lb_free(text);
	lb_free(blob);
	lb_free(types);
	lb_free(blob_len);
	lb_free(num);
	return rc;
}

int store_exec(struct store *s, const char *sql, const char *const *params, size_t n_params,
	       struct lb_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	rc = batch_begin(s, err);
	if (rc)
		return rc;
	rc = prepare_bound(s, sql, params, n_params, &st, err);
	if (rc)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (step != SQLITE_DONE)
		rc = db_error(s, err, "write to");
	sqlite3_finalize(st);
	if (rc) {
		if (s->in_txn && sqlite3_get_autocommit(s->db))
			s->in_txn = false;
		return rc;
	}
	return batch_row_done(s, err);
}

/* For the other metrics/store_*.c files only (store_int.h). */
sqlite3 *store_db(struct store *s)
{
	return s->db;
}

int store_begin(struct store *s, struct lb_error *err)
{
	return batch_begin(s, err);
}
