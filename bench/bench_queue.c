/*
 * Queue benchmarks: our queues (libiort) and the baselines', through bench/queue_impl.h.
 *
 *   queue/pairs/<impl>[/pause:50-150]   every thread loops push-then-pop on one shared queue
 *                                       (threads 1, 2, 4); the pause variant spins a random
 *                                       50..150 ns on the fast clock after each operation.
 *                                       items_processed: one per push+pop pair, each thread
 *                                       counting its own. Time-sliced (see slice_begin()).
 *   queue/spsc/<impl>/burst:B           producer (thread 0) -> consumer (thread 1) on a ring of
 *                                       1024; B = 1, 8, 32 items per iteration; values are
 *                                       sequence numbers the consumer checks.
 *                                       items_processed: items the consumer took.
 *   queue/mpsc/<impl>/window:W          threads - 1 producers (threads 2, 3, 5) into one consumer
 *                                       (thread 0), each producer with at most W items in flight
 *                                       (a credit counter the consumer returns), so unbounded
 *                                       queues cannot just grow; W = 1 and MPSC_WINDOW. The
 *                                       consumer checks each producer's FIFO order.
 *                                       W = 0 is unthrottled, the shape of liburcu's own
 *                                       test_urcu_wfcq: producers allocate each item
 *                                       (aligned_alloc) and never wait for the consumer, which
 *                                       frees what it pops; a bounded queue that fills makes its
 *                                       producers wait. A safety valve of UNTHROTTLED_CAP items
 *                                       in flight per producer bounds memory if the consumer
 *                                       stalls (at 10 M items/s that is a 100 ms stall).
 *                                       items_processed: items the consumer took. Time-sliced.
 *   queue/handoff/<impl>                as mpsc with a window of HANDOFF_WINDOW: the producer
 *                                       stamps each item with iort_clock_fast_ns() just before
 *                                       its push, the consumer records now - stamp just after its
 *                                       pop into an HDR histogram (3 significant digits) and
 *                                       reports p50_ns, p99_ns, p999_ns, max_ns (set by the
 *                                       consumer only: Google Benchmark reports them unchanged).
 *                                       With a window of W, up to W - 1 items can queue ahead of
 *                                       one; the window is small so that the figure is handoff,
 *                                       not queueing.
 *
 * Balance: Google Benchmark runs the same iteration count on every thread. In spsc both sides
 * move B items per iteration; in handoff a producer pushes one item per iteration and the
 * consumer pops threads - 1, so every item pushed is popped in the run. pairs and mpsc are
 * time-sliced instead: an iteration is SLICE_NS of wall time on every thread (manual time), so a
 * queue that collapses under preemption costs time per slice, not hours per run.
 *
 * Run lifecycle: thread 0 creates the queue and the item pools before its first keep_running (the
 * start barrier orders that before every other thread's first iteration); after the loop (the
 * stop barrier: every thread has left its loop) thread 0 drains and destroys. Waits spin
 * SPIN_LIMIT times and then sched_yield(), so oversubscribed runs (4 threads, 2 cores) progress;
 * every wait also watches run.abort, so a thread that fails (or finds a payload error) ends the
 * run instead of leaving its partners waiting forever.
 *
 * A baseline that was not built registers all the same and skips with its message.
 */
#include <errno.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iort/clock.h>
#include <iort/compiler.h>

#include "bench.h"
#include "hist.h"
#include "queue_impl.h"

#define MAX_THREADS	8
#define CAPACITY	1024	   /* bounded queues */
#define MPSC_WINDOW	64	   /* items in flight per producer, mpsc */
#define HANDOFF_WINDOW	8	   /* items in flight per producer, handoff */
#define UNTHROTTLED_CAP (1u << 20) /* window:0: items in flight per producer, memory valve */
#define MAX_BURST	32
#define SPIN_LIMIT	64	   /* failed attempts before sched_yield() */
#define SLICE_NS	2000000ull /* one iteration of a time-sliced scenario: 2 ms of wall time */
#define CLOCK_EVERY	8	   /* operations between clock reads inside a slice */

enum scenario { SC_PAIRS, SC_SPSC, SC_MPSC, SC_HANDOFF };

