/**
 * Cancellation tokens: one kind of token for every blocking call in libiort.
 *
 * A token is cancelled once and stays cancelled. Tokens form a tree: a child made with
 * iort_cancel_init_child() is cancelled when its parent is (at once, if the parent already is),
 * never the other way round. Code that can block registers a callback, which runs exactly once
 * when the token is cancelled; a callback registered on a token already cancelled runs at once,
 * in the registering thread. Unregistering a callback that is running waits until it has returned
 * (except from inside that callback itself), so after iort_cancel_unregister() returns, the
 * callback's argument may be freed.
 *
 * The waiting layer (wait.h) uses these tokens: iort_waitq_wait() and iort_wait_until() register
 * a callback that wakes the waiting thread, so any number of threads may wait with one token.
 * Blocking calls given a cancelled token return -ECANCELED.
 *
 *   struct iort_cancel parent, child;
 *   iort_cancel_init(&parent);
 *   iort_cancel_init_child(&child, &parent);
 *   ... iort_waitq_wait(&w, key, IORT_DEADLINE_NONE, &child) ...   // -ECANCELED once cancelled
 *   iort_cancel_request(&parent);                                  // cancels child too
 *   iort_cancel_fini(&child);
 *   iort_cancel_fini(&parent);
 *
 * Synchronization ("-" safe together, "X" the caller serializes), calls on one token:
 *               init*  fini  request  requested  register  unregister
 *   init*        X      X      X        X          X          X
 *   fini         X      X      X        X          X          X
 *   request      X      X      -        -          -          -
 *   requested    X      X      -        -          -          -
 *   register     X      X      -        -          -          -
 *   unregister   X      X      -        -          -          -
 * The parent's request cancelling a child is not a call the child's owner serializes: fini waits
 * for it. A token must outlive its children and its registered callbacks (fini them first).
 * Callbacks run in the cancelling thread, with no lock of the token held, in no promised order,
 * and may call anything except iort_cancel_fini() on their own token (see docs/cancel.md).
 * Progress: iort_cancel_requested() is one acquire load. request, register and unregister take
 * the token's short internal lock (spin, then futex); request runs the callbacks (and those of
 * the descendants) in the calling thread; unregister blocks while its callback runs elsewhere.
 */
#ifndef IORT_CANCEL_H
#define IORT_CANCEL_H

#include <stdbool.h>
#include <stdint.h>

#include <iort/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void iort_cancel_fn(void *arg);

/** A registered callback: embed it in the waiting object; fields are private. */
struct iort_cancel_cb {
	struct iort_cancel_cb *iort_private_next;
	struct iort_cancel_cb *iort_private_prev;
	iort_cancel_fn *iort_private_fn;
	void *iort_private_arg;
};

/** A cancellation token; init with iort_cancel_init*(); fields are private. */
struct iort_cancel {
	uint32_t iort_private_state;
	uint32_t iort_private_lock;
	struct iort_cancel *iort_private_parent;
	struct iort_cancel_cb iort_private_link; /* this token's callback on its parent */
	struct iort_cancel_cb *iort_private_cbs; /* registered callbacks (children included) */
	struct iort_cancel_cb *iort_private_running;
	uint64_t iort_private_runner; /* thread running iort_private_running, for unregister */
};

/** A fresh, root token. */
IORT_API void iort_cancel_init(struct iort_cancel *c);
/** A fresh token cancelled when @p parent is (at once if @p parent already is). */
IORT_API void iort_cancel_init_child(struct iort_cancel *c, struct iort_cancel *parent);
/** Detach from the parent. No callback may still be registered on @p c. */
IORT_API void iort_cancel_fini(struct iort_cancel *c);

/** Cancel @p c and its descendants; runs their callbacks. Idempotent. */
IORT_API void iort_cancel_request(struct iort_cancel *c);
/** True once @p c (or an ancestor, through the tree) was cancelled. */
IORT_API bool iort_cancel_requested(const struct iort_cancel *c);

/**
 * Register @p fn(@p arg) to run once when @p c is cancelled.
 * @return 0 (registered), or -ECANCELED: @p c was already cancelled, and @p fn has run, in this
 * thread, before the return (@p cb is not registered: do not unregister it).
 */
IORT_API int iort_cancel_register(struct iort_cancel *c, struct iort_cancel_cb *cb,
				  iort_cancel_fn *fn, void *arg);
/**
 * Remove a registered callback.
 * @return true: removed before it ran (it never will); false: it ran, or was running and has now
 * returned (from inside the callback itself: is running, and returns at once).
 */
IORT_API bool iort_cancel_unregister(struct iort_cancel *c, struct iort_cancel_cb *cb);

#ifdef __cplusplus
}
#endif

#endif /* IORT_CANCEL_H */
