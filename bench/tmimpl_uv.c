/*
 * libuv: uv_timer_t handles (uv_timer_init once each, uv_timer_start / uv_timer_stop), fired by
 * uv_run, as libuv's own benchmark-million-timers drives them. libuv keeps its timers in a
 * binary min-heap of intrusive nodes; its time is a millisecond count cached per loop turn
 * (uv_update_time), so delays are whole milliseconds (rounded up here) and a deadline is the
 * cached time plus the delay: it may fire up to a millisecond before cached-time-in-ns + delay.
 *
 * Built when meson found libuv (IOB_HAVE_LIBUV); otherwise the descriptor skips with a message.
 */
#include <errno.h>
#include <stdlib.h>

#include "tmimpl.h"

#define UV_ABOUT "libuv's timers (binary heap) in uv_run"

#ifdef IOB_HAVE_LIBUV

#include <uv.h>

struct uvt {
	struct tm_common c;
	uv_loop_t loop;
	uint32_t n;
	uv_timer_t *t;
};

static void uvt_cb(uv_timer_t *h)
{
	tm_fired(h->data);
}

static void uvt_destroy(struct tm_common *ctx)
{
	struct uvt *u = (struct uvt *)ctx;

	if (!u)
		return;
	if (u->t) {
		for (uint32_t i = 0; i < u->n; i++)
			uv_close((uv_handle_t *)&u->t[i], NULL);
		uv_run(&u->loop, UV_RUN_DEFAULT); /* runs the closes */
	}
	(void)uv_loop_close(&u->loop);
	free(u->t);
	free(u);
}

static int uvt_create(uint32_t n, uint64_t common_ns, struct tm_common **ctx, const char **why)
{
	struct uvt *u = calloc(1, sizeof(*u));

	(void)common_ns;
	if (!u)
		return -ENOMEM;
	if (uv_loop_init(&u->loop)) {
		free(u);
		*why = "uv_loop_init failed";
		return -EIO;
	}
	u->t = calloc(n, sizeof(*u->t));
	if (!u->t) {
		uvt_destroy(&u->c);
		return -ENOMEM;
	}
	u->n = n;
	for (uint32_t i = 0; i < n; i++) {
		uv_timer_init(&u->loop, &u->t[i]);
		u->t[i].data = u;
	}
	*ctx = &u->c;
	return 0;
}

static void uvt_update_now(struct tm_common *ctx)
{
	uv_update_time(&((struct uvt *)ctx)->loop);
}

static int uvt_arm(struct tm_common *ctx, uint32_t i, uint64_t delay_ns)
{
	struct uvt *u = (struct uvt *)ctx;

	return uv_timer_start(&u->t[i], uvt_cb, (delay_ns + 999999) / 1000000, 0) ? -EINVAL : 0;
}

static void uvt_cancel(struct tm_common *ctx, uint32_t i)
{
	(void)uv_timer_stop(&((struct uvt *)ctx)->t[i]);
}

static int uvt_run(struct tm_common *ctx, bool block)
{
	(void)uv_run(&((struct uvt *)ctx)->loop, block ? UV_RUN_ONCE : UV_RUN_NOWAIT);
	return 0;
}

const struct tmimpl tmimpl_uv = {
	.impl = { .name = "libuv",
		  .origin = BENCH_BASELINE,
		  .package = "libuv1-dev",
		  .about = UV_ABOUT },
	.create = uvt_create,
	.destroy = uvt_destroy,
	.update_now = uvt_update_now,
	.arm = uvt_arm,
	.cancel = uvt_cancel,
	.run = uvt_run,
};

#else

const struct tmimpl tmimpl_uv = {
	.impl = { .name = "libuv",
		  .origin = BENCH_BASELINE,
		  .package = "libuv1-dev",
		  .missing = "libuv not built: install libuv1-dev and reconfigure",
		  .about = UV_ABOUT },
};

#endif
