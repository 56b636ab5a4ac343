/*
 * The lock-order checker (lockdep, after Linux's kernel/locking/lockdep.c and the "goodlock"
 * gate-lock analysis of Havelund and of ThreadSanitizer's deadlock detector).
 *
 * Nodes. A lock's class is registered at its first checked acquisition: identity is the map's
 * key when set (iort_mutex_init's caller), else the CONTENTS of its name (IORT_MUTEX_INIT and
 * iort_mutex_init() name a class "file:line"). The id (1..LD_MAX_CLASSES-1) is stored into the
 * map with a CAS (0 -> id; racing threads agree because lookup and insert run under ld_lock).
 * The graph's node is (class, subclass): node = class * 8 + subclass. A lock whose class does not
 * fit (the table is full) gets LD_NONE: it is kept on the held stack but makes no edges; the first
 * such class is reported once as MISUSE.
 *
 * Edges and gates. Acquiring node T (blocking, not try-lock) while holding H records H -> T.
 * Each edge keeps G, the set of other locks (instance and class) held EVERY time it was taken: the
 * intersection over its sightings, at most LD_GATES kept (the first ones of the first sighting;
 * losing a gate can only add a report, never hide one). A cycle is reported iff the intersection
 * of its edges' G is empty: a lock held across all of them (a gate) serializes the threads that
 * take them, so they cannot deadlock on each other. Gates are lock instances, not classes: two
 * threads holding two different locks of one class do not exclude each other.
 *
 * Search (ld_find_cycle, under ld_lock): when an edge e0 = F -> T is new, or its G shrinks, BFS
 * from T back to F over states (node, mask): bit i of mask says some edge on the path so far
 * lacks gate i of e0. A path reaching F with every bit set closes a cycle whose intersection of G
 * is empty. Because the state remembers exactly which of e0's gates are already "broken", the BFS
 * finds such a path whenever one exists (it explores every reachable (node, mask)). Each cycle is
 * reported once (ld_reported: a hash of its node sequence rotated to its smallest node).
 *
 * Fast path (I1): acquiring T at depth d costs, when enabled, one bit test per held entry in the
 * global matrix `known` (rows allocated on first use; a bit set means the edge exists and its G
 * is empty: nothing can change). If a bit is missing, the configuration's key (a sum of a hash
 * of (node, lock instance) per held entry, kept incrementally on the stack, plus a differently
 * mixed term for the target) is looked up in `chains`, a set of configurations already processed: processing the same held set again cannot add
 * an edge or shrink a G (intersection with the same set is idempotent), so a hit skips it. Only a
 * miss takes ld_lock (the slow path). Fixed-order nesting, where deeper edges always have a gate
 * (m1 -> m3 is taken under m2), thus stays on the fast path after its first iteration. The set is
 * bounded (LD_CHAINS); once full, new configurations always take the slow path (correct, slower).
 * A 64-bit key collision would skip a configuration never processed: probability ~n^2/2^64.
 *
 * Held stack (I2): per thread (TLS, initial-exec), in chunks of LD_CHUNK entries linked in order;
 * chunks are freed only when the thread unregisters (its pthread key destructor), under
 * ld_reg_lock, so the watchdog of another thread may walk them under that lock at any time.
 * Only the owner writes its stack; the fields other threads read are atomics.
 *
 * Watchdog (iort__ld_stalled): T0 blocked on L0 follows "L -> the blocked thread holding L -> the
 * lock it waits for" until it comes back to T0 (a deadlock: reported once, by its set of (thread,
 * lock)), or reaches a thread that is not blocked (no deadlock). A thread counts as blocked on L
 * when wait_begin(L) was its last call (its `waiting`; the next acquire/release hook clears it):
 * then its top entry is the pending L and the entries below it are locks it holds. The reader
 * validates each such thread like a seqlock (I3): waiting (ld.A3, acquire) and wgen before its
 * stack, waiting (ld.A4) and wgen again after an acquire fence (ld.F2); the owner clears waiting
 * and issues a release fence (ld.F1) before it next writes its stack. Equal values mean the
 * stack read is the one it had while blocked. A thread whose gen is not the walker's is skipped:
 * its stack predates the last switch on (it may have got its lock and let go of everything while
 * the checker was off, with no hook to clear `waiting`); its next hook clears it (ld.R4/ld.A5).
 *
 * Mode switches: the hooks run only while enabled, so a thread's stack is stale after the mode
 * was OFF. Turning the checker on bumps ld_gen; a thread seeing a new gen clears its stack. Only
 * when the checker has been on since start-up (IORT_LOCKDEP in the environment) is a thread's
 * stack complete; then unlocking a lock the thread does not hold is reported (MISUSE).
 *
 * Reports are built under ld_lock (or ld_reg_lock) and delivered after it is released (I4): the
 * handler never runs with a libiort lock held.
 *
 * fork() (I5): handlers take both locks around the fork; the child drops the other threads'
 * records (see ld_fork_child()).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <iort/lockdep.h>

#include "lockdep-private.h"
#include "testpoint-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if IORT_LOCKDEP

#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LD_MAX_CLASSES 1024u /* ids 1..1023 */
#define LD_SUB	       8u
#define LD_NODES       (LD_MAX_CLASSES * LD_SUB)
#define LD_WORDS       (LD_NODES / 64u)
#define LD_NONE	       UINT32_MAX
#define LD_GATES       8u
#define LD_CHUNK       32u
#define LD_CHAINS      (1u << 16)
#define LD_PROBES      8u
#define LD_MAX_WALK    64u			       /* watchdog: threads followed at most */
#define LD_COLD	       __attribute__((noinline, cold)) /* keeps the fast path small */

_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "map class is accessed atomically");
_Static_assert(alignof(_Atomic uint32_t) == alignof(uint32_t), "map class alignment");

_Atomic int iort__ld_on;

static _Atomic int ld_mode;
static _Atomic uint64_t ld_stall = 1000000000ull;
static _Atomic unsigned ld_gen = 1;
static _Atomic bool ld_since_start; /* on since start-up: stacks complete, MISUSE reported */

/* ---- the graph (ld_lock) ---- */

struct ld_class {
	const void *key;
	char *name; /* owned */
};

struct ld_gate {
	const void *lock;
	uint32_t node;
};

struct ld_edge {
	uint32_t from, to;
	uint32_t next_out; /* adjacency list of `from` */
	uint32_t ngates;
	struct ld_gate gates[LD_GATES];
	const void *from_ip, *ip; /* first sighting */
	long tid;
};

static pthread_mutex_t ld_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ld_class ld_classes[LD_MAX_CLASSES];
static uint32_t ld_nclasses = 1;
static uint16_t ld_class_hash[2 * LD_MAX_CLASSES];
static bool ld_class_full;

