/*
 * Event loop benchmarks: the shapes of libuv's and libevent's own suites, on our loop
 * (iort_epoll, iort_uring) and on libuv and libevent, through bench/rimpl.h. The benchmark's
 * thread runs the loop, pinned to plan slot 0; a second thread (async_wakeup's other loop,
 * million_async's producer) is pinned to slot 1. One Google Benchmark iteration is one round,
 * timed by the wall clock (/real_time):
 *
 *   reactor/loop_count      libuv's loop_count: a callback that runs once per turn (uv_idle;
 *                           for iort a post deferred from itself, for libevent a zero-timeout
 *                           timer) keeps the loop from ever blocking; a round is 10,000 turns.
 *                           Items: turns.
 *   reactor/tcp_pingpong    libuv's tcp_pingpong: one loopback TCP connection (TCP_NODELAY),
 *                           client and server in the same loop, an 8-byte message echoed back;
 *                           a round is 100 round trips. Items: round trips; p50/p99/p99.9/max of
 *                           a round trip (write to echo read), TSC clock.
 *   reactor/pound           libuv's tcp_pound: C connections in flight (conns:100, conns:1000),
 *                           each connected, accepted, closed by the server, its end of file read
 *                           and closed by the client, then replaced; a round is 200 finished
 *                           connections. Items: connections.
 *   reactor/pipes           libevent's test/bench.c: P socketpairs (pipes:100, pipes:1000), every
 *                           read end registered, one active writer: each read callback reads its
 *                           byte and writes one to the next pair, P writes per round. Items:
 *                           events; counter ns: per event.
 *   reactor/async_wakeup    libuv's async round trips: two loops on two threads; a message
 *                           posted to the other loop posts one back; a round is 100 round trips.
 *                           Items: round trips; latency percentiles of a round trip.
 *   reactor/million_async   libuv's million_async, into a busy loop: a producer thread posts as
 *                           fast as a window of 256 messages allows into a loop kept busy by a
 *                           turn callback that spins W per turn (work:0, work:1us); a round is
 *                           10,000 messages run. Items: messages;
 *                           counters: the loop thread's voluntary context switches and the
 *                           loop's turns per 1000 messages.
 *
 * Every benchmark's label is "backend=<name>" (epoll, io_uring): the backend that ran. iort_uring
 * probes io_uring (IORT_BACKEND_AUTO) and skips with "environment: io_uring did not run: <reason>"
 * when it fell back, rather than measure epoll twice.
 *
 * The loops only register descriptors, run callbacks and carry posts: every implementation runs
 * the same callbacks (below) and the same system calls in them. An I/O callback reads until
 * EAGAIN or a short read, right for level- and edge-triggered loops alike.
 *
 * With --iobench_fixed_iterations (bench-smoke, instruction counting) the rounds shrink.
 *
 * Payload checks after the loop: ping-pong messages come back with the value sent, every pipe
 * event carried one byte, every posted message ran exactly once, every connection reached its
 * end of file without an error. A loop's wrong answer is reported as an error, not a figure.
 *
 * Descriptors: RLIMIT_NOFILE's soft limit is raised to its hard limit; a scenario that needs more
 * than the hard limit skips with "environment: ...".
 *
 * Adding a loop: its adapter file (bench/rimpl_<lib>.c, declared in rimpl.h) and one line in
 * reactor_impls[].
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iort/clock.h>
#include <iort/compiler.h>

#include "bench.h"
#include "hist.h"
#include "rimpl.h"

static const struct rimpl *const reactor_impls[] = {
	&rimpl_iort_epoll,
	&rimpl_iort_uring,
	&rimpl_uv,
	&rimpl_event,
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Round sizes: full, and with --iobench_fixed_iterations. */
#define TURNS	   10000u
#define TURNS_S	   100u
#define ROUNDS	   100u
#define ROUNDS_S   10u
#define POUND_B	   200u
#define POUND_B_S  20u
#define MILLION_B  10000u
#define MILLION_BS 100u
#define WINDOW	   256u /* million_async's messages in flight, at most */
#define PP_MSG	   8u	/* tcp_pingpong's message */

enum rs {
	RS_LOOP_COUNT,
	RS_PINGPONG,
	RS_POUND,
	RS_PIPES,
	RS_ASYNC,
	RS_MILLION,
};

struct rcase {
	const struct rimpl *ri;
	enum rs sc;
	unsigned n;	/* pound: connections in flight; pipes: pairs; million_async: work ns */
	char name[128]; /* for the latency CSV */
};

static bool smoke(void)
{
	return bench_env.fixed_iterations > 0;
}

static void skip(struct iob_state *st, const char *msg)
{
	iob_state_skip_with_error(st, msg);
}

/* Raise RLIMIT_NOFILE's soft limit to the hard one. @return 0, or an error already reported
 * when fewer than @p need descriptors can be open. */
