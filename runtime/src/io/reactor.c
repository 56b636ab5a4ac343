/*
 * The event loop (reactor.h): timers, I/O readiness and cross-thread posts on one thread.
 *
 * A turn (turn()): fire due timers, run the remote posts, run the deferred callbacks queued
 * before the turn, then poll the backend (poller-private.h) and dispatch its events. The poll
 * blocks only when the caller allows it and nothing is runnable; while deferred callbacks are
 * runnable it is skipped but once every poll_interval turns (tokio's and Go's "check I/O every N
 * ticks"), so a busy loop makes no syscall in between and I/O is not starved.
 *
 * Descriptors live in a table indexed by fd, in chunks that never move (tasks on other threads
 * read them). Each slot holds:
 *   I1  state: the cached readiness (IORT_IO_* bits, OR-ed in by each event), the REG bit while
 *       registered, and in bits 16..31 the count of events dispatched (the edge count). It is
 *       written only under the slot's lock; readers outside the lock (io_poll's fast path,
 *       io_ready) load it with acquire.
 *   I2  the waiting tasks' wakers, one per direction, under the slot's lock. An event takes the
 *       lock to OR its readiness and take the wakers; io_poll takes the lock to re-check the
 *       readiness and store its waker; so either the event's lock section comes first (io_poll
 *       sees the readiness) or io_poll's does (the event finds the waker). No wake-up is lost.
 *   I3  the registration's generation, in the token's high 32 bits: an event for a registration
 *       stopped since the wait returned (a callback stopped it, or stopped and re-started the
 *       same fd) carries an old generation and is dropped.
 *
 * Remote posts go through an intrusive MPSC queue (iort/mpsc.h). Waking a loop that may block:
 *   I4  the loop announces `sleeping`, executes a full fence, then re-checks the post queue, the
 *       kick flag and the stop flag, and blocks only if all are clear; a poster (or the pool's
 *       unpark, or stop) publishes its change, executes a full fence, then reads `sleeping`, and
 *       only if it is set writes the eventfd, and only the first of them does (`woken`, cleared by
 *       the loop after its wait). By the two fences, either the loop sees the change or the
 *       poster sees the loop asleep: the Dekker shape of wait.h. A loop that runs pays nothing;
 *       a poster into a running loop pays the push and one fence.
 *   I5  woken == 1 means an eventfd write is pending or its edge not yet taken by a wait, and
 *       the loop clears it exactly when a wait returns the eventfd's edge (any wait: a busy
 *       loop's non-blocking poll takes edges too). So a loop never blocks with woken set and
 *       no wake-up coming: the edge is either still there (the wait returns at once) or on its
 *       way (the claimed write). A poster that saw a stale `sleeping` may claim the write while
 *       the loop runs; its edge is taken by some later wait, which clears woken again.
 *       Clearing it anywhere else would break I5's first half (a claimed write still in
 *       flight, then a second claim and a second write: harmless) or leave it set with no
 *       edge coming (the hang stress_reactor found when only announced waits cleared it).
 *   I6  a post that finds the queue non-empty skips the wake-up: the post before it is still
 *       queued, its poster ran the protocol after pushing, so the loop either sees that post
 *       or is woken; and whatever pop takes that post takes this one too (it comes after it
 *       in the list, or is in flight behind it, which a pop waits for). A post that finds the
 *       queue empty (the loop took everything) runs the protocol itself.
 * The eventfd is registered edge-triggered and never read: eventfd wakes its waiters on every
 * write, so each write is a new edge (the counter would need 2^64 writes to saturate).
 *
 * Test points (tests/runtime/windows/win_reactor.c): reactor.before_sleep (the loop ran its posts
 * and is about to announce it sleeps), reactor.sleeping (announced, not yet re-checked),
 * reactor.waiting (re-checked, about to wait), reactor.wake_checked (a poster saw the loop
 * asleep, before it claims the write),
 * reactor.poll_locked (io_poll found no readiness outside the lock,
 * before it takes the lock).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <iort/clock.h>
#include <iort/compiler.h>
#include <iort/mpsc.h>
#include <iort/pool.h>
#include <iort/reactor.h>
#include <iort/timer.h>
#include <iort/wait.h>

#include "pool-private.h"
#include "reactor-private.h"
#include "poller-private.h"
#include "testpoint-private.h"

#define DEFAULT_BATCH	 128u
#define MAX_BATCH	 4096u
#define DEFAULT_INTERVAL 61u
#define DEFAULT_TICK_NS	 1000000u
#define DEFAULT_SPIN_NS	 50000u
#define CHUNK_SHIFT	 8u
#define CHUNK_SLOTS	 (1u << CHUNK_SHIFT)
#define FD_LIMIT_MAX	 (1u << 22)
#define WAKE_TOKEN	 UINT64_MAX /* the eventfd's token: no fd has generation 2^32-1 with fd -1 */

