/* workload_backends.c: the workload's "backends" and "models" sections: each backend checked
 * (type, URL, headers, API key variable, model file) and the models matrix expanded into
 * llama.cpp backends. Part of the workload parser (workload_int.h). */
#include "workload_int.h"

#include "../backends/redact.h"
#include "../base/alloc.h"
#include "../base/jsoncfg.h"
#include "../base/strbuf.h"
#include "../base/suggest.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const backend_keys[] = {
	"name",
	"type",
	"base_url",
	"model",
	"api",
	"api_key_env",
	"headers",
	"stream",
	"tls_verify",
	"connect_timeout_ms",
	"timeout_ms",
	"max_body_bytes",
	"max_connections",
	"model_path",
	"threads",
	"ctx",
	"batch",
	"parallel",
	"family",
	"quant",
	"rx_timestamps",
	"http_client",
	NULL,
};
static const char *const model_keys[] = {
	"family", "base", "quants", "name", "threads", "ctx", "batch", "parallel", NULL,
};
static const char *const backend_types_list[] = { "openai", "llamacpp", NULL };
static const char *const api_list[] = { "completions", "chat", NULL };
static const char *const rx_list[] = { "kernel", "harness", NULL };
static const char *const client_list[] = { "auto", "native", "libcurl", NULL };
static const char *const quant_list[] = {
	"f32",  "f16",    "bf16",   "q8_0", "q6_k",   "q5_k_m", "q5_k_s",
	"q5_0", "q4_k_m", "q4_k_s", "q4_0", "q3_k_m", "q2_k",   NULL,
};

/* ---- backends --------------------------------------------------------------------------- */

static struct wl_backend *backend_new(struct wl_ctx *c, const char *origin)
{
	struct workload *wl = c->wl;

