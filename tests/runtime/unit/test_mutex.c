/*
 * The mutex's and the condition variable's contract (iort/mutex.h): exclusion, try_lock, fini,
 * set_fairness's arguments, timed locks (past deadlines, success before the deadline, racing the
 * unlock), a waiter behind a timed-out waiter, and the condition variable (no-op signal, no lost
 * signal, broadcast wakes all, timed wait re-locks, fini while waited on).
 *
 * No test sleeps to synchronize (threads meet at barriers, semaphores, the mutex and condition
 * variable under test, or by looking at the state of the mutex), and none asserts a duration: a
 * hang is a failure through the watchdog (tests/lib/stress.h), whatever the machine's speed.
 * The windows of the protocol are driven through test points in tests/runtime/windows/win_mutex.c.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include <iort/clock.h>
#include <iort/mutex.h>

#include "stress.h"

#define FAR_NS (60ull * 1000000000ull) /* a deadline that only a hang reaches */

/* White box: the mutex's word (layout in runtime/src/sync/mutex.c). Read atomically: TSan. */
static uintptr_t word_of(struct iort_mutex *m)
{
	return atomic_load((_Atomic uintptr_t *)(void *)&m->iort_private_word);
}

#define W_LOCKED   ((uintptr_t)1)
#define W_PTR_MASK ((uintptr_t)0x0000ffffffffffe0)

/* Block until thread @p tid sleeps in the kernel on a futex (polls /proc; no fixed sleep). */
static void wait_in_futex(pid_t tid)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)tid);
	for (;;) {
		FILE *f = fopen(path, "r");
		size_t n;

		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		if (strncmp(buf, "futex", 5) == 0)
			return;
		sched_yield();
	}
}

/* --- a thread that runs one call on a mutex --------------------------------------------- */

enum op { OP_TRY, OP_LOCK, OP_TIMED };

struct call {
	struct iort_mutex *m;
	enum op op;
	uint64_t deadline;
	int ret;     /* OP_TRY: 1 taken, 0 not; else the lock's result */
	bool unlock; /* unlock when taken */
	_Atomic pid_t tid;
	pthread_t th;
};

static void *call_main(void *arg)
{
	struct call *c = arg;

	atomic_store(&c->tid, (pid_t)syscall(SYS_gettid));
	switch (c->op) {
	case OP_TRY:
		c->ret = iort_mutex_try_lock(c->m) ? 1 : 0;
		break;
	case OP_LOCK:
		iort_mutex_lock(c->m);
		c->ret = 0;
		break;
	case OP_TIMED:
		c->ret = iort_mutex_lock_timed(c->m, c->deadline);
		break;
	}
	if (c->unlock && (c->op == OP_TRY ? c->ret == 1 : c->ret == 0))
		iort_mutex_unlock(c->m);
	return NULL;
}

static void start(struct call *c, struct iort_mutex *m, enum op op, uint64_t deadline, bool unlock)
{
	*c = (struct call){ .m = m, .op = op, .deadline = deadline, .ret = -1, .unlock = unlock };
	assert_int_equal(pthread_create(&c->th, NULL, call_main, c), 0);
}

static int finish(struct call *c)
{
	assert_int_equal(pthread_join(c->th, NULL), 0);
	return c->ret;
}

/* One call from another thread, run to completion. */
static int other_thread(struct iort_mutex *m, enum op op, uint64_t deadline)
{
	struct call c;

	start(&c, m, op, deadline, true);
	return finish(&c);
}

/* --- basics ------------------------------------------------------------------------------- */

