/*
 * cfg_yaml: YAML config file -> rt_config.
 *
 * We use libyaml's document API (yaml_parser_load) rather than events: the
 * whole tree is in memory, keys can be looked at in any order (the object's
 * name is known before its other keys are checked, so every message can name
 * the object), and every node keeps its start mark for line numbers.
 *
 * Objects are described by small field tables (key, type, where it goes);
 * one generic routine checks unknown, duplicate and missing keys and types,
 * so every kind of object reports problems the same way.
 */
#include "cfg_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "rt_decide.h" /* RT_MAX_DEST: the most contacts an answer can hold */

/* Aliases share nodes, so a small document can reference a large list many
 * times; bound the work (each visited item or key) independently of them. */
#define CFG_YAML_VISIT_BASE (4u << 20)

struct cfg_loader {
	struct rt_config *cfg;
	struct rt_diag *diag;
	yaml_document_t *doc;
	const char *file; /* in the config arena */
	size_t errors;
	bool oom;
	bool too_complex;
	size_t visits, max_visits;
	/* The object being read, for messages: "kind 'name': prefix..." */
	const char *kind;
	const char *name;
	const char *prefix;
};

/* ------------------------------------------------------------------------ */
/* Messages */

static struct rt_src node_src(const struct cfg_loader *ld, const yaml_node_t *n)
{
	struct rt_src src = {ld->file, n ? (uint32_t)n->start_mark.line + 1 : 0};
	return src;
}

static void ld_err(struct cfg_loader *ld, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ld_err(struct cfg_loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct rt_src src = node_src(ld, n);
	rt_diag_add(ld->diag, &src, ld->kind, ld->name, "%s%s", ld->prefix ? ld->prefix : "",
		    msg);
	ld->errors++;
}

static const char *node_type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return "a scalar";
	default:
		return "nothing";
	}
}

/* False once the visit budget is spent (reported once). */
static bool ld_visit(struct cfg_loader *ld, const yaml_node_t *n)
{
	if (++ld->visits <= ld->max_visits)
		return true;
	if (!ld->too_complex) {
		ld->too_complex = true;
		/* About the document, not the object being read. */
		struct rt_src src = node_src(ld, n);
		rt_diag_add(ld->diag, &src, NULL, NULL,
			    "document too complex (aliases expand to more than %zu items)",
			    ld->max_visits);
		ld->errors++;
	}
	return false;
}

static char *ld_strdup(struct cfg_loader *ld, const char *s)
{
	char *r = rt_arena_strdup(ld->cfg->arena, s);
	if (!r)
		ld->oom = true;
	return r;
}

static void *ld_calloc(struct cfg_loader *ld, size_t n, size_t sz)
{
	if (!n)
		return NULL;
	void *r = rt_arena_calloc(ld->cfg->arena, n, sz);
	if (!r)
		ld->oom = true;
	return r;
}

/* ------------------------------------------------------------------------ */
/* Scalars */

static bool is_core_tag(const char *tag)
{
	return tag && !strncmp(tag, YAML_DEFAULT_SCALAR_TAG, strlen("tag:yaml.org,2002:"));
}

/* A local tag such as "!486" on an empty plain scalar: the operator wrote
 * an exclusion like `!486` and YAML read it as a tag on nothing. */
static bool is_tag_text(const yaml_node_t *n)
{
	const char *tag = (const char *)n->tag;
	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0 && tag &&
	       tag[0] == '!' && tag[1] != '\0' && !is_core_tag(tag);
}

static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    is_tag_text(n))
		return false;
	const char *v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/* The text of a scalar node (see is_tag_text), or NULL after an error. */
