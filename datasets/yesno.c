/* yesno.c: HaluEval-style Yes/No items (see yesno.h). */
#include "yesno.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

void yn_set_release(struct yn_set *s)
{
	size_t i;

	for (i = 0; s && i < s->n; i++) {
		lb_free(s->v[i].id);
		lb_free(s->v[i].question);
		lb_free(s->v[i].answer);
		lb_free(s->v[i].knowledge);
	}
	if (s) {
		lb_free(s->v);
		memset(s, 0, sizeof(*s));
	}
}

static int add_item(struct yn_set *out, const cJSON *j, long line, struct lb_error *err)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "question");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "answer");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hallucinated");
	const cJSON *kn = cJSON_GetObjectItemCaseSensitive(j, "knowledge");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	struct yn_item *it, *nv;
	char idb[32];

	nv = lb_realloc(out->v, (out->n + 1) * sizeof(*nv));
	if (!nv)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	out->v = nv;
	it = &out->v[out->n++];
	memset(it, 0, sizeof(*it));
	snprintf(idb, sizeof(idb), "%ld", line);
	it->id = lb_strdup(cJSON_IsString(id) ? id->valuestring : idb);
	it->question = lb_strdup(q->valuestring);
	it->answer = lb_strdup(a->valuestring);
	it->knowledge = kn ? lb_strdup(kn->valuestring) : NULL;
	it->hallucinated = cJSON_IsTrue(h);
	if (!it->id || !it->question || !it->answer || (kn && !it->knowledge))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	return 0;
}

int yn_load(const char *path, long limit, struct yn_set *out, struct lb_error *err)
{
	static const char *const keys[] = { "id", "question", "answer", "knowledge", "hallucinated",
					    NULL };
	struct strbuf sb = STRBUF_INIT;
	size_t pos = 0;
	long line = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = strbuf_read_file(&sb, path, 16u << 20, err);
	while (!rc && pos < sb.len && (limit <= 0 || (long)out->n < limit)) {
		char *nl = memchr(sb.buf + pos, '\n', sb.len - pos), *l = sb.buf + pos;
		size_t len = nl ? (size_t)(nl - l) : sb.len - pos, i;
		const cJSON *k, *q, *a, *h, *kn;
		cJSON *j;

		pos += len + (nl != NULL);
		line++;
		for (i = 0; i < len && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'); i++)
			;
		if (i == len || l[i] == '#')
			continue;
		j = cJSON_ParseWithLength(l, len);
		if (!j) {
			rc = lb_error_set(err, LB_ERR_PARSE, "'%s':%ld: malformed JSON", path, line);
			break;
		}
		q = cJSON_GetObjectItemCaseSensitive(j, "question");
		a = cJSON_GetObjectItemCaseSensitive(j, "answer");
		h = cJSON_GetObjectItemCaseSensitive(j, "hallucinated");
		kn = cJSON_GetObjectItemCaseSensitive(j, "knowledge");
		cJSON_ArrayForEach(k, j)
		{
			for (i = 0; keys[i] && strcmp(k->string ? k->string : "", keys[i]); i++)
				;
			if (!keys[i]) {
				rc = lb_error_set(err, LB_ERR_PARSE,
						  "'%s':%ld: unknown key '%s' (valid: id, question, "
						  "answer, knowledge, hallucinated)",
						  path, line, k->string ? k->string : "");
				break;
			}
		}
		if (!rc && (!cJSON_IsString(q) || !cJSON_IsString(a) || !cJSON_IsBool(h) ||
			    (kn && !cJSON_IsString(kn))))
			rc = lb_error_set(err, LB_ERR_PARSE,
					  "'%s':%ld: an item needs 'question' and 'answer' (strings) "
					  "and 'hallucinated' (true or false)",
					  path, line);
		if (!rc)
			rc = add_item(out, j, line, err);
		cJSON_Delete(j);
	}
	if (!rc && !out->n)
		rc = lb_error_set(err, LB_ERR_USAGE, "'%s': no Yes/No items", path);
	if (rc)
		yn_set_release(out);
	strbuf_release(&sb);
	return rc;
}
