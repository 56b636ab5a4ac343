/*
 * wait.c's critical windows, driven deterministically through test points (tests/lib/tp.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/clock.h>
#include <iort/wait.h>

#include "../lib/tp.h"

#define HANG_NS (20ull * 1000000000ull)

struct waiter {
	struct iort_waitq *w;
	uint32_t key;
	int ret;
};

static void *wait_thread(void *arg)
{
	struct waiter *a = arg;

	tp_tag(1);
	/* The deadline only turns a lost wake-up into a failure instead of a hang. */
	a->ret = iort_waitq_wait(a->w, a->key, iort_clock_ns() + HANG_NS, NULL);
	return NULL;
}

/* A notify that lands after the waiter checked seq but before it entered futex_wait is not lost:
 * futex_wait sees the moved seq and returns at once. */
static void notify_just_before_sleep(void **state)
{
	struct iort_waitq w;
	struct waiter a;
	pthread_t th;
	int s;

	(void)state;
	tp_reset();
	iort_waitq_init(&w);
	a = (struct waiter){ &w, iort_waitq_prepare(&w), -1 };
	s = tp_stop_at("wait.sleep", 1, 0);
	assert_int_equal(pthread_create(&th, NULL, wait_thread, &a), 0);
	tp_wait_stopped(s);
	iort_waitq_notify_one(&w); /* the waiter announced itself: this bumps seq */
	tp_release(s);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.ret, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(notify_just_before_sleep),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
