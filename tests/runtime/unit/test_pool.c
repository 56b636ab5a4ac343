/*
 * The pool's contract (pool.h), call by call: every submitted task runs exactly once, join
 * returns its status, futures are polled again when woken (from a worker or from outside),
 * cancellation stops a task that has not started, shutdown drains or cancels, bounded submit
 * refuses or waits. No test sleeps: a task that must hold a worker busy spins on a flag the test
 * releases.
 */
#include <iort/cancel.h>
#include <iort/clock.h>
#include <iort/pool.h>
#include <iort/wait.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* In a worker thread cmocka's asserts cannot unwind: abort instead. */
#define CHECK(x) ((x) ? (void)0 : abort())

static struct iort_pool *make(unsigned workers)
{
	struct iort_pool_config cfg = { .workers = workers };
	struct iort_pool *p;

	assert_int_equal(iort_pool_create(&cfg, &p), 0);
	return p;
}

static void bump(void *arg)
{
	atomic_fetch_add((_Atomic unsigned *)arg, 1);
}

/* A task that keeps its worker busy until the test lets it go. */
struct gate {
	_Atomic int entered;
	_Atomic int open;
};

static void hold(void *arg)
{
	struct gate *g = arg;

	atomic_store(&g->entered, 1);
	while (!atomic_load(&g->open))
		;
}

static void wait_entered(struct gate *g)
{
	while (!atomic_load(&g->entered))
		;
}

static void create_rejects_bad_config(void **state)
{
	struct iort_pool *p = (void *)1;
	struct iort_pool_config cfg = { .workers = 1, .local_capacity = 100 };
	int cpus[1] = { -2 };

	(void)state;
	assert_int_equal(iort_pool_create(&cfg, &p), -EINVAL);
	assert_null(p);
	cfg.local_capacity = 2;
	assert_int_equal(iort_pool_create(&cfg, &p), -EINVAL);
	cfg.local_capacity = 0;
	cfg.workers = 5000;
	assert_int_equal(iort_pool_create(&cfg, &p), -EINVAL);
	cfg.workers = 1;
	cfg.cpus = cpus;
	assert_int_equal(iort_pool_create(&cfg, &p), -EINVAL);
	/* NULL: the defaults (one worker per CPU). */
	assert_int_equal(iort_pool_create(NULL, &p), 0);
	struct iort_pool_metrics m;
	iort_pool_metrics(p, &m);
	assert_true(m.workers >= 1);
	iort_pool_destroy(p);
}

/* Every submitted task runs once, whatever the queues do (more tasks than local slots). */
static void submit_runs_each_once(void **state)
{
	enum { N = 20000 };
	static _Atomic unsigned hits[N];
	(void)state;
	for (unsigned workers = 1; workers <= 3; workers++) {
		struct iort_pool *p = make(workers);
		for (unsigned i = 0; i < N; i++) {
			atomic_store(&hits[i], 0);
		}
		for (unsigned i = 0; i < N; i++)
			assert_int_equal(iort_pool_submit(p, bump, &hits[i]), 0);
		assert_int_equal(iort_pool_shutdown(p, IORT_SHUTDOWN_DRAIN), 0);
		for (unsigned i = 0; i < N; i++)
			assert_int_equal(atomic_load(&hits[i]), 1);
		struct iort_pool_metrics m;
		iort_pool_metrics(p, &m);
		assert_int_equal(m.completed_jobs, N);
		assert_int_equal(m.queue_depth, 0);
		assert_int_equal(m.remote_submits, N);
		iort_pool_destroy(p);
	}
}

/* Spawns from inside a worker: past the local capacity, overflow moves half to the inject
 * queue; still each runs once. */
struct fan {
	struct iort_pool *p;
	_Atomic unsigned count;
	unsigned n;
};

static void fan_out(void *arg)
{
	struct fan *f = arg;

	for (unsigned i = 0; i < f->n; i++)
		CHECK(iort_pool_submit(f->p, bump, &f->count) == 0);
}

