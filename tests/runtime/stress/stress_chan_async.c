/*
 * The channel's poll-style operations under load: pool tasks (2 workers) send and receive with
 * iort_chan_poll_send/recv, their callbacks waking them; threads send and receive with the
 * blocking timed calls on the same small channel, on 2 vCPUs. Tasks give up a registered or
 * notified operation at random (iort_chan_poll_cancel, then poll again later), which passes
 * absorbed notifications on.
 *
 * Checked: every item received exactly once (a bitmap per producer), per-producer order as seen
 * by each consumer, every task and thread finishing (a stranded waiter hangs the watchdog), and
 * the channel empty at the end. Prints its seed.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/chan.h>
#include <iort/pool.h>

#include "stress.h"

#define CAP	     3
#define TASK_PROD    8
#define TASK_CONS    8
#define THREAD_PROD  2
#define THREAD_CONS  2
#define PRODUCERS    (TASK_PROD + THREAD_PROD)
#define CONSUMERS    (TASK_CONS + THREAD_CONS)
#define MAX_PER_PROD 200000

static struct iort_chan *ch;
static long per_prod;
static _Atomic uint8_t seen[PRODUCERS][MAX_PER_PROD];
static _Atomic uint64_t received, gave_up;

/* Items: producer p's i-th (1-based) is (p + 1) << 32 | i; 0 is the end marker. */
static void consume(uint64_t *last, uintptr_t v)
{
	unsigned p = (unsigned)(v >> 32) - 1;
	uint64_t i = v & 0xffffffffu;

	STRESS_CHECK(p < PRODUCERS && i >= 1 && i <= (uint64_t)per_prod);
	STRESS_CHECK(i > last[p]); /* per-producer order, as this consumer sees it */
	last[p] = i;
	STRESS_CHECK(atomic_exchange(&seen[p][i - 1], 1) == 0); /* exactly once */
	atomic_fetch_add(&received, 1);
}

struct task {
	struct iort_chan_waiter w;
	struct iort_waker *waker; /* one clone, the arg of every registration */
	bool sender;
	unsigned id;
	uint64_t next; /* sender: the next item's index */
	uint64_t last[PRODUCERS];
	uint64_t rng;
	_Atomic int in_poll;
};

static void on_ready(void *arg)
{
	iort_waker_wake_by_ref(arg);
}

static enum iort_poll task_poll(void *arg, struct iort_waker *wk)
{
	struct task *t = arg;
	enum iort_poll res = IORT_PENDING;

	STRESS_CHECK(atomic_exchange(&t->in_poll, 1) == 0);
	if (!t->waker)
		t->waker = iort_waker_clone(wk);
	for (;;) {
		void *item = NULL;
		int r;

		if (t->sender) {
			if (t->next > (uint64_t)per_prod) {
				res = IORT_READY;
				break;
			}
			uintptr_t v = ((uintptr_t)(t->id + 1) << 32) | t->next;
			r = iort_chan_poll_send(ch, (void *)v, &t->w, on_ready, t->waker);
		} else {
			r = iort_chan_poll_recv(ch, &item, &t->w, on_ready, t->waker);
		}
		if (r == 0) {
			if (t->sender) {
				t->next++;
				continue;
			}
			if (!item) {
				res = IORT_READY; /* the end marker */
				break;
			}
			consume(t->last, (uintptr_t)item);
			continue;
		}
		STRESS_CHECK(r == -EAGAIN);
		if (stress_rand(&t->rng) % 8 == 0) {
			/* give up (possibly absorbing a notification), come back after a yield */
			(void)iort_chan_poll_cancel(ch, &t->w);
			atomic_fetch_add(&gave_up, 1);
			iort_waker_wake_by_ref(wk);
		}
		break;
	}
	if (res == IORT_READY) {
		/* the waiter is idle (the last poll returned 0): no callback holds the clone */
		iort_waker_drop(t->waker);
		t->waker = NULL;
	}
	atomic_store(&t->in_poll, 0);
	return res;
}

struct thr {
	bool sender;
	unsigned id;
	uint64_t last[PRODUCERS];
	pthread_t th;
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;

	if (t->sender) {
		for (uint64_t i = 1; i <= (uint64_t)per_prod; i++) {
			uintptr_t v = ((uintptr_t)(t->id + 1) << 32) | i;
			STRESS_CHECK(
				iort_chan_send_timed(ch, (void *)v, IORT_DEADLINE_NONE, NULL) == 0);
		}
		return NULL;
	}
	for (;;) {
		void *item = NULL;
		STRESS_CHECK(iort_chan_recv_timed(ch, &item, IORT_DEADLINE_NONE, NULL) == 0);
		if (!item)
			return NULL;
		consume(t->last, (uintptr_t)item);
	}
}

int main(void)
{
	uint64_t seed = stress_seed("stress_chan_async");
	struct iort_pool_config cfg = { .workers = 2 };
	struct iort_pool *p;
	static struct task tasks[TASK_PROD + TASK_CONS];
	struct iort_task *h[TASK_PROD + TASK_CONS];
	static struct thr thr[THREAD_PROD + THREAD_CONS];

	stress_watchdog(300);
	per_prod = stress_scale(20000);
	if (per_prod > MAX_PER_PROD)
		per_prod = MAX_PER_PROD;
	STRESS_CHECK(iort_chan_create(CAP, &ch) == 0);
	STRESS_CHECK(iort_pool_create(&cfg, &p) == 0);
	for (unsigned i = 0; i < THREAD_PROD + THREAD_CONS; i++) {
		thr[i].sender = i < THREAD_PROD;
		thr[i].id = TASK_PROD + i; /* producer ids after the tasks' */
		STRESS_CHECK(pthread_create(&thr[i].th, NULL, thread_main, &thr[i]) == 0);
	}
	for (unsigned i = 0; i < TASK_PROD + TASK_CONS; i++) {
		struct task *t = &tasks[i];
		t->sender = i < TASK_PROD;
		t->id = i;
		t->next = 1;
		t->rng = seed ^ (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull;
		iort_chan_waiter_init(&t->w);
		struct iort_spawn opt = { .poll = task_poll, .arg = t };
		STRESS_CHECK(iort_pool_spawn_ex(p, &opt, &h[i]) == 0);
	}
	for (unsigned i = 0; i < TASK_PROD; i++)
		STRESS_CHECK(iort_task_join(h[i]) == 0);
	for (unsigned i = 0; i < THREAD_PROD; i++)
		STRESS_CHECK(pthread_join(thr[i].th, NULL) == 0);
	for (unsigned i = 0; i < CONSUMERS;
	     i++) /* one end marker per consumer, behind every item */
		STRESS_CHECK(iort_chan_send_timed(ch, NULL, IORT_DEADLINE_NONE, NULL) == 0);
	for (unsigned i = TASK_PROD; i < TASK_PROD + TASK_CONS; i++)
		STRESS_CHECK(iort_task_join(h[i]) == 0);
	for (unsigned i = THREAD_PROD; i < THREAD_PROD + THREAD_CONS; i++)
		STRESS_CHECK(pthread_join(thr[i].th, NULL) == 0);
	STRESS_CHECK(atomic_load(&received) == (uint64_t)PRODUCERS * (uint64_t)per_prod);
	void *item;
	STRESS_CHECK(!iort_chan_try_recv(ch, &item));
	iort_pool_destroy(p);
	iort_chan_destroy(ch);
	printf("stress_chan_async: ok (%" PRIu64 " items, %" PRIu64 " give-ups)\n",
	       atomic_load(&received), atomic_load(&gave_up));
	return 0;
}