#define ST_BITS	    0x3fffu /* IORT_IO_* */
#define ST_REG	    0x8000u
#define ST_TICK_ONE 0x10000u
#define ST_TICK(s)  ((s) >> 16)

#define IO_ALWAYS (IORT_IO_ERROR | IORT_IO_HUP)
#define IO_READS  (IORT_IO_READ | IORT_IO_RDHUP | IO_ALWAYS)
#define IO_WRITES (IORT_IO_WRITE | IO_ALWAYS)

_Static_assert(sizeof(struct iort_post) == 2 * sizeof(void *), "iort_post layout");

struct slot {
	_Atomic uint32_t state; /* I1 */
	_Atomic uint32_t lock;	/* a test-and-set lock over state's writes and the wakers (I2) */
	/* The loop's thread only. */
	uint32_t gen; /* I3 */
	uint32_t interest;
	iort_io_fn *cb;
	void *arg;
	/* Under lock. */
	struct iort_waker *rd, *wr;
};

struct iort_loop {
	/* The loop's thread: the turn's working set. */
	struct iort_timers *timers;
	uint64_t now;
	bool now_valid;
	bool in_pool; /* a pool worker's driver */
	unsigned skipped;
	unsigned interval;
	uint64_t spin_ns;
	unsigned batch;
	struct iort_post *defer_head, **defer_tail;
	size_t nregistered; /* descriptors, not the eventfd */
	size_t refs;
	struct iort_mpsc *posts;
	struct iort_poller poller;
	struct iort_poller_event *events;
	struct slot *_Atomic *chunks; /* fd_limit / CHUNK_SLOTS pointers; a chunk never moves */
	unsigned fd_limit;
	int efd;
	enum iort_backend backend;
	char why[160];

	/* Written by other threads (I4). */
	_Atomic uint32_t sleeping IORT_CACHELINE_ALIGNED;
	_Atomic uint32_t woken;
	_Atomic uint32_t kick;
	_Atomic uint32_t stop;
	_Atomic uint32_t running; /* a thread is inside iort_loop_run() */
	/* Read by every post, written once: away from the words the loop writes. */
	_Atomic uint32_t closed IORT_CACHELINE_ALIGNED;
};

static _Thread_local struct iort_loop *tl_loop;

/* ---- the descriptor table ---- */

static inline struct slot *slot_get(const struct iort_loop *l, int fd)
{
	if (fd < 0 || (unsigned)fd >= l->fd_limit)
		return NULL;
	/* MO reactor.A1 (acquire): the chunk's zeroed slots; pairs with reactor.R1. */
	struct slot *c =
		atomic_load_explicit(&l->chunks[(unsigned)fd >> CHUNK_SHIFT], memory_order_acquire);
	return c != NULL ? &c[(unsigned)fd & (CHUNK_SLOTS - 1)] : NULL;
}

static struct slot *slot_make(struct iort_loop *l, int fd)
{
	struct slot *s = slot_get(l, fd);
	if (s != NULL)
		return s;
	struct slot *c = calloc(CHUNK_SLOTS, sizeof(*c));
	if (c == NULL)
		return NULL;
	/* MO reactor.R1 (release): publish the zeroed chunk; pairs with reactor.A1. Only the loop's
	 * thread makes chunks, so nobody else stores this pointer. */
	atomic_store_explicit(&l->chunks[(unsigned)fd >> CHUNK_SHIFT], c, memory_order_release);
	return &c[(unsigned)fd & (CHUNK_SLOTS - 1)];
}

static inline void slot_lock(struct slot *s)
{
	unsigned spins = 0;
	/* MO reactor.A2 (acquire): the previous holder's writes; pairs with reactor.R2. */
	while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire) != 0) {
		/* MO relaxed: spin on a read; the exchange above acquires. */
		while (atomic_load_explicit(&s->lock, memory_order_relaxed) != 0) {
			if (++spins < 64)
				iort_cpu_relax();
			else
				sched_yield(); /* a preempted holder (oversubscribed) */
		}
	}
}

