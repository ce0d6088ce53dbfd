/* llamacpp.c: a GGUF model served in-process through llama.cpp's C API.
 *
 * Up to n_parallel requests are served by continuous batching in one llama_context, as
 * llama-server does: each poll() builds one llama_batch holding one sampled token of every
 * generating sequence plus prompt tokens of newly admitted requests (chunked to n_batch),
 * decodes it once, samples, and emits events. Requests beyond n_parallel wait in a FIFO. Each
 * sequence owns one seq_id and n_ctx cells of a non-unified KV cache; its cells are removed
 * when its request ends. docs/backends/llamacpp.md describes the behaviour.
 *
 * Over 800 lines on purpose: the serving loop, the info and the pp/tg micro-benchmarks all work
 * on struct lc (context, batch, slots), which stays private to this file. */
#include "llamacpp.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "../base/strbuf.h"
#include "llama_common.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef LB_HAVE_LLAMA

#include <cjson/cJSON.h>
#include <ggml-backend.h>
#include <gguf.h>
#include <llama.h>
#include <math.h>

#define LC_DEFAULT_CTX 4096
#define LC_DEFAULT_BATCH 512
#define LC_DEFAULT_SEED 42u     /* sampling seed of a request that names none */
#define LC_MAX_TEXT (64u << 20) /* generated text kept per request for stop strings */

struct lc_slot {
	struct request *req; /* borrowed; NULL: this sequence is free */
	llama_seq_id seq;
	uint64_t admitted;   /* admission order, for fair prompt chunking */
	llama_token *prompt; /* owned */
	int n_prompt;
	int n_fed;       /* prompt tokens decoded so far */
	int n_past;      /* tokens in this sequence's cache = next position */
	int n_out;       /* tokens emitted */
	int max_out;     /* request's max_tokens, INT_MAX when unbounded */
	bool generating; /* prompt done; `next` waits to be decoded */
	llama_token next;
	int32_t i_batch;            /* output row in the current batch, -1 none */
	int n_in_batch;             /* tokens of this sequence in the current batch */
	bool sent;                  /* LB_EV_SENT emitted */
	bool cancelled;             /* cancel() during poll: finished at the end of it */
	struct llama_sampler *smpl; /* owned */
	bool greedy;                /* temperature <= 0: argmax of the logits (lc_greedy) */
	bool no_eog;                /* ignore_eos: end-of-generation tokens are never picked */
	struct strbuf text;         /* generated text */
	size_t released;            /* bytes of text already emitted */
};

struct lc {
	struct llama_model *model; /* owned */
	struct llama_context *ctx; /* owned */
	const struct llama_vocab *vocab;
	struct llama_batch batch; /* owned, n_batch tokens */
	bool have_batch;
	int n_ctx, n_batch, n_parallel, threads;
	int32_t n_vocab;
	struct lc_slot *slots;  /* owned, n_parallel */
	struct lc_slot **order; /* owned, n_parallel: prompt sequences of a step */
	struct request **fifo;  /* owned array of borrowed requests, waiting */
	size_t fifo_head, fifo_len, fifo_alloc;
	uint64_t n_admitted;
	bool in_poll;
	llama_logit_bias *eog_bias; /* owned: -inf for every end-of-generation token */
	int32_t n_eog;
	const char *tokens_source; /* interned "tokenizer:<vocab>" (lives for the process) */
	char vocab_name[64];
};

/* Interned "tokenizer:<name>" strings: events lend tokens_source and records keep the pointer,
 * so it must outlive every backend. Bounded: past 16 vocabularies, plain "tokenizer". */
static const char *lc_intern_source(const char *vocab)
{
	static char names[16][80];
	static int n;
	char want[80];
	int i;

	snprintf(want, sizeof(want), "tokenizer:%s", vocab);
	for (i = 0; i < n; i++)
		if (!strcmp(names[i], want))
			return names[i];
	if (n == 16)
		return "tokenizer";
	snprintf(names[n], sizeof(names[0]), "%s", want);
	return names[n++];
}

static struct lc *lc_of(struct backend *b)
{
	return b->priv;
}

/* Tokenize text into *out (owned by the caller). */
static int lc_tokenize(const struct lc *s, const char *text, size_t len, bool add_special,
		       bool parse_special, llama_token **out, int *n_out, struct lb_error *err)
{
	size_t n = 0;
	int rc;

	*out = NULL;
	*n_out = 0;
	rc = llama_common_tokenize(s->vocab, text, len, add_special, parse_special, out, &n, err);
	if (rc)
		return rc;
	if (n > INT_MAX / 2) {
		lb_free(*out);
		*out = NULL;
		return lb_error_set(err, LB_ERR_LIMIT, "text of %zu tokens is too long", n);
	}
	*n_out = (int)n;
	return 0;
}

/* ---- the batch ---------------------------------------------------------------------- */

static void lc_batch_clear(struct lc *s)
{
	s->batch.n_tokens = 0;
}

static int32_t lc_batch_add(struct lc *s, llama_token tok, llama_pos pos, llama_seq_id seq,
			    bool logits)
{
	int32_t i = s->batch.n_tokens++;

	s->batch.token[i] = tok;
	s->batch.pos[i] = pos;
	s->batch.n_seq_id[i] = 1;
	s->batch.seq_id[i][0] = seq;
	s->batch.logits[i] = logits;
	return i;
}

/* The decode step: every token the backend computes, served or benchmarked, goes through here. */
static int lc_decode(struct lc *s, char *msg, size_t msg_len)
{
	int32_t rc = llama_decode(s->ctx, s->batch);

	if (!rc)
		return 0;
	if (rc == 1)
		snprintf(msg, msg_len,
			 "llama_decode found no KV slot for %d tokens (retry with a "
			 "smaller batch or a larger context)",
			 s->batch.n_tokens);
	else if (rc == 2)
		snprintf(msg, msg_len, "llama_decode was aborted");
	else
		snprintf(msg, msg_len, "llama_decode failed (%d)%s%.200s", rc,
			 llama_common_last_error()[0] ? ": " : "", llama_common_last_error());
	return -1;
}

/* ---- prompts ------------------------------------------------------------------------ */

