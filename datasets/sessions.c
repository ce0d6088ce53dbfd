/* sessions.c: multi-turn conversations (sessions.h): ShareGPT and OpenAI-shaped files, a spec
 * that gives a file a think time, and the synthetic generator. Also the "sessions" dataset
 * format: one item per conversation, its first user turn (what other load modes send). */
#include "sessions.h"

#include "dataset.h"

#include "../base/alloc.h"
#include "../base/jsoncfg.h"
#include "../base/strbuf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SESSIONS_MAX_BYTES (1u << 30)
#define SESSIONS_MAX_GEN 1000000L /* generated conversations */
#define SESSIONS_MAX_TOKENS 100000L

struct sctx {
	const char *path;
	struct lb_error *err;
	struct lb_sessions *out;
	long limit;
};

static int nomem(struct sctx *c)
{
	return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory loading '%s'", c->path);
}

static struct lb_conv *conv_new(struct sctx *c)
{
	struct lb_sessions *s = c->out;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct lb_conv *v = lb_realloc(s->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	return &s->v[s->n++];
}

static int turn_add(struct lb_conv *cv, char *user)
{
	struct lb_turn *t;

	if (!user)
		return -1;
	t = lb_realloc(cv->turns, (cv->n_turns + 1) * sizeof(*t));
	if (!t) {
		lb_free(user);
		return -1;
	}
	cv->turns = t;
	memset(&t[cv->n_turns], 0, sizeof(*t));
	t[cv->n_turns++].user = user;
	return 0;
}

static int is_user(const char *r)
{
	return !strcmp(r, "human") || !strcmp(r, "user");
}

static int is_model(const char *r)
{
	return !strcmp(r, "gpt") || !strcmp(r, "assistant") || !strcmp(r, "chatgpt") ||
	       !strcmp(r, "bing") || !strcmp(r, "bard") || !strcmp(r, "model");
}

/* One conversation object that began at line. */
static int conv_from_json(struct sctx *c, const cJSON *o, long line)
{
	const cJSON *sg = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "conversations")
					    : NULL;
	const cJSON *oa = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "messages")
					    : NULL;
	const cJSON *arr = sg ? sg : oa, *t, *id;
	const char *rk = sg ? "from" : "role", *vk = sg ? "value" : "content";
	const char *an = sg ? "conversations" : "messages";
	struct lb_conv *cv;
	char buf[32];
	int i = 0;

	if (!cJSON_IsObject(o) || (sg && oa) || !cJSON_IsArray(arr))
		return lb_error_set(c->err, LB_ERR_PARSE,
				    "'%s':%ld: expected a conversation: an object with "
				    "'conversations' ([{\"from\", \"value\"}]) or 'messages' "
				    "([{\"role\", \"content\"}])",
				    c->path, line);
	cv = conv_new(c);
	if (!cv)
		return nomem(c);
	cv->line = line;
	cJSON_ArrayForEach(t, arr)
	{
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(t, rk);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, vk);

		if (!cJSON_IsObject(t) || !cJSON_IsString(r) || !cJSON_IsString(v))
			return lb_error_set(c->err, LB_ERR_PARSE,
					    "'%s':%ld: %s[%d]: expected an object with '%s' "
					    "(a string) and '%s' (a string)",
					    c->path, line, an, i, rk, vk);
		if (is_user(r->valuestring)) {
			if (!v->valuestring[0])
				return lb_error_set(c->err, LB_ERR_PARSE,
						    "'%s':%ld: %s[%d]: an empty user turn", c->path,
						    line, an, i);
			if (cv->n_turns >= SESSIONS_MAX_TURNS)
				return lb_error_set(c->err, LB_ERR_LIMIT,
						    "'%s':%ld: more than %d user turns", c->path,
						    line, SESSIONS_MAX_TURNS);
			if (turn_add(cv, lb_strdup(v->valuestring)))
				return nomem(c);
		} else if (is_model(r->valuestring)) {
			c->out->model_turns++;
		} else if (!strcmp(r->valuestring, "system")) {
			if (cv->n_turns || cv->system)
				return lb_error_set(c->err, LB_ERR_PARSE,
						    "'%s':%ld: %s[%d]: one system turn, before the "
						    "first user turn, is supported",
						    c->path, line, an, i);
			cv->system = lb_strdup(v->valuestring);
			if (!cv->system)
				return nomem(c);
		} else {
			return lb_error_set(c->err, LB_ERR_PARSE,
					    "'%s':%ld: %s[%d]: unknown %s \"%.32s\" (expected "
					    "%s, %s or system)",
					    c->path, line, an, i, rk, r->valuestring,
					    sg ? "human" : "user", sg ? "gpt" : "assistant");
		}
		i++;
	}
	if (!cv->n_turns)
		return lb_error_set(c->err, LB_ERR_PARSE,
				    "'%s':%ld: a conversation without a user turn", c->path, line);
	id = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (cJSON_IsString(id))
		cv->id = lb_strdup(id->valuestring);
	else {
		if (cJSON_IsNumber(id))
			snprintf(buf, sizeof(buf), "%.17g", id->valuedouble);
		else
			snprintf(buf, sizeof(buf), "%ld", line);
		cv->id = lb_strdup(buf);
	}
	return cv->id ? 0 : nomem(c);
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static long line_of(const char *s, size_t off)
{
	long line, col;

	jsoncfg_line_col(s, off, &line, &col);
	return line;
}

