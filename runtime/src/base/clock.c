/*
 * The reference clock (CLOCK_MONOTONIC) and the cheap clock (calibrated invariant TSC).
 *
 * Calibration: bracket CLOCK_MONOTONIC between two TSC reads (keep the tightest of a few tries),
 * wait about window_ns, bracket again; ticks per ns = dticks / dns. The scale is fixed point:
 *
 *   fast_ns = base_ns + ((tsc - base_tsc) * mult) >> SHIFT,   mult = 2^SHIFT / (ticks per ns)
 *
 * with base_ns = CLOCK_MONOTONIC at base_tsc, so the fast clock starts out on the reference
 * clock's time line (it drifts from it by the calibration error, a few ppm).
 *
 * Publication: (base_tsc, base_ns, mult) is three words, so it is published under a sequence
 * counter (seqlock; Boehm, "Can seqlocks get along with programming language memory models?",
 * MSPC 2012): writers are serialized by calib_lock, readers retry when the counter was odd or
 * changed. Readers never write shared memory. The mode word (UNINIT -> TSC or UNINIT -> MONO,
 * never anything else) says whether the payload is valid at all; a reader that sees MODE_TSC
 * (acquire) also sees the first payload.
 *
 * Monotonicity: one thread's reads are ordered (lfence before rdtsc), and the TSC is invariant and
 * synchronized across cores, so within one scale fast_ns never goes back. A recalibration
 * (rebase_locked) makes the new scale continuous with the old one at the moment it publishes it,
 * not at some earlier read: inside the write section (odd counter, then a full fence, so the odd
 * value is visible before it reads the TSC) it reads the TSC once, now, and re-bases at
 * old_scale(now) plus a margin. A reader that still got the old scale validated its counter
 * before the odd value became visible, so its TSC read came before now, give or take the
 * out-of-order window REORDER_TICKS in which rdtsc may run after the re-check load; the margin,
 * 1 ns + REORDER_TICKS times the drop in rate, covers that. Every later read of that thread uses
 * the new scale at a TSC >= its earlier one, so it reads at least as much. (Re-basing at a read
 * made before the write section was the bug: a writer delayed between that read and publishing
 * let readers run on the old scale past the base, and a slower new scale then read earlier.)
 * The fallback mode never switches to the TSC later (the two time lines would not join).
 */
#include <iort/clock.h>

#include "clock-private.h"
#include "testpoint-private.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <cpuid.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#define SHIFT		   32
#define DEFAULT_WINDOW_NS  10000000ull /* 10 ms */
#define MIN_WINDOW_NS	   1000000ull  /* below 1 ms the bracket error dominates */
#define MAX_WINDOW_NS	   1000000000ull
#define BRACKET_TRIES	   8
#define SPINS_BEFORE_YIELD 64
/* Bound on how far a reader's rdtsc can execute after its counter re-check (the re-order
 * window of an out-of-order core, a few hundred cycles): margin of a re-base, see the top. */
#define REORDER_TICKS 4096

__extension__ typedef unsigned __int128 u128;

enum { MODE_UNINIT = 0, MODE_MONO = 1, MODE_TSC = 2 };