/* One registered benchmark. */
struct qcase {
	const struct qimpl *impl;
	enum scenario sc;
	int burst;  /* spsc */
	int window; /* mpsc: items in flight per producer */
	bool pause;
	char name[96]; /* the registered name */
};

/* Returned credits, one line per producer: written by the consumer only. */
struct credit {
	_Atomic uint64_t done IORT_CACHELINE_ALIGNED;
};

/* Shared state of the run in progress (benchmarks run one at a time). */
static struct {
	const struct qimpl *impl;
	void *q;
	struct qitem *items; /* pools: MAX_THREADS * window */
	int window;
	_Atomic bool abort IORT_CACHELINE_ALIGNED; /* read-mostly: on its own line */
	struct credit credit[MAX_THREADS];
} run;

/* One thread's view of the run. */
struct qthread {
	const struct qcase *c;
	const struct qimpl *impl;
	struct iob_state *st;
	void *tls;
	int me, threads;
	bool entered;	 /* thread_enter succeeded */
	bool ready;	 /* past the start barrier and the failure checks */
	bool setup_ok;	 /* thread 0: queue and pools created */
	const char *err; /* this thread's failure, reported at its first iteration */
	unsigned spins;
	uint64_t slice_start; /* time-sliced scenarios: this slice's start, */
	uint64_t deadline;    /* its end (0 outside a slice), */
	bool slice_over;      /* and whether a wait ran into the end */
};

static void run_abort(struct qthread *t, const char *msg)
{
	/* MO relaxed: a stop flag; each thread reports its own failure, nothing is published. */
	atomic_store_explicit(&run.abort, true, memory_order_relaxed);
	iob_state_skip_with_error(t->st, msg);
}

/* One failed attempt: spin, and yield every SPIN_LIMIT. @return false when the run is aborting. */
static inline bool backoff(struct qthread *t)
{
	if (++t->spins < SPIN_LIMIT) {
		iort_cpu_relax();
		return true;
	}
	t->spins = 0;
	sched_yield();
	if (t->deadline && iort_clock_fast_ns() >= t->deadline) {
		t->slice_over = true;
		return false;
	}
	/* MO relaxed: a stop flag; no data travels with it. */
	return !atomic_load_explicit(&run.abort, memory_order_relaxed);
}

/*
 * Time-sliced iterations. When a baseline collapses under preemption (rte_ring MP/MC at 4 threads
 * on 2 cores: each operation can wait a whole scheduler tick for a preempted thread's commit),
 * its cost per operation grows a thousandfold once the threads overlap. Google Benchmark sizes a
 * run from the short trials before it, so a fixed count of operations per iteration turns such a
 * run into hours. Here an iteration is a fixed slice of wall time instead, reported as manual
 * time: every run takes about iterations x SLICE_NS whatever the queue does, and throughput is the
 * operations done over the time they took.
 */
static inline void slice_begin(struct qthread *t)
{
	t->slice_start = iort_clock_fast_ns();
	t->deadline = t->slice_start + SLICE_NS;
	t->slice_over = false;
}

/* @return false once the slice is over (the clock is read every CLOCK_EVERY calls). */
static inline bool slice_running(struct qthread *t, unsigned *calls)
{
	if ((++*calls % CLOCK_EVERY) == 0 && iort_clock_fast_ns() >= t->deadline)
		t->slice_over = true;
	return !t->slice_over;
}

static inline void slice_end(struct qthread *t, struct iob_state *st)
{
	iob_state_set_iteration_time(st, (double)(iort_clock_fast_ns() - t->slice_start) * 1e-9);
	t->deadline = 0;
}

/* A wait ended early: at the slice's end (carry on next slice) or because the run aborted. */
static inline void slice_stopped(struct qthread *t, struct iob_state *st)
{
	if (!t->slice_over)
		iob_state_skip_with_error(st, "run aborted by another thread");
}

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/*
 * Before the loop: skip when the impl is missing, pin, enter, and (thread 0) create the queue and
 * pools. @return false when the caller must return at once (every thread of the run does the same:
 * a missing impl or a pinning failure).
 */
