/* trace_prompts.c: the "trace" dataset format: a timestamped trace (trace.h) turned into items
 * that carry their send times. A text-prompt line gives its prompt; a Mooncake line gets a
 * prompt synthesized with the "words" tokenizer, the simulator's (one token per
 * whitespace-separated word), or with a real vocabulary ("gguf:PATH", trace_vocab.c): hash id
 * h always gives the same block of block_size tokens, and the part of the input no hash id
 * covers gets tokens of its own, so a server's prefix cache sees exactly the reuse the trace
 * had. The path is the trace itself (.jsonl, block size 512) or a spec (.json):
 * {"trace": "file.jsonl", "tokenizer": "words" | "gguf:model.gguf", "block_size": N}. */
#include "dataset.h"

#include "../base/alloc.h"
#include "../base/jsoncfg.h"
#include "../base/strbuf.h"
#include "trace.h"
#include "trace_vocab.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* 256 short words: every token of a synthesized prompt is one of them. */
static const char *const vocab[256] = {
	"able", "acid", "aged", "also", "area", "army", "away", "baby", "back", "ball", "band",
	"bank", "base", "bath", "bear", "beat", "been", "beer", "bell", "belt", "best", "bill",
	"bird", "blow", "blue", "boat", "body", "bomb", "bond", "bone", "book", "boom", "born",
	"boss", "both", "bowl", "bulk", "burn", "bush", "busy", "call", "calm", "came", "camp",
	"card", "care", "case", "cash", "cast", "cell", "chat", "chip", "city", "club", "coal",
	"coat", "code", "cold", "come", "cook", "cool", "cope", "copy", "core", "cost", "crew",
	"crop", "dark", "data", "date", "dawn", "days", "dead", "deal", "dean", "dear", "debt",
	"deep", "deny", "desk", "dial", "diet", "disc", "disk", "does", "done", "door", "dose",
	"down", "draw", "drew", "drop", "drug", "dual", "duke", "dust", "duty", "each", "earn",
	"ease", "east", "easy", "edge", "else", "even", "ever", "evil", "exit", "face", "fact",
	"fail", "fair", "fall", "farm", "fast", "fate", "fear", "feed", "feel", "feet", "fell",
	"felt", "file", "fill", "film", "find", "fine", "fire", "firm", "fish", "five", "flat",
	"flow", "food", "foot", "ford", "form", "fort", "four", "free", "from", "fuel", "full",
	"fund", "gain", "game", "gate", "gave", "gear", "gene", "gift", "girl", "give", "glad",
	"goal", "goes", "gold", "golf", "gone", "good", "gray", "grew", "grey", "grow", "gulf",
	"hair", "half", "hall", "hand", "hang", "hard", "harm", "hate", "have", "head", "hear",
	"heat", "held", "hell", "help", "here", "hero", "high", "hill", "hire", "hold", "hole",
	"holy", "home", "hope", "host", "hour", "huge", "hung", "hunt", "hurt", "idea", "inch",
	"into", "iron", "item", "jack", "jane", "jean", "john", "join", "jump", "jury", "just",
	"keen", "keep", "kent", "kept", "kick", "kill", "kind", "king", "knee", "knew", "know",
	"lack", "lady", "laid", "lake", "land", "lane", "last", "late", "lead", "left", "less",
	"life", "lift", "like", "line", "link", "list", "live", "load", "loan", "lock", "logo",
	"long", "look", "lord", "lose", "loss", "lost", "love", "luck", "made", "mail", "main",
	"make", "male", "many",
};

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Every word of the list has 4 letters, so a token is 5 bytes ("word "). w5[i] holds word i and
 * its space in its first 5 bytes (memory order): one 8-byte store writes a token, and the 3
 * bytes past it are overwritten by the next token (the caller leaves 3 bytes of slack at the
 * very end). */
static void pack_vocab(uint64_t w5[256])
{
	int i;

	for (i = 0; i < 256; i++) {
		char b[8] = { 0 };

		memcpy(b, vocab[i], 4);
		b[4] = ' ';
		memcpy(&w5[i], b, 8);
	}
}

/* n tokens of block `key` (a hash id, or a line's own key) at p; returns the end. */
static char *put_block(char *p, const uint64_t w5[256], uint64_t key, long n)
{
	uint64_t x = mix64(key ^ 0x7ace5eedull);
	long j;

	for (j = 0; j < n; j++) {
		memcpy(p, &w5[(x >> ((j & 7) * 8)) & 0xff], 8);
		p += 5;
		if ((j & 7) == 7)
			x = mix64(x + (uint64_t)j);
	}
	return p;
}

