/*
 * iort_mpsc single-threaded behaviour: FIFO, empty, "was empty" returns, pop_all batches,
 * node reuse. Concurrency is in tests/runtime/stress/stress_mpsc.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <iort/mpsc.h>

struct item {
	int value;
	struct iort_mpsc_node node;
};

#define N 64

static struct item *item_of(struct iort_mpsc_node *n)
{
	return n ? (struct item *)(void *)((char *)n - offsetof(struct item, node)) : NULL;
}

static struct iort_mpsc *make(void)
{
	struct iort_mpsc *q = NULL;

	assert_int_equal(iort_mpsc_create(&q), 0);
	assert_non_null(q);
	return q;
}

static void test_empty(void **state)
{
	struct iort_mpsc *q = make();
	struct iort_mpsc_batch b = { (struct iort_mpsc_node *)1, NULL };

	(void)state;
	assert_true(iort_mpsc_empty(q));
	assert_null(iort_mpsc_pop(q));
	assert_false(iort_mpsc_pop_all(q, &b));
	assert_null(b.first);
	assert_true(iort_mpsc_empty(q));
	iort_mpsc_destroy(q);
	iort_mpsc_destroy(NULL);
}

/* A NULL out is a caller's bug reported as -EINVAL, not a write through NULL. */
static void test_create_einval(void **state)
{
	(void)state;
	assert_int_equal(iort_mpsc_create(NULL), -EINVAL);
}

static void test_fifo_and_was_empty(void **state)
{
	struct iort_mpsc *q = make();
	struct item it[N];
	int round, i;

	(void)state;
	for (round = 0; round < 3; round++) {
		for (i = 0; i < N; i++) {
			it[i].value = i;
			/* true exactly for the first push into an empty queue */
			assert_int_equal(iort_mpsc_push(q, &it[i].node), i == 0);
			assert_false(iort_mpsc_empty(q));
		}
		for (i = 0; i < N; i++) {
			struct item *x = item_of(iort_mpsc_pop(q));

			assert_non_null(x);
			assert_int_equal(x->value, i);
		}
		assert_null(iort_mpsc_pop(q));
		assert_true(iort_mpsc_empty(q));
	}
	iort_mpsc_destroy(q);
}

static void test_interleaved(void **state)
{
	struct iort_mpsc *q = make();
	struct item a = { 1, { 0 } }, b = { 2, { 0 } }, c = { 3, { 0 } };

	(void)state;
	assert_true(iort_mpsc_push(q, &a.node));
	assert_false(iort_mpsc_push(q, &b.node));
	assert_ptr_equal(iort_mpsc_pop(q), &a.node);
	/* b still queued: not empty before this push */
	assert_false(iort_mpsc_push(q, &c.node));
	assert_ptr_equal(iort_mpsc_pop(q), &b.node);
	assert_ptr_equal(iort_mpsc_pop(q), &c.node);
	assert_null(iort_mpsc_pop(q));
	/* popping the last node made it empty again, and the dummy is never an item */
	assert_true(iort_mpsc_push(q, &a.node));
	assert_ptr_equal(iort_mpsc_pop(q), &a.node);
	assert_null(iort_mpsc_pop(q));
	/* a popped node can be pushed again, repeatedly */
	for (int i = 0; i < 10; i++) {
		assert_true(iort_mpsc_push(q, &a.node));
		assert_ptr_equal(iort_mpsc_pop(q), &a.node);
	}
	assert_null(iort_mpsc_pop(q));
	iort_mpsc_destroy(q);
}

static void test_pop_all(void **state)
{
	struct iort_mpsc *q = make();
	struct item it[N];
	struct iort_mpsc_batch b;
	struct iort_mpsc_node *n, *next;
	int i, count;

	(void)state;
	for (i = 0; i < N; i++) {
		it[i].value = i;
		assert_int_equal(iort_mpsc_push(q, &it[i].node), i == 0);
	}
	/* pop one first: pop_all takes the rest */
	assert_ptr_equal(iort_mpsc_pop(q), &it[0].node);
	assert_true(iort_mpsc_pop_all(q, &b));
	assert_true(iort_mpsc_empty(q));
	assert_null(iort_mpsc_pop(q));
	assert_ptr_equal(b.first, &it[1].node);
	assert_ptr_equal(b.last, &it[N - 1].node);

	/* the queue is reusable while the batch is walked: reuse each node after reading next */
	count = 0;
	for (n = b.first; n; n = next) {
		next = iort_mpsc_batch_next(&b, n);
		assert_int_equal(item_of(n)->value, count + 1);
		count++;
		assert_int_equal(iort_mpsc_push(q, n), count == 1);
	}
	assert_int_equal(count, N - 1);
	/* pop after pop_all: everything re-pushed comes back in order */
	for (i = 1; i < N; i++)
		assert_ptr_equal(iort_mpsc_pop(q), &it[i].node);
	assert_null(iort_mpsc_pop(q));

	/* single-node batch */
	assert_true(iort_mpsc_push(q, &it[0].node));
	assert_true(iort_mpsc_pop_all(q, &b));
	assert_ptr_equal(b.first, &it[0].node);
	assert_ptr_equal(b.last, &it[0].node);
	assert_null(iort_mpsc_batch_next(&b, b.first));
	assert_false(iort_mpsc_pop_all(q, &b));
	assert_null(b.first);
	assert_true(iort_mpsc_push(q, &it[1].node));
	assert_ptr_equal(iort_mpsc_pop(q), &it[1].node);
	iort_mpsc_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_create_einval),
		cmocka_unit_test(test_fifo_and_was_empty),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_pop_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
