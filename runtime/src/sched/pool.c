/*
 * The work-stealing pool (pool.h has the contract, pool-private.h the task's state word).
 *
 * Workers and their queues. Each worker owns a run queue (runq.c: owner push/pop, thieves steal
 * half), a LIFO slot (an atomic pointer: the owner puts with exchange, the owner and thieves take
 * with exchange, so a task parked in the slot of a busy worker can still be stolen), and a free
 * list of task records. The inject queue is a list under a mutex, with its length readable
 * without the lock.
 *
 * Finding work (worker_next): every inject_interval-th tick the inject queue first; then the LIFO
 * slot (at most lifo_cap in a row, then its task goes to the back of the run queue); the run
 * queue; the inject queue (a batch: one to run, more into the run queue). Then search: steal half
 * of another worker's run queue (or its LIFO slot), from a random start.
 *
 * Idle accounting (tokio's shape), one word: unparked workers (low 16 bits) and searching workers
 * (high 16). A worker may start searching only while fewer than half the workers search. New
 * work from outside a worker, and a worker's local push, wakes a sleeper only when nobody
 * searches and someone sleeps (notify_one). The sleeper list lives under sleep_lock with the
 * transitions that change unparked.
 *
 * Why no work is stranded while a worker sleeps. Work is pushed, then (after a full fence,
 * pool.F1) the word is read; a worker that stops searching changes the word (a seq_cst RMW),
 * then (pool.F2) re-reads every queue. When the number of searchers drops to zero, the worker
 * that dropped it re-checks all queues and wakes a sleeper when it sees work; a pusher that read
 * searching == 0 wakes one itself. By the two fences, either the pusher saw the searcher (which
 * then sees the work) or it saw no searcher (and wakes one). A worker that parks without having
 * searched parks only while another worker searches (that is why it was refused), and that one
 * will re-check when it stops. A worker that pushes to its own queue will itself come back to it.
 *
 * Tasks. fn tasks without a handle, token or bound (the common detached submit) have one
 * reference and nobody else can see them: they run without touching the state word. Every other
 * task moves through the state word with CAS (pool-private.h).
 *
 * Shutdown. The inject queue is closed under its lock (later submits and foreign wakes fail:
 * a foreign wake of a future then cancels it); the mode is published; sleepers are woken; a
 * worker that finds no work once the mode is set exits. Only live workers push into queues after
 * the close (their own run queue, LIFO slot, and overflow into the inject queue), and each
 * checks its own queues and the inject queue before it exits, so nothing queued is left. Then
 * the registry of futures is swept: those still idle are cancelled.
 *
 * Test points (tests/runtime/windows/win_pool.c): pool.parking (a worker is on the sleeper list
 * and about to sleep), pool.pend (a poll returned pending, the state not yet updated),
 * pool.joinwait (a joiner set JOINWAIT, about to sleep), pool.complete (done() ran, COMPLETE not
 * yet set).
 */

#include "pool-private.h"
#include "runq-private.h"

#include "futex-private.h"
#include "testpoint-private.h"

#include <iort/clock.h>
#include <iort/mutex.h>
#include <iort/wait.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORKERS 1024u
#define CHUNK_TASKS 64u /* task records per chunk */
/* Class 0 records stop after the first line: plain fn tasks never touch the second. */
#define RECORD_SIZE(cls) ((cls) ? sizeof(struct iort_task) : offsetof(struct iort_task, reg_next))
#define FREE_BATCH	 256u  /* records moved between a worker's free list and the spare list */
#define FREE_HIGH	 4096u /* a worker's free list gives a batch back past this */
#define DEFAULT_SPIN_NS	 50000u
#define DEFAULT_INTERVAL 61u
#define DEFAULT_LIFO_CAP 3u
#define JOIN_SPIN	 64u /* empty rounds a joiner spins before it parks */

#define IDLE_UNPARK_ONE	  1u
#define IDLE_SEARCH_ONE	  (1u << 16)
#define IDLE_UNPARKED(s)  ((s)&0xffffu)
#define IDLE_SEARCHING(s) ((s) >> 16)

/* park word values */
#define PARK_SLEEP  0u
#define PARK_WOKEN  1u /* by a join completion, unpark_self or shutdown */
#define PARK_SEARCH 2u /* by notify_one: wake up as a searcher */

enum { RUNNING_MODE, DRAIN_MODE, CANCEL_MODE };

/* Per-worker counters: written by their worker only (relaxed load + store), read by anyone. */
struct wmetrics {
	_Atomic uint64_t completed, polls, steals, steal_attempts, stolen, overflows, lifo_hits,
		inject_pops, parks, unparks;
};

struct worker {
	struct iort__runq q;
	/* The owner's line. */
	_Atomic(struct iort_task *) lifo IORT_CACHELINE_ALIGNED;
	struct iort_pool *pool;
	unsigned index;
	unsigned tick;
	unsigned lifo_run;
	bool searching;
	bool metrics;	  /* a copy of the pool's, on the line the counters' writer reads */
	bool in_sleepers; /* under pool->sleep_lock */
	uint64_t rng;
	struct iort_task *free[2]; /* by record class */
	unsigned nfree[2];
	void **spill; /* room for half the run queue, for overflow */
	pthread_t thread;
	int cpu;
	void *drv;	   /* the driver's state for this worker, or NULL */
	unsigned drv_tick; /* tasks since the last poll of the driver */
	/* Written by wakers. */
	_Atomic uint32_t park IORT_CACHELINE_ALIGNED;
	struct wmetrics m IORT_CACHELINE_ALIGNED;
};

/* A block of task records; the records follow the header. */
struct chunk {
	struct chunk *next;
} IORT_CACHELINE_ALIGNED;

struct iort_pool {
	unsigned nworkers;
	unsigned inject_interval;
	unsigned lifo_cap;
	unsigned local_capacity;
	uint64_t spin_ns;
	size_t max_pending;
	bool metrics;
	struct worker *workers;
	const struct iort__pool_driver *drv; /* NULL: workers park on their futex */
	unsigned drv_interval;

	struct iort_mutex inject_lock IORT_CACHELINE_ALIGNED;
	struct iort_task *inj_head, *inj_tail; /* under inject_lock */
	bool closed;			       /* under inject_lock */
	_Atomic size_t inj_len;		       /* written under inject_lock */

	_Atomic uint32_t idle IORT_CACHELINE_ALIGNED;

	struct iort_mutex sleep_lock IORT_CACHELINE_ALIGNED;
	unsigned nsleepers; /* under sleep_lock */
	unsigned *sleepers; /* under sleep_lock */

	_Atomic uint32_t mode IORT_CACHELINE_ALIGNED;
	bool shut_done; /* only iort_pool_shutdown and destroy, which must not race */

	_Atomic size_t pending IORT_CACHELINE_ALIGNED;
	struct iort_waitq pending_wq;
	_Atomic uint64_t remote_submits;

	struct iort_mutex spare_lock IORT_CACHELINE_ALIGNED;
	struct iort_task *spare[2]; /* under spare_lock, by record class */
	struct chunk *chunks;	    /* under spare_lock */

	struct iort_mutex reg_lock IORT_CACHELINE_ALIGNED;
	struct iort_task *reg_head; /* under reg_lock */
};

