/*
 * Actors on the pool (actor.h has the contract).
 *
 * The record. Three lines: the senders' (ctl, the mailbox's producer part, what a send reads),
 * the owner's (the consumer cursor, the behaviour, the outbox: touched by the activation only),
 * and a cold one (the lock and what it guards: links and monitors, the senders muted on this
 * actor; metrics written by others). Records come from chunks the system frees only at destroy
 * and are recycled through per-worker free lists, so an address stays safe to dereference after
 * its actor exited: ctl's generation says whether it still names the same actor.
 *
 * ctl (64 bits): generation << 32 | HELD | CLOSED | len. len counts the messages accepted (a
 * send's CAS reserves one before it pushes) and not yet accounted by the owner: the depth. A
 * bounded mailbox's owner subtracts each handled message when it pops the next one, so the
 * depth is what is queued, in flight and being handled; an unbounded one's subtracts once per
 * activation (its depth is a metric only). len and HELD together are the scheduling token:
 *   T1. len == 0 with HELD clear exactly when the actor is idle: not queued, not running, not
 *       muted, not waiting to restart. The send whose CAS takes that state to len 1 schedules
 *       the actor, after its push; every other send finds it busy and only pushes.
 *   T2. The owner gives the token back only by an RMW that leaves len 0 and HELD clear (after
 *       which any send may schedule it). A running owner holds it by len: the message it
 *       handles is counted until it pops the next or ends the activation. An owner that must
 *       stay busy without running (muted, waiting to restart) sets HELD, which counts against
 *       no capacity.
 *   T3. A set CLOSED refuses every reservation, so after it len only falls; the owner retires the
 *       record (generation + 1) only when len is 0 with CLOSED set: no send is then between its
 *       reservation and its push, and none can start one.
 * A popped NULL while len says more (a sender between its CAS and its push, or its push's link
 * in flight) ends the activation; the actor queues itself again behind other work.
 *
 * Scheduling. An activation runs inside a pool task (run_task). A send from inside an
 * activation puts an idle receiver in the worker's hand-over slot (wctx.next: private, so no
 * thief takes it), which run_task runs after the current activation, up to `chain` in a row; an
 * older occupant of the slot, and sends from anywhere else, go through iort_pool_submit.
 *
 * Backpressure (I1-I3). A send from an actor that finds a BACKPRESSURE mailbox full appends to
 * the sender's outbox; so does any later send from it to a receiver that has a message waiting
 * there (order per pair). After the behaviour returns the sender mutes: it stops handling, keeps
 * its token, registers on the receiver's muted list under the receiver's lock, publishes
 * has_muted, then re-reads the receiver's ctl.
 *   I1. The owner, after the subtraction that ends an activation (seq_cst), reads has_muted
 *       (seq_cst); when the new len is at most low_water and someone is muted it unmutes all
 *       (schedules them). A muting sender stores has_muted (seq_cst) and then reads ctl
 *       (seq_cst); if len is at most low_water it unmutes itself. In the single total order of
 *       seq_cst operations either the owner's read follows the store (it sees the sender) or the
 *       sender's read follows the subtraction (it sees the room): nobody stays muted beside an
 *       empty mailbox.
 *   I2. Unmuting removes the actor from the list under the lock: whoever removes it schedules it,
 *       exactly once.
 *   I3. An unmuted actor first delivers its outbox in order; the first message that still finds
 *       its receiver full mutes it again, on that receiver.
 * Threads that are not actors wait in iort_send_wait on the system's waitq, announced by
 * has_muted's WAITERS bit, with the same pair of orders.
 *
 * DROP_OLDEST: a sender at capacity pops the oldest message itself, under the receiver's lock,
 * which the owner also takes around its pops (so the queue keeps one consumer at a time).
 *
 * Exit. stop closes ctl and queues a STOP message in the same reservation (it is never refused);
 * the owner handles everything accepted and exits when len reaches 0. A behaviour's STOP or a
 * final failure closes ctl itself and turns what is left into dead letters. Then, under the
 * record's lock, the actor is marked exited and its watchers and muted senders are taken; EXIT
 * and DOWN go out, muted senders are scheduled (their outbox messages to it become dead
 * letters), on_stop runs, and the record is retired and freed.
 *
 * Test points (tests/runtime/windows/win_actor.c): actor.reserved (a send reserved its place,
 * not yet pushed), actor.before_idle (an activation is about to subtract what it popped),
 * actor.muted (a sender registered on the muted list, about to re-check the receiver),
 * actor.exiting (an actor is about to take its watchers and muted senders).
 */

#include <iort/actor.h>
#include <iort/cancel.h>
#include <iort/clock.h>
#include <iort/pool.h>
#include <iort/reactor.h>
#include <iort/retry.h>
#include <iort/wait.h>

#include "mpsc-private.h"
#include "testpoint-private.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_LEN	      0x3fffffffull
#define CTL_CLOSED    (1ull << 30)
#define CTL_HELD      (1ull << 31) /* the token, kept by an actor muted or waiting to restart */
#define CTL_BUSY      (CTL_LEN | CTL_HELD)
#define CTL_GEN(c)    ((uint32_t)((c) >> 32))
#define CTL_MAKE(gen) ((uint64_t)(gen) << 32)
#define MAX_CAPACITY  (1u << 24)

#define DEFAULT_BATCH 32u
#define DEFAULT_CHAIN 256u
#define HANDOVER      64u /* a worker's hand-over stack */

#define MUTED_ACTORS  1u
#define MUTED_WAITERS 2u

#define CHUNK_RECORDS 64u
#define FREE_BATCH    128u
#define FREE_HIGH     2048u

/* Message size classes (whole blocks, header included); past the last: malloc. */
#define NCLASSES 4u
static const uint32_t class_size[NCLASSES] = { 128, 256, 1024, 4096 + 128 };
#define CLS_MALLOC 0xffu
#define CLS_RECORD NCLASSES /* the free lists' index for actor records */

#define MSG_STOP 0xffff00ffu /* internal: iort_actor_stop's marker */

/* Owner-private flags. */
#define AF_STARTED 0x01u
#define AF_EXITING 0x04u /* closed by itself: draining into dead letters */
#define AF_FINAL   0x08u /* in finish: no outbox any more (on_stop's sends cannot wait) */
#define AF_CLOSED  0x10u /* seen closed: never mutes again (a cycle must end at a stop) */

struct watch {
	struct watch *next;
	struct iort_aid who;
	uint32_t type; /* IORT_MSG_EXIT (link) or IORT_MSG_DOWN (monitor) */
};

struct restart {
	struct iort_backoff backoff;
	struct iort_timer timer;
	uint64_t at;
};

struct iort_actor {
	/* Senders' line. */
	_Atomic uint64_t ctl;
	struct iort__mpsc_prod mq;
	struct iort_actors *sys; /* set with the chunk: a record serves one system */
	/* Rewritten by each spawn; read by senders that may hold a stale address: relaxed
	 * atomics, ordered by ctl (actor.A2) whenever the generation matches. */
	_Atomic uint32_t cap;
	_Atomic uint32_t low_water;
	_Atomic uint8_t policy;
	_Atomic uint8_t has_muted; /* MUTED_* */
	_Atomic uint64_t hwm;	   /* the senders' metric: on their line */

	/* Owner's line. */
	struct iort__mpsc_node *cur IORT_CACHELINE_ALIGNED;
	iort_behavior_fn *fn;
	void *state;
	uint32_t batch;
	uint32_t flags;
	uint32_t unsub; /* popped, not yet subtracted (T2) */
	bool held;	/* we set CTL_HELD (T2) */
	int exit_reason;
	struct iort_msg *out_head, *out_tail; /* the outbox */
	/* The receiver we are muted on (I2): set under its lock before we register, read by
	 * iort_actor_stop to take a muted actor off that list. */
	_Atomic(struct iort_actor *) muted_on;
	uint64_t muted_since;
	struct restart *rs;
	uint32_t restarts;

