/**
 * Option helpers for the iobench commands: the exit statuses, getopt_long with the one error
 * block every command needs, and number parsing.
 *
 * A usage error is one line on stderr that names the problem and where to read more:
 *   iobench show: unknown option '--bogus'; see 'iobench help show'
 * and the command exits IOB_EXIT_USAGE. `--help` prints the full usage to stdout (exit 0).
 * Arguments are printed escaped (iob_escape), so a hostile one cannot move the terminal.
 *
 * Synchronization: none; one thread (getopt's state is global).
 */
#ifndef IOB_OPT_H
#define IOB_OPT_H

#include <getopt.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOB_EXIT_OK    0 /* done */
#define IOB_EXIT_FAIL  1 /* ran, and found a failure */
#define IOB_EXIT_USAGE 2 /* bad input; a message naming it is on stderr */

/** What iob_opt_next() returns after it printed the error line. */
#define IOB_OPT_ERROR (-2)

/**
 * Start parsing a command's arguments (argv[0] is the command name): getopt's full reset
 * (optind = 0, also clearing a half-parsed short-option cluster of an earlier parse) and no
 * messages of getopt's own.
 */
void iob_opt_begin(void);

/**
 * getopt_long() for command @p cmd. @p shortopts need not start with ':' (it is added).
 * @return the option's value, -1 after the last option (operands start at optind), or
 * IOB_OPT_ERROR after printing one line: an unknown option, an option without its value, or a
 * value given to an option that takes none.
 */
int iob_opt_next(const char *cmd, int argc, char *const argv[], const char *shortopts,
		 const struct option *longopts);

/**
 * Print "iobench @p cmd: <message>; see 'iobench help @p cmd'" on stderr (one line: control
 * characters in the message become '?').
 * @return IOB_EXIT_USAGE, for `return iob_usage_error(...)`.
 */
__attribute__((format(printf, 2, 3))) int iob_usage_error(const char *cmd, const char *fmt, ...);

/**
 * iob_usage_error() for a bad option value: "@p opt must be @p what, not '<value>'", the value
 * escaped. @return IOB_EXIT_USAGE.
 */
int iob_bad_value(const char *cmd, const char *opt, const char *what, const char *value);

/** An operand after the options that the command does not take. @return IOB_EXIT_USAGE. */
int iob_unexpected_arg(const char *cmd, const char *arg);

/** `--help`: @p usage on stdout. @return IOB_EXIT_OK, or IOB_EXIT_FAIL when stdout failed. */
int iob_print_usage(const char *usage);

/** Parse a decimal integer in [lo, hi]. @return 0 or -EINVAL. */
int iob_parse_long(const char *s, long lo, long hi, long *out);

/** Parse a decimal number in [lo, hi] (NaN never is). @return 0 or -EINVAL. */
int iob_parse_double(const char *s, double lo, double hi, double *out);

#ifdef __cplusplus
}
#endif

#endif /* IOB_OPT_H */
