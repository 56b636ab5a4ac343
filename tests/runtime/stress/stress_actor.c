/*
 * Actors under load, oversubscribed (4 to 6 workers and 3 outside threads on 2 cores), seeded.
 *
 * Each round spawns thousands of actors with random mailboxes (unbounded, or a small capacity
 * under each of the four policies), batches and restart budgets. Each actor slot has K fixed
 * targets (half of them among a few hot slots, so mailboxes fill); two outside threads seed
 * messages (iort_send or iort_send_wait with a short deadline), and every handled message may
 * send more (a few, or a burst to one target, which mutes BACKPRESSURE senders and fills the
 * others' mailboxes). Some messages make their receiver fail (-EIO: restarted while it has
 * restarts left, then final) or stop itself. A chaos thread stops actors, respawns exited slots
 * (new records or recycled ones: old addresses must then fail with -ESRCH), links and monitors
 * them from watcher actors (also after they died: DOWN or EXIT at once with -ESRCH), and reads
 * metrics. Backpressure cycles form at random and are broken by stops.
 *
 * Checked:
 * - exactly-once accounting: every message created ends exactly once as handled (the behaviour
 *   returned CONTINUE or STOP), a dead letter (the hook: drops, the message of a failure, what
 *   an exit or a closed mailbox left), or refused (the send returned an error: the sender still
 *   owned it and freed it);
 * - per-sender order: each (sender slot, target) stream arrives with strictly increasing
 *   sequence numbers, across mutes, outboxes, restarts and the target's reincarnations;
 * - the depth never above the capacity (metrics read by the chaos thread, by actors on
 *   themselves, and at the end), m->from names the sending incarnation;
 * - every successful link and monitor produces exactly one EXIT / DOWN, naming the right actor
 *   with its exit reason (or -ESRCH); on_stop runs once per actor, on_start at most
 *   1 + max_restarts times;
 * - stopping every actor ends (no stall: stopping breaks backpressure cycles), destroy ends.
 * A hang fails through the watchdog with a backtrace.
 */
#include <iort/actor.h>
#include <iort/clock.h>
#include <iort/pool.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

#define MAX_SLOTS 3200
#define NW	  4  /* watcher slots: 0..NW-1 */
#define NOUT	  2  /* outside sender threads: pseudo-slots after the actors */
#define K	  8  /* targets per sender */
#define HOT	  32 /* the hot slots: NW..NW+HOT-1 */
#define MAX_INC	  32
#define MAX_MSGS  (1u << 22)
#define MAX_EXITS (1u << 18)

enum { T_DATA = 1 };
enum { F_FAIL = 1, F_STOP = 2 };

/* Fates of a message (added, so a second fate shows). */
#define FATE_HANDLED 1u
#define FATE_DEAD    16u
#define FATE_REFUSED 256u

struct payload {
	uint32_t sender; /* slot */
	uint32_t sinc;	 /* sender's incarnation (UINT32_MAX: an outside thread) */
	uint32_t k;	 /* which of the sender's targets */
	uint32_t id;	 /* fate index */
	uint64_t seq;	 /* per (sender, k), from 1 */
	uint8_t ttl, flags;
};

struct inc_rec {
	uint32_t slot;
	struct iort_aid aid;
	uint32_t cap, max_restarts;
	enum iort_mailbox_policy pol;
	_Atomic unsigned starts, stops;
	_Atomic int reason;
	_Atomic int exited;
	_Atomic int stop_called; /* iort_actor_stop was called on it */
};

struct slot {
	_Atomic unsigned ninc; /* incarnations spawned; the current one is incs[ninc - 1] */
	struct inc_rec incs[MAX_INC];
	uint32_t targets[K];
	uint64_t seq[K];     /* sender side: the last sequence number sent to targets[k] */
	uint64_t rx_last[K]; /* receiver side: the last one targets[k] handled */
	uint64_t rng;	     /* the current incarnation's (or outside thread's) stream */
};

struct exit_rec {
	uint32_t type;
	struct iort_aid who;
	int reason;
};

static struct slot *slots;
static unsigned nslots; /* actors this round (watchers included) */
static _Atomic uint16_t *fate;
static _Atomic uint32_t next_id;
static struct iort_actors *sys;
static struct exit_rec *exits;
static _Atomic unsigned nexits, exp_exits, exp_downs;
static _Atomic unsigned long n_esrch, n_eagain, n_muted, n_dropped_rc, n_refused, n_rt_dead,
	n_self_checks;
