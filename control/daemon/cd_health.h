#pragma once
/*
 * cd_health: the health table of strowgerd's control plane (SPEC section 2,
 * health). Keyed by name, not by snapshot index, so it survives config
 * reloads untouched and a report never triggers a recompile: after every
 * change the control thread projects it onto the running snapshot's
 * gateway and site arrays (cd_health_project) and publishes those.
 *
 * Per name: the last reported state (up, degraded, draining, down) with an
 * expiry, after which it reads as unknown (treated as up); an optional
 * hysteresis (a new state takes effect after N consecutive reports of it);
 * and the operator's drain flag, which overrides any report with draining.
 * A name may be reported before the config that defines it is loaded.
 *
 * Not thread-safe: the caller serialises writers against readers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_decide.h"
#include "rt_snapshot.h"

struct cd_health;

struct cd_health_opts {
	uint32_t default_ttl_ms; /* report without TTL; 0 = never expires */
	uint32_t hysteresis;     /* consecutive reports to change state; 0/1 = at once */
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
	enum rt_health reported;  /* after hysteresis; unknown once expired */
	enum rt_health effective; /* drain applied */
	bool drained;
	int64_t expires_ms; /* absolute, -1 none */
	const char *source;
};
typedef void (*cd_health_visit_fn)(void *ctx, const struct cd_health_entry *e);
void cd_health_each(const struct cd_health *h, cd_health_visit_fn fn, void *ctx);
