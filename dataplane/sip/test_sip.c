/*
 * Unit tests of the SIP codec. Every message is copied into a malloc'd
 * buffer of exactly its length, so AddressSanitizer reports any read past
 * the datagram.
 *
 * The RFC 4475 torture messages are read from $SIP_TORTURE_DIR, else from
 * the SIP_TORTURE_DIR the build defines, else from ./torture or
 * dataplane/sip/torture. Missing files fail the test: a silently skipped
 * torture suite would hide regressions.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip_msg.h"

/* ---- helpers ---- */

struct pkt {
	uint8_t *buf;
	size_t len;
};

static struct pkt pkt_new(const void *data, size_t len)
{
	struct pkt p = {malloc(len ? len : 1), len};
	assert_non_null(p.buf);
	memcpy(p.buf, data, len);
	return p;
}

static struct pkt pkt_str(const char *s)
{
	return pkt_new(s, strlen(s));
}

static int parse(struct pkt *p, struct sip_msg *m)
{
	return sip_parse(p->buf, p->len, m);
}

static struct sockaddr_in src4(const char *ip, uint16_t port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	return sa;
}

static bool str_eq(struct rt_str s, const char *lit)
{
	return s.len == strlen(lit) && (s.len == 0 || memcmp(s.p, lit, s.len) == 0);
}

/* strstr that shows the whole response when the needle is missing. */
#define assert_has(hay, needle)                                              \
	do {                                                                 \
		if (!strstr((hay), (needle)))                                \
			fail_msg("no '%s' in:\n%s", (needle), (hay));       \
	} while (0)

#define assert_str(s, lit)                                                   \
	do {                                                                 \
		struct rt_str s_ = (s);                                      \
		if (!str_eq(s_, lit))                                        \
			fail_msg("got '%.*s' want '%s'", (int)s_.len, s_.p, lit); \
	} while (0)

static unsigned status_of(const char *resp)
{
	assert_memory_equal(resp, "SIP/2.0 ", 8);
	return (unsigned)atoi(resp + 8);
}

/* Occurrences in hay[0..len): memmem, since an echoed header may carry a
 * NUL byte (RFC 4475 intmeth). */
static unsigned count_mem(const char *hay, size_t len, const char *needle)
{
	unsigned n = 0;
	size_t nl = strlen(needle);
	const char *p = memmem(hay, len, needle, nl);
	while (p) {
		n++;
		p = memmem(p + 1, len - (size_t)(p + 1 - hay), needle, nl);
	}
	return n;
}

static unsigned count(const char *hay, const char *needle)
{
	return count_mem(hay, strlen(hay), needle);
}

/* Respond into a NUL-terminated buffer; returns the length. */
static int respond(const struct sip_msg *m, const struct rt_answer *a,
		   const struct sip_respond_opts *o, const struct sockaddr *sa, char *out,
		   size_t cap)
{
	int n = sip_respond(m, a, o, sa, out, cap - 1);
	if (n >= 0)
		out[n] = 0;
	if (n > 0) {
		/* Every response is complete and carries no body. */
		assert_true(n >= 4);
		assert_memory_equal(out + n - 4, "\r\n\r\n", 4);
		assert_int_equal(count_mem(out, (size_t)n, "\r\nContent-Length: 0\r\n"), 1);
		assert_int_equal(count_mem(out, (size_t)n, "\r\nVia: "), m->n_via);
	}
	return n;
}

static void dest_ip(struct rt_dest *d, const char *called, const char *addr, uint16_t port,
		    enum rt_transport t)
{
	memset(d, 0, sizeof(*d));
	d->gateway = "gw";
	d->trunk = "tr";
	d->route = "r";
	d->usage = "u";
	d->address = addr;
	d->port = port;
	d->transport = t;
	d->gateway_index = 0;
	snprintf(d->called, sizeof(d->called), "%s", called);
}

static const char INVITE_COMPACT[] =
	"INVITE sip:%2B19725550100;npdi@sbc.example.net;user=phone SIP/2.0\r\n"
	"v: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
	"Max-Forwards: 70\r\n"
	"t: <sip:+19725550100@sbc.example.net>\r\n"
	"f: \"Alice\" <sip:+12145550199@carrier.example.org;user=phone>\r\n"
	"   ;tag=1928301774\r\n"
	"i: a84b4c76e66710@pc33.example.org\r\n"
	"CSeq: 314159\r\n"
	"\tINVITE\r\n"
	"m: <sip:alice@198.51.100.10>\r\n"
	"k: timer\r\n"
	"X-Strowger-Policy: Dallas\r\n"
	"  Calling\r\n"
	"\t Policy\r\n"
	"c: application/sdp\r\n"
	"l: 4\r\n"
	"\r\n"
	"v=0\r\nGARBAGE AFTER BODY";

/* ---- tests ---- */

