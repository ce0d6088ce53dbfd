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

static int push(struct yn_set *out, const char *id, const char *q, const char *a, const char *kn,
		bool hallucinated, struct lb_error *err)
{
	struct yn_item *it, *nv;

	nv = lb_realloc(out->v, (out->n + 1) * sizeof(*nv));
	if (!nv)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	out->v = nv;
	it = &out->v[out->n++];
	memset(it, 0, sizeof(*it));
	it->id = lb_strdup(id);
	it->question = lb_strdup(q);
	it->answer = lb_strdup(a);
	it->knowledge = kn ? lb_strdup(kn) : NULL;
	it->hallucinated = hallucinated;
	if (!it->id || !it->question || !it->answer || (kn && !it->knowledge))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	return 0;
}

static int add_item(struct yn_set *out, const cJSON *j, long line, struct lb_error *err)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "question");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "answer");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hallucinated");
	const cJSON *kn = cJSON_GetObjectItemCaseSensitive(j, "knowledge");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(j, "right_answer");
	const cJSON *ha = cJSON_GetObjectItemCaseSensitive(j, "hallucinated_answer");
	char idb[64];

	if (ra || ha) {
		/* HaluEval's qa_data.json line: both answers, as two items */
		int rc;

		snprintf(idb, sizeof(idb), "%ld-right", line);
		rc = push(out, idb, q->valuestring, ra->valuestring, kn ? kn->valuestring : NULL,
			  false, err);
		snprintf(idb, sizeof(idb), "%ld-hallucinated", line);
		return rc ? rc
			  : push(out, idb, q->valuestring, ha->valuestring,
				 kn ? kn->valuestring : NULL, true, err);
	}
	snprintf(idb, sizeof(idb), "%ld", line);
	return push(out, cJSON_IsString(id) ? id->valuestring : idb, q->valuestring, a->valuestring,
		    kn ? kn->valuestring : NULL, cJSON_IsTrue(h), err);
}

int yn_load(const char *path, long limit, struct yn_set *out, struct lb_error *err)
{
	static const char *const keys[] = { "id",
					    "question",
					    "answer",
					    "knowledge",
					    "hallucinated",
					    "right_answer",
					    "hallucinated_answer",
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
		const cJSON *k, *q, *a, *h, *kn, *ra, *ha;
		cJSON *j;

		pos += len + (nl != NULL);
		line++;
		for (i = 0; i < len && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'); i++)
			;
		if (i == len || l[i] == '#')
			continue;
		j = cJSON_ParseWithLength(l, len);
		if (!j) {
			rc = lb_error_set(err, LB_ERR_PARSE, "'%s':%ld: malformed JSON", path,
					  line);
			break;
		}
		q = cJSON_GetObjectItemCaseSensitive(j, "question");
		a = cJSON_GetObjectItemCaseSensitive(j, "answer");
		h = cJSON_GetObjectItemCaseSensitive(j, "hallucinated");
		kn = cJSON_GetObjectItemCaseSensitive(j, "knowledge");
		ra = cJSON_GetObjectItemCaseSensitive(j, "right_answer");
		ha = cJSON_GetObjectItemCaseSensitive(j, "hallucinated_answer");
		cJSON_ArrayForEach(k, j)
		{
			for (i = 0; keys[i] && strcmp(k->string ? k->string : "", keys[i]); i++)
				;
			if (!keys[i]) {
				rc = lb_error_set(
					err, LB_ERR_PARSE,
					"'%s':%ld: unknown key '%s' (valid: id, question, "
					"answer, knowledge, hallucinated, right_answer, "
					"hallucinated_answer)",
					path, line, k->string ? k->string : "");
				break;
			}
		}
		if (!rc && (ra || ha) &&
		    (!cJSON_IsString(q) || !cJSON_IsString(ra) || !cJSON_IsString(ha) || a || h ||
		     (kn && !cJSON_IsString(kn))))
			rc = lb_error_set(
				err, LB_ERR_PARSE,
				"'%s':%ld: a HaluEval line needs 'question', 'right_answer' "
				"and 'hallucinated_answer' (strings), without 'answer' and "
				"'hallucinated'",
				path, line);
		else if (!rc && !ra && !ha &&
			 (!cJSON_IsString(q) || !cJSON_IsString(a) || !cJSON_IsBool(h) ||
			  (kn && !cJSON_IsString(kn))))
			rc = lb_error_set(
				err, LB_ERR_PARSE,
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