/* Initial-exec: one load from the thread pointer, not a __tls_get_addr call, on every spawn. */
static _Thread_local struct worker *tl_worker __attribute__((tls_model("initial-exec")));

static void run_task(struct worker *w, struct iort_task *t);
static void notify_one(struct iort_pool *p);
static iort_cancel_fn task_cancel_cb;

/* ---- small helpers ---- */

static inline void mcount(const struct worker *w, _Atomic uint64_t *c, uint64_t n)
{
	if (w->metrics)
		/* MO relaxed: counters written by one thread, read as a snapshot. */
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
				      memory_order_relaxed);
}

static inline struct worker *self_in(const struct iort_pool *p)
{
	struct worker *w = tl_worker;
	return w != NULL && w->pool == p ? w : NULL;
}

static inline uint64_t rng_next(struct worker *w)
{
	/* xorshift64*: victim choice only. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545F4914F6CDD1DULL;
}

/* ---- task records ---- */

/*
 * Task records come from chunks the pool allocates and frees only at destroy. A worker keeps
 * its own free list (no lock: only it pushes and pops); past FREE_HIGH it hands FREE_BATCH
 * records back to the pool's spare list, where threads outside the pool and workers whose list
 * ran dry take them (under spare_lock).
 */
static void spare_push_locked(struct iort_pool *p, unsigned cls, struct iort_task *first,
			      struct iort_task *last)
{
	last->next = p->spare[cls];
	p->spare[cls] = first;
}

/* Under spare_lock: a new chunk's records of class @p cls onto the spare list. */
static bool chunk_new_locked(struct iort_pool *p, unsigned cls)
{
	size_t size = RECORD_SIZE(cls);
	struct chunk *c = aligned_alloc(IORT_CACHELINE, sizeof(struct chunk) + CHUNK_TASKS * size);
	if (c == NULL)
		return false;
	c->next = p->chunks;
	p->chunks = c;
	char *base = (char *)(c + 1);
	for (unsigned i = 0; i + 1 < CHUNK_TASKS; i++)
		((struct iort_task *)(base + i * size))->next =
			(struct iort_task *)(base + (i + 1) * size);
	spare_push_locked(p, cls, (struct iort_task *)base,
			  (struct iort_task *)(base + (CHUNK_TASKS - 1) * size));
	return true;
}

/* A record of class @p cls: 0, one line (plain fn tasks), or 1, two (futures, tokens, scopes). */
static struct iort_task *task_alloc(struct iort_pool *p, struct worker *w, unsigned cls)
{
	struct iort_task *t;

	if (w != NULL && w->free[cls] != NULL) {
		t = w->free[cls];
		w->free[cls] = t->next;
		w->nfree[cls]--;
		goto got;
	}
	iort_mutex_lock(&p->spare_lock);
	if (p->spare[cls] == NULL && !chunk_new_locked(p, cls)) {
		iort_mutex_unlock(&p->spare_lock);
		return NULL;
	}
	t = p->spare[cls];
	p->spare[cls] = t->next;
	if (w != NULL) {
		/* Refill our list with up to a batch, so the next allocations take no lock. */
		for (unsigned i = 0; i < FREE_BATCH && p->spare[cls] != NULL; i++) {
			struct iort_task *u = p->spare[cls];
			p->spare[cls] = u->next;
			u->next = w->free[cls];
			w->free[cls] = u;
			w->nfree[cls]++;
		}
	}
	iort_mutex_unlock(&p->spare_lock);
got:
	t->flags = cls ? TF_BIG : 0;
	return t;
}

static void task_free(struct iort_task *t)
{
	struct iort_pool *p = t->pool;
	struct worker *w = self_in(p);
	unsigned cls = (t->flags & TF_BIG) != 0;

	if (w == NULL) {
		iort_mutex_lock(&p->spare_lock);
		spare_push_locked(p, cls, t, t);
		iort_mutex_unlock(&p->spare_lock);
		return;
	}
	t->next = w->free[cls];
	w->free[cls] = t;
	if (++w->nfree[cls] < FREE_HIGH)
		return;
	/* Give a batch back, so memory freed here can serve allocations elsewhere. */
	struct iort_task *first = w->free[cls], *last = first;
	for (unsigned i = 1; i < FREE_BATCH; i++)
		last = last->next;
	w->free[cls] = last->next;
	w->nfree[cls] -= FREE_BATCH;
	iort_mutex_lock(&p->spare_lock);
	spare_push_locked(p, cls, first, last);
	iort_mutex_unlock(&p->spare_lock);
}

static void task_unref(struct iort_task *t, uint32_t n)
{
	/* MO pool.R1 (acq_rel): every use of the record by this holder before the last holder
	 * frees it: release here, acquire in the last decrement; pairs with pool.R1. */
	uint32_t old = atomic_fetch_sub_explicit(&t->state, n * TS_REF_ONE, memory_order_acq_rel);
	if ((old >> 8) == n)
		task_free(t);
}

/* ---- queues ---- */

/*
 * Append a chain (first..last, n tasks) to the inject queue as one batch: its first task records
 * the batch's last task and length, so a pop can take whole batches without walking them under
 * the lock. @return false when closed.
 */
static bool inject_push(struct iort_pool *p, struct iort_task *first, struct iort_task *last,
			size_t n, bool force)
{
	last->next = NULL;
	first->batch_last = last;
	first->batch_n = (uint32_t)n;
	iort_mutex_lock(&p->inject_lock);
	if (p->closed && !force) {
		iort_mutex_unlock(&p->inject_lock);
		return false;
	}
	if (p->inj_tail != NULL)
		p->inj_tail->next = first;
	else
		p->inj_head = first;
	p->inj_tail = last;
	/* MO relaxed: written under the lock; lock-free readers only use it as a hint, except
	 * the Dekker checks, which have their own fences (pool.F1, pool.F2). */
	atomic_store_explicit(&p->inj_len,
			      atomic_load_explicit(&p->inj_len, memory_order_relaxed) + n,
			      memory_order_relaxed);
	iort_mutex_unlock(&p->inject_lock);
	return true;
}

/* Take up to max tasks from the inject queue, as a chain. @return the first, or NULL. */
static struct iort_task *inject_pop(struct iort_pool *p, unsigned max, unsigned *got)
{
	/* MO relaxed: a hint; the lock decides. */
	if (atomic_load_explicit(&p->inj_len, memory_order_relaxed) == 0)
		return NULL;
	iort_mutex_lock(&p->inject_lock);
	struct iort_task *first = p->inj_head, *end = NULL;
	unsigned n = 0;
	/* Whole batches while they fit (two records touched per batch, not one per task), then
	 * a split of the next one if nothing was taken yet. */
	for (struct iort_task *b = first; b != NULL && n < max;) {
		if (n + b->batch_n <= max) {
			n += b->batch_n;
			end = b->batch_last;
			b = end->next;
			continue;
		}
		if (n == 0) {
			struct iort_task *t = b;
			for (n = 1; n < max; n++)
				t = t->next;
			struct iort_task *rest = t->next;
			rest->batch_last = b->batch_last;
			rest->batch_n = b->batch_n - n;
			end = t;
		}
		break;
	}
	if (end != NULL) {
		p->inj_head = end->next;
		if (p->inj_head == NULL)
			p->inj_tail = NULL;
		end->next = NULL;
		/* MO relaxed: as in inject_push. */
		atomic_store_explicit(&p->inj_len,
				      atomic_load_explicit(&p->inj_len, memory_order_relaxed) - n,
				      memory_order_relaxed);
	} else {
		first = NULL;
	}
	iort_mutex_unlock(&p->inject_lock);
	*got = n;
	return first;
}

/* Owner: push to the run queue; when full, move its older half to the inject queue first. */
static void local_push(struct worker *w, struct iort_task *t)
{
	while (iort__runq_push(&w->q, t) != 0) {
		unsigned n = iort__runq_take_half(&w->q, w->spill);
		if (n == 0)
			continue; /* a thief is mid-steal: its slots free up in a moment */
		for (unsigned i = 0; i + 1 < n; i++)
			((struct iort_task *)w->spill[i])->next = w->spill[i + 1];
		(void)inject_push(w->pool, w->spill[0], w->spill[n - 1], n, true);
		mcount(w, &w->m.overflows, 1);
	}
}

/* Owner: put into the LIFO slot; the task it held goes to the back of the run queue. */
static void lifo_put(struct worker *w, struct iort_task *t)
{
	/* MO pool.R2 (release): the task's fields before whoever takes it from the slot;
	 * pairs with pool.A2. Only we put, so the task we get back needs no acquire. */
	struct iort_task *old = atomic_exchange_explicit(&w->lifo, t, memory_order_release);
	if (old != NULL)
		local_push(w, old);
}

static struct iort_task *lifo_take(struct worker *w)
{
	/* MO relaxed: a cheap look before the RMW; empty is the common case when stealing. */
	if (atomic_load_explicit(&w->lifo, memory_order_relaxed) == NULL)
		return NULL;
	/* MO pool.A2 (acquire): the task's fields written before its put; pairs with pool.R2. */
	return atomic_exchange_explicit(&w->lifo, NULL, memory_order_acquire);
}

static bool work_visible(struct iort_pool *p)
{
	/* MO relaxed: called after the full fence pool.F2, which orders these loads. */
	if (atomic_load_explicit(&p->inj_len, memory_order_relaxed) != 0)
		return true;
	for (unsigned i = 0; i < p->nworkers; i++) {
		struct worker *v = &p->workers[i];
		/* MO relaxed: as above. */
		if (iort__runq_len(&v->q) != 0 ||
		    atomic_load_explicit(&v->lifo, memory_order_relaxed) != NULL)
			return true;
	}
	return false;
}

/* After work was published somewhere another worker may need to take it from. */
static void notify_after_push(struct iort_pool *p)
{
	/* MO pool.F1 (seq_cst fence): the push before the read of the idle word (a searcher's
	 * word change comes before its re-check of the queues); pairs with pool.F2, pool.F2b. */
	atomic_thread_fence(memory_order_seq_cst);
	/* MO relaxed: ordered by the fence. */
	uint32_t s = atomic_load_explicit(&p->idle, memory_order_relaxed);
	if (IDLE_SEARCHING(s) == 0 && IDLE_UNPARKED(s) < p->nworkers)
		notify_one(p);
}

/*
 * Queue a task that became runnable. From a worker: a woken task takes the LIFO slot (it is
 * most likely waiting for what the running task just produced); a spawned one queues behind.
 */
static int schedule(struct iort_pool *p, struct iort_task *t, bool lifo)
{
	struct worker *w = self_in(p);

	if (w != NULL) {
		if (!lifo)
			local_push(w, t);
		else
			lifo_put(w, t);
		notify_after_push(p);
		return 0;
	}
	if (!inject_push(p, t, t, 1, false))
		return -ESHUTDOWN;
	/* MO relaxed: a statistics counter. */
	atomic_fetch_add_explicit(&p->remote_submits, 1, memory_order_relaxed);
	notify_after_push(p);
	return 0;
}

/* ---- idle: searching, parking, waking ---- */

static bool start_search(struct worker *w)
{
	struct iort_pool *p = w->pool;

	if (w->searching)
		return true;
	/* MO relaxed: the throttle is a heuristic; the RMW below is what counts. */
	uint32_t s = atomic_load_explicit(&p->idle, memory_order_relaxed);
	if (2 * IDLE_SEARCHING(s) >= p->nworkers)
		return false;
	/* MO pool.S1 (seq_cst): changes of the idle word are totally ordered with the fences
	 * around pushes and re-checks; pairs with pool.F1. */
	atomic_fetch_add_explicit(&p->idle, IDLE_SEARCH_ONE, memory_order_seq_cst);
	w->searching = true;
	return true;
}

/* A searcher found work. The last one to stop searching re-checks and wakes the next. */
static void end_search(struct worker *w)
{
	struct iort_pool *p = w->pool;

	w->searching = false;
	/* MO pool.S2 (seq_cst): as pool.S1; pairs with pool.F1. */
	uint32_t old = atomic_fetch_sub_explicit(&p->idle, IDLE_SEARCH_ONE, memory_order_seq_cst);
	if (IDLE_SEARCHING(old) == 1) {
		/* MO pool.F2 (seq_cst fence): our word change before the re-check of the queues;
		 * pairs with pool.F1. */
		atomic_thread_fence(memory_order_seq_cst);
		if (work_visible(p))
			notify_one(p);
	}
}

/* Wake worker @p v after its park word was stored. */
static void wake_parked(struct iort_pool *p, struct worker *v)
{
	if (v->drv != NULL)
		p->drv->unpark(v->drv);
	else
		iort__futex_wake(&v->park, 1);
}

/* Wake one sleeper as a searcher, if nobody searches and someone sleeps. */
static void notify_one(struct iort_pool *p)
{
	struct worker *v = NULL;

	iort_mutex_lock(&p->sleep_lock);
	/* MO relaxed: changes of the word under sleep_lock are ordered by it; the rest are
	 * searchers' RMWs, for which a stale view only costs an extra or a later wake. */
	uint32_t s = atomic_load_explicit(&p->idle, memory_order_relaxed);
	if (IDLE_SEARCHING(s) == 0 && p->nsleepers > 0) {
		/* The most recent sleeper (its cache is warmest), unless it is pinned to the CPU we
		 * run on: it would wait for us to leave that CPU. */
		unsigned k = p->nsleepers - 1;
		int here = sched_getcpu();
		while (k > 0 && p->workers[p->sleepers[k]].cpu == here)
			k--;
		v = &p->workers[p->sleepers[k]];
		p->sleepers[k] = p->sleepers[--p->nsleepers];
		v->in_sleepers = false;
		/* MO pool.S3 (seq_cst): as pool.S1; pairs with pool.F1. */
		atomic_fetch_add_explicit(&p->idle, IDLE_UNPARK_ONE + IDLE_SEARCH_ONE,
					  memory_order_seq_cst);
	}
	iort_mutex_unlock(&p->sleep_lock);
	if (v != NULL) {
		/* MO pool.R3 (release): what we published before waking it; pairs with pool.A3. */
		atomic_store_explicit(&v->park, PARK_SEARCH, memory_order_release);
		wake_parked(p, v);
	}
}

/* Take worker @p v off the sleeper list (if it is on it) and wake it, not as a searcher. */
static void unpark_worker(struct iort_pool *p, struct worker *v)
{
	bool wake = false;

	iort_mutex_lock(&p->sleep_lock);
	if (v->in_sleepers) {
		for (unsigned i = 0; i < p->nsleepers; i++)
			if (p->sleepers[i] == v->index) {
				p->sleepers[i] = p->sleepers[--p->nsleepers];
				break;
			}
		v->in_sleepers = false;
		/* MO pool.S4 (seq_cst): as pool.S1; pairs with pool.F1. */
		atomic_fetch_add_explicit(&p->idle, IDLE_UNPARK_ONE, memory_order_seq_cst);
		wake = true;
	}
	iort_mutex_unlock(&p->sleep_lock);
	if (wake) {
		/* MO pool.R3b (release): as pool.R3; pairs with pool.A3. */
		atomic_store_explicit(&v->park, PARK_WOKEN, memory_order_release);
		wake_parked(p, v);
	}
}

/*
 * Sleep until woken. @p watch (may be NULL): a task this worker joins; its completion wakes us.
 * On return the worker is unparked again, and searching if a notify woke it.
 */
static void park(struct worker *w, struct iort_task *watch, uint64_t deadline)
{
	struct iort_pool *p = w->pool;
	bool last;

	iort_mutex_lock(&p->sleep_lock);
	/* MO pool.S5 (seq_cst): as pool.S1; pairs with pool.F1. */
	uint32_t old = atomic_fetch_sub_explicit(
		&p->idle, IDLE_UNPARK_ONE + (w->searching ? IDLE_SEARCH_ONE : 0),
		memory_order_seq_cst);
	last = w->searching && IDLE_SEARCHING(old) == 1;
	w->searching = false;
	p->sleepers[p->nsleepers++] = w->index;
	w->in_sleepers = true;
	/* MO relaxed: every store of a wake-up happens after our unlock below (wakers take w off
	 * the list under the lock first, or act after our JOINWAIT RMW). */
	atomic_store_explicit(&w->park, PARK_SLEEP, memory_order_relaxed);
	iort_mutex_unlock(&p->sleep_lock);
	mcount(w, &w->m.parks, 1);

	bool self_wake = false;
	if (watch != NULL) {
		/* MO pool.R4 (acq_rel): release: the joiner's index and the park reset above, for
		 * the finisher; acquire: when it is COMPLETE, its status; pairs with pool.A4. */
		uint32_t s =
			atomic_fetch_or_explicit(&watch->state, TS_JOINWAIT, memory_order_acq_rel);
		if (s & TS_COMPLETE)
			self_wake = true;
		else
			IORT_TP("pool.joinwait");
	}
	/* MO pool.A6 (acquire): the mode is stored before shutdown sweeps the sleeper list under
	 * sleep_lock, and we joined the list under it: either the sweep found us or we see the
	 * mode here; pairs with pool.S6. A joiner sleeps on: its task's completion wakes it. */
	if (watch == NULL && atomic_load_explicit(&p->mode, memory_order_acquire) != RUNNING_MODE)
		self_wake = true;
	if (!self_wake && last) {
		/* MO pool.F2b (seq_cst fence): as pool.F2; pairs with pool.F1. */
		atomic_thread_fence(memory_order_seq_cst);
		if (work_visible(p))
			notify_one(p); /* may pick us */
	}
	if (self_wake)
		unpark_worker(p, w);
	IORT_TP("pool.parking");
	uint32_t v;
	/* MO pool.A3 (acquire): what the waker published; pairs with pool.R3. */
	while ((v = atomic_load_explicit(&w->park, memory_order_acquire)) == PARK_SLEEP) {
		if (w->drv == NULL) {
			if (iort__futex_wait_abs(&w->park, PARK_SLEEP, deadline) == -ETIMEDOUT)
				unpark_worker(p,
					      w); /* off the list, unless a waker has us already */
		} else if (p->drv->poll(w->drv, deadline) > 0 ||
			   (deadline != IORT_DEADLINE_NONE && iort_clock_ns() >= deadline)) {
			/* Its callbacks may have woken tasks into our queues (we run them), or
			 * the deadline passed. */
			unpark_worker(p, w);
		}
	}
	if (v == PARK_SEARCH)
		w->searching = true;
	mcount(w, &w->m.unparks, 1);
}

/* ---- finding work ---- */

/* @p batch: take a share of the inject queue into our ring (ours is empty); else only one
 * task (the periodic fairness check: Go takes one too). */
static struct iort_task *from_inject(struct worker *w, bool batch)
{
	struct iort_pool *p = w->pool;
	/* MO relaxed: a hint for the batch size. */
	size_t len = atomic_load_explicit(&p->inj_len, memory_order_relaxed);
	unsigned max = (unsigned)(len / p->nworkers + 1);
	/* One to run, the rest into the free slots of our ring: a whole overflow batch fits
	 * unless the ring is half full (then inject_pop splits one, walking it). */
	unsigned room = p->local_capacity - iort__runq_len(&w->q) + 1, got;

	if (max > room)
		max = room;
	if (!batch)
		max = 1;
	struct iort_task *t = inject_pop(p, max, &got);
	if (t == NULL)
		return NULL;
	mcount(w, &w->m.inject_pops, got);
	for (struct iort_task *u = t->next; u != NULL;) {
		struct iort_task *n = u->next;
		if (n != NULL)
			__builtin_prefetch(n);
		local_push(w, u);
		u = n;
	}
	return t;
}

static struct iort_task *local_next(struct worker *w)
{
	struct iort_pool *p = w->pool;
	struct iort_task *t;

	if (++w->tick % p->inject_interval == 0 && (t = from_inject(w, false)) != NULL) {
		w->lifo_run = 0;
		return t;
	}
	if (w->lifo_run < p->lifo_cap) {
		if ((t = lifo_take(w)) != NULL) {
			w->lifo_run++;
			mcount(w, &w->m.lifo_hits, 1);
			return t;
		}
	} else if ((t = lifo_take(w)) != NULL) {
		local_push(w, t); /* its turn ends: to the back of the line */
	}
	w->lifo_run = 0;
	if ((t = iort__runq_pop(&w->q)) != NULL)
		return t;
	return from_inject(w, true);
}

static struct iort_task *steal_round(struct worker *w)
{
	struct iort_pool *p = w->pool;
	unsigned n = p->nworkers, start = (unsigned)(rng_next(w) % n);

	for (unsigned i = 0; i < n; i++) {
		struct worker *v = &p->workers[(start + i) % n];
		if (v == w)
			continue;
		mcount(w, &w->m.steal_attempts, 1);
		struct iort_task *t = iort__runq_steal(&v->q, &w->q);
		if (t == NULL)
			t = lifo_take(v);
		if (t != NULL) {
			if (w->metrics) {
				mcount(w, &w->m.steals, 1);
				/* Our ring was empty (we only steal then): what it holds came with t. */
				mcount(w, &w->m.stolen, iort__runq_len(&w->q) + 1u);
			}
			return t;
		}
	}
	return from_inject(w, true);
}

/* A worker with nothing local: search (if allowed), spin, then park. @return a task or NULL
 * (woken: look again). */
static struct iort_task *idle(struct worker *w)
{
	struct iort_pool *p = w->pool;
	struct iort_task *t;

	if (start_search(w)) {
		if ((t = steal_round(w)) != NULL)
			return t;
		if (p->spin_ns != 0) {
			uint64_t until = iort_clock_ns() + p->spin_ns;
			unsigned k = 0;
			do {
				for (int i = 0; i < 32; i++)
					iort_cpu_relax();
				if ((t = local_next(w)) != NULL || (t = steal_round(w)) != NULL)
					return t;
				/* MO relaxed: polled; the exit path re-checks through the mode. */
				if (atomic_load_explicit(&p->mode, memory_order_relaxed) !=
				    RUNNING_MODE)
					return NULL;
				if ((k & 15) == 15 && w->drv != NULL &&
				    p->drv->poll(w->drv, 0) > 0 && (t = local_next(w)) != NULL)
					return t;
			} while ((++k & 15) != 0 || iort_clock_ns() < until);
		}
	}
	/* MO pool.A6b (acquire): as pool.A6; pairs with pool.S6. */
	if (atomic_load_explicit(&p->mode, memory_order_acquire) != RUNNING_MODE)
		return NULL;
	park(w, NULL, IORT_DEADLINE_NONE);
	return NULL;
}

/* ---- running tasks ---- */

static void complete(struct worker *w, struct iort_task *t, int status)
{
	struct iort_pool *p = t->pool;
	uint32_t drop = 1; /* the scheduler's reference */

	if (t->flags & TF_TOKEN) {
		iort_cancel_unregister(t->token, &t->cb);
		drop++; /* the callback's */
	}
	if (t->done != NULL)
		t->done(t->arg, status);
	/* After done(): shutdown's sweep waits for the unlink, so done() has run when it
	 * returns. */
	if (t->flags & TF_REGISTERED) {
		iort_mutex_lock(&p->reg_lock);
		if (t->reg_prev != NULL)
			t->reg_prev->reg_next = t->reg_next;
		else
			p->reg_head = t->reg_next;
		if (t->reg_next != NULL)
			t->reg_next->reg_prev = t->reg_prev;
		iort_mutex_unlock(&p->reg_lock);
		drop++; /* the registry's */
	}
	if (t->flags & TF_COUNTED) {
		/* MO relaxed: a count; waiters re-check through the waitq's protocol. */
		atomic_fetch_sub_explicit(&p->pending, 1, memory_order_relaxed);
		iort_waitq_notify_one(&p->pending_wq);
	}
	if (w != NULL && status == 0)
		mcount(w, &w->m.completed, 1);
	t->status = status;
	IORT_TP("pool.complete");

	/* MO relaxed: the CAS below decides. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed), n;
	do {
		n = (s & ~(TS_RUNNING | TS_SCHEDULED | TS_NOTIFIED)) | TS_COMPLETE;
		if (status != 0)
			n |= TS_CANCELLED;
		if (!(s & TS_JOINWAIT))
			n -= drop * TS_REF_ONE;
		/* MO pool.A4 (acq_rel): release: status and done()'s effects before COMPLETE, for
		 * the joiner; acquire: the joiner's index, written before its JOINWAIT RMW, and the
		 * others' uses of the record when we drop the last reference; pairs with pool.R4,
		 * pool.R4b, pool.A7 and pool.R1. */
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s, n, memory_order_acq_rel,
							memory_order_relaxed));
	if (!(s & TS_JOINWAIT)) {
		if ((s >> 8) == drop)
			task_free(t);
		return;
	}
	/* A joiner sleeps: our references keep the record alive while we wake it. */
	if (t->joiner >= 0)
		unpark_worker(p, &p->workers[t->joiner]);
	else
		iort__futex_wake(&t->state, INT_MAX);
	task_unref(t, drop);
}

