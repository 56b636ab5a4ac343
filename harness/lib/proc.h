/**
 * Child processes and files for the iobench commands: run a program (fork/exec with an argument
 * vector, never a shell) with a time limit and wait for it, describe how it ended, create
 * folders, read a file. Every child runs under a keeper process, so that it and its own children
 * die with iobench. Nothing in the harness forks another way.
 *
 * Synchronization: none; one thread. iob_child_run() flushes every stdio stream before fork().
 */
#ifndef IOB_PROC_H
#define IOB_PROC_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Where a child's streams go, and when to stop it. */
struct iob_child_opts {
	/* Paths for stdin, stdout, stderr (created or truncated, mode 0666 & ~umask), or NULL to
	 * inherit ours. err equal to out (the same string) shares one file and its offset. */
	const char *in, *out, *err;
	double timeout; /* seconds before the child is stopped; 0: no limit */
	double grace;	/* seconds from SIGTERM to SIGKILL when stopping it; 0: 2 s */
	/* When *stop becomes non-zero (a signal handler sets it), the child is stopped as on a
	 * timeout; NULL: never. */
	volatile sig_atomic_t *stop;
};

/** How a child ended. */
struct iob_child_end {
	int start_err;	/* -errno: fork() or waiting failed; nothing below is set */
	int status;	/* its exit status when it exited (127: exec failed; 126: the keeper
			 * could not set it up) */
	int sig;	/* the signal that killed it, 0 when it exited */
	bool timed_out; /* we stopped it: timeout */
	bool stopped;	/* we stopped it: *stop was set */
	double seconds; /* wall time from start to end */
};

/**
 * THE way iobench runs a program: argv[0] (a path, no PATH search) with @p argv, in a new
 * process group that dies with us, and wait for it. Streams, time limit and stop flag from
 * @p o (NULL: inherit everything, no limit).
 *
 * The group's leader is a small keeper, not argv[0]: PR_SET_PDEATHSIG reaches only a direct
 * child, and a SIGKILLed parent can do nothing, so the keeper (our direct child, signalled by the
 * kernel with SIGHUP when we die) kills its group, grandchildren included. It runs argv[0] as its
 * own child, which also dies (SIGKILL) if the keeper does, and ends as that child ended: the same
 * exit status, or killed by the same signal. It ignores SIGTERM and SIGINT, so a SIGTERM sent to
 * the group reaches argv[0] and the keeper reports how argv[0] took it.
 *
 * On timeout or stop the group gets SIGTERM, then SIGKILL after the grace period. When the child
 * has ended, whatever it left running in its group is killed before it is reaped (the group id
 * is still reserved then, so the kill cannot hit a stranger). Flushes every stdio stream first.
 */
void iob_child_run(char *const argv[], const struct iob_child_opts *o, struct iob_child_end *e);

/**
 * iob_child_run() with stdin /dev/null (in its own process group, a read of the terminal would
 * stop it), stdout to @p out_path and stderr to @p err_path (NULL inherits ours), no time limit.
 * @return its exit status, 128 + the signal that killed it, or -errno when it did not start
 * (an exec failure is exit status 127, with a message on the child's stderr).
 */
int iob_spawn_wait(char *const argv[], const char *out_path, const char *err_path);

/**
 * Describe an iob_spawn_wait() result into @p why: "did not start: <strerror>", "killed by signal
 * N (<name>)" or "exit status N".
 */
void iob_describe_status(int rc, char *why, size_t len);

/**
 * mkdir -p: create @p path and its missing parents (mode 0777 & ~umask); existing ones are fine.
 * @return 0, -ENAMETOOLONG (empty or longer than PATH_MAX) or -errno of the mkdir() that failed.
 */
int iob_mkdirs(const char *path);

/**
 * Read the whole file @p path into a malloc()ed buffer, NUL-terminated (one byte beyond *@p len).
 * @return the buffer (caller free()s) with its size in *@p len, or NULL with errno set: the
 * open() or read() error (EISDIR for a folder), or ENOMEM.
 */
char *iob_read_file(const char *path, size_t *len);
/** iob_read_file() of at most @p max bytes: NULL with errno EFBIG when the file holds more. */
char *iob_read_file_max(const char *path, size_t max, size_t *len);

/**
 * snprintf that reports truncation (and keeps gcc's -Wformat-truncation quiet about buffers the
 * caller checks this way). @return 0, or -ENAMETOOLONG when @p out was too small (it then holds
 * the truncated text).
 */
__attribute__((format(printf, 3, 4))) int iob_fmt(char *out, size_t len, const char *fmt, ...);
/** iob_fmt() with a va_list, for callers that wrap it. */
__attribute__((format(printf, 3, 0))) int iob_vfmt(char *out, size_t len, const char *fmt,
						   va_list ap);

#ifdef __cplusplus
}
#endif

#endif /* IOB_PROC_H */
