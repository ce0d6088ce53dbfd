/* test_ppl.c: perplexity and KL divergence math on crafted logits, against hand computations. */
#include "../../metrics/ppl.h"

#include <math.h>
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void log_softmax_is_stable_for_huge_logits(void **state)
{
	float same[4] = { 1000.0f, 1000.0f, 1000.0f, 1000.0f };
	float far[2] = { -1000.0f, 0.0f };
	double lp;

	(void)state;
	lp = ppl_log_softmax(same, 4, 2);
	assert_true(isfinite(lp));
	NEAR(lp, -log(4.0), 1e-12);
	lp = ppl_log_softmax(far, 2, 0);
	assert_true(isfinite(lp));
	NEAR(lp, -1000.0, 1e-9);
	NEAR(ppl_log_softmax(far, 2, 1), 0.0, 1e-12);
}

static void nll_matches_hand_computation(void **state)
{
	/* softmax(ln 1, ln 2, ln 5) = (1/8, 2/8, 5/8) */
	float l[3] = { 0.0f, (float)log(2.0), (float)log(5.0) };

	(void)state;
	NEAR(-ppl_log_softmax(l, 3, 0), log(8.0), 1e-6);
	NEAR(-ppl_log_softmax(l, 3, 2), log(8.0 / 5.0), 1e-6);
	assert_int_equal(ppl_argmax(l, 3), 2);
}

static void ppl_and_error_match_hand_computation(void **state)
{
	struct ppl_acc a = { 0 };
	double ppl, err, var;
	int i;

	(void)state;
	for (i = 1; i <= 4; i++)
		ppl_acc_add(&a, (double)i, 2);
	ppl_acc_result(&a, &ppl, &err);
	/* mean 2.5, mean of squares 7.5, variance 1.25, / (N-1) = 5/12 */
	var = (7.5 - 2.5 * 2.5) / 3.0;
	NEAR(ppl, exp(2.5), 1e-12);
	NEAR(err, exp(2.5) * sqrt(var), 1e-12);
	NEAR(err, 7.8637663, 1e-6);
	/* bits per byte: sum NLL 10 over 8 bytes */
	NEAR(ppl_acc_bpb(&a), 10.0 / (log(2.0) * 8.0), 1e-12);
}

/* No estimate is not an estimate of 0: unavailable (NAN), stored and shown as such. */
static void ppl_error_is_unavailable_without_variance(void **state)
{
	struct ppl_acc a = { 0 };
	double ppl, err;

	(void)state;
	ppl_acc_add(&a, 3.0, 1);
	ppl_acc_add(&a, 3.0, 1);
	ppl_acc_result(&a, &ppl, &err);
	NEAR(ppl, exp(3.0), 1e-12);
	assert_true(isnan(err));
	memset(&a, 0, sizeof(a));
	ppl_acc_add(&a, 2.0, 1); /* one token */
	ppl_acc_result(&a, &ppl, &err);
	NEAR(ppl, exp(2.0), 1e-12);
	assert_true(isnan(err));
}

static void percentiles_interpolate_like_llama_cpp(void **state)
{
	double v[5] = { 1, 2, 3, 4, 5 }, e[4] = { 1, 2, 3, 4 };

	(void)state;
	NEAR(ppl_percentile(v, 5, 0.5), 3.0, 1e-12);
	NEAR(ppl_percentile(v, 5, 0.9), 4.6, 1e-12);
	NEAR(ppl_percentile(v, 5, 0.999), 4.996, 1e-12);
	NEAR(ppl_percentile(v, 5, 0.0), 1.0, 0);
	NEAR(ppl_percentile(v, 5, 1.0), 5.0, 0);
	NEAR(ppl_median(v, 5), 3.0, 0);
	NEAR(ppl_median(e, 4), 2.5, 0);
}

static void kld_of_identical_distributions_is_zero(void **state)
{
	float l[5] = { 0.3f, -1.0f, 2.5f, 0.0f, 1.0f };
	struct kld_acc a;
	struct kld_result r;
	struct lb_error err = LB_ERROR_INIT;
	int i;

	(void)state;
	kld_acc_init(&a);
	for (i = 0; i < 20; i++)
		assert_int_equal(kld_acc_add(&a, l, l, 5, i % 5, &err), 0);
	kld_acc_result(&a, &r);
	assert_int_equal(r.count, 20);
	NEAR(r.kld_mean, 0.0, 0);
	for (i = 0; i < KLD_N_PCT; i++)
		NEAR(r.kld_pct[i], 0.0, 0);
	NEAR(r.same_top, 1.0, 0);
	NEAR(r.p_diff_rms, 0.0, 0);
	NEAR(r.ppl_ratio, 1.0, 1e-12);
	NEAR(r.log_ppl_ratio, 0.0, 1e-12);
	kld_acc_release(&a);
}

