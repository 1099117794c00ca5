/*
 * cd_breaker: see cd_breaker.h.
 */
#include "cd_breaker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rt_index.h"

struct cd_brk {
	char *name; /* NULL: empty slot */
	uint64_t last_att, last_fail; /* totals at the previous update */
	bool primed;                  /* last_* are valid */
	int64_t last_sec;             /* bucket of the previous update */
	uint32_t att[CD_BREAKER_MAX_WINDOW], fail[CD_BREAKER_MAX_WINDOW];
	enum cd_breaker_state state;
	int64_t open_until_ms;
	int64_t judged_since_ms; /* half-open/demoted: when the clean window began */
};

struct cd_breaker {
	struct cd_breaker_opts o;
	struct cd_brk *slots;
	size_t cap, n;
};

const char *cd_breaker_state_name(enum cd_breaker_state s)
{
	static const char *const names[] = {"closed", "demoted", "open", "half-open"};
	return (unsigned)s < 4 ? names[s] : "?";
}

struct cd_breaker *cd_breaker_new(const struct cd_breaker_opts *o)
{
	struct cd_breaker *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->o = *o;
	if (b->o.window_s < 1)
		b->o.window_s = 1;
	if (b->o.window_s > CD_BREAKER_MAX_WINDOW)
		b->o.window_s = CD_BREAKER_MAX_WINDOW;
	return b;
}

void cd_breaker_free(struct cd_breaker *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->cap; i++)
		free(b->slots[i].name);
	free(b->slots);
	free(b);
}

static struct cd_brk *slot_of(const struct cd_breaker *b, const char *name)
{
	size_t i = rt_hash64(name, strlen(name)) & (b->cap - 1);
	while (b->slots[i].name && strcmp(b->slots[i].name, name))
		i = (i + 1) & (b->cap - 1);
	return &b->slots[i];
}

static const struct cd_brk *find(const struct cd_breaker *b, const char *name)
{
	if (!b->cap)
		return NULL;
	const struct cd_brk *k = slot_of(b, name);
	return k->name ? k : NULL;
}

static struct cd_brk *get_or_add(struct cd_breaker *b, const char *name)
{
	if (b->cap) {
		struct cd_brk *k = slot_of(b, name);
		if (k->name)
			return k;
	}
	if ((b->n + 1) * 2 > b->cap) {
		struct cd_breaker big = {.o = b->o, .cap = b->cap ? b->cap * 2 : 64};
		big.slots = calloc(big.cap, sizeof(*big.slots));
		if (!big.slots)
			return NULL;
		for (size_t i = 0; i < b->cap; i++)
			if (b->slots[i].name)
				*slot_of(&big, b->slots[i].name) = b->slots[i];
		free(b->slots);
		b->slots = big.slots;
		b->cap = big.cap;
	}
	struct cd_brk *k = slot_of(b, name);
	memset(k, 0, sizeof(*k));
	if (!(k->name = strdup(name)))
		return NULL;
	b->n++;
	return k;
}

static void window_sums(const struct cd_breaker *b, const struct cd_brk *k, uint64_t *att,
			uint64_t *fail)
{
	*att = *fail = 0;
	for (uint32_t i = 0; i < b->o.window_s; i++) {
		*att += k->att[i];
		*fail += k->fail[i];
	}
}

static void window_clear(struct cd_brk *k)
{
	memset(k->att, 0, sizeof(k->att));
	memset(k->fail, 0, sizeof(k->fail));
}

static enum rt_health verdict(const struct cd_brk *k)
{
	if (!k)
		return RT_HEALTH_UNKNOWN;
	switch (k->state) {
	case CD_BRK_OPEN:
		return RT_HEALTH_DOWN;
	case CD_BRK_DEMOTED:
	case CD_BRK_HALF_OPEN:
		return RT_HEALTH_DEGRADED;
	default:
		return RT_HEALTH_UNKNOWN;
	}
}

int cd_breaker_update(struct cd_breaker *b, const char *name, uint64_t attempts_total,
		      uint64_t failures_total, int64_t now_ms)
{
	if (!b->o.enabled)
		return 0;
	struct cd_brk *k = get_or_add(b, name);
	if (!k)
		return -ENOMEM;
	enum rt_health before = verdict(k);
	int64_t sec = now_ms / 1000;
	uint32_t w = b->o.window_s;

	/* Totals restart from zero when counters do (never in practice). */
	uint64_t da = k->primed && attempts_total >= k->last_att ? attempts_total - k->last_att : 0;
	uint64_t df = k->primed && failures_total >= k->last_fail ? failures_total - k->last_fail
								  : 0;
	if (k->primed) {
		/* Zero the buckets of the seconds skipped since the last update. */
		for (int64_t s = k->last_sec + 1; s <= sec && s <= k->last_sec + w; s++) {
			k->att[s % w] = 0;
			k->fail[s % w] = 0;
		}
	}
	k->att[sec % w] += (uint32_t)(da > UINT32_MAX ? UINT32_MAX : da);
	k->fail[sec % w] += (uint32_t)(df > UINT32_MAX ? UINT32_MAX : df);
	k->last_att = attempts_total;
	k->last_fail = failures_total;
	k->last_sec = sec;
	k->primed = true;

	uint64_t att, fail;
	window_sums(b, k, &att, &fail);
	uint64_t samples = att > fail ? att : fail;
	double ratio = att ? (double)fail / (double)att : (fail ? 1.0 : 0.0);
	if (ratio > 1.0)
		ratio = 1.0;
	bool judged = samples >= b->o.min_samples;

	switch (k->state) {
	case CD_BRK_CLOSED:
	case CD_BRK_DEMOTED:
	case CD_BRK_HALF_OPEN:
		if (judged && ratio >= b->o.down_ratio) {
			k->state = CD_BRK_OPEN;
			k->open_until_ms = now_ms + (int64_t)b->o.cooldown_s * 1000;
		} else if (judged && ratio >= b->o.degrade_ratio) {
			if (k->state == CD_BRK_CLOSED)
				k->state = CD_BRK_DEMOTED;
			k->judged_since_ms = now_ms;
		} else if (k->state != CD_BRK_CLOSED &&
			   now_ms - k->judged_since_ms >= (int64_t)w * 1000) {
			/* A whole window without reaching the thresholds. */
			k->state = CD_BRK_CLOSED;
		}
		break;
	case CD_BRK_OPEN:
		if (now_ms >= k->open_until_ms) {
			k->state = CD_BRK_HALF_OPEN;
			k->judged_since_ms = now_ms;
			window_clear(k);
		}
		break;
	}
	return verdict(k) != before;
}

enum rt_health cd_breaker_verdict(const struct cd_breaker *b, const char *name)
{
	return verdict(find(b, name));
}

bool cd_breaker_info(const struct cd_breaker *b, const char *name, enum cd_breaker_state *st,
		     double *ratio, uint64_t *samples)
{
	const struct cd_brk *k = find(b, name);
	if (!k)
		return false;
	uint64_t att, fail;
	window_sums(b, k, &att, &fail);
	*st = k->state;
	*samples = att > fail ? att : fail;
	*ratio = att ? (double)fail / (double)att : (fail ? 1.0 : 0.0);
	if (*ratio > 1.0)
		*ratio = 1.0;
	return true;
}
