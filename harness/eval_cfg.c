/* eval_cfg.c: the workload's "eval" section, parsed strictly, and the loading of every
 * evaluator's datasets (see eval_int.h, docs/quality.md). Each evaluator parses its own
 * section (its eval_ops.parse); this file holds the shared getters and the driver. */
#include "eval_int.h"

#include "../base/alloc.h"
#include "../base/jsoncfg.h"
#include "../base/strbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int eval_pfail(struct pctx *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return lb_error_set(c->err, LB_ERR_USAGE, "'%s': %s", c->wl_path, msg);
}

/* The getters delegate to base/jsoncfg.h, the one strict reader of JSON configuration. */
static struct jsoncfg jc(struct pctx *c)
{
	struct jsoncfg j = { .file = c->wl_path, .err = c->err };

	return j;
}

int eval_check_keys(struct pctx *c, const cJSON *o, const char *where, const char *const *keys)
{
	struct jsoncfg j = jc(c);

	if (!cJSON_IsObject(o))
		return jsoncfg_object(&j, o, where);
	return jsoncfg_check_keys(&j, o, where, keys);
}

int eval_get_num(struct pctx *c, const cJSON *o, const char *where, const char *key, double lo,
		 double hi, bool integer, double *out)
{
	struct jsoncfg j = jc(c);

	if (integer)
		return jsoncfg_int(&j, o, where, key, lo, hi, out, NULL);
	return jsoncfg_num(&j, o, where, key, lo, false, hi, out, NULL);
}

int eval_get_long(struct pctx *c, const cJSON *o, const char *where, const char *key, double lo,
		  double hi, long *out)
{
	double d = (double)*out;
	int rc = eval_get_num(c, o, where, key, lo, hi, true, &d);

	*out = (long)d;
	return rc;
}

int eval_get_int(struct pctx *c, const cJSON *o, const char *where, const char *key, double lo,
		 double hi, int *out)
{
	double d = (double)*out;
	int rc = eval_get_num(c, o, where, key, lo, hi, true, &d);

	*out = (int)d;
	return rc;
}

static int keep_str(struct pctx *c, const char *v, char **out)
{
	if (!v)
		return 0;
	lb_free(*out);
	*out = lb_strdup(v);
	return *out ? 0 : lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
}

int eval_get_str(struct pctx *c, const cJSON *o, const char *where, const char *key, char **out)
{
	struct jsoncfg j = jc(c);
	const char *v = NULL;
	char path[JSONCFG_PATH_MAX];
	int rc = jsoncfg_string(&j, o, where, key, false, &v);

	if (rc)
		return rc;
	if (v && !v[0]) {
		jsoncfg_path(path, where, key);
		return jsoncfg_expected(&j, path, "a non-empty string", jsoncfg_item(o, key));
	}
	return keep_str(c, v, out);
}

int eval_get_enum(struct pctx *c, const cJSON *o, const char *where, const char *key,
		  const char *const *names, char **out)
{
	struct jsoncfg j = jc(c);
	const char *v = NULL;
	int rc = jsoncfg_enum(&j, o, where, key, names, &v);

	return rc ? rc : keep_str(c, v, out);
}

static bool file_exists(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISREG(st.st_mode);
}

int eval_resolve(struct pctx *c, const char *where, const char *key, char **path)
{
	const char *slash;
	char *alt;
	size_t dl, pl;

	if (file_exists(*path) || (*path)[0] == '/') {
		if (!file_exists(*path))
			return eval_pfail(c, "%s.%s: no such file '%s'", where, key, *path);
		return 0;
	}
	slash = c->wl_dir_base ? strrchr(c->wl_dir_base, '/') : NULL;
	if (!slash)
		return eval_pfail(c, "%s.%s: no such file '%s'", where, key, *path);
	dl = (size_t)(slash - c->wl_dir_base) + 1;
	pl = strlen(*path);
	alt = lb_malloc(dl + pl + 1);
	if (!alt)
		return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	memcpy(alt, c->wl_dir_base, dl);
	memcpy(alt + dl, *path, pl + 1);
	if (!file_exists(alt)) {
		int rc = eval_pfail(c,
				    "%s.%s: no such file '%s' (tried it from the current directory "
				    "and as '%s' beside the workload)",
				    where, key, *path, alt);
		lb_free(alt);
		return rc;
	}
	lb_free(*path);
	*path = alt;
	return 0;
}