/* Text of one message's content: a string, or the "text" parts of an array of parts. */
static int lc_content(const cJSON *c, struct strbuf *sb)
{
	const cJSON *part;

	if (cJSON_IsString(c))
		return strbuf_adds(sb, c->valuestring);
	if (!cJSON_IsArray(c))
		return 0;
	cJSON_ArrayForEach(part, c)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");

		if (cJSON_IsString(t) && strbuf_adds(sb, t->valuestring))
			return -1;
	}
	return 0;
}

/* The prompt text of a chat request: the model's chat template when it has one that
 * llama_chat_apply_template knows, else "role: content" lines ending with "assistant:". */
static int lc_chat_prompt(const struct lc *s, const char *json, struct strbuf *out,
			  struct lb_error *err)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *m;
	struct llama_chat_message *msgs = NULL;
	struct strbuf *texts = NULL;
	const char *tmpl;
	size_t n = 0, i = 0, j, total = 0;
	int rc = 0;

	if (!cJSON_IsArray(root)) {
		rc = lb_error_set(err, LB_ERR_PARSE, "messages are not a JSON array");
		goto out;
	}
	n = (size_t)cJSON_GetArraySize(root);
	msgs = lb_calloc(n ? n : 1, sizeof(*msgs));
	texts = lb_calloc(n ? n : 1, sizeof(*texts));
	if (!msgs || !texts)
		goto nomem;
	cJSON_ArrayForEach(m, root)
	{
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");

		strbuf_init(&texts[i], 0);
		i++;
		if (!cJSON_IsString(role)) {
			rc = lb_error_set(err, LB_ERR_PARSE, "message %zu has no \"role\" string",
					  i);
			goto out;
		}
		if (lc_content(cJSON_GetObjectItemCaseSensitive(m, "content"), &texts[i - 1]))
			goto nomem;
		msgs[i - 1].role = role->valuestring;
		msgs[i - 1].content = texts[i - 1].buf;
		total += strlen(role->valuestring) + texts[i - 1].len + 16;
	}
	tmpl = llama_model_chat_template(s->model, NULL);
	if (tmpl) {
		int32_t len;

		if (strbuf_grow(out, 2 * total + 256))
			goto nomem;
		len = llama_chat_apply_template(tmpl, msgs, n, true, out->buf,
						(int32_t)out->alloc - 1);
		if (len >= 0 && (size_t)len >= out->alloc - 1) {
			if (strbuf_grow(out, (size_t)len + 1))
				goto nomem;
			len = llama_chat_apply_template(tmpl, msgs, n, true, out->buf,
							(int32_t)out->alloc - 1);
		}
		if (len >= 0) {
			out->len = (size_t)len;
			out->buf[len] = '\0';
			goto out;
		}
		/* a template llama.cpp does not know: the plain join below */
	}
	for (j = 0; j < n; j++)
		if (strbuf_addf(out, "%s: %s\n", msgs[j].role, msgs[j].content))
			goto nomem;
	if (strbuf_adds(out, "assistant:"))
		goto nomem;
	goto out;
nomem:
	rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory building the chat prompt");
out:
	if (texts)
		for (j = 0; j < i; j++)
			strbuf_release(&texts[j]);
	lb_free(texts);
	lb_free(msgs);
	cJSON_Delete(root);
	return rc;
}

/* Tokens of a request's prompt into sl->prompt; on failure the request fails with err's
 * message. Token ids are used as given; text gets BOS as the vocabulary says. */
static int lc_prompt(const struct lc *s, struct lc_slot *sl, const struct request *req,
		     struct lb_error *err)
{
	struct strbuf chat = STRBUF_INIT;
	llama_token bos = llama_vocab_bos(s->vocab);
	int rc;

	if (req->prompt_ids && req->n_prompt_ids) {
		size_t i;

		if (req->n_prompt_ids > (size_t)INT_MAX / 2)
			return lb_error_set(err, LB_ERR_LIMIT,
					    "prompt of %zu token ids is too long",
					    req->n_prompt_ids);
		sl->prompt = lb_malloc(req->n_prompt_ids * sizeof(*sl->prompt));
		if (!sl->prompt)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		for (i = 0; i < req->n_prompt_ids; i++) {
			if (req->prompt_ids[i] < 0 || req->prompt_ids[i] >= s->n_vocab)
				return lb_error_set(err, LB_ERR_USAGE,
						    "prompt token id %d at %zu is "
						    "not in the vocabulary (0..%d)",
						    (int)req->prompt_ids[i], i, s->n_vocab - 1);
			sl->prompt[i] = req->prompt_ids[i];
		}
		sl->n_prompt = (int)req->n_prompt_ids;
		return 0;
	}
	if (req->messages_json) {
		rc = lc_chat_prompt(s, req->messages_json, &chat, err);
		if (!rc)
			rc = lc_tokenize(s, chat.buf, chat.len, true, true, &sl->prompt,
					 &sl->n_prompt, err);
		strbuf_release(&chat);
		/* a template that writes BOS itself, tokenized with BOS added: keep one */
		if (!rc && sl->n_prompt >= 2 && bos != LLAMA_TOKEN_NULL && sl->prompt[0] == bos &&
		    sl->prompt[1] == bos) {
			memmove(sl->prompt, sl->prompt + 1,
				(size_t)(sl->n_prompt - 1) * sizeof(bos));
			sl->n_prompt--;
		}
		return rc;
	}
	if (!req->prompt)
		return lb_error_set(err, LB_ERR_USAGE, "request has no prompt");
	return lc_tokenize(s, req->prompt, req->prompt_len, true, true, &sl->prompt, &sl->n_prompt,
			   err);
}

/* The sampler chain of a request: greedy when temperature <= 0 (or unset), else top-k (when
 * > 0), top-p (when in (0, 1)), temperature and a seeded distribution. */
static struct llama_sampler *lc_sampler(const struct lc *s, const struct lb_gen *g)
{
	struct llama_sampler_chain_params p = llama_sampler_chain_default_params();
	struct llama_sampler *c = llama_sampler_chain_init(p);

