#pragma once
/*
 * rt_decide: the routing decision of SPEC section 3, a plain function of
 * (snapshot, health view, query) -> answer. No I/O, no locks, no allocation:
 * everything it needs per call lives in a caller-owned rt_scratch (one per
 * worker thread) and the caller-owned answer.
 *
 * Strings in a query are (pointer, length) views, not NUL-terminated, so
 * front-ends can point straight into a received packet. Strings in an answer
 * point into the snapshot (names, addresses) or into the answer itself
 * (translated numbers): an answer is valid while its snapshot is.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_config.h"
#include "rt_snapshot.h"

#define RT_NUM_MAX 64     /* longest number (incl. NUL) accepted or produced */
#define RT_MAX_TRIED 16   /* tried entries a query may carry */
#define RT_MAX_DEST 32    /* destinations an answer holds at most */
#define RT_EXPLAIN_MAX 64 /* entries per explain list */

enum rt_status {
	RT_ROUTED = 0,        /* >=1 destination; SIP 302 */
	RT_NO_ROUTE,          /* no pattern matched; SIP 404 */
	RT_NOT_PERMITTED,     /* matched, none in the policy's usages; SIP 403 */
	RT_ALL_UNAVAILABLE,   /* allowed routes, no usable gateway; SIP 503 */
	RT_NO_FAILOVER,       /* last tried code is not a failover code; relay it */
	RT_BAD_REQUEST,       /* malformed query or unknown policy; SIP 400 */
};
#define RT_STATUS_COUNT 6

const char *rt_status_name(enum rt_status s);
/* The SIP code a status maps to (NO_FAILOVER: see rt_answer.code). */
uint16_t rt_status_sip_code(enum rt_status s);

enum rt_health {
	RT_HEALTH_UNKNOWN = 0, /* before any report, or report expired: treated as up */
	RT_HEALTH_UP,
	RT_HEALTH_DEGRADED,    /* usable, demoted behind every up destination */
	RT_HEALTH_DRAINING,    /* not offered for new calls */
	RT_HEALTH_DOWN,        /* not offered */
};
#define RT_HEALTH_COUNT 5
const char *rt_health_name(enum rt_health h);
/* 0 or -EINVAL. Case-insensitive. */
int rt_health_parse(const char *s, enum rt_health *out);

/*
 * Health as seen by one decision: states indexed like the snapshot's
 * gateways and sites (rt_snapshot_gateway_index / _site_index). Either array
 * may be NULL (all unknown). The effective state of a gateway is the worse of
 * its own and its site's (down > draining > degraded > up/unknown).
 */
struct rt_health_view {
	const uint8_t *gateway; /* enum rt_health per gateway */
	const uint8_t *site;    /* enum rt_health per site */
};

struct rt_str {
	const char *p;
	size_t len;
};

static inline struct rt_str rt_str_c(const char *s);

struct rt_tried {
	struct rt_str gateway;
	uint16_t code; /* SIP response code, 0 = no response */
};

struct rt_query {
	struct rt_str called;  /* required */
	struct rt_str calling; /* optional */
	struct rt_str policy;  /* optional: named policy */
	struct rt_str call_id; /* optional: seeds the weighted shuffle */
	struct rt_tried tried[RT_MAX_TRIED];
	uint32_t n_tried;
	uint32_t max_destinations; /* 0 = as many as fit (RT_MAX_DEST) */
	uint64_t seed;             /* shuffle seed used when call_id is empty */
};

struct rt_dest {
	const char *gateway;   /* NULL for a fallback URI */
	const char *trunk;     /* NULL for a fallback URI */
	const char *route;
	const char *usage;
	const char *address;   /* NULL for a fallback URI */
	const char *uri;       /* fallback SIP URI, else NULL */
	uint16_t port;
	enum rt_transport transport;
	bool degraded;
	bool via_fallback;     /* reached through a route's E.164 fallback */
	int32_t gateway_index; /* -1 for a fallback URI */
	int32_t route_index;   /* the snapshot's route; -1 when not known (decoded answers) */
	char called[RT_NUM_MAX];  /* translated by the trunk's called rules */
	char calling[RT_NUM_MAX]; /* translated by the trunk's calling rules */
};