/* The poll returned pending: go idle, or re-queue when woken meanwhile. */
static void pend(struct worker *w, struct iort_task *t)
{
	IORT_TP("pool.pend");
	/* MO relaxed: the CAS decides. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed), n;
	for (;;) {
		if (s & TS_CANCELLED) {
			complete(w, t, -ECANCELED);
			return;
		}
		if (s & TS_NOTIFIED)
			n = (s & ~(TS_RUNNING | TS_NOTIFIED)) | TS_SCHEDULED;
		else
			n = (s & ~TS_RUNNING) - TS_REF_ONE;
		/* MO pool.R5 (acq_rel): release: the poll's effects before a waker's next
		 * transition; acquire: a waker's publications before we poll again;
		 * pairs with pool.R5b and pool.A5. */
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, n, memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	if (s & TS_NOTIFIED) {
		local_push(w, t); /* a yield: behind the others */
		notify_after_push(w->pool);
	} else if ((s >> 8) == 1) {
		task_free(t); /* no waker, handle or registry left: nobody can wake it */
	}
}

static void run_task(struct worker *w, struct iort_task *t)
{
	struct iort_pool *p = w->pool;
	/* MO relaxed: the task came through a queue's acquire; a task with one reference and no
	 * flags is seen by nobody else. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	/* MO relaxed: the mode is polled; a late view runs one more task. */
	bool cancel_all = atomic_load_explicit(&p->mode, memory_order_relaxed) == CANCEL_MODE;

	mcount(w, &w->m.polls, 1);
	if (s == (TS_SCHEDULED | TS_REF_ONE) && t->kind == TK_FN && (t->flags & ~TF_BIG) == 0) {
		if (!cancel_all) {
			t->u.fn(t->arg);
			mcount(w, &w->m.completed, 1);
		}
		if (t->done != NULL)
			t->done(t->arg, cancel_all ? -ECANCELED : 0);
		task_free(t);
		goto out;
	}
	for (;;) {
		if (!(s & TS_SCHEDULED)) {
			task_unref(t, 1); /* a stale entry: its joiner ran it (join_inline) */
			goto out;
		}
		if ((s & TS_CANCELLED) || cancel_all) {
			complete(w, t, -ECANCELED);
			goto out;
		}
		/* MO pool.A5 (acq_rel): acquire: a waker's or canceller's writes before it
		 * scheduled the task; release: for their later RMWs; pairs with pool.R5b, pool.R6. */
		if (atomic_compare_exchange_weak_explicit(
			    &t->state, &s, (s & ~TS_SCHEDULED) | TS_RUNNING, memory_order_acq_rel,
			    memory_order_relaxed))
			break;
	}
	if (t->kind == TK_FN) {
		t->u.fn(t->arg);
		complete(w, t, 0);
	} else if (t->u.poll(t->arg, (struct iort_waker *)t) == IORT_READY) {
		complete(w, t, 0);
	} else {
		pend(w, t);
	}
out:;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct iort_pool *p = w->pool;

	tl_worker = w;
	if (w->drv != NULL)
		p->drv->enter(w->drv);
	for (;;) {
		if (w->drv != NULL && ++w->drv_tick >= p->drv_interval) {
			w->drv_tick = 0;
			(void)p->drv->poll(w->drv, 0);
		}
		struct iort_task *t = local_next(w);
		if (t == NULL)
			t = idle(w);
		/* MO pool.A6c (acquire): pairs with pool.S6. The close of the inject queue (under
		 * its lock) came before the mode;
		 * after it only live workers push, so once ours and the inject queue are empty
		 * (local_next checks the LIFO slot, the run queue and the inject queue) nothing
		 * will be left for us. */
		if (t == NULL &&
		    atomic_load_explicit(&p->mode, memory_order_acquire) != RUNNING_MODE &&
		    (t = local_next(w)) == NULL)
			break;
		if (t != NULL) {
			if (w->searching)
				end_search(w);
			run_task(w, t);
		}
	}
	if (w->drv != NULL)
		p->drv->leave(w->drv);
	tl_worker = NULL;
	return NULL;
}

