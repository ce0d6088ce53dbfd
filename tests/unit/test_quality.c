/* test_quality.c: answer-quality scores (metrics/quality.c) against hand-computed values: Wilson
 * intervals, the QA fractions, MC1/MC2/MC3 on crafted log-likelihoods, SelfCheckGPT n-gram scores
 * on crafted samples, agreement and McNemar; and the TruthfulQA-layout loader (datasets/mc.c). */
#include "../../datasets/mc.h"
#include "../../base/alloc.h"
#include "../../metrics/quality.h"
#include "../../metrics/store.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

/* Wilson 95% bounds, computed by hand: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n) */
static void wilson_matches_hand_computed_values(void **state)
{
	struct quality_est e;

	(void)state;
	quality_prop(0, 10, QUALITY_Z95, &e);
	NEAR(e.value, 0, 1e-12);
	NEAR(e.lo, 0, 1e-9);
	NEAR(e.hi, 0.277533, 1e-5);
	quality_prop(5, 10, QUALITY_Z95, &e);
	NEAR(e.lo, 0.236593, 1e-5);
	NEAR(e.hi, 0.763407, 1e-5);
	quality_prop(8, 10, QUALITY_Z95, &e);
	NEAR(e.lo, 0.490162, 1e-5);
	NEAR(e.hi, 0.943318, 1e-5);
	quality_prop(37, 50, QUALITY_Z95, &e);
	NEAR(e.lo, 0.604468, 1e-5);
	NEAR(e.hi, 0.841285, 1e-5);
	quality_prop(1, 1, QUALITY_Z95, &e);
	NEAR(e.lo, 0.206549, 1e-5);
	NEAR(e.hi, 1, 1e-12);
	quality_prop(0, 0, QUALITY_Z95, &e);
	assert_true(isnan(e.value) && isnan(e.lo) && isnan(e.hi));
}

static void qa_scores_from_a_tally(void **state)
{
	struct qa_tally t = { .correct = 5, .incorrect = 3, .not_attempted = 2 };
	struct qa_scores s;

	(void)state;
	quality_qa_scores(&t, QUALITY_Z95, &s);
	NEAR(s.correct.value, 0.5, 1e-12);
	NEAR(s.incorrect.value, 0.3, 1e-12);
	NEAR(s.not_attempted.value, 0.2, 1e-12);
	NEAR(s.hallucination_rate.value, 3.0 / 8, 1e-12);
	assert_true(s.hallucination_rate.n == 8);
	NEAR(s.accuracy_given_attempted.value, 5.0 / 8, 1e-12);
	NEAR(s.f.value, 2 * 0.5 * 0.625 / (0.5 + 0.625), 1e-12);
	NEAR(s.correct.lo, 0.236593, 1e-5); /* 5 of 10 */
	assert_true(s.f.lo < s.f.value && s.f.value < s.f.hi);
	/* nothing attempted: hallucination rate and accuracy given attempted are undefined */
	t = (struct qa_tally){ .not_attempted = 4 };
	quality_qa_scores(&t, QUALITY_Z95, &s);
	NEAR(s.not_attempted.value, 1, 1e-12);
	assert_true(isnan(s.hallucination_rate.value));
	assert_true(isnan(s.accuracy_given_attempted.value));
	assert_true(isnan(s.f.value));
}

