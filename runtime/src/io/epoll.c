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
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <iort/reactor.h>

#include "poller-private.h"

_Static_assert(IORT_IO_READ == EPOLLIN && IORT_IO_WRITE == EPOLLOUT && IORT_IO_ERROR == EPOLLERR &&
		       IORT_IO_HUP == EPOLLHUP && IORT_IO_RDHUP == EPOLLRDHUP,
	       "IORT_IO_* are the EPOLL* values");

struct ep {
	unsigned max;
	bool no_pwait2;		 /* the kernel predates epoll_pwait2 (5.11): millisecond timeouts */
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

/* epoll_wait's milliseconds, rounded up: waking before the timer is due costs a turn for nothing. */
static int ms_of(uint64_t timeout_ns)
{
	if (timeout_ns >= (uint64_t)INT_MAX * 1000000u)
		return INT_MAX;
	return (int)((timeout_ns + 999999u) / 1000000u);
}

static int ep_wait(struct iort_poller *b, struct iort_poller_event *out, unsigned max,
		   uint64_t timeout_ns)
{
	struct ep *e = b->priv;
	int n;

	if (max > e->max)
		max = e->max;
	int ms = 0; /* timeout 0: the busy loop's poll */
	if (timeout_ns == UINT64_MAX)
		ms = -1;
	else if (timeout_ns != 0 && !e->no_pwait2) {
		/* A timed wait to the nanosecond (Linux 5.11): epoll_wait's milliseconds would make
		 * every timer up to a millisecond later than its tick. */
		struct timespec ts = { .tv_sec = (time_t)(timeout_ns / 1000000000u),
				       .tv_nsec = (long)(timeout_ns % 1000000000u) };
		n = epoll_pwait2(b->fd, e->ev, (int)max, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			goto out;
		e->no_pwait2 = true;
	}
	if (timeout_ns != 0 && timeout_ns != UINT64_MAX)
		ms = ms_of(timeout_ns);
	n = epoll_wait(b->fd, e->ev, (int)max, ms);
out:
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
