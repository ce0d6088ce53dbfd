/* synthetic.c: the "synthetic" dataset format: prompts of exact token lengths, built from token
 * ids of a named llama.cpp vocabulary. The dataset path is a small JSON spec:
 *
 *   {"tokenizer": "llama-spm",
 *    "prompt_tokens": {"dist": "fixed|uniform|normal|dataset", "mean": N, "min": N, "max": N,
 *                      "sd": N},
 *    "output_tokens": {...},            (optional; 0 = the workload's max_tokens)
 *    "count": N, "seed": S, "prefix_tokens": N,
 *    "source": "datasets/prompts/llm-questions.txt"}   (optional: random words without it)
 *
 * A prompt is drafted from a window of the source's tokens (or random whole-word tokens),
 * detokenized, and re-tokenized (no BOS/EOS, no special-token parsing); the draft is lengthened
 * or shortened until the re-tokenized text has exactly the requested number of tokens, and those
 * ids go into the item. docs/performance.md and docs/workload.md describe the format. */
#include "dataset.h"

#include "../backends/gguf_make.h"
#include "../backends/llama_common.h"
#include "../base/alloc.h"
#include "../base/jsoncfg.h"
#include "../base/strbuf.h"
#include "../base/vec.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SYN_MAX_SPEC_BYTES (1u << 20)
#define SYN_MAX_COUNT 1000000L
#define SYN_MAX_LEN 131072L       /* tokens of one prompt */
#define SYN_MAX_TOTAL 200000000.0 /* expected prompt tokens of the whole set */
#define SYN_MAX_ATTEMPTS 64       /* drafts of one prompt before giving up */
#define SYN_DEFAULT_COUNT 100

enum syn_kind {
	SYN_NONE,
	SYN_FIXED,
	SYN_UNIFORM,
	SYN_NORMAL,
	SYN_DATASET
};

struct syn_dist {
	enum syn_kind kind;
	double mean, sd;
	long min, max;
};

struct syn_spec {
	const char *path; /* the spec file, for messages */
	char *tokenizer;  /* owned: name as given */
	char *vocab_path; /* owned: the GGUF it names */
	char *source;     /* owned, resolved; NULL: random words */
	struct syn_dist prompt, output;
	long count, prefix;
	uint64_t seed;
};

static const char *const spec_keys[] = { "tokenizer", "prompt_tokens", "output_tokens", "count",
					 "seed",      "prefix_tokens", "source",        NULL };
static const char *const dist_keys[] = { "dist", "mean", "min", "max", "sd", NULL };

/* ---- spec parsing (works without llama.cpp, so that spec errors come first) --------------- */

static int check_keys(const struct syn_spec *sp, const cJSON *obj, const char *where,
		      const char *const *keys, struct lb_error *err)
{
	struct jsoncfg jc = { .file = sp->path, .err = err };

	return jsoncfg_check_keys(&jc, obj, where, keys);
}

/* obj[key] at where: an integer in [lo, hi], or (integer false) a number in [lo, hi]. */
static int get_num(const struct syn_spec *sp, const cJSON *obj, const char *where, const char *key,
		   double lo, double hi, bool integer, double *out, bool *present,
		   struct lb_error *err)
{
	struct jsoncfg jc = { .file = sp->path, .err = err };

	if (integer)
		return jsoncfg_int(&jc, obj, where, key, lo, hi, out, present);
	return jsoncfg_num(&jc, obj, where, key, lo, false, hi, out, present);
}

static int parse_dist(const struct syn_spec *sp, const cJSON *v, const char *where,
		      struct syn_dist *d, struct lb_error *err)
{
	const cJSON *dist;
	const char *kind = NULL;
	double mean = 0, sd = 0, mn = 1, mx = SYN_MAX_LEN;
	bool has_mean, has_sd, has_min, has_max;
	int rc;

