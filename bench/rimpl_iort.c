/*
 * Our loop (iort/reactor.h) behind bench/rimpl.h, on each backend:
 *
 *   iort_epoll   iort_loop_config.backend = IORT_BACKEND_EPOLL
 *   iort_uring   IORT_BACKEND_AUTO, and the cell skips with iort_loop_fallback_reason() when the
 *                probe fell back to epoll (rather than measure epoll twice under another name)
 *
 * - A loop is an iort_loop holding one reference (iort_loop_ref), so IORT_RUN_DEFAULT runs until
 *   iort_loop_stop() whatever is registered.
 * - The turn callback is a post deferred from its own callback (iort_loop_defer: the next turn).
 * - A descriptor is iort_io_start() with the workload's watch as its argument: no allocation.
 *   Readiness is edge-triggered; the workload reads until EAGAIN or a short read.
 * - A post is iort_loop_post() of a node (an iort_post and the message) embedded in the message
 *   (ri_msg.space), as a program embeds its iort_post in its own object.
 *
 * Built when the reactor is in the tree (runtime/src/io/reactor.c: IOB_HAVE_IORT_REACTOR);
 * otherwise the descriptors skip with a message.
 */
#include <errno.h>
#include <stddef.h>

#include "rimpl.h"

#define EPOLL_ABOUT "iort_loop on epoll (edge-triggered, posts coalesced)"
#define URING_ABOUT "iort_loop on io_uring (multishot polls; skips when the probe falls back)"

#ifdef IOB_HAVE_IORT_REACTOR

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iort/reactor.h>

struct riort {
	struct iort_loop *l;
	struct iort_post turn;
	ri_fn *turn_fn;
	void *turn_arg;
	bool turn_on;	  /* between turn_start and turn_stop */
	bool turn_queued; /* the turn post is deferred and has not run */
};

struct riort_node {
	struct iort_post p; /* first: the post is the node */
	struct ri_msg *m;
};

static char why_buf[256];

static void riort_turn(struct iort_post *p)
{
	struct riort *r = (struct riort *)((char *)p - offsetof(struct riort, turn));

	r->turn_queued = false;
	if (!r->turn_on)
		return;
	r->turn_queued = true;
	iort_loop_defer(r->l, &r->turn, riort_turn);
	r->turn_fn(r->turn_arg);
}

static int riort_create_with(enum iort_backend want, void **loop, const char **why)
{
	struct iort_loop_config cfg = { .backend = want };
	struct riort *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	rc = iort_loop_create(&cfg, &r->l);
	if (rc) {
		free(r);
		*why = "iort_loop_create failed";
		return rc;
	}
	if (want == IORT_BACKEND_AUTO && iort_loop_backend(r->l) != IORT_BACKEND_URING) {
		snprintf(why_buf, sizeof(why_buf), "io_uring did not run: %s",
			 *iort_loop_fallback_reason(r->l) ? iort_loop_fallback_reason(r->l)
							  : "(no reason given)");
		*why = why_buf;
		iort_loop_destroy(r->l);
		free(r);
		return -ENOSYS;
	}
	iort_loop_ref(r->l);
	*loop = r;
	return 0;
}

static int riort_create_epoll(const struct ri_config *cfg, void **loop, const char **why)
{
	(void)cfg;
	return riort_create_with(IORT_BACKEND_EPOLL, loop, why);
}

static int riort_create_uring(const struct ri_config *cfg, void **loop, const char **why)
{
	(void)cfg;
	return riort_create_with(IORT_BACKEND_AUTO, loop, why);
}

static void riort_destroy(void *loop)
{
	struct riort *r = loop;

	iort_loop_unref(r->l);
	iort_loop_destroy(r->l);
	free(r);
}

static const char *riort_backend(void *loop)
{
	return iort_backend_name(iort_loop_backend(((struct riort *)loop)->l));
}

static int riort_run(void *loop)
{
	int rc = iort_loop_run(((struct riort *)loop)->l, IORT_RUN_DEFAULT);

	return rc < 0 ? rc : 0;
}

static void riort_stop(void *loop)
{
	iort_loop_stop(((struct riort *)loop)->l);
}

static int riort_turn_start(void *loop, ri_fn *fn, void *arg)
{
	struct riort *r = loop;

	r->turn_fn = fn;
	r->turn_arg = arg;
	r->turn_on = true;
	if (!r->turn_queued) {
		r->turn_queued = true;
		iort_loop_defer(r->l, &r->turn, riort_turn);
	}
	return 0;
}

static void riort_turn_stop(void *loop)
{
	((struct riort *)loop)->turn_on = false; /* a queued turn post runs once, doing nothing */
}

static void riort_io_cb(struct iort_loop *l, int fd, uint32_t events, void *arg)
{
	struct ri_watch *w = arg;

	(void)l;
	w->fn(w, fd, events);
}

static int riort_io_start(void *loop, int fd, unsigned events, struct ri_watch *w)
{
	w->impl = NULL;
	return iort_io_start(((struct riort *)loop)->l, fd, events & (RI_READ | RI_WRITE),
			     riort_io_cb, w);
}

static void riort_io_stop(void *loop, int fd, struct ri_watch *w)
{
	(void)w;
	(void)iort_io_stop(((struct riort *)loop)->l, fd);
}

static void riort_msg_cb(struct iort_post *p)
{
	struct ri_msg *m = ((struct riort_node *)p)->m;

	m->fn(m);
}

_Static_assert(sizeof(struct riort_node) <= RI_MSG_SPACE, "the node fits in ri_msg.space");

static int riort_msg_init(void *loop, struct ri_msg *m)
{
	struct riort_node *n = (struct riort_node *)m->space;

	memset(n, 0, sizeof(*n));
	n->m = m;
	m->loop = loop;
	m->impl = n;
	m->next = NULL;
	return 0;
}

static void riort_msg_fini(struct ri_msg *m)
{
	m->impl = NULL;
}

static int riort_post(struct ri_msg *m)
{
	return iort_loop_post(((struct riort *)m->loop)->l, m->impl, riort_msg_cb);
}

#define OPS                                                                                       \
	.destroy = riort_destroy, .backend = riort_backend, .run = riort_run, .stop = riort_stop, \
	.turn_start = riort_turn_start, .turn_stop = riort_turn_stop, .io_start = riort_io_start, \
	.io_stop = riort_io_stop, .msg_init = riort_msg_init, .msg_fini = riort_msg_fini,         \
	.post = riort_post

const struct rimpl rimpl_iort_epoll = {
	.impl = { .name = "iort_epoll", .origin = BENCH_IORT, .about = EPOLL_ABOUT },
	.create = riort_create_epoll,
	OPS,
};

const struct rimpl rimpl_iort_uring = {
	.impl = { .name = "iort_uring", .origin = BENCH_IORT, .about = URING_ABOUT },
	.create = riort_create_uring,
	OPS,
};

#else

#define NOT_YET "the reactor (runtime/src/io/reactor.c) is not in the tree yet"

const struct rimpl rimpl_iort_epoll = {
	.impl = { .name = "iort_epoll",
		  .origin = BENCH_IORT,
		  .missing = NOT_YET,
		  .about = EPOLL_ABOUT },
};

const struct rimpl rimpl_iort_uring = {
	.impl = { .name = "iort_uring",
		  .origin = BENCH_IORT,
		  .missing = NOT_YET,
		  .about = URING_ABOUT },
};

#endif
