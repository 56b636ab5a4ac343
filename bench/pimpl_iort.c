/*
 * iort_pool: libiort's work-stealing pool (runtime/include/iort/pool.h), used as its users would:
 *
 *   submit     iort_pool_submit from the benchmark's thread: the inject queue
 *   spawn      iort_pool_submit from a worker: its LIFO slot and local run queue
 *   join2      iort_pool_spawn + the inline half + iort_task_join (which runs other tasks)
 *   yielding   a future: its poll calls step and, while step says again, wakes itself by
 *              reference and returns IORT_PENDING (re-queued after the poll)
 *
 * Built when meson finds runtime/src/sched/pool.c (IOB_HAVE_IORT_POOL); before that the
 * descriptor skips with a message.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "pool_impl.h"

#ifdef IOB_HAVE_IORT_POOL

#include <iort/pool.h>

static int ip_create(const struct pi_config *cfg, void **pool, const char **why)
{
	struct iort_pool_config c = {
		.workers = cfg->workers,
		.cpus = cfg->cpus,
		.no_metrics = cfg->no_metrics,
	};

	(void)why;
	return iort_pool_create(&c, (struct iort_pool **)pool);
}

static void ip_destroy(void *pool)
{
	iort_pool_destroy(pool);
}

/* From outside: the inject queue; from a worker: local. The same call. */
static int ip_submit(void *pool, pi_fn *fn, void *arg)
{
	return iort_pool_submit(pool, fn, arg);
}

static void ip_join2(void *pool, pi_fn *fn, void *arg, pi_fn *inl, void *inl_arg)
{
	struct iort_task *t;

	if (iort_pool_spawn(pool, fn, arg, &t)) {
		fn(arg); /* out of memory: run it here, the result stays right */
		inl(inl_arg);
		return;
	}
	inl(inl_arg);
	(void)iort_task_join(t);
}

struct ip_yield {
	pi_step_fn *step;
	void *arg;
};

static enum iort_poll ip_poll(void *arg, struct iort_waker *w)
{
	const struct ip_yield *y = arg;

	if (!y->step(y->arg))
		return IORT_READY;
	iort_waker_wake_by_ref(w);
	return IORT_PENDING;
}

/* The step and its argument ride in the future's argument; the done callback frees it. */
static void ip_yield_done(void *arg, int status)
{
	(void)status;
	free(arg);
}

static int ip_yielding(void *pool, pi_step_fn *step, void *arg)
{
	struct ip_yield *y = malloc(sizeof(*y));
	struct iort_spawn opt = { .poll = ip_poll, .done = ip_yield_done };
	int rc;

	if (!y)
		return -ENOMEM;
	y->step = step;
	y->arg = arg;
	opt.arg = y;
	rc = iort_pool_spawn_ex(pool, &opt, NULL);
	if (rc)
		free(y);
	return rc;
}

const struct pimpl pimpl_iort = {
	.impl = { .name = "iort_pool",
		  .origin = BENCH_IORT,
		  .about = "libiort's work-stealing pool: local rings, LIFO slot, inject queue" },
	.create = ip_create,
	.destroy = ip_destroy,
	.submit = ip_submit,
	.spawn = ip_submit,
	.join2 = ip_join2,
	.yielding = ip_yielding,
};

#else

const struct pimpl pimpl_iort = {
	.impl = { .name = "iort_pool",
		  .origin = BENCH_IORT,
		  .missing =
			  "iort_pool not built yet (runtime/src/sched/pool.c is not in this tree)",
		  .about = "libiort's work-stealing pool: local rings, LIFO slot, inject queue" },
};

#endif
