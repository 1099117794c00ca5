/*
 * cd_health: see cd_health.h. A growable open-addressing table; entries are
 * never removed (a carrier has thousands of gateways, not millions), so
 * lookups stay simple and names stay valid for cd_health_each callers.
 */
#include "cd_health.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rt_index.h"

struct cd_entry {
	char *name; /* NULL: empty slot */
	uint8_t reported; /* enum rt_health after hysteresis */
	uint8_t pending;  /* state seen but not yet in force (hysteresis) */
	uint32_t pending_n;
	bool drained;
	int64_t expires_ms; /* -1: none */
	char source[64];
};

struct cd_health {
	struct cd_health_opts o;
	struct cd_entry *slots;
	size_t cap, n;
};

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
	*e = (struct cd_entry){.expires_ms = -1};
	if (!(e->name = strdup(name)))
		return NULL;
	h->n++;
	return e;
}

static enum rt_health effective(const struct cd_entry *e)
{
	if (!e)
		return RT_HEALTH_UNKNOWN;
	return e->drained ? RT_HEALTH_DRAINING : (enum rt_health)e->reported;
}

int cd_health_report(struct cd_health *h, const char *name, enum rt_health state,
		     uint32_t ttl_ms, const char *source, int64_t now_ms)
{
	if ((unsigned)state >= RT_HEALTH_COUNT)
		return -EINVAL;
	struct cd_entry *e = get_or_add(h, name);
	if (!e)
		return -ENOMEM;
	enum rt_health before = effective(e);
	uint32_t need = h->o.hysteresis > 1 ? h->o.hysteresis : 1;

	if (state == e->reported) {
		e->pending_n = 0;
	} else {
		if (e->pending_n == 0 || e->pending != state) {
			e->pending = (uint8_t)state;
			e->pending_n = 0;
		}
		/* The first report of a name (nothing in force yet) is
		 * believed at once: hysteresis damps flapping, not startup. */
		if (++e->pending_n >= need || e->reported == RT_HEALTH_UNKNOWN) {
			e->reported = (uint8_t)state;
			e->pending_n = 0;
		}
	}
	uint32_t ttl = ttl_ms ? ttl_ms : h->o.default_ttl_ms;
	e->expires_ms = ttl ? now_ms + ttl : -1;
	if (source) {
		strncpy(e->source, source, sizeof(e->source) - 1);
		e->source[sizeof(e->source) - 1] = '\0';
	}
	return effective(e) != before;
}

int cd_health_drain(struct cd_health *h, const char *name, bool drained)
{
	struct cd_entry *e = drained ? get_or_add(h, name) : lookup(h, name);
	if (!e)
		return drained ? -ENOMEM : 0;
	enum rt_health before = effective(e);
	e->drained = drained;
	return effective(e) != before;
}

int cd_health_expire(struct cd_health *h, int64_t now_ms, int64_t *next_ms)
{
	int changed = 0;
	int64_t next = -1;
	for (size_t i = 0; i < h->cap; i++) {
		struct cd_entry *e = &h->slots[i];
		if (!e->name || e->expires_ms < 0)
			continue;
		if (e->expires_ms <= now_ms) {
			enum rt_health before = effective(e);
			e->reported = RT_HEALTH_UNKNOWN;
			e->pending_n = 0;
			e->expires_ms = -1;
			changed |= effective(e) != before;
		} else if (next < 0 || e->expires_ms < next) {
			next = e->expires_ms;
		}
	}
	if (next_ms)
		*next_ms = next;
	return changed;
}

enum rt_health cd_health_effective(const struct cd_health *h, const char *name)
{
	return effective(lookup(h, name));
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
		gw[i] = (uint8_t)effective(lookup(h, rt_snapshot_gateway_name(s, i)));
	for (size_t i = 0; i < n_site; i++)
		site[i] = (uint8_t)effective(lookup(h, rt_snapshot_site_name(s, i)));
}

void cd_health_each(const struct cd_health *h, cd_health_visit_fn fn, void *ctx)
{
	for (size_t i = 0; i < h->cap; i++) {
		const struct cd_entry *e = &h->slots[i];
		if (!e->name)
			continue;
		struct cd_health_entry out = {
			.name = e->name,
			.reported = (enum rt_health)e->reported,
			.effective = effective(e),
			.drained = e->drained,
			.expires_ms = e->expires_ms,
			.source = e->source[0] ? e->source : NULL,
		};
		fn(ctx, &out);
	}
}
