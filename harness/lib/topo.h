/**
 * Machine topology (hwloc) and thread placement plans.
 *
 * A topology comes from this system, from an hwloc synthetic string ("pack:2 numa:2 core:4 pu:2")
 * or from an XML export. Binding against a synthetic or XML topology silently does nothing in
 * hwloc, so iob_topo_pin_self() and iob_topo_bind_memory() refuse (-EXDEV) unless
 * iob_topo_is_thissystem(); plans on such topologies are plans only, and callers mark their
 * results simulated.
 *
 * A PU's home NUMA node is, among the nodes whose cpuset holds it, the one with the smallest
 * cpuset, ties going to the lowest OS index (DDR before an HBM node on the same PUs; a package's
 * node before a machine-wide CXL node). A PU may have none: hwloc drops the nodes a cgroup's
 * cpuset.mems excludes (Slurm, Kubernetes) but keeps their PUs, and an offline node leaves its
 * PUs behind. Such a node-less PU is recorded as IOB_TOPO_NO_NUMA ("numa": null in JSON). A
 * machine with no NUMA object counts as one node 0 holding every PU.
 *
 * Placements (nthreads threads, plan[i] is thread i's PU):
 *   compact  fill a core's PUs, then the next core in the same LLC, then the next LLC, package
 *            (hwloc logical order); node-less PUs are used where they fall
 *   spread   deal threads round-robin over the home nodes in ascending OS index, then over the
 *            node-less PUs grouped by package (one pseudo-node per package, after all real
 *            nodes); within a group, first PU of each core before any second PU. Memory-only
 *            nodes (home to no PU) take no threads.
 *   numa:N   all threads on the PUs in node N's cpuset (N an OS index), compact (hwloc logical)
 *            order; every place records N. Never a node-less PU.
 *   list:A,B,C or A,B,C   an explicit list of PU OS indexes in that order ("A-B" is the range
 *            A..B); cycled when shorter than nthreads. Node-less PUs are allowed.
 * More threads than PUs (than the node's PUs for numa:N, than the list's entries for a list) is
 * -E2BIG unless oversubscribe is set, in which case the plan wraps around. A PU listed twice is
 * sharing too and needs oversubscribe.
 *
 * Synchronization: a loaded topology and a computed plan are immutable and may be read from any
 * thread; load and destroy from one thread.
 */
#ifndef IOB_TOPO_H
#define IOB_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iob_topo;

/*
 * Input limits, checked before hwloc builds anything (hwloc builds a synthetic topology in time
 * quadratic in the arity and keeps cpusets as wide as the largest PU index). Real machines fit
 * with room: 2 x 192-core packages is 768 PUs and arity 192. Past a limit iob_topo_load() is
 * -E2BIG, and the message names the limit.
 */
#define IOB_TOPO_MAX_PUS       4096	  /**< PUs in a synthetic topology */
#define IOB_TOPO_MAX_ARITY     512	  /**< children per object at one synthetic level */
#define IOB_TOPO_MAX_OBJECTS   16384	  /**< objects (all levels) in a synthetic topology */
#define IOB_TOPO_MAX_OS_INDEX  65535	  /**< an OS index in a synthetic "indexes=" list */
#define IOB_TOPO_MAX_XML_BYTES (16 << 20) /**< size of an XML topology file */

enum iob_topo_source {
	IOB_TOPO_SYSTEM,    /**< this machine (arg ignored) */
	IOB_TOPO_SYNTHETIC, /**< arg is an hwloc synthetic description */
	IOB_TOPO_XML,	    /**< arg is a path to an hwloc XML export */
};

/** One thread's place in a plan. All indexes are OS indexes. */
struct iob_place {
	int thread;
	int pu;
	int core; /**< logical index of the core holding pu (-1 when no core object holds it) */
	int numa; /**< OS index of pu's home NUMA node (0 when the machine has no NUMA object),
		       IOB_TOPO_NO_NUMA when it has none; numa:N records N */
};

/** iob_place.numa of a PU that belongs to no NUMA node. */
#define IOB_TOPO_NO_NUMA (-1)

struct iob_plan {
	int nthreads;
	char *placement;	  /**< the placement string it was made from */
	struct iob_place *places; /**< nthreads entries */
};

/**
 * Load a topology. On failure writes a one-line reason naming the bad input to @p err (may be
 * NULL). I/O devices are not loaded (placement needs CPUs, caches and memory only).
 * @return 0, -EINVAL (bad synthetic string), -ENOENT (missing XML file), -EIO (unreadable XML,
 * or XML in a format this hwloc cannot read, e.g. hwloc 3's format 3.0), -E2BIG (past an input
 * limit above), -ENOMEM.
 */
int iob_topo_load(enum iob_topo_source src, const char *arg, struct iob_topo **out, char *err,
		  size_t errlen);
void iob_topo_destroy(struct iob_topo *t);

bool iob_topo_is_thissystem(const struct iob_topo *t);
/** "system", "synthetic:<string>" or "xml:<path>". */
const char *iob_topo_source(const struct iob_topo *t);
int iob_topo_npus(const struct iob_topo *t);
int iob_topo_nnuma(const struct iob_topo *t);

/**
 * Compute a placement plan for @p nthreads threads (0: one thread per PU the placement offers).
 * On failure writes a one-line reason naming the placement to @p err (may be NULL).
 * @return 0, -EINVAL (unknown placement, bad PU or node number, node without PUs, nthreads < 0),
 * -E2BIG (too many threads, or a PU listed twice, without @p oversubscribe), -ENOMEM.
 */
int iob_topo_plan(const struct iob_topo *t, const char *placement, int nthreads, bool oversubscribe,
		  struct iob_plan **out, char *err, size_t errlen);
void iob_plan_destroy(struct iob_plan *p);

/**
 * Bind the calling thread to PU @p pu (OS index) and verify with sched_getcpu() that it runs there.
 * Thread-safe: each thread binds only itself.
 * @return 0, -EXDEV (topology is not this system: nothing was bound), -EINVAL (no such PU),
 * -EIO (binding failed or the thread did not land on @p pu).
 */
int iob_topo_pin_self(const struct iob_topo *t, int pu);

/**
 * Bind [p, p+len) to NUMA node @p numa (OS index), hwloc_set_area_membind(HWLOC_MEMBIND_BIND);
 * pages already faulted in elsewhere are not moved.
 * @return 0, -EXDEV (not this system), -EINVAL (no such node, NULL @p p, 0 @p len), -EIO.
 */
int iob_topo_bind_memory(const struct iob_topo *t, void *p, size_t len, int numa);

/** Human-readable machine description (packages, NUMA nodes and their PUs, caches) and plan. */
void iob_topo_print(const struct iob_topo *t, const struct iob_plan *plan, FILE *f);
/**
 * One JSON object: {"source", "is_thissystem", "numa_nodes": [{"os_index", "pus": [..]}] (by OS
 * index; "pus" are the PUs in the node's cpuset), "pus_without_numa": [..], "plan": [{"thread",
 * "pu", "numa"}]} ("plan" is [] when @p plan is NULL; "numa" is null for a node-less PU). Returns a malloc'd
 * string, or NULL on allocation failure.
 */
char *iob_topo_json(const struct iob_topo *t, const struct iob_plan *plan);

#ifdef __cplusplus
}
#endif

#endif /* IOB_TOPO_H */