static void test_invite_compact_folding(void **state)
{
	struct pkt p = pkt_str(INVITE_COMPACT);
	struct sip_msg m;
	struct rt_query q;
	struct sip_numbuf nb;

	assert_int_equal(parse(&p, &m), 0);
	assert_int_equal(m.method, SIP_METHOD_INVITE);
	assert_int_equal(m.n_via, 1);
	assert_str(m.via[0].host, "198.51.100.10");
	assert_int_equal(m.via[0].port, 5060);
	assert_str(m.call_id, "a84b4c76e66710@pc33.example.org");
	assert_true(m.cseq_ok);
	assert_int_equal(m.cseq_num, 314159);
	assert_str(m.cseq_method, "INVITE");
	assert_int_equal(m.max_forwards, 70);
	assert_false(m.to_has_tag);
	assert_int_equal(m.content_length, 4);
	assert_str(m.body, "v=0\r");
	assert_true(sip_respond_needs_answer(&m));

	assert_int_equal(sip_query_fill(&m, &q, &nb, 4), 0);
	assert_str(q.called, "+19725550100"); /* unescaped, ;npdi cut */
	assert_ptr_equal(q.called.p, nb.called);
	assert_str(q.calling, "+12145550199");
	assert_true(q.calling.p >= (const char *)p.buf &&
		    q.calling.p < (const char *)p.buf + p.len); /* no copy */
	assert_str(q.call_id, "a84b4c76e66710@pc33.example.org");
	assert_int_equal(q.n_tried, 0);
	assert_int_equal(q.max_destinations, 4);
	/* Folded value: unfolded to the name with one space (RFC 3261 7.3.1). */
	assert_str(q.policy, "Dallas Calling Policy");
	assert_ptr_equal(q.policy.p, nb.policy);
	free(p.buf);
}

