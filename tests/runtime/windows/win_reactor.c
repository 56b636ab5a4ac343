/*
 * The event loop's critical windows, driven through test points:
 * - a post that lands while the loop is between running its posts and announcing it sleeps
 *   (reactor.before_sleep): the poster sees no sleeper and writes no eventfd, so only the loop's
 *   re-check after its announcement can see the post; the loop must not block;
 * - a post that lands after the announcement, before the re-check (reactor.sleeping): the poster
 *   sees the sleeper and wakes it, or the re-check sees the post; either way the loop returns;
 * - a post seen both ways (the poster wrote the eventfd, the re-check turned the wait into a
 *   poll): the coalescing flag is released with the edge, so a post after the next re-check
 *   (reactor.waiting), which only the eventfd can deliver, still wakes the loop;
 * - a write claimed by a poster that saw a stale announcement, whose edge a busy loop's
 *   non-blocking poll takes (reactor.wake_checked): woken is cleared with the edge, so the next
 *   poster into the sleeping loop writes again;
 * - a task's io_poll that found no readiness outside the slot lock (reactor.poll_locked) while
 *   the loop dispatches the readiness it waits for: the re-check under the lock sees it, so the
 *   task does not wait for an edge that already came.
 * - a pool worker entering its loop's blocking poll when a task arrives (reactor.before_sleep):
 *   the unpark's kick is re-checked after the announcement;
 * - a clear after EAGAIN racing with a new edge: the edge count keeps the newer readiness.
 * Each would hang without its protocol; every wait here gives up with a failure after 60 s.
 */
#include <iort/clock.h>
#include <iort/pool.h>
#include <iort/reactor.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tp.h"

struct runner {
	struct iort_loop *l;
	enum iort_run_mode mode;
	_Atomic int done;
	int ret;
};

static void *run_loop(void *arg)
{
	struct runner *r = arg;

	tp_tag(1);
	r->ret = iort_loop_run(r->l, r->mode);
	atomic_store(&r->done, 1);
	return NULL;
}

struct hit {
	struct iort_post post;
	_Atomic int ran;
};

static void hit_run(struct iort_post *p)
{
	atomic_store(&((struct hit *)p)->ran, 1);
}

static void post_in_window(const char *point)
{
	struct iort_loop_config cfg = { .backend = IORT_BACKEND_EPOLL };
	struct iort_loop *l;
	struct runner r = { .mode = IORT_RUN_ONCE };
	struct hit h = { 0 };
	pthread_t th;

	tp_reset();
	assert_int_equal(iort_loop_create(&cfg, &l), 0);
	r.l = l;
	iort_loop_ref(l); /* nothing else would wake it: no descriptor, no timer */
	/* A first turn takes the eventfd's registration edge, which would end any wait. */
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1);
	int s = tp_stop_at(point, 1, 0);
	assert_int_equal(pthread_create(&th, NULL, run_loop, &r), 0);
	tp_wait_stopped(s);
	assert_int_equal(iort_loop_post(l, &h.post, hit_run), 0);
	tp_release(s);
	uint64_t until = iort_clock_ns() + TP_TIMEOUT_S * 1000000000ull;
	while (!atomic_load(&r.done)) /* a lost wake-up: the loop never returns */
		if (iort_clock_ns() > until)
			fail_msg("the loop stayed asleep with a post queued (%s)", point);
	pthread_join(th, NULL);
	assert_int_equal(r.ret, 1);
	/* The post runs at the start of a turn: this one, or the next. */
	while (!atomic_load(&h.ran))
		assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1);
	iort_loop_unref(l);
	iort_loop_destroy(l);
}

/* Stop the loop (in a RUN_ONCE turn on a thread) at @point, post, release: the turn must end. */
static void once_with_post_at(struct iort_loop *l, const char *point, struct hit *h)
{
	struct runner r = { .l = l, .mode = IORT_RUN_ONCE };
	pthread_t th;

	int s = tp_stop_at(point, 1, 0);
	assert_int_equal(pthread_create(&th, NULL, run_loop, &r), 0);
	tp_wait_stopped(s);
	assert_int_equal(iort_loop_post(l, &h->post, hit_run), 0);
	tp_release(s);
	uint64_t until = iort_clock_ns() + TP_TIMEOUT_S * 1000000000ull;
	while (!atomic_load(&r.done))
		if (iort_clock_ns() > until)
			fail_msg("the loop stayed asleep with a post queued (%s)", point);
	pthread_join(th, NULL);
	while (!atomic_load(&h->ran))
		assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1);
}

