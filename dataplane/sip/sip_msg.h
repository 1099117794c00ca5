#pragma once
/*
 * sip: the codec of the stateless SIP redirect front-end (SPEC section 4).
 * A pure library: no sockets, no allocation, no locks, no global state, so
 * every function is safe to call concurrently on distinct objects.
 *
 *   sip_parse()       one UDP datagram -> struct sip_msg (views, no copies)
 *   sip_query_fill()  struct sip_msg -> struct rt_query for rt_decide()
 *   sip_respond()     request (+ decision answer) -> response bytes
 *
 * Typical worker loop:
 *
 *	rc = sip_parse(pkt, len, &m);
 *	if (rc == -EBADMSG) -> n = sip_respond(&m, NULL, &opt, src, out, cap)  (400)
 *	else if (rc < 0)     -> count and drop (garbage, or a response)
 *	else if (m.method == SIP_METHOD_INVITE && sip_respond_needs_answer(&m)) {
 *		if (sip_query_fill(&m, &q, &nb, opt.max_contacts) == 0)
 *			rt_decide(snap, &health, &q, scratch, &ans, NULL), a = &ans;
 *		else
 *			a = NULL;                                    (400)
 *		n = sip_respond(&m, a, &opt, src, out, cap);
 *	} else n = sip_respond(&m, NULL, &opt, src, out, cap);
 *	n > 0: send out[0..n) back to src; n == 0: nothing to send.
 *
 * Buffers are never read past len and need no NUL terminator. A parsed
 * sip_msg (and any rt_query filled from it) points into the datagram, and
 * into the caller's struct sip_numbuf when a number needed %XX unescaping:
 * both must outlive their use.
 *
 * Responses are deterministic functions of (request bytes, answer, options,
 * source address): a retransmitted INVITE gets a byte-identical response,
 * which is what makes the server stateless (RFC 3261 section 17.2.1 lets the
 * client's transaction absorb the duplicate).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rt_decide.h"

/* Via values kept; more is malformed and dropped (a reply could not echo
 * them all). 64, not 16: RFC 4475 longreq, a valid request, carries 34. */
#define SIP_MAX_VIA 64
#define SIP_DEFAULT_MAX_CONTACTS 4
/* Largest UDP payload: a response that does not fit cannot be sent anyway.
 * In practice a response is at most ~1.3x the request (compact header
 * names get expanded) plus ~100 bytes per Contact. */
#define SIP_RESPONSE_MAX 65507

enum sip_method {
	SIP_METHOD_OTHER = 0, /* any other token: answered 405 */
	SIP_METHOD_INVITE,
	SIP_METHOD_ACK,
	SIP_METHOD_CANCEL,
	SIP_METHOD_OPTIONS,
};

/* sip_parse() results besides 0. */
#define SIP_EBAD (-EBADMSG)    /* malformed request, enough to answer 400 */
#define SIP_EDROP (-EINVAL)    /* malformed beyond replying: count and drop */
#define SIP_ERESPONSE (-ENOMSG) /* a SIP response (status line): drop */

/* One Via value (via-parm), as received. */
struct sip_via {
	struct rt_str value;  /* trimmed; may contain folded CRLF+WSP */
	struct rt_str host;   /* sent-by host, brackets of an IPv6 literal stripped */
	uint16_t port;        /* sent-by port, 0 if absent */
	bool ok;              /* sent-protocol and sent-by parsed */
	/* Offsets into value, used to rewrite the top Via: */
	uint32_t rport_at;    /* just after an empty "rport" param name, 0: none */
	uint32_t recv_at;     /* start of an existing ";received=..." param ... */
	uint32_t recv_len;    /* ... and its length (0: none); it gets replaced */
};

struct sip_msg {
	enum sip_method method;
	struct rt_str method_name; /* request-line method token */
	struct rt_str ruri;        /* Request-URI */
	bool ruri_supported;       /* sip:, sips: or tel: scheme */
	struct rt_str called_raw;  /* R-URI user part, user params cut, still escaped */

	uint32_t n_via;
	struct sip_via via[SIP_MAX_VIA]; /* every Via value, in message order */

	struct rt_str from;        /* header values (trimmed, may contain folding) */
	struct rt_str to;
	struct rt_str call_id;
	struct rt_str cseq;        /* whole CSeq value, echoed as is */
	struct rt_str calling_raw; /* From URI user part, still escaped */
	bool to_has_tag;
	bool cseq_ok;              /* cseq_num and cseq_method valid */
	uint32_t cseq_num;
	struct rt_str cseq_method;
	int max_forwards;          /* -1: header absent */
	bool has_content_length;
	uint32_t content_length;
	struct rt_str body;        /* bounded by Content-Length and the datagram */

	struct rt_str policy;      /* X-Strowger-Policy, empty when absent */
	uint32_t n_tried;          /* X-Strowger-Tried entries in header order */
	struct rt_tried tried[RT_MAX_TRIED];

	/* Set when sip_parse() returned SIP_EBAD: why, and the status to use
	 * (400, or 505 for an unsupported SIP version). Static strings. */
	const char *error;
	uint16_t error_code;
};

/*
 * Parse one datagram. Returns 0 (a well-formed request), SIP_EBAD, SIP_EDROP
 * or SIP_ERESPONSE. On SIP_EBAD every field needed by sip_respond() is set
 * (Vias, From, To, Call-ID, CSeq) and m->error says what was wrong; on the
 * other errors m is unspecified. Checks: request line (token method, one SP,
 * URI not in <>, one SP, SIP/2.0), Via/From/To/Call-ID/CSeq present and
 * single-valued where RFC 3261 says so, CSeq number and method (= request
 * method), Max-Forwards 0..255, Content-Length not beyond the datagram,
 * X-Strowger-Tried syntax (at most RT_MAX_TRIED, codes 0..699), no header
 * escapes in a sip: Request-URI. Bytes after Content-Length are ignored
 * (RFC 3261 section 18.3). Leading CRLFs (keep-alives) are skipped; a
 * datagram of nothing else is SIP_EDROP.
 */
