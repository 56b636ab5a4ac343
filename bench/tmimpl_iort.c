/*
 * libiort's timers, measured through its event loop (reactor.h) as libuv's are through uv_run:
 * iort_loop_timer_arm() relative to iort_loop_update_now(), fired by iort_loop_run().
 *
 * - iort_epoll: the hierarchical wheel (1 ms tick) in a loop on epoll.
 * - iort_heap: the 4-ary heap (IORT_TIMERS_HEAP) in a loop on epoll.
 * - iort_uring: the wheel in a loop on io_uring; where io_uring is unavailable (the kernel, a
 *   seccomp policy, libiort built without liburing) its benchmarks skip with the loop's reason.
 *
 * The timer structures alone, without the loop, are measured by the gate's tier 1
 * (bench/bench_gate.c: gate/timer_arm_fire, gate/timer_arm_cancel).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <iort/reactor.h>
#include <iort/timer.h>

#include "tmimpl.h"

struct it {
	struct tm_common c;
	struct iort_loop *loop;
	uint64_t now;
	uint32_t n;
	struct iort_timer *t;
	char why[160];
};

static void it_cb(struct iort_timer *t, void *arg)
{
	(void)t;
	tm_fired(arg);
}

static void it_destroy(struct tm_common *ctx)
{
	struct it *x = (struct it *)ctx;

	if (!x)
		return;
	iort_loop_destroy(x->loop); /* armed timers are dropped with it */
	free(x->t);
	free(x);
}

static int it_create(enum iort_backend backend, enum iort_timers_kind kind, uint32_t n,
		     struct tm_common **ctx, const char **why)
{
	struct iort_loop_config cfg = { .backend = backend, .timers = kind };
	struct it *x = calloc(1, sizeof(*x));
	int rc;

	if (!x)
		return -ENOMEM;
	rc = iort_loop_create(&cfg, &x->loop);
	if (rc) {
		if (rc == -ENOSYS) {
			/* The reason the probe gave, when a loop with AUTO tells it. */
			struct iort_loop_config acfg = { .backend = IORT_BACKEND_AUTO };
			struct iort_loop *a = NULL;

			snprintf(x->why, sizeof(x->why), "unsupported: io_uring unavailable");
			if (iort_loop_create(&acfg, &a) == 0) {
				if (*iort_loop_fallback_reason(a))
					snprintf(x->why, sizeof(x->why),
						 "unsupported: io_uring unavailable: %s",
						 iort_loop_fallback_reason(a));
				iort_loop_destroy(a);
			}
			/* The message must outlive the context: keep one copy per process. */
			static char msg[160];
			snprintf(msg, sizeof(msg), "%s", x->why);
			*why = msg;
		}
		free(x);
		return rc;
	}
	x->t = calloc(n, sizeof(*x->t));
	if (!x->t) {
		it_destroy(&x->c);
		return -ENOMEM;
	}
	x->n = n;
	for (uint32_t i = 0; i < n; i++)
		iort_timer_init(&x->t[i], it_cb, x);
	*ctx = &x->c;
	return 0;
}

static int it_create_epoll(uint32_t n, uint64_t common_ns, struct tm_common **ctx, const char **why)
{
	(void)common_ns;
	return it_create(IORT_BACKEND_EPOLL, IORT_TIMERS_WHEEL, n, ctx, why);
}

static int it_create_heap(uint32_t n, uint64_t common_ns, struct tm_common **ctx, const char **why)
{
	(void)common_ns;
	return it_create(IORT_BACKEND_EPOLL, IORT_TIMERS_HEAP, n, ctx, why);
}

static int it_create_uring(uint32_t n, uint64_t common_ns, struct tm_common **ctx, const char **why)
{
	(void)common_ns;
	return it_create(IORT_BACKEND_URING, IORT_TIMERS_WHEEL, n, ctx, why);
}

static void it_update_now(struct tm_common *ctx)
{
	struct it *x = (struct it *)ctx;

	x->now = iort_loop_update_now(x->loop);
}

static int it_arm(struct tm_common *ctx, uint32_t i, uint64_t delay_ns)
{
	struct it *x = (struct it *)ctx;

	return iort_loop_timer_arm(x->loop, &x->t[i], x->now + delay_ns);
}

static void it_cancel(struct tm_common *ctx, uint32_t i)
{
	struct it *x = (struct it *)ctx;

	(void)iort_loop_timer_cancel(x->loop, &x->t[i]);
}

static int it_run(struct tm_common *ctx, bool block)
{
	int rc = iort_loop_run(((struct it *)ctx)->loop, block ? IORT_RUN_ONCE : IORT_RUN_NOWAIT);

	return rc < 0 ? rc : 0;
}

#define IT_OPS                                                                                  \
	.destroy = it_destroy, .update_now = it_update_now, .arm = it_arm, .cancel = it_cancel, \
	.run = it_run

const struct tmimpl tmimpl_iort_epoll = {
	.impl = { .name = "iort_epoll",
		  .origin = BENCH_IORT,
		  .about = "libiort's timer wheel (1 ms tick) in its event loop on epoll" },
	.create = it_create_epoll,
	IT_OPS,
};

const struct tmimpl tmimpl_iort_heap = {
	.impl = { .name = "iort_heap",
		  .origin = BENCH_IORT,
		  .about = "libiort's 4-ary timer heap in its event loop on epoll" },
	.create = it_create_heap,
	IT_OPS,
};

const struct tmimpl tmimpl_iort_uring = {
	.impl = { .name = "iort_uring",
		  .origin = BENCH_IORT,
		  .about = "libiort's timer wheel (1 ms tick) in its event loop on io_uring" },
	.create = it_create_uring,
	IT_OPS,
};
