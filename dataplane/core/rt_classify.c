/*
 * The pattern classifier (see rt_classify.h for the grammar). A small
 * recursive-descent parser computes, for each piece of the pattern, the
 * finite set of "literal, then tail" alternatives it stands for, and
 * concatenates pieces by the rules in join(); anything it does not fully
 * understand fails the whole pattern, which then stays with Hyperscan. A
 * wrong "yes" here misroutes calls silently, a wrong "no" only costs speed,
 * so every doubtful construct is a "no".
 */
#include "rt_classify.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 8       /* group nesting */
#define MAX_COUNT 0xfffe  /* digit counts above this go to Hyperscan */
#define INF UINT32_MAX    /* unbounded, while parsing */
#define EXPAND_MAX 3      /* \d{k} followed by literal expands up to 10^3 */

enum kind {
	K_LIT,    /* exactly the literal */
	K_DIGITS, /* the literal, then min..max digits */
	K_ANY,    /* the literal, then '.*' */
};

struct alt {
	char lit[RT_LIT_MAX + 1];
	uint8_t len;
	uint8_t kind;
	uint32_t min, max;
};

/* A set of alternatives (the functions below return false, with nothing
 * left to free, when a piece is not lowerable). */
struct set {
	struct alt *a;
	uint32_t n, cap; /* cap grows on push, up to RT_CLASSIFY_MAX_ALTS */
};

struct parser {
	const char *p;
	int depth;
	bool ext; /* the branch ended in an extension suffix (ext_suffix) */
};

/*
 * '(;ext=\d+)?$' or '(?:;ext=\d+)?$' ending a top-level branch (what comes
 * after is '|' or the end): an optional RFC 3966 extension. Returns the
 * length up to the '$', else 0.
 */
static size_t ext_suffix(const char *p)
{
	static const char *const forms[] = {"(;ext=\\d+)?$", "(?:;ext=\\d+)?$"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t n = strlen(forms[i]);
		if (!strncmp(p, forms[i], n) && (p[n] == '|' || p[n] == '\0'))
			return n - 1;
	}
	return 0;
}

static bool set_init(struct set *s, uint32_t cap)
{
	s->n = 0;
	s->cap = cap ? cap : 1;
	s->a = malloc(s->cap * sizeof(*s->a));
	return s->a != NULL;
}

static void set_free(struct set *s)
{
	free(s->a);
	s->a = NULL;
	s->n = s->cap = 0;
}

/* The set holding only the empty string. */
static bool set_empty_string(struct set *s)
{
	if (!set_init(s, 1))
		return false;
	memset(&s->a[0], 0, sizeof(s->a[0]));
	s->n = 1;
	return true;
}

static bool append_lit(struct alt *o, const char *lit, size_t len)
{
	if (o->len + len > RT_LIT_MAX)
		return false;
	memcpy(o->lit + o->len, lit, len);
	o->len = (uint8_t)(o->len + len);
	o->lit[o->len] = '\0';
	return true;
}

static uint32_t add_count(uint32_t a, uint32_t b)
{
	if (a == INF || b == INF || a + b > MAX_COUNT)
		return a == INF || b == INF ? INF : MAX_COUNT + 1; /* caught in finish() */
	return a + b;
}

static bool push(struct set *out, const struct alt *a)
{
	if (out->n >= RT_CLASSIFY_MAX_ALTS)
		return false;
	if (out->n == out->cap) {
		uint32_t cap = out->cap * 2 < RT_CLASSIFY_MAX_ALTS ? out->cap * 2 : RT_CLASSIFY_MAX_ALTS;
		struct alt *n = realloc(out->a, cap * sizeof(*n));
		if (!n)
			return false;
		out->a = n;
		out->cap = cap;
	}
	out->a[out->n++] = *a;
	return true;
}

/*
 * x then y, as alternatives of the concatenation (appended to out). A tail
 * can only be followed by nothing more than a digit count it absorbs, except
 * that a fixed digit run followed by literal text expands into literals.
 */
