/*
 * Thread pool benchmarks: the shapes of tokio's and oneTBB's scheduler suites, each at 1 and 2
 * workers (the `workers` parameter). The workers are pinned to plan slots 0..W-1; the benchmark's
 * own thread (the "outside" of the pool: it creates the pool, submits from outside and waits) is
 * pinned to slot W (mod the plan's size), so with 2 workers on 2 PUs it shares a PU with worker 0:
 * the machine is oversubscribed, on purpose (issue 10).
 *
 * One Google Benchmark iteration is one round, timed by the wall clock (/real_time), reported as
 * items_per_second (tasks run, or steps for yield_many):
 *
 *   pool/spawn_many_local   a task submitted from outside spawns N empty tasks (detached) from
 *                           inside the pool; the round ends when all N have run. N = 1M.
 *   pool/spawn_many_remote  the benchmark's thread submits N empty tasks; N = 1M.
 *   pool/fork_join_fib      fib(27) with one child spawned and joined per level (no sequential
 *                           cutoff: 317,810 spawns and joins), oneTBB's and tokio's shape; the
 *                           items are the spawns, and fib_ms is the time of one fib(27).
 *   pool/yield_many         200 tasks started from outside, each yielding 1000 times (a step
 *                           that asks to be re-scheduled behind the pool's other work); items:
 *                           steps.
 *   pool/ping_pong          a task spawns 1000 pairs; each pair bounces a message 10 times, each
 *                           bounce a spawn of the other side carrying it (message passing from
 *                           task to task: what a LIFO slot is for); items: spawns.
 *   pool/chained_spawn      a task submitted from outside spawns the next, 1000 deep; items:
 *                           spawns.
 *   pool/idle_wakeup        one task submitted to an idle pool; latency from just before the
 *                           submit to the task running (fast clock, across threads), p50/p99/
 *                           p99.9/max; gap:0 submits again as soon as the previous task ran (a
 *                           worker is still in its spin window), gap:1ms sleeps 1 ms first (the
 *                           worker has parked). Manual time: an iteration's time is its latency.
 *   pool/metrics            spawn_many_local on iort_pool with its per-worker counters on or
 *                           off (iort_pool_config.no_metrics): what the metrics cost.
 *
 * With --iobench_fixed_iterations (bench-smoke, instruction counting) the rounds shrink (N = 1000,
 * fib(15), 20 x 10 yields, 10 pairs x 4 bounces) so that a smoke run of every pool stays short.
 *
 * The end of a round: each task counts itself in one shared counter (as tokio's benchmarks do),
 * and the one that completes the round opens a latch on which the benchmark's thread sleeps (a
 * futex). The round's figure therefore includes one wake-up of the benchmark's thread, and
 * between rounds the pool is idle for as long as that takes. Every implementation pays the same.
 *
 * Payload checks after the loop: every task ran exactly once (the shared counter equals the
 * tasks started), fib's result is right, every ping-pong message made all its bounces. A pool's
 * wrong answer is reported as an error, not a figure.
 *
 * Adding a pool: its adapter file (bench/pimpl_<lib>.c, declared in pool_impl.h) and one line in
 * pool_impls[]. A scenario it cannot express: its message in the adapter's unsupported[].
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <iort/clock.h>
#include <iort/compiler.h>

#include "bench.h"
#include "hist.h"
#include "pool_impl.h"

/* Every pool, once; the reference is oneTBB, the strongest scheduler on hand. */
static const struct pimpl *const pool_impls[] = {
	&pimpl_iort, &pimpl_tbb, &pimpl_seed, &pimpl_uv, &pimpl_gomp,
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_WORKERS 8

/* Round sizes: full, and with --iobench_fixed_iterations. */
#define SPAWN_N	     1000000u
#define SPAWN_N_S    1000u
#define FIB_N	     27
#define FIB_N_S	     15
#define YIELD_T	     200u
#define YIELD_T_S    20u
#define YIELD_K	     1000u
#define YIELD_K_S    10u
#define PING_PAIRS   1000u
#define PING_PAIRS_S 10u
#define PING_B	     10u
#define PING_B_S     4u
#define CHAIN_DEPTH  1000u
#define GAP_NS	     1000000ull /* idle_wakeup gap:1ms */

struct pcase {
	const struct pimpl *pi;
	enum pi_scenario sc;
	unsigned workers;
	uint64_t gap_ns;
	bool no_metrics;
	char name[112]; /* for the latency CSV */
};

/* The run in progress (benchmarks run one at a time). Tasks find the pool here. */
static struct {
	const struct pimpl *pi;
	void *pool;
	/* Tasks run this round and in all: the task whose count reaches target opens the latch. */
	_Atomic uint64_t done IORT_CACHELINE_ALIGNED;
	/* Written by the benchmark's thread before the round's first task; a slow task of the
	 * previous round may read the new value, which its count can never equal. */
	_Atomic uint64_t target;
	_Atomic uint32_t latch IORT_CACHELINE_ALIGNED;
	atomic_bool bad; /* a payload check failed inside a task */
	/* Round parameters. */
	unsigned n, yield_k, ping_b;
	/* idle_wakeup: the task's clock reading, and its flag. */
	uint64_t t1 IORT_CACHELINE_ALIGNED;
	atomic_bool ran;
} run;

/* --- the round's end: a count and a latch --- */

static void latch_wait(void)
{
	/* MO bench_pool.A1 (acquire): the round's tasks' writes (fib's result, the pairs) are
	 * visible once the latch reads open; pairs with bench_pool.R1. */
	while (!atomic_load_explicit(&run.latch, memory_order_acquire))
		syscall(SYS_futex, &run.latch, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

/* Count one task; the one that reaches the target opens the latch. */
static inline void task_done(void)
{
	/* MO bench_pool.R0 (acq_rel): each task's writes travel along the counter's release
	 * sequence to the task that completes the round (and on, by bench_pool.R1);
	 * pairs with bench_pool.R0 in the other tasks. */
	uint64_t n = atomic_fetch_add_explicit(&run.done, 1, memory_order_acq_rel) + 1;

	/* MO relaxed: the submit that started the round published it (see round_begin). */
	if (iort_unlikely(n == atomic_load_explicit(&run.target, memory_order_relaxed))) {
		/* MO bench_pool.R1 (release): publish the round; pairs with bench_pool.A1. */
		atomic_store_explicit(&run.latch, 1, memory_order_release);
		syscall(SYS_futex, &run.latch, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
}

/* Before a round of @p tasks: the latch closed, the target moved. Only the benchmark's thread
 * writes target, and only between rounds (no task of the previous round is left: all counted). */
static void round_begin(uint64_t tasks)
{
	/* MO relaxed: every task of the last round has counted (the latch said so); the submit
	 * that starts this round publishes the new target to its tasks. */
	uint64_t done = atomic_load_explicit(&run.done, memory_order_relaxed);

	/* MO relaxed: as above. */
	atomic_store_explicit(&run.target, done + tasks, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&run.latch, 0, memory_order_relaxed);
}

/* Submit @p fn(@p arg) from outside and wait for the round (or use the pool's own run). */
static int submit_and_wait(pi_fn *fn, void *arg)
{
	int rc = run.pi->submit(run.pool, fn, arg);

	if (!rc)
		latch_wait();
	return rc;
}

/* --- the tasks --- */

static void empty_task(void *arg)
{
	(void)arg;
	task_done();
}

/* spawn_many_local's root: spawn n empty tasks from inside. */
static void spawner(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < run.n; i++)
		if (run.pi->spawn(run.pool, empty_task, NULL)) {
			atomic_store(&run.bad, true);
			empty_task(NULL); /* keep the count: the round still ends */
		}
}

struct fib {
	int n;
	long r;
};

static void fib_task(void *arg);

static void fib_task(void *arg)
{
	struct fib *f = arg, a, b;

	if (f->n < 2) {
		f->r = f->n;
		return;
	}
	a.n = f->n - 1;
	b.n = f->n - 2;
	run.pi->join2(run.pool, fib_task, &a, fib_task, &b);
	f->r = a.r + b.r;
}

static void fib_root(void *arg)
{
	fib_task(arg);
	task_done();
}

/* spawns in fib(n): one per call with n >= 2, fib(n + 1) - 1. */
static uint64_t fib_spawns(int n)
{
	uint64_t a = 0, b = 1; /* fib(0), fib(1) */

	for (int i = 0; i < n + 1; i++) {
		uint64_t c = a + b;

		a = b;
		b = c;
	}
	return a - 1;
}

static long fib_seq(int n)
{
	long a = 0, b = 1;

	for (int i = 0; i < n; i++) {
		long c = a + b;

		a = b;
		b = c;
	}
	return a;
}

/* yield_many: one counter per task, on its own line. */
struct ystep {
	unsigned k;
} IORT_CACHELINE_ALIGNED;

static bool yield_step(void *arg)
{
	struct ystep *y = arg;
	bool again = ++y->k < run.yield_k;

	task_done(); /* one step, counted last: the round may end with it */
	return again;
}

/* ping_pong: the message, bounced between the pair's two sides by spawning the other side. */
struct pair {
	unsigned bounces; /* made so far */
	uint64_t msg;	  /* each side adds its mark: checked at the end */
};

static void pong(void *arg);

static void ping(void *arg)
{
	struct pair *p = arg;

	p->msg += 1;
	if (++p->bounces < run.ping_b && run.pi->spawn(run.pool, pong, p))
		atomic_store(&run.bad, true);
	task_done(); /* last: the round may end with it, and the pairs be reused */
}

static void pong(void *arg)
{
	struct pair *p = arg;

	p->msg += 1000;
	if (++p->bounces < run.ping_b && run.pi->spawn(run.pool, ping, p))
		atomic_store(&run.bad, true);
	task_done();
}

static struct pair *pairs;

static void ping_root(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < run.n; i++) {
		pairs[i].bounces = 0;
		pairs[i].msg = 0;
		if (run.pi->spawn(run.pool, ping, &pairs[i])) {
			atomic_store(&run.bad, true);
			for (unsigned k = 0; k < run.ping_b; k++)
				task_done();
		}
	}
}

/* chained_spawn: each link spawns the next; the arg is the depth left. */
static void chain(void *arg)
{
	uintptr_t left = (uintptr_t)arg;

	if (left > 1 && run.pi->spawn(run.pool, chain, (void *)(left - 1))) {
		atomic_store(&run.bad, true);
		for (uintptr_t i = 1; i < left; i++)
			task_done();
	}
	task_done();
}

/* idle_wakeup's task: the time it ran, then the flag. */
static void wake_task(void *arg)
{
	(void)arg;
	run.t1 = iort_clock_fast_ns();
	/* MO bench_pool.R2 (release): t1 before the flag; pairs with bench_pool.A2. */
	atomic_store_explicit(&run.ran, true, memory_order_release);
}

/* --- the benchmark --- */

static void skip(struct iob_state *st, const char *msg)
{
	iob_state_skip_with_error(st, msg);
}

/* @return 0, or an error already reported. */
static int pool_begin(struct iob_state *st, const struct pcase *c)
{
	int cpus[MAX_WORKERS];
	struct pi_config cfg = { .workers = c->workers, .no_metrics = c->no_metrics };
	const char *why = NULL;
	char msg[200];
	int rc;

	if (c->pi->impl.missing) {
		skip(st, c->pi->impl.missing);
		return -ENOENT;
	}
	if (c->pi->unsupported[c->sc]) {
		snprintf(msg, sizeof(msg), "unsupported: %s", c->pi->unsupported[c->sc]);
		skip(st, msg);
		return -ENOTSUP;
	}
	if (bench_pin_slot(st, (int)c->workers))
		return -EIO;
	for (unsigned i = 0; i < c->workers; i++)
		cpus[i] = bench_slot_pu((int)i);
	cfg.cpus = bench_env.simulated ? NULL : cpus;
	memset(&run, 0, sizeof(run));
	atomic_init(&run.done, 0);
	atomic_init(&run.latch, 0);
	atomic_init(&run.bad, false);
	atomic_init(&run.ran, false);
	run.pi = c->pi;
	rc = c->pi->create(&cfg, &run.pool, &why);
	if (rc) {
		snprintf(msg, sizeof(msg), "cannot create the pool: %s", why ? why : strerror(-rc));
		skip(st, msg);
		return rc;
	}
	return 0;
}

static void bm_throughput(struct iob_state *st, void *arg)
{
	const struct pcase *c = arg;
	bool smoke = bench_env.fixed_iterations > 0;
	int fib_n = smoke ? FIB_N_S : FIB_N;
	uint64_t items = 0, started = 0, fib_ns = 0;
	struct ystep *ys = NULL;
	long fib_bad = 0;
	int rc = 0;

	if (pool_begin(st, c))
		return;
	run.n = smoke ? SPAWN_N_S : SPAWN_N;
	if (c->sc == PS_YIELD) {
		run.n = smoke ? YIELD_T_S : YIELD_T;
		run.yield_k = smoke ? YIELD_K_S : YIELD_K;
		ys = aligned_alloc(64, run.n * sizeof(*ys));
	} else if (c->sc == PS_PING_PONG) {
		run.n = smoke ? PING_PAIRS_S : PING_PAIRS;
		run.ping_b = smoke ? PING_B_S : PING_B;
		pairs = calloc(run.n, sizeof(*pairs));
	}
	if ((c->sc == PS_YIELD && !ys) || (c->sc == PS_PING_PONG && !pairs)) {
		run.pi->destroy(run.pool);
		skip(st, "out of memory");
		return;
	}
	while (iob_state_keep_running(st)) {
		uint64_t tasks;
		struct fib f = { .n = fib_n };

		switch (c->sc) {
		case PS_SPAWN_LOCAL:
		case PS_METRICS:
			round_begin(tasks = run.n);
			rc = submit_and_wait(spawner, NULL);
			break;
		case PS_SPAWN_REMOTE:
			round_begin(tasks = run.n);
			for (unsigned i = 0; i < run.n && !rc; i++)
				rc = run.pi->submit(run.pool, empty_task, NULL);
			if (!rc)
				latch_wait();
			break;
		case PS_FORK_JOIN:
			tasks = fib_spawns(fib_n);
			fib_ns -= iort_clock_ns();
			if (run.pi->run) {
				round_begin(1);
				rc = run.pi->run(run.pool, fib_root, &f);
				if (!rc)
					latch_wait();
			} else {
				round_begin(1);
				rc = submit_and_wait(fib_root, &f);
			}
			fib_ns += iort_clock_ns();
			fib_bad += f.r != fib_seq(fib_n);
			break;
		case PS_YIELD:
			round_begin(tasks = (uint64_t)run.n * run.yield_k);
			for (unsigned i = 0; i < run.n && !rc; i++) {
				ys[i].k = 0;
				rc = run.pi->yielding(run.pool, yield_step, &ys[i]);
			}
			if (!rc)
				latch_wait();
			break;
		case PS_PING_PONG:
			round_begin(tasks = (uint64_t)run.n * run.ping_b);
			rc = submit_and_wait(ping_root, NULL);
			break;
		case PS_CHAINED:
		default:
			round_begin(tasks = CHAIN_DEPTH);
			rc = submit_and_wait(chain, (void *)(uintptr_t)CHAIN_DEPTH);
			break;
		}
		if (rc) {
			/* Tasks already started may still run: stop here, let destroy drain them. */
			skip(st, "the pool refused a task");
			break;
		}
		items += tasks;
		started += c->sc == PS_FORK_JOIN ? 1 : tasks;
	}
	run.pi->destroy(run.pool);
	if (c->sc == PS_FORK_JOIN && iob_state_iterations(st))
		iob_state_counter(st, "fib_ms",
				  (double)fib_ns * 1e-6 / (double)iob_state_iterations(st), 0);
	if (!rc) {
		/* MO relaxed: destroy joined every worker; their writes are visible. */
		uint64_t done = atomic_load_explicit(&run.done, memory_order_relaxed);

		if (done != started)
			skip(st, "a task ran twice or was lost (count differs)");
		else if (fib_bad)
			skip(st, "fork_join_fib computed a wrong result");
		else if (atomic_load(&run.bad))
			skip(st, "the pool refused a spawn");
		for (unsigned i = 0; c->sc == PS_PING_PONG && i < run.n; i++)
			if (pairs[i].msg !=
			    (uint64_t)((run.ping_b + 1) / 2) + 1000u * (uint64_t)(run.ping_b / 2)) {
				skip(st, "a ping-pong message lost a bounce");
				break;
			}
	}
	iob_state_set_items_processed(st, (int64_t)items);
	free(ys);
	free(pairs);
	pairs = NULL;
}

static void bm_idle_wakeup(struct iob_state *st, void *arg)
{
	const struct pcase *c = arg;
	struct iob_hist *h;
	char name[160];
	int rc = 0;

	if (iob_hist_create(1, 10000000000ull, 3, &h)) {
		skip(st, "out of memory");
		return;
	}
	if (pool_begin(st, c)) {
		iob_hist_destroy(h);
		return;
	}
	(void)iort_clock_fast_ns(); /* calibrate outside the loop */
	while (iob_state_keep_running(st)) {
		uint64_t t0, lat;

		if (c->gap_ns) {
			struct timespec ts = { 0, (long)c->gap_ns };

			while (nanosleep(&ts, &ts) && errno == EINTR)
				;
		}
		/* MO relaxed: the previous task set it and is done with it (we read its flag). */
		atomic_store_explicit(&run.ran, false, memory_order_relaxed);
		t0 = iort_clock_fast_ns();
		rc = run.pi->submit(run.pool, wake_task, NULL);
		if (rc) {
			skip(st, "the pool refused a task");
			break;
		}
		/* Yield while waiting: with 2 workers this thread shares a PU with worker 0, which
		 * may be the one to run the task. */
		/* MO bench_pool.A2 (acquire): the task's t1; pairs with bench_pool.R2. */
		while (!atomic_load_explicit(&run.ran, memory_order_acquire))
			sched_yield();
		lat = run.t1 > t0 ? run.t1 - t0 : 0;
		iob_hist_record(h, lat);
		iob_state_set_iteration_time(st, (double)(lat ? lat : 1) * 1e-9);
	}
	run.pi->destroy(run.pool);
	iob_state_set_items_processed(st, iob_state_iterations(st));
	iob_state_counter(st, "p50_ns", (double)iob_hist_percentile(h, 50.0), 0);
	iob_state_counter(st, "p99_ns", (double)iob_hist_percentile(h, 99.0), 0);
	iob_state_counter(st, "p999_ns", (double)iob_hist_percentile(h, 99.9), 0);
	iob_state_counter(st, "max_ns", (double)iob_hist_max(h), 0);
	snprintf(name, sizeof(name), "%s/manual_time/threads:1", c->name);
	if (!rc)
		bench_latency_csv_write(name, h);
	iob_hist_destroy(h);
}

/* --- registration --- */

#define SCENARIO(id, shape, text)                 \
	static const struct bench_scenario id = { \
		.name = "pool/" shape,            \
		.about = text,                    \
		.kind = BENCH_THROUGHPUT,         \
		.timing = BENCH_REAL_TIME,        \
		.flags = BENCH_DEFAULT,           \
		.reference = "tbb",               \
		.params = { "workers" },          \
	}
SCENARIO(sc_spawn_local, "spawn_many_local", "1M empty tasks spawned from inside a task");
SCENARIO(sc_spawn_remote, "spawn_many_remote", "1M empty tasks submitted from outside the pool");
SCENARIO(sc_fork_join, "fork_join_fib", "fib(27), one child spawned and joined per level");
SCENARIO(sc_yield, "yield_many", "200 tasks yielding 1000 times each");
SCENARIO(sc_ping_pong, "ping_pong", "1000 pairs bouncing a message 10 times by spawns");
SCENARIO(sc_chained, "chained_spawn", "each task spawns the next, 1000 deep");

static const struct bench_scenario sc_idle = {
	.name = "pool/idle_wakeup",
	.about = "submit to an idle pool: latency until the task runs (gap: idle time before)",
	.kind = BENCH_LATENCY,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "tbb",
	.params = { "gap", "workers" },
};
static const struct bench_scenario sc_metrics = {
	.name = "pool/metrics",
	.about = "spawn_many_local with iort_pool's per-worker counters on or off",
	.kind = BENCH_THROUGHPUT,
	.timing = BENCH_REAL_TIME,
	.flags = BENCH_DEFAULT,
	.params = { "metrics", "workers" },
};

static struct pcase cases[NELEM(pool_impls) * 2 * 8 + 4];
static size_t ncases;

static struct pcase *new_case(const struct pimpl *pi, enum pi_scenario sc, unsigned workers)
{
	struct pcase *c = &cases[ncases++];

	c->pi = pi;
	c->sc = sc;
	c->workers = workers;
	return c;
}

static void register_all(void)
{
	static const struct {
		const struct bench_scenario *s;
		enum pi_scenario sc;
	} tp[] = {
		{ &sc_spawn_local, PS_SPAWN_LOCAL }, { &sc_spawn_remote, PS_SPAWN_REMOTE },
		{ &sc_fork_join, PS_FORK_JOIN },     { &sc_yield, PS_YIELD },
		{ &sc_ping_pong, PS_PING_PONG },     { &sc_chained, PS_CHAINED },
	};
	static const char *const wname[] = { "1", "2" };
	static const char *const gname[] = { "0", "1ms" };
	static const uint64_t gap[] = { 0, GAP_NS };
	static const char *const mname[] = { "on", "off" };
	static const int one[] = { 1 }; /* the benchmark's thread; the pool's are `workers` */

	for (size_t i = 0; i < NELEM(pool_impls); i++) {
		const struct pimpl *pi = pool_impls[i];

		for (size_t k = 0; k < NELEM(tp); k++)
			for (unsigned w = 1; w <= 2; w++) {
				const char *values[1] = { wname[w - 1] };

				bench_add(tp[k].s, &pi->impl, bm_throughput,
					  new_case(pi, tp[k].sc, w), one, 1, values);
			}
		for (size_t g = 0; g < NELEM(gap); g++)
			for (unsigned w = 1; w <= 2; w++) {
				const char *values[2] = { gname[g], wname[w - 1] };
				struct pcase *c = new_case(pi, PS_IDLE_WAKEUP, w);

				c->gap_ns = gap[g];
				snprintf(c->name, sizeof(c->name), "%s/%s/gap:%s/workers:%s",
					 sc_idle.name, pi->impl.name, gname[g], wname[w - 1]);
				bench_add(&sc_idle, &pi->impl, bm_idle_wakeup, c, one, 1, values);
			}
	}
	for (size_t m = 0; m < NELEM(mname); m++)
		for (unsigned w = 1; w <= 2; w++) {
			const char *values[2] = { mname[m], wname[w - 1] };
			struct pcase *c = new_case(&pimpl_iort, PS_METRICS, w);

			c->no_metrics = m == 1;
			bench_add(&sc_metrics, &pimpl_iort.impl, bm_throughput, c, one, 1, values);
		}
}

const struct bench_family bench_family_pool = {
	.name = "pool",
	.about = "thread pools: ours, oneTBB's, libuv's, libgomp's and the sketch's: spawning, "
		 "fork-join, yielding, message passing, idle wake-up",
	.register_all = register_all,
};