	d->kind = SYN_NONE;
	if (!v)
		return 0;
	if (cJSON_IsNumber(v)) { /* "prompt_tokens": 128 is fixed */
		if (!isfinite(v->valuedouble) || v->valuedouble < 1 ||
		    v->valuedouble > SYN_MAX_LEN || v->valuedouble != floor(v->valuedouble))
			return lb_error_set(err, LB_ERR_USAGE,
					    "'%s': %s: expected an integer from 1 to %ld", sp->path,
					    where, SYN_MAX_LEN);
		d->kind = SYN_FIXED;
		d->mean = v->valuedouble;
		d->min = d->max = (long)v->valuedouble;
		return 0;
	}
	if (!cJSON_IsObject(v))
		return lb_error_set(err, LB_ERR_USAGE,
				    "'%s': %s: expected a number of tokens or an object {\"dist\": "
				    "\"fixed|uniform|normal|dataset\", \"mean\", \"min\", \"max\", "
				    "\"sd\"}",
				    sp->path, where);
	if ((rc = check_keys(sp, v, where, dist_keys, err)))
		return rc;
	dist = cJSON_GetObjectItemCaseSensitive(v, "dist");
	if (dist && !cJSON_IsString(dist))
		return lb_error_set(err, LB_ERR_USAGE, "'%s': %s.dist: expected a string", sp->path,
				    where);
	kind = dist ? dist->valuestring : "fixed";
	if ((rc = get_num(sp, v, where, "mean", 1, SYN_MAX_LEN, false, &mean, &has_mean, err)) ||
	    (rc = get_num(sp, v, where, "sd", 0, SYN_MAX_LEN, false, &sd, &has_sd, err)) ||
	    (rc = get_num(sp, v, where, "min", 1, SYN_MAX_LEN, true, &mn, &has_min, err)) ||
	    (rc = get_num(sp, v, where, "max", 1, SYN_MAX_LEN, true, &mx, &has_max, err)))
		return rc;
	if (mn > mx)
		return lb_error_set(err, LB_ERR_USAGE, "'%s': %s: min (%.0f) is above max (%.0f)",
				    sp->path, where, mn, mx);
	d->min = (long)mn;
	d->max = (long)mx;
	d->mean = mean;
	d->sd = sd;
	if (!strcmp(kind, "fixed")) {
		if (!has_mean)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"'%s': %s: dist 'fixed' needs 'mean' (the length in tokens)",
				sp->path, where);
		if (mean != floor(mean))
			return lb_error_set(err, LB_ERR_USAGE,
					    "'%s': %s.mean: dist 'fixed' needs an integer",
					    sp->path, where);
		d->kind = SYN_FIXED;
		d->min = d->max = (long)mean;
	} else if (!strcmp(kind, "uniform")) {
		if (!has_min || !has_max)
			return lb_error_set(err, LB_ERR_USAGE,
					    "'%s': %s: dist 'uniform' needs 'min' and 'max'",
					    sp->path, where);
		d->kind = SYN_UNIFORM;
		d->mean = (mn + mx) / 2;
	} else if (!strcmp(kind, "normal")) {
		if (!has_mean || !has_sd)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"'%s': %s: dist 'normal' needs 'mean' and 'sd' (clamped to "
				"'min' (default 1) and 'max')",
				sp->path, where);
		if (mean < mn || mean > mx)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"'%s': %s: mean (%g) is outside [min, max] = [%.0f, %.0f]",
				sp->path, where, mean, mn, mx);
		d->kind = SYN_NORMAL;
	} else if (!strcmp(kind, "dataset")) {
		d->kind = SYN_DATASET; /* min/max clamp the lengths found */
	} else {
		return lb_error_set(
			err, LB_ERR_USAGE,
			"'%s': %s.dist: unknown distribution '%s' (valid: fixed, uniform, "
			"normal, dataset)",
			sp->path, where, kind);
	}
	return 0;
}

