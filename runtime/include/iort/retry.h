/**
 * Backoff and retry: exponential backoff with jitter, a cancellable sleep that never passes its
 * deadline, a retry loop that retries only what the caller calls retryable, and a retry budget.
 *
 * Backoff follows AWS's "Exponential Backoff And Jitter" (Marc Brooker, 2015). With n the number
 * of delays drawn so far (0 for the first), a multiplier of 2, and random(a, b) uniform on the
 * whole numbers a..b (both included):
 *
 *   IORT_JITTER_NONE          min(cap, base * 2^n)
 *   IORT_JITTER_FULL          random(0, min(cap, base * 2^n))
 *   IORT_JITTER_EQUAL         t = min(cap, base * 2^n); t / 2 + random(0, t - t / 2)
 *   IORT_JITTER_DECORRELATED  prev = min(cap, random(base, prev * 3)), prev starting at base
 *
 * A backoff may carry a deadline (absolute CLOCK_MONOTONIC ns, iort_clock_ns()): a delay that
 * would end past it is cut to end at it, and once it has passed no delay is given (-ETIMEDOUT).
 * The random numbers come from a per-thread generator (xoshiro256**, seeded through splitmix64
 * from the clock, the thread and a counter on a thread's first draw); iort_retry_seed() seeds the
 * calling thread's generator for reproducible sequences.
 *
 *   static bool busy(int err, void *ctx) { (void)ctx; return err == -EAGAIN; }
 *
 *   struct iort_retry_policy p = { .jitter = IORT_JITTER_FULL, .base_ns = 10000,
 *                                  .cap_ns = 10000000, .max_attempts = 8,
 *                                  .deadline_ns = iort_clock_ns() + 1000000000,
 *                                  .retryable = busy, .budget = &shared_budget,
 *                                  .cancel = &token };
 *   int r = iort_retry(&p, write_row, &row);   // write_row's result, -ETIMEDOUT, -ECANCELED
 *
 * The retry budget is gRPC's retry throttle: a bucket of max tokens, full at first; a retry
 * costs one token and is allowed only while more than half of max is left; a success refunds a
 * fraction of a token (in thousandths, e.g. 100 = 0.1), up to max. Under a storm of failures the
 * clients sharing one budget stop retrying after max / 2 retries, and resume as successes refill
 * it. Tokens are counted in thousandths.
 *
 * Synchronization:
 *   iort_backoff_*       X: a backoff belongs to one thread at a time (the caller serializes).
 *   iort_retry_budget_*  -: any threads at once on one budget (atomic read-modify-writes), except
 *                        init, which must not race with any other call on the budget.
 *   iort_retry, iort_sleep_until, iort_retry_seed: -; each uses the calling thread's generator
 *                        and its own stack; a shared budget and token are used as above.
 * Progress: iort_backoff_init/reset/next and the budget never block (the budget's CAS loops are
 * lock-free). iort_sleep_until, iort_backoff_sleep and iort_retry block (futex sleep, wait.h),
 * until their time or the token's cancellation; iort_retry also runs the caller's op.
 */
#ifndef IORT_RETRY_H
#define IORT_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include <iort/compiler.h>
#include <iort/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How a backoff randomizes its delays (see the file comment for the formulas). */
enum iort_jitter {
	IORT_JITTER_NONE = 0,
	IORT_JITTER_FULL = 1,
	IORT_JITTER_EQUAL = 2,
	IORT_JITTER_DECORRELATED = 3,
};

/** A backoff's state; iort_backoff_init() it; fields are private. */
struct iort_backoff {
	uint64_t iort_private_base;
	uint64_t iort_private_cap;
	uint64_t iort_private_deadline;
	uint64_t iort_private_prev;
	uint32_t iort_private_n;
	uint32_t iort_private_jitter;
};

/**
 * A fresh backoff: delays from @p base_ns, at most @p cap_ns, none past @p deadline_ns
 * (IORT_DEADLINE_NONE: no deadline). base 0 with cap 0 gives zero delays (no backoff).
 * @return 0, or -EINVAL (NULL @p b, @p cap_ns < @p base_ns, an unknown jitter).
 */
IORT_API int iort_backoff_init(struct iort_backoff *b, enum iort_jitter jitter, uint64_t base_ns,
			       uint64_t cap_ns, uint64_t deadline_ns) IORT_WUR;
/** Start again from the first delay (after a success); keeps the deadline. */
IORT_API void iort_backoff_reset(struct iort_backoff *b);
/** Delays drawn since init or reset (the n of the formulas). */
IORT_API uint32_t iort_backoff_attempts(const struct iort_backoff *b);
/**
 * Draw the next delay, as of @p now_ns (iort_clock_ns()): written to @p delay_ns, cut so that
 * @p now_ns + delay never passes the deadline. Pure arithmetic: no clock read, no sleep.
 * @return 0; -ETIMEDOUT when @p now_ns is at or past the deadline (nothing drawn); -EINVAL for
 * a NULL @p delay_ns.
 */
