/*
 * wait.c internals shared with the blocking channel (chan.c): the event count's layout and a
 * notify split in two, so a caller that already executed a seq_cst fence after its publish (to
 * serve several waitqs, or to decide whether to wake at all) does not pay a second one.
 */
#ifndef IORT_WAIT_PRIVATE_H
#define IORT_WAIT_PRIVATE_H

#include <iort/wait.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* wait.c's view of struct iort_waitq (layout checked there). */
struct iort__waitq {
	_Atomic uint32_t seq;	  /* bumped by a notifier that saw a waiter; the futex word */
	_Atomic uint32_t waiters; /* threads between prepare and the end of their wait */
};

static inline struct iort__waitq *iort__wq(struct iort_waitq *w)
{
	return (struct iort__waitq *)(void *)w;
}

/**
 * Whether a thread announced itself on @p w. Meaningful only after a seq_cst fence that follows
 * the caller's publish (the notifier's side of wait.S2 / wait.S3, see wait.c).
 */
static inline bool iort__waitq_waiting(struct iort_waitq *w)
{
	/* MO relaxed: ordered after the caller's publish by its seq_cst fence. */
	return atomic_load_explicit(&iort__wq(w)->waiters, memory_order_relaxed) != 0;
}

/**
 * iort_waitq_notify_one() (n = 1) or _all() (n = INT_MAX) without its fence: the caller executed
 * a seq_cst fence after its publish and before this call.
 */
void iort__waitq_wake(struct iort_waitq *w, int n);

#endif /* IORT_WAIT_PRIVATE_H */
