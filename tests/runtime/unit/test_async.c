/*
 * The async futures' contract (iort/async.h), in pools made by iort_loop_pool_create:
 *  - a task that sleeps never blocks its worker: with one worker, a sleeping task and a task
 *    that must run meanwhile (it cancels the sleeper) both finish;
 *  - a sleep ends at its deadline, never before; a past deadline ends at once;
 *  - a cancelled token wakes a sleep with -ECANCELED and its timer is taken off the loop (the
 *    timer record is freed long before the deadline), also when the future is dropped on a
 *    thread that is not its loop's (the cancel goes through a post);
 *  - the mutex is handed to waiting tasks in FIFO order, each resuming as its owner; a deadline
 *    gives -ETIMEDOUT and leaves the queue; a token gives -ECANCELED, also when the mutex was
 *    handed over before the task looked (it is passed on: the mutex ends free);
 *  - send and receive between tasks and threads, in order; a receive's deadline gives -ETIMEDOUT
 *    and leaves no registration behind (the next item goes to a thread).
 * No test sleeps to synchronize (flags polled with sched_yield, joins, the watchdog) and none
 * asserts a duration; deadlines are far (a hang) or already due.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <iort/async.h>
#include <iort/cancel.h>
#include <iort/chan.h>
#include <iort/clock.h>
#include <iort/mutex.h>
#include <iort/pool.h>
#include <iort/reactor.h>

#include "async-private.h"
#include "reactor-private.h"
#include "stress.h"

#define FAR_NS (60ull * 1000000000ull)

static uintptr_t word_of(struct iort_mutex *m)
{
	return atomic_load((_Atomic uintptr_t *)(void *)&m->iort_private_word);
}

static struct iort_pool *make_pool(unsigned workers)
{
	struct iort_pool_config pc = { .workers = workers };
	struct iort_pool *p = NULL;

	assert_int_equal(iort_loop_pool_create(&pc, NULL, &p), 0);
	return p;
}

/* --- a task that runs one future ------------------------------------------------------------ */

enum op { OP_SLEEP, OP_LOCK, OP_SEND, OP_RECV };

static _Atomic int order_log[16];
static _Atomic int order_n;

struct atask {
	struct iort_async f;
	enum op op;
	int id;
	uint64_t deadline;
	struct iort_cancel *cancel;
	struct iort_mutex *m;
	struct iort_chan *ch;
	void *item;
	bool started;
	int result;
	uint64_t done_at;
	_Atomic int pending; /* it returned IORT_PENDING at least once */
	_Atomic int finished;
};

static enum iort_poll atask_poll(void *arg, struct iort_waker *w)
{
	struct atask *t = arg;

	if (!t->started) {
		t->started = true;
		switch (t->op) {
		case OP_SLEEP:
			iort_async_sleep(&t->f, t->deadline, t->cancel);
			break;
		case OP_LOCK:
			iort_async_mutex_lock(&t->f, t->m, t->deadline, t->cancel);
			break;
		case OP_SEND:
			iort_async_chan_send(&t->f, t->ch, t->item, t->deadline, t->cancel);
			break;
		case OP_RECV:
			iort_async_chan_recv(&t->f, t->ch, t->deadline, t->cancel);
			break;
		}
	}
	int r = iort_async_poll(&t->f, w);
	if (r == IORT_PENDING) {
		atomic_store(&t->pending, 1);
		return IORT_PENDING;
	}
	t->result = r;
	t->done_at = iort_clock_ns();
	if (t->op == OP_RECV && r == 0)
		t->item = iort_async_item(&t->f);
	iort_async_fini(&t->f);
	if (t->op == OP_LOCK && r == 0) {
		atomic_store(&order_log[atomic_fetch_add(&order_n, 1) % 16], t->id);
		iort_mutex_unlock_async(t->m); /* the task owns it: resume, then release */
	}
	atomic_store(&t->finished, 1);
	return IORT_READY;
}

/* done(): a task cancelled before it finished drops its future here (any thread). */
static void atask_done(void *arg, int status)
{
	struct atask *t = arg;

	if (status != 0 && t->started && !atomic_load(&t->finished))
		iort_async_fini(&t->f);
}

static struct iort_task *spawn(struct iort_pool *p, struct atask *t)
{
	struct iort_spawn opt = { .poll = atask_poll, .arg = t, .done = atask_done };
	struct iort_task *h = NULL;