static const char *scalar_text(struct cfg_loader *ld, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		ld_err(ld, n, "%s must be a scalar, got %s", what, node_type_name(n));
		return NULL;
	}
	if (is_tag_text(n))
		return (const char *)n->tag;
	const char *tag = (const char *)n->tag;
	if (tag && tag[0] == '!' && tag[1] != '\0' && !is_core_tag(tag)) {
		ld_err(ld, n, "%s: unexpected YAML tag '%s' (quote the value)", what, tag);
		return NULL;
	}
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
		ld_err(ld, n, "%s must not contain NUL characters", what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* Strict decimal in [lo, hi]. */
static int scalar_u32(struct cfg_loader *ld, const yaml_node_t *n, const char *what,
		      uint32_t lo, uint32_t hi, uint32_t *out)
{
	const char *s = scalar_text(ld, n, what);
	if (!s)
		return -EINVAL;
	const char *p = s;
	bool neg = *p == '-';
	if (neg)
		p++;
	if (!*p || strspn(p, "0123456789") != strlen(p)) {
		ld_err(ld, n, "%s must be an integer, got '%s'", what, s);
		return -EINVAL;
	}
	uint64_t v = 0;
	bool big = false;
	for (; *p; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX) {
			big = true;
			break;
		}
	}
	if ((neg && v) || big || v < lo || v > hi) {
		ld_err(ld, n, "%s must be %u..%u, got %s", what, lo, hi, s);
		return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

static int scalar_bool(struct cfg_loader *ld, const yaml_node_t *n, const char *what, bool *out)
{
	const char *s = scalar_text(ld, n, what);
	if (!s)
		return -EINVAL;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "false") || !strcasecmp(s, "no")) {
		*out = false;
		return 0;
	}
	ld_err(ld, n, "%s must be true or false, got '%s'", what, s);
	return -EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Field tables */

enum cfg_ftype {
	CFG_F_STR,       /* const char *; empty only if allow_empty */
	CFG_F_OPT_STR,   /* const char *; empty means absent (NULL) */
	CFG_F_U32,       /* uint32_t in [lo, hi] */
	CFG_F_U16,       /* uint16_t in [lo, hi] */
	CFG_F_BOOL,      /* bool */
	CFG_F_TRANSPORT, /* enum rt_transport */
	CFG_F_STRLIST,   /* const char ** at off, size_t at off_n */
	CFG_F_RULES,     /* struct rt_cfg_rule * at off, size_t at off_n */
	CFG_F_CODES,     /* struct rt_codeset at off, bool at off_n (or NO_OFF) */
};

#define CFG_NO_OFF ((size_t)-1)

struct cfg_field {
	const char *key;
	enum cfg_ftype type;
	bool required;
	bool allow_empty;
	size_t off;
	size_t off_n;
	uint32_t lo, hi;
};

#define F_AT(obj, off, type) ((type *)(void *)((char *)(obj) + (off)))

static const struct cfg_field rule_fields[] = {
	{"match", CFG_F_STR, true, false, offsetof(struct rt_cfg_rule, match), CFG_NO_OFF, 0, 0},
	{"replace", CFG_F_STR, true, true, offsetof(struct rt_cfg_rule, replace), CFG_NO_OFF, 0,
	 0},
};

static int parse_object(struct cfg_loader *ld, const yaml_node_t *map,
			const struct cfg_field *fields, size_t nf, void *obj, uint32_t *present);

static int parse_strlist(struct cfg_loader *ld, const yaml_node_t *seq, const char *what,
			 const char ***out, size_t *n_out)
{
	if (seq->type != YAML_SEQUENCE_NODE) {
		ld_err(ld, seq, "%s must be a list, got %s", what, node_type_name(seq));
		return -EINVAL;
	}
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	const char **v = ld_calloc(ld, n, sizeof(*v));
	if (n && !v)
		return -ENOMEM;
	size_t k = 0;
	int rc = 0;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(ld->doc, *it);
		if (!ld_visit(ld, item))
			return -E2BIG;
		const char *s = is_null(item) ? "" : scalar_text(ld, item, what);
		if (!s) {
			rc = -EINVAL;
			continue;
		}
		if (!*s) {
			ld_err(ld, item, "%s: empty item", what);
			rc = -EINVAL;
			continue;
		}
		if (!(v[k++] = ld_strdup(ld, s)))
			return -ENOMEM;
	}
	*out = v;
	*n_out = k;
	return rc;
}

static int parse_rules(struct cfg_loader *ld, const yaml_node_t *seq, const char *what,
		       struct rt_cfg_rule **out, size_t *n_out)
{
	if (seq->type != YAML_SEQUENCE_NODE) {
		ld_err(ld, seq, "%s must be a list, got %s", what, node_type_name(seq));
		return -EINVAL;
	}
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	struct rt_cfg_rule *v = ld_calloc(ld, n, sizeof(*v));
	if (n && !v)
		return -ENOMEM;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%s rule: ", what);
	const char *saved = ld->prefix;
	size_t k = 0;
	int rc = 0;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(ld->doc, *it);
		if (!ld_visit(ld, item)) {
			rc = -E2BIG;
			break;
		}
		if (item->type != YAML_MAPPING_NODE) {
			ld_err(ld, item, "each item of %s must be a mapping {match, replace}, got %s",
			       what, node_type_name(item));
			rc = -EINVAL;
			continue;
		}
		ld->prefix = prefix;
		struct rt_cfg_rule *r = &v[k++];
		r->src = node_src(ld, item);
		int rc2 = parse_object(ld, item, rule_fields, sizeof(rule_fields) / sizeof(rule_fields[0]),
				       r, NULL);
		ld->prefix = saved;
		if (rc2 == -ENOMEM || rc2 == -E2BIG)
			return rc2;
		if (rc2)
			rc = rc2;
	}
	ld->prefix = saved;
	*out = v;
	*n_out = k;
	return rc;
}

