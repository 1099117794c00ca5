/*
 * lx_regex: see lx_regex.h. A recursive-descent parser builds a small AST
 * (so that a repeated piece can be instantiated many times), which is then
 * turned into a Thompson NFA.
 */
#include "lx_regex.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LX_DEPTH_MAX 200  /* group nesting */
#define LX_REP_MAX 65535u /* PCRE2's largest repeat count */
#define LX_REP_INF UINT32_MAX

int lx_sym_of(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return -1;
	if (c >= '0' && c <= '9')
		return LX_SYM_D0 + (c - '0');
	switch (c) {
	case '#':
		return LX_SYM_HASH;
	case '*':
		return LX_SYM_STAR;
	case '+':
		return LX_SYM_PLUS;
	default:
		return LX_SYM_OTHER;
	}
}

char lx_sym_char(unsigned sym)
{
	static const char chars[LX_NSYM] = "#*+0123456789x";
	return sym < LX_NSYM ? chars[sym] : '?';
}

const char *lx_status_name(enum lx_status s)
{
	switch (s) {
	case LX_OK:
		return "ok";
	case LX_UNSUPPORTED:
		return "not analysable";
	case LX_SYNTAX:
		return "syntax error";
	case LX_LIMIT:
		return "too large to analyse";
	}
	return "?";
}

/* ---- AST --------------------------------------------------------------------------- */

enum { A_SET, A_CAT, A_ALT, A_REP, A_BOL, A_EOL, A_EMPTY };

struct ast {
	uint8_t type;
	lx_set set;
	int32_t kid, next; /* first child, next sibling; -1 none */
	uint32_t min, max;
};

struct parser {
	const unsigned char *start, *p, *end;
	struct ast *a;
	uint32_t n, cap;
	enum lx_status st;
	char *why;
	size_t whylen;
	bool other_partial;
	unsigned depth;
};

__attribute__((format(printf, 3, 4))) static int fail(struct parser *ps, enum lx_status st,
						       const char *fmt, ...)
{
	if (ps->st != LX_OK)
		return -1;
	ps->st = st;
	if (ps->why && ps->whylen) {
		char msg[160];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(ps->why, ps->whylen, "%s at offset %zu", msg, (size_t)(ps->p - ps->start));
	}
	return -1;
}

static int32_t node(struct parser *ps, uint8_t type)
{
	if (ps->n == ps->cap) {
		uint32_t nc = ps->cap ? ps->cap * 2 : 32;
		if (nc > 1u << 22)
			return fail(ps, LX_LIMIT, "pattern too long");
		struct ast *na = realloc(ps->a, nc * sizeof(*na));
		if (!na)
			return fail(ps, LX_LIMIT, "out of memory");
		ps->a = na;
		ps->cap = nc;
	}
	ps->a[ps->n] = (struct ast){.type = type, .kid = -1, .next = -1};
	return (int32_t)ps->n++;
}

static bool eof(const struct parser *ps)
{
	return ps->p >= ps->end;
}

static int peek(const struct parser *ps)
{
	return ps->p < ps->end ? *ps->p : -1;
}

static int peek_at(const struct parser *ps, size_t k)
{
	return ps->p + k < ps->end ? ps->p[k] : -1;
}

/* The symbol set of a byte set (256 bits), noting a partial OTHER. */
static lx_set bytes_to_set(struct parser *ps, const uint8_t bytes[32])
{
	lx_set s = 0;
	unsigned others = 0, others_in = 0;
	for (unsigned c = 0x21; c < 0x7f; c++) {
		int sym = lx_sym_of((unsigned char)c);
		bool in = bytes[c / 8] >> (c % 8) & 1;
		if (sym == LX_SYM_OTHER) {
			others++;
			others_in += in;
		} else if (in) {
			s |= (lx_set)(1u << sym);
		}
	}
	if (others_in)
		s |= LX_SET_OTHER;
	if (others_in && others_in != others)
		ps->other_partial = true;
	return s;
}

static void byte_add(uint8_t bytes[32], unsigned c)
{
	bytes[c / 8] |= (uint8_t)(1u << (c % 8));
}

static void byte_range(uint8_t bytes[32], unsigned lo, unsigned hi)
{
	for (unsigned c = lo; c <= hi; c++)
		byte_add(bytes, c);
}

