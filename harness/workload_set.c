/* workload_set.c: --set overrides (dotted paths with array indices, JSON values) applied to the
 * parsed workload before it is checked. Part of the workload parser (workload_int.h). */
#include "workload_int.h"

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
int wl_apply_set(struct wl_ctx *c, cJSON *root, const char *set)
{
	const char *eq = strchr(set, '='), *seg, *end, *value;
	char key[PATH_MAX_LEN], done[PATH_MAX_LEN * 2 + 2];
	cJSON *cur = root, *val;

	if (!eq || eq == set)
		return wl_fail(c, "--set '%s': expected key=value (e.g. load.requests=10)", set);
	if ((size_t)(eq - set) >= sizeof(key))
		return wl_fail(c, "--set: the key is longer than %d bytes", PATH_MAX_LEN - 1);
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
			return wl_fail(c, "--set %s: empty part in the key (expected a.b.c)", key);
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
				return wl_fail(
					c,
					"--set %s: %s is an array: expected an index (0 to %d), "
					"got '%s'",
					key, *done ? done : "the top level", size - 1, name);
			}
			if (idx >= size) {
				cJSON_Delete(val);
				return wl_fail(c, "--set %s: %s has no element %ld (it has %d)",
					       key, *done ? done : "the top level", idx, size);
			}
			next = cJSON_GetArrayItem(cur, (int)idx);
			if (last) {
				cJSON_ReplaceItemViaPointer(cur, next, val);
				return 0;
			}
		} else {
			cJSON_Delete(val);
			return wl_fail(c, "--set %s: %s is %s, not an object or an array", key,
				       *done ? done : "the top level", kind(cur));
		}
		snprintf(done + strlen(done), sizeof(done) - strlen(done), "%s%s", *done ? "." : "",
			 name);
		cur = next;
	}
}