	if (!c)
		return NULL;
	if (g->ignore_eos && s->n_eog)
		llama_sampler_chain_add(c, llama_sampler_init_logit_bias(s->n_vocab, s->n_eog,
									 s->eog_bias));
	if (g->temperature <= 0) {
		llama_sampler_chain_add(c, llama_sampler_init_greedy());
		return c;
	}
	if (g->top_k > 0)
		llama_sampler_chain_add(c, llama_sampler_init_top_k(g->top_k));
	if (g->top_p > 0 && g->top_p < 1)
		llama_sampler_chain_add(c, llama_sampler_init_top_p((float)g->top_p, 1));
	llama_sampler_chain_add(c, llama_sampler_init_temp((float)g->temperature));
	llama_sampler_chain_add(c, llama_sampler_init_dist(g->seed >= 0 ? (uint32_t)g->seed
									: LC_DEFAULT_SEED));
	return c;
}

/* ---- events ------------------------------------------------------------------------- */

static size_t lc_in_flight(const struct lc *s)
{
	size_t n = s->fifo_len;
	int i;

	for (i = 0; i < s->n_parallel; i++)
		n += s->slots[i].req != NULL;
	return n;
}

static void lc_emit_error(struct request *req, enum lb_fail fail, const char *msg)
{
	struct lb_event ev;

	lb_event_init(&ev, LB_EV_ERROR, req->id, lb_now_ns());
	ev.fail = fail;
	ev.text = msg;
	ev.text_len = strlen(msg);
	lb_sink_emit(&req->sink, &ev);
}

/* Free a sequence: its sampler, prompt and cache cells. The text is reset by the caller after
 * the last event that lends it. */
static void lc_slot_clear(struct lc *s, struct lc_slot *sl)
{
	if (sl->smpl)
		llama_sampler_free(sl->smpl);
	sl->smpl = NULL;
	lb_free(sl->prompt);
	sl->prompt = NULL;
	/* unconditionally: a failed decode may leave cells of a first prompt chunk behind */
	llama_memory_seq_rm(llama_get_memory(s->ctx), sl->seq, -1, -1);
	sl->req = NULL;
	sl->n_prompt = sl->n_fed = sl->n_past = sl->n_out = 0;
	sl->generating = sl->sent = sl->cancelled = false;
	sl->i_batch = -1;
	sl->n_in_batch = 0;
}

static void lc_slot_fail(struct lc *s, struct lc_slot *sl, enum lb_fail fail, const char *msg)
{
	struct request *req = sl->req;

	lc_slot_clear(s, sl);
	strbuf_reset(&sl->text);
	sl->released = 0;
	if (req)
		lc_emit_error(req, fail, msg);
}

static void lc_slot_done(struct lc *s, struct lc_slot *sl, const char *finish)
{
	struct request *req = sl->req;
	struct lb_event ev;

	lb_event_init(&ev, LB_EV_DONE, req->id, lb_now_ns());
	ev.usage_prompt_tokens = sl->n_prompt;
	ev.usage_completion_tokens = sl->n_out;
	ev.finish_reason = finish;
	ev.tokens_source = s->tokens_source;
	/* text held back (a partial stop string, an incomplete UTF-8 sequence) is the tail */
	ev.text = sl->text.buf + sl->released;
	ev.text_len = sl->text.len - sl->released;
	lc_slot_clear(s, sl);
	lb_sink_emit(&req->sink, &ev);
	strbuf_reset(&sl->text);
	sl->released = 0;
}

/* Bytes at the end of p[0..n) that start a UTF-8 sequence not complete yet. */
static size_t lc_utf8_partial(const char *p, size_t n)
{
	size_t i, k;

	for (i = 1; i <= 3 && i <= n; i++) {
		unsigned char c = (unsigned char)p[n - i];

		if ((c & 0xC0) == 0x80)
			continue; /* continuation byte: look further back */
		if ((c & 0xE0) == 0xC0)
			k = 2;
		else if ((c & 0xF0) == 0xE0)
			k = 3;
		else if ((c & 0xF8) == 0xF0)
			k = 4;
		else
			return 0;
		return k > i ? i : 0;
	}
	return 0;
}

/* After new text: find a stop string (true: *cut = where the emitted text ends) or else how
 * much may be released (*cut): everything but a suffix that may still become a stop string
 * or an incomplete UTF-8 sequence. */
static bool lc_stop_scan(const struct lc_slot *sl, const struct lb_gen *g, size_t *cut)
{
	const char *t = sl->text.buf;
	size_t len = sl->text.len, hold = 0, i, best = SIZE_MAX;

	for (i = 0; i < g->n_stop; i++) {
		const char *st = g->stop[i];
		size_t sn = st ? strlen(st) : 0, k;
		const char *hit;

		if (!sn)
			continue;
		hit = memmem(t + sl->released, len - sl->released, st, sn);
		if (hit && (size_t)(hit - t) < best)
			best = (size_t)(hit - t);
		for (k = sn - 1; k > hold; k--)
			if (k <= len - sl->released && !memcmp(t + len - k, st, k)) {
				hold = k;
				break;
			}
	}
	if (best != SIZE_MAX) {
		*cut = best;
		return true;
	}
	i = lc_utf8_partial(t, len);
	if (i > hold)
		hold = i;
	*cut = len - hold;
	return false;
}

/* A token was sampled for sl: emit it, or finish the request. */
static void lc_on_token(struct lc *s, struct lc_slot *sl, llama_token tok, uint64_t t_ns)
{
	struct request *req = sl->req;
	struct lb_event ev;
	size_t cut, from = sl->released;
	bool stop, last;

	if (llama_vocab_is_eog(s->vocab, tok) && !req->gen.ignore_eos) {
		lc_slot_done(s, sl, "stop");
		return;
	}
	if (llama_common_piece(s->vocab, tok, false, &sl->text, NULL)) {
		lc_slot_fail(s, sl, LB_FAIL_BACKEND,
			     "generated text exceeds the limit kept per request");
		return;
	}
	sl->n_out++;
	sl->next = tok;
	stop = lc_stop_scan(sl, &req->gen, &cut);
	last = stop || sl->n_out >= sl->max_out || sl->n_past >= s->n_ctx;
	if (last && !stop)
		cut = sl->text.len;
	lb_event_init(&ev, sl->n_out == 1 ? LB_EV_FIRST_TOKEN : LB_EV_TOKENS, req->id, t_ns);
	ev.n_tokens = 1;
	ev.text = sl->text.buf + from;
	ev.text_len = cut > from ? cut - from : 0;
	sl->released = cut > from ? cut : from;
	if (stop) {
		sl->text.len = sl->released; /* the stop string and what follows are not emitted */
		sl->text.buf[sl->text.len] = '\0';
	}
	lb_sink_emit(&req->sink, &ev);
	if (sl->cancelled)
		return;
	if (last)
		lc_slot_done(s, sl, stop ? "stop" : "length");
}