int sip_parse(const uint8_t *buf, size_t len, struct sip_msg *m);

#define SIP_POLICY_MAX 256

/* Room for numbers that needed %XX unescaping, and a folded policy name. */
struct sip_numbuf {
	char called[RT_NUM_MAX];
	char calling[RT_NUM_MAX];
	char policy[SIP_POLICY_MAX];
};

/*
 * Fill q from a request sip_parse() accepted: called = R-URI user part,
 * calling = From URI user part (both unescaped, into nb only when they hold
 * a '%'), policy (a folded value unfolded into nb: each run of
 * whitespace holding a line break becomes one space, RFC 3261 7.3.1),
 * call_id, tried[]; max_destinations as given, seed 0.
 * Returns 0, or -EBADMSG when there is no usable called number (no user
 * part, unknown scheme, longer than RT_NUM_MAX - 1, or an escaped NUL): the
 * request then deserves a 400 (sip_respond with ans == NULL). A calling
 * number with the same defects is left empty (it only picks a policy).
 * tel: numbers are passed with their visual separators: the dial plan owns
 * normalisation.
 */
int sip_query_fill(const struct sip_msg *m, struct rt_query *q, struct sip_numbuf *nb,
		   uint32_t max_destinations);

struct sip_respond_opts {
	bool draining;          /* OPTIONS -> 503 (SBCs fail over by DNS SRV) */
	uint32_t max_contacts;  /* Contacts in a 302; 0 -> SIP_DEFAULT_MAX_CONTACTS */
	uint32_t retry_after;   /* seconds in Retry-After of a 503; 0: no header */
	const char *server;     /* Server header value, NULL: none */
};

/* True when m is an INVITE whose response depends on a decision, i.e. the
 * caller should fill a query and run rt_decide() (false for Max-Forwards 0,
 * an unsupported URI scheme, or a malformed request). */
bool sip_respond_needs_answer(const struct sip_msg *m);

/*
 * Build the response to m into out[0..cap). src is the datagram's source
 * address (AF_INET or AF_INET6; a v4-mapped v6 address is written as IPv4):
 * it fills the top Via's received= (added unless the sent-by host is that
 * very address and no rport was asked for, RFC 3261 section 18.2.1) and an
 * empty rport (RFC 3581). src may be NULL: the Vias are echoed unchanged.
 *
 * Which response, in order:
 *   ACK (even malformed)               none (returns 0)
 *   m->error set (parse said SIP_EBAD) m->error_code (400/505) + Warning
 *   INVITE/OPTIONS, R-URI scheme not   416 Unsupported URI Scheme
 *     sip:, sips: or tel:
 *   INVITE, Max-Forwards 0             483 Too Many Hops
 *   INVITE, ans NULL                   400 (no usable called number)
 *   INVITE, ans->status ROUTED         302, one Contact per destination in
 *                                      order, at most max_contacts
 *                                      (503 if no destination is usable)
 *                       NO_ROUTE       404     NOT_PERMITTED  403
 *                       ALL_UNAVAILABLE 503 (+ Retry-After)
 *                       NO_FAILOVER    ans->code relayed (300..699); a code
 *                                      0 (timeout) becomes 408, 1..299 500
 *                       BAD_REQUEST    400 (+ Warning: ans->error)
 *   CANCEL                             200
 *   OPTIONS                            200 with Allow, or 503 when draining
 *   anything else                      405 with Allow
 *
 * 302 Contacts: <sip:USER@ADDR:PORT;transport=udp|tcp|tls>;q=Q, USER the
 * translated called number (%-escaped where RFC 3261 does not allow it
 * raw), ADDR in brackets when an IPv6 literal. TLS stays a sip: URI with
 * transport=tls rather than sips:, because sips: would demand TLS on every
 * hop past the gateway (RFC 5630) which a PSTN gateway cannot promise. A
 * fallback destination (dest.uri set) is written as <URI>;q=Q as given.
 * q values: with n contacts, contact i (from 0) gets (1000 - i*floor(1000/n))
 * thousandths, written without trailing zeros: n = 4 gives 1.0, 0.75, 0.5,
 * 0.25. Distinct, strictly descending, always >= 0.031 (n <= RT_MAX_DEST).
 *
 * Every response echoes all Vias in order (one Via line each), From, To
 * (with ;tag= added when absent: 16 hex digits of a 64-bit FNV-1a hash of
 * the Call-ID, so retransmissions and failover re-queries of one call get
 * the same tag), Call-ID, CSeq, and ends with Content-Length: 0.
 *
 * Returns the length written, 0 for "no response", -ENOSPC when cap is too
 * small (nothing usable in out), -EINVAL for bad arguments.
 */
int sip_respond(const struct sip_msg *m, const struct rt_answer *ans,
		const struct sip_respond_opts *opts, const struct sockaddr *src,
		char *out, size_t cap);

/* Reason phrase for a status code ("Unknown" for codes without one). */
const char *sip_reason(unsigned code);

/* The To-tag sip_respond() adds: 16 lowercase hex digits + NUL into tag[17]. */
void sip_to_tag(struct rt_str call_id, char tag[17]);
