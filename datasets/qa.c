/* qa.c: the "qa" JSONL format (see qa.h) and its dataset-registry entry. */
#include "qa.h"
#include "dataset.h"

#include "../base/alloc.h"
#include "../base/jsoncfg.h"
#include "../base/strbuf.h"
#include "../base/vec.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define QA_MAX_BYTES (64u << 20)
#define QA_MAX_PATTERNS 64

static const char *const qa_keys[] = { "id",    "question", "answer",     "domain", "correct",
				       "wrong", "abstain",  "answerable", NULL };

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		lb_free(v[i]);
	lb_free(v);
}

static void item_release(struct qa_item *it)
{
	lb_free(it->id);
	lb_free(it->question);
	lb_free(it->answer);
	lb_free(it->domain);
	free_strv(it->correct, it->n_correct);
	free_strv(it->wrong, it->n_wrong);
	free_strv(it->abstain, it->n_abstain);
	memset(it, 0, sizeof(*it));
}

void qa_set_release(struct qa_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		item_release(&s->v[i]);
	lb_free(s->v);
	memset(s, 0, sizeof(*s));
}

struct qa_ctx {
	const char *path;
	long line;
	const char *id; /* for messages, may be NULL */
	struct lb_error *err;
};

static int qa_fail(struct qa_ctx *c, const char *fmt, const char *a, const char *b)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, a, b);
	if (c->id)
		return lb_error_set(c->err, LB_ERR_PARSE, "'%s':%ld: item '%s': %s", c->path,
				    c->line, c->id, msg);
	return lb_error_set(c->err, LB_ERR_PARSE, "'%s':%ld: %s", c->path, c->line, msg);
}

static int get_str(struct qa_ctx *c, const cJSON *o, const char *key, bool required, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (!v) {
		if (required)
			return qa_fail(c, "'%s' is required (a string)%s", key, "");
		return 0;
	}
	if (cJSON_IsNumber(v) && !strcmp(key, "id")) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%.17g", v->valuedouble);
		*out = lb_strdup(buf);
	} else if (!cJSON_IsString(v)) {
		return qa_fail(c, "'%s' must be a string%s", key, "");
	} else {
		if (required && !v->valuestring[0])
			return qa_fail(c, "'%s' must not be empty%s", key, "");
		*out = lb_strdup(v->valuestring);
	}
	if (!*out)
		return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	return 0;
}

static int get_list(struct qa_ctx *c, const cJSON *o, const char *key, char ***out, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *e;
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (!v)
		return 0;
	if (cJSON_IsString(v)) { /* one pattern may be given as a string */
		*out = lb_calloc(1, sizeof(**out));
		if (!*out || !((*out)[0] = lb_strdup(v->valuestring)))
			return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
		*n = 1;
		return 0;
	}
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v) || cJSON_GetArraySize(v) > QA_MAX_PATTERNS)
		return qa_fail(c, "'%s' must be a non-empty array of strings (at most %s patterns)",
			       key, "64");
	*out = lb_calloc((size_t)cJSON_GetArraySize(v), sizeof(**out));
	if (!*out)
		return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	cJSON_ArrayForEach(e, v)
	{
		char idx[32];

		if (!cJSON_IsString(e) || !e->valuestring[0]) {
			snprintf(idx, sizeof(idx), "%zu", i);
			return qa_fail(c, "'%s'[%s] must be a non-empty string", key, idx);
		}
		(*out)[i] = lb_strdup(e->valuestring);
		if (!(*out)[i])
			return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
		*n = ++i;
	}
	return 0;
}

/* Unknown or duplicate keys: the jsoncfg message ("did you mean"), after the file:line. */
static int check_keys(struct qa_ctx *c, const cJSON *o)
{
	struct lb_error e = LB_ERROR_INIT;
	struct jsoncfg jc = { NULL, &e };

	if (!jsoncfg_check_keys(&jc, o, "", qa_keys))
		return 0;
	return qa_fail(c, "%s%s", e.msg, "");
}

