#pragma once
/*
 * rt_diag: the errors (and warnings) found while loading or compiling a
 * config. Every message names where the object was written and which object
 * it is, e.g.
 *   examples/seed.yaml:23: route 'Dallas Local Route': unknown trunk 'Trunk9'
 * A diag collects every problem rather than stopping at the first, up to
 * RT_DIAG_MAX messages (then it counts the rest).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RT_DIAG_MAX 200

/* Where an object was written: file (may be NULL) and 1-based line (0 =
 * unknown, e.g. a config that came over protobuf). */
struct rt_src {
	const char *file;
	uint32_t line;
};

struct rt_diag {
	char *msgs[RT_DIAG_MAX];
	size_t n;       /* messages kept */
	size_t dropped; /* messages past RT_DIAG_MAX */
};

void rt_diag_init(struct rt_diag *d);
void rt_diag_clear(struct rt_diag *d);

/* Add "file:line: kind 'name': message". kind/name may be NULL. */
void rt_diag_add(struct rt_diag *d, const struct rt_src *src, const char *kind,
		 const char *name, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void rt_diag_vadd(struct rt_diag *d, const struct rt_src *src, const char *kind,
		  const char *name, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static inline size_t rt_diag_count(const struct rt_diag *d)
{
	return d->n + d->dropped;
}

/* One message per line. */
void rt_diag_print(const struct rt_diag *d, FILE *out);
