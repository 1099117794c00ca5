/*
 * sip_build: responses of the stateless redirect server, written straight
 * into the caller's buffer. A writer remembers overflow instead of checking
 * every call site; the result is reported once at the end (-ENOSPC).
 *
 * Determinism matters more than anything here: the server keeps no
 * transaction state, so a retransmitted INVITE must produce the same bytes
 * (same To-tag, same Contacts, same q values). Nothing below reads a clock,
 * a counter or a random source.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sip_msg.h"
#include "sip_scan.h"

#define SIP_ALLOW "INVITE, ACK, CANCEL, OPTIONS"

struct wr {
	char *p;
	size_t len, cap;
	bool full;
};

static void w_mem(struct wr *w, const void *s, size_t n)
{
	if (w->full || n > w->cap - w->len) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

#define w_lit(w, lit) w_mem((w), (lit), sizeof(lit) - 1)

static void w_cstr(struct wr *w, const char *s)
{
	w_mem(w, s, strlen(s));
}

static void w_uint(struct wr *w, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	w_mem(w, tmp + i, sizeof(tmp) - i);
}

/* Echo a header value with its folding undone: CR and LF inside a value
 * only occur as CRLF + WSP, so dropping them leaves equivalent LWS. */
static void w_unfold(struct wr *w, const char *p, size_t n)
{
	size_t s = 0, i;
	for (i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			w_mem(w, p + s, i - s);
			s = i + 1;
		}
	}
	w_mem(w, p + s, n - s);
}

/* Free text inside a quoted warn-text: no quotes, backslashes or CTLs. */
static void w_quoted_text(struct wr *w, const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= ' ' && *s != '"' && *s != '\\' && *s != 0x7f)
			w_mem(w, s, 1);
}

const char *sip_reason(unsigned code)
{
	switch (code) {
	case 100: return "Trying";
	case 180: return "Ringing";
	case 183: return "Session Progress";
	case 200: return "OK";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Moved Temporarily";
	case 305: return "Use Proxy";
	case 380: return "Alternative Service";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 414: return "Request-URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Unsupported URI Scheme";
	case 420: return "Bad Extension";
	case 421: return "Extension Required";
	case 423: return "Interval Too Brief";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 484: return "Address Incomplete";
	case 485: return "Ambiguous";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 488: return "Not Acceptable Here";
	case 491: return "Request Pending";
	case 493: return "Undecipherable";
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Server Time-out";
	case 505: return "Version Not Supported";
	case 513: return "Message Too Large";
	case 600: return "Busy Everywhere";
	case 603: return "Decline";
	case 604: return "Does Not Exist Anywhere";
	case 606: return "Not Acceptable";
	default: return "Unknown";
	}
}

void sip_to_tag(struct rt_str call_id, char tag[17])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
	size_t i;

	for (i = 0; i < call_id.len; i++) {
		h ^= (unsigned char)call_id.p[i];
		h *= 0x100000001b3ull;
	}
	for (i = 0; i < 16; i++)
		tag[i] = hex[(h >> (60 - 4 * i)) & 0xf];
	tag[16] = 0;
}

/* The source address as text (v4-mapped v6 as IPv4), its binary form for
 * comparing with a sent-by host, and its port. */
struct src {
	int family;
	unsigned char addr[16];
	char text[INET6_ADDRSTRLEN];
	uint16_t port;
};

static bool src_of(const struct sockaddr *sa, struct src *s)
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		s->family = AF_INET;
		memcpy(s->addr, &in->sin_addr, 4);
		s->port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		s->port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			s->family = AF_INET;
			memcpy(s->addr, &in6->sin6_addr.s6_addr[12], 4);
		} else {
			s->family = AF_INET6;
			memcpy(s->addr, &in6->sin6_addr, 16);
		}
	} else {
		return false;
	}
	return inet_ntop(s->family, s->addr, s->text, sizeof(s->text)) != NULL;
}

/* Is the Via's sent-by host literally the source address? A name never is
 * (RFC 3261 section 18.2.1 wants received= for domain names). */
static bool host_is_src(struct rt_str host, const struct src *s)
{
	char tmp[INET6_ADDRSTRLEN];
	unsigned char bin[16];

	if (host.len >= sizeof(tmp))
		return false;
	memcpy(tmp, host.p, host.len);
	tmp[host.len] = 0;
	if (inet_pton(s->family, tmp, bin) != 1)
		return false;
	return !memcmp(bin, s->addr, s->family == AF_INET ? 4 : 16);
}

