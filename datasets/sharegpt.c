/* sharegpt.c: the "sharegpt" dataset format: a JSON array of
 *   {"id": ..., "conversations": [{"from": "human"|"gpt"|"system", "value": "..."}, ...]}
 * prompt = the first human turn, reference = the first model reply after it, messages = the
 * system turns before it and that turn. Entries without a (non-empty) human turn are skipped
 * and counted in items->skipped. */
#include "dataset.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include "../base/jsoncfg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SHAREGPT_MAX_BYTES (1u << 30)

#define line_col jsoncfg_line_col

static int is_human(const char *from)
{
	return !strcmp(from, "human") || !strcmp(from, "user");
}

static int is_model(const char *from)
{
	return !strcmp(from, "gpt") || !strcmp(from, "assistant") || !strcmp(from, "chatgpt") ||
	       !strcmp(from, "bing") || !strcmp(from, "bard") || !strcmp(from, "model");
}

/* One entry: add an item, or count it as skipped. */
static int sharegpt_entry(const char *path, int index, const cJSON *e, struct lb_items *out,
			  struct lb_error *err)
{
	const cJSON *conv = cJSON_GetObjectItemCaseSensitive(e, "conversations");
	const cJSON *jid = cJSON_GetObjectItemCaseSensitive(e, "id");
	const cJSON *t, *human = NULL;
	const char *reference = NULL, *id;
	struct strbuf msgs = STRBUF_INIT;
	char idbuf[64];
	int i = 0, rc = 0;

	if (!cJSON_IsObject(e) || !cJSON_IsArray(conv))
		return lb_error_set(
			err, LB_ERR_PARSE,
			"'%s': [%d]: expected an object with 'conversations' (an array of "
			"{\"from\", \"value\"})",
			path, index);
	cJSON_ArrayForEach(t, conv)
	{
		const cJSON *from = cJSON_GetObjectItemCaseSensitive(t, "from");
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(t, "value");

		if (!cJSON_IsObject(t) || !cJSON_IsString(from) || !cJSON_IsString(value))
			return lb_error_set(err, LB_ERR_PARSE,
					    "'%s': [%d].conversations[%d]: expected an object with "
					    "'from' (string) and 'value' (string)",
					    path, index, i);
		i++;
		if (!human) {
			if (is_human(from->valuestring) && *value->valuestring)
				human = t;
		} else if (!reference && is_model(from->valuestring)) {
			reference = value->valuestring;
		}
	}
	if (!human) {
		out->skipped++;
		return 0;
	}
	if (cJSON_IsString(jid)) {
		id = jid->valuestring;
	} else if (cJSON_IsNumber(jid)) {
		snprintf(idbuf, sizeof(idbuf), "%.17g", jid->valuedouble);
		id = idbuf;
	} else {
		snprintf(idbuf, sizeof(idbuf), "%d", index);
		id = idbuf;
	}
	/* messages: the system turns before the first human turn, then that turn */
	if (strbuf_addch(&msgs, '['))
		goto nomem;
	cJSON_ArrayForEach(t, conv)
	{
		const char *from = cJSON_GetObjectItemCaseSensitive(t, "from")->valuestring;
		const char *value = cJSON_GetObjectItemCaseSensitive(t, "value")->valuestring;
		int last = t == human;

		if (!last && strcmp(from, "system"))
			continue;
		if (strbuf_addf(&msgs, "{\"role\":\"%s\",\"content\":", last ? "user" : "system") ||
		    strbuf_add_json_str(&msgs, value, strlen(value)) || strbuf_addch(&msgs, '}') ||
		    (!last && strbuf_addch(&msgs, ',')))
			goto nomem;
		if (last)
			break;
	}
	if (strbuf_addch(&msgs, ']'))
		goto nomem;
	rc = lb_items_add(out, id, cJSON_GetObjectItemCaseSensitive(human, "value")->valuestring,
			  msgs.buf, reference);
	if (rc)
		goto nomem;
	strbuf_release(&msgs);
	return 0;
nomem:
	strbuf_release(&msgs);
	return lb_error_set(err, LB_ERR_NOMEM, "out of memory loading '%s'", path);
}

static int sharegpt_load(const char *path, long limit, struct lb_items *out, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	const char *end = NULL, *nul;
	size_t added = 0, before = out->n;
	const cJSON *e;
	cJSON *root = NULL;
	long line, col;
	FILE *f;
	int rc, index = 0;

	f = fopen(path, "rb"); /* a missing file is the user's to fix: a usage error */
	if (!f)
		return lb_error_set(err, LB_ERR_USAGE, "cannot open dataset '%s': %s", path,
				    strerror(errno));
	fclose(f);
	rc = strbuf_read_file(&sb, path, SHAREGPT_MAX_BYTES, err);
	if (rc)
		goto out;
	nul = memchr(sb.buf, 0, sb.len);
	if (nul) {
		line_col(sb.buf, (size_t)(nul - sb.buf), &line, &col);
		rc = lb_error_set(err, LB_ERR_PARSE,
				  "'%s':%ld: column %ld holds a NUL byte (expected text)", path,
				  line, col);
		goto out;
	}
	root = cJSON_ParseWithOpts(sb.buf, &end, 1);
	if (!root) {
		size_t off = end && end >= sb.buf && end <= sb.buf + sb.len ? (size_t)(end - sb.buf)
									    : 0;

		line_col(sb.buf, off, &line, &col);
		rc = lb_error_set(err, LB_ERR_PARSE, "'%s':%ld: malformed JSON at column %ld", path,
				  line, col);
		goto out;
	}
	if (!cJSON_IsArray(root)) {
		rc = lb_error_set(
			err, LB_ERR_PARSE,
			"'%s': expected a JSON array of {\"id\", \"conversations\"} objects "
			"(ShareGPT)",
			path);
		goto out;
	}
	cJSON_ArrayForEach(e, root)
	{
		if (limit > 0 && added >= (size_t)limit)
			break;
		rc = sharegpt_entry(path, index, e, out, err);
		if (rc)
			goto out;
		index++;
		added = out->n - before;
	}
out:
	cJSON_Delete(root);
	strbuf_release(&sb);
	return rc;
}

const struct dataset_ops sharegpt_dataset_ops = {
	.format = "sharegpt",
	.load = sharegpt_load,
};
