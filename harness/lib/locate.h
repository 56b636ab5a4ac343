/**
 * Finding things: the benchmark binary, the gnuplot templates, the source tree, a helper program
 * (gnuplot, valgrind), and the run a RUN argument names. The one place that knows where iobench
 * lives relative to its files.
 *
 * Where this program runs from decides the defaults. From its build tree (the executable lies
 * under the build root this library was configured with), the source tree is the one the build
 * was configured from, wherever the build folder is (in the source tree or outside it), and the
 * benchmark binary is the build's. Installed, files come from the install's folders (libexec,
 * share). One environment variable overrides the source tree: IOBENCH_SOURCE_ROOT (the gate's
 * baseline and trends, the templates in its plots/). IOBENCH_BENCH and IOBENCH_PLOTS name one
 * file or folder each; IOBENCH_GNUPLOT and IOBENCH_VALGRIND a program.
 *
 * Synchronization: none; one thread. Functions that print say so.
 */
#ifndef IOB_LOCATE_H
#define IOB_LOCATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The source tree: $IOBENCH_SOURCE_ROOT when set, else, when this program runs from its build
 * tree, the source tree that build was configured from.
 * @return 0, -ENOENT (installed and no override: the caller says which option to pass), or
 * -ENAMETOOLONG.
 */
int iob_locate_source_root(char *out, size_t len);

/**
 * The benchmark binary: @p given (--bench), else $IOBENCH_BENCH, else the build's
 * bench/iobench-bench when this program runs from its build tree, else iobench-bench next to
 * this program, else <libexecdir>/iobench/iobench-bench. On failure prints one line saying why
 * (a given binary that is missing, or where it looked).
 * @return 0 or -ENOENT.
 */
int iob_locate_bench(const char *given, char *out, size_t len);
/** iob_locate_bench(NULL, ...) without the message: for callers to whom no binary is no error. */
int iob_locate_bench_quiet(char *out, size_t len);

/**
 * The folder of the gnuplot templates (it holds throughput.gp): $IOBENCH_PLOTS when set (and
 * only it), else <source root>/plots (iob_locate_source_root()), else the installed
 * <datadir>/iobench/plots, else ../share/iobench/plots beside this program. On failure prints one
 * line naming what it tried. @return 0 or -ENOENT.
 */
int iob_locate_plots(char *out, size_t len);

/**
 * A helper program: $@p env (a path) when set, else the first @p name on $PATH (a regular,
 * executable file; empty entries are skipped, an unset or empty PATH is
 * /usr/local/bin:/usr/bin:/bin). Prints nothing: the caller names the program and its variable.
 * @return 0, or -ENOENT (with *@p from_env telling whether $@p env was set).
 */
int iob_locate_tool(const char *env, const char *name, char *out, size_t len, bool *from_env);

/** Where a RUN argument points. */
struct iob_run_path {
	char dir[PATH_MAX];  /* the run folder */
	char file[PATH_MAX]; /* its results file */
};

/** The longest run name (a bare name looked up under results/). */
#define IOB_RUN_NAME_MAX 255

/**
 * Resolve the RUN argument of show, plot, compare, gate, merge and run --resume:
 *   - a folder: its results.json, which must exist;
 *   - a file: itself, in the folder that holds it;
 *   - a run name (no '/', 1..IOB_RUN_NAME_MAX name characters A-Z a-z 0-9 _ - . : , not starting
 *     with '.'), when no such file or folder exists here: the folder results/<name> (where
 *     `iobench run` puts runs by default), which must hold results.json.
 * Nothing is read or opened beyond stat(). On failure @p err holds one line naming the argument
 * (escaped: it may hold control characters) and the problem.
 * @return 0, -ENOENT (nothing there, or a folder without results.json), -ENAMETOOLONG, -EINVAL
 * (empty), or another -errno of stat().
 */
int iob_run_resolve(const char *arg, struct iob_run_path *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* IOB_LOCATE_H */
