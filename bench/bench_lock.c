/*
 * Lock benchmarks: how fast, how fair, and what happens when threads outnumber cores.
 *
 *   lock/uncontended/<impl>                 one thread: lock then unlock per iteration (a second,
 *                                           idle thread exists: see struct idle)
 *   lock/contended/<impl>/cs:C/ncs:N        2 and 4 threads on one lock; each acquisition
 *                                           increments a shared counter and spins C ns inside
 *                                           the critical section, then N ns outside it.
 *                                           Time-sliced (an iteration is SLICE_NS of wall time,
 *                                           manual time) so that a lock that collapses under
 *                                           preemption costs time per slice, not hours.
 *   lock/many/<impl>/locks:64               2 and 4 threads, 64 locks: each acquisition takes a
 *                                           random one (a per-thread xorshift64 with a fixed
 *                                           seed per thread index) and increments its counter;
 *                                           little contention, many lines: what a lock costs
 *                                           spread over a table. Time-sliced as above.
 *
 * Contended results, set by thread 0 after every thread has left its loop:
 *   items_per_second   acquisitions per second, all threads
 *   p50_ns ... max_ns  wait: from the call to lock() to holding the lock (HDR histograms per
 *                      thread, merged)
 *   jain               Jain's fairness index over the threads' acquisition counts (1: equal)
 *   jain_min_10ms      the minimum of Jain's index over 10 ms windows of wall time counted from
 *                      the run's start (thread 0's setup, just before the start barrier): each
 *                      acquisition counts in the window of its acquisition time. Only complete
 *                      windows count, those that end before the first thread stopped (so neither
 *                      the final partial window nor the tail where some threads have stopped),
 *                      and only windows with at least 2 x threads acquisitions in all (a window
 *                      in which the lock barely moved says nothing about sharing). 0 when no
 *                      window qualifies (a run shorter than 10 ms, or a lock stalled in every
 *                      window). Counts are kept for the first MAX_WINDOWS windows (81.92 s);
 *                      acquisitions after that count in no window.
 *   consec             the share of acquisitions by the thread that held the lock last
 *   handover_p50_ns, handover_p99_ns
 *                      when the owner changes: from the last owner's release to the new owner
 *                      holding the lock, or from the new owner's call to lock() if that came
 *                      later (then the lock may have been free: time nobody wanted it is not
 *                      handover). The releasing thread stores a timestamp in the protected data
 *                      just before unlock; the new owner subtracts the later of it and its own
 *                      call time from its acquisition time. No clock read is added for it: the
 *                      release timestamp is the critical section's last clock read, the end of
 *                      the C ns spin, or with C = 0 the acquisition time itself (then the figure
 *                      also holds the last owner's critical section: its bookkeeping, ~10-20 ns,
 *                      and a waiter that called lock() during it is measured from its call).
 *                      Cross-thread differences of the invariant TSC; a negative one (skew)
 *                      counts as 0.
 *   cpu_s_per_macq     CPU seconds of all the benchmark's threads (CLOCK_THREAD_CPUTIME_ID from
 *                      each thread's first slice to its last) per million acquisitions
 *   ctxsw_per_kacq     context switches, voluntary and involuntary (getrusage(RUSAGE_THREAD),
 *                      over the same span), all threads, per thousand acquisitions
 * The CPU and context-switch readings are taken once per slice (2 ms), not per acquisition.
 * Every implementation runs the same measuring code per acquisition: three clock reads (the
 * call, the acquisition, the slice check after unlock; as before these counters), a wait
 * histogram record, a window count, and on an owner change a handover record.
 *
 * With --iobench_latency_dir, thread 0 writes the merged wait histogram as the benchmark's
 * latency CSV (bench_latency_csv_path of its full name, which the plots read as its spectrum) and
 * the merged handover histogram as the latency CSV of the name "<full name>/handover"
 * (DIR/lock_contended_<impl>_cs-C_ncs-N_manual_time_threads-T_handover.csv).
 *
 * The payload checks: contended, the shared counter equals the acquisitions counted (a lock that
 * let two threads in loses increments) and no thread saw another inside (an owner flag); many,
 * the per-lock counters sum to the acquisitions.
 *
 * Run lifecycle as in bench_queue.c: thread 0 creates the locks, the histograms and the
 * per-thread state before its first keep_running (the start barrier orders that before every other
 * thread's first iteration); Google Benchmark's stop barrier orders every thread's last writes
 * before thread 0's code after its loop, which reads them and frees everything.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <iort/clock.h>
#include <iort/compiler.h>

#include "bench.h"
#include "hist.h"
#include "lock_impl.h"

#define MAX_THREADS 8
#define SLICE_NS    2000000ull	/* one iteration of the time-sliced scenarios */
#define WINDOW_NS   10000000ull /* jain_min_10ms */
#define MAX_WINDOWS 8192	/* windows counted: 81.92 s */
#define MANY_LOCKS  64		/* lock/many */
#define MANY_BATCH  16		/* lock/many: acquisitions between clock reads */
_Static_assert(MANY_LOCKS == 64, "bm_many picks a lock by the top 6 bits of its xorshift");