/* Each item is checked alone first so a bad one is reported at its own line
 * (and all of them are), then the list is parsed as a whole. */
static int parse_codes(struct cfg_loader *ld, const yaml_node_t *seq, const char *what,
		       struct rt_codeset *out)
{
	if (seq->type != YAML_SEQUENCE_NODE) {
		ld_err(ld, seq, "%s must be a list, got %s", what, node_type_name(seq));
		return -EINVAL;
	}
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	const char **items = calloc(n ? n : 1, sizeof(*items));
	if (!items) {
		ld->oom = true;
		return -ENOMEM;
	}
	char err[256];
	struct rt_codeset one;
	size_t k = 0;
	int rc = 0;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(ld->doc, *it);
		if (!ld_visit(ld, item)) {
			rc = -E2BIG;
			goto out;
		}
		const char *s = is_null(item) ? "" : scalar_text(ld, item, what);
		if (!s) {
			rc = -EINVAL;
			continue;
		}
		if (rt_codeset_parse(&one, &s, 1, err, sizeof(err))) {
			ld_err(ld, item, "%s", err);
			rc = -EINVAL;
			continue;
		}
		items[k++] = s;
	}
	if (!rc && rt_codeset_parse(out, items, k, err, sizeof(err))) {
		ld_err(ld, seq, "%s", err);
		rc = -EINVAL;
	}
out:
	free(items);
	return rc;
}

/* Value of key `key` in mapping n if it is a non-empty scalar, else NULL. */
static const char *peek_name(struct cfg_loader *ld, const yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
		if (k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key) &&
		    v->type == YAML_SCALAR_NODE && !is_null(v)) {
			const char *s = is_tag_text(v) ? (const char *)v->tag
						       : (const char *)v->data.scalar.value;
			return *s ? s : NULL;
		}
	}
	return NULL;
}

static int parse_field(struct cfg_loader *ld, const struct cfg_field *f, const yaml_node_t *v,
		       void *obj)
{
	const char *s;
	uint32_t u;
	int rc;

	switch (f->type) {
	case CFG_F_STR:
	case CFG_F_OPT_STR:
		if (!(s = scalar_text(ld, v, f->key)))
			return -EINVAL;
		if (!*s && f->type == CFG_F_OPT_STR) {
			*F_AT(obj, f->off, const char *) = NULL;
			return 0;
		}
		if (!*s && !f->allow_empty) {
			ld_err(ld, v, "%s must not be empty", f->key);
			return -EINVAL;
		}
		if (!(*F_AT(obj, f->off, const char *) = ld_strdup(ld, s)))
			return -ENOMEM;
		return 0;
	case CFG_F_U32:
		if ((rc = scalar_u32(ld, v, f->key, f->lo, f->hi, &u)))
			return rc;
		*F_AT(obj, f->off, uint32_t) = u;
		return 0;
	case CFG_F_U16:
		if ((rc = scalar_u32(ld, v, f->key, f->lo, f->hi, &u)))
			return rc;
		*F_AT(obj, f->off, uint16_t) = (uint16_t)u;
		return 0;
	case CFG_F_BOOL:
		return scalar_bool(ld, v, f->key, F_AT(obj, f->off, bool));
	case CFG_F_TRANSPORT:
		if (!(s = scalar_text(ld, v, f->key)))
			return -EINVAL;
		if (rt_transport_parse(s, F_AT(obj, f->off, enum rt_transport))) {
			ld_err(ld, v, "%s must be udp, tcp or tls, got '%s'", f->key, s);
			return -EINVAL;
		}
		return 0;
	case CFG_F_STRLIST:
		return parse_strlist(ld, v, f->key, F_AT(obj, f->off, const char **),
				     F_AT(obj, f->off_n, size_t));
	case CFG_F_RULES:
		return parse_rules(ld, v, f->key, F_AT(obj, f->off, struct rt_cfg_rule *),
				   F_AT(obj, f->off_n, size_t));
	case CFG_F_CODES:
		if ((rc = parse_codes(ld, v, f->key, F_AT(obj, f->off, struct rt_codeset))))
			return rc;
		if (f->off_n != CFG_NO_OFF)
			*F_AT(obj, f->off_n, bool) = true;
		return 0;
	}
	return -EINVAL;
}