static int want_fds(struct iob_state *st, unsigned need)
{
	struct rlimit rl;
	char msg[200];

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		snprintf(msg, sizeof(msg),
			 "environment: RLIMIT_NOFILE allows %llu descriptors, this needs %u",
			 (unsigned long long)rl.rlim_cur, need);
		skip(st, msg);
		return -EMFILE;
	}
	return 0;
}

/* Check, pin, raise the descriptor limit, make the loop and label the run with its backend.
 * @return 0, or an error already reported. */
static int begin(struct iob_state *st, const struct rcase *c, bool cross, unsigned fds, void **loop)
{
	struct ri_config cfg = { .cross_thread = cross };
	const char *why = NULL;
	char msg[320];
	int rc;

	if (c->ri->impl.missing) {
		skip(st, c->ri->impl.missing);
		return -ENOENT;
	}
	if (bench_pin(st))
		return -EIO;
	if (want_fds(st, fds))
		return -EMFILE;
	rc = c->ri->create(&cfg, loop, &why);
	if (rc == -ENOSYS && why) {
		snprintf(msg, sizeof(msg), "environment: %s", why);
		skip(st, msg);
		return rc;
	}
	if (rc) {
		snprintf(msg, sizeof(msg), "cannot create the loop: %s%s%s", why ? why : "",
			 why ? ": " : "", strerror(rc < 0 ? -rc : rc));
		skip(st, msg);
		return rc;
	}
	snprintf(msg, sizeof(msg), "backend=%s", c->ri->backend(*loop));
	iob_state_set_label(st, msg);
	return 0;
}

static void report_latency(struct iob_state *st, const struct rcase *c, struct iob_hist *h)
{
	char name[200];

	iob_state_counter(st, "p50_ns", (double)iob_hist_percentile(h, 50.0), 0);
	iob_state_counter(st, "p99_ns", (double)iob_hist_percentile(h, 99.0), 0);
	iob_state_counter(st, "p999_ns", (double)iob_hist_percentile(h, 99.9), 0);
	iob_state_counter(st, "max_ns", (double)iob_hist_max(h), 0);
	snprintf(name, sizeof(name), "%s/real_time/threads:1", c->name);
	bench_latency_csv_write(name, h);
}

/* A helper thread pinned to plan slot 1 (the benchmark's thread has slot 0). */
struct helper {
	pthread_t t;
	void *(*fn)(void *arg);
	void *arg;
	int pin_err;
};

static void *helper_main(void *arg)
{
	struct helper *h = arg;

	if (!bench_env.simulated)
		h->pin_err = iob_topo_pin_self(bench_env.topo, bench_slot_pu(1));
	return h->fn(h->arg);
}

static int helper_start(struct helper *h, void *(*fn)(void *), void *arg)
{
	h->fn = fn;
	h->arg = arg;
	h->pin_err = 0;
	return -pthread_create(&h->t, NULL, helper_main, h);
}

/* ------------------------------------------------------------------------------------------ */
/* loop_count */

static struct {
	const struct rimpl *ri;
	void *loop;
	uint64_t turns, target;
} lc;

static void lc_turn(void *arg)
{
	(void)arg;
	if (++lc.turns == lc.target) {
		lc.ri->turn_stop(lc.loop);
		lc.ri->stop(lc.loop);
	}
}

static void bm_loop_count(struct iob_state *st, void *arg)
{
	const struct rcase *c = arg;
	uint64_t round = smoke() ? TURNS_S : TURNS, items = 0;
	int rc = 0;

	memset(&lc, 0, sizeof(lc));
	lc.ri = c->ri;
	if (begin(st, c, false, 64, &lc.loop))
		return;
	while (iob_state_keep_running(st)) {
		lc.target = lc.turns + round;
		rc = c->ri->turn_start(lc.loop, lc_turn, NULL);
		if (!rc)
			rc = c->ri->run(lc.loop);
		if (rc) {
			c->ri->turn_stop(lc.loop);
			skip(st, "the loop failed");
			break;
		}
		items += round;
	}
	c->ri->destroy(lc.loop);
	if (!rc && lc.turns != items)
		skip(st, "the turn callback ran a wrong number of times");
	iob_state_set_items_processed(st, (int64_t)items);
}

/* ------------------------------------------------------------------------------------------ */
/* tcp_pingpong */

static int fcntl_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A non-blocking listener on 127.0.0.1, any port (written to @p addr). @return 0 or -errno. */
static int tcp_listener(int *lfd_out, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int one = 1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (lfd < 0)
		return -errno;
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)addr, sizeof(*addr)) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)addr, &len)) {
		int e = -errno;

		close(lfd);
		return e;
	}
	*lfd_out = lfd;
	return 0;
}