static inline void slot_unlock(struct slot *s)
{
	/* MO reactor.R2 (release): our writes under the lock; pairs with reactor.A2. */
	atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* Under the lock: state is only written here and by io_start/io_stop/io_clear. */
static inline void state_store(struct slot *s, uint32_t v)
{
	/* MO reactor.R3 (release): what readers of the readiness act on comes after it (they do
	 * I/O, the kernel orders the rest); pairs with reactor.A3. */
	atomic_store_explicit(&s->state, v, memory_order_release);
}

static inline uint32_t state_load(const struct slot *s)
{
	/* MO reactor.A3 (acquire): pairs with reactor.R3. */
	return atomic_load_explicit(&s->state, memory_order_acquire);
}

static void wake_wakers(struct iort_waker *a, struct iort_waker *b)
{
	if (a != NULL)
		iort_waker_wake(a);
	if (b != NULL)
		iort_waker_wake(b);
}

/* ---- waking the loop (I4) ---- */

static void loop_wake(struct iort_loop *l)
{
	/* MO reactor.F2 (seq_cst fence): the caller's change (a push, kick or stop) before the read of
	 * sleeping; pairs with reactor.F1. */
	atomic_thread_fence(memory_order_seq_cst);
	/* MO relaxed: ordered by the fence above. */
	if (atomic_load_explicit(&l->sleeping, memory_order_relaxed) == 0)
		return;
	IORT_TP("reactor.wake_checked");
	/* MO relaxed: the flag only elects one writer; the eventfd write (a syscall) publishes. */
	if (atomic_exchange_explicit(&l->woken, 1, memory_order_relaxed) != 0)
		return;
	uint64_t one = 1;
	ssize_t r;
	do
		r = write(l->efd, &one, sizeof(one));
	while (r < 0 && errno == EINTR);
}

/* ---- callbacks ---- */

static inline __attribute__((always_inline)) unsigned run_posts(struct iort_loop *l)
{
	struct iort_mpsc_batch b;
	unsigned n = 0;

	if (!iort_mpsc_pop_all(l->posts, &b))
		return 0;
	for (struct iort_mpsc_node *x = b.first; x != NULL;) {
		struct iort_mpsc_node *next = iort_mpsc_batch_next(&b, x);
		struct iort_post *p = (struct iort_post *)x;
		p->iort_private_fn(p);
		n++;
		x = next;
	}
	return n;
}

static unsigned run_deferred(struct iort_loop *l)
{
	struct iort_post *p = l->defer_head;
	unsigned n = 0;

	/* Only what was queued before: a callback that defers again runs next turn. */
	l->defer_head = NULL;
	l->defer_tail = &l->defer_head;
	while (p != NULL) {
		struct iort_post *next = p->iort_private_node.iort_private_next;
		p->iort_private_fn(p);
		n++;
		p = next;
	}
	return n;
}

/* ---- I/O ---- */

/* @return 1 for the edge (cached), plus the wakers woken and the callback run. */
static unsigned dispatch(struct iort_loop *l, uint64_t token, uint32_t bits)
{
	int fd = (int)(uint32_t)token;
	struct slot *s = slot_get(l, fd);
	struct iort_waker *rd = NULL, *wr = NULL;
	unsigned n = 0;

	if (s == NULL || s->gen != (uint32_t)(token >> 32))
		return 0; /* I3: stale */
	bits &= ST_BITS;
	slot_lock(s);
	/* MO relaxed: we hold the lock, the only writers' lock. */
	uint32_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
	if (!(st & ST_REG)) {
		slot_unlock(s);
		return 0;
	}
	state_store(s, (st | bits) + ST_TICK_ONE);
	if (bits & IO_READS) {
		rd = s->rd;
		s->rd = NULL;
	}
	if (bits & IO_WRITES) {
		wr = s->wr;
		s->wr = NULL;
	}
	slot_unlock(s);
	n = 1 + (rd != NULL) + (wr != NULL); /* the edge itself counts: the turn did something */
	wake_wakers(rd, wr);
	if (s->cb != NULL) {
		uint32_t want = s->interest | IO_ALWAYS;
		if (s->interest & IORT_IO_READ)
			want |= IORT_IO_RDHUP;
		if (bits & want) {
			s->cb(l, fd, bits & want, s->arg);
			n++;
		}
	}
	return n;
}

/* What another thread may have done to end a wait: a post, a pool's kick, a stop. Read after the
 * announcement's fence (I4), and while spinning (a miss there is caught by that re-check). */
static inline bool signalled(struct iort_loop *l)
{
	/* MO reactor.A5 (acquire): pairs with reactor.R5 (a pool's park word, stored before
	 * the kick). MO relaxed (stop): run() re-reads it after the turn. */
	return !iort_mpsc_empty(l->posts) ||
	       atomic_load_explicit(&l->kick, memory_order_acquire) != 0 ||
	       atomic_load_explicit(&l->stop, memory_order_relaxed) != 0;
}

static inline __attribute__((always_inline)) unsigned poll_io(struct iort_loop *l, uint64_t timeout)
{
	unsigned ran = 0;
	bool announced = timeout != 0;

	if (announced) {
		IORT_TP("reactor.before_sleep");
		/* MO relaxed: ordered by the fence below (I4). */
		atomic_store_explicit(&l->sleeping, 1, memory_order_relaxed);
		/* MO reactor.F1 (seq_cst fence): sleeping before the re-checks below;
		 * pairs with reactor.F2. */
		atomic_thread_fence(memory_order_seq_cst);
		IORT_TP("reactor.sleeping");
		if (signalled(l))
			timeout = 0;
		IORT_TP("reactor.waiting");
	}
	int n = l->poller.ops->wait(&l->poller, l->events, l->batch, timeout);
	/* Withdraw the announcement. woken is not touched here: it is cleared when a wait takes
	 * the eventfd's edge (I5), and only then is the write it promised known to have landed.
	 * MO relaxed: a poster that still sees 1 only writes the eventfd once more. */
	if (announced)
		atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
	for (int i = 0; i < n; i++) {
		if (l->events[i].token == WAKE_TOKEN) {
			/* The eventfd's edge, taken by any wait (a busy loop's non-blocking poll
			 * too): the write that woken promised has landed, so the next poster must
			 * write again (I5). MO relaxed: as above. */
			atomic_store_explicit(&l->woken, 0, memory_order_relaxed);
			continue;
		}
		ran += dispatch(l, l->events[i].token, l->events[i].events);
	}
	return ran;
}

/*
 * Before blocking for up to @p timeout ns: spin (no announcement) until a post, a stop or a kick
 * shows up, for at most spin_ns; with descriptors registered, poll them without blocking every
 * 64 rounds too (a busy poll: a syscall, but no sleep and no wake-up). @return what ran (edges
 * taken count),
 * and @p *found set when work came: the caller runs the turn again instead of waiting. A post
 * that lands after the spin goes through the announcement protocol (I4) as usual; the spin only
 * saves the sleep and the wake-up when the other side answers quickly.
 */
static __attribute__((noinline)) unsigned spin_for_work(struct iort_loop *l, uint64_t timeout,
							bool *found)
{
	uint64_t span = l->spin_ns < timeout ? l->spin_ns : timeout;
	uint64_t end = 0;
	unsigned ran = 0;

	*found = false;
	if (span <= 1)
		return 0;
	for (unsigned k = 0;; k++) {
		if (signalled(l)) {
			*found = true;
			return ran;
		}
		iort_cpu_relax();
		if ((k & 63) == 0) {
			if (l->nregistered != 0 && (ran += poll_io(l, 0)) != 0) {
				*found = true;
				return ran;
			}
			uint64_t t = iort_clock_ns();
			if (end == 0)
				end = t + span;
			else if (t >= end)
				return ran;
		}
	}
}

/* ---- the turn ---- */

static inline uint64_t loop_now(struct iort_loop *l)
{
	if (!l->now_valid) {
		uint64_t t = iort_clock_ns();
		if (t > l->now)
			l->now = t;
		l->now_valid = true;
	}
	return l->now;
}

static bool alive(struct iort_loop *l)
{
	return l->nregistered != 0 || l->refs != 0 || l->defer_head != NULL ||
	       iort_timers_count(l->timers) != 0 || !iort_mpsc_empty(l->posts);
}

/*
 * One turn. @p until: 0, never block; else block (when nothing is runnable) until then at the
 * latest (IORT_DEADLINE_NONE: until a timer or a wake-up). @return callbacks run.
 */
static unsigned turn(struct iort_loop *l, uint64_t until)
{
	unsigned ran = 0;

	l->now_valid = false;
	if (iort_timers_count(l->timers) != 0)
		ran += (unsigned)iort_timers_advance(l->timers, loop_now(l));
	ran += run_posts(l);
	if (l->defer_head != NULL) {
		ran += run_deferred(l);
		if (l->defer_head != NULL) {
			/* Runnable work: poll without blocking, and only every interval turns. */
			if (++l->skipped < l->interval)
				return ran;
			until = 0;
		}
	}
	l->skipped = 0;
	/* A standalone loop with nothing left to wait for must not block (a worker's loop blocks:
	 * its pool's unpark wakes it). */
	if (until != 0 && !l->in_pool && !alive(l))
		until = 0;
	uint64_t timeout = 0;
	if (until != 0) {
		uint64_t next = iort_timers_next(l->timers);
		if (next > until)
			next = until;
		if (next == IORT_DEADLINE_NONE)
			timeout = UINT64_MAX;
		else if (next > loop_now(l))
			timeout = next - l->now;
	}
	if (timeout != 0 && !l->in_pool) {
		bool found;
		ran += spin_for_work(l, timeout, &found);
		if (found)
			return ran; /* work came while we spun: the next turn runs it */
	}
	ran += poll_io(l, timeout);
	return ran;
}

/* ---- public: the loop ---- */

static unsigned fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) != 0)
		return 1024;
	/* The hard limit: a program may raise its soft limit after creating the loop. */
	rlim_t m = r.rlim_max;
	if (m == RLIM_INFINITY || m > FD_LIMIT_MAX)
		m = FD_LIMIT_MAX;
	return (unsigned)m;
}

