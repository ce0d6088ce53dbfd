/* jsoncfg.c: the strict JSON configuration reader (jsoncfg.h). */
#include "jsoncfg.h"

#include "alloc.h"
#include "suggest.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h" /* last: after the system headers */

void jsoncfg_line_col(const char *text, size_t off, long *line, long *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

const char *jsoncfg_kind(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "an invalid value";
}

void jsoncfg_path(char *buf, const char *parent, const char *key)
{
	snprintf(buf, JSONCFG_PATH_MAX, "%s%s%s", parent, *parent ? "." : "", key);
}

const cJSON *jsoncfg_item(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return v && !cJSON_IsNull(v) ? v : NULL;
}

int jsoncfg_fail(struct jsoncfg *c, const char *fmt, ...)
{
	char msg[LB_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->file)
		return lb_error_set(c->err, LB_ERR_USAGE, "'%s': %s", c->file, msg);
	return lb_error_set(c->err, LB_ERR_USAGE, "%s", msg);
}

int jsoncfg_expected(struct jsoncfg *c, const char *path, const char *what, const cJSON *got)
{
	if (cJSON_IsNumber(got))
		return jsoncfg_fail(c, "%s: expected %s, got %g", path, what, got->valuedouble);
	return jsoncfg_fail(c, "%s: expected %s, got %s", path, what, jsoncfg_kind(got));
}

int jsoncfg_parse(struct jsoncfg *c, const char *text, size_t len, cJSON **out)
{
	const char *end = NULL;
	long line, col;
	char *copy;
	cJSON *root;

	*out = NULL;
	copy = lb_malloc(len + 1);
	if (!copy)
		return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory parsing JSON");
	memcpy(copy, text, len);
	copy[len] = 0;
	root = cJSON_ParseWithOpts(copy, &end, 1);
	if (!root) {
		size_t off = end && end >= copy ? (size_t)(end - copy) : 0;

		if (memchr(copy, 0, len))
			off = strlen(copy);
		jsoncfg_line_col(copy, off, &line, &col);
		lb_free(copy);
		if (c->file)
			return lb_error_set(c->err, LB_ERR_PARSE,
					    "'%s': malformed JSON at line %ld, column %ld", c->file,
					    line, col);
		return lb_error_set(c->err, LB_ERR_PARSE, "malformed JSON at line %ld, column %ld",
				    line, col);
	}
	lb_free(copy);
	*out = root;
	return 0;
}

void jsoncfg_join(char *buf, size_t len, const char *const *list)
{
	size_t off = 0;
	int i;

	buf[0] = 0;
	for (i = 0; list[i] && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", list[i]);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

int jsoncfg_check_keys(struct jsoncfg *c, const cJSON *obj, const char *path,
		       const char *const *valid)
{
	const cJSON *k, *k2;
	char list[1024], where[JSONCFG_PATH_MAX + 8], hint[JSONCFG_PATH_MAX];
	int i;

	if (*path)
		snprintf(where, sizeof(where), "in %s", path);
	else
		snprintf(where, sizeof(where), "at the top level");
	cJSON_ArrayForEach(k, obj)
	{
		const char *name = k->string ? k->string : "";

		for (i = 0; valid[i]; i++)
			if (!strcmp(name, valid[i]))
				break;
		if (!valid[i]) {
			const char *near = lb_suggest(name, valid);

			jsoncfg_join(list, sizeof(list), valid);
			hint[0] = 0;
			if (near)
				snprintf(hint, sizeof(hint), "; did you mean '%s'?", near);
			return jsoncfg_fail(c, "unknown key '%s' %s (valid: %s)%s", name, where,
					    list, hint);
		}
		for (k2 = obj->child; k2 != k; k2 = k2->next)
			if (k2->string && !strcmp(k2->string, name))
				return jsoncfg_fail(c, "duplicate key '%s' %s", name, where);
	}
	return 0;
}

int jsoncfg_object(struct jsoncfg *c, const cJSON *v, const char *path)
{
	if (!cJSON_IsObject(v))
		return jsoncfg_expected(c, *path ? path : "the top level", "an object", v);
	return 0;
}

int jsoncfg_string(struct jsoncfg *c, const cJSON *obj, const char *parent, const char *key,
		   bool required, const char **out)
{
	const cJSON *v = jsoncfg_item(obj, key);
	char path[JSONCFG_PATH_MAX];

	jsoncfg_path(path, parent, key);
	if (!v) {
		if (required)
			return jsoncfg_fail(c, "%s is required", path);
		return 0;
	}
	if (!cJSON_IsString(v))
		return jsoncfg_expected(c, path, "a string", v);
	if (!*v->valuestring)
		return jsoncfg_fail(c, "%s: expected a non-empty string", path);
	*out = v->valuestring;
	return 0;
}

int jsoncfg_enum(struct jsoncfg *c, const cJSON *obj, const char *parent, const char *key,
		 const char *const *valid, const char **out)
{
	const char *s = NULL, *near;
	char path[JSONCFG_PATH_MAX], list[512], hint[JSONCFG_PATH_MAX];
	int rc, i;

	rc = jsoncfg_string(c, obj, parent, key, false, &s);
	if (rc || !s)
		return rc;
	for (i = 0; valid[i]; i++)
		if (!strcmp(s, valid[i])) {
			*out = valid[i];
			return 0;
		}
	jsoncfg_path(path, parent, key);
	jsoncfg_join(list, sizeof(list), valid);
	near = lb_suggest(s, valid);
	hint[0] = 0;
	if (near)
		snprintf(hint, sizeof(hint), "; did you mean '%s'?", near);
	return jsoncfg_fail(c, "%s: unknown value '%s' (valid: %s)%s", path, s, list, hint);
}

int jsoncfg_bool(struct jsoncfg *c, const cJSON *obj, const char *parent, const char *key,
		 bool *out)
{
	const cJSON *v = jsoncfg_item(obj, key);
	char path[JSONCFG_PATH_MAX];

	if (!v)
		return 0;
	jsoncfg_path(path, parent, key);
	if (!cJSON_IsBool(v))
		return jsoncfg_expected(c, path, "true or false", v);
	*out = cJSON_IsTrue(v);
	return 0;
}

int jsoncfg_int(struct jsoncfg *c, const cJSON *obj, const char *parent, const char *key,
		double min, double max, double *out, bool *present)
{
	const cJSON *v = jsoncfg_item(obj, key);
	char path[JSONCFG_PATH_MAX], what[96];
	double d;

	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	jsoncfg_path(path, parent, key);
	if (min == 0)
		snprintf(what, sizeof(what), "a non-negative integer");
	else if (min == 1)
		snprintf(what, sizeof(what), "a positive integer");
	else
		snprintf(what, sizeof(what), "an integer >= %.0f", min);
	if (!cJSON_IsNumber(v))
		return jsoncfg_expected(c, path, what, v);
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < min)
		return jsoncfg_expected(c, path, what, v);
	if (d > max)
		return jsoncfg_fail(c, "%s: %g is too large (at most %.0f)", path, d, max);
	*out = d;
	return 0;
}

int jsoncfg_num(struct jsoncfg *c, const cJSON *obj, const char *parent, const char *key, double lo,
		bool lo_open, double hi, double *out, bool *present)
{
	const cJSON *v = jsoncfg_item(obj, key);
	char path[JSONCFG_PATH_MAX], what[96];
	double d;

	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	jsoncfg_path(path, parent, key);
	if (isinf(hi))
		snprintf(what, sizeof(what), "a number %s %g", lo_open ? ">" : ">=", lo);
	else
		snprintf(what, sizeof(what), "a number %s %g and <= %g", lo_open ? ">" : ">=", lo,
			 hi);
	if (lo == 0 && isinf(hi))
		snprintf(what, sizeof(what), "%s number",
			 lo_open ? "a positive" : "a non-negative");
	if (!cJSON_IsNumber(v))
		return jsoncfg_expected(c, path, what, v);
	d = v->valuedouble;
	if (!isfinite(d) || d > hi || (lo_open ? d <= lo : d < lo))
		return jsoncfg_expected(c, path, what, v);
	*out = d;
	return 0;
}
