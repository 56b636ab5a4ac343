/*
 * Internals of the SPSC ring shared with tests (not exported: hidden visibility, reachable only
 * when linking the static library).
 */
#ifndef IORT_SPSC_PRIVATE_H
#define IORT_SPSC_PRIVATE_H

#include <stddef.h>

#include <iort/spsc.h>

/**
 * iort_spsc_create() with both positions starting at @p start instead of 0, so that a test can
 * run the free-running counters across SIZE_MAX. @return as iort_spsc_create().
 */
int iort__spsc_create_at(size_t capacity, size_t start, struct iort_spsc **out) IORT_WUR;

#endif /* IORT_SPSC_PRIVATE_H */
