/**
 * Shared plumbing for the benchmark workloads in bench/: the run's topology and placement plan,
 * pinning, and the registration entry point of each workload file.
 *
 * Every workload pins each of its threads with bench_pin() before its timed loop. In a simulated
 * run (synthetic or XML topology) pinning does nothing and the results are marked simulated.
 */
#ifndef IOB_BENCH_H
#define IOB_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#include "gbench.h"
#include "topo.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bench_env {
	struct iob_topo *topo;
	struct iob_plan *plan; /**< the run's placement; thread i runs on plan->places[i % n] */
	bool simulated;	       /**< topology is not this system: nothing is pinned */
};

/** Set up by bench_main.c before any workload registers or runs; read-only afterwards. */
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

/** Registration entry points, one per workload file; called once from main. */
void bench_calib_register(void);
void bench_queue_register(void);
void bench_gate_register(void);

/**
 * Where a latency benchmark writes its percentile CSV (--iobench_latency_dir), named per the results
 * contract. @return 0, or -ENOENT when no latency folder was given (write nothing).
 */
int bench_latency_csv_path(const char *name, char *out, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* IOB_BENCH_H */