static bool begin(struct qthread *t, struct iob_state *st, const struct qcase *c, int window)
{
	memset(t, 0, sizeof(*t));
	t->c = c;
	t->impl = c->impl;
	t->st = st;
	t->me = iob_state_thread_index(st);
	t->threads = iob_state_threads(st);
	if (c->impl->impl.missing) {
		iob_state_skip_with_error(st, c->impl->impl.missing);
		return false;
	}
	if (bench_pin(st))
		return false;
	if (t->threads > MAX_THREADS) {
		iob_state_skip_with_error(st, "too many threads for bench_queue (MAX_THREADS)");
		return false;
	}
	if (t->impl->thread_enter && t->impl->thread_enter(&t->tls))
		t->err = "thread_enter failed";
	else
		t->entered = true;
	if (t->me == 0) {
		size_t n = (size_t)MAX_THREADS * (size_t)(window > 0 ? window : 1);

		run.impl = t->impl;
		run.q = NULL;
		run.window = window;
		atomic_init(&run.abort, false);
		for (int i = 0; i < MAX_THREADS; i++)
			atomic_init(&run.credit[i].done, 0);
		run.items = NULL;
		if (posix_memalign((void **)&run.items, 64, n * sizeof(*run.items)) ||
		    t->impl->create(CAPACITY, &run.q)) {
			free(run.items);
			run.items = NULL;
			run.q = NULL;
			t->err = "queue or item pool allocation failed";
		} else {
			/* Pre-fault the pools. */
			memset(run.items, 0, n * sizeof(*run.items));
			t->setup_ok = true;
		}
	}
	return true;
}

/*
 * At the top of every batch. The first call runs after the start barrier: every thread reports
 * its own failure there, and a thread whose partner failed skips too.
 * @return false when the thread must stop (it has skipped with an error).
 */
static inline bool ready(struct qthread *t)
{
	if (iort_likely(t->ready))
		return true;
	if (t->err) {
		run_abort(t, t->err);
		return false;
	}
	/* MO relaxed: a stop flag; the start barrier orders thread 0's setup before this. */
	if (atomic_load_explicit(&run.abort, memory_order_relaxed) || !run.q) {
		iob_state_skip_with_error(t->st, "another thread of this run failed");
		return false;
	}
	t->ready = true;
	return true;
}

/* After the loop: thread 0 drains and destroys (every thread has left its loop: stop barrier). */
static void end(struct qthread *t)
{
	if (t->me == 0 && t->setup_ok) {
		void *item;

		if (t->entered)
			while (t->impl->pop(run.q, t->tls, &item))
				if (!run.window)
					free(item);
		t->impl->destroy(run.q);
		free(run.items);
		run.q = NULL;
		run.items = NULL;
	}
	if (t->entered && t->impl->thread_exit)
		t->impl->thread_exit(t->tls);
}

static inline bool push1(struct qthread *t, void *item)
{
	while (!t->impl->push(run.q, t->tls, item))
		if (!backoff(t))
			return false;
	t->spins = 0;
	return true;
}

static inline bool pop1(struct qthread *t, void **item)
{
	while (!t->impl->pop(run.q, t->tls, item))
		if (!backoff(t))
			return false;
	t->spins = 0;
	return true;
}

/* Push all n items (native burst, or one by one), waiting while full. */
static inline bool push_n(struct qthread *t, void *const *items, size_t n)
{
	size_t done = 0;

	while (done < n) {
		size_t k;

		if (t->impl->push_burst)
			k = t->impl->push_burst(run.q, t->tls, items + done, n - done);
		else
			k = t->impl->push(run.q, t->tls, items[done]) ? 1 : 0;
		if (k) {
			done += k;
			t->spins = 0;
		} else if (!backoff(t)) {
			return false;
		}
	}
	return true;
}

static inline bool pop_n(struct qthread *t, void **items, size_t n)
{
	size_t done = 0;

	while (done < n) {
		size_t k;

		if (t->impl->pop_burst)
			k = t->impl->pop_burst(run.q, t->tls, items + done, n - done);
		else
			k = t->impl->pop(run.q, t->tls, items + done) ? 1 : 0;
		if (k) {
			done += k;
			t->spins = 0;
		} else if (!backoff(t)) {
			return false;
		}
	}
	return true;
}

