/*
 * iort_ebr: nesting, is_safe against a reader held inside a critical section, retire/barrier
 * free exactly once and never under a reader, record reuse across thread exits, destroy frees
 * what is pending, domains destroyed while threads that used them live on.
 *
 * Threads are held with atomic flags (no sleeps).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <iort/ebr.h>

#include "ebr-private.h"

struct obj {
	atomic_int freed;
};

static void obj_free(void *p)
{
	struct obj *o = p;

	/* MO relaxed: test counter, read after joins/barrier. */
	atomic_fetch_add_explicit(&o->freed, 1, memory_order_relaxed);
}

static int freed_count(struct obj *o)
{
	/* MO relaxed: test counter. */
	return atomic_load_explicit(&o->freed, memory_order_relaxed);
}

/* A reader held inside a critical section until told to leave. */
struct holder {
	struct iort_ebr *d;
	atomic_int inside;
	atomic_int leave;
	pthread_t thr;
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;

	assert_int_equal(iort_ebr_enter(h->d), 0);
	atomic_store(&h->inside, 1);
	while (!atomic_load(&h->leave))
		sched_yield();
	iort_ebr_exit(h->d);
	return NULL;
}

static void holder_start(struct holder *h, struct iort_ebr *d)
{
	h->d = d;
	atomic_init(&h->inside, 0);
	atomic_init(&h->leave, 0);
	assert_int_equal(pthread_create(&h->thr, NULL, holder_main, h), 0);
	while (!atomic_load(&h->inside))
		sched_yield();
}

static void holder_stop(struct holder *h)
{
	atomic_store(&h->leave, 1);
	assert_int_equal(pthread_join(h->thr, NULL), 0);
}

static void test_default(void **state)
{
	(void)state;
	assert_non_null(iort_ebr_default());
	assert_ptr_equal(iort_ebr_default(), iort_ebr_default());
	assert_int_equal(iort_ebr_enter(iort_ebr_default()), 0);
	iort_ebr_exit(iort_ebr_default());
	iort_ebr_destroy(NULL);
}

static void test_nesting(void **state)
{
	struct iort_ebr *d;
	uint64_t s;

	(void)state;
	assert_int_equal(iort_ebr_create(&d), 0);
	assert_int_equal(iort_ebr_enter(d), 0);
	assert_int_equal(iort_ebr_enter(d), 0);
	s = iort_ebr_epoch(d);
	iort_ebr_exit(d);
	/* Still inside the outer section: the epoch cannot pass s + 1. */
	for (int i = 0; i < 10; i++)
		assert_false(iort_ebr_is_safe(d, s));
	assert_true(iort_ebr_epoch(d) <= s + 1);
	iort_ebr_exit(d);
	assert_true(iort_ebr_is_safe(d, s));
	iort_ebr_destroy(d);
}

static void test_is_safe_blocked_by_reader(void **state)
{
	struct iort_ebr *d;
	struct holder h;
	uint64_t s, e0;

	(void)state;
	assert_int_equal(iort_ebr_create(&d), 0);
	e0 = iort_ebr_epoch(d);
	holder_start(&h, d);
	s = iort_ebr_epoch(d);
	assert_true(s >= e0);
	for (int i = 0; i < 100; i++) {
		assert_false(iort_ebr_is_safe(d, s));
		iort_ebr_try_advance(d);
	}
	assert_true(iort_ebr_epoch(d) <= e0 + 1);
	holder_stop(&h);
	/* is_safe advances (twice) by itself once the reader left. */
	assert_true(iort_ebr_is_safe(d, s));
	assert_true(iort_ebr_epoch(d) >= s + 2);
	iort_ebr_destroy(d);
}

