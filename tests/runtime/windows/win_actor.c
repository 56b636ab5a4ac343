/*
 * The actor layer's critical windows, driven through its test points (actor.c's header lists
 * them):
 * - actor.reserved: a send has reserved its place in the receiver's ctl word and not yet pushed.
 *   The receiver running meanwhile pops nothing and must come back for the message; a second
 *   sender meanwhile must not schedule the receiver (only the send that took the length from 0
 *   does, after its push); a stop meanwhile must still let the reserved message be handled; an
 *   actor that stops itself meanwhile must not retire its record (generation) before the push,
 *   and then reports the message as a dead letter.
 * - actor.before_idle: an activation is about to give back what it popped. A send that lands
 *   there finds the actor busy and does not schedule it: the subtraction must see the message.
 *   A sender that mutes on a receiver stopped there stays muted, and the subtraction unmutes it.
 * - actor.muted: a sender registered on the receiver's muted list, before its re-check. The
 *   receiver draining meanwhile takes it off the list and schedules it (once); its re-check then
 *   finds nothing to do. Without a test point: a sender that mutes after the receiver drained
 *   unmutes itself on its re-check.
 * - actor.exiting: an actor about to take its watchers and muted senders. A link or monitor
 *   registered then gets exactly one EXIT / DOWN; a sender that mutes on it then (before or
 *   after the exit takes the list) is scheduled again and its message becomes a dead letter.
 * Each would lose a message or an actor (hang) without its protocol; every wait here gives up
 * with a failure after 60 s.
 */
#include <iort/actor.h>
#include <iort/clock.h>
#include <iort/pool.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tp.h"

