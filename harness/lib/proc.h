/**
 * Child processes and files for the iobench commands: run a program (fork/exec with an argument
 * vector, never a shell) and wait for it, describe how it ended, create folders, read a file.
 * Every child runs under a keeper process, so that it and its own children die with iobench.
 *
 * Synchronization: none; one thread. iob_spawn_wait() flushes every stdio stream before fork().
 */
#ifndef IOB_PROC_H
#define IOB_PROC_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Run argv[0] (a path, no PATH search) with @p argv and wait for it, under the same keeper as
 * iob_child_spawn(): it and anything it starts die with us, even when we are SIGKILLed, and
 * whatever it leaves running in its process group is killed when it ends. Its stdout goes to
 * @p out_path and its stderr to @p err_path (created or truncated, mode 0666 & ~umask; the same
 * path for both shares one file offset; a child that cannot open them exits 126); NULL inherits
 * ours. stdin is /dev/null (in its own process group, a read of the terminal would stop it).
 * @return its exit status, 128 + the signal that killed it, or -errno when fork() or waitid()
 * failed (an exec failure is exit status 127, with a message on the child's stderr).
 */
int iob_spawn_wait(char *const argv[], const char *out_path, const char *err_path);

/**
 * Start argv[0] (a path, no PATH search) with @p argv in a new process group that dies with us:
 * when this process ends, even by SIGKILL, the whole group is killed, grandchildren included.
 * stdout and stderr go to @p log_path (created or truncated); stdin is inherited.
 *
 * The group's leader, whose pid is *@p pid, is a small keeper, not argv[0]: PR_SET_PDEATHSIG
 * reaches only a direct child, and a SIGKILLed parent can do nothing, so the keeper (our direct
 * child, signalled by the kernel with SIGHUP when we die) kills its group. It runs argv[0] as its
 * own child, which also dies (SIGKILL) if the keeper does, and ends as that child ended: the same
 * exit status, or killed by the same signal. It ignores SIGTERM and SIGINT, so a SIGTERM sent to
 * the group reaches argv[0] and the keeper reports how argv[0] took it.
 *
 * The caller waits for *@p pid (waitpid), stops the group with kill(-*pid, ...), and should kill
 * the group once more with SIGKILL after the keeper ended but before reaping it (waitid with
 * WNOWAIT), which takes down anything argv[0] left behind while the group id is still reserved.
 * @return 0, or -errno when fork() failed (an exec failure is exit status 127, with a message in
 * the log; a log that cannot be opened is exit status 126).
 */
int iob_child_spawn(char *const argv[], const char *log_path, pid_t *pid);

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
