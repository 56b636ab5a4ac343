/*
 * iort_chan single-threaded behaviour: argument checks, FIFO, full/empty with try_*, timed calls
 * that time out (never early), cancellation. Concurrency is in tests/runtime/stress/stress_chan.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <iort/chan.h>
#include <iort/clock.h>

#define CAP 4

static void test_create(void **state)
{
	struct iort_chan *ch = NULL;

	(void)state;
	assert_int_equal(iort_chan_create(0, &ch), -EINVAL);
	assert_int_equal(iort_chan_create(((size_t)1 << 31) + 1, &ch), -EINVAL);
	assert_null(ch);
	assert_int_equal(iort_chan_create(CAP, NULL), -EINVAL);
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	assert_non_null(ch);
	iort_chan_destroy(ch);
	iort_chan_destroy(NULL);
}

static void test_fifo_full_empty(void **state)
{
	struct iort_chan *ch = NULL;
	void *item = NULL;

	(void)state;
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	assert_false(iort_chan_try_recv(ch, &item));
	for (int round = 0; round < 5; round++) {
		for (uintptr_t i = 1; i <= CAP; i++)
			assert_true(iort_chan_try_send(ch, (void *)(i + 100 * (uintptr_t)round)));
		assert_false(iort_chan_try_send(ch, (void *)999));
		for (uintptr_t i = 1; i <= CAP; i++) {
			assert_true(iort_chan_try_recv(ch, &item));
			assert_ptr_equal(item, (void *)(i + 100 * (uintptr_t)round));
		}
		assert_false(iort_chan_try_recv(ch, &item));
	}
	/* timed calls that need not wait succeed, even with a past deadline */
	assert_int_equal(iort_chan_send_timed(ch, (void *)7, 0, NULL), 0);
	assert_int_equal(iort_chan_recv_timed(ch, &item, 0, NULL), 0);
	assert_ptr_equal(item, (void *)7);
	iort_chan_destroy(ch);
}

/* A channel holds exactly the capacity asked for, also when the ring underneath rounds it up
 * (1 -> 2, 3 -> 4, 5 -> 8), lap after lap of the ring, and after partial drains. */
static void test_exact_capacity(void **state)
{
	static const size_t caps[] = { 1, 2, 3, 4, 5, 7 };

	(void)state;
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		size_t cap = caps[k];
		struct iort_chan *ch = NULL;
		uintptr_t next_in = 1, next_out = 1;
		void *item;

		assert_int_equal(iort_chan_create(cap, &ch), 0);
		for (int round = 0; round < 3 * 8; round++) {
			size_t take = (size_t)round % cap + 1; /* drain 1..cap items per round */

			while (iort_chan_try_send(ch, (void *)next_in))
				next_in++;
			assert_int_equal(next_in - next_out, cap); /* full at exactly cap */
			assert_int_equal(iort_chan_send_timed(ch, (void *)999, 0, NULL),
					 -ETIMEDOUT);
			for (size_t i = 0; i < take; i++) {
				assert_true(iort_chan_try_recv(ch, &item));
				assert_ptr_equal(item, (void *)next_out);
				next_out++;
			}
		}
		while (iort_chan_try_recv(ch, &item)) {
			assert_ptr_equal(item, (void *)next_out);
			next_out++;
		}
		assert_int_equal(next_in, next_out);
		iort_chan_destroy(ch);
	}
}

static void test_timeouts(void **state)
{
	struct iort_chan *ch = NULL;
	void *item = (void *)1;
	uint64_t deadline;

	(void)state;
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	deadline = iort_clock_ns() + 20000000u;
	assert_int_equal(iort_chan_recv_timed(ch, &item, deadline, NULL), -ETIMEDOUT);
	assert_true(iort_clock_ns() >= deadline);
	assert_ptr_equal(item, (void *)1); /* untouched on failure */
	for (uintptr_t i = 0; i < CAP; i++)
		assert_int_equal(iort_chan_send_timed(ch, (void *)i, IORT_DEADLINE_NONE, NULL), 0);
	deadline = iort_clock_ns() + 20000000u;
	assert_int_equal(iort_chan_send_timed(ch, (void *)9, deadline, NULL), -ETIMEDOUT);
	assert_true(iort_clock_ns() >= deadline);
	/* nothing extra went in */
	for (uintptr_t i = 0; i < CAP; i++) {
		assert_true(iort_chan_try_recv(ch, &item));
		assert_ptr_equal(item, (void *)i);
	}
	assert_false(iort_chan_try_recv(ch, &item));
	iort_chan_destroy(ch);
}

static void test_cancel(void **state)
{
	struct iort_chan *ch = NULL;
	struct iort_cancel c;
	void *item = (void *)1;

	(void)state;
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	iort_cancel_init(&c);
	iort_cancel_request(&c);
	assert_int_equal(iort_chan_recv_timed(ch, &item, IORT_DEADLINE_NONE, &c), -ECANCELED);
	assert_ptr_equal(item, (void *)1);
	for (uintptr_t i = 0; i < CAP; i++)
		assert_true(iort_chan_try_send(ch, (void *)i));
	assert_int_equal(iort_chan_send_timed(ch, (void *)9, IORT_DEADLINE_NONE, &c), -ECANCELED);
	iort_chan_destroy(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),	       cmocka_unit_test(test_fifo_full_empty),
		cmocka_unit_test(test_exact_capacity), cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
