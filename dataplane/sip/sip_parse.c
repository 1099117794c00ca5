/*
 * sip_parse: one UDP datagram -> struct sip_msg, without copying and without
 * reading past len. Single forward pass over the lines (memchr for LF), one
 * switch on header name length; nothing allocates.
 *
 * Leniency: a bare LF is accepted as a line end (many stacks send it;
 * RFC 3261 section 7 wants CRLF but nothing is gained by refusing it). Header
 * values keep their folding (CRLF + WSP); the scanners below treat CR and LF
 * inside a value as white space and the builder drops them when echoing.
 *
 * Strictness: what we echo or route on is checked (request line, Via,
 * From/To, Call-ID, CSeq, Max-Forwards, Content-Length, our X- headers);
 * headers we do not use (Date, Contact, Expires...) are not parsed at all,
 * so their defects are not ours to report.
 */
#include <string.h>

#include "sip_msg.h"
#include "sip_scan.h"

static void bad(struct sip_msg *m, const char *why)
{
	/* The first defect is the most useful one to report. */
	if (!m->error) {
		m->error = why;
		m->error_code = 400;
	}
}

static enum sip_method method_of(const char *p, size_t n)
{
	/* Methods are case-sensitive (RFC 3261 section 7.1). */
	if (n == 6 && !memcmp(p, "INVITE", 6))
		return SIP_METHOD_INVITE;
	if (n == 3 && !memcmp(p, "ACK", 3))
		return SIP_METHOD_ACK;
	if (n == 6 && !memcmp(p, "CANCEL", 6))
		return SIP_METHOD_CANCEL;
	if (n == 7 && !memcmp(p, "OPTIONS", 7))
		return SIP_METHOD_OPTIONS;
	return SIP_METHOD_OTHER;
}

/* 1*DIGIT surrounded by LWS, the whole of v; saturates at UINT64_MAX/16. */
static bool parse_uint(struct rt_str v, uint64_t *out)
{
	struct rt_str t = sip_trim(v.p, v.len);
	uint64_t x = 0;
	size_t i;

	if (t.len == 0)
		return false;
	for (i = 0; i < t.len; i++) {
		if (!sip_is_digit((unsigned char)t.p[i]))
			return false;
		if (x < UINT64_MAX / 16)
			x = x * 10 + (unsigned)(t.p[i] - '0');
	}
	*out = x;
	return true;
}

/*
 * Generic params ";name[=value]" starting at p[i]. Calls back per param with
 * offsets (of the ';', the name, the end of name, the end of param).
 * Returns false on a syntax error (empty name, junk), true at the end of v
 * or, when stop_comma, at a ',' (its index in *end).
 */
struct param {
	size_t semi, name, name_end, end;
	bool has_value;
	size_t val, val_end;
};

static bool next_param(const char *p, size_t n, size_t *ip, struct param *pa)
{
	size_t i = sip_skip_lws(p, *ip, n);

	if (i >= n || p[i] != ';')
		return false;
	pa->semi = i;
	i = sip_skip_lws(p, i + 1, n);
	pa->name = i;
	while (i < n && sip_is_token((unsigned char)p[i]))
		i++;
	pa->name_end = i;
	if (pa->name_end == pa->name)
		return false;
	pa->end = i;
	i = sip_skip_lws(p, i, n);
	pa->has_value = false;
	if (i < n && p[i] == '=') {
		i = sip_skip_lws(p, i + 1, n);
		pa->has_value = true;
		pa->val = i;
		if (i < n && p[i] == '"') {
			i = sip_skip_quoted(p, i, n);
			if (i >= n)
				return false;
			i++;
		} else {
			/* token, plus ':' '[' ']' for IPv6 received/maddr values */
			while (i < n && (sip_is_token((unsigned char)p[i]) || p[i] == ':' ||
					 p[i] == '[' || p[i] == ']'))
				i++;
		}
		pa->val_end = i;
		if (pa->val_end == pa->val)
			return false;
		pa->end = i;
	}
	*ip = pa->end;
	return true;
}

/* All of p[i..n) is params (or LWS). */
static bool params_valid(const char *p, size_t i, size_t n)
{
	struct param pa;

	while (sip_skip_lws(p, i, n) < n)
		if (!next_param(p, n, &i, &pa))
			return false;
	return true;
}

/*
 * One via-parm: sent-protocol LWS sent-by *(SEMI via-params). LWS is allowed
 * around the slashes (RFC 4475 wsinv relies on it). Sets via->ok when the
 * sent-by host parsed (enough to route a reply); returns false on any defect.
 */