static void test_vias_echoed(void **state)
{
	struct pkt p = pkt_str(
		"OPTIONS sip:strowger.example.net SIP/2.0\r\n"
		"Via: SIP/2.0/UDP sbc1.example.net:5060;branch=z9hG4bKa;rport\r\n"
		"Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKb, SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bKc\r\n"
		"v: SIP/2.0/TLS 10.0.0.3;received=10.9.9.9;branch=z9hG4bKd\r\n"
		"From: <sip:probe@example.net>;tag=x1\r\n"
		"To: <sip:strowger.example.net>\r\n"
		"Call-ID: vias-1\r\n"
		"CSeq: 7 OPTIONS\r\n"
		"Content-Length: 0\r\n\r\n");
	struct sip_msg m;
	char out[2048];
	struct sockaddr_in sa = src4("203.0.113.7", 5062);

	assert_int_equal(parse(&p, &m), 0);
	assert_int_equal(m.n_via, 4);
	assert_str(m.via[2].host, "2001:db8::1");
	assert_int_equal(m.via[2].port, 5070);
	int n = respond(&m, NULL, NULL, (struct sockaddr *)&sa, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(status_of(out), 200);
	const char *v1 = strstr(out, "Via: SIP/2.0/UDP sbc1.example.net:5060;branch=z9hG4bKa;"
				     "rport=5062;received=203.0.113.7\r\n");
	const char *v2 = strstr(out, "Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKb\r\n");
	const char *v3 = strstr(out, "Via: SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bKc\r\n");
	const char *v4 = strstr(out, "Via: SIP/2.0/TLS 10.0.0.3;received=10.9.9.9;branch=z9hG4bKd\r\n");
	assert_non_null(v1);
	assert_non_null(v2);
	assert_non_null(v3);
	assert_non_null(v4);
	assert_true(v1 < v2 && v2 < v3 && v3 < v4);
	assert_has(out, "Allow: INVITE, ACK, CANCEL, OPTIONS\r\n");
	free(p.buf);

	/* Sent-by is the source address, no rport: Via untouched (18.2.1). */
	p = pkt_str("OPTIONS sip:s.example.net SIP/2.0\r\n"
		    "Via: SIP/2.0/UDP 203.0.113.7:5062;branch=z9hG4bKe\r\n"
		    "From: <sip:p@example.net>;tag=1\r\nTo: <sip:s.example.net>\r\n"
		    "Call-ID: vias-2\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(parse(&p, &m), 0);
	n = respond(&m, NULL, NULL, (struct sockaddr *)&sa, out, sizeof(out));
	assert_has(out, "\r\nVia: SIP/2.0/UDP 203.0.113.7:5062;branch=z9hG4bKe\r\n");
	free(p.buf);

	/* The top Via's own received= is replaced; IPv6 source; rport before it. */
	p = pkt_str("OPTIONS sip:s.example.net SIP/2.0\r\n"
		    "Via: SIP/2.0/UDP [2001:db8::5];rport;received=1.2.3.4;branch=z9hG4bKf\r\n"
		    "From: <sip:p@example.net>;tag=1\r\nTo: <sip:s.example.net>\r\n"
		    "Call-ID: vias-3\r\nCSeq: 1 OPTIONS\r\n\r\n");
	struct sockaddr_in6 sa6;
	memset(&sa6, 0, sizeof(sa6));
	sa6.sin6_family = AF_INET6;
	sa6.sin6_port = htons(40000);
	inet_pton(AF_INET6, "2001:db8::5", &sa6.sin6_addr);
	assert_int_equal(parse(&p, &m), 0);
	n = respond(&m, NULL, NULL, (struct sockaddr *)&sa6, out, sizeof(out));
	assert_true(n > 0);
	assert_has(out, "\r\nVia: SIP/2.0/UDP [2001:db8::5];rport=40000;branch=z9hG4bKf;"
				    "received=2001:db8::5\r\n");
	/* v4-mapped source written as IPv4 */
	inet_pton(AF_INET6, "::ffff:192.0.2.44", &sa6.sin6_addr);
	n = respond(&m, NULL, NULL, (struct sockaddr *)&sa6, out, sizeof(out));
	assert_has(out, ";received=192.0.2.44\r\n");
	free(p.buf);
}

static void test_to_tag_deterministic(void **state)
{
	struct pkt a = pkt_str(INVITE_COMPACT), b = pkt_str(INVITE_COMPACT);
	struct sip_msg ma, mb;
	struct rt_answer ans;
	char oa[2048], ob[2048], tag[17], want[64];
	struct sockaddr_in sa = src4("198.51.100.10", 5060);
	struct sip_respond_opts o = {.retry_after = 30};

	memset(&ans, 0, sizeof(ans));
	ans.status = RT_ALL_UNAVAILABLE;
	ans.code = 503;
	assert_int_equal(parse(&a, &ma), 0);
	assert_int_equal(parse(&b, &mb), 0);
	int na = respond(&ma, &ans, &o, (struct sockaddr *)&sa, oa, sizeof(oa));
	int nb = respond(&mb, &ans, &o, (struct sockaddr *)&sa, ob, sizeof(ob));
	assert_true(na > 0);
	assert_int_equal(na, nb);
	assert_memory_equal(oa, ob, (size_t)na); /* retransmission: same bytes */
	sip_to_tag(ma.call_id, tag);
	assert_int_equal(strlen(tag), 16);
	snprintf(want, sizeof(want), "\r\nTo: <sip:+19725550100@sbc.example.net>;tag=%s\r\n", tag);
	assert_has(oa, want);

	/* A different Call-ID gives another tag. */
	char other[17];
	sip_to_tag((struct rt_str){"x", 1}, other);
	assert_string_not_equal(tag, other);
	free(a.buf);
	free(b.buf);

	/* An existing To tag is kept and no second one is added. */
	struct pkt c = pkt_str("CANCEL sip:1@x.example SIP/2.0\r\n"
			       "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
			       "From: <sip:a@b>;tag=9\r\nTo: <sip:1@x.example>;TAG=abc\r\n"
			       "Call-ID: t-3\r\nCSeq: 2 CANCEL\r\n\r\n");
	assert_int_equal(parse(&c, &ma), 0);
	assert_true(ma.to_has_tag);
	respond(&ma, NULL, NULL, NULL, oa, sizeof(oa));
	assert_has(oa, "\r\nTo: <sip:1@x.example>;TAG=abc\r\n");
	assert_int_equal(count(oa, "tag="), 1);
	free(c.buf);
}

static double q_of(const char *line)
{
	const char *q = strstr(line, ">;q=");
	assert_non_null(q);
	return atof(q + 4);
}

static void test_302_contacts(void **state)
{
	struct pkt p = pkt_str(INVITE_COMPACT);
	struct sip_msg m;
	struct rt_answer ans;
	char out[16384];
	struct sip_respond_opts o = {.max_contacts = 4, .server = "strowger"};

	assert_int_equal(parse(&p, &m), 0);
	memset(&ans, 0, sizeof(ans));
	ans.status = RT_ROUTED;
	ans.code = 302;
	dest_ip(&ans.dest[0], "+19725550100", "192.0.2.10", 5060, RT_TRANSPORT_UDP);
	dest_ip(&ans.dest[1], "19725550100", "2001:db8::20", 5061, RT_TRANSPORT_TLS);
	dest_ip(&ans.dest[2], "#31#9725550100", "gw3.example.net", 5060, RT_TRANSPORT_TCP);
	memset(&ans.dest[3], 0, sizeof(ans.dest[3]));
	ans.dest[3].uri = "sip:+19725550100@fallback.example.net";
	ans.dest[3].gateway_index = -1;
	dest_ip(&ans.dest[4], "5", "192.0.2.50", 5060, RT_TRANSPORT_UDP);
	ans.n_dest = 5;

	int n = respond(&m, &ans, &o, NULL, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(status_of(out), 302);
	assert_has(out, "SIP/2.0 302 Moved Temporarily\r\n");
	assert_int_equal(count(out, "\r\nContact: "), 4); /* capped */
	const char *c0 = strstr(out, "Contact: <sip:+19725550100@192.0.2.10:5060;transport=udp>;q=1.0\r\n");
	const char *c1 = strstr(out, "Contact: <sip:19725550100@[2001:db8::20]:5061;transport=tls>;q=0.75\r\n");
	const char *c2 = strstr(out, "Contact: <sip:%2331%239725550100@gw3.example.net:5060;transport=tcp>;q=0.5\r\n");
	const char *c3 = strstr(out, "Contact: <sip:+19725550100@fallback.example.net>;q=0.25\r\n");
	assert_non_null(c0);
	assert_non_null(c1);
	assert_non_null(c2);
	assert_non_null(c3);
	assert_true(c0 < c1 && c1 < c2 && c2 < c3);
	assert_null(strstr(out, "192.0.2.50"));
	assert_has(out, "\r\nServer: strowger\r\n");

	/* The full RT_MAX_DEST, each count from 1: q strictly descending, > 0. */
	for (uint32_t k = 1; k <= RT_MAX_DEST; k++) {
		for (uint32_t i = 0; i < k; i++)
			dest_ip(&ans.dest[i], "1", "192.0.2.1", (uint16_t)(5000 + i),
				RT_TRANSPORT_UDP);
		ans.n_dest = k;
		o.max_contacts = RT_MAX_DEST;
		n = respond(&m, &ans, &o, NULL, out, sizeof(out));
		assert_true(n > 0);
		assert_int_equal(count(out, "\r\nContact: "), k);
		double prev = 2.0;
		for (const char *c = strstr(out, "\r\nContact: "); c;
		     c = strstr(c + 1, "\r\nContact: ")) {
			double q = q_of(c);
			assert_true(q < prev);
			assert_true(q > 0.0 && q <= 1.0);
			prev = q;
		}
	}
	/* max_contacts 0 means the default of 4. */
	o.max_contacts = 0;
	respond(&m, &ans, &o, NULL, out, sizeof(out));
	assert_int_equal(count(out, "\r\nContact: "), SIP_DEFAULT_MAX_CONTACTS);
	free(p.buf);
}

struct map_case {
	enum rt_status status;
	uint16_t code;
	unsigned want;
	const char *must;
};

static void test_status_mapping(void **state)
{
	static const struct map_case cases[] = {
		{RT_NO_ROUTE, 404, 404, "SIP/2.0 404 Not Found\r\n"},
		{RT_NOT_PERMITTED, 403, 403, "SIP/2.0 403 Forbidden\r\n"},
		{RT_ALL_UNAVAILABLE, 503, 503, "\r\nRetry-After: 60\r\n"},
		{RT_BAD_REQUEST, 400, 400, "\r\nWarning: 399 strowger \"unknown policy\"\r\n"},
		{RT_NO_FAILOVER, 486, 486, "SIP/2.0 486 Busy Here\r\n"},
		{RT_NO_FAILOVER, 603, 603, "SIP/2.0 603 Decline\r\n"},
		{RT_NO_FAILOVER, 0, 408, "SIP/2.0 408 Request Timeout\r\n"},
		{RT_NO_FAILOVER, 200, 500, "SIP/2.0 500 "},
	};
	struct pkt p = pkt_str(INVITE_COMPACT);
	struct sip_msg m;
	struct rt_answer ans;
	char out[4096];
	struct sip_respond_opts o = {.retry_after = 60};

	assert_int_equal(parse(&p, &m), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ans, 0, sizeof(ans));
		ans.status = cases[i].status;
		ans.code = cases[i].code;
		ans.error = "unknown \"policy\"";
		int n = respond(&m, &ans, &o, NULL, out, sizeof(out));
		assert_true(n > 0);
		assert_int_equal(status_of(out), cases[i].want);
		if (!strstr(out, cases[i].must))
			fail_msg("case %zu: no '%s' in\n%s", i, cases[i].must, out);
		assert_null(strstr(out, "\r\nContact:"));
	}
	/* ROUTED with nothing usable never yields a Contact-less 302. */
	memset(&ans, 0, sizeof(ans));
	ans.status = RT_ROUTED;
	ans.n_dest = 1; /* neither address nor uri */
	respond(&m, &ans, &o, NULL, out, sizeof(out));
	assert_int_equal(status_of(out), 503);
	/* No answer for an INVITE (no usable called number): 400. */
	respond(&m, NULL, &o, NULL, out, sizeof(out));
	assert_int_equal(status_of(out), 400);
	free(p.buf);

	/* Max-Forwards 0 -> 483, decision not needed. */
	static const char *mf0 =
		"INVITE sip:123@s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
		"From: <sip:a@b>;tag=1\r\nTo: <sip:123@s>\r\nCall-ID: mf0\r\nCSeq: 1 INVITE\r\n"
		"Max-Forwards: 0\r\n\r\n";
	p = pkt_str(mf0);
	assert_int_equal(parse(&p, &m), 0);
	assert_false(sip_respond_needs_answer(&m));
	respond(&m, NULL, &o, NULL, out, sizeof(out));
	assert_has(out, "SIP/2.0 483 Too Many Hops\r\n");
	free(p.buf);

	/* Per-method answers. */
	static const struct {
		const char *method;
		bool draining;
		unsigned want;
		const char *must;
	} meth[] = {
		{"OPTIONS", false, 200, "\r\nAllow: INVITE, ACK, CANCEL, OPTIONS\r\n"},
		{"OPTIONS", true, 503, "\r\nRetry-After: 60\r\n"},
		{"CANCEL", false, 200, "SIP/2.0 200 OK\r\n"},
		{"BYE", false, 405, "\r\nAllow: INVITE, ACK, CANCEL, OPTIONS\r\n"},
		{"REGISTER", false, 405, "SIP/2.0 405 Method Not Allowed\r\n"},
		{"ACK", false, 0, NULL},
	};
	for (size_t i = 0; i < sizeof(meth) / sizeof(meth[0]); i++) {
		char req[512];
		snprintf(req, sizeof(req),
			 "%s sip:123@s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
			 "From: <sip:a@b>;tag=1\r\nTo: <sip:123@s>\r\nCall-ID: m%zu\r\n"
			 "CSeq: 1 %s\r\nContent-Length: 0\r\n\r\n",
			 meth[i].method, i, meth[i].method);
		p = pkt_str(req);
		assert_int_equal(parse(&p, &m), 0);
		assert_false(sip_respond_needs_answer(&m));
		o.draining = meth[i].draining;
		int n = respond(&m, NULL, &o, NULL, out, sizeof(out));
		if (!meth[i].want) {
			assert_int_equal(n, 0);
		} else {
			assert_int_equal(status_of(out), meth[i].want);
			assert_has(out, meth[i].must);
		}
		free(p.buf);
	}
}

static void test_tried(void **state)
{
	static const char *head =
		"INVITE sip:+4930123@s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
		"From: <sip:a@b>;tag=1\r\nTo: <sip:+4930123@s>\r\nCall-ID: tr\r\nCSeq: 2 INVITE\r\n";
	char req[4096];
	struct sip_msg m;
	struct rt_query q;
	struct sip_numbuf nb;
	struct pkt p;

	snprintf(req, sizeof(req),
		 "%sX-Strowger-Tried: Red-GW1;code=503\r\n"
		 "x-strowger-tried:  Red-GW2 ; code = 0 ; foo=bar\r\n"
		 "X-Strowger-Tried: Dallas-GW1;code=408, Dallas-GW2;code=486\r\n\r\n",
		 head);
	p = pkt_str(req);
	assert_int_equal(parse(&p, &m), 0);
	assert_int_equal(sip_query_fill(&m, &q, &nb, 0), 0);
	assert_int_equal(q.n_tried, 4);
	assert_str(q.tried[0].gateway, "Red-GW1");
	assert_int_equal(q.tried[0].code, 503);
	assert_str(q.tried[1].gateway, "Red-GW2");
	assert_int_equal(q.tried[1].code, 0);
	assert_str(q.tried[2].gateway, "Dallas-GW1");
	assert_int_equal(q.tried[2].code, 408);
	assert_str(q.tried[3].gateway, "Dallas-GW2");
	assert_int_equal(q.tried[3].code, 486);
	free(p.buf);

	static const char *bads[] = {
		"X-Strowger-Tried: gw1;code=700\r\n",
		"X-Strowger-Tried: gw1;code=-1\r\n",
		"X-Strowger-Tried: gw1;code=\r\n",
		"X-Strowger-Tried: gw1\r\n",
		"X-Strowger-Tried: ;code=503\r\n",
		"X-Strowger-Tried: gw1;code=503;code=408\r\n",
		"X-Strowger-Tried: gw1;code=5x3\r\n",
	};
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		snprintf(req, sizeof(req), "%s%s\r\n", head, bads[i]);
		p = pkt_str(req);
		if (parse(&p, &m) != SIP_EBAD)
			fail_msg("accepted %s", bads[i]);
		char out[2048];
		assert_int_equal(status_of((respond(&m, NULL, NULL, NULL, out, sizeof(out)), out)),
				 400);
		free(p.buf);
	}

	/* RT_MAX_TRIED is fine, one more is not. */
	for (int extra = 0; extra <= 1; extra++) {
		size_t o = (size_t)snprintf(req, sizeof(req), "%s", head);
		for (int i = 0; i < RT_MAX_TRIED + extra; i++)
			o += (size_t)snprintf(req + o, sizeof(req) - o,
					      "X-Strowger-Tried: gw%d;code=503\r\n", i);
		snprintf(req + o, sizeof(req) - o, "\r\n");
		p = pkt_str(req);
		assert_int_equal(parse(&p, &m), extra ? SIP_EBAD : 0);
		if (!extra)
			assert_int_equal(m.n_tried, RT_MAX_TRIED);
		free(p.buf);
	}
}

static void test_malformed(void **state)
{
	static const struct {
		const char *msg;
		int rc;
		unsigned code;
	} cases[] = {
		{"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n", SIP_ERESPONSE, 0},
		{"\r\n\r\n", SIP_EDROP, 0},
		{"", SIP_EDROP, 0},
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", SIP_EDROP, 0},
		{"INVITE sip:1@s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: <sip:a@b>\r\n"
		 "To: <sip:1@s>\r\nCSeq: 1 INVITE\r\n\r\n", SIP_EDROP, 0}, /* no Call-ID */
		{"INVITE sip:1@s SIP/2.0\r\nFrom: <sip:a@b>\r\nTo: <sip:1@s>\r\nCall-ID: x\r\n"
		 "CSeq: 1 INVITE\r\n\r\n", SIP_EDROP, 0}, /* no Via */
		{"INVITE sip:1@s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: <sip:a@b>\r\n"
		 "To: <sip:1@s>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 10\r\n\r\nabc",
		 SIP_EBAD, 400},
		{"INVITE sip:1@s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: <sip:a@b>\r\n"
		 "To: <sip:1@s>\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n", SIP_EBAD, 400},
		{"INVITE sip:1@s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: <sip:a@b>\r\n"
		 "To: <sip:1@s>\r\nCall-ID: x\r\nCSeq: x INVITE\r\n\r\n", SIP_EBAD, 400},
		{"INVITE sip:1@s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: <sip:a@b>\r\n"
		 "To: <sip:1@s>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 256\r\n\r\n",
		 SIP_EBAD, 400},
		{"INVITE sip:1@s SIP/3.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: <sip:a@b>\r\n"
		 "To: <sip:1@s>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n", SIP_EBAD, 505},
		{"INVITE sip:1@s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: <sip:a@b>\r\n"
		 "To: <sip:1@s>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n", SIP_EBAD, 400}, /* no CRLFCRLF */
		{"ACK sip:1@s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: <sip:a@b>\r\n"
		 "To: <sip:1@s>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n", SIP_EBAD, 0}, /* never answered */
		/* LF-only line ends are accepted */
		{"OPTIONS sip:s SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1\nFrom: <sip:a@b>;tag=1\n"
		 "To: <sip:s>\nCall-ID: x\nCSeq: 1 OPTIONS\n\n", 0, 200},
	};
	char out[2048];
	struct sip_msg m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p = pkt_str(cases[i].msg);
		int rc = parse(&p, &m);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d want %d (%s)", i, rc, cases[i].rc,
				 m.error ? m.error : "-");
		if (rc == 0 || rc == SIP_EBAD) {
			int n = respond(&m, NULL, NULL, NULL, out, sizeof(out));
			if (cases[i].code)
				assert_int_equal(status_of(out), cases[i].code);
			else
				assert_int_equal(n, 0);
		}
		free(p.buf);
	}

	/* More Vias than SIP_MAX_VIA: cannot echo them, drop. */
	char big[8192];
	size_t o = (size_t)snprintf(big, sizeof(big), "OPTIONS sip:s SIP/2.0\r\n");
	for (int i = 0; i <= SIP_MAX_VIA; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "Via: SIP/2.0/UDP h%d\r\n", i);
	snprintf(big + o, sizeof(big) - o,
		 "From: <sip:a@b>\r\nTo: <sip:s>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	struct pkt p = pkt_str(big);
	assert_int_equal(parse(&p, &m), SIP_EDROP);
	free(p.buf);
}

