/*
 * The channel's poll-style operations (iort/chan.h: iort_chan_poll_send/recv, poll_cancel): a
 * ready channel serves at once, a registered waiter is notified once per readiness in FIFO order
 * (its callback runs inside the operation that made the channel ready), a poll while registered
 * does not register twice, a cancel removes a registration (true) or passes on a notification it
 * absorbed (false), and threads blocked in the timed calls and registered waiters are both served.
 * Cross-thread: two "tasks" made of threads that sleep on a semaphore between polls exchange
 * items in order, none lost or duplicated. No test sleeps to synchronize or asserts a duration.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <iort/chan.h>
#include <iort/clock.h>

#include "stress.h"

#define CAP 2

/* A waiter and a count of its callbacks. */
struct aw {
	struct iort_chan_waiter w;
	_Atomic int calls;
	sem_t sem; /* posted by each callback */
};

static void on_ready(void *arg)
{
	struct aw *a = arg;

	atomic_fetch_add(&a->calls, 1);
	sem_post(&a->sem);
}

static void aw_init(struct aw *a)
{
	iort_chan_waiter_init(&a->w);
	atomic_store(&a->calls, 0);
	assert_int_equal(sem_init(&a->sem, 0, 0), 0);
}

static void aw_fini(struct aw *a)
{
	sem_destroy(&a->sem);
}

static int precv(struct iort_chan *ch, struct aw *a, void **item)
{
	return iort_chan_poll_recv(ch, item, &a->w, on_ready, a);
}

static int psend(struct iort_chan *ch, struct aw *a, uintptr_t v)
{
	return iort_chan_poll_send(ch, (void *)v, &a->w, on_ready, a);
}

/* A ready channel: no registration, no callback. */
static void ready_at_once(void **state)
{
	struct iort_chan *ch;
	struct aw a;
	void *item = NULL;

	(void)state;
	aw_init(&a);
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	assert_int_equal(psend(ch, &a, 1), 0);
	assert_int_equal(precv(ch, &a, &item), 0);
	assert_ptr_equal(item, (void *)1);
	assert_false(iort_chan_poll_cancel(ch, &a.w)); /* idle: nothing to remove */
	assert_int_equal(atomic_load(&a.calls), 0);
	iort_chan_destroy(ch);
	aw_fini(&a);
}

/* Empty: a receive registers; the send that makes an item available calls back (inside it);
 * the next poll receives it. Full: the mirror for a send. */
static void registered_then_notified(void **state)
{
	struct iort_chan *ch;
	struct aw r, s;
	void *item = NULL;

	(void)state;
	aw_init(&r);
	aw_init(&s);
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	assert_int_equal(precv(ch, &r, &item), -EAGAIN);
	assert_int_equal(precv(ch, &r, &item), -EAGAIN); /* still registered: once */
	assert_int_equal(atomic_load(&r.calls), 0);
	assert_true(iort_chan_try_send(ch, (void *)5));
	assert_int_equal(atomic_load(&r.calls), 1);
	assert_int_equal(precv(ch, &r, &item), 0);
	assert_ptr_equal(item, (void *)5);
	assert_true(iort_chan_try_send(ch, (void *)6));
	assert_int_equal(atomic_load(&r.calls), 1); /* not registered any more */

	assert_true(iort_chan_try_send(ch, (void *)7));
	assert_int_equal(psend(ch, &s, 8), -EAGAIN); /* full */
	assert_true(iort_chan_try_recv(ch, &item));
	assert_ptr_equal(item, (void *)6);
	assert_int_equal(atomic_load(&s.calls), 1);
	assert_int_equal(psend(ch, &s, 8), 0);
	assert_true(iort_chan_try_recv(ch, &item));
	assert_ptr_equal(item, (void *)7);
	assert_true(iort_chan_try_recv(ch, &item));
	assert_ptr_equal(item, (void *)8);
	assert_int_equal(atomic_load(&r.calls) + atomic_load(&s.calls), 2);
	iort_chan_destroy(ch);
	aw_fini(&r);
	aw_fini(&s);
}