/* ---- backend_ops -------------------------------------------------------------------- */

static void lc_close(struct backend *b)
{
	struct lc *s = lc_of(b);
	int i;

	if (!s)
		return;
	if (s->slots) {
		for (i = 0; i < s->n_parallel; i++) {
			if (s->slots[i].smpl)
				llama_sampler_free(s->slots[i].smpl);
			lb_free(s->slots[i].prompt);
			strbuf_release(&s->slots[i].text);
		}
		lb_free(s->slots);
	}
	lb_free(s->order);
	if (s->have_batch)
		llama_batch_free(s->batch);
	if (s->ctx)
		llama_free(s->ctx);
	if (s->model)
		llama_model_free(s->model);
	lb_free(s->fifo);
	lb_free(s->eog_bias);
	lb_free(s);
	b->priv = NULL;
}

/* A short name of the vocabulary: its pre-tokenizer when it names one, else its model
 * ("llama" is SentencePiece: "llama-spm"). */
static void lc_vocab_name(struct lc *s)
{
	char model[64] = "", pre[64] = "";

	llama_model_meta_val_str(s->model, "tokenizer.ggml.model", model, sizeof(model));
	llama_model_meta_val_str(s->model, "tokenizer.ggml.pre", pre, sizeof(pre));
	if (pre[0] && strcmp(pre, "default"))
		snprintf(s->vocab_name, sizeof(s->vocab_name), "%s", pre);
	else if (!strcmp(model, "llama"))
		snprintf(s->vocab_name, sizeof(s->vocab_name), "llama-spm");
	else
		snprintf(s->vocab_name, sizeof(s->vocab_name), "%s", model[0] ? model : "unknown");
}

static int lc_open(struct backend *b, const struct backend_config *cfg, struct lb_error *err)
{
	struct llama_context_params cp;
	struct lc *s;
	int32_t i, n_train;
	int rc;

	if (!cfg->model_path || !*cfg->model_path)
		return lb_error_set(err, LB_ERR_USAGE, "llamacpp backend '%s': no model path",
				    cfg->name ? cfg->name : "?");
	if (cfg->threads < 0 || cfg->n_ctx < 0 || cfg->n_batch < 0 || cfg->n_parallel < 0)
		return lb_error_set(err, LB_ERR_USAGE,
				    "llamacpp backend '%s': threads, n_ctx, "
				    "n_batch and n_parallel must be >= 0",
				    cfg->name ? cfg->name : "?");
	s = lb_calloc(1, sizeof(*s));
	if (!s)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	b->priv = s;

	rc = llama_common_model_load(cfg->model_path, -1, &s->model, err);
	if (rc)
		return rc;
	s->vocab = llama_model_get_vocab(s->model);
	s->n_vocab = llama_vocab_n_tokens(s->vocab);
	n_train = llama_model_n_ctx_train(s->model);

	s->n_parallel = cfg->n_parallel > 0 ? cfg->n_parallel : 1;
	if ((size_t)s->n_parallel > llama_max_parallel_sequences())
		return lb_error_set(err, LB_ERR_USAGE,
				    "n_parallel %d is more than llama.cpp's "
				    "limit of %zu sequences",
				    s->n_parallel, llama_max_parallel_sequences());
	s->n_ctx = cfg->n_ctx > 0 ? cfg->n_ctx : LC_DEFAULT_CTX;
	if (cfg->n_ctx <= 0 && n_train > 0 && n_train < s->n_ctx)
		s->n_ctx = n_train;
	if (cfg->n_ctx > 0 && n_train > 0 && cfg->n_ctx > n_train)
		return lb_error_set(err, LB_ERR_USAGE,
				    "n_ctx %d is larger than the context of "
				    "model '%s' (%d)",
				    cfg->n_ctx, cfg->model_path, n_train);
	s->n_batch = cfg->n_batch > 0 ? cfg->n_batch : LC_DEFAULT_BATCH;
	if (s->n_batch < s->n_parallel)
		return lb_error_set(err, LB_ERR_USAGE,
				    "n_batch %d is smaller than n_parallel %d "
				    "(each step decodes one token of every sequence)",
				    s->n_batch, s->n_parallel);
	s->threads = cfg->threads > 0 ? cfg->threads : llama_common_default_threads();

	cp = llama_context_default_params();
	/* llama.cpp pads each sequence's cells to 256; ask for that, so it need not round (and
	 * warn); requests are held to n_ctx itself */
	cp.n_ctx = (((uint32_t)s->n_ctx + 255u) / 256u * 256u) * (uint32_t)s->n_parallel;
	cp.n_batch = (uint32_t)s->n_batch;
	cp.n_ubatch = (uint32_t)s->n_batch;
	cp.n_seq_max = (uint32_t)s->n_parallel;
	cp.n_threads = s->threads;
	cp.n_threads_batch = s->threads;
	cp.kv_unified = false;
	cp.no_perf = true;
	s->ctx = llama_init_from_model(s->model, cp);
	if (!s->ctx)
		return lb_error_set(err, LB_ERR_BACKEND,
				    "cannot create a llama.cpp context for "
				    "'%s' (n_ctx %d x %d sequences, n_batch %d)%s%s",
				    cfg->model_path, s->n_ctx, s->n_parallel, s->n_batch,
				    llama_common_last_error()[0] ? ": " : "",
				    llama_common_last_error());
	if (llama_n_ctx_seq(s->ctx) < (uint32_t)s->n_ctx)
		s->n_ctx = (int)llama_n_ctx_seq(s->ctx);
	s->batch = llama_batch_init(s->n_batch, 0, 1);
	s->have_batch = true;
	s->slots = lb_calloc((size_t)s->n_parallel, sizeof(*s->slots));
	s->order = lb_calloc((size_t)s->n_parallel, sizeof(*s->order));
	if (!s->slots || !s->order)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	for (i = 0; i < s->n_parallel; i++) {
		s->slots[i].seq = i;
		s->slots[i].i_batch = -1;
		strbuf_init(&s->slots[i].text, LC_MAX_TEXT);
	}
	for (i = 0; i < s->n_vocab; i++)
		s->n_eog += llama_vocab_is_eog(s->vocab, i);
	if (s->n_eog) {
		int32_t k = 0;

		s->eog_bias = lb_calloc((size_t)s->n_eog, sizeof(*s->eog_bias));
		if (!s->eog_bias)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		for (i = 0; i < s->n_vocab; i++)
			if (llama_vocab_is_eog(s->vocab, i))
				s->eog_bias[k++] =
					(llama_logit_bias){ .token = i, .bias = -INFINITY };
	}
	lc_vocab_name(s);
	s->tokens_source = lc_intern_source(s->vocab_name);
	return 0;
}