	assert_int_equal(iort_pool_spawn_ex(p, &opt, &h), 0);
	return h;
}

static void wait_flag(_Atomic int *flag)
{
	while (!atomic_load(flag))
		sched_yield(); /* bounded by the watchdog */
}

static void wait_no_alarms(void)
{
	while (iort__async_alarms_live() != 0)
		sched_yield(); /* a post to a running loop: bounded by the watchdog */
}

/* --- a task that cancels a token (it must get the worker while the sleeper waits) ---------- */

struct canceller {
	struct iort_cancel *c;
	_Atomic int *wait_for;
};

static enum iort_poll cancel_poll(void *arg, struct iort_waker *w)
{
	struct canceller *k = arg;

	(void)w;
	STRESS_CHECK(atomic_load(k->wait_for)); /* spawned after the sleeper went pending */
	iort_cancel_request(k->c);
	return IORT_READY;
}

/* One worker: the sleeper goes pending, the canceller runs on the same worker and wakes it. */
static void sleep_does_not_block_worker(void **state)
{
	struct iort_pool *p = make_pool(1);
	struct iort_cancel c;
	struct atask s = { .op = OP_SLEEP, .cancel = &c };
	struct canceller k = { .c = &c, .wait_for = &s.pending };

	(void)state;
	iort_cancel_init(&c);
	s.deadline = iort_clock_ns() + FAR_NS;
	struct iort_task *hs = spawn(p, &s);
	wait_flag(&s.pending);
	struct iort_spawn opt = { .poll = cancel_poll, .arg = &k };
	struct iort_task *hk = NULL;
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &hk), 0);
	assert_int_equal(iort_task_join(hk), 0);
	assert_int_equal(iort_task_join(hs), 0);
	assert_int_equal(s.result, -ECANCELED);
	wait_no_alarms(); /* its timer was taken off the loop, 60 s before its deadline */
	iort_pool_destroy(p);
	iort_cancel_fini(&c);
}

/* A sleep ends at its deadline, never before; a past deadline ends at once, with no timer. */
static void sleep_until_deadline(void **state)
{
	struct iort_pool *p = make_pool(2);

	(void)state;
	for (int k = 0; k < 3; k++) {
		struct atask s = { .op = OP_SLEEP };
		s.deadline = k == 0 ? 0 : iort_clock_ns() + (uint64_t)k * 2000000u;
		struct iort_task *h = spawn(p, &s);
		assert_int_equal(iort_task_join(h), 0);
		assert_int_equal(s.result, 0);
		assert_true(s.done_at >= s.deadline);
		if (k == 0)
			assert_int_equal(atomic_load(&s.pending), 0);
	}
	wait_no_alarms();
	iort_pool_destroy(p);
}

/* A token cancelled from a foreign thread wakes the sleep with -ECANCELED; a token cancelled
 * before the first poll ends it at once. */
static void sleep_cancelled(void **state)
{
	struct iort_pool *p = make_pool(2);
	struct iort_cancel c;

	(void)state;
	iort_cancel_init(&c);
	struct atask s = { .op = OP_SLEEP, .cancel = &c, .deadline = iort_clock_ns() + FAR_NS };
	struct iort_task *h = spawn(p, &s);
	wait_flag(&s.pending);
	assert_int_equal(iort__async_alarms_live(), 1);
	iort_cancel_request(&c);
	assert_int_equal(iort_task_join(h), 0);
	assert_int_equal(s.result, -ECANCELED);
	wait_no_alarms();
	struct atask s2 = { .op = OP_SLEEP, .cancel = &c, .deadline = iort_clock_ns() + FAR_NS };
	h = spawn(p, &s2);
	assert_int_equal(iort_task_join(h), 0);
	assert_int_equal(s2.result, -ECANCELED);
	assert_int_equal(atomic_load(&s2.pending), 0);
	iort_cancel_fini(&c);
	iort_pool_destroy(p);
}

/* A pending sleep dropped on a thread that is not its loop's (the task cancelled: its done()
 * drops the future on the cancelling thread): the timer is cancelled through a post. */