/* A post that both woke the loop (the poster saw the announcement and claimed the write) and was
 * seen by the re-check (so the loop polled instead of waiting): the next sleep must still be
 * wakeable, i.e. the claim was released when a wait took the write's edge. The second post lands
 * after the re-check, where only the eventfd can end the wait. */
static void woken_cleared_after_recheck(void **state)
{
	struct iort_loop_config cfg = { .backend = IORT_BACKEND_EPOLL };
	struct iort_loop *l;
	struct hit h1 = { 0 }, h2 = { 0 };

	(void)state;
	tp_reset();
	assert_int_equal(iort_loop_create(&cfg, &l), 0);
	iort_loop_ref(l);
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1); /* the eventfd's first edge */
	once_with_post_at(l, "reactor.sleeping", &h1);
	once_with_post_at(l, "reactor.waiting", &h2);
	iort_loop_unref(l);
	iort_loop_destroy(l);
}

/* The edge of a write that a non-blocking poll took (a busy loop polls without announcing) must
 * clear woken: a poster that saw a stale `sleeping` claims the write (woken = 1) and writes
 * while the loop runs; a busy turn's poll takes the edge; if woken stayed 1, the next poster
 * into the sleeping loop would skip its write and the loop would sleep through it. */
struct poster {
	struct iort_loop *l;
	struct hit *h;
	_Atomic int done;
};

static void *post_tagged(void *arg)
{
	struct poster *p = arg;

	tp_tag(3);
	assert_int_equal(iort_loop_post(p->l, &p->h->post, hit_run), 0);
	atomic_store(&p->done, 1);
	return NULL;
}

static void wait_done(_Atomic int *done, const char *what)
{
	uint64_t until = iort_clock_ns() + TP_TIMEOUT_S * 1000000000ull;
	while (!atomic_load(done))
		if (iort_clock_ns() > until)
			fail_msg("timed out: %s", what);
}

static void nop_run(struct iort_post *p)
{
	(void)p;
}

static void edge_taken_by_busy_poll_clears_woken(void **state)
{
	struct iort_loop_config cfg = { .backend = IORT_BACKEND_EPOLL, .poll_interval = 1 };
	struct iort_loop *l;
	struct hit hp = { 0 }, hr = { 0 }, hs = { 0 };
	struct runner t1 = { .mode = IORT_RUN_ONCE }, t2 = { .mode = IORT_RUN_ONCE };
	struct poster p = { .h = &hp };
	pthread_t th1, th2, thp;

	(void)state;
	tp_reset();
	assert_int_equal(iort_loop_create(&cfg, &l), 0);
	t1.l = t2.l = p.l = l;
	iort_loop_ref(l);
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1); /* the eventfd's first edge */
	/* The loop sleeps (announced, re-checked). */
	int sw = tp_stop_at("reactor.waiting", 1, 0);
	assert_int_equal(pthread_create(&th1, NULL, run_loop, &t1), 0);
	tp_wait_stopped(sw);
	/* P sees it asleep and stops before claiming the write. */
	int sp = tp_stop_at("reactor.wake_checked", 3, 0);
	assert_int_equal(pthread_create(&thp, NULL, post_tagged, &p), 0);
	tp_wait_stopped(sp);
	tp_release(sw);
	/* R wakes it; the turn ends (woken cleared after the announced wait). */
	assert_int_equal(iort_loop_post(l, &hr.post, hit_run), 0);
	wait_done(&t1.done, "the first turn");
	pthread_join(th1, NULL);
	/* P claims the write now, on an awake loop, and writes. */
	tp_release(sp);
	wait_done(&p.done, "the late poster");
	pthread_join(thp, NULL);
	/* A busy turn (a deferred callback: poll without announcing) takes P's edge. */
	struct iort_post busy;
	iort_loop_defer(l, &busy, nop_run);
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1);
	assert_true(atomic_load(&hp.ran) && atomic_load(&hr.ran));
	/* Asleep again: only S's write can wake it. */
	sw = tp_stop_at("reactor.waiting", 1, 0);
	assert_int_equal(pthread_create(&th2, NULL, run_loop, &t2), 0);
	tp_wait_stopped(sw);
	tp_release(sw);
	assert_int_equal(iort_loop_post(l, &hs.post, hit_run), 0);
	wait_done(&t2.done, "the loop to wake for a post (woken was left set)");
	pthread_join(th2, NULL);
	while (!atomic_load(&hs.ran))
		assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1);
	iort_loop_unref(l);
	iort_loop_destroy(l);
}