static bool parse_via(struct sip_via *via)
{
	const char *p = via->value.p;
	size_t n = via->value.len, i = 0, k, s;
	struct param pa;

	for (k = 0; k < 3; k++) {
		i = sip_skip_lws(p, i, n);
		s = i;
		while (i < n && sip_is_token((unsigned char)p[i]))
			i++;
		if (i == s)
			return false;
		if (k < 2) {
			i = sip_skip_lws(p, i, n);
			if (i >= n || p[i] != '/')
				return false;
			i++;
		}
	}
	s = i;
	i = sip_skip_lws(p, i, n);
	if (i == s || i >= n)
		return false;
	s = i;
	if (p[i] == '[') {
		while (i < n && p[i] != ']')
			i++;
		if (i >= n)
			return false;
		via->host = (struct rt_str){p + s + 1, i - s - 1};
		i++;
	} else {
		while (i < n && (sip_is_alnum((unsigned char)p[i]) || p[i] == '.' ||
				 p[i] == '-' || p[i] == '_'))
			i++;
		via->host = (struct rt_str){p + s, i - s};
	}
	if (via->host.len == 0)
		return false;
	k = sip_skip_lws(p, i, n);
	if (k < n && p[k] == ':') {
		uint32_t port = 0;
		i = sip_skip_lws(p, k + 1, n);
		s = i;
		while (i < n && sip_is_digit((unsigned char)p[i]) && port <= 65535)
			port = port * 10 + (uint32_t)(p[i++] - '0');
		if (i == s || port == 0 || port > 65535)
			return false;
		via->port = (uint16_t)port;
	}
	via->ok = true;
	while (sip_skip_lws(p, i, n) < n) {
		if (!next_param(p, n, &i, &pa))
			return false;
		if (!pa.has_value && sip_ieq(p + pa.name, pa.name_end - pa.name, "rport"))
			via->rport_at = (uint32_t)pa.name_end;
		else if (pa.has_value && sip_ieq(p + pa.name, pa.name_end - pa.name, "received")) {
			via->recv_at = (uint32_t)pa.semi;
			via->recv_len = (uint32_t)(pa.end - pa.semi);
		}
	}
	return true;
}

/* Split a Via header value on commas outside quoted strings. */
static int add_vias(struct sip_msg *m, struct rt_str v)
{
	size_t i = 0, s = 0;

	for (;;) {
		if (i < v.len && v.p[i] == '"') {
			i = sip_skip_quoted(v.p, i, v.len);
			if (i < v.len)
				i++;
			continue;
		}
		if (i < v.len && v.p[i] != ',') {
			i++;
			continue;
		}
		struct rt_str e = sip_trim(v.p + s, i - s);
		if (e.len == 0) {
			bad(m, "empty Via value");
		} else {
			if (m->n_via == SIP_MAX_VIA)
				return -1; /* cannot echo them all: drop */
			struct sip_via *via = &m->via[m->n_via++];
			memset(via, 0, sizeof(*via));
			via->value = e;
			if (!parse_via(via))
				bad(m, "bad Via");
		}
		if (i >= v.len)
			return 0;
		s = ++i;
	}
}

/*
 * The URI of a name-addr or addr-spec (From, To), and the index where the
 * header params begin. false on an unterminated quote, a display name with
 * non-token characters, or a missing '>'.
 */
static bool parse_addr(struct rt_str v, struct rt_str *uri, size_t *params)
{
	const char *p = v.p;
	size_t n = v.len, i = sip_skip_lws(p, 0, n), s;

	if (i < n && p[i] == '"') {
		i = sip_skip_quoted(p, i, n);
		if (i >= n)
			return false;
		i = sip_skip_lws(p, i + 1, n);
		if (i >= n || p[i] != '<')
			return false;
	} else {
		/* display-name as tokens and LWS, or nothing; addr-spec otherwise */
		s = i;
		while (i < n && (sip_is_token((unsigned char)p[i]) || sip_is_lws((unsigned char)p[i])))
			i++;
		if (i < n && p[i] == '<') {
			/* fallthrough to name-addr */
		} else {
			if (memchr(p + i, '<', n - i))
				return false; /* junk in the display name */
			i = s;
			while (i < n && p[i] != ';' && p[i] != ',' && !sip_is_lws((unsigned char)p[i]))
				i++;
			*uri = (struct rt_str){p + s, i - s};
			*params = i;
			return uri->len > 0;
		}
	}
	s = ++i;
	while (i < n && p[i] != '>') {
		if (sip_is_lws((unsigned char)p[i]))
			return false; /* no LWS inside <> (RFC 4475 badaspec) */
		i++;
	}
	if (i >= n)
		return false;
	*uri = (struct rt_str){p + s, i - s};
	*params = i + 1;
	return uri->len > 0;
}