/*
 * Fill obj from mapping map by the field table. *present (may be NULL) gets
 * one bit per field given with a non-null value. Returns 0, -EINVAL (errors
 * reported), -ENOMEM or -E2BIG (stop everything).
 */
static int parse_object(struct cfg_loader *ld, const yaml_node_t *map,
			const struct cfg_field *fields, size_t nf, void *obj, uint32_t *present)
{
	uint32_t seen = 0, given = 0;
	int rc = 0;

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
		if (!ld_visit(ld, k))
			return -E2BIG;
		if (k->type != YAML_SCALAR_NODE) {
			ld_err(ld, k, "keys must be scalars, got %s", node_type_name(k));
			rc = -EINVAL;
			continue;
		}
		const char *key = (const char *)k->data.scalar.value;
		size_t i;
		for (i = 0; i < nf && strcmp(fields[i].key, key); i++)
			;
		if (i == nf) {
			ld_err(ld, k, "unknown key '%s'", key);
			rc = -EINVAL;
			continue;
		}
		if (seen & (1u << i)) {
			ld_err(ld, k, "duplicate key '%s'", key);
			rc = -EINVAL;
			continue;
		}
		seen |= 1u << i;
		if (is_null(v))
			continue;
		given |= 1u << i;
		int rc2 = parse_field(ld, &fields[i], v, obj);
		if (rc2 == -ENOMEM || rc2 == -E2BIG)
			return rc2;
		if (rc2)
			rc = rc2;
	}
	for (size_t i = 0; i < nf; i++) {
		if (fields[i].required && !(given & (1u << i))) {
			ld_err(ld, map, "missing '%s'", fields[i].key);
			rc = -EINVAL;
		}
	}
	if (present)
		*present = given;
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Top-level sections */

#define FLD(key, type, req, st, member) \
	{key, type, req, false, offsetof(st, member), CFG_NO_OFF, 0, 0}
#define FLD_N(key, type, req, st, member, n_member) \
	{key, type, req, false, offsetof(st, member), offsetof(st, n_member), 0, 0}
#define FLD_R(key, type, st, member, lo, hi) \
	{key, type, false, false, offsetof(st, member), CFG_NO_OFF, lo, hi}

static const struct cfg_field gateway_fields[] = {
	FLD("name", CFG_F_STR, true, struct rt_cfg_gateway, name),
	FLD("address", CFG_F_STR, true, struct rt_cfg_gateway, address),
	FLD_R("port", CFG_F_U16, struct rt_cfg_gateway, port, 1, 65535),
	FLD("transport", CFG_F_TRANSPORT, false, struct rt_cfg_gateway, transport),
	FLD("site", CFG_F_OPT_STR, false, struct rt_cfg_gateway, site),
	FLD_R("priority", CFG_F_U32, struct rt_cfg_gateway, priority, 0, 65535),
	FLD_R("weight", CFG_F_U32, struct rt_cfg_gateway, weight, 0, 65535),
	FLD_N("failover_codes", CFG_F_CODES, false, struct rt_cfg_gateway, failover_codes,
	      has_failover_codes),
};

static const struct cfg_field trunk_fields[] = {
	FLD("name", CFG_F_STR, true, struct rt_cfg_trunk, name),
	FLD("gateway", CFG_F_STR, true, struct rt_cfg_trunk, gateway),
	FLD_N("called", CFG_F_RULES, false, struct rt_cfg_trunk, called, n_called),
	FLD_N("calling", CFG_F_RULES, false, struct rt_cfg_trunk, calling, n_calling),
};

static const struct cfg_field usage_fields[] = {
	FLD("name", CFG_F_STR, true, struct rt_cfg_usage, name),
};

static const struct cfg_field route_fields[] = {
	FLD("name", CFG_F_STR, true, struct rt_cfg_route, name),
	FLD("pattern", CFG_F_STR, true, struct rt_cfg_route, pattern),
	FLD_N("usages", CFG_F_STRLIST, false, struct rt_cfg_route, usages, n_usages),
	FLD_N("trunks", CFG_F_STRLIST, false, struct rt_cfg_route, trunks, n_trunks),
	FLD_R("priority", CFG_F_U32, struct rt_cfg_route, priority, 0, UINT32_MAX),
	FLD("fallback", CFG_F_OPT_STR, false, struct rt_cfg_route, fallback),
};