static void init_lock_unlock(void **state)
{
	struct iort_mutex s = IORT_MUTEX_INIT;
	struct iort_mutex d;

	(void)state;
	iort_mutex_init(&d);
	struct iort_mutex *ms[] = { &s, &d };
	for (int i = 0; i < 2; i++) {
		struct iort_mutex *m = ms[i];
		assert_int_equal(iort_mutex_fini(m), 0);
		iort_mutex_lock(m);
		assert_int_equal(iort_mutex_fini(m), -EBUSY);
		iort_mutex_unlock(m);
		assert_int_equal(iort_mutex_fini(m), 0);
		assert_true(iort_mutex_try_lock(m));
		assert_false(iort_mutex_try_lock(m)); /* not recursive */
		iort_mutex_unlock(m);
		assert_int_equal(iort_mutex_lock_timed(m, IORT_DEADLINE_NONE), 0);
		iort_mutex_unlock(m);
		/* a free mutex is taken whatever the deadline, as pthread_mutex_timedlock does */
		assert_int_equal(iort_mutex_lock_timed(m, 0), 0);
		iort_mutex_unlock(m);
		assert_int_equal(iort_mutex_fini(m), 0);
	}
}

static void try_lock_other_thread(void **state)
{
	struct iort_mutex m;

	(void)state;
	iort_mutex_init(&m);
	assert_int_equal(other_thread(&m, OP_TRY, 0), 1); /* free: taken (and released) */
	iort_mutex_lock(&m);
	assert_int_equal(other_thread(&m, OP_TRY, 0), 0); /* held: refused, never queues */
	assert_int_equal(iort_mutex_fini(&m), -EBUSY);
	iort_mutex_unlock(&m);
	assert_int_equal(other_thread(&m, OP_TRY, 0), 1);
	assert_int_equal(iort_mutex_fini(&m), 0);
}

static void set_fairness_arguments(void **state)
{
	struct iort_mutex m, fresh;

	(void)state;
	iort_mutex_init(&m);
	iort_mutex_init(&fresh);
	/* both bounds off: the head could wait for ever */
	assert_int_equal(iort_mutex_set_fairness(&m, UINT64_MAX, 0), -EINVAL);
	assert_int_equal(iort_mutex_set_fairness(&m, 1000, 127), -EINVAL);
	assert_int_equal(iort_mutex_set_fairness(&m, UINT64_MAX, 1000), -EINVAL);
	assert_int_equal(iort_mutex_set_fairness(&m, 1000, UINT32_MAX), -EINVAL);
	assert_int_equal(word_of(&m), word_of(&fresh)); /* refused: nothing changed */

	/* valid ones; each leaves a working mutex */
	const struct {
		uint64_t ns;
		unsigned bypass;
	} ok[] = { { 0, 0 },
		   { 1, 0 },
		   { 1000, 3 },
		   { UINT64_MAX, 1 },
		   { UINT64_MAX, 126 },
		   { 1ull << 40, 0 },
		   { UINT64_MAX - 1, 0 },
		   { 1ull << 18, 1 } };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(iort_mutex_set_fairness(&m, ok[i].ns, ok[i].bypass), 0);
		/* not the defaults: the configuration is in the word (the fast path then fails
		 * over to the slow path's first CAS, which must still take a free mutex) */
		assert_int_not_equal(word_of(&m), 0);
		assert_int_equal(iort_mutex_fini(&m), 0);
		iort_mutex_lock(&m);
		assert_int_equal(other_thread(&m, OP_TRY, 0), 0);
		iort_mutex_unlock(&m);
		assert_true(iort_mutex_try_lock(&m));
		iort_mutex_unlock(&m);
		assert_int_equal(iort_mutex_lock_timed(&m, 0), 0);
		iort_mutex_unlock(&m);
		assert_int_equal(iort_mutex_fini(&m), 0);
	}

	/* The defaults (2^18 ns, no count bound; a time rounded up to it) leave the word as init
	 * does: the one-CAS fast path (0 -> LOCKED) stays. */
	const uint64_t dflt[] = { 1ull << 18, (1ull << 17) + 1 };
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(iort_mutex_set_fairness(&m, 5, 7), 0);
		assert_int_not_equal(word_of(&m), 0);
		assert_int_equal(iort_mutex_set_fairness(&m, dflt[i], 0), 0);
		assert_int_equal(word_of(&m), 0);
		iort_mutex_lock(&m);
		assert_int_equal(word_of(&m), W_LOCKED);
		iort_mutex_unlock(&m);
		assert_int_equal(word_of(&m), 0);
	}
}

