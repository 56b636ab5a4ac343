/**
 * The benchmark library: what every workload file in bench/ uses, and nothing workload-specific.
 *
 * - The run's environment: topology, placement plan, pinning (bench_pin*), where latency
 *   histograms go (bench_latency_csv_path).
 * - The catalogue: each workload file describes one family (struct bench_family) and registers
 *   its benchmarks through bench_add(), which names them by the grammar below, registers them
 *   with Google Benchmark and records them. `iobench-bench --iobench_catalogue` prints the record
 *   as JSON; iobench derives its default matrix, references, gate list and smoke test from it.
 *
 * Names: `<scenario>/<impl>[/<param>:<value>...]`, then Google Benchmark's `/real_time` or
 * `/manual_time` and `/threads:N`. A scenario's name is `<family>/<shape>` (queue/pairs); the
 * parameters follow the order of bench_scenario.params and an absent value (NULL) adds nothing.
 *
 * Adding an implementation to a family: one adapter file that defines its struct bench_impl (and
 * whatever the family's adapter interface needs), and one line in that family's list. Adding a
 * family: one workload file that defines `const struct bench_family bench_family_<name>`, and its
 * name in `bench_families` in bench/meson.build. docs/adding-a-benchmark.md walks through both.
 *
 * Synchronization: everything here except bench_pin*, bench_slot_pu and bench_latency_csv_path
 * runs on the main thread before benchmarks run. Those four are read-only and may be called from
 * any benchmark thread.
 */
#ifndef IOB_BENCH_H
#define IOB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iort/clock.h>
#include <iort/compiler.h>

#include "gbench.h"
#include "topo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- the run's environment --- */

struct bench_env {
	struct iob_topo *topo;
	struct iob_plan *plan;	 /**< the run's placement; thread i runs on plan->places[i % n] */
	bool simulated;		 /**< topology is not this system: nothing is pinned */
	const char *placement;	 /**< the placement's name, as given */
	const char *latency_dir; /**< --iobench_latency_dir, NULL when not given */
	/** --iobench_fixed_iterations (0: not given): a smoke or instruction-counting run, in
	 *  which a family whose iteration is a large round of work may use a smaller round */
	long fixed_iterations;
};

/** Set up by main before any family registers; read-only afterwards. */
extern struct bench_env bench_env;

/**
 * Pin the calling benchmark thread to its planned PU (plan slot thread_index % plan size) and
 * verify it landed. On failure marks the run failed (skip with error) and returns a negative
 * errno: the caller returns without entering its loop. A no-op returning 0 in simulated runs.
 */
int bench_pin(struct iob_state *st);
/** Pin to plan slot @p slot (mod plan size) instead of the thread index. Same contract. */
int bench_pin_slot(struct iob_state *st, int slot);
/** Pin to PU @p pu (OS index). Same contract. */
int bench_pin_pu(struct iob_state *st, int pu);
/** The PU of plan slot @p slot (mod plan size). */
int bench_slot_pu(int slot);

/**
 * Where a latency benchmark writes its percentile CSV (--iobench_latency_dir): @p name is Google
 * Benchmark's full name; the file is DIR/<name>[/placement:P].csv with '/' -> '_', ':' -> '-'.
 * Creates DIR. @return 0, or -ENOENT when no latency folder was given (write nothing).
 */
int bench_latency_csv_path(const char *name, char *out, size_t len);

struct iob_hist;
/**
 * With --iobench_latency_dir: @p h as HdrHistogram's percentile CSV (values in ns) at
 * bench_latency_csv_path(@p name), written to a temporary file, flushed to disk and renamed over
 * the old one. Google Benchmark runs a benchmark for each trial and repetition; the file keeps the
 * last run's distribution. A write error is reported on stderr (the benchmark's figures stand).
 */
void bench_latency_csv_write(const char *name, const struct iob_hist *h);

/**
 * A BENCH_TIME scenario's figure: the counter "ns", thread 0's wall time from @p t0 to @p t1
 * (iort_clock_ns()) over its iterations. Set by thread 0 alone, so Google Benchmark reports it
 * unchanged. Call after the loop.
 */
void bench_report_ns(struct iob_state *st, uint64_t t0, uint64_t t1);

