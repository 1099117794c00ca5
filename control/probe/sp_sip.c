/*
 * sp_sip: see sp_sip.h.
 */
#include "sp_sip.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int sp_options_build(char *buf, size_t cap, const char *target, const char *local,
		     const char *call_id, const char *branch, unsigned cseq)
{
	int n = snprintf(buf, cap,
			 "OPTIONS sip:%s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:strowger-probe@%s>;tag=%s\r\n"
			 "To: <sip:%s>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u OPTIONS\r\n"
			 "Accept: application/sdp\r\n"
			 "User-Agent: strowger-probe\r\n"
			 "Content-Length: 0\r\n\r\n",
			 target, local, branch, local, branch, target, call_id, cseq);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Is the header line at p (length n) named `name` (or its compact form)?
 * Returns the value start, or NULL. */
static const char *header_value(const char *p, size_t n, const char *name, char compact)
{
	size_t nl = strlen(name);
	const char *colon = memchr(p, ':', n);
	if (!colon)
		return NULL;
	size_t klen = (size_t)(colon - p);
	while (klen && (p[klen - 1] == ' ' || p[klen - 1] == '\t'))
		klen--;
	if (!((klen == nl && strncasecmp(p, name, nl) == 0) ||
	      (klen == 1 && (p[0] | 0x20) == compact)))
		return NULL;
	const char *v = colon + 1;
	while (v < p + n && (*v == ' ' || *v == '\t'))
		v++;
	return v;
}

int sp_response_parse(const char *buf, size_t len, unsigned *code, const char **call_id,
		      size_t *call_id_len)
{
	if (len < 12 || memcmp(buf, "SIP/2.0 ", 8) != 0)
		return -1;
	unsigned c = 0;
	for (int i = 8; i < 11; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		c = c * 10 + (unsigned)(buf[i] - '0');
	}
	if (c < 100 || c > 699 || (buf[11] != ' ' && buf[11] != '\r'))
		return -1;
	*code = c;
	const char *end = buf + len;
	const char *line = memchr(buf, '\n', len);
	while (line && ++line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)((eol ? eol : end) - line);
		if (n && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* end of headers */
		const char *v = header_value(line, n, "call-id", 'i');
		if (v) {
			size_t vl = (size_t)(line + n - v);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			*call_id = v;
			*call_id_len = vl;
			return vl ? 0 : -1;
		}
		line = eol;
	}
	return -1;
}
