/*
 * cfg_proto: rt_config <-> strowger.Config.
 *
 * Packing builds the message tree in a scratch arena (one free instead of
 * protobuf-c's per-node frees) with strings borrowed from the config.
 * Unpacking copies everything into the new config's arena, so the protobuf
 * message can be freed straight away.
 *
 * Value ranges are checked with the same limits as cfg_yaml.c, so a Config
 * that did not come from strowgerctl cannot carry what the YAML file could
 * not.
 */
#include "cfg_proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rt_decide.h" /* RT_MAX_DEST */

/* Same limits as cfg_yaml.c. */
#define CFG_MAX_GW_PRIORITY 65535u
#define CFG_MAX_GW_WEIGHT 65535u
#define CFG_MAX_RETRY_AFTER 86400u
#define CFG_PROTO_SOURCE "<protobuf>"

/* ------------------------------------------------------------------------ */
/* rt_config -> message */

/* A message node in the arena, initialised from its INIT value. */
static void *msg_new(struct rt_arena *a, const void *init, size_t size)
{
	void *m = rt_arena_alloc(a, size);
	if (m)
		memcpy(m, init, size);
	return m;
}
#define NEW_MSG(a, type, init) ((type *)msg_new((a), &(type)init, sizeof(type)))

static char *s_or_empty(const char *s)
{
	return (char *)(s ? s : "");
}

/* The set as canonical items, each in the arena. */
static int codes_to_items(const struct rt_codeset *set, struct rt_arena *a, char ***out,
			  size_t *n_out)
{
	/* Worst case: 0 and every other code of 100..699, about 1.5 KB. */
	char buf[4096];
	rt_codeset_format(set, buf, sizeof(buf));
	size_t n = 0;
	if (buf[0]) {
		n = 1;
		for (const char *p = buf; *p; p++)
			n += *p == ',';
	}
	char **items = n ? rt_arena_calloc(a, n, sizeof(*items)) : NULL;
	if (n && !items)
		return -ENOMEM;
	const char *p = buf;
	for (size_t i = 0; i < n; i++) {
		size_t l = strcspn(p, ",");
		if (!(items[i] = rt_arena_strndup(a, p, l)))
			return -ENOMEM;
		p += l + (p[l] == ',');
	}
	*out = items;
	*n_out = n;
	return 0;
}

