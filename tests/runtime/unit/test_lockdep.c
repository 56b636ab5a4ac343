/*
 * The lock-order checker through the real iort_mutex: ABBA and ABC cycles across threads (each
 * reported once, with every class and every edge), same-class nesting with and without a subclass,
 * try-lock, a gate lock, a freed and reused mutex, depth 100, a real deadlock found by the
 * watchdog, ABORT mode, the IORT_LOCKDEP variable, and a build with -Dlockdep=disabled (this
 * file adapts to IORT_LOCKDEP: compiled out, only the API's answers are checked).
 *
 * Threads are ordered by joins (an edge is recorded when its thread runs, so join order is the
 * order of the edges); nothing sleeps to synchronize.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <iort/clock.h>
#include <iort/config.h>
#include <iort/lockdep.h>
#include <iort/mutex.h>

#include "lockdep-private.h"

extern char **environ;

/* ---- running a copy of this program with another environment ---- */

/* Run argv[0] --child @p what with IORT_LOCKDEP=@p env; its stdout and stderr into @p out. */
static int run_child(const char *what, const char *env, char *out, size_t len)
{
	char var[64], exe[] = "/proc/self/exe", flag[] = "--child", arg[32];
	char *argv[] = { exe, flag, arg, NULL };
	char *envp[] = { var, NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	snprintf(var, sizeof(var), "IORT_LOCKDEP=%s", env);
	snprintf(arg, sizeof(arg), "%s", what);
	assert_int_equal(pipe(fds), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	assert_int_equal(posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while (n + 1 < len && (r = read(fds[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

#if IORT_LOCKDEP

/* ---- collecting reports ---- */

#define MAX_REPORTS 16

struct seen {
	enum iort_lockdep_kind kind;
	char text[4096];
	char classes[8][128];
	size_t nclasses;
};

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen seen[MAX_REPORTS];
static int nseen, ndeadlock;

static void collect(const struct iort_lockdep_report *r, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&seen_lock);
	if (r->kind == IORT_LOCKDEP_DEADLOCK)
		__atomic_fetch_add(&ndeadlock, 1, __ATOMIC_SEQ_CST);
	if (nseen < MAX_REPORTS) {
		struct seen *s = &seen[nseen++];

		s->kind = r->kind;
		snprintf(s->text, sizeof(s->text), "%s", r->text);
		s->nclasses = r->nclasses < 8 ? r->nclasses : 8;
		for (size_t i = 0; i < s->nclasses; i++)
			snprintf(s->classes[i], sizeof(s->classes[i]), "%s", r->classes[i]);
	}
	pthread_mutex_unlock(&seen_lock);
}

static int count(enum iort_lockdep_kind kind)
{
	int n = 0;

	pthread_mutex_lock(&seen_lock);
	for (int i = 0; i < nseen; i++)
		n += seen[i].kind == kind;
	pthread_mutex_unlock(&seen_lock);
	return n;
}

/* The first report of @p kind; an empty one (no text, no classes) if none. */
static const struct seen *first(enum iort_lockdep_kind kind)
{
	static const struct seen none;

	for (int i = 0; i < nseen; i++)
		if (seen[i].kind == kind)
			return &seen[i];
	return &none;
}

static bool has_class(const struct seen *s, const char *name)
{
	for (size_t i = 0; i < s->nclasses; i++)
		if (strcmp(s->classes[i], name) == 0)
			return true;
	return false;
}

static int setup(void **state)
{
	(void)state;
	iort_lockdep_reset();
	iort_lockdep_set_handler(collect, NULL);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_REPORT), 0);
	pthread_mutex_lock(&seen_lock);
	nseen = 0;
	ndeadlock = 0;
	pthread_mutex_unlock(&seen_lock);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_OFF), 0);
	iort_lockdep_set_handler(NULL, NULL);
	return 0;
}

/* ---- threads that take two or three locks in order ---- */

struct order {
	struct iort_mutex *m[3];
	int n;
};

static void *take_in_order(void *arg)
{
	struct order *o = arg;

	for (int i = 0; i < o->n; i++)
		iort_mutex_lock(o->m[i]);
	for (int i = o->n; i-- > 0;)
		iort_mutex_unlock(o->m[i]);
	return NULL;
}

/* Run take_in_order(@p o) on a thread of its own and wait for it. */
static void in_thread(struct order o)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, take_in_order, &o), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
}

static void test_abba(void **state)
{
	struct iort_mutex a, b;
	const struct seen *s;

	(void)state;
	iort_mutex_init_class(&a, "abba.A");
	iort_mutex_init_class(&b, "abba.B");
	in_thread((struct order){ { &a, &b }, 2 });
	assert_int_equal(nseen, 0);
	in_thread((struct order){ { &b, &a }, 2 });
	assert_int_equal(nseen, 1);
	s = first(IORT_LOCKDEP_INVERSION);
	assert_non_null(strstr(s->text, "lock-order-inversion (potential deadlock)"));
	assert_int_equal(s->nclasses, 2);
	assert_true(has_class(s, "abba.A") && has_class(s, "abba.B"));
	assert_non_null(strstr(s->text, "edge abba.A -> abba.B: abba.B acquired at "));
	assert_non_null(strstr(s->text, "edge abba.B -> abba.A: abba.A acquired at "));
	assert_non_null(strstr(s->text, "thread "));
	/* Once per cycle: taking the same orders again reports nothing new. */
	in_thread((struct order){ { &a, &b }, 2 });
	in_thread((struct order){ { &b, &a }, 2 });
	assert_int_equal(nseen, 1);
}

static void test_abc(void **state)
{
	struct iort_mutex a, b, c;
	const struct seen *s;

	(void)state;
	iort_mutex_init_class(&a, "abc.A");
	iort_mutex_init_class(&b, "abc.B");
	iort_mutex_init_class(&c, "abc.C");
	in_thread((struct order){ { &a, &b }, 2 });
	in_thread((struct order){ { &b, &c }, 2 });
	assert_int_equal(nseen, 0);
	in_thread((struct order){ { &c, &a }, 2 });
	assert_int_equal(nseen, 1);
	s = first(IORT_LOCKDEP_INVERSION);
	assert_int_equal(s->nclasses, 3);
	assert_true(has_class(s, "abc.A") && has_class(s, "abc.B") && has_class(s, "abc.C"));
	assert_non_null(strstr(s->text, "edge abc.A -> abc.B"));
	assert_non_null(strstr(s->text, "edge abc.B -> abc.C"));
	assert_non_null(strstr(s->text, "edge abc.C -> abc.A"));
}

static void test_same_class(void **state)
{
	struct iort_mutex x1, x2, y1, y2;
	const struct seen *s;

	(void)state;
	iort_mutex_init_class(&y1, "nest.Y");
	iort_mutex_init_class(&y2, "nest.Y");
	/* Annotated: y2 is subclass 1 of the same class; no report, in either instance order. */
	iort_mutex_lock(&y1);
	iort_mutex_lock_nested(&y2, 1);
	iort_mutex_unlock(&y2);
	iort_mutex_unlock(&y1);
	iort_mutex_lock(&y2);
	iort_mutex_lock_nested(&y1, 1);
	iort_mutex_unlock(&y1);
	iort_mutex_unlock(&y2);
	assert_int_equal(nseen, 0);
	/* Not annotated: one class nested in itself is a cycle of length 1. */
	iort_mutex_init_class(&x1, "nest.X");
	iort_mutex_init_class(&x2, "nest.X");
	iort_mutex_lock(&x1);
	iort_mutex_lock(&x2);
	iort_mutex_unlock(&x2);
	iort_mutex_unlock(&x1);
	assert_int_equal(nseen, 1);
	s = first(IORT_LOCKDEP_INVERSION);
	assert_int_equal(s->nclasses, 1);
	assert_string_equal(s->classes[0], "nest.X");
	assert_non_null(strstr(s->text, "nest.X -> nest.X"));
	assert_non_null(strstr(s->text, "iort_mutex_lock_nested"));
}

static void test_same_site_same_class(void **state)
{
	struct iort_mutex m[2], n[2];
	char *name[2] = { strdup("site.S"), strdup("site.S") };

	(void)state;
	/* One init site, one class. */
	for (int i = 0; i < 2; i++)
		iort_mutex_init(&m[i]);
	iort_mutex_lock(&m[0]);
	iort_mutex_lock(&m[1]);
	iort_mutex_unlock(&m[1]);
	iort_mutex_unlock(&m[0]);
	assert_int_equal(count(IORT_LOCKDEP_INVERSION), 1);
	/* Equal names in two strings: the contents count, not the address. */
	assert_non_null(name[0]);
	assert_non_null(name[1]);
	iort_mutex_init_class(&n[0], name[0]);
	iort_mutex_init_class(&n[1], name[1]);
	iort_mutex_lock(&n[0]);
	iort_mutex_lock(&n[1]);
	iort_mutex_unlock(&n[1]);
	iort_mutex_unlock(&n[0]);
	assert_int_equal(count(IORT_LOCKDEP_INVERSION), 2);
	assert_true(has_class(&seen[1], "site.S"));
	free(name[0]);
	free(name[1]);
}

static void *try_b_under_a(void *arg)
{
	struct iort_mutex **m = arg;

	iort_mutex_lock(m[0]);
	assert_true(iort_mutex_try_lock(m[1]));
	iort_mutex_unlock(m[1]);
	iort_mutex_unlock(m[0]);
	return NULL;
}

static void test_try_lock_no_edge(void **state)
{
	struct iort_mutex a, b, *m[2] = { &a, &b };
	pthread_t t;

	(void)state;
	iort_mutex_init_class(&a, "try.A");
	iort_mutex_init_class(&b, "try.B");
	assert_int_equal(pthread_create(&t, NULL, try_b_under_a, m), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* A -> B by try-lock made no edge, so B -> A closes no cycle. */
	in_thread((struct order){ { &b, &a }, 2 });
	assert_int_equal(nseen, 0);
	/* The same with a blocking lock is reported (the test above can fail). */
	in_thread((struct order){ { &a, &b }, 2 });
	assert_int_equal(count(IORT_LOCKDEP_INVERSION), 1);
}

static void test_gate_lock(void **state)
{
	struct iort_mutex g, a, b;
	const struct seen *s;

	(void)state;
	iort_mutex_init_class(&g, "gate.G");
	iort_mutex_init_class(&a, "gate.A");
	iort_mutex_init_class(&b, "gate.B");
	in_thread((struct order){ { &g, &a, &b }, 3 });
	in_thread((struct order){ { &g, &b, &a }, 3 });
	assert_int_equal(nseen, 0); /* both orders under the one gate G: no deadlock possible */
	/* B -> A without G: a thread holding B and not G can meet one holding G and A. */
	in_thread((struct order){ { &b, &a }, 2 });
	assert_int_equal(nseen, 1);
	in_thread((struct order){ { &a, &b }, 2 });
	assert_int_equal(nseen, 1);
	s = first(IORT_LOCKDEP_INVERSION);
	assert_int_equal(s->nclasses, 2);
	assert_true(has_class(s, "gate.A") && has_class(s, "gate.B"));
}

static void test_gate_instances(void **state)
{
	struct iort_mutex g1, g2, a, b;

	(void)state;
	/* Two locks of one class are two gates: holding g1 does not exclude a holder of g2. */
	iort_mutex_init_class(&g1, "gatei.G");
	iort_mutex_init_class(&g2, "gatei.G");
	iort_mutex_init_class(&a, "gatei.A");
	iort_mutex_init_class(&b, "gatei.B");
	in_thread((struct order){ { &g1, &a, &b }, 3 });
	in_thread((struct order){ { &g2, &b, &a }, 3 });
	assert_int_equal(count(IORT_LOCKDEP_INVERSION), 1);
}

static void test_reused_memory(void **state)
{
	struct iort_mutex *m = malloc(sizeof(*m)), a;

	(void)state;
	assert_non_null(m);
	iort_mutex_init_class(&a, "reuse.A");
	iort_mutex_init_class(m, "reuse.X");
	in_thread((struct order){ { m, &a }, 2 }); /* X -> A */
	assert_int_equal(iort_mutex_fini(m), 0);
	/* The same memory, now a lock of another class: A -> Y is no inversion of X -> A. */
	iort_mutex_init_class(m, "reuse.Y");
	in_thread((struct order){ { &a, m }, 2 });
	assert_int_equal(nseen, 0);
	assert_int_equal(iort_mutex_fini(m), 0);
	free(m);
}

/* One held lock, two successors: each edge is recorded (the configuration cache's key names the
 * target) and the search follows every edge out of a node, not only the newest. */
static void test_fanout(void **state)
{
	struct iort_mutex a, b, c;

	(void)state;
	iort_mutex_init_class(&a, "fan.A");
	iort_mutex_init_class(&b, "fan.B");
	iort_mutex_init_class(&c, "fan.C");
	in_thread((struct order){ { &a, &b }, 2 });
	in_thread((struct order){ { &a, &c }, 2 }); /* A's edges, newest first: A->C, A->B */
	assert_int_equal(nseen, 0);
	in_thread((struct order){ { &b, &a }, 2 }); /* closes A->B->A through the older edge */
	assert_int_equal(count(IORT_LOCKDEP_INVERSION), 1);
	assert_true(has_class(&seen[0], "fan.A") && has_class(&seen[0], "fan.B"));
	in_thread((struct order){ { &c, &a }, 2 }); /* closes A->C->A */
	assert_int_equal(count(IORT_LOCKDEP_INVERSION), 2);
	assert_true(has_class(&seen[1], "fan.A") && has_class(&seen[1], "fan.C"));
}

/* A gate is an instance: A->B taken once under g1 and once under g2 (one class) has no gate left,
 * so B->A under g1 closes a cycle. The second sighting is a new configuration (other instance)
 * and must shrink the gate set although both gates are of one class. */
static void test_gate_other_instance_shrinks(void **state)
{
	struct iort_mutex g1, g2, a, b;
	const struct seen *s;

	(void)state;
	iort_mutex_init_class(&g1, "gates.G");
	iort_mutex_init_class(&g2, "gates.G");
	iort_mutex_init_class(&a, "gates.A");
	iort_mutex_init_class(&b, "gates.B");
	in_thread((struct order){ { &g1, &a, &b }, 3 }); /* A->B gated by g1 */
	in_thread((struct order){ { &g2, &a, &b }, 3 }); /* ... and now by nothing */
	assert_int_equal(nseen, 0);
	in_thread((struct order){ { &g1, &b, &a }, 3 });
	assert_int_equal(count(IORT_LOCKDEP_INVERSION), 1);
	s = first(IORT_LOCKDEP_INVERSION);
	assert_int_equal(s->nclasses, 2);
	assert_true(has_class(s, "gates.A") && has_class(s, "gates.B"));
}

/* An out-of-order unlock leaves a held set whose configuration is new: held {A, C} taking D is
 * not held {A, B, C} taking D, and drops B from C->D's gates. Then D->C under B is an inversion. */
static void *abc_drop_b_then_d(void *arg)
{
	struct iort_mutex **m = arg;

	iort_mutex_lock(m[0]);
	iort_mutex_lock(m[1]);
	iort_mutex_lock(m[2]);
	iort_mutex_unlock(m[1]); /* out of order */
	iort_mutex_lock(m[3]);
	iort_mutex_unlock(m[3]);
	iort_mutex_unlock(m[2]);
	iort_mutex_unlock(m[0]);
	return NULL;
}

static void test_out_of_order_unlock_config(void **state)
{
	struct iort_mutex a, b, c, d, *m[4] = { &a, &b, &c, &d };
	const struct seen *s;
	pthread_t t;

	(void)state;
	iort_mutex_init_class(&a, "ooo.A");
	iort_mutex_init_class(&b, "ooo.B");
	iort_mutex_init_class(&c, "ooo.C");
	iort_mutex_init_class(&d, "ooo.D");
	/* held {A, B, C} taking D: C->D gated by A and B */
	in_thread((struct order){ { &a, &b, &c }, 3 });
	iort_mutex_lock(&a);
	iort_mutex_lock(&b);
	iort_mutex_lock(&c);
	iort_mutex_lock(&d);
	iort_mutex_unlock(&d);
	iort_mutex_unlock(&c);
	iort_mutex_unlock(&b);
	iort_mutex_unlock(&a);
	assert_int_equal(pthread_create(&t, NULL, abc_drop_b_then_d, m), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(nseen, 0);
	/* C->D is gated by A alone now; D->C under B shares no gate with it. */
	in_thread((struct order){ { &b, &d, &c }, 3 });
	assert_int_equal(count(IORT_LOCKDEP_INVERSION), 1);
	s = first(IORT_LOCKDEP_INVERSION);
	assert_int_equal(s->nclasses, 2);
	assert_true(has_class(s, "ooo.C") && has_class(s, "ooo.D"));
}

/* A subclass past 7 is clamped to 7 (the header allows 1..7): it never names a node of the next
 * class. p and q are registered one after the other, so q's class id is p's + 1. */
static void test_subclass_clamped(void **state)
{
	struct iort_mutex p, p2, q;

	(void)state;
	iort_mutex_init_class(&p, "clamp.P");
	iort_mutex_init_class(&p2, "clamp.P");
	iort_mutex_init_class(&q, "clamp.Q");
	iort_mutex_lock(&p); /* registers clamp.P */
	iort_mutex_unlock(&p);
	iort_mutex_lock(&q); /* registers clamp.Q, the next id */
	iort_mutex_unlock(&q);
	iort_mutex_lock(&q);
	iort_mutex_lock_nested(&p2, 8); /* clamp.P/7, not clamp.Q */
	iort_mutex_unlock(&p2);
	iort_mutex_unlock(&q);
	assert_int_equal(nseen, 0); /* unclamped, P/8 is Q/0: "clamp.Q -> clamp.Q" */
}

/* A row of the fast path's matrix published by one thread and read by another that has no other
 * ordering with it (other mutex instances of the same classes, registered beforehand; a relaxed
 * flag): only ld.R1/ld.A1 order the row's zeroing before the reader's bit test. The check is
 * TSan's (a build with -Db_sanitize=thread reports the race if the pair is weakened). */
static struct iort_mutex row_f, row_t, row_f2, row_t2;
static _Atomic int row_published;

static void *row_writer(void *arg)
{
	(void)arg;
	iort_mutex_lock(&row_f); /* F -> T, no gate: the bit is set, F's row allocated */
	iort_mutex_lock(&row_t);
	iort_mutex_unlock(&row_t);
	iort_mutex_unlock(&row_f);
	/* MO relaxed: on purpose no synchronization beyond the checker's own. */
	atomic_store_explicit(&row_published, 1, memory_order_relaxed);
	/* Stay until the reader is done: this thread's exit takes the checker's registry lock,
	 * which would order the reader's later registration after everything here. */
	/* MO relaxed: as above. */
	while (atomic_load_explicit(&row_published, memory_order_relaxed) != 2)
		sched_yield();
	return NULL;
}

static void *row_reader(void *arg)
{
	(void)arg;
	iort_mutex_lock(&row_f2); /* registers this thread with the checker now, not later */
	iort_mutex_unlock(&row_f2);
	/* MO relaxed: see row_writer(). */
	while (!atomic_load_explicit(&row_published, memory_order_relaxed))
		sched_yield();
	iort_mutex_lock(&row_f2); /* held F taking T: the fast path's one bit test in F's row */
	iort_mutex_lock(&row_t2);
	iort_mutex_unlock(&row_t2);
	iort_mutex_unlock(&row_f2);
	/* MO relaxed: as above. */
	atomic_store_explicit(&row_published, 2, memory_order_relaxed);
	return NULL;
}

static void test_row_published(void **state)
{
	pthread_t r, w;

	(void)state;
	iort_mutex_init_class(&row_f, "row.F");
	iort_mutex_init_class(&row_t, "row.T");
	iort_mutex_init_class(&row_f2, "row.F");
	iort_mutex_init_class(&row_t2, "row.T");
	iort_mutex_lock(&row_f2); /* register both classes, no edge */
	iort_mutex_unlock(&row_f2);
	iort_mutex_lock(&row_t2);
	iort_mutex_unlock(&row_t2);
	atomic_store(&row_published, 0);
	assert_int_equal(pthread_create(&r, NULL, row_reader, NULL), 0);
	assert_int_equal(pthread_create(&w, NULL, row_writer, NULL), 0);
	assert_int_equal(pthread_join(w, NULL), 0);
	assert_int_equal(pthread_join(r, NULL), 0);
	assert_int_equal(nseen, 0);
}

#define DEEP 100

static void test_depth_100(void **state)
{
	static struct iort_mutex m[DEEP];
	static char names[DEEP][16];

	(void)state;
	for (int i = 0; i < DEEP; i++) {
		snprintf(names[i], sizeof(names[i]), "deep.%d", i);
		iort_mutex_init_class(&m[i], names[i]);
	}
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < DEEP; i++)
			iort_mutex_lock(&m[i]);
		/* Out of order: the middle first, then the rest from the bottom. */
		iort_mutex_unlock(&m[DEEP / 2]);
		for (int i = 0; i < DEEP; i++)
			if (i != DEEP / 2)
				iort_mutex_unlock(&m[i]);
	}
	assert_int_equal(nseen, 0);
	/* The stack still knows what is held at depth 100: the last lock then the first inverts. */
	for (int i = 0; i < DEEP; i++)
		iort_mutex_lock(&m[i]);
	for (int i = 0; i < DEEP - 1; i++)
		iort_mutex_unlock(&m[i]);
	iort_mutex_lock(&m[0]);
	iort_mutex_unlock(&m[0]);
	iort_mutex_unlock(&m[DEEP - 1]);
	assert_int_equal(nseen, 1);
	assert_true(has_class(first(IORT_LOCKDEP_INVERSION), "deep.0"));
	assert_true(has_class(first(IORT_LOCKDEP_INVERSION), "deep.99"));
}

/* ---- a real deadlock ---- */

static struct iort_mutex dl_a, dl_b;
static pthread_barrier_t dl_barrier;
static long dl_tid[2];
static int dl_bad; /* cmocka's asserts are for the main thread */

static void *dl_first(void *arg)
{
	(void)arg;
	dl_tid[0] = (long)syscall(SYS_gettid);
	iort_mutex_lock(&dl_a);
	pthread_barrier_wait(&dl_barrier);
	iort_mutex_lock(&dl_b); /* blocks until the other side gives up */
	iort_mutex_unlock(&dl_b);
	iort_mutex_unlock(&dl_a);
	return NULL;
}

static void *dl_second(void *arg)
{
	int tries = 0;

	(void)arg;
	dl_tid[1] = (long)syscall(SYS_gettid);
	iort_mutex_lock(&dl_b);
	pthread_barrier_wait(&dl_barrier);
	/* Wait for A in rounds until the watchdog has reported; each round's stall check walks
	 * A -> its holder (blocked on B) -> B's holder (us). Then give up: that ends the deadlock. */
	while (!__atomic_load_n(&ndeadlock, __ATOMIC_SEQ_CST) && tries++ < 600) {
		if (iort_mutex_lock_timed(&dl_a, iort_clock_ns() + 100000000ull) != -ETIMEDOUT)
			dl_bad = 1;
	}
	iort_mutex_unlock(&dl_b);
	return NULL;
}

static void test_real_deadlock(void **state)
{
	pthread_t t1, t2;
	const struct seen *s;
	char tid[32];

	(void)state;
	iort_mutex_init_class(&dl_a, "dead.A");
	iort_mutex_init_class(&dl_b, "dead.B");
	iort_lockdep_set_stall_ns(1000000); /* 1 ms */
	pthread_barrier_init(&dl_barrier, NULL, 2);
	assert_int_equal(pthread_create(&t1, NULL, dl_first, NULL), 0);
	assert_int_equal(pthread_create(&t2, NULL, dl_second, NULL), 0);
	assert_int_equal(pthread_join(t2, NULL), 0);
	assert_int_equal(pthread_join(t1, NULL), 0);
	pthread_barrier_destroy(&dl_barrier);
	assert_int_equal(dl_bad, 0);
	iort_lockdep_set_stall_ns(1000000000ull);
	assert_int_equal(count(IORT_LOCKDEP_DEADLOCK), 1);
	assert_int_equal(count(IORT_LOCKDEP_INVERSION), 1); /* found before it blocked */
	s = first(IORT_LOCKDEP_DEADLOCK);
	assert_non_null(strstr(s->text, "deadlock"));
	assert_null(strstr(s->text, "potential"));
	for (int i = 0; i < 2; i++) {
		snprintf(tid, sizeof(tid), "thread %ld waits", dl_tid[i]);
		assert_non_null(strstr(s->text, tid));
	}
	assert_int_equal(s->nclasses, 2);
	assert_true(has_class(s, "dead.A") && has_class(s, "dead.B"));
}

/* ---- the watchdog after the checker was switched off and on ---- */

/*
 * H blocks on L holding A while the checker is on; the checker goes off and on again. H's record
 * still says "holds A, waits for L", but the checker's rule is that a switch on makes every stack
 * stale (H got L, let go of both and runs on while off, with no hook to tell). T0 then holds L
 * and waits for A (taken since by a thread that is running): no deadlock, and none may be
 * reported from H's stale record. The threads call the hooks directly to set that state.
 */
static struct iort_lockdep_map sw_map_a = IORT_LOCKDEP_MAP_INIT("switch.A"),
			       sw_map_l = IORT_LOCKDEP_MAP_INIT("switch.L");
static char sw_a, sw_l;
static pthread_barrier_t sw_barrier;

static void *sw_h(void *arg)
{
	(void)arg;
	iort__ld_acquire(&sw_map_a, &sw_a, 0, 0, NULL);
	iort__ld_acquire(&sw_map_l, &sw_l, 0, 0, NULL);
	iort__ld_wait_begin(&sw_l);
	pthread_barrier_wait(&sw_barrier); /* H is "blocked" */
	pthread_barrier_wait(&sw_barrier); /* T0's walk is over: H exits (no more hooks) */
	return NULL;
}

static void *sw_t0(void *arg)
{
	(void)arg;
	iort__ld_acquire(&sw_map_l, &sw_l, 0, 0, NULL);
	iort__ld_acquire(&sw_map_a, &sw_a, 0, 0, NULL);
	iort__ld_wait_begin(&sw_a);
	iort__ld_stalled(&sw_a, 1000000);
	iort__ld_release(&sw_map_a, &sw_a);
	iort__ld_release(&sw_map_l, &sw_l);
	return NULL;
}

static void test_watchdog_after_switch(void **state)
{
	pthread_t h, t0;

	(void)state;
	pthread_barrier_init(&sw_barrier, NULL, 2);
	assert_int_equal(pthread_create(&h, NULL, sw_h, NULL), 0);
	pthread_barrier_wait(&sw_barrier);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_OFF), 0);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_REPORT), 0);
	assert_int_equal(pthread_create(&t0, NULL, sw_t0, NULL), 0);
	assert_int_equal(pthread_join(t0, NULL), 0);
	pthread_barrier_wait(&sw_barrier);
	assert_int_equal(pthread_join(h, NULL), 0);
	pthread_barrier_destroy(&sw_barrier);
	assert_int_equal(count(IORT_LOCKDEP_DEADLOCK), 0);
}