/* Threads increment a plain counter under the mutex with lock, try_lock and timed lock. */
#define EXCL_THREADS 4
static struct iort_mutex excl_m;
static uint64_t excl_counter;
static int excl_inside;

static void *excl_main(void *arg)
{
	long n = (long)(intptr_t)arg, got = 0;

	for (long i = 0; i < n; i++) {
		bool in;
		switch (i % 3) {
		case 0:
			iort_mutex_lock(&excl_m);
			in = true;
			break;
		case 1:
			in = iort_mutex_try_lock(&excl_m);
			break;
		default:
			in = iort_mutex_lock_timed(&excl_m,
						   iort_clock_ns() + (uint64_t)(i % 7) * 1000) == 0;
			break;
		}
		if (!in)
			continue;
		STRESS_CHECK(excl_inside == 0);
		excl_inside = 1;
		excl_counter++;
		excl_inside = 0;
		iort_mutex_unlock(&excl_m);
		got++;
	}
	return (void *)(intptr_t)got;
}

static void exclusion(void **state)
{
	pthread_t t[EXCL_THREADS];
	long total = 0;

	(void)state;
	for (int cfg = 0; cfg < 3; cfg++) {
		iort_mutex_init(&excl_m);
		if (cfg == 1)
			assert_int_equal(iort_mutex_set_fairness(&excl_m, 0, 0), 0);
		if (cfg == 2)
			assert_int_equal(iort_mutex_set_fairness(&excl_m, UINT64_MAX, 2), 0);
		excl_counter = 0;
		total = 0;
		for (int i = 0; i < EXCL_THREADS; i++)
			assert_int_equal(pthread_create(&t[i], NULL, excl_main,
							(void *)(intptr_t)stress_scale(20000)),
					 0);
		for (int i = 0; i < EXCL_THREADS; i++) {
			void *r;
			assert_int_equal(pthread_join(t[i], &r), 0);
			total += (long)(intptr_t)r;
		}
		assert_int_equal(excl_counter, (uint64_t)total);
		assert_int_equal(iort_mutex_fini(&excl_m), 0);
	}
}

/* --- timed locks ---------------------------------------------------------------------------- */

static void timed_past_deadline_on_held(void **state)
{
	struct iort_mutex m;
	const uint64_t past[] = { 0, 1, iort_clock_ns() - 1, iort_clock_ns() };

	(void)state;
	for (int cfg = 0; cfg < 2; cfg++) {
		iort_mutex_init(&m);
		if (cfg)
			assert_int_equal(iort_mutex_set_fairness(&m, 0, 0), 0);
		iort_mutex_lock(&m);
		for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++)
			assert_int_equal(other_thread(&m, OP_TIMED, past[i]), -ETIMEDOUT);
		/* the failed attempts left nothing behind: no queue, no claim */
		assert_int_equal(word_of(&m) & ~(uintptr_t)W_LOCKED & ~(~(uintptr_t)0 << 48), 0);
		iort_mutex_unlock(&m);
		assert_int_equal(other_thread(&m, OP_TRY, 0), 1);
		assert_int_equal(other_thread(&m, OP_TIMED, 0), 0);
		assert_int_equal(iort_mutex_fini(&m), 0);
	}
}

/* A timed lock whose holder releases before the deadline gets the lock: the holder waits until
 * the timed locker has queued (the queue's head is in the word), then unlocks. */
static void timed_succeeds_before_deadline(void **state)
{
	struct iort_mutex m;
	struct call c;

	(void)state;
	iort_mutex_init(&m);
	iort_mutex_lock(&m);
	start(&c, &m, OP_TIMED, iort_clock_ns() + FAR_NS, false);
	while (!(word_of(&m) & W_PTR_MASK))
		sched_yield();
	iort_mutex_unlock(&m);
	assert_int_equal(finish(&c), 0);
	/* the caller holds it */
	assert_int_equal(other_thread(&m, OP_TRY, 0), 0);
	assert_int_equal(iort_mutex_fini(&m), -EBUSY);
	iort_mutex_unlock(&m); /* on the caller's behalf: lockdep is off in unit tests */
	assert_int_equal(iort_mutex_fini(&m), 0);
}

