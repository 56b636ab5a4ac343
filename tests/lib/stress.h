/**
 * Shared plumbing for stress tests: the seed (printed, reproducible with IOBENCH_SEED), a PRNG,
 * iteration scaling for slow (sanitizer) builds, and a watchdog that turns a hang into a failure
 * with a backtrace instead of a silent timeout.
 */
#ifndef IOB_STRESS_H
#define IOB_STRESS_H

#include <execinfo.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t stress_seed_value;

/** Abort with file, line and the failed condition; usable from any thread (cmocka's are not). */
#define STRESS_CHECK(cond)                                                                        \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "%s:%d: check failed: %s (seed %" PRIu64 ")\n", __FILE__, \
				__LINE__, #cond, stress_seed_value);                              \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

/** The run's seed: IOBENCH_SEED when set, else from the clock. Printed with how to reproduce. */
static inline uint64_t stress_seed(const char *test)
{
	const char *env = getenv("IOBENCH_SEED");
	struct timespec ts;

	if (env && *env) {
		stress_seed_value = strtoull(env, NULL, 0);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		stress_seed_value = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
				    ((uint64_t)getpid() << 32);
	}
	printf("%s: seed=%" PRIu64 " (reproduce: IOBENCH_SEED=%" PRIu64 ")\n", test,
	       stress_seed_value, stress_seed_value);
	fflush(stdout);
	return stress_seed_value;
}

/** xorshift64*: a fast PRNG for per-thread streams; never returns 0 state. */
static inline uint64_t stress_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/** @p n scaled by IOBENCH_STRESS_SCALE (sanitizer builds run fewer iterations), at least 1. */
static inline long stress_scale(long n)
{
	const char *env = getenv("IOBENCH_STRESS_SCALE");
	double f = env && *env ? strtod(env, NULL) : 1.0;
	long v = (long)((double)n * (f > 0 ? f : 1.0));

	return v > 0 ? v : 1;
}

static void stress_watchdog_fired(int sig)
{
	static const char msg[] = "stress: watchdog fired: the test hung; backtrace of the "
				  "interrupted thread follows\n";
	void *frames[64];
	int n;

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		abort();
	n = backtrace(frames, 64);
	backtrace_symbols_fd(frames, n, 2);
	abort();
}

/** Abort with a backtrace if the test is still running after @p seconds. */
static inline void stress_watchdog(unsigned seconds)
{
	signal(SIGALRM, stress_watchdog_fired);
	alarm(seconds);
}

#endif /* IOB_STRESS_H */
