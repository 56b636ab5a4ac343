/*
 * Internals of the clock shared with tests (not exported: hidden visibility, reachable only when
 * linking the static library).
 */
#ifndef IORT_CLOCK_PRIVATE_H
#define IORT_CLOCK_PRIVATE_H

/**
 * Re-base the fast clock on @p ghz ticks per ns, given instead of measured, exactly as a
 * re-calibration that measured it would: a deterministic change of scale for tests.
 * @return 0, or -EAGAIN when the fast clock is not on the TSC or @p ghz is implausible.
 */
int iort__clock_rescale(double ghz);

#endif /* IORT_CLOCK_PRIVATE_H */
