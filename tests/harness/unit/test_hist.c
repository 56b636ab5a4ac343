/*
 * iob_hist against exact order statistics of sorted data.
 *
 * Random tests draw from a seeded PRNG (splitmix64); the seed is printed and taken from
 * IOBENCH_SEED when set, so a failure reproduces with IOBENCH_SEED=<seed>.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hist.h"

static uint64_t g_seed;
static uint64_t g_rng;

static uint64_t rng_next(void)
{
	uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double rng_unit(void)
{
	return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(void)
{
	return sqrt(-2 * log(rng_unit())) * cos(6.283185307179586 * rng_unit());
}

enum dist { UNIFORM, LOGNORMAL, EXPONENTIAL, PARETO, NDIST };
static const char *const dist_name[NDIST] = { "uniform", "lognormal", "exponential", "pareto" };

static uint64_t draw(enum dist d, uint64_t highest)
{
	double x = 0;

	switch (d) {
	case UNIFORM:
		x = 1 + (double)(rng_next() % 1000000);
		break;
	case LOGNORMAL: /* median ~ 20 us in ns, long right tail */
		x = exp(10 + 1.5 * rng_normal());
		break;
	case EXPONENTIAL:
		x = -50000 * log(rng_unit());
		break;
	case PARETO: /* alpha 1.2, x_m 100: heavy tail up to the clamp */
		x = 100 / pow(rng_unit(), 1 / 1.2);
		break;
	default:
		break;
	}
	if (x < 1)
		x = 1;
	if (x > (double)highest)
		x = (double)highest;
	return (uint64_t)x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The rank HdrHistogram reports at percentile p: round(p/100 * n), at least 1. */
static uint64_t exact_at(const uint64_t *sorted, uint64_t n, double p)
{
	uint64_t want = (uint64_t)(p / 100 * (double)n + 0.5);

	if (want < 1)
		want = 1;
	return sorted[want - 1];
}

static const double pcts[] = { 0,  0.1, 1,    5,    10,	   25,	   50,	    75, 90,
			       95, 99,	99.5, 99.9, 99.99, 99.999, 99.9999, 100 };

/*
 * Every reported percentile is the highest (p0: lowest) value of the slot holding the exact
 * order statistic, so it is off by less than one slot width: at most exact / 10^d, or lowest - 1
 * in the first, unit-wide slots.
 */
static void check_percentiles(const struct iob_hist *h, const uint64_t *sorted, uint64_t n,
			      int digits, uint64_t lowest, const char *what)
{
	double tol_rel = pow(10, -digits);

	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		uint64_t exact = exact_at(sorted, n, pcts[i]);
		uint64_t got = iob_hist_percentile(h, pcts[i]);
		double tol = (double)exact * tol_rel + (double)(lowest - 1);
		double err =
			pcts[i] == 0 ? (double)exact - (double)got : (double)got - (double)exact;

		if (err < 0 || err > tol) {
			print_error("%s d=%d p%g: exact %" PRIu64 " reported %" PRIu64
				    " (tolerance %.1f) seed %" PRIu64 "\n",
				    what, digits, pcts[i], exact, got, tol, g_seed);
			fail();
		}
	}
	/* And every 0.5 % step, to catch slot-boundary mistakes away from the listed ones. */
	for (int k = 0; k <= 200; k++) {
		double p = k * 0.5;
		uint64_t exact = exact_at(sorted, n, p);
		uint64_t got = iob_hist_percentile(h, p);
		double err = p == 0 ? (double)exact - (double)got : (double)got - (double)exact;

		assert_true(err >= 0);
		assert_true(err <= (double)exact * tol_rel + (double)(lowest - 1));
	}
}

