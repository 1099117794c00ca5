/* sb_json: see sb_json.h. */
#include "sb_json.h"

#include <stdint.h>
#include <string.h>

#define SB_JR_DEPTH 32

void sb_jr_init(struct sb_jr *r, const char *s, size_t len)
{
	r->p = s;
	r->end = s + len;
	r->err = NULL;
}

static int fail(struct sb_jr *r, const char *why)
{
	if (!r->err)
		r->err = why;
	return -1;
}

static void ws(struct sb_jr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

char sb_jr_peek(struct sb_jr *r)
{
	ws(r);
	return r->p < r->end ? *r->p : '\0';
}

static bool eat(struct sb_jr *r, char c)
{
	if (sb_jr_peek(r) != c)
		return false;
	r->p++;
	return true;
}

int sb_jr_obj_begin(struct sb_jr *r)
{
	return eat(r, '{') ? 0 : fail(r, "expected an object");
}

int sb_jr_arr_begin(struct sb_jr *r)
{
	return eat(r, '[') ? 0 : fail(r, "expected an array");
}

/* After a value inside a container: ',' or the closer. First call: the
 * opener was just consumed (no value ends in '{' or '[', so the character
 * before the cursor tells). */
static int next_item(struct sb_jr *r, char closer)
{
	char prev = r->p[-1];

	if (r->err)
		return -1;
	if (eat(r, closer))
		return 0;
	if (prev == '{' || prev == '[')
		return 1;
	if (!eat(r, ','))
		return fail(r, "expected ',' or a closing bracket");
	return 1;
}

int sb_jr_obj_next(struct sb_jr *r, char *key, size_t cap)
{
	size_t len;
	int rc = next_item(r, '}');

	if (rc <= 0)
		return rc;
	if (sb_jr_string(r, key, cap, &len) != 0)
		return -1;
	if (!eat(r, ':'))
		return fail(r, "expected ':' after a key");
	return 1;
}

int sb_jr_arr_next(struct sb_jr *r)
{
	return next_item(r, ']');
}

static int hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

int sb_jr_string(struct sb_jr *r, char *buf, size_t cap, size_t *len)
{
	size_t o = 0;

	if (!eat(r, '"'))
		return fail(r, "expected a string");
	while (r->p < r->end && *r->p != '"') {
		unsigned char c = (unsigned char)*r->p++;
		char enc[4];
		size_t n = 1;

		if (c < 0x20)
			return fail(r, "control character in a string");
		enc[0] = (char)c;
		if (c == '\\') {
			if (r->p >= r->end)
				break;
			c = (unsigned char)*r->p++;
			switch (c) {
			case '"': case '\\': case '/': enc[0] = (char)c; break;
			case 'b': enc[0] = '\b'; break;
			case 'f': enc[0] = '\f'; break;
			case 'n': enc[0] = '\n'; break;
			case 'r': enc[0] = '\r'; break;
			case 't': enc[0] = '\t'; break;
			case 'u': {
				uint32_t u, lo;
				if (r->end - r->p < 4 || hex4(r->p, &u) != 0)
					return fail(r, "bad \\u escape");
				r->p += 4;
				if (u >= 0xD800 && u < 0xDC00) {
					if (r->end - r->p < 6 || r->p[0] != '\\' ||
					    r->p[1] != 'u' || hex4(r->p + 2, &lo) != 0 ||
					    lo < 0xDC00 || lo > 0xDFFF)
						return fail(r, "bad surrogate pair");
					r->p += 6;
					u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
				}
				if (u < 0x80) {
					enc[0] = (char)u;
				} else if (u < 0x800) {
					enc[0] = (char)(0xC0 | u >> 6);
					enc[1] = (char)(0x80 | (u & 0x3F));
					n = 2;
				} else if (u < 0x10000) {
					enc[0] = (char)(0xE0 | u >> 12);
					enc[1] = (char)(0x80 | (u >> 6 & 0x3F));
					enc[2] = (char)(0x80 | (u & 0x3F));
					n = 3;
				} else {
					enc[0] = (char)(0xF0 | u >> 18);
					enc[1] = (char)(0x80 | (u >> 12 & 0x3F));
					enc[2] = (char)(0x80 | (u >> 6 & 0x3F));
					enc[3] = (char)(0x80 | (u & 0x3F));
					n = 4;
				}
				break;
			}
			default:
				return fail(r, "bad escape in a string");
			}
		}
		if (o + n >= cap)
			return fail(r, "string too long");
		memcpy(buf + o, enc, n);
		o += n;
	}
	if (r->p >= r->end)
		return fail(r, "unterminated string");
	r->p++;
	buf[o] = '\0';
	if (len)
		*len = o;
	return 0;
}

int sb_jr_int(struct sb_jr *r, long long *v)
{
	long long x = 0;
	bool neg = false;
	const char *start;

	if (sb_jr_peek(r) == '-') {
		neg = true;
		r->p++;
	}
	start = r->p;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		if (x > (INT64_MAX - 9) / 10)
			return fail(r, "integer out of range");
		x = x * 10 + (*r->p++ - '0');
	}
	if (r->p == start)
		return fail(r, "expected an integer");
	if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E'))
		return fail(r, "expected an integer, not a fraction");
	*v = neg ? -x : x;
	return 0;
}

static bool word(struct sb_jr *r, const char *w)
{
	size_t n = strlen(w);

	if (sb_jr_peek(r) != w[0] || (size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
		return false;
	r->p += n;
	return true;
}

bool sb_jr_null(struct sb_jr *r)
{
	return word(r, "null");
}

static int skip(struct sb_jr *r, int depth)
{
	char c = sb_jr_peek(r);
	int rc;

	if (depth > SB_JR_DEPTH)
		return fail(r, "nested too deeply");
	switch (c) {
	case '{':
		r->p++;
		while ((rc = next_item(r, '}')) == 1) {
			/* keys are skipped like any string */
			if (sb_jr_peek(r) != '"' || skip(r, depth + 1) != 0 || !eat(r, ':') ||
			    skip(r, depth + 1) != 0)
				return fail(r, "bad object");
		}
		return rc;
	case '[':
		r->p++;
		while ((rc = next_item(r, ']')) == 1)
			if (skip(r, depth + 1) != 0)
				return -1;
		return rc;
	case '"':
		r->p++;
		while (r->p < r->end && *r->p != '"') {
			if (*r->p == '\\')
				r->p++;
			r->p++;
		}
		if (r->p >= r->end)
			return fail(r, "unterminated string");
		r->p++;
		return 0;
	case 't':
		return word(r, "true") ? 0 : fail(r, "bad literal");
	case 'f':
		return word(r, "false") ? 0 : fail(r, "bad literal");
	case 'n':
		return word(r, "null") ? 0 : fail(r, "bad literal");
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			r->p++;
			while (r->p < r->end && strchr("0123456789.eE+-", *r->p))
				r->p++;
			return 0;
		}
		return fail(r, "unexpected character");
	}
}

int sb_jr_skip(struct sb_jr *r)
{
	return skip(r, 0);
}

int sb_jr_end(struct sb_jr *r)
{
	ws(r);
	return r->p == r->end ? 0 : fail(r, "trailing characters");
}

void sb_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
