/*
 * sb_sip: the SBC side of a routing query over SIP, as
 * tests/integration/sipp/uac_route.xml plays it: an INVITE per query, the
 * final response, an ACK for it (every final response strowgerd sends is a
 * 3xx-6xx, which the client transaction acknowledges on the same branch).
 *
 * The query's id rides in the Via branch (z9hG4bK-sb + 16 hex digits), which
 * strowgerd echoes, so an answer finds its query without any lookup. Nothing
 * here allocates.
 */
#include <string.h>

#include "rt_decide.h"
#include "sb.h"

#define BRANCH_MAGIC "z9hG4bK-sb"

struct wr {
	char *p;
	size_t len, cap;
	bool full;
};

static void w_mem(struct wr *w, const char *s, size_t n)
{
	if (w->full || n > w->cap - w->len) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

#define w_lit(w, s) w_mem((w), (s), sizeof(s) - 1)

static void w_str(struct wr *w, const char *s)
{
	w_mem(w, s, strlen(s));
}

static void w_uint(struct wr *w, unsigned long long v)
{
	char t[24];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	w_mem(w, t + i, sizeof(t) - i);
}

static void w_hex16(struct wr *w, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char t[16];

	for (int i = 15; i >= 0; i--, v >>= 4)
		t[i] = hex[v & 15];
	w_mem(w, t, 16);
}

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * A URI user part, %-escaped outside RFC 3261's unreserved and
 * user-unreserved characters. in_contact: strowgerd's own rule for the
 * Contacts it writes (';' is left alone); in a request ';' is escaped too,
 * since strowgerd cuts user parameters off the Request-URI's user part.
 */
static void w_user(struct wr *w, const char *s, size_t n, bool in_contact)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_alnum(c) || (c && strchr("-_.!~*'()&=+$,?/", c)) ||
		    (in_contact && c == ';')) {
			w_mem(w, &s[i], 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			w_mem(w, e, 3);
		}
	}
}

unsigned sb_sip_code(unsigned status, unsigned code, unsigned usable_dests)
{
	switch (status) {
	case RT_ROUTED:
		/* a 302 without a Contact would leave the SBC nowhere to go */
		return usable_dests ? 302 : 503;
	case RT_NO_ROUTE:
		return 404;
	case RT_NOT_PERMITTED:
		return 403;
	case RT_ALL_UNAVAILABLE:
		return 503;
	case RT_NO_FAILOVER:
		return code >= 300 && code <= 699 ? code : code == 0 ? 408 : 500;
	case RT_BAD_REQUEST:
	default:
		return 400;
	}
}

int sb_sip_contact(char *out, size_t cap, const char *called, const char *address,
		   unsigned port, const char *uri)
{
	struct wr w = {out, 0, cap, false};

	if (uri && uri[0]) {
		/* a fallback URI as written, between its scheme and parameters */
		const char *s = strchr(uri, ':');
		s = s ? s + 1 : uri;
		w_mem(&w, s, strcspn(s, ";>"));
	} else {
		size_t al = strlen(address);
		bool v6 = memchr(address, ':', al) && address[0] != '[';
		if (called[0]) {
			w_user(&w, called, strlen(called), true);
			w_lit(&w, "@");
		}
		if (v6)
			w_lit(&w, "[");
		w_mem(&w, address, al);
		if (v6)
			w_lit(&w, "]");
		if (port) {
			w_lit(&w, ":");
			w_uint(&w, port);
		}
	}
	return w.full ? -1 : (int)w.len;
}

int sb_sip_request(char *out, size_t cap, bool ack, const struct sb_data *d,
		   const struct sb_query *q, const char *target, const char *local,
		   size_t local_len, unsigned thread, uint64_t id, const char *to, size_t to_len)
{
	struct wr w = {out, 0, cap, false};

	w_str(&w, ack ? "ACK sip:" : "INVITE sip:");
	w_user(&w, q->called, q->called_len, false);
	w_lit(&w, "@");
	w_str(&w, target);
	w_lit(&w, " SIP/2.0\r\nVia: SIP/2.0/UDP ");
	w_mem(&w, local, local_len);
	w_lit(&w, ";branch=" BRANCH_MAGIC);
	w_hex16(&w, id);
	w_lit(&w, ";rport\r\nFrom: <sip:");
	if (q->calling_len) {
		w_user(&w, q->calling, q->calling_len, false);
		w_lit(&w, "@");
	}
	w_mem(&w, local, local_len);
	w_lit(&w, ">;tag=sb");
	w_uint(&w, thread);
	w_lit(&w, "\r\nTo: ");
	if (ack) {
		w_mem(&w, to, to_len);
	} else {
		w_lit(&w, "<sip:");
		w_user(&w, q->called, q->called_len, false);
		w_lit(&w, "@");
		w_str(&w, target);
		w_lit(&w, ">");
	}
	w_lit(&w, "\r\nCall-ID: ");
	w_mem(&w, q->call_id, q->call_id_len);
	if (ack) {
		w_lit(&w, "\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n");
	} else {
		w_lit(&w, "\r\nCSeq: 1 INVITE\r\nContact: <sip:sbc@");
		w_mem(&w, local, local_len);
		w_lit(&w, ">\r\nMax-Forwards: 70\r\n");
		if (q->policy_len) {
			w_lit(&w, "X-Strowger-Policy: ");
			w_mem(&w, q->policy, q->policy_len);
			w_lit(&w, "\r\n");
		}
		for (unsigned i = 0; i < q->n_tried; i++) {
			const struct sb_tried *t = &d->tried[q->tried + i];
			w_lit(&w, "X-Strowger-Tried: ");
			w_mem(&w, t->gw, t->gw_len);
			w_lit(&w, ";code=");
			w_uint(&w, t->code);
			w_lit(&w, "\r\n");
		}
	}
	w_lit(&w, "Content-Length: 0\r\n\r\n");
	return w.full ? -1 : (int)w.len;
}

