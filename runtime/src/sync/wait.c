/*
 * Event count on a futex, the waits' cancellation callback, and the spin-then-park loop.
 *
 * Event count (Vyukov's eventcount; Linux prepare_to_wait()/wake_up()): two words.
 *   seq      bumped by a notifier that saw a waiter; the futex word sleepers wait on.
 *   waiters  how many threads are between prepare and the end of their wait (or cancel).
 *
 *   waiter                                        notifier
 *     waiters++           (wait.S1, seq_cst RMW)    publish the change (caller's own orders)
 *     fence               (wait.S2, seq_cst)        fence                 (wait.S3, seq_cst)
 *     key = seq           (wait.A1, acquire)        if (waiters > 0) {    (relaxed, after S3)
 *     re-check condition  (caller)                      seq++             (wait.R1, release)
 *     futex_wait(seq, key) unless seq != key            futex_wake(1 or all) }
 *     waiters--
 *
 * Why no wake-up is lost (the Dekker pair S2 / S3, C11 7.17.4 "fences"): both fences are in the
 * single total order S. If the waiter's S2 precedes the notifier's S3, the notifier's load of
 * waiters sees the increment and bumps seq; then either the waiter's key already was the old seq
 * (futex_wait returns at once, or sleeps and is woken by the wake that follows the bump), or its
 * acquire load of seq (A1) read the bump, so its re-check (after A1) sees the publish (R1 -> A1).
 * If S3 precedes S2, the waiter's re-check (after S2) sees the publish, and it does not sleep.
 * The waiter's fence makes the argument hold whatever orders the caller's re-check uses; on x86
 * the locked RMW already is a full barrier, and this path is the slow one anyway.
 * A notifier that finds waiters == 0 makes no syscall and does not touch seq.
 *
 * Wake-one hand-off: notify_one wakes one sleeper. A waiter that futex_wake picked and that then
 * leaves with an error (its token was cancelled) has absorbed a wake-up meant for the condition:
 * when it leaves with an error and seq moved past its key, it passes the wake-up on (notify_one)
 * so no sleeper is stranded.
 *
 * Cancellation (tokens of cancel.c): a wait with a token registers a callback (struct waker, on
 * the waiting thread's stack) that bumps seq (wait.R3) and wakes this thread alone: every thread
 * sleeps with a bit set of one bit of its own (thread_bit(), 32 bits shared round-robin), and the
 * callback wakes with that bit, so the other sleepers on w stay asleep (a thread sharing our bit
 * wakes, sees seq moved, and returns 0: a spurious wake-up, allowed). Notifiers wake with every
 * bit. Why the cancellation is never missed:
 *   - The callback is registered under the token's lock; the request that sets CANCELLED takes
 *     the same lock. If the request comes first, register runs the callback at once and returns
 *     -ECANCELED; else the request runs our callback later, which bumps seq.
 *   - The bump is an RMW on seq, the futex word: a waiter whose last check read the old seq
 *     either has its futex_wait see the new value (returns at once) or sleeps before the bump's
 *     wake and is woken (the kernel orders the value check against the wake on that word).
 *   - Cancellation wins: each pass of the wait loop loads seq (wait.A3, acquire) and then the
 *     token's state (iort_cancel_requested, acquire). The request stores CANCELLED (release)
 *     before it runs our callback, whose bump is a release RMW: an A3 that reads the bump (or a
 *     later bump, in its release sequence: every write to seq is an RMW) synchronizes with it, so
 *     the load of the state after it sees CANCELLED. So the wait returns -ECANCELED whenever the
 *     cancellation is what woke it, or the token was cancelled before the call; 0 only when seq
 *     moved and the token was not cancelled at that check; -ETIMEDOUT only with seq unmoved, the
 *     token not cancelled, and the deadline passed.
 *   - Before returning, the wait unregisters the callback; iort_cancel_unregister waits while the
 *     callback runs, so the canceller never touches w (or the waker on our stack) after we
 *     return, and the caller may free w.
 * iort_wait_until registers once for all its parked attempts (the callback bumps seq whether or
 * not the thread is announced; between attempts the next prepare's key includes the bump, and
 * A1 makes CANCELLED visible with it the same way as A3).
 *
 * Test points (tests/runtime/windows/win_wait.c): wait.registered (announced and registered,
 * before the first check), wait.sleep (about to futex_wait), wait.woken (futex_wait returned 0),
 * wait.cancel_wake (the cancel callback holds w, before its bump).
 */
#include <iort/clock.h>
#include <iort/wait.h>

#include "futex-private.h"
#include "testpoint-private.h"
#include "wait-private.h"

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>