/* --- pairs (time-sliced) --- */

static void bm_pairs(struct iob_state *st, void *arg)
{
	const struct qcase *c = arg;
	struct qthread t;
	uint64_t rng, pairs = 0;
	void *item = NULL;
	bool holding = true; /* next step: push the item we hold (else: pop one) */

	if (!begin(&t, st, c, 1))
		return;
	rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t.me + 1);
	(void)iort_clock_fast_ns(); /* calibrate outside the loop */
	while (iob_state_keep_running(st)) {
		unsigned calls = 0;

		slice_begin(&t);
		if (iort_unlikely(!t.ready)) {
			if (!ready(&t)) {
				slice_end(&t, st);
				continue;
			}
			item = &run.items[t.me]; /* intrusive impls need a real item */
		}
		while (slice_running(&t, &calls)) {
			if (holding) {
				if (!push1(&t, item))
					goto stopped;
				holding = false;
				if (c->pause)
					bench_spin_until(iort_clock_fast_ns() + 50 +
							 xorshift(&rng) % 101);
			}
			if (!pop1(&t, &item))
				goto stopped;
			holding = true;
			pairs++;
			if (c->pause)
				bench_spin_until(iort_clock_fast_ns() + 50 + xorshift(&rng) % 101);
		}
		slice_end(&t, st);
		continue;
	stopped:
		slice_end(&t, st);
		slice_stopped(&t, st);
	}
	end(&t);
	iob_state_set_items_processed(st, (int64_t)pairs);
}

/* --- spsc: thread 0 produces, thread 1 consumes, B items per iteration --- */

static void bm_spsc(struct iob_state *st, void *arg)
{
	const struct qcase *c = arg;
	size_t b = (size_t)c->burst;
	void *vals[MAX_BURST];
	uint64_t seq = 0, bad = 0;
	struct qthread t;

	if (!begin(&t, st, c, 0))
		return;
	while (iob_state_keep_running(st)) {
		if (iort_unlikely(!t.ready) && !ready(&t))
			continue;
		if (t.me == 0) {
			/* Values are seq + 1: never NULL. */
			for (size_t i = 0; i < b; i++)
				vals[i] = (void *)(uintptr_t)(++seq);
			if (!(b == 1 ? push1(&t, vals[0]) : push_n(&t, vals, b)))
				goto aborted;
		} else if (t.me == 1) {
			if (!(b == 1 ? pop1(&t, &vals[0]) : pop_n(&t, vals, b)))
				goto aborted;
			for (size_t i = 0; i < b; i++)
				bad += (uintptr_t)vals[i] != ++seq;
		}
		continue;
	aborted:
		iob_state_skip_with_error(st, "run aborted by another thread");
	}
	end(&t);
	if (t.me == 1) {
		iob_state_set_items_processed(st, (int64_t)seq);
		if (bad)
			iob_state_skip_with_error(st, "consumer saw values out of sequence");
	}
}

/* The consumer's checks of one popped item; records its latency when @p h. @return false on a
 * corrupt item (the run is aborted). */
static inline bool consume_item(struct qthread *t, void *v, uint64_t *expect, uint64_t *bad,
				struct iob_hist *h)
{
	struct qitem *it = v;
	uint32_t p = it->producer;

	if (h) {
		uint64_t now = iort_clock_fast_ns();

		iob_hist_record(h, now > it->stamp ? now - it->stamp : 0);
	}
	if (iort_unlikely(p == 0 || p >= (uint32_t)t->threads)) {
		run_abort(t, "consumer popped an item with a bad producer id");
		return false;
	}
	*bad += it->seq != expect[p];
	expect[p] = it->seq + 1;
	/* MO bench_queue.R1 (release): our reads of the item before the producer reuses it;
	 * pairs with bench_queue.A1 in next_item(). */
	atomic_store_explicit(&run.credit[p].done, expect[p], memory_order_release);
	if (!run.window)
		free(it); /* unthrottled: items are allocated per push */
	return true;
}

