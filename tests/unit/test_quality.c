/* test_quality.c: answer-quality scores (metrics/quality.c) against hand-computed values: Wilson
 * intervals, the QA fractions, MC1/MC2/MC3 on crafted log-likelihoods, SelfCheckGPT n-gram scores
 * on crafted samples, agreement and McNemar; and the TruthfulQA-layout loader (datasets/mc.c). */
#include "../../datasets/mc.h"
#include "../../metrics/quality.h"

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
	};
	return cmocka_run_group_tests_name("quality", tests, NULL, NULL);
}