static struct ld_edge *ld_edges; /* [0] unused */
static uint32_t ld_nedges = 1, ld_cap_edges;
static uint32_t *ld_edge_hash; /* edge index, 0 empty */
static uint32_t ld_edge_hash_cap;
static uint32_t ld_out[LD_NODES]; /* first outgoing edge */

static uint64_t *ld_reported;
static size_t ld_nreported, ld_cap_reported;

static iort_lockdep_handler *ld_handler;
static void *ld_handler_arg;

/* Read without ld_lock (I1): `known` rows, and the chain set. */
static _Atomic(_Atomic uint64_t *) ld_rows[LD_NODES];
static _Atomic uint64_t ld_chains[LD_CHAINS];

/* ---- threads (ld_reg_lock) ---- */

struct ld_held {
	_Atomic(const void *) lock;
	_Atomic uint32_t node;
	const void *ip; /* owner only */
	uint64_t key;	/* owner only: the sum of ld_mix() over the entries up to here */
};

struct ld_chunk {
	struct ld_held e[LD_CHUNK];
	_Atomic(struct ld_chunk *) next;
	struct ld_chunk *prev;
};

struct ld_thread {
	_Atomic unsigned depth;
	_Atomic unsigned gen; /* the ld_gen its stack belongs to (the watchdog reads it) */
	bool partial;	      /* may hold locks the stack does not show */
	struct ld_chunk *top;
	_Atomic(const void *) waiting;
	_Atomic unsigned wgen;
	long tid;
	struct ld_thread *next, *prev;
	struct ld_chunk first;
};

static pthread_mutex_t ld_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ld_thread *ld_threads;
static uint64_t *ld_dl_reported;
static size_t ld_ndl, ld_cap_dl;
static pthread_key_t ld_key;
static pthread_once_t ld_key_once = PTHREAD_ONCE_INIT;

static _Thread_local struct ld_thread *ld_self __attribute__((tls_model("initial-exec")));

/* ---- reports ---- */

struct ld_report {
	struct iort_lockdep_report pub;
	struct ld_report *next;
	char *text;
	const char *names[]; /* nclasses pointers into the text buffer's tail */
};

static LD_COLD void ld_deliver(struct ld_report *r)
{
	iort_lockdep_handler *fn;
	void *arg;

	while (r) {
		struct ld_report *next = r->next;

		pthread_mutex_lock(&ld_lock);
		fn = ld_handler;
		arg = ld_handler_arg;
		pthread_mutex_unlock(&ld_lock);
		/* I4: no libiort lock is held here. */
		if (fn)
			fn(&r->pub, arg);
		else
			fputs(r->pub.text, stderr);
		/* MO relaxed: the mode is a setting; the report is already out. */
		if (atomic_load_explicit(&ld_mode, memory_order_relaxed) == IORT_LOCKDEP_ABORT) {
			fflush(stderr);
			abort();
		}
		free(r->text);
		free(r);
		r = next;
	}
}

/* A report of @p kind with text @p text (taken over) and @p n names (copied). */
static struct ld_report *ld_report_new(enum iort_lockdep_kind kind, char *text,
				       const char *const *names, size_t n)
{
	size_t len = 0, i;
	struct ld_report *r;
	char *p;

	if (!text)
		return NULL;
	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	r = malloc(sizeof(*r) + n * sizeof(char *) + len);
	if (!r) {
		free(text);
		return NULL;
	}
	p = (char *)&r->names[n];
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]) + 1;

		memcpy(p, names[i], l);
		r->names[i] = p;
		p += l;
	}
	r->text = text;
	r->next = NULL;
	r->pub.kind = kind;
	r->pub.text = text;
	r->pub.classes = r->names;
	r->pub.nclasses = n;
	return r;
}

static void ld_print_ip(FILE *f, const void *ip)
{
	Dl_info di;

	if (ip && dladdr(ip, &di)) {
		if (di.dli_sname && di.dli_saddr)
			fprintf(f, "%s+0x%tx (%p)", di.dli_sname,
				(const char *)ip - (const char *)di.dli_saddr, ip);
		else if (di.dli_fname)
			fprintf(f, "%s+0x%tx (%p)", di.dli_fname,
				(const char *)ip - (const char *)di.dli_fbase, ip);
		else
			fprintf(f, "%p", ip);
	} else {
		fprintf(f, "%p", ip);
	}
}

static long ld_gettid(void)
{
	return (long)syscall(SYS_gettid);
}

/* The printed name of @p node ("name" or "name/sub"); ld_lock held. */
static void ld_node_name(char *buf, size_t len, uint32_t node)
{
	uint32_t c = node / LD_SUB, s = node % LD_SUB;

	if (node == LD_NONE || c >= ld_nclasses)
		snprintf(buf, len, "(unchecked)");
	else if (s)
		snprintf(buf, len, "%s/%" PRIu32, ld_classes[c].name, s);
	else
		snprintf(buf, len, "%s", ld_classes[c].name);
}

static LD_COLD struct ld_report *ld_misuse(const char *what, const void *lock)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "iort lockdep: misuse: %s (lock %p, thread %ld)\n", what, lock, ld_gettid());
	fclose(f);
	return ld_report_new(IORT_LOCKDEP_MISUSE, text, NULL, 0);
}

/* ---- classes ---- */

static uint64_t ld_hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static bool ld_class_is(const struct ld_class *c, const void *key, const char *name)
{
	if (key)
		return c->key == key;
	return !c->key && strcmp(c->name, name) == 0;
}

/* The class of @p map, registering it (ld_lock held). LD_NONE when the table is full.
 * @p keyname: the printed name of a key-identified class, made by the caller before it took
 * ld_lock (dladdr takes the dynamic loader's lock, which a library constructor may hold while it
 * takes a checked mutex: symbolizing under ld_lock could deadlock against it). */
static uint32_t ld_class_lookup(struct iort_lockdep_map *map, const char *keyname,
				struct ld_report **out)
{
	const void *key = map->iort_private_key;
	const char *name = map->iort_private_name;
	uint64_t h;
	uint32_t mask = 2 * LD_MAX_CLASSES - 1, i, id;

	if (!key && !name)
		name = "(unnamed)";
	h = key ? ld_hash_bytes(&key, sizeof(key), 0xcbf29ce484222325ull)
		: ld_hash_bytes(name, strlen(name), 0xcbf29ce484222325ull);
	for (i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		id = ld_class_hash[i];
		if (!id)
			break;
		if (ld_class_is(&ld_classes[id], key, name))
			return id;
	}
	if (ld_nclasses >= LD_MAX_CLASSES) {
		if (!ld_class_full) {
			ld_class_full = true;
			*out = ld_misuse(
				"more than 1023 lock classes: locks of new classes are not "
				"checked",
				map);
		}
		return LD_NONE;
	}
	id = ld_nclasses;
	ld_classes[id].name = strdup(name ? name : keyname);
	if (!ld_classes[id].name)
		return LD_NONE;
	ld_classes[id].key = key;
	ld_nclasses++;
	ld_class_hash[i] = (uint16_t)id;
	return id;
}