static void sleep_dropped_elsewhere(void **state)
{
	struct iort_pool *p = make_pool(1);
	struct iort_cancel c;

	(void)state;
	iort_cancel_init(&c);
	struct atask s = { .op = OP_SLEEP, .deadline = iort_clock_ns() + FAR_NS };
	struct iort_spawn opt = { .poll = atask_poll, .arg = &s, .done = atask_done, .cancel = &c };
	struct iort_task *h = NULL;
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &h), 0);
	wait_flag(&s.pending);
	iort_cancel_request(&c); /* the pool's cancel: the future is dropped, not polled */
	assert_int_equal(iort_task_join(h), -ECANCELED);
	wait_no_alarms(); /* the loop ran the cancel post */
	iort_pool_destroy(p);
	iort_cancel_fini(&c);
}

/* Tasks queued on a held mutex get it in FIFO order, each resuming as the owner. */
static void mutex_handoff_order(void **state)
{
	struct iort_pool *p = make_pool(2);
	struct iort_mutex m;
	struct atask t[4];
	struct iort_task *h[4];

	(void)state;
	iort_mutex_init(&m);
	atomic_store(&order_n, 0);
	iort_mutex_lock(&m);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct atask){
			.op = OP_LOCK, .id = i, .m = &m, .deadline = IORT_DEADLINE_NONE
		};
		h[i] = spawn(p, &t[i]);
		wait_flag(&t[i].pending); /* queued before the next one starts */
	}
	iort_mutex_unlock(&m);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(iort_task_join(h[i]), 0);
		assert_int_equal(t[i].result, 0);
	}
	assert_int_equal(atomic_load(&order_n), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(atomic_load(&order_log[i]), i);
	assert_int_equal(word_of(&m), 0);
	assert_int_equal(iort_mutex_fini(&m), 0);
	iort_pool_destroy(p);
}

/* A lock's deadline: -ETIMEDOUT, out of the queue (the holder's unlock frees the mutex). */
static void mutex_lock_times_out(void **state)
{
	struct iort_pool *p = make_pool(1);
	struct iort_mutex m;

	(void)state;
	iort_mutex_init(&m);
	iort_mutex_lock(&m);
	struct atask t = { .op = OP_LOCK, .m = &m, .deadline = iort_clock_ns() + 1000000 };
	struct iort_task *h = spawn(p, &t);
	assert_int_equal(iort_task_join(h), 0);
	assert_int_equal(t.result, -ETIMEDOUT);
	assert_true(t.done_at >= t.deadline);
	iort_mutex_unlock(&m);
	assert_int_equal(word_of(&m), 0);
	wait_no_alarms();
	iort_pool_destroy(p);
}

/* A task that occupies the only worker until released: freezes the scheduling for a test. */
static _Atomic int blocker_go;

static void blocker_fn(void *arg)
{
	(void)arg;
	while (!atomic_load(&blocker_go))
		sched_yield();
}

/*
 * A lock's token: cancelled while queued, -ECANCELED and out of the queue; cancelled after the
 * mutex was handed over but before the task looked (the only worker is busy meanwhile), still
 * -ECANCELED, and the task passes the mutex on: it ends free.
 */
static void mutex_lock_cancelled(void **state)
{
	struct iort_pool *p = make_pool(1);
	struct iort_mutex m;

	(void)state;
	iort_mutex_init(&m);
	for (int handed = 0; handed < 2; handed++) {
		struct iort_cancel c;
		iort_cancel_init(&c);
		iort_mutex_lock(&m);
		struct atask t = {
			.op = OP_LOCK, .m = &m, .cancel = &c, .deadline = IORT_DEADLINE_NONE
		};
		struct iort_task *h = spawn(p, &t);
		wait_flag(&t.pending);
		struct iort_task *hb = NULL;
		if (handed) {
			atomic_store(&blocker_go, 0);
			assert_int_equal(iort_pool_spawn(p, blocker_fn, NULL, &hb), 0);
			iort_mutex_unlock(&m); /* handed to the task, which cannot run yet */
			assert_true(word_of(&m) & 1);
		}
		iort_cancel_request(&c);
		if (handed) {
			atomic_store(&blocker_go, 1);
			assert_int_equal(iort_task_join(hb), 0);
		}
		assert_int_equal(iort_task_join(h), 0);
		assert_int_equal(t.result, -ECANCELED);
		if (!handed)
			iort_mutex_unlock(&m);
		assert_int_equal(word_of(&m), 0);
		iort_cancel_fini(&c);
	}
	assert_int_equal(iort_mutex_fini(&m), 0);
	iort_pool_destroy(p);
}

/* --- channels: tasks and threads ------------------------------------------------------------ */

#define N_CHAN 200

