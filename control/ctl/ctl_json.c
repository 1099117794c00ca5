/*
 * ctl_json: see ctl_json.h. Layout is decided here, not by callers: each
 * member or element starts on its own line, indented by depth.
 */
#include "ctl_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>

void ctl_json_init(struct ctl_json *j, FILE *out)
{
	*j = (struct ctl_json){.out = out};
	j->first[0] = true;
}

void ctl_json_init_compact(struct ctl_json *j, FILE *out)
{
	ctl_json_init(j, out);
	j->compact = true;
}

static void ctl_json_indent(struct ctl_json *j)
{
	if (j->compact)
		return;
	fputc('\n', j->out);
	for (unsigned i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Separator and indentation before a value or a key. */
static void ctl_json_prefix(struct ctl_json *j)
{
	if (j->after_key) {
		/* the key already placed us */
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (!j->first[j->depth])
		fputc(',', j->out);
	j->first[j->depth] = false;
	ctl_json_indent(j);
}

static void ctl_json_open(struct ctl_json *j, char c)
{
	ctl_json_prefix(j);
	fputc(c, j->out);
	if (j->depth + 1 >= CTL_JSON_DEPTH) {
		j->failed = true;
		return;
	}
	j->depth++;
	j->first[j->depth] = true;
}

static void ctl_json_close(struct ctl_json *j, char c)
{
	if (j->depth == 0) {
		j->failed = true;
		return;
	}
	bool empty = j->first[j->depth];
	j->depth--;
	if (!empty)
		ctl_json_indent(j);
	fputc(c, j->out);
	if (j->depth == 0)
		fputc('\n', j->out);
}

void ctl_json_object_begin(struct ctl_json *j)
{
	ctl_json_open(j, '{');
}

void ctl_json_object_end(struct ctl_json *j)
{
	ctl_json_close(j, '}');
}

void ctl_json_array_begin(struct ctl_json *j)
{
	ctl_json_open(j, '[');
}

void ctl_json_array_end(struct ctl_json *j)
{
	ctl_json_close(j, ']');
}

void ctl_json_key(struct ctl_json *j, const char *key)
{
	ctl_json_prefix(j);
	ctl_json_write_string(j->out, key);
	fputs(j->compact ? ":" : ": ", j->out);
	j->after_key = true;
}

/*
 * Length of the valid UTF-8 sequence at p (1..4), or 0 when the bytes there
 * are not one (overlong forms, surrogates and code points past U+10FFFF
 * included, as RFC 3629 requires).
 */
static size_t ctl_utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = c == 0xed ? 0x9f : 0xbf;
		if (p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
		if (p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

void ctl_json_write_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	while (*p) {
		unsigned char c = *p;
		switch (c) {
		case '"':
			fputs("\\\"", out);
			p++;
			continue;
		case '\\':
			fputs("\\\\", out);
			p++;
			continue;
		case '\b':
			fputs("\\b", out);
			p++;
			continue;
		case '\f':
			fputs("\\f", out);
			p++;
			continue;
		case '\n':
			fputs("\\n", out);
			p++;
			continue;
		case '\r':
			fputs("\\r", out);
			p++;
			continue;
		case '\t':
			fputs("\\t", out);
			p++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
			p++;
			continue;
		}
		/* A NUL inside a multi-byte sequence fails the continuation
		 * test, so ctl_utf8_len never reads past the terminator. */
		size_t n = ctl_utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", out);
			p++;
			continue;
		}
		fwrite(p, 1, n, out);
		p += n;
	}
	fputc('"', out);
}

void ctl_json_string(struct ctl_json *j, const char *s)
{
	if (!s) {
		ctl_json_null(j);
		return;
	}
	ctl_json_prefix(j);
	ctl_json_write_string(j->out, s);
}

void ctl_json_uint(struct ctl_json *j, uint64_t v)
{
	ctl_json_prefix(j);
	fprintf(j->out, "%" PRIu64, v);
}

void ctl_json_double(struct ctl_json *j, double v)
{
	ctl_json_prefix(j);
	if (v != v || v > 1e300 || v < -1e300)
		fputs("null", j->out); /* JSON has no NaN or infinity */
	else
		fprintf(j->out, "%.6g", v);
}

void ctl_json_int(struct ctl_json *j, int64_t v)
{
	ctl_json_prefix(j);
	fprintf(j->out, "%" PRId64, v);
}

void ctl_json_bool(struct ctl_json *j, bool v)
{
	ctl_json_prefix(j);
	fputs(v ? "true" : "false", j->out);
}

void ctl_json_null(struct ctl_json *j)
{
	ctl_json_prefix(j);
	fputs("null", j->out);
}

void ctl_json_kv_string(struct ctl_json *j, const char *key, const char *s)
{
	ctl_json_key(j, key);
	ctl_json_string(j, s);
}

void ctl_json_kv_uint(struct ctl_json *j, const char *key, uint64_t v)
{
	ctl_json_key(j, key);
	ctl_json_uint(j, v);
}

void ctl_json_kv_bool(struct ctl_json *j, const char *key, bool v)
{
	ctl_json_key(j, key);
	ctl_json_bool(j, v);
}

int ctl_json_finish(struct ctl_json *j)
{
	if (j->failed || j->depth != 0 || j->after_key)
		return -EINVAL;
	if (fflush(j->out) != 0 || ferror(j->out))
		return -EIO;
	return 0;
}