static LD_COLD uint32_t ld_class_register(struct iort_lockdep_map *map, struct ld_report **out)
{
	_Atomic uint32_t *slot = (_Atomic uint32_t *)&map->iort_private_class;
	const void *key = map->iort_private_key;
	uint32_t id, expected = 0;
	char keyname[256] = "";

	if (key && !map->iort_private_name) {
		Dl_info di;

		if (dladdr(key, &di) && di.dli_sname && di.dli_saddr)
			snprintf(keyname, sizeof(keyname), "%s+0x%tx", di.dli_sname,
				 (const char *)key - (const char *)di.dli_saddr);
		else
			snprintf(keyname, sizeof(keyname), "lock@%p", key);
	}
	pthread_mutex_lock(&ld_lock);
	id = ld_class_lookup(map, keyname, out);
	/* MO relaxed: the id is only an index; a class's record is read under ld_lock, and racing
	 * registrations of one map find the same id under it. */
	if (!atomic_compare_exchange_strong_explicit(slot, &expected, id, memory_order_relaxed,
						     memory_order_relaxed))
		id = expected;
	pthread_mutex_unlock(&ld_lock);
	return id;
}

/* ---- the fast structures ---- */

static inline bool ld_known(uint32_t from, uint32_t to)
{
	/* MO ld.A1 (acquire): see the row's zeroed words; pairs with ld.R1 in ld_set_known(). */
	_Atomic uint64_t *row = atomic_load_explicit(&ld_rows[from], memory_order_acquire);

	/* MO relaxed: a set bit only means "nothing to do"; no data is read through it. */
	return row && (atomic_load_explicit(&row[to / 64], memory_order_relaxed) >> (to % 64)) & 1;
}

static void ld_set_known(uint32_t from, uint32_t to)
{
	/* MO relaxed: only ld_lock holders (we) store rows. */
	_Atomic uint64_t *row = atomic_load_explicit(&ld_rows[from], memory_order_relaxed);

	if (!row) {
		row = calloc(LD_WORDS, sizeof(*row));
		if (!row)
			return; /* the edge stays on the slow path */
		/* MO ld.R1 (release): publish the zeroed row; pairs with ld.A1 in ld_known(). */
		atomic_store_explicit(&ld_rows[from], row, memory_order_release);
	}
	/* MO relaxed: see ld_known(); only ld_lock holders write rows. */
	atomic_fetch_or_explicit(&row[to / 64], 1ull << (to % 64), memory_order_relaxed);
}

static inline uint64_t ld_mix(uint32_t node, const void *lock)
{
	uint64_t x =
		((uint64_t)(uintptr_t)lock ^ ((uint64_t)node << 44 | node)) * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29);
}

static inline bool ld_chain_hit(uint64_t key)
{
	for (uint32_t i = 0; i < LD_PROBES; i++) {
		/* MO relaxed: a hit only means "this held set was processed"; the graph it
		 * changed is read only under ld_lock. */
		uint64_t k = atomic_load_explicit(&ld_chains[(key + i) & (LD_CHAINS - 1)],
						  memory_order_relaxed);

		if (k == key)
			return true;
		if (!k)
			return false;
	}
	return false;
}

static void ld_chain_add(uint64_t key)
{
	for (uint32_t i = 0; i < LD_PROBES; i++) {
		_Atomic uint64_t *s = &ld_chains[(key + i) & (LD_CHAINS - 1)];
		/* MO relaxed: see ld_chain_hit(); writers hold ld_lock. */
		uint64_t k = atomic_load_explicit(s, memory_order_relaxed);

		if (k == key)
			return;
		if (!k) {
			/* MO relaxed: see ld_chain_hit(). */
			atomic_store_explicit(s, key, memory_order_relaxed);
			return;
		}
	}
}

/* ---- edges and the search (ld_lock held) ---- */

static uint32_t ld_edge_find(uint32_t from, uint32_t to, uint32_t **slot)
{
	uint64_t h;
	uint32_t mask, i, e;

	if (!ld_edge_hash_cap)
		return 0;
	h = ((uint64_t)from << 32 | to) * 0x9e3779b97f4a7c15ull;
	mask = ld_edge_hash_cap - 1;
	for (i = (uint32_t)(h >> 32) & mask;; i = (i + 1) & mask) {
		e = ld_edge_hash[i];
		if (!e || (ld_edges[e].from == from && ld_edges[e].to == to)) {
			if (slot)
				*slot = &ld_edge_hash[i];
			return e;
		}
	}
}

/* Make room for one more edge; false when out of memory. */
static bool ld_edge_reserve(void)
{
	if (ld_nedges + 1 > ld_cap_edges) {
		uint32_t cap = ld_cap_edges ? 2 * ld_cap_edges : 256;
		struct ld_edge *e = realloc(ld_edges, cap * sizeof(*e));

		if (!e)
			return false;
		ld_edges = e;
		ld_cap_edges = cap;
	}
	if (2 * (ld_nedges + 1) > ld_edge_hash_cap) {
		uint32_t cap = ld_edge_hash_cap ? 2 * ld_edge_hash_cap : 512;
		uint32_t *h = calloc(cap, sizeof(*h)), *old = ld_edge_hash;

		if (!h)
			return false;
		ld_edge_hash = h;
		ld_edge_hash_cap = cap;
		for (uint32_t e = 1; e < ld_nedges; e++) {
			uint32_t *slot;

			ld_edge_find(ld_edges[e].from, ld_edges[e].to, &slot);
			*slot = e;
		}
		free(old);
	}
	return true;
}

static bool ld_edge_has_gate(const struct ld_edge *e, const struct ld_gate *g)
{
	for (uint32_t i = 0; i < e->ngates; i++)
		if (e->gates[i].lock == g->lock && e->gates[i].node == g->node)
			return true;
	return false;
}

struct ld_state {
	uint32_t key;	 /* node << 8 | mask */
	uint32_t parent; /* index in the state array; UINT32_MAX for the start */
	uint32_t edge;
};

struct ld_bfs {
	struct ld_state *st;
	uint32_t *idx; /* open addressing: state index + 1, 0 empty */
	uint32_t n, cap, hcap;
};

static uint32_t *ld_bfs_slot(struct ld_bfs *b, uint32_t key)
{
	uint32_t h = (key * 0x9e3779b1u) & (b->hcap - 1);

	while (b->idx[h] && b->st[b->idx[h] - 1].key != key)
		h = (h + 1) & (b->hcap - 1);
	return &b->idx[h];
}