	/* Cold line. */
	_Atomic uint32_t lock IORT_CACHELINE_ALIGNED;
	_Atomic bool exited;	      /* set under lock at exit; cleared by spawn */
	struct watch *watchers;	      /* under lock */
	struct iort_actor *muted;     /* under lock: actors muted on us */
	struct iort_actor *mute_next; /* under the receiver's lock: our link in its list */
	struct iort_actor *free_next;
	int (*on_start)(void *state);
	void (*on_stop)(void *state, int reason);
	uint32_t max_restarts;
	uint64_t restart_base, restart_cap;
	_Atomic uint64_t rejected, dropped, mutes, muted_ns, handled, activations, nrestarts;
};

/* A worker's context: free lists and the activation it runs. */
struct wctx {
	struct iort_actors *sys;
	void *free[NCLASSES + 1];
	unsigned nfree[NCLASSES + 1];
	struct iort_actor *self; /* running, or NULL */
	struct iort_aid self_aid;
	struct iort_msg *cur_msg; /* the message being handled, until sent on or kept */
	/* Actors this worker's activations made runnable, run next, newest first (private:
	 * no thief takes them; the rest go to the pool when the task ends). */
	unsigned sp;
	struct iort_actor *stack[HANDOVER];
	unsigned exits;		  /* exits in the running task, published at its end */
	_Atomic uint32_t busy;	  /* in run_task: destroy waits for 0 */
	_Atomic uint64_t spawned; /* written by this worker only */
	_Atomic uint64_t exited;  /* written by this worker only (release: join) */
	_Atomic uint64_t dead;	  /* written by this worker only */
} IORT_CACHELINE_ALIGNED;

struct chunk {
	struct chunk *next;
} IORT_CACHELINE_ALIGNED;

struct iort_actors {
	struct iort_pool *pool;
	unsigned nworkers;
	uint32_t batch;
	uint32_t chain;
	void (*dead_letter)(void *ctx, struct iort_aid to, const struct iort_msg *m, int reason);
	void *dead_ctx;
	struct wctx *w;

	_Alignas(IORT_CACHELINE) _Atomic uint32_t spare_lock;
	void *spare[NCLASSES + 1]; /* under spare_lock */
	struct chunk *chunks;	   /* under spare_lock: records' and messages' */
	struct chunk *rec_chunks;  /* under spare_lock: records' only (destroy walks them) */

	_Alignas(IORT_CACHELINE) _Atomic uint64_t ext_spawned, ext_exited, ext_dead;
	struct iort_waitq waitq;   /* iort_send_wait's sleepers */
	struct iort_waitq join_wq; /* iort_actors_join's sleepers */
};

/* Only set while a behaviour runs on this thread (inside run_task). */
static _Thread_local struct wctx *tl_w __attribute__((tls_model("initial-exec")));

static void schedule(struct iort_actor *a);
static void finish(struct wctx *w, struct iort_actor *a);

/* ---- small helpers ---- */

static inline uint64_t relaxed_get(_Atomic uint64_t *c)
{
	/* MO relaxed: metrics, read as a snapshot. */
	return atomic_load_explicit(c, memory_order_relaxed);
}