static void test_percentiles_random(void **state)
{
	const uint64_t n = 100000, highest = 10000000000ull;
	uint64_t *vals = malloc(n * sizeof(*vals));
	const uint64_t lowests[] = { 1, 1000 };

	(void)state;
	assert_non_null(vals);
	for (int digits = 1; digits <= 5; digits++) {
		for (size_t li = 0; li < 2; li++) {
			for (int d = 0; d < NDIST; d++) {
				struct iob_hist *h;
				long double sum = 0;
				double mean;
				char what[64];

				assert_int_equal(iob_hist_create(lowests[li], highest, digits, &h),
						 0);
				for (uint64_t i = 0; i < n; i++) {
					vals[i] = draw((enum dist)d, highest);
					sum += vals[i];
					assert_true(iob_hist_record(h, vals[i]));
				}
				qsort(vals, n, sizeof(*vals), cmp_u64);
				snprintf(what, sizeof(what), "%s lowest=%" PRIu64, dist_name[d],
					 lowests[li]);
				check_percentiles(h, vals, n, digits, lowests[li], what);
				assert_int_equal(iob_hist_count(h), n);
				assert_int_equal(iob_hist_min(h), vals[0]);
				assert_int_equal(iob_hist_max(h), vals[n - 1]);
				mean = (double)(sum / n);
				assert_true(fabs(iob_hist_mean(h) - mean) <=
					    mean * pow(10, -digits) + (double)lowests[li]);
				iob_hist_destroy(h);
			}
		}
	}
	free(vals);
}

static void test_small_exact(void **state)
{
	struct iob_hist *h;

	(void)state;
	assert_int_equal(iob_hist_create(1, 1000000, 3, &h), 0);
	assert_int_equal(iob_hist_percentile(h, 50), 0);
	assert_int_equal(iob_hist_count(h), 0);
	assert_int_equal(iob_hist_min(h), 0);
	assert_int_equal(iob_hist_max(h), 0);
	assert_true(iob_hist_mean(h) == 0);
	/* Below 2048 every value has its own slot at 3 digits: exact. */
	for (uint64_t v = 1; v <= 1000; v++)
		assert_true(iob_hist_record(h, v));
	assert_int_equal(iob_hist_percentile(h, 0), 1);
	assert_int_equal(iob_hist_percentile(h, 50), 500);
	assert_int_equal(iob_hist_percentile(h, 99), 990);
	assert_int_equal(iob_hist_percentile(h, 99.9), 999);
	assert_int_equal(iob_hist_percentile(h, 100), 1000);
	assert_true(fabs(iob_hist_mean(h) - 500.5) < 1e-9);
	assert_true(iob_hist_record_n(h, 0, 1000));
	assert_int_equal(iob_hist_count(h), 2000);
	assert_int_equal(iob_hist_min(h), 0);
	assert_int_equal(iob_hist_percentile(h, 50), 0);
	assert_int_equal(iob_hist_percentile(h, 50.05), 1);
	iob_hist_destroy(h);
}

static void test_record_above_range(void **state)
{
	struct iob_hist *h;

	(void)state;
	assert_int_equal(iob_hist_create(1, 1000, 2, &h), 0);
	assert_true(iob_hist_record(h, 1000));
	assert_false(iob_hist_record(h, 1001));
	assert_false(iob_hist_record(h, UINT64_MAX));
	assert_false(iob_hist_record_n(h, 5000, 7));
	assert_false(iob_hist_record_corrected(h, 2000, 10));
	assert_int_equal(iob_hist_count(h), 1);
	assert_int_equal(iob_hist_max(h), 1000);
	assert_int_equal(iob_hist_min(h), 1000);
	/* The slot holding 1000 at 2 digits (width 8) reports its highest value. */
	assert_true(iob_hist_percentile(h, 100) >= 1000 && iob_hist_percentile(h, 100) < 1008);
	iob_hist_destroy(h);

	/* The full 64-bit range is trackable. */
	assert_int_equal(iob_hist_create(1, UINT64_MAX, 3, &h), 0);
	assert_true(iob_hist_record(h, UINT64_MAX));
	assert_true(iob_hist_record(h, 1));
	assert_int_equal(iob_hist_percentile(h, 100), UINT64_MAX);
	assert_int_equal(iob_hist_max(h), UINT64_MAX);
	iob_hist_destroy(h);
}