static void w_top_via(struct wr *w, const struct sip_via *v, const struct src *s)
{
	const char *p = v->value.p;
	size_t n = v->value.len;
	bool rport = s && v->rport_at;
	bool received = s && (rport || !host_is_src(v->host, s));
	size_t pos = 0;

	size_t ins = rport ? v->rport_at : SIZE_MAX;
	size_t cut = received && v->recv_len ? v->recv_at : SIZE_MAX;

	/* Two edits in offset order: fill the empty rport, drop an existing
	 * received (ours, appended, replaces it). They never overlap. */
	w_lit(w, "Via: ");
	if (ins != SIZE_MAX && ins <= cut) { /* equal: rport right before received */
		w_unfold(w, p + pos, ins - pos);
		w_lit(w, "=");
		w_uint(w, s->port);
		pos = ins;
	}
	if (cut != SIZE_MAX) {
		w_unfold(w, p + pos, cut - pos);
		pos = cut + v->recv_len;
	}
	if (ins != SIZE_MAX && ins > cut) {
		w_unfold(w, p + pos, ins - pos);
		w_lit(w, "=");
		w_uint(w, s->port);
		pos = ins;
	}
	w_unfold(w, p + pos, n - pos);
	if (received) {
		w_lit(w, ";received=");
		w_cstr(w, s->text);
	}
	w_lit(w, "\r\n");
}

/* Status line and the headers every response carries before its own. */
static void w_head(struct wr *w, const struct sip_msg *m, unsigned code,
		   const struct sockaddr *sa)
{
	struct src s;
	bool have_src = src_of(sa, &s);
	char tag[17];
	uint32_t i;

	w_lit(w, "SIP/2.0 ");
	w_uint(w, code);
	w_lit(w, " ");
	w_cstr(w, sip_reason(code));
	w_lit(w, "\r\n");
	w_top_via(w, &m->via[0], have_src ? &s : NULL);
	for (i = 1; i < m->n_via; i++) {
		w_lit(w, "Via: ");
		w_unfold(w, m->via[i].value.p, m->via[i].value.len);
		w_lit(w, "\r\n");
	}
	w_lit(w, "From: ");
	w_unfold(w, m->from.p, m->from.len);
	w_lit(w, "\r\nTo: ");
	w_unfold(w, m->to.p, m->to.len);
	if (!m->to_has_tag) {
		sip_to_tag(m->call_id, tag);
		w_lit(w, ";tag=");
		w_mem(w, tag, 16);
	}
	w_lit(w, "\r\nCall-ID: ");
	w_unfold(w, m->call_id.p, m->call_id.len);
	w_lit(w, "\r\nCSeq: ");
	if (m->cseq_ok) {
		w_uint(w, m->cseq_num);
		w_lit(w, " ");
		w_mem(w, m->cseq_method.p, m->cseq_method.len);
	} else {
		w_unfold(w, m->cseq.p, m->cseq.len);
	}
	w_lit(w, "\r\n");
}

static int w_tail(struct wr *w, const struct sip_respond_opts *o)
{
	if (o->server) {
		w_lit(w, "Server: ");
		w_cstr(w, o->server);
		w_lit(w, "\r\n");
	}
	w_lit(w, "Content-Length: 0\r\n\r\n");
	if (w->full)
		return -ENOSPC;
	return (int)w->len;
}

/* Characters RFC 3261 allows raw in a user part: unreserved / user-unreserved. */
static bool user_char(unsigned char c)
{
	if (sip_is_alnum(c))
		return true;
	return strchr("-_.!~*'()&=+$,;?/", c) != NULL && c != 0;
}

static void w_user(struct wr *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (user_char(c)) {
			w_mem(w, &s[i], 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			w_mem(w, e, 3);
		}
	}
}

static bool dest_usable(const struct rt_dest *d)
{
	return d->uri || d->address;
}

static uint32_t usable_dests(const struct rt_answer *a)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < a->n_dest && i < RT_MAX_DEST; i++)
		n += dest_usable(&a->dest[i]);
	return n;
}

