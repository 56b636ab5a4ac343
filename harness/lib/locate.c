/*
 * Finding the benchmark binary, the templates, the source tree, helper programs and runs
 * (harness/lib/locate.h).
 *
 * The build defines IOB_SOURCE_ROOT and IOB_BUILD_ROOT (where meson configured this build) and
 * IOB_LIBEXECDIR, IOB_PLOTS_DIR (where it installs).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "locate.h"
#include "proc.h"
#include "quote.h"

#ifndef IOB_LIBEXECDIR
#define IOB_LIBEXECDIR "/usr/local/libexec"
#endif
#ifndef IOB_PLOTS_DIR
#define IOB_PLOTS_DIR "/usr/local/share/iobench/plots"
#endif

#define SOURCE_ENV "IOBENCH_SOURCE_ROOT"

/* The folder of this program's executable. @return 0 or -ENOENT. */
static int self_dir(char *out, size_t len)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	return iob_fmt(out, len, "%s", slash == exe ? "/" : exe) ? -ENOENT : 0;
}

/* Whether this program runs from the build tree this library was configured with. */
static bool in_build_tree(void)
{
#ifdef IOB_BUILD_ROOT
	char self[PATH_MAX], root[PATH_MAX];
	size_t n;

	if (self_dir(self, sizeof(self)) || !realpath(IOB_BUILD_ROOT, root))
		return false;
	n = strlen(root);
	return strncmp(self, root, n) == 0 && (self[n] == '/' || self[n] == '\0');
#else
	return false;
#endif
}

static bool executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int iob_locate_source_root(char *out, size_t len)
{
	const char *env = getenv(SOURCE_ENV);

	if (env && *env)
		return iob_fmt(out, len, "%s", env);
#ifdef IOB_SOURCE_ROOT
	if (in_build_tree())
		return iob_fmt(out, len, "%s", IOB_SOURCE_ROOT);
#endif
	return -ENOENT;
}

static int locate_bench(const char *given, char *out, size_t len, bool quiet)
{
	const char *env = getenv("IOBENCH_BENCH");
	char self[PATH_MAX];

	if (given || (env && *env)) {
		if (iob_fmt(out, len, "%s", given ? given : env) == 0 && access(out, X_OK) == 0)
			return 0;
		if (!quiet)
			fprintf(stderr,
				"iobench: benchmark binary '%s'%s is missing or not executable\n",
				out, given ? "" : " ($IOBENCH_BENCH)");
		return -ENOENT;
	}
#ifdef IOB_BUILD_ROOT
	if (in_build_tree() && iob_fmt(out, len, "%s/bench/iobench-bench", IOB_BUILD_ROOT) == 0 &&
	    executable_file(out))
		return 0;
#endif
	if (self_dir(self, sizeof(self)) == 0 && iob_fmt(out, len, "%s/iobench-bench", self) == 0 &&
	    executable_file(out))
		return 0;
	if (iob_fmt(out, len, "%s/iobench/iobench-bench", IOB_LIBEXECDIR) == 0 &&
	    executable_file(out))
		return 0;
	if (!quiet)
		fprintf(stderr,
			"iobench: benchmark binary iobench-bench not found in the build tree, next "
			"to iobench or in %s/iobench (build it: ninja -C build; or pass --bench "
			"PATH)\n",
			IOB_LIBEXECDIR);
	return -ENOENT;
}

int iob_locate_bench(const char *given, char *out, size_t len)
{
	return locate_bench(given, out, len, false);
}

int iob_locate_bench_quiet(char *out, size_t len)
{
	return locate_bench(NULL, out, len, true);
}

static bool has_templates(const char *dir)
{
	char p[PATH_MAX];

	return iob_fmt(p, sizeof(p), "%s/throughput.gp", dir) == 0 && access(p, R_OK) == 0;
}