/* ---- modes ---- */

static void test_abort_mode(void **state)
{
	char out[4096];
	int st;

	(void)state;
	st = run_child("abba-abort", "off", out, sizeof(out));
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	assert_non_null(strstr(out, "lock-order-inversion (potential deadlock)"));
	assert_null(strstr(out, "not reached"));
}

static void test_set_mode(void **state)
{
	(void)state;
	assert_int_equal(iort_lockdep_set_mode((enum iort_lockdep_mode)7), -EINVAL);
	assert_int_equal(iort_lockdep_get_mode(), IORT_LOCKDEP_REPORT);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_ABORT), 0);
	assert_int_equal(iort_lockdep_get_mode(), IORT_LOCKDEP_ABORT);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_OFF), 0);
	assert_int_equal(iort_lockdep_get_mode(), IORT_LOCKDEP_OFF);
	assert_false(iort__ld_enabled());
}

static void test_env(void **state)
{
	char out[4096];
	int st;

	(void)state;
	st = run_child("mode", "report", out, sizeof(out));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(out, "mode=1\n");
	st = run_child("mode", "abort", out, sizeof(out));
	assert_string_equal(out, "mode=2\n");
	st = run_child("mode", "off", out, sizeof(out));
	assert_string_equal(out, "mode=0\n");
	st = run_child("mode", "bogus", out, sizeof(out));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(out, "IORT_LOCKDEP=bogus"));
	assert_non_null(strstr(out, "mode=0\n"));
	/* On since start-up, the stacks are complete: an unlock of a lock not held is reported. */
	st = run_child("misuse", "report", out, sizeof(out));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(out, "misuse: unlock of a lock this thread does not hold"));
}

