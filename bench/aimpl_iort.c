/*
 * iort_actor: libiort's actors (runtime/include/iort/actor.h) on an iort_pool of cfg->workers
 * workers, used as their users would: C behaviours, messages made by iort_tell() (a header and
 * an inline payload from the worker's free list), every actor spawned by the round that uses it
 * and exiting by itself (IORT_ACTOR_STOP) or by iort_actor_stop() when the round is over. A round
 * ends when iort_actors_join() sees no actor alive; shapes whose actors live on until told
 * (threadring, big, mailbox_backpressure) first wait on a latch that the actor which finishes the
 * work opens.
 *
 * Checks beyond each shape's checksum: the system's dead-letter hook counts every message
 * discarded undelivered; in Savina's shapes there must be none (a message lost silently fails the
 * cell), and in mailbox_backpressure the drops it saw must equal the consumer's `dropped` metric.
 *
 * mailbox_backpressure: the producer is an actor. Each activation sends up to BP_BURST messages,
 * then sends itself a GO to continue (so the worker is yielded between bursts, as an actor
 * program must); it stops early when a send is refused (REJECT: it keeps the message and retries
 * it at its next activation) or muted (BACKPRESSURE: the message waits in its outbox, and the
 * runtime holds the producer until the consumer drains). `blocked` counts producer activations in
 * which its worker thread made a voluntary context switch (getrusage(RUSAGE_THREAD)): a send that
 * blocked the worker would show there; our sends never wait, so it must stay 0.
 *
 * Built when meson finds runtime/src/actor/actor.c (IOB_HAVE_IORT_ACTOR); before that the
 * descriptor skips with a message.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "aimpl.h"

#ifdef IOB_HAVE_IORT_ACTOR

#include <linux/futex.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <iort/actor.h>
#include <iort/clock.h>
#include <iort/pool.h>

#define ROUND_TIMEOUT_NS (120ull * 1000000000ull) /* a round that hangs fails, with -ETIMEDOUT */
#define BP_BURST	 64u

enum {
	M_START = 1,
	M_PING,
	M_PONG,
	M_TOKEN,
	M_INC,
	M_GET,
	M_RESULT,
	M_WORK,
	M_MEET,
	M_MATE,
	M_STOP,
	M_REPLY,
	M_DATA,
	M_GO
};

struct irt {
	struct iort_pool *pool;
	struct iort_actors *sys;
	/* The first error a behaviour met (0: none). */
	atomic_int err;
	/* Every dead letter, and those of the backpressure round's consumer. */
	_Atomic uint64_t dead, dead_bp;
	/* A count the round's actors bring to `target`; the one that reaches it opens the latch. */
	_Atomic uint64_t count IORT_CACHELINE_ALIGNED;
	uint64_t target;
	_Atomic uint32_t latch IORT_CACHELINE_ALIGNED;
	/* skynet's node states, kept from round to round */
	void *sky;
	uint64_t sky_nodes;
};

static uint64_t payload(struct iort_msg *m)
{
	uint64_t v;

	memcpy(&v, iort_msg_data(m), sizeof(v));
	return v;
}

static int tell(struct iort_aid to, uint32_t type, uint64_t v)
{
	return iort_tell(to, type, &v, sizeof(v));
}

/* A behaviour's unexpected error: remembered for the round, and the actor fails with it. */
static int fail(struct irt *rt, int rc)
{
	int zero = 0;

	/* MO relaxed: the round reads it after iort_actors_join(), which orders the actors'
	 * exits before its return. */
	atomic_compare_exchange_strong_explicit(&rt->err, &zero, rc, memory_order_relaxed,
						memory_order_relaxed);
	return rc;
}

/* --- the latch: the benchmark's thread sleeps on a futex until an actor opens it --- */

static void latch_arm(struct irt *rt, uint64_t target)
{
	/* MO relaxed: no actor of the round runs yet; the first send publishes these. */
	atomic_store_explicit(&rt->count, 0, memory_order_relaxed);
	rt->target = target;
	/* MO relaxed: as above. */
	atomic_store_explicit(&rt->latch, 0, memory_order_relaxed);
}

