/**
 * Actors on the pool: bounded mailboxes with a policy at capacity, links, monitors, restarts.
 *
 * An actor is a behaviour function, its state, and a mailbox; it runs on the workers of a pool,
 * one message at a time, never on two threads at once. The mailbox is the runtime's intrusive
 * MPSC queue (one exchange per send) beside one atomic word that holds the actor's generation,
 * its closed flag and its length; a send reserves its place in that word (one CAS), and the send
 * that takes the length from 0 schedules the actor. A sender running in an actor hands the
 * receiver to its own worker, which runs it right after the sender's activation (message-passing
 * locality: ping-pong stays on one core); other senders queue it on the pool. An activation
 * handles at most a batch of messages, then the actor yields its worker.
 *
 *   static int counter(void *state, struct iort_msg *m)
 *   {
 *           *(uint64_t *)state += *(const uint64_t *)iort_msg_data(m);
 *           return IORT_ACTOR_CONTINUE;
 *   }
 *
 *   struct iort_actors *sys;                  // over a running pool p
 *   iort_actors_create(p, NULL, &sys);
 *   struct iort_actor_config cfg = { .behavior = counter, .state = &sum };
 *   struct iort_aid a;
 *   iort_actor_spawn(sys, &cfg, &a);
 *   uint64_t one = 1;
 *   iort_tell(a, 7, &one, sizeof(one));
 *   iort_actors_destroy(sys);                 // stops every actor, after its accepted messages
 *
 * Addresses. An actor is named by a struct iort_aid: its record and the generation the record
 * had when the actor was spawned. Records are recycled (never returned to malloc before the
 * system is destroyed), so an address of an actor that has exited stays safe to use: every call
 * given it fails with -ESRCH. Generations are 32 bits: an address held across 2^32 reuses of one
 * record could name a newer actor.
 *
 * Mailboxes. Unbounded (capacity 0), or bounded with a policy for a send that finds it full:
 *   REJECT        the send fails with -EAGAIN; the caller keeps the message (retry with backoff).
 *   DROP_NEWEST   the sent message is dropped: the send returns IORT_SEND_DROPPED.
 *   DROP_OLDEST   the oldest queued message is dropped to make room; the send returns 0. When
 *                 none is queued (the counted messages are being handled, or are other
 *                 senders' still being pushed), the sent one is dropped instead
 *                 (IORT_SEND_DROPPED).
 *   BACKPRESSURE  a sender running in an actor: the message waits in the sender's outbox (send
 *                 returns IORT_SEND_MUTED) and the sender is muted after its activation: it is
 *                 not scheduled, its worker runs other actors, until the receiver drains to
 *                 low_water; then its outbox is delivered first, in order. Any other sender
 *                 (on_stop and a stopped actor included): iort_send() fails with -EAGAIN; a
 *                 thread outside the pool may wait in iort_send_wait() (deadline, token).
 * Dropped messages are counted on the receiver and passed to the system's dead-letter hook.
 * The depth of a bounded mailbox counts messages accepted and not yet handled (the one being
 * handled included); under every policy it never exceeds the capacity, except by runtime
 * messages (EXIT, DOWN, iort_actor_stop's marker), which are never refused. An unbounded mailbox's depth is accounted
 * once per activation (a metric only: it may include the activation's handled messages).
 *
 * Order. Messages from one sender to one receiver are handled in the order they were sent
 * (an outbox keeps it: while a sender has a message waiting for a receiver, its later ones to
 * that receiver wait behind it). No order holds between different senders.
 *
 * Messages. A header and an inline payload of up to IORT_MSG_MAX bytes, from per-worker free
 * lists when made inside a behaviour (no allocation per message once warm; malloc elsewhere), and
 * an optional owned pointer that moves with the message (ptr_free frees it if the message is
 * discarded). A message from one system's free lists may be freed anywhere, but sent only to
 * actors of that system (-EXDEV). A behaviour owns the message it is
 * given until it returns; the runtime then frees it, unless the behaviour sent it on (iort_send
 * of the current message forwards it without a copy) or kept it (iort_msg_keep).
 *
 * Lifecycle. A behaviour returns IORT_ACTOR_CONTINUE, IORT_ACTOR_STOP (exit, reason 0), or a
 * negative errno (a failure). A failed actor with restarts left is restarted after a backoff
 * delay (iort_backoff, full jitter): on_start runs again on the same state and the mailbox is
 * kept; the failing message is dropped (dead letter). iort_actor_stop() closes the mailbox: the
 * messages accepted before it are handled, then the actor exits with reason 0. An actor that
 * exits by itself or fails for good reports every message left in its mailbox (and its outbox)
 * to the dead-letter hook. On exit, linked actors get an IORT_MSG_EXIT and monitoring actors an
 * IORT_MSG_DOWN (payload: struct iort_exit), then on_stop runs, then the address dies.
 *
 * Backpressure cycles (A muted on B while B is muted on A) stall both until one is stopped: a
 * stop takes a muted actor off its receiver's list, and a stopped actor never mutes again (what
 * its outbox still holds for a full receiver becomes a dead letter, and its later sends to one
 * fail with -EAGAIN).
 *
 * Synchronization: every call is safe from any thread, except iort_actors_destroy() (not from a
 * worker of the pool, and not racing with other calls on the system) and iort_msg_keep() and
 * iort_self() (meaningful only inside a behaviour).
 * Progress: iort_send never blocks (one CAS and one exchange on the receiver; a lock only
 * under DROP_OLDEST at capacity and when muting); iort_send_wait blocks; no call made from a
 * behaviour blocks its worker.
 */