/*
 * A timed lock racing the unlock, many times: the holder releases at a random moment around the
 * deadline. Each result is 0 (the caller holds the lock: it checks exclusion and unlocks) or
 * -ETIMEDOUT (it does not: try_lock by main then succeeds), and afterwards the mutex is free.
 */
static struct {
	struct iort_mutex m;
	pthread_barrier_t go, done;
	uint64_t window_ns, rng;
	int inside;
	long rounds, ok, timedout;
	bool quit;
} race;

static void *race_main(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;

	for (;;) {
		pthread_barrier_wait(&race.go);
		if (race.quit)
			return NULL;
		uint64_t dl = iort_clock_ns() + stress_rand(&rng) % race.window_ns;
		int r = iort_mutex_lock_timed(&race.m, dl);
		STRESS_CHECK(r == 0 || r == -ETIMEDOUT);
		if (r == 0) {
			STRESS_CHECK(race.inside == 0);
			race.inside = 1;
			race.ok++;
			race.inside = 0;
			iort_mutex_unlock(&race.m);
		} else {
			race.timedout++;
		}
		pthread_barrier_wait(&race.done);
	}
}

static void timed_racing_unlock(void **state)
{
	pthread_t th;
	uint64_t rng = stress_seed("timed_racing_unlock");

	(void)state;
	memset(&race, 0, sizeof(race));
	assert_int_equal(pthread_barrier_init(&race.go, NULL, 2), 0);
	assert_int_equal(pthread_barrier_init(&race.done, NULL, 2), 0);
	assert_int_equal(pthread_create(&th, NULL, race_main, (void *)(uintptr_t)(rng | 1)), 0);
	race.rounds = stress_scale(3000);
	for (long i = 0; i < race.rounds; i++) {
		uint64_t r = stress_rand(&rng);
		int cfg = (int)(r % 3);
		iort_mutex_init(&race.m);
		if (cfg == 1)
			assert_int_equal(iort_mutex_set_fairness(&race.m, 0, 0), 0);
		if (cfg == 2)
			assert_int_equal(iort_mutex_set_fairness(&race.m, UINT64_MAX, 1), 0);
		/* windows from 2 us to 256 us: both outcomes occur on any machine */
		race.window_ns = 2000ull << ((r >> 8) % 8);
		iort_mutex_lock(&race.m);
		pthread_barrier_wait(&race.go);
		uint64_t hold = (r >> 16) % race.window_ns, end = iort_clock_ns() + hold;
		while (iort_clock_ns() < end)
			;
		STRESS_CHECK(race.inside == 0);
		race.inside = 1; /* main's critical section overlaps the attempt */
		race.inside = 0;
		iort_mutex_unlock(&race.m);
		pthread_barrier_wait(&race.done);
		/* whatever the outcome, the mutex is free and nobody is queued */
		assert_true(iort_mutex_try_lock(&race.m));
		iort_mutex_unlock(&race.m);
		assert_int_equal(iort_mutex_fini(&race.m), 0);
	}
	race.quit = true;
	pthread_barrier_wait(&race.go);
	assert_int_equal(pthread_join(th, NULL), 0);
	printf("timed_racing_unlock: %ld rounds, %ld locked, %ld timed out\n", race.rounds, race.ok,
	       race.timedout);
	assert_int_equal(race.ok + race.timedout, race.rounds);
	pthread_barrier_destroy(&race.go);
	pthread_barrier_destroy(&race.done);
}

/*
 * A waiter queued behind a timed-out waiter is not stranded: main holds the lock, W1 (timed)
 * queues, W2 (untimed) queues behind it and sleeps; W1 times out and leaves while main still
 * holds the lock; main unlocks: W2 must get the lock. For each fairness setting (the time bound
 * wakes a parked head now and then; with no time bound only an unlock does).
 */