static struct {
	_Atomic int mode;
	_Atomic uint64_t seq; /* odd while a writer updates the payload */
	_Atomic uint64_t base_tsc;
	_Atomic uint64_t base_ns;
	_Atomic uint64_t mult;
	/* Below: written and read under calib_lock only. */
	pthread_mutex_t calib_lock;
	bool invariant;
	double ghz;	   /* measured ticks per ns, 0 when never measured */
	uint64_t calib_ns; /* window of the last measurement */
} g = {
	.calib_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* Measured ticks per ns as double bits, for ticks_to_ns; 0 = identity. */
static _Atomic uint64_t g_ns_per_tick_bits;

IORT_API uint64_t iort_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t read_tsc(void)
{
#if HAVE_TSC
	uint32_t lo, hi;

	/* lfence: rdtsc does not start before earlier instructions finish (no early reads). */
	__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
#else
	return iort_clock_ns();
#endif
}

IORT_API uint64_t iort_clock_ticks(void)
{
	return read_tsc();
}

static bool tsc_invariant(void)
{
#if HAVE_TSC
	unsigned int a, b, c, d;

	if ((unsigned int)__get_cpuid_max(0x80000000u, NULL) < 0x80000007u)
		return false;
	if (!__get_cpuid(0x80000007u, &a, &b, &c, &d))
		return false;
	return (d >> 8) & 1;
#else
	return false;
#endif
}

/* Scaled time from one consistent payload; see the seqlock comment at the top. */
static uint64_t scale(uint64_t tsc, uint64_t base_tsc, uint64_t base_ns, uint64_t mult)
{
	/* A TSC read on another core a few ticks before the re-base may be "earlier": clamp. */
	uint64_t d = tsc > base_tsc ? tsc - base_tsc : 0;

	return base_ns + (uint64_t)(((u128)d * mult) >> SHIFT);
}

/* Seqlock read of the fast time. */
static uint64_t read_scaled(void)
{
	unsigned int spins = 0;

	for (;;) {
		uint64_t s0, s1, bt, bn, m, tsc;

		/* MO clock.A1 (acquire): payload loads after the counter; pairs with clock.R2 in publish(). */
		s0 = atomic_load_explicit(&g.seq, memory_order_acquire);
		if (s0 & 1) {
			/* A writer is inside its few stores; it may have been preempted. */
			IORT_TP("clock.read_busy");
			if (++spins % SPINS_BEFORE_YIELD == 0)
				sched_yield();
			continue;
		}
		/* MO relaxed: validated by the counter re-check after clock.A2. */
		bt = atomic_load_explicit(&g.base_tsc, memory_order_relaxed);
		/* MO relaxed: validated by the counter re-check after clock.A2. */
		bn = atomic_load_explicit(&g.base_ns, memory_order_relaxed);
		/* MO relaxed: validated by the counter re-check after clock.A2. */
		m = atomic_load_explicit(&g.mult, memory_order_relaxed);
		tsc = read_tsc();
		/* MO clock.A2 (acquire fence): payload loads before the re-check; pairs with clock.R1 in publish(). */
		atomic_thread_fence(memory_order_acquire);
		/* MO relaxed: ordered after the payload loads by clock.A2. */
		s1 = atomic_load_explicit(&g.seq, memory_order_relaxed);
		if (s0 == s1) {
			return scale(tsc, bt, bn, m);
		}
	}
}

/* Writer side of the seqlock, opening: the odd counter. Caller holds calib_lock. */
static uint64_t write_begin(void)
{
	/* MO relaxed: only writers (serialized by calib_lock) store seq. */
	uint64_t s = atomic_load_explicit(&g.seq, memory_order_relaxed);

	/* MO relaxed: the odd value is ordered before the payload stores by clock.R1. */
	atomic_store_explicit(&g.seq, s + 1, memory_order_relaxed);
	/* MO clock.R1 (seq_cst fence): odd counter before the payload stores (as a release fence;
	 * pairs with clock.A2 in read_scaled()) and before a re-base's TSC read in rebase_locked():
	 * a store->rdtsc order that only a full fence gives (mfence, which lfence;rdtsc waits for). */
	atomic_thread_fence(memory_order_seq_cst);
	return s;
}

/* Writer side of the seqlock, closing: the payload, then the even counter. */
static void write_end(uint64_t s, uint64_t base_tsc, uint64_t base_ns, uint64_t mult)
{
	/* MO relaxed: published by clock.R2. */
	atomic_store_explicit(&g.base_tsc, base_tsc, memory_order_relaxed);
	/* MO relaxed: published by clock.R2. */
	atomic_store_explicit(&g.base_ns, base_ns, memory_order_relaxed);
	/* MO relaxed: published by clock.R2. */
	atomic_store_explicit(&g.mult, mult, memory_order_relaxed);
	/* MO clock.R2 (release): payload before the even counter; pairs with clock.A1 in read_scaled(). */
	atomic_store_explicit(&g.seq, s + 2, memory_order_release);
}

/* The first payload (no reader uses the fast time line yet). Caller holds calib_lock. */
static void publish(uint64_t base_tsc, uint64_t base_ns, uint64_t mult)
{
	write_end(write_begin(), base_tsc, base_ns, mult);
}

/* Switch a running fast clock to @p mult, re-based on its current time line at the moment of
 * publication (file comment). Caller holds calib_lock; the mode is MODE_TSC. */
static void rebase_locked(uint64_t mult)
{
	uint64_t s = write_begin();
	/* MO relaxed: only writers (serialized by calib_lock, which we hold) store the payload. */
	uint64_t bt = atomic_load_explicit(&g.base_tsc, memory_order_relaxed);
	/* MO relaxed: as above. */
	uint64_t bn = atomic_load_explicit(&g.base_ns, memory_order_relaxed);
	/* MO relaxed: as above. */
	uint64_t m = atomic_load_explicit(&g.mult, memory_order_relaxed);
	uint64_t slower = m > mult ? m - mult : 0;
	/* Read inside the write section: readers that still use the old scale read the TSC before
	 * this (give or take their out-of-order window, REORDER_TICKS), so the new scale, continuous
	 * with the old at now, starts above all they can have read. */
	uint64_t now = read_tsc();
	uint64_t base_ns =
		scale(now, bt, bn, m) + 1 + (uint64_t)(((u128)REORDER_TICKS * slower) >> SHIFT);

	IORT_TP("clock.rebase");
	write_end(s, now, base_ns, mult);
}

/* TSC and CLOCK_MONOTONIC read as close together as we can: the tightest of a few brackets. */
static void bracket(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < BRACKET_TRIES; i++) {
		uint64_t t0 = read_tsc();
		uint64_t n = iort_clock_ns();
		uint64_t t1 = read_tsc();

		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*ns = n;
		}
	}
}