static void mc_scores_on_crafted_loglikelihoods(void **state)
{
	/* a false choice beats every true one */
	const double a[] = { -1, -2, -3, -0.5 };
	const bool at[] = { true, false, true, false };
	/* every true beats every false */
	const double b[] = { -1, -2, -1.5, -3 };
	const bool bt[] = { true, false, true, false };
	/* one of two true beats the best false */
	const double c[] = { -1, -2, -2.5 };
	const bool ct[] = { true, false, true };
	/* large magnitudes: log-sum-exp keeps MC2 finite */
	const double d[] = { -1000, -1001 };
	const bool dt[] = { true, false };
	/* a tie is not a win */
	const double e[] = { -2, -2 };
	const bool et[] = { true, false };
	const bool all_true[] = { true, true };

	(void)state;
	NEAR(quality_mc1(a, at, 4), 0, 0);
	NEAR(quality_mc2(a, at, 4), (exp(-1) + exp(-3)) / (exp(-1) + exp(-2) + exp(-3) + exp(-0.5)),
	     1e-12);
	NEAR(quality_mc2(a, at, 4), 0.360203, 1e-6);
	NEAR(quality_mc3(a, at, 4), 0, 0);
	NEAR(quality_mc1(b, bt, 4), 1, 0);
	NEAR(quality_mc2(b, bt, 4), 0.761481, 1e-6);
	NEAR(quality_mc3(b, bt, 4), 1, 0);
	NEAR(quality_mc1(c, ct, 3), 1, 0);
	NEAR(quality_mc3(c, ct, 3), 0.5, 1e-12);
	NEAR(quality_mc2(d, dt, 2), 1 / (1 + exp(-1)), 1e-12);
	NEAR(quality_mc1(e, et, 2), 0, 0);
	NEAR(quality_mc2(e, et, 2), 0.5, 1e-12);
	assert_true(isnan(quality_mc1(e, all_true, 2)));
	assert_true(isnan(quality_mc2(e, all_true, 2)));
	assert_true(isnan(quality_mc3(e, all_true, 2)));
}

static double sc_score(const char *answer, const char *const *samples, size_t n)
{
	struct selfcheck_result r;
	struct lb_error err = LB_ERROR_INIT;
	double v;

	assert_int_equal(quality_selfcheck_ngram(answer, samples, n, &r, &err), 0);
	v = r.avg_neg_logprob;
	selfcheck_result_release(&r);
	return v;
}

static void selfcheck_identical_samples_are_most_consistent(void **state)
{
	static const char answer[] = "The capital of Australia is Canberra. It is in the ACT.";
	static const char *const same[] = { answer, answer, answer };
	static const char *const close[] = { "The capital of Australia is Canberra.",
					     "Canberra is the capital.",
					     "It is Canberra, in the ACT." };
	static const char *const other[] = { "Sydney is the capital of Australia.",
					     "The capital is Melbourne.",
					     "Perth, I think." };
	static const char *const more_of_one[] = { "the the the the", "the the", "the" };
	struct selfcheck_result r;
	struct lb_error err = LB_ERROR_INIT;
	double s_same, s_close, s_other, s_skew, h = 0;
	size_t i;

	(void)state;
	/* identical samples: p is the answer's own word distribution, the score its entropy */
	assert_int_equal(quality_selfcheck_ngram(answer, same, 3, &r, &err), 0);
	assert_int_equal(r.n_sentences, 2);
	/* 11 words: "the" and "is" twice, 7 others once; mean of -log(count / 11) */
	h = (2 * 2 * -log(2.0 / 11) + 7 * -log(1.0 / 11)) / 11;
	NEAR(r.avg_neg_logprob, h, 1e-12);
	for (i = 0; i < r.n_sentences; i++)
		assert_true(r.sent_max[i] >= r.sent_avg[i]);
	selfcheck_result_release(&r);
	s_same = sc_score(answer, same, 3);
	s_close = sc_score(answer, close, 3);
	s_other = sc_score(answer, other, 3);
	s_skew = sc_score(answer, more_of_one, 3);
	assert_true(s_same < s_close);
	assert_true(s_close < s_other);
	assert_true(s_same < s_skew);
	/* no samples: the answer alone is its own distribution, as identical samples */
	NEAR(sc_score(answer, NULL, 0), s_same, 1e-12);
	/* no tokens: NAN */
	assert_true(isnan(sc_score("...", same, 3)));
}