/* Every prefix of a valid INVITE, each in its own exact-size buffer: the
 * parser must never look past len (ASan) and never crash. */
static void test_truncations(void **state)
{
	size_t len = strlen(INVITE_COMPACT);
	struct sip_msg m;
	struct rt_query q;
	struct sip_numbuf nb;
	char out[4096];

	for (size_t k = 0; k <= len; k++) {
		struct pkt p = pkt_new(INVITE_COMPACT, k);
		int rc = parse(&p, &m);
		assert_true(rc == 0 || rc == SIP_EBAD || rc == SIP_EDROP);
		if (rc == 0 || rc == SIP_EBAD) {
			sip_query_fill(&m, &q, &nb, 0);
			respond(&m, NULL, NULL, NULL, out, sizeof(out));
		}
		free(p.buf);
	}
}

static void test_enospc(void **state)
{
	struct pkt p = pkt_str(INVITE_COMPACT);
	struct sip_msg m;
	struct rt_answer ans;
	char out[4096];

	assert_int_equal(parse(&p, &m), 0);
	memset(&ans, 0, sizeof(ans));
	ans.status = RT_NO_ROUTE;
	int full = sip_respond(&m, &ans, NULL, NULL, out, sizeof(out));
	assert_true(full > 0);
	for (size_t cap = 0; cap < (size_t)full; cap++)
		assert_int_equal(sip_respond(&m, &ans, NULL, NULL, out, cap), -ENOSPC);
	assert_int_equal(sip_respond(&m, &ans, NULL, NULL, out, (size_t)full), full);
	assert_int_equal(sip_respond(NULL, &ans, NULL, NULL, out, sizeof(out)), -EINVAL);
	free(p.buf);
}

