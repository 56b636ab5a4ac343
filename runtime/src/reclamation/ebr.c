/*
 * Epoch-based reclamation: Fraser's three-epoch scheme ("Practical lock-freedom", 2004), with the
 * fence placement of crossbeam-epoch.
 *
 * State: a global epoch G (64 bits, never wraps) and one record per (thread, domain) holding
 * state = (local epoch << 1) | active, plus a nesting depth only its owner touches.
 *
 *   enter (outermost):  state = (G << 1) | 1 (release); fence(seq_cst)        [ebr.R1, ebr.F1]
 *   exit  (outermost):  state = 0 (release)                                   [ebr.R2]
 *   try_advance:        e = G; fence(seq_cst); every active record has local == e?   [ebr.F2]
 *                       (acquire loads of the states); CAS G: e -> e+1 (release) [ebr.A1, ebr.R3]
 *   epoch (stamp):      fence(seq_cst); return G                              [ebr.F3]
 *   is_safe(s):         G >= s + 2 (acquire), trying to advance first         [ebr.A2]
 *
 * Why G >= s + 2 is enough. A node unlinked by a store U, then stamped s by a read of G after the
 * fence F3, can only still be held by a reader T that loaded it before seeing U. T's fence F1
 * then precedes F3 in the single total order S of seq_cst fences (T's load of the pointer is
 * sequenced after F1 and did not see U, which is sequenced before F3), and F3 precedes the fence
 * F2 of the advance that moved G from s + 1 (its read of G happened after the write of s + 1,
 * which the stamp read did not see). So that advancer's scan (after F2) sees T's announcement
 * (sequenced before F1), whose local epoch is <= s (T read G before F1 < F3, which read s), and
 * refuses to advance while T stays inside. The same holds for a record linked into the registry
 * after an advancer read the list head (the link is sequenced before the owner's first F1). When
 * G does reach s + 2, every reader that could hold the node has left: the advancer's acquire
 * load A1 of the exit (or the next enter, also a release) synchronizes with the
 * reader, and is_safe's acquire load of G synchronizes with the advancer's CAS, so the reader's
 * accesses happen before the free. This is the RC11 / C++20 reading of seq_cst fences that gcc
 * implements.
 *
 * Records: a per-domain push-only list (the registry); a record is never unlinked before
 * iort_ebr_destroy(), so scanners walk it without locks. Adding one takes the domain's reg_lock
 * (rare); claiming a free one is a CAS on in_use. A thread finds its record through a small
 * thread-local cache keyed by the domain's unique id (ids are never reused, so a destroyed domain
 * whose address is reused cannot hit a stale entry), then its own membership list; one process-
 * wide pthread key destructor releases the thread's records at thread exit (marks them free for
 * reuse), under g_lock, after checking that each domain is still alive (live list, also under
 * g_lock; destroy unlinks the domain under it first). Thousands of short-lived threads therefore
 * reuse a handful of records.
 *
 * Retired nodes (iort_ebr_retire): one domain-wide limbo, a lock-free stack of {p, free_fn,
 * stamp}. Retire pushes (lock-free) and, every EBR_COLLECT_EVERY retires, collects if it wins a
 * trylock. A collection takes the whole stack (exchange), calls the free functions of the safe
 * nodes and pushes the rest back, all under collect_lock, so iort_ebr_barrier() (which takes the
 * lock after G passed its stamp + 2) knows no other collector still holds nodes it took. Why one
 * shared limbo rather than per-thread lists: barrier must free other threads' retired nodes too,
 * and a thread may exit with nodes pending; a shared stack gives both without handing lists over.
 * Free functions run in whichever thread collects; they must not call iort_ebr_barrier().
 */
#include <iort/ebr.h>

#include "ebr-private.h"
#include "testpoint-private.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	EBR_TLCACHE = 4,	/* thread-local (domain id -> record) entries */
	EBR_COLLECT_EVERY = 32, /* retires between opportunistic collections */
};

