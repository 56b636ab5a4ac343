/**
 * Timers: a hierarchical timing wheel (the default) and a 4-ary heap behind one interface.
 *
 * The wheel follows Varghese and Lauck's hierarchical scheme as the Linux kernel's timer wheel and
 * tokio's time driver use it: levels of 64 slots, level k's slot spanning 64^k ticks; an occupancy
 * bitmap per level finds the next non-empty slot with one count-trailing-zeros; entries are
 * intrusive (struct iort_timer lives in the caller's object), so arming and cancelling are O(1)
 * and allocate nothing. A slot of a higher level is cascaded (its timers moved down) only when the
 * wheel reaches it. A wheel timer's deadline is rounded up to its tick, so it fires at most one
 * tick late and never early. Deadlines closer than one tick to the wheel's time go to the precise
 * path instead (a small heap) and fire at the first advance that reaches them, unrounded.
 *
 * The heap (IORT_TIMERS_HEAP) keeps every timer in a 4-ary min-heap by exact deadline: O(log n)
 * arm and cancel, exact order; it is the in-tree comparison for the wheel (libuv and libevent use
 * binary heaps).
 *
 * Time is whatever the owner passes to iort_timers_advance() (an event loop reads the clock once
 * per turn and passes it); deadlines are in the same unit, nanoseconds of CLOCK_MONOTONIC when the
 * owner is an event loop.
 *
 * Synchronization: a timer set and its armed timers belong to one thread at a time (X with
 * everything, including itself); callbacks run inside iort_timers_advance() on that thread and may
 * arm and cancel any timer of the set, the one firing included.
 * Progress: every call is bounded; arm may allocate (heap growth, the precise path) and fail.
 */
#ifndef IORT_TIMER_H
#define IORT_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iort/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iort_timer;
struct iort_timers;

/** Called once per expiry, from iort_timers_advance(); the timer is already disarmed. */
typedef void iort_timer_fn(struct iort_timer *t, void *arg);

/** Embed in your object and iort_timer_init() it; fields are private. */
struct iort_timer {
	struct iort_timer *iort_private_next;
	struct iort_timer *iort_private_prev;
	uint64_t iort_private_deadline;
	uint32_t iort_private_where; /* where it is armed (a slot, a heap index), or idle */
	uint32_t iort_private_set;   /* the id of the set it is armed in */
	iort_timer_fn *fn;
	void *arg;
};

enum iort_timers_kind {
	IORT_TIMERS_WHEEL = 0, /* hierarchical wheel + precise path (the default) */
	IORT_TIMERS_HEAP = 1,  /* 4-ary heap */
};

struct iort_timers_config {
	enum iort_timers_kind kind;
	/** Wheel tick in ns; 0: 1 ms (1,000,000). Any value 1..2^40. Ignored by the heap. */
	uint64_t tick_ns;
	/** The set's time at creation (deadlines before it are due at once). */
	uint64_t now_ns;
};

/** @return 0 (*out written), -EINVAL (@p cfg or @p out NULL, a bad tick), -ENOMEM. */
IORT_API int iort_timers_create(const struct iort_timers_config *cfg,
				struct iort_timers **out) IORT_WUR;
/** Frees the set; timers still armed are forgotten (never fired) and may be reused after
 * iort_timer_init(). NULL is a no-op. */
IORT_API void iort_timers_destroy(struct iort_timers *s);

/** Make @p t an idle timer that will call @p fn(@p t, @p arg). */
IORT_API void iort_timer_init(struct iort_timer *t, iort_timer_fn *fn, void *arg);
/** @return whether @p t is armed (in some set, not yet fired or cancelled). */
IORT_API bool iort_timer_armed(const struct iort_timer *t);

/**
 * Arm @p t to fire at @p deadline_ns (re-arm: an armed @p t is moved). A deadline at or before
 * the set's time fires at the next advance.
 * @return 0, -EINVAL (@p t armed in another set), -ENOMEM (the heap or the precise path could
 * not grow; @p t is left idle).
 */
IORT_API int iort_timers_arm(struct iort_timers *s, struct iort_timer *t,
			     uint64_t deadline_ns) IORT_WUR;
/** Disarm @p t. @return true when it was armed in @p s (it will not fire), false otherwise. */
IORT_API bool iort_timers_cancel(struct iort_timers *s, struct iort_timer *t);

/**
 * Move the set's time to @p now_ns (never backwards: an earlier value is ignored) and fire every
 * timer due by then: a wheel timer once now reaches its deadline rounded up to the tick, a
 * precise or heap timer once now reaches its deadline. Timers due in different ticks fire in
 * deadline order; the heap fires in exact deadline order. A timer armed by a callback with a
 * deadline already due fires in this same call.
 * @return the number of callbacks run.
 */
IORT_API size_t iort_timers_advance(struct iort_timers *s, uint64_t now_ns);
/** The earliest time at which an advance could fire a timer (never later than the real next
 * expiry; the wheel may answer early, at a slot it will only cascade); UINT64_MAX when none is
 * armed. What an event loop turns into its poll timeout. */
IORT_API uint64_t iort_timers_next(const struct iort_timers *s);
/** The set's time: the last value advance accepted (or the creation time). */
IORT_API uint64_t iort_timers_now(const struct iort_timers *s);
/** Timers armed now. */
IORT_API size_t iort_timers_count(const struct iort_timers *s);

#ifdef __cplusplus
}
#endif

#endif /* IORT_TIMER_H */
