/*
 * iort_cancel's contract, call by call: the tree (children, grandchildren, a child made under a
 * cancelled parent, fini detaching), callbacks (exactly once, at once after cancellation, in the
 * registering thread), unregister's two answers, and calls made from inside a callback. Races
 * are in stress_cancel.c, windows in win_cancel.c.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iort/cancel.h>

struct rec {
	struct iort_cancel_cb cb;
	int runs;
	pthread_t thread; /* who ran it last */
};

static void count(void *arg)
{
	struct rec *r = arg;

	r->runs++;
	r->thread = pthread_self();
}

static void test_root(void **state)
{
	struct iort_cancel c, other;
	struct rec a = { 0 }, b = { 0 };

	(void)state;
	iort_cancel_init(&c);
	iort_cancel_init(&other);
	assert_false(iort_cancel_requested(&c));
	assert_int_equal(iort_cancel_register(&c, &a.cb, count, &a), 0);
	assert_int_equal(iort_cancel_register(&c, &b.cb, count, &b), 0);
	assert_int_equal(a.runs + b.runs, 0); /* registering runs nothing */
	iort_cancel_request(&c);
	assert_true(iort_cancel_requested(&c));
	assert_false(iort_cancel_requested(&other));
	assert_int_equal(a.runs, 1);
	assert_int_equal(b.runs, 1);
	assert_true(pthread_equal(a.thread, pthread_self()));
	iort_cancel_request(&c); /* idempotent: nothing runs again */
	assert_true(iort_cancel_requested(&c));
	assert_int_equal(a.runs, 1);
	assert_int_equal(b.runs, 1);
	/* ran: unregister says so, and does not wait */
	assert_false(iort_cancel_unregister(&c, &a.cb));
	assert_false(iort_cancel_unregister(&c, &b.cb));
	iort_cancel_fini(&c);
	iort_cancel_fini(&other);
}

/* Registering on a cancelled token runs the callback at once, in the caller, and registers
 * nothing. */
static void *register_late(void *arg)
{
	struct iort_cancel *c = arg;
	struct rec *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	assert_int_equal(iort_cancel_register(c, &r->cb, count, r), -ECANCELED);
	return r;
}

static void test_register_after_cancel(void **state)
{
	struct iort_cancel c;
	struct rec *r;
	pthread_t th;
	void *ret;

	(void)state;
	iort_cancel_init(&c);
	iort_cancel_request(&c);
	assert_int_equal(pthread_create(&th, NULL, register_late, &c), 0);
	assert_int_equal(pthread_join(th, &ret), 0);
	r = ret;
	assert_int_equal(r->runs, 1);
	assert_true(pthread_equal(r->thread, th)); /* ran in the registering thread */
	iort_cancel_request(&c);		   /* not registered: does not run again */
	assert_int_equal(r->runs, 1);
	free(r);
	iort_cancel_fini(&c);
}

static void test_unregister_before(void **state)
{
	struct iort_cancel c;
	struct rec a = { 0 }, b = { 0 }, d = { 0 };

	(void)state;
	iort_cancel_init(&c);
	assert_int_equal(iort_cancel_register(&c, &a.cb, count, &a), 0);
	assert_int_equal(iort_cancel_register(&c, &b.cb, count, &b), 0);
	assert_int_equal(iort_cancel_register(&c, &d.cb, count, &d), 0);
	/* the middle, the newest and the oldest of the list */
	assert_true(iort_cancel_unregister(&c, &b.cb));
	assert_true(iort_cancel_unregister(&c, &d.cb));
	/* re-register one: a callback can be registered again after unregistering */
	assert_int_equal(iort_cancel_register(&c, &d.cb, count, &d), 0);
	assert_true(iort_cancel_unregister(&c, &d.cb));
	iort_cancel_request(&c);
	assert_int_equal(a.runs, 1);
	assert_int_equal(b.runs, 0);
	assert_int_equal(d.runs, 0);
	assert_false(iort_cancel_unregister(&c, &a.cb));
	iort_cancel_fini(&c);
}