static bool join(const struct alt *x, const struct alt *y, struct set *out)
{
	struct alt r = *x;
	if (x->kind == K_LIT) {
		if (!append_lit(&r, y->lit, y->len))
			return false;
		r.kind = y->kind;
		r.min = y->min;
		r.max = y->max;
		return push(out, &r);
	}
	if (y->len == 0 && y->kind == K_LIT)
		return push(out, &r); /* followed by the empty string */
	if (x->kind == K_ANY)
		return false; /* '.*' followed by anything else */
	/* x: literal then digits. */
	if (y->len == 0 && y->kind == K_DIGITS) {
		r.min = add_count(x->min, y->min);
		r.max = add_count(x->max, y->max);
		return push(out, &r);
	}
	if (y->len == 0 || x->min != x->max || x->min > EXPAND_MAX)
		return false; /* digits then '.*', or a variable run then literal */
	uint32_t k = x->min, count = 1;
	for (uint32_t i = 0; i < k; i++)
		count *= 10;
	if (out->n + count > RT_CLASSIFY_MAX_ALTS)
		return false;
	for (uint32_t v = 0; v < count; v++) {
		char d[EXPAND_MAX];
		for (uint32_t i = 0, div = count / 10; i < k && i < EXPAND_MAX; i++, div /= 10)
			d[i] = (char)('0' + v / div % 10);
		struct alt e = *x;
		e.kind = K_LIT;
		e.min = e.max = 0;
		if (!append_lit(&e, d, k) || !append_lit(&e, y->lit, y->len))
			return false;
		e.kind = y->kind;
		e.min = y->min;
		e.max = y->max;
		if (!push(out, &e))
			return false;
	}
	return true;
}

/* a then b; frees both; false (and nothing to free) when not lowerable. */
static bool concat(struct set *a, struct set *b, struct set *out)
{
	*out = (struct set){0};
	uint64_t want = (uint64_t)a->n * b->n;
	bool ok = want <= RT_CLASSIFY_MAX_ALTS && set_init(out, (uint32_t)want);
	for (uint32_t i = 0; ok && i < a->n; i++)
		for (uint32_t j = 0; ok && j < b->n; j++)
			ok = join(&a->a[i], &b->a[j], out);
	set_free(a);
	set_free(b);
	if (!ok)
		set_free(out);
	return ok;
}

