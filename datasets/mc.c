/* mc.c: TruthfulQA's multiple-choice JSON layout (see mc.h). */
#include "mc.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define MC_MAX_CHOICES 256

static void choices_free(struct mc_choice *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		lb_free(v[i].text);
	lb_free(v);
}

static void item_release(struct mc_item *it)
{
	lb_free(it->id);
	lb_free(it->question);
	choices_free(it->mc1, it->n_mc1);
	choices_free(it->mc2, it->n_mc2);
	memset(it, 0, sizeof(*it));
}

void mc_set_release(struct mc_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		item_release(&s->v[i]);
	lb_free(s->v);
	memset(s, 0, sizeof(*s));
}

static int label_of(const cJSON *v, bool *out)
{
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v);
		return 0;
	}
	if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) {
		*out = v->valuedouble == 1;
		return 0;
	}
	return -1;
}

/* Parse one targets object into *out / *n. */
static int parse_targets(const cJSON *t, const char *path, const char *id, const char *key,
			 struct mc_choice **out, size_t *n, struct lb_error *err)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(t, "choices");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(t, "labels");
	const cJSON *e, *src;
	size_t cnt, i = 0;

	*out = NULL;
	*n = 0;
	if (!cJSON_IsObject(t))
		return lb_error_set(err, LB_ERR_PARSE,
				    "'%s': item '%s': '%s' must be an object mapping each choice "
				    "to 1 (true) or 0 (false)",
				    path, id, key);
	if (cJSON_IsArray(choices) && cJSON_IsArray(labels)) {
		cnt = (size_t)cJSON_GetArraySize(choices);
		if ((size_t)cJSON_GetArraySize(labels) != cnt)
			return lb_error_set(err, LB_ERR_PARSE,
					    "'%s': item '%s': '%s': %zu choices but %d labels",
					    path, id, key, cnt, cJSON_GetArraySize(labels));
	} else {
		choices = NULL;
		cnt = (size_t)cJSON_GetArraySize(t);
	}
	if (cnt < 2 || cnt > MC_MAX_CHOICES)
		return lb_error_set(err, LB_ERR_PARSE,
				    "'%s': item '%s': '%s' needs 2 to %d choices, has %zu", path,
				    id, key, MC_MAX_CHOICES, cnt);
	*out = lb_calloc(cnt, sizeof(**out));
	if (!*out)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	src = choices ? choices : t;
	cJSON_ArrayForEach(e, src)
	{
		const char *text = choices ? (cJSON_IsString(e) ? e->valuestring : NULL)
					   : e->string;
		const cJSON *lab = choices ? cJSON_GetArrayItem(labels, (int)i) : e;

		if (!text || !text[0])
			return lb_error_set(err, LB_ERR_PARSE,
					    "'%s': item '%s': '%s': choice %zu is not a non-empty "
					    "string",
					    path, id, key, i + 1);
		if (label_of(lab, &(*out)[i].is_true))
			return lb_error_set(
				err, LB_ERR_PARSE,
				"'%s': item '%s': '%s': the label of choice '%.80s' must "
				"be 1 or 0",
				path, id, key, text);
		(*out)[i].text = lb_strdup(text);
		if (!(*out)[i].text)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		*n = ++i;
	}
	return 0;
}

static size_t count_true(const struct mc_choice *v, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += v[i].is_true;
	return k;
}

