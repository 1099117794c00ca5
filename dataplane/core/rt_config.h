#pragma once
/*
 * rt_config: the routing model of SPEC section 2 as plain structs, exactly as
 * an operator wrote it (names, not indices). Front-ends that read config
 * (YAML file, protobuf Config) fill one; rt_snapshot_build() validates and
 * compiles it. Everything a config points to lives in its arena.
 *
 * Defaults (what a field holds when the source omits it) are set by
 * rt_config_gateway_defaults() etc., so every loader agrees on them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_arena.h"
#include "rt_diag.h"

enum rt_transport {
	RT_TRANSPORT_UDP = 0,
	RT_TRANSPORT_TCP = 1,
	RT_TRANSPORT_TLS = 2,
};

const char *rt_transport_name(enum rt_transport t);
/* 0 and *out set, or -EINVAL. Case-insensitive. */
int rt_transport_parse(const char *s, enum rt_transport *out);

/*
 * A set of SIP response codes after which the next destination is tried.
 * Code 0 stands for "no response / timeout". Codes run 0..699.
 */
#define RT_CODE_MAX 699
struct rt_codeset {
	uint64_t bits[(RT_CODE_MAX + 64) / 64];
};

static inline bool rt_codeset_has(const struct rt_codeset *s, unsigned code)
{
	return code <= RT_CODE_MAX && (s->bits[code / 64] >> (code % 64)) & 1;
}

/* Teams' default: timeout/no response, 408, 503, 504. */
void rt_codeset_default(struct rt_codeset *s);

/*
 * Build a set from items such as "0", "408", "300-699", "!486", "!600-603".
 * Inclusions are applied first, then exclusions, whatever their order. An
 * empty item list gives the empty set. On a bad item returns -EINVAL and
 * writes a one-line reason into err.
 */
int rt_codeset_parse(struct rt_codeset *s, const char *const *items, size_t n,
		     char *err, size_t errlen);
/* Render as "0,408,503-504" into buf (truncated to len). */
void rt_codeset_format(const struct rt_codeset *s, char *buf, size_t len);

struct rt_cfg_rule {
	const char *match;   /* regex (PCRE2 syntax, Hyperscan-compatible for dial plans) */
	const char *replace; /* replacement with $1..$9 */
	struct rt_src src;
};

struct rt_cfg_gateway {
	const char *name;
	const char *address; /* IP literal or FQDN */
	const char *site;    /* may be NULL: no site */
	uint16_t port;       /* default 5060 */
	enum rt_transport transport;
	uint32_t priority;   /* lower is preferred; default 0 */
	uint32_t weight;     /* RFC 2782 weight inside one priority; default 1 */
	bool has_failover_codes;
	struct rt_codeset failover_codes; /* overrides the global set when has_ */
	struct rt_src src;
};

struct rt_cfg_trunk {
	const char *name;
	const char *gateway;
	struct rt_cfg_rule *called; /* ordered; first match applies */
	size_t n_called;
	struct rt_cfg_rule *calling;
	size_t n_calling;
	struct rt_src src;
};

struct rt_cfg_usage {
	const char *name;
	struct rt_src src;
};

struct rt_cfg_route {
	const char *name;
	const char *pattern; /* regex over the normalised number */
	const char **usages;
	size_t n_usages;
	const char **trunks;
	size_t n_trunks;
	uint32_t priority;    /* lower first among routes of one usage; default 0 */
	const char *fallback; /* NULL, a SIP URI ("sip:..."/"sips:...") or an E.164 number */
	struct rt_src src;
};

struct rt_cfg_policy {
	const char *name;
	const char **usages; /* ordered; later ones are failover */
	size_t n_usages;
	const char *dial_plan; /* NULL: the default dial plan, if any */
	bool is_default;
	struct rt_src src;
};

struct rt_cfg_assignment {
	const char *pattern; /* regex over the calling number */
	const char *policy;
	struct rt_src src;
};

struct rt_cfg_dial_plan {
	const char *name;
	bool is_default; /* applied to policies without a dial plan */
	struct rt_cfg_rule *rules;
	size_t n_rules;
	struct rt_src src;
};

struct rt_cfg_sip {
	uint32_t max_contacts; /* default 4 */
	uint32_t retry_after;  /* seconds in 503 Retry-After; default 30 */
};

struct rt_config {
	struct rt_arena *arena; /* owns everything below */
	const char *source;     /* file name or "<protobuf>"; for messages */

	struct rt_codeset failover_codes; /* global; default rt_codeset_default() */
	struct rt_src failover_src;
	struct rt_cfg_sip sip;

	struct rt_cfg_gateway *gateways;
	size_t n_gateways;
	struct rt_cfg_trunk *trunks;
	size_t n_trunks;
	struct rt_cfg_usage *usages;
	size_t n_usages;
	struct rt_cfg_route *routes;
	size_t n_routes;
	struct rt_cfg_policy *policies;
	size_t n_policies;
	struct rt_cfg_assignment *assignments;
	size_t n_assignments;
	struct rt_cfg_dial_plan *dial_plans;
	size_t n_dial_plans;
};

/* An empty config with defaults, owning a new arena. NULL on ENOMEM. */
struct rt_config *rt_config_new(const char *source);
void rt_config_free(struct rt_config *cfg);

/* Field defaults for one new object (loaders call these before filling). */
void rt_cfg_gateway_defaults(struct rt_cfg_gateway *gw);

#define RT_DEFAULT_PORT 5060
#define RT_DEFAULT_WEIGHT 1
#define RT_DEFAULT_MAX_CONTACTS 4
#define RT_DEFAULT_RETRY_AFTER 30