/* Union, appending b to a; frees b. */
static bool unite(struct set *a, struct set *b)
{
	bool ok = a->n + b->n <= RT_CLASSIFY_MAX_ALTS;
	if (ok) {
		struct alt *n = realloc(a->a, (a->n + b->n) * sizeof(*n));
		ok = n != NULL;
		if (ok) {
			a->a = n;
			memcpy(a->a + a->n, b->a, b->n * sizeof(*n));
			a->n += b->n;
			a->cap = a->n;
		}
	}
	set_free(b);
	if (!ok)
		set_free(a);
	return ok;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A decimal in a {} quantifier; PCRE2 allows up to 65535. */
static bool number(struct parser *ps, uint32_t *v)
{
	if (!is_digit(*ps->p))
		return false;
	uint32_t x = 0;
	for (; is_digit(*ps->p); ps->p++) {
		x = x * 10 + (uint32_t)(*ps->p - '0');
		if (x > 65535)
			return false;
	}
	*v = x;
	return true;
}

/*
 * Quantifier after an atom, or {1,1}. Only the strict PCRE2 10.42 forms of
 * {}: a '{' that is not one of them is a literal to PCRE2 (and newer
 * releases read '{,m}' and spaces differently), so it is refused.
 */
static bool quantifier(struct parser *ps, uint32_t *min, uint32_t *max)
{
	*min = *max = 1;
	switch (*ps->p) {
	case '?':
		*min = 0;
		ps->p++;
		break;
	case '*':
		*min = 0;
		*max = INF;
		ps->p++;
		break;
	case '+':
		*max = INF;
		ps->p++;
		break;
	case '{':
		ps->p++;
		if (!number(ps, min))
			return false;
		if (*ps->p == '}') {
			*max = *min;
		} else if (*ps->p == ',') {
			ps->p++;
			if (*ps->p == '}')
				*max = INF;
			else if (!number(ps, max) || *max < *min)
				return false;
		} else {
			return false;
		}
		if (*ps->p != '}')
			return false;
		ps->p++;
		break;
	default:
		return true;
	}
	/* A possessive quantifier ('+' after it) can make a match fail that
	 * backtracking would find; a lazy one ('?') only changes which match
	 * is found, not whether there is one. */
	if (*ps->p == '+')
		return false;
	if (*ps->p == '?')
		ps->p++;
	return true;
}

/* Symbols of a class: bits 0-9 digits, bit 10 '+'. */
#define SYM_PLUS (1u << 10)
#define SYM_DIGITS 0x3ffu

static bool class_body(struct parser *ps, uint32_t *syms)
{
	const char *p = ps->p; /* just after '[' */
	uint32_t m = 0;
	if (*p == '^' || *p == ']')
		return false; /* negated, or ']' as a literal member */
	while (*p != ']') {
		if (is_digit(*p)) {
			char lo = *p++;
			if (*p == '-' && is_digit(p[1])) {
				char hi = p[1];
				if (hi < lo)
					return false;
				for (char c = lo; c <= hi; c++)
					m |= 1u << (c - '0');
				p += 2;
			} else {
				m |= 1u << (lo - '0');
			}
		} else if (*p == '+') {
			m |= SYM_PLUS;
			p++;
		} else if (*p == '\\' && p[1] == '+') {
			m |= SYM_PLUS;
			p += 2;
		} else if (*p == '\\' && p[1] == 'd') {
			m |= SYM_DIGITS;
			p += 2;
		} else {
			return false; /* ranges to non-digits, POSIX classes, other escapes */
		}
		if (*p == '-')
			return false; /* a literal '-' member, or a range from '+' or '\d' */
	}
	ps->p = p + 1;
	*syms = m;
	return true;
}

/* A name of a named group, up to its closing `end`. */
static bool group_name(struct parser *ps, char end)
{
	const char *p = ps->p;
	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_'))
		return false;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' || is_digit(*p))
		p++;
	if (*p != end)
		return false;
	ps->p = p + 1;
	return true;
}

static bool alternation(struct parser *ps, struct set *out);

/* The finite literal strings over `syms` of every length in [min, max]. */
static bool expand_syms(uint32_t syms, uint32_t min, uint32_t max, struct set *out)
{
	if (max == INF)
		return false;
	if (!set_empty_string(out))
		return false;
	struct set acc;
	if (!set_empty_string(&acc)) {
		set_free(out);
		return false;
	}
	if (min > 0)
		out->n = 0; /* the empty string only when min == 0 */
	for (uint32_t k = 1; k <= max; k++) {
		struct set one, next;
		if (!set_init(&one, 11)) {
			set_free(&acc);
			set_free(out);
			return false;
		}
		for (uint32_t b = 0; b < 11; b++) {
			if (!(syms >> b & 1))
				continue;
			struct alt *a = &one.a[one.n++];
			memset(a, 0, sizeof(*a));
			a->lit[0] = b == 10 ? '+' : (char)('0' + b);
			a->len = 1;
		}
		if (!concat(&acc, &one, &next)) {
			set_free(out);
			return false;
		}
		acc = next;
		if (k >= min) {
			struct set copy;
			if (!set_init(&copy, acc.n)) {
				set_free(&acc);
				set_free(out);
				return false;
			}
			memcpy(copy.a, acc.a, acc.n * sizeof(*acc.a));
			copy.n = acc.n;
			if (!unite(out, &copy)) {
				set_free(&acc);
				return false;
			}
		}
	}
	set_free(&acc);
	return true;
}

/* One atom with its quantifier. */
static bool item(struct parser *ps, struct set *out)
{
	*out = (struct set){0};
	const char *p = ps->p;
	uint32_t syms = 0;
	bool dot = false;
	struct set group = {0};
	bool is_group = false;

	if (is_digit(*p)) {
		syms = 1u << (*p - '0');
		ps->p++;
	} else if (*p == '\\' && p[1] == '+') {
		syms = SYM_PLUS;
		ps->p += 2;
	} else if (*p == '\\' && p[1] == 'd') {
		syms = SYM_DIGITS;
		ps->p += 2;
	} else if (*p == '[') {
		ps->p++;
		if (!class_body(ps, &syms))
			return false;
	} else if (*p == '.') {
		dot = true;
		ps->p++;
	} else if (*p == '(') {
		ps->p++;
		if (*ps->p == '?') {
			ps->p++;
			if (*ps->p == ':') {
				ps->p++;
			} else if (*ps->p == '<') {
				ps->p++;
				if (!group_name(ps, '>'))
					return false; /* lookbehind, or something newer */
			} else if (*ps->p == 'P' && ps->p[1] == '<') {
				ps->p += 2;
				if (!group_name(ps, '>'))
					return false;
			} else if (*ps->p == '\'') {
				ps->p++;
				if (!group_name(ps, '\''))
					return false;
			} else {
				return false; /* flags, lookaround, atomic, comments, ... */
			}
		} else if (*ps->p == '*') {
			return false; /* verbs */
		}
		if (++ps->depth > MAX_DEPTH || !alternation(ps, &group))
			return false;
		ps->depth--;
		if (*ps->p != ')') {
			set_free(&group);
			return false;
		}
		ps->p++;
		is_group = true;
	} else {
		return false; /* '^' or '$' inside, letters, other escapes, ... */
	}

	uint32_t min, max;
	if (!quantifier(ps, &min, &max)) {
		set_free(&group);
		return false;
	}
	if (dot) {
		if (min != 0 || max != INF)
			return false; /* only '.*' */
		if (!set_init(out, 1))
			return false;
		memset(&out->a[0], 0, sizeof(out->a[0]));
		out->a[0].kind = K_ANY;
		out->n = 1;
		return true;
	}
	if (!is_group && syms == SYM_DIGITS) {
		if (!set_init(out, 1))
			return false;
		memset(&out->a[0], 0, sizeof(out->a[0]));
		out->a[0].kind = K_DIGITS;
		out->a[0].min = min;
		out->a[0].max = max;
		out->n = 1;
		return true;
	}
	if (!is_group)
		return expand_syms(syms, min, max, out);

	/* A group repeated a bounded number of times: the union of its
	 * concatenation powers. */
	if (max == INF) {
		set_free(&group);
		return false;
	}
	if (min == 1 && max == 1) {
		*out = group;
		return true;
	}
	struct set acc;
	bool ok = set_empty_string(&acc) && set_empty_string(out);
	if (ok && min > 0)
		out->n = 0;
	for (uint32_t k = 1; ok && k <= max; k++) {
		struct set g, next;
		ok = set_init(&g, group.n);
		if (!ok)
			break;
		memcpy(g.a, group.a, group.n * sizeof(*g.a));
		g.n = group.n;
		ok = concat(&acc, &g, &next);
		if (!ok)
			break;
		acc = next;
		if (k >= min) {
			struct set copy;
			ok = set_init(&copy, acc.n);
			if (!ok)
				break;
			memcpy(copy.a, acc.a, acc.n * sizeof(*acc.a));
			copy.n = acc.n;
			ok = unite(out, &copy);
		}
	}
	set_free(&acc);
	set_free(&group);
	if (!ok)
		set_free(out);
	return ok;
}

/* A digit or '\+' with no quantifier after it: *c, and its length. */
static bool plain_literal(const char *p, char *c, int *len)
{
	if (is_digit(p[0])) {
		*c = p[0];
		*len = 1;
	} else if (p[0] == '\\' && p[1] == '+') {
		*c = '+';
		*len = 2;
	} else {
		return false;
	}
	char q = p[*len];
	return q != '?' && q != '*' && q != '+' && q != '{';
}

static bool all_literal(const struct set *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->a[i].kind != K_LIT)
			return false;
	return true;
}