/* Header params after the URI: any tag= among them? false on bad syntax. */
static bool scan_tag(struct rt_str v, size_t i, bool *has_tag)
{
	struct param pa;

	while (sip_skip_lws(v.p, i, v.len) < v.len) {
		if (!next_param(v.p, v.len, &i, &pa))
			return false;
		if (pa.has_value && sip_ieq(v.p + pa.name, pa.name_end - pa.name, "tag"))
			*has_tag = true;
	}
	return true;
}

/*
 * User part of a sip:, sips: or tel: URI, user params (after ';') cut,
 * still escaped. false for other schemes.
 */
static bool uri_user(struct rt_str uri, struct rt_str *user)
{
	const char *p = uri.p;
	size_t n = uri.len, c, i;

	*user = (struct rt_str){p, 0};
	for (c = 0; c < n && p[c] != ':'; c++)
		;
	if (c >= n)
		return false;
	if (sip_ieq(p, c, "tel")) {
		for (i = c + 1; i < n && p[i] != ';' && p[i] != '?'; i++)
			;
		*user = (struct rt_str){p + c + 1, i - c - 1};
		return true;
	}
	if (!sip_ieq(p, c, "sip") && !sip_ieq(p, c, "sips"))
		return false;
	/* '@' cannot appear unescaped in userinfo: the first one ends it. */
	const char *at = memchr(p + c + 1, '@', n - c - 1);
	if (!at)
		return true; /* no user part */
	for (i = c + 1; p + i < at && p[i] != ';' && p[i] != ':'; i++)
		;
	*user = (struct rt_str){p + c + 1, i - c - 1};
	return true;
}

static void parse_cseq(struct sip_msg *m, struct rt_str v)
{
	size_t i = 0, s;
	uint64_t x = 0;

	while (i < v.len && sip_is_digit((unsigned char)v.p[i])) {
		if (x <= UINT32_MAX)
			x = x * 10 + (unsigned)(v.p[i] - '0');
		i++;
	}
	/* RFC 3261 section 8.1.1.5: less than 2**31. */
	if (i == 0 || i > 10 || x >= (1u << 31))
		return bad(m, "bad CSeq number");
	s = sip_skip_lws(v.p, i, v.len);
	if (s == i)
		return bad(m, "bad CSeq");
	i = s;
	while (i < v.len && sip_is_token((unsigned char)v.p[i]))
		i++;
	if (i == s || sip_skip_lws(v.p, i, v.len) != v.len)
		return bad(m, "bad CSeq method");
	m->cseq_num = (uint32_t)x;
	m->cseq_method = (struct rt_str){v.p + s, i - s};
	m->cseq_ok = true;
}

/* "<gateway>;code=<N>" entries, comma-separated or one per header. */
static void parse_tried(struct sip_msg *m, struct rt_str v)
{
	const char *p = v.p;
	size_t n = v.len, i = 0, s;
	struct param pa;

	for (;;) {
		i = sip_skip_lws(p, i, n);
		s = i;
		while (i < n && p[i] != ';' && p[i] != ',' && !sip_is_lws((unsigned char)p[i]))
			i++;
		if (i == s)
			return bad(m, "bad X-Strowger-Tried gateway");
		if (m->n_tried == RT_MAX_TRIED)
			return bad(m, "too many X-Strowger-Tried");
		struct rt_tried *t = &m->tried[m->n_tried];
		t->gateway = (struct rt_str){p + s, i - s};
		int code = -1;
		for (;;) {
			size_t k = sip_skip_lws(p, i, n);
			if (k >= n || p[k] == ',') {
				i = k;
				break;
			}
			if (!next_param(p, n, &i, &pa))
				return bad(m, "bad X-Strowger-Tried parameter");
			if (sip_ieq(p + pa.name, pa.name_end - pa.name, "code")) {
				uint64_t c;
				if (!pa.has_value || code >= 0 ||
				    !parse_uint((struct rt_str){p + pa.val, pa.val_end - pa.val}, &c) ||
				    c > RT_CODE_MAX)
					return bad(m, "bad X-Strowger-Tried code");
				code = (int)c;
			}
		}
		if (code < 0)
			return bad(m, "X-Strowger-Tried without code");
		t->code = (uint16_t)code;
		m->n_tried++;
		if (i >= n)
			return;
		i++; /* ',' */
	}
}

