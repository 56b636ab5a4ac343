/**
 * A vtable over actor runtimes, ours and the baselines', for bench/bench_actor.c.
 *
 * Actor programs do not reduce to a common core of calls the way queues or loops do: a CAF
 * program is C++ behaviours, ours is C behaviour functions, the sketch's is a thread per actor.
 * So the unit here is the workload: each adapter writes each Savina shape in its runtime's own
 * idiom, and bench_actor.c owns the sizes, the timing, the checks and the counters. Every
 * operation runs one complete round and returns when the round has finished (its last actor
 * reported); the result it fills in is checked by the workload (a wrong sum fails the run).
 *
 * Each adapter file (bench/aimpl_*.c, aimpl_caf.cc) defines one `const struct aimpl`, and
 * bench_actor.c's actor_impls[] lists it once. A baseline whose library was not found at
 * configure time still defines its descriptor, with impl.missing set and no operations: its
 * benchmarks keep their names and skip with that message. A shape an implementation cannot run
 * (a thread per actor cannot hold skynet's million actors) leaves its operation NULL and says why
 * in unsupported[]: the cell skips with "unsupported: <message>".
 *
 * Synchronization: every call is made by the benchmark's own thread, which is not one of the
 * runtime's workers; create and destroy with no round in flight.
 */
#ifndef IOB_AIMPL_H
#define IOB_AIMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ai_config {
	unsigned workers; /**< the runtime's worker threads (CAF: its scheduler's) */
	const int *cpus;  /**< @c workers PUs (the harness's plan); NULL: unpinned */
};

/** The shapes, for unsupported[]. */
enum ai_shape {
	AS_PINGPONG,
	AS_THREADRING,
	AS_COUNTING,
	AS_FJTHRPUT,
	AS_FJCREATE,
	AS_BIG,
	AS_CHAMENEOS,
	AS_SKYNET,
	AS_BACKPRESSURE,
	AS_COUNT
};

/** What a round reports; the workload checks it and turns it into counters. */
struct ai_result {
	uint64_t messages; /**< messages handled by the round's actors */
	uint64_t check;	   /**< the shape's checksum (see each operation) */
	/* mailbox_backpressure only */
	uint64_t peak_depth; /**< largest consumer mailbox depth seen */
	uint64_t dropped;    /**< messages dropped by the policy */
	uint64_t rejected;   /**< sends refused (then retried) */
	uint64_t muted_ns;   /**< time the producer spent muted (or blocked) */
	/** Times a sending thread blocked in a send during the round. A runtime with a thread
	 *  per actor counts its blocking sends; one on a pool counts producer activations in
	 *  which its worker thread blocked (ours: must be 0). */
	uint64_t blocked;
	/** Set when the round went wrong in a way the adapter saw (a message out of order, a
	 *  message discarded undelivered): the cell fails with it, whatever the check says.
	 *  NULL: only the checksum decides. A static string. */
	const char *fault;
};

/**
 * The "little arithmetic" fjthrput and fjcreate do per message (Savina's sin(theta)^2, without
 * libm): a few dependent multiply-xorshift steps. Adapters fold the result into their state so
 * that it is not optimised away; its value is not checked.
 */
static inline uint64_t ai_work(uint64_t x)
{
	for (int i = 0; i < 8; i++) {
		x ^= x >> 31;
		x *= 0x9e3779b97f4a7c15ull;
	}
	return x;
}

/** mailbox_backpressure's policies (ours maps them to enum iort_mailbox_policy). */
enum ai_policy { AP_UNBOUNDED, AP_REJECT, AP_DROP_NEWEST, AP_DROP_OLDEST, AP_BACKPRESSURE };

/**
 * What mailbox_backpressure's consumer saw, against its policy: @p handled messages, the first
 * @p first and the last @p next - 1 of the sequence numbers 0 .. @p n - 1, and whether one came
 * out of order (or, under a policy that drops nothing, after a gap: @p disorder). Under
 * DROP_NEWEST the first messages find room (the first is 0); under DROP_OLDEST the newest is
 * never the one dropped (the last is n - 1: with one producer and a capacity above 1, a full
 * mailbox always holds a queued message older than the one sent). @return the fault to report,
 * or NULL.
 */
