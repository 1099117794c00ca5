/*
 * ctl_validate: `strowgerctl validate FILE...`: load and compile each file
 * exactly as the daemon would, and say so or list every problem.
 */
#include <getopt.h>
#include <stdio.h>

#include "ctl_cmd.h"
#include "ctl_offline.h"

static const struct option ctl_validate_options[] = {
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int ctl_validate_file(const char *path)
{
	struct rt_config *cfg = NULL;
	struct rt_snapshot *snap = NULL;

	if (ctl_offline_load(path, &cfg, &snap) != 0) {
		fprintf(stderr, "%s: invalid\n", path);
		return CTL_EXIT_FAIL;
	}
	/* Trunks have no snapshot accessor; the config holds the same count. */
	printf("%s: OK (%zu gateways, %zu trunks, %zu routes, %zu policies)\n", path,
	       rt_snapshot_gateway_count(snap), cfg->n_trunks, rt_snapshot_route_count(snap),
	       rt_snapshot_policy_count(snap));
	rt_snapshot_free(snap);
	rt_config_free(cfg);
	return CTL_EXIT_OK;
}

int ctl_cmd_validate(int argc, char **argv)
{
	int rc = CTL_EXIT_OK;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", ctl_validate_options, NULL)) != -1) {
		switch (c) {
		case 'h':
			ctl_usage(stdout, argv[0]);
			return CTL_EXIT_OK;
		default:
			fprintf(stderr, "strowgerctl: unknown option '%s'\n", argv[optind - 1]);
			ctl_usage(stderr, argv[0]);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "strowgerctl: validate needs a FILE\n");
		ctl_usage(stderr, argv[0]);
		return CTL_EXIT_USAGE;
	}
	/* Every file, so one run reports them all. */
	for (int i = optind; i < argc; i++)
		if (ctl_validate_file(argv[i]) != CTL_EXIT_OK)
			rc = CTL_EXIT_FAIL;
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = CTL_EXIT_FAIL;
	return rc;
}
