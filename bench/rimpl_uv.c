/*
 * libuv (1.44) behind bench/rimpl.h, each operation the way a libuv program does it:
 *
 * - A loop is a uv_loop_t with a uv_async_t started at create: cross-thread posts append to a
 *   mutex-protected list and call uv_async_send() (libuv coalesces: one eventfd write until the
 *   loop has run the async callback), and the callback takes the list and runs it. That is the
 *   hand-off libuv offers for work from other threads (uv_async_send carries no payload). The
 *   async handle also keeps uv_run(UV_RUN_DEFAULT) running until uv_stop(), and registers the
 *   loop's eventfd: every turn polls it (one epoll_wait per turn, as in any libuv program that
 *   takes work from other threads).
 * - A turn callback is a uv_idle_t (libuv's loop_count benchmark).
 * - A descriptor is a uv_poll_t (libuv's readiness API for descriptors it does not own),
 *   allocated at io_start and freed by its close callback. uv_poll_init() checks the descriptor
 *   with an epoll_ctl add and delete of its own, and libuv adds the real registration at the next
 *   poll; uv_close() deletes it. Readiness is level-triggered.
 *
 * Built when meson found libuv (IOB_HAVE_LIBUV); otherwise the descriptor skips with a message.
 */
#include <errno.h>
#include <stddef.h>

#include "rimpl.h"

#define UV_ABOUT "libuv 1.44: uv_poll_t, uv_idle_t, uv_async_t + a locked list for posts"

#ifdef IOB_HAVE_LIBUV

#include <pthread.h>
#include <stdlib.h>

#include <uv.h>

struct ruv {
	uv_loop_t loop;
	uv_async_t async;
	uv_idle_t idle;
	ri_fn *turn_fn;
	void *turn_arg;
	pthread_mutex_t mu;
	struct ri_msg *head, *tail; /* under mu: posted, not yet run */
};

static void ruv_async(uv_async_t *a)
{
	struct ruv *r = a->data;
	struct ri_msg *m, *next;

	pthread_mutex_lock(&r->mu);
	m = r->head;
	r->head = r->tail = NULL;
	pthread_mutex_unlock(&r->mu);
	for (; m; m = next) {
		next = m->next; /* before fn: it may post m again */
		m->fn(m);
	}
}

static void ruv_idle(uv_idle_t *h)
{
	struct ruv *r = h->data;

	r->turn_fn(r->turn_arg);
}

static int ruv_create(const struct ri_config *cfg, void **loop, const char **why)
{
	struct ruv *r = calloc(1, sizeof(*r));
	int rc;

	(void)cfg;
	if (!r)
		return -ENOMEM;
	rc = uv_loop_init(&r->loop);
	if (rc) {
		free(r);
		*why = "uv_loop_init failed";
		return rc;
	}
	pthread_mutex_init(&r->mu, NULL);
	r->async.data = r;
	r->idle.data = r;
	(void)uv_idle_init(&r->loop, &r->idle); /* cannot fail */
	rc = uv_async_init(&r->loop, &r->async, ruv_async);
	if (rc) {
		*why = "uv_async_init failed";
		uv_close((uv_handle_t *)&r->idle, NULL);
		uv_run(&r->loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(&r->loop);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return rc;
	}
	*loop = r;
	return 0;
}

static void ruv_destroy(void *loop)
{
	struct ruv *r = loop;

	uv_close((uv_handle_t *)&r->async, NULL);
	uv_close((uv_handle_t *)&r->idle, NULL);
	uv_run(&r->loop, UV_RUN_DEFAULT); /* the close callbacks; then nothing is alive */
	(void)uv_loop_close(&r->loop);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static const char *ruv_backend(void *loop)
{
	(void)loop;
	return "epoll"; /* libuv 1.44 on Linux has no other */
}

static int ruv_run(void *loop)
{
	struct ruv *r = loop;

	(void)uv_run(&r->loop, UV_RUN_DEFAULT);
	return 0;
}

static void ruv_stop(void *loop)
{
	uv_stop(&((struct ruv *)loop)->loop);
}

static int ruv_turn_start(void *loop, ri_fn *fn, void *arg)
{
	struct ruv *r = loop;

	r->turn_fn = fn;
	r->turn_arg = arg;
	return uv_idle_start(&r->idle, ruv_idle);
}

static void ruv_turn_stop(void *loop)
{
	(void)uv_idle_stop(&((struct ruv *)loop)->idle);
}

static void ruv_poll_cb(uv_poll_t *h, int status, int events)
{
	struct ri_watch *w = h->data;
	unsigned ev = 0;

	if (status < 0)
		ev |= RI_ERROR;
	if (events & UV_READABLE)
		ev |= RI_READ;
	if (events & UV_WRITABLE)
		ev |= RI_WRITE;
	if (events & UV_DISCONNECT)
		ev |= RI_HUP;
	w->fn(w, h->io_watcher.fd, ev);
}

static void ruv_free_handle(uv_handle_t *h)
{
	free(h);
}

static int ruv_io_start(void *loop, int fd, unsigned events, struct ri_watch *w)
{
	struct ruv *r = loop;
	uv_poll_t *h = malloc(sizeof(*h));
	int uev = ((events & RI_READ) ? UV_READABLE : 0) | ((events & RI_WRITE) ? UV_WRITABLE : 0);
	int rc;

	if (!h)
		return -ENOMEM;
	rc = uv_poll_init(&r->loop, h, fd);
	if (rc) {
		free(h);
		return rc;
	}
	h->data = w;
	w->impl = h;
	rc = uv_poll_start(h, uev, ruv_poll_cb);
	if (rc) {
		uv_close((uv_handle_t *)h, ruv_free_handle);
		w->impl = NULL;
	}
	return rc;
}

static void ruv_io_stop(void *loop, int fd, struct ri_watch *w)
{
	(void)loop;
	(void)fd;
	/* uv_close stops the poll (the epoll registration goes now); the handle's memory must live
	 * until its close callback, a turn later. */
	uv_close((uv_handle_t *)w->impl, ruv_free_handle);
	w->impl = NULL;
}

static int ruv_msg_init(void *loop, struct ri_msg *m)
{
	m->loop = loop;
	m->impl = NULL;
	m->next = NULL;
	return 0;
}

static void ruv_msg_fini(struct ri_msg *m)
{
	(void)m;
}

static int ruv_post(struct ri_msg *m)
{
	struct ruv *r = m->loop;

	m->next = NULL;
	pthread_mutex_lock(&r->mu);
	if (r->tail)
		r->tail->next = m;
	else
		r->head = m;
	r->tail = m;
	pthread_mutex_unlock(&r->mu);
	return uv_async_send(&r->async);
}

const struct rimpl rimpl_uv = {
	.impl = { .name = "libuv",
		  .origin = BENCH_BASELINE,
		  .package = "libuv1-dev",
		  .about = UV_ABOUT },
	.create = ruv_create,
	.destroy = ruv_destroy,
	.backend = ruv_backend,
	.run = ruv_run,
	.stop = ruv_stop,
	.turn_start = ruv_turn_start,
	.turn_stop = ruv_turn_stop,
	.io_start = ruv_io_start,
	.io_stop = ruv_io_stop,
	.msg_init = ruv_msg_init,
	.msg_fini = ruv_msg_fini,
	.post = ruv_post,
};

#else

const struct rimpl rimpl_uv = {
	.impl = { .name = "libuv",
		  .origin = BENCH_BASELINE,
		  .package = "libuv1-dev",
		  .missing = "libuv not built: install libuv1-dev and reconfigure",
		  .about = UV_ABOUT },
};

#endif
