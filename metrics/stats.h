/* stats.h: statistics over samples. Pure functions on arrays; no I/O.
 *
 * Percentiles interpolate linearly on sorted samples at rank f*(n-1), as numpy and llama.cpp
 * do (nearest rank, as GuideLLM and MLPerf use, gives other p99s at small n). */
#ifndef LB_STATS_H
#define LB_STATS_H

#include <stddef.h>

struct lb_stats {
	size_t n;
	double mean, sd; /* sd: sample standard deviation (n-1), NAN for n < 2 */
	double min, p50, p90, p95, p99, p999, max;
};

/* Sort v in place (NaNs are dropped first, n updated through the result) and fill out.
 * With n == 0 every figure is NAN and out->n is 0. */
void stats_compute(double *v, size_t n, struct lb_stats *out);
/* Percentile p in [0,100] of sorted v; NAN when n == 0. */
double stats_percentile_sorted(const double *v, size_t n, double p);
/* Mean and sample sd (Welford); NAN where undefined. */
void stats_mean_sd(const double *v, size_t n, double *mean, double *sd);
/* Wilson score interval for k successes of n at confidence z (1.96 for 95%). */
void stats_wilson(double k, double n, double z, double *lo, double *hi);
/* Welch's t-test: t statistic, degrees of freedom and two-sided p-value. */
void stats_welch(double m1, double s1, double n1, double m2, double s2, double n2, double *t,
		 double *df, double *p);
/* Two-sided p-value of Student's t with df degrees of freedom; quantile for probability q. */
double stats_t_pvalue(double t, double df);
double stats_t_quantile(double q, double df);

#endif