static void test_tree(void **state)
{
	struct iort_cancel root, a, b, a1, a2;
	struct rec ra = { 0 }, ra1 = { 0 }, rb = { 0 }, rroot = { 0 };

	(void)state;
	iort_cancel_init(&root);
	iort_cancel_init_child(&a, &root);
	iort_cancel_init_child(&b, &root);
	iort_cancel_init_child(&a1, &a);
	iort_cancel_init_child(&a2, &a);
	assert_int_equal(iort_cancel_register(&root, &rroot.cb, count, &rroot), 0);
	assert_int_equal(iort_cancel_register(&a, &ra.cb, count, &ra), 0);
	assert_int_equal(iort_cancel_register(&a1, &ra1.cb, count, &ra1), 0);
	assert_int_equal(iort_cancel_register(&b, &rb.cb, count, &rb), 0);

	/* a child's cancel reaches its subtree only */
	iort_cancel_request(&a);
	assert_true(iort_cancel_requested(&a));
	assert_true(iort_cancel_requested(&a1));
	assert_true(iort_cancel_requested(&a2));
	assert_false(iort_cancel_requested(&root));
	assert_false(iort_cancel_requested(&b));
	assert_int_equal(ra.runs, 1);
	assert_int_equal(ra1.runs, 1);
	assert_int_equal(rb.runs + rroot.runs, 0);

	/* the root's cancel reaches the rest, and the grandchildren's callbacks only once */
	iort_cancel_request(&root);
	assert_true(iort_cancel_requested(&root));
	assert_true(iort_cancel_requested(&b));
	assert_int_equal(rroot.runs, 1);
	assert_int_equal(rb.runs, 1);
	assert_int_equal(ra.runs, 1);
	assert_int_equal(ra1.runs, 1);

	assert_false(iort_cancel_unregister(&root, &rroot.cb));
	assert_false(iort_cancel_unregister(&a, &ra.cb));
	assert_false(iort_cancel_unregister(&a1, &ra1.cb));
	assert_false(iort_cancel_unregister(&b, &rb.cb));
	iort_cancel_fini(&a1);
	iort_cancel_fini(&a2);
	iort_cancel_fini(&a);
	iort_cancel_fini(&b);
	iort_cancel_fini(&root);
}

/* A grandchild made under an already-cancelled ancestor starts cancelled, and so do its own
 * children; registering on it runs at once. */
static void test_child_of_cancelled(void **state)
{
	struct iort_cancel root, child, grand;
	struct rec r = { 0 };

	(void)state;
	iort_cancel_init(&root);
	iort_cancel_request(&root);
	iort_cancel_init_child(&child, &root);
	assert_true(iort_cancel_requested(&child));
	iort_cancel_init_child(&grand, &child);
	assert_true(iort_cancel_requested(&grand));
	assert_int_equal(iort_cancel_register(&grand, &r.cb, count, &r), -ECANCELED);
	assert_int_equal(r.runs, 1);
	iort_cancel_fini(&grand);
	iort_cancel_fini(&child);
	iort_cancel_fini(&root);
}

/* fini detaches the child: a later cancel of the parent does not touch its memory (here
 * overwritten with garbage: a parent still linked to it would call through that). */
static void test_fini_detaches(void **state)
{
	struct iort_cancel parent, keep;
	struct iort_cancel *gone = malloc(sizeof(*gone));
	unsigned char junk[sizeof(*gone)];
	struct rec r = { 0 };

	(void)state;
	assert_non_null(gone);
	iort_cancel_init(&parent);
	iort_cancel_init_child(&keep, &parent); /* a sibling stays linked */
	iort_cancel_init_child(gone, &parent);
	assert_int_equal(iort_cancel_register(&keep, &r.cb, count, &r), 0);
	iort_cancel_fini(gone);
	memset(gone, 0x5a, sizeof(*gone));
	memcpy(junk, gone, sizeof(junk));
	iort_cancel_request(&parent);
	assert_memory_equal(gone, junk, sizeof(junk));
	assert_true(iort_cancel_requested(&keep));
	assert_int_equal(r.runs, 1);
	free(gone);
	assert_false(iort_cancel_unregister(&keep, &r.cb));
	iort_cancel_fini(&keep);
	iort_cancel_fini(&parent);

	/* fini after the parent cancelled the child, and fini of a child born cancelled */
	iort_cancel_init(&parent);
	iort_cancel_init_child(&keep, &parent);
	iort_cancel_request(&parent);
	iort_cancel_fini(&keep);
	iort_cancel_init_child(&keep, &parent);
	iort_cancel_fini(&keep);
	iort_cancel_fini(&parent);
}

