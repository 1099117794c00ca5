#include "rt_index.h"

#include <errno.h>
#include <string.h>

/* FNV-1a then a final avalanche (splitmix64 finaliser): FNV alone clusters
 * on the short, similar names operators use ("GW1", "GW2"...). */
uint64_t rt_hash64(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

int rt_index_init(struct rt_index *ix, struct rt_arena *a, size_t n)
{
	size_t cap = 8;
	while (cap < n * 2)
		cap <<= 1;
	ix->slots = rt_arena_calloc(a, cap, sizeof(*ix->slots));
	if (!ix->slots)
		return -ENOMEM;
	ix->mask = (uint32_t)(cap - 1);
	return 0;
}

int rt_index_put(struct rt_index *ix, const char *key, uint32_t value, uint32_t *existing)
{
	size_t len = strlen(key);
	uint32_t i = (uint32_t)rt_hash64(key, len) & ix->mask;
	for (;; i = (i + 1) & ix->mask) {
		struct rt_index_slot *s = &ix->slots[i];
		if (!s->key) {
			s->key = key;
			s->len = (uint32_t)len;
			s->value = value;
			return 0;
		}
		if (s->len == len && !memcmp(s->key, key, len)) {
			if (existing)
				*existing = s->value;
			return -EEXIST;
		}
	}
}

long rt_index_get(const struct rt_index *ix, const char *key, size_t len)
{
	if (!ix->slots)
		return -1;
	if (len == (size_t)-1)
		len = strlen(key);
	uint32_t i = (uint32_t)rt_hash64(key, len) & ix->mask;
	for (;; i = (i + 1) & ix->mask) {
		const struct rt_index_slot *s = &ix->slots[i];
		if (!s->key)
			return -1;
		if (s->len == len && !memcmp(s->key, key, len))
			return s->value;
	}
}
