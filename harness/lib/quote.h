/**
 * Quoting strings from results files (untrusted: a shard rsynced from another host, a file
 * attached to a bug report) for the two places they end up: gnuplot scripts and terminals.
 *
 * gnuplot (5.4) gives a single-quoted string no backslash escapes, no backtick command
 * substitution and no @macro expansion (all of which apply in double quotes and bare command
 * text). Its one escape, '' for a quote, is not safe to use: the scanner takes '' as an escape
 * only after another character, so a value that starts with a quote or holds two in a row splits
 * into several tokens, and the @macro pass toggles its "inside single quotes" state on every quote
 * even inside double quotes, so "'" would expose the next literal to @macro expansion. So a
 * string becomes an expression with no quote character inside any literal: runs of other
 * characters in single quotes, each quote as sprintf('%c',39), joined by '.'
 * (it's -> 'it'.sprintf('%c',39).'s'). Such an expression is valid wherever the driver scripts
 * put a string: on the right of an assignment, after `load plotsdir .`.
 *
 * A line break ends the command whatever the quoting, and a trailing backslash joins the next
 * line, so control characters are written as visible text instead (\n, \x1b, \u009b): fine for
 * labels, refused for paths. '%' is an ordinary character in a literal; gnuplot treats a string as
 * a format only where a template uses it as one (set format, explicit tic labels, sprintf), and a
 * quoted value must never be used there.
 *
 * Control characters: bytes 0x00-0x1f and 0x7f, and the C1 controls U+0080-U+009F (UTF-8 0xc2
 * 0x80-0x9f), which some terminals act on.
 *
 * Synchronization: none; pure functions.
 */
#ifndef IOB_QUOTE_H
#define IOB_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes that always hold the iob_gp_quote() expression of a string of @p n bytes (with the NUL). */
#define IOB_GP_QUOTE_SIZE(n) (18 * (n) + 3)

/**
 * THE way a string reaches a gnuplot script: write @p s as a gnuplot string expression into
 * @p buf: single-quoted runs, each quote as sprintf('%c',39), joined by '.'; "" is ''. Control
 * characters become visible escapes; everything else (backslash, backtick, '"', '@', '%', '#',
 * ';', non-ASCII) is copied as is.
 * @return 0 when the expression's value equals @p s; 1 when control characters were replaced
 * (fine for a label, wrong for a path); -ENOSPC when @p len is too small
 * (IOB_GP_QUOTE_SIZE(strlen(s)) always suffices); @p buf then holds '' when @p len >= 3.
 */
int iob_gp_quote(char *buf, size_t len, const char *s);

/**
 * @p s made safe for a terminal, into @p buf: control characters as \n, \r, \t, \xNN or \uNNNN
 * and a backslash as \\, so the output reads back unambiguously; everything else as is. When
 * @p len is too small the text is cut at a character boundary and ends in "...".
 * @return @p buf.
 */
const char *iob_escape(char *buf, size_t len, const char *s);

/** Whether @p s holds a control byte (0x00-0x1f, 0x7f). */
bool iob_has_control(const char *s);

/** Make the message @p s one line in place: every control byte becomes '?'. @return @p s. */
char *iob_one_line(char *s);

#ifdef __cplusplus
}
#endif

#endif /* IOB_QUOTE_H */
