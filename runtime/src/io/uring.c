/*
 * The io_uring backend (poller-private.h): readiness through multishot poll requests, one per
 * registered descriptor, whose completions carry the loop's token as user_data.
 *
 * A registration is one IORING_OP_POLL_ADD with IORING_POLL_ADD_MULTI for POLLIN | POLLOUT |
 * POLLRDHUP (the kernel adds POLLERR | POLLHUP). Without IORING_POLL_ADD_LEVEL the kernel arms it
 * edge-triggered, as EPOLLET: the arming reports readiness already present, then each wake-up of
 * the file posts one CQE with the mask at that moment, and readiness that merely persists posts
 * nothing. So both backends deliver the same events.
 *
 * Submissions (arm, re-arm, remove) are only written to the SQ ring; wait flushes them in the same
 * io_uring_enter that waits. A turn costs one syscall, and none when wait need not block, has
 * nothing to submit and finds completions already in the CQ ring (or nothing at all, and the
 * kernel has no task work or overflow to flush: IORING_SQ_TASKRUN, IORING_SQ_CQ_OVERFLOW).
 *
 * Invariants:
 *  I1 Every token the loop added and has not deleted is in the table: ARMED (a poll request is
 *     live, or its SQE is written and not yet submitted), ARM_LATER (listed in pend: the next
 *     wait arms it) or DEAD (its poll failed; the failure was reported as IORT_IO_ERROR).
 *  I2 A deleted token whose poll request may still post completions stays in the table as
 *     DELETED (REMOVE_LATER, listed in pend, before its poll-remove SQE is written) until a
 *     completion without IORING_CQE_F_MORE arrives for it: the poll's -ECANCELED, or the remove's
 *     own failure, which carries the same user_data. Completions for a DELETED token or for a
 *     token not in the table are dropped, so wait never reports a token after its del, nor a
 *     cancellation as readiness.
 *  I3 A multishot request ends on its own (CQE without IORING_CQE_F_MORE, res >= 0) when the
 *     kernel cannot post its CQE: the CQ ring is full, and the final CQE waits in the overflow
 *     list (IORING_FEAT_NODROP). Its mask is not reported; the token goes to ARM_LATER and the
 *     new request reports the readiness present when it is armed, which covers what the final
 *     CQE said (readiness gone since then needs no report). So nothing is lost and nothing is
 *     reported twice. Re-arms are throttled to the room left in the CQ ring: arming a ready
 *     descriptor posts a CQE at once, and into a full ring it would only end again.
 *  I4 A CQE is consumed only once handled, and at most @max events are reported per wait: the
 *     rest stay in the CQ ring for the next wait.
 *  I5 A poll request belongs to the thread that submitted it (the one that ran wait): when that
 *     thread exits, the kernel cancels it (-ECANCELED for a live token). The token is re-armed
 *     from the thread that finds the completion, as in I3, so a loop may change threads.
 *
 * The descriptor stays open in the kernel (the poll request holds its file) until the removal is
 * submitted, i.e. until the loop's next wait: a close() after del is seen by a peer only then.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iort/reactor.h>

#include "poller-private.h"

_Static_assert(IORT_IO_READ == POLLIN && IORT_IO_WRITE == POLLOUT && IORT_IO_ERROR == POLLERR &&
		       IORT_IO_HUP == POLLHUP && IORT_IO_RDHUP == POLLRDHUP,
	       "IORT_IO_* are the POLL* values, which io_uring reports");

__attribute__((format(printf, 3, 4))) static void say(char *why, size_t whylen, const char *fmt,
						      ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

#ifndef IORT_HAVE_URING

int iort__poller_uring_init(struct iort_poller *b, unsigned batch, char *why, size_t whylen)
{
	(void)b;
	(void)batch;
	say(why, whylen, "built without liburing");
	return -ENOSYS;
}

#else /* IORT_HAVE_URING */

#include <liburing.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define INTEREST (POLLIN | POLLOUT | POLLRDHUP)
#define REPORTED (IORT_IO_READ | IORT_IO_WRITE | IORT_IO_ERROR | IORT_IO_HUP | IORT_IO_RDHUP)

enum state { EMPTY = 0, ARMED, ARM_LATER, DEAD, DELETED, REMOVE_LATER };

struct reg {
	uint64_t token;
	int fd;
	int state; /* enum state */
};

