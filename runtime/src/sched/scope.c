/*
 * Scopes (scope.h): children are pool tasks with handles, linked into the scope through their
 * reg_next field (a push-only list: any thread may spawn into the scope), joined one by one by
 * the owner. A child's done() runs before its task is COMPLETE (pool.c), so by the time join has
 * seen every child complete, every result is recorded.
 *
 * Results: first_err takes the first nonzero result by CAS; succeeded is set by the first
 * success; why records what cancelled the scope first (the policy, the deadline, or a cancel
 * from outside), which decides join's result.
 *
 * Cancelling: the token is requested (running children see it), then every child not yet
 * started is cancelled (iort_task_cancel: it never runs; an idle future finishes at once). A
 * child spawned after the cancel sees the token cancelled and is not started.
 */
#include "pool-private.h"

#include <iort/cancel.h>
#include <iort/clock.h>
#include <iort/scope.h>
#include <iort/wait.h>

#include <errno.h>
#include <stdatomic.h>

_Static_assert(sizeof(_Atomic int) == sizeof(int), "atomic int layout");
_Static_assert(sizeof(struct iort_task *_Atomic) == sizeof(struct iort_task *), "pointer layout");

enum { WHY_NONE, WHY_POLICY, WHY_DEADLINE, WHY_CANCEL, WHY_CLOSED };

#define A_INT(f)  ((_Atomic int *)&(f))
#define A_HEAD(s) ((struct iort_task * _Atomic *)&(s)->iort_private_children)

/* Cancel once, remembering why (the first reason wins). */
static void scope_cancel(struct iort_scope *s, int why)
{
	int none = WHY_NONE;
	/* MO relaxed: only the first reason matters; join reads it after the children's
	 * completions (pool.A4), and its own deadline cancel is in its own thread. */
	if (!atomic_compare_exchange_strong_explicit(A_INT(s->iort_private_why), &none, why,
						     memory_order_relaxed, memory_order_relaxed))
		return;
	iort_cancel_request(&s->iort_private_token);
	/* MO scope.A1 (acquire): every child pushed before we read the head is complete enough
	 * to cancel (its fields written before its push); pairs with scope.R1. */
	for (struct iort_task *t = atomic_load_explicit(A_HEAD(s), memory_order_acquire); t != NULL;
	     t = t->reg_next)
		iort_task_cancel(t);
	/* MO scope.R2 (release): our walk is over before join releases the handles;
	 * pairs with scope.A3. */
	atomic_store_explicit(A_INT(s->iort_private_walked), 1, memory_order_release);
}

static void record(struct iort_scope *s, int ret)
{
	if (ret == 0) {
		/* MO relaxed: read by join after the child's COMPLETE (pool.A4 orders it). */
		atomic_store_explicit(A_INT(s->iort_private_succeeded), 1, memory_order_relaxed);
		if (s->iort_private_policy == IORT_SCOPE_FIRST_SUCCESS)
			scope_cancel(s, WHY_POLICY);
		return;
	}
	int zero = 0;
	/* MO relaxed: as above. */
	atomic_compare_exchange_strong_explicit(A_INT(s->iort_private_first_err), &zero, ret,
						memory_order_relaxed, memory_order_relaxed);
	if (s->iort_private_policy == IORT_SCOPE_FAIL_FAST)
		scope_cancel(s, WHY_POLICY);
}

static void child_fn(void *arg)
{
	struct iort_task *t = arg;
	struct iort_scope *s = t->sc.scope;

	t->sc.ret = t->sc.u.fn(t->sc.arg, &s->iort_private_token);
}

static enum iort_poll child_poll(void *arg, struct iort_waker *w)
{
	struct iort_task *t = arg;

	return t->sc.u.poll(t->sc.arg, w);
}

/* Runs once per child, before its COMPLETE: status -ECANCELED when it never ran (or a future
 * stopped being polled); its own result otherwise. */
static void child_done(void *arg, int status)
{
	struct iort_task *t = arg;

	if (status == 0)
		record(t->sc.scope, t->kind == TK_FN ? t->sc.ret : 0);
}

IORT_API int iort_scope_open(struct iort_scope *s, struct iort_pool *p,
			     enum iort_scope_policy policy, uint64_t deadline_ns,
			     struct iort_cancel *parent)
{
	if (policy != IORT_SCOPE_ALL && policy != IORT_SCOPE_FAIL_FAST &&
	    policy != IORT_SCOPE_FIRST_SUCCESS)
		return -EINVAL;
	if (parent != NULL)
		iort_cancel_init_child(&s->iort_private_token, parent);
	else
		iort_cancel_init(&s->iort_private_token);
	s->iort_private_pool = p;
	s->iort_private_policy = policy;
	s->iort_private_deadline = deadline_ns;
	atomic_init(A_HEAD(s), NULL);
	atomic_init(A_INT(s->iort_private_first_err), 0);
	atomic_init(A_INT(s->iort_private_succeeded), 0);
	atomic_init(A_INT(s->iort_private_why), WHY_NONE);
	atomic_init(A_INT(s->iort_private_walked), 0);
	return 0;
}

