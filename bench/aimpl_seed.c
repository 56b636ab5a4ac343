/*
 * seed_actor: the actor system of the sketch the project started from, rebuilt in C. The sketch
 * (its "Actor System") gives every actor its own task and a bounded channel of 32 messages
 * (`mpsc::channel(32)`), and a send that waits while the channel is full; nothing is said about
 * scheduling, so each actor is a thread, as a task per actor on a thread pool would be with
 * blocking sends. Here:
 *
 *   - an actor is a pthread running receive / behave until the behaviour says stop;
 *   - its mailbox is a ring of 32 messages (by value) behind one mutex, with two condition
 *     variables (not empty, not full); a send locks, waits while the ring is full, copies the
 *     message in, signals, unlocks;
 *   - the threads are pinned round-robin to the run's worker PUs (cfg->cpus), so `workers:1`
 *     puts every actor of a round on one PU, as our one-worker pool does.
 *
 * Each round starts its actors' threads and joins them all: the round ends when every actor
 * has exited (thread creation is part of the seed's cost, as spawning is part of ours).
 *
 * mailbox_backpressure: the consumer's ring holds the scenario's capacity (not 32). The sketch's
 * only policy is the blocking send (backpressure): the producer's thread blocks; `blocked`
 * counts the sends that blocked it and muted_ns the time they waited. The other policies are
 * the least a mutex ring needs for them: reject is a try-send the producer retries after
 * sched_yield,
 * drop_newest a try-send whose message is discarded, drop_oldest discards the ring's head under
 * the lock, unbounded a ring that doubles when full.
 *
 * Unsupported: skynet (1,111,111 actors are as many threads).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <iort/clock.h>

#include "aimpl.h"

#define SEED_CAP   32u		/* the sketch's channel */
#define SEED_STACK (256u << 10) /* behaviours are shallow; 40,000 threads in fjcreate */
#define FJC_WINDOW 256u		/* fjcreate: threads alive at once, at most */

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
	M_DATA,
	M_STOP
};

struct sactor;

struct smsg {
	uint32_t type;
	struct sactor *from;
	uint64_t v;
};

/* The mailbox: a ring under one mutex. */
struct schan {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	struct smsg *buf;
	uint32_t cap, head, count;
	uint32_t peak; /* largest count after a push */
	bool grow;     /* unbounded: double instead of waiting */
};

typedef bool sbehave_fn(struct sactor *self, const struct smsg *m); /* false: stop */

struct sactor {
	struct schan ch;
	pthread_t t;
	sbehave_fn *behave;
	void *state;
	int cpu;
	bool started;
};

struct seed_rt {
	unsigned workers;
	int cpus[8];
	bool pinned;
	unsigned next; /* round-robin over the PUs */
};

/* --- channels --- */

static int chan_init(struct schan *c, uint32_t cap, bool grow)
{
	memset(c, 0, sizeof(*c));
	c->buf = malloc(cap * sizeof(*c->buf));
	if (!c->buf)
		return -ENOMEM;
	c->cap = cap;
	c->grow = grow;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->not_empty, NULL);
	pthread_cond_init(&c->not_full, NULL);
	return 0;
}

static void chan_fini(struct schan *c)
{
	pthread_cond_destroy(&c->not_full);
	pthread_cond_destroy(&c->not_empty);
	pthread_mutex_destroy(&c->mu);
	free(c->buf);
}

/* Under mu, with room. */
static void chan_put(struct schan *c, const struct smsg *m)
{
	c->buf[(c->head + c->count) % c->cap] = *m;
	if (++c->count > c->peak)
		c->peak = c->count;
	pthread_cond_signal(&c->not_empty);
}

/* Under mu, full: double the ring. @return false when out of memory. */
static bool chan_double(struct schan *c)
{
	struct smsg *nb = malloc(2 * (size_t)c->cap * sizeof(*nb));

	if (!nb)
		return false;
	for (uint32_t i = 0; i < c->count; i++)
		nb[i] = c->buf[(c->head + i) % c->cap];
	free(c->buf);
	c->buf = nb;
	c->head = 0;
	c->cap *= 2;
	return true;
}

/* The sketch's send: wait while full. @p blocked (may be NULL) counts the sends that waited and
 * the time they waited. */
struct sblocked {
	uint64_t sends, ns;
};