struct ebr_rec {
	/* (local epoch << 1) | active; written by the owner, read by advancers. */
	_Atomic uint64_t state;
	/* Owner only: nesting depth of critical sections. */
	unsigned nest;
	/* One hazard pointer (ebr-private.h): written by the owner, read by scanners. */
	_Atomic(void *) hazard;
	/* 1 while a thread owns the record; claimed by CAS, released at thread exit. */
	_Atomic int in_use;
	/* Immutable once the record is published on the registry list. */
	struct ebr_rec *next;
} IORT_CACHELINE_ALIGNED;

struct ebr_limbo {
	void *p;
	iort_ebr_free_fn *free_fn;
	uint64_t stamp;
	struct ebr_limbo *next;
};

struct iort_ebr {
	/* Hot line: read by every enter; written only by advances. */
	_Atomic uint64_t epoch IORT_CACHELINE_ALIGNED;
	uint64_t id; /* unique for the process lifetime, never 0 */

	_Atomic(struct ebr_rec *) records IORT_CACHELINE_ALIGNED;
	_Atomic size_t nrecords;
	pthread_mutex_t reg_lock; /* serializes adding records */

	_Atomic(struct ebr_limbo *) limbo IORT_CACHELINE_ALIGNED;
	_Atomic size_t npending;
	_Atomic size_t nretires;
	pthread_mutex_t collect_lock; /* one collector at a time; barrier waits for it */

	struct iort_ebr *live_next; /* g_live list, under g_lock */
};

/* A thread's membership in one domain (owned by that thread). */
struct ebr_member {
	struct iort_ebr *d;
	uint64_t id;
	struct ebr_rec *rec;
	struct ebr_member *next;
};

struct ebr_cache_ent {
	uint64_t id; /* 0: empty */
	struct ebr_rec *rec;
};

static _Thread_local struct ebr_cache_ent tl_cache[EBR_TLCACHE];
static _Thread_local unsigned tl_cache_rr;
static _Thread_local struct ebr_member *tl_members;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* g_live, g_next_id, releases */
static struct iort_ebr *g_live;
static uint64_t g_next_id = 1;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static int g_key_err;

static pthread_once_t g_default_once = PTHREAD_ONCE_INIT;
static struct iort_ebr *g_default;

/* Caller holds g_lock. */
static bool domain_alive(const struct iort_ebr *d, uint64_t id)
{
	for (const struct iort_ebr *x = g_live; x; x = x->live_next)
		if (x == d && x->id == id)
			return true;
	return false;
}

static void rec_release(struct ebr_rec *rec)
{
	rec->nest = 0;
	/* MO ebr.R9 (release): pairs with ebr.A9 in iort__ebr_hazarded(); a thread exiting with a
	 * hazard set lets go of its node, as segq.R8 does. */
	atomic_store_explicit(&rec->hazard, NULL, memory_order_release);
	/* MO ebr.R4 (release): a thread leaving for good ends its critical sections before the
	 * record looks inactive; pairs with ebr.A1 in iort_ebr_try_advance(). */
	atomic_store_explicit(&rec->state, 0, memory_order_release);
	/* MO ebr.R5 (release): the next owner sees nest = 0; pairs with ebr.A3 in rec_claim(). */
	atomic_store_explicit(&rec->in_use, 0, memory_order_release);
}

/* pthread key destructor: the thread exits; release its records in live domains. */
static void thread_exit(void *arg)
{
	struct ebr_member *m = arg;

	pthread_mutex_lock(&g_lock);
	while (m) {
		struct ebr_member *next = m->next;

		if (domain_alive(m->d, m->id))
			rec_release(m->rec);
		free(m);
		m = next;
	}
	pthread_mutex_unlock(&g_lock);
	tl_members = NULL;
	memset(tl_cache, 0, sizeof(tl_cache));
}

static void key_init(void)
{
	g_key_err = pthread_key_create(&g_key, thread_exit);
}

static struct ebr_rec *rec_claim(struct iort_ebr *d)
{
	struct ebr_rec *rec;

