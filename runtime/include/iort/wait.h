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
 * for ever. Cancellation uses the tokens of <iort/cancel.h>: a wait given a token registers a
 * callback on it that wakes this thread, and fails with -ECANCELED once the token (or an ancestor)
 * is cancelled. Any number of threads may wait with one token, on one waitq or on many; each is
 * woken by its own callback (no polling). The callback is unregistered before the wait returns,
 * so the waitq may be freed afterwards. A cancellation may also wake other threads on the same
 * waitq: they return 0 (re-check the condition), as after any spurious wake-up.
 *
 * Synchronization: every call is safe from any thread. A waitq or token must outlive every call
 * that uses it.
 * Progress: prepare, cancel and notify never block (notify makes a futex syscall only when
 * someone waits). A wait with a token takes the token's short internal lock to register and to
 * unregister its callback, and its unregister waits for that callback if it is running.
 */
#ifndef IORT_WAIT_H
#define IORT_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include <iort/cancel.h>
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

IORT_API void iort_waitq_init(struct iort_waitq *w);
/** Announce the caller is about to wait. @return the key to pass to iort_waitq_wait(). */
IORT_API uint32_t iort_waitq_prepare(struct iort_waitq *w);
/** Withdraw an announcement (the condition became true after prepare). */
IORT_API void iort_waitq_cancel(struct iort_waitq *w);
/**
 * Sleep until notified after prepare returned @p key, the deadline, or @p c (may be NULL) is
 * cancelled. Withdraws the announcement, and unregisters its callback from @p c, in every case.
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

/** A non-blocking attempt: true when it succeeded (took an item, found space...). */
typedef bool iort_try_fn(void *ctx);

/**
 * Call @p try_fn until it returns true: spin a few hundred times (with iort_cpu_relax), then park
 * on @p w between attempts. The side making the condition true must call iort_waitq_notify_*(w)
 * after its change. A token @p c (may be NULL) is checked first (-ECANCELED at once when it is
 * cancelled) and, once the spinning is over, gets one callback for all the parked attempts.
 * @return 0 (try_fn succeeded), -ETIMEDOUT, -ECANCELED.
 */
IORT_API int iort_wait_until(struct iort_waitq *w, iort_try_fn *try_fn, void *ctx,
			     uint64_t deadline_ns, struct iort_cancel *c) IORT_WUR;

#ifdef __cplusplus
}
#endif

#endif /* IORT_WAIT_H */
