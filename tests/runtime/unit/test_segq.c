/*
 * iort_segq: FIFO across many segments, empty pops, argument errors, NULL items, memory that
 * grows while filling and returns after draining, reuse over long low-occupancy runs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <iort/segq.h>

/* Must match SEGQ_CACHE in runtime/src/queues/segq.c: the bound below is cache + linked +
 * awaiting. */
#define CACHE	 4
#define AT_REST	 (CACHE + 4)
#define ITEM(i)	 ((void *)(uintptr_t)(i))
#define VALUE(p) ((uintptr_t)(p))

static void test_einval(void **state)
{
	struct iort_segq *q = NULL;

	(void)state;
	assert_int_equal(iort_segq_create(((size_t)1 << 20) + 1, &q), -EINVAL);
	assert_null(q);
	assert_int_equal(iort_segq_create(4, NULL), -EINVAL);
	assert_int_equal(iort_segq_create((size_t)1 << 20, &q), 0);
	iort_segq_destroy(q);
	assert_int_equal(iort_segq_create(0, &q), 0);
	assert_int_equal(iort_segq_segments(q), 1);
	iort_segq_destroy(q);
	iort_segq_destroy(NULL);
}

static void test_empty(void **state)
{
	struct iort_segq *q;
	void *p = ITEM(7);

	(void)state;
	assert_int_equal(iort_segq_create(4, &q), 0);
	assert_false(iort_segq_try_pop(q, &p));
	assert_ptr_equal(p, ITEM(7)); /* untouched on failure */
	assert_int_equal(iort_segq_push(q, ITEM(1)), 0);
	assert_true(iort_segq_try_pop(q, &p));
	assert_ptr_equal(p, ITEM(1));
	assert_false(iort_segq_try_pop(q, &p));
	/* NULL is an item like any other. */
	assert_int_equal(iort_segq_push(q, NULL), 0);
	assert_true(iort_segq_try_pop(q, &p));
	assert_null(p);
	assert_false(iort_segq_try_pop(q, &p));
	iort_segq_destroy(q);
}

static void test_fifo_many_segments(void **state)
{
	enum { N = 10000 };
	struct iort_segq *q;
	void *p;

	(void)state;
	assert_int_equal(iort_segq_create(3, &q), 0); /* rounds up to 4 */
	for (uintptr_t i = 1; i <= N; i++)
		assert_int_equal(iort_segq_push(q, ITEM(i)), 0);
	assert_true(iort_segq_segments(q) >= N / 4);
	for (uintptr_t i = 1; i <= N; i++) {
		assert_true(iort_segq_try_pop(q, &p));
		assert_int_equal(VALUE(p), i);
	}
	assert_false(iort_segq_try_pop(q, &p));
	/* Interleaved: FIFO holds across segment boundaries at any occupancy. */
	for (uintptr_t i = 0, next = 0; i < N; i++) {
		assert_int_equal(iort_segq_push(q, ITEM(i)), 0);
		if (i % 3 != 2) {
			assert_true(iort_segq_try_pop(q, &p));
			assert_int_equal(VALUE(p), next++);
		}
	}
	iort_segq_destroy(q); /* with items still queued: frees segments, not items */
}

static void test_memory_returns(void **state)
{
	enum { N = 4000 };
	struct iort_segq *q;
	size_t peak;
	void *p;

	(void)state;
	assert_int_equal(iort_segq_create(4, &q), 0);
	for (uintptr_t i = 0; i < N; i++)
		assert_int_equal(iort_segq_push(q, ITEM(i)), 0);
	peak = iort_segq_segments(q);
	assert_true(peak >= N / 4);
	for (uintptr_t i = 0; i < N; i++) {
		assert_true(iort_segq_try_pop(q, &p));
		assert_int_equal(VALUE(p), i);
	}
	for (uintptr_t i = 0; i < 100; i++) {
		assert_int_equal(iort_segq_push(q, ITEM(i)), 0);
		assert_true(iort_segq_try_pop(q, &p));
	}
	printf("segq: peak %zu segments, %zu after drain\n", peak, iort_segq_segments(q));
	assert_true(iort_segq_segments(q) <= AT_REST);
	iort_segq_destroy(q);
}

static void test_reuse_low_occupancy(void **state)
{
	enum { CYCLES = 1000000 };
	struct iort_segq *q;
	size_t max = 0;
	void *p;

	(void)state;
	assert_int_equal(iort_segq_create(4, &q), 0);
	for (uintptr_t i = 0; i < 3; i++)
		assert_int_equal(iort_segq_push(q, ITEM(i)), 0);
	for (uintptr_t i = 0; i < CYCLES; i++) {
		assert_int_equal(iort_segq_push(q, ITEM(i + 3)), 0);
		assert_true(iort_segq_try_pop(q, &p));
		assert_int_equal(VALUE(p), i);
		if (iort_segq_segments(q) > max)
			max = iort_segq_segments(q);
	}
	printf("segq: max %zu segments over %d cycles at occupancy 3\n", max, CYCLES);
	assert_true(max <= AT_REST);
	iort_segq_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_einval),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_fifo_many_segments),
		cmocka_unit_test(test_memory_returns),
		cmocka_unit_test(test_reuse_low_occupancy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