	/* MO ebr.A4 (acquire): see the fields of records linked by others; pairs with ebr.R6. */
	for (rec = atomic_load_explicit(&d->records, memory_order_acquire); rec; rec = rec->next) {
		int free_ = 0;

		/* MO relaxed: cheap pre-check; the CAS below orders. */
		if (atomic_load_explicit(&rec->in_use, memory_order_relaxed))
			continue;
		/* MO ebr.A3 (acquire): claim after the previous owner let go; pairs with ebr.R5. */
		if (atomic_compare_exchange_strong_explicit(
			    &rec->in_use, &free_, 1, memory_order_acquire, memory_order_relaxed))
			return rec;
	}
	rec = aligned_alloc(IORT_CACHELINE, sizeof(*rec));
	if (!rec)
		return NULL;
	memset(rec, 0, sizeof(*rec));
	atomic_init(&rec->state, 0);
	atomic_init(&rec->hazard, NULL);
	atomic_init(&rec->in_use, 1);
	pthread_mutex_lock(&d->reg_lock);
	/* MO relaxed: reg_lock serializes writers of the head. */
	rec->next = atomic_load_explicit(&d->records, memory_order_relaxed);
	/* MO ebr.R6 (release): publish the record's fields with it; pairs with ebr.A4, ebr.A5. */
	atomic_store_explicit(&d->records, rec, memory_order_release);
	/* MO relaxed: statistics for tests. */
	atomic_fetch_add_explicit(&d->nrecords, 1, memory_order_relaxed);
	pthread_mutex_unlock(&d->reg_lock);
	return rec;
}

static void cache_put(uint64_t id, struct ebr_rec *rec)
{
	unsigned i = tl_cache_rr++ % EBR_TLCACHE;

	tl_cache[i].id = id;
	tl_cache[i].rec = rec;
}

/* Slow path: the thread's membership list, else join the domain. */
static __attribute__((noinline)) struct ebr_rec *rec_slow(struct iort_ebr *d)
{
	struct ebr_member *m, **pp;
	struct ebr_rec *rec;

	for (m = tl_members; m; m = m->next) {
		if (m->id == d->id) {
			cache_put(d->id, m->rec);
			return m->rec;
		}
	}
	pthread_once(&g_key_once, key_init);
	if (g_key_err)
		return NULL;
	m = malloc(sizeof(*m));
	if (!m)
		return NULL;
	rec = rec_claim(d);
	if (!rec) {
		free(m);
		return NULL;
	}
	m->d = d;
	m->id = d->id;
	m->rec = rec;
	/* Drop memberships of domains destroyed since (their records are gone). */
	pthread_mutex_lock(&g_lock);
	for (pp = &tl_members; *pp;) {
		struct ebr_member *x = *pp;

		if (!domain_alive(x->d, x->id)) {
			*pp = x->next;
			free(x);
		} else {
			pp = &x->next;
		}
	}
	pthread_mutex_unlock(&g_lock);
	memset(tl_cache, 0, sizeof(tl_cache));
	m->next = tl_members;
	tl_members = m;
	if (pthread_setspecific(g_key, tl_members)) {
		tl_members = m->next;
		free(m);
		rec_release(rec);
		return NULL;
	}
	cache_put(d->id, rec);
	return rec;
}

static inline struct ebr_rec *rec_get(struct iort_ebr *d)
{
	uint64_t id = d->id;

	for (int i = 0; i < EBR_TLCACHE; i++)
		if (tl_cache[i].id == id)
			return tl_cache[i].rec;
	return rec_slow(d);
}

