/**
 * Clocks for deadlines, timers and benchmark timing.
 *
 * iort_clock_ns() is CLOCK_MONOTONIC in nanoseconds: the reference clock, and the one every
 * *_timed deadline in libiort is expressed in.
 *
 * iort_clock_fast_ns() is the cheap clock: the invariant TSC scaled by a calibrated factor when the
 * CPU advertises an invariant TSC (CPUID 0x80000007 EDX bit 8) and calibration succeeded, else
 * CLOCK_MONOTONIC. It is monotonic per thread; it is meant for measuring intervals, not for deadlines.
 *
 * Synchronization: every call is safe from any thread. iort_clock_calibrate() may run concurrently
 * with readers; a reader sees either the old or the new scale factor, never a torn one.
 */
#ifndef IORT_CLOCK_H
#define IORT_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include <iort/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What the cheap clock runs on, after calibration. */
struct iort_clock_info {
	bool tsc_invariant; /**< CPU advertises an invariant TSC. */
	bool tsc_used;	    /**< iort_clock_fast_ns() reads the TSC. */
	double tsc_ghz;	    /**< Calibrated TSC ticks per nanosecond (0 when not used). */
	uint64_t calib_ns;  /**< How long calibration measured for, in ns. */
};

/** CLOCK_MONOTONIC, in nanoseconds. */
IORT_API uint64_t iort_clock_ns(void);

/** Raw time-stamp counter ticks (rdtsc on x86-64; CLOCK_MONOTONIC ns elsewhere). */
IORT_API uint64_t iort_clock_ticks(void);

/**
 * Measure the TSC frequency against CLOCK_MONOTONIC over about @p window_ns and switch
 * iort_clock_fast_ns() to it when the TSC is invariant. Called lazily by the first
 * iort_clock_fast_ns(); call it explicitly to choose when the ~10 ms calibration happens.
 * Sleeps (does not spin) for the window; @p window_ns is clamped to 1 ms..1 s.
 * @return 0, -ENOTSUP when the TSC is not usable (the fast clock then uses CLOCK_MONOTONIC, and
 * stays on it: a later calibration never moves it to another time line), or -EAGAIN when a
 * re-calibration measured an implausible rate (the previous scale stays). A re-calibration
 * re-bases the new scale on the current fast time, so readings stay monotonic per thread.
 */
IORT_API int iort_clock_calibrate(uint64_t window_ns);

/** The cheap clock in nanoseconds (see above). */
IORT_API uint64_t iort_clock_fast_ns(void);

/** Convert a difference of iort_clock_ticks() values to nanoseconds (identity without TSC). */
IORT_API double iort_clock_ticks_to_ns(uint64_t ticks);

/** Describe the cheap clock. Calibrates first when that has not happened yet. */
IORT_API void iort_clock_get_info(struct iort_clock_info *out);

#ifdef __cplusplus
}
#endif

#endif /* IORT_CLOCK_H */
