/* ppl_run.c: perplexity and KL divergence of a GGUF model on a text, driving llama.cpp the way
 * tools/perplexity/perplexity.cpp (v0.5.0) does, so that the figures match llama-perplexity. */
#include "ppl_run.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "../base/strbuf.h"
#include "llama_common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define PPL_TEXT_MAX (256u << 20)

#ifdef LB_HAVE_LLAMA

/* One model with its context and, when a chunk needs several decodes, a logits buffer. */
struct ppl_model {
	struct llama_model *model;
	struct llama_context *ctx;
	const struct llama_vocab *vocab;
	int n_vocab;
	float *buf; /* (n_ctx - first) * n_vocab floats when num_batches > 1 */
};

static void ppl_model_free(struct ppl_model *m)
{
	if (m->ctx)
		llama_free(m->ctx);
	llama_common_model_free(m->model);
	lb_free(m->buf);
	memset(m, 0, sizeof(*m));
}

static int ppl_model_open(struct ppl_model *m, const char *path, int n_ctx, struct lb_error *err)
{
	int rc, n_train;

	rc = llama_common_model_load(path, -1, &m->model, err);
	if (rc)
		return rc;
	m->vocab = llama_model_get_vocab(m->model);
	m->n_vocab = llama_vocab_n_tokens(m->vocab);
	n_train = llama_model_n_ctx_train(m->model);
	if (n_ctx > n_train)
		return lb_error_set(err, LB_ERR_USAGE,
				    "--ctx %d is larger than the context model '%s' was trained on "
				    "(%d)",
				    n_ctx, path, n_train);
	if (llama_vocab_get_add_eos(m->vocab))
		return lb_error_set(
			err, LB_ERR_USAGE,
			"model '%s' adds EOS to every text; llama.cpp's perplexity does "
			"not support such vocabularies",
			path);
	return 0;
}

#define PPL_MAX_SEQ 256 /* LLAMA_MAX_SEQ in llama.cpp's src/llama-cparams.h */

static int ppl_model_context(struct ppl_model *m, int n_batch, int n_seq, int threads, int n_ctx,
			     int num_batches, struct lb_error *err)
{
	struct llama_context_params cp;
	/* llama.cpp pads each sequence's context to a multiple of 256 (and warns when the total
	 * was not such a multiple); asking for the padded size gives the same context quietly. */
	int n_ctx_seq = (n_ctx + 255) / 256 * 256;

	/* As common_context_params_to_llama with llama-perplexity's defaults. */
	cp = llama_context_default_params();
	cp.n_ctx = (uint32_t)(n_seq * n_ctx_seq);
	cp.n_batch = (uint32_t)n_batch;
	cp.n_ubatch = 512;
	cp.n_seq_max = (uint32_t)n_seq;
	cp.n_threads = threads;
	cp.n_threads_batch = threads;
	cp.swa_full = false;
	cp.no_perf = true;
	llama_common_clear_last_error();
	m->ctx = llama_init_from_model(m->model, cp);
	if (!m->ctx)
		return lb_error_set(err, LB_ERR_BACKEND, "cannot create a llama.cpp context%s%s",
				    llama_common_last_error()[0] ? ": " : "",
				    llama_common_last_error());
	if (num_batches > 1) {
		m->buf =
			lb_malloc((size_t)(n_ctx - n_ctx / 2) * (size_t)m->n_vocab * sizeof(float));
		if (!m->buf)
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory for logits");
	}
	return 0;
}

/* Decode chunks [i, i + n_seq_batch) of tokens as llama-perplexity does and return the
 * logits of every position >= n_ctx/2 of every sequence, in order (rows of n_vocab). */
static int decode_group(struct ppl_model *m, struct llama_batch *batch, int32_t *tokens, int start,
			int n_ctx, int n_batch, int num_batches, int n_seq_batch, bool add_bos,
			const float **out, struct lb_error *err)
{
	const int first = n_ctx / 2;
	size_t filled = 0;
	int j, seq, k;

	llama_memory_clear(llama_get_memory(m->ctx), true);
	for (j = 0; j < num_batches; j++) {
		int batch_start = start + j * n_batch;
		int batch_size = start + n_ctx - batch_start < n_batch ? start + n_ctx - batch_start
								       : n_batch;
		int n_outputs = 0;

		batch->n_tokens = 0;
		for (seq = 0; seq < n_seq_batch; seq++) {
			int seq_start = batch_start + seq * n_ctx;

			for (k = 0; k < batch_size; k++) {
				int idx = seq * n_ctx + k;

				batch->token[idx] = tokens[seq_start + k];
				if (add_bos && j == 0 && k == 0)
					batch->token[idx] = llama_vocab_bos(m->vocab);
				batch->pos[idx] = j * n_batch + k;
				batch->n_seq_id[idx] = 1;
				batch->seq_id[idx][0] = seq;
				batch->logits[idx] = batch->pos[idx] >= first ? 1 : 0;
				n_outputs += batch->logits[idx] != 0;
			}
			batch->n_tokens += batch_size;
		}
		llama_common_clear_last_error();
		if (llama_decode(m->ctx, *batch))
			return lb_error_set(err, LB_ERR_BACKEND, "llama_decode failed%s%s",
					    llama_common_last_error()[0] ? ": " : "",
					    llama_common_last_error());
		if (num_batches > 1 && n_outputs > 0) {
			memcpy(m->buf + filled * (size_t)m->n_vocab, llama_get_logits(m->ctx),
			       (size_t)n_outputs * (size_t)m->n_vocab * sizeof(float));
			filled += (size_t)n_outputs;
		}
	}
	*out = num_batches > 1 ? m->buf : llama_get_logits_ith(m->ctx, first);
	if (!*out)
		return lb_error_set(err, LB_ERR_BACKEND, "llama.cpp returned no logits");
	return 0;
}