/* A JSON array of conversations, parsed element by element so each has its line. */
static int parse_array(struct sctx *c, const char *s, size_t len, size_t i)
{
	int rc;

	i = skip_ws(s, len, i + 1);
	if (i < len && s[i] == ']')
		return 0;
	for (;;) {
		const char *end = NULL;
		cJSON *e;

		if (c->limit > 0 && c->out->n >= (size_t)c->limit)
			return 0;
		e = cJSON_ParseWithLengthOpts(s + i, len - i, &end, 0);
		if (!e)
			return lb_error_set(
				c->err, LB_ERR_PARSE, "'%s':%ld: malformed JSON", c->path,
				line_of(s, end && end >= s + i && end <= s + len ? (size_t)(end - s)
										 : i));
		rc = conv_from_json(c, e, line_of(s, i));
		cJSON_Delete(e);
		if (rc)
			return rc;
		i = skip_ws(s, len, (size_t)(end - s));
		if (i < len && s[i] == ']')
			break;
		if (i >= len || s[i] != ',')
			return lb_error_set(c->err, LB_ERR_PARSE,
					    "'%s':%ld: expected ',' or ']' after a conversation",
					    c->path, line_of(s, i < len ? i : len));
		i = skip_ws(s, len, i + 1);
	}
	i = skip_ws(s, len, i + 1);
	if (i < len)
		return lb_error_set(c->err, LB_ERR_PARSE, "'%s':%ld: text after the array", c->path,
				    line_of(s, i));
	return 0;
}

/* One conversation per non-blank line. */
static int parse_lines(struct sctx *c, const char *s, size_t len)
{
	size_t i = 0;
	long line = 0;

	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) : len, b = skip_ws(s, e, i);
		cJSON *o;
		int rc;

		line++;
		if (b < e) {
			if (c->limit > 0 && c->out->n >= (size_t)c->limit)
				return 0;
			o = cJSON_ParseWithLength(s + b, e - b);
			if (!o)
				return lb_error_set(c->err, LB_ERR_PARSE,
						    "'%s':%ld: malformed JSON (one conversation "
						    "object per line)",
						    c->path, line);
			rc = conv_from_json(c, o, line);
			cJSON_Delete(o);
			if (rc)
				return rc;
		}
		i = e + 1;
	}
	return 0;
}