static int lc_submit(struct backend *b, struct request *req, struct lb_error *err)
{
	struct lc *s = lc_of(b);

	if (s->fifo_head + s->fifo_len == s->fifo_alloc) {
		if (s->fifo_head) {
			memmove(s->fifo, s->fifo + s->fifo_head, s->fifo_len * sizeof(*s->fifo));
			s->fifo_head = 0;
		} else {
			size_t na = s->fifo_alloc ? 2 * s->fifo_alloc : 16;
			struct request **nf = lb_realloc(s->fifo, na * sizeof(*nf));

			if (!nf)
				return lb_error_set(err, LB_ERR_NOMEM,
						    "out of memory queueing a request");
			s->fifo = nf;
			s->fifo_alloc = na;
		}
	}
	s->fifo[s->fifo_head + s->fifo_len++] = req;
	return 0;
}

/* Move waiting requests into free sequences. A request whose prompt cannot be served fails
 * here, alone. */
static void lc_admit(struct lc *s)
{
	int i;

	for (i = 0; i < s->n_parallel && s->fifo_len; i++) {
		struct lc_slot *sl = &s->slots[i];
		struct request *req;
		struct lb_error e = LB_ERROR_INIT;
		char msg[256];

		if (sl->req)
			continue;
		req = s->fifo[s->fifo_head++];
		s->fifo_len--;
		if (!s->fifo_len)
			s->fifo_head = 0;
		sl->req = req;
		sl->admitted = s->n_admitted++;
		sl->i_batch = -1;
		sl->max_out = req->gen.max_tokens > 0 ? req->gen.max_tokens : INT_MAX;
		if (lc_prompt(s, sl, req, &e)) {
			lc_slot_fail(s, sl, LB_FAIL_BACKEND, e.msg);
			i--; /* this sequence is free again */
			continue;
		}
		if (!sl->n_prompt) {
			lc_slot_fail(s, sl, LB_FAIL_BACKEND, "the prompt is empty (0 tokens)");
			i--;
			continue;
		}
		if (sl->n_prompt > s->n_ctx) {
			snprintf(msg, sizeof(msg),
				 "prompt is %d tokens, more than the context of %d "
				 "tokens per sequence (n_ctx)",
				 sl->n_prompt, s->n_ctx);
			lc_slot_fail(s, sl, LB_FAIL_BACKEND, msg);
			i--;
			continue;
		}
		sl->smpl = lc_sampler(s, &req->gen);
		sl->greedy = req->gen.temperature <= 0;
		sl->no_eog = req->gen.ignore_eos && s->n_eog;
		if (!sl->smpl) {
			lc_slot_fail(s, sl, LB_FAIL_BACKEND, "cannot create the sampler");
			i--;
			continue;
		}
	}
}

static int lc_cmp_admitted(const void *a, const void *b)
{
	const struct lc_slot *x = *(struct lc_slot *const *)a, *y = *(struct lc_slot *const *)b;

	return x->admitted < y->admitted ? -1 : x->admitted > y->admitted;
}

static void lc_finish_cancelled(struct lc *s)
{
	int i;

	for (i = 0; i < s->n_parallel; i++)
		if (s->slots[i].req && s->slots[i].cancelled)
			lc_slot_fail(s, &s->slots[i], LB_FAIL_CANCELLED, "cancelled");
}

/* Greedy sampling without the sampler chain: the first token of highest logit, skipping the
 * end-of-generation tokens when ignore_eos (the chain's logit bias of -inf). The chain would
 * pick the same token (llama's greedy keeps the first maximum), after copying all n_vocab
 * logits into a candidate array every step: about 2% of a small model's decode step. */
static llama_token lc_greedy(const struct lc *s, const struct lc_slot *sl)
{
	const float *l = llama_get_logits_ith(s->ctx, sl->i_batch);
	int32_t i, best = -1;
	float m = 0;

	if (!l)
		return llama_sampler_sample(sl->smpl, s->ctx, sl->i_batch);
	for (i = 0; i < s->n_vocab; i++) {
		if (best >= 0 && !(l[i] > m))
			continue;
		if (sl->no_eog && llama_vocab_is_eog(s->vocab, i))
			continue;
		best = i;
		m = l[i];
	}
	return best >= 0 ? best : llama_sampler_sample(sl->smpl, s->ctx, sl->i_batch);
}

