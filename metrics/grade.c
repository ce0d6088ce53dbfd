/* grade.c: PCRE2 grading of answers (see grade.h). The only file that includes <pcre2.h>. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "grade.h"

#include "../base/alloc.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define GRADE_MATCH_LIMIT 200000u
#define GRADE_DEPTH_LIMIT 10000u

struct grade_patterns {
	size_t n;
	pcre2_code **code;         /* owned, n entries */
	pcre2_match_data *md;      /* owned, sized for the largest pattern */
	pcre2_match_context *mctx; /* owned: match and depth limits */
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

/* Clause boundaries inside a sentence: before "but", "however", "although", and before a guess
 * ("maybe", "I think", "my guess", ...) after a comma, colon, dash or parenthesis. */
static const char split_pat[] =
	"(?:[,:(]|\\s[-\u2013\u2014]|\u2014)\\s*(?=(?:maybe|perhaps|possibly|probably|likely|"
	"i\\s+(?:think|believe|guess|would\\s+(?:say|guess))|my\\s+(?:best\\s+)?guess|"
	"it\\s+(?:might|may|could)|if\\s+i\\s+(?:had|have)\\s+to\\s+guess)\\b)|"
	"\\b(?=(?:but|however|although)\\b)";
/* A clause that says nothing about the answer. */
static const char filler_pat[] =
	"^\\W*(?:sorry|my\\s+apologies|apologies|i\\s+apologi[sz]e|unfortunately|thanks?|"
	"thank\\s+you|hope\\s+(?:this|that)\\s+helps|please\\b.*|let\\s+me\\s+know\\b.*|"
	"you\\s+(?:may|might|could|can)\\s+(?:want\\s+to\\s+)?(?:check|consult|search|look|"
	"verify)\\b.*|i\\s+(?:recommend|suggest)\\w*\\b.*)\\W*$";

