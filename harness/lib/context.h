/**
 * Run context: what every results file records besides the numbers (docs/benchmarking.md,
 * "Methodology"): build (sha, compiler, flags, build type), machine (kernel, CPU), and the load
 * average and steal time before and after the run, from which a run is marked quiet or not.
 *
 * Synchronization: none; call from one thread.
 */
#ifndef IOB_CONTEXT_H
#define IOB_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A snapshot of /proc/loadavg and the aggregate cpu line of /proc/stat. */
struct iob_sysstat {
	bool ok;
	double load1, load5, load15;
	uint64_t steal_ticks; /**< cumulative steal jiffies, all CPUs */
	uint64_t total_ticks; /**< cumulative jiffies of every state, all CPUs */
};

void iob_sysstat_read(struct iob_sysstat *out);

/** The short git sha this binary was built from ("unknown" outside a checkout). */
const char *iob_build_sha(void);

/** The project's version (meson's project version, e.g. "0.1.0"). */
const char *iob_build_version(void);

/** Add build and machine facts (iobench_* keys) to @p ctx. @return 0 or -ENOMEM. */
int iob_context_add_static(json_t *ctx);

/**
 * Add load and steal before/after, steal percentage over the interval, and
 * "iobench_quiet" (load1 before <= 0.3 x CPUs and steal <= 2 %) with its reason to @p ctx.
 */
int iob_context_add_load(json_t *ctx, const struct iob_sysstat *before,
			 const struct iob_sysstat *after);

/**
 * Derive the calibration figures from the calib/ rows of a Google Benchmark "benchmarks" array
 * (each carries a counter "ns", the per-operation cost measured by its first thread).
 * @return a new object {"clock_gettime_ns", "tsc_read_ns", "fast_clock_ns", "syscall_ns",
 * "futex_wake_roundtrip_ns", "cacheline_roundtrip_ns": {"A-B": ns, ...}} (medians over
 * repetitions), or NULL on allocation failure. Missing figures are absent.
 */
json_t *iob_calibration_from_rows(const json_t *benchmarks);

#ifdef __cplusplus
}
#endif

#endif /* IOB_CONTEXT_H */
