#include "rt_arena.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define RT_ARENA_CHUNK (64 * 1024)
#define RT_ARENA_ALIGN 16

struct rt_chunk {
	struct rt_chunk *next;
	size_t size;
	size_t used;
	_Alignas(RT_ARENA_ALIGN) unsigned char data[];
};

struct rt_arena {
	struct rt_chunk *head;
	size_t total;
};

struct rt_arena *rt_arena_new(void)
{
	return calloc(1, sizeof(struct rt_arena));
}

void rt_arena_free(struct rt_arena *a)
{
	if (!a)
		return;
	struct rt_chunk *c = a->head;
	while (c) {
		struct rt_chunk *next = c->next;
		free(c);
		c = next;
	}
	free(a);
}

void *rt_arena_alloc(struct rt_arena *a, size_t size)
{
	size = (size + RT_ARENA_ALIGN - 1) & ~(size_t)(RT_ARENA_ALIGN - 1);
	if (size == 0)
		size = RT_ARENA_ALIGN;
	struct rt_chunk *c = a->head;
	if (!c || c->size - c->used < size) {
		/* Big requests get a chunk of their own so the current one keeps
		 * serving small ones. */
		size_t csize = size > RT_ARENA_CHUNK / 4 ? size : RT_ARENA_CHUNK;
		struct rt_chunk *n = malloc(sizeof(*n) + csize);
		if (!n)
			return NULL;
		n->size = csize;
		n->used = 0;
		if (c && csize != RT_ARENA_CHUNK) {
			n->next = c->next;
			c->next = n;
		} else {
			n->next = c;
			a->head = n;
		}
		c = n;
	}
	void *p = c->data + c->used;
	c->used += size;
	a->total += size;
	memset(p, 0, size);
	return p;
}

void *rt_arena_calloc(struct rt_arena *a, size_t n, size_t sz)
{
	if (sz && n > SIZE_MAX / sz)
		return NULL;
	return rt_arena_alloc(a, n * sz);
}

char *rt_arena_strndup(struct rt_arena *a, const char *s, size_t len)
{
	char *d = rt_arena_alloc(a, len + 1);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

char *rt_arena_strdup(struct rt_arena *a, const char *s)
{
	return rt_arena_strndup(a, s, strlen(s));
}

char *rt_arena_printf(struct rt_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *d = rt_arena_alloc(a, (size_t)n + 1);
	if (!d)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return d;
}

size_t rt_arena_used(const struct rt_arena *a)
{
	return a->total;
}

#define RT_HUGE (2u << 20)

void *rt_big_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	size_t bytes = n * size;
	if (!bytes)
		bytes = 1;
	bool huge = bytes >= RT_HUGE / 2;
	size_t align = huge ? RT_HUGE : 64;
	size_t round = (bytes + align - 1) & ~(align - 1);
	void *p = NULL;
	if (posix_memalign(&p, align, round))
		return NULL;
#ifdef MADV_HUGEPAGE
	if (huge)
		(void)madvise(p, round, MADV_HUGEPAGE); /* a hint: fine if refused */
#endif
	memset(p, 0, round);
	return p;
}

void rt_big_free(void *p)
{
	free(p);
}
