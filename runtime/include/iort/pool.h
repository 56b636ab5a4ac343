/**
 * A work-stealing thread pool: pinned workers, tasks, futures and wakers.
 *
 * Each worker owns a bounded local run queue (others steal half of it), a one-task LIFO slot
 * that the task it runs spawns into (message-passing locality, capped so that two tasks cannot
 * ping-pong in it for ever), and a free list of task records. Tasks from outside the pool, and a
 * full local queue's older half, go to one global inject queue, which every worker checks every
 * config.inject_interval tasks. A worker with no work searches (at most half the workers search
 * at once), spins for config.spin_ns, then parks on a futex; a worker is woken only when nobody
 * is searching, and a searcher that finds work wakes the next sleeper, so new work always finds a
 * worker and a burst does not wake everyone.
 *
 *   static void hello(void *arg) { puts(arg); }
 *
 *   struct iort_pool *p;
 *   if (iort_pool_create(NULL, &p) == 0) {           // one worker per CPU
 *           iort_pool_submit(p, hello, "hi");
 *           iort_pool_shutdown(p, IORT_SHUTDOWN_DRAIN); // runs what was submitted
 *           iort_pool_destroy(p);
 *   }
 *
 * Futures: a task spawned with a poll function is polled until it returns IORT_READY; when it
 * returns IORT_PENDING it keeps (clones) its waker, and any thread's iort_waker_wake() polls it
 * again. A wake during a poll re-queues the task after that poll; no wake is lost, and a task is
 * never polled by two threads at once.
 *
 * Synchronization: submit, spawn, wake, metrics, shutdown and task calls are safe from any
 * thread; create and destroy must not race with any other call on the pool.
 * Progress: submit and spawn never block (except a bounded submit told to wait), and make a
 * futex syscall only when they wake a parked worker. join blocks; from a worker it runs other
 * tasks while it waits.
 */
#ifndef IORT_POOL_H
#define IORT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iort/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iort_cancel; /* <iort/cancel.h> */
struct iort_pool;
struct iort_task;
/** A task's waker, given to its poll function: a reference to the task. */
struct iort_waker;

typedef void iort_task_fn(void *arg);

enum iort_poll { IORT_READY = 0, IORT_PENDING = 1 };
/** Poll a future; @p w is valid during the call (iort_waker_clone() to keep it). */
typedef enum iort_poll iort_poll_fn(void *arg, struct iort_waker *w);

/** Zero fields take their defaults. */
struct iort_pool_config {
	/** Worker threads; 0: one per CPU the process may run on. At most 1024. */
	unsigned workers;
	/** NULL: unpinned; else @c workers CPU numbers, -1 leaving that worker unpinned. */
	const int *cpus;
	/** Local run queue slots per worker: a power of two, 4..4096; 0: 256. */
	unsigned local_capacity;
	/** How long an idle worker spins before it parks, ns; 0: 50 µs; UINT64_MAX: never parks. */
	uint64_t spin_ns;
	/** Tasks a worker runs between checks of the inject queue; 0: 61. */
	unsigned inject_interval;
	/** Tasks in a row a worker takes from its LIFO slot; 0: 3. */
	unsigned lifo_cap;
	/**
	 * Bounded submit: at most this many tasks submitted from outside the pool wait to run;
	 * 0: unbounded. At the bound, iort_pool_submit() returns -EAGAIN and
	 * iort_pool_submit_wait() waits.
	 */
	size_t max_pending;
	/** Do not keep the per-worker counters (iort_pool_metrics() then reports zeros). */
	bool no_metrics;
};

struct iort_pool_metrics {
	uint64_t workers;
	uint64_t active_workers; /* neither parked nor searching: running tasks (a snapshot) */
	uint64_t searching;	 /* looking for work now (a snapshot) */
	uint64_t queue_depth;	 /* tasks queued now, local and inject (a snapshot) */
	uint64_t completed_jobs; /* tasks finished (run to the end, or polled to IORT_READY) */
	uint64_t polls;		 /* task runs and polls */
	uint64_t steals;	 /* successful steals */
	uint64_t steal_attempts;
	uint64_t stolen_tasks; /* tasks moved by those steals */
	uint64_t overflows;    /* local queue overflows (half moved to the inject queue) */
	uint64_t lifo_hits;    /* tasks taken from the LIFO slot */
	uint64_t inject_pops;  /* tasks taken from the inject queue */
	uint64_t parks;
	uint64_t unparks;
	uint64_t remote_submits; /* tasks submitted or woken from outside the pool's workers */
};

enum iort_shutdown {
	IORT_SHUTDOWN_DRAIN,  /* run every task already submitted, then stop */
	IORT_SHUTDOWN_CANCEL, /* drop the tasks that did not start (they report -ECANCELED) */
};