/* More classes than the table holds: one MISUSE report, the new classes go unchecked, nothing
 * crashes, and the classes registered before still are. In a child: classes are never freed. */
static void test_class_cap(void **state)
{
	char out[4096];
	int st;

	(void)state;
	st = run_child("class-cap", "off", out, sizeof(out));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(out, "misuse=1 past-cap=0 below-cap=1\n"));
	assert_non_null(strstr(out, "more than 1023 lock classes"));
}

#endif /* IORT_LOCKDEP */

static void test_compiled_out(void **state)
{
	(void)state;
#if IORT_LOCKDEP
	skip();
#else
	char out[4096];

	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_REPORT), -ENOTSUP);
	assert_int_equal(iort_lockdep_set_mode(IORT_LOCKDEP_OFF), -ENOTSUP);
	assert_int_equal(iort_lockdep_get_mode(), IORT_LOCKDEP_OFF);
	iort_lockdep_set_handler(NULL, NULL);
	iort_lockdep_set_stall_ns(1);
	iort_lockdep_reset();
	assert_int_equal(sizeof(struct iort_mutex), 8);
	assert_int_equal(WEXITSTATUS(run_child("mode", "report", out, sizeof(out))), 0);
	assert_non_null(strstr(out, "-Dlockdep=disabled"));
	assert_non_null(strstr(out, "mode=0\n"));