static uint64_t dbl_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double bits_dbl(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* Ticks per ns over about window_ns; 0 when the measurement is implausible. */
static double measure(uint64_t window_ns, uint64_t *end_tsc, uint64_t *end_ns, uint64_t *took_ns)
{
	uint64_t t0, n0, t1, n1;
	struct timespec req;
	double ghz;

	bracket(&t0, &n0);
	req.tv_sec = (time_t)(window_ns / 1000000000ull);
	req.tv_nsec = (long)(window_ns % 1000000000ull);
	/* A sleep is fine here: both clocks are read after it, whenever we wake. */
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &req) == EINTR)
		;
	bracket(&t1, &n1);
	if (n1 <= n0 || t1 <= t0)
		return 0;
	ghz = (double)(t1 - t0) / (double)(n1 - n0);
	if (!(ghz > 0.01 && ghz < 100.0))
		return 0;
	*end_tsc = t1;
	*end_ns = n1;
	*took_ns = n1 - n0;
	return ghz;
}

/* Caller holds calib_lock. */
static int calibrate_locked(uint64_t window_ns)
{
	uint64_t end_tsc = 0, end_ns = 0, took = 0, mult;
	double ghz = 0;
	int mode;

	/* MO relaxed: mode is only written under calib_lock, which we hold. */
	mode = atomic_load_explicit(&g.mode, memory_order_relaxed);
	g.invariant = tsc_invariant();
	if (window_ns < MIN_WINDOW_NS)
		window_ns = MIN_WINDOW_NS;
	if (window_ns > MAX_WINDOW_NS)
		window_ns = MAX_WINDOW_NS;
	if (HAVE_TSC)
		ghz = measure(window_ns, &end_tsc, &end_ns, &took);
	if (ghz > 0) {
		/* Kept for ticks_to_ns even when the fast clock cannot use the TSC. */
		g.ghz = ghz;
		g.calib_ns = took;
		/* MO relaxed: ticks_to_ns needs any one whole value; a 64-bit word is never torn. */
		atomic_store_explicit(&g_ns_per_tick_bits, dbl_bits(1.0 / ghz),
				      memory_order_relaxed);
	}

	if (ghz > 0 && g.invariant && mode != MODE_MONO) {
		mult = (uint64_t)((double)((uint64_t)1 << SHIFT) / ghz + 0.5);
		if (mode == MODE_TSC) {
			rebase_locked(mult);
			return 0;
		}
		publish(end_tsc, end_ns, mult);
		/* MO clock.R3 (release): first payload before the mode; pairs with clock.A3 in iort_clock_fast_ns(). */
		atomic_store_explicit(&g.mode, MODE_TSC, memory_order_release);
		return 0;
	}
	if (mode == MODE_TSC)
		return -EAGAIN; /* an implausible re-measurement: the old scale stays */
	if (mode == MODE_UNINIT)
		/* MO clock.R4 (release): the fallback carries no payload, but pairs with clock.A3 in iort_clock_fast_ns() all the same. */
		atomic_store_explicit(&g.mode, MODE_MONO, memory_order_release);
	return -ENOTSUP;
}

