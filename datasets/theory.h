/* theory.h: the theory-question Markdown (datasets/theory/, *.md):
 *
 *   # Title
 *   ## Question 1
 *   **How do you choose between LLaMA, Falcon, and Mistral ...?**
 *   **Answer:** _To be filled_
 *   ---
 *
 * Blank lines and "---" separators are free; text after an answer line up to the next
 * "## Question" belongs to that answer (a filled sheet parses too). A malformed entry (no
 * number, no bold question, no answer line, a repeated number) is an error naming the file and
 * the line. Also registered as dataset format "theory" (prompt = the question). */
#ifndef LB_THEORY_H
#define LB_THEORY_H

#include "../base/error.h"

#include <stddef.h>

#define THEORY_MAX_BYTES (16u << 20)

struct theory_item {
	long number;    /* N of "## Question N" */
	long line;      /* 1-based line of the heading */
	char *question; /* owned, without the ** */
	char *answer;   /* owned: the text after "**Answer:**" (and following lines), trimmed */
};

struct theory_set {
	char *title; /* owned: the "# " heading, or NULL */
	struct theory_item *v;
	size_t n, alloc;
};

int theory_load(const char *path, long limit, struct theory_set *out, struct lb_error *err);
int theory_parse(const char *text, size_t len, const char *path, long limit, struct theory_set *out,
		 struct lb_error *err);
void theory_set_release(struct theory_set *s);

#endif