IORT_API int iort_loop_create(const struct iort_loop_config *cfg, struct iort_loop **out)
{
	static const struct iort_loop_config defaults;
	struct iort_loop *l;
	int err;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (cfg == NULL)
		cfg = &defaults;
	if (cfg->backend > IORT_BACKEND_URING || cfg->event_batch > MAX_BATCH ||
	    (cfg->timers != IORT_TIMERS_WHEEL && cfg->timers != IORT_TIMERS_HEAP))
		return -EINVAL;
	l = aligned_alloc(IORT_CACHELINE, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	memset(l, 0, sizeof(*l));
	l->efd = -1;
	l->poller.fd = -1;
	l->batch = cfg->event_batch != 0 ? cfg->event_batch : DEFAULT_BATCH;
	l->interval = cfg->poll_interval != 0 ? cfg->poll_interval : DEFAULT_INTERVAL;
	l->spin_ns = cfg->spin_ns != 0 ? cfg->spin_ns : DEFAULT_SPIN_NS;
	l->defer_tail = &l->defer_head;
	l->fd_limit = fd_limit();
	l->now = iort_clock_ns();
	struct iort_timers_config tc = {
		.kind = cfg->timers,
		.tick_ns = cfg->tick_ns != 0 ? cfg->tick_ns : DEFAULT_TICK_NS,
		.now_ns = l->now,
	};
	l->chunks = calloc((l->fd_limit + CHUNK_SLOTS - 1) / CHUNK_SLOTS, sizeof(*l->chunks));
	l->events = calloc(l->batch, sizeof(*l->events));
	if (l->chunks == NULL || l->events == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = iort_timers_create(&tc, &l->timers)) != 0 ||
	    (err = iort_mpsc_create(&l->posts)) != 0)
		goto fail;
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->efd < 0) {
		err = -errno;
		goto fail;
	}
	err = -ENOSYS;
	if (cfg->backend != IORT_BACKEND_EPOLL) {
		err = iort__poller_uring_init(&l->poller, l->batch, l->why, sizeof(l->why));
		if (err != 0 && cfg->backend == IORT_BACKEND_URING)
			goto fail;
		l->backend = IORT_BACKEND_URING;
	}
	if (err != 0) {
		if (cfg->backend == IORT_BACKEND_EPOLL)
			l->why[0] = '\0';
		if ((err = iort__poller_epoll_init(&l->poller, l->batch)) != 0)
			goto fail;
		l->backend = IORT_BACKEND_EPOLL;
	} else {
		l->why[0] = '\0';
	}
	if ((err = l->poller.ops->add(&l->poller, l->efd, WAKE_TOKEN)) != 0) {
		l->poller.ops->fini(&l->poller);
		goto fail;
	}
	*out = l;
	return 0;