struct rt_answer {
	enum rt_status status;
	uint16_t code;            /* SIP code; for NO_FAILOVER the relayed one */
	uint64_t generation;      /* config generation that answered */
	const char *policy;       /* policy used (NULL if none chosen) */
	const char *error;        /* BAD_REQUEST reason, static string */
	char normalized[RT_NUM_MAX];
	uint32_t n_dest;
	struct rt_dest dest[RT_MAX_DEST];
};

enum rt_skip_reason {
	RT_SKIP_DOWN,
	RT_SKIP_DRAINING,
	RT_SKIP_TRIED,
	RT_SKIP_DUPLICATE,
	RT_SKIP_LIMIT, /* answer full (max_destinations / RT_MAX_DEST) */
};
const char *rt_skip_reason_name(enum rt_skip_reason r);

/* Why a decision came out the way it did. Lists are capped at
 * RT_EXPLAIN_MAX entries; *_dropped counts what did not fit. */
struct rt_explain {
	const char *policy_source;  /* "named", "assignment" or "default" */
	const char *assignment;     /* pattern of the assignment that chose it */
	const char *dial_plan;      /* dial plan applied, or NULL */
	const char *dial_rule;      /* its rule that matched, or NULL */
	uint32_t n_matched;
	const char *matched[RT_EXPLAIN_MAX]; /* route names, in route order */
	uint32_t matched_dropped;
	uint32_t n_usages;
	struct {
		const char *usage;
		uint32_t n_routes; /* matched routes carrying it */
	} usages[RT_EXPLAIN_MAX];
	uint32_t n_skipped;
	struct {
		const char *gateway;
		const char *route;
		const char *usage;
		enum rt_skip_reason reason;
		enum rt_health health;
	} skipped[RT_EXPLAIN_MAX];
	uint32_t skipped_dropped;
	uint32_t n_fallbacks;
	struct {
		const char *route;
		const char *target;
		bool followed; /* false: loop protection stopped it */
	} fallbacks[8];
};

struct rt_scratch;
void rt_scratch_stage_bursts(struct rt_scratch *sc, bool always);

/* Per-thread working memory sized for snapshot s (Hyperscan scratch, PCRE2
 * match data, buffers). Valid for s and any snapshot it was readied for. */
struct rt_scratch *rt_scratch_new(const struct rt_snapshot *s);
/* Grow scratch so it also serves s. 0 or -ENOMEM. Must not run while the
 * scratch's owner is deciding (ready a fresh one and swap instead). */
int rt_scratch_ready(struct rt_scratch *sc, const struct rt_snapshot *s);
void rt_scratch_free(struct rt_scratch *sc);

/*
 * Decide. Fills *ans completely (status always set). ex may be NULL; when
 * given it is filled too (slower: explain is for operators). Never fails:
 * internal errors come back as RT_ALL_UNAVAILABLE with ans->error set.
 */
void rt_decide(const struct rt_snapshot *s, const struct rt_health_view *health,
	       const struct rt_query *q, struct rt_scratch *sc, struct rt_answer *ans,
	       struct rt_explain *ex);

/*
 * rt_decide for each of qs[0..n) into as[i] (no explain): the same answers,
 * with the cache misses of the numbers' route lookups overlapped across
 * the burst (RT_BURST at a time). What a worker does with a received burst.
 * A route table small enough to stay in cache (about 2 MiB) is decided one
 * query at a time (nothing to overlap) unless rt_scratch_stage_bursts(sc,
 * true) asks for the stages anyway (tests).
 */
#define RT_BURST 16
void rt_decide_burst(const struct rt_snapshot *s, const struct rt_health_view *health,
		     const struct rt_query *const *qs, unsigned n, struct rt_scratch *sc,
		     struct rt_answer *const *as);

/*
 * Every route whose pattern matches num, found in one scan, as route ids in
 * route order (priority, then config order; see rt_snapshot_route_name).
 * Writes at most cap ids; returns how many matched (may exceed cap), or
 * -EIO if the matcher failed. For tools and tests; rt_decide does this
 * itself.
 */
long rt_match_routes(const struct rt_snapshot *s, struct rt_scratch *sc, const char *num,
		     size_t len, uint32_t *ids, uint32_t cap);

static inline struct rt_str rt_str_c(const char *s)
{
	struct rt_str r = {s, 0};
	if (s)
		while (s[r.len])
			r.len++;
	return r;
}