static void local_spawns_overflow(void **state)
{
	struct iort_pool_config cfg = { .workers = 2, .local_capacity = 16 };
	struct fan f = { .n = 5000 };
	struct iort_task *t;

	(void)state;
	assert_int_equal(iort_pool_create(&cfg, &f.p), 0);
	assert_int_equal(iort_pool_spawn(f.p, fan_out, &f, &t), 0);
	assert_int_equal(iort_task_join(t), 0);
	assert_int_equal(iort_pool_shutdown(f.p, IORT_SHUTDOWN_DRAIN), 0);
	assert_int_equal(atomic_load(&f.count), f.n);
	struct iort_pool_metrics m;
	iort_pool_metrics(f.p, &m);
	assert_true(m.overflows > 0);
	assert_int_equal(m.completed_jobs, f.n + 1);
	iort_pool_destroy(f.p);
}

/* Fork-join from workers: join runs other tasks while it waits, so a one-worker pool cannot
 * deadlock on a recursion deeper than its worker count. */
struct fib {
	struct iort_pool *p;
	unsigned n;
	uint64_t r;
};

static void fib_task(void *arg)
{
	struct fib *f = arg;

	if (f->n < 2) {
		f->r = f->n;
		return;
	}
	struct fib a = { f->p, f->n - 1, 0 }, b = { f->p, f->n - 2, 0 };
	struct iort_task *t;
	CHECK(iort_pool_spawn(f->p, fib_task, &a, &t) == 0);
	fib_task(&b);
	CHECK(iort_task_join(t) == 0);
	f->r = a.r + b.r;
}

static void fork_join(void **state)
{
	(void)state;
	for (unsigned workers = 1; workers <= 4; workers++) {
		struct iort_pool *p = make(workers);
		struct fib f = { p, 20, 0 };
		struct iort_task *t;
		assert_int_equal(iort_pool_spawn(p, fib_task, &f, &t), 0);
		assert_int_equal(iort_task_join(t), 0); /* from outside the pool */
		assert_int_equal(f.r, 6765);
		iort_pool_destroy(p);
	}
}

static void current_and_index(void *arg)
{
	int *out = arg;

	out[0] = iort_pool_current() != NULL;
	out[1] = iort_pool_worker_index();
	out[2] = iort_pool_shutdown(iort_pool_current(), IORT_SHUTDOWN_DRAIN);
}

static void worker_identity(void **state)
{
	struct iort_pool *p = make(2);
	int out[3] = { 0, -5, 0 };
	struct iort_task *t;

	(void)state;
	assert_null(iort_pool_current());
	assert_int_equal(iort_pool_worker_index(), -1);
	assert_int_equal(iort_pool_spawn(p, current_and_index, out, &t), 0);
	assert_int_equal(iort_task_join(t), 0);
	assert_int_equal(out[0], 1);
	assert_true(out[1] == 0 || out[1] == 1);
	assert_int_equal(out[2], -EDEADLK);
	iort_pool_destroy(p);
}

/* A future that yields k times (wakes itself, returns pending), then completes. */
struct yielder {
	unsigned left;
	unsigned polls;
	_Atomic int done_status;
};

static enum iort_poll yield_poll(void *arg, struct iort_waker *w)
{
	struct yielder *y = arg;

	y->polls++;
	if (y->left == 0)
		return IORT_READY;
	y->left--;
	iort_waker_wake_by_ref(w);
	return IORT_PENDING;
}

static void record_done(void *arg, int status)
{
	atomic_store(&((struct yielder *)arg)->done_status, status + 1000);
}

static void future_yields(void **state)
{
	struct iort_pool *p = make(2);
	struct yielder y = { .left = 100 };
	struct iort_spawn opt = { .poll = yield_poll, .arg = &y, .done = record_done };
	struct iort_task *t;

	(void)state;
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0);
	assert_int_equal(iort_task_join(t), 0);
	assert_int_equal(y.polls, 101);
	assert_int_equal(atomic_load(&y.done_status), 1000);
	iort_pool_destroy(p);
}