/* ---- public calls ---- */

static unsigned cpus_available(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void pool_free(struct iort_pool *p)
{
	if (p->workers != NULL) {
		for (unsigned i = 0; i < p->nworkers; i++) {
			struct worker *w = &p->workers[i];
			if (w->drv != NULL)
				p->drv->destroy(w->drv);
			free(w->spill);
			iort__runq_fini(&w->q);
		}
	}
	while (p->chunks != NULL) {
		struct chunk *c = p->chunks;
		p->chunks = c->next;
		free(c);
	}
	free(p->workers);
	free(p->sleepers);
	free(p);
}

int iort__pool_create_driven(const struct iort_pool_config *cfg,
			     const struct iort__pool_driver *drv, void *ctx, struct iort_pool **out)
{
	static const struct iort_pool_config defaults;
	struct iort_pool *p;
	int err = 0;

	*out = NULL;
	if (cfg == NULL)
		cfg = &defaults;
	unsigned n = cfg->workers != 0 ? cfg->workers : cpus_available();
	unsigned cap = cfg->local_capacity != 0 ? cfg->local_capacity : RUNQ_CAP;
	if (n > MAX_WORKERS || cap < 4 || cap > RUNQ_CAP_MAX || (cap & (cap - 1)) != 0)
		return -EINVAL;
	if (cfg->cpus != NULL)
		for (unsigned i = 0; i < n; i++)
			if (cfg->cpus[i] < -1 || cfg->cpus[i] >= CPU_SETSIZE)
				return -EINVAL;
	p = aligned_alloc(IORT_CACHELINE, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	p->nworkers = n;
	p->local_capacity = cap;
	p->spin_ns = cfg->spin_ns != 0 ? cfg->spin_ns : DEFAULT_SPIN_NS;
	p->inject_interval = cfg->inject_interval != 0 ? cfg->inject_interval : DEFAULT_INTERVAL;
	p->lifo_cap = cfg->lifo_cap != 0 ? cfg->lifo_cap : DEFAULT_LIFO_CAP;
	p->max_pending = cfg->max_pending;
	p->metrics = !cfg->no_metrics;
	p->drv = drv;
	p->drv_interval = drv != NULL && drv->interval != 0 ? drv->interval : DEFAULT_INTERVAL;
	iort_mutex_init_class(&p->inject_lock, "iort_pool.inject");
	iort_mutex_init_class(&p->sleep_lock, "iort_pool.sleep");
	iort_mutex_init_class(&p->reg_lock, "iort_pool.registry");
	iort_mutex_init_class(&p->spare_lock, "iort_pool.spare");
	iort_waitq_init(&p->pending_wq);
	atomic_init(&p->idle, n * IDLE_UNPARK_ONE);
	atomic_init(&p->mode, RUNNING_MODE);
	p->sleepers = calloc(n, sizeof(*p->sleepers));
	p->workers = aligned_alloc(IORT_CACHELINE, n * sizeof(*p->workers));
	if (p->sleepers == NULL || p->workers == NULL) {
		free(p->workers);
		p->workers = NULL;
		pool_free(p);
		return -ENOMEM;
	}
	memset(p->workers, 0, n * sizeof(*p->workers));
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &p->workers[i];
		w->pool = p;
		w->index = i;
		w->metrics = p->metrics;
		w->rng = 0x9E3779B97F4A7C15ULL * (i + 1);
		w->cpu = cfg->cpus != NULL ? cfg->cpus[i] : -1;
		w->spill = calloc(cap / 2, sizeof(*w->spill));
		int e = iort__runq_init(&w->q, cap);
		if (w->spill == NULL || e != 0)
			err = -ENOMEM;
		if (err == 0 && drv != NULL && (w->drv = drv->create(ctx, i)) == NULL)
			err = -ENOMEM;
	}
	if (err != 0) {
		pool_free(p);
		return err;
	}
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &p->workers[i];
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		if (w->cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(w->cpu, &set);
			pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		}
		int e = pthread_create(&w->thread, &attr, worker_main, w);
		pthread_attr_destroy(&attr);
		if (e != 0) {
			/* Stop the ones that started: they see the mode and find no work. */
			p->nworkers = i;
			(void)iort_pool_shutdown(p, IORT_SHUTDOWN_CANCEL);
			p->nworkers = n;
			pool_free(p);
			return -EAGAIN;
		}
		char name[16];
		snprintf(name, sizeof(name), "iort-w%u", i);
		pthread_setname_np(w->thread, name);
	}
	*out = p;
	return 0;
}

