/*
 * Gate benchmarks: the single-threaded hot paths whose instruction counts `iobench gate` (tier 1)
 * checks under valgrind's callgrind against results/baselines/gate.json.
 *
 *   gate/push_pop/<impl>            one push then one pop per iteration, on an empty queue
 *                                   (iort_spsc, iort_mpmc, iort_mpsc, iort_segq)
 *   gate/push_pop_bulk/iort_mpmc    one bulk push of GATE_BURST items, one bulk pop of as many
 *   gate/hist_record/iob_hist       one histogram record of a pseudo-random value (up to 2^35)
 *   gate/lock_unlock/iort_mutex     one lock and one unlock of a free mutex (the fast paths)
 *   gate/lockdep_known/iort_mutex   two nested locks and their unlocks with the lock-order
 *                                   checker on (REPORT): the known-edge path every checked
 *                                   acquisition takes once the program's lock order is known
 *   gate/backoff_next/iort_backoff  one iort_backoff_next() with full jitter at the cap (a draw
 *                                   from the per-thread xoshiro256**, seeded): the delay
 *                                   computation a retry loop pays per retry
 *   gate/spawn_join/iort_pool       one iort_pool_spawn() and one iort_task_join() of an empty task,
 *                                   inside a task on a one-worker pool: the join runs the child
 *                                   inline, so the loop is the spawn/run hot path (allocation from
 *                                   the worker's free list, queueing, claim, run, completion,
 *                                   release) on one thread, with no wake-ups
 *   gate/cancel_register/iort_cancel  one iort_cancel_register and one iort_cancel_unregister on
 *                                   a token nobody cancels: what every wait with a token and every
 *                                   task tied to one pays
 *   gate/scope_child/iort_scope     iort_scope_open, one empty child, iort_scope_join, inside a
 *                                   task on a one-worker pool (the child runs inline in the join):
 *                                   a scope's fixed cost plus one child's
 *   gate/timer_arm_fire/<kind>      iort_timers_arm() of a timer 3 ms ahead of the set's time,
 *                                   then iort_timers_advance() to that time, which fires it
 *                                   (iort_timers_wheel: the wheel, 1 ms tick: a level-0 slot,
 *                                   and every 64 ticks a level-1 cascade first;
 *                                   iort_timers_heap: the 4-ary heap)
 *   gate/timer_arm_cancel/<kind>    iort_timers_arm() of a timer 50 ms ahead, then
 *                                   iort_timers_cancel(), with 1000 other timers armed
 *                                   (a timeout that never fires)
 *   gate/post_run/iort_epoll        one iort_loop_post() and one iort_loop_run(IORT_RUN_NOWAIT) on
 *                                   a loop on epoll with nothing registered: the post's push and
 *                                   wake-up check (the loop is not asleep: no eventfd write), a
 *                                   turn that runs it, and the turn's non-blocking poll (its
 *                                   epoll_wait is a system call: callgrind counts our side)
 *   gate/ping_pong/iort_actor       one round trip between two actors on a one-worker pool: A
 *                                   sends B a ping, B answers with a pong (iort_tell: a message
 *                                   from the worker's free list each), each handled in an
 *                                   activation of its own, the receiver handed over to run next
 *                                   on the same worker (the actor send/receive hot path). The
 *                                   loop's function runs on the worker: it starts the exchange and
 *                                   joins a future that the exchange's end wakes, and that join
 *                                   runs the worker's queue, so both behaviours, the sends and the
 *                                   activations all run inside its call tree; A's behaviour calls
 *                                   iob_state_keep_running once per round trip. Items: messages
 *                                   (two per iteration)
 *   gate/selftest/cost              IOBENCH_GATE_SELFTEST_COST (default 100) steps of dependent
 *                                   arithmetic: a cost the tests can raise by a known fraction to
 *                                   prove the gate fails
 *
 * Counting only the loop: each benchmark's measured loop is its own function, named after the
 * benchmark with every character other than a letter or digit turned into '_'
 * (gate/push_pop/iort_spsc -> gate_push_pop_iort_spsc). The gate runs callgrind with
 * --toggle-collect=<that name> --collect-atstart=no, so pinning, queue creation and Google
 * Benchmark's own setup are not counted; iob_state_keep_running() and the calls the loop makes
 * are. The loop functions are never inlined or cloned (a clone would carry a suffixed name that
 * callgrind's toggle would miss), and the gate fails a benchmark whose symbol collected nothing.
 *
 * Each loop runs the same instructions every iteration (single thread, no waiting, no clock
 * reads), so Ir / iterations is reproducible run to run; segq's segment turnover (one per 1024
 * items) is part of its steady state. A payload check after the loop (a checksum or the popped
 * values) marks the run failed when the queue lost or reordered an item.
 *
 * items_processed: items pushed and popped (one per iteration, GATE_BURST for the bulk case), so
 * the same benchmarks serve tier 2's wall-clock comparison as throughput.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/actor.h>
#include <iort/cancel.h>
#include <iort/lockdep.h>
#include <iort/mpmc.h>
#include <iort/mutex.h>
#include <iort/mpsc.h>
#include <iort/pool.h>
#include <iort/reactor.h>
#include <iort/scope.h>
#include <iort/segq.h>
#include <iort/timer.h>
#include <iort/retry.h>
#include <iort/spsc.h>

#include "bench.h"
#include "hist.h"
#include "lock_impl.h"
#include "queue_impl.h"
#include "rimpl.h"

#define GATE_CAPACITY	  1024
#define GATE_BURST	  8
#define SELFTEST_DEFAULT  100
#define SELFTEST_MAX_COST 100000000L

/* Loops keep their own symbol: no inlining, and (gcc) no constprop/isra clones. */
#if defined(__clang__)
#define GATE_LOOP __attribute__((noinline, used))
#else
#define GATE_LOOP __attribute__((noinline, noclone, used))
#endif