static _Atomic int stop_chaos;

static void fate_add(uint32_t id, unsigned how)
{
	STRESS_CHECK(id < atomic_load(&next_id));
	atomic_fetch_add(&fate[id], (uint16_t)how);
}

static struct inc_rec *current(uint32_t s)
{
	/* MO sactor.A1 (acquire): the incarnation's fields, written before its publication; pairs with sactor.R1 in spawn_inc(). */
	unsigned n = atomic_load_explicit(&slots[s].ninc, memory_order_acquire);

	STRESS_CHECK(n > 0);
	return &slots[s].incs[n - 1];
}

/* Send a new message from slot @p s (incarnation @p sinc) to its target @p k. From a behaviour
 * (@p wait false) or from an outside thread. */
static void send_new(uint32_t s, uint32_t sinc, uint32_t k, uint8_t ttl, bool wait)
{
	struct slot *me = &slots[s];
	struct inc_rec *to = current(me->targets[k]);
	struct payload p = {
		.sender = s,
		.sinc = sinc,
		.k = k,
		.seq = ++me->seq[k],
		.ttl = ttl,
	};
	uint64_t r = stress_rand(&me->rng);

	/* Failures and self-stops only off the hot slots: a hot slot that died would refuse most of
	 * the traffic (-ESRCH) until the chaos thread respawns it. */
	bool hot = me->targets[k] < NW + HOT;
	if (!hot && r % 211 == 0)
		p.flags |= F_FAIL;
	else if (!hot && r % 997 == 1)
		p.flags |= F_STOP;
	p.id = atomic_fetch_add(&next_id, 1);
	STRESS_CHECK(p.id < MAX_MSGS);
	struct iort_msg *m = iort_msg_new(T_DATA, sizeof(p));
	STRESS_CHECK(m != NULL);
	memcpy(iort_msg_data(m), &p, sizeof(p));
	int e;
	if (wait)
		e = iort_send_wait(to->aid, m, iort_clock_ns() + 100000 + r % 1000000, NULL);
	else
		e = iort_send(to->aid, m);
	if (e < 0) {
		STRESS_CHECK(e == -EAGAIN || e == -ESRCH || (wait && e == -ETIMEDOUT));
		iort_msg_free(m);
		fate_add(p.id, FATE_REFUSED);
		atomic_fetch_add(&n_refused, 1);
		if (e == -ESRCH)
			atomic_fetch_add(&n_esrch, 1);
		else if (e == -EAGAIN)
			atomic_fetch_add(&n_eagain, 1);
		return;
	}
	STRESS_CHECK(e == 0 || e == IORT_SEND_DROPPED || (e == IORT_SEND_MUTED && !wait));
	if (e == IORT_SEND_MUTED)
		atomic_fetch_add(&n_muted, 1);
	else if (e == IORT_SEND_DROPPED)
		atomic_fetch_add(&n_dropped_rc, 1);
}

static void on_dead(void *ctx, struct iort_aid to, const struct iort_msg *m, int reason)
{
	struct payload p;

	(void)ctx;
	(void)to;
	(void)reason;
	if (m->type != T_DATA) {
		atomic_fetch_add(&n_rt_dead, 1); /* an EXIT or DOWN nobody could take */
		return;
	}
	STRESS_CHECK(m->size == sizeof(p));
	memcpy(&p, iort_msg_data((struct iort_msg *)m), sizeof(p));
	fate_add(p.id, FATE_DEAD);
}

static int on_start(void *state)
{
	struct inc_rec *ir = state;

	STRESS_CHECK(atomic_fetch_add(&ir->starts, 1) <= ir->max_restarts);
	STRESS_CHECK(atomic_load(&ir->stops) == 0);
	return 0;
}

static void on_stop(void *state, int reason)
{
	struct inc_rec *ir = state;

	STRESS_CHECK(reason == 0 || reason == -EIO);
	STRESS_CHECK(atomic_fetch_add(&ir->stops, 1) == 0);
	atomic_store(&ir->reason, reason);
	atomic_store(&ir->exited, 1);
}

static void check_depth(const struct inc_rec *ir, const struct iort_actor_metrics *m)
{
	if (ir->cap != 0) {
		STRESS_CHECK(m->depth_hwm <= ir->cap);
		/* iort_actor_stop's marker is counted in the depth (test_actor's
		 * stop_on_full_mailbox asserts what the contract says). */
		STRESS_CHECK(m->depth <= ir->cap + (atomic_load(&ir->stop_called) ? 1u : 0u));
	}
}