/* Add state @p key unless visited. @return false when out of memory. */
static bool ld_bfs_visit(struct ld_bfs *b, uint32_t key, uint32_t parent, uint32_t edge)
{
	uint32_t *slot;

	if (b->n == b->cap || 2 * (b->n + 1) > b->hcap) {
		struct ld_state *ns = realloc(b->st, 2 * b->cap * sizeof(*ns));
		uint32_t *ni;

		if (!ns)
			return false;
		b->st = ns;
		b->cap *= 2;
		ni = calloc(2 * b->hcap, sizeof(*ni));
		if (!ni)
			return false;
		free(b->idx);
		b->idx = ni;
		b->hcap *= 2;
		for (uint32_t s = 0; s < b->n; s++)
			*ld_bfs_slot(b, b->st[s].key) = s + 1;
	}
	slot = ld_bfs_slot(b, key);
	if (!*slot) {
		b->st[b->n] = (struct ld_state){ key, parent, edge };
		*slot = ++b->n;
	}
	return true;
}

/*
 * A path T -> ... -> F that, with e0 = F -> T, closes a cycle whose edges share no gate.
 * Writes the path's edges (from T) into *path (malloc'd), their number into *n.
 */
static bool ld_find_cycle(uint32_t e0, uint32_t **path, uint32_t *n)
{
	const struct ld_edge *E0 = &ld_edges[e0];
	uint32_t full = (1u << E0->ngates) - 1, head, goal = 0, len, s;
	struct ld_bfs b = { malloc(256 * sizeof(struct ld_state)), calloc(512, sizeof(uint32_t)), 0,
			    256, 512 };
	bool found = false;

	if (!b.st || !b.idx || !ld_bfs_visit(&b, E0->to << 8, UINT32_MAX, 0))
		goto out;
	for (head = 0; head < b.n && !found; head++) {
		uint32_t node = b.st[head].key >> 8, mask = b.st[head].key & 0xff;

		if (node == E0->from && mask == full) {
			goal = head;
			found = true;
			break;
		}
		for (uint32_t e = ld_out[node]; e; e = ld_edges[e].next_out) {
			uint32_t m = mask;

			for (uint32_t i = 0; i < E0->ngates; i++)
				if (!ld_edge_has_gate(&ld_edges[e], &E0->gates[i]))
					m |= 1u << i;
			if (!ld_bfs_visit(&b, ld_edges[e].to << 8 | m, head, e))
				goto out;
		}
	}
	if (!found)
		goto out;
	len = 0;
	for (s = goal; b.st[s].parent != UINT32_MAX; s = b.st[s].parent)
		len++;
	*path = malloc((len ? len : 1) * sizeof(**path));
	if (!*path) {
		found = false;
		goto out;
	}
	*n = len;
	for (s = goal; b.st[s].parent != UINT32_MAX; s = b.st[s].parent)
		(*path)[--len] = b.st[s].edge;
out:
	free(b.st);
	free(b.idx);
	return found;
}

static uint64_t ld_cycle_hash(const uint32_t *nodes, uint32_t n)
{
	uint32_t lo = 0;
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t i = 1; i < n; i++)
		if (nodes[i] < nodes[lo])
			lo = i;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v = nodes[(lo + i) % n];

		h = ld_hash_bytes(&v, sizeof(v), h);
	}
	return h;
}

/* Record @p h in @p set; false if it was there. */
static bool ld_once(uint64_t **set, size_t *n, size_t *cap, uint64_t h)
{
	for (size_t i = 0; i < *n; i++)
		if ((*set)[i] == h)
			return false;
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		uint64_t *s = realloc(*set, c * sizeof(*s));

		if (!s)
			return true; /* report again rather than never */
		*set = s;
		*cap = c;
	}
	(*set)[(*n)++] = h;
	return true;
}

/* The inversion report for the cycle e0, path[0..n) (ld_lock held). */
static struct ld_report *ld_cycle_report(uint32_t e0, const uint32_t *path, uint32_t n)
{
	uint32_t len = n + 1, *nodes = malloc(len * sizeof(*nodes));
	char(*names)[300] = malloc(len * sizeof(*names));
	const char **np = malloc(len * sizeof(*np));
	struct ld_report *r = NULL;
	char *text = NULL;
	size_t tlen;
	FILE *f;

	if (!nodes || !names || !np)
		goto out;
	nodes[0] = ld_edges[e0].from;
	for (uint32_t i = 0; i < n; i++)
		nodes[i + 1] = ld_edges[path[i]].from;
	if (!ld_once(&ld_reported, &ld_nreported, &ld_cap_reported, ld_cycle_hash(nodes, len)))
		goto out;
	for (uint32_t i = 0; i < len; i++) {
		ld_node_name(names[i], sizeof(names[i]), nodes[i]);
		np[i] = names[i];
	}
	f = open_memstream(&text, &tlen);
	if (!f)
		goto out;
	fprintf(f, "iort lockdep: lock-order-inversion (potential deadlock): ");
	for (uint32_t i = 0; i < len; i++)
		fprintf(f, "%s -> ", names[i]);
	fprintf(f, "%s\n", names[0]);
	for (uint32_t i = 0; i < len; i++) {
		const struct ld_edge *e = &ld_edges[i ? path[i - 1] : e0];
		const char *a = names[i], *b = names[(i + 1) % len];

		fprintf(f, "  edge %s -> %s: %s acquired at ", a, b, b);
		ld_print_ip(f, e->ip);
		fprintf(f, " while holding %s (acquired at ", a);
		ld_print_ip(f, e->from_ip);
		fprintf(f, "), thread %ld\n", e->tid);
	}
	if (len == 1)
		fprintf(f, "  two locks of one class nested: if the code orders them, say so with "
			   "iort_mutex_lock_nested()\n");
	fclose(f);
	r = ld_report_new(IORT_LOCKDEP_INVERSION, text, np, len);
out:
	free(nodes);
	free(names);
	free(np);
	return r;
}