struct ur {
	struct io_uring ring;
	unsigned max;	       /* events per wait */
	unsigned remove_flags; /* IOSQE_CQE_SKIP_SUCCESS where the kernel has it */
	bool taskrun_flag;     /* IORING_SETUP_TASKRUN_FLAG: the kernel says when to enter */
	unsigned bits;	       /* log2(cap) */
	size_t cap, used;      /* table slots, slots not EMPTY */
	struct reg *tab;       /* open addressing, linear probing (I1, I2) */
	/* Tokens whose SQE waits (ARM_LATER, REMOVE_LATER); entries deleted meanwhile are skipped. */
	uint64_t *pend;
	size_t npend, pend_cap;
};

/* ---- the token table ---- */

static size_t home(const struct ur *u, uint64_t token)
{
	return (size_t)((token * 0x9e3779b97f4a7c15u) >> (64 - u->bits));
}

static struct reg *find(struct ur *u, uint64_t token)
{
	size_t mask = u->cap - 1;

	for (size_t i = home(u, token);; i = (i + 1) & mask) {
		struct reg *r = &u->tab[i];
		if (r->state == EMPTY)
			return NULL;
		if (r->token == token)
			return r;
	}
}

static struct reg *place(struct ur *u, uint64_t token)
{
	size_t mask = u->cap - 1, i = home(u, token);

	while (u->tab[i].state != EMPTY)
		i = (i + 1) & mask;
	u->used++;
	return &u->tab[i];
}

static int grow(struct ur *u)
{
	struct reg *old = u->tab;
	size_t ocap = u->cap;
	struct reg *tab = calloc(ocap * 2, sizeof(*tab));

	if (tab == NULL)
		return -ENOMEM;
	u->tab = tab;
	u->cap = ocap * 2;
	u->bits++;
	u->used = 0;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].state != EMPTY)
			*place(u, old[i].token) = old[i];
	free(old);
	return 0;
}

/* Backward-shift deletion: no tombstones, so find() stops at the first EMPTY slot. */
static void erase(struct ur *u, struct reg *r)
{
	size_t mask = u->cap - 1, hole = (size_t)(r - u->tab);

	for (size_t i = (hole + 1) & mask; u->tab[i].state != EMPTY; i = (i + 1) & mask) {
		size_t h = home(u, u->tab[i].token);
		/* Entry i may fill the hole when its home is not in (hole, i], cyclically. */
		if (((i - h) & mask) >= ((i - hole) & mask)) {
			u->tab[hole] = u->tab[i];
			hole = i;
		}
	}
	u->tab[hole].state = EMPTY;
	u->used--;
}

/* ---- submissions ---- */