static void agreement_and_mcnemar(void **state)
{
	const int a[] = { 0, 1, 2, 0, -1, 0 };
	const int b[] = { 0, 1, 0, 0, 1, -1 };
	struct quality_est e;

	(void)state;
	quality_agreement(a, b, 6, QUALITY_Z95, &e);
	assert_true(e.n == 4);
	NEAR(e.value, 0.75, 1e-12);
	NEAR(quality_mcnemar_p(0, 0), 1, 0);
	NEAR(quality_mcnemar_p(10, 0), 2.0 / 1024, 1e-12);
	NEAR(quality_mcnemar_p(0, 10), 2.0 / 1024, 1e-12);
	NEAR(quality_mcnemar_p(5, 5), 1, 1e-12);
	/* b = 1, c = 6: 2 * (1 + 7) / 128 */
	NEAR(quality_mcnemar_p(1, 6), 16.0 / 128, 1e-12);
}

static void mc_loader_reads_both_layouts(void **state)
{
	static const char text[] =
		"[{\"question\": \"Q1?\", \"mc1_targets\": {\"right\": 1, \"wrong\": 0, \"bad\": 0},"
		"  \"mc2_targets\": {\"right\": 1, \"also\": 1, \"wrong\": 0}},"
		" {\"id\": \"hf\", \"question\": \"Q2?\", \"mc1_targets\": {\"choices\": [\"a\", \"b\"],"
		"  \"labels\": [0, 1]}}]";
	struct mc_set s = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(mc_parse(text, sizeof(text) - 1, "m.json", 0, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0].id, "1");
	assert_int_equal(s.v[0].n_mc1, 3);
	assert_string_equal(s.v[0].mc1[0].text, "right");
	assert_true(s.v[0].mc1[0].is_true);
	assert_false(s.v[0].mc1[2].is_true);
	assert_int_equal(s.v[0].n_mc2, 3);
	assert_true(s.v[0].mc2[1].is_true);
	assert_string_equal(s.v[1].id, "hf");
	assert_int_equal(s.v[1].n_mc2, 0);
	assert_true(s.v[1].mc1[1].is_true);
	mc_set_release(&s);
}

static void mc_loader_errors(void **state)
{
	static const char two_true[] =
		"[{\"question\": \"Q?\", \"mc1_targets\": {\"a\": 1, \"b\": 1}}]";
	static const char bad_label[] =
		"[{\"question\": \"Q?\", \"mc1_targets\": {\"a\": 1, \"b\": 2}}]";
	struct mc_set s = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(mc_parse(two_true, sizeof(two_true) - 1, "m.json", 0, &s, &err),
			 LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "item '1': 'mc1_targets' must have exactly one true"));
	mc_set_release(&s);
	assert_int_equal(mc_parse(bad_label, sizeof(bad_label) - 1, "m.json", 0, &s, &err),
			 LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "the label of choice 'b' must be 1 or 0"));
	mc_set_release(&s);
	assert_int_equal(mc_parse("[1,\n2", 5, "m.json", 0, &s, &err), LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "'m.json':2: malformed JSON"));
	mc_set_release(&s);
	assert_int_equal(mc_load("datasets/mc/truthful-style.json", 0, &s, &err), 0);
	assert_true(s.n >= 10);
	mc_set_release(&s);
}

/* lm-evaluation-harness's acc and acc_norm, worked by hand from its definition
 * (api/task.py process_results for multiple_choice: acc = argmax(lls) == gold, acc_norm =
 * argmax(lls / completion_len) == gold, completion_len = len(choice) in characters, np.argmax
 * taking the first of equal maxima), and TruthfulQA's MC_calcs MC1 (strict). */