static void post_before_announcement_seen_by_recheck(void **state)
{
	(void)state;
	post_in_window("reactor.before_sleep");
}

static void post_after_announcement_wakes(void **state)
{
	(void)state;
	post_in_window("reactor.sleeping");
}

/* A future that waits for one readable edge on a standalone loop's descriptor. */
struct waiter {
	struct iort_loop *l;
	int fd;
	unsigned polls;
	int result;
};

static enum iort_poll wait_readable(void *arg, struct iort_waker *w)
{
	struct waiter *x = arg;
	uint32_t ready;

	tp_tag(2);
	x->polls++;
	int st = iort_io_poll(x->l, x->fd, IORT_IO_READ, w, &ready);
	if (st == IORT_PENDING)
		return IORT_PENDING;
	x->result = st;
	return IORT_READY;
}

static void readiness_between_check_and_lock(void **state)
{
	struct iort_loop_config cfg = { .backend = IORT_BACKEND_EPOLL };
	struct iort_pool_config pc = { .workers = 1 };
	struct iort_loop *l;
	struct iort_pool *p;
	int sv[2];

	(void)state;
	tp_reset();
	assert_int_equal(iort_loop_create(&cfg, &l), 0);
	assert_int_equal(iort_pool_create(&pc, &p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(iort_io_start(l, sv[0], IORT_IO_READ, NULL, NULL), 0);
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1); /* the registration's first edge */
	struct waiter x = { .l = l, .fd = sv[0], .result = -1 };
	struct iort_spawn opt = { .poll = wait_readable, .arg = &x };
	struct iort_task *t;
	int s = tp_stop_at("reactor.poll_locked", 2, 0);
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0);
	tp_wait_stopped(s); /* it saw no readiness and holds no lock yet */
	char c = 'x';
	assert_int_equal(write(sv[1], &c, 1), 1);
	assert_int_equal(iort_loop_run(l, IORT_RUN_ONCE), 1); /* the edge: no waker to wake yet */
	assert_true(iort_io_ready(l, sv[0]) & IORT_IO_READ);
	tp_release(s);
	assert_int_equal(iort_task_join(t), 0); /* hangs if the lock's re-check is missing */
	assert_int_equal(x.result, IORT_READY);
	assert_int_equal(x.polls, 1);
	iort_task_release(t);
	iort_pool_destroy(p);
	assert_int_equal(iort_io_stop(l, sv[0]), 0);
	iort_loop_destroy(l);
	close(sv[0]);
	close(sv[1]);
}

/* A pool worker that is about to block in its loop (reactor.before_sleep: parked, not yet
 * announced) when a task arrives: the pool's unpark finds no announcement, so no eventfd write;
 * only the kick flag, re-checked after the announcement, keeps the worker from sleeping through
 * the task. */
static void bump(void *arg)
{
	atomic_fetch_add((_Atomic int *)arg, 1);
}

