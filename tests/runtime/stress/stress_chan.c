/*
 * iort_chan under oversubscription: 4 senders x 4 receivers on 2 cores, capacity 2, blocking
 * calls without deadline (both sides sleep on their waitqs constantly); then capacities 1 and 3,
 * whose rings are larger than the channel (the bounded push).
 *
 * Items encode (sender, seq). Each receiver checks that the seqs it gets from one sender increase
 * (the ring is FIFO in claim order, so one sender's items are received in order by any receiver
 * and strictly increasing per receiver); a shared table counts each item once (no duplication),
 * and the final count proves no loss. A lost wake-up would hang a side for ever: the watchdog
 * aborts with a backtrace. A last phase cancels receivers blocked on the empty channel.
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

#include <iort/chan.h>
#include <iort/clock.h>

#include "stress.h"

#define SENDERS	  4
#define RECEIVERS 4
/* 2: the ring's own size; 1 and 3: a ring of 2 and 4 bounded below its size */
static const size_t capacities[] = { 2, 1, 3 };

static struct iort_chan *g_ch;
static long g_per_sender;
static _Atomic uint8_t *g_seen; /* [sender * per_sender + seq] */
static struct iort_cancel g_stop[RECEIVERS];
static long g_received[RECEIVERS];
static _Atomic long g_total;

static void *sender_main(void *arg)
{
	uintptr_t id = (uintptr_t)arg;

	for (long i = 0; i < g_per_sender; i++) {
		/* +1: never send NULL, so a bogus NULL receive is caught */
		void *item = (void *)((id << 40 | (uintptr_t)i) + 1);

		STRESS_CHECK(iort_chan_send_timed(g_ch, item, IORT_DEADLINE_NONE, NULL) == 0);
	}
	return NULL;
}

static void *receiver_main(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	long last[SENDERS];
	void *item;
	int r;

	for (int s = 0; s < SENDERS; s++)
		last[s] = -1;
	while ((r = iort_chan_recv_timed(g_ch, &item, IORT_DEADLINE_NONE, &g_stop[id])) == 0) {
		uintptr_t v = (uintptr_t)item - 1;
		uintptr_t s = v >> 40;
		long seq = (long)(v & ((1ull << 40) - 1));

		STRESS_CHECK(item != NULL);
		STRESS_CHECK(s < SENDERS && seq < g_per_sender);
		STRESS_CHECK(seq > last[s]); /* per-sender order */
		last[s] = seq;
		/* MO relaxed: a counter per item; the joins order the final reads. */
		STRESS_CHECK(atomic_fetch_add_explicit(
				     &g_seen[s * (uintptr_t)g_per_sender + (uintptr_t)seq], 1,
				     memory_order_relaxed) == 0);
		g_received[id]++;
		/* MO relaxed: progress counter for main's drain poll; joins order the rest. */
		atomic_fetch_add_explicit(&g_total, 1, memory_order_relaxed);
	}
	STRESS_CHECK(r == -ECANCELED);
	return NULL;
}

static void run(size_t capacity, long per_sender)
{
	pthread_t snd[SENDERS], rcv[RECEIVERS];
	long total = 0;
	uint64_t t0;
	void *item;

	g_per_sender = per_sender;
	/* MO relaxed: no thread of this run started yet. */
	atomic_store_explicit(&g_total, 0, memory_order_relaxed);
	for (int i = 0; i < RECEIVERS; i++)
		g_received[i] = 0;
	g_seen = calloc((size_t)(SENDERS * g_per_sender), sizeof(*g_seen));
	STRESS_CHECK(g_seen);
	STRESS_CHECK(iort_chan_create(capacity, &g_ch) == 0);
	t0 = iort_clock_ns();
	for (uintptr_t i = 0; i < RECEIVERS; i++) {
		iort_cancel_init(&g_stop[i]);
		STRESS_CHECK(pthread_create(&rcv[i], NULL, receiver_main, (void *)i) == 0);
	}
	for (uintptr_t i = 0; i < SENDERS; i++)
		STRESS_CHECK(pthread_create(&snd[i], NULL, sender_main, (void *)i) == 0);
	for (int i = 0; i < SENDERS; i++)
		STRESS_CHECK(pthread_join(snd[i], NULL) == 0);
	/* Let receivers drain: wait (without sleeping) until every item was counted. */
	/* MO relaxed: polling a counter; the joins below order the final checks. */
	while (atomic_load_explicit(&g_total, memory_order_relaxed) < SENDERS * g_per_sender)
		sched_yield();
	/* Receivers are now (or soon) parked on the empty channel: cancel them one by one. */
	for (int i = 0; i < RECEIVERS; i++)
		iort_cancel_request(&g_stop[i]);
	for (int i = 0; i < RECEIVERS; i++) {
		STRESS_CHECK(pthread_join(rcv[i], NULL) == 0);
		total += g_received[i];
	}
	STRESS_CHECK(total == SENDERS * g_per_sender);
	for (long k = 0; k < SENDERS * g_per_sender; k++)
		/* MO relaxed: after the joins. */
		STRESS_CHECK(atomic_load_explicit(&g_seen[k], memory_order_relaxed) == 1);
	STRESS_CHECK(!iort_chan_try_recv(g_ch, &item));
	printf("stress_chan: %d senders x %ld items, %d receivers (", SENDERS, g_per_sender,
	       RECEIVERS);
	for (int i = 0; i < RECEIVERS; i++)
		printf("%s%ld", i ? " " : "", g_received[i]);
	printf("), capacity %zu, in %.3f s\n", capacity, (double)(iort_clock_ns() - t0) / 1e9);
	iort_chan_destroy(g_ch);
	free(g_seen);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	stress_seed("stress_chan");
	stress_watchdog(300);
	for (size_t i = 0; i < sizeof(capacities) / sizeof(capacities[0]); i++)
		run(capacities[i], stress_scale(i == 0 ? 100000 : 30000));
	return 0;
}