/* A producer's next item: waits for a credit (the consumer is done with the slot we reuse).
 * @return NULL when the wait was cut short (slice over or run aborted). */
static inline struct qitem *next_item(struct qthread *t, uint64_t *sent, uint64_t *done_cache,
				      int window)
{
	uint64_t limit = window ? (uint64_t)window : UNTHROTTLED_CAP;
	struct qitem *it;

	while (*sent - *done_cache >= limit) {
		/* MO bench_queue.A1 (acquire): the consumer is done with the item we reuse;
		 * pairs with bench_queue.R1 in consume_item(). */
		*done_cache = atomic_load_explicit(&run.credit[t->me].done, memory_order_acquire);
		if (*sent - *done_cache >= limit && !backoff(t))
			return NULL;
	}
	t->spins = 0;
	if (!window) {
		it = aligned_alloc(alignof(struct qitem), sizeof(*it));
		if (!it) {
			run_abort(t, "unthrottled producer: out of memory");
			return NULL;
		}
	} else {
		it = &run.items[(size_t)t->me * (size_t)window + *sent % (uint64_t)window];
	}
	it->producer = (uint32_t)t->me;
	it->seq = (*sent)++;
	return it;
}

static void report_order(struct iob_state *st, uint64_t bad)
{
	char msg[128];

	if (!bad)
		return;
	snprintf(msg, sizeof(msg), "consumer saw %llu items out of per-producer order",
		 (unsigned long long)bad);
	iob_state_skip_with_error(st, msg);
}

/* --- mpsc (time-sliced): producers 1..threads-1, consumer 0, credit-limited --- */

static void bm_mpsc(struct iob_state *st, void *arg)
{
	const struct qcase *c = arg;
	uint64_t expect[MAX_THREADS] = { 0 }, sent = 0, done_cache = 0, popped = 0, bad = 0;
	struct qitem *pending = NULL; /* a producer's item that a slice's end kept from its push */
	struct qthread t;

	if (!begin(&t, st, c, c->window))
		return;
	(void)iort_clock_fast_ns(); /* calibrate outside the loop */
	while (iob_state_keep_running(st)) {
		unsigned calls = 0;
		void *v;

		slice_begin(&t);
		if (iort_unlikely(!t.ready) && !ready(&t)) {
			slice_end(&t, st);
			continue;
		}
		while (slice_running(&t, &calls)) {
			if (t.me == 0) {
				if (!pop1(&t, &v))
					goto stopped;
				if (!consume_item(&t, v, expect, &bad, NULL))
					break;
				popped++;
				continue;
			}
			if (!pending && !(pending = next_item(&t, &sent, &done_cache, c->window)))
				goto stopped;
			if (!push1(&t, pending))
				goto stopped;
			pending = NULL;
		}
		slice_end(&t, st);
		continue;
	stopped:
		slice_end(&t, st);
		slice_stopped(&t, st);
	}
	if (!c->window)
		free(pending); /* unthrottled: allocated, never pushed */
	end(&t);
	if (t.me == 0) {
		iob_state_set_items_processed(st, (int64_t)popped);
		report_order(st, bad);
	}
}

/* With --iobench_latency_dir: the consumer's histogram (bench_latency_csv_write). */
static void write_latency_csv(struct iob_state *st, const struct qcase *c, const struct iob_hist *h)
{
	char name[160];

	snprintf(name, sizeof(name), "%s/real_time/threads:%d", c->name, iob_state_threads(st));
	bench_latency_csv_write(name, h);
}

/* --- handoff: producers 1..threads-1, consumer 0, credit-limited, latency histogram --- */