static void assert_same(const struct iob_hist *a, const struct iob_hist *b)
{
	assert_int_equal(iob_hist_count(a), iob_hist_count(b));
	assert_int_equal(iob_hist_min(a), iob_hist_min(b));
	assert_int_equal(iob_hist_max(a), iob_hist_max(b));
	assert_true(fabs(iob_hist_mean(a) - iob_hist_mean(b)) <= 1e-9 * iob_hist_mean(b));
	for (int k = 0; k <= 1000; k++)
		assert_int_equal(iob_hist_percentile(a, k * 0.1), iob_hist_percentile(b, k * 0.1));
	assert_int_equal(iob_hist_percentile(a, 99.999), iob_hist_percentile(b, 99.999));
}

static void test_merge_equals_single(void **state)
{
	struct iob_hist *a, *b, *all, *empty;

	(void)state;
	for (int digits = 1; digits <= 4; digits++) {
		assert_int_equal(iob_hist_create(1, 3600000000000ull, digits, &a), 0);
		assert_int_equal(iob_hist_create(1, 3600000000000ull, digits, &b), 0);
		assert_int_equal(iob_hist_create(1, 3600000000000ull, digits, &all), 0);
		assert_int_equal(iob_hist_create(1, 3600000000000ull, digits, &empty), 0);
		for (int i = 0; i < 50000; i++) {
			uint64_t v = draw((enum dist)(i % NDIST), 3600000000000ull);

			assert_true(iob_hist_record(i & 1 ? a : b, v));
			assert_true(iob_hist_record(all, v));
		}
		assert_int_equal(iob_hist_merge(a, b), 0);
		assert_same(a, all);
		assert_int_equal(iob_hist_merge(a, empty), 0);
		assert_same(a, all);
		assert_int_equal(iob_hist_merge(empty, all), 0);
		assert_same(empty, all);
		iob_hist_destroy(a);
		iob_hist_destroy(b);
		iob_hist_destroy(all);
		iob_hist_destroy(empty);
	}
}

static void test_merge_drops(void **state)
{
	struct iob_hist *dst, *src;

	(void)state;
	assert_int_equal(iob_hist_create(1, 1000, 3, &dst), 0);
	assert_int_equal(iob_hist_create(1, 1000000, 3, &src), 0);
	assert_true(iob_hist_record(dst, 7));
	assert_true(iob_hist_record_n(src, 500, 3));
	assert_true(iob_hist_record(src, 999));
	assert_true(iob_hist_record_n(src, 5000, 4));
	assert_true(iob_hist_record_n(src, 100000, 2));
	assert_int_equal(iob_hist_merge(dst, src), 6);
	assert_int_equal(iob_hist_count(dst), 5);
	assert_int_equal(iob_hist_min(dst), 7);
	assert_int_equal(iob_hist_max(dst), 999);
	assert_int_equal(iob_hist_percentile(dst, 50), 500);
	assert_int_equal(iob_hist_percentile(dst, 100), 999);
	/* src is unchanged. */
	assert_int_equal(iob_hist_count(src), 10);
	iob_hist_destroy(dst);
	iob_hist_destroy(src);

	/* Different precision: dst's slots, no drops, within dst's precision. */
	assert_int_equal(iob_hist_create(1, 1000000000, 2, &dst), 0);
	assert_int_equal(iob_hist_create(1, 1000000, 4, &src), 0);
	for (uint64_t v = 1; v <= 100000; v += 7)
		assert_true(iob_hist_record(src, v));
	assert_int_equal(iob_hist_merge(dst, src), 0);
	assert_int_equal(iob_hist_count(dst), iob_hist_count(src));
	assert_int_equal(iob_hist_min(dst), 1);
	assert_int_equal(iob_hist_max(dst), iob_hist_max(src));
	for (int k = 1; k <= 100; k++) {
		double s = (double)iob_hist_percentile(src, k),
		       d = (double)iob_hist_percentile(dst, k);

		assert_true(fabs(d - s) <= s * 0.02);
	}
	iob_hist_destroy(dst);
	iob_hist_destroy(src);
}

