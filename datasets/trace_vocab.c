/* trace_vocab.c: token-exact trace prompts through a real vocabulary (tokenizer "gguf:PATH" in
 * a trace spec, docs/traffic.md). The vocabulary of a GGUF model or ggml-vocab-*.gguf file is
 * loaded (no weights) and 256 of its word tokens are chosen, in id order: pieces " xxx" of 3 to
 * 7 lowercase letters that come back as themselves when repeated and, for a tokenizer that adds
 * its own leading space (SentencePiece: no split into words first), beside every word chosen
 * before them (both ways round). A prompt of n tokens is the concatenation of n such pieces,
 * so it tokenizes to n tokens without special tokens (the server adds BOS when the vocabulary
 * says so); the same hash id gives the same pieces. Whether the text keeps its leading space
 * depends on the tokenizer (SentencePiece adds one itself); it is probed once. The caller
 * tokenizes synthesized prompts again to check the count (trace_vocab_check). */
#include "trace_vocab.h"

#include "../backends/llama_common.h"
#include "../base/alloc.h"

#include <string.h>

#define TV_WORDS 256

struct trace_vocab {
	struct llama_model *model;
	const struct llama_vocab *vocab;
	char *path;
	char *piece[TV_WORDS]; /* " word" (owned) */
	size_t len[TV_WORDS];
	int n_words;
	bool strip; /* drop the text's first space (the tokenizer adds its own) */
	bool add_bos;
};

static bool word_piece(const char *p, size_t n)
{
	size_t i;

	if (n < 4 || n > 8 || p[0] != ' ')
		return false;
	for (i = 1; i < n; i++)
		if (p[i] < 'a' || p[i] > 'z')
			return false;
	return true;
}

/* Tokens of text (with the first space dropped in strip mode), -1 on error. */
static long count_tokens(const struct trace_vocab *tv, const char *text, size_t len, bool strip,
			 int32_t *first, struct lb_error *err)
{
	int32_t *toks = NULL;
	size_t n = 0;

	if (strip && len && text[0] == ' ')
		text++, len--;
	if (llama_common_tokenize(tv->vocab, text, len, false, false, &toks, &n, err))
		return -1;
	if (first)
		*first = n ? toks[0] : -1;
	lb_free(toks);
	return (long)n;
}

/* piece repeated 3 times tokenizes to 3 tokens, each the piece's own */
static int triple_ok(struct trace_vocab *tv, const char *piece, size_t len, bool strip,
		     struct lb_error *err)
{
	char buf[32];
	int32_t first;
	long n;

	memcpy(buf, piece, len);
	memcpy(buf + len, piece, len);
	memcpy(buf + 2 * len, piece, len);
	n = count_tokens(tv, buf, 3 * len, strip, &first, err);
	if (n < 0)
		return -1;
	return n == 3;
}

/* the candidate beside every word chosen so far, both ways round, stays two tokens */
static int pairs_ok(struct trace_vocab *tv, const char *piece, size_t len, struct lb_error *err)
{
	char buf[32];
	long n;
	int i, k;

	for (i = 0; i < tv->n_words; i++)
		for (k = 0; k < 2; k++) {
			const char *a = k ? tv->piece[i] : piece, *b = k ? piece : tv->piece[i];
			size_t la = k ? tv->len[i] : len, lb = k ? len : tv->len[i];

			memcpy(buf, a, la);
			memcpy(buf + la, b, lb);
			n = count_tokens(tv, buf, la + lb, tv->strip, NULL, err);
			if (n < 0)
				return -1;
			if (n != 2)
				return 0;
		}
	return 1;
}

int trace_vocab_open(const char *path, struct trace_vocab **out, struct lb_error *err)
{
	struct trace_vocab *tv;
	struct strbuf sb = STRBUF_INIT;
	int32_t n_tok, id;
	int probed = 0, rc = 0, ok;

	*out = NULL;
	tv = lb_calloc(1, sizeof(*tv));
	if (!tv)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	tv->path = lb_strdup(path);
	rc = tv->path ? llama_common_vocab_load(path, &tv->model, err)
		      : lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	if (rc)
		goto fail;
	tv->vocab = llama_common_model_vocab(tv->model, &n_tok, &tv->add_bos);
	for (id = 0; id < n_tok && tv->n_words < TV_WORDS; id++) {
		strbuf_reset(&sb);
		if ((rc = llama_common_piece(tv->vocab, id, false, &sb, err)))
			goto fail;
		if (!word_piece(sb.buf, sb.len))
			continue;
		if (!probed) { /* keep the leading space, or let the tokenizer add it */
			ok = triple_ok(tv, sb.buf, sb.len, false, err);
			if (ok == 0) {
				ok = triple_ok(tv, sb.buf, sb.len, true, err);
				tv->strip = ok == 1;
			}
			if (ok < 0) {
				rc = err ? err->code : LB_ERR_BACKEND;
				goto fail;
			}
			if (ok == 0)
				continue;
			probed = 1;
		} else {
			ok = triple_ok(tv, sb.buf, sb.len, tv->strip, err);
			/* a tokenizer that adds its own space (SentencePiece) sees the whole text;
			 * BPE vocabularies split it into words first, so no pair can merge */
			if (ok == 1 && tv->strip)
				ok = pairs_ok(tv, sb.buf, sb.len, err);
			if (ok < 0) {
				rc = err ? err->code : LB_ERR_BACKEND;
				goto fail;
			}
			if (!ok)
				continue;
		}
		tv->piece[tv->n_words] = strbuf_detach(&sb, &tv->len[tv->n_words]);
		tv->n_words++;
	}
	strbuf_release(&sb);
	if (tv->n_words < TV_WORDS) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "tokenizer gguf:%s: the vocabulary has %d word tokens that "
				  "concatenate exactly, %d needed (use tokenizer \"words\")",
				  path, tv->n_words, TV_WORDS);
		goto fail;
	}
	*out = tv;
	return 0;
fail:
	strbuf_release(&sb);
	trace_vocab_close(tv);
	return rc;
}

void trace_vocab_close(struct trace_vocab *tv)
{
	int i;

	if (!tv)
		return;
	for (i = 0; i < tv->n_words; i++)
		lb_free(tv->piece[i]);
	llama_common_model_free(tv->model);
	lb_free(tv->path);
	lb_free(tv);
}

bool trace_vocab_add_bos(const struct trace_vocab *tv)
{
	return tv->add_bos;
}

int trace_vocab_block(const struct trace_vocab *tv, struct strbuf *sb, uint64_t x, long n,
		      uint64_t (*mix)(uint64_t))
{
	long j;

	for (j = 0; j < n; j++) {
		unsigned w = (unsigned)(x >> ((j & 7) * 8)) & 0xff;

		if (strbuf_add(sb, tv->piece[w], tv->len[w]))
			return -1;
		if ((j & 7) == 7)
			x = mix(x + (uint64_t)j);
	}
	return 0;
}

int trace_vocab_finish(const struct trace_vocab *tv, struct strbuf *sb)
{
	if (tv->strip && sb->len && sb->buf[0] == ' ') {
		memmove(sb->buf, sb->buf + 1, sb->len);
		sb->len--;
	}
	return 0;
}

int trace_vocab_check(const struct trace_vocab *tv, const char *text, size_t len, long want,
		      long *got, struct lb_error *err)
{
	long n = count_tokens(tv, text, len, false, NULL, err);

	*got = n;
	if (n < 0)
		return err ? err->code : LB_ERR_BACKEND;
	return n == want ? 0 : 1;
}