static void mc_acc_and_acc_norm_as_lm_eval(void **state)
{
	static const bool t3[] = { true, false, false };
	static const double ll3[] = { -3.0, -4.5, -3.0 };
	static const double len3[] = { 3, 9, 7 }; /* "Yes", "No, never", "Perhaps" */
	static const bool t2[] = { true, false };
	static const double ll2[] = { -2.0, -6.5 };
	double len2[2];

	(void)state;
	/* a tie between the true choice (first) and a false one: lm-eval's acc counts it, MC1
	 * (strictly above) does not; by characters -1.0, -0.5, -0.4286: acc_norm picks choice 2 */
	NEAR(quality_mc1(ll3, t3, 3), 0, 0);
	NEAR(quality_mc_acc(ll3, NULL, t3, 3), 1, 0);
	NEAR(quality_mc_acc(ll3, len3, t3, 3), 0, 0);
	/* "Yes" (3 characters) at -2.0 against "Not at all" (10) at -6.5: -0.667 < -0.65, so
	 * acc_norm is 0; the stored n_bytes with the leading space (4, 11) would give -0.5 >
	 * -0.591 and 1: why acc_norm uses the length in characters of the choice itself */
	len2[0] = (double)mc_char_len("Yes");
	len2[1] = (double)mc_char_len("Not at all");
	NEAR(quality_mc_acc(ll2, NULL, t2, 2), 1, 0);
	NEAR(quality_mc_acc(ll2, len2, t2, 2), 0, 0);
	assert_int_equal(mc_char_len("Caf\xc3\xa9"), 4); /* characters, not bytes */
	assert_int_equal(mc_char_len(""), 0);
}

/* lm-eval's process_results_mc2 splits at the first false label: with labels 1 1 0 1 0 and
 * probabilities .2 .1 .3 .25 .15 it counts .2 + .1 = .3 (the later true choice is taken as
 * false); TruthfulQA's MC2 by label gives .2 + .1 + .25 = .55; MC3: no true choice beats the
 * best false .3, 0. */
static void mc2_lm_eval_split_and_truthfulqa_labels(void **state)
{
	static const bool t[] = { true, true, false, true, false };
	double ll[5];

	(void)state;
	ll[0] = log(0.2);
	ll[1] = log(0.1);
	ll[2] = log(0.3);
	ll[3] = log(0.25);
	ll[4] = log(0.15);
	NEAR(quality_mc2_lmeval(ll, t, 5), 0.3, 1e-12);
	NEAR(quality_mc2(ll, t, 5), 0.55, 1e-12);
	NEAR(quality_mc3(ll, t, 5), 0, 0);
	/* no false choice: lm-eval raises (list.index(0)); unavailable here */
	assert_true(isnan(quality_mc2_lmeval(ll, (const bool[]){ true, true }, 2)));
}

/* Issue 12 case 8: one NaN log-likelihood makes the item unavailable for every score. */
static void mc_nan_is_unavailable_for_every_score(void **state)
{
	static const bool t[] = { true, false, false };
	static const double len[] = { 1, 1, 1 };
	double ll[3] = { -1.0, NAN, -2.0 };

	(void)state;
	assert_true(quality_mc_any_nan(ll, 3));
	assert_true(isnan(quality_mc1(ll, t, 3)));
	assert_true(isnan(quality_mc2(ll, t, 3)));
	assert_true(isnan(quality_mc3(ll, t, 3)));
	assert_true(isnan(quality_mc2_lmeval(ll, t, 3)));
	assert_true(isnan(quality_mc_acc(ll, NULL, t, 3)));
	assert_true(isnan(quality_mc_acc(ll, len, t, 3)));
	ll[1] = -3.0;
	assert_false(quality_mc_any_nan(ll, 3));
	NEAR(quality_mc1(ll, t, 3), 1, 0);
}

/* The exact strings scored in truthfulqa_mc mode with a stand-in primer: lm-eval's doc_to_text
 * is primer + "\n\nQ: " + question + "\nA:", and the continuation is target_delimiter " " +
 * choice. */
