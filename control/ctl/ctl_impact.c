/*
 * ctl_impact: `strowgerctl impact FILE --down NAME...` and `strowgerctl diff
 * OLD NEW`: what a failure, or a config change, does to which numbers.
 *
 * Both work on normalised numbers (E.164, as route patterns see them): per
 * policy, the number space is cut into regions by which of the policy's
 * routes match (automata, control/lint), one to three example numbers are
 * taken from each region, and each example is decided with the real
 * decision (rt_decide) twice: healthy and failed, or old and new config.
 * Dial plans are left out of those decisions (the numbers are already
 * normalised); diff says when a policy's dial plan changed as well. Routes
 * whose patterns are not analysable are covered by sample numbers run
 * through the real matcher, and the output says so.
 *
 * impact classifies each region of each policy:
 *   loses every destination   no destination left (status after)
 *   falls to a fallback       the first destination is a route's fallback
 *   fails over                the first destination comes from another
 *                             route or usage (the gateways are named)
 *   only loses capacity       the first route is the same; the failed
 *                             gateways are no longer offered after it
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmd.h"
#include "ctl_conn.h"
#include "ctl_json.h"
#include "ctl_offline.h"
#include "lint.h"
#include "rt_decide.h"
#include "rt_diag.h"
#include "strowger.pb-c.h"

#define CTL_DEFAULT_CONTROL "/run/strowger/control.sock"
#define CTL_EX 3 /* examples per region */