/* Set *slot to v, or flag a second occurrence of a single-valued header. */
static bool once(struct sip_msg *m, struct rt_str *slot, struct rt_str v, const char *dup)
{
	if (slot->p) {
		bad(m, dup);
		return false;
	}
	*slot = v; /* v.p points into the packet: non-NULL marks "seen" */
	return true;
}

/* One header line (folded continuation included), name and value. */
static int header(struct sip_msg *m, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && sip_is_token((unsigned char)p[i]))
		i++;
	struct rt_str name = {p, i};
	i = sip_skip_lws(p, i, n);
	if (name.len == 0 || i >= n || p[i] != ':') {
		bad(m, "bad header line");
		return 0;
	}
	struct rt_str v = sip_trim(p + i + 1, n - i - 1);
	struct rt_str uri;
	size_t params;
	uint64_t x;

	switch (name.len) {
	case 1:
		switch (p[0] | 0x20) {
		case 'v': goto via;
		case 'f': goto from;
		case 't': goto to;
		case 'i': goto call_id;
		case 'l': goto content_length;
		}
		return 0;
	case 3:
		if (sip_str_ieq(name, "via"))
			goto via;
		return 0;
	case 2:
		if (sip_str_ieq(name, "to"))
			goto to;
		return 0;
	case 4:
		if (sip_str_ieq(name, "from"))
			goto from;
		if (sip_str_ieq(name, "cseq"))
			goto cseq;
		return 0;
	case 7:
		if (sip_str_ieq(name, "call-id"))
			goto call_id;
		return 0;
	case 12:
		if (sip_str_ieq(name, "max-forwards"))
			goto max_forwards;
		return 0;
	case 14:
		if (sip_str_ieq(name, "content-length"))
			goto content_length;
		return 0;
	case 16:
		if (sip_str_ieq(name, "x-strowger-tried")) {
			parse_tried(m, v);
			return 0;
		}
		return 0;
	case 17:
		if (sip_str_ieq(name, "x-strowger-policy")) {
			if (m->policy.len)
				bad(m, "repeated X-Strowger-Policy");
			else
				m->policy = v;
		}
		return 0;
	default:
		return 0;
	}
via:
	return add_vias(m, v);
from:
	if (!once(m, &m->from, v, "repeated From"))
		return 0;
	if (!parse_addr(v, &uri, &params) || !params_valid(v.p, params, v.len))
		bad(m, "bad From");
	else
		(void)uri_user(uri, &m->calling_raw);
	return 0;
to:
	if (!once(m, &m->to, v, "repeated To"))
		return 0;
	if (!parse_addr(v, &uri, &params) || !scan_tag(v, params, &m->to_has_tag))
		bad(m, "bad To");
	return 0;
call_id:
	if (once(m, &m->call_id, v, "repeated Call-ID") && v.len == 0)
		bad(m, "empty Call-ID");
	return 0;
cseq:
	if (once(m, &m->cseq, v, "repeated CSeq"))
		parse_cseq(m, v);
	return 0;
max_forwards:
	if (m->max_forwards >= 0)
		bad(m, "repeated Max-Forwards");
	else if (!parse_uint(v, &x) || x > 255)
		bad(m, "bad Max-Forwards");
	else
		m->max_forwards = (int)x;
	return 0;
content_length:
	if (m->has_content_length)
		bad(m, "repeated Content-Length");
	else if (!parse_uint(v, &x) || x > UINT32_MAX)
		bad(m, "bad Content-Length");
	else {
		m->has_content_length = true;
		m->content_length = (uint32_t)x;
	}
	return 0;
}

