/*
 * ebr.c's waiting windows, driven deterministically through test points (tests/lib/tp.h).
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/clock.h>
#include <iort/ebr.h>

#include "tp.h"

enum { TAG_BARRIER = 1 };

static atomic_int freed;

static void node_free(void *p)
{
	(void)p;
	atomic_fetch_add(&freed, 1);
}

struct barrier_arg {
	struct iort_ebr *d;
	atomic_int done;
};

static void *barrier_thread(void *arg)
{
	struct barrier_arg *a = arg;

	tp_tag(TAG_BARRIER);
	iort_ebr_barrier(a->d);
	atomic_store(&a->done, 1);
	return NULL;
}

/*
 * A reader inside a critical section entered before a node was retired; barrier() called after
 * the retire must not return before the node is freed, so it waits for the reader (the epoch must
 * pass the stamp by two). The test lets the reader leave only once the barrier either returned
 * (wrong) or is seen waiting.
 */
static void barrier_waits_for_reader_inside(void **state)
{
	struct barrier_arg a;
	pthread_t th;
	uint64_t t0;
	int node;

	(void)state;
	tp_reset();
	atomic_store(&freed, 0);
	assert_int_equal(iort_ebr_create(&a.d), 0);
	atomic_init(&a.done, 0);
	assert_int_equal(iort_ebr_enter(a.d), 0); /* the reader: this thread */
	assert_int_equal(iort_ebr_retire(a.d, &node, node_free), 0);
	assert_int_equal(pthread_create(&th, NULL, barrier_thread, &a), 0);
	t0 = iort_clock_ns();
	while (!atomic_load(&a.done) && tp_hits("ebr.barrier_wait", TAG_BARRIER) == 0) {
		if (iort_clock_ns() - t0 > (uint64_t)TP_TIMEOUT_S * 1000000000ull)
			tp_fail("waiting for the barrier at", "ebr.barrier_wait");
		sched_yield();
	}
	assert_false(atomic_load(&a.done)); /* returned while a reader could hold the node */
	iort_ebr_exit(a.d);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(atomic_load(&freed), 1);
	iort_ebr_destroy(a.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(barrier_waits_for_reader_inside),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