static inline const char *ai_bp_fault(enum ai_policy policy, uint64_t n, uint64_t handled,
				      uint64_t first, uint64_t next, bool disorder)
{
	if (disorder)
		return "the consumer saw a message out of order, or a gap";
	if (handled && policy == AP_DROP_NEWEST && first != 0)
		return "drop_newest dropped the first message (an old one, not the newest)";
	if (handled && policy == AP_DROP_OLDEST && next != n)
		return "drop_oldest dropped the last message (the newest, not the oldest)";
	return NULL;
}

struct aimpl {
	struct bench_impl impl; /**< name, origin, package; missing: the skip message */
	/** Why a shape cannot run on this runtime (NULL: it can). */
	const char *unsupported[AS_COUNT];
	/** Start the runtime. @return 0 or a negative errno, and optionally a message in @p *why. */
	int (*create)(const struct ai_config *cfg, void **rt, const char **why);
	void (*destroy)(void *rt);
	/* One round each; @return 0 or a negative errno. */
	/** Two actors exchange @p n pings and @p n pongs, a new message each (Savina's
	 * PingPong). check: pongs received. messages: pings + pongs handled. */
	int (*pingpong)(void *rt, uint64_t n, struct ai_result *r);
	/** A ring of @p actors passes one token @p hops times, each hop a new message carrying
	 * the hops left; the round ends when the token reaches 0. check: hops made. */
	int (*threadring)(void *rt, unsigned actors, uint64_t hops, struct ai_result *r);
	/** A producer actor sends @p n increments to a counter actor in one loop, then asks for
	 * the count, which the counter sends back. check: the count received. */
	int (*counting)(void *rt, uint64_t n, struct ai_result *r);
	/** The benchmark's thread sends @p n messages to each of @p actors actors, round-robin;
	 * each actor runs ai_work() per message and exits after its @p n-th. check: messages
	 * handled. */
	int (*fjthrput)(void *rt, unsigned actors, uint64_t n, struct ai_result *r);
	/** The benchmark's thread spawns @p n actors and sends each one message; each runs
	 * ai_work() and exits after handling it. check: actors that ran. */
	int (*fjcreate)(void *rt, uint64_t n, struct ai_result *r);
	/** @p actors actors each send @p n pings, one at a time, to peers drawn at random (not
	 * themselves), answering every ping with a pong; an actor sends its next ping when its
	 * pong is back, and keeps answering after its n-th. check: pongs received. */
	int (*big)(void *rt, unsigned actors, uint64_t n, struct ai_result *r);
	/** @p creatures creatures (colours i mod 3) each ask a broker for a meeting; the broker
	 * pairs two requests, answers each with the other's colour (the creature takes the
	 * complement and asks again), until @p meetings pairs; then it answers every request
	 * with stop. check: 2 * meetings (the creatures' meeting counts summed). */
	int (*chameneos)(void *rt, unsigned creatures, uint64_t meetings, struct ai_result *r);
	/** A 10-ary tree of actors down to @p leaves leaves, each node spawning its ten children
	 * when it gets its start, each leaf replying its number, each node the sum of its ten
	 * replies. check: the root's sum, 0 + 1 + ... + (leaves - 1). */
	int (*skynet)(void *rt, uint64_t leaves, struct ai_result *r);
	/** A producer actor sends @p n messages (sequence numbers) as fast as it can to a
	 * consumer whose mailbox holds @p capacity under @p policy, and which spends @p work_ns
	 * per message, checking the order (no gap unless the policy drops). check: messages
	 * handled + dropped. */
	int (*backpressure)(void *rt, enum ai_policy policy, uint32_t capacity, uint64_t n,
			    uint64_t work_ns, struct ai_result *r);
};

/* bench/aimpl_iort.c */
extern const struct aimpl aimpl_iort;
/* bench/aimpl_seed.c */
extern const struct aimpl aimpl_seed;
/* bench/aimpl_caf.cc */
extern const struct aimpl aimpl_caf;

#ifdef __cplusplus
}
#endif

#endif /* IOB_AIMPL_H */
