/*
 * gomp_tasks: OpenMP tasks in GCC's libgomp, for fork-join only.
 *
 *   run     the benchmark's thread opens `#pragma omp parallel num_threads(workers)` and becomes
 *           its thread 0 (so the team is the benchmark thread and workers - 1 libgomp threads,
 *           each pinned to the plan's PU of its thread number for the region, the benchmark
 *           thread's own affinity restored after); one thread runs the root in `omp single`,
 *           the others take tasks at the region's closing barrier
 *   join2   `#pragma omp task` for the child, the inline half, `#pragma omp taskwait` (which
 *           runs other tasks while it waits)
 *
 * Spawning many tasks means little here: libgomp runs a task inline, at once, in the thread
 * that creates it once that team has more than 64 tasks per thread queued (its task
 * throttling), so spawn-many would measure function calls. Those scenarios skip. libgomp's idle
 * threads spin (GOMP_SPINCOUNT, OMP_WAIT_POLICY) before they sleep; the defaults are kept.
 *
 * Built when meson found OpenMP (IOB_HAVE_OPENMP); otherwise the descriptor skips with a message.
 */
#include <errno.h>
#include <stdlib.h>

#include "pool_impl.h"

#define GOMP_INLINE                                                                       \
	"libgomp runs tasks inline past 64 queued per thread, so spawning many measures " \
	"function calls: fork_join_fib only"

#ifdef IOB_HAVE_OPENMP

#include <omp.h>
#include <pthread.h>
#include <sched.h>

struct gomp_pool {
	unsigned workers;
	int cpus[]; /* workers PUs, -1: unpinned */
};

static int gp_create(const struct pi_config *cfg, void **pool, const char **why)
{
	struct gomp_pool *p = malloc(sizeof(*p) + cfg->workers * sizeof(int));

	(void)why;
	if (!p)
		return -ENOMEM;
	p->workers = cfg->workers;
	for (unsigned i = 0; i < cfg->workers; i++)
		p->cpus[i] = cfg->cpus ? cfg->cpus[i] : -1;
	omp_set_dynamic(0); /* exactly num_threads threads */
	*pool = p;
	return 0;
}

static void gp_destroy(void *pool)
{
	free(pool);
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int gp_run(void *pool, pi_fn *fn, void *arg)
{
	struct gomp_pool *p = pool;
	cpu_set_t mine;
	int saved = pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine) == 0;

#pragma omp parallel num_threads(p->workers)
	{
		pin_self(p->cpus[omp_get_thread_num()]);
#pragma omp single
		fn(arg);
	}
	if (saved)
		(void)pthread_setaffinity_np(pthread_self(), sizeof(mine), &mine);
	return 0;
}

static void gp_join2(void *pool, pi_fn *fn, void *arg, pi_fn *inl, void *inl_arg)
{
	(void)pool;
#pragma omp task firstprivate(fn, arg)
	fn(arg);
	inl(inl_arg);
#pragma omp taskwait
}

const struct pimpl pimpl_gomp = {
	.impl = { .name = "gomp_tasks",
		  .origin = BENCH_BASELINE,
		  .package = "libgomp1",
		  .about = "GCC's OpenMP tasks (task + taskwait), fork-join only" },
	.unsupported = { [PS_SPAWN_LOCAL] = GOMP_INLINE,
			 [PS_SPAWN_REMOTE] = GOMP_INLINE,
			 [PS_YIELD] = GOMP_INLINE,
			 [PS_PING_PONG] = GOMP_INLINE,
			 [PS_CHAINED] = GOMP_INLINE,
			 [PS_IDLE_WAKEUP] =
				 "libgomp has no submission from outside a parallel region" },
	.create = gp_create,
	.destroy = gp_destroy,
	.run = gp_run,
	.join2 = gp_join2,
};

#else

const struct pimpl pimpl_gomp = {
	.impl = { .name = "gomp_tasks",
		  .origin = BENCH_BASELINE,
		  .package = "libgomp1",
		  .missing = "OpenMP not built: install libgomp1 (with gcc) and reconfigure",
		  .about = "GCC's OpenMP tasks (task + taskwait), fork-join only" },
};

#endif
