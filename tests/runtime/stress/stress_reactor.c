/*
 * The event loop under load, oversubscribed (up to 4 workers or loop threads and 4 outside
 * threads on 2 cores), seeded, on both backends (io_uring where the kernel allows it).
 *
 * Phase 1, posts: two standalone loops, each run by its own thread, fed by four producer threads
 * that post to either loop at random. A loop alternates between busy stretches (a deferred
 * callback that re-queues itself for a random number of turns, so posts land in a running loop)
 * and sleep (nothing runnable: posts must wake it). Checked: every post runs exactly once, on the
 * loop it was posted to, in its producer's order.
 *
 * Phase 2, task I/O: a pool whose workers own loops runs one future per socketpair; a feeder
 * thread writes each pair's byte stream (a counter sequence) in random-sized pieces; the futures
 * read through the readiness cache (iort_io_poll, read until EAGAIN, iort_io_clear, wait) and are
 * stolen between workers meanwhile. Checked: each future receives its stream whole, in order,
 * with nothing lost or duplicated, and finishes (a lost wake-up hangs: the watchdog fails it).
 */
#include <iort/clock.h>
#include <iort/pool.h>
#include <iort/reactor.h>

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
#include <sys/socket.h>
#include <unistd.h>

#include "stress.h"

/* ---- phase 1: posts ---- */

#define LOOPS	  2
#define PRODUCERS 4

struct item {
	struct iort_post post;
	uint16_t producer, loop;
	uint32_t seq;
};

struct lstate {
	struct iort_loop *l;
	uint32_t next[PRODUCERS]; /* per producer: the next seq we may see (only higher ones) */
	uint64_t seen;
	struct iort_post spin;
	unsigned spin_left;
	bool spinning;
	uint64_t rng;
	pthread_t th;
};

static struct lstate loops[LOOPS];
static _Atomic uint64_t delivered;
static uint64_t expected;

static void spin_run(struct iort_post *p)
{
	struct lstate *s = (struct lstate *)((char *)p - offsetof(struct lstate, spin));

	if (s->spin_left-- > 0)
		iort_loop_defer(s->l, &s->spin, spin_run);
	else
		s->spinning = false;
}

static void item_run(struct iort_post *p)
{
	struct item *it = (struct item *)p;
	struct lstate *s = &loops[it->loop];

	STRESS_CHECK(iort_loop_current() == s->l);
	/* Items of one producer to one loop arrive in order; seqs are per producer (shared by
	 * both loops), so each loop sees an increasing subsequence. */
	STRESS_CHECK(it->seq >= s->next[it->producer]);
	s->next[it->producer] = it->seq + 1;
	s->seen++;
	if (!s->spinning && (stress_rand(&s->rng) & 7) == 0) {
		s->spinning = true;
		s->spin_left = (unsigned)(stress_rand(&s->rng) % 2000);
		iort_loop_defer(s->l, &s->spin, spin_run);
	}
	if (atomic_fetch_add(&delivered, 1) + 1 == expected)
		for (int i = 0; i < LOOPS; i++)
			iort_loop_stop(loops[i].l);
}

static void *loop_thread(void *arg)
{
	struct lstate *s = arg;

	STRESS_CHECK(iort_loop_run(s->l, IORT_RUN_DEFAULT) == 1);
	return NULL;
}

struct producer {
	uint16_t id;
	uint32_t n;
	uint64_t rng;
	struct item *items;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (uint32_t i = 0; i < p->n; i++) {
		struct item *it = &p->items[i];
		it->producer = p->id;
		it->seq = i;
		it->loop = (uint16_t)(stress_rand(&p->rng) % LOOPS);
		STRESS_CHECK(iort_loop_post(loops[it->loop].l, &it->post, item_run) == 0);
		if ((stress_rand(&p->rng) & 255) == 0)
			sched_yield(); /* let a loop drain and fall asleep */
	}
	return NULL;
}

