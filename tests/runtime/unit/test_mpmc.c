/*
 * iort_mpmc, single-threaded: FIFO order, full and empty, capacity rounding (at least 2), bulk
 * calls that move exactly min(n, room) / min(n, items) across many laps, NULL items, -EINVAL,
 * destroy(NULL), positions that wrap around SIZE_MAX. The multi-threaded checks are in
 * tests/runtime/stress/stress_mpmc.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include <iort/mpmc.h>

#include "mpmc-private.h"

#define ITEM(i) ((void *)(uintptr_t)(i))

static struct iort_mpmc *make(size_t capacity)
{
	struct iort_mpmc *q = NULL;

	assert_int_equal(iort_mpmc_create(capacity, &q), 0);
	assert_non_null(q);
	return q;
}

static void test_create_einval(void **state)
{
	struct iort_mpmc *q = (struct iort_mpmc *)ITEM(0x1234);

	(void)state;
	assert_int_equal(iort_mpmc_create(0, &q), -EINVAL);
	assert_int_equal(iort_mpmc_create(((size_t)1 << 31) + 1, &q), -EINVAL);
	assert_int_equal(iort_mpmc_create(SIZE_MAX, &q), -EINVAL);
	/* *out is written only on success. */
	assert_ptr_equal(q, ITEM(0x1234));
	assert_int_equal(iort_mpmc_create(8, NULL), -EINVAL);
}

static void test_destroy_null(void **state)
{
	(void)state;
	iort_mpmc_destroy(NULL);
}

static void test_capacity_rounding(void **state)
{
	/* 1 becomes 2: with one slot, "holds the item of pos" and "free for pos + 1" are one seq. */
	static const size_t in[] = { 1, 2, 3, 5, 8, 9, 1000, 1024, 1025, 65535 };
	static const size_t want[] = { 2, 2, 4, 8, 8, 16, 1024, 1024, 2048, 65536 };

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct iort_mpmc *q = make(in[i]);

		assert_int_equal(iort_mpmc_capacity(q), want[i]);
		iort_mpmc_destroy(q);
	}
}

/* Capacity 5 holds 8 items, the 9th push fails, and they come out in push order. */
static void test_fifo_full_empty(void **state)
{
	struct iort_mpmc *q = make(5);
	void *item = ITEM(0xdead);

	(void)state;
	assert_false(iort_mpmc_try_pop(q, &item));
	assert_ptr_equal(item, ITEM(0xdead)); /* untouched on failure */
	for (uintptr_t i = 1; i <= 8; i++)
		assert_true(iort_mpmc_try_push(q, ITEM(i)));
	assert_false(iort_mpmc_try_push(q, ITEM(9)));
	assert_true(iort_mpmc_try_pop(q, &item));
	assert_ptr_equal(item, ITEM(1));
	assert_true(iort_mpmc_try_push(q, ITEM(9)));
	assert_false(iort_mpmc_try_push(q, ITEM(10)));
	for (uintptr_t i = 2; i <= 9; i++) {
		assert_true(iort_mpmc_try_pop(q, &item));
		assert_ptr_equal(item, ITEM(i));
	}
	item = ITEM(0xbeef);
	assert_false(iort_mpmc_try_pop(q, &item));
	assert_ptr_equal(item, ITEM(0xbeef));
	iort_mpmc_destroy(q);
}

/* Capacity 1 rounds to 2: full, empty and next-lap states stay distinct over many laps. */
static void test_capacity_one_is_two(void **state)
{
	struct iort_mpmc *q = make(1);
	void *item;

	(void)state;
	for (uintptr_t lap = 0; lap < 1000; lap++) {
		assert_true(iort_mpmc_try_push(q, ITEM(2 * lap)));
		assert_true(iort_mpmc_try_push(q, ITEM(2 * lap + 1)));
		assert_false(iort_mpmc_try_push(q, ITEM(0)));
		assert_true(iort_mpmc_try_pop(q, &item));
		assert_ptr_equal(item, ITEM(2 * lap));
		assert_true(iort_mpmc_try_pop(q, &item));
		assert_ptr_equal(item, ITEM(2 * lap + 1));
		assert_false(iort_mpmc_try_pop(q, &item));
	}
	iort_mpmc_destroy(q);
}

static void test_null_items(void **state)
{
	struct iort_mpmc *q = make(4);
	void *items[3] = { NULL, NULL, NULL }, *item = ITEM(1);

	(void)state;
	assert_true(iort_mpmc_try_push(q, NULL));
	assert_int_equal(iort_mpmc_try_push_bulk(q, items, 3), 3);
	assert_true(iort_mpmc_try_pop(q, &item));
	assert_null(item);
	items[0] = items[1] = items[2] = ITEM(1);
	assert_int_equal(iort_mpmc_try_pop_bulk(q, items, 3), 3);
	assert_null(items[0]);
	assert_null(items[1]);
	assert_null(items[2]);
	assert_false(iort_mpmc_try_pop(q, &item));
	iort_mpmc_destroy(q);
}