/** Options of iort_pool_spawn_ex(); zero fields are unused. */
struct iort_spawn {
	iort_task_fn *fn; /* exactly one of fn and poll */
	iort_poll_fn *poll;
	void *arg;
	/**
	 * Runs exactly once when the task is done, in the thread that finished it: status 0 (fn
	 * returned, poll returned IORT_READY) or -ECANCELED (it never ran, or stopped being
	 * polled). Frees what @c arg owns.
	 */
	void (*done)(void *arg, int status);
	/** The task is cancelled when this token is (see iort_task_cancel()). */
	struct iort_cancel *cancel;
};

/** @return 0; -EINVAL (a bad config field); -ENOMEM; -EAGAIN (could not start a thread). */
IORT_API int iort_pool_create(const struct iort_pool_config *cfg, struct iort_pool **out) IORT_WUR;

/**
 * Run @p fn(@p arg) on a worker, detached. From a worker of @p p it queues locally; from any
 * other thread it goes to the inject queue.
 * @return 0; -ESHUTDOWN (shutdown began); -EAGAIN (bounded: max_pending reached); -ENOMEM.
 */
IORT_API int iort_pool_submit(struct iort_pool *p, iort_task_fn *fn, void *arg) IORT_WUR;
/**
 * iort_pool_submit(), waiting while the pool is at max_pending, until @p deadline_ns (absolute,
 * iort_clock_ns(); IORT_DEADLINE_NONE for ever) or @p c (may be NULL) is cancelled.
 * @return as iort_pool_submit(), and -ETIMEDOUT, -ECANCELED instead of -EAGAIN.
 */
IORT_API int iort_pool_submit_wait(struct iort_pool *p, iort_task_fn *fn, void *arg,
				   uint64_t deadline_ns, struct iort_cancel *c) IORT_WUR;

/**
 * Run @p fn(@p arg) on a worker and return a handle to join (or release) in @p *out.
 * @return as iort_pool_submit() (spawn is never bounded).
 */
IORT_API int iort_pool_spawn(struct iort_pool *p, iort_task_fn *fn, void *arg,
			     struct iort_task **out) IORT_WUR;
/** Spawn with options; @p out may be NULL (detached). @return as iort_pool_spawn(), -EINVAL. */
IORT_API int iort_pool_spawn_ex(struct iort_pool *p, const struct iort_spawn *opt,
				struct iort_task **out) IORT_WUR;

/**
 * Wait until the task is done and release the handle. From a worker of the task's pool, run
 * other tasks while waiting.
 * @return 0 (ran to the end), -ECANCELED (cancelled before it finished).
 */
IORT_API int iort_task_join(struct iort_task *t);
/** Release a handle without waiting (the task runs on, detached). */
IORT_API void iort_task_release(struct iort_task *t);
/** Whether the task is done (a later join does not block). */
IORT_API bool iort_task_done(const struct iort_task *t);
/**
 * Cancel: a task not yet started never runs; a future is not polled again (a running poll
 * finishes first). A task running fn runs to its end, and join then returns 0.
 */
IORT_API void iort_task_cancel(struct iort_task *t);

/** Take a reference to the waker, for use after the poll returns. */
IORT_API struct iort_waker *iort_waker_clone(struct iort_waker *w) IORT_WUR;
/** Schedule the task to be polled (again), and drop the reference. */
IORT_API void iort_waker_wake(struct iort_waker *w);
/** Schedule the task to be polled (again), keeping the reference. */
IORT_API void iort_waker_wake_by_ref(struct iort_waker *w);
/** Drop a reference without waking. */
IORT_API void iort_waker_drop(struct iort_waker *w);

/** The pool whose worker calls this, or NULL from any other thread. */
IORT_API struct iort_pool *iort_pool_current(void);
/** The calling worker's index in its pool, or -1 from any other thread. */
IORT_API int iort_pool_worker_index(void);

/** Sum the per-worker counters (see struct iort_pool_metrics). */
IORT_API void iort_pool_metrics(const struct iort_pool *p, struct iort_pool_metrics *out);

/**
 * Stop accepting tasks (submit and spawn return -ESHUTDOWN) and wait for the workers to finish:
 * DRAIN runs every task queued or woken before the return, CANCEL reports those not yet started
 * as cancelled. A future still pending when the workers stop is cancelled. Not from a worker.
 * @return 0; -EDEADLK (called from a worker of @p p); -EALREADY (shutdown already done).
 */
IORT_API int iort_pool_shutdown(struct iort_pool *p, enum iort_shutdown how);
/** Shut down (DRAIN) if not done yet, and free the pool. Handles must have been joined or released. */
IORT_API void iort_pool_destroy(struct iort_pool *p);

#ifdef __cplusplus
}
#endif

#endif /* IORT_POOL_H */
