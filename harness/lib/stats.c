/*
 * Two-sided Mann-Whitney U test, computed the way scipy.stats.mannwhitneyu (scipy 1.10,
 * alternative='two-sided', method='auto') computes it, so `iobench compare` and the gate print
 * the p-values a reader gets from scipy or Google Benchmark's compare.py.
 *
 *   ranks    average ranks of a and b pooled (ties share the mean of their positions)
 *   U1       sum of a's ranks - na (na + 1) / 2          (reported: pairs a > b, ties 1/2)
 *   U        max(U1, na nb - U1)
 *   method   exact when min(na, nb) <= 8 (scipy: "n1 > 8 and n2 > 8" -> asymptotic) and no
 *            value occurs twice in the pooled sample; else asymptotic
 *   exact    p = 2 P(U' >= U) under H0, P from the count f(m, n, k) of arrangements of m a's and
 *            n b's with U' = k: f(m, n, k) = f(m - 1, n, k - n) + f(m, n - 1, k), f(., ., 0) = 1
 *   normal   z = (U - na nb / 2 - 0.5) / s,
 *            s = sqrt(na nb / 12 ((N + 1) - sum(t^3 - t) / (N (N - 1)))), N = na + nb, t the size
 *            of each group of tied values; p = 2 sf(z) = erfc(z / sqrt 2)
 *   p        clipped to [0, 1]
 *
 * The exact table is computed in doubles (all additions of positive counts, so the relative
 * error stays near machine epsilon); it costs O(m^2 n^2 / 2) additions with m = min(na, nb) <= 8.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

struct ranked {
	double v;
	int from_a;
};

static int cmp_ranked(const void *x, const void *y)
{
	double a = ((const struct ranked *)x)->v, b = ((const struct ranked *)y)->v;

	return (a > b) - (a < b);
}

/*
 * P(U' <= k) for sample sizes m (small) and n under H0. Counts f(i, j, .) for i <= m, built by
 * growing j from 0 to n: f(i, j, k) = f(i - 1, j, k - j) + f(i, j - 1, k).
 * @return the probability, or a negative value when out of memory.
 */
static double exact_cdf(size_t m, size_t n, size_t k)
{
	size_t width = m * n + 1;
	double *f = calloc((m + 1) * width, sizeof(double));
	double below = 0, total = 0;

	if (!f)
		return -1;
	/* j = 0: only k = 0 is reachable, once, for every i. */
	for (size_t i = 0; i <= m; i++)
		f[i * width] = 1;
	for (size_t j = 1; j <= n; j++) {
		/* Row i uses row i - 1 at the same j, already updated: go up in i. */
		for (size_t i = 1; i <= m; i++) {
			double *row = f + i * width;
			const double *prev = f + (i - 1) * width;
			size_t top = i * j; /* the largest reachable U for (i, j) */

			for (size_t kk = top + 1; kk-- > j;)
				row[kk] += prev[kk - j];
		}
	}
	for (size_t kk = 0; kk < width; kk++) {
		double c = f[m * width + kk];

		total += c;
		if (kk <= k)
			below += c;
	}
	free(f);
	return below / total;
}

int iob_mannwhitney(const double *a, size_t na, const double *b, size_t nb, struct iob_utest *out)
{
	size_t n = na + nb, i, j;
	struct ranked *r;
	double r1 = 0, tie_term = 0, u1, u, p;
	bool ties = false;

	if (na == 0 || nb == 0)
		return -EINVAL;
	for (i = 0; i < na; i++)
		if (isnan(a[i]))
			return -EINVAL;
	for (i = 0; i < nb; i++)
		if (isnan(b[i]))
			return -EINVAL;
	r = malloc(n * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (i = 0; i < na; i++)
		r[i] = (struct ranked){ a[i], 1 };
	for (i = 0; i < nb; i++)
		r[na + i] = (struct ranked){ b[i], 0 };
	qsort(r, n, sizeof(*r), cmp_ranked);
	for (i = 0; i < n; i = j) {
		double t, rank;

		for (j = i + 1; j < n && r[j].v == r[i].v; j++)
			;
		t = (double)(j - i);
		rank = ((double)i + 1 + (double)j) / 2; /* mean of positions i + 1 .. j */
		for (size_t k = i; k < j; k++)
			if (r[k].from_a)
				r1 += rank;
		tie_term += t * t * t - t;
		ties |= j - i > 1;
	}
	free(r);

	u1 = r1 - (double)na * ((double)na + 1) / 2;
	u = fmax(u1, (double)na * (double)nb - u1);
	out->u = u1;
	out->exact = !(na > 8 && nb > 8) && !ties;
	if (out->exact) {
		size_t m = na < nb ? na : nb, big = na < nb ? nb : na;
		/* The distribution is symmetric: P(U' >= U) = P(U' <= m n - U). */
		double cdf = exact_cdf(m, big, (size_t)((double)(m * big) - u));

		if (cdf < 0)
			return -ENOMEM;
		p = 2 * cdf;
	} else {
		double nn = (double)n;
		double s = sqrt((double)na * (double)nb / 12 *
				((nn + 1) - tie_term / (nn * (nn - 1))));
		double num = u - (double)na * (double)nb / 2 - 0.5;

		/* s == 0 only when every value is the same: U = mean, z = -inf, p = 1. */
		p = s > 0 ? erfc(num / s / sqrt(2.0)) : 1;
	}
	out->p = p > 1 ? 1 : p < 0 ? 0 : p;
	return 0;
}
