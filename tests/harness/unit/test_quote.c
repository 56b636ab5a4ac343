/*
 * iob_gp_quote (the one way a string reaches a gnuplot script) and iob_escape (strings from a
 * results file on a terminal). The literals are checked byte for byte, then fed to the real
 * gnuplot (when installed) in a scratch folder: each must print back as the string itself (or its
 * visible escape), and none may create the canary file its payload tries to touch.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "quote.h"

#define N(x) (sizeof(x) / sizeof((x)[0]))

struct gp_case {
	const char *in;
	const char *lit;     /* the expected expression */
	int rc;		     /* 0 exact, 1 control characters replaced */
	const char *printed; /* what gnuplot prints for it */
};

#define Q "sprintf('%c',39)" /* a quote: never inside a literal (quote.h says why) */

static const struct gp_case gp_cases[] = {
	{ "", "''", 0, "" },
	{ "iort_mpmc", "'iort_mpmc'", 0, "iort_mpmc" },
	/* quotes: gnuplot's '' escape breaks at the start and when doubled, and "'" confuses its
	 * @macro pass, so a quote is an expression of its own */
	{ "it's", "'it'." Q ".'s'", 0, "it's" },
	{ "'", Q, 0, "'" },
	{ "''", Q "." Q, 0, "''" },
	{ "x''''y'", "'x'." Q "." Q "." Q "." Q ".'y'." Q, 0, "x''''y'" },
	{ "a'.system('touch CANARY').'", "'a'." Q ".'.system('." Q ".'touch CANARY'." Q ".').'." Q,
	  0, "a'.system('touch CANARY').'" },
	{ "'@payload", Q ".'@payload'", 0, "'@payload" },
	{ "\"; system(\"touch CANARY\"); \"", "'\"; system(\"touch CANARY\"); \"'", 0,
	  "\"; system(\"touch CANARY\"); \"" },
	{ "\"'`touch CANARY`'\"", "'\"'." Q ".'`touch CANARY`'." Q ".'\"'", 0,
	  "\"'`touch CANARY`'\"" },
	/* backticks: command substitution happens in double quotes and bare text, not here */
	{ "`touch CANARY`", "'`touch CANARY`'", 0, "`touch CANARY`" },
	/* newlines would end the command: shown as text */
	{ "a\nsystem('touch CANARY')", "'a\\nsystem('." Q ".'touch CANARY'." Q ".')'", 1,
	  "a\\nsystem('touch CANARY')" },
	{ "x\r\ty", "'x\\r\\ty'", 1, "x\\r\\ty" },
	{ "esc\x1b[31m", "'esc\\x1b[31m'", 1, "esc\\x1b[31m" },
	{ "del\x7f", "'del\\x7f'", 1, "del\\x7f" },
	{ "c1\xc2\x9b", "'c1\\u009b'", 1, "c1\\u009b" },
	/* backslashes: no escapes in single quotes, and a trailing one is inside the quotes */
	{ "a\\b", "'a\\b'", 0, "a\\b" },
	{ "x\\", "'x\\'", 0, "x\\" },
	{ "x\\'", "'x\\'." Q, 0, "x\\'" },
	{ "\\n\\\\", "'\\n\\\\'", 0, "\\n\\\\" },
	/* '%' is plain text (the templates never use a quoted value as a format) */
	{ "100% %s %d %%", "'100% %s %d %%'", 0, "100% %s %d %%" },
	/* macros, comments, statement separators: plain text */
	{ "@fig_title; # x", "'@fig_title; # x'", 0, "@fig_title; # x" },
	{ "µs caf\xc3\xa9", "'µs caf\xc3\xa9'", 0, "µs caf\xc3\xa9" },
};

static void test_gp_quote_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(gp_cases); i++) {
		const struct gp_case *c = &gp_cases[i];
		char buf[256];

		assert_int_equal(iob_gp_quote(buf, sizeof(buf), c->in), c->rc);
		assert_string_equal(buf, c->lit);
		assert_true(strlen(buf) + 1 <= IOB_GP_QUOTE_SIZE(strlen(c->in)));
	}
}

static void test_gp_quote_size(void **state)
{
	/* the worst cases fit IOB_GP_QUOTE_SIZE, and one byte less than they need is refused */
	static const char *const worst[] = { "\x01\x01\x01",	 "'''", "a'a'", "\x01'\x01'",
					     "\xc2\x80\xc2\x9f", "a",	"'",	"a'" };
	char buf[64];

	(void)state;
	for (size_t i = 0; i < N(worst); i++) {
		size_t need;

		assert_true(iob_gp_quote(buf, IOB_GP_QUOTE_SIZE(strlen(worst[i])), worst[i]) >= 0);
		need = strlen(buf) + 1;
		assert_int_equal(iob_gp_quote(buf, need, worst[i]) >= 0, 1);
		assert_int_equal(iob_gp_quote(buf, need - 1, worst[i]), -ENOSPC);
		assert_string_equal(buf, "''"); /* still a valid (empty) literal */
	}
	assert_int_equal(iob_gp_quote(buf, 2, ""), -ENOSPC);
	assert_string_equal(buf, "");
}

