/*
 * Internals of the epoch-based reclamation domain shared with tests (not exported: hidden
 * visibility, reachable only when linking the static library).
 */
#ifndef IORT_EBR_PRIVATE_H
#define IORT_EBR_PRIVATE_H

#include <stddef.h>

#include <iort/ebr.h>

/** Thread records ever allocated in @p d (in use or free for reuse): the registry's size. */
size_t iort__ebr_records(struct iort_ebr *d);
/** Nodes retired with iort_ebr_retire() and not yet freed. */
size_t iort__ebr_pending(struct iort_ebr *d);

#endif /* IORT_EBR_PRIVATE_H */
