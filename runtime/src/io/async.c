/*
 * Poll-style futures over the blocking primitives (iort/async.h).
 *
 * A future is a small state machine that its task polls: INIT (started, never polled), PENDING
 * (polled, waiting: it holds a clone of the task's waker, and whatever it registered), DONE (the
 * result is settled; nothing registered). What may wake a pending task:
 *   - the mutex's hand-off: the record queued with iort_mutex_lock_async() carries its own waker
 *     clone as the callback's argument, which the callback consumes (iort_waker_wake);
 *   - the channel's notification: the waiter's argument is the future's own clone (the channel's
 *     poll calls wait for a running callback, so the clone outlives every call: mutex.c's and
 *     chan.c's headers give the lifetimes);
 *   - the token's callback: iort_waker_wake_by_ref on the future's clone (unregister waits for a
 *     running callback, cancel.c);
 *   - the alarm: a timer on a loop, in a heap record (below), with a clone of its own.
 * A poll always looks at everything again in a fixed order: the token first (-ECANCELED wins over
 * an operation not yet done), then the operation, then the deadline; wake-ups carry no meaning but
 * "look again". All the withdrawing happens in the task's own poll or fini, never in a callback.
 *
 * The alarm record (struct alarm): a timer belongs to its loop's thread, and the task may be polled
 * (and finish, and be freed) on another worker. So the timer lives in a heap record with two
 * references, the future's and the loop's:
 *   I1  state ARMED -> FIRED (the timer's callback, on the loop) or ARMED -> DROPPED (the future's
 *       teardown): one CAS decides which side owns the record's waker clone (the callback wakes
 *       with it, the teardown drops it), so the task is woken at most once by its alarm and the
 *       clone is released exactly once.
 *   I2  the loop's reference is dropped by the callback (it fired: the timer is idle) or by
 *       whoever cancelled the timer successfully on the loop's thread (it never fires): the
 *       teardown itself when it runs on that loop (iort_loop_current()), else a post to the loop
 *       (iort_loop_post: the record's post node, used once); if the loop refuses the post
 *       (-ESHUTDOWN: being destroyed, it runs no callback again), the teardown drops it.
 *   I3  the future's reference is dropped by its teardown; the last reference frees the record
 *       (async.R1 release / async.A1 acquire: every use of the record happens before the free).
 * A record posted to a loop that never runs again (a pool shut down with the task's sleep still
 * armed, destroyed later: posts queued then are dropped) is not freed: docs/async.md.
 *
 * Test points (tests/runtime/windows/win_async.c): async.fire (the timer's callback, before its
 * CAS), async.fired (after its CAS, and its wake if it won), async.teardown (a teardown, before its CAS), async.cancel_post (the loop runs the
 * cancel post, before cancelling the timer).
 */
#include <iort/async.h>
#include <iort/clock.h>
#include <iort/reactor.h>
#include <iort/timer.h>

#include "async-private.h"
#include "testpoint-private.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { K_NONE = 0, K_SLEEP, K_LOCK, K_SEND, K_RECV, K_IO };
enum { S_INIT = 0, S_PENDING, S_DONE };
enum { F_CCB = 1, F_QUEUED = 2 }; /* token callback registered; mutex record queued */
enum { A_ARMED = 0, A_FIRED, A_DROPPED };

struct alarm {
	struct iort_timer timer; /* the loop's thread only */
	struct iort_post post;	 /* the cancel post (used once) */
	struct iort_loop *loop;
	struct iort_waker *waker; /* the record's clone: I1 */
	_Atomic uint32_t state;
	_Atomic uint32_t refs;
};

static _Atomic long alarms_live; /* records not yet freed (tests: iort__async_alarms_live) */

long iort__async_alarms_live(void)
{
	/* MO relaxed: a counter for tests, read after the records' owners are done. */
	return atomic_load_explicit(&alarms_live, memory_order_relaxed);
}

static void alarm_unref(struct alarm *a)
{
	/* MO async.R1 (acq_rel): release: our uses of the record before its free; acquire (the
	 * last): every other side's uses before our free;
	 * pairs with async.R1 (the other sides' decrements). */
	if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(a);
	/* MO relaxed: a counter for tests. */
	atomic_fetch_sub_explicit(&alarms_live, 1, memory_order_relaxed);
}

