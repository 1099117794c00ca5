#include "rt_rewrite.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "rt_bytes.h"

static void pcre2_msg(int code, char *buf, size_t len)
{
	if (pcre2_get_error_message(code, (PCRE2_UCHAR *)buf, len) < 0)
		snprintf(buf, len, "error %d", code);
}

int rt_regex_check(const char *pattern, char *err, size_t errlen)
{
	int ecode;
	PCRE2_SIZE eoff;
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &ecode,
				      &eoff, NULL);
	if (!c) {
		char m[200];
		pcre2_msg(ecode, m, sizeof(m));
		snprintf(err, errlen, "%s at offset %zu", m, (size_t)eoff);
		return -EINVAL;
	}
	pcre2_code_free(c);
	return 0;
}

/* Reject a replacement naming a group the pattern does not have: PCRE2
 * would only notice per call, on the fast path. */
static int check_replacement(const char *rep, uint32_t captures, char *err, size_t errlen)
{
	for (const char *p = rep; *p; p++) {
		if (*p != '$')
			continue;
		p++;
		if (*p == '$')
			continue;
		unsigned long n = 0;
		int digits = 0;
		bool braced = *p == '{';
		if (braced)
			p++;
		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (unsigned long)(*p - '0');
			p++;
			digits++;
		}
		if (!digits || (braced && *p != '}')) {
			snprintf(err, errlen, "replacement '%s': '$' must be followed by a group number "
					      "($1, ${1}) or '$'", rep);
			return -EINVAL;
		}
		if (n > captures) {
			snprintf(err, errlen, "replacement '%s' uses $%lu but the pattern has %u group%s",
				 rep, n, captures, captures == 1 ? "" : "s");
			return -EINVAL;
		}
		if (!braced)
			p--;
		if (!*p)
			break;
	}
	return 0;
}

/* '{n}', '{n,}', '{n,m}' at *p (advanced past it); false if not one. */
static bool parse_count(const char **pp, uint32_t *min, uint32_t *max)
{
	const char *p = *pp;
	if (*p != '{')
		return false;
	p++;
	uint32_t a = 0, b;
	int digits = 0;
	while (*p >= '0' && *p <= '9' && digits < 5) {
		a = a * 10 + (uint32_t)(*p++ - '0');
		digits++;
	}
	if (!digits)
		return false;
	if (*p == '}') {
		b = a;
	} else if (*p == ',' && p[1] == '}') {
		b = 0xffff;
		p++;
	} else if (*p == ',') {
		p++;
		b = 0;
		digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 5) {
			b = b * 10 + (uint32_t)(*p++ - '0');
			digits++;
		}
		if (!digits || *p != '}' || b < a)
			return false;
	} else {
		return false;
	}
	if (a > 0xfffe || (b > 0xfffe && b != 0xffff))
		return false;
	*min = a;
	*max = b;
	*pp = p + 1;
	return true;
}

/* Recognise '^L(\d<count>)$' and a replacement of text, $$, $0 and $1. */
static void compile_fast(struct rt_rewrite *rw)
{
	const char *p = rw->match;
	if (*p++ != '^')
		return;
	uint8_t n = 0;
	for (;;) {
		if (p[0] == '\\' && p[1] == '+' && n == 0) {
			rw->lit[n++] = '+';
			p += 2;
		} else if (*p >= '0' && *p <= '9' && n < RT_REWRITE_LIT) {
			rw->lit[n++] = *p++;
		} else {
			break;
		}
		if (n >= RT_REWRITE_LIT)
			return;
	}
	if (strncmp(p, "(\\d", 3))
		return;
	p += 3;
	uint32_t min = 1, max = 1;
	if (*p == '*') {
		min = 0, max = 0xffff, p++;
	} else if (*p == '+') {
		min = 1, max = 0xffff, p++;
	} else if (*p == '{' && !parse_count(&p, &min, &max)) {
		return;
	}
	if (strcmp(p, ")$"))
		return; /* also rules out lazy and possessive quantifiers */

	uint8_t np = 0;
	const char *r = rw->replace, *text = r;
	for (const char *q = r;; q++) {
		if (*q && *q != '$')
			continue;
		if (q > text) {
			if (np >= RT_REWRITE_PARTS)
				return;
			rw->parts[np++] = (struct rt_rewrite_part){(uint16_t)(text - r),
								   (uint16_t)(q - text), -1};
		}
		if (!*q)
			break;
		int group;
		if (q[1] == '$') {
			/* "$$": one '$', kept as text */
			if (np >= RT_REWRITE_PARTS)
				return;
			rw->parts[np++] = (struct rt_rewrite_part){(uint16_t)(q + 1 - r), 1, -1};
			q++;
		} else if ((q[1] == '0' || q[1] == '1') && !(q[2] >= '0' && q[2] <= '9')) {
			group = q[1] - '0';
			if (np >= RT_REWRITE_PARTS)
				return;
			rw->parts[np++] = (struct rt_rewrite_part){0, 0, (int8_t)group};
			q++;
		} else if (q[1] == '{' && (q[2] == '0' || q[2] == '1') && q[3] == '}') {
			group = q[2] - '0';
			if (np >= RT_REWRITE_PARTS)
				return;
			rw->parts[np++] = (struct rt_rewrite_part){0, 0, (int8_t)group};
			q += 3;
		} else {
			return; /* anything else: PCRE2 decides */
		}
		text = q + 1;
	}
	if (strlen(r) > 0xffff)
		return;
	rw->lit_len = n;
	rw->min = (uint16_t)min;
	rw->max = (uint16_t)max;
	rw->n_parts = np;
	rw->fast = true;
}