IORT_API int iort_pool_create(const struct iort_pool_config *cfg, struct iort_pool **out)
{
	return iort__pool_create_driven(cfg, NULL, NULL, out);
}

void *iort__pool_driver_state(struct iort_pool *p, const struct iort__pool_driver *drv,
			      unsigned index)
{
	return p->drv == drv && drv != NULL && index < p->nworkers ? p->workers[index].drv : NULL;
}

static int spawn(struct iort_pool *p, const struct iort_spawn *opt, struct iort_task **out,
		 bool counted, const struct scope_child *sc)
{
	struct worker *w = self_in(p);
	struct iort_task *t;
	uint32_t refs = 1;

	if (out != NULL)
		*out = NULL;
	if ((opt->fn == NULL) == (opt->poll == NULL))
		return -EINVAL;
	/* MO relaxed: a late view is caught by the inject queue's closed flag, or by the worker
	 * draining its own queue before it exits. */
	if (atomic_load_explicit(&p->mode, memory_order_relaxed) != RUNNING_MODE)
		return -ESHUTDOWN;
	/* Only futures (registry), tokens and scope children use the record's second line. */
	t = task_alloc(p, w, opt->poll != NULL || opt->cancel != NULL || sc != NULL);
	if (t == NULL)
		return -ENOMEM;
	t->kind = opt->fn != NULL ? TK_FN : TK_POLL;
	if (opt->fn != NULL)
		t->u.fn = opt->fn;
	else
		t->u.poll = opt->poll;
	t->arg = opt->arg;
	t->done = opt->done;
	if (sc != NULL) {
		t->sc = *sc;
		t->arg = t;
		t->flags |= TF_SCOPED;
	}
	t->pool = p;
	t->joiner = -1;
	t->status = 0;
	t->next = NULL;
	if (out != NULL)
		refs++;
	if (counted)
		t->flags |= TF_COUNTED;
	if (t->kind == TK_POLL) {
		t->flags |= TF_REGISTERED;
		refs++;
	}
	if (opt->cancel != NULL) {
		t->token = opt->cancel;
		refs++;
	}
	atomic_init(&t->state, TS_SCHEDULED | refs * TS_REF_ONE);
	if (t->flags & TF_REGISTERED) {
		iort_mutex_lock(&p->reg_lock);
		t->reg_prev = NULL;
		t->reg_next = p->reg_head;
		if (p->reg_head != NULL)
			p->reg_head->reg_prev = t;
		p->reg_head = t;
		iort_mutex_unlock(&p->reg_lock);
	}
	if (opt->cancel != NULL) {
		if (iort_cancel_register(opt->cancel, &t->cb, task_cancel_cb, t) == 0)
			t->flags |= TF_TOKEN;
		else
			task_unref(t, 1); /* it ran: the task is CANCELLED, the ref unused */
	}
	if (out != NULL)
		*out = t;
	int err = schedule(p, t, false);
	if (err != 0) {
		/* Closed meanwhile: the task never ran. */
		if (out != NULL)
			*out = NULL;
		t->done = NULL;		 /* the caller keeps arg: we report the error instead */
		t->flags &= ~TF_COUNTED; /* and the caller gives its place back */
		complete(w, t, -ECANCELED);
		if (out != NULL)
			task_unref(t, 1);
		return err;
	}
	return 0;
}