#endif
}

/* ---- the child side of run_child ---- */

static int child(const char *what)
{
	if (strcmp(what, "mode") == 0) {
		printf("mode=%d\n", (int)iort_lockdep_get_mode());
		return 0;
	}
#if IORT_LOCKDEP
	if (strcmp(what, "abba-abort") == 0) {
		struct iort_mutex a, b;

		iort_mutex_init_class(&a, "abort.A");
		iort_mutex_init_class(&b, "abort.B");
		if (iort_lockdep_set_mode(IORT_LOCKDEP_ABORT))
			return 3;
		iort_mutex_lock(&a);
		iort_mutex_lock(&b);
		iort_mutex_unlock(&b);
		iort_mutex_unlock(&a);
		iort_mutex_lock(&b);
		iort_mutex_lock(&a);
		fprintf(stderr, "not reached\n");
		return 0;
	}
	if (strcmp(what, "class-cap") == 0) {
		enum { N = 1100 };
		static struct iort_mutex m[N];
		static char name[N][16];
		int misuse, inversions;

		iort_lockdep_set_handler(collect, NULL);
		if (iort_lockdep_set_mode(IORT_LOCKDEP_REPORT))
			return 3;
		for (int i = 0; i < N; i++) {
			snprintf(name[i], sizeof(name[i]), "cap.%d", i);
			iort_mutex_init_class(&m[i], name[i]);
			iort_mutex_lock(&m[i]);
			iort_mutex_unlock(&m[i]);
		}
		misuse = count(IORT_LOCKDEP_MISUSE);
		/* Past the cap: not checked, and no crash (nested, annotated, in both orders). */
		iort_mutex_lock(&m[N - 1]);
		iort_mutex_lock_nested(&m[N - 2], 7);
		iort_mutex_lock(&m[0]);
		iort_mutex_unlock(&m[0]);
		iort_mutex_unlock(&m[N - 2]);
		iort_mutex_unlock(&m[N - 1]);
		iort_mutex_lock(&m[N - 2]);
		iort_mutex_lock(&m[N - 1]);
		iort_mutex_unlock(&m[N - 1]);
		iort_mutex_unlock(&m[N - 2]);
		inversions = count(IORT_LOCKDEP_INVERSION);
		/* Below the cap the checker still works. */
		iort_mutex_lock(&m[1]);
		iort_mutex_lock(&m[2]);
		iort_mutex_unlock(&m[2]);
		iort_mutex_unlock(&m[1]);
		iort_mutex_lock(&m[2]);
		iort_mutex_lock(&m[1]);
		iort_mutex_unlock(&m[1]);
		iort_mutex_unlock(&m[2]);
		printf("misuse=%d past-cap=%d below-cap=%d\n", misuse, inversions,
		       count(IORT_LOCKDEP_INVERSION) - inversions);
		printf("%s", first(IORT_LOCKDEP_MISUSE)->text);
		return 0;
	}
	if (strcmp(what, "misuse") == 0) {
		struct iort_mutex m;

		iort_mutex_init_class(&m, "misuse.M");
		iort__ld_release(&m.iort_private_dep,
				 &m); /* the hook alone: the mutex stays valid */
		return 0;
	}
#endif
	return 4;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#if IORT_LOCKDEP
		cmocka_unit_test_setup_teardown(test_abba, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_class, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_site_same_class, setup, teardown),
		cmocka_unit_test_setup_teardown(test_try_lock_no_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gate_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gate_instances, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fanout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gate_other_instance_shrinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_unlock_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subclass_clamped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_row_published, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_100, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_deadlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_after_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_mode, setup, teardown),
		cmocka_unit_test(test_abort_mode),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_class_cap),
#endif
		cmocka_unit_test(test_compiled_out),
	};

	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return child(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