IORT_API int iort_ebr_create(struct iort_ebr **out)
{
	struct iort_ebr *d;
	size_t sz = (sizeof(*d) + IORT_CACHELINE - 1) & ~(size_t)(IORT_CACHELINE - 1);

	if (!out)
		return -EINVAL;
	d = aligned_alloc(IORT_CACHELINE, sz);
	if (!d)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	atomic_init(&d->epoch, 1);
	atomic_init(&d->records, NULL);
	atomic_init(&d->nrecords, 0);
	atomic_init(&d->limbo, NULL);
	atomic_init(&d->npending, 0);
	atomic_init(&d->nretires, 0);
	if (pthread_mutex_init(&d->reg_lock, NULL))
		goto err_free;
	if (pthread_mutex_init(&d->collect_lock, NULL))
		goto err_reg;
	pthread_mutex_lock(&g_lock);
	d->id = g_next_id++;
	d->live_next = g_live;
	g_live = d;
	pthread_mutex_unlock(&g_lock);
	*out = d;
	return 0;
err_reg:
	pthread_mutex_destroy(&d->reg_lock);
err_free:
	free(d);
	return -ENOMEM;
}

static void default_init(void)
{
	if (iort_ebr_create(&g_default))
		g_default = NULL;
}

IORT_API struct iort_ebr *iort_ebr_default(void)
{
	pthread_once(&g_default_once, default_init);
	return g_default;
}

static void limbo_free_all(struct ebr_limbo *n)
{
	while (n) {
		struct ebr_limbo *next = n->next;

		n->free_fn(n->p);
		free(n);
		n = next;
	}
}

IORT_API void iort_ebr_destroy(struct iort_ebr *d)
{
	struct ebr_member **pp;
	struct ebr_rec *rec;

	if (!d)
		return;
	pthread_mutex_lock(&g_lock);
	for (struct iort_ebr **lp = &g_live; *lp; lp = &(*lp)->live_next) {
		if (*lp == d) {
			*lp = d->live_next;
			break;
		}
	}
	pthread_mutex_unlock(&g_lock);
	/* The calling thread's own membership; other threads prune theirs lazily. A thread with
	 * memberships created the key (rec_slow), so g_key is valid here when we touch it. */
	for (pp = &tl_members; *pp;) {
		struct ebr_member *x = *pp;

		if (x->id == d->id) {
			*pp = x->next;
			free(x);
			pthread_setspecific(g_key, tl_members);
		} else {
			pp = &x->next;
		}
	}
	for (int i = 0; i < EBR_TLCACHE; i++)
		if (tl_cache[i].id == d->id)
			tl_cache[i].id = 0;
	/* MO relaxed: no concurrent users by contract. */
	limbo_free_all(atomic_load_explicit(&d->limbo, memory_order_relaxed));
	/* MO relaxed: no concurrent users by contract. */
	rec = atomic_load_explicit(&d->records, memory_order_relaxed);
	while (rec) {
		struct ebr_rec *next = rec->next;

		free(rec);
		rec = next;
	}
	pthread_mutex_destroy(&d->collect_lock);
	pthread_mutex_destroy(&d->reg_lock);
	free(d);
}

IORT_API int iort_ebr_enter(struct iort_ebr *d)
{
	struct ebr_rec *rec = rec_get(d);
	uint64_t e;

	if (iort_unlikely(!rec))
		return -ENOMEM;
	if (rec->nest++)
		return 0;
	/* MO relaxed: any recent value; an advancer refuses to pass a stale announcement. */
	e = atomic_load_explicit(&d->epoch, memory_order_relaxed);
	/* MO ebr.R1 (release): the previous critical section's accesses happen before an advance
	 * that reads this announcement; pairs with ebr.A1 in iort_ebr_try_advance(). */
	atomic_store_explicit(&rec->state, (e << 1) | 1, memory_order_release);
	/* MO ebr.F1 (seq_cst): store->load: the announcement is visible to advancers before this
	 * thread loads any shared pointer; pairs with ebr.F2 in iort_ebr_try_advance() and ebr.F3
	 * in iort_ebr_epoch(). */
	atomic_thread_fence(memory_order_seq_cst);
	return 0;
}