static const struct cfg_field policy_fields[] = {
	FLD("name", CFG_F_STR, true, struct rt_cfg_policy, name),
	FLD_N("usages", CFG_F_STRLIST, false, struct rt_cfg_policy, usages, n_usages),
	FLD("dial_plan", CFG_F_OPT_STR, false, struct rt_cfg_policy, dial_plan),
	FLD("default", CFG_F_BOOL, false, struct rt_cfg_policy, is_default),
};

/* `calling` (preferred) and `pattern` are the same field. */
enum { ASSIGN_CALLING = 0, ASSIGN_PATTERN = 1 };
static const struct cfg_field assignment_fields[] = {
	FLD("calling", CFG_F_STR, false, struct rt_cfg_assignment, pattern),
	FLD("pattern", CFG_F_STR, false, struct rt_cfg_assignment, pattern),
	FLD("policy", CFG_F_STR, true, struct rt_cfg_assignment, policy),
};

static const struct cfg_field dial_plan_fields[] = {
	FLD("name", CFG_F_STR, true, struct rt_cfg_dial_plan, name),
	FLD("default", CFG_F_BOOL, false, struct rt_cfg_dial_plan, is_default),
	FLD_N("rules", CFG_F_RULES, false, struct rt_cfg_dial_plan, rules, n_rules),
};

static const struct cfg_field failover_fields[] = {
	FLD("codes", CFG_F_CODES, false, struct rt_config, failover_codes),
};

static const struct cfg_field sip_fields[] = {
	FLD_R("max_contacts", CFG_F_U32, struct rt_cfg_sip, max_contacts, 1, RT_MAX_DEST),
	FLD_R("retry_after", CFG_F_U32, struct rt_cfg_sip, retry_after, 0, 86400),
};

#define NF(t) (sizeof(t) / sizeof((t)[0]))

/* How one list section is read. */
struct cfg_section {
	const char *key;  /* top-level key */
	const char *kind; /* for messages */
	const struct cfg_field *fields;
	size_t nf;
	size_t size;           /* element size */
	size_t off_src;        /* struct rt_src in the element */
	size_t off_arr, off_n; /* array and count in struct rt_config */
	bool scalar_items;     /* items may be a bare name (usages) */
	void (*init)(void *elem);
};

static void gateway_init(void *elem)
{
	rt_cfg_gateway_defaults(elem);
}

