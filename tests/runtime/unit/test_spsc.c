/*
 * iort_spsc, single-threaded: FIFO order, full and empty, capacity rounding (1 stays 1), bursts
 * that move exactly min(n, room) / min(n, items) across many laps, NULL items, -EINVAL and
 * destroy(NULL); the same model from positions just below SIZE_MAX (iort__spsc_create_at), so
 * the free-running counters wrap during the test.
 * The two-thread checks are in tests/runtime/stress/stress_spsc.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <iort/spsc.h>

#include "spsc-private.h"

#define ITEM(i) ((void *)(uintptr_t)(i))
/* The model's value for item number i: NULL for every 5th. */
#define VAL(i) ((i) % 5 == 0 ? NULL : ITEM(i))

static struct iort_spsc *make(size_t capacity)
{
	struct iort_spsc *q = NULL;

	assert_int_equal(iort_spsc_create(capacity, &q), 0);
	assert_non_null(q);
	return q;
}

static void test_create_einval(void **state)
{
	struct iort_spsc *q = (struct iort_spsc *)ITEM(0x1234);

	(void)state;
	assert_int_equal(iort_spsc_create(0, &q), -EINVAL);
	assert_int_equal(iort_spsc_create(((size_t)1 << 31) + 1, &q), -EINVAL);
	assert_int_equal(iort_spsc_create(SIZE_MAX, &q), -EINVAL);
	/* *out is written only on success. */
	assert_ptr_equal(q, ITEM(0x1234));
	assert_int_equal(iort_spsc_create(8, NULL), -EINVAL);
}

static void test_destroy_null(void **state)
{
	(void)state;
	iort_spsc_destroy(NULL);
}

static void test_capacity_rounding(void **state)
{
	static const size_t in[] = { 1, 2, 3, 5, 8, 9, 1000, 1024, 1025, 65535 };
	static const size_t want[] = { 1, 2, 4, 8, 8, 16, 1024, 1024, 2048, 65536 };

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct iort_spsc *q = make(in[i]);

		assert_int_equal(iort_spsc_capacity(q), want[i]);
		iort_spsc_destroy(q);
	}
}

/* Capacity 5 holds 8 items, the 9th push fails, and they come out in push order. */
static void test_fifo_full_empty(void **state)
{
	struct iort_spsc *q = make(5);
	void *item = ITEM(0xdead);

	(void)state;
	assert_false(iort_spsc_try_pop(q, &item));
	assert_ptr_equal(item, ITEM(0xdead)); /* untouched on failure */
	for (uintptr_t i = 1; i <= 8; i++)
		assert_true(iort_spsc_try_push(q, ITEM(i)));
	assert_false(iort_spsc_try_push(q, ITEM(9)));
	/* One pop makes room for exactly one push. */
	assert_true(iort_spsc_try_pop(q, &item));
	assert_ptr_equal(item, ITEM(1));
	assert_true(iort_spsc_try_push(q, ITEM(9)));
	assert_false(iort_spsc_try_push(q, ITEM(10)));
	for (uintptr_t i = 2; i <= 9; i++) {
		assert_true(iort_spsc_try_pop(q, &item));
		assert_ptr_equal(item, ITEM(i));
	}
	item = ITEM(0xbeef);
	assert_false(iort_spsc_try_pop(q, &item));
	assert_ptr_equal(item, ITEM(0xbeef));
	iort_spsc_destroy(q);
}

static void test_capacity_one(void **state)
{
	struct iort_spsc *q = make(1);
	void *item;

	(void)state;
	for (uintptr_t lap = 0; lap < 1000; lap++) {
		assert_true(iort_spsc_try_push(q, ITEM(lap)));
		assert_false(iort_spsc_try_push(q, ITEM(lap + 1)));
		assert_true(iort_spsc_try_pop(q, &item));
		assert_ptr_equal(item, ITEM(lap));
		assert_false(iort_spsc_try_pop(q, &item));
	}
	iort_spsc_destroy(q);
}

static void test_null_items(void **state)
{
	struct iort_spsc *q = make(4);
	void *items[3] = { NULL, NULL, NULL }, *item = ITEM(1);

	(void)state;
	assert_true(iort_spsc_try_push(q, NULL));
	assert_int_equal(iort_spsc_push_burst(q, items, 3), 3);
	assert_true(iort_spsc_try_pop(q, &item));
	assert_null(item);
	items[0] = items[1] = items[2] = ITEM(1);
	assert_int_equal(iort_spsc_pop_burst(q, items, 3), 3);
	assert_null(items[0]);
	assert_null(items[1]);
	assert_null(items[2]);
	assert_false(iort_spsc_try_pop(q, &item));
	iort_spsc_destroy(q);
}

