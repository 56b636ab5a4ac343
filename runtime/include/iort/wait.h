/**
 * Waiting for a condition that other threads make true: spin, then park on a futex.
 *
 * An event count (Vyukov's eventcount; Linux's prepare_to_wait / wake_up shape). A waiter
 * announces itself, re-checks its condition, and only then sleeps on the count's sequence word;
 * a notifier publishes its change, executes a full fence, and wakes only when a waiter announced
 * itself. The two full fences (waiter: announce -> re-check; notifier: publish -> check waiters)
 * mean that either the waiter's re-check sees the change or the notifier sees the waiter, so no
 * wake-up is lost; a notifier with no sleeper makes no syscall.
 *
 *   waiter                                  notifier
 *     key = iort_waitq_prepare(w)             publish the change (e.g. push an item)
 *     if (condition) iort_waitq_cancel(w)     iort_waitq_notify_one(w) / _all(w)
 *     else iort_waitq_wait(w, key, ...)
 *
 * iort_wait_until() packages the loop: spin on a try function, then prepare / re-try / wait.
 * Deadlines are absolute CLOCK_MONOTONIC nanoseconds (iort_clock_ns()); IORT_DEADLINE_NONE waits
 * for ever. A cancellation token wakes the thread waiting with it and makes the wait fail with
 * -ECANCELED. A token serves one waiting thread at a time: further threads waiting with the same
 * token at once still see its cancellation, but only within about 1 ms (they poll it).
 *
 * Synchronization: every call is safe from any thread. A waitq or token must outlive every call
 * that uses it.
 * Progress: prepare, cancel, notify and iort_cancel_* never block (notify makes a futex syscall
 * only when someone waits).
 */
#ifndef IORT_WAIT_H
#define IORT_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include <iort/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IORT_DEADLINE_NONE UINT64_MAX

/** Embed and iort_waitq_init(); fields are private. */
struct iort_waitq {
	uint32_t iort_private_seq;
	uint32_t iort_private_waiters;
};

/** A cancellation token; fields are private. */
struct iort_cancel {
	uint32_t iort_private_state;
	uint32_t iort_private_pad;
	struct iort_waitq *iort_private_waitq;
};

IORT_API void iort_waitq_init(struct iort_waitq *w);
/** Announce the caller is about to wait. @return the key to pass to iort_waitq_wait(). */
IORT_API uint32_t iort_waitq_prepare(struct iort_waitq *w);
/** Withdraw an announcement (the condition became true after prepare). */
IORT_API void iort_waitq_cancel(struct iort_waitq *w);
/**
 * Sleep until notified after prepare returned @p key, the deadline, or @p c (may be NULL) is
 * cancelled. Withdraws the announcement in every case.
 * Cancellation wins: if the wait sees @p c cancelled at its last check (always so when @p c was
 * cancelled before the call, or when the cancellation is what woke it), the result is -ECANCELED,
 * never 0 or -ETIMEDOUT; a wake-up it absorbed is passed on to another waiter.
 * @return 0 (woken; re-check the condition), -ETIMEDOUT, -ECANCELED.
 */
IORT_API int iort_waitq_wait(struct iort_waitq *w, uint32_t key, uint64_t deadline_ns,
			     struct iort_cancel *c);
/** After publishing a change: wake one waiter, if any announced itself. */
IORT_API void iort_waitq_notify_one(struct iort_waitq *w);
/** After publishing a change: wake every waiter that announced itself. */
IORT_API void iort_waitq_notify_all(struct iort_waitq *w);

IORT_API void iort_cancel_init(struct iort_cancel *c);
/** Cancel: every wait using @p c fails with -ECANCELED from now on; a sleeping one wakes. */
IORT_API void iort_cancel_request(struct iort_cancel *c);
IORT_API bool iort_cancel_requested(const struct iort_cancel *c);

/** A non-blocking attempt: true when it succeeded (took an item, found space...). */
typedef bool iort_try_fn(void *ctx);

/**
 * Call @p try_fn until it returns true: spin a few hundred times (with iort_cpu_relax), then park
 * on @p w between attempts. The side making the condition true must call iort_waitq_notify_*(w)
 * after its change.
 * @return 0 (try_fn succeeded), -ETIMEDOUT, -ECANCELED.
 */
IORT_API int iort_wait_until(struct iort_waitq *w, iort_try_fn *try_fn, void *ctx,
			     uint64_t deadline_ns, struct iort_cancel *c) IORT_WUR;

#ifdef __cplusplus
}
#endif

#endif /* IORT_WAIT_H */