/* A connected loopback TCP pair, non-blocking, TCP_NODELAY. @return 0 or -errno. */
static int tcp_pair(int *cfd, int *sfd)
{
	struct sockaddr_in a;
	int one = 1, lfd, c = -1, s = -1, rc;

	rc = tcp_listener(&lfd, &a);
	if (rc)
		return rc;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	for (;;) { /* the listener is non-blocking: the connection is queued, or about to be */
		s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s >= 0 || errno != EAGAIN)
			break;
		sched_yield();
	}
	if (s < 0)
		goto fail;
	if (setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) || fcntl_nonblock(c))
		goto fail;
	close(lfd);
	*cfd = c;
	*sfd = s;
	return 0;
fail:
	rc = -errno;
	if (c >= 0)
		close(c);
	if (s >= 0)
		close(s);
	close(lfd);
	return rc ? rc : -EIO;
}

static struct {
	const struct rimpl *ri;
	void *loop;
	struct ri_watch cw, sw;
	int cfd, sfd;
	unsigned cgot, sgot; /* bytes of the message in flight received so far */
	unsigned char cbuf[PP_MSG], sbuf[PP_MSG];
	uint64_t rt, target, t0;
	struct iob_hist *h;
	const char *err;
} pp;

/* Read what is there into @p buf at @p *got (at most one message is in flight, so a read
 * shorter than the scratch buffer is a short read: nothing is left). @return true when the
 * message is whole. */
static bool pp_read(int fd, unsigned char *buf, unsigned *got)
{
	unsigned char scratch[64];

	for (;;) {
		ssize_t n = read(fd, scratch, sizeof(scratch));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0 || *got + (size_t)n > PP_MSG) {
			pp.err =
				n == 0 ? "tcp_pingpong: the peer closed" : "tcp_pingpong: bad read";
			pp.ri->stop(pp.loop);
			return false;
		}
		memcpy(buf + *got, scratch, (size_t)n);
		*got += (unsigned)n;
		if (*got == PP_MSG)
			return true;
		if ((size_t)n < sizeof(scratch))
			return false;
	}
}

static void pp_send(int fd, const unsigned char *buf)
{
	if (write(fd, buf, PP_MSG) != (ssize_t)PP_MSG) {
		pp.err = "tcp_pingpong: a short write";
		pp.ri->stop(pp.loop);
	}
}

static void pp_server(struct ri_watch *w, int fd, unsigned events)
{
	(void)w;
	(void)events;
	if (pp_read(fd, pp.sbuf, &pp.sgot)) {
		pp.sgot = 0;
		pp_send(fd, pp.sbuf); /* the echo */
	}
}

static void pp_client_send(void)
{
	memcpy(pp.cbuf, &pp.rt, PP_MSG);
	pp.t0 = iort_clock_fast_ns();
	pp_send(pp.cfd, pp.cbuf);
}

static void pp_client(struct ri_watch *w, int fd, unsigned events)
{
	uint64_t v, now;

	(void)w;
	(void)events;
	if (!pp_read(fd, pp.cbuf, &pp.cgot))
		return;
	now = iort_clock_fast_ns();
	pp.cgot = 0;
	memcpy(&v, pp.cbuf, PP_MSG);
	if (v != pp.rt) {
		pp.err = "tcp_pingpong: the echo differs from the message";
		pp.ri->stop(pp.loop);
		return;
	}
	iob_hist_record(pp.h, now > pp.t0 ? now - pp.t0 : 0);
	if (++pp.rt == pp.target)
		pp.ri->stop(pp.loop);
	else
		pp_client_send();
}

static void bm_pingpong(struct iob_state *st, void *arg)
{
	const struct rcase *c = arg;
	uint64_t round = smoke() ? ROUNDS_S : ROUNDS, items = 0;
	int rc;

	memset(&pp, 0, sizeof(pp));
	pp.ri = c->ri;
	pp.cfd = pp.sfd = -1;
	if (iob_hist_create(1, 10000000000ull, 3, &pp.h)) {
		skip(st, "out of memory");
		return;
	}
	if (begin(st, c, false, 64, &pp.loop))
		goto out_hist;
	rc = tcp_pair(&pp.cfd, &pp.sfd);
	if (rc) {
		skip(st, "cannot make a loopback TCP connection");
		goto out_loop;
	}
	pp.cw.fn = pp_client;
	pp.sw.fn = pp_server;
	if (c->ri->io_start(pp.loop, pp.sfd, RI_READ, &pp.sw)) {
		skip(st, "io_start failed");
		goto out_fds;
	}
	if (c->ri->io_start(pp.loop, pp.cfd, RI_READ, &pp.cw)) {
		skip(st, "io_start failed");
		goto out_sw;
	}
	(void)iort_clock_fast_ns(); /* calibrate outside the loop */
	while (iob_state_keep_running(st)) {
		pp.target = pp.rt + round;
		pp_client_send();
		if (c->ri->run(pp.loop) || pp.err || pp.rt != pp.target) {
			skip(st, pp.err ? pp.err : "the loop failed");
			break;
		}
		items += round;
	}
	if (!pp.err && items)
		report_latency(st, c, pp.h);
	iob_state_set_items_processed(st, (int64_t)items);
	c->ri->io_stop(pp.loop, pp.cfd, &pp.cw);
out_sw:
	c->ri->io_stop(pp.loop, pp.sfd, &pp.sw);
out_fds:
	close(pp.cfd);
	close(pp.sfd);
out_loop:
	c->ri->destroy(pp.loop);
out_hist:
	iob_hist_destroy(pp.h);
}