IORT_API void iort_ebr_exit(struct iort_ebr *d)
{
	struct ebr_rec *rec = rec_get(d);

	if (iort_unlikely(!rec || rec->nest == 0))
		abort(); /* exit without enter */
	if (--rec->nest)
		return;
	/* MO ebr.R2 (release): this critical section's accesses happen before the advance that
	 * reads "inactive"; pairs with ebr.A1 in iort_ebr_try_advance(). */
	atomic_store_explicit(&rec->state, 0, memory_order_release);
}

IORT_API uint64_t iort_ebr_epoch(struct iort_ebr *d)
{
	/* MO ebr.F3 (seq_cst): store->load: the caller's unlink is ordered before the stamp read,
	 * so a reader that still saw the node announced before this fence; pairs with ebr.F1 in
	 * iort_ebr_enter() and ebr.F2 in iort_ebr_try_advance(). */
	atomic_thread_fence(memory_order_seq_cst);
	/* MO relaxed: ordered by the fence above. */
	return atomic_load_explicit(&d->epoch, memory_order_relaxed);
}

IORT_API bool iort_ebr_try_advance(struct iort_ebr *d)
{
	/* MO relaxed: the CAS below fails if G moved meanwhile. */
	uint64_t e = atomic_load_explicit(&d->epoch, memory_order_relaxed);
	struct ebr_rec *rec;

	/* MO ebr.F2 (seq_cst): store->load: order the scan after announcements whose fence
	 * precedes this one; pairs with ebr.F1 in iort_ebr_enter(), ebr.F3 in iort_ebr_epoch(). */
	atomic_thread_fence(memory_order_seq_cst);
	/* MO ebr.A5 (acquire): walk records linked by others; pairs with ebr.R6 in rec_claim(). */
	for (rec = atomic_load_explicit(&d->records, memory_order_acquire); rec; rec = rec->next) {
		/* MO ebr.A1 (acquire): the critical sections that ended (or restarted) before the
		 * state read here happen before the advance; pairs with ebr.R1, ebr.R2, ebr.R4. An
		 * acquire load per record rather than relaxed loads and one acquire fence: free on
		 * x86, and ThreadSanitizer understands it (it ignores fences). */
		uint64_t s = atomic_load_explicit(&rec->state, memory_order_acquire);

		if ((s & 1) && (s >> 1) != e)
			return false;
	}
	/* MO ebr.R3 (release): pass the readers' history on to is_safe; pairs with ebr.A2. */
	return atomic_compare_exchange_strong_explicit(&d->epoch, &e, e + 1, memory_order_release,
						       memory_order_relaxed);
}

IORT_API bool iort_ebr_is_safe(struct iort_ebr *d, uint64_t stamp)
{
	for (int tries = 0;; tries++) {
		/* MO ebr.A2 (acquire): the readers that blocked earlier advances are done;
		 * pairs with ebr.R3 in iort_ebr_try_advance(). */
		if (atomic_load_explicit(&d->epoch, memory_order_acquire) >= stamp + 2)
			return true;
		if (tries == 2 || !iort_ebr_try_advance(d))
			return false;
	}
}

/* Free the safe nodes, push the others back. Caller holds collect_lock. */
static void collect_locked(struct iort_ebr *d)
{
	struct ebr_limbo *n, *keep = NULL, *keep_tail = NULL;
	size_t freed = 0;
	uint64_t g;

	iort_ebr_try_advance(d);
	iort_ebr_try_advance(d);
	/* MO ebr.A6 (acquire): take the nodes pushed by retirers; pairs with ebr.R7, ebr.R8. */
	n = atomic_exchange_explicit(&d->limbo, NULL, memory_order_acquire);
	/* MO ebr.A7 (acquire): readers of nodes stamped <= g - 2 are done; pairs with ebr.R3. */
	g = atomic_load_explicit(&d->epoch, memory_order_acquire);
	while (n) {
		struct ebr_limbo *next = n->next;

		if (g >= n->stamp + 2) {
			n->free_fn(n->p);
			free(n);
			freed++;
		} else {
			n->next = keep;
			if (!keep)
				keep_tail = n;
			keep = n;
		}
		n = next;
	}
	if (keep) {
		/* MO relaxed: retried by the CAS. */
		struct ebr_limbo *old = atomic_load_explicit(&d->limbo, memory_order_relaxed);

		do {
			keep_tail->next = old;
			/* MO ebr.R8 (release): publish the chain's links; pairs with ebr.A6. */
		} while (!atomic_compare_exchange_weak_explicit(
			&d->limbo, &old, keep, memory_order_release, memory_order_relaxed));
	}
	/* MO relaxed: statistics for tests. */
	atomic_fetch_sub_explicit(&d->npending, freed, memory_order_relaxed);
}