/* The prompt of a Mooncake line at p: r->in * 5 bytes, the last one its NUL (and 3 bytes of
 * slack past them). Block k of hash id h is block(h); blocks past the hash ids are the line's
 * own (keyed by its line number, never equal to a hash id's). */
static void put_prompt(char *p, const uint64_t w5[256], const struct trace *t,
		       const struct trace_req *r)
{
	long nb = (r->in + t->block_size - 1) / t->block_size, k;
	char *q = p;

	for (k = 0; k < nb; k++) {
		long n = k + 1 < nb ? t->block_size : r->in - k * t->block_size;
		uint64_t key = (size_t)k < r->n_hash
				       ? r->hash[k]
				       : (1ull << 63) | ((uint64_t)r->line << 20) | (uint64_t)k;

		q = put_block(q, w5, key, n);
	}
	if (q > p) /* no space after the last word */
		q[-1] = 0;
	else
		*q = 0;
}

int trace_prompt_words(const struct trace *t, const struct trace_req *r, struct strbuf *sb);

int trace_prompt_words(const struct trace *t, const struct trace_req *r, struct strbuf *sb)
{
	uint64_t w5[256];

	pack_vocab(w5);
	strbuf_reset(sb);
	if (strbuf_grow(sb, (size_t)r->in * 5 + 8))
		return -1;
	put_prompt(sb->buf, w5, t, r);
	sb->len = r->in > 0 ? (size_t)r->in * 5 - 1 : 0;
	return 0;
}

/* One mapping for every synthesized prompt of the trace (items->arena): 100,000 prompts of a
 * few KB each, allocated one by one, cost more in malloc and page faults than in writing them.
 * items->arena stays NULL when the mapping cannot be made (each prompt is then allocated). */
static void make_arena(const struct trace *t, struct lb_items *items)
{
	size_t i, total = 8;
	void *m;

	for (i = 0; i < t->n; i++)
		if (!t->v[i].prompt)
			total += (size_t)(t->v[i].in > 0 ? t->v[i].in : 1) * 5;
	if (total <= 8 || items->arena)
		return;
	m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (m == MAP_FAILED)
		return;
#ifdef MADV_HUGEPAGE
	madvise(m, total, MADV_HUGEPAGE); /* fewer page faults where the kernel allows it */
#endif
	items->arena = m;
	items->arena_len = total;
}

/* The same blocks through a real vocabulary: n tokens of block key are n word tokens. */
static int trace_prompt_vocab(const struct trace_vocab *tv, const struct trace *t,
			      const struct trace_req *r, struct strbuf *sb)
{
	long nb = (r->in + t->block_size - 1) / t->block_size, k;

	strbuf_reset(sb);
	for (k = 0; k < nb; k++) {
		long n = k + 1 < nb ? t->block_size : r->in - k * t->block_size;
		uint64_t key = (size_t)k < r->n_hash
				       ? r->hash[k]
				       : (1ull << 63) | ((uint64_t)r->line << 20) | (uint64_t)k;

		if (trace_vocab_block(tv, sb, mix64(key ^ 0x7ace5eedull), n, mix64))
			return -1;
	}
	return trace_vocab_finish(tv, sb);
}

/* name as written in the spec at path: absolute, or relative to the spec's folder */
static char *spec_relative(const char *path, const char *name)
{
	size_t dir, n;
	char *out;

	if (name[0] == '/' || !strchr(path, '/'))
		return lb_strdup(name);
	dir = (size_t)(strrchr(path, '/') - path) + 1;
	n = dir + strlen(name) + 1;
	out = lb_malloc(n);
	if (out)
		snprintf(out, n, "%.*s%s", (int)dir, path, name);
	return out;
}