static void test_retire_barrier_once(void **state)
{
	enum { N = 1000 };
	struct obj *o = calloc(N, sizeof(*o));
	struct iort_ebr *d;

	(void)state;
	assert_non_null(o);
	assert_int_equal(iort_ebr_create(&d), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(iort_ebr_retire(d, &o[i], obj_free), 0);
	iort_ebr_barrier(d);
	for (int i = 0; i < N; i++)
		assert_int_equal(freed_count(&o[i]), 1);
	assert_int_equal(iort__ebr_pending(d), 0);
	iort_ebr_barrier(d);
	iort_ebr_destroy(d);
	for (int i = 0; i < N; i++)
		assert_int_equal(freed_count(&o[i]), 1);
	free(o);
}

static void test_no_free_under_reader(void **state)
{
	enum { N = 500 };
	struct obj *o = calloc(N, sizeof(*o));
	struct iort_ebr *d;
	struct holder h;

	(void)state;
	assert_non_null(o);
	assert_int_equal(iort_ebr_create(&d), 0);
	holder_start(&h, d);
	/* Enough retires to trigger several opportunistic collections. */
	for (int i = 0; i < N; i++) {
		assert_int_equal(iort_ebr_retire(d, &o[i], obj_free), 0);
		iort_ebr_try_advance(d);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(freed_count(&o[i]), 0);
	assert_int_equal(iort__ebr_pending(d), N);
	holder_stop(&h);
	iort_ebr_barrier(d);
	for (int i = 0; i < N; i++)
		assert_int_equal(freed_count(&o[i]), 1);
	iort_ebr_destroy(d);
	free(o);
}

static void test_destroy_frees_pending(void **state)
{
	enum { N = 100 };
	struct obj *o = calloc(N, sizeof(*o));
	struct iort_ebr *d;
	struct holder h;

	(void)state;
	assert_non_null(o);
	assert_int_equal(iort_ebr_create(&d), 0);
	holder_start(&h, d);
	for (int i = 0; i < N; i++)
		assert_int_equal(iort_ebr_retire(d, &o[i], obj_free), 0);
	holder_stop(&h);
	for (int i = 0; i < N; i++)
		assert_int_equal(freed_count(&o[i]), 0);
	iort_ebr_destroy(d);
	for (int i = 0; i < N; i++)
		assert_int_equal(freed_count(&o[i]), 1);
	free(o);
}

static void *short_main(void *arg)
{
	struct iort_ebr *d = arg;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(iort_ebr_enter(d), 0);
		iort_ebr_exit(d);
	}
	/* The default domain too: one record per (thread, domain). */
	assert_int_equal(iort_ebr_enter(iort_ebr_default()), 0);
	iort_ebr_exit(iort_ebr_default());
	return NULL;
}

static void test_records_reused(void **state)
{
	enum { THREADS = 1000, BATCH = 4 };
	struct iort_ebr *d;
	pthread_t t[BATCH];
	uint64_t s;

	(void)state;
	assert_int_equal(iort_ebr_create(&d), 0);
	for (int i = 0; i < THREADS; i += BATCH) {
		for (int j = 0; j < BATCH; j++)
			assert_int_equal(pthread_create(&t[j], NULL, short_main, d), 0);
		for (int j = 0; j < BATCH; j++)
			assert_int_equal(pthread_join(t[j], NULL), 0);
	}
	/* At most BATCH records were ever in use at once. */
	assert_true(iort__ebr_records(d) <= BATCH);
	/* Released records do not block advances. */
	s = iort_ebr_epoch(d);
	assert_true(iort_ebr_is_safe(d, s));
	iort_ebr_destroy(d);
}

/* A thread that used a domain outlives the domain's destruction. */
struct outlive {
	struct iort_ebr *d;
	atomic_int used;
	atomic_int destroyed;
};

static void *outlive_main(void *arg)
{
	struct outlive *o = arg;
	struct iort_ebr *d2;

	assert_int_equal(iort_ebr_enter(o->d), 0);
	iort_ebr_exit(o->d);
	atomic_store(&o->used, 1);
	while (!atomic_load(&o->destroyed))
		sched_yield();
	/* A new domain may reuse the address: no stale thread-local hit. */
	assert_int_equal(iort_ebr_create(&d2), 0);
	assert_int_equal(iort_ebr_enter(d2), 0);
	iort_ebr_exit(d2);
	assert_int_equal(iort__ebr_records(d2), 1);
	iort_ebr_destroy(d2);
	return NULL; /* the exit destructor must skip the destroyed domain */
}

static void test_domain_destroyed_before_thread_exit(void **state)
{
	struct outlive o;
	pthread_t t;

	(void)state;
	assert_int_equal(iort_ebr_create(&o.d), 0);
	atomic_init(&o.used, 0);
	atomic_init(&o.destroyed, 0);
	assert_int_equal(pthread_create(&t, NULL, outlive_main, &o), 0);
	while (!atomic_load(&o.used))
		sched_yield();
	iort_ebr_destroy(o.d);
	atomic_store(&o.destroyed, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
}

static void test_many_domains(void **state)
{
	(void)state;
	for (int i = 0; i < 200; i++) {
		struct iort_ebr *d[3];

		for (int j = 0; j < 3; j++) {
			assert_int_equal(iort_ebr_create(&d[j]), 0);
			assert_int_equal(iort_ebr_enter(d[j]), 0);
		}
		for (int j = 2; j >= 0; j--)
			iort_ebr_exit(d[j]);
		for (int j = 0; j < 3; j++) {
			assert_int_equal(iort__ebr_records(d[j]), 1);
			iort_ebr_destroy(d[j]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_is_safe_blocked_by_reader),
		cmocka_unit_test(test_retire_barrier_once),
		cmocka_unit_test(test_no_free_under_reader),
		cmocka_unit_test(test_destroy_frees_pending),
		cmocka_unit_test(test_records_reused),
		cmocka_unit_test(test_domain_destroyed_before_thread_exit),
		cmocka_unit_test(test_many_domains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