static void w_contacts(struct wr *w, const struct rt_answer *a, uint32_t max)
{
	uint32_t n = usable_dests(a), i, k = 0;

	if (n > max)
		n = max;
	if (n == 0)
		return;
	/* q in thousandths: 1000 - k * floor(1000 / n). n <= RT_MAX_DEST keeps
	 * the step >= 31, so values stay distinct and above zero. */
	uint32_t step = 1000 / n;
	for (i = 0; i < a->n_dest && i < RT_MAX_DEST && k < n; i++) {
		const struct rt_dest *d = &a->dest[i];
		if (!dest_usable(d))
			continue;
		w_lit(w, "Contact: <");
		if (d->uri) {
			w_cstr(w, d->uri);
		} else {
			size_t ul = strnlen(d->called, sizeof(d->called));
			size_t al = strlen(d->address);
			w_lit(w, "sip:");
			if (ul) {
				w_user(w, d->called, ul);
				w_lit(w, "@");
			}
			bool v6 = memchr(d->address, ':', al) && d->address[0] != '[';
			if (v6)
				w_lit(w, "[");
			w_mem(w, d->address, al);
			if (v6)
				w_lit(w, "]");
			if (d->port) {
				w_lit(w, ":");
				w_uint(w, d->port);
			}
			switch (d->transport) {
			case RT_TRANSPORT_TCP: w_lit(w, ";transport=tcp"); break;
			case RT_TRANSPORT_TLS: w_lit(w, ";transport=tls"); break;
			default: w_lit(w, ";transport=udp"); break;
			}
		}
		uint32_t q = 1000 - k * step;
		w_lit(w, ">;q=");
		if (q == 1000) {
			w_lit(w, "1.0");
		} else {
			char t[5] = {'0', '.', (char)('0' + q / 100), (char)('0' + q / 10 % 10),
				     (char)('0' + q % 10)};
			size_t tl = 5;
			while (tl > 3 && t[tl - 1] == '0')
				tl--;
			w_mem(w, t, tl);
		}
		w_lit(w, "\r\n");
		k++;
	}
}

bool sip_respond_needs_answer(const struct sip_msg *m)
{
	return m && !m->error && m->method == SIP_METHOD_INVITE && m->ruri_supported &&
	       m->max_forwards != 0;
}

int sip_respond(const struct sip_msg *m, const struct rt_answer *ans,
		const struct sip_respond_opts *opts, const struct sockaddr *src,
		char *out, size_t cap)
{
	static const struct sip_respond_opts defaults = {0};
	const struct sip_respond_opts *o = opts ? opts : &defaults;
	struct wr w = {out, 0, cap, false};
	const char *warn = NULL;
	bool retry = false, allow = false, contacts = false;
	unsigned code;

	if (!m || (!out && cap))
		return -EINVAL;
	if (m->method == SIP_METHOD_ACK)
		return 0; /* never answered; the ACK for our 3xx-6xx ends here */
	if (m->n_via == 0 || !m->via[0].ok || !m->from.len || !m->to.len ||
	    !m->call_id.len || !m->cseq.len)
		return -EINVAL; /* sip_parse() said SIP_EDROP */

	if (m->error) {
		code = m->error_code ? m->error_code : 400;
		warn = m->error;
	} else if (!m->ruri_supported && (m->method == SIP_METHOD_INVITE ||
					  m->method == SIP_METHOD_OPTIONS)) {
		code = 416;
	} else if (m->method == SIP_METHOD_INVITE) {
		if (m->max_forwards == 0) {
			code = 483;
		} else if (!ans) {
			code = 400;
			warn = "no usable called number";
		} else {
			switch (ans->status) {
			case RT_ROUTED:
				/* A 302 without a Contact would leave the SBC
				 * nowhere to go: say unavailable instead. */
				contacts = usable_dests(ans) > 0;
				code = contacts ? 302 : 503;
				retry = !contacts;
				break;
			case RT_NO_ROUTE:
				code = 404;
				break;
			case RT_NOT_PERMITTED:
				code = 403;
				break;
			case RT_ALL_UNAVAILABLE:
				code = 503;
				retry = true;
				break;
			case RT_NO_FAILOVER:
				/* Relay what the gateway said; a timeout (0)
				 * is the SBC's 408, and a 1xx/2xx cannot be
				 * a final failure. */
				code = ans->code >= 300 && ans->code <= 699 ? ans->code
					: ans->code == 0 ? 408 : 500;
				break;
			case RT_BAD_REQUEST:
			default:
				code = 400;
				warn = ans->error ? ans->error : "bad request";
				break;
			}
		}
	} else if (m->method == SIP_METHOD_CANCEL) {
		code = 200;
	} else if (m->method == SIP_METHOD_OPTIONS) {
		code = o->draining ? 503 : 200;
		retry = o->draining;
		allow = true;
	} else {
		code = 405;
		allow = true;
	}

	w_head(&w, m, code, src);
	if (contacts) {
		uint32_t max = o->max_contacts ? o->max_contacts : SIP_DEFAULT_MAX_CONTACTS;
		w_contacts(&w, ans, max);
	}
	if (retry && o->retry_after) {
		w_lit(&w, "Retry-After: ");
		w_uint(&w, o->retry_after);
		w_lit(&w, "\r\n");
	}
	if (allow)
		w_lit(&w, "Allow: " SIP_ALLOW "\r\n");
	if (warn) {
		w_lit(&w, "Warning: 399 strowger \"");
		w_quoted_text(&w, warn);
		w_lit(&w, "\"\r\n");
	}
	return w_tail(&w, o);
}