static void bm_handoff(struct iob_state *st, void *arg)
{
	const struct qcase *c = arg;
	uint64_t expect[MAX_THREADS] = { 0 }, sent = 0, done_cache = 0, popped = 0, bad = 0;
	struct iob_hist *h = NULL;
	struct qthread t;

	if (!begin(&t, st, c, HANDOFF_WINDOW))
		return;
	if (t.me == 0 && iob_hist_create(1, 10000000000ull, 3, &h))
		t.err = "iob_hist_create failed";
	(void)iort_clock_fast_ns(); /* calibrate outside the loop */
	while (iob_state_keep_running(st)) {
		if (iort_unlikely(!t.ready) && !ready(&t))
			continue;
		if (t.me == 0) {
			/* One item from each producer per iteration: every item pushed is popped. */
			for (int k = 1; k < t.threads; k++) {
				void *v;

				if (!pop1(&t, &v))
					goto aborted;
				if (!consume_item(&t, v, expect, &bad, h))
					break;
			}
			popped += (uint64_t)(t.threads - 1);
		} else {
			struct qitem *it = next_item(&t, &sent, &done_cache, HANDOFF_WINDOW);

			if (!it)
				goto aborted;
			it->stamp = iort_clock_fast_ns();
			if (!push1(&t, it))
				goto aborted;
		}
		continue;
	aborted:
		iob_state_skip_with_error(st, "run aborted by another thread");
	}
	end(&t);
	if (t.me != 0)
		return;
	iob_state_set_items_processed(st, (int64_t)popped);
	if (h) {
		write_latency_csv(st, c, h);
		iob_state_counter(st, "p50_ns", (double)iob_hist_percentile(h, 50.0), 0);
		iob_state_counter(st, "p99_ns", (double)iob_hist_percentile(h, 99.0), 0);
		iob_state_counter(st, "p999_ns", (double)iob_hist_percentile(h, 99.9), 0);
		iob_state_counter(st, "max_ns", (double)iob_hist_max(h), 0);
		iob_hist_destroy(h);
	}
	report_order(st, bad);
}

/* --- registration --- */

/* The scenarios an implementation joins. */
enum { PAIRS = 1 << 0, SPSC = 1 << 1, MPSC = 1 << 2, HANDOFF = 1 << 3 };

/* Every queue implementation, once, with the scenarios it runs in. Adding an implementation: its
 * adapter file (bench/qimpl_<lib>.c, declared in queue_impl.h) and one line here. A scenario
 * keeps to what an implementation can do: pairs needs QI_MP | QI_MC, mpsc QI_MP, spsc values
 * that are not pointers (no QI_INTRUSIVE). */