int iort__clock_rescale(double ghz)
{
	int ret = -EAGAIN;

	pthread_mutex_lock(&g.calib_lock);
	/* MO relaxed: mode is only written under calib_lock, which we hold. */
	if (atomic_load_explicit(&g.mode, memory_order_relaxed) == MODE_TSC && ghz > 0.01 &&
	    ghz < 100.0) {
		rebase_locked((uint64_t)((double)((uint64_t)1 << SHIFT) / ghz + 0.5));
		ret = 0;
	}
	pthread_mutex_unlock(&g.calib_lock);
	return ret;
}

IORT_API int iort_clock_calibrate(uint64_t window_ns)
{
	int ret;

	pthread_mutex_lock(&g.calib_lock);
	ret = calibrate_locked(window_ns);
	pthread_mutex_unlock(&g.calib_lock);
	return ret;
}

static void lazy_calibrate(void)
{
	pthread_mutex_lock(&g.calib_lock);
	/* MO relaxed: mode is only written under calib_lock, which we hold. */
	if (atomic_load_explicit(&g.mode, memory_order_relaxed) == MODE_UNINIT)
		(void)calibrate_locked(DEFAULT_WINDOW_NS);
	pthread_mutex_unlock(&g.calib_lock);
}

IORT_API uint64_t iort_clock_fast_ns(void)
{
	for (;;) {
		/* MO clock.A3 (acquire): mode before the payload it vouches for; pairs with clock.R3 / clock.R4 in calibrate_locked(). */
		int mode = atomic_load_explicit(&g.mode, memory_order_acquire);

		if (iort_likely(mode == MODE_TSC))
			return read_scaled();
		if (mode == MODE_MONO)
			return iort_clock_ns();
		lazy_calibrate();
	}
}

IORT_API double iort_clock_ticks_to_ns(uint64_t ticks)
{
	uint64_t bits;

	if (!HAVE_TSC)
		return (double)ticks;
	/* MO relaxed: a calibrated rate or 0; either is a whole value, and nothing else is read. */
	bits = atomic_load_explicit(&g_ns_per_tick_bits, memory_order_relaxed);
	if (bits == 0) {
		/* MO relaxed: only decides whether to take calib_lock, which orders the rest. */
		if (atomic_load_explicit(&g.mode, memory_order_relaxed) == MODE_UNINIT)
			lazy_calibrate();
		/* MO relaxed: as above; after lazy_calibrate() the lock made the store visible. */
		bits = atomic_load_explicit(&g_ns_per_tick_bits, memory_order_relaxed);
		if (bits == 0)
			return (double)ticks;
	}
	return (double)ticks * bits_dbl(bits);
}

IORT_API void iort_clock_get_info(struct iort_clock_info *out)
{
	pthread_mutex_lock(&g.calib_lock);
	/* MO relaxed: mode is only written under calib_lock, which we hold. */
	if (atomic_load_explicit(&g.mode, memory_order_relaxed) == MODE_UNINIT)
		(void)calibrate_locked(DEFAULT_WINDOW_NS);
	out->tsc_invariant = g.invariant;
	/* MO relaxed: mode is only written under calib_lock, which we hold. */
	out->tsc_used = atomic_load_explicit(&g.mode, memory_order_relaxed) == MODE_TSC;
	out->tsc_ghz = out->tsc_used ? g.ghz : 0;
	out->calib_ns = g.calib_ns;
	pthread_mutex_unlock(&g.calib_lock);
}