/* Spin until @p cond holds, failing after TP_TIMEOUT_S. */
#define WAIT_FOR(cond)                                                            \
	do {                                                                      \
		uint64_t until_ = iort_clock_ns() + TP_TIMEOUT_S * 1000000000ull; \
		while (!(cond)) {                                                 \
			if (iort_clock_ns() > until_)                             \
				fail_msg("timed out waiting for %s", #cond);      \
			sched_yield();                                            \
		}                                                                 \
	} while (0)

#define CHECK(x)                                                                              \
	do {                                                                                  \
		if (!(x)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
			abort();                                                              \
		}                                                                             \
	} while (0)

enum { TAG_R = 1, TAG_S = 2, TAG_W = 3 };
enum { T_DATA = 1, T_HOLD = 2, T_STOP = 3, T_GO = 4, T_PING = 5 };

/* --- the system and its dead letters -------------------------------------------------------- */

static struct iort_pool *pool;
static struct iort_actors *sys;

static struct {
	_Atomic unsigned n;
	struct {
		struct iort_aid to;
		uint32_t type;
		uint64_t val;
	} e[64];
} dl;
static pthread_mutex_t dl_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t val_of(const struct iort_msg *m)
{
	uint64_t v = 0;

	if (m->size >= sizeof(v))
		memcpy(&v, iort_msg_data((struct iort_msg *)m), sizeof(v));
	return v;
}

static void on_dead(void *ctx, struct iort_aid to, const struct iort_msg *m, int reason)
{
	(void)ctx;
	(void)reason;
	/* A lock: the test reads the entries while workers may add more. */
	pthread_mutex_lock(&dl_mu);
	unsigned i = atomic_load(&dl.n);
	CHECK(i < 64);
	dl.e[i].to = to;
	dl.e[i].type = m->type;
	dl.e[i].val = val_of(m);
	atomic_store(&dl.n, i + 1);
	pthread_mutex_unlock(&dl_mu);
}

static unsigned dead_to(struct iort_aid to, uint32_t type, uint64_t val)
{
	unsigned k = 0;

	pthread_mutex_lock(&dl_mu);
	for (unsigned i = 0; i < atomic_load(&dl.n); i++)
		k += iort_aid_eq(dl.e[i].to, to) && dl.e[i].type == type && dl.e[i].val == val;
	pthread_mutex_unlock(&dl_mu);
	return k;
}

static void setup_sys(unsigned workers)
{
	struct iort_pool_config pc = { .workers = workers };
	struct iort_actors_config ac = { .dead_letter = on_dead };

	tp_reset();
	memset(&dl, 0, sizeof(dl));
	assert_int_equal(iort_pool_create(&pc, &pool), 0);
	assert_int_equal(iort_actors_create(pool, &ac, &sys), 0);
}

static void teardown_sys(void)
{
	iort_actors_destroy(sys);
	iort_pool_destroy(pool);
}

/* --- an actor that logs, holds, stops, sends ------------------------------------------------- */

struct act {
	int tag;
	struct iort_aid self, peer;
	uint32_t cap;
	enum iort_mailbox_policy pol;
	_Atomic int gate, entered; /* T_HOLD */
	_Atomic int send_hold;	   /* T_GO: spin after the send until this is set */
	_Atomic int go_done;	   /* T_GO: the send's result is in rc */
	_Atomic int rc;
	_Atomic int in, overlap;
	_Atomic unsigned n, stops, pings;
	_Atomic int stop_reason;
	uint32_t type[64];
	uint64_t val[64];
	struct iort_exit exit[64];
};

static int act_behave(void *state, struct iort_msg *m)
{
	struct act *a = state;

	tp_tag(a->tag);
	if (atomic_exchange(&a->in, 1) != 0)
		atomic_store(&a->overlap, 1);
	unsigned i = atomic_load(&a->n);
	CHECK(i < 64);
	a->type[i] = m->type;
	a->val[i] = val_of(m);
	if (m->type == IORT_MSG_EXIT || m->type == IORT_MSG_DOWN)
		memcpy(&a->exit[i], iort_msg_data(m), sizeof(struct iort_exit));
	atomic_store(&a->n, i + 1);
	int ret = IORT_ACTOR_CONTINUE;
	switch (m->type) {
	case T_HOLD:
		atomic_store(&a->entered, 1);
		while (!atomic_load(&a->gate))
			iort_cpu_relax();
		break;
	case T_STOP:
		ret = IORT_ACTOR_STOP;
		break;
	case T_GO: {
		uint64_t v = 1;
		atomic_store(&a->rc, iort_tell(a->peer, T_DATA, &v, sizeof(v)));
		atomic_store(&a->go_done, 1);
		while (!atomic_load(&a->send_hold))
			iort_cpu_relax();
		break;
	}
	case T_PING:
		atomic_fetch_add(&a->pings, 1);
		break;
	default:
		break;
	}
	atomic_store(&a->in, 0);
	return ret;
}

static void act_stop(void *state, int reason)
{
	struct act *a = state;

	atomic_store(&a->stop_reason, reason);
	atomic_fetch_add(&a->stops, 1);
}

static struct iort_aid spawn_act(struct act *a, int tag, uint32_t cap, enum iort_mailbox_policy pol)
{
	struct iort_actor_config c = { .behavior = act_behave,
				       .state = a,
				       .on_stop = act_stop,
				       .capacity = cap,
				       .policy = pol };

	memset(a, 0, sizeof(*a));
	a->tag = tag;
	a->send_hold = 1; /* T_GO does not hold unless a test clears it */
	atomic_store(&a->stop_reason, 12345);
	assert_int_equal(iort_actor_spawn(sys, &c, &a->self), 0);
	return a->self;
}

static int tell64(struct iort_aid to, uint32_t type, uint64_t v)
{
	return iort_tell(to, type, &v, sizeof(v));
}

static struct iort_actor_metrics metrics(struct iort_aid a)
{
	struct iort_actor_metrics m;

	assert_int_equal(iort_actor_metrics(a, &m), 0);
	return m;
}

/* Yield @p n times: a chance for the runtime to do what it must not (never a wait). */
static void give_chance(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		sched_yield();
}

/* --- a sender thread (tagged TAG_S) ---------------------------------------------------------- */

struct sender {
	pthread_t th;
	struct iort_aid to;
	uint64_t val;
	_Atomic int rc;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;

	tp_tag(TAG_S);
	atomic_store(&s->rc, tell64(s->to, T_DATA, s->val));
	return NULL;
}

static void start_sender(struct sender *s, struct iort_aid to, uint64_t val)
{
	s->to = to;
	s->val = val;
	atomic_store(&s->rc, 1);
	assert_int_equal(pthread_create(&s->th, NULL, sender_main, s), 0);
}

/* ============================================================================================ */

/* A send between its reservation and its push while the receiver runs: the receiver pops
 * nothing, comes back (it does not go idle while the length says more), and handles it. */
static void reserved_while_running(void **state)
{
	static struct act r;
	struct sender s;

	(void)state;
	setup_sys(1);
	struct iort_aid ra = spawn_act(&r, TAG_R, 0, IORT_MAILBOX_REJECT);
	assert_int_equal(tell64(ra, T_HOLD, 0), 0);
	WAIT_FOR(atomic_load(&r.entered));
	int sp = tp_stop_at("actor.reserved", TAG_S, 0);
	start_sender(&s, ra, 1);
	tp_wait_stopped(sp);
	atomic_store(&r.gate, 1);
	/* The activation that handled HOLD, then at least two that found nothing yet. */
	tp_wait_hits("actor.before_idle", TAG_R, 3);
	assert_int_equal(atomic_load(&r.n), 1);
	tp_release(sp);
	pthread_join(s.th, NULL);
	assert_int_equal(atomic_load(&s.rc), 0);
	WAIT_FOR(atomic_load(&r.n) == 2);
	assert_int_equal(r.val[1], 1);
	assert_int_equal(atomic_load(&r.overlap), 0);
	assert_int_equal(atomic_load(&dl.n), 0);
	teardown_sys();
}

/* The send that takes the length from 0 is stopped before its push: another send finds the
 * actor busy and does not schedule it; the first one schedules it after its push, once, and
 * both messages are handled. */
static void reserved_from_idle(void **state)
{
	static struct act r;
	struct sender s;

	(void)state;
	setup_sys(1);
	struct iort_aid ra = spawn_act(&r, TAG_R, 0, IORT_MAILBOX_REJECT);
	int sp = tp_stop_at("actor.reserved", TAG_S, 0);
	start_sender(&s, ra, 1);
	tp_wait_stopped(sp);
	assert_int_equal(tell64(ra, T_DATA, 2), 0);
	give_chance(100);
	assert_int_equal(atomic_load(&r.n), 0); /* nobody scheduled it yet */
	tp_release(sp);
	pthread_join(s.th, NULL);
	assert_int_equal(atomic_load(&s.rc), 0);
	WAIT_FOR(atomic_load(&r.n) == 2);
	assert_true((r.val[0] == 1 && r.val[1] == 2) || (r.val[0] == 2 && r.val[1] == 1));
	assert_int_equal(atomic_load(&r.overlap), 0);
	teardown_sys();
}

/* iort_actor_stop while a send is reserved and not pushed: the send was accepted before the
 * close, so its message is handled before the actor exits; later sends are refused. */
static void reserved_then_stop(void **state)
{
	static struct act r;
	struct sender s;

	(void)state;
	setup_sys(1);
	struct iort_aid ra = spawn_act(&r, TAG_R, 0, IORT_MAILBOX_REJECT);
	int sp = tp_stop_at("actor.reserved", TAG_S, 0);
	start_sender(&s, ra, 1);
	tp_wait_stopped(sp);
	assert_int_equal(iort_actor_stop(ra), 0);
	assert_int_equal(tell64(ra, T_DATA, 3), -ESRCH);
	give_chance(100);
	assert_int_equal(atomic_load(&r.stops), 0);
	tp_release(sp);
	pthread_join(s.th, NULL);
	assert_int_equal(atomic_load(&s.rc), 0);
	WAIT_FOR(atomic_load(&r.stops) == 1);
	assert_int_equal(atomic_load(&r.n), 1);
	assert_int_equal(r.val[0], 1);
	assert_int_equal(atomic_load(&r.stop_reason), 0);
	assert_int_equal(atomic_load(&dl.n), 0);
	teardown_sys();
}

/* An actor stops itself while a send to it is reserved and not pushed: it must not retire its
 * record (its address stays alive, on_stop waits) until the push, and then reports the message
 * as a dead letter, once. */
static void reserved_then_self_stop(void **state)
{
	static struct act r;
	struct sender s;
	struct iort_actor_metrics m;

	(void)state;
	setup_sys(1);
	struct iort_aid ra = spawn_act(&r, TAG_R, 0, IORT_MAILBOX_REJECT);
	assert_int_equal(tell64(ra, T_HOLD, 0), 0);
	WAIT_FOR(atomic_load(&r.entered));
	assert_int_equal(tell64(ra, T_STOP, 5), 0);
	int sp = tp_stop_at("actor.reserved", TAG_S, 0);
	start_sender(&s, ra, 1);
	tp_wait_stopped(sp);
	atomic_store(&r.gate, 1);
	WAIT_FOR(atomic_load(&r.n) == 2); /* HOLD, STOP */
	give_chance(200);
	assert_int_equal(tp_hits("actor.exiting", TAG_R), 0);
	assert_int_equal(atomic_load(&r.stops), 0);
	assert_int_equal(iort_actor_metrics(ra, &m), 0); /* not retired */
	assert_int_equal(tell64(ra, T_DATA, 9), -ESRCH); /* but closed */
	tp_release(sp);
	pthread_join(s.th, NULL);
	assert_int_equal(atomic_load(&s.rc), 0);
	WAIT_FOR(atomic_load(&r.stops) == 1);
	WAIT_FOR(iort_actor_metrics(ra, &m) == -ESRCH);
	assert_int_equal(atomic_load(&r.n), 2);
	assert_int_equal(dead_to(ra, T_DATA, 1), 1);
	assert_int_equal(atomic_load(&dl.n), 1);
	assert_int_equal(atomic_load(&r.stop_reason), 0);
	teardown_sys();
}

/* A send while the receiver is about to go idle (it has not subtracted yet): the send finds it
 * busy and does not schedule it; the subtraction leaves a length above 0 and the actor comes
 * back for the message. */
static void before_idle_send_not_lost(void **state)
{
	static struct act r;

	(void)state;
	setup_sys(1);
	struct iort_aid ra = spawn_act(&r, TAG_R, 0, IORT_MAILBOX_REJECT);
	int si = tp_stop_at("actor.before_idle", TAG_R, 0);
	assert_int_equal(tell64(ra, T_DATA, 1), 0);
	tp_wait_stopped(si);
	assert_int_equal(tell64(ra, T_DATA, 2), 0);
	tp_release(si);
	WAIT_FOR(atomic_load(&r.n) == 2);
	assert_int_equal(r.val[0], 1);
	assert_int_equal(r.val[1], 2);
	assert_int_equal(atomic_load(&r.overlap), 0);
	teardown_sys();
}

/* Fill a BACKPRESSURE receiver of capacity 2: HOLD (being handled) and one more. */
static struct iort_aid full_receiver(struct act *r, uint32_t cap)
{
	struct iort_aid ra = spawn_act(r, TAG_R, cap, IORT_MAILBOX_BACKPRESSURE);

	assert_int_equal(tell64(ra, T_HOLD, 0), 0);
	WAIT_FOR(atomic_load(&r->entered));
	for (uint32_t i = 1; i < cap; i++)
		assert_int_equal(tell64(ra, T_DATA, 100 + i), 0);
	return ra;
}

/* Until the unmuted sender delivered its message and went idle: its activations so far (the
 * one that muted it and the one that flushed its outbox). */
static uint64_t wait_flushed(struct act *r, struct act *s, uint32_t cap)
{
	WAIT_FOR(atomic_load(&r->n) == cap + 1 && metrics(s->self).depth == 0);
	uint64_t act = metrics(s->self).activations;
	assert_int_equal(act, 2);
	return act;
}

/* After an unmute: the sender's message reached the receiver after the receiver's own ones;
 * the sender was scheduled once for it (I2: no activation more than @p act, whoever unmuted
 * it), and runs again (a PING), once at a time. */
static void check_resumed(struct act *r, struct act *s, uint32_t cap, uint64_t act)
{
	assert_int_equal(r->type[cap], T_DATA);
	assert_int_equal(r->val[cap], 1);
	give_chance(100);
	assert_int_equal(tell64(s->self, T_PING, 0), 0);
	WAIT_FOR(atomic_load(&s->pings) == 1);
	give_chance(100);
	struct iort_actor_metrics m = metrics(s->self);
	assert_int_equal(m.activations, act + 1);
	assert_int_equal(m.mutes, 1);
	assert_true(m.muted_ns > 0);
	assert_int_equal(atomic_load(&s->overlap), 0);
	assert_int_equal(atomic_load(&r->overlap), 0);
	assert_int_equal(atomic_load(&dl.n), 0);
}

/* A sender registered as muted, before its re-check: the receiver drains, takes it off the
 * list and schedules it; the sender's re-check then finds itself gone and does nothing. */
static void muted_then_owner_unmutes(void **state)
{
	static struct act r, s;

	(void)state;
	setup_sys(2);
	struct iort_aid ra = full_receiver(&r, 2);
	struct iort_aid sa = spawn_act(&s, TAG_S, 0, IORT_MAILBOX_REJECT);
	s.peer = ra;
	int sm = tp_stop_at("actor.muted", TAG_S, 0);
	assert_int_equal(tell64(sa, T_GO, 0), 0);
	tp_wait_stopped(sm);
	assert_int_equal(atomic_load(&s.rc), IORT_SEND_MUTED);
	atomic_store(&r.gate, 1);
	/* The receiver's drain unmutes the sender, whose first thread is still stopped. */
	uint64_t act = wait_flushed(&r, &s, 2);
	tp_release(sm);
	check_resumed(&r, &s, 2, act);
	teardown_sys();
}

/* The receiver is about to subtract (full: the test took the place its handled messages left)
 * when the sender mutes: the sender's re-check sees it full and stays muted; the subtraction
 * then unmutes it. */
static void receiver_before_idle_unmutes(void **state)
{
	static struct act r, s;

	(void)state;
	setup_sys(2);
	struct iort_aid ra = full_receiver(&r, 2);
	struct iort_aid sa = spawn_act(&s, TAG_S, 0, IORT_MAILBOX_REJECT);
	s.peer = ra;
	int si = tp_stop_at("actor.before_idle", TAG_R, 0);
	atomic_store(&r.gate, 1);
	tp_wait_stopped(si);
	assert_int_equal(atomic_load(&r.n), 2);
	/* A bounded mailbox's depth drops by each handled message at the next pop: stopped here,
	 * the receiver still counts only its last one (depth 1). Fill the last place, so the
	 * sender finds it full. */
	assert_int_equal(metrics(ra).depth, 1);
	assert_int_equal(tell64(ra, T_DATA, 200), 0);
	assert_int_equal(tell64(sa, T_GO, 0), 0);
	tp_wait_hits("actor.muted", TAG_S, 1);
	WAIT_FOR(metrics(sa).mutes == 1);
	assert_int_equal(atomic_load(&s.rc), IORT_SEND_MUTED);
	give_chance(100);
	assert_int_equal(atomic_load(&r.n), 2);
	tp_release(si);
	/* The subtraction leaves the filler (depth 1 = low_water): the sender is unmuted, and its
	 * message follows the filler. */
	WAIT_FOR(atomic_load(&r.n) == 4 && metrics(sa).depth == 0);
	assert_int_equal(r.type[2], T_DATA);
	assert_int_equal(r.val[2], 200);
	uint64_t act = metrics(sa).activations;
	assert_int_equal(act, 2);
	check_resumed(&r, &s, 3, act);
	teardown_sys();
}

/* The receiver drains completely between the sender's MUTED send and its muting (it saw no
 * one muted): the sender's re-check sees the room and unmutes itself. */
static void mute_after_receiver_drained(void **state)
{
	static struct act r, s;

	(void)state;
	setup_sys(2);
	struct iort_aid ra = full_receiver(&r, 2);
	struct iort_aid sa = spawn_act(&s, TAG_S, 0, IORT_MAILBOX_REJECT);
	s.peer = ra;
	atomic_store(&s.send_hold, 0);
	assert_int_equal(tell64(sa, T_GO, 0), 0);
	WAIT_FOR(atomic_load(&s.go_done));
	assert_int_equal(atomic_load(&s.rc), IORT_SEND_MUTED);
	atomic_store(&r.gate, 1);
	WAIT_FOR(atomic_load(&r.n) == 2 && metrics(ra).depth == 0);
	atomic_store(&s.send_hold, 1);
	check_resumed(&r, &s, 2, wait_flushed(&r, &s, 2));
	teardown_sys();
}

/* A link and a monitor registered while the target is about to take its watchers: exactly one
 * EXIT and one DOWN, with its reason. Calls on it meanwhile: closed, not yet retired. */
static void exiting_link_and_monitor(void **state)
{
	static struct act r, w;
	struct iort_actor_metrics m;

	(void)state;
	setup_sys(2);
	struct iort_aid ra = spawn_act(&r, TAG_R, 0, IORT_MAILBOX_REJECT);
	struct iort_aid wa = spawn_act(&w, TAG_W, 0, IORT_MAILBOX_REJECT);
	int sx = tp_stop_at("actor.exiting", TAG_R, 0);
	assert_int_equal(tell64(ra, T_STOP, 0), 0);
	tp_wait_stopped(sx);
	assert_int_equal(iort_actor_monitor(wa, ra), 0);
	assert_int_equal(iort_actor_link(wa, ra), 0);
	assert_int_equal(tell64(ra, T_DATA, 1), -ESRCH);
	assert_int_equal(iort_actor_stop(ra), -ESRCH);
	assert_int_equal(iort_actor_metrics(ra, &m), 0);
	tp_release(sx);
	WAIT_FOR(atomic_load(&w.n) == 2);
	WAIT_FOR(iort_actor_metrics(ra, &m) == -ESRCH);
	give_chance(100);
	assert_int_equal(atomic_load(&w.n), 2);
	bool down = false, ex = false;
	for (int i = 0; i < 2; i++) {
		assert_true(iort_aid_eq(w.exit[i].who, ra));
		assert_int_equal(w.exit[i].reason, 0);
		down |= w.type[i] == IORT_MSG_DOWN;
		ex |= w.type[i] == IORT_MSG_EXIT;
	}
	assert_true(down && ex);
	assert_int_equal(atomic_load(&r.stops), 1);
	teardown_sys();
}

/* A sender got MUTED by a full receiver that is now exiting (closed, about to take its muted
 * list). The sender mutes there: whether it registers before the exit takes the list (the
 * exit schedules it) or sees the receiver closed on its re-check (it schedules itself), it
 * runs again and its message is a dead letter, once. @p stop_muted: hold the sender at
 * actor.muted until the exit has taken the list. */
static void exiting_mute_race(bool stop_muted)
{
	static struct act r, s;

	setup_sys(2);
	struct iort_aid ra = full_receiver(&r, 1);
	struct iort_aid sa = spawn_act(&s, TAG_S, 0, IORT_MAILBOX_REJECT);
	s.peer = ra;
	atomic_store(&s.send_hold, 0);
	assert_int_equal(tell64(sa, T_GO, 0), 0);
	WAIT_FOR(atomic_load(&s.go_done));
	assert_int_equal(atomic_load(&s.rc), IORT_SEND_MUTED);
	assert_int_equal(iort_actor_stop(ra), 0);
	int sx = tp_stop_at("actor.exiting", TAG_R, 0);
	atomic_store(&r.gate, 1);
	tp_wait_stopped(sx);
	if (stop_muted) {
		int sm = tp_stop_at("actor.muted", TAG_S, 0);
		atomic_store(&s.send_hold, 1);
		tp_wait_stopped(sm);
		tp_release(sx); /* the exit takes the list with the sender on it */
		WAIT_FOR(atomic_load(&r.stops) == 1);
		tp_release(sm);
	} else {
		atomic_store(&s.send_hold, 1);
		/* The sender sees the receiver closed and schedules itself: its flush finds the
		 * receiver gone (-ESRCH) while the exit is still stopped. */
		WAIT_FOR(dead_to(ra, T_DATA, 1) == 1);
		tp_release(sx);
		WAIT_FOR(atomic_load(&r.stops) == 1);
	}
	assert_int_equal(tell64(sa, T_PING, 0), 0);
	WAIT_FOR(atomic_load(&s.pings) == 1);
	assert_int_equal(dead_to(ra, T_DATA, 1), 1);
	assert_int_equal(atomic_load(&dl.n), 1);
	assert_int_equal(atomic_load(&r.n), 1); /* HOLD only */
	assert_int_equal(atomic_load(&s.overlap), 0);
	teardown_sys();
}

static void exiting_sender_mutes_before_take(void **state)
{
	(void)state;
	exiting_mute_race(true);
}

static void exiting_sender_sees_closed(void **state)
{
	(void)state;
	exiting_mute_race(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reserved_while_running),
		cmocka_unit_test(reserved_from_idle),
		cmocka_unit_test(reserved_then_stop),
		cmocka_unit_test(reserved_then_self_stop),
		cmocka_unit_test(before_idle_send_not_lost),
		cmocka_unit_test(muted_then_owner_unmutes),
		cmocka_unit_test(receiver_before_idle_unmutes),
		cmocka_unit_test(mute_after_receiver_drained),
		cmocka_unit_test(exiting_link_and_monitor),
		cmocka_unit_test(exiting_sender_mutes_before_take),
		cmocka_unit_test(exiting_sender_sees_closed),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
