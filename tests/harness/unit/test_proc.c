/*
 * harness/lib/proc.c: iob_child_run(), the one way the harness runs a program. How a child
 * ended (exit status, signal, exec failure), where its streams went, the time limit (SIGTERM,
 * then SIGKILL after the grace period), the stop flag, and that whatever it left in its process
 * group is gone when it returns. Children are /bin/sh scripts, in a scratch folder.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"

static char dir[PATH_MAX];

static void sh(const char *script, const struct iob_child_opts *o, struct iob_child_end *e)
{
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)script, NULL };

	iob_child_run(argv, o, e);
}

static char *slurp(const char *name)
{
	char path[PATH_MAX + 64];
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = iob_read_file(path, &len);
	assert_non_null(text);
	return text;
}

static void test_exit_and_signal(void **state)
{
	struct iob_child_end e;
	char *missing[] = { (char *)"/nonexistent/program", NULL };

	(void)state;
	sh("exit 3", NULL, &e);
	assert_int_equal(e.start_err, 0);
	assert_int_equal(e.status, 3);
	assert_int_equal(e.sig, 0);
	assert_false(e.timed_out || e.stopped);
	sh("kill -SEGV $$", NULL, &e);
	assert_int_equal(e.sig, SIGSEGV); /* the keeper ends the way its child did */
	iob_child_run(missing, NULL, &e);
	assert_int_equal(e.status, 127);
	{
		char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"kill -TERM $$", NULL };

		assert_int_equal(iob_spawn_wait(argv, "/dev/null", "/dev/null"), 128 + SIGTERM);
	}
}

static void test_streams(void **state)
{
	char log[PATH_MAX + 16], out[PATH_MAX + 16];
	struct iob_child_end e;
	char *text;

	(void)state;
	snprintf(log, sizeof(log), "%s/log", dir);
	/* stdout and stderr in one file share its offset: nothing written over. */
	sh("echo one; echo two >&2; echo three", &(struct iob_child_opts){ .out = log, .err = log },
	   &e);
	assert_int_equal(e.status, 0);
	text = slurp("log");
	assert_string_equal(text, "one\ntwo\nthree\n");
	free(text);
	/* iob_spawn_wait: stdin is /dev/null, so a read returns at once. */
	snprintf(out, sizeof(out), "%s/out", dir);
	{
		char *argv[] = { (char *)"/bin/sh", (char *)"-c",
				 (char *)"read x; echo \"[$x] $?\"", NULL };

		assert_int_equal(iob_spawn_wait(argv, out, "/dev/null"), 0);
	}
	text = slurp("out");
	assert_string_equal(text, "[] 1\n");
	free(text);
}

static void test_timeout(void **state)
{
	struct iob_child_end e;

	(void)state;
	sh("sleep 30", &(struct iob_child_opts){ .timeout = 0.2 }, &e);
	assert_true(e.timed_out);
	assert_false(e.stopped);
	assert_int_equal(e.sig, SIGTERM);
	assert_true(e.seconds >= 0.2 && e.seconds < 10);
	/* A child that ignores SIGTERM is killed after the grace period. The timeout leaves the
	 * shell a second to install its trap: with 0.1 s a loaded machine (load 10 on 2 vCPUs)
	 * sometimes sent SIGTERM first, and the shell died of it. */
	sh("trap '' TERM; sleep 30; sleep 30",
	   &(struct iob_child_opts){ .timeout = 1.0, .grace = 0.2 }, &e);
	assert_true(e.timed_out);
	assert_int_equal(e.sig, SIGKILL);
	assert_true(e.seconds >= 1.2 && e.seconds < 10);
}

static void test_stop_flag(void **state)
{
	volatile sig_atomic_t stop = 1;
	struct iob_child_end e;

	(void)state;
	sh("sleep 30", &(struct iob_child_opts){ .timeout = 60, .stop = &stop }, &e);
	assert_true(e.stopped);
	assert_false(e.timed_out);
	assert_int_equal(e.sig, SIGTERM);
	assert_true(e.seconds < 10);
}

/* Whether @p pid is gone (or a zombie waiting for init to reap it). */
static bool dead(long pid)
{
	char path[64], stat[256] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (!fgets(stat, sizeof(stat), f))
		stat[0] = '\0';
	fclose(f);
	return strstr(stat, ") Z ") != NULL;
}

static void test_group_cleanup(void **state)
{
	char script[PATH_MAX + 64];
	struct iob_child_end e;
	long pid = 0;
	char *text;

	(void)state;
	/* The child leaves a grandchild behind and exits 0: it must not outlive the call. */
	snprintf(script, sizeof(script), "sleep 30 & echo $! > '%s/pid'; exit 0", dir);
	sh(script, NULL, &e);
	assert_int_equal(e.status, 0);
	text = slurp("pid");
	pid = strtol(text, NULL, 10);
	free(text);
	assert_true(pid > 1);
	for (int i = 0; i < 200 && !dead(pid); i++) /* init reaps it shortly */
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	assert_true(dead(pid));
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/iob-proc-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_and_signal), cmocka_unit_test(test_streams),
		cmocka_unit_test(test_timeout),		cmocka_unit_test(test_stop_flag),
		cmocka_unit_test(test_group_cleanup),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
