#pragma once
/*
 * rt_index: immutable name -> index hash table (open addressing, linear
 * probing), built once into an arena and read lock-free by any thread.
 * Keys are not copied: they must outlive the index (they live in the same
 * snapshot arena).
 */
#include <stddef.h>
#include <stdint.h>

#include "rt_arena.h"

struct rt_index_slot {
	const char *key; /* NULL = empty */
	uint32_t len;
	uint32_t value;
};

struct rt_index {
	struct rt_index_slot *slots;
	uint32_t mask;
};

uint64_t rt_hash64(const void *p, size_t len);

/* Size for n keys. 0 or -ENOMEM. */
int rt_index_init(struct rt_index *ix, struct rt_arena *a, size_t n);
/* Insert key -> value. Returns 0, or -EEXIST with *existing set to the
 * value already stored under that key. */
int rt_index_put(struct rt_index *ix, const char *key, uint32_t value, uint32_t *existing);
/* Value or -1. len == (size_t)-1 means key is NUL-terminated. */
long rt_index_get(const struct rt_index *ix, const char *key, size_t len);