static void test_reset(void **state)
{
	struct iob_hist *h;

	(void)state;
	assert_int_equal(iob_hist_create(1, 1000000, 3, &h), 0);
	for (uint64_t v = 1; v < 100000; v += 13)
		assert_true(iob_hist_record(h, v));
	iob_hist_reset(h);
	assert_int_equal(iob_hist_count(h), 0);
	assert_int_equal(iob_hist_min(h), 0);
	assert_int_equal(iob_hist_max(h), 0);
	assert_int_equal(iob_hist_percentile(h, 99), 0);
	assert_true(iob_hist_mean(h) == 0);
	assert_true(iob_hist_record(h, 42));
	assert_int_equal(iob_hist_count(h), 1);
	assert_int_equal(iob_hist_min(h), 42);
	assert_int_equal(iob_hist_max(h), 42);
	assert_int_equal(iob_hist_percentile(h, 0), 42);
	assert_int_equal(iob_hist_percentile(h, 100), 42);
	iob_hist_destroy(h);
}

static void test_corrected(void **state)
{
	struct iob_hist *h;

	(void)state;
	assert_int_equal(iob_hist_create(1, 1000000, 3, &h), 0);
	/* 100 with interval 10: 100 plus the missed 90, 80, ..., 10. */
	assert_true(iob_hist_record_corrected(h, 100, 10));
	assert_int_equal(iob_hist_count(h), 10);
	assert_int_equal(iob_hist_min(h), 10);
	assert_int_equal(iob_hist_max(h), 100);
	assert_int_equal(iob_hist_percentile(h, 0), 10);
	assert_int_equal(iob_hist_percentile(h, 10), 10);
	assert_int_equal(iob_hist_percentile(h, 50), 50);
	assert_int_equal(iob_hist_percentile(h, 90), 90);
	assert_int_equal(iob_hist_percentile(h, 100), 100);
	assert_true(fabs(iob_hist_mean(h) - 55) < 1e-9);
	/* 35 with interval 10: 35, 25, 15 (5 < 10 is not a missed sample). */
	iob_hist_reset(h);
	assert_true(iob_hist_record_corrected(h, 35, 10));
	assert_int_equal(iob_hist_count(h), 3);
	assert_int_equal(iob_hist_min(h), 15);
	assert_int_equal(iob_hist_percentile(h, 50), 25);
	/* At or below the interval, and with no interval: the value alone. */
	iob_hist_reset(h);
	assert_true(iob_hist_record_corrected(h, 10, 10));
	assert_true(iob_hist_record_corrected(h, 5, 10));
	assert_true(iob_hist_record_corrected(h, 5000, 0));
	assert_int_equal(iob_hist_count(h), 3);
	/* A stall of 1 ms in a 1 us loop: 1000 values, p50 ~ 500 us. */
	iob_hist_reset(h);
	assert_true(iob_hist_record_corrected(h, 1000000, 1000));
	assert_int_equal(iob_hist_count(h), 1000);
	assert_true(iob_hist_percentile(h, 50) >= 500000 && iob_hist_percentile(h, 50) <= 500500);
	/* Above range: nothing recorded. */
	assert_false(iob_hist_record_corrected(h, 2000000, 1000));
	assert_int_equal(iob_hist_count(h), 1000);
	iob_hist_destroy(h);
}

