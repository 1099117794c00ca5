/*
 * cd_health: see cd_health.h. A growable open-addressing table; entries are
 * never removed (a carrier has thousands of gateways, not millions), so
 * lookups stay simple and names stay valid for cd_health_each callers.
 */
#include "cd_health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_index.h"

struct cd_source {
	char name[48]; /* "" = unused */
	uint8_t reported; /* enum rt_health after hysteresis */
	uint8_t pending;  /* state seen but not yet in force (hysteresis) */
	uint32_t pending_n;
	int64_t expires_ms; /* -1: none */
	int64_t updated_ms;
};

struct cd_entry {
	char *name; /* NULL: empty slot */
	struct cd_source src[CD_HEALTH_MAX_SOURCES];
	uint8_t breaker; /* enum rt_health */
	bool drained;
};

struct cd_health {
	struct cd_health_opts o;
	struct cd_entry *slots;
	size_t cap, n;
};

/* How bad a state is, for "worse of" and quorum (unknown counts as up). */
static int severity(enum rt_health h)
{
	switch (h) {
	case RT_HEALTH_DEGRADED:
		return 1;
	case RT_HEALTH_DRAINING:
		return 2;
	case RT_HEALTH_DOWN:
		return 3;
	default:
		return 0;
	}
}

struct cd_health *cd_health_new(const struct cd_health_opts *o)
{
	struct cd_health *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->o = *o;
	h->cap = 64;
	h->slots = calloc(h->cap, sizeof(*h->slots));
	if (!h->slots) {
		free(h);
		return NULL;
	}
	return h;
}

void cd_health_free(struct cd_health *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->cap; i++)
		free(h->slots[i].name);
	free(h->slots);
	free(h);
}

static struct cd_entry *slot_of(const struct cd_health *h, const char *name, size_t len)
{
	size_t i = rt_hash64(name, len) & (h->cap - 1);
	while (h->slots[i].name &&
	       (strlen(h->slots[i].name) != len || memcmp(h->slots[i].name, name, len)))
		i = (i + 1) & (h->cap - 1);
	return &h->slots[i];
}

static struct cd_entry *lookup(const struct cd_health *h, const char *name)
{
	struct cd_entry *e = slot_of(h, name, strlen(name));
	return e->name ? e : NULL;
}

static struct cd_entry *get_or_add(struct cd_health *h, const char *name)
{
	struct cd_entry *e = lookup(h, name);
	if (e)
		return e;
	if ((h->n + 1) * 2 > h->cap) {
		struct cd_health big = {.o = h->o, .cap = h->cap * 2};
		big.slots = calloc(big.cap, sizeof(*big.slots));
		if (!big.slots)
			return NULL;
		for (size_t i = 0; i < h->cap; i++)
			if (h->slots[i].name)
				*slot_of(&big, h->slots[i].name, strlen(h->slots[i].name)) = h->slots[i];
		free(h->slots);
		h->slots = big.slots;
		h->cap = big.cap;
	}
	e = slot_of(h, name, strlen(name));
	memset(e, 0, sizeof(*e));
	if (!(e->name = strdup(name)))
		return NULL;
	h->n++;
	return e;
}

/* The sources combined: the worst state at least quorum of them report
 * (or worse); below that, up when any source has an opinion. */
static enum rt_health combined(const struct cd_health *h, const struct cd_entry *e)
{
	static const enum rt_health bad[] = {RT_HEALTH_DOWN, RT_HEALTH_DRAINING,
					     RT_HEALTH_DEGRADED};
	uint32_t q = h->o.quorum > 1 ? h->o.quorum : 1;
	bool any = false;
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		uint32_t n = 0;
		for (int i = 0; i < CD_HEALTH_MAX_SOURCES; i++) {
			const struct cd_source *s = &e->src[i];
			if (!s->name[0] || s->reported == RT_HEALTH_UNKNOWN)
				continue;
			any = true;
			n += severity((enum rt_health)s->reported) >= severity(bad[b]);
		}
		if (n >= q)
			return bad[b];
	}
	return any ? RT_HEALTH_UP : RT_HEALTH_UNKNOWN;
}

static enum rt_health effective(const struct cd_health *h, const struct cd_entry *e)
{
	if (!e)
		return RT_HEALTH_UNKNOWN;
	if (e->drained)
		return RT_HEALTH_DRAINING;
	enum rt_health r = combined(h, e), b = (enum rt_health)e->breaker;
	return severity(b) > severity(r) ? b : r;
}

/* The source's slot: its own, a free one, or the stalest to reuse. */
static struct cd_source *source_slot(struct cd_entry *e, const char *source)
{
	struct cd_source *free_slot = NULL, *stalest = &e->src[0];
	for (int i = 0; i < CD_HEALTH_MAX_SOURCES; i++) {
		struct cd_source *s = &e->src[i];
		if (s->name[0] && !strcmp(s->name, source))
			return s;
		if (!s->name[0] && !free_slot)
			free_slot = s;
		if (s->updated_ms < stalest->updated_ms)
			stalest = s;
	}
	struct cd_source *s = free_slot ? free_slot : stalest;
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", source);
	s->expires_ms = -1;
	return s;
}

