/* reflen.c: each item's output length from its reference reply, as vllm bench serve's ShareGPT
 * dataset does: the reply's tokens counted by a named llama.cpp vocabulary become the item's
 * max_tokens, and the items vLLM leaves out are left out (no reply, a prompt or reply under 4
 * tokens, a prompt over 1,024 or prompt and reply over 2,048). dataset.h has the contract. */
#include "dataset.h"

#include "../backends/gguf_make.h"
#include "../backends/llama_common.h"
#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <string.h>
#include <sys/stat.h>

#define REF_MIN_TOKENS 4       /* vLLM: a prompt or reply shorter is left out */
#define REF_MAX_PROMPT 1024    /* vLLM's max_prompt_len */
#define REF_MAX_TOTAL 2048     /* vLLM's max_total_len */
#define REF_MAX_TEXT (1 << 24) /* bytes of one text tokenized */

int dataset_vocab_path(const char *name, const char *origin, char **out, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(name);
	struct stat st;
	const char *dir;
	int rc;

	*out = NULL;
	if (strchr(name, '/') || (n > 5 && !strcmp(name + n - 5, ".gguf"))) {
		if (strbuf_adds(&sb, name))
			goto nomem;
	} else {
		dir = lb_gguf_vocab_dir();
		if (!dir)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"'%s': tokenizer: no folder of vocabularies known for '%s' "
				"(set LLMBENCH_VOCAB_DIR, or give a path to a .gguf)",
				origin, name);
		if (strbuf_addf(&sb, "%s/ggml-vocab-%s.gguf", dir, name))
			goto nomem;
	}
	if (stat(sb.buf, &st) || !S_ISREG(st.st_mode)) {
		rc = lb_error_set(
			err, LB_ERR_USAGE,
			"'%s': tokenizer: no vocabulary '%s' (looked for '%s'; names are the "
			"ggml-vocab-<name>.gguf files of llama.cpp, e.g. llama-spm, "
			"llama-bpe, falcon, gpt-2)",
			origin, name, sb.buf);
		strbuf_release(&sb);
		return rc;
	}
	*out = strbuf_detach(&sb, NULL);
	return 0;
nomem:
	strbuf_release(&sb);
	return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
}

#ifdef LB_HAVE_LLAMA
static int count(const struct llama_vocab *vocab, const char *text, long *n, struct lb_error *err)
{
	size_t len = strlen(text), k = 0;
	int32_t *tok = NULL;
	int rc;

	if (len > REF_MAX_TEXT) {
		*n = REF_MAX_TOTAL + 1; /* too long for vLLM's bounds anyway */
		return 0;
	}
	rc = llama_common_tokenize(vocab, text, len, false, false, &tok, &k, err);
	lb_free(tok);
	*n = (long)k;
	return rc;
}

int dataset_reference_lengths(struct lb_items *items, const char *tokenizer, const char *origin,
			      struct lb_error *err)
{
	struct llama_model *model = NULL;
	const struct llama_vocab *vocab;
	char *path = NULL;
	size_t i, kept = 0;
	int rc;

	rc = dataset_vocab_path(tokenizer, origin, &path, err);
	if (!rc)
		rc = llama_common_vocab_load(path, &model, err);
	lb_free(path);
	if (rc)
		return rc;
	{
		int32_t n_vocab;
		bool bos;

		vocab = llama_common_model_vocab(model, &n_vocab, &bos);
	}
	for (i = 0; i < items->n; i++) {
		struct lb_item *it = &items->v[i];
		long np = 0, nr = 0;
		bool keep = it->reference && *it->reference;

		if (keep && !rc)
			rc = count(vocab, it->prompt, &np, err);
		if (keep && !rc)
			rc = count(vocab, it->reference, &nr, err);
		keep = keep && !rc && np >= REF_MIN_TOKENS && nr >= REF_MIN_TOKENS &&
		       np <= REF_MAX_PROMPT && np + nr <= REF_MAX_TOTAL;
		if (!keep) {
			lb_item_free(items, it);
			items->skipped++;
			continue;
		}
		it->max_tokens = (int)nr;
		items->v[kept++] = *it;
	}
	items->n = kept;
	llama_common_model_free(model);
	if (!rc && !kept)
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "'%s': no item has a reference reply within vLLM's bounds (4 to "
				  "1,024 prompt tokens, at least 4 reply tokens, 2,048 in all, by "
				  "the '%s' vocabulary)",
				  origin, tokenizer);
	return rc;
}
#else
int dataset_reference_lengths(struct lb_items *items, const char *tokenizer, const char *origin,
			      struct lb_error *err)
{
	(void)items;
	(void)tokenizer;
	return lb_error_set(err, LB_ERR_UNSUPPORTED,
			    "'%s': reference_lengths counts tokens with llama.cpp, which this "
			    "llmbench was built without",
			    origin);
}
#endif