static void mc_context_with_a_stand_in_primer(void **state)
{
	char *c = mc_context("Q: P1?\nA: R1.\n\nQ: P2?\nA: R2.", "Why is the sky blue?");
	char *z = mc_context(NULL, "Why?"), *k = mc_continuation("Rayleigh scattering.");

	(void)state;
	assert_string_equal(c, "Q: P1?\nA: R1.\n\nQ: P2?\nA: R2.\n\nQ: Why is the sky blue?\nA:");
	assert_string_equal(z, "Q: Why?\nA:");
	assert_string_equal(k, " Rayleigh scattering.");
	lb_free(c);
	lb_free(z);
	lb_free(k);
}

/* Tokens as spaCy's English tokenizer cuts plain text (prefixes, suffixes, the exceptions for
 * contractions and abbreviations, infixes), each expected list written from spaCy's rules. */
static const struct tok_case {
	const char *text, *tokens; /* tokens joined by '|' */
} tok_cases[] = {
	{ "Paris is the capital.", "Paris|is|the|capital|." },
	{ "It isn't small.", "It|is|n't|small|." },
	{ "Dr. Smith arrived.", "Dr.|Smith|arrived|." },
	{ "GPT-3.5 costs $20.", "GPT-3.5|costs|$|20|." },
	{ "The U.S. is large.", "The|U.S.|is|large|." },
	{ "Version 3.5 works.", "Version|3.5|works|." },
	{ "I'm here, you're there.", "I|'m|here|,|you|'re|there|." },
	{ "Don't stop!", "Do|n't|stop|!" },
	{ "(Yes)", "(|Yes|)" },
	{ "\"Hello,\" she said.", "\"|Hello|,|\"|she|said|." },
	{ "well-known facts", "well|-|known|facts" },
	{ "It's 5 p.m. now.", "It|'s|5|p.m.|now|." },
	{ "e.g. apples", "e.g.|apples" },
	{ "a  b", "a| |b" },
	{ "a\nb", "a|\n|b" },
	{ "NASA.", "NASA|." },
	{ "A. Lincoln", "A.|Lincoln" },
	{ "Wait...", "Wait|..." },
	{ "can't", "ca|n't" },
	{ "1,000 km", "1,000|km" },
	{ "Yes, no; maybe: fine?", "Yes|,|no|;|maybe|:|fine|?" },
	{ "John's car", "John|'s|car" },
	{ "won\xe2\x80\x99t", "wo|n\xe2\x80\x99t" },
	{ "100%", "100|%" },
};

static void selfcheck_tokens_as_spacy(void **state)
{
	size_t i, k, bad = 0;

	(void)state;
	assert_true(sizeof(tok_cases) / sizeof(tok_cases[0]) >= 20);
	for (i = 0; i < sizeof(tok_cases) / sizeof(tok_cases[0]); i++) {
		struct selfcheck_tokens t;
		char got[256] = "";

		assert_int_equal(selfcheck_tokenize(tok_cases[i].text, strlen(tok_cases[i].text), &t),
				 0);
		for (k = 0; k < t.n; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%.*s", k ? "|" : "",
				 (int)t.v[k].len, tok_cases[i].text + t.v[k].start);
		if (strcmp(got, tok_cases[i].tokens)) {
			print_message("'%s': got '%s', want '%s'\n", tok_cases[i].text, got,
				      tok_cases[i].tokens);
			bad++;
		}
		selfcheck_tokens_release(&t);
	}
	assert_int_equal(bad, 0);
}

static void selfcheck_sentences_by_rule(void **state)
{
	static const struct {
		const char *text, *sents;
	} c[] = {
		{ "Dr. Smith arrived. He sat down.", "Dr. Smith arrived.|He sat down." },
		{ "GPT-3.5 is a model. It is fast!", "GPT-3.5 is a model.|It is fast!" },
		{ "Is it? Yes.", "Is it?|Yes." },
		{ "Line one\nLine two", "Line one|Line two" },
		{ "He said \"Stop.\" Then left.", "He said \"Stop.\"|Then left." },
		{ "The U.S. is large. Yes", "The U.S. is large.|Yes" },
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct selfcheck_tokens t;
		char got[256] = "";

		assert_int_equal(selfcheck_sentences(c[i].text, strlen(c[i].text), &t), 0);
		for (k = 0; k < t.n; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%.*s", k ? "|" : "",
				 (int)t.v[k].len, c[i].text + t.v[k].start);
		if (strcmp(got, c[i].sents))
			fail_msg("'%s': got '%s', want '%s'", c[i].text, got, c[i].sents);
		selfcheck_tokens_release(&t);
	}
}

