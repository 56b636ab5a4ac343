/**
 * Scopes (nurseries): a group of child tasks that cannot outlive the code that opened it.
 *
 * A scope runs its children on a pool and hands each the scope's cancellation token. Its join
 * waits for every child, whatever happened, and returns one result for the group. The policy
 * says what a child's result does to the others:
 *
 *   IORT_SCOPE_ALL            wait for all; the result is the first error (0 if none)
 *   IORT_SCOPE_FAIL_FAST      the first error cancels the others; the result is that error
 *   IORT_SCOPE_FIRST_SUCCESS  the first success cancels the others; 0 if any child succeeded,
 *                             else the first error
 *
 * Cancelling (the scope, its parent token, or the deadline passing) requests the token, and
 * children that have not started never run. A running child sees the token: it checks
 * iort_cancel_requested() or passes it to blocking calls, which then return -ECANCELED. Join
 * returns -ETIMEDOUT when the deadline passed before the children were done, -ECANCELED when the
 * scope was cancelled otherwise, unless the policy's result came first (a FIRST_SUCCESS winner,
 * a FAIL_FAST error).
 *
 *   static int fetch(void *arg, struct iort_cancel *token) { ... return 0 or -errno; }
 *
 *   struct iort_scope s;
 *   iort_scope_open(&s, pool, IORT_SCOPE_FAIL_FAST, iort_clock_ns() + 50000000, NULL);
 *   for (int i = 0; i < n; i++)
 *           iort_scope_spawn(&s, fetch, &req[i]);
 *   int err = iort_scope_join(&s);   // all children done; 0, their first error, -ETIMEDOUT...
 *
 * The deadline is enforced by join (it waits until then, cancels, and waits for the rest) and
 * is readable by children (iort_scope_deadline()) to bound their own waits.
 *
 * Synchronization: spawn and cancel are safe from any thread, children included; open and join
 * from the owner only, and join exactly once. The scope (usually on the owner's stack) must stay
 * alive until join returns.
 * Progress: join blocks; from a worker of the scope's pool it runs children and other tasks
 * while it waits.
 */
#ifndef IORT_SCOPE_H
#define IORT_SCOPE_H

#include <stdint.h>

#include <iort/cancel.h>
#include <iort/compiler.h>
#include <iort/pool.h>

#ifdef __cplusplus
extern "C" {
#endif

enum iort_scope_policy {
	IORT_SCOPE_ALL,
	IORT_SCOPE_FAIL_FAST,
	IORT_SCOPE_FIRST_SUCCESS,
};

/** A child: return 0 or a negative errno. @p token is the scope's. */
typedef int iort_scope_fn(void *arg, struct iort_cancel *token);

/** Embed or put on the stack; fields are private. */
struct iort_scope {
	struct iort_cancel iort_private_token;
	struct iort_pool *iort_private_pool;
	struct iort_task *iort_private_children;
	uint64_t iort_private_deadline;
	int iort_private_first_err;
	int iort_private_succeeded;
	int iort_private_why;
	int iort_private_walked;
	int iort_private_policy;
};

/**
 * Open a scope on @p p. @p deadline_ns: absolute (iort_clock_ns()), or IORT_DEADLINE_NONE.
 * @p parent (may be NULL): the scope is cancelled when it is.
 * @return 0, -EINVAL (unknown policy).
 */
IORT_API int iort_scope_open(struct iort_scope *s, struct iort_pool *p,
			     enum iort_scope_policy policy, uint64_t deadline_ns,
			     struct iort_cancel *parent) IORT_WUR;
/**
 * Start @p fn(@p arg, token) as a child.
 * @return 0; -ECANCELED (the scope is cancelled: not started); -ESHUTDOWN, -ENOMEM (not
 * started; the error also becomes the scope's first error).
 */
IORT_API int iort_scope_spawn(struct iort_scope *s, iort_scope_fn *fn, void *arg);
/**
 * Start a future as a child: polled until IORT_READY (success); cancelling the scope stops it
 * being polled. @return as iort_scope_spawn().
 */
IORT_API int iort_scope_spawn_future(struct iort_scope *s, iort_poll_fn *poll, void *arg);
/** Cancel the scope: the token is requested and children not started never run. */
IORT_API void iort_scope_cancel(struct iort_scope *s);
/** The token the children receive. */
IORT_API struct iort_cancel *iort_scope_token(struct iort_scope *s);
/** The scope's deadline (IORT_DEADLINE_NONE when none). */
IORT_API uint64_t iort_scope_deadline(const struct iort_scope *s);
/**
 * Wait for every child and close the scope.
 * @return 0, the policy's error, -ETIMEDOUT or -ECANCELED (see above).
 */
IORT_API int iort_scope_join(struct iort_scope *s);

#ifdef __cplusplus
}
#endif

#endif /* IORT_SCOPE_H */