/* ------------------------------------------------------------------------------------------ */
/* pound */

struct pconn {
	struct ri_watch w; /* first: the callback's watch is the connection */
	int fd;
	struct pconn *next_free;
};

static struct {
	const struct rimpl *ri;
	void *loop;
	struct ri_watch lw;
	int lfd;
	struct sockaddr_in addr;
	struct pconn *conns, *free_list;
	unsigned open;	 /* client connections not yet finished */
	uint64_t done;	 /* client connections finished */
	uint64_t target; /* stop when done reaches it */
	uint64_t accepted;
	bool draining; /* finished connections are not replaced */
	const char *err;
} pd;

static void pd_fail(const char *err)
{
	if (!pd.err)
		pd.err = err;
	pd.ri->stop(pd.loop);
}

static void pd_client(struct ri_watch *w, int fd, unsigned events);

static void pd_connect(void)
{
	struct pconn *c = pd.free_list;
	int fd;

	pd.free_list = c->next_free;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->next_free = pd.free_list;
		pd.free_list = c;
		pd_fail("pound: socket failed");
		return;
	}
	if (connect(fd, (struct sockaddr *)&pd.addr, sizeof(pd.addr)) && errno != EINPROGRESS) {
		close(fd);
		c->next_free = pd.free_list;
		pd.free_list = c;
		pd_fail("pound: connect failed");
		return;
	}
	c->fd = fd;
	c->w.fn = pd_client;
	if (pd.ri->io_start(pd.loop, fd, RI_READ, &c->w)) {
		close(fd);
		c->next_free = pd.free_list;
		pd.free_list = c;
		pd_fail("pound: io_start failed");
		return;
	}
	pd.open++;
}

/* The client end: it waits for the server's close (end of file), then closes and is replaced. */
static void pd_client(struct ri_watch *w, int fd, unsigned events)
{
	struct pconn *c = (struct pconn *)w;
	char b[16];
	ssize_t n;

	(void)events;
	do
		n = read(fd, b, sizeof(b));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return; /* connected (a write edge), or nothing yet */
	pd.ri->io_stop(pd.loop, fd, &c->w);
	close(fd);
	c->fd = -1;
	c->next_free = pd.free_list;
	pd.free_list = c;
	pd.open--;
	if (n != 0) {
		pd_fail("pound: a connection failed (read error or data)");
		return;
	}
	pd.done++;
	if (!pd.draining)
		pd_connect();
	if (pd.done == pd.target || (pd.draining && pd.open == 0))
		pd.ri->stop(pd.loop);
}

/* The server: accept everything queued and close it at once. */
static void pd_listen(struct ri_watch *w, int fd, unsigned events)
{
	(void)w;
	(void)events;
	for (;;) {
		int s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (s < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				pd_fail("pound: accept failed");
			return;
		}
		close(s);
		pd.accepted++;
	}
}

static void bm_pound(struct iob_state *st, void *arg)
{
	const struct rcase *c = arg;
	uint64_t round = smoke() ? POUND_B_S : POUND_B, items = 0;

	memset(&pd, 0, sizeof(pd));
	pd.ri = c->ri;
	pd.lfd = -1;
	if (begin(st, c, false, c->n + 64, &pd.loop))
		return;
	pd.conns = calloc(c->n, sizeof(*pd.conns));
	if (!pd.conns) {
		skip(st, "out of memory");
		goto out_loop;
	}
	for (unsigned i = 0; i < c->n; i++) {
		pd.conns[i].fd = -1;
		pd.conns[i].next_free = i + 1 < c->n ? &pd.conns[i + 1] : NULL;
	}
	pd.free_list = &pd.conns[0];
	if (tcp_listener(&pd.lfd, &pd.addr)) {
		skip(st, "cannot listen on 127.0.0.1");
		goto out_conns;
	}
	pd.lw.fn = pd_listen;
	if (c->ri->io_start(pd.loop, pd.lfd, RI_READ, &pd.lw)) {
		skip(st, "io_start failed");
		goto out_lfd;
	}
	for (unsigned i = 0; i < c->n && !pd.err; i++)
		pd_connect();
	while (!pd.err && iob_state_keep_running(st)) {
		uint64_t d0 = pd.done;

		pd.target = d0 + round;
		if (c->ri->run(pd.loop) && !pd.err)
			pd.err = "the loop failed";
		/* The loop stops after its turn: connections finished later in it count too. */
		items += pd.done - d0;
	}
	/* Let every connection finish (each needs the server's accept and close). */
	pd.draining = true;
	pd.target = 0;
	while (!pd.err && pd.open && !c->ri->run(pd.loop))
		;
	for (unsigned i = 0; i < c->n; i++)
		if (pd.conns[i].fd >= 0) {
			c->ri->io_stop(pd.loop, pd.conns[i].fd, &pd.conns[i].w);
			close(pd.conns[i].fd);
		}
	if (pd.err)
		skip(st, pd.err);
	else if (pd.accepted != pd.done)
		skip(st, "pound: accepted and finished connections differ");
	iob_state_set_items_processed(st, (int64_t)items);
	c->ri->io_stop(pd.loop, pd.lfd, &pd.lw);
out_lfd:
	close(pd.lfd);
out_conns:
	free(pd.conns);
out_loop:
	c->ri->destroy(pd.loop);
}

