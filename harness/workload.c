/* workload.c: a workload file (JSON) parsed, overridden (--set), validated and expanded into
 * backends (the model matrix) and load levels. See docs/workload.md for the format.
 *
 * Every error names the file and the field path ("backends[0].base_url") and says what is
 * expected. The strings a workload hands out live in one pool (wl->priv) freed at release.
 * This file: the pool, messages and typed getters, paths, the top level and the entry points;
 * the sections are in workload_backends.c, workload_load.c and workload_set.c (--set). */
#include "workload.h"
#include "workload_int.h"

#include "../backends/redact.h"
#include "../datasets/dataset.h"
#include "runner_prom.h"
#include "../base/alloc.h"
#include "../base/jsoncfg.h"
#include "../base/strbuf.h"
#include "../base/suggest.h"
#include "share.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const top_keys[] = {
	"name", "description", "backends", "models", "dataset",    "generation",     "load",
	"slo",  "power",       "eval",     "gate",   "perplexity", "server_metrics", NULL,
};

/* ---- the string pool -------------------------------------------------------------------- */

char *wl_pool_take(struct wl_ctx *c, char *p)
{
	struct wl_pool *pl = c->pool;

	if (!p)
		goto nomem;
	if (pl->n == pl->alloc) {
		size_t n = pl->alloc ? pl->alloc * 2 : 32;
		char **v = lb_realloc(pl->v, n * sizeof(*v));

		if (!v) {
			lb_free(p);
			goto nomem;
		}
		pl->v = v;
		pl->alloc = n;
	}
	pl->v[pl->n++] = p;
	return p;
nomem:
	lb_error_set(c->err, LB_ERR_NOMEM, "out of memory reading workload '%s'", c->file);
	return NULL;
}

char *wl_pool_strdup(struct wl_ctx *c, const char *s)
{
	return wl_pool_take(c, lb_strdup(s));
}

char *wl_pool_printf(struct wl_ctx *c, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (rc) {
		strbuf_release(&sb);
		return wl_pool_take(c, NULL);
	}
	return wl_pool_take(c, strbuf_detach(&sb, NULL));
}

/* cJSON's own allocation copied into the pool (cJSON may not use lb_malloc). */
static char *pool_json(struct wl_ctx *c, const cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);
	char *p;

	if (!s)
		return wl_pool_take(c, NULL);
	p = lb_strdup(s);
	cJSON_free(s);
	return wl_pool_take(c, p);
}

/* The stored copy of the workload hides secrets (docs/reliability.md): credentials and key-like
 * query parameters of every backend's base_url, and the values of secret-bearing headers, as
 * backends/redact.h decides. The run itself uses the unredacted values. */
static int redact_backends(cJSON *root)
{
	cJSON *b, *h, *bs = cJSON_GetObjectItemCaseSensitive(root, "backends");
	struct strbuf line = STRBUF_INIT;
	char *out = NULL;
	int rc = 0;

	cJSON_ArrayForEach(b, bs)
	{
		cJSON *u = cJSON_GetObjectItemCaseSensitive(b, "base_url");

		if (cJSON_IsString(u)) {
			size_t n = 2 * strlen(u->valuestring) + 16;

			lb_free(out);
			out = lb_malloc(n);
			if (!out ||
			    (redact_url(u->valuestring, out, n), !cJSON_SetValuestring(u, out)))
				goto oom;
		}
		cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(b, "headers"))
		{
			const char *v;

			if (!cJSON_IsString(h) || !h->string)
				continue;
			strbuf_reset(&line);
			if (strbuf_addf(&line, "%s: %s", h->string, h->valuestring))
				goto oom;
			lb_free(out);
			out = lb_malloc(line.len + 16);
			if (!out)
				goto oom;
			redact_header(line.buf, out, line.len + 16);
			v = strchr(out, ':');
			v = v ? v + 1 + (v[1] == ' ') : "***";
			if (strcmp(v, h->valuestring) && !cJSON_SetValuestring(h, v))
				goto oom;
		}
	}
	goto out;
oom:
	rc = LB_ERR_NOMEM;
out:
	lb_free(out);
	strbuf_release(&line);
	return rc;
}

static void pool_release(struct wl_pool *pl)
{
	size_t i;

	if (!pl)
		return;
	for (i = 0; i < pl->n; i++)
		lb_free(pl->v[i]);
	lb_free(pl->v);
	lb_free(pl);
}

/* ---- messages and typed getters: base/jsoncfg.h, with the workload's file named ---------- */

static struct jsoncfg cfg_of(struct wl_ctx *c)
{
	return (struct jsoncfg){ .file = c->file, .err = c->err };
}

/* "load" + "requests" -> "load.requests"; "" + "name" -> "name" */
void wl_field(char *buf, const char *parent, const char *key)
{
	jsoncfg_path(buf, parent, key);
}