fail:
	if (l->efd >= 0)
		close(l->efd);
	iort_mpsc_destroy(l->posts);
	iort_timers_destroy(l->timers);
	free(l->events);
	free(l->chunks);
	free(l);
	return err;
}

IORT_API void iort_loop_destroy(struct iort_loop *l)
{
	if (l == NULL)
		return;
	/* MO relaxed: posters racing with destroy break the contract; this only turns the late
	 * ones away where it can. */
	atomic_store_explicit(&l->closed, 1, memory_order_relaxed);
	/* Posts already queued run now, on this thread, as the loop's: a post hands something to
	 * the loop (a timer to cancel, a record to free), and dropping it would leak that. They
	 * may use the loop (timers, registrations): it is still whole, and nobody runs it. */
	struct iort_loop *outer = tl_loop;
	tl_loop = l;
	while (run_posts(l) != 0)
		;
	tl_loop = outer;
	unsigned nchunks = (l->fd_limit + CHUNK_SLOTS - 1) / CHUNK_SLOTS;
	for (unsigned c = 0; c < nchunks; c++) {
		/* MO relaxed: the destroying thread made or synchronized with every chunk. */
		struct slot *ch = atomic_load_explicit(&l->chunks[c], memory_order_relaxed);
		if (ch == NULL)
			continue;
		for (unsigned i = 0; i < CHUNK_SLOTS; i++) {
			struct slot *s = &ch[i];
			slot_lock(s);
			struct iort_waker *rd = s->rd, *wr = s->wr;
			s->rd = s->wr = NULL;
			state_store(s, 0);
			slot_unlock(s);
			/* Not woken: their next poll would touch this loop. A pool's loops go after
			 * its shutdown, which cancelled the tasks that still waited. */
			if (rd != NULL)
				iort_waker_drop(rd);
			if (wr != NULL)
				iort_waker_drop(wr);
		}
		free(ch);
	}
	l->poller.ops->fini(&l->poller);
	close(l->efd);
	iort_mpsc_destroy(l->posts);
	iort_timers_destroy(l->timers);
	free(l->events);
	free(l->chunks);
	free(l);
}

