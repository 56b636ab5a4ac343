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
	assert_int_equal(iort__runq_init(&q, RUNQ_CAP), 0);
	assert_null(iort__runq_pop(&q));
	for (unsigned i = 0; i < RUNQ_CAP; i++)
		assert_int_equal(iort__runq_push(&q, T(i)), 0);
	assert_int_equal(iort__runq_push(&q, T(999)), -ENOSPC);
	assert_int_equal(iort__runq_len(&q), RUNQ_CAP);
	for (unsigned i = 0; i < RUNQ_CAP; i++)
		assert_ptr_equal(iort__runq_pop(&q), T(i));
	assert_null(iort__runq_pop(&q));
	assert_int_equal(iort__runq_len(&q), 0);
	iort__runq_fini(&q);
}

static void take_half_moves_the_oldest(void **state)
{
	static struct iort__runq q;
	void *out[RUNQ_CAP / 2];

	(void)state;
	assert_int_equal(iort__runq_init(&q, RUNQ_CAP), 0);
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
	iort__runq_fini(&q);
}

static void steal_half_rounded_up(void **state)
{
	static struct iort__runq src, dst;

	(void)state;
	for (unsigned k = 1; k <= 9; k++) {
		assert_int_equal(iort__runq_init(&src, RUNQ_CAP), 0);
		assert_int_equal(iort__runq_init(&dst, RUNQ_CAP), 0);
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
		iort__runq_fini(&src);
		iort__runq_fini(&dst);
	}
}

/* The owner pushes into slots freed by a steal: steal moved, so the ring has room again. */
static void room_after_steal(void **state)
{
	static struct iort__runq src, dst;

	(void)state;
	assert_int_equal(iort__runq_init(&src, RUNQ_CAP), 0);
	assert_int_equal(iort__runq_init(&dst, RUNQ_CAP), 0);
	for (unsigned i = 0; i < RUNQ_CAP; i++)
		assert_int_equal(iort__runq_push(&src, T(i)), 0);
	assert_ptr_equal(iort__runq_steal(&src, &dst), T(RUNQ_CAP / 2 - 1));
	for (unsigned i = 0; i < RUNQ_CAP / 2; i++)
		assert_int_equal(iort__runq_push(&src, T(RUNQ_CAP + i)), 0);
	assert_int_equal(iort__runq_push(&src, T(0)), -ENOSPC);
	for (unsigned i = RUNQ_CAP / 2; i < RUNQ_CAP + RUNQ_CAP / 2; i++)
		assert_ptr_equal(iort__runq_pop(&src), T(i));
	iort__runq_fini(&src);
	iort__runq_fini(&dst);
}

/* Counters near 2^32: push, pop, steal and take_half across the wrap. */
static void counters_wrap(void **state)
{
	static struct iort__runq q, dst;
	void *out[RUNQ_CAP / 2];
	uint32_t start = UINT32_MAX - 100;

	(void)state;
	assert_int_equal(iort__runq_init(&q, RUNQ_CAP), 0);
	assert_int_equal(iort__runq_init(&dst, RUNQ_CAP), 0);
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
	iort__runq_fini(&q);
	iort__runq_fini(&dst);
}

/* The capacity is the caller's: full at cap, half of cap taken, bad capacities refused. */
static void capacity_is_configurable(void **state)
{
	struct iort__runq q, dst;
	void *out[4];

	(void)state;
	assert_int_equal(iort__runq_init(&q, 3), -EINVAL);
	assert_int_equal(iort__runq_init(&q, 1), -EINVAL);
	assert_int_equal(iort__runq_init(&q, RUNQ_CAP_MAX * 2), -EINVAL);
	assert_int_equal(iort__runq_init(&q, 8), 0);
	assert_int_equal(iort__runq_init(&dst, 4), 0);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(iort__runq_push(&q, T(i)), 0);
	assert_int_equal(iort__runq_push(&q, T(8)), -ENOSPC);
	assert_int_equal(iort__runq_take_half(&q, out), 4);
	assert_ptr_equal(out[3], T(3));
	/* dst holds 4: a steal of half of 4 fits. */
	assert_ptr_equal(iort__runq_steal(&q, &dst), T(5));
	assert_ptr_equal(iort__runq_pop(&dst), T(4));
	assert_ptr_equal(iort__runq_pop(&q), T(6));
	assert_ptr_equal(iort__runq_pop(&q), T(7));
	assert_null(iort__runq_pop(&q));
	iort__runq_fini(&q);
	iort__runq_fini(&dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fifo_and_full),
		cmocka_unit_test(take_half_moves_the_oldest),
		cmocka_unit_test(steal_half_rounded_up),
		cmocka_unit_test(room_after_steal),
		cmocka_unit_test(counters_wrap),
		cmocka_unit_test(capacity_is_configurable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