/* Request line: Method SP Request-URI SP SIP-Version, single spaces. */
static int request_line(struct sip_msg *m, const char *p, size_t n)
{
	size_t i = 0, s;

	while (i < n && sip_is_token((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return SIP_EDROP; /* not even a method: not SIP */
	m->method_name = (struct rt_str){p, i};
	m->method = method_of(p, i);
	s = ++i;
	while (i < n && (unsigned char)p[i] > ' ' && p[i] != 0x7f)
		i++;
	m->ruri = (struct rt_str){p + s, i - s};
	if (i == s || i >= n || p[i] != ' ') {
		bad(m, "bad Request-Line");
		return 0;
	}
	if (p[s] == '<') {
		bad(m, "Request-URI in <>");
		return 0;
	}
	struct rt_str ver = {p + i + 1, n - i - 1};
	if (!sip_str_ieq(ver, "SIP/2.0")) {
		/* SIP/<digits>.<digits>: a version we do not speak -> 505. */
		size_t k = 4, d1, d2;
		bool vers = ver.len > 4 && sip_ieq(ver.p, 4, "SIP/");
		for (d1 = k; k < ver.len && sip_is_digit((unsigned char)ver.p[k]); k++)
			;
		vers = vers && k > d1 && k < ver.len && ver.p[k] == '.';
		for (d2 = ++k; k < ver.len && sip_is_digit((unsigned char)ver.p[k]); k++)
			;
		vers = vers && k > d2 && k == ver.len;
		bad(m, vers ? "unsupported SIP version" : "bad SIP version");
		if (vers)
			m->error_code = 505; /* the request line is checked first */
		return 0;
	}
	if (uri_user(m->ruri, &m->called_raw)) {
		m->ruri_supported = true;
		/* Headers (?...) are not allowed in a Request-URI (RFC 3261
		 * section 19.1.1): escruri. Only after the host: the user part
		 * may hold a raw '?' (intmeth). */
		const char *u = m->ruri.p, *e = u + m->ruri.len;
		const char *at = memchr(u, '@', m->ruri.len);
		const char *h = at ? at : u;
		bool tel = m->ruri.len >= 4 && sip_ieq(u, 4, "tel:");
		if (!tel && memchr(h, '?', (size_t)(e - h)))
			bad(m, "headers in Request-URI");
	}
	return 0;
}

/* End of the line starting at pos (CRLF or LF excluded), and the next line. */
static bool line(const char *b, size_t len, size_t pos, size_t *end, size_t *next)
{
	const char *lf = memchr(b + pos, '\n', len - pos);
	if (!lf) {
		*end = *next = len;
		return false;
	}
	*end = (size_t)(lf - b);
	*next = *end + 1;
	if (*end > pos && b[*end - 1] == '\r')
		(*end)--;
	return true;
}

int sip_parse(const uint8_t *buf, size_t len, struct sip_msg *m)
{
	const char *b = (const char *)buf;
	size_t pos = 0, end, next;
	bool terminated = false;
	int rc;

	memset(m, 0, offsetof(struct sip_msg, via));
	memset(&m->from, 0, sizeof(*m) - offsetof(struct sip_msg, from));
	m->max_forwards = -1;

	if (!buf)
		return SIP_EDROP;
	while (pos < len && (b[pos] == '\r' || b[pos] == '\n'))
		pos++;
	if (pos >= len)
		return SIP_EDROP;
	if (len - pos >= 4 && sip_ieq(b + pos, 4, "SIP/"))
		return SIP_ERESPONSE; /* '/' is no token char: never a request */
	if (!line(b, len, pos, &end, &next))
		return SIP_EDROP;
	rc = request_line(m, b + pos, end - pos);
	if (rc)
		return rc;
	pos = next;

	while (pos < len) {
		if (b[pos] == '\n' || (b[pos] == '\r' && pos + 1 < len && b[pos + 1] == '\n')) {
			pos += b[pos] == '\n' ? 1 : 2;
			terminated = true;
			break;
		}
		size_t start = pos;
		line(b, len, pos, &end, &next);
		/* Folding: following lines that start with WSP continue this one. */
		while (next < len && sip_is_wsp((unsigned char)b[next]))
			line(b, len, next, &end, &next);
		if (header(m, b + start, end - start))
			return SIP_EDROP;
		pos = next;
	}

	if (!terminated) {
		bad(m, "no end of headers");
		pos = len;
	}
	size_t avail = len - pos;
	if (m->has_content_length) {
		if (m->content_length > avail)
			bad(m, "Content-Length beyond datagram");
		else
			avail = m->content_length; /* RFC 3261 18.3: rest is noise */
	}
	m->body = (struct rt_str){b + pos, avail};

	if (m->n_via == 0)
		bad(m, "missing Via");
	if (!m->from.p)
		bad(m, "missing From");
	if (!m->to.p)
		bad(m, "missing To");
	if (!m->call_id.p)
		bad(m, "missing Call-ID");
	if (!m->cseq.p)
		bad(m, "missing CSeq");
	else if (m->cseq_ok && (m->cseq_method.len != m->method_name.len ||
				memcmp(m->cseq_method.p, m->method_name.p, m->method_name.len)))
		bad(m, "CSeq method mismatch");

	if (!m->error)
		return 0;
	/* Enough to answer? A reply needs a route back (top Via) and the
	 * fields a client matches it with. */
	if (m->n_via && m->via[0].ok && m->from.len && m->to.len && m->call_id.len &&
	    m->cseq.len)
		return SIP_EBAD;
	return SIP_EDROP;
}