static void test_create_einval(void **state)
{
	struct iob_hist *h = NULL;

	(void)state;
	assert_int_equal(iob_hist_create(0, 1000, 3, &h), -EINVAL);
	assert_int_equal(iob_hist_create(10, 19, 3, &h), -EINVAL);
	assert_int_equal(iob_hist_create(10, 5, 3, &h), -EINVAL);
	assert_int_equal(iob_hist_create(1, 1000, 0, &h), -EINVAL);
	assert_int_equal(iob_hist_create(1, 1000, 6, &h), -EINVAL);
	assert_int_equal(iob_hist_create(1, 1000, -1, &h), -EINVAL);
	/* unit magnitude 60 + 17 sub-bucket bits do not fit 64 bits. */
	assert_int_equal(iob_hist_create(1ull << 60, UINT64_MAX, 5, &h), -EINVAL);
	assert_null(h);
	assert_int_equal(iob_hist_create(10, 20, 1, &h), 0);
	assert_non_null(h);
	iob_hist_destroy(h);
	iob_hist_destroy(NULL);
}

static void test_csv(void **state)
{
	struct iob_hist *h;
	FILE *f = tmpfile();
	char line[256];
	double prev_v = -1, prev_p = -1, v = 0, p = 0, inv;
	unsigned long long cnt = 0, prev_c = 0;
	char last[32];
	int rows = 0;
	const uint64_t n = 100000;

	(void)state;
	assert_non_null(f);
	assert_int_equal(iob_hist_create(1, 3600000000000ull, 3, &h), 0);
	assert_int_equal(iob_hist_write_csv(h, f, 0, 1), -EINVAL);
	assert_int_equal(iob_hist_write_csv(h, f, 5, 0), -EINVAL);
	for (uint64_t i = 0; i < n; i++)
		assert_true(iob_hist_record(h, draw(LOGNORMAL, 3600000000000ull)));
	assert_int_equal(iob_hist_write_csv(h, f, 5, 1000.0), 0);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "\"Value\",\"Percentile\",\"TotalCount\",\"1/(1-Percentile)\"\n");
	while (fgets(line, sizeof(line), f)) {
		assert_int_equal(sscanf(line, "%lf,%lf,%llu,%31s", &v, &p, &cnt, last), 4);
		if (rows == 0)
			assert_true(p == 0);
		else
			assert_true(p > prev_p);
		assert_true(v >= prev_v);
		assert_true(cnt >= prev_c);
		/* The row's value is reached: its count covers the percentile. */
		assert_true((double)cnt >= p * (double)n - 1e-6);
		if (p < 1) {
			inv = strtod(last, NULL);
			assert_true(fabs(inv - 1 / (1 - p)) <= 0.005 + 1e-9 * inv);
		}
		prev_v = v;
		prev_p = p;
		prev_c = cnt;
		rows++;
	}
	/* ~5 rows per halving down to 1 / n, plus the 100 % row. */
	assert_true(rows > 50);
	assert_true(p == 1.0);
	assert_string_equal(last, "Infinity");
	assert_int_equal(cnt, n);
	assert_true(fabs(v - (double)iob_hist_percentile(h, 100) / 1000.0) < 0.0005);
	fclose(f);

	/* Empty: the header alone. */
	f = tmpfile();
	assert_non_null(f);
	iob_hist_reset(h);
	assert_int_equal(iob_hist_write_csv(h, f, 5, 1), 0);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);

	/* One value: a 0 % row and a 100 % row, both at its slot. */
	f = tmpfile();
	assert_non_null(f);
	assert_true(iob_hist_record(h, 1234));
	assert_int_equal(iob_hist_write_csv(h, f, 5, 1), 0);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "1234.000,0.000000000000,1,1.00\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "1234.000,1.000000000000,1,Infinity\n");
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	iob_hist_destroy(h);
}

int main(void)
{
	const char *env = getenv("IOBENCH_SEED");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_einval),
		cmocka_unit_test(test_small_exact),
		cmocka_unit_test(test_record_above_range),
		cmocka_unit_test(test_percentiles_random),
		cmocka_unit_test(test_merge_equals_single),
		cmocka_unit_test(test_merge_drops),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_corrected),
		cmocka_unit_test(test_csv),
	};

	g_seed = env && *env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)clock();
	g_rng = g_seed;
	printf("# seed %" PRIu64 " (reproduce with IOBENCH_SEED=%" PRIu64 ")\n", g_seed, g_seed);
	fflush(stdout);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