static void task_cancel_cb(void *arg)
{
	iort_task_cancel(arg);
}

IORT_API int iort_pool_spawn_ex(struct iort_pool *p, const struct iort_spawn *opt,
				struct iort_task **out)
{
	return spawn(p, opt, out, false, NULL);
}

int iort__pool_spawn_scoped(struct iort_pool *p, const struct iort_spawn *opt,
			    const struct scope_child *sc, struct iort_task **out)
{
	return spawn(p, opt, out, false, sc);
}

IORT_API int iort_pool_spawn(struct iort_pool *p, iort_task_fn *fn, void *arg,
			     struct iort_task **out)
{
	struct iort_spawn opt = { .fn = fn, .arg = arg };

	if (out == NULL)
		return -EINVAL;
	return spawn(p, &opt, out, false, NULL);
}

static bool reserve_pending(void *ctx)
{
	struct iort_pool *p = ctx;
	/* MO relaxed: a count (the waitq orders the sleeping). */
	size_t n = atomic_load_explicit(&p->pending, memory_order_relaxed);
	do {
		if (n >= p->max_pending)
			return false;
		/* MO relaxed: as above. */
	} while (!atomic_compare_exchange_weak_explicit(
		&p->pending, &n, n + 1, memory_order_relaxed, memory_order_relaxed));
	return true;
}

