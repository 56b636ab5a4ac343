/*
 * harness/lib/locate.c: the RUN resolver (a run folder, a results file, a run name under
 * results/; missing runs and hostile names) and the locators' overrides. Each test works in a
 * scratch folder it chdir()s into, so relative paths and results/<name> are its own.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "locate.h"

static char scratch[PATH_MAX], home[PATH_MAX];

static void make_file(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("{}\n", f);
	assert_int_equal(fclose(f), 0);
}

static void make_run(const char *dir)
{
	char p[PATH_MAX + 16];

	assert_int_equal(mkdir(dir, 0777), 0);
	snprintf(p, sizeof(p), "%s/results.json", dir);
	make_file(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "%s/iob-locate-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(scratch) || !getcwd(home, sizeof(home)) || chdir(scratch))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	if (chdir(home))
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	return system(cmd) == 0 ? 0 : -1;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static void test_folder(void **state)
{
	struct iob_run_path r;
	char err[512];

	(void)state;
	make_run("run1");
	assert_int_equal(iob_run_resolve("run1", &r, err, sizeof(err)), 0);
	assert_string_equal(r.dir, "run1");
	assert_string_equal(r.file, "run1/results.json");
	assert_int_equal(iob_run_resolve("./run1", &r, err, sizeof(err)), 0);
	assert_string_equal(r.file, "./run1/results.json");

	/* A folder without results.json is no run: named, and why. */
	assert_int_equal(mkdir("empty", 0777), 0);
	assert_int_equal(iob_run_resolve("empty", &r, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "'empty' is not a run folder (no results.json)"));
}

static void test_file(void **state)
{
	struct iob_run_path r;
	char err[512];

	(void)state;
	make_run("run2");
	assert_int_equal(iob_run_resolve("run2/results.json", &r, err, sizeof(err)), 0);
	assert_string_equal(r.file, "run2/results.json");
	assert_string_equal(r.dir, "run2");
	/* Any file name: the folder is the one that holds it. */
	make_file("other.json");
	assert_int_equal(iob_run_resolve("other.json", &r, err, sizeof(err)), 0);
	assert_string_equal(r.file, "other.json");
	assert_string_equal(r.dir, ".");
	{
		char abs[PATH_MAX + 32];

		snprintf(abs, sizeof(abs), "%s/other.json", scratch);
		assert_int_equal(iob_run_resolve(abs, &r, err, sizeof(err)), 0);
		assert_string_equal(r.dir, scratch);
	}
}

static void test_name(void **state)
{
	struct iob_run_path r;
	char err[512];
	const char *name = "20260101T000000Z-0123456789ab-dirty";
	char dir[PATH_MAX];

	(void)state;
	assert_int_equal(mkdir("results", 0777), 0);
	snprintf(dir, sizeof(dir), "results/%s", name);
	make_run(dir);
	assert_int_equal(iob_run_resolve(name, &r, err, sizeof(err)), 0);
	assert_string_equal(r.dir, dir);
	assert_string_equal(r.file, "results/20260101T000000Z-0123456789ab-dirty/results.json");

	/* A folder of that name here wins over results/<name>. */
	make_run("shadow");
	make_run("results/shadow");
	assert_int_equal(iob_run_resolve("shadow", &r, err, sizeof(err)), 0);
	assert_string_equal(r.dir, "shadow");

	/* results/<name> without results.json: not a run folder, named. */
	assert_int_equal(mkdir("results/half", 0777), 0);
	assert_int_equal(iob_run_resolve("half", &r, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "'results/half' is not a run folder"));
}