	if (wl->n_backends >= WL_MAX_BACKENDS) {
		wl_fail(c, "%s: too many backends (the limit is %d)", origin, WL_MAX_BACKENDS);
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

bool wl_printable(const char *s)
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
	wl_field(path, bpath, "headers");
	if (!cJSON_IsObject(h))
		return wl_expected(c, path, "an object of header name -> string", h);
	cJSON_ArrayForEach(e, h)
	{
		char *line;

		snprintf(hpath, sizeof(hpath), "%s.%s", path, e->string);
		if (!header_name_ok(e->string))
			return wl_fail(c, "%s: '%s' is not a valid HTTP header name", hpath,
				       e->string);
		if (!cJSON_IsString(e))
			return wl_expected(c, hpath, "a string", e);
		if (!wl_printable(e->valuestring))
			return wl_fail(c, "%s: the value holds a control character (CR, LF, ...)",
				       hpath);
		if (cfg->n_headers >= BACKEND_MAX_HEADERS)
			return wl_fail(c, "%s: more than %d headers", path, BACKEND_MAX_HEADERS);
		line = wl_pool_printf(c, "%s: %s", e->string, e->valuestring);
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
		return wl_fail(c, "%s: expected a URL starting with http:// or https://, got '%s'",
			       path, url);
	if (!*host || *host == '/')
		return wl_fail(c, "%s: the URL '%s' has no host", path, url);
	if (!wl_printable(url) || strchr(url, ' '))
		return wl_fail(c, "%s: the URL holds a space or a control character", path);
	{
		/* the port, when given: 1 to 65535 (libcurl would take 80800 as 15264) */
		size_t alen = strcspn(host, "/?#");
		const char *at = memchr(host, '@', alen), *h = at ? at + 1 : host;
		const char *end = host + alen, *colon;

		if (*h == '[') {
			const char *rb = memchr(h, ']', (size_t)(end - h));

			if (!rb)
				return wl_fail(c,
					       "%s: the URL '%s' opens an IPv6 address with '[' "
					       "and never closes it with ']'",
					       path, url);
			colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		} else {
			colon = memchr(h, ':', (size_t)(end - h));
		}
		if (h == end || h == colon)
			return wl_fail(c, "%s: the URL '%s' has no host", path, url);
		if (colon) {
			long port = 0;
			const char *d;

			for (d = colon + 1; d < end && *d >= '0' && *d <= '9' && port <= 65535; d++)
				port = port * 10 + (*d - '0');
			if (d != end || d == colon + 1 || port < 1 || port > 65535)
				return wl_fail(c,
					       "%s: the URL '%s' has port '%.*s': expected a whole "
					       "number from 1 to 65535",
					       path, url, (int)(end - colon - 1), colon + 1);
		}
	}
	n = strlen(url);
	while (n > (size_t)(host - url) && url[n - 1] == '/')
		n--;
	s = wl_pool_take(c, lb_strndup(url, n));
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
	rc = wl_object_at(c, b, bpath);
	if (rc)
		return rc;
	if (cJSON_GetObjectItemCaseSensitive(b, "api_key"))
		return wl_fail(c,
			       "%s.api_key: a key does not belong in a workload file; put it in an "
			       "environment variable and name that variable with api_key_env "
			       "(e.g. \"api_key_env\": \"OPENAI_API_KEY\")",
			       bpath);
	rc = wl_check_keys(c, b, bpath, backend_keys);
	if (rc)
		return rc;
	wb = backend_new(c, bpath);
	if (!wb)
		return c->err->code;
	cfg = &wb->cfg;
	if ((rc = wl_get_string(c, b, bpath, "name", true, &cfg->name)) ||
	    (rc = wl_get_string(c, b, bpath, "type", true, &s)))
		return rc;
	if (!wl_printable(cfg->name))
		return wl_fail(c, "%s.name: the name holds a control character", bpath);
	if ((rc = wl_get_enum(c, b, bpath, "type", backend_types_list, &cfg->type)) ||
	    (rc = wl_get_string(c, b, bpath, "model", false, &cfg->model)) ||
	    (rc = wl_get_enum(c, b, bpath, "api", api_list, &cfg->api)) ||
	    (rc = wl_get_string(c, b, bpath, "api_key_env", false, &cfg->api_key_env)) ||
	    (rc = parse_headers(c, b, bpath, cfg)) ||
	    (rc = wl_get_bool(c, b, bpath, "stream", &cfg->stream)) ||
	    (rc = wl_get_bool(c, b, bpath, "tls_verify", &cfg->tls_verify)) ||
	    (rc = wl_get_enum(c, b, bpath, "rx_timestamps", rx_list, &cfg->rx_timestamps)) ||
	    (rc = wl_get_enum(c, b, bpath, "http_client", client_list, &cfg->http_client)) ||
	    (rc = wl_get_long(c, b, bpath, "connect_timeout_ms", 1, LONG_MAX,
			      &cfg->connect_timeout_ms)) ||
	    (rc = wl_get_long(c, b, bpath, "timeout_ms", 1, LONG_MAX, &cfg->timeout_ms)) ||
	    (rc = wl_get_i(c, b, bpath, "max_connections", 0, &cfg->max_connections)) ||
	    (rc = wl_get_i(c, b, bpath, "threads", 0, &cfg->threads)) ||
	    (rc = wl_get_i(c, b, bpath, "ctx", 0, &cfg->n_ctx)) ||
	    (rc = wl_get_i(c, b, bpath, "batch", 0, &cfg->n_batch)) ||
	    (rc = wl_get_i(c, b, bpath, "parallel", 0, &cfg->n_parallel)) ||
	    (rc = wl_get_string(c, b, bpath, "family", false, &cfg->family)) ||
	    (rc = wl_get_string(c, b, bpath, "quant", false, &cfg->quant)))
		return rc;
	l = (long)cfg->max_body_bytes;
	rc = wl_get_long(c, b, bpath, "max_body_bytes", 1024, LONG_MAX, &l);
	if (rc)
		return rc;
	cfg->max_body_bytes = (size_t)l;
	if (cfg->api_key_env && !env_name_ok(cfg->api_key_env))
		return wl_fail(
			c,
			"%s.api_key_env: expected the name of an environment variable "
			"(letters, digits and _, not starting with a digit), not the key itself",
			bpath);
	s = NULL;
	rc = wl_get_string(c, b, bpath, "base_url", false, &s);
	if (rc)
		return rc;
	wl_field(path, bpath, "base_url");
	if (s) {
		rc = parse_base_url(c, path, s, &cfg->base_url);
		if (rc)
			return rc;
	}
	s = NULL;
	rc = wl_get_string(c, b, bpath, "model_path", false, &s);
	if (rc)
		return rc;
	if (s) {
		const char *tried;
		bool found;

		rc = wl_resolve_path(c, s, &cfg->model_path, &tried, &found);
		if (rc)
			return rc;
	}
	if (!strcmp(cfg->type, "openai") && !cfg->base_url)
		return wl_fail(c,
			       "%s.base_url is required for type openai (e.g. "
			       "\"http://127.0.0.1:8080/v1\")",
			       bpath);
	if (!strcmp(cfg->type, "llamacpp") && !cfg->model_path)
		return wl_fail(c, "%s.model_path is required for type llamacpp (a GGUF file)",
			       bpath);
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
	rc = wl_object_at(c, m, mpath);
	if (rc)
		return rc;
	if ((rc = wl_check_keys(c, m, mpath, model_keys)) ||
	    (rc = wl_get_string(c, m, mpath, "family", true, &family)) ||
	    (rc = wl_get_string(c, m, mpath, "base", true, &base)) ||
	    (rc = wl_get_string(c, m, mpath, "name", false, &prefix)) ||
	    (rc = wl_get_i(c, m, mpath, "threads", 0, &threads)) ||
	    (rc = wl_get_i(c, m, mpath, "ctx", 0, &n_ctx)) ||
	    (rc = wl_get_i(c, m, mpath, "batch", 0, &n_batch)) ||
	    (rc = wl_get_i(c, m, mpath, "parallel", 0, &n_parallel)))
		return rc;
	rc = wl_resolve_path(c, base, &resolved, &tried, &found);
	if (rc)
		return rc;
	quants = item(m, "quants");
	wl_field(qpath, mpath, "quants");
	if (!quants)
		return wl_fail(c, "%s is required (e.g. [\"f16\", \"q8_0\", \"q4_0\"])", qpath);
	if (!cJSON_IsArray(quants) || !cJSON_GetArraySize(quants))
		return wl_expected(c, qpath, "a non-empty array of quantization names", quants);
	qi = 0;
	cJSON_ArrayForEach(q, quants)
	{
		struct wl_backend *wb;
		char origin[96];

		snprintf(qpath, sizeof(qpath), "%s.quants[%d]", mpath, qi);
		if (!cJSON_IsString(q))
			return wl_expected(c, qpath, "a quantization name (a string)", q);
		for (i = 0; quant_list[i]; i++)
			if (!strcmp(q->valuestring, quant_list[i]))
				break;
		if (!quant_list[i]) {
			join_list(list, sizeof(list), quant_list);
			return wl_fail(c, "%s: unknown quantization '%s' (valid: %s)", qpath,
				       q->valuestring, list);
		}
		for (q2 = quants->child; q2 != q; q2 = q2->next)
			if (!strcmp(q2->valuestring, q->valuestring))
				return wl_fail(c, "%s: '%s' is listed twice", qpath,
					       q->valuestring);
		snprintf(origin, sizeof(origin), "%s.quants[%d]", mpath, qi);
		wb = backend_new(c, origin);
		if (!wb)
			return c->err->code;
		wb->cfg.type = "llamacpp";
		wb->cfg.name = wl_pool_printf(c, "%s-%s", prefix ? prefix : family, q->valuestring);
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

int wl_parse_backends(struct wl_ctx *c, const cJSON *root)
{
	const cJSON *bs = item(root, "backends"), *ms = item(root, "models"), *e;
	struct workload *wl = c->wl;
	size_t i, j;
	int rc, k;

	if (bs && !cJSON_IsArray(bs))
		return wl_expected(c, "backends", "an array of backend objects", bs);
	if (ms && !cJSON_IsArray(ms))
		return wl_expected(c, "models", "an array of model objects (family, base, quants)",
				   ms);
	if (!bs && !ms)
		return wl_fail(
			c, "backends is required (an array of backend objects; or give 'models', "
			   "a model x quantization matrix)");
	k = 0;
	cJSON_ArrayForEach(e, bs)
	{
		rc = parse_backend(c, e, k++);
		if (rc)
			return rc;
	}
	k = 0;
	cJSON_ArrayForEach(e, ms)
	{
		rc = parse_model(c, e, k++);
		if (rc)
			return rc;
	}
	if (!wl->n_backends)
		return wl_fail(c, "%s is empty: at least one backend is needed",
			       bs && !ms ? "backends"
					 : (ms && !bs ? "models" : "backends and models"));
	for (i = 1; i < wl->n_backends; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(wl->backends[i].cfg.name, wl->backends[j].cfg.name))
				return wl_fail(
					c,
					"duplicate backend name '%s' (%s and %s); names must be "
					"unique",
					wl->backends[i].cfg.name, c->origin[j], c->origin[i]);
	return 0;
}