/* Count @p k; the actor that brings the count to the target opens the latch. */
static void latch_count(struct irt *rt, uint64_t k)
{
	/* MO aimpl_iort.R1 (acq_rel): each counter's writes reach the one that completes the
	 * count (its release sequence), then go on by aimpl_iort.R2;
	 * pairs with aimpl_iort.R1 in the other counters. */
	uint64_t n = atomic_fetch_add_explicit(&rt->count, k, memory_order_acq_rel) + k;

	if (n == rt->target) {
		/* MO aimpl_iort.R2 (release): the round's results before the latch;
		 * pairs with aimpl_iort.A1. */
		atomic_store_explicit(&rt->latch, 1, memory_order_release);
		syscall(SYS_futex, &rt->latch, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
}

/* @return 0, or -ETIMEDOUT when the latch stayed closed until @p deadline_ns. */
static int latch_wait(struct irt *rt, uint64_t deadline_ns)
{
	/* MO aimpl_iort.A1 (acquire): the counters' writes; pairs with aimpl_iort.R2. */
	while (!atomic_load_explicit(&rt->latch, memory_order_acquire)) {
		uint64_t now = iort_clock_ns();
		struct timespec ts;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		ts.tv_sec = (time_t)((deadline_ns - now) / 1000000000ull);
		ts.tv_nsec = (long)((deadline_ns - now) % 1000000000ull);
		syscall(SYS_futex, &rt->latch, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	}
	return 0;
}

/* The round's end: every actor has exited. @return the first behaviour error, -ETIMEDOUT. */
static int round_end(struct irt *rt, uint64_t deadline_ns)
{
	int rc = iort_actors_join(rt->sys, deadline_ns);

	/* MO relaxed: see fail(). */
	int err = atomic_load_explicit(&rt->err, memory_order_relaxed);

	return err ? err : rc;
}

static uint64_t deadline(void)
{
	return iort_clock_ns() + ROUND_TIMEOUT_NS;
}

static void dead_letter(void *ctx, struct iort_aid to, const struct iort_msg *m, int reason)
{
	struct irt *rt = ctx;

	(void)to;
	(void)reason;
	if (m->type == M_DATA) {
		/* MO relaxed: a count, read after the latch (aimpl_iort.A1) or the join. */
		atomic_fetch_add_explicit(&rt->dead_bp, 1, memory_order_relaxed);
		latch_count(rt, 1); /* a dropped message is accounted for */
	} else {
		/* MO relaxed: as above. */
		atomic_fetch_add_explicit(&rt->dead, 1, memory_order_relaxed);
	}
}

/* Before a round: no error, no dead letters. */
static void round_begin(struct irt *rt)
{
	/* MO relaxed: the previous round's actors have all exited (joined). */
	atomic_store_explicit(&rt->err, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&rt->dead, 0, memory_order_relaxed);
	/* MO relaxed: as above. */
	atomic_store_explicit(&rt->dead_bp, 0, memory_order_relaxed);
}

/* After a Savina round: a dead letter is a message lost. */
static void check_dead(struct irt *rt, struct ai_result *r)
{
	/* MO relaxed: after the join. */
	if (atomic_load_explicit(&rt->dead, memory_order_relaxed))
		r->fault = "a message was discarded undelivered (dead letter)";
}

static int spawn(struct irt *rt, iort_behavior_fn *fn, void *state, struct iort_aid *out)
{
	struct iort_actor_config cfg = { .behavior = fn, .state = state };

	return iort_actor_spawn(rt->sys, &cfg, out);
}

/* --- runtime --- */

static int ia_create(const struct ai_config *cfg, void **out, const char **why)
{
	struct iort_pool_config pc = { .workers = cfg->workers, .cpus = cfg->cpus };
	struct irt *rt = aligned_alloc(64, sizeof(*rt));
	struct iort_actors_config ac = { 0 };
	int rc;

	if (!rt)
		return -ENOMEM;
	memset(rt, 0, sizeof(*rt));
	atomic_init(&rt->err, 0);
	atomic_init(&rt->dead, 0);
	atomic_init(&rt->dead_bp, 0);
	atomic_init(&rt->count, 0);
	atomic_init(&rt->latch, 0);
	ac.dead_letter = dead_letter;
	ac.dead_letter_ctx = rt;
	rc = iort_pool_create(&pc, &rt->pool);
	if (rc) {
		*why = "iort_pool_create failed";
		free(rt);
		return rc;
	}
	rc = iort_actors_create(rt->pool, &ac, &rt->sys);
	if (rc) {
		*why = "iort_actors_create failed";
		iort_pool_destroy(rt->pool);
		free(rt);
		return rc;
	}
	*out = rt;
	return 0;
}

static void ia_destroy(void *p)
{
	struct irt *rt = p;

	iort_actors_destroy(rt->sys);
	iort_pool_destroy(rt->pool);
	free(rt->sky);
	free(rt);
}

/* --- pingpong --- */

struct pp {
	struct irt *rt;
	struct iort_aid peer;
	uint64_t n, pongs, handled;
};

static int pp_ping(void *state, struct iort_msg *m)
{
	struct pp *s = state;
	int rc;

	if (m->type == M_PONG) {
		s->handled++;
		if (++s->pongs == s->n) {
			if ((rc = iort_actor_stop(s->peer)))
				return fail(s->rt, rc);
			return IORT_ACTOR_STOP;
		}
	}
	if ((rc = tell(s->peer, M_PING, 0))) /* on M_START and after each pong */
		return fail(s->rt, rc);
	return IORT_ACTOR_CONTINUE;
}

static int pp_pong(void *state, struct iort_msg *m)
{
	struct pp *s = state;
	int rc;

	s->handled++;
	if ((rc = tell(m->from, M_PONG, 0)))
		return fail(s->rt, rc);
	return IORT_ACTOR_CONTINUE;
}

/*
 * A round of two actors: @p fb first, its address stored at @p peer (in @p sa), then @p fa,
 * which gets M_START; the round ends when both have exited.
 */
static int pair_round(struct irt *rt, iort_behavior_fn *fa, void *sa, iort_behavior_fn *fb,
		      void *sb, struct iort_aid *peer)
{
	struct iort_aid a, b;
	int rc, e;

	round_begin(rt);
	if ((rc = spawn(rt, fb, sb, &b)))
		return rc;
	*peer = b;
	if (!(rc = spawn(rt, fa, sa, &a)))
		rc = tell(a, M_START, 0);
	if (rc)
		(void)iort_actor_stop(b);
	e = round_end(rt, deadline());
	return rc ? rc : e;
}

static int ia_pingpong(void *p, uint64_t n, struct ai_result *r)
{
	struct irt *rt = p;
	struct pp st[2] = { { .rt = rt, .n = n }, { .rt = rt, .n = n } };
	int rc = pair_round(rt, pp_ping, &st[0], pp_pong, &st[1], &st[0].peer);

	r->check = st[0].pongs;
	r->messages = st[0].handled + st[1].handled;
	check_dead(rt, r);
	return rc;
}

/* --- threadring --- */

struct tr {
	struct irt *rt;
	struct iort_aid next;
	uint64_t hops, handled;
};

static int tr_actor(void *state, struct iort_msg *m)
{
	struct tr *s = state;
	uint64_t v = payload(m);
	int rc;

	s->handled++;
	if (v == 0) {
		latch_count(s->rt, 1);
		return IORT_ACTOR_CONTINUE;
	}
	s->hops++;
	if ((rc = tell(s->next, M_TOKEN, v - 1)))
		return fail(s->rt, rc);
	return IORT_ACTOR_CONTINUE;
}

/* Stop the @p n actors of @p a (those spawned) and end the round. */
static int stop_all(struct irt *rt, const struct iort_aid *a, unsigned n, int rc)
{
	int e;

	for (unsigned i = 0; i < n; i++)
		(void)iort_actor_stop(a[i]); /* -ESRCH: it failed, and the round says so */
	e = round_end(rt, deadline());
	return rc ? rc : e;
}

static int ia_threadring(void *p, unsigned actors, uint64_t hops, struct ai_result *r)
{
	struct irt *rt = p;
	struct tr *st = calloc(actors, sizeof(*st));
	struct iort_aid *a = calloc(actors, sizeof(*a));
	unsigned spawned = 0;
	int rc = 0;

	if (!st || !a) {
		free(st);
		free(a);
		return -ENOMEM;
	}
	round_begin(rt);
	latch_arm(rt, 1);
	for (; spawned < actors && !rc; spawned++) {
		st[spawned].rt = rt;
		if ((rc = spawn(rt, tr_actor, &st[spawned], &a[spawned])))
			break;
	}
	for (unsigned i = 0; !rc && i < actors; i++)
		st[i].next = a[(i + 1) % actors];
	if (!rc && !(rc = tell(a[0], M_TOKEN, hops)))
		rc = latch_wait(rt, deadline());
	rc = stop_all(rt, a, spawned, rc);
	for (unsigned i = 0; i < actors; i++) {
		r->check += st[i].hops;
		r->messages += st[i].handled;
	}
	check_dead(rt, r);
	free(st);
	free(a);
	return rc;
}

/* --- counting --- */

struct cnt {
	struct irt *rt;
	struct iort_aid peer;
	uint64_t n, count, result, handled;
};

static int cnt_producer(void *state, struct iort_msg *m)
{
	struct cnt *s = state;
	int rc = 0;

	if (m->type == M_START) {
		for (uint64_t i = 0; i < s->n && !rc; i++)
			rc = tell(s->peer, M_INC, 1);
		if (rc || (rc = tell(s->peer, M_GET, 0)))
			return fail(s->rt, rc);
		return IORT_ACTOR_CONTINUE;
	}
	s->handled++;
	s->result = payload(m); /* M_RESULT */
	return IORT_ACTOR_STOP;
}

static int cnt_counter(void *state, struct iort_msg *m)
{
	struct cnt *s = state;
	int rc;

	s->handled++;
	if (m->type == M_INC) {
		s->count += payload(m);
		return IORT_ACTOR_CONTINUE;
	}
	if ((rc = tell(m->from, M_RESULT, s->count)))
		return fail(s->rt, rc);
	return IORT_ACTOR_STOP;
}

static int ia_counting(void *p, uint64_t n, struct ai_result *r)
{
	struct irt *rt = p;
	struct cnt st[2] = { { .rt = rt, .n = n }, { .rt = rt, .n = n } };
	int rc = pair_round(rt, cnt_producer, &st[0], cnt_counter, &st[1], &st[0].peer);

	r->check = st[0].result;
	r->messages = st[0].handled + st[1].handled;
	check_dead(rt, r);
	return rc;
}

/* --- fjthrput --- */

struct fjt {
	uint64_t n, handled, acc;
};

static int fjt_actor(void *state, struct iort_msg *m)
{
	struct fjt *s = state;

	s->acc = ai_work(s->acc + payload(m));
	return ++s->handled < s->n ? IORT_ACTOR_CONTINUE : IORT_ACTOR_STOP;
}

static int ia_fjthrput(void *p, unsigned actors, uint64_t n, struct ai_result *r)
{
	struct irt *rt = p;
	struct fjt *st = calloc(actors, sizeof(*st));
	struct iort_aid *a = calloc(actors, sizeof(*a));
	unsigned spawned = 0;
	int rc = 0, e;

	if (!st || !a) {
		free(st);
		free(a);
		return -ENOMEM;
	}
	round_begin(rt);
	for (; spawned < actors && !rc; spawned++) {
		st[spawned].n = n;
		if ((rc = spawn(rt, fjt_actor, &st[spawned], &a[spawned])))
			break;
	}
	for (uint64_t k = 0; !rc && k < n; k++)
		for (unsigned i = 0; i < actors && !rc; i++)
			rc = tell(a[i], M_WORK, k);
	for (unsigned i = 0; rc && i < spawned; i++)
		(void)iort_actor_stop(a[i]);
	e = round_end(rt, deadline());
	rc = rc ? rc : e;
	for (unsigned i = 0; i < actors; i++)
		r->check += st[i].handled;
	r->messages = r->check;
	check_dead(rt, r);
	free(st);
	free(a);
	return rc;
}

/* --- fjcreate --- */

static int fjc_actor(void *state, struct iort_msg *m)
{
	*(uint64_t *)state = ai_work(payload(m)) | 1; /* nonzero: it ran */
	return IORT_ACTOR_STOP;
}

static int ia_fjcreate(void *p, uint64_t n, struct ai_result *r)
{
	struct irt *rt = p;
	uint64_t *ran = calloc(n, sizeof(*ran));
	int rc = 0, e;

	if (!ran)
		return -ENOMEM;
	round_begin(rt);
	for (uint64_t i = 0; i < n && !rc; i++) {
		struct iort_aid a;

		if (!(rc = spawn(rt, fjc_actor, &ran[i], &a)) && (rc = tell(a, M_WORK, i)))
			(void)iort_actor_stop(a);
	}
	e = round_end(rt, deadline());
	rc = rc ? rc : e;
	for (uint64_t i = 0; i < n; i++)
		r->check += ran[i] != 0;
	r->messages = r->check;
	check_dead(rt, r);
	free(ran);
	return rc;
}

/* --- big --- */

struct big {
	struct irt *rt;
	const struct iort_aid *peers;
	uint64_t n, pongs, handled, rng;
	unsigned self, w;
};

static int big_actor(void *state, struct iort_msg *m)
{
	struct big *s = state;
	unsigned peer;
	int rc;

	switch (m->type) {
	case M_PING:
		s->handled++;
		if ((rc = tell(m->from, M_PONG, 0)))
			return fail(s->rt, rc);
		return IORT_ACTOR_CONTINUE;
	case M_PONG:
		s->handled++;
		if (++s->pongs == s->n) {
			latch_count(s->rt, 1);
			return IORT_ACTOR_CONTINUE; /* keep answering the others' pings */
		}
		break;
	default: /* M_START */
		break;
	}
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	peer = (unsigned)(s->rng % (s->w - 1));
	peer += peer >= s->self;
	if ((rc = tell(s->peers[peer], M_PING, 0)))
		return fail(s->rt, rc);
	return IORT_ACTOR_CONTINUE;
}

static int ia_big(void *p, unsigned actors, uint64_t n, struct ai_result *r)
{
	struct irt *rt = p;
	struct big *st = calloc(actors, sizeof(*st));
	struct iort_aid *a = calloc(actors, sizeof(*a));
	unsigned spawned = 0;
	int rc = 0;

	if (!st || !a) {
		free(st);
		free(a);
		return -ENOMEM;
	}
	round_begin(rt);
	latch_arm(rt, actors);
	for (; spawned < actors && !rc; spawned++) {
		st[spawned] = (struct big){ .rt = rt,
					    .peers = a,
					    .n = n,
					    .self = spawned,
					    .w = actors,
					    .rng = 0x9e3779b97f4a7c15ull * (spawned + 1) };
		if ((rc = spawn(rt, big_actor, &st[spawned], &a[spawned])))
			break;
	}
	for (unsigned i = 0; i < actors && !rc; i++)
		rc = tell(a[i], M_START, 0);
	if (!rc)
		rc = latch_wait(rt, deadline());
	rc = stop_all(rt, a, spawned, rc);
	for (unsigned i = 0; i < actors; i++) {
		r->check += st[i].pongs;
		r->messages += st[i].handled;
	}
	check_dead(rt, r);
	free(st);
	free(a);
	return rc;
}

/* --- chameneos --- */

struct cham {
	struct irt *rt;
	struct iort_aid broker;
	uint64_t meetings, handled, colour;
};

struct broker {
	struct irt *rt;
	unsigned creatures, stopped;
	uint64_t left, handled;
	struct iort_aid waiting;
	uint64_t waiting_colour;
};

/* The colour two creatures of colours a and b both take: the third, or the same when equal. */
static uint64_t complement(uint64_t a, uint64_t b)
{
	return a == b ? a : 3 - a - b;
}

static int cham_creature(void *state, struct iort_msg *m)
{
	struct cham *s = state;
	int rc;

	if (m->type == M_STOP)
		return IORT_ACTOR_STOP;
	if (m->type == M_MATE) {
		s->handled++;
		s->meetings++;
		s->colour = complement(s->colour, payload(m));
	}
	if ((rc = tell(s->broker, M_MEET, s->colour)))
		return fail(s->rt, rc);
	return IORT_ACTOR_CONTINUE;
}

static int cham_broker(void *state, struct iort_msg *m)
{
	struct broker *b = state;
	int rc;

	b->handled++;
	if (b->left == 0) {
		if ((rc = tell(m->from, M_STOP, 0)))
			return fail(b->rt, rc);
		return ++b->stopped < b->creatures ? IORT_ACTOR_CONTINUE : IORT_ACTOR_STOP;
	}
	if (iort_aid_is_null(b->waiting)) {
		b->waiting = m->from;
		b->waiting_colour = payload(m);
		return IORT_ACTOR_CONTINUE;
	}
	if ((rc = tell(b->waiting, M_MATE, payload(m))) ||
	    (rc = tell(m->from, M_MATE, b->waiting_colour)))
		return fail(b->rt, rc);
	b->waiting = (struct iort_aid){ 0 };
	b->left--;
	return IORT_ACTOR_CONTINUE;
}

static int ia_chameneos(void *p, unsigned creatures, uint64_t meetings, struct ai_result *r)
{
	struct irt *rt = p;
	struct cham *st = calloc(creatures, sizeof(*st));
	struct iort_aid *a = calloc(creatures, sizeof(*a));
	struct broker bs = { .rt = rt, .creatures = creatures, .left = meetings };
	struct iort_aid broker;
	unsigned spawned = 0;
	int rc, e;

	if (!st || !a) {
		free(st);
		free(a);
		return -ENOMEM;
	}
	round_begin(rt);
	rc = spawn(rt, cham_broker, &bs, &broker);
	for (; spawned < creatures && !rc; spawned++) {
		st[spawned] = (struct cham){ .rt = rt, .broker = broker, .colour = spawned % 3 };
		if ((rc = spawn(rt, cham_creature, &st[spawned], &a[spawned])))
			break;
	}
	for (unsigned i = 0; i < creatures && !rc; i++)
		rc = tell(a[i], M_START, 0);
	if (rc) {
		for (unsigned i = 0; i < spawned; i++)
			(void)iort_actor_stop(a[i]);
		(void)iort_actor_stop(broker);
	}
	/* Each creature exits on the broker's stop, the broker after the last one's. */
	e = round_end(rt, deadline());
	rc = rc ? rc : e;
	r->messages = bs.handled;
	for (unsigned i = 0; i < creatures; i++) {
		r->check += st[i].meetings;
		r->messages += st[i].handled;
	}
	check_dead(rt, r);
	free(st);
	free(a);
	return rc;
}

/* --- skynet --- */

/*
 * A node of the tree, in heap order: node i's children are 10i+1 .. 10i+10. The states are the
 * benchmark's, one array kept from round to round (44 MB for a million leaves: allocating it per
 * round would time its page faults, not the actors).
 */
struct sky {
	struct iort_aid parent; /* {NULL, 0}: the root */
	uint64_t acc;
	uint32_t idx, num, size, replies;
};

static struct irt *sky_rt; /* the round's (benchmarks run one at a time) */
static struct sky *sky_nodes;

static int sky_node(void *state, struct iort_msg *m)
{
	struct sky *s = state;
	int rc;

	if (m->type == M_START) {
		if (s->size == 1) {
			if ((rc = tell(s->parent, M_REPLY, s->num)))
				return fail(sky_rt, rc);
			return IORT_ACTOR_STOP;
		}
		for (uint32_t k = 0; k < 10; k++) {
			struct sky *c = &sky_nodes[10 * (uint64_t)s->idx + 1 + k];
			struct iort_aid a;

			*c = (struct sky){ .parent = iort_self(),
					   .num = s->num + k * (s->size / 10),
					   .size = s->size / 10,
					   .idx = 10 * s->idx + 1 + k };
			if ((rc = spawn(sky_rt, sky_node, c, &a)))
				return fail(sky_rt, rc);
			if ((rc = tell(a, M_START, 0))) {
				(void)iort_actor_stop(a);
				return fail(sky_rt, rc);
			}
		}
		return IORT_ACTOR_CONTINUE;
	}
	s->acc += payload(m); /* M_REPLY */
	if (++s->replies < 10)
		return IORT_ACTOR_CONTINUE;
	if (!iort_aid_is_null(s->parent) && (rc = tell(s->parent, M_REPLY, s->acc)))
		return fail(sky_rt, rc);
	return IORT_ACTOR_STOP; /* the root: its acc is the round's result */
}

static int ia_skynet(void *p, uint64_t leaves, struct ai_result *r)
{
	struct irt *rt = p;
	uint64_t nodes = 0;
	struct iort_aid root;
	int rc, e;

	if (leaves > UINT32_MAX / 10)
		return -EINVAL;
	for (uint64_t k = leaves; k >= 1; k /= 10)
		nodes += k;
	if (!rt->sky || rt->sky_nodes < nodes) {
		free(rt->sky);
		rt->sky_nodes = 0;
		rt->sky = malloc(nodes * sizeof(struct sky));
		if (!rt->sky)
			return -ENOMEM;
		rt->sky_nodes = nodes;
	}
	sky_rt = rt;
	sky_nodes = rt->sky;
	round_begin(rt);
	sky_nodes[0] = (struct sky){ .size = (uint32_t)leaves };
	if (!(rc = spawn(rt, sky_node, &sky_nodes[0], &root)) && (rc = tell(root, M_START, 0)))
		(void)iort_actor_stop(root);
	e = round_end(rt, deadline());
	rc = rc ? rc : e;
	r->check = sky_nodes[0].acc;
	r->messages = 2 * nodes - 1;
	check_dead(rt, r);
	return rc;
}

/* --- mailbox_backpressure --- */

struct bp_prod {
	struct irt *rt;
	struct iort_aid consumer;
	uint64_t n, next;
	struct iort_msg *pending; /* refused by REJECT: sent again next time */
	uint64_t blocked;	  /* activations in which the worker blocked */
};

struct bp_cons {
	struct irt *rt;
	uint64_t work_ns, handled, next, first;
	bool exact, disorder;
};

static long vcsw(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) ? 0 : ru.ru_nvcsw;
}

static int bp_producer(void *state, struct iort_msg *m)
{
	struct bp_prod *s = state;
	long v0 = vcsw();
	unsigned k = 0;
	int rc = 0;

	(void)m; /* M_START, M_GO */
	while (s->next < s->n && k++ < BP_BURST) {
		struct iort_msg *d = s->pending;

		if (!d) {
			d = iort_msg_new(M_DATA, sizeof(uint64_t));
			if (!d)
				return fail(s->rt, -ENOMEM);
			memcpy(iort_msg_data(d), &s->next, sizeof(s->next));
		}
		s->pending = NULL;
		rc = iort_send(s->consumer, d);
		if (rc == -EAGAIN) {
			s->pending = d; /* REJECT: ours again; retried at the next activation */
			break;
		}
		if (rc < 0) {
			iort_msg_free(d);
			return fail(s->rt, rc);
		}
		s->next++;
		if (rc == IORT_SEND_MUTED)
			break; /* in the outbox; the runtime holds us after this activation */
	}
	if (vcsw() != v0)
		s->blocked++;
	if ((s->next < s->n || s->pending) && (rc = tell(iort_self(), M_GO, 0)) < 0)
		return fail(s->rt, rc);
	return IORT_ACTOR_CONTINUE; /* alive until the round stops it: its outbox drains first */
}

static void bp_producer_stop(void *state, int reason)
{
	struct bp_prod *s = state;

	(void)reason;
	iort_msg_free(s->pending);
	s->pending = NULL;
}

static int bp_consumer(void *state, struct iort_msg *m)
{
	struct bp_cons *s = state;
	uint64_t v = payload(m);

	bench_spin_until(iort_clock_fast_ns() + s->work_ns);
	if (v < s->next || (s->exact && v != s->next))
		s->disorder = true;
	if (!s->handled++)
		s->first = v;
	s->next = v + 1;
	latch_count(s->rt, 1);
	return IORT_ACTOR_CONTINUE;
}

static int ia_backpressure(void *p, enum ai_policy policy, uint32_t capacity, uint64_t n,
			   uint64_t work_ns, struct ai_result *r)
{
	static const enum iort_mailbox_policy map[] = {
		[AP_UNBOUNDED] = IORT_MAILBOX_REJECT, /* capacity 0: never applies */
		[AP_REJECT] = IORT_MAILBOX_REJECT,
		[AP_DROP_NEWEST] = IORT_MAILBOX_DROP_NEWEST,
		[AP_DROP_OLDEST] = IORT_MAILBOX_DROP_OLDEST,
		[AP_BACKPRESSURE] = IORT_MAILBOX_BACKPRESSURE,
	};
	struct irt *rt = p;
	struct bp_prod ps = { .rt = rt, .n = n };
	struct bp_cons cs = { .rt = rt,
			      .work_ns = work_ns,
			      .exact = policy != AP_DROP_NEWEST && policy != AP_DROP_OLDEST };
	struct iort_actor_config cc = { .behavior = bp_consumer,
					.state = &cs,
					.capacity = policy == AP_UNBOUNDED ? 0 : capacity,
					.policy = map[policy] };
	struct iort_actor_config pc = { .behavior = bp_producer,
					.state = &ps,
					.on_stop = bp_producer_stop };
	struct iort_actor_metrics cm = { 0 }, pm = { 0 };
	struct iort_aid a[2] = { { 0 } }; /* producer, consumer */
	int rc;

	round_begin(rt);
	latch_arm(rt, n);
	if (!(rc = iort_actor_spawn(rt->sys, &cc, &a[1]))) {
		ps.consumer = a[1];
		if (!(rc = iort_actor_spawn(rt->sys, &pc, &a[0])) && !(rc = tell(a[0], M_START, 0)))
			rc = latch_wait(rt, deadline());
	}
	if (!rc && !(rc = iort_actor_metrics(a[1], &cm)))
		rc = iort_actor_metrics(a[0], &pm);
	rc = stop_all(rt, a, 2, rc);
	r->messages = cs.handled;
	/* MO relaxed: after the join. */
	r->dropped = atomic_load_explicit(&rt->dead_bp, memory_order_relaxed);
	r->check = cs.handled + r->dropped;
	r->peak_depth = cm.depth_hwm;
	r->rejected = cm.rejected;
	r->muted_ns = pm.muted_ns;
	r->blocked = ps.blocked;
	r->fault = ai_bp_fault(policy, n, cs.handled, cs.first, cs.next, cs.disorder);
	if (!r->fault && cm.dropped != r->dropped)
		r->fault = "the consumer's dropped metric differs from the dead letters seen";
	check_dead(rt, r);
	return rc;
}

const struct aimpl aimpl_iort = {
	.impl = { .name = "iort_actor",
		  .origin = BENCH_IORT,
		  .about = "libiort's actors on iort_pool: MPSC mailboxes, bounded with a policy" },
	.create = ia_create,
	.destroy = ia_destroy,
	.pingpong = ia_pingpong,
	.threadring = ia_threadring,
	.counting = ia_counting,
	.fjthrput = ia_fjthrput,
	.fjcreate = ia_fjcreate,
	.big = ia_big,
	.chameneos = ia_chameneos,
	.skynet = ia_skynet,
	.backpressure = ia_backpressure,
};

#else

const struct aimpl aimpl_iort = {
	.impl = { .name = "iort_actor",
		  .origin = BENCH_IORT,
		  .missing = "iort_actor not built yet (runtime/src/actor/actor.c is not in this "
			     "tree)",
		  .about = "libiort's actors on iort_pool: MPSC mailboxes, bounded with a policy" },
};

#endif
