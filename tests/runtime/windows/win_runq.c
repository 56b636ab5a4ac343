/*
 * The run queue's critical windows, driven through test points: a thief stopped between its
 * claim and the end of its copy while the owner pops, pushes and overflows.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runq-private.h"
#include "tp.h"

#define T(i) ((void *)(uintptr_t)((i) + 1))

static struct iort__runq src, dst;
static void *stolen;

static void *thief_main(void *arg)
{
	(void)arg;
	tp_tag(1);
	stolen = iort__runq_steal(&src, &dst);
	return NULL;
}

/*
 * The ring is full counting from steal, while a thief copies the oldest half and the owner has
 * popped most of the rest. Once the thief is done, fewer than half are queued: take_half must
 * take nothing (taking half would take slots of the earlier lap, tasks already stolen), and push
 * has room again. Every task comes out exactly once.
 */
static void overflow_after_a_steal_takes_nothing_stale(void **state)
{
	pthread_t th;
	void *out[RUNQ_CAP / 2];
	unsigned seen[RUNQ_CAP + 1] = { 0 };

	(void)state;
	tp_reset();
	if (iort__runq_init(&src, RUNQ_CAP) != 0)
		abort();
	if (iort__runq_init(&dst, RUNQ_CAP) != 0)
		abort();
	for (unsigned i = 0; i < RUNQ_CAP; i++)
		assert_int_equal(iort__runq_push(&src, T(i)), 0);
	int s = tp_stop_at("runq.claimed", 1, 0);
	assert_int_equal(pthread_create(&th, NULL, thief_main, NULL), 0);
	tp_wait_stopped(s); /* claimed the oldest half, not copied */
	for (unsigned i = RUNQ_CAP / 2; i < RUNQ_CAP - 28; i++) {
		void *p = iort__runq_pop(&src);
		assert_ptr_equal(p, T(i));
		seen[i]++;
	}
	assert_int_equal(iort__runq_push(&src, T(RUNQ_CAP)), -ENOSPC); /* full from steal */
	assert_int_equal(iort__runq_take_half(&src, out), 0);	       /* a thief is copying */
	tp_release(s);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(iort__runq_take_half(&src, out), 0); /* only 28 queued */
	assert_int_equal(iort__runq_push(&src, T(RUNQ_CAP)), 0);
	seen[(uintptr_t)stolen - 1]++;
	for (void *p; (p = iort__runq_pop(&dst));)
		seen[(uintptr_t)p - 1]++;
	for (void *p; (p = iort__runq_pop(&src));)
		seen[(uintptr_t)p - 1]++;
	for (unsigned i = 0; i <= RUNQ_CAP; i++)
		assert_int_equal(seen[i], 1);
	iort__runq_fini(&src);
	iort__runq_fini(&dst);
}

/* The owner pops while a thief copies: a second thief backs off, pops continue after the claimed
 * range, and the thief's end moves steal to where the owner got, so exactly the slots of tasks
 * taken are free again. */
static void pop_during_steal(void **state)
{
	static struct iort__runq dst2;
	pthread_t th;

	(void)state;
	tp_reset();
	if (iort__runq_init(&src, RUNQ_CAP) != 0)
		abort();
	if (iort__runq_init(&dst, RUNQ_CAP) != 0)
		abort();
	if (iort__runq_init(&dst2, RUNQ_CAP) != 0)
		abort();
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(iort__runq_push(&src, T(i)), 0);
	int s = tp_stop_at("runq.copied", 1, 0);
	assert_int_equal(pthread_create(&th, NULL, thief_main, NULL), 0);
	tp_wait_stopped(s); /* claimed and copied 0..4, steal not moved */
	assert_null(iort__runq_steal(&src, &dst2));
	for (unsigned i = 5; i < 8; i++)
		assert_ptr_equal(iort__runq_pop(&src), T(i));
	tp_release(s);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_ptr_equal(stolen, T(4));
	for (unsigned i = 0; i < 4; i++)
		assert_ptr_equal(iort__runq_pop(&dst), T(i));
	assert_null(iort__runq_pop(&dst));
	/* 2 queued (8, 9): room for exactly RUNQ_CAP - 2 more. */
	for (unsigned i = 0; i < RUNQ_CAP - 2; i++)
		assert_int_equal(iort__runq_push(&src, T(100 + i)), 0);
	assert_int_equal(iort__runq_push(&src, T(0)), -ENOSPC);
	assert_ptr_equal(iort__runq_pop(&src), T(8));
	assert_ptr_equal(iort__runq_pop(&src), T(9));
	assert_ptr_equal(iort__runq_pop(&src), T(100));
	iort__runq_fini(&src);
	iort__runq_fini(&dst);
	iort__runq_fini(&dst2);
}