static int submit(struct iort_pool *p, iort_task_fn *fn, void *arg, bool wait, uint64_t deadline,
		  struct iort_cancel *c)
{
	struct iort_spawn opt = { .fn = fn, .arg = arg };
	bool counted = p->max_pending != 0 && self_in(p) == NULL;

	if (fn == NULL)
		return -EINVAL;
	if (counted) {
		if (wait) {
			int e = iort_wait_until(&p->pending_wq, reserve_pending, p, deadline, c);
			if (e != 0)
				return e;
		} else if (!reserve_pending(p)) {
			return -EAGAIN;
		}
	}
	int err = spawn(p, &opt, NULL, counted, NULL);
	if (err != 0 && counted) {
		/* MO relaxed: as in reserve_pending. */
		atomic_fetch_sub_explicit(&p->pending, 1, memory_order_relaxed);
		iort_waitq_notify_one(&p->pending_wq);
	}
	return err;
}

IORT_API int iort_pool_submit(struct iort_pool *p, iort_task_fn *fn, void *arg)
{
	return submit(p, fn, arg, false, 0, NULL);
}

IORT_API int iort_pool_submit_wait(struct iort_pool *p, iort_task_fn *fn, void *arg,
				   uint64_t deadline_ns, struct iort_cancel *c)
{
	return submit(p, fn, arg, true, deadline_ns, c);
}

IORT_API bool iort_task_done(const struct iort_task *t)
{
	/* MO pool.A7 (acquire): with COMPLETE, the task's effects; pairs with pool.A4. */
	return atomic_load_explicit(&((struct iort_task *)t)->state, memory_order_acquire) &
	       TS_COMPLETE;
}

/*
 * A worker joins an fn task that has not started: run it here, now (the child of a fork-join,
 * most often still the newest in our run queue, and then taken out of it). Elsewhere (older in
 * our queue, in the inject queue) the queue entry stays behind with its reference; whoever takes
 * it finds SCHEDULED clear and only drops that reference (run_task).
 * Without this, a joiner would run whatever its queue holds first, and fork-join recursion
 * would nest unrelated subtrees on its stack. Futures are never claimed this way: one can be
 * scheduled again, and a stale entry must not be mistaken for the new one.
 */
static bool join_inline(struct worker *w, struct iort_task *t)
{
	/* The common case, fork-join: the child is still the newest in our queue. Take it out
	 * and run it: no entry is left behind. */
	if (iort__runq_pop_back_if(&w->q, t) != NULL) {
		run_task(w, t);
		return true;
	}
	/* MO relaxed: the CAS decides. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	do {
		if ((s & (TS_SCHEDULED | TS_CANCELLED)) != TS_SCHEDULED)
			return false;
		/* MO pool.A5b (acq_rel): as pool.A5; pairs with pool.R5b, pool.R6. */
	} while (!atomic_compare_exchange_weak_explicit(
		&t->state, &s, ((s & ~TS_SCHEDULED) | TS_RUNNING) + TS_REF_ONE,
		memory_order_acq_rel, memory_order_relaxed));
	mcount(w, &w->m.polls, 1);
	t->u.fn(t->arg);
	complete(w, t, 0);
	return true;
}

int iort__task_join_until(struct iort_task *t, uint64_t deadline)
{
	struct iort_pool *p = t->pool;
	struct worker *w = self_in(p);
	unsigned empty = 0;

	/* Written before our first JOINWAIT (only we set it): the finisher reads it after. */
	/* MO relaxed: our own earlier RMW, if any, is what this reads. */
	if (!(atomic_load_explicit(&t->state, memory_order_relaxed) & TS_JOINWAIT))
		t->joiner = w != NULL ? (int16_t)w->index : -1;
	if (w != NULL && t->kind == TK_FN && join_inline(w, t))
		return t->status;
	while (!iort_task_done(t)) {
		if (deadline != IORT_DEADLINE_NONE && iort_clock_ns() >= deadline)
			return -ETIMEDOUT;
		if (w == NULL) {
			/* MO pool.R4b (acq_rel): as pool.R4; pairs with pool.A4. */
			uint32_t s = atomic_fetch_or_explicit(&t->state, TS_JOINWAIT,
							      memory_order_acq_rel);
			if (s & TS_COMPLETE)
				break;
			iort__futex_wait_abs(&t->state, s | TS_JOINWAIT, deadline);
			continue;
		}
		struct iort_task *u = local_next(w);
		if (u == NULL)
			u = steal_round(w);
		if (u != NULL) {
			empty = 0;
			if (w->searching)
				end_search(w);
			run_task(w, u);
			continue;
		}
		if (++empty < JOIN_SPIN) {
			iort_cpu_relax();
			continue;
		}
		empty = 0;
		park(w, t, deadline); /* a notify may wake us as a searcher: the loop searches */
	}
	return t->status;
}

IORT_API int iort_task_join(struct iort_task *t)
{
	int status = iort__task_join_until(t, IORT_DEADLINE_NONE);

	task_unref(t, 1);
	return status;
}

IORT_API void iort_task_release(struct iort_task *t)
{
	task_unref(t, 1);
}

