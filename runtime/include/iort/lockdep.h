/**
 * Lock-order checking (a lockdep, after Linux's): finds lock-order inversions before they
 * deadlock, and real deadlocks when they happen.
 *
 * Every acquisition of a checked lock (iort_mutex) is recorded against its class: by default the
 * place where the lock was initialized (iort_mutex_init, IORT_MUTEX_INIT), or a name given with
 * iort_mutex_init_class(). Classes are not addresses, so a freed and reused lock never aliases.
 * Taking a lock of class B while holding one of class A records the edge A -> B. A new edge that
 * closes a cycle (A -> B here, B -> ... -> A seen before, in any thread) is reported once, as a
 * potential deadlock, even if the run never deadlocked:
 *
 *   iort lockdep: lock-order-inversion (potential deadlock): a.c:10 -> b.c:20 -> a.c:10
 *     edge a.c:10 -> b.c:20: b.c:20 acquired at <ip> while holding a.c:10, thread 1234
 *     ...
 *
 * Not reported: edges from try-lock (it cannot block); a cycle whose edges were all taken while
 * holding one common other lock (a gate lock serializes them); same-class nesting annotated with
 * a subclass (iort_mutex_lock_nested). Unannotated same-class nesting is reported (it is the
 * "A then A'" bug unless the code orders the instances).
 *
 * Real deadlocks: a waiter blocked longer than the stall threshold follows the chain "lock I wait
 * for -> its holder -> the lock that holder waits for -> ..." and reports a cycle that leads back
 * to itself, with the threads in it ("deadlock", not "potential").
 *
 * Modes: OFF (default; one predictable branch per acquisition), REPORT (report, go on), ABORT
 * (report, abort()). The environment variable IORT_LOCKDEP=off|report|abort sets the mode at
 * start-up. A build with -Dlockdep=disabled compiles the checks out: the mutex shrinks to 8 bytes
 * and iort_lockdep_set_mode() returns -ENOTSUP.
 *
 * Synchronization: every call is safe from any thread. Reports go to the handler (default: one
 * report on stderr), called on the thread that found the problem, never with a libiort lock
 * held; a handler must not take checked locks.
 */
#ifndef IORT_LOCKDEP_H
#define IORT_LOCKDEP_H

#include <stddef.h>
#include <stdint.h>

#include <iort/compiler.h>
#include <iort/config.h>

#ifdef __cplusplus
extern "C" {
#endif

enum iort_lockdep_mode {
	IORT_LOCKDEP_OFF = 0,
	IORT_LOCKDEP_REPORT = 1,
	IORT_LOCKDEP_ABORT = 2,
};

/** What a lock carries for the checker (inside struct iort_mutex); fields are private. */
struct iort_lockdep_map {
	const char *iort_private_name; /* class name; NULL: named after iort_private_key */
	const void *iort_private_key;  /* class identity when set (an init call's return address) */
	uint32_t iort_private_class;   /* 0 until the class is registered at first acquisition */
	uint32_t iort_private_pad;
};

#define IORT_LOCKDEP_MAP_INIT(name) \
	{                           \
		(name), NULL, 0, 0  \
	}

enum iort_lockdep_kind {
	IORT_LOCKDEP_INVERSION = 1, /**< a lock-order cycle: a potential deadlock */
	IORT_LOCKDEP_DEADLOCK = 2,  /**< threads blocked on each other now */
	IORT_LOCKDEP_MISUSE = 3,    /**< unlock of a lock the thread does not hold, and the like */
};

struct iort_lockdep_report {
	enum iort_lockdep_kind kind;
	/** The whole report as printed, lines ending in '\n'. */
	const char *text;
	/** The cycle's class names, in order, the first not repeated at the end. */
	const char *const *classes;
	size_t nclasses;
};

/** Called with each report; @p arg as given to iort_lockdep_set_handler(). */
typedef void iort_lockdep_handler(const struct iort_lockdep_report *r, void *arg);

/** @return 0, -EINVAL (unknown mode), -ENOTSUP (built with -Dlockdep=disabled). */
IORT_API int iort_lockdep_set_mode(enum iort_lockdep_mode mode);
IORT_API enum iort_lockdep_mode iort_lockdep_get_mode(void);
/** NULL restores the default handler (print the report's text on stderr). */
IORT_API void iort_lockdep_set_handler(iort_lockdep_handler *fn, void *arg);
/** A blocked waiter checks for a real deadlock after this long (default 1 s). */
IORT_API void iort_lockdep_set_stall_ns(uint64_t ns);
/**
 * Forget every recorded edge and report (classes stay). For tests; call with no checked lock
 * held or being acquired anywhere.
 */
IORT_API void iort_lockdep_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* IORT_LOCKDEP_H */