static void unpark_before_announcement(void **state)
{
	struct iort_pool_config pc = { .workers = 1, .spin_ns = 1 };
	struct iort_loop_config lc = { .backend = IORT_BACKEND_EPOLL };
	struct iort_pool *p;
	_Atomic int ran = 0;

	(void)state;
	tp_reset();
	int s = tp_stop_at("reactor.before_sleep", TP_ANY, 0);
	assert_int_equal(iort_loop_pool_create(&pc, &lc, &p), 0);
	tp_wait_stopped(s); /* the worker parked and is entering its blocking poll */
	assert_int_equal(iort_pool_submit(p, bump, (void *)&ran), 0);
	tp_release(s);
	uint64_t until = iort_clock_ns() + TP_TIMEOUT_S * 1000000000ull;
	while (atomic_load(&ran) == 0)
		if (iort_clock_ns() > until)
			fail_msg("the worker slept through a task submitted while it parked");
	iort_pool_destroy(p);
}

/* A task's read failed with EAGAIN on readiness it saw earlier; a new edge arrives before its
 * iort_io_clear(): the clear must keep it (the edge count moved), so the next poll is ready and
 * the task reads the new data instead of waiting for an edge that already came. */
struct clearer {
	struct iort_loop *l;
	int fd;
	_Atomic int step; /* 1: the read failed, the test delivers an edge; 2: delivered */
	int second;	  /* what the poll after the clear returned */
};

static enum iort_poll clear_poll(void *arg, struct iort_waker *w)
{
	struct clearer *c = arg;
	uint32_t seen, again;
	char b;

	if (iort_io_poll(c->l, c->fd, IORT_IO_READ, w, &seen) != IORT_READY)
		abort(); /* the cached READ edge is there */
	if (read(c->fd, &b, 1) != -1 || errno != EAGAIN)
		abort();
	atomic_store(&c->step, 1);
	while (atomic_load(&c->step) != 2)
		;
	iort_io_clear(c->l, c->fd, seen, IORT_IO_READ);
	c->second = iort_io_poll(c->l, c->fd, IORT_IO_READ, w, &again);
	if (c->second == IORT_READY && read(c->fd, &b, 1) != 1)
		abort();
	return IORT_READY;
}

static void clear_keeps_newer_edge(void **state)
{
	struct iort_loop_config cfg = { .backend = IORT_BACKEND_EPOLL };
	struct iort_pool_config pc = { .workers = 1 };
	struct iort_loop *l;
	struct iort_pool *p;
	int sv[2];
	char b = 'x';

	(void)state;
	assert_int_equal(iort_loop_create(&cfg, &l), 0);
	assert_int_equal(iort_pool_create(&pc, &p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(iort_io_start(l, sv[0], IORT_IO_READ, NULL, NULL), 0);
	assert_int_equal(write(sv[1], &b, 1), 1);
	assert_int_equal(iort_loop_run(l, IORT_RUN_ONCE), 1); /* a READ edge, cached */
	assert_int_equal(read(sv[0], &b, 1), 1); /* drained; the cache still says READ */
	struct clearer c = { .l = l, .fd = sv[0], .second = -1 };
	struct iort_spawn opt = { .poll = clear_poll, .arg = &c };
	struct iort_task *t;
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0);
	uint64_t until = iort_clock_ns() + TP_TIMEOUT_S * 1000000000ull;
	while (atomic_load(&c.step) != 1)
		if (iort_clock_ns() > until)
			fail_msg("the task did not run");
	assert_int_equal(write(sv[1], &b, 1), 1);
	assert_int_equal(iort_loop_run(l, IORT_RUN_ONCE), 1); /* the new edge */
	atomic_store(&c.step, 2);
	assert_int_equal(iort_task_join(t), 0);
	assert_int_equal(c.second, IORT_READY);
	iort_task_release(t);
	iort_pool_destroy(p);
	assert_int_equal(iort_io_stop(l, sv[0]), 0);
	iort_loop_destroy(l);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(post_before_announcement_seen_by_recheck),
		cmocka_unit_test(post_after_announcement_wakes),
		cmocka_unit_test(woken_cleared_after_recheck),
		cmocka_unit_test(edge_taken_by_busy_poll_clears_woken),
		cmocka_unit_test(readiness_between_check_and_lock),
		cmocka_unit_test(unpark_before_announcement),
		cmocka_unit_test(clear_keeps_newer_edge),
	};
	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