static int lc_poll(struct backend *b, int timeout_ms, struct lb_error *err)
{
	struct lc *s = lc_of(b);
	struct lc_slot **order = s->order;
	int i, n_order = 0;
	char msg[512];
	uint64_t t;

	(void)timeout_ms;
	(void)err;
	if (s->in_poll)
		LB_BUG("llamacpp: poll() called from an event sink");
	s->in_poll = true;
	lc_admit(s);
	lc_batch_clear(s);
	/* one token of every generating sequence first: decoding never starves */
	for (i = 0; i < s->n_parallel; i++) {
		struct lc_slot *sl = &s->slots[i];

		sl->i_batch = -1;
		sl->n_in_batch = 0;
		if (!sl->req || sl->cancelled)
			continue;
		if (sl->generating) {
			sl->i_batch = lc_batch_add(s, sl->next, sl->n_past, sl->seq, true);
			sl->n_in_batch = 1;
		} else {
			order[n_order++] = sl;
		}
	}
	/* then prompt chunks, oldest request first */
	qsort(order, (size_t)n_order, sizeof(order[0]), lc_cmp_admitted);
	for (i = 0; i < n_order; i++) {
		struct lc_slot *sl = order[i];
		int k = sl->n_prompt - sl->n_fed, j;

		if (k > s->n_batch - s->batch.n_tokens)
			k = s->n_batch - s->batch.n_tokens;
		if (k <= 0)
			break;
		for (j = 0; j < k; j++) {
			int pos = sl->n_fed + j;
			bool lastp = pos == sl->n_prompt - 1;
			int32_t at = lc_batch_add(s, sl->prompt[pos], pos, sl->seq, lastp);

			if (lastp)
				sl->i_batch = at;
		}
		sl->n_in_batch = k;
	}
	if (!s->batch.n_tokens)
		goto out;
	t = lb_now_ns();
	for (i = 0; i < n_order; i++) {
		struct lc_slot *sl = order[i];
		struct lb_event ev;

		if (sl->sent || sl->cancelled || !sl->n_in_batch)
			continue;
		sl->sent = true;
		lb_event_init(&ev, LB_EV_SENT, sl->req->id, t);
		lb_sink_emit(&sl->req->sink, &ev);
	}
	if (lc_decode(s, msg, sizeof(msg))) {
		for (i = 0; i < s->n_parallel; i++)
			if (s->slots[i].req && s->slots[i].n_in_batch)
				lc_slot_fail(s, &s->slots[i], LB_FAIL_BACKEND, msg);
		goto out;
	}
	/* advance positions of everything decoded, then sample */
	for (i = 0; i < s->n_parallel; i++) {
		struct lc_slot *sl = &s->slots[i];

		if (!sl->req || !sl->n_in_batch)
			continue;
		sl->n_past += sl->n_in_batch;
		if (!sl->generating)
			sl->n_fed += sl->n_in_batch;
	}
	for (i = 0; i < s->n_parallel; i++) {
		struct lc_slot *sl = &s->slots[i];
		llama_token tok;

		if (!sl->req || sl->cancelled || sl->i_batch < 0)
			continue;
		tok = sl->greedy ? lc_greedy(s, sl)
				 : llama_sampler_sample(sl->smpl, s->ctx, sl->i_batch);
		t = lb_now_ns();
		sl->generating = true;
		lc_on_token(s, sl, tok, t);
	}
out:
	lc_finish_cancelled(s);
	s->in_poll = false;
	return (int)lc_in_flight(s);
}

static void lc_cancel(struct backend *b, struct request *req)
{
	struct lc *s = lc_of(b);
	size_t i;
	int k;

	for (i = 0; i < s->fifo_len; i++) {
		if (s->fifo[s->fifo_head + i] != req)
			continue;
		memmove(s->fifo + s->fifo_head + i, s->fifo + s->fifo_head + i + 1,
			(s->fifo_len - i - 1) * sizeof(*s->fifo));
		s->fifo_len--;
		lc_emit_error(req, LB_FAIL_CANCELLED, "cancelled");
		return;
	}
	for (k = 0; k < s->n_parallel; k++) {
		struct lc_slot *sl = &s->slots[k];

		if (sl->req != req)
			continue;
		if (s->in_poll)
			sl->cancelled = true; /* finished at the end of this poll */
		else
			lc_slot_fail(s, sl, LB_FAIL_CANCELLED, "cancelled");
		return;
	}
}

static int lc_tokenize_count(struct backend *b, const char *text, size_t len, int32_t *n_tokens,
			     struct lb_error *err)
{
	struct lc *s = lc_of(b);
	llama_token *t;
	int n, rc;

	rc = lc_tokenize(s, text, len, false, false, &t, &n, err);
	if (rc)
		return rc;
	lb_free(t);
	*n_tokens = n;
	return 0;
}

/* A free sequence for synchronous work (loglik, timing); NULL when every one is busy. */
static struct lc_slot *lc_idle_slot(struct lc *s)
{
	int i;

	for (i = 0; i < s->n_parallel; i++)
		if (!s->slots[i].req)
			return &s->slots[i];
	return NULL;
}

/* log p(tok) under logits (log-softmax with the max subtracted); *argmax of the row. */
static double lc_logprob(const float *logits, int32_t n_vocab, llama_token tok, llama_token *argmax)
{
	float mx = logits[0];
	llama_token am = 0;
	double sum = 0;
	int32_t i;

	for (i = 1; i < n_vocab; i++)
		if (logits[i] > mx) {
			mx = logits[i];
			am = i;
		}
	for (i = 0; i < n_vocab; i++)
		sum += exp((double)logits[i] - (double)mx);
	*argmax = am;
	return (double)logits[tok] - (double)mx - log(sum);
}

/* Sum of log p(continuation tokens | context): tokens of context+continuation (BOS as the
 * vocabulary says), the continuation being those after the context's own tokens, as
 * lm-evaluation-harness splits them. Decoded on an idle sequence, which is emptied after. */
static int lc_loglik(struct backend *b, const struct loglik_query *q, struct loglik_result *out,
		     struct lb_error *err)
{
	struct lc *s = lc_of(b);
	struct lc_slot *sl = lc_idle_slot(s);
	struct strbuf all = STRBUF_INIT;
	llama_token *ctx_t = NULL, *all_t = NULL;
	int n_ctx_t = 0, n_all = 0, pos, rc = 0;
	char msg[512];