IORT_API void iort_task_cancel(struct iort_task *t)
{
	/* MO relaxed: the CAS decides. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed), n;
	do {
		if (s & (TS_COMPLETE | TS_CANCELLED))
			return;
		n = s | TS_CANCELLED;
		if (!(s & (TS_SCHEDULED | TS_RUNNING)))
			n = (n | TS_RUNNING) + TS_REF_ONE; /* idle: claim it, finish it here */
		/* MO pool.R6 (acq_rel): release: for the worker that sees CANCELLED; acquire: the
		 * last poll's effects before we finish the task; pairs with pool.A5 and pool.R5. */
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s, n, memory_order_acq_rel,
							memory_order_relaxed));
	if (!(s & (TS_SCHEDULED | TS_RUNNING)))
		complete(self_in(t->pool), t, -ECANCELED);
}

/* ---- wakers ---- */

IORT_API struct iort_waker *iort_waker_clone(struct iort_waker *w)
{
	struct iort_task *t = (struct iort_task *)w;
	/* MO relaxed: the caller holds a reference, so the record cannot go away. */
	atomic_fetch_add_explicit(&t->state, TS_REF_ONE, memory_order_relaxed);
	return w;
}

/* @return true when the caller must queue the task (it went idle -> scheduled, with the caller's
 * reference @p give, or a new one, as the scheduler's). */
static bool wake_state(struct iort_task *t, bool give)
{
	/* MO relaxed: the CAS decides. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed), n;
	do {
		if (s & (TS_COMPLETE | TS_SCHEDULED | TS_NOTIFIED))
			return false;
		if (s & TS_RUNNING)
			n = s | TS_NOTIFIED;
		else
			n = (s | TS_SCHEDULED) + (give ? 0 : TS_REF_ONE);
		/* MO pool.R5b (acq_rel): release: what the waker published before the task runs
		 * again; acquire: the poll's effects; pairs with pool.R5 and pool.A5. */
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s, n, memory_order_acq_rel,
							memory_order_relaxed));
	return !(s & TS_RUNNING);
}

static void wake_schedule(struct iort_task *t)
{
	if (schedule(t->pool, t, true) != 0)
		complete(self_in(t->pool), t, -ECANCELED); /* the pool closed */
}

IORT_API void iort_waker_wake(struct iort_waker *w)
{
	struct iort_task *t = (struct iort_task *)w;

	if (wake_state(t, true))
		wake_schedule(t);
	else
		task_unref(t, 1);
}

IORT_API void iort_waker_wake_by_ref(struct iort_waker *w)
{
	struct iort_task *t = (struct iort_task *)w;

	if (wake_state(t, false))
		wake_schedule(t);
}

IORT_API void iort_waker_drop(struct iort_waker *w)
{
	task_unref((struct iort_task *)w, 1);
}

IORT_API struct iort_pool *iort_pool_current(void)
{
	return tl_worker != NULL ? tl_worker->pool : NULL;
}

IORT_API int iort_pool_worker_index(void)
{
	return tl_worker != NULL ? (int)tl_worker->index : -1;
}

static inline uint64_t rd(const _Atomic uint64_t *c)
{
	/* MO relaxed: a snapshot of a counter. */
	return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

IORT_API void iort_pool_metrics(const struct iort_pool *p, struct iort_pool_metrics *out)
{
	memset(out, 0, sizeof(*out));
	out->workers = p->nworkers;
	/* MO relaxed: every field is a snapshot. */
	uint32_t s = atomic_load_explicit(&((struct iort_pool *)p)->idle, memory_order_relaxed);
	out->searching = IDLE_SEARCHING(s);
	/* Neither parked nor searching: running tasks, or between two of them. Derived, so the
	 * run path pays no gauge. */
	out->active_workers =
		IDLE_UNPARKED(s) > IDLE_SEARCHING(s) ? IDLE_UNPARKED(s) - IDLE_SEARCHING(s) : 0;
	/* MO relaxed: as above. */
	out->queue_depth =
		atomic_load_explicit(&((struct iort_pool *)p)->inj_len, memory_order_relaxed);
	/* MO relaxed: as above. */
	out->remote_submits = atomic_load_explicit(&((struct iort_pool *)p)->remote_submits,
						   memory_order_relaxed);
	if (!p->metrics)
		return;
	for (unsigned i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
#define RD(f) rd(&w->m.f)
		out->completed_jobs += RD(completed);
		out->polls += RD(polls);
		out->steals += RD(steals);
		out->steal_attempts += RD(steal_attempts);
		out->stolen_tasks += RD(stolen);
		out->overflows += RD(overflows);
		out->lifo_hits += RD(lifo_hits);
		out->inject_pops += RD(inject_pops);
		out->parks += RD(parks);
		out->unparks += RD(unparks);
#undef RD
		out->queue_depth += iort__runq_len(&w->q);
		/* MO relaxed: as above. */
		if (atomic_load_explicit(&w->lifo, memory_order_relaxed) != NULL)
			out->queue_depth++;
	}
}

IORT_API int iort_pool_shutdown(struct iort_pool *p, enum iort_shutdown how)
{
	if (self_in(p) != NULL)
		return -EDEADLK;
	if (how != IORT_SHUTDOWN_DRAIN && how != IORT_SHUTDOWN_CANCEL)
		return -EINVAL;
	if (p->shut_done)
		return -EALREADY;
	p->shut_done = true;
	iort_mutex_lock(&p->inject_lock);
	p->closed = true;
	iort_mutex_unlock(&p->inject_lock);
	/* MO pool.S6 (seq_cst): after the close; pairs with pool.A6, pool.A6b, pool.A6c. */
	atomic_store_explicit(&p->mode, how == IORT_SHUTDOWN_DRAIN ? DRAIN_MODE : CANCEL_MODE,
			      memory_order_seq_cst);
	for (unsigned i = 0; i < p->nworkers; i++)
		unpark_worker(p, &p->workers[i]);
	for (unsigned i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i].thread, NULL);
	/* Futures still idle: nobody will poll them again. */
	for (;;) {
		iort_mutex_lock(&p->reg_lock);
		struct iort_task *t = p->reg_head;
		if (t != NULL)
			/* MO relaxed: a reference taken under the registry's lock, where the
			 * record is alive (complete() unlinks it before dropping ours). */
			atomic_fetch_add_explicit(&t->state, TS_REF_ONE, memory_order_relaxed);
		iort_mutex_unlock(&p->reg_lock);
		if (t == NULL)
			break;
		iort_task_cancel(t);
		task_unref(t, 1);
	}
	return 0;
}

IORT_API void iort_pool_destroy(struct iort_pool *p)
{
	if (p == NULL)
		return;
	if (!p->shut_done)
		(void)iort_pool_shutdown(p, IORT_SHUTDOWN_DRAIN);
	/* Before the locks go: a driver may drop wakers, which frees task records. */
	for (unsigned i = 0; i < p->nworkers; i++)
		if (p->workers[i].drv != NULL) {
			p->drv->destroy(p->workers[i].drv);
			p->workers[i].drv = NULL;
		}
	iort_mutex_fini(&p->inject_lock);
	iort_mutex_fini(&p->sleep_lock);
	iort_mutex_fini(&p->reg_lock);
	iort_mutex_fini(&p->spare_lock);
	pool_free(p);
}