/* ------------------------------------------------------------------------------------------ */
/* pipes */

static struct {
	const struct rimpl *ri;
	void *loop;
	unsigned n;
	int (*fds)[2];
	struct ri_watch *w;
	uint64_t count, fired, writes;
	const char *err;
} pi;

static void pi_read(struct ri_watch *w, int fd, unsigned events)
{
	unsigned idx = (unsigned)(w - pi.w), widx;
	char b[16];
	ssize_t n;

	(void)events;
	do
		n = read(fd, b, sizeof(b));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n != 1) {
		pi.err = "pipes: a read did not return one byte";
		pi.ri->stop(pi.loop);
		return;
	}
	pi.count++;
	if (pi.writes) {
		widx = idx + 1 == pi.n ? 0 : idx + 1;
		if (write(pi.fds[widx][1], "e", 1) != 1) {
			pi.err = "pipes: a write failed";
			pi.ri->stop(pi.loop);
			return;
		}
		pi.writes--;
		pi.fired++;
	}
	if (pi.count == pi.fired)
		pi.ri->stop(pi.loop);
}

static void bm_pipes(struct iob_state *st, void *arg)
{
	const struct rcase *c = arg;
	uint64_t events = 0, ns = 0;
	unsigned made = 0, started = 0;

	memset(&pi, 0, sizeof(pi));
	pi.ri = c->ri;
	pi.n = c->n;
	if (begin(st, c, false, 2 * c->n + 64, &pi.loop))
		return;
	pi.fds = calloc(c->n, sizeof(*pi.fds));
	pi.w = calloc(c->n, sizeof(*pi.w));
	if (!pi.fds || !pi.w) {
		skip(st, "out of memory");
		goto out;
	}
	for (; made < c->n; made++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
			       pi.fds[made])) {
			skip(st, "socketpair failed");
			goto out;
		}
	for (; started < c->n; started++) {
		pi.w[started].fn = pi_read;
		if (c->ri->io_start(pi.loop, pi.fds[started][0], RI_READ, &pi.w[started])) {
			skip(st, "io_start failed");
			goto out;
		}
	}
	while (iob_state_keep_running(st)) {
		uint64_t t0 = iort_clock_ns();

		pi.count = 0;
		pi.fired = 1;
		pi.writes = c->n; /* bench.c's default: as many writes as pipes */
		if (write(pi.fds[0][1], "e", 1) != 1) {
			pi.err = "pipes: a write failed";
			break;
		}
		if (c->ri->run(pi.loop) && !pi.err)
			pi.err = "the loop failed";
		if (pi.err)
			break;
		ns += iort_clock_ns() - t0;
		if (pi.count != c->n + 1) {
			pi.err = "pipes: a round ran a wrong number of events";
			break;
		}
		events += pi.count;
	}
	if (pi.err)
		skip(st, pi.err);
	else if (events)
		iob_state_counter(st, "ns", (double)ns / (double)events, 0);
	iob_state_set_items_processed(st, (int64_t)events);
out:
	while (started) {
		started--;
		c->ri->io_stop(pi.loop, pi.fds[started][0], &pi.w[started]);
	}
	while (made--) {
		close(pi.fds[made][0]);
		close(pi.fds[made][1]);
	}
	free(pi.fds);
	free(pi.w);
	c->ri->destroy(pi.loop);
}

/* ------------------------------------------------------------------------------------------ */
/* async_wakeup: loop a (this thread) and loop b (the helper) bounce a message. */

static struct {
	const struct rimpl *ri;
	void *a, *b;
	struct ri_msg ping, pong, stop_b; /* ping and stop_b run on b, pong on a */
	uint64_t rt, target, t0;	  /* a's */
	struct iob_hist *h;
	const char *err;     /* a's */
	_Atomic int post_rc; /* b's post failures */
	int run_b_rc;
} aw;

