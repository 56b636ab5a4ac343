/*
 * The deadlock watchdog's seqlock validation (lockdep.c, I3), driven through the test point
 * "lockdep.walk": the watchdog has read a blocked thread's `waiting`, wgen and depth and is about
 * to read its stack; the thread stops waiting and rebuilds its stack meanwhile. The stack read
 * then is not the one the thread had while blocked, and the walk must not use it.
 *
 * The threads drive the checker's hooks directly (lockdep-private.h), so the test decides each
 * thread's held stack and wait state; the "locks" are plain objects the checker knows only by
 * address. Threads are ordered by a step counter; nothing sleeps to synchronize.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include <iort/config.h>
#include <iort/lockdep.h>

#include "lockdep-private.h"
#include "tp.h"

#if IORT_LOCKDEP

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int step;
static int deadlocks;

static void go(int s)
{
	pthread_mutex_lock(&mu);
	step = s;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void await(int s)
{
	pthread_mutex_lock(&mu);
	while (step < s)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void handler(const struct iort_lockdep_report *r, void *arg)
{
	(void)arg;
	if (r->kind != IORT_LOCKDEP_DEADLOCK)
		return;
	pthread_mutex_lock(&mu);
	deadlocks++;
	pthread_mutex_unlock(&mu);
	fputs(r->text, stderr);
}

static int ndeadlocks(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = deadlocks;
	pthread_mutex_unlock(&mu);
	return n;
}

static struct iort_lockdep_map map_s = IORT_LOCKDEP_MAP_INIT("win.S"),
			       map_l = IORT_LOCKDEP_MAP_INIT("win.L"),
			       map_x = IORT_LOCKDEP_MAP_INIT("win.X");
/* The lock objects: the checker keys a held entry by the lock's address. */
static char lock_s, lock_l, lock_x;

#define ACQ(name) iort__ld_acquire(&map_##name, &lock_##name, 0, 0, NULL)
#define REL(name) iort__ld_release(&map_##name, &lock_##name)

/*
 * H: holds S, blocked on L (held by T0): [S, L], waiting L. While T0's watchdog is stopped, H
 * gets L, lets go of both and takes X then L: [X, L], running. Read then, H's stack says "holds
 * X, top L" with depth and `waiting` as they were, but H never held X while it waited.
 */
static void *h_main(void *arg)
{
	(void)arg;
	ACQ(s);
	ACQ(l);
	iort__ld_wait_begin(&lock_l);
	go(1);
	await(2); /* T0's watchdog stopped at lockdep.walk */
	REL(l);	  /* got L (a wake-up), and gave it back */
	REL(s);
	ACQ(x);
	ACQ(l);
	go(3);
	await(5); /* the stale walk is over and checked: now block for real, holding X, on L */
	iort__ld_wait_begin(&lock_l);
	go(6);
	await(8);
	REL(l);
	REL(x);
	return NULL;
}

/* T0: holds L, blocked on X; its watchdog looks for the holder of X. */
static void *t0_main(void *arg)
{
	(void)arg;
	tp_tag(1);
	ACQ(l);
	ACQ(x);
	iort__ld_wait_begin(&lock_x);
	iort__ld_stalled(&lock_x, 1000000); /* stopped at lockdep.walk while reading H */
	go(4);
	await(6);
	iort__ld_stalled(&lock_x, 2000000); /* H holds X and waits for L now: a deadlock */
	REL(x);
	REL(l);
	go(7);
	return NULL;
}

static void stack_read_while_it_changes(void **state)
{
	pthread_t h, t0;
	int rule;

	(void)state;
	tp_reset();
	iort_lockdep_reset();
	iort_lockdep_set_handler(handler, NULL);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_REPORT), 0);
	rule = tp_stop_at("lockdep.walk", 1, 0);
	assert_int_equal(pthread_create(&h, NULL, h_main, NULL), 0);
	await(1);
	assert_int_equal(pthread_create(&t0, NULL, t0_main, NULL), 0);
	tp_wait_stopped(rule); /* T0 read H's waiting (L), wgen and depth (2) */
	go(2);
	await(3); /* H: [X, L], not waiting */
	tp_release(rule);
	await(4);
	/* H held X only after it stopped waiting: no deadlock through it. */
	assert_int_equal(ndeadlocks(), 0);
	go(5);
	await(7);
	/* The control: the same walk over H really blocked holding X finds the deadlock. */
	assert_int_equal(ndeadlocks(), 1);
	go(8);
	assert_int_equal(pthread_join(t0, NULL), 0);
	assert_int_equal(pthread_join(h, NULL), 0);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_OFF), 0);
	iort_lockdep_set_handler(NULL, NULL);
}

/*
 * The second chunk of a held stack (LD_CHUNK = 32 entries) allocated while the watchdog is
 * between reading `waiting` (set: the thread was blocked) and the stack: the walk then follows
 * the new chunk's link, and only ld.R3/ld.A2 order the chunk's zeroing before its entries are
 * read. Nothing else may order them here: the thread that grows its stack reports with a relaxed
 * flag. The check is TSan's (a thread-sanitized build reports the race if the pair is weakened);
 * the walk itself must reject the stack (the thread no longer waits).
 */
#define DEEP 40
static struct iort_lockdep_map map_deep = IORT_LOCKDEP_MAP_INIT("win.Deep");
static char lock_deep[DEEP];
static _Atomic int grown;

static void *grow_main(void *arg)
{
	(void)arg;
	ACQ(s);
	ACQ(l);
	iort__ld_wait_begin(&lock_l);
	go(11);
	await(12); /* the watchdog stopped at lockdep.walk */
	REL(l);
	REL(s);
	for (int i = 0; i < DEEP; i++)
		iort__ld_acquire(&map_deep, &lock_deep[i], 1, 0, NULL);
	/* MO relaxed: on purpose no synchronization beyond the checker's own. */
	atomic_store_explicit(&grown, 1, memory_order_relaxed);
	await(13);
	for (int i = DEEP; i-- > 0;)
		iort__ld_release(&map_deep, &lock_deep[i]);
	return NULL;
}

