#include "rt_trie.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rt_trie_item {
	char lit[RT_LIT_MAX + 1];
	uint8_t len;
	uint8_t tail;
	uint8_t dup;
	uint16_t min, max;
	uint32_t id;
};

void rt_trie_builder_init(struct rt_trie_builder *b)
{
	memset(b, 0, sizeof(*b));
}

void rt_trie_builder_free(struct rt_trie_builder *b)
{
	free(b->items);
	memset(b, 0, sizeof(*b));
}

int rt_trie_builder_add(struct rt_trie_builder *b, uint32_t id, const struct rt_lowered *alts,
			uint32_t n)
{
	if (b->n + n > b->cap) {
		uint32_t cap = b->cap ? b->cap : 64;
		while (cap < b->n + n)
			cap *= 2;
		struct rt_trie_item *it = realloc(b->items, cap * sizeof(*it));
		if (!it)
			return -ENOMEM;
		b->items = it;
		b->cap = cap;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct rt_trie_item *it = &b->items[b->n++];
		memcpy(it->lit, alts[i].lit, alts[i].len);
		it->lit[alts[i].len] = '\0';
		it->len = alts[i].len;
		it->tail = alts[i].tail;
		it->min = alts[i].min;
		it->max = alts[i].max;
		it->id = id;
		it->dup = 0;
		/* A shorter literal of the same pattern that is a prefix of this
		 * one lies on the same walk: both can match one number. */
		for (uint32_t j = 0; j < n; j++)
			if (alts[j].len < alts[i].len && !memcmp(alts[j].lit, alts[i].lit, alts[j].len))
				it->dup = 1;
	}
	return 0;
}

/* strcmp order puts a literal before every literal it is a prefix of, and
 * '+' before the digits: the order of a depth-first walk of the trie. */
static int item_cmp(const void *x, const void *y)
{
	const struct rt_trie_item *a = x, *b = y;
	int c = strcmp(a->lit, b->lit);
	if (c)
		return c;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->tail != b->tail)
		return a->tail < b->tail ? -1 : 1;
	if (a->min != b->min)
		return a->min < b->min ? -1 : 1;
	return a->max < b->max ? -1 : a->max > b->max;
}

static inline int sym_of(unsigned char c)
{
	if ((unsigned)(c - '0') < 10)
		return c - '0' + 1;
	return c == '+' ? 0 : -1;
}

/* Bits set in an 11-bit mask. Inline arithmetic: without -mpopcnt (the
 * baseline x86-64 target) __builtin_popcount is a libgcc call per level. */
static inline uint32_t popcount11(uint32_t x)
{
	x = x - ((x >> 1) & 0x5555u);
	x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
	x = (x + (x >> 4)) & 0x0f0fu;
	return (x + (x >> 8)) & 0x1fu;
}

struct build {
	const struct rt_trie_item *items;
	struct rt_trie_node *nodes;
	uint32_t *lo, *hi; /* per node: its items; entries first (len == depth) */
	uint32_t *n_ent;
	uint8_t *depth;
	uint32_t n_nodes, cap;
	bool overflow; /* guards the exact count rt_trie_build computes */
};

/* Nodes laid out level by level up to this many bytes: the top of the trie,
 * which every lookup crosses, then packs into a block that stays in cache. */
#define HOT_BYTES (128u * 1024)

/* Give node `idx` its entries and one contiguous block of children. */
static void expand(struct build *b, uint32_t idx)
{
	uint32_t lo = b->lo[idx], hi = b->hi[idx], d = b->depth[idx];
	uint32_t k = lo;
	while (k < hi && b->items[k].len == d)
		k++;
	b->n_ent[idx] = k - lo;

	uint16_t mask = 0;
	uint32_t first = b->n_nodes;
	for (uint32_t i = k; i < hi;) {
		char c = b->items[i].lit[d];
		uint32_t e = i + 1;
		while (e < hi && b->items[e].lit[d] == c)
			e++;
		mask = (uint16_t)(mask | 1u << sym_of((unsigned char)c));
		if (b->n_nodes >= b->cap) {
			b->overflow = true;
			return;
		}
		b->lo[b->n_nodes] = i;
		b->hi[b->n_nodes] = e;
		b->depth[b->n_nodes] = (uint8_t)(d + 1);
		b->n_nodes++;
		i = e;
	}
	b->nodes[idx].mask = mask;
	b->nodes[idx].child = mask ? first : 0;
}