static void waiter_behind_timed_out_waiter(void **state)
{
	(void)state;
	for (int cfg = 0; cfg < 3; cfg++) {
		struct iort_mutex m;
		struct call w1, w2;

		iort_mutex_init(&m);
		if (cfg == 1)
			assert_int_equal(iort_mutex_set_fairness(&m, 0, 0), 0);
		if (cfg == 2)
			assert_int_equal(iort_mutex_set_fairness(&m, UINT64_MAX, 126), 0);
		iort_mutex_lock(&m);
		/* W1's deadline must outlast its unqueued spin (at most 100 us) and W2's queueing;
		 * if it does not, W2 is the head instead: still a valid (weaker) run. */
		start(&w1, &m, OP_TIMED, iort_clock_ns() + 100000000u, true);
		while (!(word_of(&m) & W_PTR_MASK))
			sched_yield();
		start(&w2, &m, OP_LOCK, 0, true);
		while (!atomic_load(&w2.tid))
			sched_yield();
		wait_in_futex(atomic_load(&w2.tid));	   /* queued and asleep */
		assert_int_equal(finish(&w1), -ETIMEDOUT); /* main held it throughout */
		iort_mutex_unlock(&m);
		assert_int_equal(finish(&w2), 0);
		assert_int_equal(iort_mutex_fini(&m), 0);
	}
}

/* --- condition variable -------------------------------------------------------------------- */

static void cond_signal_without_waiter(void **state)
{
	struct iort_cond c = IORT_COND_INIT, d;
	struct iort_mutex m;

	(void)state;
	iort_cond_init(&d);
	iort_mutex_init(&m);
	iort_cond_signal(&c);
	iort_cond_broadcast(&c);
	iort_cond_signal(&d);
	assert_int_equal(iort_cond_fini(&c), 0);
	assert_int_equal(iort_cond_fini(&d), 0);
	/* the signals were not remembered: a later wait times out */
	iort_mutex_lock(&m);
	assert_int_equal(iort_cond_wait_timed(&c, &m, 0), -ETIMEDOUT);
	assert_int_equal(iort_cond_wait_timed(&c, &m, iort_clock_ns() + 1000), -ETIMEDOUT);
	iort_mutex_unlock(&m);
	assert_int_equal(iort_cond_fini(&c), 0);
	assert_int_equal(iort_mutex_fini(&m), 0);
}

/* A timed-out wait returns with the mutex locked again (by the caller), and leaves the cond. */
static void cond_timed_wait_relocks(void **state)
{
	struct iort_cond c;
	struct iort_mutex m;

	(void)state;
	iort_cond_init(&c);
	iort_mutex_init(&m);
	iort_mutex_lock(&m);
	for (int i = 0; i < 3; i++) {
		uint64_t dl = i == 0 ? 0 : iort_clock_ns() + (uint64_t)i * 100000;
		assert_int_equal(iort_cond_wait_timed(&c, &m, dl), -ETIMEDOUT);
		assert_int_equal(other_thread(&m, OP_TRY, 0), 0); /* held again */
		assert_int_equal(iort_mutex_fini(&m), -EBUSY);
		assert_int_equal(iort_cond_fini(&c), 0); /* not waited on any more */
	}
	iort_mutex_unlock(&m);
	assert_int_equal(iort_mutex_fini(&m), 0);
}

/*
 * No lost signal, with the predicate pattern. Each round a waiter locks, announces itself under
 * the mutex, and waits while the predicate is false; main sets the predicate and signals: (0)
 * before the waiter may have looked (holding the mutex), (1) once the waiter announced itself
 * (holding the mutex: the waiter is queued on the cond or between its enqueue and its unlock),
 * (2) the same, signalling after unlocking, (3) at a random moment, signalling after unlocking,
 * (4) as (3) with broadcast, (5) as (1) with a timed wait by the waiter.
 */
static struct {
	struct iort_mutex m;
	struct iort_cond c;
	pthread_barrier_t go, done;
	bool pred, announced, timed, quit;
	long timeouts;
} pp;