IORT_API enum iort_backend iort_loop_backend(const struct iort_loop *l)
{
	return l->backend;
}

IORT_API const char *iort_backend_name(enum iort_backend b)
{
	switch (b) {
	case IORT_BACKEND_EPOLL:
		return "epoll";
	case IORT_BACKEND_URING:
		return "io_uring";
	default:
		return "auto";
	}
}

IORT_API const char *iort_loop_fallback_reason(const struct iort_loop *l)
{
	return l->why;
}

IORT_API int iort_loop_run(struct iort_loop *l, enum iort_run_mode mode)
{
	if (l->in_pool)
		return -EBUSY;
	if (mode != IORT_RUN_DEFAULT && mode != IORT_RUN_ONCE && mode != IORT_RUN_NOWAIT)
		return -EINVAL;
	uint32_t zero = 0;
	/* MO reactor.A4 (acquire): what the previous runner left, on another thread;
	 * pairs with reactor.R4. */
	if (!atomic_compare_exchange_strong_explicit(&l->running, &zero, 1, memory_order_acquire,
						     memory_order_relaxed))
		return -EBUSY;
	struct iort_loop *outer = tl_loop;
	int ret;
	tl_loop = l;
	for (;;) {
		bool block = mode != IORT_RUN_NOWAIT;
		(void)turn(l, block ? IORT_DEADLINE_NONE : 0);
		/* MO relaxed: the flag itself is the message; a stop also wakes us (I4). Read it
		 * before the exchange: a write every turn would take the line posters read. */
		if (atomic_load_explicit(&l->stop, memory_order_relaxed) != 0 &&
		    atomic_exchange_explicit(&l->stop, 0, memory_order_relaxed) != 0) {
			ret = 1;
			break;
		}
		if (mode != IORT_RUN_DEFAULT) {
			ret = alive(l) ? 1 : 0;
			break;
		}
		if (!alive(l)) {
			ret = 0;
			break;
		}
	}
	tl_loop = outer;
	/* MO reactor.R4 (release): the loop's state for the next runner; pairs with reactor.A4. */
	atomic_store_explicit(&l->running, 0, memory_order_release);
	return ret;
}

IORT_API void iort_loop_stop(struct iort_loop *l)
{
	/* MO relaxed: ordered before the wake-up check by reactor.F2. */
	atomic_store_explicit(&l->stop, 1, memory_order_relaxed);
	loop_wake(l);
}

IORT_API void iort_loop_ref(struct iort_loop *l)
{
	l->refs++;
}

IORT_API void iort_loop_unref(struct iort_loop *l)
{
	if (l->refs > 0)
		l->refs--;
}

IORT_API uint64_t iort_loop_now(struct iort_loop *l)
{
	return loop_now(l);
}

IORT_API uint64_t iort_loop_update_now(struct iort_loop *l)
{
	l->now_valid = false;
	return loop_now(l);
}

IORT_API struct iort_loop *iort_loop_current(void)
{
	return tl_loop;
}

IORT_API int iort_loop_post(struct iort_loop *l, struct iort_post *p, iort_post_fn *fn)
{
	/* MO relaxed: a hint; posting to a loop being destroyed breaks the contract. */
	if (atomic_load_explicit(&l->closed, memory_order_relaxed) != 0)
		return -ESHUTDOWN;
	p->iort_private_fn = fn;
	/* Only the post that found the queue empty runs the wake-up protocol (I6). */
	if (iort_mpsc_push(l->posts, &p->iort_private_node))
		loop_wake(l);
	return 0;
}

IORT_API void iort_loop_defer(struct iort_loop *l, struct iort_post *p, iort_post_fn *fn)
{
	p->iort_private_fn = fn;
	p->iort_private_node.iort_private_next = NULL;
	*l->defer_tail = p;
	l->defer_tail = (struct iort_post **)&p->iort_private_node.iort_private_next;
}

IORT_API int iort_loop_timer_arm(struct iort_loop *l, struct iort_timer *t, uint64_t deadline_ns)
{
	/* The turn advances the timers only while some are armed: bring an empty set's time up to
	 * now first, or it would place this deadline against a stale time (and miss the precise
	 * path for a deadline less than a tick away). Nothing fires: the set is empty. */
	if (iort_timers_count(l->timers) == 0)
		(void)iort_timers_advance(l->timers, loop_now(l));
	return iort_timers_arm(l->timers, t, deadline_ns);
}

