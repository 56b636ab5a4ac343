/**
 * A small vtable over thread pools, ours and the baselines', for bench/bench_pool.c.
 *
 * Each adapter file (bench/pimpl_*.c, pimpl_tbb.cc) defines one `const struct pimpl`, and
 * bench_pool.c's pool_impls[] lists it once. A baseline whose library was not found at configure
 * time still defines its descriptor, with impl.missing set and no operations: its benchmarks keep
 * their names and skip with that message. A scenario an implementation cannot express (libuv's
 * threadpool cannot join from inside a work item) has its message in unsupported[]: that cell
 * skips with "unsupported: <message>" (tests/bench/bench_smoke.sh accepts exactly that).
 *
 * The operations, by who calls them:
 *   create, destroy, submit, run   the benchmark's own thread, which is not one of the pool's
 *   spawn, join2, yielding         a task running on one of the pool's workers
 * Tasks report their own completion to the workload (an atomic count, a latch): the vtable has
 * no "wait for everything", so each pool is measured doing only what its users would ask of it.
 *
 * Synchronization: create and destroy run with no other call on the pool in flight; destroy
 * comes after every task the workload started has finished (it counted them). submit may race
 * with tasks calling spawn.
 */
#ifndef IOB_POOL_IMPL_H
#define IOB_POOL_IMPL_H

#include <stdbool.h>

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void pi_fn(void *arg);
/** One step of a yielding task: true to be re-scheduled and called again, false when done. */
typedef bool pi_step_fn(void *arg);

struct pi_config {
	unsigned workers;
	const int *cpus; /**< @c workers PUs (the harness's plan); NULL: unpinned */
	bool no_metrics; /**< iort_pool: iort_pool_config.no_metrics */
};

/** The scenarios, for unsupported[]. */
enum pi_scenario {
	PS_SPAWN_LOCAL,
	PS_SPAWN_REMOTE,
	PS_FORK_JOIN,
	PS_YIELD,
	PS_PING_PONG,
	PS_CHAINED,
	PS_IDLE_WAKEUP,
	PS_METRICS,
	PS_COUNT
};

struct pimpl {
	struct bench_impl impl; /**< name, origin, package; missing: the skip message */
	/** Why a scenario cannot run on this pool (NULL: it can). */
	const char *unsupported[PS_COUNT];
	/**
	 * Start @p cfg->workers workers, pinned to cfg->cpus. @return 0 or a negative errno, and
	 * then optionally a static message in @p *why.
	 */
	int (*create)(const struct pi_config *cfg, void **pool, const char **why);
	/** Stop the workers and free the pool (every task has finished). */
	void (*destroy)(void *pool);
	/** From outside the pool: run fn(arg) on a worker, detached. @return 0 or -errno. */
	int (*submit)(void *pool, pi_fn *fn, void *arg);
	/**
	 * From outside: run fn(arg) as a task and return once it returned. NULL: the workload
	 * submits it and waits on a latch (only libgomp, whose tasks live inside a parallel region
	 * the caller opens, needs its own).
	 */
	int (*run)(void *pool, pi_fn *fn, void *arg);
	/** From a task: run fn(arg) on a worker later, detached. @return 0 or -errno. */
	int (*spawn)(void *pool, pi_fn *fn, void *arg);
	/**
	 * From a task: spawn fn(arg), run inl(inl_arg) here, then wait for fn to finish, running
	 * other tasks of the pool while waiting (a worker that blocked could deadlock the pool).
	 */
	void (*join2)(void *pool, pi_fn *fn, void *arg, pi_fn *inl, void *inl_arg);
	/**
	 * From a task or outside: start a task that calls step(arg) and, while it returns true,
	 * is re-queued behind the pool's other work and called again. @return 0 or -errno.
	 */
	int (*yielding)(void *pool, pi_step_fn *step, void *arg);
};

/**
 * bench/pimpl_common.c: yielding for a pool without a yield: run step as a task submitted with
 * @p submit, and submit it again (behind the pool's other work) while it returns true.
 * @return 0 or -errno.
 */
int pi_yield_by_resubmit(void *pool, int (*submit)(void *pool, pi_fn *fn, void *arg),
			 pi_step_fn *step, void *arg);

/* bench/pimpl_iort.c */
extern const struct pimpl pimpl_iort;
/* bench/pimpl_seed.c */
extern const struct pimpl pimpl_seed;
/* bench/pimpl_tbb.cc */
extern const struct pimpl pimpl_tbb;
/* bench/pimpl_uv.c */
extern const struct pimpl pimpl_uv;
/* bench/pimpl_gomp.c */
extern const struct pimpl pimpl_gomp;

#ifdef __cplusplus
}
#endif

#endif /* IOB_POOL_IMPL_H */