static int rules_to_msg(const struct rt_cfg_rule *rules, size_t n, struct rt_arena *a,
			Strowger__Rule ***out, size_t *n_out)
{
	Strowger__Rule **v = n ? rt_arena_calloc(a, n, sizeof(*v)) : NULL;
	if (n && !v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		Strowger__Rule *r = NEW_MSG(a, Strowger__Rule, STROWGER__RULE__INIT);
		if (!r)
			return -ENOMEM;
		r->match = s_or_empty(rules[i].match);
		r->replace = s_or_empty(rules[i].replace);
		r->line = rules[i].src.line;
		v[i] = r;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static int strs_to_msg(const char *const *s, size_t n, struct rt_arena *a, char ***out,
		       size_t *n_out)
{
	char **v = n ? rt_arena_calloc(a, n, sizeof(*v)) : NULL;
	if (n && !v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = s_or_empty(s[i]);
	*out = v;
	*n_out = n;
	return 0;
}

/* Arrays of message pointers for one section. */
#define ALLOC_PTRS(a, arr, n)                                                 \
	do {                                                                  \
		(arr) = (n) ? rt_arena_calloc((a), (n), sizeof(*(arr))) : NULL; \
		if ((n) && !(arr))                                            \
			return NULL;                                          \
	} while (0)

Strowger__Config *cfg_proto_to_msg(const struct rt_config *cfg, struct rt_arena *a)
{
	Strowger__Config *m = NEW_MSG(a, Strowger__Config, STROWGER__CONFIG__INIT);
	Strowger__SipSettings *sip = NEW_MSG(a, Strowger__SipSettings,
					     STROWGER__SIP_SETTINGS__INIT);
	if (!m || !sip)
		return NULL;
	m->source = s_or_empty(cfg->source);
	if (codes_to_items(&cfg->failover_codes, a, &m->failover_codes, &m->n_failover_codes))
		return NULL;
	m->has_failover_codes = true;
	m->failover_line = cfg->failover_src.line;
	sip->max_contacts_opt_case = STROWGER__SIP_SETTINGS__MAX_CONTACTS_OPT_MAX_CONTACTS;
	sip->max_contacts = cfg->sip.max_contacts;
	sip->retry_after_opt_case = STROWGER__SIP_SETTINGS__RETRY_AFTER_OPT_RETRY_AFTER;
	sip->retry_after = cfg->sip.retry_after;
	m->sip = sip;

	ALLOC_PTRS(a, m->gateways, cfg->n_gateways);
	m->n_gateways = cfg->n_gateways;
	for (size_t i = 0; i < cfg->n_gateways; i++) {
		const struct rt_cfg_gateway *g = &cfg->gateways[i];
		Strowger__Gateway *o = NEW_MSG(a, Strowger__Gateway, STROWGER__GATEWAY__INIT);
		if (!o)
			return NULL;
		o->name = s_or_empty(g->name);
		o->address = s_or_empty(g->address);
		o->port_opt_case = STROWGER__GATEWAY__PORT_OPT_PORT;
		o->port = g->port;
		o->transport = (Strowger__Transport)g->transport;
		o->site = s_or_empty(g->site);
		o->priority = g->priority;
		o->weight_opt_case = STROWGER__GATEWAY__WEIGHT_OPT_WEIGHT;
		o->weight = g->weight;
		o->has_failover_codes = g->has_failover_codes;
		if (g->has_failover_codes &&
		    codes_to_items(&g->failover_codes, a, &o->failover_codes, &o->n_failover_codes))
			return NULL;
		o->line = g->src.line;
		m->gateways[i] = o;
	}

	ALLOC_PTRS(a, m->trunks, cfg->n_trunks);
	m->n_trunks = cfg->n_trunks;
	for (size_t i = 0; i < cfg->n_trunks; i++) {
		const struct rt_cfg_trunk *t = &cfg->trunks[i];
		Strowger__Trunk *o = NEW_MSG(a, Strowger__Trunk, STROWGER__TRUNK__INIT);
		if (!o)
			return NULL;
		o->name = s_or_empty(t->name);
		o->gateway = s_or_empty(t->gateway);
		if (rules_to_msg(t->called, t->n_called, a, &o->called, &o->n_called) ||
		    rules_to_msg(t->calling, t->n_calling, a, &o->calling, &o->n_calling))
			return NULL;
		o->line = t->src.line;
		m->trunks[i] = o;
	}

	ALLOC_PTRS(a, m->usages, cfg->n_usages);
	ALLOC_PTRS(a, m->usage_lines, cfg->n_usages);
	m->n_usages = m->n_usage_lines = cfg->n_usages;
	for (size_t i = 0; i < cfg->n_usages; i++) {
		m->usages[i] = s_or_empty(cfg->usages[i].name);
		m->usage_lines[i] = cfg->usages[i].src.line;
	}

	ALLOC_PTRS(a, m->routes, cfg->n_routes);
	m->n_routes = cfg->n_routes;
	for (size_t i = 0; i < cfg->n_routes; i++) {
		const struct rt_cfg_route *r = &cfg->routes[i];
		Strowger__Route *o = NEW_MSG(a, Strowger__Route, STROWGER__ROUTE__INIT);
		if (!o)
			return NULL;
		o->name = s_or_empty(r->name);
		o->pattern = s_or_empty(r->pattern);
		if (strs_to_msg(r->usages, r->n_usages, a, &o->usages, &o->n_usages) ||
		    strs_to_msg(r->trunks, r->n_trunks, a, &o->trunks, &o->n_trunks))
			return NULL;
		o->priority = r->priority;
		o->fallback = s_or_empty(r->fallback);
		o->line = r->src.line;
		m->routes[i] = o;
	}

	ALLOC_PTRS(a, m->policies, cfg->n_policies);
	m->n_policies = cfg->n_policies;
	for (size_t i = 0; i < cfg->n_policies; i++) {
		const struct rt_cfg_policy *p = &cfg->policies[i];
		Strowger__Policy *o = NEW_MSG(a, Strowger__Policy, STROWGER__POLICY__INIT);
		if (!o)
			return NULL;
		o->name = s_or_empty(p->name);
		if (strs_to_msg(p->usages, p->n_usages, a, &o->usages, &o->n_usages))
			return NULL;
		o->dial_plan = s_or_empty(p->dial_plan);
		o->is_default = p->is_default;
		o->line = p->src.line;
		m->policies[i] = o;
	}

	ALLOC_PTRS(a, m->assignments, cfg->n_assignments);
	m->n_assignments = cfg->n_assignments;
	for (size_t i = 0; i < cfg->n_assignments; i++) {
		const struct rt_cfg_assignment *s = &cfg->assignments[i];
		Strowger__Assignment *o = NEW_MSG(a, Strowger__Assignment,
						  STROWGER__ASSIGNMENT__INIT);
		if (!o)
			return NULL;
		o->pattern = s_or_empty(s->pattern);
		o->policy = s_or_empty(s->policy);
		o->line = s->src.line;
		m->assignments[i] = o;
	}

	ALLOC_PTRS(a, m->dial_plans, cfg->n_dial_plans);
	m->n_dial_plans = cfg->n_dial_plans;
	for (size_t i = 0; i < cfg->n_dial_plans; i++) {
		const struct rt_cfg_dial_plan *d = &cfg->dial_plans[i];
		Strowger__DialPlan *o = NEW_MSG(a, Strowger__DialPlan, STROWGER__DIAL_PLAN__INIT);
		if (!o)
			return NULL;
		o->name = s_or_empty(d->name);
		o->is_default = d->is_default;
		if (rules_to_msg(d->rules, d->n_rules, a, &o->rules, &o->n_rules))
			return NULL;
		o->line = d->src.line;
		m->dial_plans[i] = o;
	}
	return m;
}

int cfg_proto_pack(const struct rt_config *cfg, uint8_t **out, size_t *len)
{
	int rc = -ENOMEM;
	struct rt_arena *a = rt_arena_new();
	uint8_t *buf = NULL;
	if (!a)
		goto out;
	Strowger__Config *m = cfg_proto_to_msg(cfg, a);
	if (!m)
		goto out;
	size_t n = strowger__config__get_packed_size(m);
	buf = malloc(n ? n : 1);
	if (!buf)
		goto out;
	*len = strowger__config__pack(m, buf);
	*out = buf;
	rc = 0;
out:
	rt_arena_free(a);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* message -> rt_config */

struct cfg_unpacker {
	struct rt_config *cfg;
	struct rt_diag *diag;
	size_t errors;
	bool oom;
	const char *kind;
	const char *name;
};

static void up_err(struct cfg_unpacker *u, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void up_err(struct cfg_unpacker *u, uint32_t line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct rt_src src = {u->cfg->source, line};
	rt_diag_add(u->diag, &src, u->kind, u->name, "%s", msg);
	u->errors++;
}

static struct rt_src up_src(const struct cfg_unpacker *u, uint32_t line)
{
	struct rt_src src = {line ? u->cfg->source : NULL, line};
	return src;
}

static const char *up_str(struct cfg_unpacker *u, const char *s)
{
	char *r = rt_arena_strdup(u->cfg->arena, s ? s : "");
	if (!r)
		u->oom = true;
	return r;
}

/* Required: non-empty. */
static const char *up_req(struct cfg_unpacker *u, const char *s, const char *key, uint32_t line)
{
	if (!s || !*s) {
		up_err(u, line, "missing '%s'", key);
		return NULL;
	}
	return up_str(u, s);
}

/* Optional: empty means NULL. */
static const char *up_opt(struct cfg_unpacker *u, const char *s)
{
	return s && *s ? up_str(u, s) : NULL;
}

static void *up_calloc(struct cfg_unpacker *u, size_t n, size_t sz)
{
	if (!n)
		return NULL;
	void *r = rt_arena_calloc(u->cfg->arena, n, sz);
	if (!r)
		u->oom = true;
	return r;
}

static void up_codes(struct cfg_unpacker *u, char **items, size_t n, uint32_t line,
		     struct rt_codeset *out)
{
	char err[256];
	for (size_t i = 0; i < n; i++) {
		if (!items[i]) {
			up_err(u, line, "bad failover code: empty item");
			return;
		}
	}
	if (rt_codeset_parse(out, (const char *const *)items, n, err, sizeof(err)))
		up_err(u, line, "%s", err);
}

static struct rt_cfg_rule *up_rules(struct cfg_unpacker *u, Strowger__Rule **rules, size_t n,
				    const char *what, uint32_t line)
{
	struct rt_cfg_rule *v = up_calloc(u, n, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const Strowger__Rule *r = rules[i];
		uint32_t l = r->line ? r->line : line;
		if (!r->match || !*r->match)
			up_err(u, l, "%s rule: missing 'match'", what);
		else
			v[i].match = up_str(u, r->match);
		v[i].replace = up_str(u, r->replace);
		v[i].src = up_src(u, r->line);
	}
	return v;
}

static const char **up_strs(struct cfg_unpacker *u, char **s, size_t n, const char *what,
			    uint32_t line)
{
	const char **v = up_calloc(u, n, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!s[i] || !*s[i])
			up_err(u, line, "%s: empty item", what);
		else
			v[i] = up_str(u, s[i]);
	}
	return v;
}

static void up_gateway(struct cfg_unpacker *u, const Strowger__Gateway *o,
		       struct rt_cfg_gateway *g)
{
	rt_cfg_gateway_defaults(g);
	u->kind = "gateway";
	u->name = o->name && *o->name ? o->name : NULL;
	g->src = up_src(u, o->line);
	g->name = up_req(u, o->name, "name", o->line);
	g->address = up_req(u, o->address, "address", o->line);
	if (o->port_opt_case == STROWGER__GATEWAY__PORT_OPT_PORT) {
		if (o->port < 1 || o->port > 65535)
			up_err(u, o->line, "port must be 1..65535, got %u", o->port);
		else
			g->port = (uint16_t)o->port;
	}
	if (o->transport < 0 || o->transport > STROWGER__TRANSPORT__TLS)
		up_err(u, o->line, "unknown transport %d", (int)o->transport);
	else
		g->transport = (enum rt_transport)o->transport;
	g->site = up_opt(u, o->site);
	if (o->priority > CFG_MAX_GW_PRIORITY)
		up_err(u, o->line, "priority must be 0..%u, got %u", CFG_MAX_GW_PRIORITY,
		       o->priority);
	else
		g->priority = o->priority;
	if (o->weight_opt_case == STROWGER__GATEWAY__WEIGHT_OPT_WEIGHT) {
		if (o->weight > CFG_MAX_GW_WEIGHT)
			up_err(u, o->line, "weight must be 0..%u, got %u", CFG_MAX_GW_WEIGHT,
			       o->weight);
		else
			g->weight = o->weight;
	}
	if (o->has_failover_codes) {
		g->has_failover_codes = true;
		up_codes(u, o->failover_codes, o->n_failover_codes, o->line, &g->failover_codes);
	}
}

static void up_trunk(struct cfg_unpacker *u, const Strowger__Trunk *o, struct rt_cfg_trunk *t)
{
	u->kind = "trunk";
	u->name = o->name && *o->name ? o->name : NULL;
	t->src = up_src(u, o->line);
	t->name = up_req(u, o->name, "name", o->line);
	t->gateway = up_req(u, o->gateway, "gateway", o->line);
	t->called = up_rules(u, o->called, o->n_called, "called", o->line);
	t->n_called = o->n_called;
	t->calling = up_rules(u, o->calling, o->n_calling, "calling", o->line);
	t->n_calling = o->n_calling;
}

static void up_route(struct cfg_unpacker *u, const Strowger__Route *o, struct rt_cfg_route *r)
{
	u->kind = "route";
	u->name = o->name && *o->name ? o->name : NULL;
	r->src = up_src(u, o->line);
	r->name = up_req(u, o->name, "name", o->line);
	r->pattern = up_req(u, o->pattern, "pattern", o->line);
	r->usages = up_strs(u, o->usages, o->n_usages, "usages", o->line);
	r->n_usages = o->n_usages;
	r->trunks = up_strs(u, o->trunks, o->n_trunks, "trunks", o->line);
	r->n_trunks = o->n_trunks;
	r->priority = o->priority;
	r->fallback = up_opt(u, o->fallback);
}

static void up_policy(struct cfg_unpacker *u, const Strowger__Policy *o,
		      struct rt_cfg_policy *p)
{
	u->kind = "policy";
	u->name = o->name && *o->name ? o->name : NULL;
	p->src = up_src(u, o->line);
	p->name = up_req(u, o->name, "name", o->line);
	p->usages = up_strs(u, o->usages, o->n_usages, "usages", o->line);
	p->n_usages = o->n_usages;
	p->dial_plan = up_opt(u, o->dial_plan);
	p->is_default = o->is_default;
}

static void up_assignment(struct cfg_unpacker *u, const Strowger__Assignment *o,
			  struct rt_cfg_assignment *s)
{
	u->kind = "assignment";
	u->name = NULL;
	s->src = up_src(u, o->line);
	s->pattern = up_req(u, o->pattern, "calling", o->line);
	s->policy = up_req(u, o->policy, "policy", o->line);
}

static void up_dial_plan(struct cfg_unpacker *u, const Strowger__DialPlan *o,
			 struct rt_cfg_dial_plan *d)
{
	u->kind = "dial plan";
	u->name = o->name && *o->name ? o->name : NULL;
	d->src = up_src(u, o->line);
	d->name = up_req(u, o->name, "name", o->line);
	d->is_default = o->is_default;
	d->rules = up_rules(u, o->rules, o->n_rules, "rules", o->line);
	d->n_rules = o->n_rules;
}

/* Allocate cfg->arr[n] and convert each message with fn. */
#define UP_SECTION(u, arr, msgs, n, fn)                                  \
	do {                                                             \
		(u)->cfg->arr = up_calloc((u), (n), sizeof(*(u)->cfg->arr)); \
		if ((n) && !(u)->cfg->arr)                               \
			goto out;                                        \
		(u)->cfg->n_##arr = (n);                                 \
		for (size_t i__ = 0; i__ < (n); i__++)                   \
			fn((u), (msgs)[i__], &(u)->cfg->arr[i__]);       \
		(u)->kind = (u)->name = NULL;                            \
	} while (0)

struct rt_config *cfg_proto_from_msg(const Strowger__Config *m, struct rt_diag *diag)
{
	struct cfg_unpacker u = {.diag = diag};
	const char *source = m->source && *m->source ? m->source : CFG_PROTO_SOURCE;

	u.cfg = rt_config_new(source);
	if (!u.cfg) {
		struct rt_src src = {source, 0};
		rt_diag_add(diag, &src, NULL, NULL, "out of memory");
		return NULL;
	}
	struct rt_config *cfg = u.cfg;

	cfg->failover_src = up_src(&u, m->failover_line);
	if (m->has_failover_codes) {
		u.kind = "failover";
		up_codes(&u, m->failover_codes, m->n_failover_codes, m->failover_line,
			 &cfg->failover_codes);
		u.kind = NULL;
	}
	if (m->sip) {
		u.kind = "sip";
		if (m->sip->max_contacts_opt_case ==
		    STROWGER__SIP_SETTINGS__MAX_CONTACTS_OPT_MAX_CONTACTS) {
			if (m->sip->max_contacts < 1 || m->sip->max_contacts > RT_MAX_DEST)
				up_err(&u, 0, "max_contacts must be 1..%u, got %u", RT_MAX_DEST,
				       m->sip->max_contacts);
			else
				cfg->sip.max_contacts = m->sip->max_contacts;
		}
		if (m->sip->retry_after_opt_case ==
		    STROWGER__SIP_SETTINGS__RETRY_AFTER_OPT_RETRY_AFTER) {
			if (m->sip->retry_after > CFG_MAX_RETRY_AFTER)
				up_err(&u, 0, "retry_after must be 0..%u, got %u",
				       CFG_MAX_RETRY_AFTER, m->sip->retry_after);
			else
				cfg->sip.retry_after = m->sip->retry_after;
		}
		u.kind = NULL;
	}

	UP_SECTION(&u, gateways, m->gateways, m->n_gateways, up_gateway);
	UP_SECTION(&u, trunks, m->trunks, m->n_trunks, up_trunk);

	cfg->usages = up_calloc(&u, m->n_usages, sizeof(*cfg->usages));
	if (m->n_usages && !cfg->usages)
		goto out;
	cfg->n_usages = m->n_usages;
	for (size_t i = 0; i < m->n_usages; i++) {
		uint32_t line = m->n_usage_lines == m->n_usages ? m->usage_lines[i] : 0;
		cfg->usages[i].src = up_src(&u, line);
		if (!m->usages[i] || !*m->usages[i])
			up_err(&u, line, "usages: empty item");
		else
			cfg->usages[i].name = up_str(&u, m->usages[i]);
	}

	UP_SECTION(&u, routes, m->routes, m->n_routes, up_route);
	UP_SECTION(&u, policies, m->policies, m->n_policies, up_policy);
	UP_SECTION(&u, assignments, m->assignments, m->n_assignments, up_assignment);
	UP_SECTION(&u, dial_plans, m->dial_plans, m->n_dial_plans, up_dial_plan);

out:
	if (u.oom) {
		struct rt_src src = {source, 0};
		rt_diag_add(diag, &src, NULL, NULL, "out of memory");
		u.errors++;
	}
	if (u.errors) {
		rt_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct rt_config *cfg_proto_unpack(const uint8_t *buf, size_t len, struct rt_diag *diag)
{
	Strowger__Config *m = strowger__config__unpack(NULL, len, buf);
	if (!m) {
		struct rt_src src = {CFG_PROTO_SOURCE, 0};
		rt_diag_add(diag, &src, NULL, NULL, "malformed protobuf Config (%zu bytes)", len);
		return NULL;
	}
	struct rt_config *cfg = cfg_proto_from_msg(m, diag);
	strowger__config__free_unpacked(m, NULL);
	return cfg;
}