static void *pp_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_barrier_wait(&pp.go);
		if (pp.quit)
			return NULL;
		iort_mutex_lock(&pp.m);
		pp.announced = true;
		while (!pp.pred) {
			if (pp.timed) {
				int r = iort_cond_wait_timed(&pp.c, &pp.m,
							     iort_clock_ns() + FAR_NS);
				STRESS_CHECK(r == 0 || r == -ETIMEDOUT);
				pp.timeouts += r != 0;
			} else {
				iort_cond_wait(&pp.c, &pp.m);
			}
		}
		pp.pred = false;
		pp.announced = false;
		iort_mutex_unlock(&pp.m);
		pthread_barrier_wait(&pp.done);
	}
}

static void wait_announced(void)
{
	for (;;) {
		iort_mutex_lock(&pp.m);
		if (pp.announced)
			return; /* locked */
		iort_mutex_unlock(&pp.m);
		sched_yield();
	}
}

static void cond_no_lost_signal(void **state)
{
	pthread_t th;
	uint64_t rng = stress_seed("cond_no_lost_signal");

	(void)state;
	memset(&pp, 0, sizeof(pp));
	iort_mutex_init(&pp.m);
	iort_cond_init(&pp.c);
	assert_int_equal(pthread_barrier_init(&pp.go, NULL, 2), 0);
	assert_int_equal(pthread_barrier_init(&pp.done, NULL, 2), 0);
	assert_int_equal(pthread_create(&th, NULL, pp_main, NULL), 0);
	long rounds = stress_scale(3000);
	for (long i = 0; i < rounds; i++) {
		uint64_t r = stress_rand(&rng);
		int mode = (int)(i % 6);
		pp.timed = mode == 5;
		pthread_barrier_wait(&pp.go);
		switch (mode) {
		case 0:
			iort_mutex_lock(&pp.m);
			pp.pred = true;
			iort_cond_signal(&pp.c);
			iort_mutex_unlock(&pp.m);
			break;
		case 1:
		case 5:
			wait_announced();
			pp.pred = true;
			iort_cond_signal(&pp.c);
			iort_mutex_unlock(&pp.m);
			break;
		case 2:
			wait_announced();
			pp.pred = true;
			iort_mutex_unlock(&pp.m);
			iort_cond_signal(&pp.c);
			break;
		default: {
			uint64_t end = iort_clock_ns() + (r >> 8) % 20000;
			while (iort_clock_ns() < end)
				;
			iort_mutex_lock(&pp.m);
			pp.pred = true;
			iort_mutex_unlock(&pp.m);
			if (mode == 3)
				iort_cond_signal(&pp.c);
			else
				iort_cond_broadcast(&pp.c);
			break;
		}
		}
		pthread_barrier_wait(&pp.done); /* a lost signal hangs here: the watchdog fires */
	}
	pp.quit = true;
	pthread_barrier_wait(&pp.go);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(pp.timeouts, 0);
	assert_int_equal(iort_cond_fini(&pp.c), 0);
	assert_int_equal(iort_mutex_fini(&pp.m), 0);
	pthread_barrier_destroy(&pp.go);
	pthread_barrier_destroy(&pp.done);
}

/*
 * Broadcast wakes all N waiters: each announces itself (the last one signals main through a
 * second condition variable) and waits for `go`; main sets `go` and broadcasts once. Half the
 * waiters wait with a far deadline, which must not be reached. Signal wakes one at a time: before
 * the broadcast, a signal lets exactly one waiter through (the others still wait).
 */
#define BC_N 5
static struct {
	struct iort_mutex m;
	struct iort_cond c, all_in;
	int waiting, go, passed, timeouts;
} bc;