#ifndef IORT_ACTOR_H
#define IORT_ACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iort/compiler.h>
#include <iort/mpsc.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iort_actors;
struct iort_actor;
struct iort_cancel; /* <iort/cancel.h> */
struct iort_pool;   /* <iort/pool.h> */

/** An actor's address; {NULL, 0} names nobody. Compare with iort_aid_eq(). */
struct iort_aid {
	struct iort_actor *a;
	uint32_t gen;
};

/** Largest inline payload, bytes. */
#define IORT_MSG_MAX 4000u

/** Message types from 0xffff0000 up are the runtime's. */
#define IORT_MSG_EXIT 0xffff0001u /* a linked actor exited (payload: struct iort_exit) */
#define IORT_MSG_DOWN 0xffff0002u /* a monitored actor exited (payload: struct iort_exit) */

/** Payload of IORT_MSG_EXIT and IORT_MSG_DOWN. */
struct iort_exit {
	struct iort_aid who;
	int reason; /* 0: stopped normally; negative errno: failed (-ESRCH: was not alive) */
};

struct iort_msg {
	struct iort_mpsc_node iort_private_node;
	struct iort_msg *iort_private_next; /* outbox link */
	struct iort_aid iort_private_to;    /* outbox destination */
	void *iort_private_owner;	    /* the system whose free lists take it back, or NULL */
	uint32_t iort_private_cls;
	uint32_t type; /* the user's tag */
	uint32_t size; /* inline payload bytes */
	/** The sending actor, set by iort_send(); {NULL, 0} from outside an actor. */
	struct iort_aid from;
	/** An owned pointer that moves with the message, or NULL. */
	void *ptr;
	/** Frees @c ptr when the message is freed (after its behaviour, dropped, dead letter,
	 * iort_msg_free): a behaviour that takes @c ptr sets it to NULL. */
	void (*ptr_free)(void *ptr);
} __attribute__((aligned(16))); /* the inline payload follows: iort_msg_data() */

/** The inline payload: @c size bytes, 16-byte aligned. */
static inline void *iort_msg_data(struct iort_msg *m)
{
	return (void *)(m + 1);
}

enum iort_mailbox_policy {
	IORT_MAILBOX_REJECT = 0,
	IORT_MAILBOX_DROP_NEWEST = 1,
	IORT_MAILBOX_DROP_OLDEST = 2,
	IORT_MAILBOX_BACKPRESSURE = 3,
};

/** What a behaviour returns (or a negative errno: the actor failed). */
enum { IORT_ACTOR_CONTINUE = 0, IORT_ACTOR_STOP = 1 };

/** Non-error results of iort_send(). */
enum { IORT_SEND_DROPPED = 1, IORT_SEND_MUTED = 2 };

/** Handle one message; see "Lifecycle" above for the return value. */
typedef int iort_behavior_fn(void *state, struct iort_msg *m);

/** Zero fields take their defaults. */
struct iort_actor_config {
	iort_behavior_fn *behavior; /* required */
	void *state;
	/** Before the first message and after each restart; a negative result is a failure. */
	int (*on_start)(void *state);
	/** Once, after the actor exited (0: stopped; negative: failed); frees the state. */
	void (*on_stop)(void *state, int reason);
	/** Mailbox bound, at most 2^24; 0: unbounded (up to 2^30 - 2 messages, then -EAGAIN). */
	uint32_t capacity;
	enum iort_mailbox_policy policy;
	/** BACKPRESSURE: muted senders resume when the depth is at most this; 0: capacity / 2. */
	uint32_t low_water;
	/** Messages per activation; 0: the system's. */
	uint32_t batch;
	/** Restarts after failures; 0: a failure is final. */
	uint32_t max_restarts;
	/** Restart delays: full-jitter backoff from base to cap (0, 0: restart at once). */
	uint64_t restart_base_ns, restart_cap_ns;
};

/** Zero fields take their defaults. */
struct iort_actors_config {
	/** Messages per activation; 0: 32. */
	uint32_t batch;
	/** Activations a worker hands over in a row before it lets its pool run others; 0: 256. */
	uint32_t chain;
	/** Called for every message discarded undelivered, before it is freed; NULL: none. */
	void (*dead_letter)(void *ctx, struct iort_aid to, const struct iort_msg *m, int reason);
	void *dead_letter_ctx;
};

