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

#include "ctl_client.h"
#include "ctl_cmd.h"
#include "ctl_json.h"
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
	CTL_OPT_SERVER,
	CTL_OPT_TIMEOUT,
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
	{"server", required_argument, NULL, CTL_OPT_SERVER},
	{"timeout", required_argument, NULL, CTL_OPT_TIMEOUT},
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

int ctl_query_parse(struct ctl_query_args *a, int argc, char **argv, bool need_called)
{
	unsigned long v;
	int c;

	*a = (struct ctl_query_args){.timeout_ms = 2000};
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
		case CTL_OPT_SERVER:
			a->server = optarg;
			break;
		case CTL_OPT_TIMEOUT:
			if (ctl_parse_uint(optarg, strlen(optarg), 3600000, &v) != 0 || v == 0) {
				fprintf(stderr, "strowgerctl: --timeout '%s': expected "
						"milliseconds, 1..3600000\n", optarg);
				return -EINVAL;
			}
			a->timeout_ms = (int)v;
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
	if (need_called && !a->called) {
		fprintf(stderr, "strowgerctl: %s needs --called NUMBER\n", argv[0]);
		return -EINVAL;
	}
	if (!a->config == !a->server) {
		fprintf(stderr, "strowgerctl: %s needs either --config FILE (offline) or "
				"--server HOST:PORT\n", argv[0]);
		return -EINVAL;
	}
	if (a->server && a->n_health) {
		fprintf(stderr, "strowgerctl: --health is for --config only: a server "
				"decides with the health it has (set it with `strowgerctl "
				"health`)\n");
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

/*
 * Whatever answers a query: a compiled config file with --health overrides,
 * or a server. Opened once, asked many times (batch).
 */
struct ctl_decider {
	struct rt_snapshot *snap;
	struct rt_scratch *sc;
	uint8_t *gw_health, *site_health;
	struct ctl_client *client;
	struct rt_answer *ans; /* several KiB each: off the stack */
	struct rt_explain *ex;
};

static void ctl_decider_close(struct ctl_decider *d)
{
	free(d->ex);
	free(d->ans);
	if (d->sc)
		rt_scratch_free(d->sc);
	free(d->gw_health);
	free(d->site_health);
	if (d->snap)
		rt_snapshot_free(d->snap);
	ctl_client_close(d->client);
	*d = (struct ctl_decider){0};
}

/* CTL_EXIT_OK, or the exit status after printing why. */
static int ctl_decider_open(struct ctl_decider *d, const struct ctl_query_args *a)
{
	char err[512];
	int rc;

	*d = (struct ctl_decider){0};
	d->ans = calloc(1, sizeof(*d->ans));
	d->ex = calloc(1, sizeof(*d->ex));
	if (!d->ans || !d->ex)
		goto oom;
	if (a->server) {
		d->client = ctl_client_open(a->server, a->timeout_ms, err, sizeof(err));
		if (!d->client) {
			fprintf(stderr, "strowgerctl: %s\n", err);
			ctl_decider_close(d);
			return CTL_EXIT_USAGE;
		}
		return CTL_EXIT_OK;
	}
	if (ctl_offline_load(a->config, NULL, &d->snap) != 0) {
		ctl_decider_close(d);
		return CTL_EXIT_FAIL;
	}
	rc = ctl_offline_health(d->snap, a, &d->gw_health, &d->site_health);
	if (rc != 0) {
		ctl_decider_close(d);
		return rc == -ENOENT ? CTL_EXIT_USAGE : CTL_EXIT_FAIL;
	}
	d->sc = rt_scratch_new(d->snap);
	if (!d->sc)
		goto oom;
	return CTL_EXIT_OK;
oom:
	fprintf(stderr, "strowgerctl: out of memory\n");
	ctl_decider_close(d);
	return CTL_EXIT_FAIL;
}

/*
 * Decide q into d->ans (and d->ex when explain; *exp tells whether there
 * is one to print). 0, or -errno after printing why (server unreachable).
 */
static int ctl_decider_decide(struct ctl_decider *d, const struct rt_query *q, bool explain,
			      const struct rt_explain **exp)
{
	*exp = NULL;
	if (d->client) {
		char err[512];
		bool has_ex = false;
		int rc = ctl_client_query(d->client, q, explain, d->ans, explain ? d->ex : NULL,
					  &has_ex, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "strowgerctl: %s\n", err);
			return rc;
		}
		if (explain && has_ex)
			*exp = d->ex;
		return 0;
	}
	struct rt_health_view hv = {.gateway = d->gw_health, .site = d->site_health};
	rt_decide(d->snap, &hv, q, d->sc, d->ans, explain ? d->ex : NULL);
	if (explain)
		*exp = d->ex;
	return 0;
}

static int ctl_query_answer(const struct ctl_query_args *a)
{
	struct ctl_decider d;
	const struct rt_explain *ex;
	struct rt_query q;
	int rc = ctl_decider_open(&d, a);

	if (rc != CTL_EXIT_OK)
		return rc;
	ctl_query_fill(a, &q);
	rc = CTL_EXIT_FAIL;
	if (ctl_decider_decide(&d, &q, a->explain, &ex) != 0)
		goto out;
	if (ctl_print_answer(stdout, a->json ? CTL_FORMAT_JSON : CTL_FORMAT_HUMAN, d.ans, ex) != 0) {
		fprintf(stderr, "strowgerctl: writing the answer: %s\n", strerror(EIO));
		goto out;
	}
	rc = CTL_EXIT_OK;
out:
	ctl_decider_close(&d);
	return rc;
}

/* Next tab-separated field of line (modified in place); "" is absent. */
static const char *ctl_batch_field(char **cursor)
{
	char *s = *cursor, *tab;

	if (!s)
		return NULL;
	tab = strchr(s, '\t');
	if (tab) {
		*tab = '\0';
		*cursor = tab + 1;
	} else {
		*cursor = NULL;
	}
	return *s ? s : NULL;
}

/*
 * One batch line: CALLED [TAB CALLING [TAB POLICY [TAB CALL-ID [TAB
 * GW:CODE[,GW:CODE]...]]]]. 0 or -EINVAL with the reason in err.
 */
static int ctl_batch_parse(char *line, struct rt_query *q, const struct ctl_query_args *a,
			   char *err, size_t errlen)
{
	char *cur = line;
	const char *called = ctl_batch_field(&cur);
	const char *calling = ctl_batch_field(&cur);
	const char *policy = ctl_batch_field(&cur);
	const char *call_id = ctl_batch_field(&cur);
	char *tried = (char *)ctl_batch_field(&cur);

	if (cur) {
		snprintf(err, errlen, "more than 5 tab-separated fields");
		return -EINVAL;
	}
	if (!called) {
		snprintf(err, errlen, "no called number");
		return -EINVAL;
	}
	*q = (struct rt_query){
		.called = rt_str_c(called),
		.calling = rt_str_c(calling),
		.policy = rt_str_c(policy ? policy : a->policy),
		.call_id = rt_str_c(call_id),
		.max_destinations = a->max,
	};
	for (char *save = NULL, *t = tried ? strtok_r(tried, ",", &save) : NULL; t;
	     t = strtok_r(NULL, ",", &save)) {
		const char *colon = strrchr(t, ':');
		unsigned long code;
		if (!colon || colon == t ||
		    ctl_parse_uint(colon + 1, strlen(colon + 1), RT_CODE_MAX, &code) != 0 ||
		    q->n_tried >= RT_MAX_TRIED) {
			snprintf(err, errlen, "tried '%s': expected GATEWAY:CODE (at most %d)", t,
				 RT_MAX_TRIED);
			return -EINVAL;
		}
		q->tried[q->n_tried++] = (struct rt_tried){{t, (size_t)(colon - t)}, (uint16_t)code};
	}
	return 0;
}

int ctl_cmd_batch(int argc, char **argv)
{
	struct ctl_query_args a;
	struct ctl_decider d = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0, bad = 0;
	int rc, err;

	err = ctl_query_parse(&a, argc, argv, false);
	if (err != 0 || a.help || a.called || a.n_tried) {
		if (err == 0 && !a.help)
			fprintf(stderr, "strowgerctl: batch reads numbers and tried gateways "
					"from stdin, not --called/--tried\n");
		ctl_usage(a.help ? stdout : stderr, argv[0]);
		rc = a.help && err == 0 ? CTL_EXIT_OK : err == -ENOMEM ? CTL_EXIT_FAIL
									: CTL_EXIT_USAGE;
		goto out;
	}
	rc = ctl_decider_open(&d, &a);
	if (rc != CTL_EXIT_OK)
		goto out;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		struct rt_query q;
		const struct rt_explain *ex;
		char why[256];

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#') {
			fputc('\n', stdout); /* keep output lines aligned with input */
			continue;
		}
		if (ctl_batch_parse(line, &q, &a, why, sizeof(why)) != 0) {
			fprintf(stderr, "strowgerctl: stdin:%lu: %s\n", lineno, why);
			fputs("{\"error\":", stdout);
			ctl_json_write_string(stdout, why);
			fputs("}\n", stdout);
			bad++;
			continue;
		}
		if (ctl_decider_decide(&d, &q, a.explain, &ex) != 0) {
			rc = CTL_EXIT_FAIL;
			goto out;
		}
		if (ctl_print_answer(stdout, CTL_FORMAT_JSON_LINE, d.ans, ex) != 0) {
			fprintf(stderr, "strowgerctl: writing the answer: %s\n", strerror(EIO));
			rc = CTL_EXIT_FAIL;
			goto out;
		}
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "strowgerctl: writing answers: %s\n", strerror(errno));
		rc = CTL_EXIT_FAIL;
	} else if (bad) {
		rc = CTL_EXIT_USAGE;
	}
out:
	free(line);
	ctl_decider_close(&d);
	ctl_query_args_free(&a);
	return rc;
}

static int ctl_query_run(int argc, char **argv, bool explain)
{
	struct ctl_query_args a;
	int rc, err;

	err = ctl_query_parse(&a, argc, argv, true);
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
	rc = ctl_query_answer(&a);
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