/* Items up to '|', ')', '$' or the end. */
static bool sequence(struct parser *ps, struct set *out)
{
	if (!set_empty_string(out))
		return false;
	while (*ps->p && *ps->p != '|' && *ps->p != ')' && *ps->p != '$') {
		size_t ext = ps->depth == 0 ? ext_suffix(ps->p) : 0;
		if (ext) {
			ps->ext = true;
			ps->p += ext; /* at the '$' */
			break;
		}
		/* The common case, a literal prefix byte by byte, extends the
		 * alternatives in place: what concat() would do, without the
		 * allocations (classifying a million routes is mostly this). */
		char c;
		int adv;
		if (plain_literal(ps->p, &c, &adv) && all_literal(out)) {
			for (uint32_t i = 0; i < out->n; i++) {
				if (!append_lit(&out->a[i], &c, 1)) {
					set_free(out);
					return false;
				}
			}
			ps->p += adv;
			continue;
		}
		struct set it = {0}, next;
		if (!item(ps, &it)) {
			set_free(out);
			return false;
		}
		if (!concat(out, &it, &next))
			return false;
		*out = next;
	}
	return true;
}

/* Sequences separated by '|', inside a group. */
static bool alternation(struct parser *ps, struct set *out)
{
	if (!sequence(ps, out))
		return false;
	while (*ps->p == '|') {
		ps->p++;
		struct set more;
		if (!sequence(ps, &more)) {
			set_free(out);
			return false;
		}
		if (!unite(out, &more))
			return false;
	}
	return true;
}