struct sender_task {
	struct iort_async f;
	struct iort_chan *ch;
	uintptr_t next;
	bool busy;
};

static enum iort_poll sender_poll(void *arg, struct iort_waker *w)
{
	struct sender_task *s = arg;

	while (s->next <= N_CHAN) {
		if (!s->busy) {
			iort_async_chan_send(&s->f, s->ch, (void *)s->next, IORT_DEADLINE_NONE,
					     NULL);
			s->busy = true;
		}
		int r = iort_async_poll(&s->f, w);
		if (r == IORT_PENDING)
			return IORT_PENDING;
		STRESS_CHECK(r == 0);
		iort_async_fini(&s->f);
		s->busy = false;
		s->next++;
	}
	return IORT_READY;
}

struct receiver_task {
	struct iort_async f;
	struct iort_chan *ch;
	uintptr_t expect;
	bool busy;
};

static enum iort_poll receiver_poll(void *arg, struct iort_waker *w)
{
	struct receiver_task *t = arg;

	while (t->expect <= N_CHAN) {
		if (!t->busy) {
			iort_async_chan_recv(&t->f, t->ch, IORT_DEADLINE_NONE, NULL);
			t->busy = true;
		}
		int r = iort_async_poll(&t->f, w);
		if (r == IORT_PENDING)
			return IORT_PENDING;
		STRESS_CHECK(r == 0);
		STRESS_CHECK((uintptr_t)iort_async_item(&t->f) == t->expect); /* in order */
		iort_async_fini(&t->f);
		t->busy = false;
		t->expect++;
	}
	return IORT_READY;
}

struct chan_thread {
	struct iort_chan *ch;
	pthread_t th;
};

static void *thread_sender(void *arg)
{
	struct chan_thread *t = arg;

	for (uintptr_t i = 1; i <= N_CHAN; i++)
		STRESS_CHECK(iort_chan_send_timed(t->ch, (void *)i, IORT_DEADLINE_NONE, NULL) == 0);
	return NULL;
}

static void *thread_receiver(void *arg)
{
	struct chan_thread *t = arg;

	for (uintptr_t i = 1; i <= N_CHAN; i++) {
		void *item = NULL;
		STRESS_CHECK(iort_chan_recv_timed(t->ch, &item, IORT_DEADLINE_NONE, NULL) == 0);
		STRESS_CHECK((uintptr_t)item == i);
	}
	return NULL;
}

/* task -> task, task -> thread, thread -> task, through a channel of capacity 1 */
static void chan_between_tasks_and_threads(void **state)
{
	struct iort_pool *p = make_pool(2);

	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		struct iort_chan *ch;
		struct sender_task s = { .next = 1 };
		struct receiver_task r = { .expect = 1 };
		struct chan_thread t;
		struct iort_task *hs = NULL, *hr = NULL;

		assert_int_equal(iort_chan_create(1, &ch), 0);
		s.ch = r.ch = t.ch = ch;
		if (mode != 2) {
			struct iort_spawn o = { .poll = sender_poll, .arg = &s };
			assert_int_equal(iort_pool_spawn_ex(p, &o, &hs), 0);
		} else {
			assert_int_equal(pthread_create(&t.th, NULL, thread_sender, &t), 0);
		}
		if (mode != 1) {
			struct iort_spawn o = { .poll = receiver_poll, .arg = &r };
			assert_int_equal(iort_pool_spawn_ex(p, &o, &hr), 0);
		} else {
			assert_int_equal(pthread_create(&t.th, NULL, thread_receiver, &t), 0);
		}
		if (hs)
			assert_int_equal(iort_task_join(hs), 0);
		if (hr)
			assert_int_equal(iort_task_join(hr), 0);
		if (mode != 0)
			assert_int_equal(pthread_join(t.th, NULL), 0);
		void *item;
		assert_false(iort_chan_try_recv(ch, &item));
		iort_chan_destroy(ch);
	}
	iort_pool_destroy(p);
}

/* A receive's deadline gives -ETIMEDOUT and leaves no registration: the next item notifies the
 * receiver that registered after it. A send on a full channel times out the same way; a
 * cancelled receive gives -ECANCELED and leaves no registration either. */