static void kld_matches_hand_computation(void **state)
{
	/* P = (1/2, 1/2), Q = (3/4, 1/4): KLD = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3) */
	float p[2] = { 0.0f, 0.0f }, q[2] = { (float)log(3.0), 0.0f };
	struct kld_acc a;
	struct kld_result r;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	kld_acc_init(&a);
	assert_int_equal(kld_acc_add(&a, q, p, 2, 0, &err), 0);
	assert_int_equal(kld_acc_add(&a, q, p, 2, 1, &err), 0);
	kld_acc_result(&a, &r);
	NEAR(r.kld_mean, 0.5 * log(4.0 / 3.0), 1e-6);
	NEAR(r.kld_pct[0], 0.5 * log(4.0 / 3.0), 1e-6); /* max */
	NEAR(r.kld_pct[KLD_N_PCT - 1], 0.5 * log(4.0 / 3.0), 1e-6); /* min */
	/* dp: token 0: 3/4 - 1/2; token 1: 1/4 - 1/2 */
	NEAR(r.p_diff_mean, 0.0, 1e-6);
	NEAR(r.p_diff_rms, 0.25, 1e-6);
	NEAR(r.same_top, 1.0, 0); /* argmax of P is its first maximum, 0, as Q's */
	kld_acc_release(&a);
}

static void kld_skips_base_terms_below_minus_16(void **state)
{
	/* log p_1 = -40 is skipped: KLD = p_0 (log p_0 - log q_0) with q_0 = 1/2 */
	float p[2] = { 0.0f, -40.0f }, q[2] = { 0.0f, 0.0f };
	struct kld_acc a;
	struct kld_result r;
	struct lb_error err = LB_ERROR_INIT;
	double lp0 = -log1p(exp(-40.0));

	(void)state;
	kld_acc_init(&a);
	assert_int_equal(kld_acc_add(&a, q, p, 2, 0, &err), 0);
	kld_acc_result(&a, &r);
	NEAR(r.kld_mean, exp(lp0) * (lp0 - log(0.5)), 1e-9);
	kld_acc_release(&a);
}

static void kld_percentiles_come_from_sorted_values(void **state)
{
	float p[2] = { 0.0f, 0.0f }, q[2];
	struct kld_acc a;
	struct kld_result r;
	struct lb_error err = LB_ERROR_INIT;
	double k[11];
	int i;

	(void)state;
	kld_acc_init(&a);
	/* Eleven tokens with growing divergence, added in a shuffled order. */
	for (i = 0; i < 11; i++) {
		int j = (i * 7) % 11;
		double x = 0.1 * j;

		q[0] = (float)x;
		q[1] = 0.0f;
		assert_int_equal(kld_acc_add(&a, q, p, 2, 0, &err), 0);
	}
	for (i = 0; i < 11; i++) {
		double q0 = 1.0 / (1.0 + exp(-(double)(float)(0.1 * i)));

		k[i] = 0.5 * log(0.5 / q0) + 0.5 * log(0.5 / (1.0 - q0));
	}
	kld_acc_result(&a, &r);
	NEAR(r.kld_pct[KLD_N_PCT - 1], k[0], 1e-7);	/* min */
	NEAR(r.kld_pct[0], k[10], 1e-7);		/* max */
	NEAR(r.kld_pct[5], k[5], 1e-7);			/* median */
	NEAR(r.kld_pct[4], k[9], 1e-7);			/* 90%: 0.9 * 10 = 9 */
	NEAR(r.kld_pct[6], k[1], 1e-7);			/* 10% */
	NEAR(r.kld_pct[3], 0.5 * k[9] + 0.5 * k[10], 1e-7); /* 95%: 9.5 */
	kld_acc_release(&a);
}

static void mean_uncertainty_needs_more_than_ten(void **state)
{
	double m, u;

	(void)state;
	ppl_mean_unc(10.0, 30.0, 5, &m, &u);
	NEAR(m, 2.0, 0);
	NEAR(u, 0.0, 0);
	ppl_mean_unc(22.0, 66.0, 11, &m, &u);
	NEAR(m, 2.0, 1e-12);
	NEAR(u, sqrt((6.0 - 4.0) / 10.0), 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(log_softmax_is_stable_for_huge_logits),
		cmocka_unit_test(nll_matches_hand_computation),
		cmocka_unit_test(ppl_and_error_match_hand_computation),
		cmocka_unit_test(ppl_error_is_unavailable_without_variance),
		cmocka_unit_test(percentiles_interpolate_like_llama_cpp),
		cmocka_unit_test(kld_of_identical_distributions_is_zero),
		cmocka_unit_test(kld_matches_hand_computation),
		cmocka_unit_test(kld_skips_base_terms_below_minus_16),
		cmocka_unit_test(kld_percentiles_come_from_sorted_values),
		cmocka_unit_test(mean_uncertainty_needs_more_than_ten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
