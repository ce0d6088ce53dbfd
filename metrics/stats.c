/* stats.c: statistics over samples (see stats.h). */
#include "stats.h"

#include "xsort.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double stats_percentile_sorted(const double *v, size_t n, double p)
{
	double rank, frac;
	size_t lo;

	if (!n)
		return NAN;
	if (p <= 0)
		return v[0];
	if (p >= 100)
		return v[n - 1];
	rank = p / 100.0 * (double)(n - 1);
	lo = (size_t)rank;
	frac = rank - (double)lo;
	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + frac * (v[lo + 1] - v[lo]);
}

void stats_mean_sd(const double *v, size_t n, double *mean, double *sd)
{
	double m = 0, m2 = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double d = v[i] - m;

		m += d / (double)(i + 1);
		m2 += d * (v[i] - m);
	}
	*mean = n ? m : NAN;
	*sd = n > 1 ? sqrt(m2 / (double)(n - 1)) : NAN;
}

void stats_compute(double *v, size_t n, struct lb_stats *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[k++] = v[i];
	n = k;
	out->n = n;
	if (!n) {
		out->mean = out->sd = out->min = out->p50 = out->p90 = out->p95 = out->p99 =
			out->p999 = out->max = NAN;
		return;
	}
	/* the radix sort (4-5x qsort's speed at 10^5 values) where its buffers can be had; the
	 * order is the same, so are the figures */
	if (n < 512 || xsort_doubles(v, n))
		qsort(v, n, sizeof(*v), cmp_double);
	stats_mean_sd(v, n, &out->mean, &out->sd);
	out->min = v[0];
	out->max = v[n - 1];
	out->p50 = stats_percentile_sorted(v, n, 50);
	out->p90 = stats_percentile_sorted(v, n, 90);
	out->p95 = stats_percentile_sorted(v, n, 95);
	out->p99 = stats_percentile_sorted(v, n, 99);
	out->p999 = stats_percentile_sorted(v, n, 99.9);
}

void stats_wilson(double k, double n, double z, double *lo, double *hi)
{
	double p, den, centre, half;

	if (n <= 0) {
		*lo = *hi = NAN;
		return;
	}
	p = k / n;
	den = 1 + z * z / n;
	centre = (p + z * z / (2 * n)) / den;
	half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den;
	*lo = centre - half < 0 ? 0 : centre - half;
	*hi = centre + half > 1 ? 1 : centre + half;
}

/* Continued fraction for the regularized incomplete beta (Numerical Recipes' betacf). */
static double betacf(double a, double b, double x)
{
	const double eps = 1e-15, fpmin = 1e-300;
	double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap, h;
	int m;

	if (fabs(d) < fpmin)
		d = fpmin;
	d = 1 / d;
	h = d;
	for (m = 1; m <= 300; m++) {
		double m2 = 2.0 * m, aa, del;

		aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		d = 1 + aa * d;
		if (fabs(d) < fpmin)
			d = fpmin;
		c = 1 + aa / c;
		if (fabs(c) < fpmin)
			c = fpmin;
		d = 1 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		if (fabs(d) < fpmin)
			d = fpmin;
		c = 1 + aa / c;
		if (fabs(c) < fpmin)
			c = fpmin;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < eps)
			break;
	}
	return h;
}

static double ibeta(double a, double b, double x)
{
	double bt;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	bt = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x));
	if (x < (a + 1) / (a + b + 2))
		return bt * betacf(a, b, x) / a;
	return 1 - bt * betacf(b, a, 1 - x) / b;
}

double stats_t_pvalue(double t, double df)
{
	if (isnan(t) || df <= 0)
		return NAN;
	if (isinf(t))
		return 0;
	return ibeta(df / 2, 0.5, df / (df + t * t));
}

double stats_t_quantile(double q, double df)
{
	double lo = -1e3, hi = 1e3;
	int i;

	if (q <= 0 || q >= 1 || df <= 0)
		return NAN;
	for (i = 0; i < 200; i++) {
		double mid = (lo + hi) / 2;
		double p2 = stats_t_pvalue(mid, df); /* two-sided */
		double cdf = mid >= 0 ? 1 - p2 / 2 : p2 / 2;

		if (cdf < q)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

void stats_welch(double m1, double s1, double n1, double m2, double s2, double n2, double *t,
		 double *df, double *p)
{
	double v1 = s1 * s1 / n1, v2 = s2 * s2 / n2, se = sqrt(v1 + v2);

	if (n1 < 2 || n2 < 2 || !(se > 0)) {
		*t = *df = *p = NAN;
		return;
	}
	*t = (m1 - m2) / se;
	*df = (v1 + v2) * (v1 + v2) / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1));
	*p = stats_t_pvalue(*t, *df);
}