static void test_burst_partial(void **state)
{
	struct iort_spsc *q = make(8);
	void *in[10], *out[16];

	(void)state;
	for (uintptr_t i = 0; i < 10; i++)
		in[i] = ITEM(100 + i);
	assert_int_equal(iort_spsc_push_burst(q, in, 0), 0);
	assert_int_equal(iort_spsc_pop_burst(q, out, 16), 0);
	/* 10 into 8 free slots: the first 8 go in. */
	assert_int_equal(iort_spsc_push_burst(q, in, 10), 8);
	assert_int_equal(iort_spsc_push_burst(q, in, 10), 0);
	assert_int_equal(iort_spsc_pop_burst(q, out, 0), 0);
	assert_int_equal(iort_spsc_pop_burst(q, out, 3), 3);
	for (uintptr_t i = 0; i < 3; i++)
		assert_ptr_equal(out[i], ITEM(100 + i));
	/* 3 free slots, wrapping past the end of the array. */
	assert_int_equal(iort_spsc_push_burst(q, in, 10), 3);
	/* pop_burst returns what is there: 5 left from the first burst, then the 3 new ones. */
	assert_int_equal(iort_spsc_pop_burst(q, out, 16), 8);
	for (uintptr_t i = 0; i < 5; i++)
		assert_ptr_equal(out[i], ITEM(103 + i));
	for (uintptr_t i = 0; i < 3; i++)
		assert_ptr_equal(out[5 + i], ITEM(100 + i));
	assert_int_equal(iort_spsc_pop_burst(q, out, 16), 0);
	iort_spsc_destroy(q);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Single and burst calls in random order against a counting model, many laps around small rings
 * whose positions start at @p start: every call moves exactly min(n, room) or min(n, items), and
 * values come out in sequence. Item 0 (and every 5th) is NULL, so NULL items meet every path.
 */
static void model_many_laps(size_t start)
{
	static const size_t caps[] = { 1, 2, 4, 8, 64 };
	void *buf[40];

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct iort_spsc *q = NULL;
		uintptr_t pushed = 0, popped = 0;
		uint64_t s = 0x9e3779b97f4a7c15ull + c;

		assert_int_equal(iort__spsc_create_at(caps[c], start, &q), 0);

		for (int op = 0; op < 200000; op++) {
			uint64_t r = rnd(&s);
			size_t n = (size_t)(r >> 8) % 40, count = pushed - popped,
			       room = caps[c] - count, got;
			void *item;

			switch (r % 4) {
			case 0:
				assert_int_equal(iort_spsc_try_push(q, VAL(pushed)), room > 0);
				pushed += room > 0;
				break;
			case 1:
				assert_int_equal(iort_spsc_try_pop(q, &item), count > 0);
				if (count > 0) {
					assert_ptr_equal(item, VAL(popped));
					popped++;
				}
				break;
			case 2:
				for (size_t i = 0; i < n; i++)
					buf[i] = VAL(pushed + i);
				got = iort_spsc_push_burst(q, buf, n);
				assert_int_equal(got, n < room ? n : room);
				pushed += got;
				break;
			default:
				got = iort_spsc_pop_burst(q, buf, n);
				assert_int_equal(got, n < count ? n : count);
				for (size_t i = 0; i < got; i++, popped++)
					assert_ptr_equal(buf[i], VAL(popped));
				break;
			}
		}
		/* Many laps: the indices wrapped the array thousands of times. */
		assert_true(pushed / caps[c] > 1000);
		iort_spsc_destroy(q);
	}
}

static void test_model_many_laps(void **state)
{
	(void)state;
	model_many_laps(0);
}

/* Positions start 3 and 100 below SIZE_MAX: they wrap to 0 within the first laps. */
static void test_model_counter_wrap(void **state)
{
	(void)state;
	model_many_laps(SIZE_MAX - 2);
	model_many_laps(SIZE_MAX - 99);
}

/* Across the wrap, full and empty are exact and a burst straddles position SIZE_MAX -> 0. */
static void test_full_empty_across_wrap(void **state)
{
	struct iort_spsc *q = NULL;
	void *in[8], *out[8], *item;

	(void)state;
	assert_int_equal(iort__spsc_create_at(8, SIZE_MAX - 2, &q), 0);
	for (uintptr_t i = 0; i < 8; i++)
		in[i] = ITEM(i + 1);
	assert_int_equal(iort_spsc_push_burst(q, in, 8), 8); /* positions MAX-2 .. 5 */
	assert_false(iort_spsc_try_push(q, ITEM(9)));
	assert_int_equal(iort_spsc_push_burst(q, in, 8), 0);
	assert_int_equal(iort_spsc_pop_burst(q, out, 5), 5);
	for (uintptr_t i = 0; i < 5; i++)
		assert_ptr_equal(out[i], ITEM(i + 1));
	assert_int_equal(iort_spsc_push_burst(q, in, 8), 5);
	assert_false(iort_spsc_try_push(q, ITEM(9)));
	assert_int_equal(iort_spsc_pop_burst(q, out, 8), 8);
	for (uintptr_t i = 0; i < 3; i++)
		assert_ptr_equal(out[i], ITEM(i + 6));
	for (uintptr_t i = 0; i < 5; i++)
		assert_ptr_equal(out[3 + i], ITEM(i + 1));
	assert_false(iort_spsc_try_pop(q, &item));
	iort_spsc_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_einval),
		cmocka_unit_test(test_destroy_null),
		cmocka_unit_test(test_capacity_rounding),
		cmocka_unit_test(test_fifo_full_empty),
		cmocka_unit_test(test_capacity_one),
		cmocka_unit_test(test_null_items),
		cmocka_unit_test(test_burst_partial),
		cmocka_unit_test(test_model_many_laps),
		cmocka_unit_test(test_model_counter_wrap),
		cmocka_unit_test(test_full_empty_across_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
