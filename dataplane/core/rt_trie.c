#include "rt_trie.h"

#include "rt_arena.h"
#include "rt_bytes.h"

#include <errno.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

struct rt_trie_item {
	char lit[RT_LIT_MAX + 1];
	uint8_t len;
	uint8_t tail;
	uint8_t dup;
	uint8_t tree;    /* the pattern goes to the digit trie, not the table */
	uint8_t nogroup; /* some alternative of the pattern is dup: never grouped */
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

/* Can the table hold this literal: '+'? then at most RT_TRIE_HASH_DIGITS
 * digits? */
static bool hashable(const char *lit, size_t len)
{
	size_t i = lit[0] == '+';
	if (len - i > RT_TRIE_HASH_DIGITS)
		return false;
	for (; i < len; i++)
		if ((unsigned)(lit[i] - '0') > 9)
			return false;
	return true;
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
	/* A pattern lives whole on one side, so "did another alternative of
	 * this id match already" (dup) is asked of one structure. */
	bool tree = false, dup = false;
	for (uint32_t i = 0; i < n; i++) {
		if (alts[i].len && !hashable(alts[i].lit, alts[i].len))
			tree = true;
		for (uint32_t j = 0; j < n; j++)
			if (alts[j].len < alts[i].len && !memcmp(alts[j].lit, alts[i].lit, alts[j].len))
				dup = true;
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
		it->tree = tree;
		it->nogroup = dup;
		/* A shorter literal of the same pattern that is a prefix of this
		 * one lies on the same walk: both can match one number. */
		for (uint32_t j = 0; j < n; j++)
			if (alts[j].len < alts[i].len && !memcmp(alts[j].lit, alts[i].lit, alts[j].len))
				it->dup = 1;
	}
	return 0;
}

/* ---- the hash table ------------------------------------------------------ */

#define KEY_CODE ((1ull << 61) - 1)
#define KEY_PLUS (1ull << 60)
#define KIND_SHIFT 61
#define KIND_RUN 7u

static uint64_t lit_code(const char *lit, size_t len)
{
	uint64_t code = 0;
	size_t i = 0;
	if (len && lit[0] == '+') {
		code = KEY_PLUS;
		i = 1;
	}
	for (unsigned k = 0; i < len; i++, k++)
		code |= (uint64_t)(lit[i] - '0' + 1) << (4 * k);
	return code;
}

/* Tails an inline slot can hold (kind = tail, + 3 when dup); others make
 * a run of one. */
#define INLINE_TAILS 3u
#define RUN_ONLY (1u << 31)

/* Fibonacci hashing: every digit of the code moves the product's top
 * bits; bits 40.. pick the group, bits 25..31 are the tag. */
#define MAX_GROUPS (1u << 24)
/* gids has room for this many ids past its last: emit_group copies in
 * blocks of 8. */
#define RT_GIDS_PAD 8

static inline uint64_t hash_of(uint64_t code)
{
	return code * 0x9e3779b97f4a7c15ull;
}

static inline uint32_t group_of(const struct rt_trie *t, uint64_t h)
{
	return (uint32_t)(h >> 40) & t->group_mask;
}

static inline uint8_t tag_of(uint64_t h)
{
	return (uint8_t)((h >> 25) & 0x7f);
}

/* Bit i set when tags[i] == v, for the 16 tags of a group. */
static inline uint32_t tag_match(const uint8_t *tags, uint8_t v)
{
#ifdef __SSE2__
	__m128i g = _mm_load_si128((const __m128i *)tags);
	return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(g, _mm_set1_epi8((char)v)));
#else
	uint32_t m = 0;
	for (unsigned i = 0; i < 16; i++)
		m |= (uint32_t)(tags[i] == v) << i;
	return m;
#endif
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

static int entry_cmp(const void *x, const void *y)
{
	const struct rt_trie_entry *a = x, *b = y;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->tail != b->tail)
		return a->tail < b->tail ? -1 : 1;
	if (a->min != b->min)
		return a->min < b->min ? -1 : 1;
	return a->max < b->max ? -1 : a->max > b->max;
}

/* Runs sorted by id (matched_above searches them); the builder's items
 * come in id order when ids are added in order, so this rarely sorts. */
static void sort_run(struct rt_trie_entry *e, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		if (entry_cmp(&e[i - 1], &e[i]) > 0) {
			qsort(e, n, sizeof(*e), entry_cmp);
			return;
		}
	}
}

/* During the build, dup's bit 1 carries the item's nogroup; regroup()
 * clears it. */