static int watcher_behave(void *state, struct iort_msg *m)
{
	(void)state;
	STRESS_CHECK(m->type == IORT_MSG_EXIT || m->type == IORT_MSG_DOWN);
	STRESS_CHECK(m->size >= sizeof(struct iort_exit));
	unsigned i = atomic_fetch_add(&nexits, 1);
	STRESS_CHECK(i < MAX_EXITS);
	struct iort_exit x;
	memcpy(&x, iort_msg_data(m), sizeof(x));
	exits[i] = (struct exit_rec){ m->type, x.who, x.reason };
	return IORT_ACTOR_CONTINUE;
}

static int actor_behave(void *state, struct iort_msg *m)
{
	struct inc_rec *ir = state;
	struct slot *me = &slots[ir->slot];
	struct payload p;

	STRESS_CHECK(m->type == T_DATA && m->size == sizeof(p));
	memcpy(&p, iort_msg_data(m), sizeof(p));
	STRESS_CHECK(p.sender < nslots + NOUT && p.k < K);
	struct slot *from = &slots[p.sender];
	STRESS_CHECK(from->targets[p.k] == ir->slot);
	/* Per-sender order: strictly increasing (gaps are drops, refusals, failures). */
	STRESS_CHECK(p.seq > from->rx_last[p.k]);
	from->rx_last[p.k] = p.seq;
	if (p.sinc == UINT32_MAX)
		STRESS_CHECK(iort_aid_is_null(m->from));
	else
		STRESS_CHECK(iort_aid_eq(m->from, from->incs[p.sinc].aid));
	STRESS_CHECK(iort_aid_eq(iort_self(), ir->aid));
	if (p.flags & F_FAIL)
		return -EIO; /* this message: a dead letter */
	fate_add(p.id, FATE_HANDLED);

	uint32_t sinc = (uint32_t)(ir - me->incs);
	uint64_t r = stress_rand(&me->rng);
	if (p.ttl > 0) {
		if (r % 16 == 0) {
			uint32_t k = (uint32_t)(r >> 8) % K;
			for (int i = 0; i < 12; i++)
				send_new(ir->slot, sinc, k, 0, false);
		} else {
			for (uint64_t i = 0; i < (r >> 8) % 3; i++)
				send_new(ir->slot, sinc, (uint32_t)(stress_rand(&me->rng) % K),
					 (uint8_t)(p.ttl - 1), false);
		}
	}
	if (r % 64 == 3) {
		struct iort_actor_metrics mm;
		STRESS_CHECK(iort_actor_metrics(iort_self(), &mm) == 0);
		check_depth(ir, &mm);
		atomic_fetch_add(&n_self_checks, 1);
	}
	return (p.flags & F_STOP) ? IORT_ACTOR_STOP : IORT_ACTOR_CONTINUE;
}

/* Link or monitor @p a from a random watcher; counted when it succeeds. */
static void watch(struct iort_aid a, uint64_t *rng)
{
	uint64_t r = stress_rand(rng);
	struct iort_aid w = slots[r % NW].incs[0].aid;

	if ((r >> 8) % 4 == 0) {
		int e = iort_actor_monitor(w, a);
		STRESS_CHECK(e == 0);
		atomic_fetch_add(&exp_downs, 1);
	} else if ((r >> 8) % 4 == 1) {
		int e = iort_actor_link(w, a);
		STRESS_CHECK(e == 0);
		atomic_fetch_add(&exp_exits, 1);
	}
}

static void spawn_inc(uint32_t s, uint64_t *rng)
{
	static const uint32_t caps[] = { 1, 2, 3, 4, 8, 16 };
	struct slot *sl = &slots[s];
	unsigned n = atomic_load(&sl->ninc);
	struct inc_rec *ir = &sl->incs[n];
	uint64_t r = stress_rand(rng);

	memset(ir, 0, sizeof(*ir));
	ir->slot = s;
	ir->cap = r % 5 == 0 ? 0 : caps[(r >> 4) % 6];
	ir->pol = (enum iort_mailbox_policy)((r >> 8) % 4);
	ir->max_restarts = (uint32_t)((r >> 12) % 3);
	sl->rng = stress_rand(rng) | 1;
	struct iort_actor_config c = {
		.behavior = actor_behave,
		.state = ir,
		.on_start = on_start,
		.on_stop = on_stop,
		.capacity = ir->cap,
		.policy = ir->pol,
		.batch = (r >> 16) % 2 ? 0 : 1 + (uint32_t)((r >> 20) % 64),
		.max_restarts = ir->max_restarts,
		.restart_base_ns = (r >> 28) % 2 ? 0 : 10000,
		.restart_cap_ns = (r >> 28) % 2 ? 0 : 200000,
	};
	STRESS_CHECK(iort_actor_spawn(sys, &c, &ir->aid) == 0);
	/* MO sactor.R1 (release): publish the incarnation's fields and aid; pairs with sactor.A1 in current(). */
	atomic_store_explicit(&sl->ninc, n + 1, memory_order_release);
}