#define SPIN_TRIES 256 /* iort_wait_until: attempts before parking */

/* A wait's callback on its token: what it wakes. */
struct waker {
	struct iort_cancel_cb cb;
	struct iort_waitq *w;
	uint32_t bit;
};

_Static_assert(sizeof(struct iort__waitq) == sizeof(struct iort_waitq), "waitq layout");
_Static_assert(alignof(struct iort__waitq) == alignof(struct iort_waitq), "waitq alignment");

static _Atomic uint32_t next_bit;
static _Thread_local uint32_t my_bit;

/* This thread's futex bit (the cancel callback wakes only the sleepers with it). */
static uint32_t thread_bit(void)
{
	if (!my_bit)
		/* MO relaxed: a round-robin counter; any value is correct, distinct ones are
		 * faster (fewer spurious wake-ups). */
		my_bit = 1u << (atomic_fetch_add_explicit(&next_bit, 1, memory_order_relaxed) % 32);
	return my_bit;
}

static inline struct iort__waitq *wq(struct iort_waitq *w)
{
	return iort__wq(w);
}

IORT_API void iort_waitq_init(struct iort_waitq *w)
{
	atomic_init(&wq(w)->seq, 0);
	atomic_init(&wq(w)->waiters, 0);
}

IORT_API uint32_t iort_waitq_prepare(struct iort_waitq *w)
{
	struct iort__waitq *q = wq(w);

	/* MO wait.S1 (seq_cst): announce before the re-check (store->load); pairs with wait.S3 in
	 * notify(). */
	atomic_fetch_add_explicit(&q->waiters, 1, memory_order_seq_cst);
	/* MO wait.S2 (seq_cst): orders the announce before the caller's re-check, whatever orders the
	 * re-check uses; pairs with wait.S3 in notify() (the Dekker pair, see the file header). */
	atomic_thread_fence(memory_order_seq_cst);
	/* MO wait.A1 (acquire): a key that already includes a bump also shows the publish behind it;
	 * pairs with wait.R1 in notify() and wait.R3 in wake_waiter(). */
	return atomic_load_explicit(&q->seq, memory_order_acquire);
}

IORT_API void iort_waitq_cancel(struct iort_waitq *w)
{
	/* MO relaxed: waiters is a hint for notifiers; a stale non-zero costs one needless wake. */
	atomic_fetch_sub_explicit(&wq(w)->waiters, 1, memory_order_relaxed);
}

void iort__waitq_wake(struct iort_waitq *w, int n)
{
	struct iort__waitq *q = wq(w);

	if (!iort__waitq_waiting(w)) /* ordered after the publish by the caller's fence */
		return;
	/* MO wait.R1 (release): a waiter whose key includes this bump sees the publish;
	 * pairs with wait.A1 in iort_waitq_prepare() and wait.A3 in iort_waitq_wait(). */
	atomic_fetch_add_explicit(&q->seq, 1, memory_order_release);
	iort__futex_wake(&q->seq, n);
}

static void notify(struct iort_waitq *w, int n)
{
	/* MO wait.S3 (seq_cst): the caller's publish before the waiters load (store->load);
	 * pairs with wait.S2 in iort_waitq_prepare(). */
	atomic_thread_fence(memory_order_seq_cst);
	iort__waitq_wake(w, n);
}

IORT_API void iort_waitq_notify_one(struct iort_waitq *w)
{
	notify(w, 1);
}

IORT_API void iort_waitq_notify_all(struct iort_waitq *w)
{
	notify(w, INT_MAX);
}

/* The callback a wait registers on its token: make the waiting thread look (wait.R3), wake it. */
static void wake_waiter(void *arg)
{
	struct waker *k = arg;
	struct iort__waitq *q = wq(k->w);

	IORT_TP("wait.cancel_wake"); /* holds w: its waiter must not return before we are done */
	/* MO wait.R3 (release): the waiter that sees the bump sees CANCELLED, which the request
	 * stored before running us; pairs with wait.A3 in wait_registered() and wait.A1 in
	 * iort_waitq_prepare(). */
	atomic_fetch_add_explicit(&q->seq, 1, memory_order_release);
	iort__futex_wake_bits(&q->seq, INT_MAX, k->bit);
}

/*
 * Register a waker for w on c. @return 0 (registered), or -ECANCELED (c is cancelled; nothing
 * registered; the callback, if it ran, only bumped seq).
 */
static int register_waker(struct waker *k, struct iort_waitq *w, struct iort_cancel *c)
{
	if (iort_cancel_requested(c)) /* the common cancelled case: no needless bump */
		return -ECANCELED;
	k->w = w;
	k->bit = thread_bit();
	return iort_cancel_register(c, &k->cb, wake_waiter, k);
}