int iob_locate_plots(char *out, size_t len)
{
	const char *env = getenv("IOBENCH_PLOTS");
	char root[PATH_MAX], self[PATH_MAX], tried[3 * PATH_MAX + 8] = "";
	char cand[3][PATH_MAX];
	int nc = 0;

	if (env && *env) {
		if (iob_fmt(out, len, "%s", env) == 0 && has_templates(out))
			return 0;
		fprintf(stderr, "iobench: IOBENCH_PLOTS='%s' holds no throughput.gp\n", env);
		return -ENOENT;
	}
	if (iob_locate_source_root(root, sizeof(root)) == 0 &&
	    iob_fmt(cand[nc], PATH_MAX, "%s/plots", root) == 0)
		nc++;
	snprintf(cand[nc++], PATH_MAX, "%s", IOB_PLOTS_DIR);
	if (self_dir(self, sizeof(self)) == 0 &&
	    iob_fmt(cand[nc], PATH_MAX, "%s/../share/iobench/plots", self) == 0)
		nc++;
	for (int i = 0; i < nc; i++) {
		if (has_templates(cand[i]))
			return iob_fmt(out, len, "%s", cand[i]) ? -ENOENT : 0;
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s",
			 *tried ? ", " : "", cand[i]);
	}
	fprintf(stderr,
		"iobench: gnuplot templates not found (tried %s); set %s to the source tree, or "
		"IOBENCH_PLOTS to a folder of templates\n",
		tried, SOURCE_ENV);
	return -ENOENT;
}

int iob_locate_tool(const char *env, const char *name, char *out, size_t len, bool *from_env)
{
	const char *given = env ? getenv(env) : NULL, *path = getenv("PATH");

	*from_env = given && *given;
	if (*from_env)
		return iob_fmt(out, len, "%s", given) == 0 && executable_file(out) ? 0 : -ENOENT;
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n && iob_fmt(out, len, "%.*s/%s", (int)n, path, name) == 0 &&
		    executable_file(out))
			return 0;
		path += n;
		if (*path == ':')
			path++;
	}
	return -ENOENT;
}

/* A bare run name: name characters, not a hidden or relative folder. */
static bool run_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > IOB_RUN_NAME_MAX || s[0] == '.')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:,") ==
	       n;
}

/* @p dir as a run folder: its results.json must exist. */
static int run_folder(const char *arg, const char *dir, struct iob_run_path *out, char *err,
		      size_t errlen)
{
	char shown[200];

	if (iob_fmt(out->dir, sizeof(out->dir), "%s", dir) ||
	    iob_fmt(out->file, sizeof(out->file), "%s/results.json", dir)) {
		snprintf(err, errlen, "'%s': path too long", iob_escape(shown, sizeof(shown), arg));
		return -ENAMETOOLONG;
	}
	if (access(out->file, F_OK) != 0) {
		int e = errno;

		snprintf(err, errlen, "'%s' is not a run folder (%s%s)",
			 iob_escape(shown, sizeof(shown), dir),
			 e == ENOENT ? "no results.json" : "results.json: ",
			 e == ENOENT ? "" : strerror(e));
		return -e;
	}
	return 0;
}

int iob_run_resolve(const char *arg, struct iob_run_path *out, char *err, size_t errlen)
{
	char shown[200], named[PATH_MAX];
	const char *slash;
	struct stat st;
	int e;

	if (!arg || !*arg) {
		snprintf(err, errlen,
			 "an empty RUN: give a run folder, a results file or a run "
			 "name");
		return -EINVAL;
	}
	if (strlen(arg) >= sizeof(out->file) - sizeof("/results.json")) {
		snprintf(err, errlen, "'%s': path too long", iob_escape(shown, sizeof(shown), arg));
		return -ENAMETOOLONG;
	}
	if (stat(arg, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return run_folder(arg, arg, out, err, errlen);
		snprintf(out->file, sizeof(out->file), "%s", arg);
		slash = strrchr(arg, '/');
		if (!slash)
			snprintf(out->dir, sizeof(out->dir), ".");
		else if (slash == arg)
			snprintf(out->dir, sizeof(out->dir), "/");
		else
			snprintf(out->dir, sizeof(out->dir), "%.*s", (int)(slash - arg), arg);
		return 0;
	}
	e = errno;
	if (e == ENOENT && run_name(arg) && iob_fmt(named, sizeof(named), "results/%s", arg) == 0 &&
	    stat(named, &st) == 0 && S_ISDIR(st.st_mode))
		return run_folder(arg, named, out, err, errlen);
	snprintf(err, errlen, "%s: %s%s", iob_escape(shown, sizeof(shown), arg), strerror(e),
		 e == ENOENT && run_name(arg) ? " (nor a run of that name in results/)" : "");
	return -e;
}