/* ---- the spec and the generator ----------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double draw(uint64_t *x, const double r[2], int integer)
{
	double u;

	*x = mix64(*x);
	u = (double)(*x >> 11) / 9007199254740992.0;
	if (r[1] <= r[0])
		return r[0];
	return integer ? r[0] + floor(u * (r[1] - r[0] + 1)) : r[0] + u * (r[1] - r[0]);
}

/* 64 words: one token each for the simulator's tokenizer. */
static const char *const words[64] = {
	"amber",  "bold",   "cedar",  "delta", "ember",   "fable", "grove", "haven",
	"ivory",  "jolly",  "koala",  "lemon", "maple",   "noble", "ocean", "pearl",
	"quill",  "raven",  "sable",  "tulip", "umber",   "vivid", "wheat", "xenon",
	"yacht",  "zebra",  "acorn",  "birch", "coral",   "dune",  "eagle", "flint",
	"glade",  "heron",  "inlet",  "jade",  "kelp",    "lotus", "mesa",  "nectar",
	"olive",  "prism",  "quartz", "ridge", "shale",   "thorn", "unity", "vale",
	"willow", "yarrow", "zinc",   "aspen", "basil",   "clove", "drift", "elm",
	"fern",   "garnet", "hazel",  "iris",  "juniper", "kiwi",  "lilac", "moss",
};

static char *gen_words(uint64_t key, long n)
{
	struct strbuf sb = STRBUF_INIT;
	uint64_t x = mix64(key);
	long k;

	for (k = 0; k < n; k++) {
		x = mix64(x);
		if ((k && strbuf_addch(&sb, ' ')) || strbuf_adds(&sb, words[x >> 58])) {
			strbuf_release(&sb);
			return NULL;
		}
	}
	return strbuf_detach(&sb, NULL);
}

/* A number, or [min, max], in [lo, hi]; integer when asked. */
static int get_range(struct jsoncfg *jc, const cJSON *o, const char *key, double lo, double hi,
		     int integer, double r[2], int *present)
{
	const cJSON *v = jsoncfg_item(o, key);
	const char *what = integer ? "a whole number or [min, max] of whole numbers"
				   : "a number or [min, max]";
	int k;

	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (cJSON_IsNumber(v)) {
		r[0] = r[1] = v->valuedouble;
	} else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 &&
		   cJSON_IsNumber(cJSON_GetArrayItem(v, 0)) &&
		   cJSON_IsNumber(cJSON_GetArrayItem(v, 1))) {
		r[0] = cJSON_GetArrayItem(v, 0)->valuedouble;
		r[1] = cJSON_GetArrayItem(v, 1)->valuedouble;
	} else {
		return jsoncfg_expected(jc, key, what, v);
	}
	for (k = 0; k < 2; k++)
		if (!isfinite(r[k]) || r[k] < lo || r[k] > hi || (integer && r[k] != floor(r[k])))
			return jsoncfg_fail(jc, "%s: expected %s in %g..%g", key, what, lo, hi);
	if (r[0] > r[1])
		return jsoncfg_fail(jc, "%s: min %g is above max %g", key, r[0], r[1]);
	return 0;
}

static int generate(struct sctx *c, long n, const double turns[2], const double user[2],
		    const double out[2], long system_tokens, uint64_t seed)
{
	char *system = NULL;
	long s;

	if (system_tokens > 0 && !(system = gen_words(seed ^ 0x5e55105ull, system_tokens)))
		return nomem(c);
	for (s = 0; s < n && (c->limit <= 0 || s < c->limit); s++) {
		struct lb_conv *cv = conv_new(c);
		uint64_t x = mix64(seed * 1000003u + (uint64_t)s);
		long t, nt;
		char id[32];

		if (!cv)
			goto oom;
		snprintf(id, sizeof(id), "%ld", s + 1);
		cv->id = lb_strdup(id);
		if (!cv->id || (system && !(cv->system = lb_strdup(system))))
			goto oom;
		nt = (long)draw(&x, turns, 1);
		for (t = 0; t < nt; t++) {
			long nu = (long)draw(&x, user, 1);

			if (turn_add(cv, gen_words(x ^ ((uint64_t)t << 40), nu)))
				goto oom;
			cv->turns[t].max_tokens = (int)draw(&x, out, 1);
		}
	}
	lb_free(system);
	return 0;
oom:
	lb_free(system);
	return nomem(c);
}

static int load_file(const char *path, long limit, struct lb_sessions *out, int depth,
		     struct lb_error *err);