/* Every lock, once, with the scenarios it joins; ours first (the reference stays pthread_mutex,
 * the lock people use). Adding a lock: its adapter file (bench/limpl_<lib>.c, declared in
 * lock_impl.h) and one line here. */
static const struct limpl *const lock_impls[] = {
	&limpl_iort_mutex, &limpl_pthread_mutex, &limpl_pthread_adaptive, &limpl_pthread_spin,
	&limpl_ck_mcs,	   &limpl_ck_clh,	 &limpl_ck_ticket,	  &limpl_seed_mutex,
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct lcase {
	const struct limpl *l;
	uint64_t cs_ns, ncs_ns;
	char name[96]; /* lock/contended/<impl>/cs:C/ncs:N, for the latency CSVs */
};

/* One thread's slot: written by its thread only, read by thread 0 after the stop barrier. */
struct lslot {
	uint64_t acquisitions;
	uint64_t consec;
	struct iob_hist *wait, *handover;
	void *tls;
	uint32_t *win;	  /* acquisitions per window; [MAX_WINDOWS]: past the cap, never read */
	uint64_t win_end; /* when window w ends (fast clock) */
	uint32_t w;	  /* the window acquisitions count in now */
	uint64_t end_ns;  /* fast clock at the end of this thread's last slice */
	uint64_t cpu_ns;  /* CPU time from the first slice's start to the last slice's end */
	uint64_t ctxsw;	  /* context switches over the same span */
} IORT_CACHELINE_ALIGNED;

/* The run in progress (benchmarks run one at a time). The data the lock protects sits on its own
 * line, so that only the lock's own traffic and this line move between cores. */
static struct {
	char *locks; /* nlocks locks, stride bytes apart; lock/many's counter at ctr_off in each */
	size_t nlocks, stride, ctr_off;
	uint64_t t0; /* the run's start: windows count from it */
	bool ok;     /* thread 0's setup succeeded */
	struct lslot slot[MAX_THREADS];
	struct {
		uint64_t counter;
		uint64_t release_ns; /* the last owner's timestamp before unlock */
		int last_owner;
		int inside; /* 1 while someone is in the critical section */
		uint64_t overlaps;
	} data IORT_CACHELINE_ALIGNED;
} run;

static void *lock_at(size_t i)
{
	return run.locks + i * run.stride;
}

static void free_run(const struct limpl *l, int threads)
{
	for (size_t i = 0; i < run.nlocks; i++)
		l->fini(lock_at(i));
	/* Locks and tls go together: a queue lock's nodes may have moved between them. */
	for (int i = 0; i < threads; i++) {
		iob_hist_destroy(run.slot[i].wait);
		iob_hist_destroy(run.slot[i].handover);
		free(run.slot[i].win);
		free(run.slot[i].tls);
	}
	free(run.locks);
	memset(&run, 0, sizeof(run));
}

/* Thread 0, before its first iteration: @p nlocks locks, each with a uint64_t counter after it,
 * and per-thread state; with @p measure the histograms and windows of lock/contended.
 * @return 0 or a message. */
static const char *setup(const struct limpl *l, int threads, size_t nlocks, bool measure)
{
	memset(&run, 0, sizeof(run));
	run.data.last_owner = -1;
	run.ctr_off = (l->size + 7) & ~(size_t)7;
	run.stride = (run.ctr_off + sizeof(uint64_t) + 63) & ~(size_t)63;
	if (posix_memalign((void **)&run.locks, 64, nlocks * run.stride))
		return "cannot allocate the locks";
	memset(run.locks, 0, nlocks * run.stride);
	for (; run.nlocks < nlocks; run.nlocks++)
		if (l->init(lock_at(run.nlocks))) {
			free_run(l, threads);
			return "cannot initialize the lock";
		}
	for (int i = 0; i < threads; i++) {
		struct lslot *s = &run.slot[i];

		if (measure && (iob_hist_create(1, 10000000000ull, 3, &s->wait) ||
				iob_hist_create(1, 10000000000ull, 3, &s->handover) ||
				!(s->win = calloc(MAX_WINDOWS + 1, sizeof(*s->win)))))
			goto fail;
		if (l->tls_size) {
			if (posix_memalign(&s->tls, 64, l->tls_size))
				goto fail;
			memset(s->tls, 0, l->tls_size);
			if (l->tls_init)
				l->tls_init(s->tls);
		}
	}
	run.t0 = iort_clock_fast_ns();
	for (int i = 0; i < threads; i++)
		run.slot[i].win_end = run.t0 + WINDOW_NS;
	run.ok = true;
	return NULL;
fail:
	free_run(l, threads);
	return "out of memory";
}

/*
 * A second thread that only waits, for the uncontended case: glibc skips the atomic
 * instructions of pthread_mutex_lock/unlock while a process has a single thread (its
 * SINGLE_THREAD_P shortcut), which no multi-threaded program ever sees. Measured here: 9 ns a
 * lock+unlock single-threaded against 18 ns with one idle thread. It blocks on a pipe until the
 * benchmark closes the write end.
 */
struct idle {
	int fd[2];
	pthread_t thread;
};

static void *idle_main(void *arg)
{
	char c;

	while (read(*(int *)arg, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static int idle_start(struct idle *id)
{
	if (pipe(id->fd))
		return -errno;
	if (pthread_create(&id->thread, NULL, idle_main, &id->fd[0])) {
		close(id->fd[0]);
		close(id->fd[1]);
		return -EAGAIN;
	}
	return 0;
}

static void idle_stop(struct idle *id)
{
	close(id->fd[1]);
	pthread_join(id->thread, NULL);
	close(id->fd[0]);
}

static void bm_uncontended(struct iob_state *st, void *arg)
{
	const struct lcase *c = arg;
	const struct limpl *l = c->l;
	const char *err;
	struct idle idle;
	void *lock;

	if (l->impl.missing) {
		iob_state_skip_with_error(st, l->impl.missing);
		return;
	}
	if (bench_pin(st))
		return;
	err = setup(l, 1, 1, false);
	if (err) {
		iob_state_skip_with_error(st, err);
		return;
	}
	if (idle_start(&idle)) {
		free_run(l, 1);
		iob_state_skip_with_error(st, "cannot start the idle thread");
		return;
	}
	lock = lock_at(0);
	while (iob_state_keep_running(st)) {
		l->lock(lock, run.slot[0].tls);
		run.data.counter++;
		l->unlock(lock, run.slot[0].tls);
	}
	idle_stop(&idle);
	if (run.data.counter != (uint64_t)iob_state_iterations(st))
		iob_state_skip_with_error(st, "the counter lost increments");
	iob_state_set_items_processed(st, iob_state_iterations(st));
	free_run(l, 1);
}

/* --- the time slices: CPU time and context switches per thread --- */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_ctxsw(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return 0;
	return (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
}

/* A thread's position in the run: where its CPU time and context switches started. */
struct lthread {
	struct lslot *me;
	int id, threads;
	bool started;
	uint64_t cpu0, ctxsw0;
};

/* Before each slice. @return false when thread 0's setup failed (the slice is skipped). */
static bool slice_begin(struct lthread *t, struct iob_state *st, const char *err)
{
	/* After the start barrier: thread 0's setup is visible (or failed). */
	if (iort_unlikely(!run.ok)) {
		iob_state_skip_with_error(st, err ? err : "thread 0's setup failed");
		iob_state_set_iteration_time(st, 1e-9);
		return false;
	}
	if (iort_unlikely(!t->started)) {
		t->started = true;
		t->cpu0 = thread_cpu_ns();
		t->ctxsw0 = thread_ctxsw();
	}
	return true;
}

/* After each slice that ran from @p start to @p now. */
static void slice_end(struct lthread *t, struct iob_state *st, uint64_t start, uint64_t now)
{
	iob_state_set_iteration_time(st, (double)(now - start) * 1e-9);
	t->me->end_ns = now;
	t->me->cpu_ns = thread_cpu_ns() - t->cpu0;
	t->me->ctxsw = thread_ctxsw() - t->ctxsw0;
}

/* The common prologue of the multi-threaded scenarios. @return false: return at once. */
static bool lthread_begin(struct lthread *t, struct iob_state *st, const struct limpl *l,
			  size_t nlocks, bool measure, const char **err)
{
	memset(t, 0, sizeof(*t));
	t->id = iob_state_thread_index(st);
	t->threads = iob_state_threads(st);
	t->me = &run.slot[t->id < MAX_THREADS ? t->id : 0];
	*err = NULL;
	if (l->impl.missing) {
		iob_state_skip_with_error(st, l->impl.missing);
		return false;
	}
	if (t->threads > MAX_THREADS) {
		iob_state_skip_with_error(st, "too many threads for bench_lock (MAX_THREADS)");
		return false;
	}
	if (bench_pin(st))
		return false;
	if (t->id == 0)
		*err = setup(l, t->threads, nlocks, measure);
	(void)iort_clock_fast_ns(); /* calibrate outside the loop */
	return true;
}

/* --- lock/contended --- */

/* Spin until @p end; @return the last clock read (>= end). */
static inline uint64_t spin_until(uint64_t end)
{
	uint64_t now;

	while ((now = iort_clock_fast_ns()) < end)
		iort_cpu_relax();
	return now;
}

/* Move @p me to the window of @p now (at most MAX_WINDOWS: the uncounted one). */
static __attribute__((noinline)) void next_window(struct lslot *me, uint64_t now)
{
	uint64_t w = (now - run.t0) / WINDOW_NS;

	if (w >= MAX_WINDOWS) {
		me->w = MAX_WINDOWS;
		me->win_end = UINT64_MAX;
	} else {
		me->w = (uint32_t)w;
		me->win_end = run.t0 + (w + 1) * WINDOW_NS;
	}
}

/* One acquisition: lock, check and update the protected data, spin cs_ns, unlock. */
static inline void acquire_once(const struct lcase *c, void *lock, struct lslot *me, int id)
{
	uint64_t t0 = iort_clock_fast_ns(), t1, rel;
	int last;

	c->l->lock(lock, me->tls);
	t1 = iort_clock_fast_ns();
	iob_hist_record(me->wait, t1 - t0);
	if (iort_unlikely(t1 >= me->win_end))
		next_window(me, t1);
	me->win[me->w]++;
	run.data.overlaps += run.data.inside;
	run.data.inside = 1;
	last = run.data.last_owner;
	if (last == id) {
		me->consec++;
	} else if (last >= 0) {
		/* From the release, or from my call if I came later (the lock may have been free:
		 * no idle time counts). */
		rel = run.data.release_ns > t0 ? run.data.release_ns : t0;
		iob_hist_record(me->handover, t1 > rel ? t1 - rel : 0);
	}
	run.data.last_owner = id;
	run.data.counter++;
	rel = c->cs_ns ? spin_until(t1 + c->cs_ns) : t1;
	run.data.release_ns = rel;
	run.data.inside = 0;
	c->l->unlock(lock, me->tls);
	me->acquisitions++;
}

/* Jain's index of @p n counts with sum @p sum and sum of squares @p sq (0 when all are 0). */
static double jain(double sum, double sq, int n)
{
	return sq > 0 ? sum * sum / ((double)n * sq) : 0;
}

/* The minimum of Jain's index over the qualifying windows (see the top of the file); 0: none. */
static double jain_min_windows(int threads)
{
	uint64_t end = UINT64_MAX, nwin;
	double min = 0;
	bool any = false;

	for (int i = 0; i < threads; i++)
		if (run.slot[i].end_ns < end)
			end = run.slot[i].end_ns;
	nwin = end > run.t0 ? (end - run.t0) / WINDOW_NS : 0;
	if (nwin > MAX_WINDOWS)
		nwin = MAX_WINDOWS;
	for (uint64_t w = 0; w < nwin; w++) {
		double sum = 0, sq = 0, j;

		for (int i = 0; i < threads; i++) {
			double x = run.slot[i].win[w];

			sum += x;
			sq += x * x;
		}
		if (sum < 2.0 * threads)
			continue;
		j = jain(sum, sq, threads);
		if (!any || j < min)
			min = j;
		any = true;
	}
	return min;
}

static void report(struct iob_state *st, const struct lcase *c, int threads)
{
	struct iob_hist *all = run.slot[0].wait, *hand = run.slot[0].handover;
	uint64_t total = 0, consec = 0, cpu_ns = 0, ctxsw = 0;
	double sum = 0, sq = 0;
	char name[160];

	for (int i = 0; i < threads; i++) {
		double x = (double)run.slot[i].acquisitions;

		total += run.slot[i].acquisitions;
		consec += run.slot[i].consec;
		cpu_ns += run.slot[i].cpu_ns;
		ctxsw += run.slot[i].ctxsw;
		sum += x;
		sq += x * x;
		if (i) {
			iob_hist_merge(all, run.slot[i].wait);
			iob_hist_merge(hand, run.slot[i].handover);
		}
	}
	if (run.data.counter != total || run.data.overlaps)
		iob_state_skip_with_error(st, "two threads were inside the critical section");
	iob_state_counter(st, "jain", jain(sum, sq, threads), 0);
	iob_state_counter(st, "jain_min_10ms", jain_min_windows(threads), 0);
	iob_state_counter(st, "consec", total ? (double)consec / (double)total : 0, 0);
	iob_state_counter(st, "p50_ns", (double)iob_hist_percentile(all, 50.0), 0);
	iob_state_counter(st, "p99_ns", (double)iob_hist_percentile(all, 99.0), 0);
	iob_state_counter(st, "p999_ns", (double)iob_hist_percentile(all, 99.9), 0);
	iob_state_counter(st, "max_ns", (double)iob_hist_max(all), 0);
	iob_state_counter(st, "handover_p50_ns", (double)iob_hist_percentile(hand, 50.0), 0);
	iob_state_counter(st, "handover_p99_ns", (double)iob_hist_percentile(hand, 99.0), 0);
	iob_state_counter(st, "cpu_s_per_macq", total ? (double)cpu_ns * 1e-3 / (double)total : 0,
			  0);
	iob_state_counter(st, "ctxsw_per_kacq", total ? (double)ctxsw * 1e3 / (double)total : 0, 0);
	snprintf(name, sizeof(name), "%s/manual_time/threads:%d", c->name, threads);
	bench_latency_csv_write(name, all);
	snprintf(name, sizeof(name), "%s/manual_time/threads:%d/handover", c->name, threads);
	bench_latency_csv_write(name, hand);
}

static void bm_contended(struct iob_state *st, void *arg)
{
	const struct lcase *c = arg;
	const char *err;
	struct lthread t;
	uint64_t done = 0; /* my acquisitions, read inside the loop: after it, thread 0 frees run */

	if (!lthread_begin(&t, st, c->l, 1, true, &err))
		return;
	while (iob_state_keep_running(st)) {
		uint64_t start = iort_clock_fast_ns(), end = start + SLICE_NS, now = start;
		void *lock;

		if (!slice_begin(&t, st, err))
			continue;
		lock = lock_at(0);
		while (now < end) {
			acquire_once(c, lock, t.me, t.id);
			now = iort_clock_fast_ns();
			if (c->ncs_ns)
				now = spin_until(now + c->ncs_ns);
		}
		slice_end(&t, st, start, now);
		done = t.me->acquisitions;
	}
	/* The stop barrier: every thread has left its loop and its slot is final. Past it only
	 * thread 0 touches run (it frees it). */
	iob_state_set_items_processed(st, (int64_t)done);
	if (t.id == 0 && run.ok) { /* thread 0 set run.ok: no race */
		report(st, c, t.threads);
		free_run(c->l, t.threads);
	}
}

/* --- lock/many --- */

static void bm_many(struct iob_state *st, void *arg)
{
	const struct lcase *c = arg;
	const struct limpl *l = c->l;
	const char *err;
	struct lthread t;
	uint64_t done = 0, x;

	if (!lthread_begin(&t, st, l, MANY_LOCKS, false, &err))
		return;
	/* xorshift64 (Marsaglia): a fixed, non-zero seed per thread index. */
	x = 0x9e3779b97f4a7c15ull * (uint64_t)(t.id + 1);
	while (iob_state_keep_running(st)) {
		uint64_t start = iort_clock_fast_ns(), end = start + SLICE_NS, now = start;

		if (!slice_begin(&t, st, err))
			continue;
		while (now < end) {
			for (int k = 0; k < MANY_BATCH; k++) {
				char *lock;

				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				lock = lock_at((size_t)(x >> 58)); /* 64 locks: the top 6 bits */
				l->lock(lock, t.me->tls);
				(*(uint64_t *)(lock + run.ctr_off))++;
				l->unlock(lock, t.me->tls);
			}
			t.me->acquisitions += MANY_BATCH;
			now = iort_clock_fast_ns();
		}
		slice_end(&t, st, start, now);
		done = t.me->acquisitions;
	}
	iob_state_set_items_processed(st, (int64_t)done);
	if (t.id == 0 && run.ok) {
		uint64_t total = 0, counted = 0;

		for (int i = 0; i < t.threads; i++)
			total += run.slot[i].acquisitions;
		for (size_t i = 0; i < run.nlocks; i++)
			counted += *(uint64_t *)((char *)lock_at(i) + run.ctr_off);
		if (counted != total)
			iob_state_skip_with_error(st, "the per-lock counters lost increments");
		free_run(l, t.threads);
	}
}

/* --- registration --- */

static const struct bench_scenario sc_uncontended = {
	.name = "lock/uncontended",
	.about = "one thread: lock then unlock",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_DEFAULT,
	.reference = "pthread_mutex",
};
static const struct bench_scenario sc_contended = {
	.name = "lock/contended",
	.about = "threads on one lock, C ns inside, N ns outside (time-sliced); fairness, waits, "
		 "handover, CPU",
	.kind = BENCH_LATENCY,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "pthread_mutex",
	.params = { "cs", "ncs" },
};
static const struct bench_scenario sc_many = {
	.name = "lock/many",
	.about = "threads taking a random one of 64 locks, tiny critical section (time-sliced)",
	.kind = BENCH_THROUGHPUT,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "pthread_mutex",
	.params = { "locks" },
};

static struct lcase cases[NELEM(lock_impls) * 4];
static size_t ncases;

static void register_all(void)
{
	static const int one[] = { 1 }, contended_threads[] = { 2, 4 };
	/* A tiny critical section (the counter alone) and a moderate one, each with a short
	 * pause outside it. */
	static const struct {
		const char *cs, *ncs;
		uint64_t cs_ns, ncs_ns;
	} shapes[] = { { "0", "100", 0, 100 }, { "1000", "100", 1000, 100 } };
	static const char *const many_values[] = { "64" };

	for (size_t i = 0; i < NELEM(lock_impls); i++) {
		struct lcase *c = &cases[ncases++];

		c->l = lock_impls[i];
		bench_add(&sc_uncontended, &c->l->impl, bm_uncontended, c, one, 1, NULL);
		for (size_t k = 0; k < NELEM(shapes); k++) {
			const char *values[2] = { shapes[k].cs, shapes[k].ncs };

			c = &cases[ncases++];
			c->l = lock_impls[i];
			c->cs_ns = shapes[k].cs_ns;
			c->ncs_ns = shapes[k].ncs_ns;
			snprintf(c->name, sizeof(c->name), "%s/%s/cs:%s/ncs:%s", sc_contended.name,
				 c->l->impl.name, shapes[k].cs, shapes[k].ncs);
			bench_add(&sc_contended, &c->l->impl, bm_contended, c, contended_threads, 2,
				  values);
		}
		c = &cases[ncases++];
		c->l = lock_impls[i];
		bench_add(&sc_many, &c->l->impl, bm_many, c, contended_threads, 2, many_values);
	}
}

const struct bench_family bench_family_lock = {
	.name = "lock",
	.about = "locks: ours, glibc's, Concurrency Kit's and the sketch's: uncontended, "
		 "contended, many",
	.register_all = register_all,
};