/*
 * Bounds on one PCRE2 rewrite (every rule, every thread: the context is
 * only read while matching). A number is at most RT_NUM_MAX bytes and a
 * sane rule takes a few hundred steps on it; a rule with nested
 * quantifiers ('^(\d+)+x$') backtracks exponentially and would hold a
 * worker for a second a query under PCRE2's default limit of ten million.
 * Past the bound the rule fails (-EIO): the number is left as it was.
 */
#define RT_REWRITE_MATCH_LIMIT 100000
#define RT_REWRITE_DEPTH_LIMIT 10000

static pcre2_match_context *limits;
static pthread_once_t limits_once = PTHREAD_ONCE_INIT;

static void limits_init(void)
{
	limits = pcre2_match_context_create(NULL);
	if (limits) {
		pcre2_set_match_limit(limits, RT_REWRITE_MATCH_LIMIT);
		pcre2_set_depth_limit(limits, RT_REWRITE_DEPTH_LIMIT);
	}
}

pcre2_match_context *rt_regex_limits(void)
{
	pthread_once(&limits_once, limits_init);
	return limits;
}

int rt_rewrite_compile(struct rt_rewrite *rw, const char *match, const char *replace,
		       char *err, size_t errlen)
{
	pthread_once(&limits_once, limits_init);
	memset(rw, 0, sizeof(*rw));
	int ecode;
	PCRE2_SIZE eoff;
	rw->code = pcre2_compile((PCRE2_SPTR)match, PCRE2_ZERO_TERMINATED, 0, &ecode, &eoff, NULL);
	if (!rw->code) {
		char m[200];
		pcre2_msg(ecode, m, sizeof(m));
		snprintf(err, errlen, "pattern '%s' rejected by PCRE2: %s at offset %zu", match, m,
			 (size_t)eoff);
		return -EINVAL;
	}
	pcre2_pattern_info(rw->code, PCRE2_INFO_CAPTURECOUNT, &rw->captures);
	if (check_replacement(replace, rw->captures, err, errlen)) {
		rt_rewrite_free(rw);
		return -EINVAL;
	}
	/* JIT is an accelerator: where it is unavailable the interpreter
	 * gives the same answers. */
	(void)pcre2_jit_compile(rw->code, PCRE2_JIT_COMPLETE);
	rw->match = match;
	rw->replace = replace;
	if (rw->captures == 1)
		compile_fast(rw);
	return 0;
}

void rt_rewrite_free(struct rt_rewrite *rw)
{
	if (rw->code)
		pcre2_code_free(rw->code);
	rw->code = NULL;
}

/* rt_rewrite_apply for a fast rule; -EAGAIN: ask PCRE2. */
static int apply_fast(const struct rt_rewrite *rw, const char *subject, size_t len, char *out,
		      size_t outlen, size_t *olen)
{
	if (len && subject[len - 1] == '\n')
		return -EAGAIN; /* '$' before a final newline: PCRE2's rules */
	/* No match: PCRE2 copies the subject out, and says so if it does not
	 * fit. */
	int none = len >= outlen ? -ENOSPC : 0;
	if (len < rw->lit_len)
		return none;
	/* At most RT_REWRITE_LIT bytes: a loop beats a call to memcmp. */
	for (size_t i = 0; i < rw->lit_len; i++)
		if (subject[i] != rw->lit[i])
			return none;
	size_t k = len - rw->lit_len;
	if (k < rw->min || (rw->max != 0xffff && k > rw->max))
		return none;
	if (!rt_bytes_in(subject + rw->lit_len, k, '0', '9'))
		return none;
	size_t o = 0;
	for (uint8_t i = 0; i < rw->n_parts; i++) {
		const struct rt_rewrite_part *pt = &rw->parts[i];
		const char *src = pt->group < 0   ? rw->replace + pt->off
				  : pt->group == 0 ? subject
						   : subject + rw->lit_len;
		size_t n = pt->group < 0 ? pt->len : pt->group == 0 ? len : k;
		if (o + n >= outlen)
			return -ENOSPC;
		memcpy(out + o, src, n);
		o += n;
	}
	if (o >= outlen)
		return -ENOSPC;
	out[o] = '\0';
	*olen = o;
	return 1;
}

int rt_rewrite_apply(const struct rt_rewrite *rw, const char *subject, size_t len,
		     pcre2_match_data *md, char *out, size_t outlen)
{
	size_t olen;
	return rt_rewrite_apply_len(rw, subject, len, md, out, outlen, &olen);
}

int rt_rewrite_apply_len(const struct rt_rewrite *rw, const char *subject, size_t len,
			 pcre2_match_data *md, char *out, size_t outlen, size_t *out_len)
{
	if (rw->fast) {
		int rc = apply_fast(rw, subject, len, out, outlen, out_len);
		if (rc != -EAGAIN)
			return rc;
	}
	PCRE2_SIZE olen = outlen;
	int rc = pcre2_substitute(rw->code, (PCRE2_SPTR)subject, len, 0, 0, md, limits,
				  (PCRE2_SPTR)rw->replace, PCRE2_ZERO_TERMINATED,
				  (PCRE2_UCHAR *)out, &olen);
	if (rc > 0) {
		*out_len = olen; /* what it wrote, without the NUL */
		return 1;
	}
	if (rc == 0)
		return 0;
	return rc == PCRE2_ERROR_NOMEMORY ? -ENOSPC : -EIO;
}