static void test_numbers(void **state)
{
	static const struct {
		const char *ruri, *from;
		int rc;
		const char *called, *calling;
	} cases[] = {
		{"sip:+19725550100@s;user=phone", "<sip:2145550199@c>", 0, "+19725550100", "2145550199"},
		{"sips:%2b1972@s", "sip:%2B44@c", 0, "+1972", "+44"},
		{"tel:+1-972-555-0100;phone-context=+1", "<tel:+33123>", 0, "+1-972-555-0100", "+33123"},
		{"sip:1972;rn=+1999@s", "\"A\" <sip:anonymous@anonymous.invalid>", 0, "1972", "anonymous"},
		{"sip:alice:secret@s", "<sip:c>", 0, "alice", ""},
		{"sip:s.example.net", "<sip:a@c>", -EBADMSG, NULL, "a"},
		{"sip:nul%00l@s", "<sip:a%00b@c>", -EBADMSG, NULL, ""},
		{"sip:100%@s", "<sip:%zz@c>", 0, "100%", "%zz"},
		{"http://s/", "<sip:a@c>", -EBADMSG, NULL, "a"},
		{"sip:12345678901234567890123456789012345678901234567890123456789012345@s",
		 "<sip:a@c>", -EBADMSG, NULL, "a"},
	};
	char req[1024];
	struct sip_msg m;
	struct rt_query q;
	struct sip_numbuf nb;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(req, sizeof(req),
			 "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: %s;tag=1\r\n"
			 "To: <sip:x@s>\r\nCall-ID: n%zu\r\nCSeq: 1 INVITE\r\n\r\n",
			 cases[i].ruri, cases[i].from, i);
		struct pkt p = pkt_str(req);
		assert_int_equal(parse(&p, &m), 0);
		int rc = sip_query_fill(&m, &q, &nb, 0);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d", i, rc);
		if (cases[i].called)
			assert_str(q.called, cases[i].called);
		assert_str(q.calling, cases[i].calling);
		free(p.buf);
	}
}