int cd_health_report(struct cd_health *h, const char *name, enum rt_health state,
		     uint32_t ttl_ms, const char *source, int64_t now_ms)
{
	if ((unsigned)state >= RT_HEALTH_COUNT)
		return -EINVAL;
	struct cd_entry *e = get_or_add(h, name);
	if (!e)
		return -ENOMEM;
	enum rt_health before = effective(h, e);
	struct cd_source *s = source_slot(e, source && *source ? source : "anonymous");
	uint32_t need = h->o.hysteresis > 1 ? h->o.hysteresis : 1;

	if (state == s->reported) {
		s->pending_n = 0;
	} else {
		if (s->pending_n == 0 || s->pending != state) {
			s->pending = (uint8_t)state;
			s->pending_n = 0;
		}
		/* The first report of a source (nothing in force yet) is
		 * believed at once: hysteresis damps flapping, not startup. */
		if (++s->pending_n >= need || s->reported == RT_HEALTH_UNKNOWN) {
			s->reported = (uint8_t)state;
			s->pending_n = 0;
		}
	}
	uint32_t ttl = ttl_ms ? ttl_ms : h->o.default_ttl_ms;
	s->expires_ms = ttl ? now_ms + ttl : -1;
	s->updated_ms = now_ms;
	return effective(h, e) != before;
}

int cd_health_set_breaker(struct cd_health *h, const char *name, enum rt_health verdict)
{
	struct cd_entry *e = verdict != RT_HEALTH_UNKNOWN ? get_or_add(h, name) : lookup(h, name);
	if (!e)
		return verdict != RT_HEALTH_UNKNOWN ? -ENOMEM : 0;
	enum rt_health before = effective(h, e);
	e->breaker = (uint8_t)verdict;
	return effective(h, e) != before;
}

int cd_health_drain(struct cd_health *h, const char *name, bool drained)
{
	struct cd_entry *e = drained ? get_or_add(h, name) : lookup(h, name);
	if (!e)
		return drained ? -ENOMEM : 0;
	enum rt_health before = effective(h, e);
	e->drained = drained;
	return effective(h, e) != before;
}

int cd_health_expire(struct cd_health *h, int64_t now_ms, int64_t *next_ms)
{
	int changed = 0;
	int64_t next = -1;
	for (size_t i = 0; i < h->cap; i++) {
		struct cd_entry *e = &h->slots[i];
		if (!e->name)
			continue;
		enum rt_health before = effective(h, e);
		bool touched = false;
		for (int k = 0; k < CD_HEALTH_MAX_SOURCES; k++) {
			struct cd_source *s = &e->src[k];
			if (!s->name[0] || s->expires_ms < 0)
				continue;
			if (s->expires_ms <= now_ms) {
				s->reported = RT_HEALTH_UNKNOWN;
				s->pending_n = 0;
				s->expires_ms = -1;
				touched = true;
			} else if (next < 0 || s->expires_ms < next) {
				next = s->expires_ms;
			}
		}
		if (touched)
			changed |= effective(h, e) != before;
	}
	if (next_ms)
		*next_ms = next;
	return changed;
}

enum rt_health cd_health_effective(const struct cd_health *h, const char *name)
{
	return effective(h, lookup(h, name));
}

bool cd_health_drained(const struct cd_health *h, const char *name)
{
	const struct cd_entry *e = lookup(h, name);
	return e && e->drained;
}

void cd_health_project(const struct cd_health *h, const struct rt_snapshot *s, uint8_t *gw,
		       uint8_t *site)
{
	size_t n_gw = rt_snapshot_gateway_count(s), n_site = rt_snapshot_site_count(s);
	for (size_t i = 0; i < n_gw; i++)
		gw[i] = (uint8_t)effective(h, lookup(h, rt_snapshot_gateway_name(s, i)));
	for (size_t i = 0; i < n_site; i++)
		site[i] = (uint8_t)effective(h, lookup(h, rt_snapshot_site_name(s, i)));
}

void cd_health_each(const struct cd_health *h, cd_health_visit_fn fn, void *ctx)
{
	for (size_t i = 0; i < h->cap; i++) {
		const struct cd_entry *e = &h->slots[i];
		if (!e->name)
			continue;
		char sources[CD_HEALTH_MAX_SOURCES * 64] = "";
		size_t off = 0;
		int64_t exp = -1;
		for (int k = 0; k < CD_HEALTH_MAX_SOURCES; k++) {
			const struct cd_source *s = &e->src[k];
			if (!s->name[0])
				continue;
			off += (size_t)snprintf(sources + off, sizeof(sources) - off, "%s%s=%s",
						off ? ", " : "", s->name,
						rt_health_name((enum rt_health)s->reported));
			if (off >= sizeof(sources))
				off = sizeof(sources) - 1;
			if (s->expires_ms >= 0 && (exp < 0 || s->expires_ms < exp))
				exp = s->expires_ms;
		}
		struct cd_health_entry out = {
			.name = e->name,
			.reported = combined(h, e),
			.breaker = (enum rt_health)e->breaker,
			.effective = effective(h, e),
			.drained = e->drained,
			.expires_ms = exp,
			.source = sources[0] ? sources : NULL,
		};
		fn(ctx, &out);
	}
}