/* Below the hot levels, depth first: a route's own chain of single-child
 * nodes ends up contiguous, a cache line or two per lookup. */
static void expand_subtree(struct build *b, uint32_t idx)
{
	expand(b, idx);
	uint32_t first = b->nodes[idx].child;
	uint32_t count = popcount11(b->nodes[idx].mask);
	for (uint32_t j = 0; j < count; j++)
		expand_subtree(b, first + j);
}

static void build_nodes(struct build *b, uint32_t n_items)
{
	b->lo[0] = 0;
	b->hi[0] = n_items;
	b->depth[0] = 0;
	b->n_nodes = 1;
	uint32_t level = 0, level_end = 1;
	while (level < level_end && (size_t)b->n_nodes * sizeof(*b->nodes) < HOT_BYTES) {
		for (uint32_t i = level; i < level_end; i++)
			expand(b, i);
		level = level_end;
		level_end = b->n_nodes;
	}
	for (uint32_t i = level; i < level_end; i++)
		expand_subtree(b, i);
}

int rt_trie_build(struct rt_trie *t, struct rt_trie_builder *bld)
{
	memset(t, 0, sizeof(*t));
	if (!bld->n)
		return 0;
	int rc = -ENOMEM;
	struct rt_trie_item *items = bld->items; /* sorted in place */
	struct build b = {.items = items};
	t->entries = malloc(bld->n * sizeof(*t->entries));
	if (!t->entries)
		goto out;
	qsort(items, bld->n, sizeof(*items), item_cmp);

	/* Sorted, each literal adds one node per byte past what it shares
	 * with the previous one: the exact node count, allocated once. */
	size_t n_nodes = 1;
	for (uint32_t i = 0; i < bld->n; i++) {
		size_t common = 0;
		if (i)
			while (common < items[i].len && common < items[i - 1].len &&
			       items[i].lit[common] == items[i - 1].lit[common])
				common++;
		n_nodes += items[i].len - common;
	}
	if (n_nodes >= UINT32_MAX)
		goto out;
	b.nodes = calloc(n_nodes + 1, sizeof(*b.nodes));
	b.lo = malloc(n_nodes * sizeof(uint32_t));
	b.hi = malloc(n_nodes * sizeof(uint32_t));
	b.n_ent = malloc(n_nodes * sizeof(uint32_t));
	b.depth = malloc(n_nodes);
	if (!b.nodes || !b.lo || !b.hi || !b.n_ent || !b.depth)
		goto out;
	b.cap = (uint32_t)n_nodes;
	build_nodes(&b, bld->n);
	if (b.overflow) {
		rc = -EINVAL;
		goto out;
	}

	/* Entries in node order, so a node's run ends where the next begins. */
	uint32_t e = 0;
	for (uint32_t i = 0; i < b.n_nodes; i++) {
		b.nodes[i].entry = e;
		for (uint32_t k = 0; k < b.n_ent[i]; k++, e++) {
			const struct rt_trie_item *it = &items[b.lo[i] + k];
			t->entries[e] = (struct rt_trie_entry){
				.id = it->id, .min = it->min, .max = it->max, .tail = it->tail,
				.dup = it->dup};
		}
	}
	b.nodes[b.n_nodes].entry = e;
	t->nodes = b.nodes;
	b.nodes = NULL;
	t->n_nodes = b.n_nodes;
	t->n_entries = e;
	rc = 0;
out:
	free(b.nodes);
	free(b.lo);
	free(b.hi);
	free(b.n_ent);
	free(b.depth);
	if (rc)
		rt_trie_free(t);
	return rc;
}

