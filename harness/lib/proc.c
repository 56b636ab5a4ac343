/*
 * Child processes and files shared by the iobench commands (harness/proc.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

/* Where a child's standard streams go: a path, or NULL to inherit ours. */
struct spawn_io {
	const char *in, *out, *err; /* err equal to out: one file, one offset */
};

/* In the keeper: point @p fd at @p path (opened with @p flags). @return 0 or -1. */
static int redirect(int fd, const char *path, int flags)
{
	int f = open(path, flags | O_CLOEXEC, 0666);

	return f < 0 || dup2(f, fd) < 0 ? -1 : 0; /* dup2's copy is not close-on-exec */
}

/* The keeper's PR_SET_PDEATHSIG: our parent (iobench) died; take the whole group with us. */
static void keeper_on_parent_death(int sig)
{
	(void)sig;
	kill(0, SIGKILL); /* async-signal-safe; the keeper is in the group and goes too */
}

/* spawn_kept()'s keeper: the group leader between iobench and argv[0]. Never returns. */
__attribute__((noreturn)) static void keeper(char *const argv[], const struct spawn_io *io,
					     pid_t parent)
{
	const int wr = O_WRONLY | O_CREAT | O_TRUNC;
	struct sigaction sa;
	struct rlimit no_core = { 0, 0 };
	pid_t self, child;
	int status, sig;

	setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = keeper_on_parent_death;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGHUP);
	/* The parent may have died before prctl(): then no signal comes; we were reparented. */
	if (getppid() != parent)
		_exit(126);
	signal(SIGINT, SIG_IGN);
	/* SIGTERM is blocked, not ignored: an ignored one sent to the group before the fork below
	 * would be lost (the child would inherit SIG_IGN until it resets it, and a signal sent
	 * before the fork is pending only here). Blocked, it stays pending and is forwarded. */
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	if ((io->in && redirect(STDIN_FILENO, io->in, O_RDONLY)) ||
	    (io->out && redirect(STDOUT_FILENO, io->out, wr)))
		_exit(126);
	/* One file for both: share stdout's open file (and offset), or the two streams would
	 * write over each other from separate offsets. */
	if (io->err && io->out && strcmp(io->err, io->out) == 0) {
		if (dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
			_exit(126);
	} else if (io->err && redirect(STDERR_FILENO, io->err, wr)) {
		_exit(126);
	}
	self = getpid();
	child = fork();
	if (child < 0) {
		fprintf(stderr, "iobench: cannot start %s: %s\n", argv[0], strerror(errno));
		_exit(126);
	}
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self)
			_exit(126);
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &term, NULL); /* a SIGTERM sent since the fork: now */
		execv(argv[0], argv);
		fprintf(stderr, "iobench: cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	/* A SIGTERM that reached the group before the child existed is pending here only. */
	sigset_t pending;
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGTERM))
		kill(child, SIGTERM);
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			kill(0, SIGKILL);
			_exit(126);
		}
	}
	if (!WIFSIGNALED(status))
		_exit(WEXITSTATUS(status));
	/* End the way the child did, without a second core dump. */
	sig = WTERMSIG(status);
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	{
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	raise(sig);
	_exit(128 + sig); /* a signal whose default is not to terminate: cannot have killed it */
}

