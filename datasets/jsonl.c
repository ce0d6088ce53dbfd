/* jsonl.c: the "jsonl" dataset format: one JSON object per line,
 *   {"id": ..., "prompt": "text"}  or  {"id": ..., "messages": [{"role", "content"}, ...]}
 * with an optional "reference" (or "answer"). Blank lines are skipped; other keys are ignored. */
#include "dataset.h"
#include "lineread.h"

#include "../base/alloc.h"
#include "../base/jsoncfg.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Scalar as text into buf (strings as is, numbers without a needless fraction); NULL when v is
 * neither a string nor a number. */
static const char *scalar_text(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0)
			snprintf(buf, len, "%.0f", d);
		else
			snprintf(buf, len, "%.17g", d);
		return buf;
	}
	return NULL;
}

/* messages: check the array and return the content of its last user message (borrowed). */
static int messages_prompt(const char *path, long lineno, const cJSON *msgs, const char **prompt,
			   struct lb_error *err)
{
	const cJSON *m;
	int i = 0;

	*prompt = NULL;
	if (!cJSON_IsArray(msgs) || !cJSON_GetArraySize(msgs))
		return lb_error_set(err, LB_ERR_PARSE,
				    "'%s':%ld: 'messages' must be a non-empty array of {\"role\", "
				    "\"content\"} objects, got %s",
				    path, lineno,
				    cJSON_IsArray(msgs) ? "an empty array" : jsoncfg_kind(msgs));
	cJSON_ArrayForEach(m, msgs)
	{
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");

		if (!cJSON_IsObject(m) || !cJSON_IsString(role) || !cJSON_IsString(content))
			return lb_error_set(
				err, LB_ERR_PARSE,
				"'%s':%ld: messages[%d]: expected an object with 'role' "
				"(string) and 'content' (string)",
				path, lineno, i);
		if (!strcmp(role->valuestring, "user"))
			*prompt = content->valuestring;
		i++;
	}
	if (!*prompt)
		return lb_error_set(err, LB_ERR_PARSE,
				    "'%s':%ld: 'messages' has no message with role 'user'", path,
				    lineno);
	return 0;
}

static int jsonl_line(const char *path, long lineno, const char *line, size_t len,
		      struct lb_items *out, struct lb_error *err)
{
	const char *end = NULL, *prompt = NULL, *id, *ref = NULL;
	const cJSON *jp, *jm, *jid, *jref;
	char idbuf[64], refbuf[64];
	char *msgs_text = NULL, *ref_text = NULL;
	cJSON *obj;
	int rc = 0;

	obj = cJSON_ParseWithOpts(line, &end, 1);
	if (!obj) {
		size_t col = end && end >= line && end <= line + len ? (size_t)(end - line) + 1 : 1;

		return lb_error_set(err, LB_ERR_PARSE, "'%s':%ld: malformed JSON at column %zu",
				    path, lineno, col);
	}
	if (!cJSON_IsObject(obj)) {
		rc = lb_error_set(err, LB_ERR_PARSE,
				  "'%s':%ld: expected a JSON object with 'prompt' (string) or "
				  "'messages' (array), got %s",
				  path, lineno, jsoncfg_kind(obj));
		goto out;
	}
	jp = cJSON_GetObjectItemCaseSensitive(obj, "prompt");
	jm = cJSON_GetObjectItemCaseSensitive(obj, "messages");
	if (jp && !cJSON_IsString(jp)) {
		rc = lb_error_set(err, LB_ERR_PARSE, "'%s':%ld: 'prompt' must be a string, got %s",
				  path, lineno, jsoncfg_kind(jp));
		goto out;
	}
	if (jm) {
		rc = messages_prompt(path, lineno, jm, &prompt, err);
		if (rc)
			goto out;
		msgs_text = cJSON_PrintUnformatted(jm);
		if (!msgs_text) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory loading '%s'", path);
			goto out;
		}
	}
	if (jp)
		prompt = jp->valuestring;
	if (!prompt) {
		rc = lb_error_set(err, LB_ERR_PARSE,
				  "'%s':%ld: expected 'prompt' (string) or 'messages' (array of "
				  "{\"role\", \"content\"})",
				  path, lineno);
		goto out;
	}
	if (!*prompt) {
		rc = lb_error_set(err, LB_ERR_PARSE, "'%s':%ld: the prompt is empty", path, lineno);
		goto out;
	}
	jid = cJSON_GetObjectItemCaseSensitive(obj, "id");
	id = jid && !cJSON_IsNull(jid) ? scalar_text(jid, idbuf, sizeof(idbuf)) : NULL;
	if (jid && !cJSON_IsNull(jid) && !id) {
		rc = lb_error_set(err, LB_ERR_PARSE,
				  "'%s':%ld: 'id' must be a string or a number, got %s", path,
				  lineno, jsoncfg_kind(jid));
		goto out;
	}
	if (!id) {
		snprintf(idbuf, sizeof(idbuf), "%ld", lineno);
		id = idbuf;
	}
	jref = cJSON_GetObjectItemCaseSensitive(obj, "reference");
	if (!jref || cJSON_IsNull(jref))
		jref = cJSON_GetObjectItemCaseSensitive(obj, "answer");
	if (jref && !cJSON_IsNull(jref)) {
		ref = scalar_text(jref, refbuf, sizeof(refbuf));
		if (!ref) { /* arrays, objects, booleans: kept as JSON text */
			ref_text = cJSON_PrintUnformatted(jref);
			if (!ref_text) {
				rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory loading '%s'",
						  path);
				goto out;
			}
			ref = ref_text;
		}
	}
	if (lb_items_add(out, id, prompt, msgs_text, ref))
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory loading '%s'", path);
out:
	cJSON_free(msgs_text);
	cJSON_free(ref_text);
	cJSON_Delete(obj);
	return rc;
}

static int jsonl_load(const char *path, long limit, struct lb_items *out, struct lb_error *err)
{
	struct lineread r;
	char *line;
	size_t len, i, added = 0;
	int rc;

	rc = lineread_open(&r, path, err);
	if (rc)
		return rc;
	while (limit <= 0 || added < (size_t)limit) {
		rc = lineread_next(&r, &line, &len, err);
		if (rc <= 0)
			break;
		for (i = 0; i < len && strchr(" \t\r\v\f", line[i]); i++)
			;
		if (i == len)
			continue;
		rc = jsonl_line(path, r.lineno, line, len, out, err);
		if (rc)
			break;
		added++;
	}
	lineread_close(&r);
	return rc < 0 ? rc : 0;
}

const struct dataset_ops jsonl_dataset_ops = {
	.format = "jsonl",
	.load = jsonl_load,
};