/* Each loop returns a payload checksum; the caller compares it with the expected one. */
typedef uint64_t gate_loop_fn(struct iob_state *st, void *q);

/* --- the measured loops (symbol = benchmark name with non-alphanumerics as '_') --- */

GATE_LOOP static uint64_t gate_push_pop_iort_spsc(struct iob_state *st, void *q)
{
	uint64_t sum = 0, i = 1;
	void *out = NULL;

	while (iob_state_keep_running(st)) {
		if (!iort_spsc_try_push(q, (void *)(uintptr_t)i) || !iort_spsc_try_pop(q, &out))
			return UINT64_MAX;
		sum += (uintptr_t)out ^ i++;
	}
	return sum;
}

GATE_LOOP static uint64_t gate_push_pop_iort_mpmc(struct iob_state *st, void *q)
{
	uint64_t sum = 0, i = 1;
	void *out = NULL;

	while (iob_state_keep_running(st)) {
		if (!iort_mpmc_try_push(q, (void *)(uintptr_t)i) || !iort_mpmc_try_pop(q, &out))
			return UINT64_MAX;
		sum += (uintptr_t)out ^ i++;
	}
	return sum;
}

GATE_LOOP static uint64_t gate_push_pop_iort_segq(struct iob_state *st, void *q)
{
	uint64_t sum = 0, i = 1;
	void *out = NULL;

	while (iob_state_keep_running(st)) {
		if (iort_segq_push(q, (void *)(uintptr_t)i) || !iort_segq_try_pop(q, &out))
			return UINT64_MAX;
		sum += (uintptr_t)out ^ i++;
	}
	return sum;
}

GATE_LOOP static uint64_t gate_push_pop_iort_mpsc(struct iob_state *st, void *q)
{
	struct iort_mpsc_node node, *out;
	uint64_t sum = 0;

	while (iob_state_keep_running(st)) {
		iort_mpsc_push(q, &node);
		out = iort_mpsc_pop(q);
		sum += (uintptr_t)out ^ (uintptr_t)&node;
	}
	return sum;
}

GATE_LOOP static uint64_t gate_push_pop_bulk_iort_mpmc(struct iob_state *st, void *q)
{
	void *in[GATE_BURST], *out[GATE_BURST];
	uint64_t sum = 0, i = 1;

	while (iob_state_keep_running(st)) {
		for (int k = 0; k < GATE_BURST; k++)
			in[k] = (void *)(uintptr_t)(i + (uint64_t)k);
		if (iort_mpmc_try_push_bulk(q, in, GATE_BURST) != GATE_BURST ||
		    iort_mpmc_try_pop_bulk(q, out, GATE_BURST) != GATE_BURST)
			return UINT64_MAX;
		for (int k = 0; k < GATE_BURST; k++)
			sum += (uintptr_t)out[k] ^ (i + (uint64_t)k);
		i += GATE_BURST;
	}
	return sum;
}

GATE_LOOP static uint64_t gate_hist_record_iob_hist(struct iob_state *st, void *h)
{
	uint64_t x = 88172645463325252ull, dropped = 0;

	while (iob_state_keep_running(st)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		dropped += !iob_hist_record(h, (x & 0xfffff) << (x >> 60)); /* up to ~2^35 */
	}
	return dropped;
}

static long selftest_cost;

/* An LCG step per round: each depends on the last, and the empty asm hides x from the optimizer,
 * so the loop can be neither removed nor folded into a closed form. */