static void test_missing(void **state)
{
	struct iob_run_path r;
	char err[512];

	(void)state;
	assert_int_equal(iob_run_resolve("nope", &r, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "nope: No such file or directory (nor a run of that name in "
				 "results/)");
	/* A path is only a path: no run-name hint. */
	assert_int_equal(iob_run_resolve("a/nope.json", &r, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "a/nope.json: No such file or directory");
	assert_int_equal(iob_run_resolve("", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(iob_run_resolve(NULL, &r, err, sizeof(err)), -EINVAL);
}

static void test_hostile_names(void **state)
{
	struct iob_run_path r;
	char err[512], big[8192];
	static const char *const not_names[] = {
		"../x",		     /* a path: never results/../x */
		".hidden",	     /* hidden folders are not run names */
		"a b",		     /* outside the name characters */
		"x\n\x1b[2Jy",	     /* control characters */
		"run;rm -rf ~",	     /* shell text is just an odd name */
		"\xc3\xa9t\xc3\xa9", /* non-ASCII */
	};

	(void)state;
	/* Each exists under results/, and none of them may be found there. */
	assert_int_equal(mkdir("results", 0777), 0);
	assert_int_equal(mkdir("sub", 0777), 0);
	assert_int_equal(chdir("sub"), 0);
	assert_int_equal(mkdir("results", 0777), 0);
	make_run("x"); /* results/../x from here, but ../x is not there */
	make_run("results/.hidden");
	make_run("results/a b");
	make_run("results/x\n\x1b[2Jy");
	make_run("results/run;rm -rf ~");
	make_run("results/\xc3\xa9t\xc3\xa9");
	for (size_t i = 0; i < sizeof(not_names) / sizeof(not_names[0]); i++) {
		int rc = iob_run_resolve(not_names[i], &r, err, sizeof(err));

		assert_int_equal(rc, -ENOENT);
		assert_false(has_control(err));	       /* the name is shown escaped */
		assert_null(strstr(err, "nor a run")); /* not offered as a run name */
	}
	assert_int_equal(iob_run_resolve("x\n\x1b[2Jy", &r, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "x\\n\\x1b[2Jy"));

	/* Too long: a component past NAME_MAX, and a whole path past PATH_MAX. */
	memset(big, 'a', 300);
	big[300] = '\0';
	assert_int_equal(iob_run_resolve(big, &r, err, sizeof(err)), -ENAMETOOLONG);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(iob_run_resolve(big, &r, err, sizeof(err)), -ENAMETOOLONG);
	/* The argument is shown cut ("..."), and the problem still named. */
	assert_true(strlen(err) < 256);
	assert_non_null(strstr(err, "...': path too long"));
	assert_int_equal(chdir(".."), 0);
}

static void test_source_root_override(void **state)
{
	char out[PATH_MAX], *saved = getenv("IOBENCH_SOURCE_ROOT");

	(void)state;
	saved = saved ? strdup(saved) : NULL;
	setenv("IOBENCH_SOURCE_ROOT", "/some/tree", 1);
	assert_int_equal(iob_locate_source_root(out, sizeof(out)), 0);
	assert_string_equal(out, "/some/tree");
	/* Unset, this test runs from the build tree: the tree it was configured from. */
	unsetenv("IOBENCH_SOURCE_ROOT");
	assert_int_equal(iob_locate_source_root(out, sizeof(out)), 0);
	strcat(out, "/meson.build");
	assert_int_equal(access(out, R_OK), 0);
	if (saved)
		setenv("IOBENCH_SOURCE_ROOT", saved, 1);
	free(saved);
}

static void test_tool(void **state)
{
	char out[PATH_MAX];
	bool from_env;

	(void)state;
	make_file("tool");
	assert_int_equal(chmod("tool", 0755), 0);
	setenv("IOB_TEST_TOOL", "./tool", 1);
	assert_int_equal(iob_locate_tool("IOB_TEST_TOOL", "sh", out, sizeof(out), &from_env), 0);
	assert_true(from_env);
	assert_string_equal(out, "./tool");
	setenv("IOB_TEST_TOOL", "./missing", 1);
	assert_int_equal(iob_locate_tool("IOB_TEST_TOOL", "sh", out, sizeof(out), &from_env),
			 -ENOENT);
	assert_true(from_env);
	unsetenv("IOB_TEST_TOOL");
	/* On PATH: the first executable regular file; a folder of that name does not count. */
	assert_int_equal(mkdir("d1", 0777), 0);
	assert_int_equal(mkdir("d1/tool", 0777), 0);
	assert_int_equal(mkdir("d2", 0777), 0);
	make_file("d2/tool");
	assert_int_equal(chmod("d2/tool", 0755), 0);
	{
		char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;

		setenv("PATH", "d1::d2", 1);
		assert_int_equal(
			iob_locate_tool("IOB_TEST_TOOL", "tool", out, sizeof(out), &from_env), 0);
		assert_false(from_env);
		assert_string_equal(out, "d2/tool");
		setenv("PATH", "d1", 1);
		assert_int_equal(iob_locate_tool(NULL, "tool", out, sizeof(out), &from_env),
				 -ENOENT);
		if (path)
			setenv("PATH", path, 1);
		free(path);
	}
}

static void test_bench_given(void **state)
{
	char out[PATH_MAX];

	(void)state;
	/* A given binary that is not there is an error, not a reason to look elsewhere. */
	assert_int_equal(iob_locate_bench("./no-such-bench", out, sizeof(out)), -ENOENT);
	make_file("bench");
	assert_int_equal(chmod("bench", 0755), 0);
	assert_int_equal(iob_locate_bench("./bench", out, sizeof(out)), 0);
	assert_string_equal(out, "./bench");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_root_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bench_given, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