IORT_API bool iort_loop_timer_cancel(struct iort_loop *l, struct iort_timer *t)
{
	return iort_timers_cancel(l->timers, t);
}

/* ---- public: descriptors ---- */

IORT_API int iort_io_start(struct iort_loop *l, int fd, uint32_t events, iort_io_fn *cb, void *arg)
{
	if (fd < 0)
		return -EBADF;
	if ((unsigned)fd >= l->fd_limit)
		return -EMFILE;
	if (events & ~(IORT_IO_READ | IORT_IO_WRITE))
		return -EINVAL;
	struct slot *s = slot_make(l, fd);
	if (s == NULL)
		return -ENOMEM;
	/* MO relaxed: only this thread changes REG. */
	if (atomic_load_explicit(&s->state, memory_order_relaxed) & ST_REG)
		return -EEXIST;
	uint32_t gen = s->gen + 1;
	if (gen == UINT32_MAX) /* never the eventfd's token */
		gen = 1;
	int err = l->poller.ops->add(&l->poller, fd, (uint64_t)gen << 32 | (uint32_t)fd);
	if (err != 0)
		return err;
	s->gen = gen;
	s->cb = cb;
	s->arg = arg;
	s->interest = events;
	slot_lock(s);
	/* MO relaxed: under the lock. The edge count goes on from the last registration, so a
	 * clear with a value from the old one cannot match. */
	state_store(s, (atomic_load_explicit(&s->state, memory_order_relaxed) & ~ST_BITS) | ST_REG);
	slot_unlock(s);
	l->nregistered++;
	return 0;
}

IORT_API int iort_io_modify(struct iort_loop *l, int fd, uint32_t events)
{
	struct slot *s = slot_get(l, fd);

	if (events & ~(IORT_IO_READ | IORT_IO_WRITE))
		return -EINVAL;
	/* MO relaxed: only this thread changes REG. */
	if (s == NULL || !(atomic_load_explicit(&s->state, memory_order_relaxed) & ST_REG))
		return -ENOENT;
	s->interest = events;
	return 0;
}

IORT_API int iort_io_stop(struct iort_loop *l, int fd)
{
	struct slot *s = slot_get(l, fd);

	/* MO relaxed: only this thread changes REG. */
	if (s == NULL || !(atomic_load_explicit(&s->state, memory_order_relaxed) & ST_REG))
		return -ENOENT;
	/* An error (the fd was closed first: epoll dropped it already) leaves nothing to undo;
	 * events still queued for it are stale by their generation (I3). */
	(void)l->poller.ops->del(&l->poller, fd, (uint64_t)s->gen << 32 | (uint32_t)fd);
	s->cb = NULL;
	s->gen++; /* I3: the events of this registration still queued are stale */
	if (s->gen == UINT32_MAX)
		s->gen = 1;
	slot_lock(s);
	/* MO relaxed: under the lock. */
	state_store(s, atomic_load_explicit(&s->state, memory_order_relaxed) & ~(ST_BITS | ST_REG));
	struct iort_waker *rd = s->rd, *wr = s->wr;
	s->rd = s->wr = NULL;
	slot_unlock(s);
	wake_wakers(rd, wr);
	l->nregistered--;
	return 0;
}

IORT_API int iort_io_poll(struct iort_loop *l, int fd, uint32_t events, struct iort_waker *w,
			  uint32_t *ready)
{
	struct slot *s = slot_get(l, fd);
	uint32_t want = 0;

	*ready = 0;
	if (events & IORT_IO_READ)
		want |= IO_READS;
	if (events & IORT_IO_WRITE)
		want |= IO_WRITES;
	want |= IO_ALWAYS;
	if (s == NULL)
		return -ENOENT;
	uint32_t st = state_load(s);
	if (!(st & ST_REG))
		return -ENOENT;
	if (st & want) {
		*ready = (st & ST_BITS) | (st & ~(ST_TICK_ONE - 1));
		return IORT_READY;
	}
	IORT_TP("reactor.poll_locked");
	struct iort_waker *old_rd = NULL, *old_wr = NULL;
	slot_lock(s);
	/* MO relaxed: under the lock, where every write of state happens (I2). */
	st = atomic_load_explicit(&s->state, memory_order_relaxed);
	if (!(st & ST_REG) || (st & want)) {
		slot_unlock(s);
		if (!(st & ST_REG))
			return -ENOENT;
		*ready = (st & ST_BITS) | (st & ~(ST_TICK_ONE - 1));
		return IORT_READY;
	}
	if (events & IORT_IO_READ) {
		old_rd = s->rd;
		s->rd = iort_waker_clone(w);
	}
	if (events & IORT_IO_WRITE) {
		old_wr = s->wr;
		s->wr = iort_waker_clone(w);
	}
	slot_unlock(s);
	if (old_rd != NULL)
		iort_waker_drop(old_rd);
	if (old_wr != NULL)
		iort_waker_drop(old_wr);
	return IORT_PENDING;
}

