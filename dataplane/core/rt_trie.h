#pragma once
/*
 * rt_trie: the lowered patterns (rt_classify) of a matcher in one compact
 * digit trie. A lookup walks the number once from the root; every node on
 * the way holds the alternatives whose literal is exactly that prefix, and
 * each is reported when its tail check holds for the rest of the number.
 *
 * Layout: nodes in one flat array, each node's children contiguous in
 * symbol order ('+' < '0' < ... < '9'), found by popcount over an 11-bit
 * mask, so a node costs 12 bytes whatever its fan-out; entries in one flat
 * array, sorted by node then id. Built once on the control side, read-only
 * after; matching never allocates.
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
	uint32_t id;
	uint16_t min, max; /* digit counts, as in struct rt_lowered */
	uint8_t tail;      /* enum rt_tail */
	/* Another alternative of the same id sits at an ancestor node, so a
	 * number can reach both: report the id only if that one failed. */
	uint8_t dup;
};

struct rt_trie {
	struct rt_trie_node *nodes; /* n_nodes + 1: the last one only ends the entries */
	struct rt_trie_entry *entries;
	uint32_t n_nodes;
	uint32_t n_entries;
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
 * the builder after). An empty builder gives an empty trie. 0 or -ENOMEM. */
int rt_trie_build(struct rt_trie *t, struct rt_trie_builder *b);
void rt_trie_free(struct rt_trie *t);
size_t rt_trie_memory(const struct rt_trie *t);

/* fn once per matching id (in walk order, not id order). Returns 1 when fn
 * stopped the walk, else 0. */
int rt_trie_match(const struct rt_trie *t, const char *s, size_t len, rt_match_fn fn, void *ctx);