/* iort_waitq_wait() with the token's callback (if any) already registered by the caller. */
static int wait_registered(struct iort_waitq *w, uint32_t key, uint64_t deadline_ns,
			   struct iort_cancel *c)
{
	struct iort__waitq *q = wq(w);
	/* Every wait sleeps with its thread's bit, with a token or not: a cancel callback's wake
	 * must not hit sleepers that are not its own (they would absorb nothing, but also hide a
	 * wake-up that needed passing on). */
	uint32_t bit = thread_bit();
	int ret;

	IORT_TP("wait.registered"); /* announced (and registered): the checks come next */
	for (;;) {
		bool moved;
		int r;

		/* MO wait.A3 (acquire): a bump seen here shows what the bumper published (the
		 * notifier's change, the canceller's state); pairs with wait.R1 and wait.R3. */
		moved = atomic_load_explicit(&q->seq, memory_order_acquire) != key;
		/* After A3: a wake-up by our callback (wait.R3) always shows CANCELLED here, so a
		 * cancellation wins over the wake-up it caused (and over any other, see the header). */
		if (c && iort_cancel_requested(c)) {
			ret = -ECANCELED;
			break;
		}
		if (moved) {
			ret = 0;
			break;
		}
		if (deadline_ns != IORT_DEADLINE_NONE && iort_clock_ns() >= deadline_ns) {
			ret = -ETIMEDOUT;
			break;
		}
		IORT_TP("wait.sleep"); /* about to sleep: as good as asleep (a bump makes it return) */
		r = iort__futex_wait_bits(&q->seq, key, deadline_ns, bit);
		if (r == 0)
			IORT_TP("wait.woken"); /* woken by a futex_wake (or spuriously) */
		/* woken, EAGAIN, EINTR, ETIMEDOUT: the checks at the loop top decide */
	}
	/* MO relaxed: waiters is a hint for notifiers; a stale non-zero costs one needless wake. */
	atomic_fetch_sub_explicit(&q->waiters, 1, memory_order_relaxed);
	return ret;
}

/* After a wait that returned @p ret: pass on a wake-up it may have absorbed (see the header). */
static void pass_on(struct iort_waitq *w, uint32_t key, int ret)
{
	/* MO relaxed: a moved seq means we may have absorbed a notify_one; its publish was ordered
	 * by the notifier; we only forward the wake-up. */
	if (ret != 0 && atomic_load_explicit(&wq(w)->seq, memory_order_relaxed) != key)
		iort_waitq_notify_one(w);
}

IORT_API int iort_waitq_wait(struct iort_waitq *w, uint32_t key, uint64_t deadline_ns,
			     struct iort_cancel *c)
{
	struct waker k;
	int ret;

	if (c && register_waker(&k, w, c) != 0) {
		iort_waitq_cancel(w);
		ret = -ECANCELED;
	} else {
		ret = wait_registered(w, key, deadline_ns, c);
		/* Waits while the callback runs: after this, nothing touches w or k for c. */
		if (c)
			iort_cancel_unregister(c, &k.cb);
	}
	pass_on(w, key, ret);
	return ret;
}

IORT_API int iort_wait_until(struct iort_waitq *w, iort_try_fn *try_fn, void *ctx,
			     uint64_t deadline_ns, struct iort_cancel *c)
{
	struct waker k;
	int i, r;

	if (c && iort_cancel_requested(c))
		return -ECANCELED;
	for (i = 0; i < SPIN_TRIES; i++) {
		if (try_fn(ctx))
			return 0;
		iort_cpu_relax();
	}
	if (c && register_waker(&k, w, c) != 0)
		return -ECANCELED;
	for (;;) {
		uint32_t key = iort_waitq_prepare(w);

		if (try_fn(ctx)) {
			iort_waitq_cancel(w);
			r = 0;
			break;
		}
		if (deadline_ns != IORT_DEADLINE_NONE && iort_clock_ns() >= deadline_ns) {
			iort_waitq_cancel(w);
			r = -ETIMEDOUT;
			break;
		}
		r = wait_registered(w, key, deadline_ns, c);
		pass_on(w, key, r);
		if (r == -ECANCELED)
			break;
		/* 0 or -ETIMEDOUT: one more attempt at the loop top, then the deadline decides. */
	}
	/* Waits while the callback runs: after this, nothing touches w or k for c. */
	if (c)
		iort_cancel_unregister(c, &k.cb);
	return r;
}