static const struct {
	const struct qimpl *q;
	unsigned scenarios;
} queue_impls[] = {
	{ &qimpl_iort_spsc, SPSC | HANDOFF },
	{ &qimpl_iort_mpmc, PAIRS | SPSC | MPSC | HANDOFF },
	{ &qimpl_iort_mpsc, MPSC | HANDOFF },
	{ &qimpl_iort_segq, PAIRS | MPSC | HANDOFF },
	{ &qimpl_urcu_wfcq_stock, PAIRS | MPSC | HANDOFF },
	{ &qimpl_urcu_wfcq_nosleep, PAIRS | MPSC | HANDOFF },
	{ &qimpl_urcu_lfq, PAIRS },
	{ &qimpl_rte_spsc, SPSC | HANDOFF },
	{ &qimpl_rte_mpsc, MPSC },
	{ &qimpl_rte_mpmc, PAIRS },
	{ &qimpl_rte_rts, PAIRS },
	{ &qimpl_rte_hts, PAIRS },
	{ &qimpl_ck_ring_spsc, SPSC | HANDOFF },
	{ &qimpl_ck_ring_mpmc, PAIRS },
	{ &qimpl_ck_fifo, PAIRS },
	{ &qimpl_mutex_ring, PAIRS | MPSC },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct bench_scenario sc_pairs = {
	.name = "queue/pairs",
	.about = "every thread pushes then pops on one shared queue (time-sliced)",
	.kind = BENCH_THROUGHPUT,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "rte_mpmc",
	.params = { "pause" },
};
static const struct bench_scenario sc_spsc = {
	.name = "queue/spsc",
	.about = "one producer, one consumer, B items per iteration on a ring of 1024",
	.kind = BENCH_THROUGHPUT,
	.timing = BENCH_REAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "rte_spsc",
	.params = { "burst" },
};
static const struct bench_scenario sc_mpsc = {
	.name = "queue/mpsc",
	.about = "threads - 1 producers into one consumer, W items in flight per producer",
	.kind = BENCH_THROUGHPUT,
	.timing = BENCH_MANUAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "urcu_wfcq_nosleep",
	.params = { "window" },
};
static const struct bench_scenario sc_handoff = {
	.name = "queue/handoff",
	.about = "latency from push to pop, window of 8 per producer",
	.kind = BENCH_LATENCY,
	.timing = BENCH_REAL_TIME,
	.flags = BENCH_DEFAULT,
	.reference = "rte_spsc",
};

/* Every registered case, borrowed by its benchmark for the life of the process (static, so no
 * allocation outlives Google Benchmark's registry at shutdown). At most 2 pause variants, 3
 * bursts, 3 windows and 1 handoff per implementation. */
static struct qcase cases[NELEM(queue_impls) * 9];
static size_t ncases;

static void reg(const struct qcase *proto, const struct bench_scenario *s, const int *threads,
		size_t nthreads, const char *value)
{
	const char *values[1] = { value };
	struct qcase *c = &cases[ncases++]; /* sized for the most every impl can register */

	*c = *proto;
	if (value)
		snprintf(c->name, sizeof(c->name), "%s/%s/%s:%s", s->name, c->impl->impl.name,
			 s->params[0], value);
	else
		snprintf(c->name, sizeof(c->name), "%s/%s", s->name, c->impl->impl.name);
	bench_add(s, &c->impl->impl,
		  c->sc == SC_PAIRS  ? bm_pairs
		  : c->sc == SC_SPSC ? bm_spsc
		  : c->sc == SC_MPSC ? bm_mpsc
				     : bm_handoff,
		  c, threads, nthreads, values);
}

static void register_all(void)
{
	static const int pairs_threads[] = { 1, 2, 4 }, two[] = { 2 }, mpsc_threads[] = { 2, 3, 5 },
			 handoff_mp_threads[] = { 2, 3 };
	static const char *const pauses[] = { NULL, "50-150" };
	static const char *const bursts[] = { "1", "8", "32" }; /* at most MAX_BURST */
	/* Flow control: none (0: liburcu's own benchmark shape), 1 item in flight per producer (the
	 * consumer meets producers mid-push often: where wfcq's stock 10 ms sleep shows) and
	 * MPSC_WINDOW (mostly a full queue). */
	static const int windows[] = { 0, 1, MPSC_WINDOW };

	for (size_t i = 0; i < NELEM(queue_impls); i++) {
		const struct qimpl *q = queue_impls[i].q;
		unsigned in = queue_impls[i].scenarios;

		for (size_t k = 0; (in & PAIRS) && k < NELEM(pauses); k++) {
			struct qcase c = { .impl = q, .sc = SC_PAIRS, .pause = pauses[k] != NULL };

			reg(&c, &sc_pairs, pairs_threads, NELEM(pairs_threads), pauses[k]);
		}
		for (size_t k = 0; (in & SPSC) && k < NELEM(bursts); k++) {
			struct qcase c = { .impl = q, .sc = SC_SPSC, .burst = atoi(bursts[k]) };

			reg(&c, &sc_spsc, two, 1, bursts[k]);
		}
		for (size_t k = 0; (in & MPSC) && k < NELEM(windows); k++) {
			struct qcase c = { .impl = q, .sc = SC_MPSC, .window = windows[k] };
			char w[16];

			snprintf(w, sizeof(w), "%d", windows[k]);
			reg(&c, &sc_mpsc, mpsc_threads, NELEM(mpsc_threads), w);
		}
		if (in & HANDOFF) {
			struct qcase c = { .impl = q, .sc = SC_HANDOFF };

			/* Multi-producer impls also at two producers. (The baselines that can be
			 * missing here are single-producer ones, so names do not depend on what was
			 * built.) */
			if (q->caps & QI_MP)
				reg(&c, &sc_handoff, handoff_mp_threads, NELEM(handoff_mp_threads),
				    NULL);
			else
				reg(&c, &sc_handoff, two, 1, NULL);
		}
	}
}

const struct bench_family bench_family_queue = {
	.name = "queue",
	.about = "queues: libiort's against liburcu, DPDK rte_ring, Concurrency Kit and a mutex",
	.register_all = register_all,
};