static const char *const default_premise[] = {
	"\\b(?:fictional|fictitious|made[- ]up|imaginary|hypothetical|invented|not\\s+(?:a\\s+)?"
	"real)\\b",
	"\\b(?:does|did|do)(?:\\s+not|n['’]t)\\s+(?:exist|appear\\s+to\\s+exist)\\b",
	"\\bno\\s+(?:such|record|records|evidence|known|reliable|historical|documented)\\b",
	"\\bnot\\s+(?:known|recorded|documented|knowable|possible\\s+to\\s+(?:know|determine))\\b"
	"(?!\\s+(?:to\\s+(?:many|most|some)|outside|for|as)\\b)",
	"\\b(?:unknowable|cannot\\s+be\\s+(?:known|determined)|can['’]t\\s+be\\s+(?:known|"
	"determined)|is\\s+unknown|never\\s+(?:existed|happened|been\\s+recorded))\\b",
	"\\bthere\\s+(?:is|was|are|were)\\s+no\\b(?!\\s+(?:doubt|question|denying)\\b)",
	"\\bfalse\\s+premise\\b",
	"\\b(?:has|had)\\s+(?:never\\s+had\\s+(?:a|any)|no)\\b",
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
	case GRADE_CORRECT: return "correct";
	case GRADE_INCORRECT: return "incorrect";
	case GRADE_NOT_ATTEMPTED: return "not_attempted";
	default: return "none";
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
	if (!rc) {
		const char *sp = split_pat, *fp = filler_pat;

		rc = grade_patterns_new(&g->split, &sp, 1, "split", err);
		if (!rc)
			rc = grade_patterns_new(&g->filler, &fp, 1, "filler", err);
	}
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

#define GRADE_PREMISE_PREFIX_WORDS 6 /* "The Kingdom of Zembrovia is fictional" */

static bool word_byte(unsigned char c)
{
	return isalnum(c) || c == '\'' || c >= 0x80;
}

/* The word that ends at or before text[e) (skipping white space only), lower-cased into buf;
 * *at set to its start. False at a punctuation mark or the start. */
static bool prev_word(const char *text, size_t e, char *buf, size_t cap, size_t *at)
{
	size_t b, n = 0, i;

	while (e > 0 && isspace((unsigned char)text[e - 1]))
		e--;
	if (!e || !word_byte((unsigned char)text[e - 1]))
		return false;
	b = e;
	while (b > 0 && word_byte((unsigned char)text[b - 1]))
		b--;
	for (i = b; i < e && n + 1 < cap; i++)
		buf[n++] = (char)tolower((unsigned char)text[i]);
	buf[n] = 0;
	*at = b;
	return true;
}

static bool ends_with(const char *w, const char *suf)
{
	size_t a = strlen(w), b = strlen(suf);

	return a >= b && !memcmp(w + a - b, suf, b);
}

/* A match at text[s] is negated: "not X", "isn't X", "never X", "rather than X", "instead of
 * X", "not the X", "X, not" does not count (only what precedes the match). */
static bool negated(const char *text, size_t s)
{
	static const char *const skip[] = { "a", "an", "the", "is", "was", "be", "it", NULL };
	char w[32];
	size_t at = s, k, i;

	for (k = 0; k < 3; k++) {
		if (!prev_word(text, at, w, sizeof(w), &at))
			return false;
		if (!strcmp(w, "not") || !strcmp(w, "never") || !strcmp(w, "nor") ||
		    !strcmp(w, "neither") || !strcmp(w, "cannot") || ends_with(w, "n't") ||
		    ends_with(w, "n\xe2\x80\x99t"))
			return true;
		if (!strcmp(w, "than") || !strcmp(w, "of")) {
			char w2[32];
			size_t at2;

			return prev_word(text, at, w2, sizeof(w2), &at2) &&
			       ((!strcmp(w, "than") &&
				 (!strcmp(w2, "rather") || !strcmp(w2, "other"))) ||
				(!strcmp(w, "of") && !strcmp(w2, "instead")));
		}
		for (i = 0; skip[i] && strcmp(w, skip[i]); i++)
			;
		if (!skip[i])
			return false;
	}
	return false;
}

/* The start of the first match of p in text[0, len) that is not negated (when skip_negated);
 * SIZE_MAX when none. */
static size_t first_match(const struct grade_patterns *p, const char *text, size_t len,
			  bool skip_negated)
{
	size_t best = SIZE_MAX, i;

	if (!p || !text)
		return SIZE_MAX;
	for (i = 0; i < p->n; i++) {
		size_t off = 0;

		while (off <= len) {
			PCRE2_SIZE *ov;
			int m = pcre2_match(p->code[i], (PCRE2_SPTR)text, len, off, 0, p->md,
					    p->mctx);

			if (m < 0)
				break;
			ov = pcre2_get_ovector_pointer(p->md);
			if (!skip_negated || !negated(text, ov[0])) {
				if (ov[0] < best)
					best = ov[0];
				break;
			}
			off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		}
	}
	return best;
}

static size_t count_words(const char *s, size_t len)
{
	size_t i = 0, n = 0;

	while (i < len) {
		while (i < len && !isalnum((unsigned char)s[i]) && (unsigned char)s[i] < 0x80)
			i++;
		if (i == len)
			break;
		n++;
		while (i < len && (isalnum((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80 ||
				   s[i] == '\''))
			i++;
	}
	return n;
}

enum clause_kind {
	CL_FILLER,
	CL_ABSTAIN,
	CL_PREMISE,
	CL_CONTENT
};

/* Only words that say nothing before c[at): "Sorry, honestly, I don't know". */
static bool filler_prefix(const char *c, size_t at)
{
	static const char *const ok[] = { "sorry",    "honestly", "well",    "unfortunately",
					  "hmm",      "um",       "frankly", "truthfully",
					  "actually", "oh",       "i'm",     "afraid",
					  "to",       "be",       "honest",  "i\xe2\x80\x99m",
					  "i",        "am",       "so",      NULL };
	size_t i = 0, k;

	while (i < at) {
		char w[32];
		size_t n = 0;

		while (i < at && !word_byte((unsigned char)c[i]))
			i++;
		while (i < at && word_byte((unsigned char)c[i])) {
			if (n + 1 < sizeof(w))
				w[n++] = (char)tolower((unsigned char)c[i]);
			i++;
		}
		w[n] = 0;
		if (!n)
			break;
		for (k = 0; ok[k] && strcmp(w, ok[k]); k++)
			;
		if (!ok[k])
			return false;
	}
	return true;
}

/* A pattern matches near the start of the clause: after at most max_words words, or (max_words
 * 0) after filler words only. */
static bool starts_with(const struct grade_patterns *p, const char *c, size_t len, size_t max_words,
			bool skip_negated)
{
	size_t at = first_match(p, c, len, skip_negated);

	if (at == SIZE_MAX)
		return false;
	return max_words ? count_words(c, at) <= max_words : filler_prefix(c, at);
}

static enum clause_kind classify(const struct grader *g, const char *c, size_t len)
{
	if (!count_words(c, len) || grade_patterns_match(g->filler, c, len))
		return CL_FILLER;
	if (g->unanswerable && starts_with(g->correct, c, len, GRADE_PREMISE_PREFIX_WORDS, true))
		return CL_PREMISE;
	if (starts_with(g->abstain, c, len, 0, false))
		return CL_ABSTAIN;
	return CL_CONTENT;
}

/* Walk the clauses of the answer (sentences, split further at split_pat); counts by kind. */
static void clauses(const struct grader *g, const char *a, size_t len, size_t counts[4])
{
	const struct grade_patterns *sp = g->split;
	size_t i = 0;

	memset(counts, 0, 4 * sizeof(*counts));
	while (i < len) {
		size_t e = i, start, off;

		/* a sentence ends at . ! ? ; followed by space or the end, or at a new line */
		while (e < len && !(a[e] == '\n' ||
				    ((a[e] == '.' || a[e] == '!' || a[e] == '?' || a[e] == ';') &&
				     (e + 1 == len || isspace((unsigned char)a[e + 1])))))
			e++;
		start = off = i;
		while (off <= e &&
		       pcre2_match(sp->code[0], (PCRE2_SPTR)a, e, off, 0, sp->md, sp->mctx) >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sp->md);

			if (ov[0] > start)
				counts[classify(g, a + start, ov[0] - start)]++;
			start = ov[1] > start ? ov[1] : start;
			off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		}
		if (e > start)
			counts[classify(g, a + start, e - start)]++;
		i = e + 1;
	}
}

enum grade grader_grade(const struct grader *g, const char *answer, size_t len)
{
	size_t n[4];
	bool c, w;

	if (blank(answer, len))
		return GRADE_NOT_ATTEMPTED;
	w = first_match(g->wrong, answer, len, true) != SIZE_MAX;
	if (w)
		return GRADE_INCORRECT; /* a wrong candidate, hedged or not */
	clauses(g, answer, len, n);
	if (g->unanswerable) {
		/* the premise rejected (or the question declined) with no candidate answer */
		if (n[CL_CONTENT])
			return GRADE_INCORRECT;
		if (n[CL_PREMISE])
			return GRADE_CORRECT;
		return n[CL_ABSTAIN] ? GRADE_NOT_ATTEMPTED : GRADE_INCORRECT;
	}
	c = first_match(g->correct, answer, len, true) != SIZE_MAX;
	if (c)
		return GRADE_CORRECT; /* hedged or not (SimpleQA) */
	/* no candidate the patterns know: an abstention only if nothing else is said */
	if (n[CL_ABSTAIN] && !n[CL_CONTENT])
		return GRADE_NOT_ATTEMPTED;
	return GRADE_INCORRECT;
}

void grader_release(struct grader *g)
{
	if (!g)
		return;
	grade_patterns_free(g->correct);
	grade_patterns_free(g->wrong);
	grade_patterns_free(g->abstain);
	grade_patterns_free(g->split);
	grade_patterns_free(g->filler);
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

enum yesno grade_yesno_halueval(const char *text, size_t len)
{
	char *t;
	size_t i, n = 0;
	bool y, no;

	if (!text)
		return YESNO_NEITHER;
	t = lb_malloc(len + 1);
	if (!t)
		return YESNO_NEITHER;
	for (i = 0; i < len; i++) /* ans.replace(".", "") */
		if (text[i] != '.')
			t[n++] = text[i];
	t[n] = 0;
	y = memmem(t, n, "Yes", 3) != NULL; /* "Yes" in ans: case-sensitive substring */
	no = memmem(t, n, "No", 2) != NULL;
	lb_free(t);
	if (y && no)
		return YESNO_BOTH;
	return y ? YESNO_YES : no ? YESNO_NO : YESNO_NEITHER;
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

/* Whole word w, exactly as written (case-sensitive). */
static bool has_word_cs(const char *text, size_t len, const char *w)
{
	size_t wl = strlen(w), i;

	for (i = 0; i + wl <= len; i++) {
		if (memcmp(text + i, w, wl) || (i && isalnum((unsigned char)text[i - 1])) ||
		    (i + wl < len && (isalnum((unsigned char)text[i + wl]) || text[i + wl] == '_')))
			continue;
		return true;
	}
	return false;
}

/* The letter at text[i] stands as a grade: alone, or followed by ":", ")", ".", "-", a new
 * line, or by a label ("A CORRECT"); not the article of "A correct answer would be ...". */
static bool letter_alone(const char *text, size_t len, size_t i)
{
	size_t k = i + 1;

	if (k == len || strchr(":).,-*\"'\n\r", text[k]))
		return true;
	if (text[k] != ' ' && text[k] != '\t')
		return false;
	while (k < len && (text[k] == ' ' || text[k] == '\t'))
		k++;
	if (k == len || strchr("-:(\n\r", text[k]))
		return true;
	return (len - k >= 7 && !memcmp(text + k, "CORRECT", 7)) ||
	       (len - k >= 9 && !memcmp(text + k, "INCORRECT", 9)) ||
	       (len - k >= 13 && !memcmp(text + k, "NOT_ATTEMPTED", 13));
}

enum grade grade_judge_reply(const char *text, size_t len)
{
	size_t i = 0, w;
	bool c, in, na, label_first;

	if (!text)
		return GRADE_NONE;
	while (i < len && (isspace((unsigned char)text[i]) || text[i] == '(' || text[i] == '*' ||
			   text[i] == '"' || text[i] == '\''))
		i++;
	if (i < len && letter_alone(text, len, i)) {
		switch (text[i]) {
		case 'A':
		case 'a': return GRADE_CORRECT;
		case 'B':
		case 'b': return GRADE_INCORRECT;
		case 'C':
		case 'c': return GRADE_NOT_ATTEMPTED;
		default: break;
		}
	}
	/* the labels in any case when the reply starts with one ("Incorrect."), else only as the
	 * rubric writes them (CORRECT, INCORRECT, NOT_ATTEMPTED) */
	for (w = i; w < len && (isalpha((unsigned char)text[w]) || text[w] == '_'); w++)
		;
	label_first = has_word(text + i, w - i, "correct") ||
		      has_word(text + i, w - i, "incorrect") ||
		      has_word(text + i, w - i, "not_attempted") ||
		      (has_word(text + i, w - i, "not") &&
		       has_word(text + i, len - i > 14 ? 14 : len - i, "not attempted"));
	if (label_first) {
		na = has_word(text, len, "not_attempted") || has_word(text, len, "not attempted");
		in = has_word(text, len, "incorrect");
		c = has_word(text, len, "correct");
	} else {
		na = has_word_cs(text, len, "NOT_ATTEMPTED") ||
		     has_word_cs(text, len, "NOT ATTEMPTED");
		in = has_word_cs(text, len, "INCORRECT");
		c = has_word_cs(text, len, "CORRECT");
	}
	if (na + in + c != 1)
		return GRADE_NONE;
	return na ? GRADE_NOT_ATTEMPTED : in ? GRADE_INCORRECT : GRADE_CORRECT;
}