	memset(out, 0, sizeof(*out));
	if (s->in_poll)
		return lb_error_set(err, LB_ERR_BACKEND, "loglik cannot run inside an event sink");
	if (!sl)
		return lb_error_set(err, LB_ERR_BACKEND,
				    "loglik needs an idle sequence; all %d "
				    "are busy",
				    s->n_parallel);
	if (!q->continuation_len)
		return lb_error_set(err, LB_ERR_USAGE, "loglik: the continuation is empty");
	if (strbuf_add(&all, q->context, q->context_len) ||
	    strbuf_add(&all, q->continuation, q->continuation_len)) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = lc_tokenize(s, q->context ? q->context : "", q->context_len, true, false, &ctx_t,
			 &n_ctx_t, err);
	if (!rc)
		rc = lc_tokenize(s, all.buf, all.len, true, false, &all_t, &n_all, err);
	if (rc) {
		lb_error_prefix(err, "loglik");
		goto out;
	}
	if (!n_ctx_t) {
		/* no BOS and no context: condition the first token on end-of-text, as
		 * lm-evaluation-harness does */
		llama_token eos = llama_vocab_eos(s->vocab), *nt;

		if (eos == LLAMA_TOKEN_NULL) {
			rc = lb_error_set(err, LB_ERR_UNSUPPORTED,
					  "loglik: empty context and the "
					  "vocabulary has neither BOS nor EOS");
			goto out;
		}
		nt = lb_realloc(all_t, ((size_t)n_all + 1) * sizeof(*nt));
		if (!nt) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
			goto out;
		}
		all_t = nt;
		memmove(all_t + 1, all_t, (size_t)n_all * sizeof(*all_t));
		all_t[0] = eos;
		n_all++;
		n_ctx_t = 1;
	}
	if (n_all <= n_ctx_t) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "loglik: the continuation has no tokens of "
				  "its own");
		goto out;
	}
	if (n_all > s->n_ctx) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "loglik: context and continuation are %d "
				  "tokens, more than the context of %d (n_ctx)",
				  n_all, s->n_ctx);
		goto out;
	}
	out->greedy = true;
	out->n_tokens = n_all - n_ctx_t;
	out->n_bytes = q->continuation_len;
	for (pos = 0; pos < n_all;) {
		int start = pos, i;

		lc_batch_clear(s);
		for (; pos < n_all && s->batch.n_tokens < s->n_batch; pos++)
			lc_batch_add(s, all_t[pos], pos, sl->seq,
				     pos >= n_ctx_t - 1 && pos < n_all - 1);
		if (lc_decode(s, msg, sizeof(msg))) {
			rc = lb_error_set(err, LB_ERR_BACKEND, "loglik: %s", msg);
			goto out;
		}
		for (i = 0; i < s->batch.n_tokens; i++) {
			llama_token am;
			const float *lg;

			if (!s->batch.logits[i])
				continue;
			lg = llama_get_logits_ith(s->ctx, i);
			if (!lg) {
				rc = lb_error_set(err, LB_ERR_BACKEND, "loglik: no logits at %d",
						  start + i);
				goto out;
			}
			out->sum_logprob += lc_logprob(lg, s->n_vocab, all_t[start + i + 1], &am);
			if (am != all_t[start + i + 1])
				out->greedy = false;
		}
	}
out:
	lc_slot_clear(s, sl);
	lb_free(ctx_t);
	lb_free(all_t);
	strbuf_release(&all);
	return rc;
}

const struct backend_ops llamacpp_backend_ops = {
	.type = "llamacpp",
	.caps = BACKEND_CAP_STREAM | BACKEND_CAP_TOKENIZE | BACKEND_CAP_LOGLIK | BACKEND_CAP_INPROC,
	.open = lc_open,
	.submit = lc_submit,
	.poll = lc_poll,
	.cancel = lc_cancel,
	.loglik = lc_loglik,
	.tokenize_count = lc_tokenize_count,
	.close = lc_close,
};

/* ---- llamacpp.h --------------------------------------------------------------------- */

