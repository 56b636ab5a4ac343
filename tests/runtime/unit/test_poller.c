/*
 * The event loop's backends (poller-private.h), one contract run over both: epoll and io_uring.
 * Readiness present at registration is reported once; each new readiness gives one event and
 * readiness that merely persists gives none; write readiness returns when the peer reads; a
 * peer's shutdown and close are reported; after del no event carries the token, and a descriptor
 * number reused under a new token reports only under it; waits return on their timeout without
 * inventing events; many ready descriptors and a small batch lose and repeat nothing; a write to
 * an eventfd from another thread wakes a blocked wait.
 *
 * The io_uring cases are skipped, with the probe's reason, where the probe refuses (a container's
 * seccomp policy, an old kernel, a build without liburing). The fallback itself is tested by
 * refusing io_uring_setup with a seccomp filter in a child process.
 *
 * Waits for something that must come use a long timeout (a lost event fails instead of hanging);
 * no assertion depends on how long anything took.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <iort/reactor.h>

#include "poller-private.h"

#define SOON   (10ull * 1000000000u) /* "must come": a bound for a lost event, not a timing */
#define EV_MAX 64

struct be {
	const char *name;
	int (*init)(struct iort_poller *p, unsigned batch, char *why, size_t whylen);
};

static int init_epoll(struct iort_poller *p, unsigned batch, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return iort__poller_epoll_init(p, batch);
}

static const struct be EPOLL = { "epoll", init_epoll };
static const struct be URING = { "io_uring", iort__poller_uring_init };

