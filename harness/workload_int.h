/* workload_int.h: what the parts of the workload parser share (workload.c: the pool, messages,
 * typed getters, paths and the top level; workload_backends.c: backends and the models matrix;
 * workload_load.c: dataset, generation, load, slo, perplexity; workload_set.c: --set overrides).
 * Internal to harness/workload*.c. */
#ifndef LB_HARNESS_WORKLOAD_INT_H
#define LB_HARNESS_WORKLOAD_INT_H

#include "workload.h"

#include "../base/error.h"
#include "../base/jsoncfg.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define WL_MAX_BACKENDS 1024
#define WL_MAX_LEVELS 1024
#define WL_MAX_CONCURRENCY 100000
#define WL_MAX_RATE 1e6
#define WL_MIN_RATE 1e-3              /* one request every 1000 s: slower would wait for days */
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

#define kind jsoncfg_kind
#define item jsoncfg_item
#define join_list jsoncfg_join
#define line_col jsoncfg_line_col

/* workload.c: the string pool (every string the workload hands out) */
char *wl_pool_take(struct wl_ctx *c, char *p);
char *wl_pool_strdup(struct wl_ctx *c, const char *s);
char *wl_pool_printf(struct wl_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* workload.c: messages and typed getters (base/jsoncfg.h with the workload's file named) */
void wl_field(char *buf, const char *parent, const char *key);
int wl_fail(struct wl_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int wl_expected(struct wl_ctx *c, const char *path, const char *what, const cJSON *got);
int wl_check_keys(struct wl_ctx *c, const cJSON *obj, const char *path, const char *const *valid);
int wl_object_at(struct wl_ctx *c, const cJSON *v, const char *path);
int wl_get_string(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
		  bool required, const char **out);
int wl_get_enum(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
		const char *const *valid, const char **out);
int wl_get_bool(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key, bool *out);
int wl_get_int(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key, double min,
	       double max, double *out, bool *present);
int wl_get_long(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key, long min,
		long max, long *out);
int wl_get_i(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key, int min,
	     int *out);
enum num_min {
	NUM_POSITIVE,
	NUM_NON_NEGATIVE
};
/* A finite number > 0 or >= 0, at most max. */
int wl_get_num(struct wl_ctx *c, const cJSON *obj, const char *parent, const char *key,
	       enum num_min min, double max, double *out, bool *present);

/* workload.c: a path as given, beside the workload file or in the share directory */
int wl_resolve_path(struct wl_ctx *c, const char *given, const char **out, const char **tried,
		    bool *found);

/* workload_backends.c */
int wl_parse_backends(struct wl_ctx *c, const cJSON *root);
bool wl_printable(const char *s);

/* workload_load.c */
int wl_parse_perplexity(struct wl_ctx *c, const cJSON *root);
int wl_parse_generation(struct wl_ctx *c, const cJSON *root);
int wl_parse_dataset(struct wl_ctx *c, const cJSON *root);
int wl_parse_load(struct wl_ctx *c, const cJSON *root);
int wl_parse_slo(struct wl_ctx *c, const cJSON *root);

/* workload_sessions.c: modes sessions and session_rate (sets *rate for session_rate) */
int wl_parse_sessions(struct wl_ctx *c, const cJSON *l, bool *rate);

/* workload_set.c */
int wl_apply_set(struct wl_ctx *c, cJSON *root, const char *set);

#endif
