/**
 * A small vtable over timer implementations, ours and the baselines', for bench/bench_timer.c.
 *
 * Each adapter file (bench/tmimpl_*.c) defines its `const struct tmimpl` descriptors, and
 * bench_timer.c's timer_impls[] lists each once. A baseline whose library was not found at
 * configure time still defines its descriptor with impl.missing set and no operations: its
 * benchmarks keep their names and skip with that message.
 *
 * Every implementation is driven the way its users drive it: timers armed relative to the loop's
 * cached time (refreshed by update_now, as a loop turn refreshes it), fired by turns of the
 * implementation's own loop (run), which reads the clock itself. A context starts with struct
 * tm_common; the adapters' callbacks call tm_fired().
 *
 * Synchronization: one thread (the benchmark's) makes every call.
 */
#ifndef IOB_TMIMPL_H
#define IOB_TMIMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <iort/clock.h>

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The head of every adapter's context. */
struct tm_common {
	uint64_t fired;	  /**< callbacks run since create */
	bool stamp;	  /**< record the clock at each callback (timer/accuracy) */
	uint64_t fire_ns; /**< iort_clock_ns() at the last callback, when stamp */
};

static inline void tm_fired(struct tm_common *c)
{
	c->fired++;
	if (c->stamp)
		c->fire_ns = iort_clock_ns();
}

typedef void tm_body_fn(void *arg);

struct tmimpl {
	struct bench_impl impl; /**< name, origin, package; missing: the skip message */
	/**
	 * @p n timers (indices 0..n-1), idle. @p common_ns: the one delay every arm will use
	 * (libevent's common timeouts are made for one duration; the others ignore it).
	 * @return 0 or a negative errno, and then optionally a static message in *@p why.
	 */
	int (*create)(uint32_t n, uint64_t common_ns, struct tm_common **ctx, const char **why);
	/** Free everything (timers may be armed). */
	void (*destroy)(struct tm_common *ctx);
	/** Read the clock into the loop's cached time, as a loop turn does. */
	void (*update_now)(struct tm_common *ctx);
	/**
	 * Run @p fn(@p arg) where the implementation's users arm timers: inside a callback of its
	 * loop (libevent reads the clock at each add made outside one). NULL: call it directly.
	 */
	void (*inside)(struct tm_common *ctx, tm_body_fn *fn, void *arg);
	/** Arm (idle) timer @p i to fire @p delay_ns after the cached time. @return 0 or -errno. */
	int (*arm)(struct tm_common *ctx, uint32_t i, uint64_t delay_ns);
	/** Disarm timer @p i (armed). */
	void (*cancel)(struct tm_common *ctx, uint32_t i);
	/** One turn of the loop: fire what is due; with @p block, wait for the next timer first.
	 * @return 0 or -errno. */
	int (*run)(struct tm_common *ctx, bool block);
};

extern const struct tmimpl tmimpl_iort_epoll;
extern const struct tmimpl tmimpl_iort_heap;
extern const struct tmimpl tmimpl_iort_uring;
extern const struct tmimpl tmimpl_uv;
extern const struct tmimpl tmimpl_event;
extern const struct tmimpl tmimpl_event_common;

#ifdef __cplusplus
}
#endif

#endif /* IOB_TMIMPL_H */
