/*
 * iob_mannwhitney against scipy 1.10.1 (Debian 12, python3-scipy). Every expected U and p below
 * was printed by /usr/bin/python3 with
 *   r = scipy.stats.mannwhitneyu(a, b, alternative='two-sided', method='auto')
 *   print(repr(float(r.statistic)), repr(float(r.pvalue)))
 * for the a and b of the case (the call is repeated in each case's comment). Tolerance: 1e-9
 * relative on p, exact on U.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "stats.h"

#define N(x) (sizeof(x) / sizeof((x)[0]))

static void expect_mwu(const double *a, size_t na, const double *b, size_t nb, double u, double p,
		       bool exact)
{
	struct iob_utest t;

	assert_int_equal(iob_mannwhitney(a, na, b, nb, &t), 0);
	printf("  na %zu nb %zu: U %.17g (want %.17g) p %.17g (want %.17g) %s\n", na, nb, t.u, u,
	       t.p, p, t.exact ? "exact" : "normal");
	assert_true(t.u == u);
	assert_true(fabs(t.p - p) <= 1e-9 * p);
	assert_int_equal(t.exact, exact);
}

/* mannwhitneyu([1, 2, 3.5, 7], [4, 5, 6, 8, 9]) -> U 3.0, p 0.1111111111111111 (exact) */
static void test_exact_small(void **state)
{
	const double a[] = { 1.0, 2.0, 3.5, 7.0 }, b[] = { 4.0, 5.0, 6.0, 8.0, 9.0 };

	(void)state;
	expect_mwu(a, N(a), b, N(b), 3.0, 0.1111111111111111, true);
}

/* mannwhitneyu([3, 1, 4], [1.5, 5, 9, 2.6]) -> U 4.0, p 0.6285714285714286 (exact) */
static void test_exact_mid(void **state)
{
	const double a[] = { 3.0, 1.0, 4.0 }, b[] = { 1.5, 5.0, 9.0, 2.6 };

	(void)state;
	expect_mwu(a, N(a), b, N(b), 4.0, 0.6285714285714286, true);
}

/*
 * The CLI test's samples: mannwhitneyu([10, 11, 12, 10.5, 11.5], [8, 8.5, 9, 8.2, 8.8])
 * -> U 25.0, p 0.007936507936507936 (exact; fully separated, 2 / C(10, 5))
 */
static void test_exact_separated(void **state)
{
	const double a[] = { 10, 11, 12, 10.5, 11.5 }, b[] = { 8, 8.5, 9, 8.2, 8.8 };
	const double c[] = { 1, 2, 3, 4, 5 }, d[] = { 6, 7, 8, 9, 10 };

	(void)state;
	expect_mwu(a, N(a), b, N(b), 25.0, 0.007936507936507936, true);
	/* mannwhitneyu([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) -> U 0.0, p 0.007936507936507936 */
	expect_mwu(c, N(c), d, N(d), 0.0, 0.007936507936507936, true);
}

/*
 * scipy 1.10 takes the exact path unless BOTH samples exceed 8:
 * mannwhitneyu([10, 11, 12, 10.5, 11.5, 9.7, 12.3, 10.1],
 *              [8, 8.5, 9, 8.2, 8.8, 10.05, 9.9, 11.1, 7.7, 8.1, 9.3, 10.7])
 * -> U 84.0, p 0.00409621338413908 (exact, 8 x 12)
 */
static void test_exact_8x12(void **state)
{
	const double a[] = { 10.0, 11.0, 12.0, 10.5, 11.5, 9.7, 12.3, 10.1 };
	const double b[] = { 8.0, 8.5, 9.0, 8.2, 8.8, 10.05, 9.9, 11.1, 7.7, 8.1, 9.3, 10.7 };

	(void)state;
	expect_mwu(a, N(a), b, N(b), 84.0, 0.00409621338413908, true);
}

/*
 * a = [7.25, 19.5, 33.75], b = [0, 1, ..., 39]:
 * mannwhitneyu(a, b) -> U 62.0, p 0.9464387002674013; mannwhitneyu(b, a) -> U 58.0, same p
 */
