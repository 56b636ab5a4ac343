/*
 * The event loop's backends (reactor.c drives them; epoll.c and uring.c implement them).
 *
 * A backend reports readiness of registered descriptors, edge-triggered: a descriptor is added
 * once for its lifetime with interest in read, write and read-hang-up together, and an event is
 * delivered each time new readiness arrives (not while it merely persists). Each registration
 * carries an opaque 64-bit token chosen by the loop (it encodes the descriptor's slot and a
 * generation, so an event for a registration already deleted is recognized and dropped).
 *
 * Synchronization: one thread (the loop's) calls everything. Other threads only write the loop's
 * eventfd, which the loop registers like any descriptor.
 */
#ifndef IORT_POLLER_PRIVATE_H
#define IORT_POLLER_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

struct iort_poller_event {
	uint64_t token;
	uint32_t events; /* IORT_IO_* bits (the EPOLL* values) */
};

struct iort_poller;

struct iort_poller_ops {
	const char *name;
	void (*fini)(struct iort_poller *b);
	/* Register @fd for IORT_IO_READ | IORT_IO_WRITE | IORT_IO_RDHUP, edge-triggered. Readiness
	 * already present is reported by a later wait. @return 0 or -errno (-EEXIST: epoll, @fd is
	 * registered; io_uring, @token is (never add one descriptor under two tokens); -EBADF,
	 * -EPERM: epoll, a file that cannot be polled; -ENOMEM). io_uring arms the poll at the next
	 * wait: a descriptor closed before that is reported once as IORT_IO_ERROR for @token. */
	int (*add)(struct iort_poller *b, int fd, uint64_t token);
	/* Forget @fd's registration (made with @token): no later wait reports @token (events an
	 * earlier wait returned may still be in the caller's hands). io_uring removes the poll at
	 * the next wait, and until then the kernel keeps @fd's file open: a close() after del is
	 * seen by the peer only then. @return 0 or -errno (-ENOENT; epoll: -EBADF for a closed
	 * @fd, whose registration the kernel dropped with its last reference). */
	int (*del)(struct iort_poller *b, int fd, uint64_t token);
	/* Wait up to @timeout_ns (0: do not block; UINT64_MAX: no limit) for events; flush anything
	 * the backend batched (io_uring submissions) first. @return events written to @out (at most
	 * @max; 0 on timeout or -EINTR), or -errno. io_uring makes no syscall when it need not
	 * block, has nothing to submit and finds completions waiting (or none, with no kernel work
	 * pending); it leaves completions beyond @max in its ring for the next wait. */
	int (*wait)(struct iort_poller *b, struct iort_poller_event *out, unsigned max,
		    uint64_t timeout_ns);
};

struct iort_poller {
	const struct iort_poller_ops *ops;
	void *priv; /* the backend's own state */
	int fd;	    /* epoll or ring descriptor (for diagnostics) */
};

/* @batch: the most events the loop takes per wait. @return 0 or -errno. */
int iort__poller_epoll_init(struct iort_poller *b, unsigned batch);
/* @return 0, or -ENOSYS with a one-line reason in @why (io_uring missing, refused by seccomp,
 * liburing not built in, a needed opcode unsupported, multishot poll unsupported, IORT_URING=0 in
 * the environment), or another -errno (-ENOMEM, -EMFILE). @why may be NULL. */
int iort__poller_uring_init(struct iort_poller *b, unsigned batch, char *why, size_t whylen);

#endif /* IORT_POLLER_PRIVATE_H */
