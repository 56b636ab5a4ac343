/**
 * The event loop: timers, I/O readiness and cross-thread posts in one thread, standalone or as
 * the driver of a pool worker.
 *
 * Design (tokio's driver, libuv's loop phases):
 *  - A turn: read the clock once (iort_loop_now()), fire due timers, run the posted and deferred
 *    callbacks, then poll the backend. The poll blocks only when nothing is runnable (then until the
 *    next timer or a wake-up); while work is runnable the loop polls without blocking once every
 *    poll_interval turns, so I/O is never starved and a busy loop makes no syscall in between.
 *  - Readiness is edge-triggered and cached per descriptor: a descriptor is registered once for
 *    its lifetime (read, write and hang-up together), the loop records what became ready, and a
 *    user tries its I/O first and waits only after EAGAIN (iort_io_clear()).
 *  - Backends: epoll (EPOLLET) and io_uring (multishot poll requests, submissions batched with the
 *    wait). IORT_BACKEND_AUTO probes io_uring when the loop is created and falls back to epoll
 *    where the kernel or a seccomp policy refuses it; iort_loop_backend() says which one runs.
 *  - Cross-thread posts go through an intrusive MPSC list; the poster writes the loop's eventfd
 *    only when the loop is blocked (or about to block) in its poll, and only the first poster of a
 *    batch does: a running loop pays no syscall for remote work.
 *  - Pool workers: iort_loop_pool_create() makes a pool whose every worker owns a loop. The worker
 *    polls its loop every few tasks without blocking and blocks in it instead of parking, so a
 *    task's I/O, sleeps and remote wake-ups are served by the thread it runs on.
 *
 * Synchronization ("-" safe together, "X" caller must serialize, "L" only on the loop's thread:
 * inside its callbacks or tasks, or while no thread runs it):
 *                       run   stop/post  timer_*  io_start/stop/modify  io_poll/clear  destroy
 *   run                  X       -          L            L                   -            X
 *   stop, post           -       -          -            -                   -            X
 *   timer_*              L       -          L            L                   -            X
 *   io_start/stop/modify L       -          L            L                   L            X
 *   io_poll, io_clear    -       -          -            L                   -            X
 * A pool worker's loop counts as running on that worker's thread.
 * Progress: post and stop are lock-free (one eventfd write when the loop sleeps); io_poll and
 * io_clear take the descriptor's short lock; everything else is wait-free apart from its syscalls.
 */
#ifndef IORT_REACTOR_H
#define IORT_REACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iort/compiler.h>
#include <iort/mpsc.h>
#include <iort/pool.h>
#include <iort/timer.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iort_loop;

enum iort_backend {
	IORT_BACKEND_AUTO = 0, /* io_uring where the probe passes, else epoll */
	IORT_BACKEND_EPOLL = 1,
	IORT_BACKEND_URING = 2, /* fails with -ENOSYS where io_uring is unavailable */
};

struct iort_loop_config {
	enum iort_backend backend;
	enum iort_timers_kind timers; /* IORT_TIMERS_WHEEL (default) or IORT_TIMERS_HEAP */
	/** Timer wheel tick, ns; 0: 1 ms. */
	uint64_t tick_ns;
	/** Events taken per poll; 0: 128 (at most 4096). */
	unsigned event_batch;
	/** While callbacks or tasks are runnable, poll (without blocking) every this many turns;
	 * 0: 61. */
	unsigned poll_interval;
	/** Before it blocks, a standalone loop spins this long watching for posts and stop (no
	 * syscall: a post from another thread is taken in about a cache-line round trip instead of
	 * a wake-up); ns, 0: 50 µs, 1: no spin. A pool worker's loop spins with its pool instead
	 * (iort_pool_config.spin_ns). */
	uint64_t spin_ns;
};

/** Readiness bits (the values of EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP). */
#define IORT_IO_READ  0x001u
#define IORT_IO_WRITE 0x004u
#define IORT_IO_ERROR 0x008u  /* reported whatever the interest */
#define IORT_IO_HUP   0x010u  /* both directions closed; reported whatever the interest */
#define IORT_IO_RDHUP 0x2000u /* the peer shut down its writing side (reads return 0) */

