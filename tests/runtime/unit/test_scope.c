/*
 * Scopes' contract (scope.h): join waits for every child and returns the policy's result;
 * cancelling (fail-fast, first success, the deadline, the parent token, iort_scope_cancel) stops
 * children that have not started and reaches running ones through the token. Children that wait
 * for cancellation spin on the token: no test sleeps.
 */
#include <iort/clock.h>
#include <iort/pool.h>
#include <iort/scope.h>
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

static struct iort_pool *make(unsigned workers)
{
	struct iort_pool_config cfg = { .workers = workers };
	struct iort_pool *p;

	assert_int_equal(iort_pool_create(&cfg, &p), 0);
	return p;
}

static _Atomic unsigned ran;

static int ok_child(void *arg, struct iort_cancel *token)
{
	(void)arg;
	(void)token;
	atomic_fetch_add(&ran, 1);
	return 0;
}

static int ret_child(void *arg, struct iort_cancel *token)
{
	(void)token;
	atomic_fetch_add(&ran, 1);
	return (int)(intptr_t)arg;
}

/* Runs until the scope's token is cancelled. */
static _Atomic unsigned waiting;

static int until_cancelled(void *arg, struct iort_cancel *token)
{
	(void)arg;
	atomic_fetch_add(&waiting, 1);
	while (!iort_cancel_requested(token))
		;
	return -ECANCELED;
}

