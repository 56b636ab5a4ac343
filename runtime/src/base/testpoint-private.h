/*
 * Test points: named places at the critical windows of the runtime's algorithms (claim before
 * publish, register before re-check, unlink before retire).
 *
 * In the library that users link, IORT_TP(name) compiles to nothing. The test variant of the
 * library (libiort_tp, built with -DIORT_TESTPOINTS and linked only by tests) turns every point
 * into a call of the hook a test installed, so the test can stop one thread exactly there, run
 * others, and release it: a race in a window of three instructions becomes a deterministic test.
 *
 * Names are "module.point" string literals; tests/lib/tp.h holds the test side (stop, wait,
 * release). Keep a point's name unchanged once a test uses it.
 */
#ifndef IORT_TESTPOINT_PRIVATE_H
#define IORT_TESTPOINT_PRIVATE_H

#ifdef IORT_TESTPOINTS

/** Called with the point's name by whichever thread reaches it. */
typedef void iort__tp_fn(const char *name);

/** Install @p fn (NULL: none). Not synchronized with threads that are passing points. */
void iort__tp_set_hook(iort__tp_fn *fn);
void iort__tp_hit(const char *name);

#define IORT_TP(name) iort__tp_hit(name)

/** This thread's NUMA node as the runtime sees it (-1: the real one), so tests on a one-node
 * machine can drive node-aware paths. */
extern _Thread_local int iort__tp_node;

#else

#define IORT_TP(name) ((void)0)

#endif

#endif /* IORT_TESTPOINT_PRIVATE_H */
