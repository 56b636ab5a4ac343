/*
 * Quoting strings from results files for gnuplot scripts and terminals (see quote.h for
 * gnuplot's quoting rules and which characters count as control characters).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "quote.h"

/* Length of the control character at @p p (1, 2 for a UTF-8 C1 control), or 0 when none. */
static size_t ctl_len(const unsigned char *p)
{
	if (*p < 0x20 || *p == 0x7f)
		return 1;
	if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	return 0;
}

/* The visible form of the control character at @p p of length @p n into @p out (>= 8 bytes). */
static size_t ctl_text(char *out, const unsigned char *p, size_t n)
{
	if (n == 2)
		return (size_t)snprintf(out, 8, "\\u%04x", p[1]);
	switch (*p) {
	case '\n':
		return (size_t)snprintf(out, 8, "\\n");
	case '\r':
		return (size_t)snprintf(out, 8, "\\r");
	case '\t':
		return (size_t)snprintf(out, 8, "\\t");
	default:
		return (size_t)snprintf(out, 8, "\\x%02x", *p);
	}
}

/* A quote, as an expression: no quote character inside a literal (see quote.h). */
static const char gp_quote_char[] = "sprintf('%c',39)";

int iob_gp_quote(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	bool in_lit = false, first = true;
	size_t o = 0;
	int lossy = 0;

	if (!*p) {
		if (len < 3)
			goto nospc;
		memcpy(buf, "''", 3);
		return 0;
	}
	while (*p) {
		char piece[sizeof(gp_quote_char) + 4];
		size_t n = ctl_len(p), k = 0;

		if (*p == '\'') {
			if (in_lit)
				piece[k++] = '\'';
			if (!first)
				piece[k++] = '.';
			memcpy(piece + k, gp_quote_char, sizeof(gp_quote_char) - 1);
			k += sizeof(gp_quote_char) - 1;
			in_lit = false;
			n = 1;
		} else {
			if (!in_lit) {
				if (!first)
					piece[k++] = '.';
				piece[k++] = '\'';
				in_lit = true;
			}
			if (n) {
				k += ctl_text(piece + k, p, n);
				lossy = 1;
			} else {
				piece[k++] = (char)*p;
				n = 1;
			}
		}
		if (o + k + 1 + in_lit > len) /* room for the NUL and a closing quote */
			goto nospc;
		memcpy(buf + o, piece, k);
		o += k;
		p += n;
		first = false;
	}
	if (in_lit)
		buf[o++] = '\'';
	buf[o] = '\0';
	return lossy;
nospc:
	if (len >= 3)
		memcpy(buf, "''", 3);
	else if (len)
		buf[0] = '\0';
	return -ENOSPC;
}

const char *iob_escape(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (!len)
		return buf;
	while (*p) {
		char piece[8];
		size_t n = ctl_len(p), k;

		if (n) {
			k = ctl_text(piece, p, n);
		} else if (*p == '\\') {
			memcpy(piece, "\\\\", 2);
			k = 2;
			n = 1;
		} else {
			/* a whole UTF-8 sequence, so a cut never splits a character */
			n = 1;
			while (n < 4 && (p[n] & 0xc0) == 0x80)
				n++;
			memcpy(piece, p, n);
			k = n;
		}
		if (o + k + 1 > len) {
			/* cut: "..." replaces what does not fit, back to a character boundary */
			while (o && o + 4 > len) {
				o--;
				while (o && ((unsigned char)buf[o] & 0xc0) == 0x80)
					o--;
			}
			if (o + 4 <= len) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(buf + o, piece, k);
		o += k;
		p += n;
	}
	buf[o] = '\0';
	return buf;
}

bool iob_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

char *iob_one_line(char *s)
{
	for (char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return s;
}
