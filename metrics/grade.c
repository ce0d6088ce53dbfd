/* grade.c: PCRE2 grading of answers (see grade.h). The only file that includes <pcre2.h>. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "grade.h"

#include "../base/alloc.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#define GRADE_MATCH_LIMIT 200000u
#define GRADE_DEPTH_LIMIT 10000u

struct grade_patterns {
	size_t n;
	pcre2_code **code;	     /* owned, n entries */
	pcre2_match_data *md;	     /* owned, sized for the largest pattern */
	pcre2_match_context *mctx;   /* owned: match and depth limits */
};

static const char *const default_abstain[] = {
	"\\bI\\s+(?:really\\s+|honestly\\s+|simply\\s+)?(?:do\\s+not|don['’]?t|dont)\\s+know\\b",
	"\\bI(?:['’]m|\\s+am)\\s+(?:not\\s+(?:sure|certain|aware)|unsure|uncertain)\\b",
	"\\bI\\s+(?:cannot|can['’]?t|can\\s+not|am\\s+unable\\s+to|['’]m\\s+unable\\s+to|"
	"am\\s+not\\s+able\\s+to)\\s+(?:answer|say|tell|determine|know|verify|confirm|provide|find|"
	"help|be\\s+sure)",
	"\\bI(?:['’]m|\\s+am)\\s+unable\\s+to\\s+(?:answer|say|tell|determine|know|verify|confirm|"
	"provide|find)",
	"\\bI\\s+(?:do\\s+not|don['’]?t)\\s+have\\s+(?:any\\s+|enough\\s+|reliable\\s+|that\\s+)?"
	"(?:information|data|knowledge|details)\\b",
	"\\bI\\s+have\\s+no\\s+(?:reliable\\s+)?(?:information|idea|knowledge|data)\\b",
	"\\bno\\s+idea\\b",
	"\\bnot\\s+(?:enough\\s+information|able)\\s+to\\s+(?:answer|determine|say|tell)\\b",
	"^\\W*(?:unknown|n/a|not\\s+sure|no\\s+answer|idk)\\W*$",
};

static const char *const default_premise[] = {
	"\\b(?:fictional|fictitious|made[- ]up|imaginary|hypothetical|invented|not\\s+(?:a\\s+)?"
	"real)\\b",
	"\\b(?:does|did|do)(?:\\s+not|n['’]t)\\s+(?:exist|appear\\s+to\\s+exist)\\b",
	"\\bno\\s+(?:such|record|records|evidence|known|reliable|historical|documented)\\b",
	"\\bnot\\s+(?:known|recorded|documented|knowable|possible\\s+to\\s+(?:know|determine))\\b",
	"\\b(?:unknowable|cannot\\s+be\\s+(?:known|determined)|can['’]t\\s+be\\s+(?:known|"
	"determined)|is\\s+unknown|never\\s+(?:existed|happened|been\\s+recorded))\\b",
	"\\bthere\\s+(?:is|was|are|were)\\s+no\\b",
	"\\bfalse\\s+premise\\b",
};

const char *const *grade_default_premise(size_t *n)
{
	*n = sizeof(default_premise) / sizeof(default_premise[0]);
	return default_premise;
}

const char *const *grade_default_abstain(size_t *n)
{
	*n = sizeof(default_abstain) / sizeof(default_abstain[0]);
	return default_abstain;
}

const char *grade_name(enum grade g)
{
	switch (g) {
	case GRADE_CORRECT:
		return "correct";
	case GRADE_INCORRECT:
		return "incorrect";
	case GRADE_NOT_ATTEMPTED:
		return "not_attempted";
	default:
		return "none";
	}
}

static pcre2_code *compile_one(const char *pat, int *errcode, size_t *offset)
{
	PCRE2_SIZE off = 0;
	pcre2_code *c;

	c = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
			  PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, errcode,
			  &off, NULL);
	*offset = off;
	return c;
}