/* A future woken from a thread outside the pool: it keeps a clone of its waker. */
struct remote {
	_Atomic(struct iort_waker *) waker;
	_Atomic unsigned polls;
	_Atomic int ready;
};

static enum iort_poll remote_poll(void *arg, struct iort_waker *w)
{
	struct remote *r = arg;

	atomic_fetch_add(&r->polls, 1);
	if (atomic_load(&r->ready))
		return IORT_READY;
	if (atomic_load(&r->waker) == NULL)
		atomic_store(&r->waker, iort_waker_clone(w));
	return IORT_PENDING;
}

static void future_remote_wake(void **state)
{
	struct iort_pool *p = make(2);
	struct remote r = { 0 };
	struct iort_spawn opt = { .poll = remote_poll, .arg = &r };
	struct iort_task *t;
	struct iort_waker *w;

	(void)state;
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0);
	while ((w = atomic_load(&r.waker)) == NULL)
		;
	assert_false(iort_task_done(t));
	atomic_store(&r.ready, 1);
	iort_waker_wake(w);
	assert_int_equal(iort_task_join(t), 0);
	assert_true(atomic_load(&r.polls) >= 2);
	iort_pool_destroy(p);
}

/* A task cancelled before it starts never runs; join reports -ECANCELED. */
static void cancel_before_start(void **state)
{
	struct iort_pool *p = make(1);
	struct gate g = { 0 };
	_Atomic unsigned ran = 0;
	struct iort_task *blocker, *t;

	(void)state;
	assert_int_equal(iort_pool_spawn(p, hold, &g, &blocker), 0);
	wait_entered(&g);
	assert_int_equal(iort_pool_spawn(p, bump, &ran, &t), 0);
	iort_task_cancel(t);
	atomic_store(&g.open, 1);
	assert_int_equal(iort_task_join(t), -ECANCELED);
	assert_int_equal(iort_task_join(blocker), 0);
	assert_int_equal(atomic_load(&ran), 0);
	iort_pool_destroy(p);
}

/* An idle future cancelled from outside finishes at once with -ECANCELED. */
static void cancel_idle_future(void **state)
{
	struct iort_pool *p = make(1);
	struct remote r = { 0 };
	struct yielder y = { 0 };
	struct iort_spawn opt = { .poll = remote_poll, .arg = &r };
	struct iort_task *t;

	(void)state;
	(void)y;
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0);
	while (atomic_load(&r.waker) == NULL)
		;
	/* The waker was cloned during the poll; the poll may not have returned yet: cancel works
	 * either way (running: on return; idle: here). */
	iort_task_cancel(t);
	assert_int_equal(iort_task_join(t), -ECANCELED);
	iort_waker_wake(atomic_load(&r.waker)); /* a wake after the end: nothing */
	iort_pool_destroy(p);
}

/* Shutdown: submits fail with -ESHUTDOWN; CANCEL reports the tasks that had not started. */
struct counted {
	_Atomic unsigned ran, cancelled, ok;
};

static void counted_run(void *arg)
{
	atomic_fetch_add(&((struct counted *)arg)->ran, 1);
}

static void counted_done(void *arg, int status)
{
	struct counted *c = arg;

	if (status == -ECANCELED)
		atomic_fetch_add(&c->cancelled, 1);
	else if (status == 0)
		atomic_fetch_add(&c->ok, 1);
}

struct shut_arg {
	struct iort_pool *p;
	enum iort_shutdown how;
	int ret;
};

static void *shut_thread(void *arg)
{
	struct shut_arg *s = arg;

	s->ret = iort_pool_shutdown(s->p, s->how);
	return NULL;
}