/* ---- RFC 4475 torture messages ---- */

struct torture {
	const char *name;
	int rc;        /* sip_parse() */
	unsigned code; /* response status with a ROUTED answer, 0: none */
};

static const struct torture tortures[] = {
	/* 3.1.1 valid */
	{"wsinv", 0, 302},
	{"intmeth", 0, 405},
	{"esc01", 0, 302},
	{"escnull", 0, 405},
	{"esc02", 0, 405},
	{"lwsdisp", 0, 200},
	{"longreq", 0, 302},
	{"dblreq", 0, 405}, /* the trailing INVITE is noise (18.3) */
	{"semiuri", 0, 200},
	{"transports", 0, 200},
	{"mpart01", 0, 405},
	{"unreason", SIP_ERESPONSE, 0},
	{"noreason", SIP_ERESPONSE, 0},
	/* 3.1.2 invalid */
	{"badinv01", SIP_EBAD, 400},
	{"clerr", SIP_EBAD, 400},
	{"ncl", SIP_EBAD, 400},
	{"scalar02", SIP_EBAD, 400},
	{"scalarlg", SIP_ERESPONSE, 0},
	{"quotbal", SIP_EBAD, 400},
	{"ltgtruri", SIP_EBAD, 400},
	{"lwsruri", SIP_EBAD, 400},
	{"lwsstart", SIP_EBAD, 400},
	{"trws", SIP_EBAD, 400},
	{"escruri", SIP_EBAD, 400},
	{"baddate", 0, 302},   /* Date is not ours to check */
	{"regbadct", 0, 405},  /* Contact is not ours to check */
	{"badaspec", SIP_EBAD, 400},
	{"baddn", SIP_EBAD, 400},
	{"badvers", SIP_EBAD, 505},
	{"mismatch01", SIP_EBAD, 400},
	{"mismatch02", SIP_EBAD, 400},
	{"bigcode", SIP_ERESPONSE, 0},
	/* 3.1.3 - 3.1.5 semantics */
	{"badbranch", 0, 200},
	{"insuf", SIP_EDROP, 0}, /* no From/To/Call-ID: nothing to reply with */
	{"unkscm", 0, 416},
	{"novelsc", 0, 416},
	{"unksm2", 0, 405},
	{"bext01", 0, 200}, /* Require is not enforced (see report) */
	{"invut", 0, 302},
	{"regaut01", 0, 405},
	{"multi01", SIP_EBAD, 400},
	{"mcl01", SIP_EBAD, 400},
	{"bcast", SIP_ERESPONSE, 0},
	{"zeromf", 0, 200}, /* OPTIONS with Max-Forwards 0 is answered */
	{"cparam01", 0, 405},
	{"cparam02", 0, 405},
	{"regescrt", 0, 405},
	{"sdp01", 0, 302},
	{"inv2543", 0, 302},
};