#define SECTION(key, kind, fields, st, arr, scalar, init)                                      \
	{key, kind, fields, NF(fields), sizeof(st), offsetof(st, src),                       \
	 offsetof(struct rt_config, arr), offsetof(struct rt_config, n_##arr), scalar, init}

static const struct cfg_section sections[] = {
	SECTION("gateways", "gateway", gateway_fields, struct rt_cfg_gateway, gateways, false,
		gateway_init),
	SECTION("trunks", "trunk", trunk_fields, struct rt_cfg_trunk, trunks, false, NULL),
	SECTION("usages", "usage", usage_fields, struct rt_cfg_usage, usages, true, NULL),
	SECTION("routes", "route", route_fields, struct rt_cfg_route, routes, false, NULL),
	SECTION("policies", "policy", policy_fields, struct rt_cfg_policy, policies, false, NULL),
	SECTION("assignments", "assignment", assignment_fields, struct rt_cfg_assignment,
		assignments, false, NULL),
	SECTION("dial_plans", "dial plan", dial_plan_fields, struct rt_cfg_dial_plan, dial_plans,
		false, NULL),
};

/* Messages name the object ("route 'X': ...") once it is one. */
static int parse_item(struct cfg_loader *ld, const struct cfg_section *sec,
		      const yaml_node_t *item, void *elem)
{
	*F_AT(elem, sec->off_src, struct rt_src) = node_src(ld, item);
	if (sec->scalar_items && item->type == YAML_SCALAR_NODE) {
		/* usages: [Local, ...] */
		const char *s = is_null(item) ? "" : scalar_text(ld, item, sec->key);
		if (!s)
			return -EINVAL;
		if (!*s) {
			ld_err(ld, item, "%s: empty item", sec->key);
			return -EINVAL;
		}
		const char **name = F_AT(elem, sec->fields[0].off, const char *);
		return (*name = ld_strdup(ld, s)) ? 0 : -ENOMEM;
	}
	if (item->type != YAML_MAPPING_NODE) {
		ld_err(ld, item, "each item of '%s' must be a mapping%s, got %s", sec->key,
		       sec->scalar_items ? " or a name" : "", node_type_name(item));
		return -EINVAL;
	}
	ld->kind = sec->kind;
	ld->name = peek_name(ld, item, "name");
	uint32_t present = 0;
	int rc = parse_object(ld, item, sec->fields, sec->nf, elem, &present);
	if (rc == -ENOMEM || rc == -E2BIG)
		return rc;
	if (sec->fields == assignment_fields) {
		uint32_t both = (1u << ASSIGN_CALLING) | (1u << ASSIGN_PATTERN);
		if ((present & both) == both) {
			ld_err(ld, item, "give 'calling' or 'pattern', not both");
			rc = -EINVAL;
		} else if (!(present & both)) {
			ld_err(ld, item, "missing 'calling'");
			rc = -EINVAL;
		}
	}
	return rc;
}

static int parse_section(struct cfg_loader *ld, const struct cfg_section *sec,
			 const yaml_node_t *seq)
{
	if (seq->type != YAML_SEQUENCE_NODE) {
		ld_err(ld, seq, "%s must be a list, got %s", sec->key, node_type_name(seq));
		return -EINVAL;
	}
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	char *arr = ld_calloc(ld, n, sec->size);
	if (n && !arr)
		return -ENOMEM;
	*F_AT(ld->cfg, sec->off_arr, void *) = arr;
	int rc = 0;
	size_t k = 0;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(ld->doc, *it);
		if (!ld_visit(ld, item)) {
			rc = -E2BIG;
			break;
		}
		void *elem = arr + k++ * sec->size;
		if (sec->init)
			sec->init(elem);
		int rc2 = parse_item(ld, sec, item, elem);
		ld->kind = ld->name = NULL;
		if (rc2 == -ENOMEM || rc2 == -E2BIG) {
			rc = rc2;
			break;
		}
		if (rc2)
			rc = rc2;
	}
	*F_AT(ld->cfg, sec->off_n, size_t) = k;
	return rc;
}

static int parse_map_section(struct cfg_loader *ld, const char *key, const char *kind,
			     const struct cfg_field *fields, size_t nf, void *obj,
			     const yaml_node_t *v)
{
	if (v->type != YAML_MAPPING_NODE) {
		ld_err(ld, v, "%s must be a mapping, got %s", key, node_type_name(v));
		return -EINVAL;
	}
	ld->kind = kind;
	int rc = parse_object(ld, v, fields, nf, obj, NULL);
	ld->kind = NULL;
	return rc;
}

static int parse_root(struct cfg_loader *ld, const yaml_node_t *root)
{
	static const char *const keys[] = {"failover", "sip"};
	uint32_t seen = 0;
	int rc = 0;

	if (root->type != YAML_MAPPING_NODE) {
		ld_err(ld, root, "top level must be a mapping, got %s", node_type_name(root));
		return -EINVAL;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
		if (!ld_visit(ld, k))
			return -E2BIG;
		if (k->type != YAML_SCALAR_NODE) {
			ld_err(ld, k, "keys must be scalars, got %s", node_type_name(k));
			rc = -EINVAL;
			continue;
		}
		const char *key = (const char *)k->data.scalar.value;
		/* Index: 0 failover, 1 sip, 2.. sections[]. */
		size_t i, nkeys = NF(keys) + NF(sections);
		for (i = 0; i < nkeys; i++)
			if (!strcmp(key, i < NF(keys) ? keys[i] : sections[i - NF(keys)].key))
				break;
		if (i == nkeys) {
			ld_err(ld, k, "unknown top-level key '%s'", key);
			rc = -EINVAL;
			continue;
		}
		if (seen & (1u << i)) {
			ld_err(ld, k, "duplicate top-level key '%s'", key);
			rc = -EINVAL;
			continue;
		}
		seen |= 1u << i;
		if (is_null(v))
			continue;
		int rc2;
		if (i == 0) {
			ld->cfg->failover_src = node_src(ld, k);
			rc2 = parse_map_section(ld, key, "failover", failover_fields,
						NF(failover_fields), ld->cfg, v);
		} else if (i == 1) {
			rc2 = parse_map_section(ld, key, "sip", sip_fields, NF(sip_fields),
						&ld->cfg->sip, v);
		} else {
			rc2 = parse_section(ld, &sections[i - NF(keys)], v);
		}
		if (rc2 == -ENOMEM || rc2 == -E2BIG)
			return rc2;
		if (rc2)
			rc = rc2;
	}
	return rc;
}

/* ------------------------------------------------------------------------ */
/* The `!486` trap */

/*
 * libyaml reads `!486` as a tag. In a block list (`- !486`) that gives a
 * tagged empty scalar, which scalar_text() turns back into "!486". In a flow
 * list (`[300-699, !486, !600]`) libyaml 0.2.5 goes further: it ends the tag
 * at ',' but then insists on whitespace after it and reports a syntax error,
 * although YAML allows it. So before parsing, a `!CODE` or `!LOW-HIGH` token
 * that sits inside [] or {} and is directly followed by ',', ']' or '}' gets
 * a space inserted after it. Quoted strings and comments are skipped. Only
 * spaces are inserted, so line numbers are unchanged; and the rewritten
 * spots were syntax errors before, so no valid document changes meaning.
 * Returns a malloc'd copy, or NULL when nothing needs changing (or ENOMEM:
 * then libyaml reports the original error).
 */
static size_t flow_tag_len(const char *s, size_t i, size_t len)
{
	size_t j = i + 1, d = 0;
	while (j < len && s[j] >= '0' && s[j] <= '9')
		j++, d++;
	if (!d)
		return 0;
	if (j < len && s[j] == '-') {
		size_t j2 = j + 1;
		d = 0;
		while (j2 < len && s[j2] >= '0' && s[j2] <= '9')
			j2++, d++;
		if (!d)
			return 0;
		j = j2;
	}
	if (j < len && (s[j] == ',' || s[j] == ']' || s[j] == '}'))
		return j - i;
	return 0;
}

static char *fix_flow_tags(const char *s, size_t len, size_t *out_len)
{
	enum { PLAIN, SQUOTE, DQUOTE, COMMENT } st = PLAIN;
	size_t depth = 0, nfix = 0;
	char *out = NULL;
	size_t w = 0;

	/* Pass 0 counts, pass 1 copies. */
	for (int pass = 0; pass < 2; pass++) {
		st = PLAIN;
		depth = 0;
		for (size_t i = 0; i < len; i++) {
			char c = s[i];
			char prev = i ? s[i - 1] : '\n';
			bool tok_start = prev == ' ' || prev == '\t' || prev == '\n' || prev == '\r' ||
					 prev == '[' || prev == '{' || prev == ',';
			size_t tl = 0;
			switch (st) {
			case PLAIN:
				if (c == '#' && (prev == ' ' || prev == '\t' || prev == '\n' ||
						 prev == '\r'))
					st = COMMENT;
				else if (c == '\'' && tok_start)
					st = SQUOTE;
				else if (c == '"' && tok_start)
					st = DQUOTE;
				else if (c == '[' || c == '{')
					depth++;
				else if ((c == ']' || c == '}') && depth)
					depth--;
				else if (c == '!' && depth && tok_start)
					tl = flow_tag_len(s, i, len);
				break;
			case SQUOTE:
				if (c == '\'') {
					if (i + 1 < len && s[i + 1] == '\'') {
						if (pass)
							out[w++] = c;
						i++;
					} else {
						st = PLAIN;
					}
				}
				break;
			case DQUOTE:
				if (c == '\\' && i + 1 < len) {
					if (pass)
						out[w++] = c;
					i++;
					c = s[i];
				} else if (c == '"') {
					st = PLAIN;
				}
				break;
			case COMMENT:
				if (c == '\n')
					st = PLAIN;
				break;
			}
			if (tl) {
				if (pass) {
					memcpy(out + w, s + i, tl);
					w += tl;
					out[w++] = ' ';
				} else {
					nfix++;
				}
				i += tl - 1;
				continue;
			}
			if (pass)
				out[w++] = c;
		}
		if (!pass) {
			if (!nfix)
				return NULL;
			out = malloc(len + nfix);
			if (!out)
				return NULL;
		}
	}
	*out_len = w;
	return out;
}

/* ------------------------------------------------------------------------ */
/* Entry points */

static size_t line_of_offset(const char *buf, size_t len, size_t off)
{
	size_t line = 1;
	for (size_t i = 0; i < off && i < len; i++)
		line += buf[i] == '\n';
	return line;
}

static void report_yaml_error(struct cfg_loader *ld, const yaml_parser_t *p, const char *buf,
			      size_t len)
{
	struct rt_src src = {ld->file, 0};
	if (p->error == YAML_MEMORY_ERROR) {
		ld->oom = true;
		return;
	}
	if (p->error == YAML_READER_ERROR)
		src.line = (uint32_t)line_of_offset(buf, len, p->problem_offset);
	else
		src.line = (uint32_t)p->problem_mark.line + 1;
	rt_diag_add(ld->diag, &src, NULL, NULL, "YAML syntax error: %s",
		    p->problem ? p->problem : "unknown problem");
	ld->errors++;
}

struct rt_config *cfg_yaml_load_buffer(const char *buf, size_t len, const char *name,
				       struct rt_diag *diag)
{
	struct cfg_loader ld = {.diag = diag};
	yaml_parser_t parser;
	yaml_document_t doc;
	bool parser_ok = false, doc_ok = false;
	char *fixed = NULL;
	size_t fixed_len = 0;
	struct rt_config *cfg = NULL;

	if (!name)
		name = "<buffer>";
	if (len > CFG_YAML_MAX_INPUT) {
		struct rt_src src = {name, 0};
		rt_diag_add(diag, &src, NULL, NULL, "input too large (%zu bytes, limit %u MiB)", len,
			    CFG_YAML_MAX_INPUT >> 20);
		return NULL;
	}
	cfg = rt_config_new(name);
	if (!cfg)
		goto oom;
	ld.cfg = cfg;
	ld.file = cfg->source;

	fixed = fix_flow_tags(buf, len, &fixed_len);
	if (fixed) {
		buf = fixed;
		len = fixed_len;
	}
	if (!yaml_parser_initialize(&parser))
		goto oom;
	parser_ok = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		report_yaml_error(&ld, &parser, buf, len);
		goto out;
	}
	doc_ok = true;
	ld.doc = &doc;
	ld.max_visits = CFG_YAML_VISIT_BASE +
			2 * (size_t)(doc.nodes.top - doc.nodes.start);

	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root && !is_null(root))
		parse_root(&ld, root);

	/* A second document would be ignored silently otherwise. */
	if (!ld.errors && !ld.oom) {
		yaml_document_t next;
		if (!yaml_parser_load(&parser, &next)) {
			report_yaml_error(&ld, &parser, buf, len);
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&next);
			if (r2) {
				struct rt_src src = node_src(&ld, r2);
				rt_diag_add(diag, &src, NULL, NULL,
					    "only one YAML document is allowed");
				ld.errors++;
			}
			yaml_document_delete(&next);
		}
	}