static int parse_spec(struct sctx *c, const cJSON *o, int depth)
{
	static const char *const keys[] = { "file",          "think_ms",    "sessions",
					    "turns",         "user_tokens", "output_tokens",
					    "system_tokens", "seed",        NULL };
	struct jsoncfg jc = { c->path, c->err };
	double think[2] = { 0, 0 }, turns[2] = { 1, 1 }, user[2] = { 32, 32 }, outr[2] = { 0, 0 };
	double n = 0, sys = 0, seed = 1;
	const char *file = NULL;
	bool has_n = false;
	int rc, has_think;
	size_t i, first = c->out->n;

	if ((rc = jsoncfg_check_keys(&jc, o, "", keys)) ||
	    (rc = jsoncfg_string(&jc, o, "", "file", false, &file)) ||
	    (rc = get_range(&jc, o, "think_ms", 0, 3.6e6, 0, think, &has_think)) ||
	    (rc = jsoncfg_int(&jc, o, "", "sessions", 1, SESSIONS_MAX_GEN, &n, &has_n)) ||
	    (rc = get_range(&jc, o, "turns", 1, SESSIONS_MAX_TURNS, 1, turns, NULL)) ||
	    (rc = get_range(&jc, o, "user_tokens", 1, SESSIONS_MAX_TOKENS, 1, user, NULL)) ||
	    (rc = get_range(&jc, o, "output_tokens", 0, SESSIONS_MAX_TOKENS, 1, outr, NULL)) ||
	    (rc = jsoncfg_int(&jc, o, "", "system_tokens", 0, SESSIONS_MAX_TOKENS, &sys, NULL)) ||
	    (rc = jsoncfg_int(&jc, o, "", "seed", 0, 4294967295.0, &seed, NULL)))
		return rc;
	if (!file == !has_n)
		return jsoncfg_fail(&jc, "a sessions spec gives either \"file\" (conversations) or "
					 "\"sessions\" (how many to generate)");
	if (file) {
		static const char *const gen_only[] = { "turns", "user_tokens", "output_tokens",
							"system_tokens", NULL };
		char *fp;

		for (i = 0; gen_only[i]; i++)
			if (jsoncfg_item(o, gen_only[i]))
				return jsoncfg_fail(&jc,
						    "%s applies to generated sessions only "
						    "(this spec gives a file)",
						    gen_only[i]);
		if (depth > 0)
			return jsoncfg_fail(&jc, "file: a spec's file must hold conversations, not "
						 "another spec");
		if (file[0] == '/' || !strchr(c->path, '/')) {
			fp = lb_strdup(file);
		} else { /* relative to the spec's folder */
			size_t dir = (size_t)(strrchr(c->path, '/') - c->path) + 1;
			size_t len = dir + strlen(file) + 1;

			fp = lb_malloc(len);
			if (fp)
				snprintf(fp, len, "%.*s%s", (int)dir, c->path, file);
		}
		if (!fp)
			return nomem(c);
		rc = load_file(fp, c->limit, c->out, depth + 1, c->err);
		lb_free(fp);
		if (rc)
			return rc;
	} else if ((rc = generate(c, (long)n, turns, user, outr, (long)sys, (uint64_t)seed))) {
		return rc;
	}
	if (has_think) {
		uint64_t x = mix64((uint64_t)seed ^ 0x7417ull);

		for (i = first; i < c->out->n; i++) {
			size_t t;

			for (t = 1; t < c->out->v[i].n_turns; t++)
				c->out->v[i].turns[t].think_ms = draw(&x, think, 0);
		}
	}
	return 0;
}

static int parse_depth(const char *s, size_t len, const char *path, long limit,
		       struct lb_sessions *out, int depth, struct lb_error *err)
{
	struct sctx c = { path, err, out, limit };
	size_t i = skip_ws(s, len, 0);
	const char *end = NULL;
	cJSON *o = NULL;
	int rc;