uint64_t llamacpp_rand(uint64_t *rng)
{
	uint64_t x = *rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static struct lc *lc_checked(struct backend *b, bool idle, struct lb_error *err)
{
	struct lc *s;

	if (!b || b->ops != &llamacpp_backend_ops || !b->priv) {
		lb_error_set(err, LB_ERR_UNSUPPORTED, "not an open llamacpp backend");
		return NULL;
	}
	s = b->priv;
	if (idle && (lc_in_flight(s) || s->in_poll)) {
		lb_error_set(err, LB_ERR_BACKEND, "the llamacpp backend is busy with %zu requests",
			     lc_in_flight(s));
		return NULL;
	}
	return s;
}

int llamacpp_info(struct backend *b, struct llamacpp_info *out, struct lb_error *err)
{
	struct lc *s = lc_checked(b, false, err);
	size_t i, n = 0;

	if (!s)
		return err ? err->code : LB_ERR_UNSUPPORTED;
	memset(out, 0, sizeof(*out));
	llama_model_desc(s->model, out->desc, sizeof(out->desc));
	llama_model_meta_val_str(s->model, "general.architecture", out->arch, sizeof(out->arch));
	snprintf(out->vocab, sizeof(out->vocab), "%s", s->vocab_name);
	for (i = 0; i < ggml_backend_reg_count(); i++) {
		const char *name = ggml_backend_reg_name(ggml_backend_reg_get(i));

		if (!strcmp(name, "CPU") || !strncmp(name, "RPC", 3))
			continue;
		n += (size_t)snprintf(out->backend + n,
				      n < sizeof(out->backend) ? sizeof(out->backend) - n : 0,
				      "%s%s", n ? "," : "", name);
		if (n >= sizeof(out->backend))
			break;
	}
	if (!out->backend[0])
		snprintf(out->backend, sizeof(out->backend), "CPU");
	out->size_bytes = llama_model_size(s->model);
	out->n_params = llama_model_n_params(s->model);
	out->n_vocab = s->n_vocab;
	out->bos = llama_vocab_get_add_bos(s->vocab) ? llama_vocab_bos(s->vocab) : -1;
	out->threads = s->threads;
	out->n_ctx = s->n_ctx;
	out->n_batch = s->n_batch;
	out->n_parallel = s->n_parallel;
	return 0;
}

int llamacpp_train_ctx(const char *path, int *n_ctx_train, struct lb_error *err)
{
	struct gguf_init_params gp = { .no_alloc = true, .ctx = NULL };
	struct gguf_context *g;
	char key[96];
	int64_t k;
	int rc;

	rc = llama_common_gguf_check(path, err);
	if (rc)
		return rc;
	g = gguf_init_from_file(path, gp);
	if (!g)
		return lb_error_set(err, LB_ERR_USAGE, "model '%s' is a corrupt GGUF file", path);
	k = gguf_find_key(g, "general.architecture");
	if (k < 0 || gguf_get_kv_type(g, k) != GGUF_TYPE_STRING) {
		rc = lb_error_set(err, LB_ERR_USAGE, "model '%s' has no general.architecture",
				  path);
		goto out;
	}
	snprintf(key, sizeof(key), "%.64s.context_length", gguf_get_val_str(g, k));
	k = gguf_find_key(g, key);
	switch (k < 0 ? GGUF_TYPE_COUNT : gguf_get_kv_type(g, k)) {
	case GGUF_TYPE_UINT32: *n_ctx_train = (int)gguf_get_val_u32(g, k); break;
	case GGUF_TYPE_INT32: *n_ctx_train = gguf_get_val_i32(g, k); break;
	case GGUF_TYPE_UINT64: *n_ctx_train = (int)gguf_get_val_u64(g, k); break;
	default: rc = lb_error_set(err, LB_ERR_USAGE, "model '%s' has no %s", path, key); break;
	}
out:
	gguf_free(g);
	return rc;
}

static llama_token lc_bench_token(struct lc *s, uint64_t *rng, bool first)
{
	if (first && llama_vocab_get_add_bos(s->vocab))
		return llama_vocab_bos(s->vocab);
	return (llama_token)(llamacpp_rand(rng) % (uint64_t)s->n_vocab);
}

int llamacpp_bench_pp(struct backend *b, int n, uint64_t *rng, uint64_t *ns, struct lb_error *err)
{
	struct lc *s = lc_checked(b, true, err);
	uint64_t t0;
	char msg[512];
	int done = 0, rc = 0;

	if (!s)
		return err ? err->code : LB_ERR_UNSUPPORTED;
	if (n <= 0 || n > s->n_ctx)
		return lb_error_set(err, LB_ERR_USAGE, "pp %d: must be 1..%d (n_ctx)", n, s->n_ctx);
	llama_memory_clear(llama_get_memory(s->ctx), false);
	t0 = lb_now_ns();
	while (done < n) {
		int k = n - done < s->n_batch ? n - done : s->n_batch, j;

		lc_batch_clear(s);
		for (j = 0; j < k; j++)
			lc_batch_add(s, lc_bench_token(s, rng, done + j == 0), done + j, 0,
				     j == k - 1);
		if (lc_decode(s, msg, sizeof(msg))) {
			rc = lb_error_set(err, LB_ERR_BACKEND, "pp %d: %s", n, msg);
			break;
		}
		done += k;
	}
	llama_synchronize(s->ctx);
	*ns = lb_now_ns() - t0;
	llama_memory_clear(llama_get_memory(s->ctx), false);
	return rc;
}

int llamacpp_bench_tg(struct backend *b, int n, uint64_t *rng, uint64_t *ns, struct lb_error *err)
{
	struct lc *s = lc_checked(b, true, err);
	uint64_t t0;
	char msg[512];
	int i, rc = 0;
	llama_token tok;

	if (!s)
		return err ? err->code : LB_ERR_UNSUPPORTED;
	if (n <= 0 || n > s->n_ctx)
		return lb_error_set(err, LB_ERR_USAGE, "tg %d: must be 1..%d (n_ctx)", n, s->n_ctx);
	llama_memory_clear(llama_get_memory(s->ctx), false);
	tok = lc_bench_token(s, rng, true);
	t0 = lb_now_ns();
	for (i = 0; i < n; i++) {
		lc_batch_clear(s);
		lc_batch_add(s, tok, i, 0, true);
		if (lc_decode(s, msg, sizeof(msg))) {
			rc = lb_error_set(err, LB_ERR_BACKEND, "tg %d: %s", n, msg);
			break;
		}
		llama_synchronize(s->ctx);
		tok = lc_bench_token(s, rng, false);
	}
	*ns = lb_now_ns() - t0;
	llama_memory_clear(llama_get_memory(s->ctx), false);
	return rc;
}

#else /* !LB_HAVE_LLAMA */

#define LC_NOT_BUILT                                                                  \
	"llamacpp backend: llama.cpp is not built in (run 'make deps' or build with " \
	"LLAMA_PREFIX=/path)"

static int lc_open(struct backend *b, const struct backend_config *cfg, struct lb_error *err)
{
	(void)b;
	(void)cfg;
	return lb_error_set(err, LB_ERR_UNSUPPORTED, LC_NOT_BUILT);
}

const struct backend_ops llamacpp_backend_ops = {
	.type = "llamacpp",
	.caps = BACKEND_CAP_STREAM | BACKEND_CAP_TOKENIZE | BACKEND_CAP_LOGLIK | BACKEND_CAP_INPROC,
	.open = lc_open,
};

uint64_t llamacpp_rand(uint64_t *rng)
{
	uint64_t x = *rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

int llamacpp_train_ctx(const char *path, int *n_ctx_train, struct lb_error *err)
{
	(void)path;
	*n_ctx_train = 0;
	return lb_error_set(err, LB_ERR_UNSUPPORTED, LC_NOT_BUILT);
}

int llamacpp_info(struct backend *b, struct llamacpp_info *out, struct lb_error *err)
{
	(void)b;
	memset(out, 0, sizeof(*out));
	return lb_error_set(err, LB_ERR_UNSUPPORTED, LC_NOT_BUILT);
}

int llamacpp_bench_pp(struct backend *b, int n, uint64_t *rng, uint64_t *ns, struct lb_error *err)
{
	(void)b, (void)n, (void)rng;
	*ns = 0;
	return lb_error_set(err, LB_ERR_UNSUPPORTED, LC_NOT_BUILT);
}

int llamacpp_bench_tg(struct backend *b, int n, uint64_t *rng, uint64_t *ns, struct lb_error *err)
{
	(void)b, (void)n, (void)rng;
	*ns = 0;
	return lb_error_set(err, LB_ERR_UNSUPPORTED, LC_NOT_BUILT);
}

#endif