struct outside {
	uint32_t slot;
	long count;
};

static void *outside_main(void *arg)
{
	struct outside *o = arg;
	struct slot *me = &slots[o->slot];

	for (long i = 0; i < o->count; i++) {
		uint64_t r = stress_rand(&me->rng);
		send_new(o->slot, UINT32_MAX, (uint32_t)(r % K), (uint8_t)((r >> 8) % 5),
			 (r >> 16) % 2 == 0);
		if (i % 64 == 0)
			sched_yield();
	}
	return NULL;
}

struct chaos {
	uint64_t rng;
	long actions;
	unsigned stops, respawns, dead_watches, metric_checks;
};

static void *chaos_main(void *arg)
{
	struct chaos *c = arg;

	for (long i = 0; i < c->actions && !atomic_load(&stop_chaos); i++) {
		uint64_t r = stress_rand(&c->rng);
		/* A quarter of the actions on the hot slots (they take most of the traffic). */
		uint32_t s = NW + (uint32_t)((r >> 32) % 4 == 0 ? r % HOT : r % (nslots - NW));
		struct slot *sl = &slots[s];
		unsigned n = atomic_load(&sl->ninc);
		struct inc_rec *ir = &sl->incs[n - 1];
		if (atomic_load(&ir->exited)) {
			if ((r >> 8) % 4 == 0) {
				/* An address that died: at once, -ESRCH. */
				watch(ir->aid, &c->rng);
				c->dead_watches++;
			} else if (n < MAX_INC) {
				spawn_inc(s, &c->rng);
				watch(sl->incs[n].aid, &c->rng);
				c->respawns++;
			}
		} else if ((r >> 8) % 3 == 0) {
			atomic_store(&ir->stop_called, 1);
			int e = iort_actor_stop(ir->aid);
			STRESS_CHECK(e == 0 || e == -ESRCH);
			c->stops++;
		} else {
			struct iort_actor_metrics m;
			int e = iort_actor_metrics(ir->aid, &m);
			STRESS_CHECK(e == 0 || e == -ESRCH);
			if (e == 0)
				check_depth(ir, &m);
			c->metric_checks++;
		}
		if (i % 8 == 0)
			sched_yield();
	}
	return NULL;
}

/* Wait for an actor's on_stop; past 30 s, describe it and fail (the watchdog would only say
 * that the main thread waits). */
static void describe(const struct inc_rec *ir)
{
	struct iort_actor_metrics m = { 0 };
	int e = iort_actor_metrics(ir->aid, &m);

	fprintf(stderr,
		"  slot %u (%p gen %u) cap %u policy %d stop_called %d starts %u: metrics %d depth "
		"%" PRIu64 " hwm %" PRIu64 " handled %" PRIu64 " mutes %" PRIu64
		" activations %" PRIu64 "\n",
		ir->slot, (void *)ir->aid.a, ir->aid.gen, ir->cap, (int)ir->pol,
		atomic_load(&ir->stop_called), atomic_load(&ir->starts), e, m.depth, m.depth_hwm,
		m.handled, m.mutes, m.activations);
}

static void wait_exited(struct inc_rec *ir)
{
	uint64_t since = iort_clock_ns();

	while (!atomic_load(&ir->exited)) {
		if (iort_clock_ns() - since > 30000000000ull) {
			fprintf(stderr, "stuck after iort_actor_stop (every actor not exited):\n");
			for (unsigned s = NW; s < nslots; s++) {
				struct inc_rec *x = current(s);
				if (!atomic_load(&x->exited))
					describe(x);
			}
			STRESS_CHECK(!"an actor never exited after iort_actor_stop");
		}
		sched_yield();
	}
}

