/* workload.c: a workload file (JSON) parsed, overridden (--set), validated and expanded into
 * backends (the model matrix) and load levels. See docs/workload.md for the format.
 *
 * Every error names the file and the field path ("backends[0].base_url") and says what is
 * expected. The strings a workload hands out live in one pool (wl->priv) freed at release. */
#include "workload.h"

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

#define WL_MAX_BACKENDS 1024
#define WL_MAX_LEVELS 1024
#define WL_MAX_CONCURRENCY 100000
#define WL_MAX_RATE 1e6
#define WL_MAX_INT 9007199254740992.0 /* 2^53: the largest integer a JSON number keeps exactly */
#define PATH_MAX_LEN 256

struct wl_pool {
	char **v;
	size_t n, alloc;
};

struct wl_ctx {
	const char *file; /* for messages */
	struct workload *wl;
	struct wl_pool *pool;
	struct lb_error *err;
	size_t alloc_backends;
	char (*origin)[96]; /* where each backend came from: "backends[2]", "models[0]" */
};

static const char *const top_keys[] = {
	"name", "description", "backends", "models", "dataset", "generation",
	"load", "slo", "power", "eval", "gate", "perplexity", "server_metrics", NULL,
};
static const char *const perplexity_keys[] = { "text", "ctx", "batch", "chunks", "kld", NULL };
static const char *const backend_keys[] = {
	"name", "type", "base_url", "model", "api", "api_key_env", "headers", "stream",
	"tls_verify", "connect_timeout_ms", "timeout_ms", "max_body_bytes", "max_connections",
	"model_path", "threads", "ctx", "batch", "parallel", "family", "quant", NULL,
};
static const char *const model_keys[] = {
	"family", "base", "quants", "name", "threads", "ctx", "batch", "parallel", NULL,
};
static const char *const dataset_keys[] = { "path", "format", "limit", "shuffle", "seed", "token_ids", NULL };
static const char *const gen_keys[] = {
	"max_tokens", "temperature", "top_p", "top_k", "seed", "ignore_eos", "stop", "logprobs",
	NULL,
};
static const char *const load_keys[] = {
	"mode", "levels", "requests", "warmup", "duration_s", "repeat",
	"arrival", "burstiness", "seed", "lag_bound_ms", "max_errors", "max_error_rate",
	"warmup_s", "cooldown", "max_inflight", "overflow", "ramp_up_s", "ramp", "stagger_ms",
	"sweep_points", "search", "cancel", NULL,
};
static const char *const cancel_keys[] = { "fraction", "after_ms", "after_tokens", NULL };
static const char *const search_keys[] = { "over", "start", "max", "steps", "target", NULL };
static const char *const overflow_list[] = { "queue", "drop", NULL };
static const char *const ramp_list[] = { "linear", "exponential", NULL };
static const char *const over_list[] = { "concurrency", "rate", NULL };
static const char *const slo_keys[] = { "ttft_ms", "tpot_ms", "e2e_ms", NULL };

static const char *const backend_types_list[] = { "openai", "llamacpp", NULL };
static const char *const api_list[] = { "completions", "chat", NULL };
static const char *const mode_list[] = { "concurrency", "rate", "sweep", "sla", "trace", NULL };
static const char *const arrival_list[] = { "constant", "poisson", "gamma", NULL };
static const char *const quant_list[] = {
	"f32", "f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q5_k_s",
	"q5_0", "q4_k_m", "q4_k_s", "q4_0", "q3_k_m", "q2_k", NULL,
};

/* ---- the string pool -------------------------------------------------------------------- */

static char *pool_take(struct wl_ctx *c, char *p)
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

static char *pool_strdup(struct wl_ctx *c, const char *s)
{
	return pool_take(c, lb_strdup(s));
}