/* A path relative to the current directory, else to the spec's folder. */
static int resolve_source(struct syn_spec *sp, const char *given, struct lb_error *err)
{
	struct stat st;
	const char *slash = strrchr(sp->path, '/');
	struct strbuf sb = STRBUF_INIT;

	if (!stat(given, &st) || given[0] == '/' || !slash) {
		if (stat(given, &st))
			return lb_error_set(err, LB_ERR_USAGE, "'%s': source: no such file '%s'",
					    sp->path, given);
		sp->source = lb_strdup(given);
		return sp->source ? 0 : LB_ERR_NOMEM;
	}
	if (strbuf_add(&sb, sp->path, (size_t)(slash - sp->path + 1)) || strbuf_adds(&sb, given)) {
		strbuf_release(&sb);
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	if (stat(sb.buf, &st)) {
		int rc = lb_error_set(err, LB_ERR_USAGE,
				      "'%s': source: no such file '%s' (tried it from the current "
				      "directory and as '%s')",
				      sp->path, given, sb.buf);

		strbuf_release(&sb);
		return rc;
	}
	sp->source = strbuf_detach(&sb, NULL);
	return 0;
}

/* "llama-spm" -> <vocab dir>/ggml-vocab-llama-spm.gguf; a name with a '/' or ending in .gguf
 * is a path. */
static int resolve_vocab(struct syn_spec *sp, struct lb_error *err)
{
	return dataset_vocab_path(sp->tokenizer, sp->path, &sp->vocab_path, err);
}

static void spec_release(struct syn_spec *sp)
{
	lb_free(sp->tokenizer);
	lb_free(sp->vocab_path);
	lb_free(sp->source);
	memset(sp, 0, sizeof(*sp));
}

static int spec_parse(struct syn_spec *sp, const char *path, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	const cJSON *v;
	cJSON *root = NULL;
	double count = SYN_DEFAULT_COUNT, seed = 1, prefix = 0;
	int rc;

	memset(sp, 0, sizeof(*sp));
	sp->path = path;
	rc = strbuf_read_file(&sb, path, SYN_MAX_SPEC_BYTES, err);
	if (rc) {
		if (rc != LB_ERR_NOMEM)
			rc = lb_error_set(err, LB_ERR_USAGE, "cannot read synthetic spec '%s': %s",
					  path, err ? err->msg : "error");
		goto out;
	}
	root = cJSON_ParseWithLength(sb.buf, sb.len);
	if (!root || !cJSON_IsObject(root)) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "'%s': a synthetic dataset is a JSON object {\"tokenizer\", "
				  "\"prompt_tokens\", \"output_tokens\", \"count\", \"seed\", "
				  "\"prefix_tokens\", \"source\"}%s",
				  path, root ? "" : " (malformed JSON)");
		goto out;
	}
	if ((rc = check_keys(sp, root, "", spec_keys, err)))
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(root, "tokenizer");
	if (!cJSON_IsString(v) || !*v->valuestring) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "'%s': tokenizer: expected the name of a llama.cpp vocabulary "
				  "(\"llama-spm\", \"llama-bpe\", \"falcon\", ...) or a .gguf path",
				  path);
		goto out;
	}
	sp->tokenizer = lb_strdup(v->valuestring);
	if (!sp->tokenizer) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "prompt_tokens");
	if (!v) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "'%s': prompt_tokens is required (a length, or {\"dist\": ...})",
				  path);
		goto out;
	}
	if ((rc = parse_dist(sp, v, "prompt_tokens", &sp->prompt, err)) ||
	    (rc = parse_dist(sp, cJSON_GetObjectItemCaseSensitive(root, "output_tokens"),
			     "output_tokens", &sp->output, err)) ||
	    (rc = get_num(sp, root, "", "count", 1, SYN_MAX_COUNT, true, &count, NULL, err)) ||
	    (rc = get_num(sp, root, "", "seed", 0, 9007199254740992.0, true, &seed, NULL, err)) ||
	    (rc = get_num(sp, root, "", "prefix_tokens", 0, SYN_MAX_LEN, true, &prefix, NULL, err)))
		goto out;
	sp->count = (long)count;
	sp->seed = (uint64_t)seed;
	sp->prefix = (long)prefix;
	if (sp->prefix && sp->prefix >= sp->prompt.min) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "'%s': prefix_tokens (%ld) must be below the shortest prompt "
				  "(prompt_tokens min %ld)",
				  path, sp->prefix, sp->prompt.min);
		goto out;
	}
	if (sp->prompt.kind != SYN_DATASET && (double)sp->count * sp->prompt.mean > SYN_MAX_TOTAL) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "'%s': count x prompt length is about %.0f tokens, more than the "
				  "%.0f a synthetic set may hold",
				  path, sp->count * sp->prompt.mean, SYN_MAX_TOTAL);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "source");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v) || !*v->valuestring) {
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"'%s': source: expected a path (a text file, or a ShareGPT "
				".json file)",
				path);
			goto out;
		}
		if ((rc = resolve_source(sp, v->valuestring, err)))
			goto out;
	}
	if ((sp->prompt.kind == SYN_DATASET || sp->output.kind == SYN_DATASET) && !sp->source) {
		rc = lb_error_set(
			err, LB_ERR_USAGE,
			"'%s': dist 'dataset' takes its lengths from 'source' (a ShareGPT "
			".json file, or a text file with one prompt per line); none given",
			path);
		goto out;
	}
	if (llama_common_available()) /* else synthetic_build says llama.cpp is not built in */
		rc = resolve_vocab(sp, err);