static void aw_ping(struct ri_msg *m)
{
	(void)m;
	if (aw.ri->post(&aw.pong)) {
		/* MO relaxed: a flag read after the join. */
		atomic_store_explicit(&aw.post_rc, 1, memory_order_relaxed);
	}
}

static void aw_pong(struct ri_msg *m)
{
	uint64_t now = iort_clock_fast_ns();

	(void)m;
	iob_hist_record(aw.h, now > aw.t0 ? now - aw.t0 : 0);
	if (++aw.rt == aw.target) {
		aw.ri->stop(aw.a);
		return;
	}
	aw.t0 = iort_clock_fast_ns();
	if (aw.ri->post(&aw.ping)) {
		aw.err = "async_wakeup: post failed";
		aw.ri->stop(aw.a);
	}
}

static void aw_stop_b(struct ri_msg *m)
{
	(void)m;
	aw.ri->stop(aw.b);
}

static void *aw_main(void *arg)
{
	(void)arg;
	aw.run_b_rc = aw.ri->run(aw.b);
	return NULL;
}

static void bm_async(struct iob_state *st, void *arg)
{
	const struct rcase *c = arg;
	uint64_t round = smoke() ? ROUNDS_S : ROUNDS, items = 0;
	struct ri_config cfg = { .cross_thread = true };
	static struct helper hb; /* outlives this call if the other loop cannot be stopped */
	const char *why = NULL;
	int inited = 0;

	memset(&aw, 0, sizeof(aw));
	atomic_init(&aw.post_rc, 0);
	aw.ri = c->ri;
	if (iob_hist_create(1, 10000000000ull, 3, &aw.h)) {
		skip(st, "out of memory");
		return;
	}
	if (begin(st, c, true, 64, &aw.a))
		goto out_hist;
	if (c->ri->create(&cfg, &aw.b, &why)) {
		skip(st, "cannot create the second loop");
		goto out_a;
	}
	aw.ping.fn = aw_ping;
	aw.pong.fn = aw_pong;
	aw.stop_b.fn = aw_stop_b;
	{
		struct ri_msg *const msgs[] = { &aw.ping, &aw.pong, &aw.stop_b };
		void *const to[] = { aw.b, aw.a, aw.b };

		for (; inited < 3; inited++)
			if (c->ri->msg_init(to[inited], msgs[inited])) {
				skip(st, "msg_init failed");
				goto out_msgs;
			}
	}
	if (helper_start(&hb, aw_main, NULL)) {
		skip(st, "cannot start a thread");
		goto out_msgs;
	}
	(void)iort_clock_fast_ns();
	while (iob_state_keep_running(st)) {
		aw.target = aw.rt + round;
		aw.t0 = iort_clock_fast_ns();
		if (c->ri->post(&aw.ping)) {
			aw.err = "async_wakeup: post failed";
			break;
		}
		if (c->ri->run(aw.a) && !aw.err)
			aw.err = "the loop failed";
		if (aw.err)
			break;
		if (aw.rt != aw.target) {
			aw.err = "async_wakeup: a round ended early";
			break;
		}
		items += round;
	}
	if (c->ri->post(&aw.stop_b))
		aw.err = aw.err ? aw.err : "async_wakeup: cannot stop the other loop";
	else
		pthread_join(hb.t, NULL);
	/* MO relaxed: joined. */
	if (!aw.err && atomic_load_explicit(&aw.post_rc, memory_order_relaxed))
		aw.err = "async_wakeup: post failed";
	if (!aw.err && (hb.pin_err || aw.run_b_rc))
		aw.err = hb.pin_err ? "cannot pin the second loop's thread" : "the loop failed";
	if (aw.err)
		skip(st, aw.err);
	else if (items)
		report_latency(st, c, aw.h);
	iob_state_set_items_processed(st, (int64_t)items);
	if (aw.err && !strcmp(aw.err, "async_wakeup: cannot stop the other loop"))
		return; /* its thread still runs it: leak rather than free under it */
out_msgs:
	if (inited > 0)
		c->ri->msg_fini(&aw.ping);
	if (inited > 1)
		c->ri->msg_fini(&aw.pong);
	if (inited > 2)
		c->ri->msg_fini(&aw.stop_b);
	c->ri->destroy(aw.b);
out_a:
	c->ri->destroy(aw.a);
out_hist:
	iob_hist_destroy(aw.h);
}

/* ------------------------------------------------------------------------------------------ */
/* million_async: a producer posts into a loop kept busy by a turn callback. */

/* One line per message (ri_msg is 56 bytes): the producer's flag check, its post and the loop's
 * run touch the message's line, and no other message's. */
struct mmsg {
	struct ri_msg m; /* first: the message is the slot */
	_Atomic bool busy;
} IORT_CACHELINE_ALIGNED;
_Static_assert(sizeof(struct mmsg) == 64, "one cache line per message");

