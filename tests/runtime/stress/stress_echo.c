/*
 * Thousands of connections through examples/echo_server (the reactor's tutorial), seeded.
 *
 * The server runs as a child process with 2 workers (one loop each, SO_REUSEPORT listeners) on a
 * port it picks. Four client threads open their share of the connections and keep them all open
 * at once (2000 in all, fewer when the descriptor limit is lower), then for several rounds send
 * each connection a message of random length (1 byte to 48 KiB: larger than the socket buffers,
 * so the server's partial writes and its WRITE interest are exercised) and read it back; between
 * rounds a random quarter of the connections close and reconnect (short-lived descriptors next to
 * long-lived ones). Checked: every byte comes back once, in order, on its own connection; the
 * server exits 0 on SIGTERM with every connection still open (it closes them itself).
 *
 * Usage: stress_echo PATH_TO_ECHO_SERVER
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"

#define THREADS	 4
#define MAX_CONN 2000
#define MAX_MSG	 (48 * 1024)

extern char **environ;

static int port;
static unsigned per_thread;
static int rounds;

static int dial(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	for (int tries = 0;; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		STRESS_CHECK(fd >= 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		/* A full accept backlog refuses for a moment: retry, bounded. */
		STRESS_CHECK(errno == ECONNREFUSED || errno == EAGAIN || errno == ETIMEDOUT);
		STRESS_CHECK(tries < 1000);
		close(fd);
		sched_yield();
	}
}

/* Send @len bytes and read them back; the writer is a second thread of ours only in spirit: the
 * message is sent in pieces interleaved with reads, so neither side's buffer can deadlock. */
static void echo_once(int fd, const unsigned char *msg, size_t len, unsigned char *back)
{
	size_t sent = 0, got = 0;

	while (got < len) {
		if (sent < len) {
			size_t n = len - sent < 4096 ? len - sent : 4096;
			ssize_t w = send(fd, msg + sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				sent += (size_t)w;
			else
				STRESS_CHECK(errno == EAGAIN || errno == EINTR);
		}
		ssize_t r = recv(fd, back + got, len - got, sent < len ? MSG_DONTWAIT : 0);
		if (r > 0)
			got += (size_t)r;
		else
			STRESS_CHECK(r < 0 && (errno == EAGAIN || errno == EINTR));
	}
	STRESS_CHECK(memcmp(msg, back, len) == 0);
}

struct client {
	uint64_t rng;
	int fds[MAX_CONN];
	uint64_t bytes, reconnects;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	unsigned char *msg = malloc(MAX_MSG), *back = malloc(MAX_MSG);

	STRESS_CHECK(msg != NULL && back != NULL);
	for (unsigned i = 0; i < per_thread; i++)
		c->fds[i] = dial();
	for (int r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < per_thread; i++) {
			uint64_t x = stress_rand(&c->rng);
			/* Mostly small messages; one in 64 larger than the socket buffers. */
			size_t len = (x & 63) == 0 ? 1 + (size_t)(x >> 8) % MAX_MSG
						   : 1 + (size_t)(x >> 8) % 512;
			for (size_t k = 0; k < len; k++)
				msg[k] = (unsigned char)(x >> (k % 57));
			echo_once(c->fds[i], msg, len, back);
			c->bytes += len;
		}
		for (unsigned i = 0; i < per_thread; i++)
			if ((stress_rand(&c->rng) & 3) == 0) {
				close(c->fds[i]);
				c->fds[i] = dial();
				c->reconnects++;
			}
	}
	free(msg);
	free(back);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: stress_echo PATH_TO_ECHO_SERVER\n");
		return 2;
	}
	uint64_t rng = stress_seed("stress_echo");
	stress_watchdog(300);
	signal(SIGPIPE, SIG_IGN);

	/* Both sides of every connection live in this process and the server: raise the limit. */
	struct rlimit rl;
	STRESS_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl); /* the child inherits it */
	STRESS_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	unsigned total = MAX_CONN;
	if (rl.rlim_cur < (rlim_t)total + 200)
		total = rl.rlim_cur > 400 ? (unsigned)rl.rlim_cur - 200 : 100;
	per_thread = total / THREADS;
	rounds = (int)stress_scale(6);

	int out[2];
	STRESS_CHECK(pipe(out) == 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	char port_arg[] = "0", workers_arg[] = "2";
	char *args[] = { argv[1], port_arg, workers_arg, NULL };
	pid_t pid;
	STRESS_CHECK(posix_spawn(&pid, argv[1], &fa, NULL, args, environ) == 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	char line[64] = { 0 };
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		ssize_t k = read(out[0], line + n, 1);
		STRESS_CHECK(k == 1); /* the server died before it listened */
		if (line[n++] == '\n')
			break;
	}
	STRESS_CHECK(sscanf(line, "listening on %d", &port) == 1 && port > 0);
	close(out[0]);

	struct client *cs = calloc(THREADS, sizeof(*cs));
	pthread_t th[THREADS];
	STRESS_CHECK(cs != NULL);
	for (int i = 0; i < THREADS; i++) {
		cs[i].rng = stress_rand(&rng);
		STRESS_CHECK(pthread_create(&th[i], NULL, client_main, &cs[i]) == 0);
	}
	uint64_t bytes = 0, reconnects = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		bytes += cs[i].bytes;
		reconnects += cs[i].reconnects;
	}
	/* Stop the server with every connection open: it must close them and exit 0. */
	STRESS_CHECK(kill(pid, SIGTERM) == 0);
	int status;
	STRESS_CHECK(waitpid(pid, &status, 0) == pid);
	STRESS_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < THREADS; i++)
		for (unsigned k = 0; k < per_thread; k++)
			close(cs[i].fds[k]);
	printf("stress_echo: %u connections open at once, %d rounds, %" PRIu64
	       " bytes echoed, %" PRIu64 " reconnects: ok\n",
	       per_thread * THREADS, rounds, bytes, reconnects);
	free(cs);
	return 0;
}
