/*
 * Option helpers for the iobench commands (harness/lib/opt.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "quote.h"

void iob_opt_begin(void)
{
	optind = 0;
	opterr = 0;
}

int iob_opt_next(const char *cmd, int argc, char *const argv[], const char *shortopts,
		 const struct option *longopts)
{
	char shorts[64], shown[256];
	const char *arg;
	int c;

	if (snprintf(shorts, sizeof(shorts), ":%s", shortopts ? shortopts : "") >=
	    (int)sizeof(shorts))
		abort(); /* a programming error: the commands' option strings are short */
	c = getopt_long(argc, argv, shorts, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	/* getopt has moved past the offending argument (a short one may sit inside a cluster). */
	arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	if (strncmp(arg, "--", 2) != 0) { /* a short option: optopt is its character */
		char opt[3] = { '-', (char)optopt, '\0' };

		iob_escape(shown, sizeof(shown), opt);
	} else {
		iob_escape(shown, sizeof(shown), arg);
		shown[strcspn(shown, "=")] = '\0'; /* the option's name, not its value */
	}
	if (c == ':')
		iob_usage_error(cmd, "option '%s' needs a value", shown);
	else if (strncmp(arg, "--", 2) == 0 && optopt)
		iob_usage_error(cmd, "option '%s' takes no value", shown);
	else
		iob_usage_error(cmd, "unknown option '%s'", shown);
	return IOB_OPT_ERROR;
}

int iob_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "iobench %s: %s; see 'iobench help %s'\n", cmd, iob_one_line(msg), cmd);
	return IOB_EXIT_USAGE;
}

int iob_bad_value(const char *cmd, const char *opt, const char *what, const char *value)
{
	char shown[256];

	return iob_usage_error(cmd, "%s must be %s, not '%s'", opt, what,
			       iob_escape(shown, sizeof(shown), value ? value : ""));
}

int iob_unexpected_arg(const char *cmd, const char *arg)
{
	char shown[256];

	return iob_usage_error(cmd, "unexpected argument '%s'",
			       iob_escape(shown, sizeof(shown), arg));
}

int iob_print_usage(const char *usage)
{
	return fputs(usage, stdout) == EOF || fflush(stdout) ? IOB_EXIT_FAIL : IOB_EXIT_OK;
}

int iob_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int iob_parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !(v >= lo) || !(v <= hi))
		return -EINVAL;
	*out = v;
	return 0;
}
