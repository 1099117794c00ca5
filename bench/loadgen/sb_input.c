/*
 * sb_input: the numbers file and the expectations file.
 *
 * Numbers: one query per line, tab-separated, exactly what `strowgerctl
 * batch` reads: CALLED [CALLING [POLICY [CALL-ID [GW:CODE,...]]]], empty
 * fields absent; empty lines and lines starting with '#' are skipped (batch
 * answers them with an empty line, which the expectations reader skips
 * too, so line N of one still goes with line N of the other).
 *
 * Expectations: the output of `strowgerctl batch --config FILE` for the
 * same numbers file, one JSON object per query. From it we keep what the
 * checks compare: status and code; for native, each destination's gateway,
 * address, port, fallback URI and translated called number; for SIP, the
 * response code strowgerd's SIP front-end maps the decision to and the
 * Contacts of a 302 (user@host:port, at most --max-contacts).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_decide.h"
#include "sb.h"
#include "sb_json.h"

#define SB_LONGEST_LOCAL "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"

/* ------------------------------------------------------------ files */

/* The whole file (or stdin for "-"), NUL-terminated. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 16, n = 0;
	char *buf;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size + 1 > cap)
		cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	for (;;) {
		ssize_t r;
		if (!buf) {
			snprintf(err, errlen, "%s: out of memory", path);
			break;
		}
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			buf = NULL;
			break;
		}
		if (r == 0) {
			buf[n] = '\0';
			*len = n;
			break;
		}
		n += (size_t)r;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return buf;
}

/* Next line of [*at, end): cut at '\n', trailing '\r' dropped as batch
 * does. NULL at the end. */
static char *next_line(char **at, char *end, size_t *len)
{
	char *s = *at, *nl;
	size_t n;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	n = nl ? (size_t)(nl - s) : (size_t)(end - s);
	*at = nl ? nl + 1 : end;
	s[n] = '\0';
	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	*len = n;
	return s;
}

static bool skipped_line(const char *s, size_t len)
{
	return len == 0 || s[0] == '#';
}

/* ------------------------------------------------------------ growth */

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t nc = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return 0;
	while (nc < need)
		nc *= 2;
	np = realloc(*p, nc * size);
	if (!np)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

/* ------------------------------------------------------------ pool */

static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int pool_init(struct sb_pool *p)
{
	if (p->buf)
		return 0;
	p->cap = 1 << 16;
	p->buf = malloc(p->cap);
	p->ht_cap = 1 << 12;
	p->ht = calloc(p->ht_cap, sizeof(*p->ht));
	if (!p->buf || !p->ht)
		return -1;
	p->buf[0] = '\0';
	p->len = 1;
	return 0;
}

uint32_t sb_pool_add(struct sb_pool *p, const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	if (pool_init(p) != 0)
		return UINT32_MAX;
	if ((p->ht_n + 1) * 2 > p->ht_cap) {
		size_t nc = p->ht_cap * 2;
		uint32_t *nh = calloc(nc, sizeof(*nh));
		if (!nh)
			return UINT32_MAX;
		for (i = 0; i < p->ht_cap; i++) {
			uint32_t off = p->ht[i];
			if (!off)
				continue;
			size_t j = hash(p->buf + off, strlen(p->buf + off)) & (nc - 1);
			while (nh[j])
				j = (j + 1) & (nc - 1);
			nh[j] = off;
		}
		free(p->ht);
		p->ht = nh;
		p->ht_cap = nc;
	}
	for (i = hash(s, len) & (p->ht_cap - 1); p->ht[i]; i = (i + 1) & (p->ht_cap - 1)) {
		const char *t = p->buf + p->ht[i];
		if (strncmp(t, s, len) == 0 && t[len] == '\0')
			return p->ht[i];
	}
	if (p->len + len + 1 > UINT32_MAX)
		return UINT32_MAX;
	if (p->len + len + 1 > p->cap) {
		size_t nc = p->cap;
		char *nb;
		while (nc < p->len + len + 1)
			nc *= 2;
		nb = realloc(p->buf, nc);
		if (!nb)
			return UINT32_MAX;
		p->buf = nb;
		p->cap = nc;
	}
	uint32_t off = (uint32_t)p->len;
	memcpy(p->buf + off, s, len);
	p->buf[off + len] = '\0';
	p->len += len + 1;
	p->ht[i] = off;
	p->ht_n++;
	return off;
}

/* ------------------------------------------------------------ numbers */

