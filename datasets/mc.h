/* mc.h: multiple-choice items in TruthfulQA's public layout (mc_task.json):
 *   [{"question": "...", "mc1_targets": {"choice text": 1, "other": 0, ...},
 *     "mc2_targets": {"...": 1, "...": 1, "...": 0}}, ...]
 * A targets object may also be {"choices": [...], "labels": [...]} (the Hugging Face copy).
 * Choice order is file order. mc1_targets must hold exactly one true choice; mc2_targets is
 * optional (MC2/MC3 are then unavailable for the item). An optional "id" names the item; other keys are
 * ignored. Errors name the file and the item (and the JSON position for malformed text). */
#ifndef LB_MC_H
#define LB_MC_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>

#define MC_MAX_BYTES (64u << 20)

struct mc_choice {
	char *text; /* owned */
	bool is_true;
};

struct mc_item {
	char *id;              /* owned: "id", or the 1-based index as text */
	char *question;        /* owned */
	struct mc_choice *mc1; /* owned */
	size_t n_mc1;
	struct mc_choice *mc2; /* owned; NULL/0 when the file has no mc2_targets */
	size_t n_mc2;
};

struct mc_set {
	struct mc_item *v; /* owned */
	size_t n, alloc;
};

int mc_load(const char *path, long limit, struct mc_set *out, struct lb_error *err);
int mc_parse(const char *text, size_t len, const char *path, long limit, struct mc_set *out,
	     struct lb_error *err);
void mc_set_release(struct mc_set *s);

/* The context a choice is scored after, as lm-evaluation-harness's truthfulqa_mc1/mc2 build it:
 * primer + "\n\nQ: " + question + "\nA:"; with no primer (NULL or ""), "Q: " + question +
 * "\nA:". Allocated; NULL on no memory. */
char *mc_context(const char *primer, const char *question);
/* The scored continuation: " " + choice (lm-eval's target_delimiter). Allocated. */
char *mc_continuation(const char *choice);
/* The length of s in characters (Unicode code points, as Python's len()); a byte that is not
 * part of valid UTF-8 counts as one. acc_norm divides by it. */
size_t mc_char_len(const char *s);

#endif