static int parse_item(struct qa_ctx *c, const cJSON *o, struct qa_item *it)
{
	const cJSON *ans;
	char lbuf[32];
	int rc;

	memset(it, 0, sizeof(*it));
	it->line = c->line;
	it->answerable = true;
	if (!cJSON_IsObject(o))
		return qa_fail(c, "expected a JSON object per line%s%s", "", "");
	if ((rc = get_str(c, o, "id", false, &it->id)))
		return rc;
	if (!it->id) {
		snprintf(lbuf, sizeof(lbuf), "%ld", c->line);
		if (!(it->id = lb_strdup(lbuf)))
			return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
	}
	c->id = it->id;
	if ((rc = check_keys(c, o)) || (rc = get_str(c, o, "question", true, &it->question)) ||
	    (rc = get_str(c, o, "answer", false, &it->answer)) ||
	    (rc = get_str(c, o, "domain", false, &it->domain)) ||
	    (rc = get_list(c, o, "correct", &it->correct, &it->n_correct)) ||
	    (rc = get_list(c, o, "wrong", &it->wrong, &it->n_wrong)) ||
	    (rc = get_list(c, o, "abstain", &it->abstain, &it->n_abstain)))
		return rc;
	ans = cJSON_GetObjectItemCaseSensitive(o, "answerable");
	if (ans) {
		if (!cJSON_IsBool(ans))
			return qa_fail(c, "'answerable' must be true or false%s%s", "", "");
		it->answerable = cJSON_IsTrue(ans);
	}
	if (it->answerable && !it->n_correct)
		return qa_fail(c,
			       "'correct' is required (an array of patterns) unless "
			       "'answerable' is false%s%s",
			       "", "");
	return 0;
}

static int grow(struct qa_set *s)
{
	return LB_ALLOC_GROW(s->v, s->n + 1, s->alloc) ? LB_ERR_NOMEM : 0;
}

int qa_parse(const char *text, size_t len, const char *path, long limit, struct qa_set *out,
	     struct lb_error *err)
{
	struct qa_ctx c = { .path = path, .err = err };
	size_t pos = 0, before = out->n;
	int rc = 0;

	while (pos < len && (limit <= 0 || (long)(out->n - before) < limit)) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, l = end - pos, i;
		const char *line = text + pos;
		struct qa_item it;
		cJSON *j;

		c.line++;
		c.id = NULL;
		pos = nl ? end + 1 : len;
		if (l && line[l - 1] == '\r')
			l--;
		for (i = 0; i < l && (line[i] == ' ' || line[i] == '\t'); i++)
			;
		if (i == l || line[i] == '#')
			continue;
		if (l > DATASET_MAX_LINE)
			return lb_error_set(err, LB_ERR_LIMIT,
					    "'%s':%ld: line longer than %u bytes", path, c.line,
					    DATASET_MAX_LINE);
		if (memchr(line, 0, l))
			return lb_error_set(err, LB_ERR_PARSE, "'%s':%ld: NUL byte in the line",
					    path, c.line);
		j = cJSON_ParseWithLength(line, l);
		if (!j)
			return lb_error_set(
				err, LB_ERR_PARSE, "'%s':%ld: malformed JSON near column %td", path,
				c.line, cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - line + 1 : 1);
		rc = parse_item(&c, j, &it);
		cJSON_Delete(j);
		if (!rc && grow(out))
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		if (rc) {
			item_release(&it);
			return rc;
		}
		out->v[out->n++] = it;
	}
	if (out->n == before)
		return lb_error_set(err, LB_ERR_USAGE, "'%s': no QA items", path);
	return 0;
}

int qa_load(const char *path, long limit, struct qa_set *out, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	rc = strbuf_read_file(&sb, path, QA_MAX_BYTES, err);
	if (!rc)
		rc = qa_parse(sb.buf, sb.len, path, limit, out, err);
	strbuf_release(&sb);
	return rc;
}

/* The dataset registry's view: the questions as prompts, the answers as references. */
static int qa_dataset_load(const char *path, long limit, struct lb_items *out, struct lb_error *err)
{
	struct qa_set s = { 0 };
	size_t i;
	int rc;

	rc = qa_load(path, limit, &s, err);
	for (i = 0; !rc && i < s.n; i++)
		if (lb_items_add(out, s.v[i].id, s.v[i].question, NULL, s.v[i].answer))
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	qa_set_release(&s);
	return rc;
}

const struct dataset_ops qa_dataset_ops = {
	.format = "qa",
	.load = qa_dataset_load,
};