/* Start argv[0] under a keeper (iob_child_run() tells the story). @return its pid or -errno. */
static pid_t spawn_kept(char *const argv[], const struct spawn_io *io)
{
	pid_t parent = getpid(), p;

	fflush(NULL);
	p = fork();
	if (p < 0)
		return errno ? -errno : -EAGAIN;
	if (p == 0)
		keeper(argv, io, parent);
	setpgid(p, p); /* also here: no window where a signal to the group misses it */
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void iob_child_run(char *const argv[], const struct iob_child_opts *o, struct iob_child_end *e)
{
	static const struct iob_child_opts inherit = { 0 };
	const struct spawn_io io = { .in = (o = o ? o : &inherit)->in,
				     .out = o->out,
				     .err = o->err };
	const double grace = o->grace > 0 ? o->grace : 2.0;
	/* Without a limit or a stop flag, nothing to watch: block in waitid() instead of polling. */
	const bool poll = o->timeout > 0 || o->stop;
	double start = now_s(), kill_at = 0;
	bool stopping = false, killed = false;
	siginfo_t info;
	pid_t pid;
	int status, w;

	memset(e, 0, sizeof(*e));
	pid = spawn_kept(argv, &io);
	if (pid < 0) {
		e->start_err = (int)pid;
		return;
	}
	for (;;) {
		struct timespec tick = { 0, 10 * 1000 * 1000 };
		bool stop;
		double t;

		/* WNOWAIT: the ended keeper stays a zombie, so its group id cannot be reused yet. */
		memset(&info, 0, sizeof(info));
		w = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT | (poll ? WNOHANG : 0));
		if (w == 0 && info.si_pid == pid)
			break;
		if (w < 0 && errno != EINTR) {
			e->start_err = -errno;
			kill(-pid, SIGKILL);
			return;
		}
		if (!poll)
			continue;
		t = now_s();
		stop = o->stop && *o->stop;
		if (!stopping && (stop || (o->timeout > 0 && t - start > o->timeout))) {
			e->stopped = stop;
			e->timed_out = !stop;
			kill(-pid, SIGTERM);
			stopping = true;
			kill_at = t + grace;
		} else if (stopping && !killed && t > kill_at) {
			kill(-pid, SIGKILL);
			killed = true;
		}
		nanosleep(&tick, NULL);
	}
	kill(-pid, SIGKILL); /* whatever argv[0] left behind in its group */
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			e->start_err = -errno;
			return;
		}
	}
	e->seconds = now_s() - start;
	if (WIFSIGNALED(status))
		e->sig = WTERMSIG(status);
	else
		e->status = WEXITSTATUS(status);
}

int iob_spawn_wait(char *const argv[], const char *out_path, const char *err_path)
{
	const struct iob_child_opts o = { .in = "/dev/null", .out = out_path, .err = err_path };
	struct iob_child_end e;

	iob_child_run(argv, &o, &e);
	if (e.start_err)
		return e.start_err;
	return e.sig ? 128 + e.sig : e.status;
}

void iob_describe_status(int rc, char *why, size_t len)
{
	if (rc < 0)
		snprintf(why, len, "did not start: %s", strerror(-rc));
	else if (rc > 128)
		snprintf(why, len, "killed by signal %d (%s)", rc - 128, strsignal(rc - 128));
	else
		snprintf(why, len, "exit status %d", rc);
}

int iob_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0777) && errno != EEXIST)
		return -errno;
	return 0;
}

char *iob_read_file_max(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	size_t cap, n = 0;
	char *buf = NULL, *more;
	struct stat st;
	ssize_t r;

	if (fd < 0)
		return NULL;
	if (max > SIZE_MAX / 2 - 2)
		max = SIZE_MAX / 2 - 2; /* cap stays representable */
	if (fstat(fd, &st)) {
		err = errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) { /* say so before allocating for its st_size */
		err = EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
		err = EFBIG;
		goto out;
	}
	/* The size is a hint (pipes and /proc say 0; a file may grow): read until EOF. */
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 2 : 4096;
	if (!(buf = malloc(cap))) {
		err = ENOMEM;
		goto out;
	}
	for (;;) {
		if (n + 1 == cap) {
			cap = cap > max / 2 ? max + 2
					    : 2 * cap; /* room for max + 1 bytes and NUL */
			if (!(more = realloc(buf, cap))) {
				err = ENOMEM;
				goto out;
			}
			buf = more;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			err = EFBIG;
			goto out;
		}
	}
	buf[n] = '\0';
	*len = n;
out:
	close(fd);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	return buf;
}

char *iob_read_file(const char *path, size_t *len)
{
	return iob_read_file_max(path, SIZE_MAX, len);
}

int iob_vfmt(char *out, size_t len, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, len, fmt, ap);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int iob_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = iob_vfmt(out, len, fmt, ap);
	va_end(ap);
	return rc;
}
