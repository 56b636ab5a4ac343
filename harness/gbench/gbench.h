/**
 * A C surface over Google Benchmark 1.7.1 (harness/gbench_shim.cc is the only C++ in the project).
 *
 * A benchmark is a plain C function `void fn(struct iob_state *st, void *arg)` that loops on
 * iob_state_keep_running(). Names follow docs/conventions.md: `family/scenario/impl[/param:value]`;
 * Google Benchmark appends `/threads:N`, `/real_time`, `/manual_time` and, in fixed-iterations mode,
 * `/iterations:N`. Repetitions are never set in code: pass --benchmark_repetitions on the command line.
 *
 * Threads: with iob_bench_threads(b, n) the function runs on n fresh threads per run, all running
 * the same number of iterations. Counters are summed over threads unless flagged
 * IOB_COUNTER_AVG_THREADS; a counter set by thread 0 alone comes out as thread 0 set it.
 *
 * Synchronization: register, configure, initialize and run from one thread (main). iob_state_*
 * calls are made only by the thread that owns the state.
 */
#ifndef IOB_GBENCH_H
#define IOB_GBENCH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iob_state;
struct iob_bench;

typedef void iob_bench_fn(struct iob_state *st, void *arg);

/** Counter flags (mirror benchmark::Counter::Flags). */
enum {
	IOB_COUNTER_DEFAULT = 0,
	IOB_COUNTER_RATE = 1 << 0,	     /**< divide by the run's (real or CPU) time */
	IOB_COUNTER_AVG_THREADS = 1 << 1,    /**< divide by the thread count */
	IOB_COUNTER_AVG_ITERATIONS = 1 << 2, /**< divide by the iteration count */
	IOB_COUNTER_INVERT = 1 << 3,	     /**< report 1/value (e.g. seconds per item) */
};

/**
 * Register a benchmark. Borrows @p arg for the life of the process. @p name is copied.
 * @return the handle used to configure it, or NULL when @p name or @p fn is NULL.
 */
struct iob_bench *iob_bench_register(const char *name, iob_bench_fn *fn, void *arg);
/** Run on @p n threads (n >= 1); may be called several times to run at several counts. */
void iob_bench_threads(struct iob_bench *b, int n);
/** Time with the wall clock rather than the main thread's CPU time (adds `/real_time`). */
void iob_bench_real_time(struct iob_bench *b);
/** The benchmark reports each iteration's time with iob_state_set_iteration_time (adds `/manual_time`). */
void iob_bench_manual_time(struct iob_bench *b);
/** Report times in this unit: 'n' ns, 'u' us, 'm' ms, 's' s. */
void iob_bench_time_unit(struct iob_bench *b, char unit);

/**
 * Fixed-iterations mode for instruction counting: benchmarks run exactly @p n iterations, once
 * (names gain `/iterations:N`). Applies to every benchmark at iob_bench_run(); 0 (the default)
 * turns it off, but not for a benchmark a run already fixed. Each thread runs @p n, so the JSON
 * "iterations" is n * threads; a keep_running_batch loop rounds n up to a multiple of its batch.
 */
void iob_bench_fixed_iterations(int64_t n);

/** Add a key/value to the JSON "context" object. Both strings are copied. */
void iob_bench_add_context(const char *key, const char *value);

/**
 * Parse and remove Google Benchmark's --benchmark_* flags from argv.
 * @return 0, or -EINVAL when an argument is left that neither we nor Google Benchmark know
 * (argv[1] then names it).
 */
int iob_bench_initialize(int *argc, char **argv);
/** Run the benchmarks selected by --benchmark_filter. @return how many ran. */
uint64_t iob_bench_run(void);
/** Print the registered names selected by --benchmark_filter, one a line, to stdout. */
void iob_bench_list(void);
void iob_bench_shutdown(void);

/* --- inside a benchmark function --- */
bool iob_state_keep_running(struct iob_state *st);
/** Run n iterations at a time; may overshoot by up to n - 1. */
bool iob_state_keep_running_batch(struct iob_state *st, uint64_t n);
int iob_state_thread_index(const struct iob_state *st);
int iob_state_threads(const struct iob_state *st);
/** Iterations completed so far by this thread (total after the loop). */
int64_t iob_state_iterations(const struct iob_state *st);
void iob_state_pause_timing(struct iob_state *st);
void iob_state_resume_timing(struct iob_state *st);
/** Manual timing: seconds this iteration took (only with iob_bench_manual_time). */
void iob_state_set_iteration_time(struct iob_state *st, double seconds);
void iob_state_set_items_processed(struct iob_state *st, int64_t items);
void iob_state_set_bytes_processed(struct iob_state *st, int64_t bytes);
/** Set user counter @p name (copied) to @p value with IOB_COUNTER_* @p flags. */
void iob_state_counter(struct iob_state *st, const char *name, double value, unsigned flags);
/** Mark this run as failed with @p msg (copied); call before or after the loop, then return. */
void iob_state_skip_with_error(struct iob_state *st, const char *msg);
/** Label shown next to the result (copied). */
void iob_state_set_label(struct iob_state *st, const char *label);

#ifdef __cplusplus
}
#endif

#endif /* IOB_GBENCH_H */