static int pattern_error(struct lb_error *err, const char *what, size_t i, bool indexed,
			 const char *pat, int errcode, size_t offset)
{
	PCRE2_UCHAR msg[256];

	if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
		snprintf((char *)msg, sizeof(msg), "error %d", errcode);
	if (indexed)
		return lb_error_set(err, LB_ERR_USAGE,
				    "%s[%zu]: invalid pattern '%.200s' at offset %zu: %s", what, i,
				    pat, offset, (const char *)msg);
	return lb_error_set(err, LB_ERR_USAGE, "invalid pattern '%.200s' at offset %zu: %s", pat,
			    offset, (const char *)msg);
}

int grade_pattern_check(const char *pattern, struct lb_error *err)
{
	int ec = 0;
	size_t off = 0;
	pcre2_code *c = compile_one(pattern, &ec, &off);

	if (!c)
		return pattern_error(err, "", 0, false, pattern, ec, off);
	pcre2_code_free(c);
	return 0;
}

void grade_patterns_free(struct grade_patterns *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		pcre2_code_free(p->code[i]);
	lb_free(p->code);
	pcre2_match_data_free(p->md);
	pcre2_match_context_free(p->mctx);
	lb_free(p);
}

int grade_patterns_new(struct grade_patterns **out, const char *const *pats, size_t n,
		       const char *what, struct lb_error *err)
{
	struct grade_patterns *p;
	uint32_t max_pairs = 1, pairs;
	size_t i;
	int rc = 0;

	*out = NULL;
	p = lb_calloc(1, sizeof(*p));
	if (!p || !(p->code = lb_calloc(n ? n : 1, sizeof(*p->code)))) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory compiling patterns");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		int ec = 0;
		size_t off = 0;

		p->code[i] = compile_one(pats[i] ? pats[i] : "", &ec, &off);
		if (!p->code[i]) {
			rc = pattern_error(err, what, i, true, pats[i] ? pats[i] : "", ec, off);
			goto fail;
		}
		p->n = i + 1;
		if (!pcre2_pattern_info(p->code[i], PCRE2_INFO_CAPTURECOUNT, &pairs) &&
		    pairs + 1 > max_pairs)
			max_pairs = pairs + 1;
	}
	p->md = pcre2_match_data_create(max_pairs, NULL);
	p->mctx = pcre2_match_context_create(NULL);
	if (!p->md || !p->mctx) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory compiling patterns");
		goto fail;
	}
	pcre2_set_match_limit(p->mctx, GRADE_MATCH_LIMIT);
	pcre2_set_depth_limit(p->mctx, GRADE_DEPTH_LIMIT);
	*out = p;
	return 0;
fail:
	grade_patterns_free(p);
	return rc;
}

bool grade_patterns_match(const struct grade_patterns *p, const char *text, size_t len)
{
	size_t i;

	if (!p || !text)
		return false;
	for (i = 0; i < p->n; i++) {
		int m = pcre2_match(p->code[i], (PCRE2_SPTR)text, len, 0, 0, p->md, p->mctx);

		if (m >= 0)
			return true;
	}
	return false;
}

size_t grade_patterns_count(const struct grade_patterns *p)
{
	return p ? p->n : 0;
}

int grader_init(struct grader *g, const char *const *correct, size_t n_correct,
		const char *const *wrong, size_t n_wrong, const char *const *abstain,
		size_t n_abstain, struct lb_error *err)
{
	int rc;

	memset(g, 0, sizeof(*g));
	if (!n_correct)
		return lb_error_set(err, LB_ERR_USAGE, "correct: at least one pattern is needed");
	if (!abstain || !n_abstain)
		abstain = grade_default_abstain(&n_abstain);
	rc = grade_patterns_new(&g->correct, correct, n_correct, "correct", err);
	if (!rc && n_wrong)
		rc = grade_patterns_new(&g->wrong, wrong, n_wrong, "wrong", err);
	if (!rc)
		rc = grade_patterns_new(&g->abstain, abstain, n_abstain, "abstain", err);
	if (rc)
		grader_release(g);
	return rc;
}