static struct {
	const struct rimpl *ri;
	void *loop;
	struct mmsg *msgs;
	uint64_t ran, target, turns; /* the loop's */
	uint64_t work_ns;	     /* the turn callback's busy time */
	uint64_t posted;	     /* the producer's, read after the join */
	_Atomic bool stop;
	_Atomic int post_rc;
} ma;

static void ma_turn(void *arg)
{
	(void)arg;
	ma.turns++;
	if (ma.work_ns)
		bench_spin_until(iort_clock_fast_ns() + ma.work_ns);
}

static void ma_run(struct ri_msg *m)
{
	struct mmsg *x = (struct mmsg *)m;

	/* MO bench_reactor.R1 (release): the loop is done with the message before the producer
	 * posts it again; pairs with bench_reactor.A1. */
	atomic_store_explicit(&x->busy, false, memory_order_release);
	if (++ma.ran == ma.target)
		ma.ri->stop(ma.loop);
}

static void *ma_producer(void *arg)
{
	uint64_t posted = 0;
	unsigned i = 0;

	(void)arg;
	/* MO relaxed: a request to stop; the join orders everything after it. */
	while (!atomic_load_explicit(&ma.stop, memory_order_relaxed)) {
		struct mmsg *x = &ma.msgs[i];
		unsigned spins = 0;

		/* MO bench_reactor.A1 (acquire): the loop's last run of this message is over;
		 * pairs with bench_reactor.R1. */
		while (atomic_load_explicit(&x->busy, memory_order_acquire)) {
			/* MO relaxed: as above. */
			if (atomic_load_explicit(&ma.stop, memory_order_relaxed))
				goto out;
			if (++spins % 64 == 0)
				sched_yield(); /* the loop may share this PU */
			else
				iort_cpu_relax();
		}
		/* MO relaxed: the post hands the message over (it orders this store). */
		atomic_store_explicit(&x->busy, true, memory_order_relaxed);
		if (ma.ri->post(&x->m)) {
			/* MO relaxed: read after the join. */
			atomic_store_explicit(&ma.post_rc, 1, memory_order_relaxed);
			/* MO relaxed: never posted: free again for the count below. */
			atomic_store_explicit(&x->busy, false, memory_order_relaxed);
			break;
		}
		posted++;
		i = i + 1 == WINDOW ? 0 : i + 1;
	}
out:
	ma.posted = posted;
	return NULL;
}

static uint64_t csw_self(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) ? 0 : (uint64_t)ru.ru_nvcsw;
}

static void bm_million(struct iob_state *st, void *arg)
{
	const struct rcase *c = arg;
	uint64_t round = smoke() ? MILLION_BS : MILLION_B, items = 0, csw = 0, turns = 0;
	const char *err = NULL;
	static struct helper hp;
	unsigned inited = 0;

	memset(&ma, 0, sizeof(ma));
	atomic_init(&ma.stop, false);
	atomic_init(&ma.post_rc, 0);
	ma.ri = c->ri;
	ma.work_ns = c->n;
	(void)iort_clock_fast_ns(); /* calibrate outside the loop */
	if (begin(st, c, true, 64, &ma.loop))
		return;
	ma.msgs = aligned_alloc(64, WINDOW * sizeof(*ma.msgs));
	if (!ma.msgs) {
		skip(st, "out of memory");
		goto out_loop;
	}
	memset(ma.msgs, 0, WINDOW * sizeof(*ma.msgs));
	for (; inited < WINDOW; inited++) {
		atomic_init(&ma.msgs[inited].busy, false);
		ma.msgs[inited].m.fn = ma_run;
		if (c->ri->msg_init(ma.loop, &ma.msgs[inited].m)) {
			skip(st, "msg_init failed");
			goto out_msgs;
		}
	}
	if (c->ri->turn_start(ma.loop, ma_turn, NULL)) {
		skip(st, "turn_start failed");
		goto out_msgs;
	}
	if (helper_start(&hp, ma_producer, NULL)) {
		skip(st, "cannot start a thread");
		goto out_turn;
	}
	while (iob_state_keep_running(st)) {
		uint64_t c0 = csw_self(), t0 = ma.turns, r0 = ma.ran;

		ma.target = r0 + round;
		if (c->ri->run(ma.loop)) {
			err = "the loop failed";
			break;
		}
		csw += csw_self() - c0;
		turns += ma.turns - t0;
		items += ma.ran - r0; /* the turn that reached the target may have run more */
	}
	/* MO relaxed: see ma_producer. */
	atomic_store_explicit(&ma.stop, true, memory_order_relaxed);
	pthread_join(hp.t, NULL);
	/* Run what is still in flight, so that every message is back before it is freed. */
	if (!err && ma.ran < ma.posted) {
		ma.target = ma.posted;
		if (c->ri->run(ma.loop))
			err = "the loop failed";
	}
	/* MO relaxed: joined. */
	if (!err && atomic_load_explicit(&ma.post_rc, memory_order_relaxed))
		err = "million_async: post failed";
	if (!err && hp.pin_err)
		err = "cannot pin the producer thread";
	if (!err && ma.ran != ma.posted)
		err = "million_async: a message ran twice or was lost";
	if (err)
		skip(st, err);
	else if (items) {
		iob_state_counter(st, "loop_csw_per_kmsg", 1000.0 * (double)csw / (double)items, 0);
		iob_state_counter(st, "turns_per_kmsg", 1000.0 * (double)turns / (double)items, 0);
	}
	iob_state_set_items_processed(st, (int64_t)items);
out_turn:
	c->ri->turn_stop(ma.loop);
out_msgs:
	while (inited)
		c->ri->msg_fini(&ma.msgs[--inited].m);
	free(ma.msgs);
out_loop:
	c->ri->destroy(ma.loop);
}