static void test_exact_3x40(void **state)
{
	const double a[] = { 7.25, 19.5, 33.75 };
	double b[40];

	(void)state;
	for (size_t i = 0; i < N(b); i++)
		b[i] = (double)i;
	expect_mwu(a, N(a), b, N(b), 62.0, 0.9464387002674013, true);
	expect_mwu(b, N(b), a, N(a), 58.0, 0.9464387002674013, true);
}

/* mannwhitneyu([1, 2, 2, 3], [2, 3, 4, 5, 5]) -> U 2.5, p 0.07854585095119067 (ties: normal) */
static void test_ties(void **state)
{
	const double a[] = { 1.0, 2.0, 2.0, 3.0 }, b[] = { 2.0, 3.0, 4.0, 5.0, 5.0 };

	(void)state;
	expect_mwu(a, N(a), b, N(b), 2.5, 0.07854585095119067, false);
}

/*
 * a = [0, 1, ..., 9], b = [3.5, 4.5, ..., 14.5] (12 values):
 * mannwhitneyu(a, b) -> U 21.0, p 0.011129227614007952 (both > 8: normal)
 * a = [1, 3, ..., 17], b = [4.5, 6.5, ..., 20.5] (9 and 9, no ties):
 * mannwhitneyu(a, b) -> U 28.0, p 0.28931483238198774 (method='exact' would give 0.2973...)
 */
static void test_normal(void **state)
{
	double a[10], b[12], c[9], d[9];

	(void)state;
	for (size_t i = 0; i < N(a); i++)
		a[i] = (double)i;
	for (size_t i = 0; i < N(b); i++)
		b[i] = (double)i + 3.5;
	expect_mwu(a, N(a), b, N(b), 21.0, 0.011129227614007952, false);
	for (size_t i = 0; i < N(c); i++) {
		c[i] = 1.0 + 2.0 * (double)i;
		d[i] = 4.5 + 2.0 * (double)i;
	}
	expect_mwu(c, N(c), d, N(d), 28.0, 0.28931483238198774, false);
}

/*
 * a = [0, 1, ..., 19], b = [100, 101, ..., 114]:
 * mannwhitneyu(a, b) -> U 0.0, p 6.249814797861823e-07 (normal, fully separated)
 */
static void test_normal_separated(void **state)
{
	double a[20], b[15];

	(void)state;
	for (size_t i = 0; i < N(a); i++)
		a[i] = (double)i;
	for (size_t i = 0; i < N(b); i++)
		b[i] = 100.0 + (double)i;
	expect_mwu(a, N(a), b, N(b), 0.0, 6.249814797861823e-07, false);
}

/*
 * mannwhitneyu([1, 2, 3], [1, 2, 3]) -> U 4.5, p 1.0 (ties: normal, clipped)
 * mannwhitneyu([5, 5, 5], [5, 5]) -> U 3.0, p 1.0 (zero variance)
 * mannwhitneyu([1], [2]) -> U 0.0, p 1.0 (exact, 2 * 1/2 = 1)
 */
static void test_identical(void **state)
{
	const double a[] = { 1.0, 2.0, 3.0 }, e[] = { 5.0, 5.0, 5.0 }, one[] = { 1.0 },
		     two[] = { 2.0 };

	(void)state;
	expect_mwu(a, N(a), a, N(a), 4.5, 1.0, false);
	expect_mwu(e, N(e), e, 2, 3.0, 1.0, false);
	expect_mwu(one, 1, two, 1, 0.0, 1.0, true);
}

static void test_invalid(void **state)
{
	const double a[] = { 1.0 }, bad[] = { NAN };
	struct iob_utest t;

	(void)state;
	assert_int_equal(iob_mannwhitney(a, 0, a, 1, &t), -EINVAL);
	assert_int_equal(iob_mannwhitney(a, 1, a, 0, &t), -EINVAL);
	assert_int_equal(iob_mannwhitney(a, 1, bad, 1, &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_small),	cmocka_unit_test(test_exact_mid),
		cmocka_unit_test(test_exact_separated), cmocka_unit_test(test_exact_8x12),
		cmocka_unit_test(test_exact_3x40),	cmocka_unit_test(test_ties),
		cmocka_unit_test(test_normal),		cmocka_unit_test(test_normal_separated),
		cmocka_unit_test(test_identical),	cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