static int parse_item(const cJSON *o, size_t idx, const char *path, struct mc_item *it,
		      struct lb_error *err)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "question");
	const cJSON *t1 = cJSON_GetObjectItemCaseSensitive(o, "mc1_targets");
	const cJSON *t2 = cJSON_GetObjectItemCaseSensitive(o, "mc2_targets");
	char buf[64];
	int rc;

	memset(it, 0, sizeof(*it));
	if (cJSON_IsString(id) && id->valuestring[0])
		snprintf(buf, sizeof(buf), "%.63s", id->valuestring);
	else
		snprintf(buf, sizeof(buf), "%zu", idx + 1);
	it->id = lb_strdup(buf);
	if (!it->id)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	if (!cJSON_IsObject(o))
		return lb_error_set(err, LB_ERR_PARSE, "'%s': item %zu must be an object", path,
				    idx + 1);
	if (!cJSON_IsString(q) || !q->valuestring[0])
		return lb_error_set(err, LB_ERR_PARSE,
				    "'%s': item '%s': 'question' is required (a string)", path,
				    it->id);
	if (!(it->question = lb_strdup(q->valuestring)))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	if (!t1)
		return lb_error_set(err, LB_ERR_PARSE, "'%s': item '%s': 'mc1_targets' is required",
				    path, it->id);
	rc = parse_targets(t1, path, it->id, "mc1_targets", &it->mc1, &it->n_mc1, err);
	if (rc)
		return rc;
	if (count_true(it->mc1, it->n_mc1) != 1)
		return lb_error_set(err, LB_ERR_PARSE,
				    "'%s': item '%s': 'mc1_targets' must have exactly one true "
				    "choice, has %zu",
				    path, it->id, count_true(it->mc1, it->n_mc1));
	if (t2) {
		rc = parse_targets(t2, path, it->id, "mc2_targets", &it->mc2, &it->n_mc2, err);
		if (rc)
			return rc;
		if (!count_true(it->mc2, it->n_mc2) || count_true(it->mc2, it->n_mc2) == it->n_mc2)
			return lb_error_set(err, LB_ERR_PARSE,
					    "'%s': item '%s': 'mc2_targets' needs true and false "
					    "choices",
					    path, it->id);
	}
	return 0;
}

int mc_parse(const char *text, size_t len, const char *path, long limit, struct mc_set *out,
	     struct lb_error *err)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *o;
	size_t idx = 0;
	int rc = 0;

	if (!root) {
		const char *ep = cJSON_GetErrorPtr();
		long line = 1;
		const char *p;

		for (p = text; ep && p < ep && p < text + len; p++)
			line += *p == '\n';
		return lb_error_set(err, LB_ERR_PARSE, "'%s':%ld: malformed JSON", path, line);
	}
	if (!cJSON_IsArray(root)) {
		rc = lb_error_set(err, LB_ERR_PARSE,
				  "'%s': expected a JSON array of items (TruthfulQA's mc_task.json "
				  "layout)",
				  path);
		goto out;
	}
	cJSON_ArrayForEach(o, root)
	{
		struct mc_item it;

		if (limit > 0 && (long)idx >= limit)
			break;
		if (out->n == out->alloc) {
			size_t na = out->alloc ? out->alloc * 2 : 32;
			struct mc_item *v = lb_realloc(out->v, na * sizeof(*v));

			if (!v) {
				rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
				goto out;
			}
			out->v = v;
			out->alloc = na;
		}
		rc = parse_item(o, idx, path, &it, err);
		if (rc) {
			item_release(&it);
			goto out;
		}
		out->v[out->n++] = it;
		idx++;
	}
	if (!idx)
		rc = lb_error_set(err, LB_ERR_USAGE, "'%s': no multiple-choice items", path);
out:
	cJSON_Delete(root);
	return rc;
}

int mc_load(const char *path, long limit, struct mc_set *out, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	rc = strbuf_read_file(&sb, path, MC_MAX_BYTES, err);
	if (!rc)
		rc = mc_parse(sb.buf, sb.len, path, limit, out, err);
	strbuf_release(&sb);
	return rc;
}

char *mc_context(const char *primer, const char *question)
{
	size_t pl = primer ? strlen(primer) : 0, ql = strlen(question);
	char *s = lb_malloc(pl + ql + 16), *p;

	if (!s)
		return NULL;
	p = s;
	if (pl) {
		memcpy(p, primer, pl);
		p += pl;
		memcpy(p, "\n\n", 2);
		p += 2;
	}
	memcpy(p, "Q: ", 3);
	p += 3;
	memcpy(p, question, ql);
	p += ql;
	memcpy(p, "\nA:", 4);
	p[4] = 0;
	return s;
}

char *mc_continuation(const char *choice)
{
	size_t n = strlen(choice);
	char *s = lb_malloc(n + 2);

	if (!s)
		return NULL;
	s[0] = ' ';
	memcpy(s + 1, choice, n + 1);
	return s;
}

size_t mc_char_len(const char *s)
{
	size_t n = 0, len = strlen(s), i = 0;

	while (i < len) {
		size_t k = lb_utf8_len((const unsigned char *)s + i, len - i);

		i += k ? k : 1;
		n++;
	}
	return n;
}
