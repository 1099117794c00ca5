#include "rt_rewrite.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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

int rt_rewrite_compile(struct rt_rewrite *rw, const char *match, const char *replace,
		       char *err, size_t errlen)
{
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
	return 0;
}

void rt_rewrite_free(struct rt_rewrite *rw)
{
	if (rw->code)
		pcre2_code_free(rw->code);
	rw->code = NULL;
}

int rt_rewrite_apply(const struct rt_rewrite *rw, const char *subject, size_t len,
		     pcre2_match_data *md, char *out, size_t outlen)
{
	PCRE2_SIZE olen = outlen;
	int rc = pcre2_substitute(rw->code, (PCRE2_SPTR)subject, len, 0, 0, md, NULL,
				  (PCRE2_SPTR)rw->replace, PCRE2_ZERO_TERMINATED,
				  (PCRE2_UCHAR *)out, &olen);
	if (rc > 0)
		return 1;
	if (rc == 0)
		return 0;
	return rc == PCRE2_ERROR_NOMEMORY ? -ENOSPC : -EIO;
}
