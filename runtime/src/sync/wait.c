/*
 * Event count on a futex, cancellation tokens, and the spin-then-park loop.
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
 * so no sleeper is stranded. (A registered token's canceller wakes every sleeper on the waitq
 * anyway; the pass-on is what saves the other sleepers when the token is shared and unregistered.)
 *
 * Cancellation token: state (CANCELLED, WAKING bits) and the waitq of the thread waiting with it.
 *   waiter:    CAS(token.waitq, NULL -> w) (wait.S4)  then  load state (wait.S5), -ECANCELED if set
 *   canceller: CAS state 0 -> CANCELLED|WAKING (wait.S6)  then  load token.waitq (wait.S7);
 *              if a waitq: seq++ and futex_wake(all) on it; then clear WAKING (wait.R2).
 * All four are seq_cst, so either the waiter sees CANCELLED before sleeping or the canceller sees
 * the registered waitq and bumps its seq (the waiter's futex_wait then fails or is woken). The
 * canceller cannot know which sleeper on w is ours, so it wakes all of them; cancellation is rare.
 *
 * Unregistering (why the waiter never returns while the canceller still uses w):
 *   waiter:    store token.waitq = NULL (wait.S8)  then  load state (wait.S9) until WAKING clear
 *   canceller: CAS state -> CANCELLED|WAKING (wait.S6)  then  load token.waitq (wait.S7)
 * This is the store-buffering shape, so all four must be seq_cst (C11 7.17.3: seq_cst operations
 * are in the single total order S, and a seq_cst load reads the last seq_cst store before it in S,
 * or a later non-seq_cst one). If S7 reads w, then S7 precedes S8 in S (else it would read S8's
 * NULL or a later registration, not ours), so S6 < S7 < S8 < S9 in S and S9 reads S6's WAKING or
 * the canceller's later release store wait.R2 (which it then synchronizes with): the waiter
 * returns only after R2, the canceller's last touch of w. With an acquire S9, C11 lets S9 read
 * the state from before S6 while S7 reads w: the waiter returns, its caller frees w, and the
 * canceller bumps freed memory. x86 hides this (a seq_cst store is an xchg, a full barrier);
 * POWER, and AArch64 with LDAPR for acquire loads, do not.
 *
 * Result (deterministic with respect to what the waiter saw): each pass of the wait loop loads
 * seq (wait.A3) and then the token's state; the token wins. So iort_waitq_wait() returns
 * -ECANCELED whenever its token is cancelled before its last check, in particular when the
 * cancellation is what woke it (R3 -> A3 makes CANCELLED visible) or when it was cancelled
 * before the call; 0 only when seq moved and the token was not cancelled at that check;
 * -ETIMEDOUT only with seq unmoved, the token not cancelled, and the deadline passed.
 * One token is meant for one waiting thread at a time. A second concurrent waiter with the same
 * token cannot register; it sleeps in slices of SHARED_SLICE_NS and polls the state, so it still
 * sees cancellation promptly (within a slice), only not instantly.
 *
 * Test points (tests/runtime/windows/win_wait.c): wait.registered (announced and registered,
 * before the first check), wait.sleep (about to futex_wait), wait.woken (futex_wait returned 0),
 * wait.waking (unregistered, waiting for the canceller), cancel.waking (the canceller holds w).
 */
#include <iort/clock.h>
#include <iort/wait.h>

#include "futex-private.h"
#include "testpoint-private.h"
#include "wait-private.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#define SPIN_TRIES 256 /* iort_wait_until: attempts before parking */
#ifndef IORT_TESTPOINTS
#define SHARED_SLICE_NS 1000000ull /* unregistered waiter: poll the token this often */
#else
/* Test variant: window tests put an unregistered waiter first in the futex queue; a 1 ms slice
 * would move it to the back at random. No window test relies on the 1 ms poll. */
#define SHARED_SLICE_NS 300000000000ull
#endif

enum { CANCELLED = 1u, WAKING = 2u };

struct cancel {
	_Atomic uint32_t state;
	uint32_t pad;
	_Atomic(struct iort_waitq *) waitq;
};

