/* dataset.h: loaders of prompt sets. Each format is a table of functions found by name;
 * a dataset is loaded whole into memory (bounded by its limit), items in file order. */
#ifndef LB_DATASET_H
#define LB_DATASET_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DATASET_MAX_LINE (1u << 20) /* one line of a dataset file, bytes */

struct lb_item {
	char *id;            /* owned: the item's id, or its 1-based line number as text */
	char *prompt;        /* owned: completions prompt / the user's message; never NULL */
	char *messages_json; /* owned, optional: chat messages as a JSON array */
	char *reference;     /* owned, optional: a reference answer or extra data */
	int max_tokens;      /* output length for this item (synthetic); 0: the workload's */
	int32_t *token_ids;  /* owned, optional: the prompt as token ids of items->tokenizer
				(synthetic; exactly what prompt re-tokenizes to), NULL if none */
	size_t n_token_ids;
	bool has_t;  /* trace: t_ms is the item's send time */
	double t_ms; /* trace: ms from the trace's first request (before any speedup) */
};

struct lb_items {
	struct lb_item *v; /* owned */
	size_t n, alloc;
	size_t skipped; /* entries a loader left out (sharegpt: no human turn); not an error */
	char *tokenizer; /* owned, optional: vocabulary token_ids and lengths refer to ("llama-spm") */
	size_t adjusted; /* synthetic: prompts whose first draft did not re-tokenize exactly */
	char *arena;     /* owned, optional: one mapping holding many items' prompts (trace
			   * synthesis); a prompt inside it is not freed on its own */
	size_t arena_len;
};

struct dataset_ops {
	const char *format; /* "lines", "jsonl", ... */
	/* Append the items of path to out, at most limit (<= 0: all). Errors name file and line. */
	int (*load)(const char *path, long limit, struct lb_items *out, struct lb_error *err);
};

const struct dataset_ops *dataset_find(const char *format); /* NULL if unknown */
const char *dataset_formats(void);                          /* "lines, jsonl, ..." */
int dataset_load(const char *path, const char *format, long limit, struct lb_items *out,
		 struct lb_error *err);
/* Append a copy of an item (strings duplicated). */
int lb_items_add(struct lb_items *items, const char *id, const char *prompt,
		 const char *messages_json, const char *reference);
void lb_items_release(struct lb_items *items);
/* Free one item's strings (a prompt in items->arena stays until lb_items_release). */
void lb_item_free(const struct lb_items *items, struct lb_item *it);
/* Put the items in a random order drawn from seed (the same seed gives the same order on
 * every machine). This function can't fail. */
void lb_items_shuffle(struct lb_items *items, uint64_t seed);

/* The GGUF of a llama.cpp vocabulary: a name ("llama-spm": <vocab dir>/ggml-vocab-llama-spm.gguf)
 * or a path to a .gguf; *out owned. LB_ERR_USAGE naming origin when there is none. */
int dataset_vocab_path(const char *name, const char *origin, char **out, struct lb_error *err);
/* vllm bench serve's ShareGPT lengths: each item's max_tokens becomes its reference reply's
 * token count by the vocabulary tokenizer; items without a reply, with a prompt or reply under
 * 4 tokens, a prompt over 1,024 or both over 2,048 are dropped (counted in items->skipped), as
 * vLLM drops them. LB_ERR_USAGE naming origin when none is left; LB_ERR_UNSUPPORTED without
 * llama.cpp. */
int dataset_reference_lengths(struct lb_items *items, const char *tokenizer, const char *origin,
			      struct lb_error *err);

#endif