static char *field(char **cur)
{
	char *s = *cur, *tab;

	if (!s)
		return NULL;
	tab = strchr(s, '\t');
	if (tab) {
		*tab = '\0';
		*cur = tab + 1;
	} else {
		*cur = NULL;
	}
	return *s ? s : NULL;
}

static int set_str(const char *s, const char **out, uint16_t *len)
{
	size_t n = s ? strlen(s) : 0;
	if (n >= SB_FIELD_MAX)
		return -1;
	*out = s;
	*len = (uint16_t)n;
	return 0;
}

static int parse_tried(struct sb_data *d, struct sb_query *q, char *s, char *why, size_t whylen)
{
	q->tried = (uint32_t)d->n_tried;
	for (char *save = NULL, *t = s ? strtok_r(s, ",", &save) : NULL; t;
	     t = strtok_r(NULL, ",", &save)) {
		const char *colon = strrchr(t, ':');
		char *end;
		unsigned long code;

		errno = 0;
		code = colon ? strtoul(colon + 1, &end, 10) : 0;
		if (!colon || colon == t || !colon[1] || *end || errno || code > RT_CODE_MAX ||
		    q->n_tried >= SB_MAX_TRIED || colon - t >= SB_FIELD_MAX) {
			snprintf(why, whylen, "tried '%s': expected GATEWAY:CODE (at most %d)", t,
				 SB_MAX_TRIED);
			return -1;
		}
		if (grow((void **)&d->tried, &d->cap_tried, d->n_tried + 1, sizeof(*d->tried)))
			return -ENOMEM;
		d->tried[d->n_tried++] = (struct sb_tried){t, (uint16_t)(colon - t),
							   (uint16_t)code};
		q->n_tried++;
	}
	return 0;
}

int sb_load_numbers(struct sb_data *d, const struct sb_opts *o, char *err, size_t errlen)
{
	char *at, *end, *line, why[256];
	size_t len, cap = 0;
	uint32_t lineno = 0;

	d->text = read_file(o->numbers, &d->text_len, err, errlen);
	if (!d->text)
		return -1;
	at = d->text;
	end = d->text + d->text_len;
	while ((line = next_line(&at, end, &len))) {
		struct sb_query q = {0};
		char *cur = line;
		const char *called, *calling, *policy, *call_id;
		char *tried;
		int rc;

		lineno++;
		if (skipped_line(line, len))
			continue;
		called = field(&cur);
		calling = field(&cur);
		policy = field(&cur);
		call_id = field(&cur);
		tried = field(&cur);
		q.line = lineno;
		if (cur) {
			snprintf(why, sizeof(why), "more than 5 tab-separated fields");
			goto bad;
		}
		if (!called) {
			snprintf(why, sizeof(why), "no called number");
			goto bad;
		}
		if (set_str(called, &q.called, &q.called_len) ||
		    set_str(calling, &q.calling, &q.calling_len) ||
		    set_str(policy, &q.policy, &q.policy_len) ||
		    set_str(call_id, &q.call_id, &q.call_id_len)) {
			snprintf(why, sizeof(why), "a field longer than %d bytes",
				 SB_FIELD_MAX - 1);
			goto bad;
		}
		rc = parse_tried(d, &q, tried, why, sizeof(why));
		if (rc == -ENOMEM)
			goto nomem;
		if (rc)
			goto bad;
		if (o->proto == SB_PROTO_SIP) {
			char tmp[SB_PKT_MAX];
			/* The Call-ID seeds the decision's weighted shuffle: a
			 * made-up one would not match the expectations. */
			if (!q.call_id) {
				snprintf(why, sizeof(why), "no Call-ID (field 4): SIP needs "
					 "one, and the expected answer depends on it");
				goto bad;
			}
			if (strpbrk(q.call_id, " ") || strpbrk(q.called, " ") ||
			    (q.calling && strpbrk(q.calling, " "))) {
				snprintf(why, sizeof(why), "a space in the called number, calling "
					 "number or Call-ID");
				goto bad;
			}
			/* Built once with the longest local address there is, so
			 * that no request can be too long later. */
			if (sb_sip_request(tmp, sizeof(tmp), false, d, &q, o->target_hostport,
					   SB_LONGEST_LOCAL, sizeof(SB_LONGEST_LOCAL) - 1, 999,
					   UINT64_MAX, NULL, 0) < 0) {
				snprintf(why, sizeof(why),
					 "the INVITE would be longer than %d bytes", SB_PKT_MAX);
				goto bad;
			}
		} else if (sb_native_prepare(d, &q, o->max_dest, why, sizeof(why)) != 0) {
			goto bad;
		}
		if (grow((void **)&d->q, &cap, d->n + 1, sizeof(*d->q)))
			goto nomem;
		d->q[d->n++] = q;
		continue;
bad:
		snprintf(err, errlen, "%s:%u: %s", o->numbers, lineno, why);
		return -1;
	}
	if (d->n == 0) {
		snprintf(err, errlen, "%s: no queries", o->numbers);
		return -1;
	}
	return 0;
nomem:
	snprintf(err, errlen, "%s: out of memory", o->numbers);
	return -1;
}