out:
	if (ld.oom) {
		struct rt_src src = {name, 0};
		rt_diag_add(diag, &src, NULL, NULL, "out of memory");
		ld.errors++;
	}
	if (doc_ok)
		yaml_document_delete(&doc);
	if (parser_ok)
		yaml_parser_delete(&parser);
	free(fixed);
	if (ld.errors) {
		rt_config_free(cfg);
		return NULL;
	}
	return cfg;
oom:
	ld.oom = true;
	goto out;
}

char *cfg_read_file(const char *path, size_t *len, struct rt_diag *diag)
{
	struct rt_src src = {path, 0};
	char *buf = NULL;
	size_t cap = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	*len = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		rt_diag_add(diag, NULL, NULL, NULL, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rt_diag_add(diag, NULL, NULL, NULL, "cannot read %s: %s", path, strerror(EISDIR));
		goto fail;
	}
	/* Read until EOF rather than trusting st_size (0 for pipes and /proc),
	 * stopping once we hold more than the cap. */
	for (;;) {
		if (*len == cap) {
			if (*len > CFG_YAML_MAX_INPUT) {
				rt_diag_add(diag, &src, NULL, NULL, "input too large (limit %u MiB)",
					    CFG_YAML_MAX_INPUT >> 20);
				goto fail;
			}
			cap = cap ? cap * 2 : 64 * 1024;
			if (cap > CFG_YAML_MAX_INPUT + 1)
				cap = CFG_YAML_MAX_INPUT + 1;
			char *nb = realloc(buf, cap);
			if (!nb) {
				rt_diag_add(diag, &src, NULL, NULL, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rt_diag_add(diag, NULL, NULL, NULL, "cannot read %s: %s", path,
				    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	close(fd);
	if (!buf && !(buf = malloc(1))) {
		rt_diag_add(diag, &src, NULL, NULL, "out of memory");
		return NULL;
	}
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

struct rt_config *cfg_yaml_load_file(const char *path, struct rt_diag *diag)
{
	size_t len;
	char *buf = cfg_read_file(path, &len, diag);
	if (!buf)
		return NULL;
	struct rt_config *cfg = cfg_yaml_load_buffer(buf, len, path, diag);
	free(buf);
	return cfg;
}
