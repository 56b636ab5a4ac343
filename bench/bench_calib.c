/*
 * Calibration benchmarks: the machine's floor, recorded with every run (docs/benchmarking.md).
 *
 *   calib/clock/{clock_gettime,rdtsc,iort_fast}   cost of one clock read
 *   calib/syscall/getppid                         cost of the cheapest real syscall
 *   calib/futex/wake_roundtrip                    two threads that sleep in FUTEX_WAIT and wake
 *                                                 each other: one round trip = two sleep+wake
 *   calib/cacheline/roundtrip/pu:A-B              one cache line bounced between PUs A and B
 *                                                 by two spinning threads, for every pair of
 *                                                 PUs in the run's placement plan
 *
 * Each reports a counter "ns": thread 0's own wall time over its loop divided by its iterations
 * (set by thread 0 alone, so Google Benchmark reports it unchanged), which iobench turns into the
 * results file's calibration figures.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <iort/clock.h>
#include <iort/compiler.h>

#include "bench.h"
#include "hist.h"

#define MAX_PAIR_PUS 12

static void bm_clock_gettime(struct iob_state *st, void *arg)
{
	struct timespec ts;
	uint64_t t0, t1;

	(void)arg;
	if (bench_pin(st))
		return;
	t0 = iort_clock_ns();
	while (iob_state_keep_running(st)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		__asm__ __volatile__("" : : "r"(&ts) : "memory");
	}
	t1 = iort_clock_ns();
	bench_report_ns(st, t0, t1);
}

static void bm_rdtsc(struct iob_state *st, void *arg)
{
	uint64_t t0, t1, sink = 0;

	(void)arg;
	if (bench_pin(st))
		return;
	t0 = iort_clock_ns();
	while (iob_state_keep_running(st))
		sink += iort_clock_ticks();
	t1 = iort_clock_ns();
	__asm__ __volatile__("" : : "r"(sink));
	bench_report_ns(st, t0, t1);
}

static void bm_fast_clock(struct iob_state *st, void *arg)
{
	uint64_t t0, t1, sink = 0;

	(void)arg;
	if (bench_pin(st))
		return;
	(void)iort_clock_fast_ns(); /* calibrate outside the loop */
	t0 = iort_clock_ns();
	while (iob_state_keep_running(st))
		sink += iort_clock_fast_ns();
	t1 = iort_clock_ns();
	__asm__ __volatile__("" : : "r"(sink));
	bench_report_ns(st, t0, t1);
}

static void bm_syscall(struct iob_state *st, void *arg)
{
	uint64_t t0, t1;

	(void)arg;
	if (bench_pin(st))
		return;
	t0 = iort_clock_ns();
	while (iob_state_keep_running(st))
		syscall(SYS_getppid);
	t1 = iort_clock_ns();
	bench_report_ns(st, t0, t1);
}

/*
 * Ping-pong state shared by the two-thread benchmarks. Thread 0 resets it before its first
 * iob_state_keep_running(); Google Benchmark starts every thread's loop behind one barrier (a
 * mutex), which orders the reset before thread 1's first access.
 */
static struct {
	_Atomic uint32_t seq IORT_CACHELINE_ALIGNED;
	char pad[IORT_CACHELINE - sizeof(uint32_t)];
} pingpong IORT_CACHELINE_ALIGNED;

static void futex_wait(_Atomic uint32_t *w, uint32_t expect)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, expect, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Round i: thread 0 publishes 2i+1 and sleeps until 2i+2; thread 1 sleeps until 2i+1, publishes
 * 2i+2. Neither spins, so each round trip is two futex sleeps and two wakes. */
static void bm_futex_roundtrip(struct iob_state *st, void *arg)
{
	int me = iob_state_thread_index(st);
	uint32_t i = 0, cur;
	uint64_t t0, t1;

	(void)arg;
	if (bench_pin(st))
		return;
	if (me == 0)
		atomic_init(&pingpong.seq, 0);
	t0 = iort_clock_ns();
	while (iob_state_keep_running(st)) {
		uint32_t mine = 2 * i + (me == 0 ? 1 : 2), theirs = 2 * i + (me == 0 ? 2 : 1);

		if (me == 1) {
			/* MO calib.A1 (acquire): see thread 0's ping; pairs with calib.R1. */
			while ((cur = atomic_load_explicit(&pingpong.seq, memory_order_acquire)) !=
			       theirs)
				futex_wait(&pingpong.seq, cur);
		}
		/* MO calib.R1 (release): hand the turn over; pairs with calib.A1 / calib.A2. */
		atomic_store_explicit(&pingpong.seq, mine, memory_order_release);
		futex_wake(&pingpong.seq);
		if (me == 0) {
			/* MO calib.A2 (acquire): see thread 1's pong; pairs with calib.R1. */
			while ((cur = atomic_load_explicit(&pingpong.seq, memory_order_acquire)) !=
			       theirs)
				futex_wait(&pingpong.seq, cur);
		}
		i++;
	}
	t1 = iort_clock_ns();
	bench_report_ns(st, t0, t1);
}

