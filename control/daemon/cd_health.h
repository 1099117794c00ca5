#pragma once
/*
 * cd_health: the health table of strowgerd's control plane (SPEC section 2,
 * health). Keyed by name, not by snapshot index, so it survives config
 * reloads untouched and a report never triggers a recompile: after every
 * change the control thread projects it onto the running snapshot's
 * gateway and site arrays (cd_health_project) and publishes those.
 *
 * Per name and per reporting source (a probe, strowgerctl, ...): the last
 * reported state (up, degraded, draining, down) with an expiry, after which
 * that source reads as unknown; an optional hysteresis (a new state takes
 * effect after N consecutive reports of it from that source). The sources
 * combine by quorum: a state holds when at least `quorum` fresh sources
 * report it or worse, so one confused probe cannot take a gateway down.
 * The passive breaker's verdict (cd_breaker) is worse-of'd in, and the
 * operator's drain overrides everything with draining. A name may be
 * reported before the config that defines it is loaded.
 *
 * Not thread-safe: the caller serialises writers against readers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_decide.h"
#include "rt_snapshot.h"

struct cd_health;

#define CD_HEALTH_MAX_SOURCES 8

struct cd_health_opts {
	uint32_t default_ttl_ms; /* report without TTL; 0 = never expires */
	uint32_t hysteresis;     /* consecutive reports to change state; 0/1 = at once */
	uint32_t quorum;         /* sources that must agree on a bad state; 0/1 = any */
};

struct cd_health *cd_health_new(const struct cd_health_opts *o);
void cd_health_free(struct cd_health *h);

/*
 * Apply one report at now_ms (CLOCK_MONOTONIC milliseconds). ttl_ms 0 uses
 * the default. Returns 1 when the effective state of name changed, 0 when
 * not, -ENOMEM, or -EINVAL (state is not a reportable health).
 */
int cd_health_report(struct cd_health *h, const char *name, enum rt_health state,
		     uint32_t ttl_ms, const char *source, int64_t now_ms);

/* The passive breaker's verdict for name (unknown: no opinion). 1 when the
 * effective state changed, 0 not, -ENOMEM. */
int cd_health_set_breaker(struct cd_health *h, const char *name, enum rt_health verdict);

/* Operator drain of name (gateway or site) on or off. 1 changed, 0 not,
 * -ENOMEM. */
int cd_health_drain(struct cd_health *h, const char *name, bool drained);

/*
 * Expire reports whose TTL passed at now_ms. Returns 1 when an effective
 * state changed. *next_ms (may be NULL) gets the next expiry, or -1.
 */
int cd_health_expire(struct cd_health *h, int64_t now_ms, int64_t *next_ms);

/* The state decisions use for name right now (unknown when never heard). */
enum rt_health cd_health_effective(const struct cd_health *h, const char *name);

/* Whether the operator drained name. */
bool cd_health_drained(const struct cd_health *h, const char *name);

/* Fill gw[rt_snapshot_gateway_count(s)] and site[rt_snapshot_site_count(s)]. */
void cd_health_project(const struct cd_health *h, const struct rt_snapshot *s, uint8_t *gw,
		       uint8_t *site);

/* Walk every entry (for status output). */
struct cd_health_entry {
	const char *name;
	enum rt_health reported;  /* the sources combined; unknown when none is fresh */
	enum rt_health breaker;   /* passive verdict; unknown: none */
	enum rt_health effective; /* what decisions use: reports, breaker, drain */
	bool drained;
	int64_t expires_ms; /* the soonest source expiry, absolute; -1 none */
	const char *source; /* "probe-a=down, strowgerctl=up" */
};
typedef void (*cd_health_visit_fn)(void *ctx, const struct cd_health_entry *e);
void cd_health_each(const struct cd_health *h, cd_health_visit_fn fn, void *ctx);