_Static_assert(sizeof(struct iort__waitq) == sizeof(struct iort_waitq), "waitq layout");
_Static_assert(alignof(struct iort__waitq) == alignof(struct iort_waitq), "waitq alignment");
_Static_assert(sizeof(struct cancel) == sizeof(struct iort_cancel), "cancel layout");
_Static_assert(alignof(struct cancel) == alignof(struct iort_cancel), "cancel alignment");
_Static_assert(offsetof(struct cancel, waitq) == offsetof(struct iort_cancel, iort_private_waitq),
	       "cancel layout");

static inline struct iort__waitq *wq(struct iort_waitq *w)
{
	return iort__wq(w);
}

static inline struct cancel *tok(const struct iort_cancel *c)
{
	return (struct cancel *)(void *)c;
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
	 * pairs with wait.R1 in notify() and wait.R3 in iort_cancel_request(). */
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

IORT_API void iort_cancel_init(struct iort_cancel *c)
{
	atomic_init(&tok(c)->state, 0);
	tok(c)->pad = 0;
	atomic_init(&tok(c)->waitq, NULL);
}

IORT_API bool iort_cancel_requested(const struct iort_cancel *c)
{
	/* MO wait.A4 (acquire): whatever the canceller did before requesting is visible; 
	 * pairs with wait.S6 in iort_cancel_request(). */
	return atomic_load_explicit(&tok(c)->state, memory_order_acquire) & CANCELLED;
}

IORT_API void iort_cancel_request(struct iort_cancel *c)
{
	struct cancel *t = tok(c);
	struct iort_waitq *w;
	uint32_t s = 0;

	/* MO wait.S6 (seq_cst): set CANCELLED before loading the registered waitq (store->load);
	 * pairs with wait.S4 / wait.S5 in register_token() and releases to wait.A4. Failure: relaxed,
	 * someone else cancelled first and does the waking. */
	if (!atomic_compare_exchange_strong_explicit(&t->state, &s, CANCELLED | WAKING,
						     memory_order_seq_cst, memory_order_relaxed))
		return;
	/* MO wait.S7 (seq_cst): after wait.S6; pairs with wait.S4 in register_token(). */
	w = atomic_load_explicit(&t->waitq, memory_order_seq_cst);
	if (w) {
		IORT_TP("cancel.waking"); /* holds w; its waiter must not return before R2 */
		/* MO wait.R3 (release): the sleeper that sees the bump sees CANCELLED;
		 * pairs with wait.A3 in iort_waitq_wait(). */
		atomic_fetch_add_explicit(&wq(w)->seq, 1, memory_order_release);
		/* One token, one waiting thread, but we cannot pick it out of w's sleepers. */
		iort__futex_wake(&wq(w)->seq, INT_MAX);
	}
	/* MO wait.R2 (release): done with w; pairs with wait.S9 in unregister_token(). */
	atomic_store_explicit(&t->state, CANCELLED, memory_order_release);
}

/* @return true when this waiter registered w in the token (false: shared token, poll it). */
static bool register_token(struct cancel *t, struct iort_waitq *w)
{
	struct iort_waitq *expected = NULL;

	/* MO wait.S4 (seq_cst): register before loading state (store->load); pairs with wait.S6 /
	 * wait.S7 in iort_cancel_request(). Failure: relaxed, another waiter holds the token. */
	return atomic_compare_exchange_strong_explicit(&t->waitq, &expected, w,
						       memory_order_seq_cst, memory_order_relaxed);
}

static bool token_cancelled(struct cancel *t)
{
	/* MO wait.S5 (seq_cst): after the registration wait.S4; pairs with wait.S6 in
	 * iort_cancel_request(). */
	return atomic_load_explicit(&t->state, memory_order_seq_cst) & CANCELLED;
}

static void unregister_token(struct cancel *t)
{
	unsigned int tries = 0;

	/* MO wait.S8 (seq_cst): unregister before checking WAKING (store->load); pairs with wait.S6 /
	 * wait.S7 in iort_cancel_request(): a canceller that loaded w set WAKING before. */
	atomic_store_explicit(&t->waitq, NULL, memory_order_seq_cst);
	/* MO wait.S9 (seq_cst): the load half of the store->load pair S8 -> S9 against S6 -> S7;
	 * an acquire load could read the state from before S6 (store buffering) while S7 reads w.
	 * It also acquires the canceller's last touch of w (wait.R2); pairs with wait.S6, wait.R2. */
	while (atomic_load_explicit(&t->state, memory_order_seq_cst) & WAKING) {
		IORT_TP("wait.waking"); /* the canceller still holds our waitq */
		if (++tries < 64)
			iort_cpu_relax();
		else
			sched_yield();
	}
}

IORT_API int iort_waitq_wait(struct iort_waitq *w, uint32_t key, uint64_t deadline_ns,
			     struct iort_cancel *c)
{
	struct iort__waitq *q = wq(w);
	struct cancel *t = c ? tok(c) : NULL;
	bool registered = false;
	int ret;

	if (t)
		registered = register_token(t, w);
	IORT_TP("wait.registered"); /* announced (and registered): the checks come next */
	for (;;) {
		uint64_t until = deadline_ns;
		bool moved;
		int r;

		/* MO wait.A3 (acquire): a bump seen here shows what the bumper published (the
		 * notifier's change, the canceller's state); pairs with wait.R1 and wait.R3. */
		moved = atomic_load_explicit(&q->seq, memory_order_acquire) != key;
		/* After A3: a wake-up by our canceller (wait.R3) always shows CANCELLED here, so a
		 * cancellation wins over the wake-up it caused (and over any other, see the header). */
		if (t && token_cancelled(t)) {
			ret = -ECANCELED;
			break;
		}
		if (moved) {
			ret = 0;
			break;
		}
		if (t && !registered) {
			uint64_t slice = iort_clock_ns() + SHARED_SLICE_NS;

			if (slice < until)
				until = slice;
		}
		if (deadline_ns != IORT_DEADLINE_NONE && iort_clock_ns() >= deadline_ns) {
			ret = -ETIMEDOUT;
			break;
		}
		IORT_TP("wait.sleep"); /* about to sleep: as good as asleep (a bump makes it return) */
		r = iort__futex_wait_abs(&q->seq, key, until);
		if (r == 0)
			IORT_TP("wait.woken"); /* woken by a futex_wake (or spuriously) */
		/* woken, EAGAIN, EINTR, ETIMEDOUT: the checks at the loop top decide */
	}
	/* MO relaxed: waiters is a hint for notifiers; a stale non-zero costs one needless wake. */
	atomic_fetch_sub_explicit(&q->waiters, 1, memory_order_relaxed);
	if (registered)
		unregister_token(t);
	/* MO relaxed: a moved seq means we may have absorbed a notify_one; its publish was ordered
	 * by the notifier; we only forward the wake-up. */
	if (ret != 0 && atomic_load_explicit(&q->seq, memory_order_relaxed) != key)
		iort_waitq_notify_one(w);
	return ret;
}

IORT_API int iort_wait_until(struct iort_waitq *w, iort_try_fn *try_fn, void *ctx,
			     uint64_t deadline_ns, struct iort_cancel *c)
{
	int i, r;

	if (c && iort_cancel_requested(c))
		return -ECANCELED;
	for (i = 0; i < SPIN_TRIES; i++) {
		if (try_fn(ctx))
			return 0;
		iort_cpu_relax();
	}
	for (;;) {
		uint32_t key = iort_waitq_prepare(w);

		if (try_fn(ctx)) {
			iort_waitq_cancel(w);
			return 0;
		}
		if (deadline_ns != IORT_DEADLINE_NONE && iort_clock_ns() >= deadline_ns) {
			iort_waitq_cancel(w);
			return -ETIMEDOUT;
		}
		r = iort_waitq_wait(w, key, deadline_ns, c);
		if (r == -ECANCELED)
			return r;
		/* 0 or -ETIMEDOUT: one more attempt at the loop top, then the deadline decides. */
	}
}