/** Spin (iort_cpu_relax) until iort_clock_fast_ns() reaches @p end_ns: a timed pause that keeps
 *  the CPU, for work inside or between operations. */
static inline void bench_spin_until(uint64_t end_ns)
{
	while (iort_clock_fast_ns() < end_ns)
		iort_cpu_relax();
}

/* --- the catalogue --- */

/** Where an implementation comes from. */
enum bench_origin {
	BENCH_IORT,	/**< libiort: ours */
	BENCH_SEED,	/**< the design the project started from, rebuilt to compare against */
	BENCH_BASELINE, /**< a library people use today (package names it) */
	BENCH_SYSTEM,	/**< the OS or CPU itself (calibration) */
	BENCH_HARNESS,	/**< iobench's own code (its histogram) */
};

/** One implementation; defined once, in its adapter file, and shared by every scenario. */
struct bench_impl {
	const char *name; /**< the impl part of benchmark names: [a-z0-9_]+ */
	enum bench_origin origin;
	const char *package; /**< the Debian package that provides a baseline; NULL otherwise */
	const char *missing; /**< NULL when built in; else why not (its benchmarks skip with it) */
	const char *about;   /**< one line */
};

/** What a scenario's result is, which decides how iobench shows and plots it. */
enum bench_kind {
	BENCH_THROUGHPUT, /**< items_per_second */
	BENCH_LATENCY,	  /**< items_per_second and p50_ns, p99_ns, p999_ns, max_ns */
	BENCH_TIME,	  /**< a counter "ns": the cost of one operation */
};

/** How Google Benchmark times a scenario (and which suffix its names carry). */
enum bench_timing {
	BENCH_CPU_TIME,	   /**< the main thread's CPU time (no suffix) */
	BENCH_REAL_TIME,   /**< wall clock: /real_time */
	BENCH_MANUAL_TIME, /**< iob_state_set_iteration_time: /manual_time */
};

enum {
	BENCH_DEFAULT = 1 << 0, /**< part of iobench's default matrix */
	BENCH_GATE = 1 << 1,	/**< counted by the gate's tier 1 (single-threaded hot paths) */
};

#define BENCH_MAX_PARAMS 4

/** One shape of workload within a family. */
struct bench_scenario {
	const char *name;  /**< "<family>/<shape>" */
	const char *about; /**< one line */
	enum bench_kind kind;
	enum bench_timing timing;
	unsigned flags;	       /**< BENCH_DEFAULT, BENCH_GATE */
	const char *reference; /**< the impl ratios are shown against; NULL: none */
	const char *params[BENCH_MAX_PARAMS + 1]; /**< parameter names, NULL-terminated */
};

/** One family: one workload file. */
struct bench_family {
	const char *name;  /**< the first segment of its scenarios' names */
	const char *about; /**< one line */
	/** Register every benchmark of the family through bench_add(). */
	void (*register_all)(void);
};

/** The families, in the order of bench_families in bench/meson.build (generated families.c). */
extern const struct bench_family *const bench_families[];

/**
 * Register the benchmark @p s x @p impl x @p values with Google Benchmark and record it in the
 * catalogue. @p values has one entry per parameter of @p s (NULL: absent from the name).
 * @p threads lists the thread counts (@p nthreads of them); nthreads 0 runs one thread and adds
 * no `/threads:` to the name. Borrows @p s, @p impl and @p arg for the life of the process.
 * Every implementation of a scenario must be registered with every combination of its parameter
 * values, so that the matrix a scenario implies is exactly what exists:
 * bench_register_families() checks it. Registration errors are bugs in a workload file: they print one line and exit 1.
 * @return the handle, for Google Benchmark settings beyond these.
 */
struct iob_bench *bench_add(const struct bench_scenario *s, const struct bench_impl *impl,
			    iob_bench_fn *fn, void *arg, const int *threads, size_t nthreads,
			    const char *const *values);

/** Walk bench_families[] and register everything. Exits 1 on a registration bug. */
void bench_register_families(void);

/**
 * The catalogue as JSON (schema in docs/results-schema.md, "The catalogue"). @return a string
 * to free, or NULL when out of memory.
 */
char *bench_catalogue_json(void);

/** Free what registration allocated (at exit). */
void bench_catalogue_free(void);

#ifdef __cplusplus
}
#endif

#endif /* IOB_BENCH_H */