/* A parsed alternative -> its public form, given whether '$' ended it
 * (and whether an extension suffix came before the '$'). */
static bool finish(const struct alt *a, bool anchored, bool ext, struct rt_lowered *o)
{
	if (ext && a->kind == K_ANY)
		return false; /* '.*' then an extension: not a shape the trie knows */
	for (uint8_t i = 0; i < a->len; i++)
		if (a->lit[i] == '+' && i != 0)
			return false; /* the trie knows '+' only as the first byte */
	if (a->kind == K_DIGITS && (a->min > MAX_COUNT || (a->max != INF && a->max > MAX_COUNT)))
		return false;
	memset(o, 0, sizeof(*o));
	memcpy(o->lit, a->lit, a->len);
	o->len = a->len;
	if (!anchored) {
		/* Nothing after the tail is checked, so only the digits a tail
		 * must have count: '\d{3,5}' then anything == at least 3 digits. */
		o->tail = RT_TAIL_OPEN;
		o->min = (uint16_t)(a->kind == K_DIGITS ? a->min : 0);
		o->max = RT_REP_INF;
	} else if (a->kind == K_ANY) {
		o->tail = RT_TAIL_ANY_END;
		o->max = RT_REP_INF;
	} else {
		o->tail = ext ? RT_TAIL_DIGITS_EXT_END : RT_TAIL_DIGITS_END;
		o->min = (uint16_t)(a->kind == K_DIGITS ? a->min : 0);
		o->max = (uint16_t)(a->kind == K_DIGITS ? (a->max == INF ? RT_REP_INF : a->max) : 0);
	}
	return true;
}

static int lowered_cmp(const void *x, const void *y)
{
	const struct rt_lowered *a = x, *b = y;
	int c = strcmp(a->lit, b->lit);
	if (c)
		return c;
	if (a->tail != b->tail)
		return a->tail < b->tail ? -1 : 1;
	if (a->min != b->min)
		return a->min < b->min ? -1 : 1;
	return a->max < b->max ? -1 : a->max > b->max;
}

/* The rules above assume '\n' is PCRE2's only newline: '$' before a final
 * newline, '.' not matching one. Other builds keep every pattern with
 * Hyperscan. */
static bool newline_is_lf(void)
{
	uint32_t nl = 0;
	return pcre2_config(PCRE2_CONFIG_NEWLINE, &nl) >= 0 && nl == PCRE2_NEWLINE_LF;
}