static void shutdown_modes(void **state)
{
	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		struct iort_pool *p = make(1);
		struct gate g = { 0 };
		struct counted c = { 0 };
		struct iort_spawn opt = { .fn = counted_run, .arg = &c, .done = counted_done };
		enum { N = 50 };

		assert_int_equal(iort_pool_submit(p, hold, &g), 0);
		wait_entered(&g);
		for (int i = 0; i < N; i++)
			assert_int_equal(iort_pool_spawn_ex(p, &opt, NULL), 0);
		struct shut_arg s = { p, mode == 0 ? IORT_SHUTDOWN_DRAIN : IORT_SHUTDOWN_CANCEL,
				      1 };
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, shut_thread, &s), 0);
		/* Shutdown has begun once submits fail; only then let the worker go on. */
		while (iort_pool_submit(p, bump, &c.ran) != -ESHUTDOWN)
			;
		atomic_store(&g.open, 1);
		pthread_join(th, NULL);
		assert_int_equal(s.ret, 0);
		assert_int_equal(iort_pool_shutdown(p, IORT_SHUTDOWN_DRAIN), -EALREADY);
		/* Tasks that slipped in before the close are among those counted in ran. */
		unsigned extra = atomic_load(&c.ran) - atomic_load(&c.ok);
		if (mode == 0) {
			assert_int_equal(atomic_load(&c.ok), N);
			assert_int_equal(atomic_load(&c.cancelled), 0);
		} else {
			assert_int_equal(atomic_load(&c.ok), 0);
			assert_int_equal(atomic_load(&c.cancelled), N);
			assert_int_equal(extra, 0);
		}
		assert_int_equal(iort_pool_submit(p, bump, &c.ran), -ESHUTDOWN);
		struct iort_task *t;
		assert_int_equal(iort_pool_spawn(p, bump, &c.ran, &t), -ESHUTDOWN);
		assert_null(t);
		iort_pool_destroy(p);
	}
}

/* A future still pending when the pool shuts down is cancelled; a later wake does nothing. */
static void shutdown_cancels_pending_futures(void **state)
{
	struct iort_pool *p = make(2);
	struct remote r = { 0 };
	struct yielder y = { 0 };
	struct iort_spawn opt = { .poll = remote_poll, .arg = &r, .done = record_done };
	struct iort_task *t;

	(void)state;
	opt.arg = &r;
	opt.done = NULL;
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0);
	while (atomic_load(&r.waker) == NULL)
		;
	/* The second one, detached, reports through done. */
	struct remote r2 = { 0 };
	struct iort_spawn opt2 = { .poll = remote_poll, .arg = &r2 };
	assert_int_equal(iort_pool_spawn_ex(p, &opt2, NULL), 0);
	while (atomic_load(&r2.waker) == NULL)
		;
	(void)y;
	assert_int_equal(iort_pool_shutdown(p, IORT_SHUTDOWN_DRAIN), 0);
	assert_true(iort_task_done(t));
	assert_int_equal(iort_task_join(t), -ECANCELED);
	iort_waker_wake(atomic_load(&r.waker));
	iort_waker_wake_by_ref(atomic_load(&r2.waker));
	iort_waker_drop(atomic_load(&r2.waker));
	iort_pool_destroy(p);
}

/* Bounded submit: at max_pending, -EAGAIN; submit_wait times out or is cancelled. */
static void bounded_submit(void **state)
{
	struct iort_pool_config cfg = { .workers = 1, .max_pending = 2 };
	struct iort_pool *p;
	struct gate g = { 0 };
	_Atomic unsigned n = 0;
	struct iort_cancel c;

	(void)state;
	assert_int_equal(iort_pool_create(&cfg, &p), 0);
	assert_int_equal(iort_pool_submit(p, hold, &g), 0);
	wait_entered(&g);
	assert_int_equal(iort_pool_submit(p, bump, &n), 0);
	assert_int_equal(iort_pool_submit(p, bump, &n), -EAGAIN);
	assert_int_equal(iort_pool_submit_wait(p, bump, &n, iort_clock_ns(), NULL), -ETIMEDOUT);
	iort_cancel_init(&c);
	iort_cancel_request(&c);
	assert_int_equal(iort_pool_submit_wait(p, bump, &n, IORT_DEADLINE_NONE, &c), -ECANCELED);
	atomic_store(&g.open, 1);
	/* Room comes back as tasks finish. */
	assert_int_equal(iort_pool_submit_wait(p, bump, &n, IORT_DEADLINE_NONE, NULL), 0);
	assert_int_equal(iort_pool_shutdown(p, IORT_SHUTDOWN_DRAIN), 0);
	assert_int_equal(atomic_load(&n), 2);
	iort_pool_destroy(p);
}

