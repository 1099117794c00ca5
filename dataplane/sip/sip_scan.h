#pragma once
/*
 * sip_scan: character classes and small bounded scanners shared by the
 * parser and the builder. Private to dataplane/sip. Everything works on
 * (pointer, length) and never looks past the length.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_decide.h"

static inline bool sip_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Inside a header value CR and LF only occur as folding (CRLF + WSP), so
 * they count as linear white space there. */
static inline bool sip_is_lws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline bool sip_is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static inline bool sip_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 3261 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
static inline bool sip_is_token(unsigned char c)
{
	if (sip_is_alnum(c))
		return true;
	switch (c) {
	case '-': case '.': case '!': case '%': case '*':
	case '_': case '+': case '`': case '\'': case '~':
		return true;
	default:
		return false;
	}
}

static inline int sip_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Case-insensitive comparison of p[0..n) with the NUL-terminated ASCII lit. */
static inline bool sip_ieq(const char *p, size_t n, const char *lit)
{
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned char a = (unsigned char)p[i], b = (unsigned char)lit[i];
		if (b == 0)
			return false;
		if (a != b && ((a | 0x20) != (b | 0x20) || (a | 0x20) < 'a' || (a | 0x20) > 'z'))
			return false;
	}
	return lit[n] == 0;
}

static inline bool sip_str_ieq(struct rt_str s, const char *lit)
{
	return sip_ieq(s.p, s.len, lit);
}

static inline size_t sip_skip_lws(const char *p, size_t i, size_t n)
{
	while (i < n && sip_is_lws((unsigned char)p[i]))
		i++;
	return i;
}

static inline struct rt_str sip_trim(const char *p, size_t n)
{
	size_t b = 0;
	while (b < n && sip_is_lws((unsigned char)p[b]))
		b++;
	while (n > b && sip_is_lws((unsigned char)p[n - 1]))
		n--;
	return (struct rt_str){p + b, n - b};
}

/* Index of the closing quote of a quoted-string whose opening quote is at
 * p[i], honouring backslash escapes; n when unterminated. */
static inline size_t sip_skip_quoted(const char *p, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '"')
			return i;
	}
	return n;
}