IORT_API void iort_io_clear(struct iort_loop *l, int fd, uint32_t seen, uint32_t events)
{
	struct slot *s = slot_get(l, fd);

	if (s == NULL)
		return;
	slot_lock(s);
	/* MO relaxed: under the lock (I1). */
	uint32_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
	if ((st & ST_REG) && ST_TICK(st) == ST_TICK(seen))
		state_store(s, st & ~(events & ST_BITS));
	slot_unlock(s);
}

IORT_API void iort_io_unwait(struct iort_loop *l, int fd, uint32_t events)
{
	struct slot *s = slot_get(l, fd);
	struct iort_waker *rd = NULL, *wr = NULL;

	if (s == NULL)
		return;
	slot_lock(s);
	if (events & IORT_IO_READ) {
		rd = s->rd;
		s->rd = NULL;
	}
	if (events & IORT_IO_WRITE) {
		wr = s->wr;
		s->wr = NULL;
	}
	slot_unlock(s);
	if (rd != NULL)
		iort_waker_drop(rd);
	if (wr != NULL)
		iort_waker_drop(wr);
}

unsigned iort__io_wakers(struct iort_loop *l, int fd)
{
	struct slot *s = slot_get(l, fd);

	if (s == NULL)
		return 0;
	slot_lock(s);
	unsigned n = (s->rd != NULL) + (s->wr != NULL);
	slot_unlock(s);
	return n;
}

IORT_API uint32_t iort_io_ready(struct iort_loop *l, int fd)
{
	struct slot *s = slot_get(l, fd);

	if (s == NULL)
		return 0;
	uint32_t st = state_load(s);
	return st & ST_REG ? (st & ST_BITS) | (st & ~(ST_TICK_ONE - 1)) : 0;
}

/* ---- pool workers' loops ---- */

struct pool_ctx {
	const struct iort_loop_config *cfg;
	int err;
};

static void *drv_create(void *ctx, unsigned index)
{
	struct pool_ctx *pc = ctx;
	struct iort_loop *l;

	(void)index;
	int err = iort_loop_create(pc->cfg, &l);
	if (err != 0) {
		pc->err = err;
		return NULL;
	}
	l->in_pool = true;
	return l;
}

static void drv_destroy(void *ws)
{
	iort_loop_destroy(ws);
}

static void drv_enter(void *ws)
{
	tl_loop = ws;
}

static void drv_leave(void *ws)
{
	(void)ws;
	tl_loop = NULL;
}

static unsigned drv_poll(void *ws, uint64_t deadline)
{
	struct iort_loop *l = ws;

	unsigned n = turn(l, deadline);
	/* MO reactor.A6 (acquire): pairs with reactor.R5. An exchange reads the last kick: if it
	 * was an unpark's, its park word is visible to the pool's re-read; if the unpark's kick
	 * comes later, it stays set and the next poll does not block. */
	(void)atomic_exchange_explicit(&l->kick, 0, memory_order_acquire);
	return n;
}

static void drv_unpark(void *ws)
{
	struct iort_loop *l = ws;

	/* MO reactor.R5 (release): the worker's park word, stored before this call;
	 * pairs with reactor.A5 and reactor.A6. The wake-up check after it is ordered by
	 * reactor.F2. */
	atomic_store_explicit(&l->kick, 1, memory_order_release);
	loop_wake(l);
}

static const struct iort__pool_driver loop_driver = {
	.create = drv_create,
	.destroy = drv_destroy,
	.enter = drv_enter,
	.leave = drv_leave,
	.poll = drv_poll,
	.unpark = drv_unpark,
};

IORT_API int iort_loop_pool_create(const struct iort_pool_config *pcfg,
				   const struct iort_loop_config *lcfg, struct iort_pool **out)
{
	struct pool_ctx pc = { .cfg = lcfg, .err = 0 };

	if (out == NULL)
		return -EINVAL;
	int err = iort__pool_create_driven(pcfg, &loop_driver, &pc, out);
	if (err == -ENOMEM && pc.err != 0)
		err = pc.err;
	return err;
}

IORT_API struct iort_loop *iort_loop_of_worker(struct iort_pool *p, unsigned index)
{
	return iort__pool_driver_state(p, &loop_driver, index);
}