static int scope_start(struct iort_scope *s, struct iort_spawn *opt, struct scope_child *sc)
{
	struct iort_task *t;

	if (iort_cancel_requested(&s->iort_private_token))
		return -ECANCELED;
	sc->scope = s;
	sc->ret = 0;
	opt->done = child_done;
	int err = iort__pool_spawn_scoped(s->iort_private_pool, opt, sc, &t);
	if (err != 0) {
		record(s, err);
		return err;
	}
	/* MO relaxed: the CAS below publishes. */
	struct iort_task *head = atomic_load_explicit(A_HEAD(s), memory_order_relaxed);
	do
		t->reg_next = head;
	/* MO scope.R1 (release): the handle's link before a canceller walks it;
	 * pairs with scope.A1 and scope.A2. */
	while (!atomic_compare_exchange_weak_explicit(A_HEAD(s), &head, t, memory_order_release,
						      memory_order_relaxed));
	/* Cancelled while we pushed: the canceller may have walked the list before our push. */
	if (iort_cancel_requested(&s->iort_private_token))
		iort_task_cancel(t);
	return 0;
}

IORT_API int iort_scope_spawn(struct iort_scope *s, iort_scope_fn *fn, void *arg)
{
	struct iort_spawn opt = { .fn = child_fn };
	struct scope_child sc = { .u.fn = fn, .arg = arg };

	if (fn == NULL)
		return -EINVAL;
	return scope_start(s, &opt, &sc);
}

IORT_API int iort_scope_spawn_future(struct iort_scope *s, iort_poll_fn *poll, void *arg)
{
	struct iort_spawn opt = { .poll = child_poll };
	struct scope_child sc = { .u.poll = poll, .arg = arg };

	if (poll == NULL)
		return -EINVAL;
	return scope_start(s, &opt, &sc);
}

IORT_API void iort_scope_cancel(struct iort_scope *s)
{
	scope_cancel(s, WHY_CANCEL);
}

IORT_API struct iort_cancel *iort_scope_token(struct iort_scope *s)
{
	return &s->iort_private_token;
}

IORT_API uint64_t iort_scope_deadline(const struct iort_scope *s)
{
	return s->iort_private_deadline;
}

IORT_API int iort_scope_join(struct iort_scope *s)
{
	struct iort_task *upto = NULL, *head;

	/* Join the children newest first; children may spawn more meanwhile, so look at the
	 * head again until it stays where we started. The list stays intact (a canceller may be
	 * walking it) and the handles are released at the end. */
	/* MO scope.A2 (acquire): the children pushed so far; pairs with scope.R1. */
	while ((head = atomic_load_explicit(A_HEAD(s), memory_order_acquire)) != upto) {
		for (struct iort_task *t = head; t != upto; t = t->reg_next)
			if (iort__task_join_until(t, s->iort_private_deadline) == -ETIMEDOUT) {
				scope_cancel(s, WHY_DEADLINE);
				(void)iort__task_join_until(t, IORT_DEADLINE_NONE);
			}
		upto = head;
	}
	/* Close: no walk starts after this; wait for one in progress. */
	int why = WHY_NONE;
	/* MO relaxed: the reason itself carries no data. */
	if (!atomic_compare_exchange_strong_explicit(A_INT(s->iort_private_why), &why, WHY_CLOSED,
						     memory_order_relaxed, memory_order_relaxed))
		/* MO scope.A3 (acquire): the canceller's walk is over; pairs with scope.R2. */
		while (!atomic_load_explicit(A_INT(s->iort_private_walked), memory_order_acquire))
			iort_cpu_relax();
	/* A parent's cancel reaches the token without scope_cancel. */
	if (why == WHY_NONE && iort_cancel_requested(&s->iort_private_token))
		why = WHY_CANCEL;
	for (struct iort_task *t = upto; t != NULL;) {
		struct iort_task *next = t->reg_next;
		iort_task_release(t);
		t = next;
	}
	iort_cancel_fini(&s->iort_private_token);

	/* MO relaxed: the children's records happened before their COMPLETE, which join saw
	 * with acquire (pool.A7). */
	int first = atomic_load_explicit(A_INT(s->iort_private_first_err), memory_order_relaxed);
	/* MO relaxed: as above. */
	bool won = atomic_load_explicit(A_INT(s->iort_private_succeeded), memory_order_relaxed);

	if (s->iort_private_policy == IORT_SCOPE_FIRST_SUCCESS && won)
		return 0;
	if (s->iort_private_policy == IORT_SCOPE_FAIL_FAST && why == WHY_POLICY)
		return first;
	if (why == WHY_DEADLINE)
		return -ETIMEDOUT;
	if (why == WHY_CANCEL)
		return -ECANCELED;
	return first;
}