static void all_waits_for_every_child(void **state)
{
	struct iort_pool *p = make(2);
	struct iort_scope s;

	(void)state;
	atomic_store(&ran, 0);
	assert_int_equal(iort_scope_open(&s, p, IORT_SCOPE_ALL, IORT_DEADLINE_NONE, NULL), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(iort_scope_spawn(&s, ok_child, NULL), 0);
	assert_int_equal(iort_scope_join(&s), 0);
	assert_int_equal(atomic_load(&ran), 1000);

	atomic_store(&ran, 0);
	assert_int_equal(iort_scope_open(&s, p, IORT_SCOPE_ALL, IORT_DEADLINE_NONE, NULL), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(
			iort_scope_spawn(&s, ret_child, (void *)(intptr_t)(i == 50 ? -EIO : 0)), 0);
	assert_int_equal(iort_scope_join(&s), -EIO);
	assert_int_equal(atomic_load(&ran), 100); /* ALL: the error cancels nothing */

	/* Empty. */
	assert_int_equal(iort_scope_open(&s, p, IORT_SCOPE_ALL, IORT_DEADLINE_NONE, NULL), 0);
	assert_int_equal(iort_scope_join(&s), 0);
	assert_int_equal(iort_scope_open(&s, p, 7, IORT_DEADLINE_NONE, NULL), -EINVAL);
	iort_pool_destroy(p);
}

/* One worker, children queued in order: the failure runs first and the rest never start. */
static void fail_fast_stops_the_rest(void **state)
{
	struct iort_pool *p = make(1);
	struct iort_scope s;

	(void)state;
	atomic_store(&ran, 0);
	atomic_store(&waiting, 0);
	assert_int_equal(iort_scope_open(&s, p, IORT_SCOPE_FAIL_FAST, IORT_DEADLINE_NONE, NULL), 0);
	assert_int_equal(iort_scope_spawn(&s, ret_child, (void *)(intptr_t)-EPIPE), 0);
	/* The failure may already have cancelled the scope: later spawns are refused. */
	for (int i = 0; i < 50; i++) {
		int r = iort_scope_spawn(&s, ok_child, NULL);
		assert_true(r == 0 || r == -ECANCELED);
	}
	assert_int_equal(iort_scope_join(&s), -EPIPE);
	assert_int_equal(atomic_load(&ran), 1);

	/* A running child sees the token. */
	struct iort_pool *p2 = make(2);
	atomic_store(&ran, 0);
	assert_int_equal(iort_scope_open(&s, p2, IORT_SCOPE_FAIL_FAST, IORT_DEADLINE_NONE, NULL),
			 0);
	assert_int_equal(iort_scope_spawn(&s, until_cancelled, NULL), 0);
	while (atomic_load(&waiting) == 0)
		;
	assert_int_equal(iort_scope_spawn(&s, ret_child, (void *)(intptr_t)-EIO), 0);
	assert_int_equal(iort_scope_join(&s), -EIO);
	iort_pool_destroy(p2);
	iort_pool_destroy(p);
}

static void first_success_wins(void **state)
{
	struct iort_pool *p = make(2);
	struct iort_scope s;

	(void)state;
	atomic_store(&waiting, 0);
	assert_int_equal(iort_scope_open(&s, p, IORT_SCOPE_FIRST_SUCCESS, IORT_DEADLINE_NONE, NULL),
			 0);
	assert_int_equal(iort_scope_spawn(&s, until_cancelled, NULL), 0);
	assert_int_equal(iort_scope_spawn(&s, ret_child, (void *)(intptr_t)-EIO), 0);
	assert_int_equal(iort_scope_spawn(&s, ret_child, (void *)(intptr_t)0), 0);
	assert_int_equal(iort_scope_join(&s), 0); /* the waiter was cancelled by the winner */

	assert_int_equal(iort_scope_open(&s, p, IORT_SCOPE_FIRST_SUCCESS, IORT_DEADLINE_NONE, NULL),
			 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(iort_scope_spawn(&s, ret_child, (void *)(intptr_t)-ENOENT), 0);
	assert_int_equal(iort_scope_join(&s), -ENOENT); /* nobody won: the first error */
	iort_pool_destroy(p);
}

static void deadline_cancels_and_times_out(void **state)
{
	struct iort_pool *p = make(2);
	struct iort_scope s;

	(void)state;
	atomic_store(&waiting, 0);
	assert_int_equal(iort_scope_open(&s, p, IORT_SCOPE_ALL, iort_clock_ns() + 1000000, NULL),
			 0);
	assert_int_equal(iort_scope_spawn(&s, until_cancelled, NULL), 0);
	/* The child runs until cancelled, so a join that returns has cancelled it if it started.
	 * Whether it started before the 1 ms deadline depends on the machine: a loaded one (a
	 * sanitizer build) may cancel it first, and then it must never run. */
	assert_int_equal(iort_scope_join(&s), -ETIMEDOUT);
	int started = atomic_load(&waiting);
	iort_pool_destroy(p);
	assert_int_equal(atomic_load(&waiting), started);
}

struct canceller {
	struct iort_cancel *c;
};

static void *cancel_when_waiting(void *arg)
{
	struct canceller *k = arg;

	while (atomic_load(&waiting) == 0)
		;
	iort_cancel_request(k->c);
	return NULL;
}

static void parent_token_cancels(void **state)
{
	struct iort_pool *p = make(2);
	struct iort_scope s;
	struct iort_cancel parent;
	struct canceller k = { &parent };
	pthread_t th;

	(void)state;
	atomic_store(&waiting, 0);
	iort_cancel_init(&parent);
	assert_int_equal(iort_scope_open(&s, p, IORT_SCOPE_ALL, IORT_DEADLINE_NONE, &parent), 0);
	assert_int_equal(iort_scope_spawn(&s, until_cancelled, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, cancel_when_waiting, &k), 0);
	assert_int_equal(iort_scope_join(&s), -ECANCELED);
	pthread_join(th, NULL);
	iort_cancel_fini(&parent);

	/* Cancelled before a spawn: nothing starts. */
	atomic_store(&ran, 0);
	assert_int_equal(iort_scope_open(&s, p, IORT_SCOPE_ALL, IORT_DEADLINE_NONE, NULL), 0);
	iort_scope_cancel(&s);
	assert_int_equal(iort_scope_spawn(&s, ok_child, NULL), -ECANCELED);
	assert_int_equal(iort_scope_join(&s), -ECANCELED);
	assert_int_equal(atomic_load(&ran), 0);
	iort_pool_destroy(p);
}

/* A future child pending for ever is finished by the cancel. */
static enum iort_poll never(void *arg, struct iort_waker *w)
{
	(void)w;
	atomic_fetch_add((_Atomic unsigned *)arg, 1);
	return IORT_PENDING;
}

static void cancel_finishes_parked_futures(void **state)
{
	struct iort_pool *p = make(2);
	struct iort_scope s;
	_Atomic unsigned polls = 0;

	(void)state;
	assert_int_equal(iort_scope_open(&s, p, IORT_SCOPE_ALL, IORT_DEADLINE_NONE, NULL), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(iort_scope_spawn_future(&s, never, (void *)&polls), 0);
	while (atomic_load(&polls) < 1000)
		;
	iort_scope_cancel(&s);
	assert_int_equal(iort_scope_join(&s), -ECANCELED);
	iort_pool_destroy(p);
}

/* Opened and joined inside a task on a one-worker pool: join runs the children itself;
 * children spawn grandchildren into the same scope. */
struct nest {
	struct iort_scope *s;
	int depth;
};

static struct nest nodes[128];
static _Atomic int nnodes;

static int nested_child(void *arg, struct iort_cancel *token)
{
	struct nest *n = arg;

	(void)token;
	atomic_fetch_add(&ran, 1);
	if (n->depth > 0) {
		for (int i = 0; i < 2; i++) {
			struct nest *kid = &nodes[atomic_fetch_add(&nnodes, 1)];
			*kid = (struct nest){ n->s, n->depth - 1 };
			if (iort_scope_spawn(n->s, nested_child, kid) != 0)
				abort();
		}
	}
	return 0;
}

struct opener {
	struct iort_pool *p;
	int ret;
};

static void open_inside(void *arg)
{
	struct opener *o = arg;
	struct iort_scope s;
	struct nest root;

	if (iort_scope_open(&s, o->p, IORT_SCOPE_ALL, IORT_DEADLINE_NONE, NULL) != 0)
		abort();
	root = (struct nest){ &s, 5 };
	if (iort_scope_spawn(&s, nested_child, &root) != 0)
		abort();
	o->ret = iort_scope_join(&s);
}

static void join_from_a_worker_runs_children(void **state)
{
	struct iort_pool *p = make(1);
	struct opener o = { p, 1 };
	struct iort_task *t;

	(void)state;
	atomic_store(&ran, 0);
	atomic_store(&nnodes, 0);
	assert_int_equal(iort_pool_spawn(p, open_inside, &o, &t), 0);
	assert_int_equal(iort_task_join(t), 0);
	assert_int_equal(o.ret, 0);
	assert_int_equal(atomic_load(&ran), 63); /* 2^6 - 1 */
	iort_pool_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_waits_for_every_child),
		cmocka_unit_test(fail_fast_stops_the_rest),
		cmocka_unit_test(first_success_wins),
		cmocka_unit_test(deadline_cancels_and_times_out),
		cmocka_unit_test(parent_token_cancels),
		cmocka_unit_test(cancel_finishes_parked_futures),
		cmocka_unit_test(join_from_a_worker_runs_children),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