/*
 * pop_back_if against a thief stopped after its claim: with one task, the thief claimed it and
 * the owner must not take it too; with two, the thief claimed the older one and the owner gets
 * the newer (through the one-left path). Each task comes out exactly once.
 */
static void pop_back_against_a_claim(void **state)
{
	pthread_t th;

	(void)state;
	for (unsigned k = 1; k <= 3; k++) {
		tp_reset();
		if (iort__runq_init(&src, RUNQ_CAP) != 0 || iort__runq_init(&dst, RUNQ_CAP) != 0)
			abort();
		for (unsigned i = 0; i < k; i++)
			assert_int_equal(iort__runq_push(&src, T(i)), 0);
		int s = tp_stop_at("runq.claimed", 1, 0);
		assert_int_equal(pthread_create(&th, NULL, thief_main, NULL), 0);
		tp_wait_stopped(s); /* claimed ceil(k / 2) from the front, not copied */
		void *got = iort__runq_pop_back_if(&src, T(k - 1));
		if (k == 1)
			assert_null(got); /* the thief's */
		else
			assert_ptr_equal(got, T(k - 1));
		tp_release(s);
		assert_int_equal(pthread_join(th, NULL), 0);
		unsigned seen[4] = { 0 };
		seen[(uintptr_t)stolen - 1]++;
		if (got != NULL)
			seen[(uintptr_t)got - 1]++;
		for (void *p; (p = iort__runq_pop(&dst));)
			seen[(uintptr_t)p - 1]++;
		for (void *p; (p = iort__runq_pop(&src));)
			seen[(uintptr_t)p - 1]++;
		for (unsigned i = 0; i < k; i++)
			assert_int_equal(seen[i], 1);
		/* The ring's counts are whole again: empty, and a push comes back out. */
		assert_int_equal(iort__runq_len(&src), 0);
		assert_int_equal(iort__runq_push(&src, T(3)), 0);
		assert_ptr_equal(iort__runq_pop(&src), T(3));
		iort__runq_fini(&src);
		iort__runq_fini(&dst);
	}
}

static void *got_back;

static void *owner_pop_back(void *arg)
{
	(void)arg;
	tp_tag(2);
	got_back = iort__runq_pop_back_if(&src, T(1));
	return NULL;
}

/*
 * The owner looked (two tasks: the newest is not the only one) and stops before it lowers tail;
 * two steals then take both tasks. Resumed, the owner finds its task gone (head past it), must
 * give up and put tail back: the ring is empty and whole.
 */
static void pop_back_loses_to_two_steals(void **state)
{
	static struct iort__runq dst2;
	pthread_t th;

	(void)state;
	tp_reset();
	if (iort__runq_init(&src, RUNQ_CAP) != 0 || iort__runq_init(&dst, RUNQ_CAP) != 0 ||
	    iort__runq_init(&dst2, RUNQ_CAP) != 0)
		abort();
	assert_int_equal(iort__runq_push(&src, T(0)), 0);
	assert_int_equal(iort__runq_push(&src, T(1)), 0);
	int s = tp_stop_at("runq.pop_back", 2, 0);
	assert_int_equal(pthread_create(&th, NULL, owner_pop_back, NULL), 0);
	tp_wait_stopped(s);
	assert_ptr_equal(iort__runq_steal(&src, &dst), T(0));  /* half of two */
	assert_ptr_equal(iort__runq_steal(&src, &dst2), T(1)); /* the last one */
	tp_release(s);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_null(got_back);
	assert_int_equal(iort__runq_len(&src), 0);
	assert_null(iort__runq_pop(&src));
	assert_int_equal(iort__runq_push(&src, T(2)), 0);
	assert_ptr_equal(iort__runq_pop(&src), T(2));
	iort__runq_fini(&src);
	iort__runq_fini(&dst);
	iort__runq_fini(&dst2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overflow_after_a_steal_takes_nothing_stale),
		cmocka_unit_test(pop_during_steal),
		cmocka_unit_test(pop_back_against_a_claim),
		cmocka_unit_test(pop_back_loses_to_two_steals),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