out:
	cJSON_Delete(root);
	strbuf_release(&sb);
	if (rc)
		spec_release(sp);
	return rc;
}

/* ---- random numbers (the same seed gives the same set on every machine) ------------------- */

static uint64_t syn_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double syn_unit(uint64_t *s) /* (0, 1) */
{
	return ((double)(syn_rand(s) >> 11) + 0.5) / 9007199254740992.0;
}

static long syn_below(uint64_t *s, long n) /* [0, n) */
{
	return n > 0 ? (long)(syn_rand(s) % (uint64_t)n) : 0;
}

/* One length from d; dataset lengths come in ds_len (-1: none). */
static long dist_draw(const struct syn_dist *d, uint64_t *s, long ds_len)
{
	double x, u1, u2;

	switch (d->kind) {
	case SYN_FIXED: return d->min;
	case SYN_UNIFORM: return d->min + syn_below(s, d->max - d->min + 1);
	case SYN_NORMAL:
		u1 = syn_unit(s); /* in sequence: the same set from the same seed everywhere */
		u2 = syn_unit(s);
		x = d->mean + d->sd * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
		x = floor(x + 0.5);
		break;
	case SYN_DATASET: x = (double)ds_len; break;
	default: return 0;
	}
	if (x < (double)d->min)
		x = (double)d->min;
	if (x > (double)d->max)
		x = (double)d->max;
	return (long)x;
}

#ifdef LB_HAVE_LLAMA

struct syn_build {
	const struct syn_spec *sp;
	struct llama_model *model;
	const struct llama_vocab *vocab;
	int32_t *pool; /* owned: source tokens (circular), or whole-word tokens to draw from */
	size_t n_pool;
	size_t *starts; /* owned: pool offsets where a word starts (source only) */
	size_t n_starts;
	bool random;         /* no source: draw pool entries at random */
	int32_t *draft, *re; /* owned scratch */
	size_t cap;
	struct strbuf text;
	int32_t *prefix; /* owned: the shared prefix ids, verified */
	size_t n_prefix;
	char *prefix_text; /* owned */
	size_t prefix_text_len;
	struct lb_items src;    /* source items (dataset lengths) */
	long *src_in, *src_out; /* owned: token counts of prompts / references, -1 none */
	size_t n_src_out;       /* items with a reference */
};

/* draft and re hold at least n tokens each (b->cap: the smaller capacity). */
static int grow(struct syn_build *b, size_t n)
{
	size_t cap_draft = b->cap, cap_re = b->cap;

	if (LB_ALLOC_GROW(b->draft, n, cap_draft) || LB_ALLOC_GROW(b->re, n, cap_re))
		return LB_ERR_NOMEM;
	b->cap = cap_draft < cap_re ? cap_draft : cap_re;
	return 0;
}

/* Tokenize text into b->re (no BOS/EOS, no special tokens); the count, or -1. */
static long retokenize(struct syn_build *b, const char *text, size_t len)
{
	int32_t n;

	if (len > INT32_MAX / 2 || grow(b, len + 8))
		return -1;
	n = llama_tokenize(b->vocab, text, (int32_t)len, b->re, (int32_t)b->cap, false, false);
	if (n < 0 && n != INT32_MIN) {
		if (grow(b, (size_t)-n))
			return -1;
		n = llama_tokenize(b->vocab, text, (int32_t)len, b->re, (int32_t)b->cap, false,
				   false);
	}
	return n;
}

