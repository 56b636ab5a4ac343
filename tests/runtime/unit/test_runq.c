/*
 * The worker run queue's contract, single-threaded: FIFO pops, full at RUNQ_CAP, take_half moves
 * the oldest half in order, steal moves half (rounded up) in order and returns the newest of
 * them, and counters wrap past 2^32 without losing a task.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runq-private.h"

#define T(i) ((void *)(uintptr_t)((i) + 1))

static void fifo_and_full(void **state)
{
	static struct iort__runq q;

	(void)state;
	iort__runq_init(&q);
	assert_null(iort__runq_pop(&q));
	for (unsigned i = 0; i < RUNQ_CAP; i++)
		assert_int_equal(iort__runq_push(&q, T(i)), 0);
	assert_int_equal(iort__runq_push(&q, T(999)), -ENOSPC);
	assert_int_equal(iort__runq_len(&q), RUNQ_CAP);
	for (unsigned i = 0; i < RUNQ_CAP; i++)
		assert_ptr_equal(iort__runq_pop(&q), T(i));
	assert_null(iort__runq_pop(&q));
	assert_int_equal(iort__runq_len(&q), 0);
}

static void take_half_moves_the_oldest(void **state)
{
	static struct iort__runq q;
	void *out[RUNQ_CAP / 2];

	(void)state;
	iort__runq_init(&q);
	for (unsigned i = 0; i < RUNQ_CAP; i++)
		assert_int_equal(iort__runq_push(&q, T(i)), 0);
	assert_int_equal(iort__runq_take_half(&q, out), RUNQ_CAP / 2);
	for (unsigned i = 0; i < RUNQ_CAP / 2; i++)
		assert_ptr_equal(out[i], T(i));
	assert_int_equal(iort__runq_push(&q, T(1000)), 0); /* room again */
	for (unsigned i = RUNQ_CAP / 2; i < RUNQ_CAP; i++)
		assert_ptr_equal(iort__runq_pop(&q), T(i));
	assert_ptr_equal(iort__runq_pop(&q), T(1000));
	assert_null(iort__runq_pop(&q));
}

static void steal_half_rounded_up(void **state)
{
	static struct iort__runq src, dst;

	(void)state;
	for (unsigned k = 1; k <= 9; k++) {
		iort__runq_init(&src);
		iort__runq_init(&dst);
		for (unsigned i = 0; i < k; i++)
			assert_int_equal(iort__runq_push(&src, T(i)), 0);
		unsigned n = k - k / 2;
		/* The newest stolen task is returned; the older ones are queued in dst in order. */
		assert_ptr_equal(iort__runq_steal(&src, &dst), T(n - 1));
		assert_int_equal(iort__runq_len(&dst), n - 1);
		for (unsigned i = 0; i + 1 < n; i++)
			assert_ptr_equal(iort__runq_pop(&dst), T(i));
		assert_null(iort__runq_pop(&dst));
		for (unsigned i = n; i < k; i++)
			assert_ptr_equal(iort__runq_pop(&src), T(i));
		assert_null(iort__runq_pop(&src));
		assert_null(iort__runq_steal(&src, &dst)); /* empty */
	}
}

/* The owner pushes into slots freed by a steal: steal moved, so the ring has room again. */
static void room_after_steal(void **state)
{
	static struct iort__runq src, dst;

	(void)state;
	iort__runq_init(&src);
	iort__runq_init(&dst);
	for (unsigned i = 0; i < RUNQ_CAP; i++)
		assert_int_equal(iort__runq_push(&src, T(i)), 0);
	assert_ptr_equal(iort__runq_steal(&src, &dst), T(RUNQ_CAP / 2 - 1));
	for (unsigned i = 0; i < RUNQ_CAP / 2; i++)
		assert_int_equal(iort__runq_push(&src, T(RUNQ_CAP + i)), 0);
	assert_int_equal(iort__runq_push(&src, T(0)), -ENOSPC);
	for (unsigned i = RUNQ_CAP / 2; i < RUNQ_CAP + RUNQ_CAP / 2; i++)
		assert_ptr_equal(iort__runq_pop(&src), T(i));
}

/* Counters near 2^32: push, pop, steal and take_half across the wrap. */
static void counters_wrap(void **state)
{
	static struct iort__runq q, dst;
	void *out[RUNQ_CAP / 2];
	uint32_t start = UINT32_MAX - 100;

	(void)state;
	iort__runq_init(&q);
	iort__runq_init(&dst);
	atomic_store(&q.head, (uint64_t)start << 32 | start);
	atomic_store(&q.tail, start);
	for (unsigned i = 0; i < RUNQ_CAP; i++)
		assert_int_equal(iort__runq_push(&q, T(i)), 0);
	assert_int_equal(iort__runq_push(&q, T(0)), -ENOSPC);
	assert_int_equal(iort__runq_take_half(&q, out), RUNQ_CAP / 2);
	assert_ptr_equal(out[0], T(0));
	assert_ptr_equal(iort__runq_steal(&q, &dst), T(RUNQ_CAP / 2 + RUNQ_CAP / 4 - 1));
	for (unsigned i = RUNQ_CAP / 2 + RUNQ_CAP / 4; i < RUNQ_CAP; i++)
		assert_ptr_equal(iort__runq_pop(&q), T(i));
	assert_null(iort__runq_pop(&q));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fifo_and_full),
		cmocka_unit_test(take_half_moves_the_oldest),
		cmocka_unit_test(steal_half_rounded_up),
		cmocka_unit_test(room_after_steal),
		cmocka_unit_test(counters_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