/* The timer's callback, on the loop's thread. */
static void alarm_fire(struct iort_timer *t, void *arg)
{
	struct alarm *a = arg;
	uint32_t s = A_ARMED;

	(void)t;
	IORT_TP("async.fire");
	/* MO async.R2 (acq_rel): release: FIRED before the task's look at it (its poll reads the
	 * state with async.A2); acquire: nothing; pairs with async.A2. */
	if (atomic_compare_exchange_strong_explicit(&a->state, &s, A_FIRED, memory_order_acq_rel,
						    memory_order_relaxed))
		iort_waker_wake(a->waker); /* I1: ours to wake with */
	IORT_TP("async.fired");
	alarm_unref(a); /* I2: it fired, the timer is idle */
}

/* The cancel post, on the loop's thread (I2). */
static void alarm_cancel_post(struct iort_post *p)
{
	struct alarm *a = (struct alarm *)((char *)p - offsetof(struct alarm, post));

	IORT_TP("async.cancel_post");
	if (iort_loop_timer_cancel(a->loop, &a->timer))
		alarm_unref(a); /* it will never fire */
	/* else it fired already (alarm_fire dropped the loop's reference) */
	alarm_unref(a); /* the post's own reference (taken by the teardown) */
}

/* Arm an alarm for @p deadline on the current loop. @return 0, -ENOTSUP (no loop), -ENOMEM. */
static int alarm_arm(struct iort_async *f, uint64_t deadline)
{
	struct iort_loop *l = iort_loop_current();

	if (!l)
		return -ENOTSUP;
	struct alarm *a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	iort_timer_init(&a->timer, alarm_fire, a);
	a->loop = l;
	a->waker = iort_waker_clone(f->iort_private_waker);
	atomic_init(&a->state, A_ARMED);
	atomic_init(&a->refs, 2); /* the future's and the loop's */
	int r = iort_loop_timer_arm(l, &a->timer, deadline);
	if (r != 0) {
		iort_waker_drop(a->waker);
		free(a);
		return r;
	}
	/* MO relaxed: a counter for tests. */
	atomic_fetch_add_explicit(&alarms_live, 1, memory_order_relaxed);
	f->iort_private_alarm = a;
	return 0;
}

/* Whether the alarm fired (the deadline passed and its callback woke us). */
static bool alarm_fired(struct iort_async *f)
{
	struct alarm *a = f->iort_private_alarm;

	/* MO async.A2 (acquire): pairs with async.R2 (nothing else to see: a flag). */
	return a && atomic_load_explicit(&a->state, memory_order_acquire) == A_FIRED;
}

/* The future lets go of its alarm (I1-I3). */
static void alarm_teardown(struct iort_async *f)
{
	struct alarm *a = f->iort_private_alarm;
	uint32_t s = A_ARMED;

	if (!a)
		return;
	f->iort_private_alarm = NULL;
	IORT_TP("async.teardown");
	/* MO relaxed: the CAS only decides who owns the waker clone (I1); the record's memory is
	 * ordered by async.R1. */
	if (atomic_compare_exchange_strong_explicit(&a->state, &s, A_DROPPED, memory_order_relaxed,
						    memory_order_relaxed)) {
		iort_waker_drop(a->waker);
		if (iort_loop_current() == a->loop) {
			if (iort_loop_timer_cancel(a->loop, &a->timer))
				alarm_unref(a); /* I2: it will never fire */
		} else {
			/* MO relaxed: a reference for the post, ordered by the post's own queue. */
			atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
			if (iort_loop_post(a->loop, &a->post, alarm_cancel_post) != 0) {
				/* the loop is being destroyed: it fires nothing any more */
				alarm_unref(a);
				alarm_unref(a);
			}
		}
	}
	alarm_unref(a); /* I3 */
}

/* ---- wake-ups ---- */

static void on_cancel(void *arg)
{
	struct iort_async *f = arg;

	iort_waker_wake_by_ref(f->iort_private_waker);
}

static void on_ready(void *arg)
{
	iort_waker_wake_by_ref(arg);
}

static void on_grant(void *arg)
{
	iort_waker_wake(arg); /* the clone queued with the record */
}

/* ---- starting ---- */