static void open_poller(void **state, struct iort_poller *p, unsigned batch)
{
	const struct be *be = *state;
	char why[256] = "";
	int rc = be->init(p, batch, why, sizeof(why));

	if (rc == -ENOSYS) {
		print_message("[  SKIP    ] %s refused: %s\n", be->name, why);
		skip();
	}
	assert_int_equal(rc, 0);
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

static void put(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

static void drain(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	assert_true(n < 0 && errno == EAGAIN);
}

/* Everything available: one wait with @first_ns, then waits with timeout 0 until one finds
 * nothing. Appends to ev (at most cap); returns the count. */
static unsigned gather(struct iort_poller *p, uint64_t first_ns, struct iort_poller_event *ev,
		       unsigned cap)
{
	unsigned n = 0;
	uint64_t t = first_ns;

	for (;;) {
		assert_true(n < cap);
		int k = p->ops->wait(p, ev + n, cap - n, t);
		assert_true(k >= 0);
		assert_true((unsigned)k <= cap - n);
		if (k == 0 && t == 0)
			return n;
		n += (unsigned)k;
		t = 0;
	}
}

/* Events for @token among ev[0..n): their count, and their bits or'ed into *bits. */
static unsigned count_of(const struct iort_poller_event *ev, unsigned n, uint64_t token,
			 uint32_t *bits)
{
	unsigned c = 0;

	*bits = 0;
	for (unsigned i = 0; i < n; i++) {
		if (ev[i].token == token) {
			c++;
			*bits |= ev[i].events;
		}
	}
	return c;
}

/* Wait until an event for @token with any of @want arrives; fail if a SOON wait brings none. */
static uint32_t await_bits(struct iort_poller *p, uint64_t token, uint32_t want)
{
	struct iort_poller_event ev[EV_MAX];

	for (;;) {
		int k = p->ops->wait(p, ev, EV_MAX, SOON);
		assert_true(k > 0); /* 0: SOON passed, the event is lost */
		uint32_t bits;
		if (count_of(ev, (unsigned)k, token, &bits) > 0 && (bits & want) != 0)
			return bits;
	}
}

/* ---- the contract ---- */

static void test_ready_at_registration(void **state)
{
	struct iort_poller p;
	struct iort_poller_event ev[EV_MAX];
	int sv[2];
	uint32_t bits;

	open_poller(state, &p, 16);
	pair(sv);
	put(sv[1]);
	assert_int_equal(p.ops->add(&p, sv[0], 7), 0);
	/* a wait that does not block submits the registration and reports it (the loop's busy
	 * turns poll only so) */
	unsigned n = gather(&p, 0, ev, EV_MAX);
	assert_int_equal(count_of(ev, n, 7, &bits), 1);
	assert_int_equal(bits & (IORT_IO_READ | IORT_IO_WRITE), IORT_IO_READ | IORT_IO_WRITE);
	/* reported once: persisting readiness is not reported again */
	assert_int_equal(gather(&p, 0, ev, EV_MAX), 0);
	assert_int_equal(p.ops->add(&p, sv[0], 7), -EEXIST);
	assert_int_equal(p.ops->add(&p, -1, 8), -EBADF);
	assert_int_equal(p.ops->del(&p, sv[0], 7), 0);
	assert_int_equal(p.ops->del(&p, sv[0], 7), -ENOENT);
	p.ops->fini(&p);
	close(sv[0]);
	close(sv[1]);
}

static void test_edges(void **state)
{
	struct iort_poller p;
	struct iort_poller_event ev[EV_MAX];
	int sv[2];
	uint32_t bits;

	open_poller(state, &p, 16);
	pair(sv);
	assert_int_equal(p.ops->add(&p, sv[0], 1), 0);
	unsigned n = gather(&p, SOON, ev, EV_MAX);
	assert_int_equal(count_of(ev, n, 1, &bits), 1);
	assert_int_equal(bits & (IORT_IO_READ | IORT_IO_WRITE),
			 IORT_IO_WRITE); /* nothing to read */
	for (int round = 0; round < 20; round++) {
		put(sv[1]);
		n = gather(&p, SOON, ev, EV_MAX);
		assert_int_equal(count_of(ev, n, 1, &bits), 1);
		assert_true(bits & IORT_IO_READ);
		/* the data persists, nothing new arrived: no event */
		assert_int_equal(gather(&p, 0, ev, EV_MAX), 0);
		if (round % 2) {
			/* new data while old data is unread: a new edge all the same */
			put(sv[1]);
			n = gather(&p, SOON, ev, EV_MAX);
			assert_int_equal(count_of(ev, n, 1, &bits), 1);
			assert_true(bits & IORT_IO_READ);
		}
		drain(sv[0]);
		/* Reading frees the peer's buffer space: the peer's edge, not ours; whatever
		 * comes for sv[0] may not claim it is readable. */
		n = gather(&p, 0, ev, EV_MAX);
		count_of(ev, n, 1, &bits);
		assert_false(bits & IORT_IO_READ);
	}
	p.ops->fini(&p);
	close(sv[0]);
	close(sv[1]);
}

static void test_write_readiness(void **state)
{
	struct iort_poller p;
	struct iort_poller_event ev[EV_MAX];
	char buf[4096] = { 0 };
	int sv[2];
	uint32_t bits;

	open_poller(state, &p, 16);
	pair(sv);
	assert_int_equal(p.ops->add(&p, sv[0], 3), 0);
	unsigned n = gather(&p, SOON, ev, EV_MAX);
	assert_int_equal(count_of(ev, n, 3, &bits), 1);
	assert_true(bits & IORT_IO_WRITE);
	while (write(sv[0], buf, sizeof(buf)) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	/* full: no write readiness is reported */
	n = gather(&p, 0, ev, EV_MAX);
	count_of(ev, n, 3, &bits);
	assert_false(bits & IORT_IO_WRITE);
	/* the peer reads: room again, one edge */
	drain(sv[1]);
	bits = await_bits(&p, 3, IORT_IO_WRITE);
	assert_false(bits & IORT_IO_READ);
	assert_true(write(sv[0], buf, 1) == 1);
	p.ops->fini(&p);
	close(sv[0]);
	close(sv[1]);
}

static void test_peer_close(void **state)
{
	struct iort_poller p;
	struct iort_poller_event ev[EV_MAX];
	int sv[2];
	uint32_t bits;

	open_poller(state, &p, 16);
	pair(sv);
	assert_int_equal(p.ops->add(&p, sv[0], 5), 0);
	(void)gather(&p, SOON, ev, EV_MAX);
	/* the peer stops writing: read hang-up (and readable: read returns 0) */
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	bits = await_bits(&p, 5, IORT_IO_RDHUP);
	assert_true(bits & IORT_IO_READ);
	char c;
	assert_int_equal(read(sv[0], &c, 1), 0);
	/* the peer closes: both directions are gone */
	close(sv[1]);
	bits = await_bits(&p, 5, IORT_IO_HUP);
	assert_int_equal(gather(&p, 0, ev, EV_MAX), 0);
	p.ops->fini(&p);
	close(sv[0]);
}

static void test_del(void **state)
{
	struct iort_poller p;
	struct iort_poller_event ev[EV_MAX];
	int sv[2], sw[2];
	uint32_t bits;

	open_poller(state, &p, 16);
	pair(sv);
	assert_int_equal(p.ops->add(&p, sv[0], 10), 0);
	(void)gather(&p, SOON, ev, EV_MAX);
	assert_int_equal(p.ops->del(&p, sv[0], 10), 0);
	/* readiness after del: no event for the token */
	put(sv[1]);
	unsigned n = gather(&p, 20000000u, ev, EV_MAX);
	assert_int_equal(count_of(ev, n, 10, &bits), 0);
	/* del, close, reopen (the same descriptor number, as a rule) under a new token: events
	 * come under the new token only */
	assert_int_equal(p.ops->add(&p, sv[0], 11), 0);
	n = gather(&p, SOON, ev, EV_MAX);
	assert_int_equal(count_of(ev, n, 11, &bits), 1);
	assert_int_equal(p.ops->del(&p, sv[0], 11), 0);
	int old = sv[0];
	close(sv[0]);
	close(sv[1]);
	pair(sw);
	if (sw[0] != old) { /* make it the same number */
		assert_int_equal(dup2(sw[0], old), old);
		close(sw[0]);
		sw[0] = old;
	}
	assert_int_equal(p.ops->add(&p, sw[0], 12), 0);
	put(sw[1]);
	n = gather(&p, SOON, ev, EV_MAX);
	assert_int_equal(count_of(ev, n, 12, &bits), 1);
	assert_true(bits & IORT_IO_READ);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(ev[i].token, 12);
	drain(sw[0]);
	put(sw[1]);
	n = gather(&p, SOON, ev, EV_MAX);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(ev[i].token, 12);
	assert_int_equal(p.ops->del(&p, sw[1], 10), -ENOENT); /* never registered, token gone */
	p.ops->fini(&p);
	close(sw[0]);
	close(sw[1]);
}

/* del then close, while completions wait in the backend (io_uring: more ready descriptors than
 * the batch): the next wait, which takes only waiting events, still lets go of the file, so the
 * peer sees the close. */
static void test_close_after_del(void **state)
{
	enum { N = 4 };
	struct iort_poller p;
	struct iort_poller_event ev[1];
	int sv[N][2];
	char c;

	open_poller(state, &p, 1);
	for (int i = 0; i < N; i++) {
		pair(sv[i]);
		assert_int_equal(p.ops->add(&p, sv[i][0], 40 + (unsigned)i), 0);
	}
	assert_int_equal(p.ops->wait(&p, ev, 1, SOON), 1);
	int victim = (int)(ev[0].token - 40);
	assert_true(victim >= 0 && victim < N);
	assert_int_equal(p.ops->del(&p, sv[victim][0], ev[0].token), 0);
	close(sv[victim][0]);
	assert_int_equal(p.ops->wait(&p, ev, 1, 0), 1);	 /* another one's registration edge */
	assert_int_equal(read(sv[victim][1], &c, 1), 0); /* EOF: the file is gone */
	close(sv[victim][1]);
	for (int i = 0; i < N; i++) {
		if (i != victim) {
			close(sv[i][0]);
			close(sv[i][1]);
		}
	}
	p.ops->fini(&p);
}

struct remote {
	int efd;
	atomic_int done;
};

static void *remote_main(void *arg)
{
	struct remote *r = arg;
	uint64_t one = 1;

	if (write(r->efd, &one, sizeof(one)) != sizeof(one))
		abort();
	atomic_store(&r->done, 1);
	return NULL;
}

/* Readiness another thread caused before a wait that does not block (ordered by an atomic, no
 * syscall on this side in between) is reported by that wait: io_uring delivers it as task work
 * of this thread, which runs only when this thread enters the kernel, and the wait must. */
static void test_remote_then_nowait(void **state)
{
	struct iort_poller p;
	struct iort_poller_event ev[EV_MAX];
	uint32_t bits;

	open_poller(state, &p, 16);
	struct remote r = { .efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	assert_true(r.efd >= 0);
	assert_int_equal(p.ops->add(&p, r.efd, 5), 0);
	(void)gather(&p, SOON, ev, EV_MAX);
	for (int round = 0; round < 50; round++) {
		pthread_t t;
		atomic_store(&r.done, 0);
		assert_int_equal(pthread_create(&t, NULL, remote_main, &r), 0);
		while (!atomic_load(&r.done))
			;
		int k = p.ops->wait(&p, ev, EV_MAX, 0);
		assert_true(k >= 0);
		count_of(ev, (unsigned)k, 5, &bits);
		assert_true(bits & IORT_IO_READ);
		assert_int_equal(pthread_join(t, NULL), 0);
		uint64_t v;
		assert_int_equal(read(r.efd, &v, sizeof(v)), sizeof(v));
		(void)gather(&p, 0, ev, EV_MAX); /* the read's write-side edge */
	}
	p.ops->fini(&p);
	close(r.efd);
}

struct submitter {
	struct iort_poller *p;
	int fd;
};

static void *submitter_main(void *arg)
{
	struct submitter *s = arg;
	struct iort_poller_event ev[EV_MAX];

	if (s->p->ops->add(s->p, s->fd, 77) != 0)
		abort();
	/* io_uring: this wait submits the poll, which the kernel cancels when this thread exits */
	if (s->p->ops->wait(s->p, ev, EV_MAX, SOON) != 1 || ev[0].token != 77)
		abort();
	return NULL;
}

/* A backend used by one thread, then by another after the first exited (a loop run by two
 * threads in turn): registrations made by the first keep reporting, and only readiness. */
static void test_thread_change(void **state)
{
	struct iort_poller p;
	int sv[2];
	pthread_t t;
	uint32_t bits;

	open_poller(state, &p, 16);
	pair(sv);
	struct submitter s = { .p = &p, .fd = sv[0] };
	assert_int_equal(pthread_create(&t, NULL, submitter_main, &s), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	for (int round = 0; round < 3; round++) {
		put(sv[1]);
		bits = await_bits(&p, 77, IORT_IO_READ);
		assert_false(bits & IORT_IO_ERROR);
		drain(sv[0]);
	}
	p.ops->fini(&p);
	close(sv[0]);
	close(sv[1]);
}

/* A descriptor closed before it is added is refused. One closed after add and before the next
 * wait: epoll forgets it with its last reference; io_uring's poll fails when the wait submits it,
 * reported once as an error for the token, and del then forgets it. Nothing else is reported. */
static void test_add_closed(void **state)
{
	struct iort_poller p;
	struct iort_poller_event ev[EV_MAX];
	int sv[2];
	uint32_t bits;

	open_poller(state, &p, 16);
	pair(sv);
	close(sv[0]);
	assert_int_equal(p.ops->add(&p, sv[0], 21), -EBADF);
	pair(sv);
	assert_int_equal(p.ops->add(&p, sv[0], 22), 0);
	close(sv[0]);
	unsigned n = gather(&p, 20000000u, ev, EV_MAX);
	bool uring = *state == (void *)&URING;
	assert_int_equal(n, uring ? 1 : 0);
	if (uring) {
		assert_int_equal(count_of(ev, n, 22, &bits), 1);
		assert_int_equal(bits, IORT_IO_ERROR);
	}
	assert_int_equal(p.ops->del(&p, sv[0], 22), uring ? 0 : -EBADF);
	assert_int_equal(gather(&p, 0, ev, EV_MAX), 0);
	p.ops->fini(&p);
	close(sv[1]);
}

static void test_timeouts(void **state)
{
	struct iort_poller p;
	struct iort_poller_event ev[EV_MAX];
	int sv[2];

	open_poller(state, &p, 16);
	/* nothing registered */
	assert_int_equal(p.ops->wait(&p, ev, EV_MAX, 0), 0);
	assert_int_equal(p.ops->wait(&p, ev, EV_MAX, 1000000u), 0);
	pair(sv);
	assert_int_equal(p.ops->add(&p, sv[0], 4), 0);
	(void)gather(&p, SOON, ev, EV_MAX);
	/* a quiet registration: the waits return, with nothing */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(p.ops->wait(&p, ev, EV_MAX, 0), 0);
		assert_int_equal(p.ops->wait(&p, ev, EV_MAX, 5000000u), 0);
	}
	p.ops->fini(&p);
	close(sv[0]);
	close(sv[1]);
}

/* Many ready descriptors, a batch far smaller: every one is reported, once, over several waits
 * (io_uring: the CQ ring overflows, multishot polls end and are re-armed). */
static void test_many(void **state)
{
	enum { BATCH = 16 };
	struct iort_poller p;
	struct iort_poller_event ev[BATCH];
	struct rlimit rl;
	unsigned npairs = 1000;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2 * npairs + 64 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < 2 * npairs + 64)
		npairs = (unsigned)(rl.rlim_cur - 64) / 2;
	open_poller(state, &p, BATCH);
	int(*sv)[2] = calloc(npairs, sizeof(*sv));
	unsigned *seen = calloc(npairs, sizeof(*seen));
	assert_non_null(sv);
	assert_non_null(seen);
	for (unsigned i = 0; i < npairs; i++) {
		pair(sv[i]);
		assert_int_equal(p.ops->add(&p, sv[i][0], 1000 + i), 0);
	}
	for (int round = 0; round < 3; round++) {
		uint32_t want = round == 0 ? IORT_IO_WRITE : IORT_IO_READ;
		memset(seen, 0, npairs * sizeof(*seen));
		if (round > 0)
			for (unsigned i = 0; i < npairs; i++)
				put(sv[i][1]);
		unsigned got = 0;
		while (got < npairs) {
			int k = p.ops->wait(&p, ev, BATCH, SOON);
			assert_true(k > 0 && k <= BATCH); /* 0: SOON passed, events were lost */
			for (int j = 0; j < k; j++) {
				assert_true(ev[j].token >= 1000 && ev[j].token < 1000 + npairs);
				unsigned i = (unsigned)(ev[j].token - 1000);
				assert_true(ev[j].events & want);
				assert_int_equal(seen[i], 0); /* not reported twice */
				seen[i]++;
				got++;
			}
		}
		/* nothing left over, nothing repeated */
		assert_int_equal(p.ops->wait(&p, ev, BATCH, 0), 0);
		if (round > 0)
			for (unsigned i = 0; i < npairs; i++)
				drain(sv[i][0]);
		/* draining woke the writers' side only */
		int k;
		while ((k = p.ops->wait(&p, ev, BATCH, 0)) > 0)
			for (int j = 0; j < k; j++)
				assert_false(ev[j].events & IORT_IO_READ);
	}
	p.ops->fini(&p);
	for (unsigned i = 0; i < npairs; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
	free(sv);
	free(seen);
}

struct waker {
	int efd;
	int rounds;
	sem_t go;
};

static void *waker_main(void *arg)
{
	struct waker *w = arg;
	uint64_t one = 1;

	for (int i = 0; i < w->rounds; i++) {
		while (sem_wait(&w->go) != 0)
			;
		if (write(w->efd, &one, sizeof(one)) != sizeof(one))
			abort();
	}
	return NULL;
}

/* The loop's wake-up: another thread writes the eventfd while the wait blocks without a timeout. */
static void test_wakeup(void **state)
{
	struct iort_poller p;
	struct iort_poller_event ev[EV_MAX];
	struct waker w = { .rounds = 200 };
	pthread_t t;
	uint32_t bits;

	open_poller(state, &p, 16);
	w.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(w.efd >= 0);
	assert_int_equal(sem_init(&w.go, 0, 0), 0);
	assert_int_equal(p.ops->add(&p, w.efd, 99), 0);
	unsigned n = gather(&p, SOON, ev, EV_MAX);
	assert_int_equal(count_of(ev, n, 99, &bits), 1);
	assert_int_equal(bits & (IORT_IO_READ | IORT_IO_WRITE), IORT_IO_WRITE);
	assert_int_equal(pthread_create(&t, NULL, waker_main, &w), 0);
	for (int i = 0; i < w.rounds; i++) {
		assert_int_equal(sem_post(&w.go), 0);
		/* Blocks until the write (most rounds: the write lands while it sleeps). */
		for (bits = 0; !(bits & IORT_IO_READ);) {
			int k = p.ops->wait(&p, ev, EV_MAX, UINT64_MAX);
			assert_true(k >= 0);
			count_of(ev, (unsigned)k, 99, &bits);
		}
		uint64_t v;
		assert_int_equal(read(w.efd, &v, sizeof(v)), sizeof(v));
		assert_int_equal(v, 1);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	sem_destroy(&w.go);
	p.ops->fini(&p);
	close(w.efd);
}

/* ---- io_uring's probe and the fallback ---- */

static void test_uring_env_off(void **state)
{
	struct iort_poller p;
	char why[256] = "";

	(void)state;
	assert_int_equal(setenv("IORT_URING", "0", 1), 0);
	int rc = iort__poller_uring_init(&p, 16, why, sizeof(why));
	assert_int_equal(unsetenv("IORT_URING"), 0);
	assert_int_equal(rc, -ENOSYS);
	if (strcmp(why, "built without liburing") == 0) {
		print_message("[  SKIP    ] %s\n", why);
		skip();
	}
	assert_string_equal(why, "disabled by IORT_URING=0");
	/* the loop: AUTO falls back to epoll and says why */
	struct iort_loop_config cfg = { .backend = IORT_BACKEND_AUTO };
	struct iort_loop *l;
	assert_int_equal(setenv("IORT_URING", "0", 1), 0);
	rc = iort_loop_create(&cfg, &l);
	assert_int_equal(unsetenv("IORT_URING"), 0);
	assert_int_equal(rc, 0);
	assert_int_equal(iort_loop_backend(l), IORT_BACKEND_EPOLL);
	assert_string_equal(iort_loop_fallback_reason(l), "disabled by IORT_URING=0");
	iort_loop_destroy(l);
}

/* Where the probe passes, AUTO runs io_uring and reports no fallback. */
static void test_uring_auto(void **state)
{
	struct iort_loop_config cfg = { .backend = IORT_BACKEND_AUTO };
	struct iort_loop *l;
	struct iort_poller p;
	char why[256] = "";

	(void)state;
	if (iort__poller_uring_init(&p, 16, why, sizeof(why)) != 0) {
		print_message("[  SKIP    ] io_uring refused: %s\n", why);
		skip();
	}
	p.ops->fini(&p);
	assert_int_equal(iort_loop_create(&cfg, &l), 0);
	assert_int_equal(iort_loop_backend(l), IORT_BACKEND_URING);
	assert_string_equal(iort_loop_fallback_reason(l), "");
	iort_loop_destroy(l);
}

/* io_uring_setup fails with EPERM (as under Docker's default seccomp profile). */
static int refuse_io_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static void test_uring_seccomp_fallback(void **state)
{
	struct iort_poller p;
	char why[256] = "";
	int status;

	(void)state;
#if !defined(__x86_64__)
	print_message("[  SKIP    ] the seccomp filter here is written for x86-64\n");
	skip();
#endif
	if (iort__poller_uring_init(&p, 16, why, sizeof(why)) != 0) {
		print_message("[  SKIP    ] io_uring refused already: %s\n", why);
		skip();
	}
	p.ops->fini(&p);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child reports through its exit status: 0 pass, 1.. which check failed. */
		if (refuse_io_uring() != 0)
			_exit(10);
		int rc = iort__poller_uring_init(&p, 16, why, sizeof(why));
		if (rc != -ENOSYS)
			_exit(11);
		if (strstr(why, "seccomp") == NULL || strstr(why, "EPERM") == NULL)
			_exit(12);
		/* epoll is not affected */
		if (iort__poller_epoll_init(&p, 16) != 0)
			_exit(13);
		p.ops->fini(&p);
		/* the loop falls back to epoll and says why; asked for io_uring, it fails */
		struct iort_loop_config cfg = { .backend = IORT_BACKEND_AUTO };
		struct iort_loop *l;
		if (iort_loop_create(&cfg, &l) != 0)
			_exit(14);
		if (iort_loop_backend(l) != IORT_BACKEND_EPOLL)
			_exit(15);
		if (strstr(iort_loop_fallback_reason(l), "EPERM") == NULL)
			_exit(16);
		iort_loop_destroy(l);
		cfg.backend = IORT_BACKEND_URING;
		if (iort_loop_create(&cfg, &l) != -ENOSYS)
			_exit(17);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 10) {
		print_message("[  SKIP    ] cannot install a seccomp filter here\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

#define BOTH(fn)                                                \
	{ #fn "/epoll", fn, NULL, NULL, (void *)&EPOLL },       \
	{                                                       \
#fn "/io_uring", fn, NULL, NULL, (void *)&URING \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_ready_at_registration),
		BOTH(test_edges),
		BOTH(test_write_readiness),
		BOTH(test_peer_close),
		BOTH(test_del),
		BOTH(test_add_closed),
		BOTH(test_close_after_del),
		BOTH(test_remote_then_nowait),
		BOTH(test_thread_change),
		BOTH(test_timeouts),
		BOTH(test_many),
		BOTH(test_wakeup),
		cmocka_unit_test(test_uring_env_off),
		cmocka_unit_test(test_uring_auto),
		cmocka_unit_test(test_uring_seccomp_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