/* The exit reason an EXIT/DOWN about @p who may carry: that actor's, or -ESRCH. */
static void check_exit_rec(const struct exit_rec *x)
{
	for (unsigned s = NW; s < nslots; s++) {
		unsigned n = atomic_load(&slots[s].ninc);
		for (unsigned i = 0; i < n; i++) {
			const struct inc_rec *ir = &slots[s].incs[i];
			if (iort_aid_eq(ir->aid, x->who)) {
				STRESS_CHECK(x->reason == atomic_load(&ir->reason) ||
					     x->reason == -ESRCH);
				return;
			}
		}
	}
	STRESS_CHECK(!"an EXIT or DOWN about an actor nobody spawned");
}

int main(void)
{
	uint64_t rng = stress_seed("stress_actor");
	int rounds = (int)stress_scale(8);
	long per = stress_scale(150000);

	stress_watchdog(550);
	slots = calloc(MAX_SLOTS + NOUT, sizeof(*slots));
	fate = calloc(MAX_MSGS, sizeof(*fate));
	exits = calloc(MAX_EXITS, sizeof(*exits));
	STRESS_CHECK(slots && fate && exits);
	for (int round = 0; round < rounds; round++) {
		struct iort_pool_config pc = { .workers = 4 + (unsigned)(stress_rand(&rng) % 3),
					       .spin_ns = stress_rand(&rng) % 2 ? 1 : 0 };
		struct iort_actors_config ac = { .batch = 1 + (uint32_t)(stress_rand(&rng) % 64),
						 .chain = 1 + (uint32_t)(stress_rand(&rng) % 32),
						 .dead_letter = on_dead };
		struct iort_pool *pool;

		nslots = 2000 + (unsigned)(stress_rand(&rng) % 1000);
		memset(slots, 0, (MAX_SLOTS + NOUT) * sizeof(*slots));
		memset(fate, 0, MAX_MSGS * sizeof(*fate));
		atomic_store(&next_id, 0);
		atomic_store(&nexits, 0);
		atomic_store(&exp_exits, 0);
		atomic_store(&exp_downs, 0);
		atomic_store(&stop_chaos, 0);
		atomic_store(&n_muted, 0);
		atomic_store(&n_esrch, 0);
		atomic_store(&n_eagain, 0);
		atomic_store(&n_dropped_rc, 0);
		atomic_store(&n_refused, 0);
		atomic_store(&n_rt_dead, 0);
		atomic_store(&n_self_checks, 0);
		STRESS_CHECK(iort_pool_create(&pc, &pool) == 0);
		STRESS_CHECK(iort_actors_create(pool, &ac, &sys) == 0);

		/* Targets of every sender (actors and outside threads): half among the hot slots. */
		for (unsigned s = 0; s < nslots + NOUT; s++) {
			for (unsigned k = 0; k < K; k++) {
				uint64_t r = stress_rand(&rng);
				slots[s].targets[k] =
					(r & 1) ? NW + (uint32_t)((r >> 1) % HOT)
						: NW + (uint32_t)((r >> 1) % (nslots - NW));
			}
			slots[s].rng = stress_rand(&rng) | 1;
		}
		for (unsigned s = 0; s < NW; s++) {
			struct iort_actor_config wc = { .behavior = watcher_behave };
			STRESS_CHECK(iort_actor_spawn(sys, &wc, &slots[s].incs[0].aid) == 0);
			slots[s].incs[0].slot = s;
			atomic_store(&slots[s].ninc, 1);
		}
		for (unsigned s = NW; s < nslots; s++) {
			spawn_inc(s, &rng);
			watch(slots[s].incs[0].aid, &rng);
		}

		/* Outside senders are pseudo-slots nslots..nslots+NOUT-1. */
		pthread_t out[NOUT], ch;
		struct outside o[NOUT];
		struct chaos c = { .rng = stress_rand(&rng) | 1, .actions = stress_scale(4000) };
		STRESS_CHECK(pthread_create(&ch, NULL, chaos_main, &c) == 0);
		for (int i = 0; i < NOUT; i++) {
			o[i] = (struct outside){ .slot = nslots + (uint32_t)i, .count = per };
			STRESS_CHECK(pthread_create(&out[i], NULL, outside_main, &o[i]) == 0);
		}
		for (int i = 0; i < NOUT; i++)
			pthread_join(out[i], NULL);
		atomic_store(&stop_chaos, 1);
		pthread_join(ch, NULL);

		/* Depth bounds of every live actor, then stop them all (cycles included). */
		for (unsigned s = NW; s < nslots; s++) {
			struct inc_rec *ir = current(s);
			struct iort_actor_metrics m;
			int e = iort_actor_metrics(ir->aid, &m);
			STRESS_CHECK(e == 0 || e == -ESRCH);
			if (e == 0)
				check_depth(ir, &m);
			atomic_store(&ir->stop_called, 1);
			e = iort_actor_stop(ir->aid);
			STRESS_CHECK(e == 0 || e == -ESRCH);
		}
		unsigned incs = 0, starts = 0;
		for (unsigned s = NW; s < nslots; s++) {
			unsigned n = atomic_load(&slots[s].ninc);
			for (unsigned i = 0; i < n; i++) {
				struct inc_rec *ir = &slots[s].incs[i];
				wait_exited(ir);
				STRESS_CHECK(atomic_load(&ir->stops) == 1);
				incs++;
				starts += atomic_load(&ir->starts);
			}
		}
		/* Every exit reached its watchers before on_stop ran. */
		uint64_t since = iort_clock_ns();
		while (atomic_load(&nexits) < atomic_load(&exp_exits) + atomic_load(&exp_downs)) {
			if (iort_clock_ns() - since > 30000000000ull) {
				fprintf(stderr, "stuck: %u exits and downs of %u + %u\n",
					atomic_load(&nexits), atomic_load(&exp_exits),
					atomic_load(&exp_downs));
				STRESS_CHECK(!"a link or monitor message lost");
			}
			sched_yield();
		}
		/* on_stop runs inside the exit: the count of live actors follows soon after. */
		struct iort_actors_metrics sm;
		for (iort_actors_metrics(sys, &sm); sm.live != NW; iort_actors_metrics(sys, &sm))
			sched_yield();
		STRESS_CHECK(sm.spawned == NW + incs);
		iort_actors_destroy(sys);

		/* Exactly once. */
		uint32_t nmsg = atomic_load(&next_id);
		unsigned long handled = 0, dead = 0, refused = 0;
		for (uint32_t i = 0; i < nmsg; i++) {
			uint16_t f = atomic_load(&fate[i]);
			if (f != FATE_HANDLED && f != FATE_DEAD && f != FATE_REFUSED) {
				fprintf(stderr,
					"message %u: fate %u (1 handled, 16 dead, 256 refused)\n",
					i, f);
				STRESS_CHECK(!"a message lost or accounted twice");
			}
			handled += f == FATE_HANDLED;
			dead += f == FATE_DEAD;
			refused += f == FATE_REFUSED;
		}
		STRESS_CHECK(refused == atomic_load(&n_refused));
		if (sm.dead_letters != dead + atomic_load(&n_rt_dead))
			fprintf(stderr,
				"dead letters: the system counted %" PRIu64
				", the hook saw %lu messages and %lu EXIT/DOWN\n",
				sm.dead_letters, dead, atomic_load(&n_rt_dead));
		STRESS_CHECK(sm.dead_letters == dead + atomic_load(&n_rt_dead));
		/* Links and monitors: exactly one message each, right actor, right reason. */
		unsigned nx = atomic_load(&nexits), downs = 0, exs = 0;
		for (unsigned i = 0; i < nx; i++) {
			check_exit_rec(&exits[i]);
			downs += exits[i].type == IORT_MSG_DOWN;
			exs += exits[i].type == IORT_MSG_EXIT;
		}
		STRESS_CHECK(downs == atomic_load(&exp_downs));
		STRESS_CHECK(exs == atomic_load(&exp_exits));

		printf("round %d: workers=%u actors=%u incarnations=%u restarts=%u: %u msgs, %lu "
		       "handled, "
		       "%lu dead, %lu refused (%lu -ESRCH, %lu -EAGAIN); %lu DROPPED, %lu MUTED "
		       "sends; "
		       "%u exits+downs; chaos: %u stops, %u respawns, %u dead watches, %u metric "
		       "reads; %lu self checks\n",
		       round, pc.workers, nslots, incs, starts > incs ? starts - incs : 0, nmsg,
		       handled, dead, refused, atomic_load(&n_esrch), atomic_load(&n_eagain),
		       atomic_load(&n_dropped_rc), atomic_load(&n_muted), nx, c.stops, c.respawns,
		       c.dead_watches, c.metric_checks, atomic_load(&n_self_checks));
		fflush(stdout);
		iort_pool_destroy(pool);
	}
	free(slots);
	free(fate);
	free(exits);
	printf("stress_actor: ok\n");
	return 0;
}
