/*
 * strowger-wl: write a wl_gen.h workload to files, so the servers can be
 * driven with what the micro suite measures. The config as YAML (the file
 * strowgerd and `strowgerctl batch --config` load) and its queries as the
 * tab-separated lines strowger-bench and `strowgerctl batch` read:
 *
 *   CALLED <TAB> CALLING <TAB> POLICY <TAB> CALL-ID
 *
 * The Call-IDs are deterministic ("wl-carrier-17", "wl-enterprise-17"), so
 * the same arguments always give the same files, byte for byte, and the
 * expectations `strowgerctl batch` computes for them do not change.
 *
 *   strowger-wl carrier 100k --yaml carrier.yaml --queries carrier.tsv
 *   strowger-wl enterprise --yaml ent.yaml --queries ent.tsv --count 100000
 *
 * Built with -Dbench=true (bench/meson.build); used by scripts/bench-compare
 * --workload enterprise.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl_gen.h"

/* The carrier workload's calling number: one default policy, no
 * assignments, so it only has to be there (SIP From). */
#define WL_CARRIER_CALLING "+14255550123"

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s (carrier N | enterprise) [--yaml FILE] [--queries FILE]\n"
		"          [--count M] [--seed S]\n"
		"\n"
		"Writes a wl_gen workload (bench/wl_gen.h): the config as YAML and its\n"
		"queries as tab-separated lines (CALLED CALLING POLICY CALL-ID), the\n"
		"input of strowger-bench and `strowgerctl batch`. Call-IDs are\n"
		"wl-carrier-I / wl-enterprise-I, so the output is deterministic.\n"
		"\n"
		"  carrier N        N E.164 prefix routes over 200 gateways, 20 usages,\n"
		"                   one policy (k/M suffixes: carrier 100k)\n"
		"  enterprise       200 offices' policies, dial plans, assignments;\n"
		"                   2,000 routes, 50 SBCs, trunk translations\n"
		"  --yaml FILE      write the config here ('-': stdout)\n"
		"  --queries FILE   write the queries here ('-': stdout)\n"
		"  --count M        queries (default 100000; k/M suffixes)\n"
		"  --seed S         generator seed (default 42, as the micro suite)\n"
		"Exit status: 0 written, 1 out of memory or a write error, 2 usage.\n",
		argv0);
}

/* A count with an optional k or M suffix; 0 on success. */
static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	if (*end == 'k' || *end == 'K') {
		v *= 1000;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v *= 1000000;
		end++;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static FILE *open_out(const char *path)
{
	if (!strcmp(path, "-"))
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "strowger-wl: %s: %s\n", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path)
{
	int bad = ferror(f) != 0;
	if (f == stdout)
		bad |= fflush(f) != 0;
	else
		bad |= fclose(f) != 0;
	if (bad)
		fprintf(stderr, "strowger-wl: %s: write error\n", path);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"yaml", required_argument, NULL, 'y'},
		{"queries", required_argument, NULL, 'q'},
		{"count", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *yaml = NULL, *queries = NULL;
	uint64_t count = 100000, seed = 42;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'y':
			yaml = optarg;
			break;
		case 'q':
			queries = optarg;
			break;
		case 'n':
			if (parse_count(optarg, &count)) {
				fprintf(stderr, "strowger-wl: --count: not a count: '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (parse_count(optarg, &seed)) {
				fprintf(stderr, "strowger-wl: --seed: not a number: '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	const char *kind = argv[optind++];
	uint64_t routes = 0;
	const char *routes_arg = "";
	bool carrier = !strcmp(kind, "carrier");
	if (carrier) {
		if (optind >= argc || parse_count(argv[optind], &routes) || routes == 0) {
			fprintf(stderr, "strowger-wl: carrier needs a route count (carrier 100k)\n");
			return 2;
		}
		routes_arg = argv[optind++];
	} else if (strcmp(kind, "enterprise") != 0) {
		fprintf(stderr, "strowger-wl: unknown workload '%s' (carrier N or enterprise)\n",
			kind);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "strowger-wl: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!yaml && !queries) {
		fprintf(stderr, "strowger-wl: nothing to write (--yaml FILE, --queries FILE)\n");
		return 2;
	}
	if (yaml && queries && !strcmp(yaml, "-") && !strcmp(queries, "-")) {
		fprintf(stderr, "strowger-wl: --yaml and --queries cannot both be stdout\n");
		return 2;
	}

	int rc = 0;
	if (yaml) {
		struct rt_config *cfg = carrier ? wl_carrier((size_t)routes, seed)
						: wl_enterprise(seed);
		if (!cfg) {
			fprintf(stderr, "strowger-wl: out of memory generating the config\n");
			return 1;
		}
		FILE *f = open_out(yaml);
		if (!f) {
			rt_config_free(cfg);
			return 1;
		}
		int w = wl_write_yaml(cfg, f);
		if (close_out(f, yaml) || w)
			rc = 1;
		else
			fprintf(stderr, "strowger-wl: %s: %s%s%s (%zu routes, %zu gateways, "
					"%zu policies), seed %" PRIu64 "\n",
				yaml, kind, carrier ? " " : "", routes_arg,
				cfg->n_routes, cfg->n_gateways, cfg->n_policies, seed);
		rt_config_free(cfg);
	}
	if (queries && rc == 0) {
		FILE *f = open_out(queries);
		if (!f)
			return 1;
		if (carrier) {
			struct wl_numbers nums = {0};
			if (wl_carrier_numbers((size_t)routes, seed, (size_t)count, &nums)) {
				fprintf(stderr, "strowger-wl: out of memory generating the numbers\n");
				rc = 1;
			}
			for (size_t i = 0; rc == 0 && i < nums.n; i++)
				fprintf(f, "%s\t%s\t\twl-carrier-%zu\n", nums.num[i],
					WL_CARRIER_CALLING, i);
			wl_numbers_free(&nums);
		} else {
			struct wl_queries qs = {0};
			if (wl_enterprise_queries(seed, (size_t)count, &qs)) {
				fprintf(stderr, "strowger-wl: out of memory generating the queries\n");
				rc = 1;
			}
			for (size_t i = 0; rc == 0 && i < qs.n; i++)
				fprintf(f, "%s\t%s\t%s\twl-enterprise-%zu\n", qs.q[i].called,
					qs.q[i].calling, qs.q[i].policy, i);
			wl_queries_free(&qs);
		}
		if (close_out(f, queries))
			rc = 1;
		else if (rc == 0)
			fprintf(stderr, "strowger-wl: %s: %" PRIu64 " queries\n", queries, count);
	}
	return rc;
}