static void chan_send(struct schan *c, const struct smsg *m, struct sblocked *blocked)
{
	pthread_mutex_lock(&c->mu);
	if (c->count == c->cap && c->grow && chan_double(c)) {
		chan_put(c, m);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	if (c->count == c->cap) {
		uint64_t t0 = iort_clock_ns();

		while (c->count == c->cap)
			pthread_cond_wait(&c->not_full, &c->mu);
		if (blocked) {
			blocked->sends++;
			blocked->ns += iort_clock_ns() - t0;
		}
	}
	chan_put(c, m);
	pthread_mutex_unlock(&c->mu);
}

/* A send that never waits: @return false when full (nothing queued). With @p evict, a full
 * ring drops its oldest message instead (@p *evicted counts it) and the send succeeds. */
static bool chan_try_send(struct schan *c, const struct smsg *m, bool evict, uint64_t *evicted)
{
	pthread_mutex_lock(&c->mu);
	if (c->count == c->cap) {
		if (!evict) {
			pthread_mutex_unlock(&c->mu);
			return false;
		}
		c->head = (c->head + 1) % c->cap;
		c->count--;
		(*evicted)++;
	}
	chan_put(c, m);
	pthread_mutex_unlock(&c->mu);
	return true;
}

static void chan_recv(struct schan *c, struct smsg *out)
{
	pthread_mutex_lock(&c->mu);
	while (!c->count)
		pthread_cond_wait(&c->not_empty, &c->mu);
	*out = c->buf[c->head];
	c->head = (c->head + 1) % c->cap;
	c->count--;
	pthread_cond_signal(&c->not_full);
	pthread_mutex_unlock(&c->mu);
}

/* --- actors --- */

static void *actor_main(void *arg)
{
	struct sactor *a = arg;
	struct smsg m;

	if (a->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(a->cpu, &set);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	do
		chan_recv(&a->ch, &m);
	while (a->behave(a, &m));
	return NULL;
}

static int actor_init(struct seed_rt *rt, struct sactor *a, sbehave_fn *fn, void *state,
		      uint32_t cap, bool grow)
{
	memset(a, 0, sizeof(*a));
	a->behave = fn;
	a->state = state;
	a->cpu = rt->pinned ? rt->cpus[rt->next++ % rt->workers] : -1;
	return chan_init(&a->ch, cap, grow);
}

static int actor_start(struct sactor *a)
{
	pthread_attr_t attr;
	int rc;

	if (pthread_attr_init(&attr))
		return -ENOMEM;
	rc = pthread_attr_setstacksize(&attr, SEED_STACK) ? -EINVAL : 0;
	if (!rc && pthread_create(&a->t, &attr, actor_main, a))
		rc = -EAGAIN;
	pthread_attr_destroy(&attr);
	a->started = !rc;
	return rc;
}

/* Join a started actor's thread and free its mailbox. */
static void actor_join(struct sactor *a)
{
	if (a->started)
		pthread_join(a->t, NULL);
	a->started = false;
	chan_fini(&a->ch);
}

static void tell(struct sactor *to, uint32_t type, struct sactor *from, uint64_t v)
{
	struct smsg m = { .type = type, .from = from, .v = v };

	chan_send(&to->ch, &m, NULL);
}

/* A group of n actors with one behaviour and per-actor states of @p ssize bytes. */
struct group {
	struct sactor *a;
	unsigned n, inited;
};

static int group_start(struct seed_rt *rt, struct group *g, unsigned n, sbehave_fn *fn,
		       void *states, size_t ssize)
{
	int rc = 0;

	g->n = n;
	g->inited = 0;
	g->a = calloc(n, sizeof(*g->a));
	if (!g->a)
		return -ENOMEM;
	for (; g->inited < n && !rc; g->inited++) {
		rc = actor_init(rt, &g->a[g->inited], fn, (char *)states + ssize * g->inited,
				SEED_CAP, false);
		if (rc)
			break;
		rc = actor_start(&g->a[g->inited]);
	}
	return rc;
}

/* Stop (when @p stop) and join every actor of the group. */
static void group_end(struct group *g, bool stop)
{
	for (unsigned i = 0; stop && i < g->inited; i++)
		if (g->a[i].started)
			tell(&g->a[i], M_STOP, NULL, 0);
	for (unsigned i = 0; i < g->inited; i++)
		actor_join(&g->a[i]);
	free(g->a);
	g->a = NULL;
}

/* The benchmark's thread waits for @p n reports (a mutex latch: the sketch has nothing else). */
struct slatch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t left;
};

static void latch_init(struct slatch *l, uint64_t n)
{
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->left = n;
}

static void latch_count(struct slatch *l)
{
	pthread_mutex_lock(&l->mu);
	if (--l->left == 0)
		pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static void latch_fini(struct slatch *l)
{
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
}

static void latch_wait(struct slatch *l)
{
	pthread_mutex_lock(&l->mu);
	while (l->left)
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
}

/* --- runtime --- */

static int seed_create(const struct ai_config *cfg, void **rt, const char **why)
{
	struct seed_rt *r = calloc(1, sizeof(*r));

	(void)why;
	if (!r)
		return -ENOMEM;
	r->workers = cfg->workers ? cfg->workers : 1;
	if (r->workers > 8)
		r->workers = 8;
	r->pinned = cfg->cpus != NULL;
	for (unsigned i = 0; r->pinned && i < r->workers; i++)
		r->cpus[i] = cfg->cpus[i];
	*rt = r;
	return 0;
}

static void seed_destroy(void *rt)
{
	free(rt);
}

/* --- pingpong --- */

struct pp {
	struct sactor *peer;
	uint64_t n, pongs, handled;
};

static bool pp_ping(struct sactor *self, const struct smsg *m)
{
	struct pp *s = self->state;

	if (m->type == M_PONG) {
		s->handled++;
		if (++s->pongs == s->n) {
			tell(s->peer, M_STOP, self, 0);
			return false;
		}
	}
	tell(s->peer, M_PING, self, 0); /* on M_START and after each pong */
	return true;
}

static bool pp_pong(struct sactor *self, const struct smsg *m)
{
	struct pp *s = self->state;

	if (m->type == M_STOP)
		return false;
	s->handled++;
	tell(m->from, M_PONG, self, 0);
	return true;
}

static int seed_pingpong(void *rt, uint64_t n, struct ai_result *r)
{
	struct pp st[2] = { { .n = n }, { .n = n } };
	struct sactor a[2];
	int rc;

	if ((rc = actor_init(rt, &a[0], pp_ping, &st[0], SEED_CAP, false)))
		return rc;
	if ((rc = actor_init(rt, &a[1], pp_pong, &st[1], SEED_CAP, false))) {
		chan_fini(&a[0].ch);
		return rc;
	}
	st[0].peer = &a[1];
	st[1].peer = &a[0];
	if (!(rc = actor_start(&a[1])) && !(rc = actor_start(&a[0])))
		tell(&a[0], M_START, NULL, 0);
	else if (a[1].started)
		tell(&a[1], M_STOP, NULL, 0);
	actor_join(&a[0]);
	actor_join(&a[1]);
	r->check = st[0].pongs;
	r->messages = st[0].handled + st[1].handled;
	return rc;
}

/* --- threadring --- */

struct tr {
	struct sactor *next;
	struct slatch *done;
	uint64_t hops, handled;
};

static bool tr_actor(struct sactor *self, const struct smsg *m)
{
	struct tr *s = self->state;

	if (m->type == M_STOP)
		return false;
	s->handled++;
	if (m->v == 0)
		latch_count(s->done);
	else {
		s->hops++;
		tell(s->next, M_TOKEN, self, m->v - 1);
	}
	return true;
}

static int seed_threadring(void *rt, unsigned actors, uint64_t hops, struct ai_result *r)
{
	struct tr *st = calloc(actors, sizeof(*st));
	struct group g = { 0 };
	struct slatch done;
	int rc;

	if (!st)
		return -ENOMEM;
	latch_init(&done, 1);
	rc = group_start(rt, &g, actors, tr_actor, st, sizeof(*st));
	for (unsigned i = 0; g.a && i < actors; i++) {
		st[i].next = &g.a[(i + 1) % actors];
		st[i].done = &done;
	}
	if (!rc) {
		tell(&g.a[0], M_TOKEN, NULL, hops);
		latch_wait(&done);
	}
	group_end(&g, true);
	latch_fini(&done);
	for (unsigned i = 0; !rc && i < actors; i++) {
		r->check += st[i].hops;
		r->messages += st[i].handled;
	}
	free(st);
	return rc;
}

/* --- counting --- */

struct cnt {
	struct sactor *peer;
	uint64_t n, count, result, handled;
};

static bool cnt_producer(struct sactor *self, const struct smsg *m)
{
	struct cnt *s = self->state;

	if (m->type == M_START) {
		for (uint64_t i = 0; i < s->n; i++)
			tell(s->peer, M_INC, self, 1);
		tell(s->peer, M_GET, self, 0);
		return true;
	}
	s->handled++;
	s->result = m->v; /* M_RESULT */
	return false;
}

static bool cnt_counter(struct sactor *self, const struct smsg *m)
{
	struct cnt *s = self->state;

	s->handled++;
	if (m->type == M_INC) {
		s->count += m->v;
		return true;
	}
	tell(m->from, M_RESULT, self, s->count);
	return false;
}

static int seed_counting(void *rt, uint64_t n, struct ai_result *r)
{
	struct cnt st[2] = { { .n = n }, { .n = n } };
	struct sactor a[2];
	int rc;

	if ((rc = actor_init(rt, &a[0], cnt_producer, &st[0], SEED_CAP, false)))
		return rc;
	if ((rc = actor_init(rt, &a[1], cnt_counter, &st[1], SEED_CAP, false))) {
		chan_fini(&a[0].ch);
		return rc;
	}
	st[0].peer = &a[1];
	if (!(rc = actor_start(&a[1])) && !(rc = actor_start(&a[0])))
		tell(&a[0], M_START, NULL, 0);
	else if (a[1].started)
		tell(&a[1], M_GET, NULL, 0); /* it answers nobody and exits */
	actor_join(&a[0]);
	actor_join(&a[1]);
	r->check = st[0].result;
	r->messages = st[0].handled + st[1].handled;
	return rc;
}

/* --- fjthrput --- */

struct fjt {
	uint64_t n, handled, acc;
};

static bool fjt_actor(struct sactor *self, const struct smsg *m)
{
	struct fjt *s = self->state;

	if (m->type == M_STOP)
		return false;
	s->acc = ai_work(s->acc + m->v);
	return ++s->handled < s->n;
}

static int seed_fjthrput(void *rt, unsigned actors, uint64_t n, struct ai_result *r)
{
	struct fjt *st = calloc(actors, sizeof(*st));
	struct group g = { 0 };
	int rc;

	if (!st)
		return -ENOMEM;
	for (unsigned i = 0; i < actors; i++)
		st[i].n = n;
	rc = group_start(rt, &g, actors, fjt_actor, st, sizeof(*st));
	for (uint64_t k = 0; !rc && k < n; k++)
		for (unsigned i = 0; i < actors; i++)
			tell(&g.a[i], M_WORK, NULL, k);
	group_end(&g, rc != 0);
	for (unsigned i = 0; !rc && i < actors; i++)
		r->check += st[i].handled;
	r->messages = r->check;
	free(st);
	return rc;
}

/* --- fjcreate --- */

static bool fjc_actor(struct sactor *self, const struct smsg *m)
{
	uint64_t *ran = self->state;

	*ran = ai_work(m->v) | 1; /* nonzero: it ran */
	return false;
}

static int seed_fjcreate(void *rt, uint64_t n, struct ai_result *r)
{
	struct sactor *a = calloc(FJC_WINDOW, sizeof(*a));
	uint64_t *ran = calloc(FJC_WINDOW, sizeof(*ran));
	uint64_t i = 0;
	int rc = 0;

	if (!a || !ran) {
		free(a);
		free(ran);
		return -ENOMEM;
	}
	/* A window of threads: slot i % W is joined before it is reused. */
	for (; i < n && !rc; i++) {
		struct sactor *x = &a[i % FJC_WINDOW];

		if (i >= FJC_WINDOW) {
			actor_join(x);
			r->check += ran[i % FJC_WINDOW] != 0;
		}
		ran[i % FJC_WINDOW] = 0;
		if ((rc = actor_init(rt, x, fjc_actor, &ran[i % FJC_WINDOW], SEED_CAP, false)))
			break;
		if ((rc = actor_start(x))) {
			chan_fini(&x->ch);
			break;
		}
		tell(x, M_WORK, NULL, i);
	}
	/* Join what is left: after a failure at i, the occupant i - W was joined already. */
	for (uint64_t k = i >= FJC_WINDOW ? i - FJC_WINDOW + (rc != 0) : 0; k < i; k++) {
		actor_join(&a[k % FJC_WINDOW]);
		r->check += ran[k % FJC_WINDOW] != 0;
	}
	r->messages = r->check;
	free(a);
	free(ran);
	return rc;
}

/* --- big --- */

struct big {
	struct group *g;
	struct slatch *done;
	uint64_t n, pongs, handled, rng;
	unsigned self;
};

static unsigned big_peer(struct big *s)
{
	unsigned w = s->g->n, p;

	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	p = (unsigned)(s->rng % (w - 1));
	return p >= s->self ? p + 1 : p;
}

static bool big_actor(struct sactor *self, const struct smsg *m)
{
	struct big *s = self->state;

	switch (m->type) {
	case M_STOP:
		return false;
	case M_PING:
		s->handled++;
		tell(m->from, M_PONG, self, 0);
		return true;
	case M_PONG:
		s->handled++;
		if (++s->pongs == s->n) {
			latch_count(s->done);
			return true; /* keep answering the others' pings */
		}
		break;
	default: /* M_START */
		break;
	}
	tell(&s->g->a[big_peer(s)], M_PING, self, 0);
	return true;
}

static int seed_big(void *rt, unsigned actors, uint64_t n, struct ai_result *r)
{
	struct big *st = calloc(actors, sizeof(*st));
	struct group g = { 0 };
	struct slatch done;
	int rc;

	if (!st)
		return -ENOMEM;
	latch_init(&done, actors);
	for (unsigned i = 0; i < actors; i++) {
		st[i].g = &g;
		st[i].done = &done;
		st[i].n = n;
		st[i].self = i;
		st[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
	}
	rc = group_start(rt, &g, actors, big_actor, st, sizeof(*st));
	if (!rc) {
		for (unsigned i = 0; i < actors; i++)
			tell(&g.a[i], M_START, NULL, 0);
		latch_wait(&done);
	}
	group_end(&g, true);
	latch_fini(&done);
	for (unsigned i = 0; !rc && i < actors; i++) {
		r->check += st[i].pongs;
		r->messages += st[i].handled;
	}
	free(st);
	return rc;
}

/* --- chameneos --- */

struct cham {
	struct sactor *broker;
	uint64_t meetings, handled, colour;
};

struct broker {
	unsigned creatures, stopped;
	uint64_t left, handled;
	struct sactor *waiting;
	uint64_t waiting_colour;
};

/* The colour two creatures of colours a and b both take: the third, or the same when equal. */
static uint64_t complement(uint64_t a, uint64_t b)
{
	return a == b ? a : 3 - a - b;
}

static bool cham_creature(struct sactor *self, const struct smsg *m)
{
	struct cham *s = self->state;

	if (m->type == M_STOP)
		return false;
	if (m->type == M_MATE) {
		s->handled++;
		s->meetings++;
		s->colour = complement(s->colour, m->v);
	}
	tell(s->broker, M_MEET, self, s->colour);
	return true;
}

static bool cham_broker(struct sactor *self, const struct smsg *m)
{
	struct broker *b = self->state;

	if (m->type == M_STOP)
		return false; /* the round is being torn down */
	b->handled++;
	if (b->left == 0) {
		tell(m->from, M_STOP, self, 0);
		return ++b->stopped < b->creatures;
	}
	if (!b->waiting) {
		b->waiting = m->from;
		b->waiting_colour = m->v;
		return true;
	}
	tell(b->waiting, M_MATE, self, m->v);
	tell(m->from, M_MATE, self, b->waiting_colour);
	b->waiting = NULL;
	b->left--;
	return true;
}

static int seed_chameneos(void *rt, unsigned creatures, uint64_t meetings, struct ai_result *r)
{
	struct cham *st = calloc(creatures, sizeof(*st));
	struct broker bs = { .creatures = creatures, .left = meetings };
	struct sactor broker;
	struct group g = { 0 };
	int rc;

	if (!st)
		return -ENOMEM;
	if ((rc = actor_init(rt, &broker, cham_broker, &bs, SEED_CAP, false))) {
		free(st);
		return rc;
	}
	for (unsigned i = 0; i < creatures; i++) {
		st[i].broker = &broker;
		st[i].colour = i % 3;
	}
	if (!(rc = actor_start(&broker)))
		rc = group_start(rt, &g, creatures, cham_creature, st, sizeof(*st));
	if (!rc)
		for (unsigned i = 0; i < creatures; i++)
			tell(&g.a[i], M_START, NULL, 0);
	else if (broker.started)
		tell(&broker, M_STOP, NULL, 0);
	/* Each creature exits on the broker's stop, the broker after the last one's. */
	group_end(&g, rc != 0);
	actor_join(&broker);
	r->messages = bs.handled;
	for (unsigned i = 0; !rc && i < creatures; i++) {
		r->check += st[i].meetings;
		r->messages += st[i].handled;
	}
	free(st);
	return rc;
}

/* --- mailbox_backpressure --- */

struct bp {
	struct sactor *consumer;
	enum ai_policy policy;
	uint64_t n, work_ns;
	/* producer */
	uint64_t dropped, rejected;
	struct sblocked blocked;
	/* consumer */
	uint64_t handled, next; /* next: the smallest sequence number it may see */
	uint64_t first;		/* the first sequence number it handled */
	bool disorder;
};

static bool bp_producer(struct sactor *self, const struct smsg *m)
{
	struct bp *s = self->state;
	struct schan *c = &s->consumer->ch;

	(void)m; /* M_START: the whole round */
	for (uint64_t i = 0; i < s->n; i++) {
		struct smsg d = { .type = M_DATA, .from = self, .v = i };

		switch (s->policy) {
		case AP_REJECT:
			while (!chan_try_send(c, &d, false, NULL)) {
				s->rejected++;
				sched_yield(); /* the caller's retry */
			}
			break;
		case AP_DROP_NEWEST:
			if (!chan_try_send(c, &d, false, NULL))
				s->dropped++;
			break;
		case AP_DROP_OLDEST:
			(void)chan_try_send(c, &d, true, &s->dropped);
			break;
		case AP_UNBOUNDED:
		case AP_BACKPRESSURE:
		default:
			chan_send(c, &d, &s->blocked);
			break;
		}
	}
	tell(s->consumer, M_STOP, self, 0); /* a control message: the blocking send */
	return false;
}

static bool bp_consumer(struct sactor *self, const struct smsg *m)
{
	struct bp *s = self->state;
	bool exact = s->policy != AP_DROP_NEWEST && s->policy != AP_DROP_OLDEST;

	if (m->type == M_STOP)
		return false;
	bench_spin_until(iort_clock_fast_ns() + s->work_ns);
	if (m->v < s->next || (exact && m->v != s->next))
		s->disorder = true;
	if (!s->handled++)
		s->first = m->v;
	s->next = m->v + 1;
	return true;
}

static int seed_backpressure(void *rt, enum ai_policy policy, uint32_t capacity, uint64_t n,
			     uint64_t work_ns, struct ai_result *r)
{
	struct bp s = { .policy = policy, .n = n, .work_ns = work_ns };
	struct sactor a[2]; /* producer, consumer */
	int rc;

	if ((rc = actor_init(rt, &a[0], bp_producer, &s, SEED_CAP, false)))
		return rc;
	if ((rc = actor_init(rt, &a[1], bp_consumer, &s, capacity, policy == AP_UNBOUNDED))) {
		chan_fini(&a[0].ch);
		return rc;
	}
	s.consumer = &a[1];
	if (!(rc = actor_start(&a[1])) && !(rc = actor_start(&a[0])))
		tell(&a[0], M_START, NULL, 0);
	else if (a[1].started)
		tell(&a[1], M_STOP, NULL, 0);
	actor_join(&a[0]);
	actor_join(&a[1]);
	r->peak_depth = a[1].ch.peak;
	r->messages = s.handled;
	r->dropped = s.dropped;
	r->rejected = s.rejected;
	r->muted_ns = s.blocked.ns;
	r->blocked = s.blocked.sends;
	r->check = s.handled + s.dropped;
	r->fault = ai_bp_fault(policy, n, s.handled, s.first, s.next, s.disorder);
	return rc;
}

const struct aimpl aimpl_seed = {
	.impl = { .name = "seed_actor",
		  .origin = BENCH_SEED,
		  .about = "the sketch's actors: a thread per actor, a mutex ring of 32 each" },
	.unsupported = { [AS_SKYNET] = "a thread per actor cannot hold 1,111,111 actors" },
	.create = seed_create,
	.destroy = seed_destroy,
	.pingpong = seed_pingpong,
	.threadring = seed_threadring,
	.counting = seed_counting,
	.fjthrput = seed_fjthrput,
	.fjcreate = seed_fjcreate,
	.big = seed_big,
	.chameneos = seed_chameneos,
	.backpressure = seed_backpressure,
};
