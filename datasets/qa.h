/* qa.h: reference-QA items with answer patterns (the "qa" JSONL format, docs/quality.md).
 *
 * One JSON object per line:
 *   {"id": "geo-001", "question": "...", "answer": "Canberra", "domain": "geography",
 *    "correct": ["\\bcanberra\\b"], "wrong": ["\\bsydney\\b"], "abstain": [...],
 *    "answerable": true}
 * question is required; correct is required unless answerable is false (the honest answer is
 * that the premise is false or the fact cannot be known: grade_default_premise() then). Unknown
 * keys are errors naming the key and the valid ones. Patterns are kept as text here; the eval
 * phase compiles them (grade.h) before any request. Blank lines and lines starting with '#' are
 * skipped. Also registered as dataset format "qa" (prompt = question, reference = answer). */
#ifndef LB_QA_H
#define LB_QA_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>

struct qa_item {
	char *id;        /* owned: "id", or the line number as text */
	long line;       /* 1-based line in the file */
	char *question;  /* owned */
	char *answer;    /* owned, may be NULL: the reference answer in words */
	char *domain;    /* owned, may be NULL */
	bool answerable; /* default true */
	char **correct;  /* owned strings */
	size_t n_correct;
	char **wrong;
	size_t n_wrong;
	char **abstain; /* empty: the default abstention patterns */
	size_t n_abstain;
};

struct qa_set {
	struct qa_item *v; /* owned */
	size_t n, alloc;
};

/* Append the items of path to out, at most limit (<= 0: all). Errors name the file, the line and
 * the key ("'f.jsonl':12: item 'geo-001': 'correct' must be a non-empty array of strings"). */
int qa_load(const char *path, long limit, struct qa_set *out, struct lb_error *err);
/* Same from text in memory (path names it in messages). */
int qa_parse(const char *text, size_t len, const char *path, long limit, struct qa_set *out,
	     struct lb_error *err);
void qa_set_release(struct qa_set *s);

#endif