/**
 * @return 0 (*out written), -EINVAL (bad config or @p out NULL), -ENOSYS (io_uring asked for and
 * unavailable), -ENOMEM, -EMFILE and the errors of epoll_create1/eventfd/io_uring_setup.
 */
IORT_API int iort_loop_create(const struct iort_loop_config *cfg, struct iort_loop **out) IORT_WUR;
/** Frees the loop. Posts already queued run first, on the calling thread (iort_loop_current() is
 * @p l meanwhile): a post hands the loop something to release. Registrations, armed timers and
 * deferred callbacks are dropped (no callback runs; wakers of waiting tasks are dropped, not
 * woken: iort_io_stop() a descriptor to wake its task). Posts after destroy began fail with
 * -ESHUTDOWN where they can be seen; posting concurrently with destroy is a caller's bug.
 * Must not run. NULL is a no-op. A pool's loops are destroyed with the pool, after its workers
 * exited. */
IORT_API void iort_loop_destroy(struct iort_loop *l);
/** The backend that runs (never IORT_BACKEND_AUTO). */
IORT_API enum iort_backend iort_loop_backend(const struct iort_loop *l);
/** "epoll", "io_uring" or "auto". */
IORT_API const char *iort_backend_name(enum iort_backend b);
/** Why AUTO fell back to epoll ("" when it did not, or was not asked to probe). */
IORT_API const char *iort_loop_fallback_reason(const struct iort_loop *l);

enum iort_run_mode {
	IORT_RUN_DEFAULT = 0, /* until iort_loop_stop() or nothing is left to wait for */
	IORT_RUN_ONCE = 1,    /* one turn; blocks in the poll if nothing is runnable */
	IORT_RUN_NOWAIT = 2,  /* one turn; never blocks */
};

/**
 * Run the loop on the calling thread. "Nothing left" means no registered descriptor, no armed
 * timer, no queued callback and no reference (iort_loop_ref()).
 * @return 1 when work is left (ONCE/NOWAIT, or stopped), 0 when nothing is left, -EBUSY (the
 * loop belongs to a pool worker, or runs on another thread).
 */
IORT_API int iort_loop_run(struct iort_loop *l, enum iort_run_mode mode);
/** Make iort_loop_run() return after its current turn (any thread; wakes a blocked loop). */
IORT_API void iort_loop_stop(struct iort_loop *l);
/** Keep IORT_RUN_DEFAULT running while nothing else is pending (for loops fed only by posts). */
IORT_API void iort_loop_ref(struct iort_loop *l);
IORT_API void iort_loop_unref(struct iort_loop *l);
/** The time of the current turn (CLOCK_MONOTONIC ns, as iort_clock_ns()): read at most once per
 * turn, when a timer is armed or on the first call. */
IORT_API uint64_t iort_loop_now(struct iort_loop *l);
/** Read the clock again (for a callback that ran long). */
IORT_API uint64_t iort_loop_update_now(struct iort_loop *l);
/** The loop running on this thread (standalone inside iort_loop_run(), or this pool worker's),
 * else NULL. */
IORT_API struct iort_loop *iort_loop_current(void);

/* ---- callbacks ---- */

struct iort_post;
typedef void iort_post_fn(struct iort_post *p);

/** Embed in your object; fields are private. */
struct iort_post {
	struct iort_mpsc_node iort_private_node;
	iort_post_fn *iort_private_fn;
};

/**
 * Run @p fn(@p p) on the loop's thread in a later turn (any thread). @p p belongs to the loop
 * until @p fn runs; posts from one thread run in the order posted.
 * @return 0, -ESHUTDOWN (the loop is being destroyed or its pool shut down: @p fn will not run).
 */
IORT_API int iort_loop_post(struct iort_loop *l, struct iort_post *p, iort_post_fn *fn);
/** As iort_loop_post() from the loop's own thread (L): no atomics, runs in the next turn. */
IORT_API void iort_loop_defer(struct iort_loop *l, struct iort_post *p, iort_post_fn *fn);

/* ---- timers (L) ---- */

/** Arm @p t (iort_timer_init()ed) on the loop's timers for @p deadline_ns (absolute, as
 * iort_loop_now()). @return as iort_timers_arm(). */
IORT_API int iort_loop_timer_arm(struct iort_loop *l, struct iort_timer *t,
				 uint64_t deadline_ns) IORT_WUR;
