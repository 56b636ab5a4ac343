/**
 * Epoch-based reclamation (Fraser, "Practical lock-freedom", 2004; the three-epoch scheme).
 *
 * Readers bracket their accesses to shared nodes with iort_ebr_enter() / iort_ebr_exit(). A node
 * unlinked from a structure at global epoch E may still be read by threads that entered at E or
 * E - 1; once the global epoch reaches E + 2 none can, and the node may be freed or reused. The
 * epoch advances only when every thread inside a critical section has observed the current one.
 *
 * Threads join a domain implicitly on first use (a thread-local record, released at thread exit);
 * critical sections nest. A thread that stays inside a critical section forever stops reclamation,
 * not progress: retired memory accumulates until it leaves.
 *
 * Two ways to retire:
 *  - iort_ebr_retire(): the domain keeps the node in its shared limbo (a lock-free stack) and
 *    calls @p free_fn once it is safe (on a later retire by any thread, iort_ebr_barrier() or
 *    iort_ebr_destroy()). Free functions must not call iort_ebr_barrier().
 *  - Keep your own list stamped with iort_ebr_epoch() and reuse a node once
 *    iort_ebr_is_safe(d, stamp): for structures that recycle their own nodes.
 *
 * Synchronization: every call is safe from any thread, except destroy (no other call concurrently,
 * no thread inside a critical section).
 * Progress: enter, exit, epoch, is_safe and retire are lock-free; barrier blocks until every
 * thread inside a critical section has left it.
 */
#ifndef IORT_EBR_H
#define IORT_EBR_H

#include <stdbool.h>
#include <stdint.h>

#include <iort/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iort_ebr;

typedef void iort_ebr_free_fn(void *p);

/** The process-wide domain, created on first use; never destroyed. */
IORT_API struct iort_ebr *iort_ebr_default(void);
/** @return 0, -ENOMEM. */
IORT_API int iort_ebr_create(struct iort_ebr **out) IORT_WUR;
/** Frees everything still retired (calling the free functions). NULL is a no-op. */
IORT_API void iort_ebr_destroy(struct iort_ebr *d);

/** Enter a critical section (nestable). @return 0, or -ENOMEM when the thread cannot join. */
IORT_API int iort_ebr_enter(struct iort_ebr *d) IORT_WUR;
IORT_API void iort_ebr_exit(struct iort_ebr *d);

/** The current global epoch: stamp for nodes unlinked now. */
IORT_API uint64_t iort_ebr_epoch(struct iort_ebr *d);
/** Try to advance the global epoch. @return true when it advanced. */
IORT_API bool iort_ebr_try_advance(struct iort_ebr *d);
/**
 * @return true when no thread can still hold a reference to a node unlinked at epoch @p stamp
 * (tries to advance the epoch first when it is not yet far enough).
 */
IORT_API bool iort_ebr_is_safe(struct iort_ebr *d, uint64_t stamp);
/**
 * Retire @p p, unlinked before this call: @p free_fn(p) runs once no reader can hold it.
 * Takes ownership of @p p. @return 0, or -ENOMEM when no limbo node could be allocated (nothing
 * retired).
 */
IORT_API int iort_ebr_retire(struct iort_ebr *d, void *p, iort_ebr_free_fn *free_fn) IORT_WUR;
/** Wait until everything retired before this call has been freed. Not inside a critical section. */
IORT_API void iort_ebr_barrier(struct iort_ebr *d);

#ifdef __cplusplus
}
#endif

#endif /* IORT_EBR_H */