static void chan_timeouts_and_cancel(void **state)
{
	struct iort_pool *p = make_pool(1);
	struct iort_chan *ch;
	struct iort_cancel c;
	void *item = NULL;

	(void)state;
	iort_cancel_init(&c);
	assert_int_equal(iort_chan_create(1, &ch), 0);
	struct atask r = { .op = OP_RECV, .ch = ch, .deadline = iort_clock_ns() + 1000000 };
	struct iort_task *hr = spawn(p, &r);
	/* keep the handle (joined below): the task's record must not be recycled for the next
	 * task, whose waker would then be the timed-out one's */
	wait_flag(&r.finished);
	assert_int_equal(r.result, -ETIMEDOUT);
	assert_true(r.done_at >= r.deadline);
	/* a receiver that registers now is the first in line: the next item notifies it (a
	 * registration left behind by the timed-out receive would take that notification) */
	struct atask rb = { .op = OP_RECV, .ch = ch, .deadline = IORT_DEADLINE_NONE };
	struct iort_task *h = spawn(p, &rb);
	wait_flag(&rb.pending);
	assert_true(iort_chan_try_send(ch, (void *)9));
	assert_int_equal(iort_task_join(h), 0);
	assert_int_equal(rb.result, 0);
	assert_ptr_equal(rb.item, (void *)9);
	assert_int_equal(iort_task_join(hr), 0);
	assert_true(iort_chan_try_send(ch, (void *)1));
	struct atask s = {
		.op = OP_SEND, .ch = ch, .item = (void *)2, .deadline = iort_clock_ns() + 1000000
	};
	h = spawn(p, &s);
	assert_int_equal(iort_task_join(h), 0);
	assert_int_equal(s.result, -ETIMEDOUT);
	assert_true(iort_chan_try_recv(ch, &item));
	assert_ptr_equal(item, (void *)1);
	struct atask rc = {
		.op = OP_RECV, .ch = ch, .cancel = &c, .deadline = iort_clock_ns() + FAR_NS
	};
	h = spawn(p, &rc);
	wait_flag(&rc.pending);
	iort_cancel_request(&c);
	assert_int_equal(iort_task_join(h), 0);
	assert_int_equal(rc.result, -ECANCELED);
	/* nobody registered any more: an item sent now stays for a thread's receive */
	assert_true(iort_chan_try_send(ch, (void *)3));
	assert_int_equal(iort_chan_recv_timed(ch, &item, IORT_DEADLINE_NONE, NULL), 0);
	assert_ptr_equal(item, (void *)3);
	wait_no_alarms();
	iort_chan_destroy(ch);
	iort_cancel_fini(&c);
	iort_pool_destroy(p);
}

/* Without a loop (a plain pool), a deadline cannot be armed: -ENOTSUP; a future without a
 * deadline works there. */
static void plain_pool_needs_loop_for_deadlines(void **state)
{
	struct iort_pool_config pc = { .workers = 1 };
	struct iort_pool *p = NULL;
	struct iort_mutex m;

	(void)state;
	assert_int_equal(iort_pool_create(&pc, &p), 0);
	struct atask s = { .op = OP_SLEEP, .deadline = iort_clock_ns() + FAR_NS };
	struct iort_task *h = spawn(p, &s);
	assert_int_equal(iort_task_join(h), 0);
	assert_int_equal(s.result, -ENOTSUP);
	iort_mutex_init(&m);
	iort_mutex_lock(&m);
	struct atask l = { .op = OP_LOCK, .m = &m, .deadline = IORT_DEADLINE_NONE };
	h = spawn(p, &l);
	wait_flag(&l.pending);
	iort_mutex_unlock(&m);
	assert_int_equal(iort_task_join(h), 0);
	assert_int_equal(l.result, 0);
	assert_int_equal(word_of(&m), 0);
	iort_pool_destroy(p);
}

/* A pool shut down while a task sleeps: shutdown cancels the idle future (done() drops it from
 * the shutting-down thread, which posts the timer's cancel to the loop), and the loop's destroy
 * runs that post, so the timer record is freed, not leaked (ASan's leak check and the count). */
static void shutdown_while_sleeping_frees_the_timer(void **state)
{
	struct iort_pool *p = make_pool(1);
	struct atask t = { .op = OP_SLEEP, .deadline = iort_clock_ns() + FAR_NS };

	(void)state;
	struct iort_task *h = spawn(p, &t);
	wait_flag(&t.pending);
	assert_int_equal(iort__async_alarms_live(), 1);
	iort_task_release(h);
	iort_pool_destroy(p);
	assert_int_equal(iort__async_alarms_live(), 0);
}

