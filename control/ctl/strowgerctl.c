/*
 * strowgerctl: the operator's tool (SPEC section 4, CLI). A table of
 * commands; each parses its own arguments and returns the exit status.
 * Commands that talk to a server (load, health, drain, status, stats) slot
 * into the same table.
 */
#include <stdio.h>
#include <string.h>

#include "ctl_cmd.h"

#ifndef STROWGER_VERSION
#define STROWGER_VERSION "unknown"
#endif

struct ctl_command {
	const char *name;
	const char *summary;
	const char *usage; /* after "strowgerctl NAME " */
	const char *help;  /* option details, may be NULL */
	int (*run)(int argc, char **argv);
};

#define CTL_QUERY_HELP                                                              \
	"  --config FILE         decide offline against this config file\n"          \
	"  --server HOST:PORT    ask a running strowgerd (native query port 5070)\n" \
	"  --timeout MS          with --server: give up after MS (default 2000)\n"  \
	"  --called NUMBER       the dialled number (required)\n"                   \
	"  --calling NUMBER      the calling number (selects a policy assignment)\n" \
	"  --policy NAME         use this voice policy\n"                          \
	"  --call-id ID          seeds the weighted shuffle (default: fixed seed)\n" \
	"  --tried GW:CODE       a gateway already tried and its SIP response\n"     \
	"                        (0 = no response); repeatable\n"                   \
	"  --health NAME=STATE   gateway or site health: up, degraded, down,\n"      \
	"                        draining, unknown; repeatable (--config only)\n"   \
	"  --max N               at most N destinations\n"                          \
	"  --explain             also say why (matched routes, skipped gateways)\n" \
	"  --json                one JSON object instead of text\n"                 \
	"Exit status: 0 when a decision was made (whatever its status), 1 when the\n" \
	"config is invalid or the server did not answer, 2 on a usage error.\n"

#define CTL_CONTROL_HELP                                                              \
	"  --control PATH        strowgerd's control socket (default $STROWGER_CONTROL,\n" \
	"                        else /run/strowger/control.sock)\n"                    \
	"  --control-tcp HOST:PORT  its TCP control listener instead\n"                 \
	"  --token-file FILE     the TCP token (default $STROWGER_TOKEN)\n"             \
	"  --timeout MS          give up waiting after MS (default: wait)\n"