int eval_default_path(struct pctx *c, char **path, const char *def)
{
	char exe[4096], *slash;
	ssize_t n;

	if (*path)
		return 0;
	if (!file_exists(def)) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = 0;
			slash = strrchr(exe, '/');
			if (slash) {
				snprintf(slash + 1, sizeof(exe) - (size_t)(slash + 1 - exe),
					 "../%s", def);
				if (file_exists(exe))
					def = exe;
			}
		}
	}
	*path = lb_strdup(def);
	return *path ? 0 : lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
}

int eval_read_prompt(const char *path, char **out, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = strbuf_read_file(&sb, path, 1u << 20, err);

	*out = NULL;
	if (rc) {
		strbuf_release(&sb);
		return rc;
	}
	if (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.len--;
	if (sb.len && sb.buf[sb.len - 1] == '\r')
		sb.len--;
	*out = lb_strndup(sb.buf ? sb.buf : "", sb.len);
	strbuf_release(&sb);
	return *out ? 0 : lb_error_set(err, LB_ERR_NOMEM, "out of memory");
}

static void cfg_release(struct eval_cfg *g)
{
	lb_free(g->qa.path);
	lb_free(g->mc.path);
	lb_free(g->mc.mode);
	lb_free(g->mc.primer);
	lb_free(g->sc.mode);
	lb_free(g->yn.path);
	lb_free(g->yn.mode);
	lb_free(g->yn.instruction);
	lb_free(g->yn.system);
	lb_free(g->sheets.path);
	lb_free(g->sheets.out);
	lb_free(g->judge.base_url);
	lb_free(g->judge.model);
	lb_free(g->judge.api_key_env);
	lb_free(g->judge.api);
	memset(g, 0, sizeof(*g));
}

static int parse_cfg(struct pctx *c, const char *json, struct eval_cfg *g)
{
	cJSON *root = cJSON_Parse(json);
	const char *keys[16];
	size_t i, nk = 0;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	g->concurrency = 4;
	for (i = 0; eval_table[i]; i++) {
		eval_table[i]->defaults(g);
		keys[nk++] = eval_table[i]->key;
	}
	keys[nk++] = "concurrency";
	keys[nk] = NULL;
	if (!root)
		return eval_pfail(c, "eval: malformed JSON");
	if ((rc = eval_check_keys(c, root, "eval", keys)) ||
	    (rc = eval_get_int(c, root, "eval", "concurrency", 1, EVAL_MAX_CONCURRENCY,
			       &g->concurrency)))
		goto out;
	for (i = 0; !rc && eval_table[i]; i++) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, eval_table[i]->key);

		if (s)
			rc = eval_table[i]->parse(c, s, g);
	}
	if (!rc && !g->qa.on && !g->mc.on && !g->yn.on && !g->sheets.on)
		rc = eval_pfail(
			c, "eval: nothing to run (give at least one of qa, mc, yesno, sheets)");
out:
	cJSON_Delete(root);
	if (rc)
		cfg_release(g);
	return rc;
}

void eval_state_release(struct eval_state *es)
{
	size_t i;

	for (i = 0; es->graders && i < es->qa.n; i++)
		grader_release(&es->graders[i]);
	lb_free(es->graders);
	qa_set_release(&es->qa);
	mc_set_release(&es->mc);
	lb_free(es->mc_primer);
	yn_set_release(&es->yn);
	lb_free(es->yn_instruction);
	lb_free(es->yn_system);
	theory_set_release(&es->th);
	cfg_release(&es->cfg);
	memset(es, 0, sizeof(*es));
}

int eval_state_load(const struct workload *wl, struct eval_state *es, struct lb_error *err)
{
	struct pctx c = { .wl_path = wl->path ? wl->path : "workload",
			  .wl_dir_base = wl->path,
			  .err = err };
	size_t i;
	int rc;

	memset(es, 0, sizeof(*es));
	rc = parse_cfg(&c, wl->eval_json, &es->cfg);
	if (rc)
		return rc;
	for (i = 0; !rc && eval_table[i]; i++)
		if (eval_table[i]->load && eval_table[i]->on(&es->cfg))
			rc = eval_table[i]->load(es, err);
	if (rc) {
		if (err->code != LB_ERR_NOMEM)
			err->code = LB_ERR_USAGE;
		eval_state_release(es);
		return err->code;
	}
	return 0;
}