static inline void relaxed_add(_Atomic uint64_t *c, uint64_t n)
{
	/* MO relaxed: metrics. */
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* One writer: a load and a store, no RMW. */
static inline void own_add(_Atomic uint64_t *c, uint64_t n)
{
	/* MO relaxed: metrics written by one thread, read as a snapshot. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static void spin_lock(_Atomic uint32_t *l)
{
	unsigned n = 0;
	/* MO actor.A1 (acquire): what the previous holder wrote under the lock; pairs with actor.R1. */
	while (atomic_exchange_explicit(l, 1, memory_order_acquire) != 0) {
		/* MO relaxed: a look before the next exchange. */
		while (atomic_load_explicit(l, memory_order_relaxed) != 0) {
			if (++n < 64)
				iort_cpu_relax();
			else
				sched_yield();
		}
	}
}

static void spin_unlock(_Atomic uint32_t *l)
{
	/* MO actor.R1 (release): our writes under the lock to the next holder; pairs with actor.A1. */
	atomic_store_explicit(l, 0, memory_order_release);
}

static inline struct iort_msg *node_msg(struct iort__mpsc_node *n)
{
	return (struct iort_msg *)(void *)n;
}

static inline struct iort__mpsc_node *msg_node(struct iort_msg *m)
{
	return (struct iort__mpsc_node *)(void *)&m->iort_private_node;
}

static inline struct iort_aid aid_of(struct iort_actor *a, uint64_t ctl)
{
	return (struct iort_aid){ a, CTL_GEN(ctl) };
}

static inline uint32_t cap_of(struct iort_actor *a)
{
	/* MO relaxed: see the fields' comment. */
	return atomic_load_explicit(&a->cap, memory_order_relaxed);
}

static inline uint32_t low_of(struct iort_actor *a)
{
	/* MO relaxed: see the fields' comment. */
	return atomic_load_explicit(&a->low_water, memory_order_relaxed);
}

static inline unsigned policy_of(struct iort_actor *a)
{
	/* MO relaxed: see the fields' comment. */
	return atomic_load_explicit(&a->policy, memory_order_relaxed);
}

static inline uint64_t ctl_load(struct iort_actor *a)
{
	/* MO actor.A2 (acquire): a spawn's fields (cap, policy) before its ctl;
	 * pairs with actor.R2 in spawn. */
	return atomic_load_explicit(&a->ctl, memory_order_acquire);
}

/* ---- free lists: message blocks and actor records ---- */

static void *spare_take(struct iort_actors *s, unsigned cls, struct wctx *w)
{
	spin_lock(&s->spare_lock);
	if (s->spare[cls] == NULL) {
		size_t size = cls == CLS_RECORD ? sizeof(struct iort_actor) : class_size[cls];
		unsigned n = cls == CLS_RECORD ? CHUNK_RECORDS : (unsigned)(65536 / size);
		struct chunk *c = aligned_alloc(IORT_CACHELINE, sizeof(struct chunk) + n * size);
		if (c == NULL) {
			spin_unlock(&s->spare_lock);
			return NULL;
		}
		char *base = (char *)(c + 1);
		if (cls == CLS_RECORD) {
			/* A record's generation starts at 1, closed: a {NULL, 0} or stale
			 * address never matches. */
			memset(base, 0, n * size);
			for (unsigned i = 0; i < n; i++) {
				struct iort_actor *a = (struct iort_actor *)(base + i * size);
				atomic_init(&a->ctl, CTL_MAKE(1) | CTL_CLOSED);
				atomic_init(&a->exited, true);
				a->sys = s;
			}
			c->next = s->rec_chunks;
			s->rec_chunks = c;
		} else {
			c->next = s->chunks;
			s->chunks = c;
		}
		for (unsigned i = 0; i < n; i++) {
			void **blk = (void **)(void *)(base + i * size);
			if (cls == CLS_RECORD)
				((struct iort_actor *)blk)->free_next = s->spare[cls];
			else
				*blk = s->spare[cls];
			s->spare[cls] = blk;
		}
	}
	void *b = s->spare[cls];
#define NEXT_OF(b) \
	(cls == CLS_RECORD ? (void *)((struct iort_actor *)(b))->free_next : *(void **)(b))
#define SET_NEXT(b, v)                                               \
	do {                                                         \
		if (cls == CLS_RECORD)                               \
			((struct iort_actor *)(b))->free_next = (v); \
		else                                                 \
			*(void **)(b) = (v);                         \
	} while (0)
	s->spare[cls] = NEXT_OF(b);
	if (w != NULL)
		/* Refill our list with up to a batch: the next allocations take no lock. */
		for (unsigned i = 0; i < FREE_BATCH && s->spare[cls] != NULL; i++) {
			void *u = s->spare[cls];
			s->spare[cls] = NEXT_OF(u);
			SET_NEXT(u, w->free[cls]);
			w->free[cls] = u;
			w->nfree[cls]++;
		}
	spin_unlock(&s->spare_lock);
	return b;
}

static inline void *blk_alloc(struct iort_actors *s, struct wctx *w, unsigned cls)
{
	if (w != NULL && w->free[cls] != NULL) {
		void *b = w->free[cls];
		w->free[cls] = NEXT_OF(b);
		w->nfree[cls]--;
		return b;
	}
	return spare_take(s, cls, w);
}

static void blk_free(struct iort_actors *s, struct wctx *w, unsigned cls, void *b)
{
	if (w == NULL) {
		spin_lock(&s->spare_lock);
		SET_NEXT(b, s->spare[cls]);
		s->spare[cls] = b;
		spin_unlock(&s->spare_lock);
		return;
	}
	SET_NEXT(b, w->free[cls]);
	w->free[cls] = b;
	if (++w->nfree[cls] < FREE_HIGH)
		return;
	/* Give a batch back, so blocks freed here serve allocations on other workers. */
	void *first = w->free[cls], *last = first;
	for (unsigned i = 1; i < FREE_BATCH; i++)
		last = NEXT_OF(last);
	w->free[cls] = NEXT_OF(last);
	w->nfree[cls] -= FREE_BATCH;
	spin_lock(&s->spare_lock);
	SET_NEXT(last, s->spare[cls]);
	s->spare[cls] = first;
	spin_unlock(&s->spare_lock);
}
#undef NEXT_OF
#undef SET_NEXT

/* ---- messages ---- */

/*
 * A message from @p s's free lists (this worker's when @p w, else the shared spare list under
 * its lock), or from malloc when @p s is NULL or the size is past the classes.
 */
static struct iort_msg *msg_alloc(struct iort_actors *s, struct wctx *w, uint32_t type, size_t size)
{
	size_t total = sizeof(struct iort_msg) + size;
	struct iort_msg *m;
	unsigned cls = 0;

	if (size > IORT_MSG_MAX)
		return NULL;
	while (cls < NCLASSES && class_size[cls] < total)
		cls++;
	if (s != NULL && cls < NCLASSES) {
		m = blk_alloc(s, w, cls);
		if (m == NULL)
			return NULL;
	} else {
		m = aligned_alloc(16, (total + 15) & ~(size_t)15);
		if (m == NULL)
			return NULL;
		cls = CLS_MALLOC;
		s = NULL;
	}
	m->iort_private_cls = cls;
	m->iort_private_owner = s;
	m->iort_private_next = NULL;
	m->type = type;
	m->size = (uint32_t)size;
	m->from = (struct iort_aid){ NULL, 0 };
	m->ptr = NULL;
	m->ptr_free = NULL;
	return m;
}

/* A slab message goes back to its system's lists (this worker's when it runs that system's
 * actors), a malloc'd one to malloc. */
static void msg_release(struct iort_msg *m)
{
	if (m->ptr_free != NULL && m->ptr != NULL)
		m->ptr_free(m->ptr);
	struct iort_actors *s = m->iort_private_owner;
	if (s == NULL) {
		free(m);
		return;
	}
	struct wctx *w = tl_w;
	blk_free(s, w != NULL && w->sys == s ? w : NULL, m->iort_private_cls, m);
}

IORT_API struct iort_msg *iort_msg_new(uint32_t type, size_t size)
{
	struct wctx *w = tl_w;
	return msg_alloc(w != NULL ? w->sys : NULL, w, type, size);
}

IORT_API void iort_msg_free(struct iort_msg *m)
{
	if (m == NULL)
		return;
	struct wctx *w = tl_w;
	if (w != NULL && w->cur_msg == m)
		w->cur_msg = NULL;
	msg_release(m);
}

IORT_API void iort_msg_keep(struct iort_msg *m)
{
	struct wctx *w = tl_w;
	if (w != NULL && w->cur_msg == m)
		w->cur_msg = NULL;
}

static void dead_letter(struct iort_actors *s, struct wctx *w, struct iort_aid to,
			struct iort_msg *m, int reason)
{
	/* iort_actor_stop's request is ours, not a message anybody sent: neither counted nor
	 * reported. */
	if (m->type != MSG_STOP) {
		if (w != NULL && w->sys == s)
			own_add(&w->dead, 1);
		else
			relaxed_add(&s->ext_dead, 1);
		if (s->dead_letter != NULL)
			s->dead_letter(s->dead_ctx, to, m, reason);
	}
	if (w != NULL && w->cur_msg == m)
		w->cur_msg = NULL;
	msg_release(m);
}

/* ---- sending ---- */

/*
 * Reserve a place (T1, T3). @p force: a runtime message, never refused for capacity.
 * @return 0 with the previous ctl in @p old; -ESRCH (dead or closed); -ENOBUFS (full).
 */
static inline int reserve(struct iort_actor *a, uint32_t gen, bool force, uint64_t *old)
{
	uint64_t c = ctl_load(a);

	for (;;) {
		if (CTL_GEN(c) != gen || (c & CTL_CLOSED))
			return -ESRCH;
		if (!force && cap_of(a) != 0 && (c & CTL_LEN) >= cap_of(a))
			return -ENOBUFS;
		if (iort_unlikely((c & CTL_LEN) >= CTL_LEN - 1))
			return -ENOBUFS; /* 2^30 queued: an unbounded mailbox's limit */
		/* MO actor.C1 (seq_cst): acquire: taking len from 0, the last activation's writes
		 * (its release subtraction, actor.C2) before the one we schedule; seq_cst: a
		 * muting sender's re-check reads ctl in the total order of I1. Failure: acquire,
		 * as actor.A2; pairs with actor.C2, actor.C3, actor.R2. */
		if (atomic_compare_exchange_weak_explicit(&a->ctl, &c, c + 1, memory_order_seq_cst,
							  memory_order_acquire)) {
			*old = c;
			return 0;
		}
	}
}

static inline void note_depth(struct iort_actor *a, uint64_t depth)
{
	uint64_t h = relaxed_get(&a->hwm);
	while (depth > h &&
	       /* MO relaxed: a metric. */
	       !atomic_compare_exchange_weak_explicit(&a->hwm, &h, depth, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* After a reservation: push and, when we took len from 0, schedule (T1). */
static inline void deliver(struct iort_actor *a, struct iort_msg *m, uint64_t old)
{
	note_depth(a, (old & CTL_LEN) + 1);
	IORT_TP("actor.reserved");
	iort__mpsc_push(&a->mq, msg_node(m));
	if ((old & CTL_BUSY) == 0)
		schedule(a);
}

static bool outbox_has(const struct iort_actor *self, struct iort_aid to)
{
	for (const struct iort_msg *m = self->out_head; m != NULL; m = m->iort_private_next)
		if (iort_aid_eq(m->iort_private_to, to))
			return true;
	return false;
}

static void outbox_append(struct iort_actor *self, struct iort_aid to, struct iort_msg *m)
{
	m->iort_private_to = to;
	m->iort_private_next = NULL;
	if (self->out_tail != NULL)
		self->out_tail->iort_private_next = m;
	else
		self->out_head = m;
	self->out_tail = m;
}

/* DROP_OLDEST at capacity: replace the oldest queued message by @p m, under the lock. */
static int drop_oldest(struct wctx *w, struct iort_actor *a, struct iort_aid to, struct iort_msg *m)
{
	spin_lock(&a->lock);
	uint64_t c = ctl_load(a);
	if (CTL_GEN(c) != to.gen || (c & CTL_CLOSED)) {
		spin_unlock(&a->lock);
		return -ESRCH;
	}
	if ((c & CTL_LEN) < cap_of(a)) {
		spin_unlock(&a->lock);
		return -EAGAIN; /* room again: reserve normally */
	}
	/* The owner pops under this lock too: we are its queue's one consumer for this pop. */
	struct iort__mpsc_node *n = iort__mpsc_pop(&a->mq, &a->cur);
	if (n != NULL) {
		if (w != NULL && w->cur_msg == m)
			w->cur_msg = NULL; /* forwarded: a's now */
		iort__mpsc_push(&a->mq, msg_node(m));
	}
	spin_unlock(&a->lock);
	relaxed_add(&a->dropped, 1);
	if (n == NULL) {
		/* Everything counted is in the owner's hands: nothing queued to drop but ours. */
		dead_letter(a->sys, w, to, m, -ENOBUFS);
		return IORT_SEND_DROPPED;
	}
	dead_letter(a->sys, w, to, node_msg(n), -ENOBUFS);
	return 0;
}

/* A full mailbox: what its policy says. @return as iort_send(), or -EAGAIN from DROP_OLDEST
 * when there is room again (the caller reserves anew: @p retry set). */
__attribute__((noinline, cold)) static int send_full(struct wctx *w, struct iort_aid to,
						     struct iort_msg *m, bool count, bool *retry)
{
	struct iort_actor *a = to.a;
	int r;
	/* MO actor.A6 (acquire): a respawn's policy after its record's retirement (actor.R3):
	 * the generation re-read below then sees the retirement; pairs with actor.R6. */
	unsigned policy = atomic_load_explicit(&a->policy, memory_order_acquire);

	if (CTL_GEN(ctl_load(a)) != to.gen)
		return -ESRCH;
	switch (policy) {
	case IORT_MAILBOX_DROP_NEWEST:
		relaxed_add(&a->dropped, 1);
		dead_letter(a->sys, w, to, m, -ENOBUFS);
		return IORT_SEND_DROPPED;
	case IORT_MAILBOX_DROP_OLDEST:
		r = drop_oldest(w, a, to, m);
		*retry = r == -EAGAIN;
		return r;
	case IORT_MAILBOX_BACKPRESSURE:
		if (w != NULL && w->self != NULL && w->self != a &&
		    !(w->self->flags & (AF_EXITING | AF_FINAL | AF_CLOSED))) {
			if (w->cur_msg == m)
				w->cur_msg = NULL;
			outbox_append(w->self, to, m);
			return IORT_SEND_MUTED;
		}
		/* Outbox flushes and iort_send_wait retry: their -EAGAIN is no refusal. */
		if (count)
			relaxed_add(&a->rejected, 1);
		return -EAGAIN;
	default:
		relaxed_add(&a->rejected, 1);
		return -EAGAIN;
	}
}

/* Send without the outbox check; @p w: the running activation's context, or NULL; @p count:
 * a BACKPRESSURE refusal is counted (not for retries). */
static inline int send_one(struct wctx *w, struct iort_aid to, struct iort_msg *m, bool force,
			   bool count)
{
	uint64_t old;

	for (;;) {
		int r = reserve(to.a, to.gen, force, &old);
		if (iort_likely(r == 0)) {
			if (w != NULL && w->cur_msg == m)
				w->cur_msg = NULL; /* forwarded */
			deliver(to.a, m, old);
			return 0;
		}
		if (r == -ESRCH)
			return r;
		bool retry = false;
		r = send_full(w, to, m, count, &retry);
		if (!retry)
			return r;
	}
}

IORT_API int iort_send(struct iort_aid to, struct iort_msg *m)
{
	if (to.a == NULL || m == NULL)
		return -EINVAL;
	struct wctx *w = tl_w;
	if (iort_unlikely(m->iort_private_owner != NULL && m->iort_private_owner != to.a->sys))
		return -EXDEV;
	if (w != NULL) {
		m->from = w->self_aid;
		/* Order per pair: behind a message of ours still waiting for this receiver. */
		if (iort_unlikely(w->self->out_head != NULL) && outbox_has(w->self, to)) {
			if (w->cur_msg == m)
				w->cur_msg = NULL;
			outbox_append(w->self, to, m);
			return IORT_SEND_MUTED;
		}
	} else {
		m->from = (struct iort_aid){ NULL, 0 };
	}
	return send_one(w, to, m, false, true);
}

IORT_API int iort_tell(struct iort_aid to, uint32_t type, const void *data, size_t size)
{
	if (to.a == NULL)
		return -EINVAL;
	/* Outside a behaviour the receiver's system is known here: its spare list beats malloc. */
	struct wctx *w = tl_w;
	struct iort_msg *m =
		msg_alloc(to.a->sys, w != NULL && w->sys == to.a->sys ? w : NULL, type, size);
	if (m == NULL)
		return -ENOMEM;
	if (size != 0)
		memcpy(iort_msg_data(m), data, size);
	int r = iort_send(to, m);
	if (r < 0)
		iort_msg_free(m);
	return r;
}

/* A runtime message (EXIT, DOWN): never refused for capacity; dropped when @p to is gone. */
static void send_system(struct wctx *w, struct iort_aid to, uint32_t type, struct iort_aid who,
			int reason)
{
	struct iort_msg *m = msg_alloc(to.a->sys, w != NULL && w->sys == to.a->sys ? w : NULL, type,
				       sizeof(struct iort_exit));
	if (m == NULL)
		return; /* out of memory: the notice is lost, as a crash would lose it */
	struct iort_exit *e = iort_msg_data(m);
	e->who = who;
	e->reason = reason;
	m->from = who;
	if (send_one(w, to, m, true, false) != 0)
		msg_release(m);
}

IORT_API int iort_send_wait(struct iort_aid to, struct iort_msg *m, uint64_t deadline_ns,
			    struct iort_cancel *c)
{
	if (to.a == NULL || m == NULL)
		return -EINVAL;
	struct iort_actor *a = to.a;
	struct iort_actors *s = a->sys;
	if (iort_pool_current() == s->pool)
		return -EDEADLK;
	if (m->iort_private_owner != NULL && m->iort_private_owner != s)
		return -EXDEV;
	m->from = (struct iort_aid){ NULL, 0 };
	for (;;) {
		int r = send_one(NULL, to, m, false, false);
		if (r != -EAGAIN || policy_of(a) != IORT_MAILBOX_BACKPRESSURE)
			return r;
		if (c != NULL && iort_cancel_requested(c))
			return -ECANCELED;
		uint32_t key = iort_waitq_prepare(&s->waitq);
		/* MO actor.M2 (seq_cst): announce, then re-check ctl (I1, for threads);
		 * pairs with actor.C2, actor.M3. */
		atomic_fetch_or_explicit(&a->has_muted, MUTED_WAITERS, memory_order_seq_cst);
		/* MO actor.C7 (seq_cst): the re-check of I1 after the announcement;
		 * pairs with actor.C2. */
		uint64_t v = atomic_load_explicit(&a->ctl, memory_order_seq_cst);
		if (CTL_GEN(v) != to.gen || (v & CTL_CLOSED) || (v & CTL_LEN) < cap_of(a)) {
			iort_waitq_cancel(&s->waitq);
			continue;
		}
		r = iort_waitq_wait(&s->waitq, key, deadline_ns, c);
		if (r != 0)
			return r;
	}
}

/* ---- scheduling ---- */

static void run_task(void *arg);

static void submit(struct iort_actor *a)
{
	/* A spawn, not a submit: a pool with max_pending bounds submits, and an actor that could
	 * not be queued would keep its messages for ever. */
	const struct iort_spawn opt = { .fn = run_task, .arg = a };
	if (iort_pool_spawn_ex(a->sys->pool, &opt, NULL) != 0) {
		/* The pool must run while actors live (actor.h). */
		fprintf(stderr, "iort actors: cannot queue an actor (pool shut down or out of "
				"memory)\n");
		abort();
	}
}

/* The actor holds its token (T1): run it soon, once. */
static void schedule(struct iort_actor *a)
{
	struct wctx *w = tl_w;

	if (w != NULL && w->sys == a->sys && w->sp < HANDOVER) {
		w->stack[w->sp++] = a;
		return;
	}
	submit(a);
}

/* ---- backpressure ---- */

/* Receiver side of I1: after a subtraction that left @p len. */
static inline void check_muted(struct iort_actor *r, uint64_t len)
{
	/* Only a BACKPRESSURE mailbox has muted senders and waiting threads. */
	if (policy_of(r) != IORT_MAILBOX_BACKPRESSURE || len > low_of(r))
		return;
	/* MO actor.M3 (seq_cst): after the owner's seq_cst subtraction (actor.C2), in the total
	 * order of I1; pairs with actor.M1, actor.M2. */
	uint8_t hm = atomic_load_explicit(&r->has_muted, memory_order_seq_cst);
	if (hm == 0)
		return;
	struct iort_actor *list = NULL;
	if (hm & MUTED_ACTORS) {
		spin_lock(&r->lock);
		list = r->muted;
		r->muted = NULL;
		/* MO relaxed: under the lock, which registrations also take. */
		atomic_fetch_and_explicit(&r->has_muted, (uint8_t)~MUTED_ACTORS,
					  memory_order_relaxed);
		spin_unlock(&r->lock);
	}
	if (hm & MUTED_WAITERS) {
		/* MO relaxed: a waiter sets it again before each re-check (actor.M2). */
		atomic_fetch_and_explicit(&r->has_muted, (uint8_t)~MUTED_WAITERS,
					  memory_order_relaxed);
		iort_waitq_notify_all(&r->sys->waitq);
	}
	uint64_t now = list != NULL ? iort_clock_ns() : 0;
	while (list != NULL) {
		struct iort_actor *a = list;
		list = a->mute_next;
		/* MO relaxed: a stop that reads the old value finds a off the list (I2). */
		atomic_store_explicit(&a->muted_on, NULL, memory_order_relaxed);
		relaxed_add(&a->muted_ns, now - a->muted_since);
		schedule(a); /* I2: we removed it */
	}
}

/* Take @p a off @p r's muted list and schedule it, unless someone else already did (I2). */
static void unmute_one(struct iort_actor *r, struct iort_actor *a)
{
	bool mine = false;

	spin_lock(&r->lock);
	for (struct iort_actor **p = &r->muted; *p != NULL; p = &(*p)->mute_next)
		if (*p == a) {
			*p = a->mute_next;
			mine = true;
			break;
		}
	spin_unlock(&r->lock);
	if (mine) {
		/* MO relaxed: we own a now (I2). */
		atomic_store_explicit(&a->muted_on, NULL, memory_order_relaxed);
		relaxed_add(&a->muted_ns, iort_clock_ns() - a->muted_since);
		schedule(a);
	}
}

/* Sender side of I1: mute @p a on the receiver of its first outbox message. */
static void mute(struct iort_actor *a)
{
	struct iort_aid to = a->out_head->iort_private_to;
	struct iort_actor *r = to.a;

	spin_lock(&r->lock);
	uint64_t c = ctl_load(r);
	/* MO relaxed: under the lock that exit sets it under. */
	if (atomic_load_explicit(&r->exited, memory_order_relaxed) || CTL_GEN(c) != to.gen) {
		spin_unlock(&r->lock);
		schedule(a); /* its flush will dead-letter what it holds for r */
		return;
	}
	own_add(&a->mutes, 1);
	/* MO actor.M4 (seq_cst): before our registration is visible; with actor.C9, a stop
	 * either sees where we are muted or we see it closed us; pairs with actor.C6. */
	atomic_store_explicit(&a->muted_on, r, memory_order_seq_cst);
	a->muted_since = iort_clock_ns();
	a->mute_next = r->muted;
	r->muted = a;
	/* MO actor.M1 (seq_cst): publish, then re-read ctl (I1); pairs with actor.M3. */
	atomic_fetch_or_explicit(&r->has_muted, MUTED_ACTORS, memory_order_seq_cst);
	spin_unlock(&r->lock);
	/* From here a may already run elsewhere (the owner unmuted it): touch only r. */
	IORT_TP("actor.muted");
	/* MO actor.C3 (seq_cst): the re-check of I1, after actor.M1; pairs with actor.C2. */
	c = atomic_load_explicit(&r->ctl, memory_order_seq_cst);
	bool room = CTL_GEN(c) != to.gen || (c & CTL_CLOSED) || (c & CTL_LEN) <= low_of(r);
	/* MO actor.C9 (seq_cst): were we stopped meanwhile (a closed actor never stays muted);
	 * pairs with actor.C6. */
	bool stopped = (atomic_load_explicit(&a->ctl, memory_order_seq_cst) & CTL_CLOSED) != 0;
	if (room || stopped)
		unmute_one(r, a);
}

/*
 * Deliver the outbox in order (I3). @return true when it is empty; false when a receiver is
 * still full (the caller mutes on it).
 */
static bool flush_outbox(struct wctx *w, struct iort_actor *a)
{
	while (a->out_head != NULL) {
		struct iort_msg *m = a->out_head;
		struct iort_aid to = m->iort_private_to;
		struct iort_msg *next = m->iort_private_next;
		int r = send_one(NULL, to, m, false, false);
		if (r == -EAGAIN)
			return false;
		a->out_head = next;
		if (next == NULL)
			a->out_tail = NULL;
		if (r == -ESRCH)
			dead_letter(a->sys, w, to, m, -ESRCH);
	}
	return true;
}

/* ---- activations ---- */

static void restart_fire(struct iort_timer *t, void *arg)
{
	(void)t;
	struct iort_actor *a = arg;
	submit(a);
}

/* A failure with restarts left: wait the backoff, then on_start again (the mailbox is kept). */
static bool restart_later(struct iort_actor *a)
{
	if (a->restarts >= a->max_restarts)
		return false;
	if (a->rs == NULL) {
		a->rs = calloc(1, sizeof(*a->rs));
		if (a->rs == NULL ||
		    iort_backoff_init(&a->rs->backoff, IORT_JITTER_FULL, a->restart_base,
				      a->restart_cap, IORT_DEADLINE_NONE) != 0) {
			free(a->rs);
			a->rs = NULL;
			return false;
		}
		iort_timer_init(&a->rs->timer, restart_fire, a);
	}
	a->restarts++;
	own_add(&a->nrestarts, 1);
	a->flags &= ~AF_STARTED; /* on_start runs again at the next activation */
	uint64_t now = iort_clock_ns(), delay = 0;
	if (iort_backoff_next(&a->rs->backoff, now, &delay) != 0)
		delay = 0;
	a->rs->at = now + delay;
	return true;
}

/* After a restart decision: keep the token and come back at rs->at. */
static void restart_wait(struct iort_actor *a)
{
	struct iort_loop *l = iort_loop_current();
	if (a->rs->at > iort_clock_ns() && l != NULL &&
	    iort_loop_timer_arm(l, &a->rs->timer, a->rs->at) == 0)
		return;
	/* No loop on this worker: come back through the pool until the time has come. */
	submit(a);
}

/*
 * Keep the token without running (T2: muted, waiting to restart): subtract what was popped and
 * set HELD, in one RMW.
 */
static void hold(struct iort_actor *a, uint32_t k)
{
	uint64_t delta = a->unsub + k;
	uint64_t add = a->held ? 0 : CTL_HELD;

	a->unsub = 0;
	a->held = true;
	/* MO actor.C4 (seq_cst): as actor.C2 (I1: the receiver side of our own muted senders);
	 * pairs with actor.M3. No borrow: len >= delta; no carry: HELD was clear when added. */
	uint64_t old = atomic_fetch_add_explicit(&a->ctl, add - delta, memory_order_seq_cst);
	check_muted(a, (old & CTL_LEN) - delta);
}

/* Close the mailbox from inside (STOP returned, a final failure): no send is accepted after. */
static void close_self(struct iort_actor *a)
{
	/* MO relaxed: only new reservations must see it (they fail); the owner alone reads it
	 * afterwards, and the subtractions that follow order the rest (T3). */
	atomic_fetch_or_explicit(&a->ctl, CTL_CLOSED, memory_order_relaxed);
}

/* The behaviour ended the actor (STOP: reason 0) or failed for good (reason < 0). */
static void exit_self(struct wctx *w, struct iort_actor *a, uint32_t k, int reason)
{
	close_self(a);
	a->exit_reason = reason;
	a->flags |= AF_EXITING;
	a->unsub += k;
	finish(w, a);
}

static void fail(struct wctx *w, struct iort_actor *a, uint32_t k, int reason)
{
	if (restart_later(a)) {
		hold(a, k);
		restart_wait(a);
		return;
	}
	exit_self(w, a, k, reason);
}

static inline struct iort__mpsc_node *owner_pop(struct iort_actor *a, bool locked)
{
	if (!locked)
		return iort__mpsc_pop(&a->mq, &a->cur);
	spin_lock(&a->lock);
	struct iort__mpsc_node *n = iort__mpsc_pop(&a->mq, &a->cur);
	spin_unlock(&a->lock);
	return n;
}

static void activate(struct wctx *w, struct iort_actor *a)
{
	struct iort_actors *s = a->sys;

	/* MO relaxed: the generation cannot change while we hold the token; a close made before
	 * we were scheduled happens before this activation. */
	uint64_t c0 = atomic_load_explicit(&a->ctl, memory_order_relaxed);
	w->self_aid = aid_of(a, c0);
	if (iort_unlikely(c0 & CTL_CLOSED))
		a->flags |= AF_CLOSED;
	w->self = a;
	own_add(&a->activations, 1);
	if (iort_unlikely(a->flags & AF_EXITING)) {
		finish(w, a);
		return;
	}
	if (iort_unlikely(a->rs != NULL && a->rs->at != 0)) {
		if (iort_clock_ns() < a->rs->at) {
			restart_wait(a);
			return;
		}
		a->rs->at = 0;
	}
	if (iort_unlikely(!(a->flags & AF_STARTED))) {
		a->flags |= AF_STARTED;
		int r = a->on_start != NULL ? a->on_start(a->state) : 0;
		if (r < 0) {
			fail(w, a, 0, r);
			return;
		}
	}
	if (iort_unlikely(a->out_head != NULL) && !flush_outbox(w, a)) {
		if (!(a->flags & AF_CLOSED)) {
			hold(a, 0);
			mute(a);
			return;
		}
		/* Stopped while muted: what still finds its receiver full is a dead letter (a
		 * backpressure cycle ends here). */
		while (a->out_head != NULL) {
			struct iort_msg *m = a->out_head;
			a->out_head = m->iort_private_next;
			dead_letter(s, w, m->iort_private_to, m, -ECANCELED);
		}
		a->out_tail = NULL;
	}

	bool bounded = cap_of(a) != 0;
	bool locked = bounded && policy_of(a) == IORT_MAILBOX_DROP_OLDEST;
	uint32_t k = 0, handled = 0, popped = 0;
	while (popped < a->batch) {
		struct iort__mpsc_node *n = owner_pop(a, locked);
		if (n == NULL)
			break;
		popped++;
		if (bounded && k != 0) {
			/* The message just handled leaves the depth now that the next one is ours
			 * (counted too: len stays >= 1, T2). */
			/* MO actor.C8 (seq_cst): as actor.C2; pairs with actor.C1, actor.M3. */
			uint64_t o = atomic_fetch_sub_explicit(&a->ctl, k, memory_order_seq_cst);
			check_muted(a, (o & CTL_LEN) - k);
			k = 0;
		}
		k++;
		struct iort_msg *m = node_msg(n);
		if (iort_unlikely(m->type == MSG_STOP)) {
			/* The stop's marker: what was accepted before the close is still handled;
			 * the exit comes when len reaches 0 with CLOSED set (T3). */
			msg_release(m);
			continue;
		}
		w->cur_msg = m;
		int r = a->fn(a->state, m);
		handled++;
		struct iort_msg *cm = w->cur_msg;
		if (cm != NULL) {
			w->cur_msg = NULL;
			if (r < 0)
				dead_letter(s, w, w->self_aid, cm, r);
			else
				msg_release(cm);
		}
		if (iort_unlikely(r != IORT_ACTOR_CONTINUE)) {
			own_add(&a->handled, handled);
			if (r == IORT_ACTOR_STOP)
				exit_self(w, a, k, 0);
			else
				fail(w, a, k, r < 0 ? r : -EINVAL);
			return;
		}
		if (iort_unlikely(a->out_head != NULL))
			break; /* muted: stop producing */
	}
	own_add(&a->handled, handled);
	if (iort_unlikely(a->out_head != NULL)) {
		hold(a, k);
		mute(a);
		return;
	}

	k += a->unsub;
	uint64_t sub = k + (a->held ? CTL_HELD : 0);
	a->unsub = 0;
	a->held = false;
	IORT_TP("actor.before_idle");
	/* MO actor.C2 (seq_cst): release: this activation's writes to whoever schedules the next
	 * (its actor.C1 reads the 0 we may leave); seq_cst: I1's total order with actor.M1,
	 * actor.M2; pairs with actor.C1, actor.C3, actor.M3. */
	uint64_t old = atomic_fetch_sub_explicit(&a->ctl, sub, memory_order_seq_cst);
	uint64_t len = (old & CTL_LEN) - k;
	check_muted(a, len);
	if (len != 0) {
		submit(a); /* more, or a push in flight: behind the others (batch fairness) */
		return;
	}
	if (iort_unlikely(old & CTL_CLOSED)) {
		/* Stopped: everything accepted is handled, and nobody can schedule us (T3). */
		a->exit_reason = 0;
		finish(w, a);
	}
}

/*
 * The exit: drain what is left into dead letters (AF_EXITING), then, with len 0 and CLOSED,
 * notify, run on_stop and retire the record.
 */
static void finish(struct wctx *w, struct iort_actor *a)
{
	struct iort_actors *s = a->sys;
	struct iort_aid self = w->self_aid;

	if (a->flags & AF_EXITING) {
		int why = a->exit_reason < 0 ? a->exit_reason : -ECANCELED;
		while (a->out_head != NULL) {
			struct iort_msg *m = a->out_head;
			a->out_head = m->iort_private_next;
			dead_letter(s, w, m->iort_private_to, m, why);
		}
		a->out_tail = NULL;
		bool locked = policy_of(a) == IORT_MAILBOX_DROP_OLDEST && cap_of(a) != 0;
		struct iort__mpsc_node *n;
		uint32_t k = 0;
		while ((n = owner_pop(a, locked)) != NULL) {
			k++;
			dead_letter(s, w, self, node_msg(n), -ESRCH);
		}
		k += a->unsub;
		uint64_t sub = k + (a->held ? CTL_HELD : 0);
		a->unsub = 0;
		a->held = false;
		/* MO actor.C5 (seq_cst): as actor.C2; pairs with actor.C1, actor.M3. */
		uint64_t old = atomic_fetch_sub_explicit(&a->ctl, sub, memory_order_seq_cst);
		if ((old & CTL_LEN) - k != 0) {
			submit(a); /* a send between its reservation and its push: come back */
			return;
		}
	}

	a->flags |= AF_FINAL;
	IORT_TP("actor.exiting");
	spin_lock(&a->lock);
	/* MO relaxed: under the lock; linkers and muting senders read it under the lock. */
	atomic_store_explicit(&a->exited, true, memory_order_relaxed);
	struct watch *watchers = a->watchers;
	struct iort_actor *muted = a->muted;
	a->watchers = NULL;
	a->muted = NULL;
	/* MO actor.M5 (seq_cst): a waiter announces (actor.M2) then re-reads ctl (actor.C7): our
	 * closed ctl came before this exchange, so in the total order either we see its bit or it
	 * sees CLOSED; pairs with actor.M2. */
	uint8_t hm = atomic_exchange_explicit(&a->has_muted, 0, memory_order_seq_cst);
	spin_unlock(&a->lock);

	uint64_t now = muted != NULL ? iort_clock_ns() : 0;
	while (muted != NULL) {
		struct iort_actor *m = muted;
		muted = m->mute_next;
		/* MO relaxed: as in check_muted. */
		atomic_store_explicit(&m->muted_on, NULL, memory_order_relaxed);
		relaxed_add(&m->muted_ns, now - m->muted_since);
		schedule(m); /* its flush turns what it holds for us into dead letters */
	}
	if (hm & MUTED_WAITERS)
		iort_waitq_notify_all(&s->waitq);
	while (watchers != NULL) {
		struct watch *x = watchers;
		watchers = x->next;
		send_system(w, x->who, x->type, self, a->exit_reason);
		free(x);
	}
	if (a->on_stop != NULL)
		a->on_stop(a->state, a->exit_reason);
	free(a->rs);
	a->rs = NULL;
	/* MO actor.R3 (release): retire: every use of the record by this actor before the next
	 * spawn in it, and stale addresses fail from here; pairs with actor.A2. */
	atomic_store_explicit(&a->ctl, CTL_MAKE(self.gen + 1) | CTL_CLOSED, memory_order_release);
	w->self = NULL;
	w->exits++;
	blk_free(s, w, CLS_RECORD, a);
}

/* A pool task: run @p arg's activation, then the actors handed over to this worker. */
static void run_task(void *arg)
{
	struct iort_actor *a = arg;
	struct iort_actors *s = a->sys;
	struct wctx *w = &s->w[iort_pool_worker_index()];
	/* A behaviour that joins a task may run tasks inline, this one among them. */
	struct wctx *saved_tl = tl_w;
	struct iort_actor *saved_self = w->self;
	struct iort_aid saved_aid = w->self_aid;
	struct iort_msg *saved_msg = w->cur_msg;
	unsigned saved_exits = w->exits;

	tl_w = w;
	w->exits = 0;
	/* MO relaxed: destroy reads it after join, which the activations we run happen before. */
	atomic_store_explicit(&w->busy, atomic_load_explicit(&w->busy, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	unsigned base = w->sp;
	for (unsigned n = 1;; n++) {
		activate(w, a);
		if (w->sp == base)
			break;
		a = w->stack[--w->sp];
		if (n >= s->chain) {
			submit(a); /* let the pool run others */
			break;
		}
	}
	for (unsigned i = base; i < w->sp; i++)
		submit(w->stack[i]);
	w->sp = base;
	unsigned exits = w->exits;
	w->self = saved_self;
	w->self_aid = saved_aid;
	w->cur_msg = saved_msg;
	w->exits = saved_exits;
	tl_w = saved_tl;
	if (exits != 0) {
		/* Last: once join sees it, nothing of ours touches the system. */
		/* MO actor.R4 (release): the exits, after everything they did; pairs with actor.A4. */
		atomic_store_explicit(
			&w->exited, atomic_load_explicit(&w->exited, memory_order_relaxed) + exits,
			memory_order_release);
		/* A fence and a load when nobody joins (the waitq's notifier side). */
		iort_waitq_notify_all(&s->join_wq);
	}
	/* MO actor.R5 (release): the last touch of the system by this task; pairs with actor.A5. */
	atomic_store_explicit(&w->busy, atomic_load_explicit(&w->busy, memory_order_relaxed) - 1,
			      memory_order_release);
}

/* ---- lifecycle ---- */

IORT_API int iort_actor_spawn(struct iort_actors *s, const struct iort_actor_config *cfg,
			      struct iort_aid *out)
{
	if (s == NULL || cfg == NULL || out == NULL || cfg->behavior == NULL ||
	    cfg->capacity > MAX_CAPACITY || (unsigned)cfg->policy > IORT_MAILBOX_BACKPRESSURE ||
	    (cfg->capacity != 0 && cfg->low_water >= cfg->capacity) ||
	    cfg->restart_cap_ns < cfg->restart_base_ns)
		return -EINVAL;
	struct wctx *w = tl_w != NULL && tl_w->sys == s ? tl_w : NULL;
	struct iort_actor *a = blk_alloc(s, w, CLS_RECORD);
	if (a == NULL)
		return -ENOMEM;
	/* MO relaxed: ours (from a free list); the generation it was retired with. */
	uint32_t gen = CTL_GEN(atomic_load_explicit(&a->ctl, memory_order_relaxed));

	/* MO relaxed: published by actor.R2 below (and the next four). */
	atomic_store_explicit(&a->cap, cfg->capacity, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&a->low_water,
			      cfg->low_water != 0 ? cfg->low_water : cfg->capacity / 2,
			      memory_order_relaxed);
	/* MO actor.R6 (release): the retirement before the new policy, for a sender that read
	 * the old generation; pairs with actor.A6. */
	atomic_store_explicit(&a->policy, (uint8_t)cfg->policy, memory_order_release);
	/* MO relaxed: as above. */
	atomic_store_explicit(&a->has_muted, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&a->exited, false, memory_order_relaxed);
	iort__mpsc_init(&a->mq, &a->cur);
	a->fn = cfg->behavior;
	a->state = cfg->state;
	a->batch = cfg->batch != 0 ? cfg->batch : s->batch;
	a->flags = 0;
	a->unsub = 0;
	a->held = false;
	a->exit_reason = 0;
	a->out_head = a->out_tail = NULL;
	/* MO relaxed: published by actor.R2 below. */
	atomic_store_explicit(&a->muted_on, NULL, memory_order_relaxed);
	a->muted_since = 0;
	a->rs = NULL;
	a->restarts = 0;
	a->on_start = cfg->on_start;
	a->on_stop = cfg->on_stop;
	a->max_restarts = cfg->max_restarts;
	a->restart_base = cfg->restart_base_ns;
	a->restart_cap = cfg->restart_cap_ns;
	/* MO relaxed (the metrics): published by actor.R2 below. */
	atomic_store_explicit(&a->hwm, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&a->rejected, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&a->dropped, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&a->mutes, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&a->muted_ns, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&a->handled, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&a->activations, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&a->nrestarts, 0, memory_order_relaxed);
	if (w != NULL)
		own_add(&w->spawned, 1);
	else
		relaxed_add(&s->ext_spawned, 1);
	/* MO actor.R2 (release): the fields above before any send that reads this generation;
	 * pairs with actor.A2. */
	atomic_store_explicit(&a->ctl, CTL_MAKE(gen), memory_order_release);
	*out = (struct iort_aid){ a, gen };
	return 0;
}

IORT_API struct iort_aid iort_self(void)
{
	struct wctx *w = tl_w;
	return w != NULL && w->self != NULL ? w->self_aid : (struct iort_aid){ NULL, 0 };
}

IORT_API int iort_actor_stop(struct iort_aid to)
{
	struct iort_actor *a = to.a;
	if (a == NULL)
		return -ESRCH;
	struct wctx *w = tl_w != NULL && tl_w->sys == a->sys ? tl_w : NULL;
	struct iort_msg *m = msg_alloc(a->sys, w, MSG_STOP, 0);
	if (m == NULL)
		return -ENOMEM;
	uint64_t c = ctl_load(a);
	for (;;) {
		if (CTL_GEN(c) != to.gen || (c & CTL_CLOSED)) {
			msg_release(m);
			return -ESRCH;
		}
		/* MO actor.C6 (seq_cst): a reservation that also closes, as actor.C1 (failure:
		 * acquire, as actor.A2); seq_cst: with actor.C10, the muted actor's side (actor.M4,
		 * actor.C9); pairs with actor.C2, actor.R2, actor.C9. */
		if (atomic_compare_exchange_weak_explicit(&a->ctl, &c, (c | CTL_CLOSED) + 1,
							  memory_order_seq_cst,
							  memory_order_acquire))
			break;
	}
	iort__mpsc_push(&a->mq, msg_node(m));
	if ((c & CTL_BUSY) == 0)
		schedule(a);
	/* A muted actor would wait for its receiver, which in a backpressure cycle never drains:
	 * take it off that list; it then stops muting (AF_CLOSED). */
	/* MO actor.C10 (seq_cst): after our closing CAS (actor.C6), in the total order with the
	 * muting actor's actor.M4 and actor.C9; pairs with actor.M4. */
	struct iort_actor *r = atomic_load_explicit(&a->muted_on, memory_order_seq_cst);
	if (r != NULL)
		unmute_one(r, a);
	return 0;
}

/* Under @p a's lock: does @p gen name a live actor there? */
static bool alive_locked(struct iort_actor *a, uint32_t gen)
{
	/* MO relaxed: exited is written under the lock we hold. */
	return CTL_GEN(ctl_load(a)) == gen &&
	       !atomic_load_explicit(&a->exited, memory_order_relaxed);
}

static int add_watch(struct iort_aid target, struct iort_aid who, uint32_t type)
{
	struct watch *x = malloc(sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->who = who;
	x->type = type;
	spin_lock(&target.a->lock);
	if (!alive_locked(target.a, target.gen)) {
		spin_unlock(&target.a->lock);
		free(x);
		return -ESRCH;
	}
	x->next = target.a->watchers;
	target.a->watchers = x;
	spin_unlock(&target.a->lock);
	return 0;
}

IORT_API int iort_actor_link(struct iort_aid a, struct iort_aid b)
{
	if (a.a == NULL || b.a == NULL || iort_aid_eq(a, b))
		return -EINVAL;
	struct wctx *w = tl_w;
	int ra = add_watch(a, b, IORT_MSG_EXIT);
	if (ra == -ENOMEM)
		return ra;
	int rb = add_watch(b, a, IORT_MSG_EXIT);
	if (rb == -ENOMEM)
		return rb; /* a's entry stays: a's exit then tells b, which is what a link does */
	if (ra == -ESRCH && rb == -ESRCH)
		return -ESRCH;
	if (ra == -ESRCH)
		send_system(w, b, IORT_MSG_EXIT, a, -ESRCH);
	if (rb == -ESRCH)
		send_system(w, a, IORT_MSG_EXIT, b, -ESRCH);
	return 0;
}

IORT_API int iort_actor_monitor(struct iort_aid watcher, struct iort_aid target)
{
	if (watcher.a == NULL || target.a == NULL)
		return -EINVAL;
	uint64_t c = ctl_load(watcher.a);
	if (CTL_GEN(c) != watcher.gen || (c & CTL_CLOSED))
		return -ESRCH;
	int r = add_watch(target, watcher, IORT_MSG_DOWN);
	if (r == -ESRCH) {
		send_system(tl_w, watcher, IORT_MSG_DOWN, target, -ESRCH);
		r = 0;
	}
	return r;
}

IORT_API int iort_actor_metrics(struct iort_aid aid, struct iort_actor_metrics *out)
{
	struct iort_actor *a = aid.a;
	if (a == NULL || out == NULL)
		return -ESRCH;
	uint64_t c = ctl_load(a);
	if (CTL_GEN(c) != aid.gen)
		return -ESRCH;
	out->depth = c & CTL_LEN;
	out->depth_hwm = relaxed_get(&a->hwm);
	out->handled = relaxed_get(&a->handled);
	out->rejected = relaxed_get(&a->rejected);
	out->dropped = relaxed_get(&a->dropped);
	out->mutes = relaxed_get(&a->mutes);
	out->muted_ns = relaxed_get(&a->muted_ns);
	out->activations = relaxed_get(&a->activations);
	out->restarts = relaxed_get(&a->nrestarts);
	/* The record may have been retired and reused meanwhile: then the figures are not its. */
	/* MO actor.F1 (acquire fence): the reads above before the re-read of the generation; a
	 * respawn's zeroing we read was published after the retirement (actor.R3), which the
	 * re-read then sees; pairs with actor.R2. */
	atomic_thread_fence(memory_order_acquire);
	return CTL_GEN(ctl_load(a)) == aid.gen ? 0 : -ESRCH;
}

/* ---- the system ---- */

IORT_API int iort_actors_create(struct iort_pool *p, const struct iort_actors_config *cfg,
				struct iort_actors **out)
{
	if (p == NULL || out == NULL)
		return -EINVAL;
	struct iort_pool_metrics pm;
	iort_pool_metrics(p, &pm);
	struct iort_actors *s = aligned_alloc(IORT_CACHELINE, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	s->pool = p;
	s->nworkers = (unsigned)pm.workers;
	s->batch = cfg != NULL && cfg->batch != 0 ? cfg->batch : DEFAULT_BATCH;
	s->chain = cfg != NULL && cfg->chain != 0 ? cfg->chain : DEFAULT_CHAIN;
	s->dead_letter = cfg != NULL ? cfg->dead_letter : NULL;
	s->dead_ctx = cfg != NULL ? cfg->dead_letter_ctx : NULL;
	s->w = aligned_alloc(IORT_CACHELINE, s->nworkers * sizeof(struct wctx));
	if (s->w == NULL) {
		free(s);
		return -ENOMEM;
	}
	memset(s->w, 0, s->nworkers * sizeof(struct wctx));
	for (unsigned i = 0; i < s->nworkers; i++)
		s->w[i].sys = s;
	iort_waitq_init(&s->waitq);
	iort_waitq_init(&s->join_wq);
	*out = s;
	return 0;
}

static uint64_t live_count(struct iort_actors *s)
{
	/* Exits first (acquire: each exit's spawn happened before it), then spawns: an actor
	 * counted as exited is counted as spawned. */
	uint64_t ex = 0, sp = 0;
	for (unsigned i = 0; i < s->nworkers; i++)
		/* MO actor.A4 (acquire): pairs with actor.R4. */
		ex += atomic_load_explicit(&s->w[i].exited, memory_order_acquire);
	for (unsigned i = 0; i < s->nworkers; i++)
		sp += relaxed_get(&s->w[i].spawned);
	sp += relaxed_get(&s->ext_spawned);
	return sp - ex;
}

IORT_API int iort_actors_join(struct iort_actors *s, uint64_t deadline_ns)
{
	if (iort_pool_current() == s->pool)
		return -EDEADLK;
	/* The waitq's protocol: announce, re-count, sleep; a task that published exits notifies
	 * after its store (run_task), so either we count its exits or it sees us. */
	for (;;) {
		uint32_t key = iort_waitq_prepare(&s->join_wq);
		if (live_count(s) == 0) {
			iort_waitq_cancel(&s->join_wq);
			return 0;
		}
		if (iort_waitq_wait(&s->join_wq, key, deadline_ns, NULL) == -ETIMEDOUT)
			return live_count(s) == 0 ? 0 : -ETIMEDOUT;
	}
}

IORT_API void iort_actors_metrics(const struct iort_actors *cs, struct iort_actors_metrics *out)
{
	struct iort_actors *s = (struct iort_actors *)cs;
	uint64_t sp = relaxed_get(&s->ext_spawned), dead = relaxed_get(&s->ext_dead);
	for (unsigned i = 0; i < s->nworkers; i++) {
		sp += relaxed_get(&s->w[i].spawned);
		dead += relaxed_get(&s->w[i].dead);
	}
	out->live = live_count(s);
	out->spawned = sp;
	out->dead_letters = dead;
}

IORT_API void iort_actors_destroy(struct iort_actors *s)
{
	if (s == NULL)
		return;
	/* Actors may spawn others while they stop: sweep until none is left. */
	for (;;) {
		spin_lock(&s->spare_lock);
		struct chunk *chunks = s->rec_chunks;
		spin_unlock(&s->spare_lock);
		for (struct chunk *c = chunks; c != NULL; c = c->next) {
			struct iort_actor *recs = (struct iort_actor *)(void *)(c + 1);
			for (unsigned i = 0; i < CHUNK_RECORDS; i++) {
				uint64_t v = ctl_load(&recs[i]);
				if (!(v & CTL_CLOSED))
					(void)iort_actor_stop(aid_of(&recs[i], v));
			}
		}
		if (iort_actors_join(s, iort_clock_ns() + 20000000) == 0)
			break;
	}
	/* Every actor has exited; a task may still be between its last activation and its end. */
	for (unsigned i = 0; i < s->nworkers; i++)
		/* MO actor.A5 (acquire): pairs with actor.R5. */
		while (atomic_load_explicit(&s->w[i].busy, memory_order_acquire) != 0)
			sched_yield();
	for (struct chunk *c = s->chunks; c != NULL;) {
		struct chunk *n = c->next;
		free(c);
		c = n;
	}
	for (struct chunk *c = s->rec_chunks; c != NULL;) {
		struct chunk *n = c->next;
		free(c);
		c = n;
	}
	free(s->w);
	free(s);
}