static void test_bulk_partial(void **state)
{
	struct iort_mpmc *q = make(8);
	void *in[20], *out[20];

	(void)state;
	for (uintptr_t i = 0; i < 20; i++)
		in[i] = ITEM(100 + i);
	assert_int_equal(iort_mpmc_try_push_bulk(q, in, 0), 0);
	assert_int_equal(iort_mpmc_try_pop_bulk(q, out, 20), 0);
	/* 10 into 8 free slots: the first 8 go in. */
	assert_int_equal(iort_mpmc_try_push_bulk(q, in, 10), 8);
	assert_int_equal(iort_mpmc_try_push_bulk(q, in, 10), 0);
	assert_int_equal(iort_mpmc_try_pop_bulk(q, out, 0), 0);
	assert_int_equal(iort_mpmc_try_pop_bulk(q, out, 3), 3);
	for (uintptr_t i = 0; i < 3; i++)
		assert_ptr_equal(out[i], ITEM(100 + i));
	/* 3 free slots, wrapping past the end of the array. */
	assert_int_equal(iort_mpmc_try_push_bulk(q, in, 10), 3);
	/* pop_bulk returns what is there: 5 left from the first bulk, then the 3 new ones. */
	assert_int_equal(iort_mpmc_try_pop_bulk(q, out, 20), 8);
	for (uintptr_t i = 0; i < 5; i++)
		assert_ptr_equal(out[i], ITEM(103 + i));
	for (uintptr_t i = 0; i < 3; i++)
		assert_ptr_equal(out[5 + i], ITEM(100 + i));
	assert_int_equal(iort_mpmc_try_pop_bulk(q, out, 20), 0);
	/* More than the capacity at once into an empty ring: capacity items. */
	assert_int_equal(iort_mpmc_try_push_bulk(q, in, 20), 8);
	assert_int_equal(iort_mpmc_try_pop_bulk(q, out, 20), 8);
	for (uintptr_t i = 0; i < 8; i++)
		assert_ptr_equal(out[i], ITEM(100 + i));
	iort_mpmc_destroy(q);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Single and bulk calls in random order against a counting model, many laps around small rings:
 * every call moves exactly min(n, room) or min(n, items), and values come out in sequence.
 */
static void model_many_laps(size_t start)
{
	static const size_t caps[] = { 2, 4, 8, 64 };
	void *buf[40];

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct iort_mpmc *q = NULL;
		uintptr_t pushed = 0, popped = 0;
		uint64_t s = 0x9e3779b97f4a7c15ull + c;

		assert_int_equal(iort__mpmc_create_at(caps[c], start, &q), 0);
		for (int op = 0; op < 200000; op++) {
			uint64_t r = rnd(&s);
			size_t n = (size_t)(r >> 8) % 40, count = pushed - popped,
			       room = caps[c] - count, got;
			void *item;

			switch (r % 4) {
			case 0:
				assert_int_equal(iort_mpmc_try_push(q, ITEM(pushed)), room > 0);
				pushed += room > 0;
				break;
			case 1:
				assert_int_equal(iort_mpmc_try_pop(q, &item), count > 0);
				if (count > 0)
					assert_ptr_equal(item, ITEM(popped++));
				break;
			case 2:
				for (size_t i = 0; i < n; i++)
					buf[i] = ITEM(pushed + i);
				got = iort_mpmc_try_push_bulk(q, buf, n);
				assert_int_equal(got, n < room ? n : room);
				pushed += got;
				break;
			default:
				got = iort_mpmc_try_pop_bulk(q, buf, n);
				assert_int_equal(got, n < count ? n : count);
				for (size_t i = 0; i < got; i++)
					assert_ptr_equal(buf[i], ITEM(popped++));
				break;
			}
		}
		assert_true(pushed / caps[c] > 1000);
		iort_mpmc_destroy(q);
	}
}

static void test_model_many_laps(void **state)
{
	(void)state;
	model_many_laps(0);
}

/*
 * The same model with the positions starting 100 short of SIZE_MAX: within the first laps they
 * wrap, and "full", "empty" and "claimed by another thread" must still be told apart by the
 * signed difference of seq and position (an unsigned compare reads "behind" as "ahead" there).
 */
static void test_model_wraps(void **state)
{
	(void)state;
	model_many_laps(SIZE_MAX - 100);
	model_many_laps(SIZE_MAX);
}

static void hung(int sig)
{
	static const char msg[] = "test_mpmc: still running after 60 s: a call loops forever\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		abort();
	abort();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_einval),	    cmocka_unit_test(test_destroy_null),
		cmocka_unit_test(test_capacity_rounding),   cmocka_unit_test(test_fifo_full_empty),
		cmocka_unit_test(test_capacity_one_is_two), cmocka_unit_test(test_null_items),
		cmocka_unit_test(test_bulk_partial),	    cmocka_unit_test(test_model_many_laps),
		cmocka_unit_test(test_model_wraps),
	};

	/* A misread seq makes try_push/try_pop retry forever: fail with a message, not a timeout. */
	signal(SIGALRM, hung);
	alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
