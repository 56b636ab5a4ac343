/*
 * Internals of the epoch-based reclamation domain shared with tests (not exported: hidden
 * visibility, reachable only when linking the static library).
 */
#ifndef IORT_EBR_PRIVATE_H
#define IORT_EBR_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include <iort/ebr.h>

/** Thread records ever allocated in @p d (in use or free for reuse): the registry's size. */
size_t iort__ebr_records(struct iort_ebr *d);
/** Nodes retired with iort_ebr_retire() and not yet freed. */
size_t iort__ebr_pending(struct iort_ebr *d);

/*
 * Hazard pointers on the same records: one per (thread, domain), for structures whose nodes a
 * preempted thread must not pin all of (an epoch held by one stalled reader keeps every node
 * retired after it; a hazard keeps one). Protocol (Michael, "Hazard pointers", TPDS 2004):
 *
 *   reader:    store the node in the slot (release);
 *              fence(seq_cst); re-load the shared pointer it came from; equal: the node is held
 *              until the slot changes; different: retry with the new value
 *   reclaimer: unlink the node (no shared pointer leads to it); fence(seq_cst);
 *              iort__ebr_hazarded(): no slot holds it -> reuse it
 *
 * Either the reader's fence precedes the reclaimer's in the total order of seq_cst fences, and
 * the scan sees the slot, or it follows it, and the re-load sees the unlink and fails.
 */

/** The calling thread's hazard slot in @p d (joining it on first use); NULL: cannot join. */
_Atomic(void *) *iort__ebr_hazard_slot(struct iort_ebr *d);
/** Does any thread's hazard slot in @p d hold @p p? The caller fences (seq_cst) first. */
bool iort__ebr_hazarded(struct iort_ebr *d, const void *p);

#endif /* IORT_EBR_PRIVATE_H */
