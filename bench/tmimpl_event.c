/*
 * libevent 2.1: timer events (event_assign with no descriptor, evtimer_add / evtimer_del) fired
 * by event_base_loop, in two forms:
 *
 * - libevent: each timer with its own timeval, in libevent's binary min-heap.
 * - libevent_common: libevent's common timeouts (event_base_init_common_timeout): timers that
 *   share one duration go to a FIFO list for that duration, in O(1), and one internal heap event
 *   per list fires them in order. The shape differs from the others: every timer of a run has
 *   the same delay (the longest delay of the workload), where the others get a spread of delays.
 *   That is the case common timeouts are made for, and the one the issue compares fire costs to.
 *
 * libevent caches the time only while its loop runs: an evtimer_add made outside a callback
 * reads the clock. Programs arm timers from callbacks, so inside() runs the workload's arming
 * from one (an activated event), where the time read by the loop turn is used.
 *
 * Built when meson found libevent (IOB_HAVE_LIBEVENT); otherwise the descriptors skip.
 */
#include <errno.h>
#include <stdlib.h>

#include "tmimpl.h"

#define EV_ABOUT "libevent's timer events (binary min-heap) in event_base_loop"
#define EV_COMMON_ABOUT                                                                        \
	"libevent's common timeouts (one FIFO per shared duration) in event_base_loop; every " \
	"timer has the same delay"
#define EV_MISSING "libevent not built: install libevent-dev and reconfigure"

#ifdef IOB_HAVE_LIBEVENT

#include <event2/event.h>
#include <event2/event_struct.h>

struct evt {
	struct tm_common c;
	struct event_base *base;
	struct event *ev;
	uint32_t n;
	const struct timeval *common; /* NULL: per-timer timevals */
	struct event inner;	      /* runs inside()'s body */
	tm_body_fn *fn;
	void *arg;
};

static void evt_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tm_fired(arg);
}

static void evt_inner_cb(evutil_socket_t fd, short what, void *arg)
{
	struct evt *e = arg;

	(void)fd;
	(void)what;
	e->fn(e->arg);
}

static void evt_destroy(struct tm_common *ctx)
{
	struct evt *e = (struct evt *)ctx;

	if (!e)
		return;
	if (e->ev)
		for (uint32_t i = 0; i < e->n; i++)
			(void)evtimer_del(&e->ev[i]);
	if (e->base) {
		(void)event_del(&e->inner);
		event_base_free(e->base);
	}
	free(e->ev);
	free(e);
}

static int evt_create_with(uint32_t n, uint64_t common_ns, bool common, struct tm_common **ctx,
			   const char **why)
{
	struct evt *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->base = event_base_new();
	e->ev = calloc(n, sizeof(*e->ev));
	if (!e->base || !e->ev) {
		*why = e->base ? NULL : "event_base_new failed";
		evt_destroy(&e->c);
		return -ENOMEM;
	}
	e->n = n;
	for (uint32_t i = 0; i < n; i++)
		(void)event_assign(&e->ev[i], e->base, -1, 0, evt_cb, e);
	(void)event_assign(&e->inner, e->base, -1, 0, evt_inner_cb, e);
	if (common) {
		struct timeval tv = { .tv_sec = (time_t)(common_ns / 1000000000u),
				      .tv_usec = (suseconds_t)(common_ns % 1000000000u / 1000u) };

		e->common = event_base_init_common_timeout(e->base, &tv);
		if (!e->common) {
			*why = "event_base_init_common_timeout failed";
			evt_destroy(&e->c);
			return -ENOMEM;
		}
	}
	*ctx = &e->c;
	return 0;
}

static int evt_create(uint32_t n, uint64_t common_ns, struct tm_common **ctx, const char **why)
{
	return evt_create_with(n, common_ns, false, ctx, why);
}

static int evt_create_common(uint32_t n, uint64_t common_ns, struct tm_common **ctx,
			     const char **why)
{
	return evt_create_with(n, common_ns, true, ctx, why);
}

static void evt_update_now(struct tm_common *ctx)
{
	(void)ctx; /* each loop turn reads the clock; outside one, each add does */
}

static void evt_inside(struct tm_common *ctx, tm_body_fn *fn, void *arg)
{
	struct evt *e = (struct evt *)ctx;

	e->fn = fn;
	e->arg = arg;
	event_active(&e->inner, EV_TIMEOUT, 1);
	(void)event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static int evt_arm(struct tm_common *ctx, uint32_t i, uint64_t delay_ns)
{
	struct evt *e = (struct evt *)ctx;
	struct timeval tv = { .tv_sec = (time_t)(delay_ns / 1000000000u),
			      .tv_usec = (suseconds_t)(delay_ns % 1000000000u / 1000u) };

	return evtimer_add(&e->ev[i], e->common ? e->common : &tv) ? -EINVAL : 0;
}

static void evt_cancel(struct tm_common *ctx, uint32_t i)
{
	(void)evtimer_del(&((struct evt *)ctx)->ev[i]);
}

static int evt_run(struct tm_common *ctx, bool block)
{
	int rc = event_base_loop(((struct evt *)ctx)->base, block ? EVLOOP_ONCE : EVLOOP_NONBLOCK);

	return rc < 0 ? -EIO : 0;
}

const struct tmimpl tmimpl_event = {
	.impl = { .name = "libevent",
		  .origin = BENCH_BASELINE,
		  .package = "libevent-dev",
		  .about = EV_ABOUT },
	.create = evt_create,
	.destroy = evt_destroy,
	.update_now = evt_update_now,
	.inside = evt_inside,
	.arm = evt_arm,
	.cancel = evt_cancel,
	.run = evt_run,
};

const struct tmimpl tmimpl_event_common = {
	.impl = { .name = "libevent_common",
		  .origin = BENCH_BASELINE,
		  .package = "libevent-dev",
		  .about = EV_COMMON_ABOUT },
	.create = evt_create_common,
	.destroy = evt_destroy,
	.update_now = evt_update_now,
	.inside = evt_inside,
	.arm = evt_arm,
	.cancel = evt_cancel,
	.run = evt_run,
};

#else

const struct tmimpl tmimpl_event = {
	.impl = { .name = "libevent",
		  .origin = BENCH_BASELINE,
		  .package = "libevent-dev",
		  .missing = EV_MISSING,
		  .about = EV_ABOUT },
};

const struct tmimpl tmimpl_event_common = {
	.impl = { .name = "libevent_common",
		  .origin = BENCH_BASELINE,
		  .package = "libevent-dev",
		  .missing = EV_MISSING,
		  .about = EV_COMMON_ABOUT },
};

#endif