static int detok(struct syn_build *b, const int32_t *ids, size_t n, struct lb_error *err)
{
	strbuf_reset(&b->text);
	return llama_common_detokenize(b->vocab, ids, n, true, false, &b->text, err);
}

static int count_tokens(struct syn_build *b, const char *text, long *out)
{
	*out = retokenize(b, text, strlen(text));
	return *out < 0 ? LB_ERR_NOMEM : 0;
}

static bool piece_is_word(const struct llama_vocab *vocab, int32_t id, bool *word_start)
{
	char buf[64];
	int32_t n = llama_token_to_piece(vocab, id, buf, (int32_t)sizeof(buf) - 1, 0, false);
	int32_t i;

	*word_start = n > 0 && buf[0] == ' ';
	if (n < 3 || buf[0] != ' ')
		return false;
	for (i = 1; i < n; i++)
		if (buf[i] < 'a' || buf[i] > 'z')
			return false;
	return true;
}

/* The token pool: the source text's tokens (items joined by a space), or the vocabulary's
 * lowercase whole-word tokens. */
static int build_pool(struct syn_build *b, struct lb_error *err)
{
	const struct syn_spec *sp = b->sp;
	int32_t n_vocab = llama_vocab_n_tokens(b->vocab), id;
	struct strbuf all = STRBUF_INIT;
	bool ws;
	size_t i;
	int rc = 0;

	if (!sp->source) {
		b->random = true;
		b->pool = lb_malloc((size_t)n_vocab * sizeof(*b->pool));
		if (!b->pool)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		for (id = 0; id < n_vocab; id++)
			if (llama_vocab_get_attr(b->vocab, id) == LLAMA_TOKEN_ATTR_NORMAL &&
			    piece_is_word(b->vocab, id, &ws))
				b->pool[b->n_pool++] = id;
		if (b->n_pool < 100)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"'%s': tokenizer '%s' has only %zu lowercase whole-word "
				"tokens; give a 'source' text to draw prompts from",
				sp->path, sp->tokenizer, b->n_pool);
		return 0;
	}
	for (i = 0; i < b->src.n; i++) {
		if ((i && strbuf_addch(&all, ' ')) || strbuf_adds(&all, b->src.v[i].prompt) ||
		    (b->src.v[i].reference &&
		     (strbuf_addch(&all, ' ') || strbuf_adds(&all, b->src.v[i].reference)))) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	rc = llama_common_tokenize(b->vocab, all.buf, all.len, false, false, &b->pool, &b->n_pool,
				   err);
	if (rc)
		goto out;
	if (b->n_pool < 16) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "'%s': source '%s' has only %zu tokens; it needs at least 16",
				  sp->path, sp->source, b->n_pool);
		goto out;
	}
	b->starts = lb_malloc(b->n_pool * sizeof(*b->starts));
	if (!b->starts) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < b->n_pool; i++) {
		piece_is_word(b->vocab, b->pool[i], &ws);
		if (ws)
			b->starts[b->n_starts++] = i;
	}
	if (!b->n_starts) /* a script without spaces: any offset */
		for (i = 0; i < b->n_pool; i++)
			b->starts[b->n_starts++] = i;
out:
	strbuf_release(&all);
	return rc;
}

/* Fill dst[0..n) with pool tokens: a window of the source from offset at (kept across the
 * adjustments of one prompt), or random words. */
static void draw_tokens(struct syn_build *b, int32_t *dst, size_t n, size_t at, uint64_t *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = b->random ? b->pool[syn_below(s, (long)b->n_pool)]
				   : b->pool[(at + i) % b->n_pool];
}

/* Draft, detokenize, re-tokenize, adjust: b->re[0..len) and b->text hold the result. With a
 * prefix, the first n_prefix ids and the text's start must be the shared prefix. Sets
 * *adjusted when the first draft was not exact. */
static int build_one(struct syn_build *b, long len, uint64_t *s, bool *adjusted,
		     struct lb_error *err)
{
	size_t P = b->n_prefix, body, want = (size_t)len, at = 0;
	long got = 0;
	int attempt, rc;