static void start(struct iort_async *f, unsigned kind, uint64_t deadline_ns, struct iort_cancel *c)
{
	f->iort_private_kind = kind;
	f->iort_private_state = S_INIT;
	f->iort_private_result = 0;
	f->iort_private_flags = 0;
	f->iort_private_deadline = deadline_ns;
	f->iort_private_cancel = c;
	f->iort_private_waker = NULL;
	f->iort_private_alarm = NULL;
	f->iort_private_m = NULL;
	f->iort_private_ch = NULL;
	f->iort_private_item = NULL;
	f->iort_private_loop = NULL;
	f->iort_private_fd = -1;
	f->iort_private_events = 0;
	f->iort_private_ready = 0;
	iort_chan_waiter_init(&f->iort_private_cw);
}

IORT_API void iort_async_sleep(struct iort_async *f, uint64_t deadline_ns, struct iort_cancel *c)
{
	start(f, K_SLEEP, deadline_ns, c);
}

IORT_API void iort_async_mutex_lock(struct iort_async *f, struct iort_mutex *m,
				    uint64_t deadline_ns, struct iort_cancel *c)
{
	start(f, K_LOCK, deadline_ns, c);
	f->iort_private_m = m;
}

IORT_API void iort_async_chan_send(struct iort_async *f, struct iort_chan *ch, void *item,
				   uint64_t deadline_ns, struct iort_cancel *c)
{
	start(f, K_SEND, deadline_ns, c);
	f->iort_private_ch = ch;
	f->iort_private_item = item;
}

IORT_API void iort_async_chan_recv(struct iort_async *f, struct iort_chan *ch, uint64_t deadline_ns,
				   struct iort_cancel *c)
{
	start(f, K_RECV, deadline_ns, c);
	f->iort_private_ch = ch;
}

IORT_API void iort_async_io(struct iort_async *f, struct iort_loop *l, int fd, uint32_t events,
			    uint64_t deadline_ns, struct iort_cancel *c)
{
	start(f, K_IO, deadline_ns, c);
	f->iort_private_loop = l;
	f->iort_private_fd = fd;
	f->iort_private_events = events & (IORT_IO_READ | IORT_IO_WRITE);
}

IORT_API uint32_t iort_async_ready(const struct iort_async *f)
{
	if (f->iort_private_kind != K_IO || f->iort_private_state != S_DONE ||
	    f->iort_private_result != 0)
		return 0;
	return f->iort_private_ready;
}

/* ---- settling ---- */

/*
 * Withdraw what the operation registered. @p owned: a mutex handed over is the task's result
 * (keep it); else unlock one that was handed over unseen.
 */
static void withdraw_op(struct iort_async *f, bool owned)
{
	switch (f->iort_private_kind) {
	case K_LOCK:
		if (f->iort_private_flags & F_QUEUED) {
			f->iort_private_flags &= ~(uint32_t)F_QUEUED;
			if (!iort_mutex_lock_async_cancel(f->iort_private_m,
							  &f->iort_private_rec) &&
			    !owned)
				iort_mutex_unlock_async(f->iort_private_m);
		}
		break;
	case K_SEND:
	case K_RECV:
		/* idle after a successful poll; else passes on a notification it absorbed */
		(void)iort_chan_poll_cancel(f->iort_private_ch, &f->iort_private_cw);
		break;
	case K_IO:
		/* the waker iort_io_poll() kept for us, if any: no later edge polls us */
		iort_io_unwait(f->iort_private_loop, f->iort_private_fd, f->iort_private_events);
		break;
	default:
		break;
	}
}

/* Withdraw everything but the operation: the alarm, the token callback, our waker clone. */
static void withdraw_rest(struct iort_async *f)
{
	alarm_teardown(f);
	if (f->iort_private_flags & F_CCB) {
		f->iort_private_flags &= ~(uint32_t)F_CCB;
		/* waits while the callback runs: then it no longer touches f or our clone */
		(void)iort_cancel_unregister(f->iort_private_cancel, &f->iort_private_ccb);
	}
	if (f->iort_private_waker) {
		iort_waker_drop(f->iort_private_waker);
		f->iort_private_waker = NULL;
	}
}

static int settle(struct iort_async *f, int result)
{
	withdraw_rest(f);
	f->iort_private_state = S_DONE;
	f->iort_private_result = result;
	return result;
}