/* no_metrics: the counters stay zero, the work is the same. */
static void metrics_off(void **state)
{
	struct iort_pool_config cfg = { .workers = 2, .no_metrics = true };
	struct iort_pool *p;
	_Atomic unsigned n = 0;

	(void)state;
	assert_int_equal(iort_pool_create(&cfg, &p), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(iort_pool_submit(p, bump, &n), 0);
	assert_int_equal(iort_pool_shutdown(p, IORT_SHUTDOWN_DRAIN), 0);
	assert_int_equal(atomic_load(&n), 1000);
	struct iort_pool_metrics m;
	iort_pool_metrics(p, &m);
	assert_int_equal(m.completed_jobs, 0);
	assert_int_equal(m.workers, 2);
	iort_pool_destroy(p);
}

/* A task tied to a token: cancelling the token before the task starts keeps it from running;
 * a token already cancelled at spawn cancels it at once; a finished task leaves the token. */
static void spawn_with_token(void **state)
{
	struct iort_pool *p = make(1);
	struct gate g = { 0 };
	_Atomic unsigned ran = 0;
	struct iort_cancel tok;
	struct iort_spawn opt = { .fn = bump, .arg = (void *)&ran };
	struct iort_task *blocker, *t;

	(void)state;
	iort_cancel_init(&tok);
	opt.cancel = &tok;
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0); /* runs to the end */
	assert_int_equal(iort_task_join(t), 0);
	assert_int_equal(atomic_load(&ran), 1);

	assert_int_equal(iort_pool_spawn(p, hold, &g, &blocker), 0);
	wait_entered(&g);
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0);
	iort_cancel_request(&tok);
	atomic_store(&g.open, 1);
	assert_int_equal(iort_task_join(t), -ECANCELED);
	assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0); /* already cancelled */
	assert_int_equal(iort_task_join(t), -ECANCELED);
	assert_int_equal(iort_task_join(blocker), 0);
	assert_int_equal(atomic_load(&ran), 1);
	iort_cancel_fini(&tok); /* every task unregistered its callback */
	iort_pool_destroy(p);
}

static void bad_spawn_args(void **state)
{
	struct iort_pool *p = make(1);
	struct iort_spawn both = { .fn = bump, .poll = yield_poll };
	struct iort_spawn none = { 0 };
	struct iort_task *t = (void *)1;

	(void)state;
	assert_int_equal(iort_pool_spawn_ex(p, &both, &t), -EINVAL);
	assert_null(t);
	assert_int_equal(iort_pool_spawn_ex(p, &none, NULL), -EINVAL);
	assert_int_equal(iort_pool_submit(p, NULL, NULL), -EINVAL);
	iort_pool_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_rejects_bad_config),
		cmocka_unit_test(submit_runs_each_once),
		cmocka_unit_test(local_spawns_overflow),
		cmocka_unit_test(fork_join),
		cmocka_unit_test(worker_identity),
		cmocka_unit_test(future_yields),
		cmocka_unit_test(future_remote_wake),
		cmocka_unit_test(cancel_before_start),
		cmocka_unit_test(cancel_idle_future),
		cmocka_unit_test(shutdown_modes),
		cmocka_unit_test(shutdown_cancels_pending_futures),
		cmocka_unit_test(bounded_submit),
		cmocka_unit_test(metrics_off),
		cmocka_unit_test(spawn_with_token),
		cmocka_unit_test(bad_spawn_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