/* One sighting of the edge from -> to under the gates @p g (ld_lock held). */
static void ld_edge_see(uint32_t from, uint32_t to, const void *from_ip, const void *ip, long tid,
			const struct ld_gate *g, uint32_t ng, struct ld_report **out)
{
	uint32_t *slot, e = ld_edge_find(from, to, &slot), *path, n;
	bool search = false;
	struct ld_edge *E;

	if (!e) {
		if (!ld_edge_reserve())
			return;
		ld_edge_find(from, to, &slot); /* the table may have moved */
		e = ld_nedges++;
		E = &ld_edges[e];
		E->from = from;
		E->to = to;
		E->ngates = ng < LD_GATES ? ng : LD_GATES;
		memcpy(E->gates, g, E->ngates * sizeof(*g));
		E->from_ip = from_ip;
		E->ip = ip;
		E->tid = tid;
		E->next_out = ld_out[from];
		ld_out[from] = e;
		*slot = e;
		search = true;
	} else {
		uint32_t k = 0;

		E = &ld_edges[e];
		for (uint32_t i = 0; i < E->ngates; i++) {
			bool keep = false;

			for (uint32_t j = 0; j < ng && !keep; j++)
				keep = g[j].lock == E->gates[i].lock &&
				       g[j].node == E->gates[i].node;
			if (keep)
				E->gates[k++] = E->gates[i];
		}
		search = k < E->ngates;
		E->ngates = k;
	}
	if (!E->ngates)
		ld_set_known(from, to);
	if (search && ld_find_cycle(e, &path, &n)) {
		struct ld_report *r = ld_cycle_report(e, path, n);

		free(path);
		if (r) {
			r->next = *out;
			*out = r;
		}
	}
}

/* ---- threads ---- */

static void ld_thread_exit(void *arg)
{
	struct ld_thread *t = arg;
	struct ld_chunk *c, *next;

	pthread_mutex_lock(&ld_reg_lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		ld_threads = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&ld_reg_lock);
	/* MO relaxed: nobody else reads the chunks now (I2: unlinked under ld_reg_lock). */
	for (c = atomic_load_explicit(&t->first.next, memory_order_relaxed); c; c = next) {
		/* MO relaxed: as above. */
		next = atomic_load_explicit(&c->next, memory_order_relaxed);
		free(c);
	}
	free(t);
	ld_self = NULL;
}

static void ld_key_init(void)
{
	if (pthread_key_create(&ld_key, ld_thread_exit))
		fputs("iort lockdep: pthread_key_create failed: threads' records leak at exit\n",
		      stderr);
}

static void ld_stack_clear(struct ld_thread *t)
{
	/* MO relaxed: the owner's write; readers validate with I3. */
	atomic_store_explicit(&t->depth, 0, memory_order_relaxed);
	t->top = &t->first;
}

