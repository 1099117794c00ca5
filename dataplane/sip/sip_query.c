/*
 * sip_query: a parsed request -> struct rt_query. Views point into the
 * packet; only a number holding '%' is unescaped, into the caller's buffer,
 * so the common case copies nothing.
 */
#include <string.h>

#include "sip_msg.h"
#include "sip_scan.h"

/*
 * Unescape %XX of s into buf[RT_NUM_MAX]. A '%' not followed by two hex
 * digits is kept literally (RFC 4475 esc02 shows stacks sending them).
 * false when the result would not fit, is empty, or holds a NUL (escnull:
 * a NUL in a number is never a number, and C consumers downstream would
 * truncate it silently).
 */
static bool number(struct rt_str s, char *buf, struct rt_str *out)
{
	size_t i, o = 0;
	int hi, lo;

	if (s.len == 0 || s.len > 3 * (RT_NUM_MAX - 1))
		return false;
	if (!memchr(s.p, '%', s.len)) {
		if (s.len > RT_NUM_MAX - 1 || memchr(s.p, 0, s.len))
			return false;
		*out = s;
		return true;
	}
	for (i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '%' && i + 2 < s.len &&
		    (hi = sip_hexval((unsigned char)s.p[i + 1])) >= 0 &&
		    (lo = sip_hexval((unsigned char)s.p[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == 0 || o == RT_NUM_MAX - 1)
			return false;
		buf[o++] = c;
	}
	buf[o] = 0;
	*out = (struct rt_str){buf, o};
	return true;
}

/*
 * A header value that was folded still holds its CRLF and indentation; the
 * name it carries has one space there. Values without a line break (all
 * but odd senders) are returned as they are.
 */
static struct rt_str unfold(struct rt_str v, char *buf, size_t cap)
{
	size_t i, o = 0;

	if (!memchr(v.p, '\n', v.len) && !memchr(v.p, '\r', v.len))
		return v;
	for (i = 0; i < v.len; i++) {
		char c = v.p[i];
		if (c == '\r' || c == '\n') {
			/* drop the whitespace already copied, and what follows */
			while (o > 0 && (buf[o - 1] == ' ' || buf[o - 1] == '\t'))
				o--;
			while (i + 1 < v.len && (v.p[i + 1] == ' ' || v.p[i + 1] == '\t' ||
						 v.p[i + 1] == '\r' || v.p[i + 1] == '\n'))
				i++;
			c = ' ';
		}
		if (o == cap)
			return v; /* too long to be a policy name: left to fail lookup */
		buf[o++] = c;
	}
	return (struct rt_str){buf, o};
}

int sip_query_fill(const struct sip_msg *m, struct rt_query *q, struct sip_numbuf *nb,
		   uint32_t max_destinations)
{
	uint32_t i;

	if (!m || !q || !nb)
		return -EINVAL;
	memset(q, 0, offsetof(struct rt_query, tried));
	q->n_tried = m->n_tried;
	for (i = 0; i < m->n_tried; i++)
		q->tried[i] = m->tried[i];
	q->max_destinations = max_destinations;
	q->seed = 0;
	q->policy = m->policy.len ? unfold(m->policy, nb->policy, sizeof(nb->policy)) : m->policy;
	q->call_id = m->call_id;
	if (!number(m->calling_raw, nb->calling, &q->calling))
		q->calling = (struct rt_str){NULL, 0};
	if (!m->ruri_supported || !number(m->called_raw, nb->called, &q->called))
		return -EBADMSG;
	return 0;
}
