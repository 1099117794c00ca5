/*
 * ctl_query: `strowgerctl query` and `explain`. See ctl_query.h for the
 * argument struct shared by the offline and (later) server modes.
 */
#include "ctl_query.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmd.h"
#include "ctl_offline.h"
#include "ctl_print.h"
#include "rt_snapshot.h"

enum {
	CTL_OPT_CONFIG = 256,
	CTL_OPT_CALLED,
	CTL_OPT_CALLING,
	CTL_OPT_POLICY,
	CTL_OPT_CALL_ID,
	CTL_OPT_TRIED,
	CTL_OPT_HEALTH,
	CTL_OPT_MAX,
	CTL_OPT_EXPLAIN,
	CTL_OPT_JSON,
};

static const struct option ctl_query_options[] = {
	{"config", required_argument, NULL, CTL_OPT_CONFIG},
	{"called", required_argument, NULL, CTL_OPT_CALLED},
	{"calling", required_argument, NULL, CTL_OPT_CALLING},
	{"policy", required_argument, NULL, CTL_OPT_POLICY},
	{"call-id", required_argument, NULL, CTL_OPT_CALL_ID},
	{"tried", required_argument, NULL, CTL_OPT_TRIED},
	{"health", required_argument, NULL, CTL_OPT_HEALTH},
	{"max", required_argument, NULL, CTL_OPT_MAX},
	{"explain", no_argument, NULL, CTL_OPT_EXPLAIN},
	{"json", no_argument, NULL, CTL_OPT_JSON},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Decimal digits only (no sign, no spaces), value <= max. 0 or -EINVAL. */
static int ctl_parse_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* GW:CODE, split at the last ':' so gateway names may contain one. */
static int ctl_parse_tried(struct ctl_query_args *a, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	unsigned long code;

	if (!colon || colon == arg ||
	    ctl_parse_uint(colon + 1, strlen(colon + 1), RT_CODE_MAX, &code) != 0) {
		fprintf(stderr, "strowgerctl: --tried '%s': expected GATEWAY:CODE, "
				"CODE 0..%d (0 = no response)\n", arg, RT_CODE_MAX);
		return -EINVAL;
	}
	if (a->n_tried >= RT_MAX_TRIED) {
		fprintf(stderr, "strowgerctl: at most %d --tried\n", RT_MAX_TRIED);
		return -EINVAL;
	}
	a->tried[a->n_tried].gateway = (struct rt_str){arg, (size_t)(colon - arg)};
	a->tried[a->n_tried].code = (uint16_t)code;
	a->n_tried++;
	return 0;
}

/* TARGET=STATE, split at the last '='. */
static int ctl_parse_health(struct ctl_query_args *a, const char *arg)
{
	const char *eq = strrchr(arg, '=');
	enum rt_health state;

	if (!eq || eq == arg || rt_health_parse(eq + 1, &state) != 0) {
		fprintf(stderr, "strowgerctl: --health '%s': expected GATEWAY=STATE or "
				"SITE=STATE, STATE up|degraded|down|draining|unknown\n", arg);
		return -EINVAL;
	}
	/* args->health has room for every option: see ctl_query_parse. */
	a->health[a->n_health++] = (struct ctl_health_arg){
		.target = arg,
		.target_len = (size_t)(eq - arg),
		.state = state,
	};
	return 0;
}

int ctl_query_parse(struct ctl_query_args *a, int argc, char **argv)
{
	unsigned long v;
	int c;

	*a = (struct ctl_query_args){0};
	/* No more --health than arguments: size the array once. */
	a->health = calloc((size_t)argc + 1, sizeof(*a->health));
	if (!a->health) {
		fprintf(stderr, "strowgerctl: out of memory\n");
		return -ENOMEM;
	}

	optind = 0; /* glibc: full re-initialisation */
	opterr = 0; /* our own messages, naming strowgerctl, not the command */
	while ((c = getopt_long(argc, argv, ":h", ctl_query_options, NULL)) != -1) {
		switch (c) {
		case CTL_OPT_CONFIG:
			a->config = optarg;
			break;
		case CTL_OPT_CALLED:
			a->called = optarg;
			break;
		case CTL_OPT_CALLING:
			a->calling = optarg;
			break;
		case CTL_OPT_POLICY:
			a->policy = optarg;
			break;
		case CTL_OPT_CALL_ID:
			a->call_id = optarg;
			break;
		case CTL_OPT_TRIED:
			if (ctl_parse_tried(a, optarg) != 0)
				return -EINVAL;
			break;
		case CTL_OPT_HEALTH:
			if (ctl_parse_health(a, optarg) != 0)
				return -EINVAL;
			break;
		case CTL_OPT_MAX:
			if (ctl_parse_uint(optarg, strlen(optarg), UINT32_MAX, &v) != 0) {
				fprintf(stderr, "strowgerctl: --max '%s': expected a number\n",
					optarg);
				return -EINVAL;
			}
			a->max = (uint32_t)v;
			break;
		case CTL_OPT_EXPLAIN:
			a->explain = true;
			break;
		case CTL_OPT_JSON:
			a->json = true;
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
	if (optind < argc) {
		fprintf(stderr, "strowgerctl: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!a->called) {
		fprintf(stderr, "strowgerctl: %s needs --called NUMBER\n", argv[0]);
		return -EINVAL;
	}
	if (!a->config) {
		fprintf(stderr, "strowgerctl: %s needs --config FILE\n", argv[0]);
		return -EINVAL;
	}
	return 0;
}

void ctl_query_args_free(struct ctl_query_args *a)
{
	free(a->health);
	a->health = NULL;
	a->n_health = 0;
}

void ctl_query_fill(const struct ctl_query_args *a, struct rt_query *q)
{
	*q = (struct rt_query){
		.called = rt_str_c(a->called),
		.calling = rt_str_c(a->calling),
		.policy = rt_str_c(a->policy),
		.call_id = rt_str_c(a->call_id),
		.n_tried = a->n_tried,
		.max_destinations = a->max,
		/* Without a Call-ID the order is the same on every run. */
		.seed = 0,
	};
	memcpy(q->tried, a->tried, a->n_tried * sizeof(a->tried[0]));
}

/*
 * Health arrays for the offline decision: every gateway and site unknown
 * (treated as up) but for the --health overrides. A name is looked up as a
 * gateway first, then as a site. 0, -ENOENT (message printed) or -ENOMEM.
 */
static int ctl_offline_health(const struct rt_snapshot *s, const struct ctl_query_args *a,
			      uint8_t **gw_out, uint8_t **site_out)
{
	/* calloc(0) may return NULL: keep one spare byte. */
	uint8_t *gw = calloc(rt_snapshot_gateway_count(s) + 1, 1);
	uint8_t *site = calloc(rt_snapshot_site_count(s) + 1, 1);
	int rc = -ENOMEM;

	if (!gw || !site) {
		fprintf(stderr, "strowgerctl: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < a->n_health; i++) {
		const struct ctl_health_arg *h = &a->health[i];
		long idx = rt_snapshot_gateway_index(s, h->target, h->target_len);
		if (idx >= 0) {
			gw[idx] = (uint8_t)h->state;
			continue;
		}
		idx = rt_snapshot_site_index(s, h->target, h->target_len);
		if (idx >= 0) {
			site[idx] = (uint8_t)h->state;
			continue;
		}
		fprintf(stderr, "strowgerctl: --health: no gateway or site named '%.*s' in %s\n",
			(int)h->target_len, h->target, rt_snapshot_source(s));
		rc = -ENOENT;
		goto out;
	}
	*gw_out = gw;
	*site_out = site;
	return 0;
out:
	free(gw);
	free(site);
	return rc;
}

static int ctl_query_offline(const struct ctl_query_args *a)
{
	struct rt_snapshot *snap = NULL;
	struct rt_scratch *sc = NULL;
	struct rt_answer *ans = NULL;
	struct rt_explain *ex = NULL;
	uint8_t *gw_health = NULL, *site_health = NULL;
	struct rt_query q;
	int rc = CTL_EXIT_FAIL;
	int err;

	if (ctl_offline_load(a->config, NULL, &snap) != 0)
		goto out;
	err = ctl_offline_health(snap, a, &gw_health, &site_health);
	if (err == -ENOENT)
		rc = CTL_EXIT_USAGE;
	if (err != 0)
		goto out;

	sc = rt_scratch_new(snap);
	/* Answer and explain are several KiB each: keep them off the stack. */
	ans = calloc(1, sizeof(*ans));
	ex = a->explain ? calloc(1, sizeof(*ex)) : NULL;
	if (!sc || !ans || (a->explain && !ex)) {
		fprintf(stderr, "strowgerctl: out of memory\n");
		goto out;
	}

	ctl_query_fill(a, &q);
	struct rt_health_view hv = {.gateway = gw_health, .site = site_health};
	rt_decide(snap, &hv, &q, sc, ans, ex);

	if (ctl_print_answer(stdout, a->json ? CTL_FORMAT_JSON : CTL_FORMAT_HUMAN, ans, ex) != 0) {
		fprintf(stderr, "strowgerctl: writing the answer: %s\n", strerror(EIO));
		goto out;
	}
	rc = CTL_EXIT_OK;
out:
	free(ex);
	free(ans);
	if (sc)
		rt_scratch_free(sc);
	free(gw_health);
	free(site_health);
	if (snap)
		rt_snapshot_free(snap);
	return rc;
}

static int ctl_query_run(int argc, char **argv, bool explain)
{
	struct ctl_query_args a;
	int rc, err;

	err = ctl_query_parse(&a, argc, argv);
	if (err == -ENOMEM) {
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	if (err != 0) {
		ctl_usage(stderr, argv[0]);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (a.help) {
		ctl_usage(stdout, argv[0]);
		rc = CTL_EXIT_OK;
		goto out;
	}
	if (explain)
		a.explain = true;
	rc = ctl_query_offline(&a);
out:
	ctl_query_args_free(&a);
	return rc;
}

int ctl_cmd_query(int argc, char **argv)
{
	return ctl_query_run(argc, argv, false);
}

int ctl_cmd_explain(int argc, char **argv)
{
	return ctl_query_run(argc, argv, true);
}