/* Registered waiters are notified one per readiness, first registered first. */
static void one_notification_per_item_in_order(void **state)
{
	struct iort_chan *ch;
	struct aw a[3];
	void *item = NULL;

	(void)state;
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	for (int i = 0; i < 3; i++) {
		aw_init(&a[i]);
		assert_int_equal(precv(ch, &a[i], &item), -EAGAIN);
	}
	for (int k = 0; k < 3; k++) {
		assert_true(iort_chan_try_send(ch, (void *)(uintptr_t)(10 + k)));
		for (int i = 0; i < 3; i++)
			assert_int_equal(atomic_load(&a[i].calls), i <= k ? 1 : 0);
		assert_int_equal(precv(ch, &a[k], &item), 0);
		assert_ptr_equal(item, (void *)(uintptr_t)(10 + k));
	}
	iort_chan_destroy(ch);
	for (int i = 0; i < 3; i++)
		aw_fini(&a[i]);
}

/* A cancel removes a registration (true; no callback later), or, when the waiter was notified and
 * gives up without polling, passes the notification on to the next waiter (false). */
static void cancel_removes_or_passes_on(void **state)
{
	struct iort_chan *ch;
	struct aw a, b, c;
	void *item = NULL;

	(void)state;
	aw_init(&a);
	aw_init(&b);
	aw_init(&c);
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	assert_int_equal(precv(ch, &a, &item), -EAGAIN);
	assert_int_equal(precv(ch, &b, &item), -EAGAIN);
	assert_int_equal(precv(ch, &c, &item), -EAGAIN);
	assert_true(iort_chan_poll_cancel(ch, &c.w));  /* removed */
	assert_false(iort_chan_poll_cancel(ch, &c.w)); /* idle now */
	assert_true(iort_chan_try_send(ch, (void *)1));
	assert_int_equal(atomic_load(&a.calls), 1);
	assert_int_equal(atomic_load(&b.calls), 0);
	assert_false(iort_chan_poll_cancel(ch, &a.w)); /* absorbed, gives up: passes it on */
	assert_int_equal(atomic_load(&b.calls), 1);
	assert_int_equal(precv(ch, &b, &item), 0);
	assert_ptr_equal(item, (void *)1);
	assert_true(iort_chan_try_send(ch, (void *)2));
	assert_int_equal(atomic_load(&a.calls) + atomic_load(&b.calls) + atomic_load(&c.calls), 2);
	assert_true(iort_chan_try_recv(ch, &item));
	iort_chan_destroy(ch);
	aw_fini(&a);
	aw_fini(&b);
	aw_fini(&c);
}

/* A waiter notified for an item that someone else takes first registers again on its next poll
 * (its notification was spent), and is notified for the next item. */
static void notified_then_beaten_registers_again(void **state)
{
	struct iort_chan *ch;
	struct aw a;
	void *item = NULL;

	(void)state;
	aw_init(&a);
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	assert_int_equal(precv(ch, &a, &item), -EAGAIN);
	assert_true(iort_chan_try_send(ch, (void *)1));
	assert_int_equal(atomic_load(&a.calls), 1);
	assert_true(iort_chan_try_recv(ch, &item)); /* taken by another */
	assert_int_equal(precv(ch, &a, &item), -EAGAIN);
	assert_true(iort_chan_try_send(ch, (void *)2));
	assert_int_equal(atomic_load(&a.calls), 2);
	assert_int_equal(precv(ch, &a, &item), 0);
	assert_ptr_equal(item, (void *)2);
	iort_chan_destroy(ch);
	aw_fini(&a);
}

/* --- threads blocked in the timed calls and registered waiters, on one side ----------------- */

struct blocked {
	struct iort_chan *ch;
	void *item;
	int ret;
	_Atomic pid_t tid;
	pthread_t th;
};

static void *blocked_recv_main(void *arg)
{
	struct blocked *b = arg;

	atomic_store(&b->tid, (pid_t)syscall(SYS_gettid));
	b->ret = iort_chan_recv_timed(b->ch, &b->item, IORT_DEADLINE_NONE, NULL);
	return NULL;
}