void rt_trie_free(struct rt_trie *t)
{
	free(t->nodes);
	free(t->entries);
	memset(t, 0, sizeof(*t));
}

size_t rt_trie_memory(const struct rt_trie *t)
{
	if (!t->n_nodes)
		return 0;
	return (t->n_nodes + 1) * sizeof(*t->nodes) + t->n_entries * sizeof(*t->entries);
}

/*
 * What a tail check needs to know about the number, found in one pass
 * before the walk. Every byte the walk consumes past the first is a digit,
 * so at depth p >= 1 the digit run after the prefix ends at the same place
 * (first_nd); '$' can also match before a final '\n' (end).
 */
struct probe {
	const char *s;
	size_t len;
	size_t end;      /* len, or len - 1 when the number ends in '\n' */
	size_t first_nd; /* first index >= 1 that is not a digit (or len) */
	int nl;          /* '\n' before end: -1 not looked yet, else 0/1 */
};

static inline size_t run_end(const struct probe *pr, size_t p)
{
	if (p)
		return pr->first_nd;
	return pr->len && (unsigned)(pr->s[0] - '0') < 10 ? pr->first_nd : 0;
}

static inline bool tail_ok(const struct rt_trie_entry *e, size_t p, struct probe *pr)
{
	size_t f = run_end(pr, p);
	switch (e->tail) {
	case RT_TAIL_OPEN:
		return f - p >= e->min;
	case RT_TAIL_DIGITS_END:
		return f == pr->end && f - p >= e->min && (e->max == RT_REP_INF || f - p <= e->max);
	case RT_TAIL_ANY_END:
		/* The walked prefix holds no '\n', so "none after p" is "none". */
		if (pr->nl < 0)
			pr->nl = memchr(pr->s, '\n', pr->end) != NULL;
		return !pr->nl;
	}
	return false;
}

static inline uint32_t child_of(const struct rt_trie_node *n, int c)
{
	return n->child + popcount11(n->mask & ((1u << c) - 1));
}

/* Did an alternative of `id` at a shallower node (depth < p) match? Only
 * asked for entries marked dup, i.e. rarely; walks the path again. */
static bool matched_above(const struct rt_trie *t, struct probe *pr, size_t p, uint32_t id)
{
	uint32_t node = 0;
	for (size_t q = 0; q < p; q++) {
		const struct rt_trie_node *n = &t->nodes[node];
		uint32_t lo = n->entry, hi = n[1].entry;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (t->entries[mid].id < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (uint32_t k = lo; k < n[1].entry && t->entries[k].id == id; k++)
			if (tail_ok(&t->entries[k], q, pr))
				return true;
		node = child_of(n, sym_of((unsigned char)pr->s[q]));
	}
	return false;
}

int rt_trie_match(const struct rt_trie *t, const char *s, size_t len, rt_match_fn fn, void *ctx)
{
	if (!t->n_nodes)
		return 0;
	struct probe pr = {.s = s, .len = len, .end = len, .nl = -1};
	if (len && s[len - 1] == '\n')
		pr.end = len - 1;
	size_t i = 1;
	while (i < len && (unsigned)(s[i] - '0') < 10)
		i++;
	pr.first_nd = len ? i : 0;

	uint32_t node = 0;
	for (size_t p = 0;; p++) {
		const struct rt_trie_node *n = &t->nodes[node];
		uint32_t hi = n[1].entry;
		for (uint32_t k = n->entry; k < hi; k++) {
			const struct rt_trie_entry *e = &t->entries[k];
			if (!tail_ok(e, p, &pr))
				continue;
			if (!(e->dup && matched_above(t, &pr, p, e->id)) && fn(e->id, ctx))
				return 1;
			/* Reported (or already was): skip its other tails here. */
			while (k + 1 < hi && t->entries[k + 1].id == e->id)
				k++;
		}
		if (p == len || !n->mask)
			return 0;
		int c = sym_of((unsigned char)s[p]);
		if (c < 0 || !(n->mask >> c & 1))
			return 0;
		node = child_of(n, c);
	}
}
