/* jsoncfg.h: the one strict reader of JSON configuration (workloads, eval, power and gate
 * sections, dataset specs): unknown and duplicate keys refused with the valid ones listed and a
 * "did you mean", every value checked for its kind and range, malformed text located by
 * line:column. Every message is one line that names the file (when known), the field's dotted
 * path and what was expected, e.g.
 *     'w.json': load.requests: expected a positive integer, got "10"
 *     'w.json': unknown key 'levle' in load (valid: mode, levels, ...); did you mean 'levels'?
 * A JSON null counts as absent. Includes libc and cJSON only. */
#ifndef LB_JSONCFG_H
#define LB_JSONCFG_H

#include "error.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define JSONCFG_PATH_MAX 256

struct jsoncfg {
	const char *file;     /* borrowed; NULL: messages carry no file prefix */
	struct lb_error *err; /* borrowed; filled on failure */
};

/* Parse text (len bytes, need not be NUL-terminated) into *out (caller frees with
 * cJSON_Delete). Malformed JSON: LB_ERR_PARSE "'file': malformed JSON at line L, column C". */
int jsoncfg_parse(struct jsoncfg *c, const char *text, size_t len, cJSON **out);

/* 1-based line and column of byte off in text. This function can't fail. */
void jsoncfg_line_col(const char *text, size_t off, long *line, long *col);

/* "a string", "a number", "a boolean", "null", "an array", "an object". Can't fail. */
const char *jsoncfg_kind(const cJSON *v);

/* "parent.key" (or "key" when parent is "") into buf of JSONCFG_PATH_MAX bytes. */
void jsoncfg_path(char *buf, const char *parent, const char *key);

/* "a, b, c" from a NULL-terminated list, cut to len. This function can't fail. */
void jsoncfg_join(char *buf, size_t len, const char *const *list);

/* obj's member key, NULL when absent or null. */
const cJSON *jsoncfg_item(const cJSON *obj, const char *key);

/* LB_ERR_USAGE "'file': <message>"; returns the code. */
int jsoncfg_fail(struct jsoncfg *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "<path>: expected <what>, got <kind or number>". */
int jsoncfg_expected(struct jsoncfg *c, const char *path, const char *what, const cJSON *got);

/* Unknown or duplicate keys of obj at path ("" for the top level); valid is NULL-terminated. */
int jsoncfg_check_keys(struct jsoncfg *c, const cJSON *obj, const char *path,
		       const char *const *valid);
/* v must be an object. */
int jsoncfg_object(struct jsoncfg *c, const cJSON *v, const char *path);

/* Typed getters of obj[key] at parent. Absent (or null): 0 and *out untouched, *present (may
 * be NULL) false; "required" getters fail instead. Strings are borrowed from obj. */
int jsoncfg_string(struct jsoncfg *c, const cJSON *obj, const char *parent, const char *key,
		   bool required, const char **out);
int jsoncfg_enum(struct jsoncfg *c, const cJSON *obj, const char *parent, const char *key,
		 const char *const *valid, const char **out);
int jsoncfg_bool(struct jsoncfg *c, const cJSON *obj, const char *parent, const char *key,
		 bool *out);
/* An integer in [min, max]. */
int jsoncfg_int(struct jsoncfg *c, const cJSON *obj, const char *parent, const char *key,
		double min, double max, double *out, bool *present);
/* A finite number in [lo, hi], or (lo, hi] when lo_open. */
int jsoncfg_num(struct jsoncfg *c, const cJSON *obj, const char *parent, const char *key, double lo,
		bool lo_open, double hi, double *out, bool *present);

#endif
