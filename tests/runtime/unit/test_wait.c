/*
 * iort_waitq / iort_wait_until with cancellation tokens: stale keys, deadlines (never early),
 * cancellation (also of many threads waiting with one token), the no-waiter notify fast path.
 * Races are in stress_wait.c and win_wait.c.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <iort/clock.h>
#include <iort/wait.h>

static void test_prepare_cancel(void **state)
{
	struct iort_waitq w;
	uint32_t k1, k2;

	(void)state;
	iort_waitq_init(&w);
	k1 = iort_waitq_prepare(&w);
	iort_waitq_cancel(&w);
	/* notify with no announced waiter: no bump (and so no futex syscall) */
	iort_waitq_notify_one(&w);
	iort_waitq_notify_all(&w);
	k2 = iort_waitq_prepare(&w);
	assert_int_equal(k1, k2);
	iort_waitq_cancel(&w);
}

static void test_stale_key(void **state)
{
	struct iort_waitq w;
	uint32_t key;

	(void)state;
	iort_waitq_init(&w);
	key = iort_waitq_prepare(&w);
	/* a notify between prepare and wait (we are an announced waiter) bumps the key */
	iort_waitq_notify_one(&w);
	assert_int_equal(iort_waitq_wait(&w, key, IORT_DEADLINE_NONE, NULL), 0);
	/* the announcement was withdrawn by wait: the next notify does not bump */
	key = iort_waitq_prepare(&w);
	iort_waitq_cancel(&w);
	iort_waitq_notify_one(&w);
	assert_int_equal(iort_waitq_prepare(&w), key);
	iort_waitq_cancel(&w);
}

static void test_deadline_past(void **state)
{
	struct iort_waitq w;
	uint32_t key;

	(void)state;
	iort_waitq_init(&w);
	key = iort_waitq_prepare(&w);
	assert_int_equal(iort_waitq_wait(&w, key, 0, NULL), -ETIMEDOUT);
	key = iort_waitq_prepare(&w);
	assert_int_equal(iort_waitq_wait(&w, key, iort_clock_ns() - 1, NULL), -ETIMEDOUT);
}

static void test_deadline_not_early(void **state)
{
	struct iort_waitq w;
	uint32_t key;
	uint64_t deadline, now;

	(void)state;
	iort_waitq_init(&w);
	for (int i = 0; i < 3; i++) {
		deadline = iort_clock_ns() + 20000000u; /* 20 ms */
		key = iort_waitq_prepare(&w);
		assert_int_equal(iort_waitq_wait(&w, key, deadline, NULL), -ETIMEDOUT);
		now = iort_clock_ns();
		assert_true(now >= deadline);
		printf("# 20 ms wait returned %.3f ms after the deadline\n",
		       (double)(now - deadline) / 1e6);
	}
}

static bool never(void *ctx)
{
	int *calls = ctx;

	(*calls)++;
	return false;
}

static bool succeed_after(void *ctx)
{
	int *left = ctx;

	return --*left <= 0;
}

static void test_cancel(void **state)
{
	struct iort_waitq w;
	struct iort_cancel c, other;
	uint32_t key;
	int calls = 0;

	(void)state;
	iort_waitq_init(&w);
	iort_cancel_init(&c);
	iort_cancel_init(&other);
	assert_false(iort_cancel_requested(&c));
	iort_cancel_request(&c);
	iort_cancel_request(&c); /* idempotent */
	assert_true(iort_cancel_requested(&c));
	assert_false(iort_cancel_requested(&other));

	key = iort_waitq_prepare(&w);
	assert_int_equal(iort_waitq_wait(&w, key, IORT_DEADLINE_NONE, &c), -ECANCELED);
	assert_int_equal(iort_wait_until(&w, never, &calls, IORT_DEADLINE_NONE, &c), -ECANCELED);
	/* the announcement was withdrawn: a notify does not bump */
	key = iort_waitq_prepare(&w);
	iort_waitq_cancel(&w);
	iort_waitq_notify_one(&w);
	assert_int_equal(iort_waitq_prepare(&w), key);
	iort_waitq_cancel(&w);
	/* an uncancelled token with a deadline: times out */
	assert_int_equal(iort_wait_until(&w, never, &calls, iort_clock_ns() + 1000000u, &other),
			 -ETIMEDOUT);
	key = iort_waitq_prepare(&w);
	assert_int_equal(iort_waitq_wait(&w, key, iort_clock_ns() + 1000000u, &other), -ETIMEDOUT);
	/* the timed-out waits unregistered their callbacks (on their dead stack frames): cancelling
	 * now runs none of them, and bumps nothing */
	key = iort_waitq_prepare(&w);
	iort_waitq_cancel(&w);
	iort_cancel_request(&other);
	assert_int_equal(iort_waitq_prepare(&w), key);
	iort_waitq_cancel(&w);
	iort_cancel_fini(&c);
	iort_cancel_fini(&other);
}