/* As above, but both threads spin on the line: one round trip = the line moving there and back. */
static void bm_cacheline_roundtrip(struct iob_state *st, void *arg)
{
	int me = iob_state_thread_index(st);
	uintptr_t pair = (uintptr_t)arg; /* (PU of thread 0) << 16 | PU of thread 1 */
	uint32_t i = 0;
	uint64_t t0, t1;

	if (bench_pin_pu(st, me == 0 ? (int)(pair >> 16) : (int)(pair & 0xffff)))
		return;
	if (me == 0)
		atomic_init(&pingpong.seq, 0);
	t0 = iort_clock_ns();
	while (iob_state_keep_running(st)) {
		uint32_t mine = 2 * i + (me == 0 ? 1 : 2), theirs = 2 * i + (me == 0 ? 2 : 1);

		if (me == 1) {
			/* MO calib.A3 (acquire): see the ping; pairs with calib.R2. */
			while (atomic_load_explicit(&pingpong.seq, memory_order_acquire) != theirs)
				iort_cpu_relax();
		}
		/* MO calib.R2 (release): hand the line back; pairs with calib.A3 / calib.A4. */
		atomic_store_explicit(&pingpong.seq, mine, memory_order_release);
		if (me == 0) {
			/* MO calib.A4 (acquire): see the pong; pairs with calib.R2. */
			while (atomic_load_explicit(&pingpong.seq, memory_order_acquire) != theirs)
				iort_cpu_relax();
		}
		i++;
	}
	t1 = iort_clock_ns();
	bench_report_ns(st, t0, t1);
}

static const struct bench_impl impl_clock_gettime = {
	.name = "clock_gettime",
	.origin = BENCH_SYSTEM,
	.about = "clock_gettime(CLOCK_MONOTONIC) through the vDSO"
};
static const struct bench_impl impl_rdtsc = { .name = "rdtsc",
					      .origin = BENCH_SYSTEM,
					      .about = "the CPU's time-stamp counter" };
static const struct bench_impl impl_iort_fast = { .name = "iort_fast",
						  .origin = BENCH_IORT,
						  .about = "iort_clock_fast_ns()" };
static const struct bench_impl impl_getppid = { .name = "getppid",
						.origin = BENCH_SYSTEM,
						.about = "the cheapest real system call" };
static const struct bench_impl impl_wake_roundtrip = {
	.name = "wake_roundtrip",
	.origin = BENCH_SYSTEM,
	.about = "two threads waking each other through FUTEX_WAIT / FUTEX_WAKE"
};
static const struct bench_impl impl_roundtrip = {
	.name = "roundtrip",
	.origin = BENCH_SYSTEM,
	.about = "one cache line bounced between two spinning threads"
};

static const struct bench_scenario calib_clock = {
	.name = "calib/clock",
	.about = "cost of one clock read",
	.kind = BENCH_TIME,
};
static const struct bench_scenario calib_syscall = {
	.name = "calib/syscall",
	.about = "cost of one system call",
	.kind = BENCH_TIME,
};
static const struct bench_scenario calib_futex = {
	.name = "calib/futex",
	.about = "futex sleep and wake, one round trip = two of each",
	.kind = BENCH_TIME,
	.timing = BENCH_REAL_TIME,
};
static const struct bench_scenario calib_cacheline = {
	.name = "calib/cacheline",
	.about = "cache-line round trip between every pair of PUs the plan uses",
	.kind = BENCH_TIME,
	.timing = BENCH_REAL_TIME,
	.params = { "pu" },
};

static void register_all(void)
{
	static const int one[] = { 1 }, two[] = { 2 };
	int n = bench_env.plan->nthreads;
	char pair[24];

	bench_add(&calib_clock, &impl_clock_gettime, bm_clock_gettime, NULL, one, 1, NULL);
	bench_add(&calib_clock, &impl_rdtsc, bm_rdtsc, NULL, one, 1, NULL);
	bench_add(&calib_clock, &impl_iort_fast, bm_fast_clock, NULL, one, 1, NULL);
	bench_add(&calib_syscall, &impl_getppid, bm_syscall, NULL, one, 1, NULL);
	if (n >= 2)
		bench_add(&calib_futex, &impl_wake_roundtrip, bm_futex_roundtrip, NULL, two, 1,
			  NULL);
	/* Every unordered pair of distinct PUs the plan uses; on machines with more than
	 * MAX_PAIR_PUS PUs in the plan, the pairs of the first PU with every other (the matrix would
	 * take hours), which still shows each distance class of the topology once. */
	int pus[4096], npu = 0;

	for (int s = 0; s < n; s++) {
		int pu = bench_slot_pu(s), seen = 0;

		for (int k = 0; k < npu; k++)
			seen |= pus[k] == pu;
		if (!seen && npu < (int)(sizeof(pus) / sizeof(pus[0])))
			pus[npu++] = pu;
	}
	for (int a = 0; a < npu; a++) {
		for (int b = a + 1; b < npu; b++) {
			const char *values[1] = { pair };

			if (npu > MAX_PAIR_PUS && a > 0)
				break;
			snprintf(pair, sizeof(pair), "%d-%d", pus[a], pus[b]);
			bench_add(&calib_cacheline, &impl_roundtrip, bm_cacheline_roundtrip,
				  (void *)(((uintptr_t)pus[a] << 16) | (uintptr_t)pus[b]), two, 1,
				  values);
		}
	}
}

const struct bench_family bench_family_calib = {
	.name = "calib",
	.about = "the machine's floor, recorded with every run: clocks, syscalls, futexes, cache "
		 "lines",
	.register_all = register_all,
};