struct iort_actor_metrics {
	uint64_t depth;	    /* accepted, not yet handled (a snapshot) */
	uint64_t depth_hwm; /* the largest depth a send made */
	uint64_t handled;   /* messages handled */
	uint64_t rejected;  /* sends refused (-EAGAIN) */
	uint64_t dropped;   /* messages dropped by DROP_NEWEST / DROP_OLDEST */
	uint64_t mutes;	    /* times this actor was muted */
	uint64_t muted_ns;  /* time spent muted */
	uint64_t activations;
	uint64_t restarts;
};

struct iort_actors_metrics {
	uint64_t live;	       /* actors spawned and not yet exited */
	uint64_t spawned;      /* since create */
	uint64_t dead_letters; /* messages discarded undelivered, drops included */
};

/** @return 0, -EINVAL (NULL pool or out), -ENOMEM. */
IORT_API int iort_actors_create(struct iort_pool *p, const struct iort_actors_config *cfg,
				struct iort_actors **out) IORT_WUR;
/**
 * Wait until no actor is alive, or @p deadline_ns (IORT_DEADLINE_NONE: for ever). Not from a
 * worker of the pool. @return 0, -ETIMEDOUT, -EDEADLK (from a worker).
 */
IORT_API int iort_actors_join(struct iort_actors *s, uint64_t deadline_ns);
/** Stop every actor, wait until all have exited, free the system. The pool must still run. */
IORT_API void iort_actors_destroy(struct iort_actors *s);
IORT_API void iort_actors_metrics(const struct iort_actors *s, struct iort_actors_metrics *out);

/** @return 0; -EINVAL (no behaviour, capacity too large, low_water >= capacity); -ENOMEM. */
IORT_API int iort_actor_spawn(struct iort_actors *s, const struct iort_actor_config *cfg,
			      struct iort_aid *out) IORT_WUR;
/** The actor whose behaviour is running on this thread, or {NULL, 0}. */
IORT_API struct iort_aid iort_self(void);

/** A message with @p size inline payload bytes (uninitialized). NULL: ENOMEM or too large. */
IORT_API struct iort_msg *iort_msg_new(uint32_t type, size_t size) IORT_WUR;
/** Free a message the caller owns (and its ptr, through ptr_free). */
IORT_API void iort_msg_free(struct iort_msg *m);
/** In a behaviour: the current message is the caller's after the behaviour returns. */
IORT_API void iort_msg_keep(struct iort_msg *m);

/**
 * Send @p m (the caller's) to @p to. @return 0 (queued: the message is the receiver's);
 * IORT_SEND_DROPPED (DROP_NEWEST at capacity: freed); IORT_SEND_MUTED (BACKPRESSURE, from an
 * actor: in its outbox); -EAGAIN (full: REJECT, or BACKPRESSURE from outside an actor); -ESRCH
 * (no such actor, or its mailbox is closed); -EXDEV (a message made in another system's
 * behaviour); -EINVAL. On an error the message stays the caller's. A BACKPRESSURE actor's send
 * to itself at capacity fails with -EAGAIN (it cannot wait for itself).
 */
IORT_API int iort_send(struct iort_aid to, struct iort_msg *m) IORT_WUR;
/**
 * iort_send(), waiting while a BACKPRESSURE mailbox is full (other policies: as iort_send()),
 * until @p deadline_ns or @p c (may be NULL) is cancelled. Not from a worker of the receiver's
 * pool.
 * @return as iort_send(), -ETIMEDOUT, -ECANCELED, -EDEADLK (from a worker).
 */
IORT_API int iort_send_wait(struct iort_aid to, struct iort_msg *m, uint64_t deadline_ns,
			    struct iort_cancel *c) IORT_WUR;
/** A new message of @p size bytes copied from @p data, sent; freed unless queued. @return as iort_send(), -ENOMEM. */
IORT_API int iort_tell(struct iort_aid to, uint32_t type, const void *data, size_t size);

/** Close the mailbox; the actor handles what it accepted, then exits (reason 0). @return 0, -ESRCH. */
IORT_API int iort_actor_stop(struct iort_aid a);
/**
 * Link @p a and @p b: when either exits, the other gets IORT_MSG_EXIT. When one is not alive,
 * the other gets it at once (reason -ESRCH). @return 0, -ESRCH (neither alive), -ENOMEM, -EINVAL.
 */
IORT_API int iort_actor_link(struct iort_aid a, struct iort_aid b);
/**
 * @p watcher gets IORT_MSG_DOWN when @p target exits (at once, reason -ESRCH, when it is not
 * alive). @return 0, -ESRCH (watcher not alive), -ENOMEM, -EINVAL.
 */
IORT_API int iort_actor_monitor(struct iort_aid watcher, struct iort_aid target);
/** @return 0, -ESRCH. */
IORT_API int iort_actor_metrics(struct iort_aid a, struct iort_actor_metrics *out);

static inline bool iort_aid_eq(struct iort_aid x, struct iort_aid y)
{
	return x.a == y.a && x.gen == y.gen;
}

static inline bool iort_aid_is_null(struct iort_aid x)
{
	return x.a == NULL;
}

#ifdef __cplusplus
}
#endif

#endif /* IORT_ACTOR_H */
