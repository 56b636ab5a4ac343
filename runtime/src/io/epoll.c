/*
 * The epoll backend (poller-private.h): one epoll set, every descriptor added once with
 * EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET for its lifetime, so a turn makes one syscall
 * (epoll_wait) however many descriptors change, and changing interest costs none.
 *
 * EPOLLET reports a transition: a descriptor that stays readable is not reported again until a
 * read drains it (EAGAIN) and new data arrives. The loop caches what was reported (I1 in
 * reactor.c), so nothing is lost by not being told twice.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <iort/reactor.h>

#include "poller-private.h"

_Static_assert(IORT_IO_READ == EPOLLIN && IORT_IO_WRITE == EPOLLOUT && IORT_IO_ERROR == EPOLLERR &&
		       IORT_IO_HUP == EPOLLHUP && IORT_IO_RDHUP == EPOLLRDHUP,
	       "IORT_IO_* are the EPOLL* values");

struct ep {
	unsigned max;
	struct epoll_event ev[]; /* max */
};

static void ep_fini(struct iort_poller *b)
{
	close(b->fd);
	free(b->priv);
	b->priv = NULL;
	b->fd = -1;
}

static int ep_add(struct iort_poller *b, int fd, uint64_t token)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				 .data.u64 = token };

	return epoll_ctl(b->fd, EPOLL_CTL_ADD, fd, &e) == 0 ? 0 : -errno;
}

static int ep_del(struct iort_poller *b, int fd, uint64_t token)
{
	(void)token;
	/* A non-NULL event: kernels before 2.6.9 required one, and it costs nothing. */
	struct epoll_event e = { 0 };

	return epoll_ctl(b->fd, EPOLL_CTL_DEL, fd, &e) == 0 ? 0 : -errno;
}

static int ep_wait(struct iort_poller *b, struct iort_poller_event *out, unsigned max,
		   uint64_t timeout_ns)
{
	struct ep *e = b->priv;
	int ms;

	if (max > e->max)
		max = e->max;
	if (timeout_ns == 0)
		ms = 0;
	else if (timeout_ns == UINT64_MAX)
		ms = -1;
	else if (timeout_ns >= (uint64_t)INT_MAX * 1000000u)
		ms = INT_MAX;
	else /* round up: waking before the timer is due would cost a turn for nothing */
		ms = (int)((timeout_ns + 999999u) / 1000000u);
	int n = epoll_wait(b->fd, e->ev, (int)max, ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		out[i].token = e->ev[i].data.u64;
		out[i].events = e->ev[i].events;
	}
	return n;
}

static const struct iort_poller_ops ep_ops = {
	.name = "epoll",
	.fini = ep_fini,
	.add = ep_add,
	.del = ep_del,
	.wait = ep_wait,
};

int iort__poller_epoll_init(struct iort_poller *b, unsigned batch)
{
	struct ep *e = malloc(sizeof(*e) + (size_t)batch * sizeof(e->ev[0]));

	if (e == NULL)
		return -ENOMEM;
	e->max = batch;
	int fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0) {
		int err = -errno;
		free(e);
		return err;
	}
	b->ops = &ep_ops;
	b->priv = e;
	b->fd = fd;
	return 0;
}
