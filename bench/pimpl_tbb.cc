/*
 * tbb: oneTBB's scheduler, as its users would drive it (oneTBB 2021, libtbb-dev):
 *
 *   the pool   a task_arena of max_concurrency = workers with no slot reserved for the
 *              benchmark's thread, so exactly `workers` TBB worker threads run its tasks; a
 *              global_control raises TBB's process-wide worker limit (by default one less than
 *              the CPUs: 1 here) to workers + 1 while the pool lives; a task_scheduler_observer
 *              pins each thread entering the arena to the plan's PU of its arena slot
 *   submit     task_arena::enqueue from the benchmark's thread (FIFO, the arena's shared queue)
 *   spawn      task_group::run on one task_group of the pool, from a worker: the worker's own
 *              deque (LIFO for the owner, stolen FIFO); the workload counts completions, and
 *              destroy waits on the group inside the arena
 *   join2      a task_group on the stack: run the child, do the inline half, wait (the waiting
 *              worker runs other tasks): oneTBB's own fork-join shape
 *   yielding   TBB has no yield: a step that wants to go again is re-enqueued with
 *              this_task_arena::enqueue, behind the arena's other work (task_group::run would
 *              put it on top of the worker's own deque, where it would run again at once)
 *
 * C++ stays in this file; it exports the C descriptor. Built when meson found oneTBB
 * (IOB_HAVE_TBB); otherwise the descriptor skips with a message.
 */
#include <cerrno>
#include <new>

#include "pool_impl.h"

#ifdef IOB_HAVE_TBB

#include <pthread.h>
#include <sched.h>

#include <memory>
#include <vector>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <oneapi/tbb/task_scheduler_observer.h>

namespace
{

/* Pins every thread entering the arena to the PU of its arena slot. */
class pinner : public tbb::task_scheduler_observer
{
      public:
	pinner(tbb::task_arena &a, std::vector<int> cpus)
	    : tbb::task_scheduler_observer(a), cpus_(std::move(cpus))
	{
	}
	void on_scheduler_entry(bool) override
	{
		int slot = tbb::this_task_arena::current_thread_index();
		cpu_set_t set;

		if (cpus_.empty() || slot < 0)
			return;
		CPU_ZERO(&set);
		CPU_SET(cpus_[(size_t)slot % cpus_.size()], &set);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}

      private:
	std::vector<int> cpus_;
};

struct tbb_pool {
	tbb::global_control limit;
	tbb::task_arena arena;
	tbb::task_group group; /* spawn's: detached tasks, waited for at destroy */
	pinner pin;

	explicit tbb_pool(const pi_config *cfg)
	    : limit(tbb::global_control::max_allowed_parallelism, cfg->workers + 1),
	      arena((int)cfg->workers, 0),
	      pin(arena, cfg->cpus ? std::vector<int>(cfg->cpus, cfg->cpus + cfg->workers)
				   : std::vector<int>())
	{
		arena.initialize();
		pin.observe(true);
	}
	~tbb_pool()
	{
		arena.execute([this] { group.wait(); });
		pin.observe(false);
		arena.terminate();
	}
};

int tp_create(const pi_config *cfg, void **pool, const char **)
{
	try {
		*pool = new tbb_pool(cfg);
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	} catch (...) {
		return -EAGAIN;
	}
	return 0;
}

void tp_destroy(void *pool)
{
	delete static_cast<tbb_pool *>(pool);
}

int tp_submit(void *pool, pi_fn *fn, void *arg)
{
	static_cast<tbb_pool *>(pool)->arena.enqueue([fn, arg] { fn(arg); });
	return 0;
}

int tp_spawn(void *pool, pi_fn *fn, void *arg)
{
	static_cast<tbb_pool *>(pool)->group.run([fn, arg] { fn(arg); });
	return 0;
}

void tp_join2(void *, pi_fn *fn, void *arg, pi_fn *inl, void *inl_arg)
{
	tbb::task_group g;

	g.run([fn, arg] { fn(arg); });
	inl(inl_arg);
	g.wait();
}

void tp_step(tbb_pool *p, pi_step_fn *step, void *arg)
{
	if (step(arg))
		tbb::this_task_arena::enqueue([p, step, arg] { tp_step(p, step, arg); });
}

int tp_yielding(void *pool, pi_step_fn *step, void *arg)
{
	tbb_pool *p = static_cast<tbb_pool *>(pool);

	p->arena.enqueue([p, step, arg] { tp_step(p, step, arg); });
	return 0;
}

} // namespace

/* Positional (C++17 has no designated initializers): impl, unsupported, create, destroy,
 * submit, run, spawn, join2, yielding. */
extern "C" const struct pimpl pimpl_tbb = {
	{ "tbb", BENCH_BASELINE, "libtbb-dev", nullptr,
	  "oneTBB: task_group spawns and joins, task_arena::enqueue from outside" },
	{},
	tp_create,
	tp_destroy,
	tp_submit,
	nullptr,
	tp_spawn,
	tp_join2,
	tp_yielding,
};

#else

extern "C" const struct pimpl pimpl_tbb = {
	{ "tbb", BENCH_BASELINE, "libtbb-dev",
	  "oneTBB not built: install libtbb-dev and reconfigure",
	  "oneTBB: task_group spawns and joins, task_arena::enqueue from outside" },
	{},
	nullptr,
	nullptr,
	nullptr,
	nullptr,
	nullptr,
	nullptr,
	nullptr,
};

#endif