static const char *torture_dir(void)
{
	static const char *const tries[] = {
#ifdef SIP_TORTURE_DIR
		SIP_TORTURE_DIR,
#endif
		"torture", "dataplane/sip/torture", "../dataplane/sip/torture",
	};
	const char *env = getenv("SIP_TORTURE_DIR");
	if (env && *env)
		return env;
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/wsinv.sip", tries[i]);
		FILE *f = fopen(path, "rb");
		if (f) {
			fclose(f);
			return tries[i];
		}
	}
	return NULL;
}

static struct pkt load(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.sip", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (set SIP_TORTURE_DIR)", path);
	static uint8_t tmp[65536];
	size_t n = fread(tmp, 1, sizeof(tmp), f);
	fclose(f);
	return pkt_new(tmp, n);
}

static void test_torture(void **state)
{
	const char *dir = torture_dir();
	struct sip_msg m;
	struct rt_query q;
	struct sip_numbuf nb;
	struct rt_answer ans;
	char out[16384];
	struct sockaddr_in sa = src4("192.0.2.99", 5060);
	struct sip_respond_opts o = {.max_contacts = 4, .retry_after = 30};

	if (!dir)
		fail_msg("torture directory not found (set SIP_TORTURE_DIR)");
	memset(&ans, 0, sizeof(ans));
	ans.status = RT_ROUTED;
	dest_ip(&ans.dest[0], "+15550100", "192.0.2.200", 5060, RT_TRANSPORT_UDP);
	ans.n_dest = 1;

	for (size_t i = 0; i < sizeof(tortures) / sizeof(tortures[0]); i++) {
		const struct torture *t = &tortures[i];
		struct pkt p = load(dir, t->name);
		int rc = parse(&p, &m);
		if (rc != t->rc)
			fail_msg("%s: rc %d want %d (%s)", t->name, rc, t->rc,
				 rc == SIP_EBAD || rc == 0 ? (m.error ? m.error : "-") : "-");
		if (rc == 0 || rc == SIP_EBAD) {
			const struct rt_answer *a = NULL;
			if (sip_respond_needs_answer(&m) && sip_query_fill(&m, &q, &nb, 4) == 0)
				a = &ans;
			int n = respond(&m, a, &o, (struct sockaddr *)&sa, out, sizeof(out));
			if (!t->code) {
				assert_int_equal(n, 0);
			} else {
				assert_true(n > 0);
				if (status_of(out) != t->code)
					fail_msg("%s: answered\n%s", t->name, out);
			}
		}
		free(p.buf);
	}

	/* Spot checks on what the valid ones carry. */
	struct pkt p = load(dir, "wsinv");
	assert_int_equal(parse(&p, &m), 0);
	assert_int_equal(m.max_forwards, 68);
	assert_int_equal(m.cseq_num, 9);
	assert_int_equal(m.n_via, 3);
	assert_str(m.via[0].host, "192.0.2.2");
	assert_str(m.via[1].host, "spindle.example.com");
	assert_str(m.via[2].host, "192.168.255.111");
	assert_true(m.to_has_tag);
	assert_int_equal(m.body.len, 150);
	assert_int_equal(sip_query_fill(&m, &q, &nb, 0), 0);
	assert_str(q.called, "vivekg");
	assert_str(q.calling, "jdrosen");
	respond(&m, &ans, &o, (struct sockaddr *)&sa, out, sizeof(out));
	assert_has(out, "\r\nVia: SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw;received=192.0.2.99\r\n");
	assert_has(out, "\r\nCSeq: 9 INVITE\r\n");
	free(p.buf);

	p = load(dir, "esc01");
	assert_int_equal(parse(&p, &m), 0);
	assert_int_equal(sip_query_fill(&m, &q, &nb, 0), 0);
	assert_str(q.called, "sips:user@example.com");
	assert_str(q.calling, "I have spaces");
	free(p.buf);

	p = load(dir, "longreq");
	assert_int_equal(parse(&p, &m), 0);
	assert_int_equal(m.n_via, 34);
	free(p.buf);

	p = load(dir, "inv2543");
	assert_int_equal(parse(&p, &m), 0);
	assert_int_equal(m.max_forwards, -1);
	assert_int_equal(sip_query_fill(&m, &q, &nb, 0), 0);
	assert_str(q.called, "UserB");
	assert_str(q.calling, "+13035551111");
	free(p.buf);

	p = load(dir, "dblreq");
	assert_int_equal(parse(&p, &m), 0);
	assert_int_equal(m.method, SIP_METHOD_OTHER);
	assert_int_equal(m.body.len, 0);
	free(p.buf);

	p = load(dir, "esc02");
	assert_int_equal(parse(&p, &m), 0);
	assert_true(m.via[0].rport_at > 0);
	free(p.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invite_compact_folding),
		cmocka_unit_test(test_vias_echoed),
		cmocka_unit_test(test_to_tag_deterministic),
		cmocka_unit_test(test_302_contacts),
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_tried),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_torture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