/* --- a task that waits for a descriptor (one worker: it runs on the loop it registers on) --- */

struct iotask {
	struct iort_async f;
	int fd;
	uint64_t deadline;
	struct iort_cancel *cancel;
	struct iort_loop *l;
	int result;
	uint32_t ready;
	unsigned wakers_left;
	_Atomic int pending;
};

static enum iort_poll io_poll(void *arg, struct iort_waker *w)
{
	struct iotask *t = arg;

	if (t->l == NULL) {
		t->l = iort_loop_current();
		if (t->l == NULL || iort_io_start(t->l, t->fd, IORT_IO_READ, NULL, NULL) != 0)
			abort();
		iort_async_io(&t->f, t->l, t->fd, IORT_IO_READ, t->deadline, t->cancel);
	}
	int r = iort_async_poll(&t->f, w);
	if (r == IORT_PENDING) {
		atomic_store(&t->pending, 1);
		return IORT_PENDING;
	}
	t->result = r;
	t->ready = iort_async_ready(&t->f);
	iort_async_fini(&t->f);
	t->wakers_left = iort__io_wakers(t->l, t->fd); /* settled: none of ours stays */
	if (iort_io_stop(t->l, t->fd) != 0)	       /* our worker's loop: its thread */
		abort();
	return IORT_READY;
}

static int run_io(struct iort_pool *p, struct iotask *t, int peer, struct iort_cancel *c)
{
	struct iort_spawn opt = { .poll = io_poll, .arg = t };
	struct iort_task *h = NULL;

	assert_int_equal(iort_pool_spawn_ex(p, &opt, &h), 0);
	if (t->deadline == IORT_DEADLINE_NONE || t->deadline > iort_clock_ns() + 1000000000ull) {
		wait_flag(&t->pending); /* it waits: wake it by data or by the token */
		if (c != NULL)
			iort_cancel_request(c);
		else if (write(peer, "x", 1) != 1)
			abort();
	}
	return iort_task_join(h);
}

/* Data wakes the wait with its readiness; a token wakes it with -ECANCELED; a deadline already
 * due with nothing to read gives -ETIMEDOUT; every one leaves no timer behind. */
static void io_ready_cancelled_timed_out(void **state)
{
	struct iort_pool *p = make_pool(1);
	struct iort_cancel c;
	int sv[2];

	(void)state;
	iort_cancel_init(&c);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);

	struct iotask a = { .fd = sv[0], .deadline = iort_clock_ns() + FAR_NS };
	assert_int_equal(run_io(p, &a, sv[1], NULL), 0);
	assert_int_equal(a.result, 0);
	assert_true(a.ready & IORT_IO_READ);
	char b;
	assert_int_equal(read(sv[0], &b, 1), 1);
	wait_no_alarms();

	struct iotask k = { .fd = sv[0], .deadline = iort_clock_ns() + FAR_NS, .cancel = &c };
	assert_int_equal(run_io(p, &k, sv[1], &c), 0);
	assert_int_equal(k.result, -ECANCELED);
	assert_int_equal(k.ready, 0);
	assert_int_equal(k.wakers_left, 0);
	wait_no_alarms();

	struct iotask d = { .fd = sv[0], .deadline = iort_clock_ns() };
	assert_int_equal(run_io(p, &d, sv[1], NULL), 0);
	assert_int_equal(d.result, -ETIMEDOUT);
	assert_int_equal(d.wakers_left, 0);
	wait_no_alarms();

	iort_cancel_fini(&c);
	iort_pool_destroy(p);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sleep_does_not_block_worker),
		cmocka_unit_test(sleep_until_deadline),
		cmocka_unit_test(sleep_cancelled),
		cmocka_unit_test(shutdown_while_sleeping_frees_the_timer),
		cmocka_unit_test(io_ready_cancelled_timed_out),
		cmocka_unit_test(sleep_dropped_elsewhere),
		cmocka_unit_test(mutex_handoff_order),
		cmocka_unit_test(mutex_lock_times_out),
		cmocka_unit_test(mutex_lock_cancelled),
		cmocka_unit_test(chan_between_tasks_and_threads),
		cmocka_unit_test(chan_timeouts_and_cancel),
		cmocka_unit_test(plain_pool_needs_loop_for_deadlines),
	};

	stress_watchdog(110); /* a lost wake-up is a failure with a backtrace, not a hang */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