static int read_text(const char *path, struct strbuf *sb, struct lb_error *err)
{
	struct stat st;
	int rc;

	if (stat(path, &st) < 0)
		return lb_error_set(err, LB_ERR_USAGE, "cannot open text '%s': %s", path,
				    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return lb_error_set(err, LB_ERR_USAGE, "text '%s' is not a regular file", path);
	rc = strbuf_read_file(sb, path, PPL_TEXT_MAX, err);
	if (rc)
		return rc == LB_ERR_LIMIT ? lb_error_set(err, LB_ERR_USAGE, "%s", err->msg) : rc;
	/* llama.cpp's -f drops one final newline. */
	if (sb->len && sb->buf[sb->len - 1] == '\n')
		sb->buf[--sb->len] = '\0';
	return 0;
}

/* Bytes of a token's text, cached per vocabulary id (-1: not yet known). */
static size_t token_bytes(const struct llama_vocab *vocab, int32_t *cache, int32_t tok)
{
	char buf[256];
	int32_t n;

	if (cache[tok] >= 0)
		return (size_t)cache[tok];
	n = llama_token_to_piece(vocab, tok, buf, sizeof(buf), 0, false);
	if (n < 0)
		n = -n;
	cache[tok] = n;
	return (size_t)n;
}

int ppl_run(const struct ppl_config *cfg, struct ppl_result *out, struct lb_error *err)
{
	struct ppl_model q = { 0 }, base = { 0 };
	struct llama_batch batch = { 0 };
	struct strbuf text = STRBUF_INIT;
	struct ppl_acc acc = { 0 };
	struct kld_acc kld;
	int32_t *tokens = NULL, *base_tokens = NULL, *piece_len = NULL;
	size_t n_tokens = 0, n_base_tokens = 0;
	int n_ctx, n_batch, n_seq, n_ctx_total, num_batches, first, n_chunk, threads, i, rc;
	bool have_batch = false;
	uint64_t t0 = lb_now_ns();

	memset(out, 0, sizeof(*out));
	kld_acc_init(&kld);
	n_ctx = cfg->n_ctx > 0 ? cfg->n_ctx : 512;
	n_batch = cfg->n_batch > 0 ? cfg->n_batch : 2048;
	threads = cfg->threads > 0 ? cfg->threads : llama_common_default_threads();
	if (n_ctx < 4)
		return lb_error_set(err, LB_ERR_USAGE, "--ctx must be at least 4, got %d", n_ctx);
	/* llama-perplexity: n_parallel = max(1, n_batch / n_ctx), n_ctx *= n_parallel,
	 * n_batch = min(n_batch, n_ctx). */
	n_seq = n_batch / n_ctx > 1 ? n_batch / n_ctx : 1;
	/* llama.cpp refuses a context of more than LLAMA_MAX_SEQ (256) sequences; the chunks are
	 * independent sequences, so fewer per pass give the same figures */
	if (n_seq > PPL_MAX_SEQ) {
		n_seq = PPL_MAX_SEQ;
		n_batch = n_seq * n_ctx;
	}
	n_ctx_total = n_seq * n_ctx;
	if (n_batch > n_ctx_total)
		n_batch = n_ctx_total;
	if (!(n_batch < n_ctx || n_batch % n_ctx == 0))
		return lb_error_set(err, LB_ERR_USAGE,
				    "--batch %d must be smaller than --ctx %d or a multiple of it",
				    n_batch, n_ctx);
	num_batches = (n_ctx + n_batch - 1) / n_batch;
	first = n_ctx / 2;

	rc = read_text(cfg->text_path, &text, err);
	if (rc)
		goto out;
	rc = ppl_model_open(&q, cfg->model_path, n_ctx, err);
	if (rc)
		goto out;
	if (cfg->kl_base_path) {
		rc = ppl_model_open(&base, cfg->kl_base_path, n_ctx, err);
		if (rc)
			goto out;
		if (base.n_vocab != q.n_vocab) {
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"--kl-base '%s' has %d tokens in its vocabulary, the model "
				"'%s' %d: not the same model",
				cfg->kl_base_path, base.n_vocab, cfg->model_path, q.n_vocab);
			goto out;
		}
	}
	out->add_bos = llama_vocab_get_add_bos(q.vocab);
	rc = llama_common_tokenize(q.vocab, text.buf, text.len, true, false, &tokens, &n_tokens,
				   err);
	if (rc)
		goto out;
	if (n_tokens < (size_t)2 * (size_t)n_ctx) {
		rc = lb_error_set(
			err, LB_ERR_USAGE,
			"text '%s' has %zu tokens; perplexity with --ctx %d needs at least "
			"%d (2 x ctx)",
			cfg->text_path, n_tokens, n_ctx, 2 * n_ctx);
		goto out;
	}
	if (cfg->kl_base_path) {
		rc = llama_common_tokenize(base.vocab, text.buf, text.len, true, false,
					   &base_tokens, &n_base_tokens, err);
		if (rc)
			goto out;
		if (n_base_tokens != n_tokens ||
		    memcmp(base_tokens, tokens, n_tokens * sizeof(*tokens)) ||
		    llama_vocab_get_add_bos(base.vocab) != out->add_bos) {
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"--kl-base '%s' tokenizes the text differently from '%s': "
				"not the same model",
				cfg->kl_base_path, cfg->model_path);
			goto out;
		}
	}
	rc = ppl_model_context(&q, n_batch, n_seq, threads, n_ctx, num_batches, err);
	if (!rc && cfg->kl_base_path)
		rc = ppl_model_context(&base, n_batch, n_seq, threads, n_ctx, num_batches, err);
	if (rc)
		goto out;
	piece_len = lb_malloc((size_t)q.n_vocab * sizeof(*piece_len));
	if (!piece_len) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
		goto out;
	}
	memset(piece_len, 0xff, (size_t)q.n_vocab * sizeof(*piece_len));

	n_chunk = (int)(n_tokens / (size_t)n_ctx);
	if (cfg->n_chunks > 0 && cfg->n_chunks < n_chunk)
		n_chunk = cfg->n_chunks;
	batch = llama_batch_init(n_batch < n_ctx_total ? n_batch : n_ctx_total, 0, 1);
	have_batch = true;

	for (i = 0; i < n_chunk; i += n_seq) {
		const int start = i * n_ctx;
		const int n_seq_batch = n_seq < n_chunk - i ? n_seq : n_chunk - i;
		const float *lq, *lp = NULL;
		int seq, j;

		rc = decode_group(&q, &batch, tokens, start, n_ctx, n_batch, num_batches,
				  n_seq_batch, out->add_bos, &lq, err);
		if (rc)
			goto out;
		if (cfg->kl_base_path) {
			rc = decode_group(&base, &batch, tokens, start, n_ctx, n_batch, num_batches,
					  n_seq_batch, out->add_bos, &lp, err);
			if (rc)
				goto out;
		}
		for (seq = 0; seq < n_seq_batch; seq++) {
			for (j = first; j < n_ctx - 1; j++) {
				size_t row = ((size_t)seq * (size_t)(n_ctx - first) +
					      (size_t)(j - first)) *
					     (size_t)q.n_vocab;
				int32_t tok = tokens[start + seq * n_ctx + j + 1];
				double nll = -ppl_log_softmax(lq + row, q.n_vocab, tok);

				ppl_acc_add(&acc, nll, token_bytes(q.vocab, piece_len, tok));
				if (lp) {
					rc = kld_acc_add(&kld, lq + row, lp + row, q.n_vocab, tok,
							 err);
					if (rc)
						goto out;
				}
			}
		}
		if (cfg->progress)
			cfg->progress(cfg->progress_user, i + n_seq_batch, n_chunk);
	}

	snprintf(out->method, sizeof(out->method),
		 "llama.cpp perplexity: non-overlapping chunks, second half scored");
	snprintf(out->bos_policy, sizeof(out->bos_policy), "%s",
		 out->add_bos ? "bos overwrites the first token of each chunk" : "no bos");
	out->n_ctx = n_ctx;
	out->n_batch = n_batch;
	out->n_seq = n_seq;
	out->n_chunks = n_chunk;
	out->n_text_tokens = n_tokens;
	out->n_scored = acc.count;
	out->scored_bytes = acc.bytes;
	ppl_acc_result(&acc, &out->ppl, &out->ppl_err);
	out->nll_mean = acc.sum_nll / (double)acc.count;
	out->bpb = ppl_acc_bpb(&acc);
	if (cfg->kl_base_path) {
		kld_acc_result(&kld, &out->kld);
		out->has_kld = true;
	}
	out->seconds = (double)(lb_now_ns() - t0) / 1e9;
	rc = 0;
out:
	if (have_batch)
		llama_batch_free(batch);
	kld_acc_release(&kld);
	lb_free(piece_len);
	lb_free(tokens);
	lb_free(base_tokens);
	ppl_model_free(&q);
	ppl_model_free(&base);
	strbuf_release(&text);
	return rc;
}

#else /* !LB_HAVE_LLAMA */

int ppl_run(const struct ppl_config *cfg, struct ppl_result *out, struct lb_error *err)
{
	(void)cfg;
	memset(out, 0, sizeof(*out));
	return llama_common_unsupported(err);
}

#endif