	*adjusted = false;
	if (grow(b, want * 2 + 16))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	body = want - P;
	for (attempt = 0; attempt < SYN_MAX_ATTEMPTS; attempt++) {
		bool fresh = attempt % 8 == 0; /* a new window every 8 tries */

		if (fresh) {
			body = want - P;
			if (!b->random)
				at = b->starts[syn_below(s, (long)b->n_starts)];
		}
		if (grow(b, P + body + 16))
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		if (P)
			memcpy(b->draft, b->prefix, P * sizeof(*b->draft));
		draw_tokens(b, b->draft + P, body, at, s);
		rc = detok(b, b->draft, P + body, err);
		if (rc)
			return rc;
		got = retokenize(b, b->text.buf, b->text.len);
		if (got < 0)
			return lb_error_set(err, LB_ERR_BACKEND,
					    "llama.cpp could not tokenize a synthetic prompt");
		if (got == (long)want &&
		    (!P || (!memcmp(b->re, b->prefix, P * sizeof(*b->re)) &&
			    b->text.len >= b->prefix_text_len &&
			    !memcmp(b->text.buf, b->prefix_text, b->prefix_text_len))))
			return 0;
		*adjusted = true;
		if (got != (long)want) { /* lengthen or shorten the body by the difference */
			long nb = (long)body + ((long)want - got);

			if (nb >= 1 && nb <= (long)want * 2 + 8)
				body = (size_t)nb;
			else
				body = want - P;
		}
		if (b->random && got == (long)want) /* prefix merged with the body: redraw */
			body = want - P;
	}
	return lb_error_set(err, LB_ERR_BACKEND,
			    "'%s': could not build a prompt of exactly %ld tokens with '%s' in %d "
			    "drafts (the last re-tokenized to %ld)",
			    b->sp->path, len, b->sp->tokenizer, SYN_MAX_ATTEMPTS, got);
}

static int build_prefix(struct syn_build *b, uint64_t *s, struct lb_error *err)
{
	bool adj;
	int rc;

	if (!b->sp->prefix)
		return 0;
	b->n_prefix = 0;
	rc = build_one(b, b->sp->prefix, s, &adj, err);
	if (rc)
		return rc;
	b->prefix = lb_malloc((size_t)b->sp->prefix * sizeof(*b->prefix));
	b->prefix_text = lb_strdup(b->text.buf);
	if (!b->prefix || !b->prefix_text)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	memcpy(b->prefix, b->re, (size_t)b->sp->prefix * sizeof(*b->prefix));
	b->n_prefix = (size_t)b->sp->prefix;
	b->prefix_text_len = b->text.len;
	return 0;
}

/* Dataset lengths: token counts of the source's prompts and reference answers. */
static int load_source(struct syn_build *b, struct lb_error *err)
{
	const struct syn_spec *sp = b->sp;
	const char *src = sp->source, *fmt;
	size_t n = src ? strlen(src) : 0, i;
	int rc;

	if (!src)
		return 0;
	fmt = n > 6 && !strcmp(src + n - 6, ".jsonl")  ? "jsonl"
	      : n > 5 && !strcmp(src + n - 5, ".json") ? "sharegpt"
						       : "lines";
	rc = dataset_load(src, fmt, 0, &b->src, err);
	if (rc)
		return lb_error_prefix(err, "'%s': source", sp->path);
	if (sp->prompt.kind != SYN_DATASET && sp->output.kind != SYN_DATASET)
		return 0;
	b->src_in = lb_calloc(b->src.n, sizeof(*b->src_in));
	b->src_out = lb_calloc(b->src.n, sizeof(*b->src_out));
	if (!b->src_in || !b->src_out)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; i < b->src.n; i++) {
		b->src_out[i] = -1;
		if (count_tokens(b, b->src.v[i].prompt, &b->src_in[i]))
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		if (b->src.v[i].reference && *b->src.v[i].reference) {
			if (count_tokens(b, b->src.v[i].reference, &b->src_out[i]))
				return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			b->n_src_out += b->src_out[i] > 0;
		}
	}
	if (sp->output.kind == SYN_DATASET && !b->n_src_out)
		return lb_error_set(
			err, LB_ERR_USAGE,
			"'%s': output_tokens: dist 'dataset' needs reference answers in "
			"the source ('%s' has none: use a ShareGPT .json file)",
			sp->path, src);
	return 0;
}

