/*
 * Child processes and files shared by the iobench commands (harness/proc.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

/* In the child: point @p fd at @p path. @return 0 or -1. */
static int redirect(int fd, const char *path)
{
	int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);

	if (f < 0 || dup2(f, fd) < 0)
		return -1;
	close(f);
	return 0;
}

int iob_spawn_wait(char *const argv[], const char *out_path, const char *err_path)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (out_path && redirect(STDOUT_FILENO, out_path))
			_exit(126);
		/* One file for both: share stdout's open file (and offset), or the two streams would
		 * write over each other from separate offsets. */
		if (err_path && out_path && strcmp(err_path, out_path) == 0) {
			if (dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
				_exit(126);
		} else if (err_path && redirect(STDERR_FILENO, err_path)) {
			_exit(126);
		}
		execv(argv[0], argv);
		fprintf(stderr, "iobench: cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
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

char *iob_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;
	int err = EIO;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (!buf) {
			err = ENOMEM;
		} else if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
			err = ferror(f) && errno ? errno : EIO;
			free(buf);
			buf = NULL;
		} else {
			buf[size] = '\0';
			*len = (size_t)size;
		}
	} else {
		err = errno ? errno : EIO;
	}
	fclose(f);
	if (!buf)
		errno = err;
	return buf;
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
