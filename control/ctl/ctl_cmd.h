#pragma once
/*
 * ctl_cmd: strowgerctl's commands. Each takes the arguments after the
 * command name (argv[0] is the command name, as getopt expects) and returns
 * the process exit status: CTL_EXIT_OK, CTL_EXIT_FAIL or CTL_EXIT_USAGE.
 * Commands print their own messages; only main() exits.
 */
#include <stdio.h>

enum ctl_exit {
	CTL_EXIT_OK = 0,    /* done (a query answered, whatever its status) */
	CTL_EXIT_FAIL = 1,  /* config invalid, output or system failure */
	CTL_EXIT_USAGE = 2, /* bad command line */
};

int ctl_cmd_validate(int argc, char **argv);
int ctl_cmd_query(int argc, char **argv);
/* query with --explain implied */
int ctl_cmd_explain(int argc, char **argv);
/* many queries from stdin, one JSON line each */
int ctl_cmd_batch(int argc, char **argv);
/* against a running strowgerd's control channel (ctl_control.c) */
int ctl_cmd_load(int argc, char **argv);
/* change some routes of the running config (a routes-only file, --remove) */
int ctl_cmd_patch(int argc, char **argv);
int ctl_cmd_health(int argc, char **argv);
int ctl_cmd_drain(int argc, char **argv);
int ctl_cmd_undrain(int argc, char **argv);
int ctl_cmd_status(int argc, char **argv);
int ctl_cmd_stats(int argc, char **argv);
/* operator insight (ctl_lint.c, ctl_impact.c; control/lint does the work) */
int ctl_cmd_lint(int argc, char **argv);
/* load, linting FILE first when --dry-run is given */
int ctl_cmd_load_lint(int argc, char **argv);
int ctl_cmd_impact(int argc, char **argv);
int ctl_cmd_diff(int argc, char **argv);

/* The usage text of command (or of strowgerctl when NULL/unknown). */
void ctl_usage(FILE *out, const char *command);