bool rt_classify(const char *pattern, struct rt_lowered *out, uint32_t cap, uint32_t *n)
{
	*n = 0;
	if (!pattern || !newline_is_lf())
		return false;
	struct parser ps = {pattern, 0};
	for (;;) {
		if (*ps.p != '^')
			return false; /* unanchored start: a search, not a prefix */
		ps.p++;
		struct set br;
		ps.ext = false;
		if (!sequence(&ps, &br))
			return false;
		bool anchored = *ps.p == '$';
		if (anchored)
			ps.p++;
		if (*ps.p != '|' && *ps.p != '\0') {
			set_free(&br); /* ')' unbalanced, or '$' not at the end */
			return false;
		}
		for (uint32_t i = 0; i < br.n; i++) {
			if (*n >= cap || !finish(&br.a[i], anchored, ps.ext, &out[*n])) {
				set_free(&br);
				*n = 0;
				return false;
			}
			(*n)++;
		}
		set_free(&br);
		if (*ps.p == '\0')
			break;
		ps.p++;
	}
	/* Canonical order, no duplicates: one trie entry per distinct
	 * alternative. */
	qsort(out, *n, sizeof(*out), lowered_cmp);
	uint32_t k = 0;
	for (uint32_t i = 0; i < *n; i++)
		if (k == 0 || lowered_cmp(&out[k - 1], &out[i]))
			out[k++] = out[i];
	*n = k;
	return k > 0;
}

bool rt_lowered_match(const struct rt_lowered *a, const char *s, size_t len)
{
	if (len < a->len || memcmp(s, a->lit, a->len))
		return false;
	size_t p = a->len;
	size_t end = len && s[len - 1] == '\n' ? len - 1 : len;
	size_t run = 0;
	while (p + run < len && is_digit(s[p + run]))
		run++;
	switch (a->tail) {
	case RT_TAIL_OPEN:
		return run >= a->min;
	case RT_TAIL_DIGITS_END:
		return p + run == end && run >= a->min && (a->max == RT_REP_INF || run <= a->max);
	case RT_TAIL_DIGITS_EXT_END: {
		if (run < a->min || (a->max != RT_REP_INF && run > a->max))
			return false;
		size_t f = p + run;
		if (f == end)
			return true;
		if (end < f + 6 || memcmp(s + f, ";ext=", 5))
			return false;
		for (size_t i = f + 5; i < end; i++)
			if (!is_digit(s[i]))
				return false;
		return true;
	}
	case RT_TAIL_ANY_END:
		return p <= end && !memchr(s + p, '\n', end - p);
	}
	return false;
}

void rt_lowered_format(const struct rt_lowered *alts, uint32_t n, char *buf, size_t len)
{
	size_t o = 0;
	if (len)
		buf[0] = '\0';
	for (uint32_t i = 0; i < n && o < len; i++) {
		const struct rt_lowered *a = &alts[i];
		char tail[48];
		if (a->tail == RT_TAIL_OPEN)
			snprintf(tail, sizeof(tail), a->min ? " d{%u}..." : "...", a->min);
		else if (a->tail == RT_TAIL_ANY_END)
			snprintf(tail, sizeof(tail), " .*$");
		else if (a->tail == RT_TAIL_DIGITS_EXT_END)
			snprintf(tail, sizeof(tail),
				 a->max == RT_REP_INF ? " d{%u,}(;ext=d+)?$" : " d{%u,%u}(;ext=d+)?$",
				 a->min, a->max);
		else if (a->min == 0 && a->max == 0)
			snprintf(tail, sizeof(tail), "$");
		else if (a->max == RT_REP_INF)
			snprintf(tail, sizeof(tail), " d{%u,}$", a->min);
		else if (a->min == a->max)
			snprintf(tail, sizeof(tail), " d{%u}$", a->min);
		else
			snprintf(tail, sizeof(tail), " d{%u,%u}$", a->min, a->max);
		int w = snprintf(buf + o, len - o, "%s%s%s", i ? " | " : "", a->len ? a->lit : "''",
				 tail);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}