static void *walk_main(void *arg)
{
	(void)arg;
	tp_tag(1);
	ACQ(x);
	iort__ld_wait_begin(&lock_x);
	iort__ld_stalled(&lock_x, 1000000);
	REL(x);
	return NULL;
}

static void chunk_published_to_the_watchdog(void **state)
{
	pthread_t h, t0;
	int rule;

	(void)state;
	tp_reset();
	iort_lockdep_reset();
	iort_lockdep_set_handler(handler, NULL);
	pthread_mutex_lock(&mu);
	step = 10;
	deadlocks = 0;
	pthread_mutex_unlock(&mu);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_REPORT), 0);
	rule = tp_stop_at("lockdep.walk", 1, 0);
	assert_int_equal(pthread_create(&h, NULL, grow_main, NULL), 0);
	await(11);
	assert_int_equal(pthread_create(&t0, NULL, walk_main, NULL), 0);
	tp_wait_stopped(rule);
	go(12);
	/* MO relaxed: see grow_main(). */
	while (!atomic_load_explicit(&grown, memory_order_relaxed))
		sched_yield();
	tp_release(rule);
	assert_int_equal(pthread_join(t0, NULL), 0);
	go(13);
	assert_int_equal(pthread_join(h, NULL), 0);
	assert_int_equal(ndeadlocks(), 0);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_OFF), 0);
	iort_lockdep_set_handler(NULL, NULL);
}

/*
 * fork() while another thread is inside the checker's slow path (holding its graph lock): the
 * child, one thread, must still be able to take locks and record new edges. Without fork
 * handlers the child's copy of the graph lock stays locked by a thread that does not exist there,
 * and its first new edge hangs. With them, the fork waits for the slow path to finish: the test
 * lets the stopped thread go once the forking thread is in the fork handler (test point
 * lockdep.fork), or once the fork is over (without handlers). The child reports through its exit
 * status; a hang ends with SIGALRM (a failure, never a wait for something to happen).
 */
static struct iort_lockdep_map map_fa = IORT_LOCKDEP_MAP_INIT("win.forkA"),
			       map_fb = IORT_LOCKDEP_MAP_INIT("win.forkB"),
			       map_fc = IORT_LOCKDEP_MAP_INIT("win.forkC");
static char lock_fa, lock_fb, lock_fc;
static _Atomic int forked;
static int fork_status;

static void *slow_main(void *arg)
{
	(void)arg;
	tp_tag(2);
	iort__ld_acquire(&map_fa, &lock_fa, 0, 0, NULL);
	iort__ld_acquire(&map_fb, &lock_fb, 0, 0, NULL); /* a new edge: stopped at lockdep.slow */
	iort__ld_release(&map_fb, &lock_fb);
	iort__ld_release(&map_fa, &lock_fa);
	return NULL;
}

static void *fork_main(void *arg)
{
	pid_t pid;

	(void)arg;
	tp_tag(3);
	pid = fork();
	if (pid == 0) {
		/* No test points here: the hook's lock may have been held by another thread (the
		 * main thread polling tp_hits) at the fork. */
		iort__tp_set_hook(NULL);
		alarm(10);
		iort__ld_acquire(&map_fc, &lock_fc, 0, 0, NULL);
		iort__ld_acquire(&map_fa, &lock_fa, 0, 0, NULL); /* C -> A: new, the slow path */
		iort__ld_release(&map_fa, &lock_fa);
		iort__ld_release(&map_fc, &lock_fc);
		_exit(0);
	}
	fork_status = -1;
	if (pid > 0 && waitpid(pid, &fork_status, 0) != pid)
		fork_status = -1;
	atomic_store(&forked, 1);
	return NULL;
}

static void fork_in_the_slow_path(void **state)
{
	pthread_t slow, forker;
	int rule;

	(void)state;
	tp_reset();
	iort_lockdep_reset();
	iort_lockdep_set_handler(handler, NULL);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_REPORT), 0);
	rule = tp_stop_at("lockdep.slow", 2, 0);
	assert_int_equal(pthread_create(&slow, NULL, slow_main, NULL), 0);
	tp_wait_stopped(rule);
	assert_int_equal(pthread_create(&forker, NULL, fork_main, NULL), 0);
	while (!tp_hits("lockdep.fork", 3) && !atomic_load(&forked))
		sched_yield();
	tp_release(rule);
	assert_int_equal(pthread_join(forker, NULL), 0);
	assert_int_equal(pthread_join(slow, NULL), 0);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_OFF), 0);
	iort_lockdep_set_handler(NULL, NULL);
	if (fork_status != -1 && WIFSIGNALED(fork_status))
		fail_msg("the child of fork() died of signal %d (SIGALRM: hung in the checker)",
			 WTERMSIG(fork_status));
	assert_true(fork_status != -1 && WIFEXITED(fork_status) && WEXITSTATUS(fork_status) == 0);
}

#else

static void stack_read_while_it_changes(void **state)
{
	(void)state;
	skip(); /* -Dlockdep=disabled: no watchdog */
}

static void chunk_published_to_the_watchdog(void **state)
{
	(void)state;
	skip();
}

static void fork_in_the_slow_path(void **state)
{
	(void)state;
	skip();
}

#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stack_read_while_it_changes),
		cmocka_unit_test(chunk_published_to_the_watchdog),
		cmocka_unit_test(fork_in_the_slow_path),
	};

	tp_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