/* The calling thread's record: registered at its first hook, made current after a mode switch. */
static LD_COLD struct ld_thread *ld_thread_slow(void)
{
	struct ld_thread *t = ld_self;
	/* MO relaxed: a mode switch races with acquisitions anyway (lockdep-private.h). */
	unsigned gen = atomic_load_explicit(&ld_gen, memory_order_relaxed);

	if (t) {
		ld_stack_clear(t);
		t->partial = true;
		/* MO ld.R4 (release): the cleared depth before the new gen; pairs with ld.A5 in
		 * ld_blocked_holds(). */
		atomic_store_explicit(&t->gen, gen, memory_order_release);
		return t;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = ld_gettid();
	/* MO relaxed: not yet published (ld_reg_lock below). */
	atomic_store_explicit(&t->gen, gen, memory_order_relaxed);
	/* MO relaxed: a setting, see above. */
	t->partial = !atomic_load_explicit(&ld_since_start, memory_order_relaxed);
	t->top = &t->first;
	pthread_once(&ld_key_once, ld_key_init);
	pthread_mutex_lock(&ld_reg_lock);
	t->next = ld_threads;
	if (t->next)
		t->next->prev = t;
	ld_threads = t;
	pthread_mutex_unlock(&ld_reg_lock);
	pthread_setspecific(ld_key, t);
	ld_self = t;
	return t;
}

static inline struct ld_thread *ld_thread(void)
{
	struct ld_thread *t = ld_self;

	/* MO relaxed: see ld_thread_slow(). */
	/* MO relaxed: the owner reads its own gen. */
	if (iort_likely(t && atomic_load_explicit(&t->gen, memory_order_relaxed) ==
				     atomic_load_explicit(&ld_gen, memory_order_relaxed)))
		return t;
	return ld_thread_slow();
}

/* The thread runs again after a wait (I3): clear `waiting` before the stack changes. */
static inline void ld_unwait(struct ld_thread *t)
{
	/* MO relaxed: the owner reads its own field. */
	if (iort_unlikely(atomic_load_explicit(&t->waiting, memory_order_relaxed) != NULL)) {
		/* MO relaxed: ordered before the stack writes by ld.F1. */
		atomic_store_explicit(&t->waiting, NULL, memory_order_relaxed);
		/* MO ld.F1 (release fence): a reader that sees a later stack write sees waiting
		 * cleared; pairs with ld.F2 in ld_blocked_holds(). */
		atomic_thread_fence(memory_order_release);
	}
}

/* Entry @p i of the owner's stack (i < depth). */
static struct ld_held *ld_at(struct ld_thread *t, unsigned i)
{
	struct ld_chunk *c = &t->first;

	for (; i >= LD_CHUNK; i -= LD_CHUNK)
		/* MO relaxed: the owner reads its own link. */
		c = atomic_load_explicit(&c->next, memory_order_relaxed);
	return &c->e[i];
}

static bool ld_push(struct ld_thread *t, const void *lock, uint32_t node, const void *ip,
		    uint64_t key)
{
	/* MO relaxed: the owner reads its own depth. */
	unsigned d = atomic_load_explicit(&t->depth, memory_order_relaxed);
	struct ld_chunk *c = t->top;
	struct ld_held *h;

	if (d && d % LD_CHUNK == 0) {
		/* MO relaxed: the owner reads its own link. */
		struct ld_chunk *n = atomic_load_explicit(&c->next, memory_order_relaxed);

		if (!n) {
			n = calloc(1, sizeof(*n));
			if (!n)
				return false;
			n->prev = c;
			/* MO ld.R3 (release): publish the zeroed chunk; pairs with ld.A2 in
			 * ld_blocked_holds(). */
			atomic_store_explicit(&c->next, n, memory_order_release);
		}
		c = n;
	}
	h = &c->e[d % LD_CHUNK];
	/* MO relaxed: other threads read entries only as I3 validates them. */
	atomic_store_explicit(&h->lock, lock, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&h->node, node, memory_order_relaxed);
	h->ip = ip;
	h->key = key;
	t->top = c;
	/* MO relaxed: as above. */
	atomic_store_explicit(&t->depth, d + 1, memory_order_relaxed);
	return true;
}

/* Remove the entry for @p lock, the topmost one; false if the stack has none. */
static bool ld_pop(struct ld_thread *t, const void *lock)
{
	/* MO relaxed: the owner reads its own depth. */
	unsigned d = atomic_load_explicit(&t->depth, memory_order_relaxed), i;
	struct ld_chunk *c = t->top;

	for (i = d; i-- > 0;) {
		/* MO relaxed: the owner reads its own entry. */
		if (atomic_load_explicit(&c->e[i % LD_CHUNK].lock, memory_order_relaxed) == lock)
			break;
		if (i % LD_CHUNK == 0)
			c = c->prev;
	}
	if (i == UINT32_MAX || d == 0 || i >= d)
		return false;
	/* Shift the entries above i down (rare: unlock out of order), keeping the keys sums. */
	for (unsigned j = i; j + 1 < d; j++) {
		struct ld_held *dst = ld_at(t, j), *src = ld_at(t, j + 1);
		uint64_t below = j ? ld_at(t, j - 1)->key : 0;

		uint64_t mix = src->key - dst->key; /* src's term (dst not yet overwritten) */
		/* MO relaxed: the owner reads its own entry. */
		const void *l = atomic_load_explicit(&src->lock, memory_order_relaxed);
		/* MO relaxed: the owner reads its own entry. */
		uint32_t n = atomic_load_explicit(&src->node, memory_order_relaxed);

		/* MO relaxed: the owner's writes; readers validate with I3. */
		atomic_store_explicit(&dst->lock, l, memory_order_relaxed);
		/* MO relaxed: as above. */
		atomic_store_explicit(&dst->node, n, memory_order_relaxed);
		dst->ip = src->ip;
		dst->key = below + mix;
	}
	d--;
	if (d && d % LD_CHUNK == 0)
		t->top = t->top->prev;
	else if (!d)
		t->top = &t->first;
	/* MO relaxed: the owner's write; readers validate with I3. */
	atomic_store_explicit(&t->depth, d, memory_order_relaxed);
	return true;
}

/* The slow path of an acquisition of @p node with key @p key (I1 missed). */
static LD_COLD void ld_acquire_slow(struct ld_thread *t, uint32_t node, const void *ip,
				    uint64_t key, struct ld_report **out)
{
	/* MO relaxed: the owner reads its own depth. */
	unsigned d = atomic_load_explicit(&t->depth, memory_order_relaxed);
	struct ld_gate buf[64], *held = d <= 64 ? buf : malloc(d * sizeof(*held));
	const void **ips = malloc(d * sizeof(*ips));
	struct ld_gate g[LD_GATES];

	if (!held || !ips)
		goto out;
	for (unsigned i = 0; i < d; i++) {
		struct ld_held *h = ld_at(t, i);

		/* MO relaxed: the owner reads its own entry. */
		held[i].lock = atomic_load_explicit(&h->lock, memory_order_relaxed);
		/* MO relaxed: the owner reads its own entry. */
		held[i].node = atomic_load_explicit(&h->node, memory_order_relaxed);
		ips[i] = h->ip;
	}
	pthread_mutex_lock(&ld_lock);
	IORT_TP("lockdep.slow"); /* the graph's lock held */
	for (unsigned i = 0; i < d; i++) {
		uint32_t ng = 0;

		if (held[i].node == LD_NONE || ld_known(held[i].node, node))
			continue;
		for (unsigned j = 0; j < d && ng < LD_GATES; j++)
			if (j != i && held[j].lock != held[i].lock)
				g[ng++] = held[j];
		ld_edge_see(held[i].node, node, ips[i], ip, t->tid, g, ng, out);
	}
	ld_chain_add(key);
	pthread_mutex_unlock(&ld_lock);
out:
	if (held != buf)
		free(held);
	free(ips);
}

/* ---- the hooks ---- */

void iort__ld_acquire(struct iort_lockdep_map *map, const void *lock, unsigned subclass,
		      unsigned flags, const void *ip)
{
	struct ld_thread *t = ld_thread();
	struct ld_report *out = NULL;
	uint32_t cls, node;
	uint64_t mix, key;
	unsigned d;

	if (iort_unlikely(!t))
		return;
	ld_unwait(t);
	/* MO relaxed: see ld_class_register(). */
	cls = atomic_load_explicit((_Atomic uint32_t *)&map->iort_private_class,
				   memory_order_relaxed);
	if (iort_unlikely(!cls))
		cls = ld_class_register(map, &out);
	node = cls == LD_NONE ? LD_NONE
			      : cls * LD_SUB + (subclass < LD_SUB ? subclass : LD_SUB - 1);
	mix = ld_mix(node, lock);
	/* MO relaxed: the owner reads its own depth. */
	d = atomic_load_explicit(&t->depth, memory_order_relaxed);
	key = (d ? t->top->e[(d - 1) % LD_CHUNK].key : 0) + mix;
	if (!(flags & IORT__LD_TRY) && node != LD_NONE && d) {
		/* The configuration: the held set plus the target, marked as the target (held
		 * {A} taking B is not held {B} taking A). */
		uint64_t chain = key - mix + ((mix << 23 | mix >> 41) ^ 0x5bd1e9955bd1e995ull);
		struct ld_chunk *c = &t->first;
		bool miss = false;

		/* One held lock: one bit test. Deeper: the configuration first (one probe, where
		 * the bit tests would be d and likely miss on gated edges), then the bits. */
		if (d > 1 && ld_chain_hit(chain))
			goto push;
		for (unsigned i = 0; i < d && !miss; i++) {
			/* MO relaxed: the owner reads its own entry. */
			uint32_t from = atomic_load_explicit(&c->e[i % LD_CHUNK].node,
							     memory_order_relaxed);

			miss = from != LD_NONE && !ld_known(from, node);
			if (i % LD_CHUNK == LD_CHUNK - 1)
				/* MO relaxed: the owner reads its own link. */
				c = atomic_load_explicit(&c->next, memory_order_relaxed);
		}
		if (miss && (d > 1 || !ld_chain_hit(chain)))
			ld_acquire_slow(t, node, ip, chain, &out);
	}
push:
	if (!ld_push(t, lock, node, ip, key))
		t->partial = true; /* out of memory: the stack no longer shows every lock */
	if (out)
		ld_deliver(out);
}

void iort__ld_release(struct iort_lockdep_map *map, const void *lock)
{
	struct ld_thread *t = ld_thread();

	(void)map;
	if (iort_unlikely(!t))
		return;
	ld_unwait(t);
	if (iort_unlikely(!ld_pop(t, lock)) && !t->partial)
		ld_deliver(ld_misuse("unlock of a lock this thread does not hold", lock));
}

void iort__ld_wait_begin(const void *lock)
{
	struct ld_thread *t = ld_thread();

	if (iort_unlikely(!t))
		return;
	/* MO relaxed: the owner's counter; readers read it after ld.A3 / ld.A4. */
	atomic_store_explicit(&t->wgen, atomic_load_explicit(&t->wgen, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	/* MO ld.R2 (release): publish the stack (and wgen) with waiting; pairs with ld.A3 and
	 * ld.A4 in ld_blocked_holds(). */
	atomic_store_explicit(&t->waiting, lock, memory_order_release);
}

uint64_t iort__ld_stall_ns(void)
{
	/* MO relaxed: a setting. */
	return atomic_load_explicit(&ld_stall, memory_order_relaxed);
}

/* ---- the watchdog ---- */

/*
 * Whether @p h, blocked (I3; @p self: the caller, blocked by definition), holds @p lock below its
 * pending top entry. Sets *waits to the lock it waits for and *node to @p lock's node. A thread
 * whose stack is of another gen than the caller's @p gen shows nothing (I3). ld_reg_lock held (I2).
 */
static bool ld_blocked_holds(struct ld_thread *h, bool self, unsigned gen, const void *lock,
			     const void **waits, uint32_t *node)
{
	/* MO ld.A3 (acquire): see the stack as it was when h blocked; pairs with ld.R2 in
	 * iort__ld_wait_begin(). */
	const void *w1 = atomic_load_explicit(&h->waiting, memory_order_acquire), *w2, *top = NULL;
	/* MO relaxed: written before ld.R2, read after ld.A3. */
	unsigned g1 = atomic_load_explicit(&h->wgen, memory_order_relaxed), g2;
	unsigned d;
	struct ld_chunk *c = &h->first;
	bool holds = false;

	if (!w1 && !self)
		return false;
	/* MO ld.A5 (acquire): a current gen comes with the cleared stack; pairs with ld.R4 in
	 * ld_thread_slow(). A stack of an older gen is stale (the checker was off since it was
	 * written: the thread may have got its lock and let go of all): it shows nothing. */
	if (!self && atomic_load_explicit(&h->gen, memory_order_acquire) != gen)
		return false;
	if (!self)
		IORT_TP("lockdep.walk"); /* waiting and wgen read; the depth and stack not yet */
	/* MO relaxed: validated below (I3). */
	d = atomic_load_explicit(&h->depth, memory_order_relaxed);
	for (unsigned i = 0; i < d; i++) {
		const void *l;
		uint32_t n;

		if (i && i % LD_CHUNK == 0) {
			/* MO ld.A2 (acquire): see the chunk zeroed; pairs with ld.R3 in ld_push(). */
			c = atomic_load_explicit(&c->next, memory_order_acquire);
			if (!c)
				return false;
		}
		/* MO relaxed: validated below (I3). */
		l = atomic_load_explicit(&c->e[i % LD_CHUNK].lock, memory_order_relaxed);
		/* MO relaxed: validated below (I3). */
		n = atomic_load_explicit(&c->e[i % LD_CHUNK].node, memory_order_relaxed);
		if (i + 1 == d) {
			top = l;
		} else if (l == lock) {
			holds = true;
			*node = n;
		}
	}
	if (self) {
		*waits = top;
		return holds;
	}
	/* MO ld.F2 (acquire fence): if a stack read above saw a write made after h ran again,
	 * the reads below see waiting cleared or a new wgen; pairs with ld.F1 in ld_unwait(). */
	atomic_thread_fence(memory_order_acquire);
	/* MO ld.A4 (acquire): a new wait's value comes with its wgen; pairs with ld.R2 in
	 * iort__ld_wait_begin(). */
	w2 = atomic_load_explicit(&h->waiting, memory_order_acquire);
	/* MO relaxed: read after ld.A4. */
	g2 = atomic_load_explicit(&h->wgen, memory_order_relaxed);
	if (w1 != w2 || g1 != g2 || top != w1)
		return false;
	*waits = w1;
	return holds;
}

struct ld_link {
	long tid;
	const void *waits; /* the lock this thread waits for */
	uint32_t node;	   /* its node, from its holder's stack */
};

void iort__ld_stalled(const void *lock, uint64_t waited_ns)
{
	struct ld_thread *t0 = ld_thread(), *h, *seen[LD_MAX_WALK];
	struct ld_link chain[LD_MAX_WALK];
	char(*names)[300] = NULL;
	const char *np[LD_MAX_WALK];
	unsigned n = 1;
	uint64_t hash = 0;
	char *text = NULL;
	size_t tlen;
	FILE *f;

	unsigned gen;

	if (iort_unlikely(!t0))
		return;
	/* MO relaxed: our own gen, current as ld_thread() just made it. */
	gen = atomic_load_explicit(&t0->gen, memory_order_relaxed);
	chain[0] = (struct ld_link){ t0->tid, lock, LD_NONE };
	seen[0] = t0;
	pthread_mutex_lock(&ld_reg_lock);
	for (;;) {
		const void *w = NULL, *l = chain[n - 1].waits;
		uint32_t node = LD_NONE;

		for (h = ld_threads; h; h = h->next)
			if (ld_blocked_holds(h, h == t0, gen, l, &w, &node))
				break;
		if (!h)
			goto none; /* the holder runs, or nobody holds it: no deadlock through us */
		chain[n - 1].node = node;
		if (h == t0)
			break;
		for (unsigned i = 0; i < n; i++)
			if (seen[i] == h)
				goto none; /* a cycle that does not lead back to us: its own report */
		if (n == LD_MAX_WALK)
			goto none;
		seen[n] = h;
		chain[n++] = (struct ld_link){ h->tid, w, LD_NONE };
	}
	pthread_mutex_unlock(&ld_reg_lock);

	/* Once per cycle: the sum of a hash per (thread, lock) does not depend on where we start. */
	for (unsigned i = 0; i < n; i++)
		hash += ld_mix((uint32_t)chain[i].tid, chain[i].waits);
	names = malloc(n * sizeof(*names));
	if (!names)
		return;
	pthread_mutex_lock(&ld_lock);
	if (!ld_once(&ld_dl_reported, &ld_ndl, &ld_cap_dl, hash)) {
		pthread_mutex_unlock(&ld_lock);
		free(names);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		ld_node_name(names[i], sizeof(names[i]), chain[i].node);
		np[i] = names[i];
	}
	pthread_mutex_unlock(&ld_lock);
	f = open_memstream(&text, &tlen);
	if (f) {
		fprintf(f, "iort lockdep: deadlock: threads ");
		for (unsigned i = 0; i < n; i++)
			fprintf(f, "%ld -> ", chain[i].tid);
		fprintf(f, "%ld are blocked on each other\n", chain[0].tid);
		for (unsigned i = 0; i < n; i++) {
			fprintf(f, "  thread %ld waits for %s (lock %p) held by thread %ld",
				chain[i].tid, names[i], chain[i].waits, chain[(i + 1) % n].tid);
			if (i == 0)
				fprintf(f, " (waiting for %.3f ms)", (double)waited_ns / 1e6);
			fputc('\n', f);
		}
		fclose(f);
		ld_deliver(ld_report_new(IORT_LOCKDEP_DEADLOCK, text, np, n));
	}
	free(names);
	return;
none:
	pthread_mutex_unlock(&ld_reg_lock);
}

/* ---- the API ---- */

static void ld_set_mode(int mode)
{
	/* MO relaxed: settings; see lockdep-private.h. */
	int old = atomic_exchange_explicit(&ld_mode, mode, memory_order_relaxed);

	if (old == IORT_LOCKDEP_OFF && mode != IORT_LOCKDEP_OFF)
		/* MO relaxed: as above; a thread sees the new gen at its next hook at the latest
		 * when it sees the mode on (same thread's later loads, or a lock's ordering). */
		atomic_fetch_add_explicit(&ld_gen, 1, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&iort__ld_on, mode != IORT_LOCKDEP_OFF, memory_order_relaxed);
}

IORT_API int iort_lockdep_set_mode(enum iort_lockdep_mode mode)
{
	if (mode != IORT_LOCKDEP_OFF && mode != IORT_LOCKDEP_REPORT && mode != IORT_LOCKDEP_ABORT)
		return -EINVAL;
	/* MO relaxed: a setting. */
	atomic_store_explicit(&ld_since_start, false, memory_order_relaxed);
	ld_set_mode((int)mode);
	return 0;
}

IORT_API enum iort_lockdep_mode iort_lockdep_get_mode(void)
{
	/* MO relaxed: a setting. */
	return (enum iort_lockdep_mode)atomic_load_explicit(&ld_mode, memory_order_relaxed);
}

IORT_API void iort_lockdep_set_handler(iort_lockdep_handler *fn, void *arg)
{
	pthread_mutex_lock(&ld_lock);
	ld_handler = fn;
	ld_handler_arg = fn ? arg : NULL;
	pthread_mutex_unlock(&ld_lock);
}

IORT_API void iort_lockdep_set_stall_ns(uint64_t ns)
{
	/* MO relaxed: a setting. */
	atomic_store_explicit(&ld_stall, ns, memory_order_relaxed);
}

IORT_API void iort_lockdep_reset(void)
{
	pthread_mutex_lock(&ld_lock);
	for (uint32_t i = 0; i < LD_NODES; i++) {
		/* MO relaxed: no acquisition is in flight (the contract); rows stay allocated. */
		_Atomic uint64_t *row = atomic_load_explicit(&ld_rows[i], memory_order_relaxed);

		for (uint32_t w = 0; row && w < LD_WORDS; w++)
			/* MO relaxed: as above. */
			atomic_store_explicit(&row[w], 0, memory_order_relaxed);
		ld_out[i] = 0;
	}
	for (uint32_t i = 0; i < LD_CHAINS; i++)
		/* MO relaxed: as above. */
		atomic_store_explicit(&ld_chains[i], 0, memory_order_relaxed);
	ld_nedges = 1;
	if (ld_edge_hash)
		memset(ld_edge_hash, 0, ld_edge_hash_cap * sizeof(*ld_edge_hash));
	ld_nreported = 0;
	ld_ndl = 0;
	pthread_mutex_unlock(&ld_lock);
}

/*
 * fork() (I5): the child has one thread, but its copies of ld_lock and ld_reg_lock stay locked if
 * another thread held them at the fork, and the registry lists threads the child does not have.
 * So the fork takes both locks (registry first, the order iort__ld_stalled uses; no path holds
 * ld_lock while it takes ld_reg_lock), the parent releases them, and the child releases them
 * and keeps only its own thread's record.
 */
static void ld_fork_prepare(void)
{
	IORT_TP("lockdep.fork");
	pthread_mutex_lock(&ld_reg_lock);
	pthread_mutex_lock(&ld_lock);
}

static void ld_fork_parent(void)
{
	pthread_mutex_unlock(&ld_lock);
	pthread_mutex_unlock(&ld_reg_lock);
}

static void ld_fork_child(void)
{
	struct ld_thread *t = ld_threads, *next;

	while (t) {
		next = t->next;
		if (t != ld_self) {
			struct ld_chunk *c, *cn;

			/* MO relaxed: one thread in this process; nobody else reads. */
			for (c = atomic_load_explicit(&t->first.next, memory_order_relaxed); c;
			     c = cn) {
				/* MO relaxed: as above. */
				cn = atomic_load_explicit(&c->next, memory_order_relaxed);
				free(c);
			}
			free(t);
		}
		t = next;
	}
	ld_threads = ld_self;
	if (ld_self)
		ld_self->next = ld_self->prev = NULL;
	pthread_mutex_unlock(&ld_lock);
	pthread_mutex_unlock(&ld_reg_lock);
}

__attribute__((constructor)) static void ld_from_env(void)
{
	const char *v = getenv("IORT_LOCKDEP");

	if (pthread_atfork(ld_fork_prepare, ld_fork_parent, ld_fork_child))
		fputs("iort lockdep: pthread_atfork failed: a child of fork() may hang in the "
		      "checker\n",
		      stderr);
	if (!v || !*v || strcmp(v, "off") == 0)
		return;
	if (strcmp(v, "report") == 0) {
		ld_set_mode(IORT_LOCKDEP_REPORT);
	} else if (strcmp(v, "abort") == 0) {
		ld_set_mode(IORT_LOCKDEP_ABORT);
	} else {
		fprintf(stderr,
			"iort lockdep: IORT_LOCKDEP=%s: unknown value (expected off, report or "
			"abort); the checker stays off\n",
			v);
		return;
	}
	/* MO relaxed: set before main() runs, by the one thread there is. */
	atomic_store_explicit(&ld_since_start, true, memory_order_relaxed);
}

#else /* !IORT_LOCKDEP: the checker is compiled out; the API stays. */

IORT_API int iort_lockdep_set_mode(enum iort_lockdep_mode mode)
{
	(void)mode;
	return -ENOTSUP;
}

IORT_API enum iort_lockdep_mode iort_lockdep_get_mode(void)
{
	return IORT_LOCKDEP_OFF;
}

IORT_API void iort_lockdep_set_handler(iort_lockdep_handler *fn, void *arg)
{
	(void)fn, (void)arg;
}

IORT_API void iort_lockdep_set_stall_ns(uint64_t ns)
{
	(void)ns;
}

IORT_API void iort_lockdep_reset(void)
{
}

__attribute__((constructor)) static void ld_from_env(void)
{
	const char *v = getenv("IORT_LOCKDEP");

	if (v && *v && strcmp(v, "off") != 0)
		fprintf(stderr,
			"iort lockdep: IORT_LOCKDEP=%s ignored: libiort was built with "
			"-Dlockdep=disabled\n",
			v);
}

#endif