static void build_release(struct syn_build *b)
{
	lb_free(b->pool);
	lb_free(b->starts);
	lb_free(b->draft);
	lb_free(b->re);
	lb_free(b->prefix);
	lb_free(b->prefix_text);
	lb_free(b->src_in);
	lb_free(b->src_out);
	strbuf_release(&b->text);
	lb_items_release(&b->src);
	llama_common_model_free(b->model);
}

static int synthetic_build(const struct syn_spec *sp, long limit, struct lb_items *out,
			   struct lb_error *err)
{
	struct syn_build b = { 0 };
	struct llama_model_params mp;
	uint64_t s = sp->seed * 0x9e3779b97f4a7c15ull + 0x5eed;
	long i, count = sp->count;
	char idbuf[32];
	int rc;

	strbuf_init(&b.text, 0);
	b.sp = sp;
	if (limit > 0 && limit < count)
		count = limit;
	rc = llama_common_init(err);
	if (rc)
		goto out;
	mp = llama_model_default_params();
	mp.vocab_only = true;
	llama_common_clear_last_error();
	b.model = llama_model_load_from_file(sp->vocab_path, mp);
	if (!b.model) {
		rc = lb_error_set(err, LB_ERR_USAGE, "'%s': tokenizer: cannot load '%s'%s%s",
				  sp->path, sp->vocab_path, *llama_common_last_error() ? ": " : "",
				  llama_common_last_error());
		goto out;
	}
	b.vocab = llama_model_get_vocab(b.model);
	if ((rc = load_source(&b, err)) || (rc = build_pool(&b, err)) ||
	    (rc = build_prefix(&b, &s, err)))
		goto out;
	if (!out->tokenizer) {
		out->tokenizer = lb_strdup(sp->tokenizer);
		if (!out->tokenizer) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < count; i++) {
		long j = b.src.n ? syn_below(&s, (long)b.src.n) : -1, plen, olen;
		struct lb_item *it;
		bool adjusted;

		if (sp->output.kind == SYN_DATASET) /* pairs with a reference, as ShareGPT does */
			while (b.src_out[j] <= 0)
				j = (j + 1) % (long)b.src.n;
		plen = dist_draw(&sp->prompt, &s, j >= 0 && b.src_in ? b.src_in[j] : -1);
		olen = dist_draw(&sp->output, &s, j >= 0 && b.src_out ? b.src_out[j] : -1);
		if (plen <= (long)b.n_prefix)
			plen = (long)b.n_prefix + 1;
		rc = build_one(&b, plen, &s, &adjusted, err);
		if (rc)
			goto out;
		snprintf(idbuf, sizeof(idbuf), "%ld", i + 1);
		if (lb_items_add(out, idbuf, b.text.buf, NULL, NULL)) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
		it = &out->v[out->n - 1];
		it->max_tokens = (int)olen;
		it->token_ids = lb_malloc((size_t)plen * sizeof(*it->token_ids));
		if (!it->token_ids) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
		memcpy(it->token_ids, b.re, (size_t)plen * sizeof(*it->token_ids));
		it->n_token_ids = (size_t)plen;
		out->adjusted += adjusted;
	}
out:
	build_release(&b);
	return rc;
}

#else /* !LB_HAVE_LLAMA */

static int synthetic_build(const struct syn_spec *sp, long limit, struct lb_items *out,
			   struct lb_error *err)
{
	(void)limit;
	(void)out;
	return lb_error_set(err, LB_ERR_USAGE,
			    "'%s': synthetic prompts need the '%s' tokenizer, and %s", sp->path,
			    sp->tokenizer, LLAMA_COMMON_NOT_BUILT);
}

#endif

static int synthetic_load(const char *path, long limit, struct lb_items *out, struct lb_error *err)
{
	struct syn_spec sp;
	int rc;

	rc = spec_parse(&sp, path, err);
	if (rc)
		return rc;
	(void)dist_draw;
	rc = synthetic_build(&sp, limit, out, err);
	spec_release(&sp);
	return rc;
}

const struct dataset_ops synthetic_dataset_ops = {
	.format = "synthetic",
	.load = synthetic_load,
};