IORT_API int iort_backoff_next(struct iort_backoff *b, uint64_t now_ns,
			       uint64_t *delay_ns) IORT_WUR;
/**
 * Draw the next delay from now and sleep it (iort_sleep_until()).
 * @return 0 (slept); -ETIMEDOUT: the deadline has passed (no sleep); -ECANCELED: @p c (may be
 * NULL) is cancelled, before or during the sleep.
 */
IORT_API int iort_backoff_sleep(struct iort_backoff *b, struct iort_cancel *c) IORT_WUR;

/**
 * Sleep until iort_clock_ns() >= @p wake_ns, or until @p c (may be NULL) is cancelled: parks on
 * a private waitq with the token (iort_waitq_wait()), so a cancellation wakes it at once.
 * Linux's timer slack (50 us by default, prctl PR_SET_TIMERSLACK) may lengthen a short sleep.
 * @return 0, or -ECANCELED (also when @p c was cancelled before the call).
 */
IORT_API int iort_sleep_until(uint64_t wake_ns, struct iort_cancel *c) IORT_WUR;

/** Seed the calling thread's generator: the same seed gives the same jitter after it. */
IORT_API void iort_retry_seed(uint64_t seed);

/** A retry budget; iort_retry_budget_init() it; share it between threads; fields are private. */
struct iort_retry_budget {
	uint64_t iort_private_milli; /* tokens left, in thousandths */
	uint64_t iort_private_max;   /* max tokens, in thousandths */
	uint64_t iort_private_refund;
};

#define IORT_RETRY_BUDGET_MAX_TOKENS 1000000u

/**
 * A full budget of @p max_tokens (1..IORT_RETRY_BUDGET_MAX_TOKENS), refunding
 * @p refund_milli / 1000 of a token per success (1 .. 1000 * @p max_tokens).
 * @return 0, or -EINVAL.
 */
IORT_API int iort_retry_budget_init(struct iort_retry_budget *b, uint32_t max_tokens,
				    uint32_t refund_milli) IORT_WUR;
/** For a retry: when more than half of max is left, take one token and return true. */
IORT_API bool iort_retry_budget_try_spend(struct iort_retry_budget *b);
/** For a success: refund the budget's fraction of a token, up to max. */
IORT_API void iort_retry_budget_refund(struct iort_retry_budget *b);
/** Tokens left, in thousandths (a snapshot). */
IORT_API uint64_t iort_retry_budget_milli(const struct iort_retry_budget *b);

/** The operation iort_retry() calls: >= 0 is success, a negative errno a failure. */
typedef int iort_retry_op_fn(void *ctx);
/** Whether failure @p err (negative) is worth retrying; gets the op's @p ctx. */
typedef bool iort_retryable_fn(int err, void *ctx);

/** What iort_retry() does; zero-initialize and set what you need. */
struct iort_retry_policy {
	enum iort_jitter jitter;
	uint64_t base_ns; /**< the first delay (and decorrelated jitter's floor) */
	uint64_t cap_ns;  /**< the longest delay; >= base_ns */
	/** Calls of op in all, the first included; 0: no limit. */
	uint32_t max_attempts;
	/** Absolute iort_clock_ns() time after which op is not called; 0 means none as well as
	 *  IORT_DEADLINE_NONE (so a zeroed policy has no deadline). */
	uint64_t deadline_ns;
	iort_retryable_fn *retryable;	  /**< required */
	struct iort_retry_budget *budget; /**< NULL: retries are not throttled */
	struct iort_cancel *cancel;	  /**< NULL: not cancellable */
};

/**
 * Call @p op(@p ctx) until it succeeds. A failure is retried only when @p p->retryable says so,
 * fewer than max_attempts calls were made, and the budget (if any) allows it; then the backoff's
 * next delay is slept (cut at the deadline; cancellable) and op is called again, never at or
 * after the deadline. A success refunds the budget.
 * @return op's result (its success, or its last failure when that was not retried); -ETIMEDOUT:
 * the deadline came first (also when it had passed before the call: op is not called);
 * -ECANCELED: the token was cancelled (before the call: op is not called; during a sleep: at
 * once); -EINVAL: NULL @p p, @p op or retryable, or a bad backoff (cap < base, unknown jitter).
 * Errors op returns pass through unchanged.
 */
IORT_API int iort_retry(const struct iort_retry_policy *p, iort_retry_op_fn *op,
			void *ctx) IORT_WUR;

#ifdef __cplusplus
}
#endif

#endif /* IORT_RETRY_H */