static lx_set byte_set(struct parser *ps, unsigned c)
{
	uint8_t bytes[32] = {0};
	byte_add(bytes, c);
	return bytes_to_set(ps, bytes);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* After "\x": hh (up to two digits) or {h...}. The byte, or -1. */
static int parse_hex(struct parser *ps)
{
	unsigned v = 0;
	if (peek(ps) == '{') {
		ps->p++;
		int digits = 0;
		while (hexval(peek(ps)) >= 0) {
			v = v * 16 + (unsigned)hexval(peek(ps));
			ps->p++;
			if (v > 0xff)
				return fail(ps, LX_UNSUPPORTED, "\\x{...} above 0xff");
			digits++;
		}
		if (peek(ps) != '}' || !digits)
			return fail(ps, LX_SYNTAX, "malformed \\x{...}");
		ps->p++;
		return (int)v;
	}
	for (int i = 0; i < 2 && hexval(peek(ps)) >= 0; i++, ps->p++)
		v = v * 16 + (unsigned)hexval(peek(ps));
	return (int)v;
}

/* A control-character escape (\t \n \r \f \e \a): the byte, or -1 when c is
 * not one. */
static int control_escape(int c)
{
	switch (c) {
	case 't':
		return '\t';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 'f':
		return '\f';
	case 'e':
		return 0x1b;
	case 'a':
		return 0x07;
	}
	return -1;
}

static bool is_alnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Byte sets of the class escapes \d \s \w. */
static void class_escape_bytes(int c, uint8_t bytes[32])
{
	memset(bytes, 0, 32);
	switch (c | 0x20) {
	case 'd':
		byte_range(bytes, '0', '9');
		break;
	case 's':
		byte_range(bytes, '\t', '\r');
		byte_add(bytes, ' ');
		break;
	case 'w':
		byte_range(bytes, '0', '9');
		byte_range(bytes, 'a', 'z');
		byte_range(bytes, 'A', 'Z');
		byte_add(bytes, '_');
		break;
	}
	if (c >= 'A' && c <= 'Z')
		for (int i = 0; i < 32; i++)
			bytes[i] = (uint8_t)~bytes[i];
}

/*
 * One class member after '[' (escape or byte). Sets *single to the byte for
 * a single character, or -1 for a class escape whose bytes went into
 * bytes. 0, or -1 on failure.
 */
static int class_member(struct parser *ps, uint8_t bytes[32], int *single)
{
	int c = peek(ps);
	*single = -1;
	if (c != '\\') {
		ps->p++;
		*single = c;
		return 0;
	}
	ps->p++;
	c = peek(ps);
	if (c < 0)
		return fail(ps, LX_SYNTAX, "\\ at end of pattern");
	ps->p++;
	if (strchr("dDsSwW", c)) {
		uint8_t cb[32];
		class_escape_bytes(c, cb);
		for (int i = 0; i < 32; i++)
			bytes[i] |= cb[i];
		return 0;
	}
	if (c == 'x') {
		int v = parse_hex(ps);
		if (v < 0)
			return -1;
		*single = v;
		return 0;
	}
	if (c == 'b') {
		*single = 0x08;
		return 0;
	}
	int ctl = control_escape(c);
	if (ctl >= 0) {
		*single = ctl;
		return 0;
	}
	if (!is_alnum(c)) {
		*single = c;
		return 0;
	}
	return fail(ps, LX_UNSUPPORTED, "escape \\%c in a class", c);
}

static int32_t parse_class(struct parser *ps)
{
	uint8_t bytes[32] = {0};
	bool neg = false, first = true;

	ps->p++; /* '[' */
	if (peek(ps) == '^') {
		neg = true;
		ps->p++;
	}
	for (;;) {
		int c = peek(ps);
		if (c < 0)
			return fail(ps, LX_SYNTAX, "missing terminating ] for character class");
		if (c == ']' && !first) {
			ps->p++;
			break;
		}
		first = false;
		if (c == '[' && (peek_at(ps, 1) == ':' || peek_at(ps, 1) == '.' ||
				 peek_at(ps, 1) == '=')) {
			if (ps->end - ps->p >= 9 && !memcmp(ps->p, "[:digit:]", 9)) {
				byte_range(bytes, '0', '9');
				ps->p += 9;
				continue;
			}
			return fail(ps, LX_UNSUPPORTED, "POSIX class other than [:digit:]");
		}
		int lo;
		if (class_member(ps, bytes, &lo))
			return -1;
		if (lo >= 0 && peek(ps) == '-' && peek_at(ps, 1) >= 0 && peek_at(ps, 1) != ']') {
			ps->p++; /* '-' */
			if (peek(ps) == '[' && peek_at(ps, 1) == ':')
				return fail(ps, LX_UNSUPPORTED, "range ending in a POSIX class");
			int hi;
			uint8_t dummy[32] = {0};
			if (class_member(ps, dummy, &hi))
				return -1;
			if (hi < 0)
				return fail(ps, LX_UNSUPPORTED, "range ending in a class escape");
			if (hi < lo)
				return fail(ps, LX_SYNTAX, "range out of order in character class");
			byte_range(bytes, (unsigned)lo, (unsigned)hi);
		} else if (lo >= 0) {
			byte_add(bytes, (unsigned)lo);
		}
	}
	if (neg)
		for (int i = 0; i < 32; i++)
			bytes[i] = (uint8_t)~bytes[i];
	int32_t nd = node(ps, A_SET);
	if (nd >= 0)
		ps->a[nd].set = bytes_to_set(ps, bytes);
	return nd;
}

/* Outside a class: after '\'. */
static int32_t parse_escape(struct parser *ps)
{
	ps->p++; /* '\' */
	int c = peek(ps);
	if (c < 0)
		return fail(ps, LX_SYNTAX, "\\ at end of pattern");
	ps->p++;
	int32_t nd;
	if (strchr("dDsSwW", c)) {
		uint8_t bytes[32];
		class_escape_bytes(c, bytes);
		if ((nd = node(ps, A_SET)) >= 0)
			ps->a[nd].set = bytes_to_set(ps, bytes);
		return nd;
	}
	if (c == 'A')
		return node(ps, A_BOL);
	if (c == 'z' || c == 'Z')
		return node(ps, A_EOL);
	int byte = control_escape(c);
	if (c == 'x' && (byte = parse_hex(ps)) < 0)
		return -1;
	if (byte < 0 && !is_alnum(c))
		byte = c;
	if (byte < 0) {
		if (c >= '1' && c <= '9')
			return fail(ps, LX_UNSUPPORTED, "backreference \\%c", c);
		if (strchr("bBGKQERXNhHvVpPCgkcoluUL0", c))
			return fail(ps, LX_UNSUPPORTED, "escape \\%c", c);
		return fail(ps, LX_SYNTAX, "unrecognized escape \\%c", c);
	}
	if ((nd = node(ps, A_SET)) >= 0)
		ps->a[nd].set = byte_set(ps, (unsigned)byte);
	return nd;
}

/*
 * At '{': a quantifier {n}, {n,} or {n,m}? If so (and take), consume it
 * and set min/max. 1 quantifier, 0 not one, -1 error.
 */
static int brace_quant(struct parser *ps, bool take, uint32_t *min, uint32_t *max)
{
	const unsigned char *q = ps->p + 1;
	uint32_t a = 0, b;
	int da = 0, db = 0;
	while (q < ps->end && *q >= '0' && *q <= '9') {
		if (a <= LX_REP_MAX)
			a = a * 10 + (uint32_t)(*q - '0');
		q++, da++;
	}
	if (!da)
		return 0;
	if (q < ps->end && *q == '}') {
		b = a;
	} else if (q < ps->end && *q == ',') {
		q++;
		b = 0;
		while (q < ps->end && *q >= '0' && *q <= '9') {
			if (b <= LX_REP_MAX)
				b = b * 10 + (uint32_t)(*q - '0');
			q++, db++;
		}
		if (q >= ps->end || *q != '}')
			return 0;
		if (!db)
			b = LX_REP_INF;
	} else {
		return 0;
	}
	if (!take)
		return 1;
	if (a > LX_REP_MAX || (b != LX_REP_INF && b > LX_REP_MAX))
		return fail(ps, LX_SYNTAX, "number too big in {} quantifier");
	if (b < a)
		return fail(ps, LX_SYNTAX, "numbers out of order in {} quantifier");
	ps->p = q + 1;
	*min = a;
	*max = b;
	return 1;
}

static bool at_quantifier(struct parser *ps)
{
	int c = peek(ps);
	uint32_t a, b;
	return c == '*' || c == '+' || c == '?' || (c == '{' && brace_quant(ps, false, &a, &b) == 1);
}

static int32_t parse_alt(struct parser *ps);

static int32_t parse_group(struct parser *ps)
{
	ps->p++; /* '(' */
	if (++ps->depth > LX_DEPTH_MAX)
		return fail(ps, LX_LIMIT, "groups nested too deeply");
	if (peek(ps) == '?') {
		int c = peek_at(ps, 1);
		const char *close = NULL;
		if (c == ':') {
			ps->p += 2;
		} else if (c == '<' && peek_at(ps, 2) != '=' && peek_at(ps, 2) != '!') {
			ps->p += 2;
			close = ">";
		} else if (c == 'P' && peek_at(ps, 2) == '<') {
			ps->p += 3;
			close = ">";
		} else if (c == '\'') {
			ps->p += 2;
			close = "'";
		} else if (c == '=' || c == '!' || c == '<') {
			return fail(ps, LX_UNSUPPORTED, "lookaround assertion");
		} else if (c == '>') {
			return fail(ps, LX_UNSUPPORTED, "atomic group");
		} else {
			return fail(ps, LX_UNSUPPORTED, "(?%c...) construct", c < 0 ? '?' : c);
		}
		if (close) {
			int len = 0;
			while (peek(ps) >= 0 && (is_alnum(peek(ps)) || peek(ps) == '_'))
				ps->p++, len++;
			if (!len || peek(ps) != *close)
				return fail(ps, LX_SYNTAX, "malformed group name");
			ps->p++;
		}
	}
	int32_t inner = parse_alt(ps);
	if (inner < 0)
		return -1;
	if (peek(ps) != ')')
		return fail(ps, LX_SYNTAX, "missing closing parenthesis");
	ps->p++;
	ps->depth--;
	return inner;
}

static int32_t parse_atom(struct parser *ps, bool *anchor)
{
	int c = peek(ps);
	int32_t nd;
	*anchor = false;
	switch (c) {
	case '(':
		return parse_group(ps);
	case '[':
		return parse_class(ps);
	case '.':
		ps->p++;
		if ((nd = node(ps, A_SET)) >= 0)
			ps->a[nd].set = LX_SET_ALL;
		return nd;
	case '^':
		ps->p++;
		*anchor = true;
		return node(ps, A_BOL);
	case '$':
		ps->p++;
		*anchor = true;
		return node(ps, A_EOL);
	case '\\':
		nd = parse_escape(ps);
		if (nd >= 0 && (ps->a[nd].type == A_BOL || ps->a[nd].type == A_EOL))
			*anchor = true;
		return nd;
	case '*':
	case '+':
	case '?':
		return fail(ps, LX_SYNTAX, "quantifier does not follow a repeatable item");
	case '{':
		if (at_quantifier(ps))
			return fail(ps, LX_SYNTAX, "quantifier does not follow a repeatable item");
		return fail(ps, LX_UNSUPPORTED, "'{' that is not a quantifier");
	default:
		ps->p++;
		if ((nd = node(ps, A_SET)) >= 0)
			ps->a[nd].set = byte_set(ps, (unsigned)c);
		return nd;
	}
}

static int32_t parse_quant(struct parser *ps, int32_t atom, bool anchor)
{
	uint32_t min, max;
	int c = peek(ps);
	if (c == '*' || c == '+' || c == '?') {
		ps->p++;
		min = c == '+' ? 1 : 0;
		max = c == '?' ? 1 : LX_REP_INF;
	} else if (c == '{') {
		int r = brace_quant(ps, true, &min, &max);
		if (r < 0)
			return -1;
		if (r == 0)
			return atom; /* a literal '{' follows: parse_atom says so */
	} else {
		return atom;
	}
	if (anchor)
		return fail(ps, LX_UNSUPPORTED, "quantified assertion");
	if (peek(ps) == '+')
		return fail(ps, LX_UNSUPPORTED, "possessive quantifier");
	if (peek(ps) == '?')
		ps->p++; /* lazy: the same language */
	if (at_quantifier(ps))
		return fail(ps, LX_UNSUPPORTED, "stacked quantifiers");
	int32_t rep = node(ps, A_REP);
	if (rep < 0)
		return -1;
	ps->a[rep].kid = atom;
	ps->a[rep].min = min;
	ps->a[rep].max = max;
	return rep;
}

static int32_t parse_cat(struct parser *ps)
{
	int32_t cat = node(ps, A_CAT), last = -1;
	if (cat < 0)
		return -1;
	while (!eof(ps) && peek(ps) != '|' && peek(ps) != ')') {
		bool anchor;
		int32_t atom = parse_atom(ps, &anchor);
		if (atom < 0)
			return -1;
		atom = parse_quant(ps, atom, anchor);
		if (atom < 0)
			return -1;
		if (last < 0)
			ps->a[cat].kid = atom;
		else
			ps->a[last].next = atom;
		last = atom;
	}
	return cat;
}

static int32_t parse_alt(struct parser *ps)
{
	int32_t first = parse_cat(ps);
	if (first < 0 || peek(ps) != '|')
		return first;
	int32_t alt = node(ps, A_ALT), last = first;
	if (alt < 0)
		return -1;
	ps->a[alt].kid = first;
	while (peek(ps) == '|') {
		ps->p++;
		int32_t c = parse_cat(ps);
		if (c < 0)
			return -1;
		ps->a[last].next = c;
		last = c;
	}
	return alt;
}

/* ---- NFA --------------------------------------------------------------------------- */

struct builder {
	struct lx_nfa *nfa;
	const struct ast *a;
	uint32_t max;
	bool over;
};

struct frag {
	int32_t s, e; /* start; end: an EPS node whose out is still open */
};

static int32_t add(struct builder *b, uint8_t kind, lx_set set, int32_t out, int32_t out2)
{
	struct lx_nfa *n = b->nfa;
	if (b->over || n->n >= b->max) {
		b->over = true;
		return -1;
	}
	if (n->n == n->cap) {
		uint32_t nc = n->cap ? n->cap * 2 : 64;
		struct lx_nstate *ns = realloc(n->st, nc * sizeof(*ns));
		if (!ns) {
			b->over = true;
			return -1;
		}
		n->st = ns;
		n->cap = nc;
	}
	n->st[n->n] = (struct lx_nstate){.kind = kind, .set = set, .out = out, .out2 = out2};
	return (int32_t)n->n++;
}

static struct frag empty_frag(struct builder *b)
{
	int32_t e = add(b, LX_N_EPS, 0, -1, -1);
	return (struct frag){e, e};
}

static void link_to(struct builder *b, int32_t from_end, int32_t to)
{
	if (!b->over && from_end >= 0)
		b->nfa->st[from_end].out = to;
}

static struct frag build(struct builder *b, int32_t idx)
{
	const struct ast *x = &b->a[idx];
	struct frag f = {-1, -1}, g;
	int32_t e, s;

	if (b->over)
		return f;
	switch (x->type) {
	case A_SET:
		e = add(b, LX_N_EPS, 0, -1, -1);
		s = add(b, LX_N_SYM, x->set, e, -1);
		return (struct frag){s, e};
	case A_EMPTY:
		return empty_frag(b);
	case A_BOL:
	case A_EOL:
		e = add(b, LX_N_EPS, 0, -1, -1);
		s = add(b, x->type == A_BOL ? LX_N_BOL : LX_N_EOL, 0, e, -1);
		return (struct frag){s, e};
	case A_CAT:
		if (x->kid < 0)
			return empty_frag(b);
		f = build(b, x->kid);
		for (int32_t k = b->a[x->kid].next; k >= 0 && !b->over; k = b->a[k].next) {
			g = build(b, k);
			link_to(b, f.e, g.s);
			f.e = g.e;
		}
		return f;
	case A_ALT: {
		int32_t prev = -1;
		e = add(b, LX_N_EPS, 0, -1, -1);
		s = -1;
		for (int32_t k = x->kid; k >= 0 && !b->over; k = b->a[k].next) {
			g = build(b, k);
			link_to(b, g.e, e);
			int32_t entry = g.s;
			if (b->a[k].next >= 0)
				entry = add(b, LX_N_EPS, 0, g.s, -1);
			if (b->over)
				break;
			if (s < 0)
				s = entry;
			else
				b->nfa->st[prev].out2 = entry;
			prev = entry;
		}
		return (struct frag){s, e};
	}
	case A_REP: {
		f = empty_frag(b);
		if (x->max == 0)
			return f;
		for (uint32_t i = 0; i < x->min && !b->over; i++) {
			g = build(b, x->kid);
			link_to(b, f.e, g.s);
			f.e = g.e;
		}
		if (x->max == LX_REP_INF) {
			int32_t loop = add(b, LX_N_EPS, 0, -1, -1);
			g = build(b, x->kid);
			int32_t exit = add(b, LX_N_EPS, 0, -1, -1);
			if (b->over)
				return f;
			b->nfa->st[loop].out = g.s;
			b->nfa->st[loop].out2 = exit;
			link_to(b, g.e, loop);
			link_to(b, f.e, loop);
			f.e = exit;
			return f;
		}
		int32_t end = add(b, LX_N_EPS, 0, -1, -1);
		for (uint32_t i = x->min; i < x->max && !b->over; i++) {
			g = build(b, x->kid);
			int32_t split = add(b, LX_N_EPS, 0, g.s, end);
			link_to(b, f.e, split);
			f.e = g.e;
		}
		link_to(b, f.e, end);
		f.e = end;
		return f;
	}
	}
	b->over = true;
	return f;
}

void lx_nfa_free(struct lx_nfa *n)
{
	free(n->st);
	*n = (struct lx_nfa){.start = -1};
}

enum lx_status lx_compile(const char *pat, size_t len, uint32_t max_states, struct lx_nfa *out,
			  char *why, size_t whylen)
{
	struct parser ps = {
		.start = (const unsigned char *)pat,
		.p = (const unsigned char *)pat,
		.end = (const unsigned char *)pat + len,
		.why = why,
		.whylen = whylen,
	};
	*out = (struct lx_nfa){.start = -1};
	if (why && whylen)
		why[0] = '\0';
	/* Config patterns are C strings; a NUL byte (only a fuzzer makes one)
	 * is where escapes like "\<NUL>" would be read differently from PCRE2. */
	if (memchr(pat, '\0', len)) {
		if (why && whylen)
			snprintf(why, whylen, "a NUL byte in the pattern");
		return LX_UNSUPPORTED;
	}

	int32_t root = parse_alt(&ps);
	if (root >= 0 && !eof(&ps))
		fail(&ps, LX_SYNTAX, "unmatched closing parenthesis");
	if (ps.st != LX_OK) {
		free(ps.a);
		return ps.st;
	}

	struct builder b = {.nfa = out, .a = ps.a, .max = max_states ? max_states : 1};
	struct frag f = build(&b, root);
	int32_t m = add(&b, LX_N_MATCH, 0, -1, -1);
	free(ps.a);
	if (b.over) {
		lx_nfa_free(out);
		if (why && whylen)
			snprintf(why, whylen, "more than %u automaton states", max_states);
		return LX_LIMIT;
	}
	out->st[f.e].out = m;
	out->start = f.s;
	out->other_partial = ps.other_partial;
	return LX_OK;
}

/* ---- empty matches ---------------------------------------------------------------- */

bool lx_nfa_empty_match(const struct lx_nfa *n, bool bol, bool eol)
{
	if (n->start < 0)
		return false;
	uint8_t *seen = calloc(n->n, 1);
	int32_t *stack = malloc(n->n * sizeof(*stack));
	bool found = false;
	uint32_t sp = 0;
	if (!seen || !stack)
		goto out;
	stack[sp++] = n->start;
	seen[n->start] = 1;
	while (sp && !found) {
		const struct lx_nstate *s = &n->st[stack[--sp]];
		int32_t next[2] = {-1, -1};
		switch (s->kind) {
		case LX_N_MATCH:
			found = true;
			break;
		case LX_N_EPS:
			next[0] = s->out;
			next[1] = s->out2;
			break;
		case LX_N_BOL:
			if (bol)
				next[0] = s->out;
			break;
		case LX_N_EOL:
			if (eol)
				next[0] = s->out;
			break;
		}
		for (int i = 0; i < 2; i++)
			if (next[i] >= 0 && !seen[next[i]]) {
				seen[next[i]] = 1;
				stack[sp++] = next[i];
			}
	}
out:
	free(seen);
	free(stack);
	return found;
}