/* ------------------------------------------------------------ expectations */

struct exp_dest {
	char gateway[SB_FIELD_MAX], address[SB_FIELD_MAX], uri[SB_FIELD_MAX];
	char called[RT_NUM_MAX * 4];
	long long port;
};

/* A string or null member into buf (null: ""). */
static int str_or_null(struct sb_jr *r, char *buf, size_t cap)
{
	if (sb_jr_null(r)) {
		buf[0] = '\0';
		return 0;
	}
	return sb_jr_string(r, buf, cap, NULL);
}

static int parse_dest(struct sb_jr *r, struct exp_dest *x)
{
	char key[32];
	int rc;

	memset(x, 0, sizeof(*x));
	if (sb_jr_obj_begin(r))
		return -1;
	while ((rc = sb_jr_obj_next(r, key, sizeof(key))) == 1) {
		if (strcmp(key, "gateway") == 0)
			rc = str_or_null(r, x->gateway, sizeof(x->gateway));
		else if (strcmp(key, "address") == 0)
			rc = str_or_null(r, x->address, sizeof(x->address));
		else if (strcmp(key, "uri") == 0)
			rc = str_or_null(r, x->uri, sizeof(x->uri));
		else if (strcmp(key, "called") == 0)
			rc = str_or_null(r, x->called, sizeof(x->called));
		else if (strcmp(key, "port") == 0)
			rc = sb_jr_null(r) ? 0 : sb_jr_int(r, &x->port);
		else
			rc = sb_jr_skip(r);
		if (rc)
			return -1;
	}
	if (rc == 0 && (x->port < 0 || x->port > 65535)) {
		r->err = "port out of range";
		return -1;
	}
	return rc;
}

static int add_dest(struct sb_data *d, const struct exp_dest *x)
{
	struct sb_pool *p = &d->pool;
	struct sb_dest sd = {
		.gateway = sb_pool_add(p, x->gateway, strlen(x->gateway)),
		.address = sb_pool_add(p, x->address, strlen(x->address)),
		.uri = sb_pool_add(p, x->uri, strlen(x->uri)),
		.called = sb_pool_add(p, x->called, strlen(x->called)),
		.port = (uint16_t)x->port,
	};

	if (sd.gateway == UINT32_MAX || sd.address == UINT32_MAX || sd.uri == UINT32_MAX ||
	    sd.called == UINT32_MAX ||
	    grow((void **)&d->dests, &d->cap_dests, d->n_dests + 1, sizeof(*d->dests)))
		return -ENOMEM;
	d->dests[d->n_dests++] = sd;
	return 0;
}

static int status_parse(const char *s)
{
	for (int i = 0; i < RT_STATUS_COUNT; i++)
		if (strcmp(s, rt_status_name((enum rt_status)i)) == 0)
			return i;
	return -1;
}

/* One expectation line into e (and d's dest / contact arrays). */
static int parse_expect(struct sb_data *d, const struct sb_opts *o, const char *line, size_t len,
			struct sb_expect *e, char *why, size_t whylen)
{
	struct sb_jr r;
	struct exp_dest x;
	char key[32], sbuf[64], errtext[256] = "";
	long long code = -1;
	int status = -1, rc;
	unsigned usable = 0, n_dest = 0, n_contacts = 0;
	size_t dest0 = d->n_dests, contact0 = d->n_contacts;