int wl_fail(struct wl_ctx *c, const char *fmt, ...)
{
	struct jsoncfg jc = cfg_of(c);
	char msg[LB_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return jsoncfg_fail(&jc, "%s", msg);
}

int wl_expected(struct wl_ctx *c, const char *path, const char *what, const cJSON *got)
{
	struct jsoncfg jc = cfg_of(c);

	return jsoncfg_expected(&jc, path, what, got);
}

/* Unknown or duplicate keys in obj (at path, "" for the top level). */
int wl_check_keys(struct wl_ctx *c, const cJSON *obj, const char *path, const char *const *valid)
{
	struct jsoncfg jc = cfg_of(c);

	return jsoncfg_check_keys(&jc, obj, path, valid);
}

int wl_object_at(struct wl_ctx *c, const cJSON *v, const char *path)
{
	if (!cJSON_IsObject(v))
		return wl_expected(c, path, "an object", v);
	return 0;
}

/* A string, or NULL when absent; empty strings are refused. */
int wl_get_string(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
		  bool required, const char **out)
{
	struct jsoncfg jc = cfg_of(c);
	const char *s = NULL;
	int rc = jsoncfg_string(&jc, obj, parent, key, required, &s);

	if (rc || !s)
		return rc;
	*out = wl_pool_strdup(c, s);
	return *out ? 0 : LB_ERR_NOMEM;
}

int wl_get_enum(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
		const char *const *valid, const char **out)
{
	struct jsoncfg jc = cfg_of(c);

	return jsoncfg_enum(&jc, obj, parent, key, valid, out);
}

int wl_get_bool(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key, bool *out)
{
	struct jsoncfg jc = cfg_of(c);

	return jsoncfg_bool(&jc, obj, parent, key, out);
}

/* An integer in [min, max]; *present (may be NULL) says whether it was given. */
int wl_get_int(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key, double min,
	       double max, double *out, bool *present)
{
	struct jsoncfg jc = cfg_of(c);

	if (max > WL_MAX_INT)
		max = WL_MAX_INT;
	return jsoncfg_int(&jc, obj, parent, key, min, max, out, present);
}

int wl_get_long(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key, long min,
		long max, long *out)
{
	double d = 0;
	bool present;
	int rc = wl_get_int(c, obj, parent, key, (double)min, (double)max, &d, &present);

	if (!rc && present)
		*out = (long)d;
	return rc;
}

int wl_get_i(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key, int min,
	     int *out)
{
	double d = 0;
	bool present;
	int rc = wl_get_int(c, obj, parent, key, min, INT_MAX, &d, &present);

	if (!rc && present)
		*out = (int)d;
	return rc;
}

/* A finite number > 0 or >= 0, at most max. */
int wl_get_num(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
	       enum num_min min, double max, double *out, bool *present)
{
	struct jsoncfg jc = cfg_of(c);

	return jsoncfg_num(&jc, obj, parent, key, 0, min == NUM_POSITIVE, max, out, present);
}

/* ---- paths ------------------------------------------------------------------------------ */

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* The workload file's directory joined with rel, or NULL when that is the cwd. */
static char *beside_workload(struct wl_ctx *c, const char *rel)
{
	const char *slash = strrchr(c->file, '/');

	if (!slash)
		return NULL;
	return wl_pool_printf(c, "%.*s/%s", (int)(slash - c->file), c->file, rel);
}

/* Resolve a relative path: the cwd first, then the workload's directory, then the shipped files
 * (share/llmbench of an installed copy, lb_share_dir()). *found says whether the file exists;
 * when it exists in none, *out is the path as given and *tried the workload's directory. */
int wl_resolve_path(struct wl_ctx *c, const char *given, const char **out, const char **tried,
		    bool *found)
{
	char *alt;

	*out = given;
	*tried = NULL;
	*found = exists(given);
	if (*found || given[0] == '/')
		return 0;
	alt = beside_workload(c, given);
	if (c->err->code == LB_ERR_NOMEM)
		return LB_ERR_NOMEM;
	if (alt) {
		*tried = alt;
		if (exists(alt)) {
			*out = alt;
			*found = true;
			return 0;
		}
	}
	if (lb_share_dir()) {
		char *shared = wl_pool_printf(c, "%s/%s", lb_share_dir(), given);

		if (!shared)
			return LB_ERR_NOMEM;
		if (exists(shared)) {
			*out = shared;
			*found = true;
		}
	}
	return 0;
}

static int section_text(struct wl_ctx *c, const cJSON *root, const char *key, char **out)
{
	const cJSON *v = item(root, key);
	int rc;

	if (!v)
		return 0;
	rc = wl_object_at(c, v, key);
	if (rc)
		return rc;
	*out = pool_json(c, v);
	return *out ? 0 : LB_ERR_NOMEM;
}

static int parse_root(struct wl_ctx *c, const cJSON *root)
{
	struct workload *wl = c->wl;
	const char *s = NULL;
	int rc;

	if (!cJSON_IsObject(root))
		return wl_fail(c, "expected a JSON object at the top level, got %s", kind(root));
	if ((rc = wl_check_keys(c, root, "", top_keys)) ||
	    (rc = wl_get_string(c, root, "", "name", true, &s)))
		return rc;
	wl->name = (char *)s;
	if (!wl_printable(wl->name))
		return wl_fail(c, "name: the name holds a control character");
	s = NULL;
	if ((rc = wl_get_string(c, root, "", "description", false, &s)))
		return rc;
	wl->description = (char *)s;
	if ((rc = wl_parse_backends(c, root)) || (rc = wl_parse_dataset(c, root)) ||
	    (rc = wl_parse_generation(c, root)) || (rc = wl_parse_load(c, root)) ||
	    (rc = wl_parse_slo(c, root)) ||
	    (rc = section_text(c, root, "power", &wl->power_json)) ||
	    (rc = section_text(c, root, "eval", &wl->eval_json)) ||
	    (rc = section_text(c, root, "gate", &wl->gate_json)) ||
	    (rc = wl_parse_perplexity(c, root)))
		return rc;
	if (item(root, "server_metrics")) {
		struct runner_prom_cfg pc;
		struct lb_error perr = LB_ERROR_INIT;

		wl->server_metrics_json = pool_json(c, item(root, "server_metrics"));
		if (!wl->server_metrics_json)
			return LB_ERR_NOMEM;
		if (runner_prom_config(wl->server_metrics_json, &pc, &perr))
			return wl_fail(c, "%s", perr.msg);
	}
	return 0;
}

/* ---- entry points ----------------------------------------------------------------------- */

void workload_release(struct workload *wl)
{
	if (!wl)
		return;
	pool_release(wl->priv);
	lb_free(wl->backends);
	memset(wl, 0, sizeof(*wl));
}

int workload_parse(struct workload *wl, const char *text, size_t len, const char *path,
		   const char *const *sets, size_t n_sets, struct lb_error *err)
{
	struct lb_error local = LB_ERROR_INIT;
	struct wl_ctx c = { 0 };
	const char *end = NULL, *nul;
	char *buf = NULL;
	cJSON *root = NULL, *stored = NULL;
	long line, col;
	size_t i;
	int rc;

	memset(wl, 0, sizeof(*wl));
	if (!text)
		text = "";
	if (!err)
		err = &local;
	err->code = 0;
	err->msg[0] = 0;
	c.file = path ? path : "<workload>";
	c.wl = wl;
	c.err = err;
	c.pool = lb_calloc(1, sizeof(*c.pool));
	if (!c.pool)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory reading workload '%s'",
				    c.file);
	wl->priv = c.pool;
	if (len > WORKLOAD_MAX_BYTES) {
		rc = wl_fail(&c, "the workload is larger than the limit of %u bytes",
			     WORKLOAD_MAX_BYTES);
		goto out;
	}
	nul = memchr(text, 0, len);
	if (nul) {
		line_col(text, (size_t)(nul - text), &line, &col);
		rc = lb_error_set(err, LB_ERR_PARSE,
				  "'%s': malformed JSON at line %ld, column %ld: "
				  "a NUL byte",
				  c.file, line, col);
		goto out;
	}
	buf = lb_strndup(text, len);
	if (!buf) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory reading workload '%s'", c.file);
		goto out;
	}
	root = cJSON_ParseWithOpts(buf, &end, 1);
	if (!root) {
		size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;

		line_col(buf, off, &line, &col);
		rc = lb_error_set(err, LB_ERR_PARSE,
				  "'%s': malformed JSON at line %ld, column %ld%s", c.file, line,
				  col, off >= len ? " (unexpected end of the file)" : "");
		goto out;
	}
	for (i = 0; i < n_sets; i++) {
		rc = wl_apply_set(&c, root, sets[i]);
		if (rc)
			goto out;
	}
	wl->path = wl_pool_strdup(&c, c.file);
	stored = cJSON_Duplicate(root, 1);
	if (stored && !redact_backends(stored))
		wl->text = pool_json(&c, stored);
	cJSON_Delete(stored);
	if (!wl->path || !wl->text) {
		rc = LB_ERR_NOMEM;
		goto out;
	}
	c.file = wl->path;
	rc = parse_root(&c, root);
out:
	cJSON_Delete(root);
	lb_free(buf);
	lb_free(c.origin);
	if (rc) {
		if (!err->code)
			lb_error_set(err, rc, "out of memory reading workload '%s'",
				     path ? path : "<workload>");
		workload_release(wl);
	}
	return rc;
}

int workload_load(struct workload *wl, const char *path, const char *const *sets, size_t n_sets,
		  struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	FILE *f;
	int rc;

	memset(wl, 0, sizeof(*wl));
	f = fopen(path, "rb");
	if (!f)
		return lb_error_set(err, LB_ERR_USAGE, "cannot open workload '%s': %s", path,
				    strerror(errno));
	fclose(f);
	rc = strbuf_read_file(&sb, path, WORKLOAD_MAX_BYTES, err);
	if (rc == LB_ERR_LIMIT)
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "'%s': the workload is larger than the limit of "
				  "%u bytes",
				  path, WORKLOAD_MAX_BYTES);
	else if (rc == LB_ERR_IO) /* a directory, say: the user's to fix */
		rc = err->code = LB_ERR_USAGE;
	if (!rc)
		rc = workload_parse(wl, sb.buf, sb.len, path, sets, n_sets, err);
	strbuf_release(&sb);
	return rc;
}