static bool blank(const char *s, size_t len)
{
	size_t i;

	if (!s)
		return true;
	for (i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

enum grade grader_grade(const struct grader *g, const char *answer, size_t len)
{
	if (blank(answer, len))
		return GRADE_NOT_ATTEMPTED;
	if (grade_patterns_match(g->abstain, answer, len))
		return GRADE_NOT_ATTEMPTED;
	if (grade_patterns_match(g->correct, answer, len) &&
	    !grade_patterns_match(g->wrong, answer, len))
		return GRADE_CORRECT;
	return GRADE_INCORRECT;
}

void grader_release(struct grader *g)
{
	if (!g)
		return;
	grade_patterns_free(g->correct);
	grade_patterns_free(g->wrong);
	grade_patterns_free(g->abstain);
	memset(g, 0, sizeof(*g));
}

/* Whole word w (ASCII letters, any case) somewhere in text. */
static bool has_word(const char *text, size_t len, const char *w)
{
	size_t wl = strlen(w), i, j;

	for (i = 0; i + wl <= len; i++) {
		if (i && isalnum((unsigned char)text[i - 1]))
			continue;
		for (j = 0; j < wl; j++)
			if (tolower((unsigned char)text[i + j]) != w[j])
				break;
		if (j < wl)
			continue;
		if (i + wl < len && isalnum((unsigned char)text[i + wl]))
			continue;
		return true;
	}
	return false;
}

enum yesno grade_yesno(const char *text, size_t len)
{
	bool y, n;

	if (!text)
		return YESNO_NEITHER;
	y = has_word(text, len, "yes");
	n = has_word(text, len, "no");
	if (y && n)
		return YESNO_BOTH;
	if (y)
		return YESNO_YES;
	if (n)
		return YESNO_NO;
	return YESNO_NEITHER;
}

const char *yesno_name(enum yesno v)
{
	static const char *const names[] = { "yes", "no", "both", "neither" };

	return (unsigned)v < 4 ? names[v] : "neither";
}

const char grade_judge_rubric[] =
	"You are grading an answer to a factual question. Compare the answer with the reference.\n"
	"Reply with one letter on the first line:\n"
	"A: CORRECT - the answer states the reference's fact and contradicts nothing in it.\n"
	"B: INCORRECT - the answer states something that contradicts the reference, or a wrong "
	"fact, even if hedged.\n"
	"C: NOT_ATTEMPTED - the answer declines, says it does not know, or gives no answer.\n"
	"If the question is about something that does not exist or cannot be known, an answer "
	"that says so is CORRECT and an invented answer is INCORRECT.\n\n"
	"Question: %s\nReference: %s\nAnswer: %s\n\nGrade (A, B or C):";

enum grade grade_judge_reply(const char *text, size_t len)
{
	size_t i = 0;
	bool c, in, na;

	if (!text)
		return GRADE_NONE;
	while (i < len && (isspace((unsigned char)text[i]) || text[i] == '(' || text[i] == '*' ||
			   text[i] == '"' || text[i] == '\''))
		i++;
	if (i < len && (i + 1 == len || !isalnum((unsigned char)text[i + 1]))) {
		switch (text[i]) {
		case 'A':
		case 'a':
			return GRADE_CORRECT;
		case 'B':
		case 'b':
			return GRADE_INCORRECT;
		case 'C':
		case 'c':
			return GRADE_NOT_ATTEMPTED;
		default:
			break;
		}
	}
	na = has_word(text, len, "not_attempted") || has_word(text, len, "not attempted");
	in = has_word(text, len, "incorrect");
	c = has_word(text, len, "correct");
	if (na + in + c != 1)
		return GRADE_NONE;
	return na ? GRADE_NOT_ATTEMPTED : in ? GRADE_INCORRECT : GRADE_CORRECT;
}