static void *bc_main(void *arg)
{
	bool timed = (intptr_t)arg & 1;

	iort_mutex_lock(&bc.m);
	if (++bc.waiting == BC_N)
		iort_cond_signal(&bc.all_in);
	while (bc.go == 0) {
		if (timed)
			bc.timeouts +=
				iort_cond_wait_timed(&bc.c, &bc.m, iort_clock_ns() + FAR_NS) != 0;
		else
			iort_cond_wait(&bc.c, &bc.m);
	}
	if (bc.go == 1) /* one pass: whoever got it takes it */
		bc.go = 0;
	bc.passed++;
	bc.waiting--;
	iort_cond_signal(&bc.all_in);
	iort_mutex_unlock(&bc.m);
	return NULL;
}

static void cond_broadcast_wakes_all(void **state)
{
	pthread_t t[BC_N];

	(void)state;
	memset(&bc, 0, sizeof(bc));
	iort_mutex_init(&bc.m);
	iort_cond_init(&bc.c);
	iort_cond_init(&bc.all_in);
	for (intptr_t i = 0; i < BC_N; i++)
		assert_int_equal(pthread_create(&t[i], NULL, bc_main, (void *)i), 0);
	iort_mutex_lock(&bc.m);
	while (bc.waiting < BC_N)
		iort_cond_wait(&bc.all_in, &bc.m);
	assert_int_equal(iort_cond_fini(&bc.c), -EBUSY); /* waited on */
	/* one pass with a signal: exactly one waiter leaves */
	bc.go = 1;
	iort_cond_signal(&bc.c);
	while (bc.passed < 1)
		iort_cond_wait(&bc.all_in, &bc.m);
	assert_int_equal(bc.passed, 1);
	assert_int_equal(bc.waiting, BC_N - 1);
	/* everyone, with one broadcast */
	bc.go = 2;
	iort_cond_broadcast(&bc.c);
	iort_mutex_unlock(&bc.m);
	for (int i = 0; i < BC_N; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(bc.passed, BC_N);
	assert_int_equal(bc.timeouts, 0);
	assert_int_equal(iort_cond_fini(&bc.c), 0);
	assert_int_equal(iort_cond_fini(&bc.all_in), 0);
	assert_int_equal(iort_mutex_fini(&bc.m), 0);
}

/* cond_fini refuses while a thread waits (known to wait: it announced itself under the mutex,
 * before its cond_wait, and main took the mutex after that wait released it). */
static void cond_fini_busy(void **state)
{
	(void)state;
	memset(&pp, 0, sizeof(pp));
	iort_mutex_init(&pp.m);
	iort_cond_init(&pp.c);
	assert_int_equal(pthread_barrier_init(&pp.go, NULL, 2), 0);
	assert_int_equal(pthread_barrier_init(&pp.done, NULL, 2), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, pp_main, NULL), 0);
	pthread_barrier_wait(&pp.go);
	wait_announced();
	assert_int_equal(iort_cond_fini(&pp.c), -EBUSY);
	pp.pred = true;
	iort_cond_signal(&pp.c);
	iort_mutex_unlock(&pp.m);
	pthread_barrier_wait(&pp.done);
	assert_int_equal(iort_cond_fini(&pp.c), 0);
	pp.quit = true;
	pthread_barrier_wait(&pp.go);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(iort_mutex_fini(&pp.m), 0);
	pthread_barrier_destroy(&pp.go);
	pthread_barrier_destroy(&pp.done);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_lock_unlock),
		cmocka_unit_test(try_lock_other_thread),
		cmocka_unit_test(set_fairness_arguments),
		cmocka_unit_test(exclusion),
		cmocka_unit_test(timed_past_deadline_on_held),
		cmocka_unit_test(timed_succeeds_before_deadline),
		cmocka_unit_test(timed_racing_unlock),
		cmocka_unit_test(waiter_behind_timed_out_waiter),
		cmocka_unit_test(cond_signal_without_waiter),
		cmocka_unit_test(cond_timed_wait_relocks),
		cmocka_unit_test(cond_no_lost_signal),
		cmocka_unit_test(cond_broadcast_wakes_all),
		cmocka_unit_test(cond_fini_busy),
	};

	stress_watchdog(110); /* a lost wake-up is a failure with a backtrace, not a hang */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