static int load_spec(const char *path, char **trace_path, long *block, char **vocab_path,
		     struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	cJSON *j;
	const cJSON *v;
	int rc;

	if ((rc = strbuf_read_file(&sb, path, 1u << 20, err)))
		return rc;
	j = cJSON_ParseWithLength(sb.buf, sb.len);
	strbuf_release(&sb);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return lb_error_set(err, LB_ERR_PARSE,
				    "%s: not a JSON object (a trace spec: "
				    "{\"trace\": FILE, \"tokenizer\": \"words\", "
				    "\"block_size\": N})",
				    path);
	}
	{
		static const char *const keys[] = { "trace", "tokenizer", "block_size", NULL };
		struct jsoncfg jc = { path, err };

		if ((rc = jsoncfg_check_keys(&jc, j, "", keys)))
			goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "tokenizer");
	if (v && cJSON_IsString(v) && !strncmp(v->valuestring, "gguf:", 5) && v->valuestring[5]) {
		*vocab_path = spec_relative(path, v->valuestring + 5);
		if (!*vocab_path) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
	} else if (v && (!cJSON_IsString(v) || strcmp(v->valuestring, "words"))) {
		rc = lb_error_set(
			err, LB_ERR_USAGE,
			"%s: tokenizer: expected \"words\" (the simulator's: one token per "
			"word) or \"gguf:PATH\" (the vocabulary of a GGUF model or "
			"ggml-vocab file, for a real server)",
			path);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "block_size");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > TRACE_MAX_LEN ||
		  v->valuedouble != (double)(long)v->valuedouble)) {
		rc = lb_error_set(err, LB_ERR_USAGE, "%s: block_size must be a whole number >= 1",
				  path);
		goto out;
	}
	if (v)
		*block = (long)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(j, "trace");
	if (!cJSON_IsString(v) || !v->valuestring[0]) {
		rc = lb_error_set(err, LB_ERR_USAGE, "%s: trace: the trace file's path is missing",
				  path);
		goto out;
	}
	*trace_path = spec_relative(path, v->valuestring);
	rc = *trace_path ? 0 : lb_error_set(err, LB_ERR_NOMEM, "out of memory");
out:
	cJSON_Delete(j);
	return rc;
}

#define TRACE_VOCAB_CHECK 262144L

static int trace_items_load(const char *path, long limit, struct lb_items *out,
			    struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	struct trace t;
	struct trace_vocab *tv = NULL;
	char *tpath = NULL, *vpath = NULL, id[32], *at = NULL;
	uint64_t w5[256];
	long block = TRACE_DEFAULT_BLOCK, got, checked = 0;
	size_t n = strlen(path), i;
	int rc;

	if (n > 5 && !strcmp(path + n - 5, ".json") &&
	    (rc = load_spec(path, &tpath, &block, &vpath, err))) {
		lb_free(tpath);
		lb_free(vpath);
		return rc;
	}
	rc = trace_load(tpath ? tpath : path, block, limit, &t, err);
	if (!rc && vpath && (rc = trace_vocab_open(vpath, &tv, err))) {
		lb_error_prefix(err, "%s: tokenizer", path);
		trace_free(&t);
	}
	lb_free(vpath);
	if (rc) {
		lb_free(tpath);
		return rc;
	}
	if (!tv) { /* words: written in place into one mapping (make_arena) */
		pack_vocab(w5);
		make_arena(&t, out);
		at = out->arena;
	}
	for (i = 0; i < t.n && !rc; i++) {
		const struct trace_req *r = &t.v[i];
		struct lb_item *it;

		if (!r->prompt && !at &&
		    (tv ? trace_prompt_vocab(tv, &t, r, &sb) : trace_prompt_words(&t, r, &sb))) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			break;
		}
		/* a real tokenizer: the exact count is checked before anything is sent, for the
		 * first TRACE_VOCAB_CHECK tokens (SentencePiece tokenizes ~150k tokens/s) */
		if (tv && !r->prompt && checked < TRACE_VOCAB_CHECK) {
			checked += r->in;
			rc = trace_vocab_check(tv, sb.buf, sb.len, r->in, &got, err);
			if (rc == 1)
				rc = lb_error_set(err, LB_ERR_USAGE,
						  "%s:%ld: the synthesized prompt is %ld tokens, "
						  "not input_length %ld (a vocabulary whose word "
						  "tokens merge; use tokenizer \"words\")",
						  tpath ? tpath : path, r->line, got, r->in);
			if (rc)
				break;
		}
		snprintf(id, sizeof(id), "%ld", r->line);
		if (lb_items_add(out, id, r->prompt ? r->prompt : "", NULL, NULL)) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			break;
		}
		it = &out->v[out->n - 1];
		if (!r->prompt && at) { /* written in place in the arena */
			lb_free(it->prompt);
			it->prompt = at;
			put_prompt(at, w5, &t, r);
			at += (size_t)(r->in > 0 ? r->in : 1) * 5;
		} else if (!r->prompt) { /* hand the synthesized text over instead of copying it */
			lb_free(it->prompt);
			it->prompt = strbuf_detach(&sb, NULL);
		}
		it->max_tokens = r->out > 0 && r->out < 1000000000L ? (int)r->out : 0;
		it->has_t = true;
		it->t_ms = r->ts_ms - t.v[0].ts_ms;
	}
	strbuf_release(&sb);
	trace_free(&t);
	trace_vocab_close(tv);
	lb_free(tpath);
	return rc;
}

const struct dataset_ops trace_dataset_ops = {
	.format = "trace",
	.load = trace_items_load,
};
