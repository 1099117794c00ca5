#pragma once
/*
 * cd_breaker: passive health (SPEC section 2, health; issue "passive
 * health"). SBCs report every failed attempt in their failover re-queries;
 * per gateway, a sliding window of one-second buckets holds the attempts
 * (times it was offered first) and the failures (re-queries naming it as
 * the last tried gateway, with a failover code). A circuit breaker:
 *
 *   closed   --ratio >= degrade-->  demoted (gateway reads degraded)
 *   closed/demoted --ratio >= down--> open (down for the cool-down)
 *   open     --cool-down over-->    half-open (degraded, window cleared)
 *   half-open/demoted --a window under degrade--> closed
 *
 * Ratios count only once the window holds min_samples attempts or
 * failures, so one failed call on a quiet gateway trips nothing.
 * Control thread only.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_decide.h"

#define CD_BREAKER_MAX_WINDOW 300

struct cd_breaker_opts {
	bool enabled;
	uint32_t window_s;     /* 1..CD_BREAKER_MAX_WINDOW */
	uint32_t min_samples;  /* attempts or failures in the window before judging */
	double degrade_ratio;  /* failures / attempts that demote */
	double down_ratio;     /* ... that remove */
	uint32_t cooldown_s;   /* how long an open breaker keeps it down */
};

enum cd_breaker_state { CD_BRK_CLOSED, CD_BRK_DEMOTED, CD_BRK_OPEN, CD_BRK_HALF_OPEN };
const char *cd_breaker_state_name(enum cd_breaker_state s);

struct cd_breaker;

struct cd_breaker *cd_breaker_new(const struct cd_breaker_opts *o);
void cd_breaker_free(struct cd_breaker *b);

/*
 * Feed name's cumulative totals at now_ms (call about once a second for
 * every gateway). Returns 1 when its verdict changed, 0 if not, -ENOMEM.
 */
int cd_breaker_update(struct cd_breaker *b, const char *name, uint64_t attempts_total,
		      uint64_t failures_total, int64_t now_ms);

/* The breaker's health verdict for name: unknown (no opinion: closed),
 * degraded (demoted or half-open) or down (open). */
enum rt_health cd_breaker_verdict(const struct cd_breaker *b, const char *name);

/* State, failure ratio over the window and samples, for status output. */
bool cd_breaker_info(const struct cd_breaker *b, const char *name, enum cd_breaker_state *st,
		     double *ratio, uint64_t *samples);