static const struct ctl_command ctl_commands[] = {
	{
		.name = "validate",
		.summary = "check config files without loading them",
		.usage = "FILE...",
		.help = "Loads and compiles each FILE as the server would; prints\n"
			"\"FILE: OK (...)\" or every problem with file and line.\n"
			"Exit status: 0 all valid, 1 any invalid, 2 usage error.\n",
		.run = ctl_cmd_validate,
	},
	{
		.name = "query",
		.summary = "route a number and print the decision",
		.usage = "(--config FILE | --server HOST:PORT) --called NUMBER [options]",
		.help = CTL_QUERY_HELP,
		.run = ctl_cmd_query,
	},
	{
		.name = "explain",
		.summary = "query, with the reasons (same as query --explain)",
		.usage = "(--config FILE | --server HOST:PORT) --called NUMBER [options]",
		.help = CTL_QUERY_HELP,
		.run = ctl_cmd_explain,
	},
	{
		.name = "batch",
		.summary = "route every number read from stdin, one JSON line each",
		.usage = "(--config FILE | --server HOST:PORT) [options] < QUERIES",
		.help = "Each stdin line: CALLED[<TAB>CALLING[<TAB>POLICY[<TAB>CALL-ID\n"
			"[<TAB>GW:CODE[,GW:CODE]...]]]] (empty fields are absent).\n"
			"Each stdout line: the answer as `query --json` gives it, on one\n"
			"line, or {\"error\":...} for a line that cannot be read; empty\n"
			"and # lines give empty lines, so output line N answers input\n"
			"line N. Options as for query: --config, --server, --timeout,\n"
			"--policy (when a line has none), --health, --max, --explain.\n"
			"Exit status: 0 all read, 1 config invalid or server silent,\n"
			"2 usage error or an unreadable line.\n",
		.run = ctl_cmd_batch,
	},
	{
		.name = "load",
		.summary = "load a config file into a running strowgerd",
		.usage = "FILE [--dry-run] [--json] [connection options]",
		.help = "Validates FILE here, sends it; the server compiles it off the\n"
			"worker threads and swaps it in without pausing queries. Prints the\n"
			"new generation and what changed (+ added, - removed, ~ changed).\n"
			"  --dry-run             validate and diff against the running config only;\n"
			"                        also lints FILE (findings on stderr, see lint)\n"
			"  --json                one JSON object\n" CTL_CONTROL_HELP
			"Exit status: 0 loaded (or valid), 1 rejected (every error printed).\n",
		.run = ctl_cmd_load_lint,
	},
	{
		.name = "patch",
		.summary = "add, change or remove routes of a running strowgerd",
		.usage = "[FILE] [--remove NAME]... [--dry-run] [--json] [connection options]",
		.help = "FILE is YAML holding only `routes:` (any other section is an error with\n"
			"its line). Each route in it replaces the running route of the same\n"
			"name where it stands, or, a new name, comes after every running route;\n"
			"--remove drops a route. Nothing else of the running config is sent or\n"
			"changed. The server compiles only what changed when it can and swaps\n"
			"it in without pausing queries. Prints the new generation and what\n"
			"changed (+ added, - removed, ~ changed). A load (or SIGHUP) replaces\n"
			"everything, patches included.\n"
			"  --remove NAME         drop this route; repeatable\n"
			"  --dry-run             validate and diff against the running config only\n"
			"  --json                one JSON object\n" CTL_CONTROL_HELP
			"Exit status: 0 applied (or valid), 1 rejected (every error printed with\n"
			"file:line), 2 usage error.\n",
		.run = ctl_cmd_patch,
	},
	{
		.name = "lint",
		.summary = "find dead, shadowed and capturing rules in config files",
		.usage = "FILE... [--json] [--max-states N] [--budget N]",
		.help = "Loads each FILE as validate does, then checks the rule set as a whole.\n"
			"Each finding: file:line: severity: object: one-line reason [kind].\n"
			"  errors    a route pattern that matches nothing a number can hold\n"
			"  warnings  routes never chosen (numbers and gateways covered by routes\n"
			"            ahead of them), routes no policy reaches, usages no route\n"
			"            carries, unused trunks and gateways, usage orders that let a\n"
			"            broad route capture numbers meant for a later, more specific\n"
			"            one (with a witness number), patterns matching no E.164\n"
			"            number or the empty string, shadowed dial-plan, assignment\n"
			"            and trunk rules, failover codes with 486, 600 or 603\n"
			"  info      patterns outside the analysable subset (checked with sample\n"
			"            numbers through the real matcher), checks not decided\n"
			"Overlaps are decided exactly with automata over \\+?[0-9]{1,15} (dialled\n"
			"strings of 1..63 bytes for dial plans, assignments and trunk rules).\n"
			"  --json                one JSON object (findings with witnesses)\n"
			"  --max-states N        per search (default 200000); beyond: not decided\n"
			"  --budget N            all searches together (default 50000000)\n"
			"Exit status: 0 no error-level finding, 1 errors or an invalid file,\n"
			"2 usage error.\n",
		.run = ctl_cmd_lint,
	},
	{
		.name = "impact",
		.summary = "which numbers and policies a gateway or site failure hurts",
		.usage = "FILE --down GATEWAY|SITE[,...] [NAME...] [--json] [--live [connection options]]",
		.help = "Per policy, cuts the number space into regions by which routes match,\n"
			"decides an example of each with and without the failure (the real\n"
			"decision, numbers already normalised), and says which regions lose\n"
			"every destination, fall to a fallback, fail over to other gateways\n"
			"(named) or only lose capacity, with the route patterns and examples.\n"
			"  --down NAME           a gateway or site that fails; repeatable, or\n"
			"                        comma-separated; names after FILE count too\n"
			"  --live                start from the running server's health (its\n"
			"                        status over the control channel) instead of all up\n"
			"  --max-states N        automaton search limit (default 2000000)\n"
			"  --json                one JSON object\n" CTL_CONTROL_HELP
			"Exit status: 0 done, 1 invalid config or server silent, 2 usage error.\n",
		.run = ctl_cmd_impact,
	},
	{
		.name = "diff",
		.summary = "which numbers change destination between two configs",
		.usage = "OLD NEW [--json] [--exit-code] [--max-states N]",
		.help = "Per policy, regions of the number space from both configs' routes;\n"
			"an example of each decided with both (numbers already normalised);\n"
			"prints those whose destinations change, grouped by policy and by route.\n"
			"Destinations compare as priority groups (order inside a weighted group\n"
			"is a shuffle and is not compared). Says when a dial plan changed too.\n"
			"  --json                one JSON object\n"
			"  --exit-code           exit 3 when some number changes destination\n"
			"  --max-states N        automaton search limit (default 2000000)\n"
			"Exit status: 0 compared, 1 a config invalid, 2 usage error (3: see\n"
			"--exit-code).\n",
		.run = ctl_cmd_diff,
	},
	{
		.name = "health",
		.summary = "report gateway or site health to a running strowgerd",
		.usage = "NAME STATE [NAME STATE]... [--ttl S] [--source WHO]",
		.help = "STATE: up, degraded, draining, down or unknown. A report expires\n"
			"after --ttl seconds (default: the server's --health-ttl) and then\n"
			"reads as unknown. Names unknown to the running config are kept.\n"
			CTL_CONTROL_HELP,
		.run = ctl_cmd_health,
	},
	{
		.name = "drain",
		.summary = "drain the server, a gateway or a site",
		.usage = "[--gateway NAME | --site NAME] [connection options]",
		.help = "Without a target the whole server drains: SIP OPTIONS answer 503\n"
			"so SBCs move away, queries are still answered. A drained gateway\n"
			"or site gets no new calls until undrained.\n" CTL_CONTROL_HELP,
		.run = ctl_cmd_drain,
	},
	{
		.name = "undrain",
		.summary = "lift a drain",
		.usage = "[--gateway NAME | --site NAME] [connection options]",
		.help = CTL_CONTROL_HELP,
		.run = ctl_cmd_undrain,
	},
	{
		.name = "status",
		.summary = "generation, uptime, workers, config source, health",
		.usage = "[--json] [connection options]",
		.help = CTL_CONTROL_HELP,
		.run = ctl_cmd_status,
	},
	{
		.name = "stats",
		.summary = "counters: statuses, route hits, gateway selections, failovers",
		.usage = "[--json] [connection options]",
		.help = CTL_CONTROL_HELP,
		.run = ctl_cmd_stats,
	},
};

