/*
 * Figure colours (harness/palette.h): a function of the set of names, never of their order; no
 * two names of a set of up to IOB_PALETTE_SLOTS share a colour; a name keeps its colour when
 * others join the set unless one sorted before it takes its slot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "palette.h"

static const char *const impls[] = {
	"iort_spsc",	     "iort_mpmc", "iort_mpsc",	  "iort_segq",	   "urcu_wfcq_stock",
	"urcu_wfcq_nosleep", "urcu_lfq",  "rte_spsc",	  "rte_mpsc",	   "rte_mpmc",
	"rte_rts",	     "rte_hts",	  "ck_ring_spsc", "ck_ring_mpmc",  "ck_fifo",
	"mutex_ring",	     "iob_hist",  "seed_mutex",	  "pthread_mutex", "iort_mutex",
	"tbb_task",	     "uv_loop",	  "event_base",	  "caf_actor",	   "iort_pool",
};
#define N (sizeof(impls) / sizeof(impls[0]))

static void colors_of(const char *const *names, size_t n, char out[][8])
{
	struct iob_palette *p;

	assert_int_equal(iob_palette_build(names, n, &p), 0);
	for (size_t i = 0; i < n; i++) {
		iob_palette_color(p, names[i], out[i]);
		assert_int_equal(strlen(out[i]), 7);
		assert_int_equal(out[i][0], '#');
		assert_int_equal(strspn(out[i] + 1, "0123456789abcdef"), 6);
	}
	iob_palette_free(p);
}

static void test_distinct_and_order_free(void **state)
{
	const char *rev[N], *dup[2 * N];
	char a[N][8], b[N][8], d[2 * N][8];

	(void)state;
	for (size_t i = 0; i < N; i++)
		rev[i] = dup[2 * i] = dup[2 * i + 1] = impls[N - 1 - i];
	colors_of(impls, N, a);
	colors_of(rev, N, b);
	colors_of(dup, 2 * N, d); /* repeats change nothing */
	for (size_t i = 0; i < N; i++) {
		assert_string_equal(a[i], b[N - 1 - i]);
		assert_string_equal(a[i], d[2 * (N - 1 - i)]);
		for (size_t k = 0; k < i; k++)
			if (strcmp(a[i], a[k]) == 0)
				fail_msg("%s and %s share %s", impls[i], impls[k], a[i]);
	}
}

/* A subset's names keep their colour when they were on their hash's slot in the full set: at
 * least, a single name's colour is its hash's, alone or in any set where nobody took its slot. */
static void test_stable(void **state)
{
	struct iob_palette *none, *one;
	char x[8], y[8], z[8];

	(void)state;
	assert_int_equal(iob_palette_build(NULL, 0, &none), 0);
	assert_int_equal(iob_palette_build(&impls[1], 1, &one), 0);
	iob_palette_color(none, "iort_mpmc", x); /* not in the palette: the hash's slot */
	iob_palette_color(one, "iort_mpmc", y);
	iob_palette_color(NULL, "iort_mpmc", z);
	assert_string_equal(x, y);
	assert_string_equal(x, z);
	iob_palette_free(none);
	iob_palette_free(one);
}

/* More names than colours: every slot is used once before any is shared. */
static void test_more_than_slots(void **state)
{
	char names[IOB_PALETTE_SLOTS + 5][16], col[IOB_PALETTE_SLOTS + 5][8];
	const char *v[IOB_PALETTE_SLOTS + 5];
	size_t distinct = 0;

	(void)state;
	for (size_t i = 0; i < IOB_PALETTE_SLOTS + 5; i++) {
		snprintf(names[i], sizeof(names[i]), "impl_%03zu", i);
		v[i] = names[i];
	}
	colors_of(v, IOB_PALETTE_SLOTS + 5, col);
	for (size_t i = 0; i < IOB_PALETTE_SLOTS + 5; i++) {
		size_t k = 0;

		while (k < i && strcmp(col[i], col[k]))
			k++;
		distinct += k == i;
	}
	assert_int_equal(distinct, IOB_PALETTE_SLOTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distinct_and_order_free),
		cmocka_unit_test(test_stable),
		cmocka_unit_test(test_more_than_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
