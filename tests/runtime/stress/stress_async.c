/*
 * The async futures under load: 48 tasks on a pool of 2 workers with loops (2 vCPUs; a canceller
 * thread and a blocking thread besides) run random operations: short sleeps, locks of one mutex,
 * sends and receives on one small channel, each with a random near deadline (or none) and a
 * token that a canceller thread cancels at random.
 *
 * Checked, from the results each future reports:
 *  - exclusion: a flag set and cleared in every critical section, a plain counter that only the
 *    owner touches (TSan sees a hand-off without happens-before), the mutex free at the end;
 *  - items: each item is received at most once, never one whose send reported failure
 *    (-ETIMEDOUT, -ECANCELED), and every item whose send succeeded is received or still in the
 *    channel at the end;
 *  - results are 0, -ETIMEDOUT (never for a sleep, never before the deadline) or -ECANCELED
 *    (only with the token cancelled);
 *  - every task finishes (a lost wake-up hangs the watchdog) and every timer record is freed.
 * Prints its seed.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/async.h>
#include <iort/cancel.h>
#include <iort/chan.h>
#include <iort/clock.h>
#include <iort/mutex.h>
#include <iort/pool.h>
#include <iort/reactor.h>

#include "async-private.h"
#include "stress.h"

#define TASKS	 48
#define SLOTS	 TASKS
#define MAX_ITER 4096

static struct iort_mutex mu;
static _Atomic int inside;
static uint64_t counter; /* guarded by mu */
static _Atomic uint64_t locked_n;
static struct iort_chan *ch;
static long iters;
/* per item (task, seq): 0 never sent, 1 being sent, 2 sent, 3 received */
static _Atomic uint8_t item_state[TASKS][MAX_ITER];
static _Atomic uint64_t results[4][4]; /* [op][0 ok, 1 timed out, 2 cancelled, 3 other] */
static _Atomic int stop_cancelling;

/* Cancel slots: a task's current token, cancelled at random by the canceller thread. */
static struct {
	pthread_mutex_t mu;
	struct iort_cancel *tok;
} slots[SLOTS];

enum { OP_SLEEP, OP_LOCK, OP_SEND, OP_RECV };

struct task {
	struct iort_async f;
	struct iort_cancel tok;
	unsigned id;
	long done;
	int op;
	bool busy;
	uint64_t deadline;
	uintptr_t item;
	uint64_t rng;
	_Atomic int in_poll;
};

static void enter(void)
{
	STRESS_CHECK(atomic_exchange(&inside, 1) == 0);
	counter++;
	atomic_fetch_add(&locked_n, 1);
}

static void leave(void)
{
	STRESS_CHECK(atomic_exchange(&inside, 0) == 1);
}

static void start_op(struct task *t)
{
	uint64_t r = stress_rand(&t->rng);
	uint64_t now = iort_clock_ns();

	t->op = (int)(r % 4);
	t->deadline = (r >> 8) % 5 == 0 ? IORT_DEADLINE_NONE : now + (r >> 16) % 300000;
	if (t->op == OP_SLEEP && t->deadline == IORT_DEADLINE_NONE)
		t->deadline = now + (r >> 16) % 100000;
	iort_cancel_init(&t->tok);
	pthread_mutex_lock(&slots[t->id].mu);
	slots[t->id].tok = &t->tok;
	pthread_mutex_unlock(&slots[t->id].mu);
	switch (t->op) {
	case OP_SLEEP:
		iort_async_sleep(&t->f, t->deadline, &t->tok);
		break;
	case OP_LOCK:
		iort_async_mutex_lock(&t->f, &mu, t->deadline, &t->tok);
		break;
	case OP_SEND:
		t->item = ((uintptr_t)(t->id + 1) << 32) | (uintptr_t)(t->done + 1);
		atomic_store(&item_state[t->id][t->done], 1);
		iort_async_chan_send(&t->f, ch, (void *)t->item, t->deadline, &t->tok);
		break;
	default:
		iort_async_chan_recv(&t->f, ch, t->deadline, &t->tok);
		break;
	}
	t->busy = true;
}

static void received(uintptr_t v)
{
	unsigned id = (unsigned)(v >> 32) - 1;
	uint64_t seq = v & 0xffffffffu;

	STRESS_CHECK(id < TASKS && seq >= 1 && seq <= (uint64_t)iters);
	uint8_t s = atomic_exchange(&item_state[id][seq - 1], 3);
	STRESS_CHECK(s == 1 || s == 2); /* sent (or being reported), received once */
}

