/*
 * The mutex's NUMA preference (iort_mutex_set_numa), on a one-node machine: threads fake their
 * node through the test variant's iort__tp_node. Waiters are queued in a known order (each one
 * waits until the previous is in the queue, seen at the mutex.enqueued test point), then the
 * order in which they get the mutex is checked: a queued waiter that takes the mutex on node N
 * makes the first waiter on node N (among the next few) the next in line, unless the waiter
 * first in line was passed over max_skips times already.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <iort/mutex.h>

#include "testpoint-private.h"
#include "tp.h"

#define MAXW 4

static struct iort_mutex m;
static int order[MAXW], norder; /* guarded by m */

struct w {
	int id, node;
};

static void *waiter_main(void *arg)
{
	struct w *w = arg;

	tp_tag(w->id + 1);
	iort__tp_node = w->node;
	iort_mutex_lock(&m);
	order[norder++] = w->id;
	iort_mutex_unlock(&m);
	return NULL;
}

/* Queue waiters with @p nodes in this order behind the main thread's lock, release, and return
 * the order in which they got the mutex (in order[]). */
static void run(int n, const int *nodes, unsigned max_skips)
{
	pthread_t th[MAXW];
	struct w w[MAXW];

	tp_reset();
	iort_mutex_init(&m);
	assert_int_equal(iort_mutex_set_numa(&m, max_skips), 0);
	norder = 0;
	iort__tp_node = 0;
	iort_mutex_lock(&m);
	for (int i = 0; i < n; i++) {
		w[i] = (struct w){ i, nodes[i] };
		assert_int_equal(pthread_create(&th[i], NULL, waiter_main, &w[i]), 0);
		tp_wait_hits("mutex.enqueued", i + 1, 1); /* in the queue, in this order */
	}
	iort_mutex_unlock(&m);
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(norder, n);
	assert_int_equal(iort_mutex_fini(&m), 0);
}

static void fifo_without_preference(void **state)
{
	static const int nodes[] = { 0, 1, 0 };

	(void)state;
	run(3, nodes, 0);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 2);
}

/* Waiter 0 (node 0) takes the mutex first (it heads the queue); the next in line becomes waiter
 * 2 (node 0), ahead of waiter 1 (node 1). */
static void same_node_waiter_goes_first(void **state)
{
	static const int nodes[] = { 0, 1, 0 };

	(void)state;
	run(3, nodes, 2);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 1);
}

/* max_skips 1: waiter 1 (node 1) is passed over once (for waiter 2), then it is next even though
 * waiter 3 is on the taker's node. */
static void passed_over_at_most_max_skips(void **state)
{
	static const int nodes[] = { 0, 1, 0, 0 };

	(void)state;
	run(4, nodes, 1);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 1);
	assert_int_equal(order[3], 3);
}

static void set_numa_checks_its_argument(void **state)
{
	struct iort_mutex x = IORT_MUTEX_INIT;

	(void)state;
	assert_int_equal(iort_mutex_set_numa(&x, 8), -EINVAL);
	assert_int_equal(iort_mutex_set_numa(&x, 7), 0);
	assert_int_equal(iort_mutex_set_fairness(&x, 1000, 3), 0); /* keeps the NUMA bits */
	assert_int_equal(iort_mutex_set_numa(&x, 0), 0);
	assert_int_equal(iort_mutex_fini(&x), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fifo_without_preference),
		cmocka_unit_test(same_node_waiter_goes_first),
		cmocka_unit_test(passed_over_at_most_max_skips),
		cmocka_unit_test(set_numa_checks_its_argument),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