GATE_LOOP static uint64_t gate_selftest_cost(struct iob_state *st, void *arg)
{
	long cost = selftest_cost;
	uint64_t x = 1;

	(void)arg;
	while (iob_state_keep_running(st)) {
		for (long k = 0; k < cost; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			__asm__ volatile("" : "+r"(x));
		}
	}
	return x; /* not checked: any value is right */
}

/* --- setup, outside the counted loops --- */

static int spsc_new(void **obj)
{
	return iort_spsc_create(GATE_CAPACITY, (struct iort_spsc **)obj);
}

static void spsc_free(void *obj)
{
	iort_spsc_destroy(obj);
}

static int mpmc_new(void **obj)
{
	return iort_mpmc_create(GATE_CAPACITY, (struct iort_mpmc **)obj);
}

static void mpmc_free(void *obj)
{
	iort_mpmc_destroy(obj);
}

static int mpsc_new(void **obj)
{
	return iort_mpsc_create((struct iort_mpsc **)obj);
}

static void mpsc_free(void *obj)
{
	iort_mpsc_destroy(obj);
}

static int segq_new(void **obj)
{
	return iort_segq_create(0, (struct iort_segq **)obj);
}

static void segq_free(void *obj)
{
	iort_segq_destroy(obj);
}

/* Two mutexes and a counter they guard (the lock cases' structure). */
struct gate_locks {
	struct iort_mutex a, b;
	uint64_t counter;
};

GATE_LOOP static uint64_t gate_lock_unlock_iort_mutex(struct iob_state *st, void *obj)
{
	struct gate_locks *g = obj;
	uint64_t n = 0;

	while (iob_state_keep_running(st)) {
		iort_mutex_lock(&g->a);
		g->counter++;
		iort_mutex_unlock(&g->a);
		n++;
	}
	return g->counter - n; /* 0 unless an increment was lost */
}

GATE_LOOP static uint64_t gate_lockdep_known_iort_mutex(struct iob_state *st, void *obj)
{
	struct gate_locks *g = obj;
	uint64_t n = 0;

	while (iob_state_keep_running(st)) {
		iort_mutex_lock(&g->a);
		iort_mutex_lock(&g->b);
		g->counter++;
		iort_mutex_unlock(&g->b);
		iort_mutex_unlock(&g->a);
		n++;
	}
	return g->counter - n;
}

static int locks_new(void **obj)
{
	struct gate_locks *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	iort_mutex_init_class(&g->a, "gate.a");
	iort_mutex_init_class(&g->b, "gate.b");
	*obj = g;
	return 0;
}

static void locks_free(void *obj)
{
	struct gate_locks *g = obj;

	(void)iort_mutex_fini(&g->a);
	(void)iort_mutex_fini(&g->b);
	free(g);
}

/* The checker on: the edge gate.a -> gate.b is learned at the first iteration (and the warm-up
 * Google Benchmark runs before), so the measured iterations take the known-edge path. */
static int lockdep_new(void **obj)
{
	int r = iort_lockdep_set_mode(IORT_LOCKDEP_REPORT);

	if (r)
		return r; /* -ENOTSUP: built with -Dlockdep=disabled */
	r = locks_new(obj);
	if (r)
		(void)iort_lockdep_set_mode(IORT_LOCKDEP_OFF);
	return r;
}

static void lockdep_free(void *obj)
{
	locks_free(obj);
	(void)iort_lockdep_set_mode(IORT_LOCKDEP_OFF);
}

#define GATE_BACKOFF_CAP 1000000

/* Full jitter past the cap: every iteration draws random(0, cap), the same instructions each
 * time. The checksum counts delays out of [0, cap]. */
GATE_LOOP static uint64_t gate_backoff_next_iort_backoff(struct iob_state *st, void *obj)
{
	struct iort_backoff *b = obj;
	uint64_t bad = 0, d = 0;

	while (iob_state_keep_running(st)) {
		bad += iort_backoff_next(b, 0, &d) != 0 || d > GATE_BACKOFF_CAP;
	}
	return bad;
}

static int backoff_new(void **obj)
{
	struct iort_backoff *b = malloc(sizeof(*b));
	uint64_t d;
	int r;

	if (!b)
		return -ENOMEM;
	r = iort_backoff_init(b, IORT_JITTER_FULL, 1000, GATE_BACKOFF_CAP, IORT_DEADLINE_NONE);
	iort_retry_seed(1);
	for (int i = 0; r == 0 && i < 64; i++) /* to the cap: the steady state */
		r = iort_backoff_next(b, 0, &d);
	if (r) {
		free(b);
		return r;
	}
	*obj = b;
	return 0;
}

static int hist_new(void **obj)
{
	return iob_hist_create(1, 1ull << 36, 3, (struct iob_hist **)obj);
}