IORT_API int iort_ebr_retire(struct iort_ebr *d, void *p, iort_ebr_free_fn *free_fn)
{
	struct ebr_limbo *n = malloc(sizeof(*n));
	struct ebr_limbo *old;

	if (!n)
		return -ENOMEM;
	n->p = p;
	n->free_fn = free_fn;
	n->stamp = iort_ebr_epoch(d);
	/* MO relaxed: statistics for tests. */
	atomic_fetch_add_explicit(&d->npending, 1, memory_order_relaxed);
	/* MO relaxed: retried by the CAS. */
	old = atomic_load_explicit(&d->limbo, memory_order_relaxed);
	do {
		n->next = old;
		/* MO ebr.R7 (release): publish the node's fields; pairs with ebr.A6. */
	} while (!atomic_compare_exchange_weak_explicit(&d->limbo, &old, n, memory_order_release,
							memory_order_relaxed));
	/* MO relaxed: a trigger count only. */
	if (atomic_fetch_add_explicit(&d->nretires, 1, memory_order_relaxed) % EBR_COLLECT_EVERY ==
		    EBR_COLLECT_EVERY - 1 &&
	    pthread_mutex_trylock(&d->collect_lock) == 0) {
		collect_locked(d);
		pthread_mutex_unlock(&d->collect_lock);
	}
	return 0;
}

IORT_API void iort_ebr_barrier(struct iort_ebr *d)
{
	uint64_t s = iort_ebr_epoch(d);

	/* MO ebr.A8 (acquire): as ebr.A2; pairs with ebr.R3 in iort_ebr_try_advance(). */
	while (atomic_load_explicit(&d->epoch, memory_order_acquire) < s + 2) {
		IORT_TP("ebr.barrier_wait");
		if (!iort_ebr_try_advance(d))
			sched_yield(); /* a reader is inside: blocking is this call's contract */
	}
	/* Every node retired before this call has stamp <= s; a concurrent collector holding
	 * some finishes (frees or pushes back) before we get the lock. */
	pthread_mutex_lock(&d->collect_lock);
	collect_locked(d);
	pthread_mutex_unlock(&d->collect_lock);
}

size_t iort__ebr_records(struct iort_ebr *d)
{
	/* MO relaxed: statistics for tests. */
	return atomic_load_explicit(&d->nrecords, memory_order_relaxed);
}

size_t iort__ebr_pending(struct iort_ebr *d)
{
	/* MO relaxed: statistics for tests. */
	return atomic_load_explicit(&d->npending, memory_order_relaxed);
}

_Atomic(void *) *iort__ebr_hazard_slot(struct iort_ebr *d)
{
	struct ebr_rec *rec = rec_get(d);

	return rec ? &rec->hazard : NULL;
}

bool iort__ebr_hazarded(struct iort_ebr *d, const void *p)
{
	struct ebr_rec *rec;

	/* MO ebr.A10 (acquire): pairs with ebr.R6 in rec_claim(); as ebr.A5. */
	for (rec = atomic_load_explicit(&d->records, memory_order_acquire); rec; rec = rec->next) {
		/* MO ebr.A9 (acquire): pairs with ebr.R9, segq.R7 and segq.R8: a hazard moved off p
		 * means its owner's accesses to p happen before the caller's reuse. */
		void *h = atomic_load_explicit(&rec->hazard, memory_order_acquire);

		IORT_TP("ebr.hazard_read");
		if (h == p)
			return true;
	}
	return false;
}