/* SelfCheckNgram(n=1) worked by hand: passage "Paris is the capital. It isn't small." and the
 * samples "Paris is the capital." and "Lyon is big." give 19 tokens: paris 2, is 4 (one from
 * "isn't"), the 2, capital 2, "." 4, it 1, n't 1, small 1, lyon 1, big 1. Sentence 1: -ln(2/19)
 * x3 and -ln(4/19) x2, mean 1.974032926, max ln 9.5 = 2.251291799; sentence 2: -ln(1/19) x3 and
 * -ln(4/19) x2, mean 2.389921235, max ln 19 = 2.944438979; document: mean over the 10 tokens
 * 2.181977081, mean of the maxima 2.597865389. llmbench's own variant (words only, "isn't" as
 * "isn" "t") gives another number on the same text. */
static void selfcheck_ngram_reference_cross_check(void **state)
{
	const char *samples[] = { "Paris is the capital.", "Lyon is big." };
	const char *passage = "Paris is the capital. It isn't small.";
	struct lb_error err = LB_ERROR_INIT;
	struct selfcheck_result r, own;

	(void)state;
	assert_int_equal(quality_selfcheck_ngram_ref(passage, samples, 2, &r, &err), 0);
	assert_int_equal(r.n_sentences, 2);
	NEAR(r.sent_avg[0], 1.974032926383, 1e-9);
	NEAR(r.sent_max[0], 2.251291798606, 1e-9);
	NEAR(r.sent_avg[1], 2.389921234718, 1e-9);
	NEAR(r.sent_max[1], 2.944438979166, 1e-9);
	NEAR(r.avg_neg_logprob, 2.181977080551, 1e-9);
	NEAR(r.avg_max_neg_logprob, 2.597865388886, 1e-9);
	assert_int_equal(quality_selfcheck_ngram(passage, samples, 2, &own, &err), 0);
	assert_true(fabs(own.avg_neg_logprob - r.avg_neg_logprob) > 0.01);
	selfcheck_result_release(&r);
	selfcheck_result_release(&own);
}

/* ---- recomputed from a store (tests/integration/i0602 sets LB_EVAL_DB) -------------------- */

struct rc_item {
	char id[64], answer[1024], method[16];
	double score;
	const char *samples[16];
	size_t n;
};

struct rc_ctx {
	struct rc_item v[64];
	size_t n;
};

static int on_sc_row(void *ctx, const struct store_row *row)
{
	struct rc_ctx *c = ctx;
	struct rc_item *it;

	if (c->n >= 64)
		return 0;
	it = &c->v[c->n++];
	snprintf(it->id, sizeof(it->id), "%s", row->text[0] ? row->text[0] : "");
	snprintf(it->answer, sizeof(it->answer), "%s", row->text[1] ? row->text[1] : "");
	it->score = row->num[2];
	snprintf(it->method, sizeof(it->method), "%s", row->text[3] ? row->text[3] : "");
	return 0;
}

static int on_sample(void *ctx, const struct store_row *row)
{
	struct rc_item *it = ctx;

	if (it->n < 16 && row->text[0])
		it->samples[it->n++] = lb_strdup(row->text[0]);
	return 0;
}

