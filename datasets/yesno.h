/* yesno.h: HaluEval-style Yes/No items (the "yesno" JSONL format, docs/quality.md).
 *
 * One JSON object per line:
 *   {"id": "y1", "question": "...", "answer": "...", "knowledge": "...", "hallucinated": true}
 * question, answer (strings) and hallucinated (true or false) are required; id and knowledge
 * are optional. HaluEval's own qa_data.json lines are read too:
 *   {"knowledge": "...", "question": "...", "right_answer": "...", "hallucinated_answer": "..."}
 * as two items, "<line>-right" (not hallucinated) and "<line>-hallucinated" (HaluEval draws one
 * of the two at random per line). Unknown keys are errors naming the valid ones. Blank lines
 * and lines starting with '#' are skipped. Errors name the file and the line. */
#ifndef LB_YESNO_H
#define LB_YESNO_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>

struct yn_item {
	char *id, *question, *answer, *knowledge; /* owned; knowledge may be NULL */
	bool hallucinated;
};

struct yn_set {
	struct yn_item *v; /* owned */
	size_t n;
};

/* Load at most limit items (<= 0: all); at least one is required. */
int yn_load(const char *path, long limit, struct yn_set *out, struct lb_error *err);
void yn_set_release(struct yn_set *s);

#endif