/* --- calls from inside a callback ------------------------------------------------------ */

struct inner {
	struct iort_cancel *c;
	struct iort_cancel *other;
	struct rec self, later, nested, victim;
	bool unregister_self, unregister_victim, registered_nested, requested_inside;
	int register_ret;
};

static void from_inside(void *arg)
{
	struct inner *in = arg;

	in->self.runs++;
	in->requested_inside = iort_cancel_requested(in->c);
	/* our own callback, running: false, at once (waiting would deadlock) */
	in->unregister_self = iort_cancel_unregister(in->c, &in->self.cb);
	/* a callback still waiting its turn: removed, never runs */
	in->unregister_victim = iort_cancel_unregister(in->c, &in->victim.cb);
	/* register on our own (cancelled) token: runs at once, here */
	in->register_ret = iort_cancel_register(in->c, &in->later.cb, count, &in->later);
	/* request again from inside: idempotent, no recursion into the callbacks */
	iort_cancel_request(in->c);
	/* register on another, live token */
	in->registered_nested =
		iort_cancel_register(in->other, &in->nested.cb, count, &in->nested) == 0;
}

static void test_inside_callback(void **state)
{
	struct iort_cancel c, other;
	struct inner in = { .c = &c, .other = &other };

	(void)state;
	/* newest first is not promised: register the victim both before and after, once each */
	for (int victim_first = 0; victim_first < 2; victim_first++) {
		in = (struct inner){ .c = &c, .other = &other };
		iort_cancel_init(&c);
		iort_cancel_init(&other);
		if (victim_first)
			assert_int_equal(iort_cancel_register(&c, &in.victim.cb, count, &in.victim),
					 0);
		assert_int_equal(iort_cancel_register(&c, &in.self.cb, from_inside, &in), 0);
		if (!victim_first)
			assert_int_equal(iort_cancel_register(&c, &in.victim.cb, count, &in.victim),
					 0);
		iort_cancel_request(&c);
		assert_int_equal(in.self.runs, 1);
		assert_true(in.requested_inside);
		assert_false(in.unregister_self);
		assert_int_equal(in.register_ret, -ECANCELED);
		assert_int_equal(in.later.runs, 1);
		assert_true(in.registered_nested);
		assert_int_equal(in.nested.runs, 0);
		/* the victim ran once (before us) or never (we removed it), never both */
		if (in.unregister_victim)
			assert_int_equal(in.victim.runs, 0);
		else
			assert_int_equal(in.victim.runs, 1);
		assert_false(iort_cancel_unregister(&c, &in.self.cb));
		if (!in.unregister_victim)
			assert_false(iort_cancel_unregister(&c, &in.victim.cb));
		iort_cancel_request(&other);
		assert_int_equal(in.nested.runs, 1);
		assert_false(iort_cancel_unregister(&other, &in.nested.cb));
		iort_cancel_fini(&c);
		iort_cancel_fini(&other);
	}
}

/* A callback may free the memory its registration lives in: the canceller does not touch it
 * after the call (ASan builds check). */
static void free_self(void *arg)
{
	free(arg);
}

static void test_callback_frees_itself(void **state)
{
	struct iort_cancel c;

	(void)state;
	iort_cancel_init(&c);
	for (int i = 0; i < 4; i++) {
		struct rec *r = malloc(sizeof(*r));

		assert_non_null(r);
		assert_int_equal(iort_cancel_register(&c, &r->cb, free_self, r), 0);
	}
	iort_cancel_request(&c);
	iort_cancel_fini(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_register_after_cancel),
		cmocka_unit_test(test_unregister_before),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_child_of_cancelled),
		cmocka_unit_test(test_fini_detaches),
		cmocka_unit_test(test_inside_callback),
		cmocka_unit_test(test_callback_frees_itself),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
