/* grade.h: grading answers with regular expressions (PCRE2), the only module that includes
 * <pcre2.h>. METRICS.md, "Hallucination and answer quality": graded as SimpleQA grades (see
 * grader_grade: a hedged right answer is correct, an abstention counts only when nothing else
 * is said). Also the Yes/No verdict of HaluEval's self-check and the
 * letter verdict of an LLM judge. Pure functions over strings; no I/O. */
#ifndef LB_GRADE_H
#define LB_GRADE_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>

enum grade {
	GRADE_NONE = -1, /* not graded (request failed, judge unreadable) */
	GRADE_CORRECT = 0,
	GRADE_INCORRECT = 1,
	GRADE_NOT_ATTEMPTED = 2,
};

/* "correct", "incorrect", "not_attempted", or "none". This function can't fail. */
const char *grade_name(enum grade g);

/* A compiled list of patterns, matched case-insensitively, UTF-8 (invalid UTF-8 in the text is
 * tolerated), \b and \w Unicode-aware. Matching is bounded (match and depth limits): a pattern
 * that exceeds them on a text counts as not matching. */
struct grade_patterns;

/* Compile n patterns. On an invalid one, nothing is left allocated and err says
 * "<what>[<i>]: invalid pattern '<pattern>' at offset <o>: <PCRE2 message>" (LB_ERR_USAGE). */
int grade_patterns_new(struct grade_patterns **out, const char *const *pats, size_t n,
		       const char *what, struct lb_error *err);
/* True when any pattern matches somewhere in text (len bytes). NULL-safe (false). */
bool grade_patterns_match(const struct grade_patterns *p, const char *text, size_t len);
size_t grade_patterns_count(const struct grade_patterns *p);
void grade_patterns_free(struct grade_patterns *p);

/* The default abstention patterns (first-person refusals: "I don't know", "I'm not sure",
 * "I cannot answer", "I have no information", ...): static, *n set to their count. */
const char *const *grade_default_abstain(size_t *n);
/* The default correct patterns of an unanswerable item (a fictional entity, an unknowable fact):
 * statements that the premise is false or the fact cannot be known ("fictional", "does not
 * exist", "no record", "cannot be known", ...): static, *n set to their count. */
const char *const *grade_default_premise(size_t *n);

/* One QA item's grader. */
struct grader {
	struct grade_patterns *correct;        /* owned */
	struct grade_patterns *wrong;          /* owned, may be NULL */
	struct grade_patterns *abstain;        /* owned: the item's own, or the defaults */
	struct grade_patterns *split, *filler; /* owned: clause boundaries, filler clauses */
	bool unanswerable; /* the correct patterns reject a premise (set after grader_init) */
};

/* Compile an item's patterns; abstain NULL/0 takes grade_default_abstain(). At least one correct
 * pattern is required. On error nothing is left allocated; err names the list and offset. */
int grader_init(struct grader *g, const char *const *correct, size_t n_correct,
		const char *const *wrong, size_t n_wrong, const char *const *abstain,
		size_t n_abstain, struct lb_error *err);
/* Grade an answer (NULL or only white space: not_attempted), as SimpleQA grades
 * (docs/quality.md): a wrong pattern that matches and is not negated ("not Sydney", "rather
 * than Sydney") makes it incorrect, hedged or not; else a correct pattern that matches and is
 * not negated makes it correct, hedged or not ("I'm not sure, but Canberra"); else it is
 * not_attempted only when it abstains: every clause (sentences, split before "but",
 * "however", "although" and a guess after a comma: ", maybe ...") is an abstention (an
 * abstain pattern within its first 3 words) or filler ("Sorry."), and at least one abstains;
 * anything else is incorrect. On an unanswerable item the correct patterns state that the
 * premise is false: correct when some clause does (within its first 6 words, not negated) and
 * no clause gives anything else ("King Otto. There is no doubt." is incorrect), not_attempted
 * when the clauses only abstain. This function can't fail. */
enum grade grader_grade(const struct grader *g, const char *answer, size_t len);
void grader_release(struct grader *g);

/* Check one pattern: 0, or LB_ERR_USAGE with "invalid pattern '<p>' at offset <o>: <msg>". */
int grade_pattern_check(const char *pattern, struct lb_error *err);

/* HaluEval's Yes/No verdict: the words "yes" and "no" (any case, whole words) in a reply. */
enum yesno {
	YESNO_YES,
	YESNO_NO,
	YESNO_BOTH,
	YESNO_NEITHER
};
enum yesno grade_yesno(const char *text, size_t len);
const char *yesno_name(enum yesno v); /* "yes", "no", "both", "neither" */
/* HaluEval's own parse (evaluate.py, evaluation_qa_dataset): every "." removed, then "Yes" and
 * "No" tested as case-sensitive substrings: "Nope" and "Not sure" are No, "yes" is neither,
 * "Yes, No" both (HaluEval counts both and neither as failed). */
enum yesno grade_yesno_halueval(const char *text, size_t len);

/* An LLM judge's reply to the fixed rubric (judge_rubric below): its first letter A, B or C
 * standing alone ("A", "B: ...", "(C)", "A CORRECT"; not the article of "A correct answer
 * would be ..."), or the labels CORRECT, INCORRECT, NOT_ATTEMPTED as the rubric writes them
 * (in any case when the reply starts with one: "Incorrect."). GRADE_NONE when none is found or
 * the reply is ambiguous. */
enum grade grade_judge_reply(const char *text, size_t len);
/* The rubric the judge is given: a printf format taking question, reference, answer (%s x3). */
extern const char grade_judge_rubric[];

#endif