/* ------------------------------------------------------------ responses */

static bool name_is(const char *n, size_t len, const char *full, char compact)
{
	size_t fl = strlen(full);

	if (len == 1)
		return (n[0] | 0x20) == compact;
	if (len != fl)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((n[i] | 0x20) != full[i])
			return false;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void via_branch(struct sb_sip_resp *r, const char *v, size_t len)
{
	static const char magic[] = "branch=" BRANCH_MAGIC;
	const char *b = memmem(v, len, magic, sizeof(magic) - 1);
	uint64_t id = 0;

	if (!b)
		return;
	b += sizeof(magic) - 1;
	if ((size_t)(v + len - b) < 16)
		return;
	for (int i = 0; i < 16; i++) {
		int x = hexval(b[i]);
		if (x < 0)
			return;
		id = id << 4 | (uint64_t)x;
	}
	r->id = id;
	r->has_id = true;
}

static void contact(struct sb_sip_resp *r, const char *v, size_t len)
{
	const char *lt = memchr(v, '<', len), *end = v + len, *s, *e;

	if (r->n_contacts++ >= SB_MAX_CONTACTS)
		return;
	if (!lt) {
		r->contact[r->n_contacts - 1] = v;
		r->contact_len[r->n_contacts - 1] = 0;
		return;
	}
	s = memchr(lt, ':', (size_t)(end - lt));
	s = s ? s + 1 : lt + 1;
	for (e = s; e < end && *e != ';' && *e != '>'; e++)
		;
	r->contact[r->n_contacts - 1] = s;
	r->contact_len[r->n_contacts - 1] = (size_t)(e - s);
}

int sb_sip_parse(const char *buf, size_t len, struct sb_sip_resp *r)
{
	const char *p = buf, *end = buf + len;
	bool first_via = true;

	r->code = 0;
	r->has_id = false;
	r->invite = false;
	r->to = NULL;
	r->to_len = 0;
	r->n_contacts = 0;
	if (len >= 7 && memcmp(buf, "INVITE ", 7) == 0) {
		/* Our own request, echoed (--echo): no status, the same headers. */
		r->code = 0;
	} else {
		if (len < 12 || memcmp(buf, "SIP/2.0 ", 8) != 0)
			return -1;
		for (int i = 8; i < 11; i++) {
			if (buf[i] < '0' || buf[i] > '9')
				return -1;
			r->code = r->code * 10 + (unsigned)(buf[i] - '0');
		}
	}
	p = memchr(p, '\n', len);
	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *colon, *v, *ve;
		size_t nl;

		if (!eol)
			eol = end;
		ve = eol;
		if (ve > p && ve[-1] == '\r')
			ve--;
		if (ve == p)
			break; /* end of headers */
		colon = memchr(p, ':', (size_t)(ve - p));
		if (colon) {
			nl = (size_t)(colon - p);
			while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
				nl--;
			for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
				;
			if (name_is(p, nl, "via", 'v')) {
				if (first_via)
					via_branch(r, v, (size_t)(ve - v));
				first_via = false;
			} else if (name_is(p, nl, "to", 't')) {
				r->to = v;
				r->to_len = (size_t)(ve - v);
			} else if (name_is(p, nl, "contact", 'm')) {
				contact(r, v, (size_t)(ve - v));
			} else if (name_is(p, nl, "cseq", '\0')) {
				r->invite = memmem(v, (size_t)(ve - v), "INVITE", 6) != NULL;
			}
		}
		p = eol;
	}
	return 0;
}

enum sb_verdict sb_sip_check(const struct sb_sip_resp *r, const struct sb_data *d,
			     const struct sb_expect *e, char *why, size_t whylen)
{
	struct wr w = {why, 0, whylen ? whylen - 1 : 0, false};

	if (r->code != e->sip_code) {
		if (why) {
			w_lit(&w, "SIP ");
			w_uint(&w, r->code);
			w_lit(&w, ", expected ");
			w_uint(&w, e->sip_code);
			why[w.len] = '\0';
		}
		return SB_WRONG_CODE;
	}
	if (r->code != 302)
		return SB_RIGHT;
	bool same = r->n_contacts == e->n_contacts;
	for (unsigned i = 0; same && i < e->n_contacts; i++) {
		const char *x = sb_pool_str(&d->pool, d->contacts[e->first + i]);
		size_t xl = strlen(x);
		same = r->contact_len[i] == xl && memcmp(r->contact[i], x, xl) == 0;
	}
	if (same)
		return SB_RIGHT;
	if (why) {
		w_lit(&w, "302 Contacts [");
		for (unsigned i = 0; i < r->n_contacts && i < SB_MAX_CONTACTS; i++) {
			if (i)
				w_lit(&w, " ");
			w_mem(&w, r->contact[i], r->contact_len[i]);
		}
		w_lit(&w, "], expected [");
		for (unsigned i = 0; i < e->n_contacts; i++) {
			if (i)
				w_lit(&w, " ");
			w_str(&w, sb_pool_str(&d->pool, d->contacts[e->first + i]));
		}
		w_lit(&w, "]");
		why[w.len] = '\0'; /* cut short when it did not fit */
	}
	return SB_WRONG_DEST;
}