static void finish_op(struct task *t, int r)
{
	bool cancelled = iort_cancel_requested(&t->tok);
	uint64_t now = iort_clock_ns();
	int k = r == 0 ? 0 : r == -ETIMEDOUT ? 1 : r == -ECANCELED ? 2 : 3;

	atomic_fetch_add(&results[t->op][k], 1);
	STRESS_CHECK(k != 3);
	STRESS_CHECK(k != 2 || cancelled);
	STRESS_CHECK(k != 1 || (t->op != OP_SLEEP && now >= t->deadline));
	if (t->op == OP_SLEEP && r == 0)
		STRESS_CHECK(now >= t->deadline);
	if (t->op == OP_LOCK && r == 0) {
		enter();
		leave();
		iort_mutex_unlock_async(&mu);
	}
	if (t->op == OP_SEND) {
		uint8_t s = 1;
		if (r == 0)
			(void)atomic_compare_exchange_strong(&item_state[t->id][t->done], &s, 2);
		else /* a failed send's item was never taken */
			STRESS_CHECK(atomic_exchange(&item_state[t->id][t->done], 0) == 1);
	}
	if (t->op == OP_RECV && r == 0)
		received((uintptr_t)iort_async_item(&t->f));
	iort_async_fini(&t->f);
	pthread_mutex_lock(&slots[t->id].mu);
	slots[t->id].tok = NULL;
	pthread_mutex_unlock(&slots[t->id].mu);
	iort_cancel_fini(&t->tok);
	t->busy = false;
	t->done++;
}

static enum iort_poll task_poll(void *arg, struct iort_waker *w)
{
	struct task *t = arg;

	STRESS_CHECK(atomic_exchange(&t->in_poll, 1) == 0);
	while (t->done < iters) {
		if (!t->busy)
			start_op(t);
		int r = iort_async_poll(&t->f, w);
		if (r == IORT_PENDING) {
			atomic_store(&t->in_poll, 0);
			return IORT_PENDING;
		}
		finish_op(t, r);
	}
	atomic_store(&t->in_poll, 0);
	return IORT_READY;
}

static void *canceller_main(void *arg)
{
	uint64_t rng = *(uint64_t *)arg;

	while (!atomic_load(&stop_cancelling)) {
		unsigned i = (unsigned)(stress_rand(&rng) % SLOTS);
		pthread_mutex_lock(&slots[i].mu);
		if (slots[i].tok)
			iort_cancel_request(slots[i].tok);
		pthread_mutex_unlock(&slots[i].mu);
		for (unsigned k = (unsigned)(stress_rand(&rng) % 20); k > 0; k--)
			sched_yield();
	}
	return NULL;
}

/* A thread that takes the mutex the blocking way meanwhile. */
static void *locker_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_cancelling)) {
		iort_mutex_lock(&mu);
		enter();
		leave();
		iort_mutex_unlock(&mu);
		sched_yield();
	}
	return NULL;
}

int main(void)
{
	uint64_t seed = stress_seed("stress_async");
	struct iort_pool_config pc = { .workers = 2 };
	struct iort_pool *p;
	static struct task tasks[TASKS];
	struct iort_task *h[TASKS];
	pthread_t canceller, locker;

	stress_watchdog(300);
	iters = stress_scale(2000);
	if (iters > MAX_ITER)
		iters = MAX_ITER;
	iort_mutex_init(&mu);
	STRESS_CHECK(iort_chan_create(4, &ch) == 0);
	for (int i = 0; i < SLOTS; i++)
		pthread_mutex_init(&slots[i].mu, NULL);
	STRESS_CHECK(iort_loop_pool_create(&pc, NULL, &p) == 0);
	uint64_t crng = seed ^ 0xc0ffee;
	STRESS_CHECK(pthread_create(&canceller, NULL, canceller_main, &crng) == 0);
	STRESS_CHECK(pthread_create(&locker, NULL, locker_main, NULL) == 0);
	for (unsigned i = 0; i < TASKS; i++) {
		tasks[i].id = i;
		tasks[i].rng = seed ^ (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull;
		struct iort_spawn opt = { .poll = task_poll, .arg = &tasks[i] };
		STRESS_CHECK(iort_pool_spawn_ex(p, &opt, &h[i]) == 0);
	}
	for (unsigned i = 0; i < TASKS; i++)
		STRESS_CHECK(iort_task_join(h[i]) == 0);
	atomic_store(&stop_cancelling, 1);
	STRESS_CHECK(pthread_join(canceller, NULL) == 0);
	STRESS_CHECK(pthread_join(locker, NULL) == 0);
	/* what is still in the channel was sent and not received */
	void *v;
	while (iort_chan_try_recv(ch, &v))
		received((uintptr_t)v);
	uint64_t lost = 0;
	for (unsigned i = 0; i < TASKS; i++)
		for (long s = 0; s < iters; s++)
			lost += atomic_load(&item_state[i][s]) == 2; /* sent, never received */
	STRESS_CHECK(lost == 0);
	iort_mutex_lock(&mu);
	STRESS_CHECK(counter == atomic_load(&locked_n));
	iort_mutex_unlock(&mu);
	STRESS_CHECK(iort_mutex_fini(&mu) == 0);
	iort_pool_destroy(p);
	STRESS_CHECK(iort__async_alarms_live() == 0);
	iort_chan_destroy(ch);
	printf("stress_async: ok; results (ok/timed out/cancelled): sleep %" PRIu64 "/%" PRIu64
	       "/%" PRIu64 ", lock %" PRIu64 "/%" PRIu64 "/%" PRIu64 ", send %" PRIu64 "/%" PRIu64
	       "/%" PRIu64 ", recv %" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
	       results[0][0], results[0][1], results[0][2], results[1][0], results[1][1],
	       results[1][2], results[2][0], results[2][1], results[2][2], results[3][0],
	       results[3][1], results[3][2]);
	return 0;
}
