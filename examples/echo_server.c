/*
 * echo_server: a TCP echo server on libiort's reactor, one event loop per core.
 *
 *   echo_server PORT [WORKERS]      PORT 0 picks a free port; WORKERS 0 (default): one per CPU
 *
 * It prints "listening on PORT" once every worker listens, and exits 0 on SIGINT or SIGTERM.
 *
 * The shape (thread per core, as a reactor is meant to be used):
 *  - iort_loop_pool_create() starts the workers, each owning an event loop;
 *  - each worker gets its own listening socket on the same port (SO_REUSEPORT: the kernel spreads
 *    new connections over them), registered on its own loop, so a connection lives and dies on
 *    one thread and nothing is shared between workers;
 *  - readiness is edge-triggered: a callback reads (or writes) until EAGAIN, else it would not be
 *    called again until new data arrives. Data the peer is too slow to take waits in the
 *    connection's buffer, with WRITE added to the interest, and reading stops until it drains
 *    (backpressure: a slow reader cannot make the server buffer without limit).
 * Registration must happen on the loop's own thread, so main posts a setup callback to each
 * worker's loop (iort_loop_post) and waits for them to report.
 */
#include <iort/pool.h>
#include <iort/reactor.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 16384

struct conn {
	struct conn *prev, *next; /* the worker's open connections */
	struct worker *w;
	int fd;
	size_t len, off; /* bytes in buf not yet written back: buf[off..len) */
	char buf[BUF_SIZE];
};

struct worker {
	struct iort_post setup;
	struct iort_loop *loop;
	struct conn *conns; /* touched only on the worker's thread */
	int listen_fd;
	int err; /* set by setup */
	_Atomic int ready;
};

static void conn_close(struct iort_loop *l, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	(void)iort_io_stop(l, c->fd); /* before close: the number may be reused at once */
	close(c->fd);
	free(c);
}

/* Write what is buffered. @return 0 (all written), 1 (the socket is full), -1 (error). */
static int conn_flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 1 : errno == EINTR ? 0 : -1;
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return 0;
}

static void conn_ready(struct iort_loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (events & IORT_IO_ERROR)
		goto drop;
	for (;;) {
		int f = conn_flush(c);
		if (f < 0)
			goto drop;
		if (f > 0) {
			/* The peer reads slowly: stop reading until WRITE says there is room. */
			(void)iort_io_modify(l, c->fd, IORT_IO_WRITE);
			return;
		}
		ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (n > 0) {
			c->len = (size_t)n;
			continue;
		}
		if (n == 0)
			goto drop; /* the peer closed: everything it sent was echoed */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			goto drop;
		/* Drained both ways: wait for the next read edge. */
		(void)iort_io_modify(l, c->fd, IORT_IO_READ);
		return;
	}
drop:
	conn_close(l, c);
}

static void on_accept(struct iort_loop *l, int lfd, uint32_t events, void *arg)
{
	struct worker *w = arg;

	(void)events;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* EAGAIN: drained. EMFILE/ENFILE: out of descriptors; the pending
			 * connections wait in the backlog until one closes. */
			return;
		}
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = malloc(sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = c->off = 0;
		c->w = w;
		/* A new socket may already hold data: the registration reports it at once. */
		if (iort_io_start(l, fd, IORT_IO_READ, conn_ready, c) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->prev = NULL;
		c->next = w->conns;
		if (w->conns != NULL)
			w->conns->prev = c;
		w->conns = c;
	}
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4096) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Runs on the worker's own thread: its loop is the current one. */
static void worker_setup(struct iort_post *p)
{
	struct worker *w = (struct worker *)p;

	w->err = iort_io_start(iort_loop_current(), w->listen_fd, IORT_IO_READ, on_accept, w);
	atomic_store(&w->ready, 1);
}

static void worker_teardown(struct iort_post *p)
{
	struct worker *w = (struct worker *)p;

	(void)iort_io_stop(iort_loop_current(), w->listen_fd);
	while (w->conns != NULL)
		conn_close(iort_loop_current(), w->conns);
	atomic_store(&w->ready, 2);
}

static int parse(const char *s, long lo, long hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);

	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "echo_server: bad %s '%s' (expected %ld..%ld)\n", what, s, lo, hi);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: echo_server PORT [WORKERS]\n");
		return 2;
	}
	int port = parse(argv[1], 0, 65535, "port");
	unsigned nw = argc == 3 ? (unsigned)parse(argv[2], 0, 1024, "worker count") : 0;

	/* Signals go to sigwait below, not to the workers (they inherit this mask). */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	struct iort_pool_config pc = { .workers = nw };
	struct iort_pool *pool;
	int err = iort_loop_pool_create(&pc, NULL, &pool);
	if (err != 0) {
		fprintf(stderr, "echo_server: cannot start the workers: %s\n", strerror(-err));
		return 1;
	}
	if (nw == 0)
		while (iort_loop_of_worker(pool, nw) != NULL)
			nw++;
	struct worker *ws = calloc(nw, sizeof(*ws));
	if (ws == NULL) {
		fprintf(stderr, "echo_server: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < nw; i++) {
		ws[i].loop = iort_loop_of_worker(pool, i);
		ws[i].listen_fd = listen_on(port);
		if (ws[i].listen_fd < 0) {
			fprintf(stderr, "echo_server: cannot listen on port %d: %s\n", port,
				strerror(-ws[i].listen_fd));
			return 1;
		}
		if (port == 0) { /* the first socket picked the port: the others share it */
			struct sockaddr_in a;
			socklen_t alen = sizeof(a);
			getsockname(ws[i].listen_fd, (struct sockaddr *)&a, &alen);
			port = ntohs(a.sin_port);
		}
		if (iort_loop_post(ws[i].loop, &ws[i].setup, worker_setup) != 0)
			return 1;
	}
	for (unsigned i = 0; i < nw; i++) {
		while (atomic_load(&ws[i].ready) == 0)
			sched_yield(); /* a worker's loop runs the setup within one turn */
		if (ws[i].err != 0) {
			fprintf(stderr, "echo_server: cannot register the listener: %s\n",
				strerror(-ws[i].err));
			return 1;
		}
	}
	printf("listening on %d\n", port);
	fflush(stdout);

	int sig;
	sigwait(&sigs, &sig);
	for (unsigned i = 0; i < nw; i++) {
		(void)iort_loop_post(ws[i].loop, &ws[i].setup, worker_teardown);
		while (atomic_load(&ws[i].ready) != 2)
			sched_yield();
		close(ws[i].listen_fd);
	}
	iort_pool_destroy(pool);
	free(ws);
	return 0;
}