/* ------------------------------------------------------------------------------------------ */
/* registration */

#define SCENARIO(id, shape, k, ref, text, ...)    \
	static const struct bench_scenario id = { \
		.name = "reactor/" shape,         \
		.about = text,                    \
		.kind = k,                        \
		.timing = BENCH_REAL_TIME,        \
		.flags = BENCH_DEFAULT,           \
		.reference = ref,                 \
		.params = { __VA_ARGS__ },        \
	}
SCENARIO(sc_loop_count, "loop_count", BENCH_THROUGHPUT, "libuv",
	 "empty loop turns: a callback re-armed every turn (libuv's loop_count)", NULL);
SCENARIO(sc_pingpong, "tcp_pingpong", BENCH_LATENCY, "libuv",
	 "one loopback TCP connection, client and server in one loop, 8-byte round trips", NULL);
SCENARIO(sc_pound, "pound", BENCH_THROUGHPUT, "libuv",
	 "connect, accept, close: C loopback connections in flight (libuv's tcp_pound)", "conns");
SCENARIO(sc_pipes, "pipes", BENCH_TIME, "libevent",
	 "P socketpairs, one byte chained through them (libevent's bench.c); ns per event",
	 "pipes");
SCENARIO(sc_async, "async_wakeup", BENCH_LATENCY, "libuv",
	 "two loops on two threads bouncing a posted message: round trips", NULL);
SCENARIO(sc_million, "million_async", BENCH_THROUGHPUT, "libuv",
	 "a producer thread posting into a busy loop (each turn busy for W ns): messages run",
	 "work");

static struct rcase cases[NELEM(reactor_impls) * 9];
static size_t ncases;

static struct rcase *new_case(const struct rimpl *ri, enum rs sc, unsigned n,
			      const struct bench_scenario *s, const char *param)
{
	struct rcase *c = &cases[ncases++];

	c->ri = ri;
	c->sc = sc;
	c->n = n;
	snprintf(c->name, sizeof(c->name), "%s/%s%s", s->name, ri->impl.name, param ? param : "");
	return c;
}

static void register_all(void)
{
	static const int one[] = { 1 };
	static const char *const ns[] = { "100", "1000" };
	static const unsigned nv[] = { 100, 1000 };
	static const char *const ws[] = { "0", "1us" };
	static const unsigned wv[] = { 0, 1000 };

	for (size_t i = 0; i < NELEM(reactor_impls); i++) {
		const struct rimpl *ri = reactor_impls[i];

		bench_add(&sc_loop_count, &ri->impl, bm_loop_count,
			  new_case(ri, RS_LOOP_COUNT, 0, &sc_loop_count, NULL), one, 1, NULL);
		bench_add(&sc_pingpong, &ri->impl, bm_pingpong,
			  new_case(ri, RS_PINGPONG, 0, &sc_pingpong, NULL), one, 1, NULL);
		for (size_t k = 0; k < NELEM(nv); k++) {
			const char *values[1] = { ns[k] };

			bench_add(&sc_pound, &ri->impl, bm_pound,
				  new_case(ri, RS_POUND, nv[k], &sc_pound, NULL), one, 1, values);
			bench_add(&sc_pipes, &ri->impl, bm_pipes,
				  new_case(ri, RS_PIPES, nv[k], &sc_pipes, NULL), one, 1, values);
		}
		bench_add(&sc_async, &ri->impl, bm_async,
			  new_case(ri, RS_ASYNC, 0, &sc_async, NULL), one, 1, NULL);
		for (size_t k = 0; k < NELEM(wv); k++) {
			const char *values[1] = { ws[k] };

			bench_add(&sc_million, &ri->impl, bm_million,
				  new_case(ri, RS_MILLION, wv[k], &sc_million, NULL), one, 1,
				  values);
		}
	}
}

const struct bench_family bench_family_reactor = {
	.name = "reactor",
	.about = "event loops: ours on epoll and io_uring, libuv's and libevent's: empty turns, "
		 "TCP ping-pong, connection churn, chained pipes, cross-thread wake-ups and posts",
	.register_all = register_all,
};
