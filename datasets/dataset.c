/* dataset.c: the registry of dataset formats and the lb_items helpers. */
#include "dataset.h"

#include "../base/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

extern const struct dataset_ops lines_dataset_ops;
extern const struct dataset_ops jsonl_dataset_ops;
extern const struct dataset_ops sharegpt_dataset_ops;
extern const struct dataset_ops synthetic_dataset_ops;
extern const struct dataset_ops qa_dataset_ops;
extern const struct dataset_ops theory_dataset_ops;
extern const struct dataset_ops trace_dataset_ops;
extern const struct dataset_ops sessions_dataset_ops;

static const struct dataset_ops *const registry[] = {
	&lines_dataset_ops, &jsonl_dataset_ops,  &sharegpt_dataset_ops, &synthetic_dataset_ops,
	&qa_dataset_ops,    &theory_dataset_ops, &trace_dataset_ops,    &sessions_dataset_ops,
};

const struct dataset_ops *dataset_find(const char *format)
{
	size_t i;

	if (!format)
		return NULL;
	for (i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (!strcmp(registry[i]->format, format))
			return registry[i];
	return NULL;
}

const char *dataset_formats(void)
{
	static char list[256];
	size_t i, n = 0;

	if (!list[0])
		for (i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
					      registry[i]->format);
	return list;
}

int dataset_load(const char *path, const char *format, long limit, struct lb_items *out,
		 struct lb_error *err)
{
	const struct dataset_ops *ops = dataset_find(format);
	size_t before = out->n;
	int rc;

	if (!path)
		return lb_error_set(err, LB_ERR_USAGE,
				    "no dataset given (a workload needs dataset.path)");
	if (!ops)
		return lb_error_set(err, LB_ERR_USAGE, "unknown dataset format '%s' (known: %s)",
				    format ? format : "", dataset_formats());
	rc = ops->load(path, limit, out, err);
	if (rc)
		return rc;
	if (out->n == before) {
		if (out->skipped)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"dataset '%s' is empty: all %zu entries were skipped (%s)", path,
				out->skipped, "no usable prompt");
		return lb_error_set(err, LB_ERR_USAGE, "dataset '%s' is empty (format %s)", path,
				    ops->format);
	}
	return 0;
}

int lb_items_add(struct lb_items *items, const char *id, const char *prompt,
		 const char *messages_json, const char *reference)
{
	struct lb_item it = { 0 };

	if (items->n == items->alloc) {
		size_t n = items->alloc ? items->alloc * 2 : 64;
		struct lb_item *v;

		if (n > (size_t)-1 / sizeof(*v))
			return LB_ERR_NOMEM;
		v = lb_realloc(items->v, n * sizeof(*v));
		if (!v)
			return LB_ERR_NOMEM;
		items->v = v;
		items->alloc = n;
	}
	it.id = lb_strdup(id ? id : "");
	it.prompt = lb_strdup(prompt ? prompt : "");
	it.messages_json = messages_json ? lb_strdup(messages_json) : NULL;
	it.reference = reference ? lb_strdup(reference) : NULL;
	if (!it.id || !it.prompt || (messages_json && !it.messages_json) ||
	    (reference && !it.reference)) {
		lb_free(it.id);
		lb_free(it.prompt);
		lb_free(it.messages_json);
		lb_free(it.reference);
		return LB_ERR_NOMEM;
	}
	items->v[items->n++] = it;
	return 0;
}

void lb_items_release(struct lb_items *items)
{
	size_t i;

	if (!items)
		return;
	for (i = 0; i < items->n; i++)
		lb_item_free(items, &items->v[i]);
	lb_free(items->v);
	lb_free(items->tokenizer);
	if (items->arena)
		munmap(items->arena, items->arena_len);
	memset(items, 0, sizeof(*items));
}

void lb_item_free(const struct lb_items *items, struct lb_item *it)
{
	uintptr_t p = (uintptr_t)it->prompt, a = (uintptr_t)items->arena;

	if (!items->arena || p < a || p >= a + items->arena_len)
		lb_free(it->prompt);
	lb_free(it->id);
	lb_free(it->messages_json);
	lb_free(it->reference);
	lb_free(it->token_ids);
	it->id = it->prompt = it->messages_json = it->reference = NULL;
	it->token_ids = NULL;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void lb_items_shuffle(struct lb_items *items, uint64_t seed)
{
	uint64_t s = seed;
	size_t i;

	/* Fisher-Yates; the modulo bias is below 2^-40 for any dataset that fits in memory. */
	for (i = items->n; i > 1; i--) {
		size_t j = (size_t)(splitmix64(&s) % i);
		struct lb_item t = items->v[i - 1];

		items->v[i - 1] = items->v[j];
		items->v[j] = t;
	}
}
