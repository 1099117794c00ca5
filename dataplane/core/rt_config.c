#include "rt_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *rt_transport_name(enum rt_transport t)
{
	switch (t) {
	case RT_TRANSPORT_TCP:
		return "tcp";
	case RT_TRANSPORT_TLS:
		return "tls";
	case RT_TRANSPORT_UDP:
	default:
		return "udp";
	}
}

int rt_transport_parse(const char *s, enum rt_transport *out)
{
	if (!strcasecmp(s, "udp"))
		*out = RT_TRANSPORT_UDP;
	else if (!strcasecmp(s, "tcp"))
		*out = RT_TRANSPORT_TCP;
	else if (!strcasecmp(s, "tls"))
		*out = RT_TRANSPORT_TLS;
	else
		return -EINVAL;
	return 0;
}

static void codeset_set(struct rt_codeset *s, unsigned lo, unsigned hi, bool on)
{
	for (unsigned c = lo; c <= hi; c++) {
		if (on)
			s->bits[c / 64] |= 1ull << (c % 64);
		else
			s->bits[c / 64] &= ~(1ull << (c % 64));
	}
}

void rt_codeset_default(struct rt_codeset *s)
{
	memset(s, 0, sizeof(*s));
	codeset_set(s, 0, 0, true);
	codeset_set(s, 408, 408, true);
	codeset_set(s, 503, 504, true);
}

/* Digits only; the range is checked once the whole item parsed, so "4o8"
 * is reported as malformed rather than out of range. */
static int parse_code(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	int digits = 0;
	while (*s >= '0' && *s <= '9') {
		if (digits++ < 6)
			v = v * 10 + (unsigned)(*s - '0');
		s++;
	}
	if (!digits)
		return -EINVAL;
	*out = digits > 6 ? 999999 : v;
	*p = s;
	return 0;
}

/* A code is 0 (no response) or a final SIP response class 1xx..6xx. */
static bool code_ok(unsigned v)
{
	return v == 0 || (v >= 100 && v <= RT_CODE_MAX);
}

static int parse_item(const char *item, bool *excl, unsigned *lo, unsigned *hi)
{
	const char *p = item;
	while (*p == ' ')
		p++;
	*excl = false;
	if (*p == '!') {
		*excl = true;
		p++;
	}
	if (parse_code(&p, lo))
		return -EINVAL;
	*hi = *lo;
	while (*p == ' ')
		p++;
	if (*p == '-') {
		p++;
		while (*p == ' ')
			p++;
		if (parse_code(&p, hi))
			return -EINVAL;
	}
	while (*p == ' ')
		p++;
	if (*p)
		return -EINVAL;
	if (!code_ok(*lo) || !code_ok(*hi))
		return -ERANGE;
	return *hi < *lo ? -EDOM : 0;
}

int rt_codeset_parse(struct rt_codeset *s, const char *const *items, size_t n,
		     char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	/* Two passes: inclusions first, then exclusions, so "[!486, 400-499]"
	 * means the same as "[400-499, !486]". */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			bool excl;
			unsigned lo, hi;
			int rc = parse_item(items[i], &excl, &lo, &hi);
			if (rc) {
				const char *why = rc == -ERANGE ? "codes are 0 (no response) or 100..699"
						  : rc == -EDOM ? "range runs backwards"
								: "expected CODE, LOW-HIGH or !CODE";
				snprintf(err, errlen, "bad failover code '%s': %s", items[i], why);
				return -EINVAL;
			}
			if (excl == (pass == 1))
				codeset_set(s, lo, hi, !excl);
		}
	}
	return 0;
}

void rt_codeset_format(const struct rt_codeset *s, char *buf, size_t len)
{
	size_t w = 0;
	buf[0] = '\0';
	for (unsigned c = 0; c <= RT_CODE_MAX; c++) {
		if (!rt_codeset_has(s, c))
			continue;
		unsigned e = c;
		while (e + 1 <= RT_CODE_MAX && rt_codeset_has(s, e + 1))
			e++;
		int n = e == c ? snprintf(buf + w, len - w, "%s%u", w ? "," : "", c)
			       : snprintf(buf + w, len - w, "%s%u-%u", w ? "," : "", c, e);
		if (n < 0 || (size_t)n >= len - w)
			return;
		w += (size_t)n;
		c = e;
	}
}

struct rt_config *rt_config_new(const char *source)
{
	struct rt_arena *a = rt_arena_new();
	if (!a)
		return NULL;
	struct rt_config *cfg = rt_arena_alloc(a, sizeof(*cfg));
	if (!cfg) {
		rt_arena_free(a);
		return NULL;
	}
	cfg->arena = a;
	cfg->source = source ? rt_arena_strdup(a, source) : NULL;
	rt_codeset_default(&cfg->failover_codes);
	cfg->sip.max_contacts = RT_DEFAULT_MAX_CONTACTS;
	cfg->sip.retry_after = RT_DEFAULT_RETRY_AFTER;
	return cfg;
}

void rt_config_free(struct rt_config *cfg)
{
	if (cfg)
		rt_arena_free(cfg->arena); /* cfg itself lives in the arena */
}

void rt_cfg_gateway_defaults(struct rt_cfg_gateway *gw)
{
	memset(gw, 0, sizeof(*gw));
	gw->port = RT_DEFAULT_PORT;
	gw->transport = RT_TRANSPORT_UDP;
	gw->weight = RT_DEFAULT_WEIGHT;
}