#define CTL_N_COMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

static const struct ctl_command *ctl_command_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < CTL_N_COMMANDS; i++)
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	return NULL;
}

void ctl_usage(FILE *out, const char *command)
{
	const struct ctl_command *cmd = ctl_command_find(command);

	if (cmd) {
		fprintf(out, "usage: strowgerctl %s %s\n", cmd->name, cmd->usage);
		fprintf(out, "%s.\n", cmd->summary);
		if (cmd->help)
			fputs(cmd->help, out);
		return;
	}
	fputs("usage: strowgerctl COMMAND [options]\n"
	      "commands:\n", out);
	for (size_t i = 0; i < CTL_N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", ctl_commands[i].name, ctl_commands[i].summary);
	fputs("  help [COMMAND]\n"
	      "Run 'strowgerctl help COMMAND' for its options.\n", out);
}

static int ctl_main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	const struct ctl_command *cmd;

	if (!name) {
		ctl_usage(stderr, NULL);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 ||
	    strcmp(name, "-h") == 0) {
		const char *topic = argc > 2 ? argv[2] : NULL;
		if (topic && !ctl_command_find(topic)) {
			fprintf(stderr, "strowgerctl: unknown command '%s'\n", topic);
			ctl_usage(stderr, NULL);
			return CTL_EXIT_USAGE;
		}
		ctl_usage(stdout, topic);
		return CTL_EXIT_OK;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("strowgerctl %s\n", STROWGER_VERSION);
		return CTL_EXIT_OK;
	}
	cmd = ctl_command_find(name);
	if (!cmd) {
		fprintf(stderr, "strowgerctl: unknown command '%s'\n", name);
		ctl_usage(stderr, NULL);
		return CTL_EXIT_USAGE;
	}
	return cmd->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	return ctl_main(argc, argv);
}