/* Block until thread @p tid sleeps in the kernel on a futex (polls /proc; no fixed sleep). */
static void wait_in_futex(pid_t tid)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)tid);
	for (;;) {
		FILE *f = fopen(path, "r");
		size_t n;

		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		if (strncmp(buf, "futex", 5) == 0)
			return;
		sched_yield();
	}
}

static void threads_and_waiters_both_served(void **state)
{
	struct iort_chan *ch;
	struct blocked t = { 0 };
	struct aw a;
	void *item = NULL;

	(void)state;
	aw_init(&a);
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	t.ch = ch;
	assert_int_equal(pthread_create(&t.th, NULL, blocked_recv_main, &t), 0);
	while (!atomic_load(&t.tid))
		sched_yield();
	wait_in_futex(atomic_load(&t.tid));
	assert_int_equal(precv(ch, &a, &item), -EAGAIN);
	assert_true(iort_chan_try_send(ch, (void *)1)); /* wakes one of each kind */
	assert_int_equal(atomic_load(&a.calls), 1);
	int got = precv(ch, &a, &item);
	if (got == 0) {
		assert_ptr_equal(item, (void *)1);
		assert_true(iort_chan_try_send(ch, (void *)2)); /* for the thread */
	} else {
		assert_int_equal(got, -EAGAIN); /* the thread took it: registered again */
		assert_true(iort_chan_try_send(ch, (void *)2));
		assert_int_equal(atomic_load(&a.calls), 2);
		assert_int_equal(precv(ch, &a, &item), 0);
		assert_ptr_equal(item, (void *)2);
	}
	assert_int_equal(pthread_join(t.th, NULL), 0);
	assert_int_equal(t.ret, 0);
	assert_ptr_equal(t.item, got == 0 ? (void *)2 : (void *)1);
	iort_chan_destroy(ch);
	aw_fini(&a);
}

/* --- two "tasks" on threads: poll, and sleep on a semaphore that the callback posts --------- */

#define N_ITEMS 20000

struct task_thread {
	struct iort_chan *ch;
	struct aw a;
	bool sender;
	uintptr_t last;
	pthread_t th;
};

static void *task_main(void *arg)
{
	struct task_thread *t = arg;

	for (uintptr_t i = 1; i <= N_ITEMS;) {
		void *item = NULL;
		int r = t->sender ? psend(t->ch, &t->a, i) : precv(t->ch, &t->a, &item);

		if (r == -EAGAIN) {
			while (sem_wait(&t->a.sem) != 0)
				;
			continue;
		}
		STRESS_CHECK(r == 0);
		if (!t->sender) {
			STRESS_CHECK((uintptr_t)item == i); /* in order, none lost or duplicated */
			t->last = i;
		}
		i++;
	}
	return NULL;
}

static void task_threads_exchange_in_order(void **state)
{
	struct iort_chan *ch;
	struct task_thread s = { 0 }, r = { 0 };
	void *item = NULL;

	(void)state;
	assert_int_equal(iort_chan_create(CAP, &ch), 0);
	s.ch = r.ch = ch;
	s.sender = true;
	aw_init(&s.a);
	aw_init(&r.a);
	assert_int_equal(pthread_create(&r.th, NULL, task_main, &r), 0);
	assert_int_equal(pthread_create(&s.th, NULL, task_main, &s), 0);
	assert_int_equal(pthread_join(s.th, NULL), 0);
	assert_int_equal(pthread_join(r.th, NULL), 0);
	assert_int_equal(r.last, N_ITEMS);
	assert_false(iort_chan_try_recv(ch, &item));
	iort_chan_destroy(ch);
	aw_fini(&s.a);
	aw_fini(&r.a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ready_at_once),
		cmocka_unit_test(registered_then_notified),
		cmocka_unit_test(one_notification_per_item_in_order),
		cmocka_unit_test(cancel_removes_or_passes_on),
		cmocka_unit_test(notified_then_beaten_registers_again),
		cmocka_unit_test(threads_and_waiters_both_served),
		cmocka_unit_test(task_threads_exchange_in_order),
	};

	stress_watchdog(110); /* a stranded waiter is a failure with a backtrace, not a hang */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