static char *pool_printf(struct wl_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static char *pool_printf(struct wl_ctx *c, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (rc) {
		strbuf_release(&sb);
		return pool_take(c, NULL);
	}
	return pool_take(c, strbuf_detach(&sb, NULL));
}

/* cJSON's own allocation copied into the pool (cJSON may not use lb_malloc). */
static char *pool_json(struct wl_ctx *c, const cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);
	char *p;

	if (!s)
		return pool_take(c, NULL);
	p = lb_strdup(s);
	cJSON_free(s);
	return pool_take(c, p);
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

	cJSON_ArrayForEach(b, bs) {
		cJSON *u = cJSON_GetObjectItemCaseSensitive(b, "base_url");

		if (cJSON_IsString(u)) {
			size_t n = 2 * strlen(u->valuestring) + 16;

			lb_free(out);
			out = lb_malloc(n);
			if (!out || (redact_url(u->valuestring, out, n), !cJSON_SetValuestring(u, out)))
				goto oom;
		}
		cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(b, "headers")) {
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

#define kind jsoncfg_kind

static struct jsoncfg cfg_of(struct wl_ctx *c)
{
	return (struct jsoncfg){ .file = c->file, .err = c->err };
}

/* "load" + "requests" -> "load.requests"; "" + "name" -> "name" */
static void field(char *buf, const char *parent, const char *key)
{
	jsoncfg_path(buf, parent, key);
}

static int fail(struct wl_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct wl_ctx *c, const char *fmt, ...)
{
	struct jsoncfg jc = cfg_of(c);
	char msg[LB_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return jsoncfg_fail(&jc, "%s", msg);
}

static int expected(struct wl_ctx *c, const char *path, const char *what, const cJSON *got)
{
	struct jsoncfg jc = cfg_of(c);

	return jsoncfg_expected(&jc, path, what, got);
}

#define item jsoncfg_item
#define join_list jsoncfg_join

/* Unknown or duplicate keys in obj (at path, "" for the top level). */
static int check_keys(struct wl_ctx *c, const cJSON *obj, const char *path,
		      const char *const *valid)
{
	struct jsoncfg jc = cfg_of(c);

	return jsoncfg_check_keys(&jc, obj, path, valid);
}

static int object_at(struct wl_ctx *c, const cJSON *v, const char *path)
{
	if (!cJSON_IsObject(v))
		return expected(c, path, "an object", v);
	return 0;
}

/* A string, or NULL when absent; empty strings are refused. */
static int get_string(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
		      bool required, const char **out)
{
	struct jsoncfg jc = cfg_of(c);
	const char *s = NULL;
	int rc = jsoncfg_string(&jc, obj, parent, key, required, &s);

	if (rc || !s)
		return rc;
	*out = pool_strdup(c, s);
	return *out ? 0 : LB_ERR_NOMEM;
}

static int get_enum(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
		    const char *const *valid, const char **out)
{
	struct jsoncfg jc = cfg_of(c);

	return jsoncfg_enum(&jc, obj, parent, key, valid, out);
}

static int get_bool(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
		    bool *out)
{
	struct jsoncfg jc = cfg_of(c);

	return jsoncfg_bool(&jc, obj, parent, key, out);
}

/* An integer in [min, max]; *present (may be NULL) says whether it was given. */
static int get_int(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
		   double min, double max, double *out, bool *present)
{
	struct jsoncfg jc = cfg_of(c);

	if (max > WL_MAX_INT)
		max = WL_MAX_INT;
	return jsoncfg_int(&jc, obj, parent, key, min, max, out, present);
}

static int get_long(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
		    long min, long max, long *out)
{
	double d = 0;
	bool present;
	int rc = get_int(c, obj, parent, key, (double)min, (double)max, &d, &present);

	if (!rc && present)
		*out = (long)d;
	return rc;
}

static int get_i(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key, int min,
		 int *out)
{
	double d = 0;
	bool present;
	int rc = get_int(c, obj, parent, key, min, INT_MAX, &d, &present);

	if (!rc && present)
		*out = (int)d;
	return rc;
}

enum num_min { NUM_POSITIVE, NUM_NON_NEGATIVE };

/* A finite number > 0 or >= 0, at most max. */
static int get_num(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
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
	return pool_printf(c, "%.*s/%s", (int)(slash - c->file), c->file, rel);
}

/* Resolve a relative path: the cwd first, then the workload's directory, then the shipped files
 * (share/llmbench of an installed copy, lb_share_dir()). *found says whether the file exists;
 * when it exists in none, *out is the path as given and *tried the workload's directory. */
static int resolve_path(struct wl_ctx *c, const char *given, const char **out, const char **tried,
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
		char *shared = pool_printf(c, "%s/%s", lb_share_dir(), given);

		if (!shared)
			return LB_ERR_NOMEM;
		if (exists(shared)) {
			*out = shared;
			*found = true;
		}
	}
	return 0;
}

/* ---- backends --------------------------------------------------------------------------- */

static struct wl_backend *backend_new(struct wl_ctx *c, const char *origin)
{
	struct workload *wl = c->wl;

	if (wl->n_backends >= WL_MAX_BACKENDS) {
		fail(c, "%s: too many backends (the limit is %d)", origin, WL_MAX_BACKENDS);
		return NULL;
	}
	if (wl->n_backends == c->alloc_backends) {
		size_t n = c->alloc_backends ? c->alloc_backends * 2 : 8;
		struct wl_backend *v = lb_realloc(wl->backends, n * sizeof(*v));
		char(*o)[96];

		if (!v)
			goto nomem;
		wl->backends = v;
		o = lb_realloc(c->origin, n * sizeof(*o));
		if (!o)
			goto nomem;
		c->origin = o;
		c->alloc_backends = n;
	}
	snprintf(c->origin[wl->n_backends], sizeof(c->origin[0]), "%s", origin);
	memset(&wl->backends[wl->n_backends], 0, sizeof(wl->backends[0]));
	backend_config_defaults(&wl->backends[wl->n_backends].cfg);
	return &wl->backends[wl->n_backends++];
nomem:
	lb_error_set(c->err, LB_ERR_NOMEM, "out of memory reading workload '%s'", c->file);
	return NULL;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool env_name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static bool header_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?={}", *s))
			return false;
	return true;
}

static int parse_headers(struct wl_ctx *c, const cJSON *obj, const char *bpath,
			 struct backend_config *cfg)
{
	const cJSON *h = item(obj, "headers"), *e;
	char path[PATH_MAX_LEN], hpath[PATH_MAX_LEN * 2];

	if (!h)
		return 0;
	field(path, bpath, "headers");
	if (!cJSON_IsObject(h))
		return expected(c, path, "an object of header name -> string", h);
	cJSON_ArrayForEach(e, h) {
		char *line;

		snprintf(hpath, sizeof(hpath), "%s.%s", path, e->string);
		if (!header_name_ok(e->string))
			return fail(c, "%s: '%s' is not a valid HTTP header name", hpath,
				    e->string);
		if (!cJSON_IsString(e))
			return expected(c, hpath, "a string", e);
		if (!printable(e->valuestring))
			return fail(c, "%s: the value holds a control character (CR, LF, ...)",
				    hpath);
		if (cfg->n_headers >= BACKEND_MAX_HEADERS)
			return fail(c, "%s: more than %d headers", path, BACKEND_MAX_HEADERS);
		line = pool_printf(c, "%s: %s", e->string, e->valuestring);
		if (!line)
			return LB_ERR_NOMEM;
		cfg->headers[cfg->n_headers++] = line;
	}
	return 0;
}

static int parse_base_url(struct wl_ctx *c, const char *path, const char *url, const char **out)
{
	const char *host;
	char *s;
	size_t n;

	if (!strncmp(url, "http://", 7))
		host = url + 7;
	else if (!strncmp(url, "https://", 8))
		host = url + 8;
	else
		return fail(c, "%s: expected a URL starting with http:// or https://, got '%s'",
			    path, url);
	if (!*host || *host == '/')
		return fail(c, "%s: the URL '%s' has no host", path, url);
	if (!printable(url) || strchr(url, ' '))
		return fail(c, "%s: the URL holds a space or a control character", path);
	n = strlen(url);
	while (n > (size_t)(host - url) && url[n - 1] == '/')
		n--;
	s = pool_take(c, lb_strndup(url, n));
	if (!s)
		return LB_ERR_NOMEM;
	*out = s;
	return 0;
}

static int parse_backend(struct wl_ctx *c, const cJSON *b, int index)
{
	char bpath[48], path[PATH_MAX_LEN];
	struct backend_config *cfg;
	struct wl_backend *wb;
	const char *s = NULL;
	long l;
	int rc;

	snprintf(bpath, sizeof(bpath), "backends[%d]", index);
	rc = object_at(c, b, bpath);
	if (rc)
		return rc;
	if (cJSON_GetObjectItemCaseSensitive(b, "api_key"))
		return fail(c, "%s.api_key: a key does not belong in a workload file; put it in an "
			       "environment variable and name that variable with api_key_env "
			       "(e.g. \"api_key_env\": \"OPENAI_API_KEY\")",
			    bpath);
	rc = check_keys(c, b, bpath, backend_keys);
	if (rc)
		return rc;
	wb = backend_new(c, bpath);
	if (!wb)
		return c->err->code;
	cfg = &wb->cfg;
	if ((rc = get_string(c, b, bpath, "name", true, &cfg->name)) ||
	    (rc = get_string(c, b, bpath, "type", true, &s)))
		return rc;
	if (!printable(cfg->name))
		return fail(c, "%s.name: the name holds a control character", bpath);
	if ((rc = get_enum(c, b, bpath, "type", backend_types_list, &cfg->type)) ||
	    (rc = get_string(c, b, bpath, "model", false, &cfg->model)) ||
	    (rc = get_enum(c, b, bpath, "api", api_list, &cfg->api)) ||
	    (rc = get_string(c, b, bpath, "api_key_env", false, &cfg->api_key_env)) ||
	    (rc = parse_headers(c, b, bpath, cfg)) ||
	    (rc = get_bool(c, b, bpath, "stream", &cfg->stream)) ||
	    (rc = get_bool(c, b, bpath, "tls_verify", &cfg->tls_verify)) ||
	    (rc = get_long(c, b, bpath, "connect_timeout_ms", 1, LONG_MAX,
			   &cfg->connect_timeout_ms)) ||
	    (rc = get_long(c, b, bpath, "timeout_ms", 1, LONG_MAX, &cfg->timeout_ms)) ||
	    (rc = get_i(c, b, bpath, "max_connections", 0, &cfg->max_connections)) ||
	    (rc = get_i(c, b, bpath, "threads", 0, &cfg->threads)) ||
	    (rc = get_i(c, b, bpath, "ctx", 0, &cfg->n_ctx)) ||
	    (rc = get_i(c, b, bpath, "batch", 0, &cfg->n_batch)) ||
	    (rc = get_i(c, b, bpath, "parallel", 0, &cfg->n_parallel)) ||
	    (rc = get_string(c, b, bpath, "family", false, &cfg->family)) ||
	    (rc = get_string(c, b, bpath, "quant", false, &cfg->quant)))
		return rc;
	l = (long)cfg->max_body_bytes;
	rc = get_long(c, b, bpath, "max_body_bytes", 1024, LONG_MAX, &l);
	if (rc)
		return rc;
	cfg->max_body_bytes = (size_t)l;
	if (cfg->api_key_env && !env_name_ok(cfg->api_key_env))
		return fail(
			c,
			"%s.api_key_env: expected the name of an environment variable "
			"(letters, digits and _, not starting with a digit), not the key itself",
			bpath);
	s = NULL;
	rc = get_string(c, b, bpath, "base_url", false, &s);
	if (rc)
		return rc;
	field(path, bpath, "base_url");
	if (s) {
		rc = parse_base_url(c, path, s, &cfg->base_url);
		if (rc)
			return rc;
	}
	s = NULL;
	rc = get_string(c, b, bpath, "model_path", false, &s);
	if (rc)
		return rc;
	if (s) {
		const char *tried;
		bool found;

		rc = resolve_path(c, s, &cfg->model_path, &tried, &found);
		if (rc)
			return rc;
	}
	if (!strcmp(cfg->type, "openai") && !cfg->base_url)
		return fail(c, "%s.base_url is required for type openai (e.g. "
			       "\"http://127.0.0.1:8080/v1\")",
			    bpath);
	if (!strcmp(cfg->type, "llamacpp") && !cfg->model_path)
		return fail(c, "%s.model_path is required for type llamacpp (a GGUF file)", bpath);
	return 0;
}

static int parse_model(struct wl_ctx *c, const cJSON *m, int index)
{
	const char *family = NULL, *base = NULL, *prefix = NULL, *resolved, *tried;
	int threads = 0, n_ctx = 0, n_batch = 0, n_parallel = 0, qi, i;
	char mpath[48], qpath[PATH_MAX_LEN], list[256];
	const cJSON *quants, *q, *q2;
	bool found;
	int rc;

	snprintf(mpath, sizeof(mpath), "models[%d]", index);
	rc = object_at(c, m, mpath);
	if (rc)
		return rc;
	if ((rc = check_keys(c, m, mpath, model_keys)) ||
	    (rc = get_string(c, m, mpath, "family", true, &family)) ||
	    (rc = get_string(c, m, mpath, "base", true, &base)) ||
	    (rc = get_string(c, m, mpath, "name", false, &prefix)) ||
	    (rc = get_i(c, m, mpath, "threads", 0, &threads)) ||
	    (rc = get_i(c, m, mpath, "ctx", 0, &n_ctx)) ||
	    (rc = get_i(c, m, mpath, "batch", 0, &n_batch)) ||
	    (rc = get_i(c, m, mpath, "parallel", 0, &n_parallel)))
		return rc;
	rc = resolve_path(c, base, &resolved, &tried, &found);
	if (rc)
		return rc;
	quants = item(m, "quants");
	field(qpath, mpath, "quants");
	if (!quants)
		return fail(c, "%s is required (e.g. [\"f16\", \"q8_0\", \"q4_0\"])", qpath);
	if (!cJSON_IsArray(quants) || !cJSON_GetArraySize(quants))
		return expected(c, qpath, "a non-empty array of quantization names", quants);
	qi = 0;
	cJSON_ArrayForEach(q, quants) {
		struct wl_backend *wb;
		char origin[96];

		snprintf(qpath, sizeof(qpath), "%s.quants[%d]", mpath, qi);
		if (!cJSON_IsString(q))
			return expected(c, qpath, "a quantization name (a string)", q);
		for (i = 0; quant_list[i]; i++)
			if (!strcmp(q->valuestring, quant_list[i]))
				break;
		if (!quant_list[i]) {
			join_list(list, sizeof(list), quant_list);
			return fail(c, "%s: unknown quantization '%s' (valid: %s)", qpath,
				    q->valuestring, list);
		}
		for (q2 = quants->child; q2 != q; q2 = q2->next)
			if (!strcmp(q2->valuestring, q->valuestring))
				return fail(c, "%s: '%s' is listed twice", qpath, q->valuestring);
		snprintf(origin, sizeof(origin), "%s.quants[%d]", mpath, qi);
		wb = backend_new(c, origin);
		if (!wb)
			return c->err->code;
		wb->cfg.type = "llamacpp";
		wb->cfg.name = pool_printf(c, "%s-%s", prefix ? prefix : family, q->valuestring);
		wb->cfg.family = family;
		wb->cfg.quant = quant_list[i];
		wb->cfg.model = resolved;
		wb->cfg.model_path = NULL; /* the runner quantizes base_model into its cache */
		wb->cfg.threads = threads;
		wb->cfg.n_ctx = n_ctx;
		wb->cfg.n_batch = n_batch;
		wb->cfg.n_parallel = n_parallel;
		wb->base_model = (char *)resolved;
		if (!wb->cfg.name)
			return LB_ERR_NOMEM;
		qi++;
	}
	return 0;
}

static int parse_backends(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *bs = item(root, "backends"), *ms = item(root, "models"), *e;
	struct workload *wl = c->wl;
	size_t i, j;
	int rc, k;

	if (bs && !cJSON_IsArray(bs))
		return expected(c, "backends", "an array of backend objects", bs);
	if (ms && !cJSON_IsArray(ms))
		return expected(c, "models", "an array of model objects (family, base, quants)",
				ms);
	if (!bs && !ms)
		return fail(c,
			    "backends is required (an array of backend objects; or give 'models', "
			    "a model x quantization matrix)");
	k = 0;
	cJSON_ArrayForEach(e, bs) {
		rc = parse_backend(c, e, k++);
		if (rc)
			return rc;
	}
	k = 0;
	cJSON_ArrayForEach(e, ms) {
		rc = parse_model(c, e, k++);
		if (rc)
			return rc;
	}
	if (!wl->n_backends)
		return fail(c, "%s is empty: at least one backend is needed",
			    bs && !ms ? "backends"
				      : (ms && !bs ? "models" : "backends and models"));
	for (i = 1; i < wl->n_backends; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(wl->backends[i].cfg.name, wl->backends[j].cfg.name))
				return fail(
					c,
					"duplicate backend name '%s' (%s and %s); names must be "
					"unique",
					wl->backends[i].cfg.name, c->origin[j], c->origin[i]);
	return 0;
}

/* ---- dataset, generation, load, slo ----------------------------------------------------- */

static const char *format_from_ext(const char *path)
{
	size_t n = strlen(path);

	if (n > 6 && !strcmp(path + n - 6, ".jsonl"))
		return "jsonl";
	if (n > 5 && !strcmp(path + n - 5, ".json"))
		return "sharegpt";
	return "lines";
}

static int parse_dataset(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *d = item(root, "dataset");
	struct wl_dataset *ds = &c->wl->dataset;
	const char *given = NULL, *format = NULL, *resolved, *tried;
	double seed = 0;
	bool found;
	int rc;

	if (!d) {
		if (item(root, "eval") || item(root, "perplexity"))
			return 0;
		return fail(c, "dataset is required (an object with path and format, e.g. "
			       "{\"path\": \"datasets/prompts/llm-questions.txt\", \"format\": "
			       "\"lines\"})");
	}
	if ((rc = object_at(c, d, "dataset")) || (rc = check_keys(c, d, "dataset", dataset_keys)) ||
	    (rc = get_string(c, d, "dataset", "path", true, &given)) ||
	    (rc = get_string(c, d, "dataset", "format", false, &format)) ||
	    (rc = get_long(c, d, "dataset", "limit", 0, LONG_MAX, &ds->limit)) ||
	    (rc = get_bool(c, d, "dataset", "shuffle", &ds->shuffle)) ||
	    (rc = get_bool(c, d, "dataset", "token_ids", &ds->token_ids)) ||
	    (rc = get_int(c, d, "dataset", "seed", 0, WL_MAX_INT, &seed, NULL)))
		return rc;
	ds->seed = (uint64_t)seed;
	if (!format)
		format = format_from_ext(given);
	if (!dataset_find(format))
		return fail(c, "dataset.format: unknown format '%s' (valid: %s)", format,
			    dataset_formats());
	ds->format = (char *)format;
	rc = resolve_path(c, given, &resolved, &tried, &found);
	if (rc)
		return rc;
	if (!found) {
		if (tried)
			return fail(c,
				    "dataset.path: no such file '%s' (tried '%s' from the current "
				    "directory and '%s' beside the workload)",
				    given, given, tried);
		return fail(c, "dataset.path: no such file '%s'", given);
	}
	ds->path = (char *)resolved;
	return 0;
}

static int parse_perplexity(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *d = item(root, "perplexity");
	struct wl_perplexity *pp = &c->wl->ppl;
	const char *given = NULL, *resolved, *tried;
	double v;
	bool found, set;
	int rc;

	pp->ctx = 128;
	pp->batch = 2048;
	pp->kld = true;
	if (!d)
		return 0;
	if ((rc = object_at(c, d, "perplexity")) ||
	    (rc = check_keys(c, d, "perplexity", perplexity_keys)) ||
	    (rc = get_string(c, d, "perplexity", "text", true, &given)) ||
	    (rc = get_bool(c, d, "perplexity", "kld", &pp->kld)))
		return rc;
	if ((rc = get_int(c, d, "perplexity", "ctx", 8, 1 << 20, &v, &set)))
		return rc;
	if (set)
		pp->ctx = (int)v;
	if ((rc = get_int(c, d, "perplexity", "batch", 1, 1 << 20, &v, &set)))
		return rc;
	if (set)
		pp->batch = (int)v;
	if ((rc = get_int(c, d, "perplexity", "chunks", 0, 1 << 20, &v, &set)))
		return rc;
	if (set)
		pp->chunks = (int)v;
	rc = resolve_path(c, given, &resolved, &tried, &found);
	if (rc)
		return rc;
	if (!found)
		return fail(c, "perplexity.text: no such file '%s'%s%s%s", given,
			    tried ? " (also tried '" : "", tried ? tried : "", tried ? "')" : "");
	pp->text = (char *)resolved;
	return 0;
}

static int parse_stop(struct wl_ctx *c, const cJSON *g, struct lb_gen *gen)
{
	const cJSON *s = item(g, "stop"), *e;
	char path[PATH_MAX_LEN];
	int i = 0;

	if (!s)
		return 0;
	if (cJSON_IsString(s)) {
		if (!*s->valuestring)
			return fail(c, "generation.stop: expected a non-empty string");
		gen->stop[0] = pool_strdup(c, s->valuestring);
		gen->n_stop = 1;
		return gen->stop[0] ? 0 : LB_ERR_NOMEM;
	}
	if (!cJSON_IsArray(s))
		return expected(c, "generation.stop", "a string or an array of strings", s);
	cJSON_ArrayForEach(e, s) {
		snprintf(path, sizeof(path), "generation.stop[%d]", i++);
		if (!cJSON_IsString(e) || !*e->valuestring)
			return expected(c, path, "a non-empty string", e);
		if (gen->n_stop >= BACKEND_MAX_STOP)
			return fail(c, "generation.stop: more than %d stop strings",
				    BACKEND_MAX_STOP);
		gen->stop[gen->n_stop] = pool_strdup(c, e->valuestring);
		if (!gen->stop[gen->n_stop++])
			return LB_ERR_NOMEM;
	}
	return 0;
}

static int parse_generation(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *g = item(root, "generation");
	struct lb_gen *gen = &c->wl->gen;
	double seed = 0;
	bool has_seed;
	int rc;

	lb_gen_defaults(gen);
	if (!g)
		return 0;
	if ((rc = object_at(c, g, "generation")) ||
	    (rc = check_keys(c, g, "generation", gen_keys)) ||
	    (rc = get_i(c, g, "generation", "max_tokens", 0, &gen->max_tokens)) ||
	    (rc = get_num(c, g, "generation", "temperature", NUM_NON_NEGATIVE, INFINITY,
			  &gen->temperature, NULL)) ||
	    (rc = get_num(c, g, "generation", "top_p", NUM_POSITIVE, 1, &gen->top_p, NULL)) ||
	    (rc = get_i(c, g, "generation", "top_k", 0, &gen->top_k)) ||
	    (rc = get_int(c, g, "generation", "seed", 0, WL_MAX_INT, &seed, &has_seed)) ||
	    (rc = get_bool(c, g, "generation", "ignore_eos", &gen->ignore_eos)) ||
	    (rc = get_bool(c, g, "generation", "logprobs", &gen->logprobs)) ||
	    (rc = parse_stop(c, g, gen)))
		return rc;
	if (has_seed)
		gen->seed = (int64_t)seed;
	return 0;
}

static int parse_levels(struct wl_ctx *c, const cJSON *l, bool rate)
{
	struct wl_load *ld = &c->wl->load;
	const cJSON *v = item(l, "levels"), *e;
	char path[PATH_MAX_LEN];
	const char *what = rate ? "a positive rate in requests per second (at most 1e6)"
				: "a positive integer concurrency (at most 100000)";
	int n, i = 0;

	if (!v)
		return fail(c, "load.levels is required (e.g. [1, 4, 16]: %s)",
			    rate ? "request rates in requests per second" : "concurrencies");
	if (cJSON_IsNumber(v)) {
		n = 1;
	} else if (cJSON_IsArray(v)) {
		n = cJSON_GetArraySize(v);
		if (!n)
			return fail(c, "load.levels: expected a non-empty array of numbers");
		if (n > WL_MAX_LEVELS)
			return fail(c, "load.levels: more than %d levels", WL_MAX_LEVELS);
	} else {
		return expected(c, "load.levels", "an array of numbers", v);
	}
	ld->levels = (double *)pool_take(c, lb_calloc((size_t)n, sizeof(double)));
	if (!ld->levels)
		return LB_ERR_NOMEM;
	for (e = cJSON_IsArray(v) ? v->child : v; e && i < n; e = e->next, i++) {
		double d = cJSON_IsNumber(e) ? e->valuedouble : NAN;

		if (cJSON_IsArray(v))
			snprintf(path, sizeof(path), "load.levels[%d]", i);
		else
			snprintf(path, sizeof(path), "load.levels");
		if (!cJSON_IsNumber(e) || !isfinite(d) || d <= 0 ||
		    (rate ? d > WL_MAX_RATE : (d != floor(d) || d > WL_MAX_CONCURRENCY)))
			return expected(c, path, what, e);
		ld->levels[i] = d;
	}
	ld->n_levels = (size_t)n;
	return 0;
}

static int parse_load_extra(struct wl_ctx *c, const cJSON *l);

static int parse_load(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *l = item(root, "load");
	struct wl_load *ld = &c->wl->load;
	bool has_req, has_dur, has_burst, rate;
	double seed = 1, requests = 100;
	int rc;

	ld->mode = (char *)"concurrency";
	ld->repeat = 1;
	ld->lag_bound_ms = 1;
	if (!l)
		return fail(
			c, "load is required (e.g. {\"mode\": \"concurrency\", \"levels\": [1, 8], "
			   "\"requests\": 100})");
	if ((rc = object_at(c, l, "load")) || (rc = check_keys(c, l, "load", load_keys)) ||
	    (rc = get_enum(c, l, "load", "mode", mode_list, (const char **)&ld->mode)))
		return rc;
	/* trace: the levels are speedups of the trace's timestamps (docs/traffic.md) */
	rate = !strcmp(ld->mode, "rate") || !strcmp(ld->mode, "trace");
	if (!strcmp(ld->mode, "trace") && item(l, "arrival"))
		return fail(c, "load.arrival: mode trace sends at the trace's timestamps; remove "
			       "arrival");
	if (!strcmp(ld->mode, "trace") && !item(l, "requests"))
		requests = 0; /* one pass over the trace (runner_trace.c) */
	if ((rc = parse_load_extra(c, l)))
		return rc;
	if (!strcmp(ld->mode, "sweep") || !strcmp(ld->mode, "sla")) {
		if (item(l, "levels"))
			return fail(c, "load.levels: mode %s chooses its own levels; remove levels",
				    ld->mode);
		ld->levels = NULL;
		ld->n_levels = 0;
	} else if ((rc = parse_levels(c, l, rate))) {
		return rc;
	}
	if ((rc = get_int(c, l, "load", "requests", 0, WL_MAX_INT, &requests, &has_req)) ||
	    (rc = get_int(c, l, "load", "requests", 0, WL_MAX_INT, &requests, &has_req)) ||
	    (rc = get_long(c, l, "load", "warmup", 0, LONG_MAX, &ld->warmup)) ||
	    (rc = get_num(c, l, "load", "duration_s", NUM_NON_NEGATIVE, INFINITY, &ld->duration_s,
			  &has_dur)) ||
	    (rc = get_i(c, l, "load", "repeat", 1, &ld->repeat)) ||
	    (rc = get_enum(c, l, "load", "arrival", arrival_list, (const char **)&ld->arrival)) ||
	    (rc = get_num(c, l, "load", "burstiness", NUM_POSITIVE, INFINITY, &ld->burstiness,
			  &has_burst)) ||
	    (rc = get_int(c, l, "load", "seed", 0, WL_MAX_INT, &seed, NULL)) ||
	    (rc = get_num(c, l, "load", "lag_bound_ms", NUM_POSITIVE, INFINITY, &ld->lag_bound_ms,
			  NULL)) ||
	    (rc = get_long(c, l, "load", "max_errors", 0, LONG_MAX, &ld->max_errors)))
		return rc;
	ld->seed = (uint64_t)seed;
	if (!has_req && has_dur && ld->duration_s > 0)
		requests = 0; /* the duration bounds the level */
	ld->requests = requests > (double)LONG_MAX ? LONG_MAX : (long)requests;
	if (ld->requests <= 0 && ld->duration_s <= 0 && strcmp(ld->mode, "trace"))
		return fail(c, "load: nothing ends a level: give requests > 0 or duration_s > 0");
	if (!strcmp(ld->mode, "sweep") || (!strcmp(ld->mode, "sla") && !strcmp(ld->search_over, "rate")))
		rate = true;
	if (ld->arrival && !rate)
		return fail(c, "load.arrival applies to mode rate only (this load's mode is %s)",
			    ld->mode);
	if (ld->max_inflight && !rate)
		return fail(c, "load.max_inflight caps an open loop: it applies to rate, sweep and sla over "
			       "rate only (mode %s already bounds what is in flight)", ld->mode);
	if (rate && !ld->arrival)
		ld->arrival = (char *)"poisson";
	if (has_burst && (!ld->arrival || strcmp(ld->arrival, "gamma")))
		return fail(c, "load.burstiness applies to arrival gamma only");
	if (ld->arrival && !strcmp(ld->arrival, "gamma") && !has_burst)
		return fail(c, "load.burstiness is required with arrival gamma (the coefficient of "
			       "variation of the gaps: 1 is like poisson, 2 burstier)");
	return 0;
}

/* load.cancel: a fraction of requests abandoned by the client after a time or a number of
 * tokens (docs/traffic.md#cancellations). */
static int parse_cancel(struct wl_ctx *c, const cJSON *l)
{
	struct wl_load *ld = &c->wl->load;
	const cJSON *cn = item(l, "cancel");
	bool has_ms, has_tok;
	double tok = 0;
	int rc;

	if (!cn)
		return 0;
	if ((rc = object_at(c, cn, "load.cancel")) ||
	    (rc = check_keys(c, cn, "load.cancel", cancel_keys)) ||
	    (rc = get_num(c, cn, "load.cancel", "fraction", NUM_NON_NEGATIVE, 1, &ld->cancel_fraction,
			  NULL)) ||
	    (rc = get_num(c, cn, "load.cancel", "after_ms", NUM_NON_NEGATIVE, 1e9,
			  &ld->cancel_after_ms, &has_ms)) ||
	    (rc = get_int(c, cn, "load.cancel", "after_tokens", 1, 1e9, &tok, &has_tok)))
		return rc;
	if (!item(cn, "fraction"))
		return fail(c, "load.cancel.fraction is required (the share of requests abandoned, 0..1)");
	if (has_ms == has_tok)
		return fail(c, "load.cancel: give one of after_ms (ms after the send) or after_tokens "
			       "(output tokens received)");
	ld->cancel_after_tokens = (long)tok;
	if (!has_ms)
		ld->cancel_after_ms = -1;
	return 0;
}

static int parse_load_extra(struct wl_ctx *c, const cJSON *l)
{
	struct wl_load *ld = &c->wl->load;
	const cJSON *sr = item(l, "search");
	double v;
	bool set;
	int rc;

	ld->overflow = (char *)"queue";
	ld->ramp = (char *)"linear";
	ld->sweep_points = 5;
	ld->search_over = (char *)"concurrency";
	ld->search_start = 1;
	ld->search_max = 4096;
	ld->search_steps = 4;
	ld->slo_target = 0.9;
	ld->stagger_ms = 0.5;
	if ((rc = get_num(c, l, "load", "max_error_rate", NUM_NON_NEGATIVE, 1, &ld->max_error_rate, NULL)) ||
	    (rc = get_num(c, l, "load", "warmup_s", NUM_NON_NEGATIVE, INFINITY, &ld->warmup_s, NULL)) ||
	    (rc = get_long(c, l, "load", "cooldown", 0, LONG_MAX, &ld->cooldown)) ||
	    (rc = get_long(c, l, "load", "max_inflight", 0, 1000000, &ld->max_inflight)) ||
	    (rc = get_enum(c, l, "load", "overflow", overflow_list, (const char **)&ld->overflow)) ||
	    (rc = get_num(c, l, "load", "ramp_up_s", NUM_NON_NEGATIVE, INFINITY, &ld->ramp_up_s, NULL)) ||
	    (rc = get_enum(c, l, "load", "ramp", ramp_list, (const char **)&ld->ramp)) ||
	    (rc = get_num(c, l, "load", "stagger_ms", NUM_NON_NEGATIVE, 1000, &ld->stagger_ms, NULL)))
		return rc;
	if ((rc = get_int(c, l, "load", "sweep_points", 2, 100, &v, &set)))
		return rc;
	if (set)
		ld->sweep_points = (int)v;
	if ((rc = parse_cancel(c, l)))
		return rc;
	if (!sr)
		return 0;
	if (strcmp(ld->mode, "sla"))
		return fail(c, "load.search applies to mode sla only (this load's mode is %s)", ld->mode);
	if ((rc = object_at(c, sr, "load.search")) || (rc = check_keys(c, sr, "load.search", search_keys)) ||
	    (rc = get_enum(c, sr, "load.search", "over", over_list, (const char **)&ld->search_over)) ||
	    (rc = get_num(c, sr, "load.search", "start", NUM_POSITIVE, 1e6, &ld->search_start, NULL)) ||
	    (rc = get_num(c, sr, "load.search", "max", NUM_POSITIVE, 1e6, &ld->search_max, NULL)) ||
	    (rc = get_num(c, sr, "load.search", "target", NUM_POSITIVE, 1, &ld->slo_target, NULL)))
		return rc;
	if ((rc = get_int(c, sr, "load.search", "steps", 0, 30, &v, &set)))
		return rc;
	if (set)
		ld->search_steps = (int)v;
	if (ld->search_start > ld->search_max)
		return fail(c, "load.search: start %g is above max %g", ld->search_start, ld->search_max);
	return 0;
}

static int parse_slo(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *s = item(root, "slo");
	struct wl_slo *slo = &c->wl->slo;
	int rc;

	if (!s)
		return 0;
	if ((rc = object_at(c, s, "slo")) || (rc = check_keys(c, s, "slo", slo_keys)) ||
	    (rc = get_num(c, s, "slo", "ttft_ms", NUM_POSITIVE, INFINITY, &slo->ttft_ms, NULL)) ||
	    (rc = get_num(c, s, "slo", "tpot_ms", NUM_POSITIVE, INFINITY, &slo->tpot_ms, NULL)) ||
	    (rc = get_num(c, s, "slo", "e2e_ms", NUM_POSITIVE, INFINITY, &slo->e2e_ms, NULL)))
		return rc;
	return 0;
}

static int section_text(struct wl_ctx *c, const cJSON *root, const char *key, char **out)
{
	const cJSON *v = item(root, key);
	int rc;

	if (!v)
		return 0;
	rc = object_at(c, v, key);
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
		return fail(c, "expected a JSON object at the top level, got %s", kind(root));
	if ((rc = check_keys(c, root, "", top_keys)) ||
	    (rc = get_string(c, root, "", "name", true, &s)))
		return rc;
	wl->name = (char *)s;
	if (!printable(wl->name))
		return fail(c, "name: the name holds a control character");
	s = NULL;
	if ((rc = get_string(c, root, "", "description", false, &s)))
		return rc;
	wl->description = (char *)s;
	if ((rc = parse_backends(c, root)) || (rc = parse_dataset(c, root)) ||
	    (rc = parse_generation(c, root)) || (rc = parse_load(c, root)) ||
	    (rc = parse_slo(c, root)) || (rc = section_text(c, root, "power", &wl->power_json)) ||
	    (rc = section_text(c, root, "eval", &wl->eval_json)) ||
	    (rc = section_text(c, root, "gate", &wl->gate_json)) || (rc = parse_perplexity(c, root)))
		return rc;
	if (item(root, "server_metrics")) {
		struct runner_prom_cfg pc;
		struct lb_error perr = LB_ERROR_INIT;

		wl->server_metrics_json = pool_json(c, item(root, "server_metrics"));
		if (!wl->server_metrics_json)
			return LB_ERR_NOMEM;
		if (runner_prom_config(wl->server_metrics_json, &pc, &perr))
			return fail(c, "%s", perr.msg);
	}
	return 0;
}

/* ---- overrides -------------------------------------------------------------------------- */

static bool parse_index(const char *s, size_t len, long *out)
{
	long v = 0;
	size_t i;

	if (!len || len > 9)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Set obj.name to val (replacing old when not NULL); val is consumed either way. */
static int put(struct wl_ctx *c, cJSON *obj, const char *name, cJSON *old, cJSON *val)
{
	cJSON_bool ok = old ? cJSON_ReplaceItemInObjectCaseSensitive(obj, name, val)
			    : cJSON_AddItemToObject(obj, name, val);

	if (!ok) {
		cJSON_Delete(val);
		return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory applying --set");
	}
	return 0;
}

/* Apply one "a.b.0.c=value" to root. */
static int apply_set(struct wl_ctx *c, cJSON *root, const char *set)
{
	const char *eq = strchr(set, '='), *seg, *end, *value;
	char key[PATH_MAX_LEN], done[PATH_MAX_LEN * 2 + 2];
	cJSON *cur = root, *val;

	if (!eq || eq == set)
		return fail(c, "--set '%s': expected key=value (e.g. load.requests=10)", set);
	if ((size_t)(eq - set) >= sizeof(key))
		return fail(c, "--set: the key is longer than %d bytes", PATH_MAX_LEN - 1);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - set), set);
	value = eq + 1;
	val = cJSON_ParseWithOpts(value, NULL, 1);
	if (!val)
		val = cJSON_CreateString(value);
	if (!val)
		return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory applying --set");
	done[0] = 0;
	for (seg = key;; seg = end + 1) {
		size_t len;
		bool last;
		long idx;
		char name[PATH_MAX_LEN];
		cJSON *next;

		end = strchr(seg, '.');
		if (!end)
			end = seg + strlen(seg);
		last = !*end;
		len = (size_t)(end - seg);
		if (!len) {
			cJSON_Delete(val);
			return fail(c, "--set %s: empty part in the key (expected a.b.c)", key);
		}
		snprintf(name, sizeof(name), "%.*s", (int)len, seg);
		if (cJSON_IsObject(cur)) {
			next = cJSON_GetObjectItemCaseSensitive(cur, name);
			if (last)
				return put(c, cur, name, next, val);
			if (!next || cJSON_IsNull(next)) {
				cJSON *o = cJSON_CreateObject();

				if (!o || put(c, cur, name, next, o)) {
					cJSON_Delete(val);
					return lb_error_set(c->err, LB_ERR_NOMEM,
							    "out of memory applying --set");
				}
				next = o;
			}
		} else if (cJSON_IsArray(cur)) {
			int size = cJSON_GetArraySize(cur);

			if (!parse_index(name, len, &idx)) {
				cJSON_Delete(val);
				return fail(
					c,
					"--set %s: %s is an array: expected an index (0 to %d), "
					"got '%s'",
					key, *done ? done : "the top level", size - 1, name);
			}
			if (idx >= size) {
				cJSON_Delete(val);
				return fail(c, "--set %s: %s has no element %ld (it has %d)", key,
					    *done ? done : "the top level", idx, size);
			}
			next = cJSON_GetArrayItem(cur, (int)idx);
			if (last) {
				cJSON_ReplaceItemViaPointer(cur, next, val);
				return 0;
			}
		} else {
			cJSON_Delete(val);
			return fail(c, "--set %s: %s is %s, not an object or an array", key,
				    *done ? done : "the top level", kind(cur));
		}
		snprintf(done + strlen(done), sizeof(done) - strlen(done), "%s%s", *done ? "." : "",
			 name);
		cur = next;
	}
}

/* ---- entry points ----------------------------------------------------------------------- */

#define line_col jsoncfg_line_col

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
		rc = fail(&c, "the workload is larger than the limit of %u bytes",
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
		rc = apply_set(&c, root, sets[i]);
		if (rc)
			goto out;
	}
	wl->path = pool_strdup(&c, c.file);
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
