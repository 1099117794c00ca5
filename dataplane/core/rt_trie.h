#pragma once
/*
 * rt_trie: the lowered patterns (rt_classify) of a matcher, indexed by
 * literal. A number can only match alternatives whose literal is one of its
 * prefixes; each such alternative is reported when its tail check holds for
 * the rest of the number.
 *
 * Layout. Literals of at most RT_TRIE_HASH_DIGITS digits after an optional
 * '+' (every E.164 prefix) live in one open-addressing hash table keyed by
 * the literal's exact code (4 bits a digit, one bit for the '+'), probed
 * a group of 16 slots at a time through their tag bytes (as in Abseil's
 * SwissTable): a lookup computes the code of every prefix of the number
 * whose length some literal has, prefetches all their tag groups at once
 * and then reads them, so the cache misses of one lookup overlap instead of
 * following each other down a tree.
 * A slot holds its literal's only alternative inline (the common case: one
 * route per prefix) or points to a run of entries. The few patterns with a
 * longer literal go, whole, to a classic digit trie: nodes in one flat
 * array, each node's children contiguous in symbol order ('+' < '0' < ...
 * < '9'), found by popcount over an 11-bit mask. Entries of one literal:
 * first, by id, those of patterns with several there or an alternative
 * nested in another; then the rest, patterns sharing the very same
 * alternative as one group entry. Built once on the control side,
 * read-only after; matching never allocates.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_classify.h"

/* Callback per matching pattern id; return nonzero to stop the scan. */
typedef int (*rt_match_fn)(unsigned id, void *ctx);

struct rt_trie_node {
	uint32_t child; /* index of the first child */
	uint32_t entry; /* first entry; the node's run ends at the next node's */
	uint16_t mask;  /* bit 0: a child for '+'; bit 1 + d: a child for digit d */
};

struct rt_trie_entry {
	uint32_t id;       /* pattern id; for a group, where its ids start in gids */
	uint16_t min, max; /* digit counts, as in struct rt_lowered */
	uint8_t tail;      /* enum rt_tail */
	/* Another alternative of the same id sits at an ancestor node, so a
	 * number can reach both: report the id only if that one failed. */
	uint8_t dup;
	/* 0: one pattern. Else this many patterns share this very alternative
	 * (same literal and tail: the same prefix routed by several usages,
	 * say), ids in gids[id ..]: one tail check reports them all. */
	uint16_t group;
};

/* One literal in the hash table (16 bytes). key: bits 0..59 the digits
 * (digit d as d + 1, first digit lowest), bit 60 the leading '+', bits
 * 61..63 the kind: 0..2 one inline entry with that tail, 3..5 the same
 * marked dup, 7 a run (a: first entry, b | c << 16: count). Inline: a is the
 * id, b and c its min and max. key 0: empty. */
struct rt_trie_slot {
	uint64_t key;
	uint32_t a;
	uint16_t b, c;
};

#define RT_TRIE_HASH_DIGITS 15
#define RT_TRIE_EMPTY 0x80

struct rt_trie {
	/* Slots in groups of 16, each with a byte of tags (7 bits of the hash,
	 * or RT_TRIE_EMPTY) in a separate, 16 times smaller array: a lookup
	 * compares the 16 tags of a group at once and reads a slot only on a
	 * tag hit, so the lengths a number has no literal for cost a read of
	 * the (cache-resident) tags, not of the table. */
	struct rt_trie_slot *slots; /* NULL when no literal is hashed */
	uint8_t *tags;
	uint32_t group_mask; /* groups - 1 */
	uint32_t len_plus; /* bit k: some hashed literal is '+' and k digits */
	uint32_t len_bare; /* bit k: some hashed literal is k digits (k >= 1) */
	uint32_t root_first, root_n; /* alternatives with the empty literal */
	struct rt_trie_entry *entries;
	uint32_t n_entries;
	uint32_t *gids; /* ids of grouped entries */
	uint32_t n_gids;
	/* Patterns with a literal the table does not take: a digit trie. */
	struct rt_trie_node *nodes; /* n_nodes + 1: the last one only ends the entries */
	uint32_t n_nodes;
	uint32_t n_ids_hashed, n_ids_tree; /* patterns on each side, for stats */
	/* Every literal is '+' and this many digits (calling-number
	 * assignments, say), nothing else: a one-off lookup probes that one
	 * prefix directly. 0 otherwise. */
	uint8_t one_len;
};

struct rt_trie_item;
struct rt_trie_builder {
	struct rt_trie_item *items;
	uint32_t n, cap;
};

void rt_trie_builder_init(struct rt_trie_builder *b);
/* Add every alternative of pattern `id` (call once per id). 0 or -ENOMEM. */
int rt_trie_builder_add(struct rt_trie_builder *b, uint32_t id, const struct rt_lowered *alts,
			uint32_t n);
void rt_trie_builder_free(struct rt_trie_builder *b);

/* Build from everything added (sorting the builder's items in place; free
 * the builder after). An empty builder gives an empty trie. 0, -ENOMEM,
 * or -E2BIG past 2^27 literals. */
int rt_trie_build(struct rt_trie *t, struct rt_trie_builder *b);
void rt_trie_free(struct rt_trie *t);
size_t rt_trie_memory(const struct rt_trie *t);

/* fn once per matching id (shorter literals first, not id order). Returns 1
 * when fn stopped the walk, else 0. */
int rt_trie_match(const struct rt_trie *t, const char *s, size_t len, rt_match_fn fn, void *ctx);

/*
 * The same lookup in stages, for a burst of numbers (run each stage over
 * the whole burst before the next, so the cache misses of every lookup are
 * in flight together): start, tags, then collect (the ids rt_trie_collect
 * would give). The probe keeps a pointer to s, which must stay valid.
 */
/* What the tail checks need to know about the number, found in one pass
 * before the walk. Every byte the walk consumes past the first is a digit,
 * so at depth p >= 1 the digit run after the prefix ends at the same place
 * (first_nd); '$' can also match before a final '\n' (end). */
struct rt_trie_num {
	const char *s;
	size_t len;
	size_t end;      /* len, or len - 1 when the number ends in '\n' */
	size_t first_nd; /* first index >= 1 that is not a digit (or len) */
	int nl;          /* '\n' before end: -1 not looked yet, else 0/1 */
};

struct rt_trie_probe {
	uint64_t code[RT_TRIE_HASH_DIGITS + 1];
	uint64_t h[RT_TRIE_HASH_DIGITS + 1];
	uint32_t cand[RT_TRIE_HASH_DIGITS + 1];
	uint8_t depth[RT_TRIE_HASH_DIGITS + 1];
	uint8_t np;
	struct rt_trie_num pr;
};
void rt_trie_probe_start(const struct rt_trie *t, const char *s, size_t len,
			 struct rt_trie_probe *tp);
void rt_trie_probe_tags(const struct rt_trie *t, struct rt_trie_probe *tp);
uint32_t rt_trie_probe_collect(const struct rt_trie *t, struct rt_trie_probe *tp, uint32_t *ids,
			       uint32_t n, uint32_t cap);

/* The same ids, appended to ids[n ..] (what does not fit in cap is counted,
 * not written). Returns the new count. */
uint32_t rt_trie_collect(const struct rt_trie *t, const char *s, size_t len, uint32_t *ids,
			 uint32_t n, uint32_t cap);
