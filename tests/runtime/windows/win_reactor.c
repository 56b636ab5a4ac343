/*
 * The event loop's critical windows, driven through test points:
 * - a post that lands while the loop is between running its posts and announcing it sleeps
 *   (reactor.before_sleep): the poster sees no sleeper and writes no eventfd, so only the loop's
 *   re-check after its announcement can see the post; the loop must not block;
 * - a post that lands after the announcement, before the re-check (reactor.sleeping): the poster
 *   sees the sleeper and wakes it, or the re-check sees the post; either way the loop returns;
 * - a task's io_poll that found no readiness outside the slot lock (reactor.poll_locked) while
 *   the loop dispatches the readiness it waits for: the re-check under the lock sees it, so the
 *   task does not wait for an edge that already came.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(post_before_announcement_seen_by_recheck),
		cmocka_unit_test(post_after_announcement_wakes),
		cmocka_unit_test(readiness_between_check_and_lock),
	};
	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
