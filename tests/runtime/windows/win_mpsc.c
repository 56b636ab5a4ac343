/*
 * mpsc.c's in-flight window (I3), driven through test points: a producer stopped between its
 * exchange of tail and its link store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/mpsc.h>

#include "tp.h"
#include "stress.h"

enum { PRODUCER = 1, CONSUMER = 2 };

struct item {
	int value;
	struct iort_mpsc_node node;
};

struct push_arg {
	struct iort_mpsc *q;
	struct item *it;
	bool was_empty;
};

static int value_of(struct iort_mpsc_node *n)
{
	return n ? ((struct item *)(void *)((char *)n - offsetof(struct item, node)))->value : -1;
}

static void *push_thread(void *arg)
{
	struct push_arg *a = arg;

	tp_tag(PRODUCER);
	a->was_empty = iort_mpsc_push(a->q, &a->it->node);
	return NULL;
}

struct pop_arg {
	struct iort_mpsc *q;
	int value;
};

static void *pop_thread(void *arg)
{
	struct pop_arg *a = arg;

	tp_tag(CONSUMER);
	a->value = value_of(iort_mpsc_pop(a->q));
	return NULL;
}

/*
 * Push @p it from a producer thread stopped between its exchange of tail and its link store, pop
 * from a consumer thread while it is stopped there, and release it once the consumer waits for
 * the link. @return the value the consumer popped; *was_empty becomes the producer's push result
 * (callers start it at the opposite of what they expect, so an unset result fails).
 */
static int pop_during_push_in_flight(struct iort_mpsc *q, struct item *it, bool *was_empty)
{
	struct push_arg pa = { q, it, *was_empty };
	struct pop_arg ca = { q, 0 };
	pthread_t p, c;
	int s;

	tp_reset();
	s = tp_stop_at("mpsc.push_exchanged", PRODUCER, 0);
	assert_int_equal(pthread_create(&p, NULL, push_thread, &pa), 0);
	tp_wait_stopped(s);
	assert_int_equal(pthread_create(&c, NULL, pop_thread, &ca), 0);
	tp_wait_hits("mpsc.wait_in_flight", CONSUMER, 1);
	tp_release(s);
	assert_int_equal(pthread_join(p, NULL), 0);
	assert_int_equal(pthread_join(c, NULL), 0);
	*was_empty = pa.was_empty;
	return ca.value;
}

/* The first push into an empty queue is in flight: pop waits for it instead of calling the queue
 * empty (tail has moved) or returning a node that is not linked yet. */
static void pop_waits_for_first_push_in_flight(void **state)
{
	struct iort_mpsc *q;
	struct item a = { .value = 1 };
	bool was_empty = false;

	(void)state;
	assert_int_equal(iort_mpsc_create(&q), 0);
	assert_int_equal(pop_during_push_in_flight(q, &a, &was_empty), 1);
	assert_true(was_empty);
	assert_null(iort_mpsc_pop(q));
	assert_true(iort_mpsc_empty(q));
	iort_mpsc_destroy(q);
}

/* Popping the last node races with a push that has exchanged tail from it but not linked: the
 * consumer's CAS of tail back to the stub fails, and it must wait for the link, so that the
 * pushed node is the next pop and the queue is empty after it. */
static void pop_last_waits_for_link_in_flight(void **state)
{
	struct iort_mpsc *q;
	struct item x = { .value = 1 }, b = { .value = 2 };
	bool was_empty = true;

	(void)state;
	assert_int_equal(iort_mpsc_create(&q), 0);
	assert_true(iort_mpsc_push(q, &x.node));
	assert_int_equal(pop_during_push_in_flight(q, &b, &was_empty), 1);
	assert_false(was_empty);
	assert_int_equal(value_of(iort_mpsc_pop(q)), 2);
	assert_null(iort_mpsc_pop(q));
	assert_true(iort_mpsc_empty(q));
	iort_mpsc_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pop_waits_for_first_push_in_flight),
		cmocka_unit_test(pop_last_waits_for_link_in_flight),
	};

	stress_watchdog(60); /* a mutant that loses the link hangs in the next pop */
	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