/** @return true when @p t was armed on this loop and will not fire. */
IORT_API bool iort_loop_timer_cancel(struct iort_loop *l, struct iort_timer *t);

/* ---- I/O readiness ---- */

/** Called on the loop's thread with the readiness that arrived (an edge): read or write until
 * EAGAIN (or a short transfer on a stream socket), else the next call waits for the next edge. */
typedef void iort_io_fn(struct iort_loop *l, int fd, uint32_t events, void *arg);

/**
 * Register @p fd (non-blocking) for its lifetime on this loop. @p cb (may be NULL: task style
 * only) is called for readiness in @p events (IORT_IO_READ | IORT_IO_WRITE; errors and hang-ups
 * always). Readiness present at registration is reported in the first turn.
 * @return 0, -EEXIST (@p fd is registered on this loop), -EBADF, -EINVAL, -ENOMEM, -EMFILE (@p fd
 * above the loop's limit, the process's RLIMIT_NOFILE).
 */
IORT_API int iort_io_start(struct iort_loop *l, int fd, uint32_t events, iort_io_fn *cb,
			   void *arg) IORT_WUR;
/** Change the callback's interest (no syscall). @return 0, -ENOENT (not registered). */
IORT_API int iort_io_modify(struct iort_loop *l, int fd, uint32_t events);
/**
 * Forget @p fd; call it before close(@p fd). No callback for @p fd runs after it returns, and a
 * task waiting on it is woken (its next iort_io_poll() fails with -ENOENT).
 * @return 0, -ENOENT (not registered).
 */
IORT_API int iort_io_stop(struct iort_loop *l, int fd);

/**
 * Task style, for a pool task's poll function (any thread): if @p fd's cached readiness holds any
 * of @p events (or an error or hang-up), return IORT_READY and store in *@p ready the readiness
 * bits (IORT_IO_*) and, in bits 16..31, the count of readiness edges seen so far (pass the whole
 * value back to iort_io_clear()). Else keep @p w (cloned; one waiting task per direction and
 * descriptor, a later one replacing it) and return IORT_PENDING: the loop wakes it when readiness
 * arrives and when iort_io_stop() forgets @p fd.
 * @return IORT_READY, IORT_PENDING, -ENOENT (@p fd is not registered on @p l).
 */
IORT_API int iort_io_poll(struct iort_loop *l, int fd, uint32_t events, struct iort_waker *w,
			  uint32_t *ready) IORT_WUR;
/**
 * After an I/O call on @p fd failed with EAGAIN: clear @p events from its cached readiness, unless
 * a new edge arrived since @p seen (the value iort_io_poll() stored) was read: then readiness
 * stays, and the caller's next poll tries the I/O again instead of waiting for an edge that
 * already came. Any thread.
 */
IORT_API void iort_io_clear(struct iort_loop *l, int fd, uint32_t seen, uint32_t events);
/** Drop the waker iort_io_poll() keeps for @p fd's directions in @p events (a task that stops
 * waiting: cancelled, timed out, or done with @p fd). Any thread; nothing to drop is a no-op. */
IORT_API void iort_io_unwait(struct iort_loop *l, int fd, uint32_t events);
/** @p fd's cached readiness, as iort_io_poll() stores it (0 when not registered). Any thread. */
IORT_API uint32_t iort_io_ready(struct iort_loop *l, int fd);

/* ---- pools whose workers each own a loop ---- */

/**
 * A pool (iort/pool.h) whose every worker owns a loop made with @p lcfg (NULL: defaults): the worker
 * polls it between tasks and blocks in it when idle. @p pcfg's spin_ns applies before blocking.
 * @return as iort_pool_create() and iort_loop_create().
 */
IORT_API int iort_loop_pool_create(const struct iort_pool_config *pcfg,
				   const struct iort_loop_config *lcfg,
				   struct iort_pool **out) IORT_WUR;
/** Worker @p index's loop of a pool made by iort_loop_pool_create(); NULL for another pool or a
 * bad index. */
IORT_API struct iort_loop *iort_loop_of_worker(struct iort_pool *p, unsigned index);

#ifdef __cplusplus
}
#endif

#endif /* IORT_REACTOR_H */