#define NOGROUP 2u

static struct rt_trie_entry entry_of(const struct rt_trie_item *it)
{
	return (struct rt_trie_entry){.id = it->id,
				      .min = it->min,
				      .max = it->max,
				      .tail = it->tail,
				      .dup = (uint8_t)(it->dup | (it->nogroup ? NOGROUP : 0))};
}

static int key_cmp(const void *x, const void *y)
{
	const struct rt_trie_entry *a = x, *b = y;
	if (a->tail != b->tail)
		return a->tail < b->tail ? -1 : 1;
	if (a->min != b->min)
		return a->min < b->min ? -1 : 1;
	if (a->max != b->max)
		return a->max < b->max ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/*
 * Rewrite one run (sorted by id) so that patterns sharing one alternative
 * become one group entry. Only patterns with a single entry in the run and
 * no dup alternative anywhere are grouped; the others keep their entries,
 * first, in id order (so "skip the other tails of this id" and
 * matched_above still find them). Returns the run's new length.
 */
static int regroup(struct rt_trie *t, struct rt_trie_entry *run, uint32_t n, uint32_t *out_n,
		   uint32_t *gcap)
{
	*out_n = n;
	if (n < 2)
		goto clear;
	struct rt_trie_entry *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	uint32_t na = 0, nb = 0;
	for (uint32_t i = 0; i < n; i++) {
		bool alone = (!i || run[i - 1].id != run[i].id) && (i + 1 == n || run[i + 1].id != run[i].id);
		if (alone && !run[i].dup)
			tmp[n - 1 - nb++] = run[i]; /* groupable, from the back */
		else
			run[na++] = run[i];
	}
	struct rt_trie_entry *b = &tmp[n - nb];
	qsort(b, nb, sizeof(*b), key_cmp);
	uint32_t w = na;
	for (uint32_t i = 0, j; i < nb; i = j) {
		for (j = i + 1; j < nb && j - i < 0xffff && b[j].tail == b[i].tail &&
				b[j].min == b[i].min && b[j].max == b[i].max;
		     j++)
			;
		struct rt_trie_entry e = b[i];
		if (j - i > 1) {
			if (t->n_gids + (j - i) + RT_GIDS_PAD > *gcap) {
				uint32_t cap = *gcap ? *gcap : 256;
				while (cap < t->n_gids + (j - i) + RT_GIDS_PAD)
					cap *= 2;
				uint32_t *g = realloc(t->gids, cap * sizeof(*g));
				if (!g) {
					free(tmp);
					return -ENOMEM;
				}
				t->gids = g;
				*gcap = cap;
			}
			e.id = t->n_gids;
			e.group = (uint16_t)(j - i);
			for (uint32_t k = i; k < j; k++)
				t->gids[t->n_gids++] = b[k].id;
		}
		run[w++] = e;
	}
	free(tmp);
	*out_n = w;
clear:
	for (uint32_t i = 0; i < *out_n; i++)
		run[i].dup &= 1;
	return 0;
}

/* Give each hashed item its literal's slot (at[i]), counting items per
 * slot in cnt (see build_table). Returns the number of distinct literals. */
static uint32_t place_items(struct rt_trie *t, const struct rt_trie_item *items, uint32_t n_items,
			    uint32_t *cnt, uint32_t *at)
{
	uint32_t distinct = 0;
	for (uint32_t i = 0; i < n_items; i++) {
		const struct rt_trie_item *it = &items[i];
		if (it->tree || !it->len)
			continue;
		uint64_t code = lit_code(it->lit, it->len), h = hash_of(code);
		uint8_t tag = tag_of(h);
		uint32_t s = UINT32_MAX;
		for (uint32_t g = group_of(t, h);; g = (g + 1) & t->group_mask) {
			for (uint32_t m = tag_match(&t->tags[g * 16], tag); m; m &= m - 1) {
				uint32_t k = g * 16 + (uint32_t)__builtin_ctz(m);
				if (t->slots[k].key == code) {
					s = k;
					break;
				}
			}
			if (s != UINT32_MAX)
				break;
			uint32_t m = tag_match(&t->tags[g * 16], RT_TRIE_EMPTY);
			if (m) {
				s = g * 16 + (uint32_t)__builtin_ctz(m);
				t->tags[s] = tag;
				t->slots[s].key = code;
				distinct++;
				break;
			}
		}
		cnt[s] = (cnt[s] + 1) | (it->tail >= INLINE_TAILS ? RUN_ONLY : 0);
		at[i] = s;
		unsigned digits = it->len - (it->lit[0] == '+');
		if (it->lit[0] == '+')
			t->len_plus |= 1u << digits;
		else
			t->len_bare |= 1u << digits;
	}
	return distinct;
}

/* Groups for a table at most half full with n literals: a group then all
 * but never overflows. */
static uint32_t groups_for(uint64_t n)
{
	uint32_t groups = 1;
	while (groups * 16ull < 2 * n && groups < MAX_GROUPS)
		groups <<= 1;
	return groups;
}

static int alloc_table(struct rt_trie *t, uint32_t groups)
{
	size_t size = (size_t)groups * 16;
	t->slots = rt_big_calloc(size, sizeof(*t->slots));
	t->tags = rt_big_calloc(size, 1);
	if (!t->slots || !t->tags)
		return -ENOMEM;
	memset(t->tags, RT_TRIE_EMPTY, size);
	t->group_mask = groups - 1;
	return 0;
}

/* The hashed items (non-empty literals) into t->slots, runs of more than one
 * entry from entries[*e] on. */
static int build_table(struct rt_trie *t, const struct rt_trie_item *items, uint32_t n_items,
		       uint32_t n_hashed, uint32_t *e, uint32_t *gcap)
{
	/* Sized first for one literal per item. Where items share literals
	 * (a prefix routed once per usage, expanded classes: enterprise
	 * tables have 9 items a literal), placed again in a table sized for
	 * the literals there are: a lookup then touches less memory. */
	uint32_t groups = groups_for(n_hashed);
	if (groups * 16ull < n_hashed)
		return -E2BIG;
	int rc = -ENOMEM;
	/* cnt: items per slot, bit 31 set when one has a tail the inline
	 * form cannot say (kind holds 3 tails): such a slot gets a run. */
	uint32_t *cnt = calloc((size_t)groups * 16, sizeof(uint32_t));
	uint32_t *cur = NULL;
	uint32_t *at = malloc((n_items ? n_items : 1) * sizeof(uint32_t));
	if (!cnt || !at || alloc_table(t, groups))
		goto out;
	uint32_t fit = groups_for(place_items(t, items, n_items, cnt, at));
	if (fit < groups / 2) {
		rt_big_free(t->slots);
		rt_big_free(t->tags);
		t->slots = NULL;
		t->tags = NULL;
		groups = fit;
		memset(cnt, 0, (size_t)groups * 16 * sizeof(uint32_t));
		if (alloc_table(t, groups))
			goto out;
		place_items(t, items, n_items, cnt, at);
	}
	uint32_t size = groups * 16;
	cur = malloc(size * sizeof(uint32_t));
	if (!cur)
		goto out;

	for (uint32_t s = 0; s < size; s++) {
		if (cnt[s] > 1) {
			cur[s] = *e;
			*e += cnt[s] & ~RUN_ONLY;
		}
	}
	for (uint32_t i = 0; i < n_items; i++) {
		const struct rt_trie_item *it = &items[i];
		if (it->tree || !it->len)
			continue;
		struct rt_trie_slot *sl = &t->slots[at[i]];
		if (cnt[at[i]] == 1) {
			uint64_t kind = it->tail + (it->dup ? 3u : 0u); /* nogroup is moot alone */
			sl->key |= kind << KIND_SHIFT;
			sl->a = it->id;
			sl->b = it->min;
			sl->c = it->max;
		} else {
			t->entries[cur[at[i]]++] = entry_of(it);
		}
	}
	for (uint32_t s = 0; s < size; s++) {
		if (cnt[s] > 1) {
			struct rt_trie_slot *sl = &t->slots[s];
			uint32_t c = cnt[s] & ~RUN_ONLY, first = cur[s] - c, n;
			sort_run(&t->entries[first], c);
			if (regroup(t, &t->entries[first], c, &n, gcap))
				goto out;
			const struct rt_trie_entry *one = &t->entries[first];
			if (n == 1 && !one->group && one->tail < INLINE_TAILS) {
				sl->key |= (uint64_t)(one->tail + (one->dup ? 3u : 0u)) << KIND_SHIFT;
				sl->a = one->id;
				sl->b = one->min;
				sl->c = one->max;
				continue;
			}
			sl->key |= (uint64_t)KIND_RUN << KIND_SHIFT;
			sl->a = first;
			sl->b = (uint16_t)n;
			sl->c = (uint16_t)(n >> 16);
		}
	}
	rc = 0;
out:
	free(cnt);
	free(cur);
	free(at);
	return rc;
}

/* The tree items (sorted in place) into t->nodes, entries from *e on. */
static int build_tree(struct rt_trie *t, struct rt_trie_item *items, uint32_t n, uint32_t *e,
		      uint32_t *gcap)
{
	int rc = -ENOMEM;
	struct build b = {.items = items};
	qsort(items, n, sizeof(*items), item_cmp);

	/* Sorted, each literal adds one node per byte past what it shares
	 * with the previous one: the exact node count, allocated once. */
	size_t n_nodes = 1;
	for (uint32_t i = 0; i < n; i++) {
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
	build_nodes(&b, n);
	if (b.overflow) {
		rc = -EINVAL;
		goto out;
	}

	/* Entries in node order, so a node's run ends where the next begins;
	 * patterns sharing an alternative grouped, as in the table. */
	for (uint32_t i = 0; i < b.n_nodes; i++) {
		uint32_t first = *e, n_run;
		b.nodes[i].entry = first;
		for (uint32_t k = 0; k < b.n_ent[i]; k++)
			t->entries[first + k] = entry_of(&items[b.lo[i] + k]);
		sort_run(&t->entries[first], b.n_ent[i]);
		if (regroup(t, &t->entries[first], b.n_ent[i], &n_run, gcap))
			goto out;
		*e = first + n_run;
	}
	b.nodes[b.n_nodes].entry = *e;
	t->nodes = b.nodes;
	b.nodes = NULL;
	t->n_nodes = b.n_nodes;
	rc = 0;
out:
	free(b.nodes);
	free(b.lo);
	free(b.hi);
	free(b.n_ent);
	free(b.depth);
	return rc;
}

int rt_trie_build(struct rt_trie *t, struct rt_trie_builder *bld)
{
	memset(t, 0, sizeof(*t));
	if (!bld->n)
		return 0;
	int rc = -ENOMEM;
	struct rt_trie_item *items = bld->items;
	uint32_t n = bld->n, n_root = 0, n_hashed = 0, n_tree = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (items[i].tree)
			n_tree++;
		else if (items[i].len)
			n_hashed++;
		else
			n_root++;
		/* Items of one id are added together: count each id once. */
		if (!i || items[i - 1].id != items[i].id) {
			if (items[i].tree)
				t->n_ids_tree++;
			else
				t->n_ids_hashed++;
		}
	}
	t->entries = malloc(n * sizeof(*t->entries));
	if (!t->entries)
		goto out;

	uint32_t e = 0;
	t->root_first = 0;
	for (uint32_t i = 0; i < n; i++)
		if (!items[i].tree && !items[i].len)
			t->entries[e++] = entry_of(&items[i]);
	uint32_t gcap = 0;
	sort_run(t->entries, e);
	if (regroup(t, t->entries, e, &t->root_n, &gcap))
		goto out;
	if (n_hashed && (rc = build_table(t, items, n, n_hashed, &e, &gcap)))
		goto out;

	if (n_tree) {
		/* Move the tree items to the front (their order is re-sorted). */
		uint32_t k = 0;
		for (uint32_t i = 0; i < n; i++)
			if (items[i].tree)
				items[k++] = items[i];
		if ((rc = build_tree(t, items, k, &e, &gcap)))
			goto out;
	}
	t->n_entries = e;
	if (t->slots && !t->n_nodes && !t->root_n && !t->len_bare && t->len_plus > 1 &&
	    !(t->len_plus & (t->len_plus - 1)))
		t->one_len = (uint8_t)__builtin_ctz(t->len_plus);
	rc = 0;
out:
	if (rc)
		rt_trie_free(t);
	return rc;
}

void rt_trie_free(struct rt_trie *t)
{
	free(t->gids);
	rt_big_free(t->slots);
	rt_big_free(t->tags);
	free(t->nodes);
	free(t->entries);
	memset(t, 0, sizeof(*t));
}

size_t rt_trie_memory(const struct rt_trie *t)
{
	size_t m = (size_t)t->n_entries * sizeof(*t->entries) + (size_t)t->n_gids * sizeof(uint32_t);
	if (t->slots)
		m += ((size_t)t->group_mask + 1) * 16 * (sizeof(*t->slots) + 1);
	if (t->n_nodes)
		m += (t->n_nodes + 1) * sizeof(*t->nodes);
	return m;
}

/* The tail checks (struct rt_trie_num in rt_trie.h). */

static inline size_t run_end(const struct rt_trie_num *pr, size_t p)
{
	if (p)
		return pr->first_nd;
	return pr->len && (unsigned)(pr->s[0] - '0') < 10 ? pr->first_nd : 0;
}

/* ";ext=" at f, then digits (at least one) up to the end. */
static bool ext_ok(const struct rt_trie_num *pr, size_t f)
{
	const char *s = pr->s;
	if (pr->end < f + 6 || memcmp(s + f, ";ext=", 5))
		return false;
	for (size_t i = f + 5; i < pr->end; i++)
		if ((unsigned)(s[i] - '0') > 9)
			return false;
	return true;
}

static inline bool tail_ok(const struct rt_trie_entry *e, size_t p, struct rt_trie_num *pr)
{
	size_t f = run_end(pr, p);
	switch (e->tail) {
	case RT_TAIL_OPEN:
		return f - p >= e->min;
	case RT_TAIL_DIGITS_END:
		return f == pr->end && f - p >= e->min && (e->max == RT_REP_INF || f - p <= e->max);
	case RT_TAIL_DIGITS_EXT_END:
		if (f - p < e->min || (e->max != RT_REP_INF && f - p > e->max))
			return false;
		return f == pr->end || ext_ok(pr, f);
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


/* Where matches go: a callback, or an array (collect). */
struct sink {
	rt_match_fn fn;
	void *ctx;
	uint32_t *ids;
	uint32_t n, cap;
};

static inline int emit(struct sink *k, uint32_t id)
{
	if (!k->ids)
		return k->fn(id, k->ctx);
	if (k->n < k->cap)
		k->ids[k->n] = id;
	k->n++;
	return 0;
}

RT_HOT_INLINE int emit_group(struct sink *k, const uint32_t *ids, uint32_t n)
{
	if (!k->ids) {
		for (uint32_t i = 0; i < n; i++)
			if (k->fn(ids[i], k->ctx))
				return 1;
		return 0;
	}
	uint32_t room = k->n < k->cap ? k->cap - k->n : 0;
	if (((n + 7) & ~7u) <= room) {
		/* Eight at a time, a fixed size the compiler copies inline (a
		 * group is a few ids; a call to memcpy cost more): reading up to
		 * 7 past the group stays in gids (RT_GIDS_PAD), writing up to 7
		 * past n stays under cap, where nothing is read. */
		uint32_t *dst = k->ids + k->n;
		for (uint32_t i = 0; i < n; i += 8)
			__builtin_memcpy(dst + i, ids + i, 8 * sizeof(*ids));
	} else {
		memcpy(k->ids + k->n, ids, (n < room ? n : room) * sizeof(*ids));
	}
	k->n += n;
	return 0;
}

/* Has id an entry in this run whose tail holds at depth p? (Only asked
 * for patterns with a dup alternative, which are never grouped.) */
static bool run_has(const struct rt_trie *t, uint32_t first, uint32_t n, uint32_t id, size_t p,
		    struct rt_trie_num *pr)
{
	for (uint32_t k = first; k < first + n; k++)
		if (!t->entries[k].group && t->entries[k].id == id && tail_ok(&t->entries[k], p, pr))
			return true;
	return false;
}

/* Did an alternative of `id` at a shallower node (depth < p) match? Only
 * asked for entries marked dup, i.e. rarely; walks the path again. */
static bool matched_above_tree(const struct rt_trie *t, struct rt_trie_num *pr, size_t p, uint32_t id)
{
	uint32_t node = 0;
	for (size_t q = 0; q < p; q++) {
		const struct rt_trie_node *n = &t->nodes[node];
		if (run_has(t, n->entry, n[1].entry - n->entry, id, q, pr))
			return true;
		node = child_of(n, sym_of((unsigned char)pr->s[q]));
	}
	return false;
}

static const struct rt_trie_slot *find_slot(const struct rt_trie *t, uint64_t code, uint64_t h)
{
	uint8_t tag = tag_of(h);
	for (uint32_t g = group_of(t, h);; g = (g + 1) & t->group_mask) {
		const uint8_t *tags = &t->tags[(size_t)g * 16];
		for (uint32_t m = tag_match(tags, tag); m; m &= m - 1) {
			const struct rt_trie_slot *sl = &t->slots[(size_t)g * 16 + (uint32_t)__builtin_ctz(m)];
			if ((sl->key & KEY_CODE) == code)
				return sl;
		}
		if (tag_match(tags, RT_TRIE_EMPTY))
			return NULL;
	}
}

static inline struct rt_trie_entry inline_entry(const struct rt_trie_slot *sl)
{
	unsigned kind = (unsigned)(sl->key >> KIND_SHIFT);
	return (struct rt_trie_entry){
		.id = sl->a, .min = sl->b, .max = sl->c, .tail = (uint8_t)(kind % 3),
		.dup = kind >= 3};
}

static bool slot_has(const struct rt_trie *t, const struct rt_trie_slot *sl, uint32_t id, size_t p,
		     struct rt_trie_num *pr)
{
	if ((sl->key >> KIND_SHIFT) == KIND_RUN)
		return run_has(t, sl->a, sl->b | (uint32_t)sl->c << 16, id, p, pr);
	struct rt_trie_entry e = inline_entry(sl);
	return e.id == id && tail_ok(&e, p, pr);
}

/* The same for a hashed pattern: its empty-literal alternatives, then every
 * shorter prefix of the number some literal has. */
static bool matched_above_hash(const struct rt_trie *t, struct rt_trie_num *pr, size_t p, uint32_t id)
{
	if (t->root_n && run_has(t, t->root_first, t->root_n, id, 0, pr))
		return true;
	const char *s = pr->s;
	size_t i = 0;
	uint64_t code = 0;
	uint32_t lens = t->len_bare;
	if (pr->len && s[0] == '+') {
		code = KEY_PLUS;
		i = 1;
		lens = t->len_plus;
	}
	for (unsigned k = 0;; k++, i++) {
		if (i >= p)
			return false;
		if (lens >> k & 1 && (i || k)) {
			const struct rt_trie_slot *sl = find_slot(t, code, hash_of(code));
			if (sl && slot_has(t, sl, id, i, pr))
				return true;
		}
		code |= (uint64_t)(s[i] - '0' + 1) << (4 * k);
	}
}

/* Every pattern of a run whose tail holds at depth p, once per id. */
RT_HOT_INLINE int visit(const struct rt_trie *t, const struct rt_trie_entry *run, uint32_t n,
			size_t p, struct rt_trie_num *pr, bool tree, struct sink *k)
{
	for (uint32_t j = 0; j < n; j++) {
		const struct rt_trie_entry *e = &run[j];
		if (!tail_ok(e, p, pr))
			continue;
		if (e->group) {
			if (emit_group(k, &t->gids[e->id], e->group))
				return 1;
			continue;
		}
		bool above = e->dup && (tree ? matched_above_tree(t, pr, p, e->id)
					     : matched_above_hash(t, pr, p, e->id));
		if (!above && emit(k, e->id))
			return 1;
		/* Reported (or already was): skip its other tails here. */
		while (j + 1 < n && !run[j + 1].group && run[j + 1].id == e->id)
			j++;
	}
	return 0;
}

static int walk_tree(const struct rt_trie *t, struct rt_trie_num *pr, struct sink *k)
{
	const char *s = pr->s;
	uint32_t node = 0;
	for (size_t p = 0;; p++) {
		const struct rt_trie_node *n = &t->nodes[node];
		uint32_t ne = n[1].entry - n->entry;
		if (ne && visit(t, &t->entries[n->entry], ne, p, pr, true, k))
			return 1;
		if (p == pr->len || !n->mask)
			return 0;
		int c = sym_of((unsigned char)s[p]);
		if (c < 0 || !(n->mask >> c & 1))
			return 0;
		node = child_of(n, c);
	}
}

/* The digits of one 8-byte word (little-endian: first byte lowest) as
 * nibbles d + 1, first digit lowest: what lit_code makes of them. Bytes
 * past the digits give garbage the caller masks off. */
static inline uint32_t word_nibbles(uint64_t x)
{
	x -= 0x2f2f2f2f2f2f2f2full; /* '0' - 1: each digit d is now d + 1 */
	x = (x | x >> 4) & 0x00ff00ff00ff00ffull;
	x = (x | x >> 8) & 0x0000ffff0000ffffull;
	return (uint32_t)(x | x >> 16);
}

/* Leading digits of one word (0..8): rt_bytes_out marks exactly the first
 * non-digit (what it marks past that may be spurious). */
static inline unsigned word_digits(uint64_t x)
{
	uint64_t bad = rt_bytes_out(x, '0', '9');
	return bad ? (unsigned)__builtin_ctzll(bad) / 8 : 8;
}

/* The n <= 16 bytes at p as two little-endian words, zero past n, without
 * reading past p + n: overlapping loads, shifted into place. */
static inline void load16(const char *p, size_t n, uint64_t *w0, uint64_t *w1)
{
	uint64_t a, b;
	if (n >= 8) {
		memcpy(&a, p, 8);
		memcpy(&b, p + n - 8, 8);
		*w0 = a;
		*w1 = n == 8 ? 0 : b >> (8 * (16 - n));
		return;
	}
	*w1 = 0;
	if (n >= 4) {
		uint32_t x, y;
		memcpy(&x, p, 4);
		memcpy(&y, p + n - 4, 4);
		*w0 = x | ((uint64_t)y >> (8 * (8 - n))) << 32;
		return;
	}
	a = 0;
	for (size_t k = 0; k < n; k++)
		a |= (uint64_t)(uint8_t)p[k] << (8 * k);
	*w0 = a;
}

/* The n <= 16 bytes at s: how many lead as digits (returned), and the
 * code of those digits as lit_code makes it, first digit lowest, in
 * *digits (garbage past them: take the bits of a prefix, 4 a digit). */
static inline unsigned prefix_digits(const char *s, size_t n, uint64_t *digits)
{
	uint64_t w0, w1;
	load16(s, n, &w0, &w1);
	unsigned run = word_digits(w0);
	if (run == 8)
		run += word_digits(w1);
	*digits = word_nibbles(w0) | (uint64_t)word_nibbles(w1) << 32;
	return run;
}

/*
 * A lookup runs in three stages, so a burst of lookups can run each stage
 * over every number before the next and have all their cache misses in
 * flight at once (rt_trie_probe_*): start computes the code of every
 * prefix of the number some literal is as long as and prefetches their
 * tag groups; tags compares them and prefetches the candidate slots;
 * finish reads the slots and reports. One lookup alone runs the three in a
 * row (match), its misses still overlapping within each stage.
 */
void rt_trie_probe_start(const struct rt_trie *t, const char *s, size_t len,
			 struct rt_trie_probe *tp)
{
	struct rt_trie_num *pr = &tp->pr;
	*pr = (struct rt_trie_num){.s = s, .len = len, .end = len, .nl = -1};
	tp->np = 0;
	if (!t->n_entries && !t->slots)
		return;
	if (len && s[len - 1] == '\n')
		pr->end = len - 1;

	unsigned np = 0;
	uint64_t plus = 0;
	uint32_t lens = t->len_bare;
	size_t i0 = 0;
	if (len && s[0] == '+') {
		plus = KEY_PLUS;
		i0 = 1;
		lens = t->len_plus;
	}
	if (!t->slots)
		lens = 0;
	if (lens & 1) { /* the literal '+' alone */
		tp->code[np] = plus;
		tp->depth[np] = 1;
		tp->h[np] = hash_of(plus);
		__builtin_prefetch(&t->tags[(size_t)group_of(t, tp->h[np]) * 16]);
		np++;
	}

	/* The first 16 bytes after the '+' as two words (zero past the end,
	 * which is no digit): the digit run's length and the code of every
	 * prefix of it, a word at a time. */
	uint64_t digits;
	unsigned run = prefix_digits(s + i0, len - i0 < 16 ? len - i0 : 16, &digits);

	/* want bit k: some literal has k digits (1..15) the number has. */
	unsigned upto = run < RT_TRIE_HASH_DIGITS ? run : RT_TRIE_HASH_DIGITS;
	uint32_t want = lens & ~1u & (uint32_t)((2ull << upto) - 1);
	for (; want; want &= want - 1) {
		unsigned k = (unsigned)__builtin_ctz(want);
		uint64_t c = plus | (digits & ((1ull << (4 * k)) - 1));
		tp->code[np] = c;
		tp->depth[np] = (uint8_t)(i0 + k);
		tp->h[np] = hash_of(c);
		__builtin_prefetch(&t->tags[(size_t)group_of(t, tp->h[np]) * 16]);
		np++;
	}

	size_t i = i0 + run;
	if (run == 16)
		while (i < len && (unsigned)((unsigned char)s[i] - '0') <= 9)
			i++;
	pr->first_nd = !len ? 0 : i > 1 ? i : 1;
	if (pr->first_nd == 1)
		while (pr->first_nd < len && (unsigned)(s[pr->first_nd] - '0') < 10)
			pr->first_nd++;
	tp->np = (uint8_t)np;
}

/* The tags name the slots worth reading: start loading all of them before
 * comparing any, so those misses overlap too. */
void rt_trie_probe_tags(const struct rt_trie *t, struct rt_trie_probe *tp)
{
	for (unsigned j = 0; j < tp->np; j++) {
		const uint8_t *tags = &t->tags[(size_t)group_of(t, tp->h[j]) * 16];
		tp->cand[j] = tag_match(tags, tag_of(tp->h[j]));
		for (uint32_t m = tp->cand[j]; m; m &= m - 1)
			__builtin_prefetch(&t->slots[(size_t)(tags - t->tags) + (uint32_t)__builtin_ctz(m)]);
		if (!tag_match(tags, RT_TRIE_EMPTY))
			tp->cand[j] = UINT32_MAX; /* a full group: the slow way */
	}
}

/* A slot's alternatives (its run, or the one inline) at depth p. */
RT_HOT_INLINE int visit_slot(const struct rt_trie *t, const struct rt_trie_slot *sl, size_t p,
			    struct rt_trie_num *pr, struct sink *k)
{
	if ((sl->key >> KIND_SHIFT) == KIND_RUN)
		return visit(t, &t->entries[sl->a], sl->b | (uint32_t)sl->c << 16, p, pr, false, k);
	struct rt_trie_entry e = inline_entry(sl);
	return visit(t, &e, 1, p, pr, false, k);
}

static int probe_finish(const struct rt_trie *t, struct rt_trie_probe *tp, struct sink *k)
{
	struct rt_trie_num *pr = &tp->pr;
	if (!t->n_entries && !t->slots)
		return 0;
	if (t->root_n && visit(t, &t->entries[t->root_first], t->root_n, 0, pr, false, k))
		return 1;
	for (unsigned j = 0; j < tp->np; j++) {
		const struct rt_trie_slot *sl = NULL;
		if (tp->cand[j] == UINT32_MAX) {
			sl = find_slot(t, tp->code[j], tp->h[j]);
		} else {
			size_t g = (size_t)group_of(t, tp->h[j]) * 16;
			for (uint32_t m = tp->cand[j]; m; m &= m - 1) {
				const struct rt_trie_slot *x = &t->slots[g + (uint32_t)__builtin_ctz(m)];
				if ((x->key & KEY_CODE) == tp->code[j]) {
					sl = x;
					break;
				}
			}
		}
		if (sl && visit_slot(t, sl, tp->depth[j], pr, k))
			return 1;
	}

	if (t->n_nodes)
		return walk_tree(t, pr, k);
	return 0;
}

uint32_t rt_trie_probe_collect(const struct rt_trie *t, struct rt_trie_probe *tp, uint32_t *ids,
			       uint32_t n, uint32_t cap)
{
	struct sink k = {.ids = ids, .n = n, .cap = cap};
	probe_finish(t, tp, &k);
	return k.n;
}

/* match() for a table of one_len: the only prefix it can hold is '+' and
 * the number's first one_len digits; no table of lengths to walk, no
 * probe to stage. Then as probe_finish: that slot's alternatives. */
static int match_one(const struct rt_trie *t, const char *s, size_t len, struct sink *k)
{
	unsigned n = t->one_len;
	if (len <= n || s[0] != '+')
		return 0;
	uint64_t digits;
	if (prefix_digits(s + 1, n, &digits) < n)
		return 0;
	uint64_t code = KEY_PLUS | (digits & ((1ull << (4 * n)) - 1));
	const struct rt_trie_slot *sl = find_slot(t, code, hash_of(code));
	if (!sl)
		return 0;
	struct rt_trie_num pr = {.s = s, .len = len, .end = len, .nl = -1};
	if (s[len - 1] == '\n')
		pr.end = len - 1;
	size_t i = 1 + n;
	while (i < len && (unsigned)((unsigned char)s[i] - '0') <= 9)
		i++;
	pr.first_nd = i; /* the first non-digit after the '+' */
	return visit_slot(t, sl, 1 + n, &pr, k);
}

static int match(const struct rt_trie *t, const char *s, size_t len, struct sink *k)
{
	if (t->one_len)
		return match_one(t, s, len, k);
	struct rt_trie_probe tp;
	rt_trie_probe_start(t, s, len, &tp);
	rt_trie_probe_tags(t, &tp);
	return probe_finish(t, &tp, k);
}

int rt_trie_match(const struct rt_trie *t, const char *s, size_t len, rt_match_fn fn, void *ctx)
{
	struct sink k = {.fn = fn, .ctx = ctx};
	return match(t, s, len, &k);
}

uint32_t rt_trie_collect(const struct rt_trie *t, const char *s, size_t len, uint32_t *ids,
			 uint32_t n, uint32_t cap)
{
	struct sink k = {.ids = ids, .n = n, .cap = cap};
	match(t, s, len, &k);
	return k.n;
}