	if (memchr(s, 0, len))
		return lb_error_set(err, LB_ERR_PARSE, "'%s':%ld: a NUL byte (expected text)", path,
				    line_of(s, (size_t)((const char *)memchr(s, 0, len) - s)));
	if (i < len && s[i] == '[')
		rc = parse_array(&c, s, len, i);
	else if (i < len && s[i] == '{' &&
		 (o = cJSON_ParseWithLengthOpts(s + i, len - i, &end, 0)) &&
		 skip_ws(s, len, (size_t)(end - s)) == len &&
		 !cJSON_GetObjectItemCaseSensitive(o, "conversations") &&
		 !cJSON_GetObjectItemCaseSensitive(o, "messages")) {
		rc = parse_spec(&c, o, depth); /* one object that is no conversation: a spec */
		cJSON_Delete(o);
	} else {
		cJSON_Delete(o);
		rc = parse_lines(&c, s, len);
	}
	if (!rc && !out->n)
		rc = lb_error_set(err, LB_ERR_PARSE, "'%s': no conversation", path);
	if (rc)
		sessions_free(out);
	return rc;
}

int sessions_parse(const char *text, size_t len, const char *path, long limit,
		   struct lb_sessions *out, struct lb_error *err)
{
	memset(out, 0, sizeof(*out));
	return parse_depth(text, len, path, limit, out, 1, err);
}

static int load_file(const char *path, long limit, struct lb_sessions *out, int depth,
		     struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	rc = strbuf_read_file(&sb, path, SESSIONS_MAX_BYTES, err);
	if (rc) {
		strbuf_release(&sb);
		if (rc == LB_ERR_IO)
			rc = err->code = LB_ERR_USAGE; /* a missing file is the user's to fix */
		return rc;
	}
	rc = parse_depth(sb.buf, sb.len, path, limit, out, depth, err);
	strbuf_release(&sb);
	return rc;
}

int sessions_load(const char *path, long limit, struct lb_sessions *out, struct lb_error *err)
{
	memset(out, 0, sizeof(*out));
	return load_file(path, limit, out, 0, err);
}

static void conv_free(struct lb_conv *c)
{
	size_t t;

	for (t = 0; t < c->n_turns; t++)
		lb_free(c->turns[t].user);
	lb_free(c->turns);
	lb_free(c->id);
	lb_free(c->system);
}

void sessions_free(struct lb_sessions *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		conv_free(&s->v[i]);
	lb_free(s->v);
	memset(s, 0, sizeof(*s));
}

void sessions_partition(struct lb_sessions *s, size_t k, size_t n)
{
	size_t i, kept = 0;

	if (n < 2)
		return;
	for (i = 0; i < s->n; i++) {
		if (i % n == k)
			s->v[kept++] = s->v[i];
		else
			conv_free(&s->v[i]);
	}
	s->n = kept;
}

size_t sessions_turns(const struct lb_sessions *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		n += s->v[i].n_turns;
	return n;
}

/* ---- the "sessions" dataset format: each conversation's first turn ------------------------ */

static int sessions_items_load(const char *path, long limit, struct lb_items *out,
			       struct lb_error *err)
{
	struct lb_sessions s;
	struct strbuf msgs = STRBUF_INIT;
	size_t i;
	int rc = sessions_load(path, limit, &s, err);

	for (i = 0; i < s.n && !rc; i++) {
		const struct lb_conv *cv = &s.v[i];
		const char *u = cv->turns[0].user;

		strbuf_reset(&msgs);
		if (strbuf_addch(&msgs, '[') ||
		    (cv->system && (strbuf_adds(&msgs, "{\"role\":\"system\",\"content\":") ||
				    strbuf_add_json_str(&msgs, cv->system, strlen(cv->system)) ||
				    strbuf_adds(&msgs, "},"))) ||
		    strbuf_adds(&msgs, "{\"role\":\"user\",\"content\":") ||
		    strbuf_add_json_str(&msgs, u, strlen(u)) || strbuf_adds(&msgs, "}]") ||
		    lb_items_add(out, cv->id, u, msgs.buf, NULL))
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory loading '%s'", path);
		else
			out->v[out->n - 1].max_tokens = cv->turns[0].max_tokens;
	}
	strbuf_release(&msgs);
	sessions_free(&s);
	return rc;
}

const struct dataset_ops sessions_dataset_ops = {
	.format = "sessions",
	.load = sessions_items_load,
};
