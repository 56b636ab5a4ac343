/*
 * Stress: threads (oversubscribed on 2 cores) race the lazy first calibration of the fast clock,
 * then read it in tight loops while one thread re-calibrates it now and then.
 *
 * Checks:
 *   - per thread, every reading is >= the previous one (monotonic, across re-calibrations);
 *   - across threads, a reading taken after loading another thread's published reading
 *     (acquire/release) is not earlier than it by more than CROSS_BOUND_NS (TSC skew between
 *     cores plus calibration rounding).
 *
 * Prints its seed; IOBENCH_SEED=<seed> reproduces the thread count and iteration counts.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <iort/clock.h>

#define MAX_THREADS    8
#define CROSS_BOUND_NS 2000
#define CHECK_EVERY    32

struct slot {
	_Atomic uint64_t last; /* this thread's latest published reading */
	char pad[64 - sizeof(uint64_t)];
};

static struct slot slots[MAX_THREADS] __attribute__((aligned(64)));
static pthread_barrier_t start;
static int nthreads;
static uint64_t iters;
static _Atomic int readers_done;

struct result {
	uint64_t first;
	uint64_t backwards;	/* own readings that went back */
	uint64_t cross_viol;	/* cross-thread readings earlier than the bound allows */
	int64_t worst_cross_ns; /* most negative (reading - published) seen */
	uint64_t cross_checks;
};

static struct result results[MAX_THREADS];

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void *reader(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct result *r = &results[id];
	uint64_t prev, rng = (uint64_t)id * 7919 + 1;

	pthread_barrier_wait(&start);
	/* All threads hit the lazy calibration at once. */
	prev = r->first = iort_clock_fast_ns();
	r->worst_cross_ns = 0;
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t now = iort_clock_fast_ns();

		if (now < prev)
			r->backwards++;
		prev = now;
		if (i % CHECK_EVERY == 0) {
			int other = (int)(splitmix(&rng) % (uint64_t)nthreads);
			/* MO stress_clock.A1 (acquire): their reading happened before ours; pairs with stress_clock.R1 in reader(). */
			uint64_t theirs =
				atomic_load_explicit(&slots[other].last, memory_order_acquire);
			uint64_t mine = iort_clock_fast_ns();
			int64_t diff = (int64_t)(mine - theirs);

			r->cross_checks++;
			if (theirs != 0 && diff < r->worst_cross_ns)
				r->worst_cross_ns = diff;
			if (theirs != 0 && diff < -(int64_t)CROSS_BOUND_NS)
				r->cross_viol++;
			if (mine < prev)
				r->backwards++;
			prev = mine;
			/* MO stress_clock.R1 (release): publish a reading taken before this store; pairs with stress_clock.A1 in reader(). */
			atomic_store_explicit(&slots[id].last, mine, memory_order_release);
		}
	}
	/* MO relaxed: a counter the re-calibrating thread polls; it orders nothing. */
	atomic_fetch_add_explicit(&readers_done, 1, memory_order_relaxed);
	return NULL;
}

/* Re-calibrates (1 ms windows) while the readers run; its own readings must stay monotonic. */
static void *recalibrator(void *arg)
{
	uint64_t *recals = arg, prev;

	pthread_barrier_wait(&start);
	prev = iort_clock_fast_ns();
	/* MO relaxed: only a stop condition; the readers' results are read after pthread_join. */
	while (atomic_load_explicit(&readers_done, memory_order_relaxed) < nthreads &&
	       *recals < 1000) {
		uint64_t now;

		(void)iort_clock_calibrate(1000000);
		(*recals)++;
		now = iort_clock_fast_ns();
		if (now < prev) {
			fprintf(stderr, "recalibrator: fast clock went back %" PRIu64 " ns\n",
				prev - now);
			exit(1);
		}
		prev = now;
	}
	return NULL;
}

int main(void)
{
	const char *env = getenv("IOBENCH_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL), s = seed,
		 recals = 0, total_back = 0, total_viol = 0, checks = 0;
	pthread_t t[MAX_THREADS], rc;
	int64_t worst = 0;
	struct iort_clock_info info;
	uint64_t t0 = iort_clock_ns();

	nthreads = 4 + (int)(splitmix(&s) % 3); /* 4..6 threads on 2 cores */
	iters = 4000000 + splitmix(&s) % 4000000;
	printf("# seed %" PRIu64 " (reproduce with IOBENCH_SEED=%" PRIu64 "): %d readers x %" PRIu64
	       " reads + 1 re-calibrator\n",
	       seed, seed, nthreads, iters);
	fflush(stdout);

	if (pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1))
		return 99;
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, reader, (void *)(intptr_t)i))
			return 99;
	if (pthread_create(&rc, NULL, recalibrator, &recals))
		return 99;
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	pthread_join(rc, NULL);
	pthread_barrier_destroy(&start);

	for (int i = 0; i < nthreads; i++) {
		total_back += results[i].backwards;
		total_viol += results[i].cross_viol;
		checks += results[i].cross_checks;
		if (results[i].worst_cross_ns < worst)
			worst = results[i].worst_cross_ns;
		if (results[i].first == 0) {
			fprintf(stderr, "thread %d: first reading 0\n", i);
			return 1;
		}
	}
	iort_clock_get_info(&info);
	printf("# tsc_used %d ghz %.6f; %d re-calibrations; %" PRIu64 " cross checks, worst "
	       "cross-thread lag %" PRId64 " ns (bound %d); %.2f s\n",
	       info.tsc_used, info.tsc_ghz, (int)recals, checks, worst, CROSS_BOUND_NS,
	       (double)(iort_clock_ns() - t0) / 1e9);
	if (total_back) {
		fprintf(stderr,
			"FAIL: %" PRIu64 " per-thread readings went backwards (seed %" PRIu64 ")\n",
			total_back, seed);
		return 1;
	}
	if (total_viol) {
		fprintf(stderr,
			"FAIL: %" PRIu64 " cross-thread readings earlier than %d ns (seed %" PRIu64
			")\n",
			total_viol, CROSS_BOUND_NS, seed);
		return 1;
	}
	printf("OK\n");
	return 0;
}