/* One attempt at the operation. @return 0 (done), 1 (not yet), a negative errno (failed). */
static int attempt(struct iort_async *f)
{
	switch (f->iort_private_kind) {
	case K_LOCK: {
		if (f->iort_private_flags & F_QUEUED) {
			if (!iort_mutex_waiter_granted(&f->iort_private_rec))
				return 1;
			f->iort_private_flags &= ~(uint32_t)F_QUEUED;
			return 0;
		}
		struct iort_waker *c = iort_waker_clone(f->iort_private_waker);
		if (iort_mutex_lock_async(f->iort_private_m, &f->iort_private_rec, on_grant, c)) {
			iort_waker_drop(c);
			return 0;
		}
		f->iort_private_flags |= F_QUEUED;
		/* granted between the queueing and now: the callback consumes c either way */
		if (iort_mutex_waiter_granted(&f->iort_private_rec)) {
			f->iort_private_flags &= ~(uint32_t)F_QUEUED;
			return 0;
		}
		return 1;
	}
	case K_SEND:
		return iort_chan_poll_send(f->iort_private_ch, f->iort_private_item,
					   &f->iort_private_cw, on_ready, f->iort_private_waker)
			       ? 1
			       : 0;
	case K_RECV:
		return iort_chan_poll_recv(f->iort_private_ch, &f->iort_private_item,
					   &f->iort_private_cw, on_ready, f->iort_private_waker)
			       ? 1
			       : 0;
	case K_IO: {
		uint32_t ready;
		int r = iort_io_poll(f->iort_private_loop, f->iort_private_fd,
				     f->iort_private_events, f->iort_private_waker, &ready);
		if (r == IORT_READY)
			f->iort_private_ready = ready;
		return r == IORT_READY ? 0 : r == IORT_PENDING ? 1 : r;
	}
	default:
		return 1; /* a sleep is done by its deadline only */
	}
}

IORT_API int iort_async_poll(struct iort_async *f, struct iort_waker *w)
{
	struct iort_cancel *c = f->iort_private_cancel;
	uint64_t deadline = f->iort_private_deadline;

	if (f->iort_private_state == S_DONE)
		return f->iort_private_result;
	if (f->iort_private_state == S_INIT) {
		if (c && iort_cancel_requested(c))
			return settle(f, -ECANCELED);
		f->iort_private_waker = iort_waker_clone(w);
		f->iort_private_state = S_PENDING;
		if (c) {
			if (iort_cancel_register(c, &f->iort_private_ccb, on_cancel, f) != 0)
				return settle(f,
					      -ECANCELED); /* it ran: a spurious wake, harmless */
			f->iort_private_flags |= F_CCB;
		}
	}
	/* The token first: it wins over an operation not yet done. */
	if (c && iort_cancel_requested(c)) {
		withdraw_op(f, false);
		return settle(f, -ECANCELED);
	}
	int a = attempt(f);
	if (a <= 0) {
		if (a < 0)
			withdraw_op(f, false);
		return settle(f, a);
	}
	if (deadline != IORT_DEADLINE_NONE && (alarm_fired(f) || iort_clock_ns() >= deadline)) {
		if (f->iort_private_kind == K_SLEEP)
			return settle(f, 0);
		/* a mutex handed over meanwhile wins over the deadline, as lock_timed */
		if (f->iort_private_kind == K_LOCK && (f->iort_private_flags & F_QUEUED) &&
		    !iort_mutex_lock_async_cancel(f->iort_private_m, &f->iort_private_rec)) {
			f->iort_private_flags &= ~(uint32_t)F_QUEUED;
			return settle(f, 0);
		}
		f->iort_private_flags &= ~(uint32_t)F_QUEUED;
		withdraw_op(f, false);
		return settle(f, -ETIMEDOUT);
	}
	if (deadline != IORT_DEADLINE_NONE && !f->iort_private_alarm) {
		int r = alarm_arm(f, deadline);
		if (r != 0) {
			withdraw_op(f, false);
			return settle(f, r);
		}
	}
	return IORT_PENDING;
}

IORT_API void *iort_async_item(const struct iort_async *f)
{
	if (f->iort_private_kind != K_RECV || f->iort_private_state != S_DONE ||
	    f->iort_private_result != 0)
		return NULL;
	return f->iort_private_item;
}

IORT_API void iort_async_fini(struct iort_async *f)
{
	if (f->iort_private_state == S_PENDING) {
		withdraw_op(f, false);
		withdraw_rest(f);
	}
	f->iort_private_state = S_DONE;
	f->iort_private_kind = K_NONE;
}