/* snprintf whose truncation is expected (long names are cut, not overflowed). */
__attribute__((format(printf, 3, 4))) static void ctl_fmt(char *buf, size_t len,
							   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- one config, as impact and diff simulate it --------------------------------------- */

struct ctl_side {
	const char *path;
	struct rt_config *cfg;
	struct rt_snapshot *sim; /* the config without dial plans */
	struct rt_scratch *sc;
	struct lint_model m;
	bool have_model;
	int32_t *to_cfg; /* sim route id -> config route index */
	uint32_t *ids;
	char **samples; /* for patterns that are not analysable; lazily */
	size_t n_samples;
	bool samples_made;
	struct rt_answer *ans[2];
	struct rt_explain *ex;
};

static void ctl_side_close(struct ctl_side *s)
{
	if (s->have_model)
		lint_model_free(&s->m);
	lint_samples_free(s->samples, s->n_samples);
	free(s->to_cfg);
	free(s->ids);
	free(s->ans[0]);
	free(s->ans[1]);
	free(s->ex);
	if (s->sc)
		rt_scratch_free(s->sc);
	rt_snapshot_free(s->sim);
	rt_config_free(s->cfg);
	memset(s, 0, sizeof(*s));
}

/* Load (errors printed), then compile a copy without dial plans. 0 or -1. */
static int ctl_side_open(struct ctl_side *s, const char *path)
{
	struct rt_snapshot *snap = NULL;
	memset(s, 0, sizeof(*s));
	s->path = path;
	if (ctl_offline_load(path, &s->cfg, &snap) != 0) {
		fprintf(stderr, "%s: invalid\n", path);
		return -1;
	}
	rt_snapshot_free(snap);

	struct rt_config sim = *s->cfg;
	struct rt_cfg_policy *pols = calloc(s->cfg->n_policies + 1, sizeof(*pols));
	if (!pols)
		goto nomem;
	memcpy(pols, s->cfg->policies, s->cfg->n_policies * sizeof(*pols));
	for (size_t i = 0; i < s->cfg->n_policies; i++)
		pols[i].dial_plan = NULL;
	sim.policies = pols;
	sim.dial_plans = NULL;
	sim.n_dial_plans = 0;
	struct rt_diag d;
	rt_diag_init(&d);
	s->sim = rt_snapshot_build(&sim, CTL_OFFLINE_GENERATION, &d);
	if (!s->sim)
		rt_diag_print(&d, stderr);
	rt_diag_clear(&d);
	free(pols);
	if (!s->sim)
		return -1;

	size_t ns = rt_snapshot_route_count(s->sim);
	s->sc = rt_scratch_new(s->sim);
	s->to_cfg = calloc(ns + 1, sizeof(*s->to_cfg));
	s->ids = calloc(ns + 1, sizeof(*s->ids));
	s->ans[0] = malloc(sizeof(struct rt_answer));
	s->ans[1] = malloc(sizeof(struct rt_answer));
	s->ex = malloc(sizeof(struct rt_explain));
	if (!s->sc || !s->to_cfg || !s->ids || !s->ans[0] || !s->ans[1] || !s->ex ||
	    lint_model_build(&s->m, s->cfg, s->sim))
		goto nomem;
	s->have_model = true;
	for (size_t i = 0; i < ns; i++)
		s->to_cfg[i] = (int32_t)rt_index_get(&s->m.route_ix,
						     rt_snapshot_route_name(s->sim, i), (size_t)-1);
	return 0;
nomem:
	fprintf(stderr, "strowgerctl: out of memory\n");
	return -1;
}

/* The routes of policy p that match num, in walk order (config indices). */
static size_t ctl_side_matched(struct ctl_side *s, long p, const char *num, uint32_t *out)
{
	size_t n = 0;
	if (p < 0)
		return 0;
	long k = rt_match_routes(s->sim, s->sc, num, strlen(num), s->ids,
				 (uint32_t)rt_snapshot_route_count(s->sim));
	for (long i = 0; i < k && i < (long)rt_snapshot_route_count(s->sim); i++) {
		int32_t r = s->to_cfg[s->ids[i]];
		if (r < 0 || s->m.first_step[p][r] < 0)
			continue;
		/* Insert in walk order. */
		size_t j = n++;
		while (j > 0 && s->m.first_step[p][out[j - 1]] > s->m.first_step[p][r]) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = (uint32_t)r;
	}
	return n;
}

/* How many distinct routes policy p walks. */
static size_t ctl_side_reachable(const struct ctl_side *s, long p)
{
	size_t n = 0;
	for (size_t r = 0; p >= 0 && r < s->cfg->n_routes; r++)
		n += s->m.first_step[p][r] >= 0;
	return n;
}

static void ctl_side_decide(struct ctl_side *s, int which, const char *policy, const char *num,
			    const struct rt_health_view *h, bool explain)
{
	struct rt_query q = {
		.called = rt_str_c(num),
		.policy = rt_str_c(policy),
		.seed = 0,
	};
	rt_decide(s->sim, h, &q, s->sc, s->ans[which], explain ? s->ex : NULL);
}

static int ctl_side_samples(struct ctl_side *s)
{
	if (!s->samples_made) {
		s->samples_made = true;
		if (lint_sample_numbers(&s->m, LINT_MAX_STATES, &s->samples, &s->n_samples))
			return -ENOMEM;
	}
	return 0;
}

/* ---- describing answers --------------------------------------------------------------- */

static int ctl_str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint32_t ctl_gw_priority(const struct ctl_side *s, const char *gw)
{
	long g = gw ? rt_index_get(&s->m.gw_ix, gw, (size_t)-1) : -1;
	return g >= 0 ? s->cfg->gateways[g].priority : 0;
}

/* Destinations [from, *to) that share route, usage and gateway priority (or
 * one URI). Returns the end of the group. */
static uint32_t ctl_group_end(const struct ctl_side *s, const struct rt_answer *a, uint32_t from)
{
	const struct rt_dest *d0 = &a->dest[from];
	uint32_t i = from + 1;
	if (d0->uri)
		return i;
	for (; i < a->n_dest; i++) {
		const struct rt_dest *d = &a->dest[i];
		if (d->uri || d->degraded != d0->degraded || strcmp(d->route, d0->route) ||
		    strcmp(d->usage, d0->usage) ||
		    ctl_gw_priority(s, d->gateway) != ctl_gw_priority(s, d0->gateway))
			break;
	}
	return i;
}

/* Gateways of one group, sorted, joined with sep. */
static void ctl_group_names(const struct rt_answer *a, uint32_t from, uint32_t to, const char *sep,
			    char *buf, size_t len)
{
	const char *names[RT_MAX_DEST];
	uint32_t n = 0;
	size_t w = 0;
	for (uint32_t i = from; i < to && n < RT_MAX_DEST; i++)
		names[n++] = a->dest[i].uri ? a->dest[i].uri : a->dest[i].gateway;
	if (n > 1)
		qsort(names, n, sizeof(*names), ctl_str_cmp);
	buf[0] = '\0';
	for (uint32_t i = 0; i < n && w < len; i++)
		w += (size_t)snprintf(buf + w, len - w, "%s%s", i ? sep : "", names[i]);
}

/* The whole answer, order inside an equal-priority group ignored (it is a
 * weighted shuffle): "Dallas-GW1 > Red-GW1|Red-GW2", or the status. */
static void ctl_describe(const struct ctl_side *s, const struct rt_answer *a, char *buf,
			 size_t len)
{
	size_t w = 0;
	if (a->status != RT_ROUTED || a->n_dest == 0) {
		snprintf(buf, len, "%s (%u)", rt_status_name(a->status), a->code);
		return;
	}
	buf[0] = '\0';
	for (uint32_t i = 0; i < a->n_dest && w < len;) {
		uint32_t e = ctl_group_end(s, a, i);
		char names[1024];
		ctl_group_names(a, i, e, "|", names, sizeof(names));
		w += (size_t)snprintf(buf + w, len - w, "%s%s%s", i ? " > " : "", names,
				      a->dest[i].degraded ? " (degraded)" : "");
		i = e;
	}
}

/* The first group as prose: "Red-GW1, Red-GW2 via route 'R' (usage U)". */
static void ctl_first_group(const struct ctl_side *s, const struct rt_answer *a, char *buf,
			    size_t len)
{
	if (a->status != RT_ROUTED || a->n_dest == 0) {
		snprintf(buf, len, "%s", rt_status_name(a->status));
		return;
	}
	char names[1024];
	uint32_t e = ctl_group_end(s, a, 0);
	ctl_group_names(a, 0, e, ", ", names, sizeof(names));
	ctl_fmt(buf, len, "%s via route '%s' (usage %s)", names, a->dest[0].route,
		 a->dest[0].usage);
}

/* ---- regions and their outcomes -------------------------------------------------------- */

struct ctl_region {
	char *label;       /* "'A' ^pat$, 'B' ^pat$" */
	char *routes;      /* "A\tB" for JSON */
	char *routes_new;  /* diff: the new config's (routes: the old one's) */
	char *ex[CTL_EX];
	unsigned n_ex;
	bool every;        /* the region is every number */
	bool sampled;      /* found from sample numbers only */
};

struct ctl_group {
	char *key;
	int effect;
	char *detail; /* what happens */
	char *was;    /* what happened before */
	char *to_gws; /* fails over to: gateways, "\t"-separated (JSON) */
	char *to_route, *to_usage;
	struct ctl_region *reg;
	size_t n_reg, cap;
};

struct ctl_policy_out {
	const char *name;
	const char *note;
	struct ctl_group *g;
	size_t n_g, cap;
	bool complete;
	size_t regions;
};

static void ctl_group_free(struct ctl_group *g)
{
	for (size_t i = 0; i < g->n_reg; i++) {
		free(g->reg[i].label);
		free(g->reg[i].routes);
		free(g->reg[i].routes_new);
		for (unsigned k = 0; k < g->reg[i].n_ex; k++)
			free(g->reg[i].ex[k]);
	}
	free(g->reg);
	free(g->key);
	free(g->detail);
	free(g->was);
	free(g->to_gws);
	free(g->to_route);
	free(g->to_usage);
}

static void ctl_policy_out_free(struct ctl_policy_out *p)
{
	for (size_t i = 0; i < p->n_g; i++)
		ctl_group_free(&p->g[i]);
	free(p->g);
}

static struct ctl_group *ctl_group_get(struct ctl_policy_out *p, const char *key, bool *fresh)
{
	*fresh = false;
	for (size_t i = 0; i < p->n_g; i++)
		if (!strcmp(p->g[i].key, key))
			return &p->g[i];
	if (p->n_g == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 8;
		struct ctl_group *ng = realloc(p->g, nc * sizeof(*ng));
		if (!ng)
			return NULL;
		p->g = ng;
		p->cap = nc;
	}
	struct ctl_group *g = &p->g[p->n_g];
	memset(g, 0, sizeof(*g));
	if (!(g->key = strdup(key)))
		return NULL;
	p->n_g++;
	*fresh = true;
	return g;
}

/* Add an example to the region labelled label in g: 1 when the region is
 * new, 0 when it was known, -ENOMEM. */
static int ctl_group_add(struct ctl_group *g, const char *label, const char *routes,
			 const char *routes_new, const char *num, bool every, bool sampled)
{
	struct ctl_region *r = NULL;
	int fresh = 0;
	for (size_t i = 0; i < g->n_reg && !r; i++)
		if (!strcmp(g->reg[i].label, label))
			r = &g->reg[i];
	if (!r) {
		if (g->n_reg == g->cap) {
			size_t nc = g->cap ? g->cap * 2 : 8;
			struct ctl_region *nr = realloc(g->reg, nc * sizeof(*nr));
			if (!nr)
				return -ENOMEM;
			g->reg = nr;
			g->cap = nc;
		}
		r = &g->reg[g->n_reg];
		memset(r, 0, sizeof(*r));
		r->label = strdup(label);
		r->routes = strdup(routes);
		r->routes_new = routes_new ? strdup(routes_new) : NULL;
		if (!r->label || !r->routes || (routes_new && !r->routes_new))
			return -ENOMEM;
		r->sampled = sampled;
		g->n_reg++;
		fresh = 1;
	}
	r->every |= every;
	r->sampled &= sampled;
	for (unsigned k = 0; k < r->n_ex; k++)
		if (!strcmp(r->ex[k], num))
			return fresh;
	if (r->n_ex < CTL_EX && (r->ex[r->n_ex] = strdup(num)))
		r->n_ex++;
	return fresh;
}

/* Label and route list of a matched set (of the reachable routes of a
 * policy: "only" when some of them do not match). */
static void ctl_label(const struct ctl_side *s, const uint32_t *rs, size_t n, size_t reachable,
		      char *label, size_t llen, char *routes, size_t rlen)
{
	size_t lw = 0, rw = 0;
	label[0] = routes[0] = '\0';
	if (n < reachable)
		lw += (size_t)snprintf(label, llen, "only ");
	for (size_t i = 0; i < n; i++) {
		const struct rt_cfg_route *r = &s->cfg->routes[rs[i]];
		if (lw < llen)
			lw += (size_t)snprintf(label + lw, llen - lw, "%s'%s' %s", i ? ", " : "",
					       r->name, r->pattern);
		if (rw < rlen)
			rw += (size_t)snprintf(routes + rw, rlen - rw, "%s%s", i ? "\t" : "", r->name);
	}
}

/* The distinct routes policy p walks, analysable ones as automata. */
static size_t ctl_policy_dfas(const struct ctl_side *s, size_t p, const struct lx_dfa **out,
			      bool *unanalysable)
{
	size_t n = 0;
	for (uint32_t i = 0; i < s->m.n_walk[p]; i++) {
		uint32_t r = s->m.walk[p][i].route;
		if (s->m.first_step[p][r] != (int32_t)i)
			continue;
		if (s->m.route[r].st == LX_OK)
			out[n++] = &s->m.route[r].dfa;
		else
			*unanalysable = true;
	}
	return n;
}

struct ctl_cands {
	char **v;
	bool *sampled;
	size_t n, cap;
	bool every; /* one region, all numbers */
	bool complete;
};

static int ctl_cands_add(struct ctl_cands *c, const char *s, bool sampled)
{
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 64;
		char **nv = realloc(c->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		c->v = nv;
		bool *ns = realloc(c->sampled, nc * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		c->sampled = ns;
		c->cap = nc;
	}
	if (!(c->v[c->n] = strdup(s)))
		return -ENOMEM;
	c->sampled[c->n++] = sampled;
	return 0;
}

static void ctl_cands_free(struct ctl_cands *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
	free(c->sampled);
	memset(c, 0, sizeof(*c));
}

/* Example numbers for policy p of side a (and policy q of side b, for diff):
 * every region's examples, plus sample numbers when a route is not
 * analysable. */
static int ctl_candidates(struct ctl_side *a, size_t p, struct ctl_side *b, long q,
			  uint64_t max_states, struct ctl_cands *out)
{
	size_t na = a->cfg->n_routes + (b ? b->cfg->n_routes : 0);
	const struct lx_dfa **d = calloc(na + 1, sizeof(*d));
	bool unanalysable = false;
	struct lx_regions regs = {0};
	int rc = -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (!d)
		return -ENOMEM;
	size_t n = ctl_policy_dfas(a, p, d, &unanalysable);
	if (b && q >= 0)
		n += ctl_policy_dfas(b, (size_t)q, d + n, &unanalysable);
	rc = lint_route_regions(&a->m.u_e164, &a->m.u_plausible, d, n, max_states, &regs);
	if (rc == -ENOMEM)
		goto out;
	out->complete = regs.complete && !unanalysable;
	size_t nonempty = 0;
	for (size_t i = 0; i < regs.n; i++) {
		bool any = false;
		for (size_t w = 0; w < regs.sig_words; w++)
			any |= regs.v[i].sig[w] != 0;
		if (!any)
			continue;
		nonempty++;
		for (uint32_t k = 0; k < regs.v[i].n_wit; k++)
			if (ctl_cands_add(out, regs.v[i].wit[k], false))
				goto out;
	}
	out->every = regs.complete && !unanalysable && regs.n == 1 && nonempty == 1;
	if (unanalysable) {
		struct ctl_side *sides[2] = {a, b};
		for (int k = 0; k < 2; k++) {
			if (!sides[k])
				continue;
			if (ctl_side_samples(sides[k]))
				goto out;
			for (size_t i = 0; i < sides[k]->n_samples; i++)
				if (ctl_cands_add(out, sides[k]->samples[i], true))
					goto out;
		}
	}
	rc = 0;
out:
	lx_regions_free(&regs);
	free(d);
	return rc;
}

/* ---- options ----------------------------------------------------------------------------- */

enum {
	CTL_I_DOWN = 500,
	CTL_I_JSON,
	CTL_I_MAX_STATES,
	CTL_I_LIVE,
	CTL_I_CONTROL,
	CTL_I_TCP,
	CTL_I_TOKEN,
	CTL_I_TIMEOUT,
	CTL_I_EXIT_CODE,
};

static const struct option ctl_impact_options[] = {
	{"down", required_argument, NULL, CTL_I_DOWN},
	{"json", no_argument, NULL, CTL_I_JSON},
	{"max-states", required_argument, NULL, CTL_I_MAX_STATES},
	{"live", no_argument, NULL, CTL_I_LIVE},
	{"control", required_argument, NULL, CTL_I_CONTROL},
	{"control-tcp", required_argument, NULL, CTL_I_TCP},
	{"token-file", required_argument, NULL, CTL_I_TOKEN},
	{"timeout", required_argument, NULL, CTL_I_TIMEOUT},
	{"exit-code", no_argument, NULL, CTL_I_EXIT_CODE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct ctl_impact_args {
	const char **pos; /* positional */
	int n_pos;
	const char **down;
	int n_down;
	bool json, live, help, exit_code;
	uint64_t max_states;
	const char *control, *tcp, *token;
	int timeout_ms;
};

static int ctl_impact_parse(struct ctl_impact_args *a, int argc, char **argv, bool impact)
{
	int c;
	char *end;
	memset(a, 0, sizeof(*a));
	a->max_states = 2000000;
	a->timeout_ms = 5000;
	a->pos = calloc((size_t)argc + 1, sizeof(*a->pos));
	a->down = calloc((size_t)argc * 8 + 1, sizeof(*a->down));
	if (!a->pos || !a->down)
		return -ENOMEM;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", ctl_impact_options, NULL)) != -1) {
		if (!impact && c != CTL_I_JSON && c != CTL_I_MAX_STATES && c != CTL_I_EXIT_CODE &&
		    c != 'h' && c != ':' && c != '?') {
			fprintf(stderr, "strowgerctl: %s does not take %s\n", argv[0],
				argv[optind - 1]);
			return -EINVAL;
		}
		if (impact && c == CTL_I_EXIT_CODE) {
			fprintf(stderr, "strowgerctl: impact does not take --exit-code\n");
			return -EINVAL;
		}
		switch (c) {
		case CTL_I_DOWN: {
			/* NAME[,NAME...] */
			char *s = optarg;
			for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ","))
				if (*tok)
					a->down[a->n_down++] = tok;
			break;
		}
		case CTL_I_JSON:
			a->json = true;
			break;
		case CTL_I_MAX_STATES:
			a->max_states = strtoull(optarg, &end, 10);
			if (*end || !*optarg || a->max_states == 0 || optarg[0] == '-') {
				fprintf(stderr, "strowgerctl: --max-states '%s': a positive number\n",
					optarg);
				return -EINVAL;
			}
			break;
		case CTL_I_LIVE:
			a->live = true;
			break;
		case CTL_I_CONTROL:
			a->control = optarg;
			a->live = true;
			break;
		case CTL_I_TCP:
			a->tcp = optarg;
			a->live = true;
			break;
		case CTL_I_TOKEN:
			a->token = optarg;
			break;
		case CTL_I_TIMEOUT:
			a->timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || a->timeout_ms <= 0) {
				fprintf(stderr, "strowgerctl: --timeout '%s': milliseconds\n", optarg);
				return -EINVAL;
			}
			break;
		case CTL_I_EXIT_CODE:
			a->exit_code = true;
			break;
		case 'h':
			a->help = true;
			return 0;
		case ':':
			fprintf(stderr, "strowgerctl: %s needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "strowgerctl: unknown option '%s'\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	for (int i = optind; i < argc; i++)
		a->pos[a->n_pos++] = argv[i];
	if (a->control && a->tcp) {
		fprintf(stderr, "strowgerctl: --control and --control-tcp are exclusive\n");
		return -EINVAL;
	}
	return 0;
}

static void ctl_impact_args_free(struct ctl_impact_args *a)
{
	free(a->pos);
	free(a->down);
}

/* ---- impact ------------------------------------------------------------------------------- */

enum ctl_effect {
	CTL_EFF_NONE,
	CTL_EFF_LOSES_ALL,
	CTL_EFF_FALLBACK,
	CTL_EFF_FAILOVER,
	CTL_EFF_CAPACITY,
	CTL_EFF_OTHER,
	CTL_EFF_COUNT
};

static const char *const ctl_effect_id[CTL_EFF_COUNT] = {
	"unaffected", "loses_every_destination", "falls_to_fallback",
	"fails_over", "loses_capacity", "changes",
};

/* Live health from the server's status: effective state per name. */
static int ctl_live_health(const struct ctl_impact_args *a, const struct rt_snapshot *s,
			   uint8_t *gw, uint8_t *site, char *desc, size_t dlen)
{
	struct ctl_conn cn = {.fd = -1};
	const char *control = a->control;
	if (!control && !a->tcp) {
		const char *env = getenv("STROWGER_CONTROL");
		control = env && *env ? env : CTL_DEFAULT_CONTROL;
	}
	if (ctl_conn_open(&cn, control, a->tcp, a->token, a->timeout_ms) != 0)
		return -1;
	Strowger__ControlRequest req = STROWGER__CONTROL_REQUEST__INIT;
	Strowger__StatusRequest sr = STROWGER__STATUS_REQUEST__INIT;
	req.op_case = STROWGER__CONTROL_REQUEST__OP_STATUS;
	req.status = &sr;
	Strowger__ControlResponse *r = ctl_conn_call(&cn, &req);
	ctl_conn_close(&cn);
	if (!r || !r->ok || !r->status) {
		fprintf(stderr, "strowgerctl: impact: the server gave no status\n");
		if (r)
			strowger__control_response__free_unpacked(r, NULL);
		return -1;
	}
	size_t w = (size_t)snprintf(desc, dlen, "live health of generation %llu (%s)",
				    (unsigned long long)r->status->generation,
				    r->status->config_source ? r->status->config_source : "?");
	size_t notup = 0;
	for (size_t i = 0; i < r->status->n_health; i++) {
		const Strowger__HealthEntry *h = r->status->health[i];
		unsigned st = (unsigned)h->effective;
		if (st >= RT_HEALTH_COUNT)
			continue;
		long idx = -1;
		if (!strcmp(h->kind, "gateway") &&
		    (idx = rt_snapshot_gateway_index(s, h->name, (size_t)-1)) >= 0)
			gw[idx] = (uint8_t)st;
		else if (!strcmp(h->kind, "site") &&
			 (idx = rt_snapshot_site_index(s, h->name, (size_t)-1)) >= 0)
			site[idx] = (uint8_t)st;
		if (idx >= 0 && st != RT_HEALTH_UP && st != RT_HEALTH_UNKNOWN && w < dlen)
			w += (size_t)snprintf(desc + w, dlen - w, "%s %s=%s", notup++ ? "," : ":",
					      h->name, rt_health_name((enum rt_health)st));
	}
	if (!notup && w < dlen)
		snprintf(desc + w, dlen - w, ": everything up");
	strowger__control_response__free_unpacked(r, NULL);
	return 0;
}

/* Classify one number's before/after answers into a group key and texts. */
static enum ctl_effect ctl_classify(struct ctl_side *s, char *detail, size_t dlen, char *was,
				    size_t wlen)
{
	const struct rt_answer *b = s->ans[0], *a = s->ans[1];
	char db[2048], da[2048];
	ctl_describe(s, b, db, sizeof(db));
	ctl_describe(s, a, da, sizeof(da));
	ctl_first_group(s, b, was, wlen);
	if (!strcmp(db, da))
		return CTL_EFF_NONE;
	if (b->status != RT_ROUTED) {
		ctl_fmt(detail, dlen, "changes from %s to %s", db, da);
		return CTL_EFF_OTHER;
	}
	if (a->status != RT_ROUTED || a->n_dest == 0) {
		snprintf(detail, dlen, "%s (SIP %u)", rt_status_name(a->status), a->code);
		return CTL_EFF_LOSES_ALL;
	}
	const struct rt_dest *d0 = &a->dest[0], *b0 = &b->dest[0];
	if (!d0->uri == !b0->uri && d0->via_fallback == b0->via_fallback &&
	    (!d0->uri || !strcmp(d0->uri, b0->uri)) && !strcmp(d0->route, b0->route) &&
	    !strcmp(d0->usage, b0->usage)) {
		/* Same first route: what is gone. */
		size_t w = 0;
		detail[0] = '\0';
		for (uint32_t i = 0; i < b->n_dest; i++) {
			bool kept = false;
			const char *bn = b->dest[i].gateway ? b->dest[i].gateway : b->dest[i].uri;
			for (uint32_t k = 0; k < a->n_dest; k++) {
				const char *an = a->dest[k].gateway ? a->dest[k].gateway
								    : a->dest[k].uri;
				kept |= bn && an && !strcmp(bn, an);
			}
			if (!kept && w < dlen)
				w += (size_t)snprintf(detail + w, dlen - w, "%s%s", w ? ", " : "",
						      b->dest[i].gateway ? b->dest[i].gateway
									 : b->dest[i].uri);
		}
		if (w < dlen)
			ctl_fmt(detail + w, dlen - w, " no longer offered; route '%s' (usage %s) "
				"still comes first", d0->route, d0->usage);
		return CTL_EFF_CAPACITY;
	}
	if (d0->uri || d0->via_fallback) {
		/* A URI names its route; a number was routed again: explain says
		 * whose fallback it was. */
		const char *route = d0->route, *target = d0->uri;
		bool number = false;
		for (uint32_t i = 0; d0->via_fallback && i < s->ex->n_fallbacks && i < 8; i++) {
			const char *t = s->ex->fallbacks[i].target;
			if (t && s->ex->fallbacks[i].followed && strncmp(t, "sip:", 4) &&
			    strncmp(t, "sips:", 5) && strncmp(t, "tel:", 4)) {
				route = s->ex->fallbacks[i].route;
				target = t;
				number = true;
				break;
			}
		}
		ctl_fmt(detail, dlen, "the fallback %s %s of route '%s' (now %s)",
			number ? "number" : "URI", target ? target : "?", route ? route : "?", da);
		return CTL_EFF_FALLBACK;
	}
	char fg[1024];
	ctl_first_group(s, a, fg, sizeof(fg));
	ctl_fmt(detail, dlen, "%s", fg);
	return CTL_EFF_FAILOVER;
}

static void ctl_json_tabbed(struct ctl_json *j, const char *key, const char *tabbed)
{
	ctl_json_key(j, key);
	ctl_json_array_begin(j);
	if (tabbed && *tabbed) {
		char *copy = strdup(tabbed);
		for (char *save = NULL, *t = copy ? strtok_r(copy, "\t", &save) : NULL; t;
		     t = strtok_r(NULL, "\t", &save))
			ctl_json_string(j, t);
		free(copy);
	}
	ctl_json_array_end(j);
}

static void ctl_print_regions(const struct ctl_group *g)
{
	for (size_t r = 0; r < g->n_reg; r++) {
		const struct ctl_region *reg = &g->reg[r];
		printf("    %s%s%s: e.g. ", reg->every ? "every number (" : "numbers matching ",
		       reg->label, reg->every ? ")" : "");
		for (unsigned k = 0; k < reg->n_ex; k++)
			printf("%s%s", k ? ", " : "", reg->ex[k]);
		printf("%s\n", reg->sampled ? " (sample numbers: a pattern is not analysable)" : "");
	}
}

static void ctl_json_regions(struct ctl_json *j, const struct ctl_group *g)
{
	ctl_json_key(j, "regions");
	ctl_json_array_begin(j);
	for (size_t r = 0; r < g->n_reg; r++) {
		const struct ctl_region *reg = &g->reg[r];
		ctl_json_object_begin(j);
		if (reg->routes_new) {
			ctl_json_tabbed(j, "old_routes", reg->routes);
			ctl_json_tabbed(j, "new_routes", reg->routes_new);
		} else {
			ctl_json_tabbed(j, "routes", reg->routes);
		}
		ctl_json_kv_bool(j, "every_number", reg->every);
		ctl_json_kv_bool(j, "sampled", reg->sampled);
		ctl_json_key(j, "examples");
		ctl_json_array_begin(j);
		for (unsigned k = 0; k < reg->n_ex; k++)
			ctl_json_string(j, reg->ex[k]);
		ctl_json_array_end(j);
		ctl_json_object_end(j);
	}
	ctl_json_array_end(j);
}

/* Group order in the output: worst first. */
static int ctl_group_cmp(const void *x, const void *y)
{
	const struct ctl_group *a = x, *b = y;
	if (a->effect != b->effect)
		return a->effect < b->effect ? -1 : 1;
	return strcmp(a->key, b->key);
}

static int ctl_impact_policy(struct ctl_side *s, size_t p, const struct rt_health_view *before,
			     const struct rt_health_view *after, uint64_t max_states,
			     struct ctl_policy_out *out)
{
	const char *pname = s->cfg->policies[p].name;
	struct ctl_cands cands;
	uint32_t *matched = calloc(s->cfg->n_routes + 1, sizeof(*matched));
	char label[4096], routes[4096], detail[2048], was[1024], key[4096];
	int rc = -ENOMEM;
	memset(out, 0, sizeof(*out));
	out->name = pname;
	if (!matched)
		return -ENOMEM;
	if ((rc = ctl_candidates(s, p, NULL, -1, max_states, &cands)))
		goto out;
	out->complete = cands.complete;
	rc = -ENOMEM;
	for (size_t i = 0; i < cands.n; i++) {
		const char *num = cands.v[i];
		size_t nm = ctl_side_matched(s, (long)p, num, matched);
		if (!nm)
			continue; /* no route of the policy: NO_ROUTE / NOT_PERMITTED either way */
		out->regions++;
		ctl_side_decide(s, 0, pname, num, before, false);
		ctl_side_decide(s, 1, pname, num, after, true);
		enum ctl_effect e = ctl_classify(s, detail, sizeof(detail), was, sizeof(was));
		if (e == CTL_EFF_NONE)
			continue;
		snprintf(key, sizeof(key), "%d\t%s\t%s", (int)e, detail, was);
		bool fresh;
		struct ctl_group *g = ctl_group_get(out, key, &fresh);
		if (!g)
			goto out;
		if (fresh) {
			g->effect = (int)e;
			g->detail = strdup(detail);
			g->was = strdup(was);
			if (!g->detail || !g->was)
				goto out;
			if (e == CTL_EFF_FAILOVER || e == CTL_EFF_FALLBACK) {
				const struct rt_answer *a = s->ans[1];
				uint32_t end = ctl_group_end(s, a, 0);
				char names[1024];
				ctl_group_names(a, 0, end, "\t", names, sizeof(names));
				g->to_gws = strdup(names);
				g->to_route = strdup(a->dest[0].route ? a->dest[0].route : "");
				g->to_usage = strdup(a->dest[0].usage ? a->dest[0].usage : "");
			}
		}
		ctl_label(s, matched, nm, ctl_side_reachable(s, (long)p), label, sizeof(label), routes,
			  sizeof(routes));
		if (ctl_group_add(g, label, routes, NULL, num, cands.every, cands.sampled[i]) < 0)
			goto out;
	}
	if (out->n_g > 1)
		qsort(out->g, out->n_g, sizeof(*out->g), ctl_group_cmp);
	rc = 0;
out:
	ctl_cands_free(&cands);
	free(matched);
	return rc;
}

static const char *ctl_effect_title(int e)
{
	switch (e) {
	case CTL_EFF_LOSES_ALL:
		return "LOSES EVERY DESTINATION";
	case CTL_EFF_FALLBACK:
		return "FALLS TO A FALLBACK";
	case CTL_EFF_FAILOVER:
		return "FAILS OVER to";
	case CTL_EFF_CAPACITY:
		return "only loses capacity";
	default:
		return "changes";
	}
}

int ctl_cmd_impact(int argc, char **argv)
{
	struct ctl_impact_args a;
	struct ctl_side s = {0};
	struct ctl_policy_out *outs = NULL;
	uint8_t *gw0 = NULL, *site0 = NULL, *gw1 = NULL, *site1 = NULL;
	int rc = CTL_EXIT_USAGE;
	char baseline[2048] = "every gateway and site up";

	if (ctl_impact_parse(&a, argc, argv, true))
		goto usage;
	if (a.help) {
		ctl_usage(stdout, argv[0]);
		rc = CTL_EXIT_OK;
		goto out;
	}
	if (a.n_pos < 1) {
		fprintf(stderr, "strowgerctl: impact needs a FILE\n");
		goto usage;
	}
	/* Names after FILE are more --down targets. */
	for (int i = 1; i < a.n_pos; i++)
		a.down[a.n_down++] = a.pos[i];
	if (!a.n_down) {
		fprintf(stderr, "strowgerctl: impact needs --down GATEWAY|SITE\n");
		goto usage;
	}
	rc = CTL_EXIT_FAIL;
	if (ctl_side_open(&s, a.pos[0]))
		goto out;

	size_t ng = rt_snapshot_gateway_count(s.sim), ns = rt_snapshot_site_count(s.sim);
	gw0 = calloc(ng + 1, 1);
	site0 = calloc(ns + 1, 1);
	gw1 = calloc(ng + 1, 1);
	site1 = calloc(ns + 1, 1);
	outs = calloc(s.cfg->n_policies + 1, sizeof(*outs));
	if (!gw0 || !site0 || !gw1 || !site1 || !outs) {
		fprintf(stderr, "strowgerctl: out of memory\n");
		goto out;
	}
	if (a.live && ctl_live_health(&a, s.sim, gw0, site0, baseline, sizeof(baseline)))
		goto out;
	memcpy(gw1, gw0, ng);
	memcpy(site1, site0, ns);
	for (int i = 0; i < a.n_down; i++) {
		long g = rt_snapshot_gateway_index(s.sim, a.down[i], (size_t)-1);
		long st = g < 0 ? rt_snapshot_site_index(s.sim, a.down[i], (size_t)-1) : -1;
		if (g >= 0)
			gw1[g] = RT_HEALTH_DOWN;
		else if (st >= 0)
			site1[st] = RT_HEALTH_DOWN;
		else {
			fprintf(stderr, "strowgerctl: --down: no gateway or site named '%s' in %s\n",
				a.down[i], a.pos[0]);
			rc = CTL_EXIT_USAGE;
			goto out;
		}
	}
	struct rt_health_view before = {gw0, site0}, after = {gw1, site1};
	for (size_t p = 0; p < s.cfg->n_policies; p++)
		if (ctl_impact_policy(&s, p, &before, &after, a.max_states, &outs[p])) {
			fprintf(stderr, "strowgerctl: out of memory\n");
			goto out;
		}

	char downs[1024];
	size_t dw = 0;
	downs[0] = '\0';
	for (int i = 0; i < a.n_down && dw < sizeof(downs); i++)
		dw += (size_t)snprintf(downs + dw, sizeof(downs) - dw, "%s%s", i ? ", " : "",
				       a.down[i]);
	size_t count[CTL_EFF_COUNT] = {0};
	if (a.json) {
		struct ctl_json j;
		ctl_json_init(&j, stdout);
		ctl_json_object_begin(&j);
		ctl_json_kv_string(&j, "file", a.pos[0]);
		ctl_json_key(&j, "down");
		ctl_json_array_begin(&j);
		for (int i = 0; i < a.n_down; i++)
			ctl_json_string(&j, a.down[i]);
		ctl_json_array_end(&j);
		ctl_json_kv_string(&j, "baseline", baseline);
		ctl_json_key(&j, "policies");
		ctl_json_array_begin(&j);
		for (size_t p = 0; p < s.cfg->n_policies; p++) {
			const struct ctl_policy_out *po = &outs[p];
			ctl_json_object_begin(&j);
			ctl_json_kv_string(&j, "policy", po->name);
			ctl_json_kv_bool(&j, "unaffected", po->n_g == 0);
			ctl_json_kv_bool(&j, "exhaustive", po->complete);
			ctl_json_key(&j, "outcomes");
			ctl_json_array_begin(&j);
			for (size_t k = 0; k < po->n_g; k++) {
				const struct ctl_group *g = &po->g[k];
				ctl_json_object_begin(&j);
				ctl_json_kv_string(&j, "effect", ctl_effect_id[g->effect]);
				ctl_json_kv_string(&j, "detail", g->detail);
				ctl_json_kv_string(&j, "was", g->was);
				if (g->to_gws) {
					ctl_json_tabbed(&j, "to_gateways", g->to_gws);
					ctl_json_kv_string(&j, "to_route", g->to_route);
					ctl_json_kv_string(&j, "to_usage", g->to_usage);
				}
				ctl_json_regions(&j, g);
				ctl_json_object_end(&j);
			}
			ctl_json_array_end(&j);
			ctl_json_object_end(&j);
		}
		ctl_json_array_end(&j);
		ctl_json_object_end(&j);
		rc = ctl_json_finish(&j) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
		goto out;
	}

	printf("impact of %s down on %s (baseline: %s; normalised numbers, by policy)\n", downs,
	       a.pos[0], baseline);
	for (size_t p = 0; p < s.cfg->n_policies; p++) {
		const struct ctl_policy_out *po = &outs[p];
		int worst = CTL_EFF_COUNT;
		if (!po->n_g) {
			printf("policy '%s': unaffected%s\n", po->name,
			       po->regions ? "" : " (no route of it matches any number)");
			count[CTL_EFF_NONE]++;
			continue;
		}
		printf("policy '%s':%s\n", po->name,
		       po->complete ? "" : " (not exhaustive: some numbers are samples)");
		for (size_t k = 0; k < po->n_g; k++) {
			const struct ctl_group *g = &po->g[k];
			if (g->effect < worst)
				worst = g->effect;
			printf("  %s%s %s", ctl_effect_title(g->effect),
			       g->effect == CTL_EFF_FAILOVER ? "" : ":", g->detail);
			if (g->effect != CTL_EFF_CAPACITY)
				printf("; was %s", g->was);
			printf("\n");
			ctl_print_regions(g);
		}
		count[worst]++;
	}
	printf("summary (policies, by their worst effect): %zu lose every destination, %zu fall "
	       "to a fallback, %zu fail over, %zu only lose capacity, %zu unaffected\n",
	       count[CTL_EFF_LOSES_ALL], count[CTL_EFF_FALLBACK], count[CTL_EFF_FAILOVER],
	       count[CTL_EFF_CAPACITY], count[CTL_EFF_NONE]);
	rc = fflush(stdout) || ferror(stdout) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	goto out;
usage:
	ctl_usage(stderr, argv[0]);
out:
	if (outs)
		for (size_t p = 0; s.cfg && p < s.cfg->n_policies; p++)
			ctl_policy_out_free(&outs[p]);
	free(outs);
	free(gw0);
	free(site0);
	free(gw1);
	free(site1);
	ctl_side_close(&s);
	ctl_impact_args_free(&a);
	return rc;
}

/* ---- diff ---------------------------------------------------------------------------------- */

/* The rules of the dial plan policy p uses, as one string (to compare). */
static void ctl_dial_rules(const struct rt_config *cfg, const struct rt_cfg_policy *pol, char *buf,
			   size_t len)
{
	const struct rt_cfg_dial_plan *dp = NULL;
	for (size_t i = 0; i < cfg->n_dial_plans; i++) {
		const struct rt_cfg_dial_plan *d = &cfg->dial_plans[i];
		if (pol->dial_plan && *pol->dial_plan ? !strcmp(d->name, pol->dial_plan)
						      : d->is_default)
			dp = d;
	}
	size_t w = 0;
	buf[0] = '\0';
	for (size_t r = 0; dp && r < dp->n_rules && w < len; r++)
		w += (size_t)snprintf(buf + w, len - w, "%s\t%s\n", dp->rules[r].match,
				      dp->rules[r].replace);
}

struct ctl_route_sum {
	const char *route;
	size_t regions;
	char *policies; /* "\t"-joined, distinct */
	char *ex;
};

static void ctl_route_sum_add(struct ctl_route_sum **v, size_t *n, const char *route,
			      const char *policy, const char *ex)
{
	struct ctl_route_sum *x = NULL;
	for (size_t i = 0; i < *n && !x; i++)
		if (!strcmp((*v)[i].route, route))
			x = &(*v)[i];
	if (!x) {
		struct ctl_route_sum *nv = realloc(*v, (*n + 1) * sizeof(*nv));
		if (!nv)
			return;
		*v = nv;
		x = &nv[(*n)++];
		memset(x, 0, sizeof(*x));
		x->route = route;
		x->ex = strdup(ex);
		x->policies = strdup("");
	}
	x->regions++;
	if (!x->policies)
		return;
	/* distinct policy names */
	size_t pl = strlen(policy);
	for (const char *p = x->policies; *p;) {
		const char *e = strchr(p, '\t');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == pl && !strncmp(p, policy, pl))
			return;
		p += l + (e ? 1 : 0);
	}
	size_t ol = strlen(x->policies);
	char *np = realloc(x->policies, ol + pl + 2);
	if (!np)
		return;
	if (ol)
		np[ol++] = '\t';
	memcpy(np + ol, policy, pl + 1);
	x->policies = np;
}

int ctl_cmd_diff(int argc, char **argv)
{
	struct ctl_impact_args a;
	struct ctl_side s[2] = {{0}, {0}};
	struct ctl_policy_out *outs = NULL;
	struct ctl_route_sum *sums = NULL;
	size_t n_sums = 0, n_out = 0, changed = 0;
	uint32_t *m0 = NULL, *m1 = NULL;
	int rc = CTL_EXIT_USAGE;

	if (ctl_impact_parse(&a, argc, argv, false))
		goto usage;
	if (a.help) {
		ctl_usage(stdout, argv[0]);
		rc = CTL_EXIT_OK;
		goto out;
	}
	if (a.n_pos != 2) {
		fprintf(stderr, "strowgerctl: diff needs OLD and NEW\n");
		goto usage;
	}
	rc = CTL_EXIT_FAIL;
	if (ctl_side_open(&s[0], a.pos[0]) || ctl_side_open(&s[1], a.pos[1]))
		goto out;
	size_t np = s[0].cfg->n_policies + s[1].cfg->n_policies;
	outs = calloc(np + 1, sizeof(*outs));
	m0 = calloc(s[0].cfg->n_routes + 1, sizeof(*m0));
	m1 = calloc(s[1].cfg->n_routes + 1, sizeof(*m1));
	if (!outs || !m0 || !m1)
		goto nomem;

	char d0[4096], d1[4096], l0[4096], l1[4096], r0[4096], r1[4096];
	char key[8192], label[8192];
	/* Policies of NEW (those also in OLD compared), then those only in OLD. */
	for (size_t p = 0; p < s[1].cfg->n_policies; p++) {
		const struct rt_cfg_policy *pol = &s[1].cfg->policies[p];
		struct ctl_policy_out *po = &outs[n_out++];
		long q = rt_index_get(&s[0].m.policy_ix, pol->name, (size_t)-1);
		po->name = pol->name;
		if (q < 0) {
			po->note = "added";
			changed++;
			continue;
		}
		ctl_dial_rules(s[0].cfg, &s[0].cfg->policies[q], d0, sizeof(d0));
		ctl_dial_rules(s[1].cfg, pol, d1, sizeof(d1));
		if (strcmp(d0, d1))
			po->note = "dial plan changed too: dialled numbers may normalise differently";
		struct ctl_cands cands;
		if (ctl_candidates(&s[1], p, &s[0], q, a.max_states, &cands))
			goto nomem;
		po->complete = cands.complete;
		for (size_t i = 0; i < cands.n; i++) {
			const char *num = cands.v[i];
			size_t n0 = ctl_side_matched(&s[0], q, num, m0);
			size_t n1 = ctl_side_matched(&s[1], (long)p, num, m1);
			if (!n0 && !n1)
				continue;
			po->regions++;
			ctl_side_decide(&s[0], 0, pol->name, num, NULL, false);
			ctl_side_decide(&s[1], 0, pol->name, num, NULL, false);
			ctl_describe(&s[0], s[0].ans[0], d0, sizeof(d0));
			ctl_describe(&s[1], s[1].ans[0], d1, sizeof(d1));
			if (!strcmp(d0, d1))
				continue;
			snprintf(key, sizeof(key), "%s\t%s", d0, d1);
			bool fresh;
			struct ctl_group *g = ctl_group_get(po, key, &fresh);
			if (!g)
				goto nomem;
			if (fresh) {
				g->effect = CTL_EFF_OTHER;
				g->was = strdup(d0);
				g->detail = strdup(d1);
				if (!g->was || !g->detail)
					goto nomem;
			}
			ctl_label(&s[0], m0, n0, ctl_side_reachable(&s[0], q), l0, sizeof(l0), r0,
				  sizeof(r0));
			ctl_label(&s[1], m1, n1, ctl_side_reachable(&s[1], (long)p), l1, sizeof(l1),
				  r1, sizeof(r1));
			if (!strcmp(l0, l1))
				snprintf(label, sizeof(label), "%s", l0);
			else
				ctl_fmt(label, sizeof(label), "%s (old) / %s (new)",
					 n0 ? l0 : "no route", n1 ? l1 : "no route");
			int fresh_region = ctl_group_add(g, label, r0, r1, num, cands.every,
							 cands.sampled[i]);
			if (fresh_region < 0)
				goto nomem;
			if (!fresh_region)
				continue;
			/* By route: every route matching on either side, once per region. */
			for (size_t k = 0; k < n0; k++)
				ctl_route_sum_add(&sums, &n_sums, s[0].cfg->routes[m0[k]].name,
						  pol->name, num);
			for (size_t k = 0; k < n1; k++) {
				const char *rn = s[1].cfg->routes[m1[k]].name;
				bool dup = false;
				for (size_t x = 0; x < n0; x++)
					dup |= !strcmp(rn, s[0].cfg->routes[m0[x]].name);
				if (!dup)
					ctl_route_sum_add(&sums, &n_sums, rn, pol->name, num);
			}
		}
		ctl_cands_free(&cands);
		if (po->n_g)
			changed++;
	}
	for (size_t q = 0; q < s[0].cfg->n_policies; q++) {
		const struct rt_cfg_policy *pol = &s[0].cfg->policies[q];
		if (rt_index_get(&s[1].m.policy_ix, pol->name, (size_t)-1) >= 0)
			continue;
		struct ctl_policy_out *po = &outs[n_out++];
		po->name = pol->name;
		po->note = "removed";
		changed++;
	}

	if (a.json) {
		struct ctl_json j;
		ctl_json_init(&j, stdout);
		ctl_json_object_begin(&j);
		ctl_json_kv_string(&j, "old", a.pos[0]);
		ctl_json_kv_string(&j, "new", a.pos[1]);
		ctl_json_key(&j, "policies");
		ctl_json_array_begin(&j);
		for (size_t p = 0; p < n_out; p++) {
			const struct ctl_policy_out *po = &outs[p];
			ctl_json_object_begin(&j);
			ctl_json_kv_string(&j, "policy", po->name);
			ctl_json_kv_string(&j, "note", po->note);
			ctl_json_kv_bool(&j, "exhaustive", po->complete);
			ctl_json_key(&j, "changes");
			ctl_json_array_begin(&j);
			for (size_t k = 0; k < po->n_g; k++) {
				const struct ctl_group *g = &po->g[k];
				ctl_json_object_begin(&j);
				ctl_json_kv_string(&j, "old", g->was);
				ctl_json_kv_string(&j, "new", g->detail);
				ctl_json_regions(&j, g);
				ctl_json_object_end(&j);
			}
			ctl_json_array_end(&j);
			ctl_json_object_end(&j);
		}
		ctl_json_array_end(&j);
		ctl_json_key(&j, "routes");
		ctl_json_array_begin(&j);
		for (size_t i = 0; i < n_sums; i++) {
			ctl_json_object_begin(&j);
			ctl_json_kv_string(&j, "route", sums[i].route);
			ctl_json_kv_uint(&j, "regions", sums[i].regions);
			ctl_json_tabbed(&j, "policies", sums[i].policies);
			ctl_json_kv_string(&j, "example", sums[i].ex);
			ctl_json_object_end(&j);
		}
		ctl_json_array_end(&j);
		ctl_json_object_end(&j);
		rc = ctl_json_finish(&j) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	} else {
		printf("diff %s -> %s (normalised numbers; destinations as priority groups, "
		       "'|' inside a group, '>' between them)\n", a.pos[0], a.pos[1]);
		for (size_t p = 0; p < n_out; p++) {
			const struct ctl_policy_out *po = &outs[p];
			if (po->note && (!strcmp(po->note, "added") || !strcmp(po->note, "removed"))) {
				printf("policy '%s': %s\n", po->name, po->note);
				continue;
			}
			if (!po->n_g) {
				printf("policy '%s': no number changes destination%s%s\n", po->name,
				       po->note ? "; " : "", po->note ? po->note : "");
				continue;
			}
			printf("policy '%s':%s%s%s\n", po->name,
			       po->complete ? "" : " (not exhaustive: some numbers are samples)",
			       po->note ? " " : "", po->note ? po->note : "");
			for (size_t k = 0; k < po->n_g; k++) {
				const struct ctl_group *g = &po->g[k];
				printf("  was %s\n  now %s\n", g->was, g->detail);
				ctl_print_regions(g);
			}
		}
		if (n_sums) {
			printf("by route:\n");
			for (size_t i = 0; i < n_sums; i++) {
				size_t npol = 1;
				for (const char *c = sums[i].policies; c && *c; c++)
					npol += *c == '\t';
				printf("  '%s': %zu region%s in %zu polic%s changed, e.g. %s\n",
				       sums[i].route, sums[i].regions, sums[i].regions == 1 ? "" : "s",
				       npol, npol == 1 ? "y" : "ies", sums[i].ex ? sums[i].ex : "?");
			}
		}
		printf("summary: %zu of %zu policies change\n", changed, n_out);
		rc = fflush(stdout) || ferror(stdout) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	}
	if (rc == CTL_EXIT_OK && a.exit_code && changed)
		rc = 3;
	goto out;
nomem:
	fprintf(stderr, "strowgerctl: out of memory\n");
	rc = CTL_EXIT_FAIL;
	goto out;
usage:
	ctl_usage(stderr, argv[0]);
out:
	for (size_t p = 0; outs && p < n_out; p++)
		ctl_policy_out_free(&outs[p]);
	free(outs);
	for (size_t i = 0; i < n_sums; i++) {
		free(sums[i].policies);
		free(sums[i].ex);
	}
	free(sums);
	free(m0);
	free(m1);
	ctl_side_close(&s[0]);
	ctl_side_close(&s[1]);
	ctl_impact_args_free(&a);
	return rc;
}