static void phase_posts(enum iort_backend b, uint64_t *rng)
{
	struct iort_loop_config cfg = { .backend = b };
	struct producer pr[PRODUCERS];
	pthread_t th[PRODUCERS];
	uint32_t per = (uint32_t)stress_scale(100000);

	expected = (uint64_t)per * PRODUCERS;
	atomic_store(&delivered, 0);
	for (int i = 0; i < LOOPS; i++) {
		memset(&loops[i], 0, sizeof(loops[i]));
		STRESS_CHECK(iort_loop_create(&cfg, &loops[i].l) == 0);
		loops[i].rng = stress_rand(rng);
		iort_loop_ref(loops[i].l);
		STRESS_CHECK(pthread_create(&loops[i].th, NULL, loop_thread, &loops[i]) == 0);
	}
	for (int i = 0; i < PRODUCERS; i++) {
		pr[i] = (struct producer){ .id = (uint16_t)i, .n = per, .rng = stress_rand(rng) };
		pr[i].items = calloc(per, sizeof(*pr[i].items));
		STRESS_CHECK(pr[i].items != NULL);
		STRESS_CHECK(pthread_create(&th[i], NULL, produce, &pr[i]) == 0);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	uint64_t seen = 0;
	/* Every loop thread first: the last item stops both loops, so one loop's thread may still
	 * be waking the other when that one has returned. */
	for (int i = 0; i < LOOPS; i++)
		pthread_join(loops[i].th, NULL);
	for (int i = 0; i < LOOPS; i++) {
		/* The loops stopped when the last item ran; spinners may be left: run them out. */
		iort_loop_unref(loops[i].l);
		while (iort_loop_run(loops[i].l, IORT_RUN_NOWAIT) != 0)
			;
		seen += loops[i].seen;
		iort_loop_destroy(loops[i].l);
	}
	STRESS_CHECK(seen == expected);
	STRESS_CHECK(atomic_load(&delivered) == expected);
	for (int i = 0; i < PRODUCERS; i++)
		free(pr[i].items);
	printf("  posts: %s, %" PRIu64 " delivered exactly once, in order\n", iort_backend_name(b),
	       expected);
}

/* ---- phase 2: task I/O ---- */

#define PAIRS 32

struct stream {
	int sv[2];
	size_t total; /* bytes to send */
	size_t got;
	struct iort_loop *l; /* where the reader registered */
	struct iort_post stop;
	_Atomic int finished;
	unsigned pendings;
};

static void stop_home(struct iort_post *p)
{
	struct stream *s = (struct stream *)((char *)p - offsetof(struct stream, stop));

	STRESS_CHECK(iort_io_stop(iort_loop_current(), s->sv[0]) == 0);
	atomic_store(&s->finished, 1);
}

static enum iort_poll read_stream(void *arg, struct iort_waker *w)
{
	struct stream *s = arg;
	unsigned char buf[512];

	if (s->l == NULL) {
		s->l = iort_loop_current();
		STRESS_CHECK(s->l != NULL);
		STRESS_CHECK(iort_io_start(s->l, s->sv[0], IORT_IO_READ, NULL, NULL) == 0);
	}
	for (;;) {
		uint32_t ready;
		int st = iort_io_poll(s->l, s->sv[0], IORT_IO_READ, w, &ready);
		STRESS_CHECK(st >= 0);
		if (st == IORT_PENDING) {
			s->pendings++;
			return IORT_PENDING;
		}
		ssize_t k = read(s->sv[0], buf, sizeof(buf));
		if (k < 0) {
			STRESS_CHECK(errno == EAGAIN);
			iort_io_clear(s->l, s->sv[0], ready, IORT_IO_READ);
			continue;
		}
		STRESS_CHECK(k > 0); /* the writer never closes before everything arrived */
		for (ssize_t i = 0; i < k; i++)
			STRESS_CHECK(buf[i] == (unsigned char)((s->got + (size_t)i) * 7u));
		s->got += (size_t)k;
		STRESS_CHECK(s->got <= s->total);
		if (s->got == s->total) {
			/* Unregister on the registering loop's thread (we may run elsewhere). */
			STRESS_CHECK(iort_loop_post(s->l, &s->stop, stop_home) == 0);
			return IORT_READY;
		}
	}
}

static void phase_tasks(enum iort_backend b, uint64_t *rng)
{
	struct iort_pool_config pc = { .workers = 2 + (unsigned)(stress_rand(rng) % 3) };
	struct iort_loop_config lc = { .backend = b };
	struct iort_pool *p;
	struct stream st[PAIRS];
	struct iort_task *t[PAIRS];
	size_t sent[PAIRS] = { 0 };

	STRESS_CHECK(iort_loop_pool_create(&pc, &lc, &p) == 0);
	for (int i = 0; i < PAIRS; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		STRESS_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
					st[i].sv) == 0);
		st[i].total = (size_t)stress_scale(20000) + (size_t)(stress_rand(rng) % 5000);
		struct iort_spawn opt = { .poll = read_stream, .arg = &st[i] };
		STRESS_CHECK(iort_pool_spawn_ex(p, &opt, &t[i]) == 0);
	}
	/* Feed the pairs in random-sized pieces, interleaved. */
	for (bool more = true; more;) {
		more = false;
		for (int i = 0; i < PAIRS; i++) {
			if (sent[i] == st[i].total)
				continue;
			more = true;
			unsigned char buf[700];
			size_t n = 1 + (size_t)(stress_rand(rng) % sizeof(buf));
			if (n > st[i].total - sent[i])
				n = st[i].total - sent[i];
			for (size_t k = 0; k < n; k++)
				buf[k] = (unsigned char)((sent[i] + k) * 7u);
			ssize_t w = write(st[i].sv[1], buf, n);
			if (w < 0) {
				STRESS_CHECK(errno == EAGAIN);
				sched_yield();
				continue;
			}
			sent[i] += (size_t)w;
		}
	}
	unsigned pendings = 0;
	for (int i = 0; i < PAIRS; i++) {
		STRESS_CHECK(iort_task_join(t[i]) == 0);
		iort_task_release(t[i]);
		STRESS_CHECK(st[i].got == st[i].total);
		while (!atomic_load(&st[i].finished))
			sched_yield();
		pendings += st[i].pendings;
		close(st[i].sv[0]);
		close(st[i].sv[1]);
	}
	iort_pool_destroy(p);
	printf("  tasks: %s, %u workers, %d streams whole and in order, %u waits\n",
	       iort_backend_name(b), pc.workers, PAIRS, pendings);
}

int main(void)
{
	uint64_t rng = stress_seed("stress_reactor");
	enum iort_backend bs[] = { IORT_BACKEND_EPOLL, IORT_BACKEND_URING };

	stress_watchdog(300);
	for (unsigned i = 0; i < sizeof(bs) / sizeof(bs[0]); i++) {
		struct iort_loop *probe;
		struct iort_loop_config cfg = { .backend = bs[i] };
		if (iort_loop_create(&cfg, &probe) != 0) {
			printf("  %s: unavailable here, skipped\n", iort_backend_name(bs[i]));
			continue;
		}
		iort_loop_destroy(probe);
		for (int round = 0; round < 3; round++) {
			phase_posts(bs[i], &rng);
			phase_tasks(bs[i], &rng);
		}
	}
	printf("stress_reactor: ok\n");
	return 0;
}