	sb_jr_init(&r, line, len);
	if (sb_jr_obj_begin(&r))
		goto syntax;
	while ((rc = sb_jr_obj_next(&r, key, sizeof(key))) == 1) {
		if (strcmp(key, "status") == 0) {
			if (sb_jr_string(&r, sbuf, sizeof(sbuf), NULL))
				goto syntax;
			status = status_parse(sbuf);
			if (status < 0) {
				snprintf(why, whylen, "unknown status '%s'", sbuf);
				return -1;
			}
		} else if (strcmp(key, "code") == 0) {
			if (sb_jr_int(&r, &code))
				goto syntax;
		} else if (strcmp(key, "error") == 0) {
			if (str_or_null(&r, errtext, sizeof(errtext)))
				goto syntax;
		} else if (strcmp(key, "destinations") == 0) {
			if (sb_jr_arr_begin(&r))
				goto syntax;
			while ((rc = sb_jr_arr_next(&r)) == 1) {
				if (parse_dest(&r, &x))
					goto syntax;
				if (++n_dest > RT_MAX_DEST) {
					snprintf(why, whylen, "more than %d destinations",
						 RT_MAX_DEST);
					return -1;
				}
				if (x.uri[0] || x.address[0])
					usable++;
				if (o->proto == SB_PROTO_NATIVE) {
					if (add_dest(d, &x) != 0)
						return -ENOMEM;
				} else if ((x.uri[0] || x.address[0]) &&
					   n_contacts < o->max_contacts) {
					char c[3 * SB_FIELD_MAX + 16];
					int n = sb_sip_contact(c, sizeof(c), x.called, x.address,
							       (unsigned)x.port, x.uri);
					uint32_t off;
					if (n < 0) {
						snprintf(why, whylen,
							 "a destination too long for a Contact");
						return -1;
					}
					off = sb_pool_add(&d->pool, c, (size_t)n);
					if (off == UINT32_MAX ||
					    grow((void **)&d->contacts, &d->cap_contacts,
						 d->n_contacts + 1, sizeof(*d->contacts)))
						return -ENOMEM;
					d->contacts[d->n_contacts++] = off;
					n_contacts++;
				}
			}
			if (rc)
				goto syntax;
		} else if (sb_jr_skip(&r)) {
			goto syntax;
		}
	}
	if (rc || sb_jr_end(&r))
		goto syntax;
	if (status < 0) {
		if (errtext[0])
			snprintf(why, whylen, "strowgerctl could not read the query: %s", errtext);
		else
			snprintf(why, whylen, "no \"status\"");
		return -1;
	}
	if (code < 0 || code > 999) {
		snprintf(why, whylen, "no \"code\", or out of range");
		return -1;
	}
	*e = (struct sb_expect){
		.first = (uint32_t)(o->proto == SB_PROTO_NATIVE ? dest0 : contact0),
		.code = (uint16_t)code,
		.sip_code = (uint16_t)sb_sip_code((unsigned)status, (unsigned)code, usable),
		.status = (uint8_t)status,
		.n_dest = (uint8_t)n_dest,
		.n_contacts = (uint8_t)n_contacts,
	};
	return 0;
syntax:
	snprintf(why, whylen, "not a strowgerctl batch answer (%s at byte %zu)",
		 r.err ? r.err : "bad JSON", (size_t)(r.p - line) + 1);
	return -1;
}

int sb_load_expect(struct sb_data *d, const struct sb_opts *o, char *err, size_t errlen)
{
	char *text, *at, *end, *line, why[512];
	size_t len, text_len, i = 0;
	uint32_t lineno = 0;
	int rc = -1;

	text = read_file(o->expect, &text_len, err, errlen);
	if (!text)
		return -1;
	d->exp = calloc(d->n, sizeof(*d->exp));
	if (!d->exp || pool_init(&d->pool)) {
		snprintf(err, errlen, "%s: out of memory", o->expect);
		goto out;
	}
	at = text;
	end = text + text_len;
	while ((line = next_line(&at, end, &len))) {
		lineno++;
		if (len == 0)
			continue; /* batch's answer to an empty or # line */
		if (i == d->n) {
			snprintf(err, errlen, "%s:%u: more answers than the %zu queries in %s",
				 o->expect, lineno, d->n, o->numbers);
			goto out;
		}
		int r = parse_expect(d, o, line, len, &d->exp[i], why, sizeof(why));
		if (r == -ENOMEM) {
			snprintf(err, errlen, "%s: out of memory", o->expect);
			goto out;
		}
		if (r) {
			snprintf(err, errlen, "%s:%u (query at %s:%u): %s", o->expect, lineno,
				 o->numbers, d->q[i].line, why);
			goto out;
		}
		d->exp[i].line = lineno;
		i++;
	}
	if (i != d->n) {
		snprintf(err, errlen, "%s: %zu answers for the %zu queries in %s (make it with "
			 "strowgerctl batch --config FILE < %s)", o->expect, i, d->n, o->numbers,
			 o->numbers);
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

void sb_data_free(struct sb_data *d)
{
	free(d->text);
	free(d->q);
	free(d->tried);
	free(d->nq);
	free(d->exp);
	free(d->dests);
	free(d->contacts);
	free(d->pool.buf);
	free(d->pool.ht);
	memset(d, 0, sizeof(*d));
}
