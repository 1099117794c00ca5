#pragma once
/*
 * rt_arena: bump allocator for objects that live and die together (a parsed
 * config, a compiled snapshot). Allocation never fails silently: callers get
 * NULL and report -ENOMEM. Not thread-safe; an arena belongs to one builder,
 * and what it holds is read-only once the owner publishes it.
 */
#include <stddef.h>

struct rt_arena;

struct rt_arena *rt_arena_new(void);
void rt_arena_free(struct rt_arena *a);

/* Zeroed memory, aligned for any object. NULL when out of memory. */
void *rt_arena_alloc(struct rt_arena *a, size_t size);
/* Zeroed array of n elements of size sz (overflow-checked). */
void *rt_arena_calloc(struct rt_arena *a, size_t n, size_t sz);
/* NUL-terminated copy of s[0..len). */
char *rt_arena_strndup(struct rt_arena *a, const char *s, size_t len);
char *rt_arena_strdup(struct rt_arena *a, const char *s);
/* printf into the arena. */
char *rt_arena_printf(struct rt_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Bytes handed out so far (for snapshot memory reports). */
size_t rt_arena_used(const struct rt_arena *a);

/*
 * Read-mostly tables (trie slots, route records): zeroed memory aligned to
 * a cache line; from 1 MiB on aligned to 2 MiB and, where the kernel does
 * transparent huge pages on request, backed by them, so the random lookups
 * of a decision do not also miss the TLB. Free with rt_big_free.
 */
void *rt_big_calloc(size_t n, size_t size);
void rt_big_free(void *p);