static void test_escape(void **state)
{
	char buf[64], small[8];

	(void)state;
	assert_string_equal(iob_escape(buf, sizeof(buf), "host-1"), "host-1");
	assert_string_equal(iob_escape(buf, sizeof(buf), "a\nb\r\t"), "a\\nb\\r\\t");
	assert_string_equal(iob_escape(buf, sizeof(buf), "\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
	assert_string_equal(iob_escape(buf, sizeof(buf),
				       "c1\xc2\x9b"
				       "2J"),
			    "c1\\u009b2J");
	/* a backslash doubles, so "\n" typed in a file does not pass for a newline */
	assert_string_equal(iob_escape(buf, sizeof(buf), "\\n"), "\\\\n");
	assert_string_equal(iob_escape(buf, sizeof(buf), "it's `x` 100% caf\xc3\xa9"),
			    "it's `x` 100% caf\xc3\xa9");
	/* too long: cut at a character boundary, "..." at the end, always NUL-terminated */
	assert_string_equal(iob_escape(small, sizeof(small), "abcdefghij"), "abcd...");
	assert_string_equal(iob_escape(small, sizeof(small), "ab\xc3\xa9\xc3\xa9xyz"),
			    "ab\xc3\xa9...");
	assert_string_equal(iob_escape(small, 4, "abcdef"), "...");
	assert_string_equal(iob_escape(small, 3, "abcdef"), "");
}

/* --- the real gnuplot ---------------------------------------------------------------------- */

static int find_gnuplot(char *out, size_t len)
{
	const char *path = getenv("PATH");

	if (getenv("IOBENCH_GNUPLOT") && *getenv("IOBENCH_GNUPLOT")) {
		snprintf(out, len, "%s", getenv("IOBENCH_GNUPLOT"));
		return access(out, X_OK);
	}
	for (path = path ? path : "/usr/bin"; *path;) {
		size_t n = strcspn(path, ":");

		snprintf(out, len, "%.*s/gnuplot", (int)n, path);
		if (n && access(out, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

static void test_gnuplot_reads_literals(void **state)
{
	char gp[PATH_MAX], dir[] = "/tmp/test_quote.XXXXXX", script[PATH_MAX], out[PATH_MAX];
	char lit[256], line[512], canary[PATH_MAX];
	FILE *f;
	pid_t pid;
	int status;

	(void)state;
	if (find_gnuplot(gp, sizeof(gp))) {
		printf("  gnuplot not installed: the round trip through it is skipped\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/t.gp", dir);
	snprintf(out, sizeof(out), "%s/out.txt", dir);
	snprintf(canary, sizeof(canary), "%s/CANARY", dir);
	f = fopen(script, "w");
	assert_non_null(f);
	assert_int_equal(iob_gp_quote(lit, sizeof(lit), out), 0);
	fprintf(f, "set print %s\n", lit);
	/* a macro that would run the payload if a literal exposed "@payload" to the @macro pass */
	fprintf(f, "payload = \"system(\\\"touch CANARY\\\")\"\n");
	for (size_t i = 0; i < N(gp_cases); i++) {
		assert_true(iob_gp_quote(lit, sizeof(lit), gp_cases[i].in) >= 0);
		/* as the driver scripts use them: a variable, then the variable as text */
		fprintf(f, "v%zu = %s\nset title v%zu\nset label 1 v%zu at 0,0\nprint v%zu\n", i,
			lit, i, i, i);
	}
	fclose(f);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (chdir(dir) || null < 0 || dup2(null, 0) < 0)
			_exit(126);
		execl(gp, gp, script, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	f = fopen(out, "r");
	assert_non_null(f);
	for (size_t i = 0; i < N(gp_cases); i++) {
		assert_non_null(fgets(line, sizeof(line), f));
		line[strcspn(line, "\n")] = '\0';
		printf("  gnuplot printed [%s]\n", line);
		assert_string_equal(line, gp_cases[i].printed);
	}
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(access(canary, F_OK), -1); /* no payload ran */
	unlink(out);
	unlink(script);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gp_quote_cases),
		cmocka_unit_test(test_gp_quote_size),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_gnuplot_reads_literals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