/* --- many threads waiting with one token ----------------------------------------------- */

#define MANY 4

struct many {
	struct iort_waitq *w;
	struct iort_cancel *c;
	pthread_barrier_t *bar;
	bool until;
	int ret;
	pthread_t th;
};

static bool never_ctx(void *ctx)
{
	(void)ctx;
	return false;
}

static void *many_thread(void *arg)
{
	struct many *m = arg;

	pthread_barrier_wait(m->bar);
	if (m->until) {
		m->ret = iort_wait_until(m->w, never_ctx, NULL, IORT_DEADLINE_NONE, m->c);
	} else {
		do {
			uint32_t key = iort_waitq_prepare(m->w);

			m->ret = iort_waitq_wait(m->w, key, IORT_DEADLINE_NONE, m->c);
		} while (m->ret == 0); /* woken by another waiter's cancellation: re-wait */
	}
	return NULL;
}

/* Any number of threads may wait with one token (here a grandchild of the token cancelled),
 * on one waitq or several, with no deadline: all of them return -ECANCELED. */
static void test_many_waiters_one_token(void **state)
{
	struct iort_waitq w[2];
	struct iort_cancel root, mid, c;
	struct many m[MANY];
	pthread_barrier_t bar;

	(void)state;
	iort_waitq_init(&w[0]);
	iort_waitq_init(&w[1]);
	iort_cancel_init(&root);
	iort_cancel_init_child(&mid, &root);
	iort_cancel_init_child(&c, &mid);
	assert_int_equal(pthread_barrier_init(&bar, NULL, MANY + 1), 0);
	for (int i = 0; i < MANY; i++) {
		m[i] = (struct many){ .w = &w[i % 2], .c = &c, .bar = &bar, .until = i >= MANY / 2 };
		assert_int_equal(pthread_create(&m[i].th, NULL, many_thread, &m[i]), 0);
	}
	pthread_barrier_wait(&bar); /* cancel before, during or after they park: all must end */
	iort_cancel_request(&root);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(pthread_join(m[i].th, NULL), 0);
		assert_int_equal(m[i].ret, -ECANCELED);
	}
	pthread_barrier_destroy(&bar);
	iort_cancel_fini(&c);
	iort_cancel_fini(&mid);
	iort_cancel_fini(&root);
}

static void test_wait_until(void **state)
{
	struct iort_waitq w;
	int calls = 0, left;
	uint64_t deadline;

	(void)state;
	iort_waitq_init(&w);
	left = 1;
	assert_int_equal(iort_wait_until(&w, succeed_after, &left, IORT_DEADLINE_NONE, NULL), 0);
	/* succeeds after a few failed attempts */
	left = 100;
	assert_int_equal(iort_wait_until(&w, succeed_after, &left, IORT_DEADLINE_NONE, NULL), 0);
	assert_int_equal(left, 0);
	/* past deadline: still tries, then -ETIMEDOUT */
	assert_int_equal(iort_wait_until(&w, never, &calls, 0, NULL), -ETIMEDOUT);
	assert_true(calls > 0);
	left = 1;
	assert_int_equal(iort_wait_until(&w, succeed_after, &left, 0, NULL), 0);
	deadline = iort_clock_ns() + 20000000u;
	assert_int_equal(iort_wait_until(&w, never, &calls, deadline, NULL), -ETIMEDOUT);
	assert_true(iort_clock_ns() >= deadline);
	/* every wait withdrew its announcement */
	{
		uint32_t key = iort_waitq_prepare(&w);

		iort_waitq_cancel(&w);
		iort_waitq_notify_one(&w);
		assert_int_equal(iort_waitq_prepare(&w), key);
		iort_waitq_cancel(&w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepare_cancel),
		cmocka_unit_test(test_stale_key),
		cmocka_unit_test(test_deadline_past),
		cmocka_unit_test(test_deadline_not_early),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_wait_until),
		cmocka_unit_test(test_many_waiters_one_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