static int later(struct ur *u, struct reg *r, int state)
{
	if (u->npend == u->pend_cap) {
		size_t ncap = u->pend_cap ? u->pend_cap * 2 : 64;
		uint64_t *p = realloc(u->pend, ncap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		u->pend = p;
		u->pend_cap = ncap;
	}
	u->pend[u->npend++] = r->token;
	r->state = state;
	return 0;
}

/* An SQE, flushing the SQ ring when it is full; NULL when even that frees none. */
static struct io_uring_sqe *sqe_get(struct ur *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (sqe == NULL) {
		(void)io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void prep_arm(struct ur *u, struct io_uring_sqe *sqe, struct reg *r)
{
	(void)u;
	io_uring_prep_poll_multishot(sqe, r->fd, INTEREST);
	io_uring_sqe_set_data64(sqe, r->token);
	r->state = ARMED;
}

static void prep_remove(struct ur *u, struct io_uring_sqe *sqe, struct reg *r)
{
	io_uring_prep_poll_remove(sqe, r->token);
	/* The poll's user_data: a failed remove ends the entry like the poll's final CQE (I2); a
	 * successful one posts nothing where the kernel can skip it. */
	io_uring_sqe_set_data64(sqe, r->token);
	io_uring_sqe_set_flags(sqe, u->remove_flags);
	r->state = DELETED;
}

/* Write the SQEs that found no room earlier (I1, I2); arms only while the CQ ring has room and
 * the kernel holds no overflowed CQEs (I3): while it does, it posts no multishot CQE, so an armed
 * ready descriptor would only end again, into the overflow list. */
static void catch_up(struct ur *u)
{
	unsigned room = *u->ring.cq.kring_entries - io_uring_cq_ready(&u->ring);

	if (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW)
		room = 0;
	size_t keep = 0;

	for (size_t i = 0; i < u->npend; i++) {
		struct reg *r = find(u, u->pend[i]);
		if (r == NULL || (r->state != ARM_LATER && r->state != REMOVE_LATER))
			continue; /* deleted meanwhile */
		struct io_uring_sqe *sqe = NULL;
		if (r->state == REMOVE_LATER || room > 0)
			sqe = sqe_get(u);
		if (sqe == NULL) {
			u->pend[keep++] = u->pend[i];
		} else if (r->state == ARM_LATER) {
			prep_arm(u, sqe, r);
			room--;
		} else {
			prep_remove(u, sqe, r);
		}
	}
	u->npend = keep;
}

/* ---- ops ---- */

static void ur_fini(struct iort_poller *b)
{
	struct ur *u = b->priv;

	/* Closing the ring cancels every request and releases the files they hold. */
	io_uring_queue_exit(&u->ring);
	free(u->pend);
	free(u->tab);
	free(u);
	b->priv = NULL;
	b->fd = -1;
}

static int ur_add(struct iort_poller *b, int fd, uint64_t token)
{
	struct ur *u = b->priv;

	/* The kernel checks the descriptor only when the SQE is submitted (the next wait), and
	 * callers are promised -EBADF at once: one fcntl, cheaper than the epoll_ctl it replaces. A
	 * descriptor closed between here and the submission is reported then (DEAD, I1). */
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (find(u, token) != NULL)
		return -EEXIST;
	if ((u->used + 1) * 2 > u->cap && grow(u) != 0)
		return -ENOMEM;
	struct reg *r = place(u, token);
	r->token = token;
	r->fd = fd;
	struct io_uring_sqe *sqe = sqe_get(u);
	if (sqe != NULL) {
		prep_arm(u, sqe, r);
	} else if (later(u, r, ARM_LATER) != 0) {
		erase(u, r);
		return -ENOMEM;
	}
	return 0;
}

static int ur_del(struct iort_poller *b, int fd, uint64_t token)
{
	struct ur *u = b->priv;
	struct reg *r = find(u, token);

	(void)fd;
	if (r == NULL || r->state == DELETED || r->state == REMOVE_LATER)
		return -ENOENT;
	if (r->state != ARMED) {
		/* DEAD: the request ended; ARM_LATER: it never started (its pend entry goes stale). */
		erase(u, r);
		return 0;
	}
	struct io_uring_sqe *sqe = sqe_get(u);
	if (sqe != NULL)
		prep_remove(u, sqe, r);
	else if (later(u, r, REMOVE_LATER) != 0)
		return -ENOMEM;
	return 0;
}

/* Report up to @max events from the CQ ring (I2, I3, I4). */
static int harvest(struct ur *u, struct iort_poller_event *out, unsigned max)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0, n = 0;
	int err = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		if (n == max)
			break;
		uint64_t token = io_uring_cqe_get_data64(cqe);
		struct reg *r = find(u, token);
		bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
		if (r == NULL) {
			/* a completion after the entry ended (I2) */
		} else if (r->state == DELETED) {
			if (!more)
				erase(u, r);
		} else if (cqe->res == -ECANCELED) {
			/* Not ours (only DELETED tokens are cancelled here): the kernel cancels the
			 * requests of a thread that exits, and a loop may be run by another thread
			 * later (I5). Arm it again from this one. */
			err = later(u, r, ARM_LATER);
			if (err != 0)
				break;
		} else if (cqe->res < 0) {
			/* The poll failed (the descriptor was closed after add, before the SQE went
			 * in: -EBADF): the registration is dead, and the loop hears of it once. */
			r->state = DEAD;
			out[n].token = token;
			out[n].events = IORT_IO_ERROR;
			n++;
		} else if (!more) {
			err = later(u, r, ARM_LATER); /* I3 */
			if (err != 0)
				break; /* not consumed: the next wait tries again */
		} else {
			uint32_t ev = (uint32_t)cqe->res & REPORTED;
			if (ev != 0) {
				out[n].token = token;
				out[n].events = ev;
				n++;
			}
		}
		seen++;
	}
	io_uring_cq_advance(&u->ring, seen);
	return n == 0 && err != 0 ? err : (int)n;
}

static bool kernel_has_completions(const struct ur *u)
{
	/* Task work or overflowed CQEs wait for an io_uring_enter. Without TASKRUN_FLAG (kernels
	 * before 5.19) nothing says so: task work queued by another thread's write runs at this
	 * thread's next interrupt, maybe after this wait, so always enter, as epoll would. */
	if (!u->taskrun_flag)
		return true;
	return (IO_URING_READ_ONCE(*u->ring.sq.kflags) &
		(IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0;
}

/* One step of wait: flush the SQ ring and, when no CQE is there yet and @timeout_ns allows,
 * block for one. @return 0 or -errno from io_uring_enter. */
static int enter(struct ur *u, uint64_t timeout_ns)
{
	struct io_uring *ring = &u->ring;
	bool submit = io_uring_sq_ready(ring) > 0;

	if (io_uring_cq_ready(ring) > 0) {
		/* Completions are there: take them without blocking; submit what is pending so a new
		 * registration is not held back while the CQ ring stays busy. */
		return submit ? io_uring_submit(ring) : 0;
	}
	if (timeout_ns == 0) {
		if (submit)
			return io_uring_submit_and_get_events(ring);
		return kernel_has_completions(u) ? io_uring_get_events(ring) : 0;
	}
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_sec = (long long)(timeout_ns / 1000000000u),
					.tv_nsec = (long long)(timeout_ns % 1000000000u) };
	/* One io_uring_enter: submit, then wait for a CQE or the timeout (IORING_FEAT_EXT_ARG,
	 * required at init, so no timeout SQE). */
	return io_uring_submit_and_wait_timeout(ring, &cqe, 1,
						timeout_ns == UINT64_MAX ? NULL : &ts, NULL);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int ur_wait(struct iort_poller *b, struct iort_poller_event *out, unsigned max,
		   uint64_t timeout_ns)
{
	struct ur *u = b->priv;
	uint64_t deadline = 0;

	if (max > u->max)
		max = u->max;
	if (max == 0) /* harvest could take nothing, and the loop below would never end */
		return 0;
	if (timeout_ns != 0 && timeout_ns != UINT64_MAX)
		deadline = now_ns() + timeout_ns;
	for (;;) {
		if (u->npend > 0)
			catch_up(u);
		int rc = enter(u, timeout_ns);
		/* ETIME: the timeout; EINTR: a signal; EAGAIN, EBUSY: the kernel could not take
		 * every SQE now (they stay queued). Whatever completed is reported either way. */
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
			return rc;
		int n = harvest(u, out, max);
		if (n != 0 || timeout_ns == 0 || rc < 0)
			return n;
		/* Woken by completions that carried no event (a removal, a multishot poll to re-arm):
		 * wait out the rest of the timeout, so 0 means a timeout as with epoll. */
		if (deadline != 0) {
			uint64_t t = now_ns();
			if (t >= deadline)
				return 0;
			timeout_ns = deadline - t;
		}
	}
}

static const struct iort_poller_ops ur_ops = {
	.name = "io_uring",
	.fini = ur_fini,
	.add = ur_add,
	.del = ur_del,
	.wait = ur_wait,
};

/* ---- the probe ---- */

static unsigned pow2_at_least(unsigned v)
{
	unsigned p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* io_uring_setup, with the cheaper task-work and submission modes where the kernel has them.
 * COOP_TASKRUN: a poll wake-up does not interrupt the running loop (it runs at the loop's next
 * syscall; TASKRUN_FLAG tells wait to make one). SUBMIT_ALL: one failed SQE does not hold back
 * the rest of the batch. */
static int setup(struct ur *u, unsigned sq, unsigned cq)
{
	static const unsigned modes[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		0,
	};
	int rc = -EINVAL;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = modes[i] | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
		p.cq_entries = cq;
		rc = io_uring_queue_init_params(sq, &u->ring, &p);
		if (rc != -EINVAL)
			return rc;
	}
	return rc;
}

/* Does the kernel keep a multishot poll armed? Arms one on a readable eventfd, expects a CQE with
 * IORING_CQE_F_MORE, then removes it and waits for both completions, so the ring is empty. */
static int probe_multishot(struct ur *u, char *why, size_t whylen)
{
	struct io_uring *ring = &u->ring;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	int rc = -ENOSYS;

	if (efd < 0) {
		rc = -errno;
		say(why, whylen, "io_uring probe: eventfd: %s", strerror(-rc));
		return rc;
	}
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_poll_multishot(sqe, efd, POLLIN);
	io_uring_sqe_set_data64(sqe, 1);
	if (io_uring_submit_and_wait(ring, 1) < 0 || io_uring_peek_cqe(ring, &cqe) != 0) {
		say(why, whylen, "io_uring probe: a poll on an eventfd did not complete");
		goto out;
	}
	bool multi = cqe->res > 0 && (cqe->flags & IORING_CQE_F_MORE) != 0;
	io_uring_cqe_seen(ring, cqe);
	if (!multi) {
		say(why, whylen,
		    "io_uring: the kernel does not keep multishot polls (Linux < 5.13)");
		goto out;
	}
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_poll_remove(sqe, 1);
	io_uring_sqe_set_data64(sqe, 2);
	(void)io_uring_submit(ring);
	/* The remove's completion and the poll's final -ECANCELED, in either order. */
	for (bool poll_done = false, remove_done = false; !poll_done || !remove_done;) {
		struct __kernel_timespec ts = { .tv_sec = 1 };
		if (io_uring_wait_cqe_timeout(ring, &cqe, &ts) != 0) {
			say(why, whylen, "io_uring probe: a poll removal did not complete");
			goto out;
		}
		if (cqe->user_data == 2)
			remove_done = true;
		else if (!(cqe->flags & IORING_CQE_F_MORE))
			poll_done = true;
		io_uring_cqe_seen(ring, cqe);
	}
	rc = 0;
out:
	close(efd);
	return rc;
}

static int refuse(int err, char *why, size_t whylen)
{
	switch (err) {
	case -ENOSYS:
		say(why, whylen, "io_uring_setup: not implemented by this kernel (ENOSYS)");
		return -ENOSYS;
	case -EPERM:
		say(why, whylen,
		    "io_uring_setup refused (EPERM): seccomp policy or kernel.io_uring_disabled");
		return -ENOSYS;
	case -EMFILE:
	case -ENFILE:
		say(why, whylen, "io_uring_setup: %s", strerror(-err));
		return err;
	default: /* EINVAL (a kernel too old for the flags), ENOMEM (RLIMIT_MEMLOCK before 5.12) */
		say(why, whylen, "io_uring_setup failed: %s", strerror(-err));
		return -ENOSYS;
	}
}

int iort__poller_uring_init(struct iort_poller *b, unsigned batch, char *why, size_t whylen)
{
	const char *env = getenv("IORT_URING");
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (env != NULL && strcmp(env, "0") == 0) {
		say(why, whylen, "disabled by IORT_URING=0");
		return -ENOSYS;
	}
	if (batch == 0)
		return -EINVAL;
	struct ur *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	u->max = batch;
	u->bits = 6;
	u->cap = (size_t)1 << u->bits;
	u->tab = calloc(u->cap, sizeof(*u->tab));
	if (u->tab == NULL) {
		rc = -ENOMEM;
		goto fail_tab;
	}
	/* SQ: registrations, removals and re-arms between two waits (a full ring flushes early).
	 * CQ: several turns of events; when it fills, multishot polls end and are re-armed (I3). */
	unsigned sq = pow2_at_least(batch < 64 ? 64 : batch > 4096 ? 4096 : batch);
	unsigned cq = pow2_at_least(batch * 8u < 256	 ? 256
				    : batch * 8u > 32768 ? 32768
							 : batch * 8u);
	rc = setup(u, sq, cq);
	if (rc < 0) {
		rc = refuse(rc, why, whylen);
		goto fail_ring;
	}
	u->taskrun_flag = (u->ring.flags & IORING_SETUP_TASKRUN_FLAG) != 0;
	unsigned need = IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG;
	if ((u->ring.features & need) != need) {
		say(why, whylen,
		    "io_uring: the kernel lacks IORING_FEAT_NODROP or IORING_FEAT_EXT_ARG (Linux < "
		    "5.11)");
		rc = -ENOSYS;
		goto fail_probe;
	}
	if (u->ring.features & IORING_FEAT_CQE_SKIP)
		u->remove_flags = IOSQE_CQE_SKIP_SUCCESS;
	struct io_uring_probe *p = io_uring_get_probe_ring(&u->ring);
	if (p == NULL) {
		say(why, whylen, "io_uring: the kernel has no opcode probe (Linux < 5.6)");
		rc = -ENOSYS;
		goto fail_probe;
	}
	bool ops = io_uring_opcode_supported(p, IORING_OP_POLL_ADD) &&
		   io_uring_opcode_supported(p, IORING_OP_POLL_REMOVE);
	io_uring_free_probe(p);
	if (!ops) {
		say(why, whylen,
		    "io_uring: IORING_OP_POLL_ADD or IORING_OP_POLL_REMOVE unsupported");
		rc = -ENOSYS;
		goto fail_probe;
	}
	rc = probe_multishot(u, why, whylen);
	if (rc < 0)
		goto fail_probe;
	b->ops = &ur_ops;
	b->priv = u;
	b->fd = u->ring.ring_fd;
	return 0;
fail_probe:
	io_uring_queue_exit(&u->ring);
fail_ring:
	free(u->tab);
fail_tab:
	free(u);
	return rc;
}

#endif /* IORT_HAVE_URING */