/* Every self-check score of the store recomputed from the stored answer and samples alone. */
static void selfcheck_recomputed_from_the_store(void **state)
{
	const char *db = getenv("LB_EVAL_DB");
	struct lb_error err = LB_ERROR_INIT;
	struct store *st = NULL;
	struct rc_ctx *c;
	size_t i, k, checked = 0;
	double sum = 0, stored_mean = NAN;

	(void)state;
	if (!db)
		skip();
	c = lb_calloc(1, sizeof(*c));
	assert_non_null(c);
	if (store_open(&st, db, true, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(store_query(st,
				     "SELECT item_id, answer, score, substr(method, 1, 15) FROM evals "
				     "WHERE kind = 'selfcheck' AND backend_id = (SELECT MIN(id) FROM "
				     "backends) ORDER BY item_idx",
				     NULL, 0, on_sc_row, c, &err),
			 0);
	for (i = 0; i < c->n; i++) {
		struct rc_item *it = &c->v[i];
		const char *p[1] = { it->id };
		struct selfcheck_result r;

		assert_int_equal(store_query(st,
					     "SELECT text FROM eval_texts WHERE kind = 'selfcheck' "
					     "AND role = 'sample' AND status = 'ok' AND item_id = ? "
					     "AND backend_id = (SELECT MIN(id) FROM backends) ORDER BY idx",
					     p, 1, on_sample, it, &err),
				 0);
		assert_true(it->n > 0);
		if (!strncmp(it->method, "selfcheck_ngram", 15))
			assert_int_equal(quality_selfcheck_ngram_ref(it->answer, it->samples, it->n,
								     &r, &err),
					 0);
		else
			assert_int_equal(quality_selfcheck_ngram(it->answer, it->samples, it->n, &r,
								 &err),
					 0);
		if (fabs(r.avg_neg_logprob - it->score) > 1e-9)
			fail_msg("item '%s': recomputed %.9f, stored %.9f", it->id,
				 r.avg_neg_logprob, it->score);
		sum += r.avg_neg_logprob;
		checked++;
		selfcheck_result_release(&r);
		for (k = 0; k < it->n; k++)
			lb_free((void *)it->samples[k]);
	}
	{
		struct rc_ctx *mc = lb_calloc(1, sizeof(*mc));

		assert_non_null(mc);
		assert_int_equal(store_query(st,
					     "SELECT 'mean', '', value, '' FROM summaries WHERE metric = "
					     "'selfcheck_mean' AND backend_id = (SELECT MIN(id) FROM "
					     "backends)",
					     NULL, 0, on_sc_row, mc, &err),
				 0);
		assert_int_equal(mc->n, 1);
		stored_mean = mc->v[0].score;
		lb_free(mc);
	}
	assert_true(checked > 0);
	NEAR(sum / (double)checked, stored_mean, 1e-9);
	print_message("recomputed %zu self-check scores and selfcheck_mean from the store\n",
		      checked);
	store_close(st);
	lb_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wilson_matches_hand_computed_values),
		cmocka_unit_test(qa_scores_from_a_tally),
		cmocka_unit_test(mc_scores_on_crafted_loglikelihoods),
		cmocka_unit_test(selfcheck_identical_samples_are_most_consistent),
		cmocka_unit_test(agreement_and_mcnemar),
		cmocka_unit_test(mc_loader_reads_both_layouts),
		cmocka_unit_test(mc_loader_errors),
		cmocka_unit_test(mc_acc_and_acc_norm_as_lm_eval),
		cmocka_unit_test(mc2_lm_eval_split_and_truthfulqa_labels),
		cmocka_unit_test(mc_nan_is_unavailable_for_every_score),
		cmocka_unit_test(mc_context_with_a_stand_in_primer),
		cmocka_unit_test(selfcheck_tokens_as_spacy),
		cmocka_unit_test(selfcheck_sentences_by_rule),
		cmocka_unit_test(selfcheck_ngram_reference_cross_check),
		cmocka_unit_test(selfcheck_recomputed_from_the_store),
	};
	return cmocka_run_group_tests_name("quality", tests, NULL, NULL);
}