static void gate_never(void *arg)
{
	(*(uint64_t *)arg)++;
}

GATE_LOOP static uint64_t gate_cancel_register_iort_cancel(struct iob_state *st, void *obj)
{
	struct iort_cancel *c = obj;
	struct iort_cancel_cb cb;
	uint64_t ran = 0, kept = 0;

	while (iob_state_keep_running(st)) {
		if (iort_cancel_register(c, &cb, gate_never, &ran) != 0)
			return UINT64_MAX;
		kept += !iort_cancel_unregister(c, &cb);
	}
	return ran + kept; /* 0: never ran, always removed */
}

static int token_new(void **obj)
{
	struct iort_cancel *c = malloc(sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	iort_cancel_init(c);
	*obj = c;
	return 0;
}

static void token_free(void *obj)
{
	iort_cancel_fini(obj);
	free(obj);
}

/* The timer cases: a set with 1000 timers armed far ahead (never reached), and one to work on. */
#define GATE_TIMERS_RESIDENT 1000
#define GATE_MS		     1000000ull

struct gate_timers {
	struct iort_timers *s;
	struct iort_timer t;
	uint64_t fired;
	struct iort_timer resident[GATE_TIMERS_RESIDENT];
};

static void gate_timer_fn(struct iort_timer *t, void *arg)
{
	(void)t;
	(*(uint64_t *)arg)++;
}

static uint64_t gate_arm_fire(struct iob_state *st, struct gate_timers *g)
{
	uint64_t now = iort_timers_now(g->s), n = 0, fired0 = g->fired;

	while (iob_state_keep_running(st)) {
		now += 3 * GATE_MS;
		if (iort_timers_arm(g->s, &g->t, now) != 0)
			return UINT64_MAX;
		(void)iort_timers_advance(g->s, now);
		n++;
	}
	return g->fired - fired0 - n; /* 0: each fired once, in its own advance */
}

static uint64_t gate_arm_cancel(struct iob_state *st, struct gate_timers *g)
{
	uint64_t now = iort_timers_now(g->s), kept = 0;

	while (iob_state_keep_running(st)) {
		if (iort_timers_arm(g->s, &g->t, now + 50 * GATE_MS) != 0)
			return UINT64_MAX;
		kept += !iort_timers_cancel(g->s, &g->t);
	}
	return kept + g->fired; /* 0: every cancel found it armed, nothing fired */
}

GATE_LOOP static uint64_t gate_timer_arm_fire_iort_timers_wheel(struct iob_state *st, void *obj)
{
	return gate_arm_fire(st, obj);
}

GATE_LOOP static uint64_t gate_timer_arm_fire_iort_timers_heap(struct iob_state *st, void *obj)
{
	return gate_arm_fire(st, obj);
}

GATE_LOOP static uint64_t gate_timer_arm_cancel_iort_timers_wheel(struct iob_state *st, void *obj)
{
	return gate_arm_cancel(st, obj);
}

GATE_LOOP static uint64_t gate_timer_arm_cancel_iort_timers_heap(struct iob_state *st, void *obj)
{
	return gate_arm_cancel(st, obj);
}

static int timers_new(enum iort_timers_kind kind, void **obj)
{
	struct iort_timers_config cfg = { .kind = kind, .now_ns = 1000 * GATE_MS };
	struct gate_timers *g = calloc(1, sizeof(*g));
	int r;

	if (g == NULL)
		return -ENOMEM;
	r = iort_timers_create(&cfg, &g->s);
	iort_timer_init(&g->t, gate_timer_fn, &g->fired);
	for (int i = 0; r == 0 && i < GATE_TIMERS_RESIDENT; i++) {
		iort_timer_init(&g->resident[i], gate_timer_fn, &g->fired);
		/* a year and more ahead: never reached by the loops */
		r = iort_timers_arm(g->s, &g->resident[i], (1ull << 55) + (uint64_t)i * GATE_MS);
	}
	if (r != 0) {
		iort_timers_destroy(g->s);
		free(g);
		return r;
	}
	*obj = g;
	return 0;
}

static int timers_wheel_new(void **obj)
{
	return timers_new(IORT_TIMERS_WHEEL, obj);
}

static int timers_heap_new(void **obj)
{
	return timers_new(IORT_TIMERS_HEAP, obj);
}

static void timers_free(void *obj)
{
	struct gate_timers *g = obj;

	iort_timers_destroy(g->s);
	free(g);
}

/* The pool case: the measured loop runs inside a task on the pool's one worker. */
struct gate_pool {
	struct iort_pool *p;
	struct iob_state *st;
	uint64_t count, sum;
	bool scope; /* which loop the worker runs */
};

static void gate_pool_empty(void *arg)
{
	(*(uint64_t *)arg)++;
}

GATE_LOOP static uint64_t gate_spawn_join_iort_pool(struct iob_state *st, void *obj)
{
	struct gate_pool *g = obj;
	uint64_t n = 0;

	while (iob_state_keep_running(st)) {
		struct iort_task *t;
		if (iort_pool_spawn(g->p, gate_pool_empty, &g->count, &t) != 0 ||
		    iort_task_join(t) != 0)
			return UINT64_MAX;
		n++;
	}
	return g->count - n; /* 0 unless a task ran twice or not at all */
}

static int gate_scope_empty(void *arg, struct iort_cancel *token)
{
	(void)token;
	(*(uint64_t *)arg)++;
	return 0;
}

GATE_LOOP static uint64_t gate_scope_child_iort_scope(struct iob_state *st, void *obj)
{
	struct gate_pool *g = obj;
	uint64_t n = 0;

	while (iob_state_keep_running(st)) {
		struct iort_scope s;
		if (iort_scope_open(&s, g->p, IORT_SCOPE_ALL, IORT_DEADLINE_NONE, NULL) != 0 ||
		    iort_scope_spawn(&s, gate_scope_empty, &g->count) != 0 ||
		    iort_scope_join(&s) != 0)
			return UINT64_MAX;
		n++;
	}
	return g->count - n;
}

static void gate_pool_body(void *arg)
{
	struct gate_pool *g = arg;

	g->sum = g->scope ? gate_scope_child_iort_scope(g->st, g)
			  : gate_spawn_join_iort_pool(g->st, g);
}

/* Not measured: hands the loop to the worker and waits (the join's futex is outside it). */
static uint64_t gate_on_worker(struct iob_state *st, struct gate_pool *g, bool scope)
{
	struct iort_task *t;

	g->st = st;
	g->scope = scope;
	g->count = 0;
	g->sum = UINT64_MAX;
	if (iort_pool_spawn(g->p, gate_pool_body, g, &t) != 0)
		return UINT64_MAX;
	(void)iort_task_join(t);
	return g->sum;
}

static uint64_t gate_pool_run(struct iob_state *st, void *obj)
{
	return gate_on_worker(st, obj, false);
}

static uint64_t gate_scope_run(struct iob_state *st, void *obj)
{
	return gate_on_worker(st, obj, true);
}

static int pool_new(void **obj)
{
	struct iort_pool_config cfg = { .workers = 1 };
	struct gate_pool *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return -ENOMEM;
	int r = iort_pool_create(&cfg, &g->p);
	if (r != 0) {
		free(g);
		return r;
	}
	*obj = g;
	return 0;
}

static void pool_free(void *obj)
{
	struct gate_pool *g = obj;

	iort_pool_destroy(g->p);
	free(g);
}

/* The actor case (gate/ping_pong): two actors and the round's state, shared by both. */
struct gate_actors {
	struct iort_pool *p;
	struct iort_actors *sys;
	struct iort_aid a, b;
	struct iob_state *st;
	struct iort_waker *waker; /* the joined future's, while it waits */
	uint64_t pongs, sum;
	bool done, failed;
};

enum { GATE_START, GATE_PING, GATE_PONG };

/* Everything below runs on the pool's one worker: no field needs more than program order. */
static void gate_actors_finish(struct gate_actors *g)
{
	g->done = true;
	if (g->waker != NULL) {
		iort_waker_wake(g->waker);
		g->waker = NULL;
	}
}

static int gate_actor_ping(void *state, struct iort_msg *m)
{
	struct gate_actors *g = state;
	uint64_t v = 0;

	g->pongs += m->type == GATE_PONG;
	if (!iob_state_keep_running(g->st)) {
		gate_actors_finish(g);
		return IORT_ACTOR_CONTINUE;
	}
	if (iort_tell(g->b, GATE_PING, &v, sizeof(v)) != 0) {
		g->failed = true;
		gate_actors_finish(g);
	}
	return IORT_ACTOR_CONTINUE;
}

static int gate_actor_pong(void *state, struct iort_msg *m)
{
	struct gate_actors *g = state;
	uint64_t v = 0;

	if (iort_tell(m->from, GATE_PONG, &v, sizeof(v)) != 0) {
		g->failed = true;
		gate_actors_finish(g);
	}
	return IORT_ACTOR_CONTINUE;
}

static enum iort_poll gate_actors_poll(void *arg, struct iort_waker *w)
{
	struct gate_actors *g = arg;

	if (g->done)
		return IORT_READY;
	if (g->waker != NULL)
		iort_waker_drop(g->waker);
	g->waker = iort_waker_clone(w);
	return IORT_PENDING;
}

GATE_LOOP static uint64_t gate_ping_pong_iort_actor(struct iob_state *st, void *obj)
{
	struct gate_actors *g = obj;
	struct iort_spawn opt = { .poll = gate_actors_poll, .arg = g };
	struct iort_task *f;
	uint64_t v = 0;

	g->st = st;
	g->pongs = 0;
	g->done = g->failed = false;
	if (iort_pool_spawn_ex(g->p, &opt, &f) != 0)
		return UINT64_MAX;
	if (iort_tell(g->a, GATE_START, &v, sizeof(v)) != 0)
		gate_actors_finish(g);
	/* A future is never run inline by a join: the join runs the worker's queue (the
	 * activations) until the exchange's end wakes it. */
	(void)iort_task_join(f);
	if (g->failed)
		return UINT64_MAX;
	return g->pongs - (uint64_t)iob_state_iterations(st); /* 0 unless a pong was lost */
}

static void gate_actors_body(void *arg)
{
	struct gate_actors *g = arg;

	g->sum = gate_ping_pong_iort_actor(g->st, g);
}

/* Not measured: hands the loop to the worker and waits. */
static uint64_t gate_actors_run(struct iob_state *st, void *obj)
{
	struct gate_actors *g = obj;
	struct iort_task *t;

	g->st = st;
	g->sum = UINT64_MAX;
	if (iort_pool_spawn(g->p, gate_actors_body, g, &t) != 0)
		return UINT64_MAX;
	(void)iort_task_join(t);
	return g->sum;
}

static void actors_free(void *obj)
{
	struct gate_actors *g = obj;

	if (g->sys != NULL)
		iort_actors_destroy(g->sys);
	iort_pool_destroy(g->p);
	free(g);
}

static int actors_new(void **obj)
{
	struct iort_pool_config pc = { .workers = 1 };
	struct gate_actors *g = calloc(1, sizeof(*g));
	struct iort_actor_config ping = { .behavior = gate_actor_ping };
	struct iort_actor_config pong = { .behavior = gate_actor_pong };
	int r;

	if (g == NULL)
		return -ENOMEM;
	r = iort_pool_create(&pc, &g->p);
	if (r != 0) {
		free(g);
		return r;
	}
	ping.state = pong.state = g;
	r = iort_actors_create(g->p, NULL, &g->sys);
	if (r == 0)
		r = iort_actor_spawn(g->sys, &ping, &g->a);
	if (r == 0)
		r = iort_actor_spawn(g->sys, &pong, &g->b);
	if (r != 0) {
		actors_free(g);
		return r;
	}
	*obj = g;
	return 0;
}

/* A loop and one post, for gate/post_run. */
struct gate_loop {
	struct iort_loop *l;
	struct iort_post p;
	uint64_t ran;
};

static void gate_post_fn(struct iort_post *p)
{
	((struct gate_loop *)((char *)p - offsetof(struct gate_loop, p)))->ran++;
}

GATE_LOOP static uint64_t gate_post_run_iort_epoll(struct iob_state *st, void *obj)
{
	struct gate_loop *g = obj;
	uint64_t n = 0, bad = 0;

	g->ran = 0;
	while (iob_state_keep_running(st)) {
		bad += iort_loop_post(g->l, &g->p, gate_post_fn) != 0;
		bad += iort_loop_run(g->l, IORT_RUN_NOWAIT) < 0;
		n++;
	}
	return bad + (g->ran ^ n); /* 0 unless a post was lost, ran twice or failed */
}

static int loop_new(void **obj)
{
	struct iort_loop_config cfg = { .backend = IORT_BACKEND_EPOLL };
	struct gate_loop *g = calloc(1, sizeof(*g));
	int r;

	if (g == NULL)
		return -ENOMEM;
	r = iort_loop_create(&cfg, &g->l);
	if (r != 0) {
		free(g);
		return r;
	}
	*obj = g;
	return 0;
}

static void loop_free(void *obj)
{
	struct gate_loop *g = obj;

	iort_loop_destroy(g->l);
	free(g);
}

static void hist_free(void *obj)
{
	iob_hist_destroy(obj);
}

static const struct bench_scenario sc_push_pop = {
	.name = "gate/push_pop",
	.about = "one push then one pop on an empty queue",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_push_pop_bulk = {
	.name = "gate/push_pop_bulk",
	.about = "one bulk push of 8 items, one bulk pop of as many",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_hist_record = {
	.name = "gate/hist_record",
	.about = "one histogram record",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_lock_unlock = {
	.name = "gate/lock_unlock",
	.about = "one lock and one unlock of a free mutex",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_lockdep_known = {
	.name = "gate/lockdep_known",
	.about = "two nested locks with the lock-order checker on, edge already known",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_backoff_next = {
	.name = "gate/backoff_next",
	.about = "one backoff delay drawn (full jitter, at the cap)",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_spawn_join = {
	.name = "gate/spawn_join",
	.about = "one spawn and one join of an empty task, from a worker (runs inline)",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_cancel_register = {
	.name = "gate/cancel_register",
	.about = "register and unregister a callback on a token nobody cancels",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_scope_child = {
	.name = "gate/scope_child",
	.about = "open a scope, one empty child, join, from a worker (runs inline)",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_timer_arm_fire = {
	.name = "gate/timer_arm_fire",
	.about = "arm a timer 3 ms ahead, advance the set's time to it: it fires",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_timer_arm_cancel = {
	.name = "gate/timer_arm_cancel",
	.about = "arm a timer 50 ms ahead and cancel it (1000 others armed)",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_post_run = {
	.name = "gate/post_run",
	.about = "one post to an idle loop and one non-blocking turn that runs it",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_ping_pong = {
	.name = "gate/ping_pong",
	.about = "one round trip between two actors on a one-worker pool (two messages)",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};
static const struct bench_scenario sc_selftest = {
	.name = "gate/selftest",
	.about = "a known cost (IOBENCH_GATE_SELFTEST_COST steps) that proves the gate fails",
	.kind = BENCH_THROUGHPUT,
	.flags = BENCH_GATE,
};

static const struct bench_impl impl_iob_hist = {
	.name = "iob_hist",
	.origin = BENCH_HARNESS,
	.about = "iobench's HDR histogram (3 significant digits)"
};
static const struct bench_impl impl_iort_backoff = { .name = "iort_backoff",
						     .origin = BENCH_IORT,
						     .about = "iort_backoff_next (retry.h)" };
static const struct bench_impl impl_iort_pool_gate = {
	.name = "iort_pool",
	.origin = BENCH_IORT,
	.about = "iort_pool_spawn + iort_task_join (pool.h)"
};
static const struct bench_impl impl_iort_cancel_gate = {
	.name = "iort_cancel",
	.origin = BENCH_IORT,
	.about = "iort_cancel_register + iort_cancel_unregister (cancel.h)"
};
static const struct bench_impl impl_iort_scope_gate = {
	.name = "iort_scope",
	.origin = BENCH_IORT,
	.about = "iort_scope_open + iort_scope_spawn + iort_scope_join (scope.h)"
};
static const struct bench_impl impl_iort_timers_wheel = {
	.name = "iort_timers_wheel",
	.origin = BENCH_IORT,
	.about = "iort_timers (timer.h), the hierarchical wheel with a 1 ms tick, without a loop"
};
static const struct bench_impl impl_iort_timers_heap = {
	.name = "iort_timers_heap",
	.origin = BENCH_IORT,
	.about = "iort_timers (timer.h), the 4-ary heap, without a loop"
};
static const struct bench_impl impl_iort_actor_gate = {
	.name = "iort_actor",
	.origin = BENCH_IORT,
	.about =
		"iort_tell between two actors, each message handled in its own activation (actor.h)"
};
static const struct bench_impl impl_cost = { .name = "cost",
					     .origin = BENCH_HARNESS,
					     .about = "dependent arithmetic of a set length" };

/* One gate benchmark: its loop, the structure it runs on, and what a nonzero checksum means. */
struct gate_case {
	const struct bench_scenario *s;
	const struct bench_impl *impl;
	gate_loop_fn *loop;
	int (*create)(void **obj); /* NULL: the loop needs no structure */
	void (*destroy)(void *obj);
	const char *wrong; /* the failure a nonzero checksum reports; NULL: not checked */
	int items;	   /* per iteration */
};

/* Adding a hot path: its GATE_LOOP function above and one line here (and a baseline entry:
 * iobench gate --update-baseline). */
static const struct gate_case cases[] = {
	{ &sc_push_pop, &qimpl_iort_spsc.impl, gate_push_pop_iort_spsc, spsc_new, spsc_free,
	  "queue returned a wrong item", 1 },
	{ &sc_push_pop, &qimpl_iort_mpmc.impl, gate_push_pop_iort_mpmc, mpmc_new, mpmc_free,
	  "queue returned a wrong item", 1 },
	{ &sc_push_pop, &qimpl_iort_mpsc.impl, gate_push_pop_iort_mpsc, mpsc_new, mpsc_free,
	  "mpsc returned a wrong node", 1 },
	{ &sc_push_pop, &qimpl_iort_segq.impl, gate_push_pop_iort_segq, segq_new, segq_free,
	  "queue returned a wrong item", 1 },
	{ &sc_push_pop_bulk, &qimpl_iort_mpmc.impl, gate_push_pop_bulk_iort_mpmc, mpmc_new,
	  mpmc_free, "queue returned a wrong item", GATE_BURST },
	{ &sc_hist_record, &impl_iob_hist, gate_hist_record_iob_hist, hist_new, hist_free,
	  "histogram dropped a value in range", 1 },
	{ &sc_lock_unlock, &limpl_iort_mutex.impl, gate_lock_unlock_iort_mutex, locks_new,
	  locks_free, "the mutex lost an increment", 1 },
	{ &sc_lockdep_known, &limpl_iort_mutex.impl, gate_lockdep_known_iort_mutex, lockdep_new,
	  lockdep_free, "the mutex lost an increment", 1 },
	{ &sc_backoff_next, &impl_iort_backoff, gate_backoff_next_iort_backoff, backoff_new, free,
	  "a backoff delay out of [0, cap]", 1 },
	{ &sc_spawn_join, &impl_iort_pool_gate, gate_pool_run, pool_new, pool_free,
	  "a spawned task did not run exactly once", 1 },
	{ &sc_cancel_register, &impl_iort_cancel_gate, gate_cancel_register_iort_cancel, token_new,
	  token_free, "a callback ran or stayed registered", 1 },
	{ &sc_scope_child, &impl_iort_scope_gate, gate_scope_run, pool_new, pool_free,
	  "a scope's child did not run exactly once", 1 },
	{ &sc_timer_arm_fire, &impl_iort_timers_wheel, gate_timer_arm_fire_iort_timers_wheel,
	  timers_wheel_new, timers_free, "a timer did not fire exactly once, on time", 1 },
	{ &sc_timer_arm_fire, &impl_iort_timers_heap, gate_timer_arm_fire_iort_timers_heap,
	  timers_heap_new, timers_free, "a timer did not fire exactly once, on time", 1 },
	{ &sc_timer_arm_cancel, &impl_iort_timers_wheel, gate_timer_arm_cancel_iort_timers_wheel,
	  timers_wheel_new, timers_free, "a cancelled timer fired or was not armed", 1 },
	{ &sc_timer_arm_cancel, &impl_iort_timers_heap, gate_timer_arm_cancel_iort_timers_heap,
	  timers_heap_new, timers_free, "a cancelled timer fired or was not armed", 1 },
	{ &sc_post_run, &rimpl_iort_epoll.impl, gate_post_run_iort_epoll, loop_new, loop_free,
	  "a post was lost, ran twice or failed", 1 },
	{ &sc_ping_pong, &impl_iort_actor_gate, gate_actors_run, actors_new, actors_free,
	  "a pong was lost, or a send failed", 2 },
	{ &sc_selftest, &impl_cost, gate_selftest_cost, NULL, NULL, NULL, 1 },
};

static void bm_gate(struct iob_state *st, void *arg)
{
	const struct gate_case *c = arg;
	void *obj = NULL;
	uint64_t sum;

	if (bench_pin(st))
		return;
	if (c->create && c->create(&obj)) {
		iob_state_skip_with_error(st, "cannot create the structure under test");
		return;
	}
	sum = c->loop(st, obj);
	if (c->wrong && sum)
		iob_state_skip_with_error(st, c->wrong);
	if (c->loop == gate_selftest_cost)
		iob_state_counter(st, "cost", (double)selftest_cost, IOB_COUNTER_DEFAULT);
	iob_state_set_items_processed(st, iob_state_iterations(st) * c->items);
	if (c->destroy)
		c->destroy(obj);
}

static long selftest_cost_from_env(void)
{
	const char *s = getenv("IOBENCH_GATE_SELFTEST_COST");
	char *end;
	long v;

	if (!s || !*s)
		return SELFTEST_DEFAULT;
	v = strtol(s, &end, 10);
	if (*end || v < 1 || v > SELFTEST_MAX_COST) {
		fprintf(stderr,
			"iobench-bench: IOBENCH_GATE_SELFTEST_COST must be a whole number from 1 "
			"to "
			"%ld, not '%s'\n",
			SELFTEST_MAX_COST, s);
		exit(2);
	}
	return v;
}

static void register_all(void)
{
	selftest_cost = selftest_cost_from_env();
	/* One thread and no thread list: iob_bench_threads() would add "/threads:1" to the name. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bench_add(cases[i].s, cases[i].impl, bm_gate, (void *)&cases[i], NULL, 0, NULL);
}

const struct bench_family bench_family_gate = {
	.name = "gate",
	.about = "single-threaded hot paths whose instruction counts iobench gate checks",
	.register_all = register_all,
};
