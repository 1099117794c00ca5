/*
 * ctl_lint: `strowgerctl lint FILE...` (control/lint/lint.h does the work)
 * and the lint that `load FILE --dry-run` runs before asking the server.
 *
 * Human output, one line per finding, like validate's errors:
 *   seed.yaml:31: warning: policy 'P': usage 'International' comes before ... [policy-capture]
 * then "FILE: N errors, N warnings, N info". --json gives one object.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_yaml.h"
#include "ctl_cmd.h"
#include "ctl_json.h"
#include "ctl_offline.h"
#include "lint.h"
#include "rt_diag.h"

enum {
	CTL_LINT_JSON = 400,
	CTL_LINT_MAX_STATES,
	CTL_LINT_BUDGET,
};

static const struct option ctl_lint_options[] = {
	{"json", no_argument, NULL, CTL_LINT_JSON},
	{"max-states", required_argument, NULL, CTL_LINT_MAX_STATES},
	{"budget", required_argument, NULL, CTL_LINT_BUDGET},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void ctl_lint_print_line(FILE *out, const char *path, const struct lint_finding *f)
{
	const char *file = f->file ? f->file : path;
	if (f->line)
		fprintf(out, "%s:%u: ", file, f->line);
	else
		fprintf(out, "%s: ", file);
	fprintf(out, "%s: ", lint_severity_name(f->sev));
	if (f->object)
		fprintf(out, "%s '%s': ", f->object_kind, f->object);
	else if (f->object_kind)
		fprintf(out, "%s: ", f->object_kind);
	fprintf(out, "%s [%s]\n", f->message, f->kind);
}

static void ctl_lint_print_summary(FILE *out, const char *path, const struct lint_report *r)
{
	fprintf(out, "%s: %zu error%s, %zu warning%s, %zu info", path, r->count[LINT_ERROR],
		r->count[LINT_ERROR] == 1 ? "" : "s", r->count[LINT_WARNING],
		r->count[LINT_WARNING] == 1 ? "" : "s", r->count[LINT_INFO]);
	if (r->undecided)
		fprintf(out, " (%zu check%s not decided: limit)", r->undecided,
			r->undecided == 1 ? "" : "s");
	fputc('\n', out);
}

static void ctl_lint_json_file(struct ctl_json *j, const char *path, bool valid,
			       const struct lint_report *r)
{
	ctl_json_object_begin(j);
	ctl_json_kv_string(j, "file", path);
	ctl_json_kv_bool(j, "valid", valid);
	if (valid) {
		ctl_json_key(j, "counts");
		ctl_json_object_begin(j);
		ctl_json_kv_uint(j, "error", r->count[LINT_ERROR]);
		ctl_json_kv_uint(j, "warning", r->count[LINT_WARNING]);
		ctl_json_kv_uint(j, "info", r->count[LINT_INFO]);
		ctl_json_object_end(j);
		ctl_json_kv_uint(j, "undecided", r->undecided);
		ctl_json_kv_uint(j, "explored_states", r->explored);
		ctl_json_key(j, "findings");
		ctl_json_array_begin(j);
		for (size_t i = 0; i < r->n; i++) {
			const struct lint_finding *f = &r->v[i];
			ctl_json_object_begin(j);
			ctl_json_kv_string(j, "severity", lint_severity_name(f->sev));
			ctl_json_kv_string(j, "kind", f->kind);
			ctl_json_kv_string(j, "object_kind", f->object_kind);
			ctl_json_kv_string(j, "object", f->object);
			ctl_json_kv_string(j, "file", f->file ? f->file : path);
			ctl_json_kv_uint(j, "line", f->line);
			ctl_json_kv_string(j, "message", f->message);
			ctl_json_key(j, "witnesses");
			ctl_json_array_begin(j);
			for (uint32_t w = 0; w < f->n_witness; w++)
				ctl_json_string(j, f->witness[w]);
			ctl_json_array_end(j);
			ctl_json_kv_string(j, "proof", f->proof);
			ctl_json_object_end(j);
		}
		ctl_json_array_end(j);
	}
	ctl_json_object_end(j);
}

/* Lint a loaded config. 0, or -ENOMEM (message printed). */
static int ctl_lint_config(const struct rt_config *cfg, const struct rt_snapshot *snap,
			   const struct lint_options *o, struct lint_report *r)
{
	struct lint_model m;
	int rc = lint_model_build(&m, cfg, snap);
	if (rc == 0)
		rc = lint_run(&m, o, r);
	lint_model_free(&m);
	if (rc)
		fprintf(stderr, "strowgerctl: lint: out of memory\n");
	return rc;
}

static int ctl_parse_count(const char *opt, const char *arg, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno || *end || !*arg || v == 0 || arg[0] == '-') {
		fprintf(stderr, "strowgerctl: %s '%s': expected a positive number\n", opt, arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int ctl_cmd_lint(int argc, char **argv)
{
	struct lint_options o = {0};
	bool json = false;
	int rc = CTL_EXIT_OK, c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", ctl_lint_options, NULL)) != -1) {
		switch (c) {
		case CTL_LINT_JSON:
			json = true;
			break;
		case CTL_LINT_MAX_STATES:
			if (ctl_parse_count("--max-states", optarg, &o.max_states))
				goto usage;
			break;
		case CTL_LINT_BUDGET:
			if (ctl_parse_count("--budget", optarg, &o.budget))
				goto usage;
			break;
		case 'h':
			ctl_usage(stdout, argv[0]);
			return CTL_EXIT_OK;
		case ':':
			fprintf(stderr, "strowgerctl: %s needs a value\n", argv[optind - 1]);
			goto usage;
		default:
			fprintf(stderr, "strowgerctl: unknown option '%s'\n", argv[optind - 1]);
			goto usage;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "strowgerctl: lint needs a FILE\n");
		goto usage;
	}

	struct ctl_json j;
	if (json) {
		ctl_json_init(&j, stdout);
		ctl_json_object_begin(&j);
		ctl_json_key(&j, "files");
		ctl_json_array_begin(&j);
	}
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];
		struct rt_config *cfg = NULL;
		struct rt_snapshot *snap = NULL;
		struct lint_report r = {0};
		bool valid = ctl_offline_load(path, &cfg, &snap) == 0;
		if (!valid) {
			fprintf(stderr, "%s: invalid; not linted\n", path);
			rc = CTL_EXIT_FAIL;
		} else if (ctl_lint_config(cfg, snap, &o, &r)) {
			rc = CTL_EXIT_FAIL;
		} else {
			if (r.count[LINT_ERROR])
				rc = CTL_EXIT_FAIL;
			if (!json) {
				for (size_t k = 0; k < r.n; k++)
					ctl_lint_print_line(stdout, path, &r.v[k]);
				ctl_lint_print_summary(stdout, path, &r);
			}
		}
		if (json)
			ctl_lint_json_file(&j, path, valid, &r);
		lint_report_free(&r);
		rt_snapshot_free(snap);
		rt_config_free(cfg);
	}
	if (json) {
		ctl_json_array_end(&j);
		ctl_json_object_end(&j);
		if (ctl_json_finish(&j))
			rc = CTL_EXIT_FAIL;
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = CTL_EXIT_FAIL;
	return rc;
usage:
	ctl_usage(stderr, argv[0]);
	return CTL_EXIT_USAGE;
}

/* ---- load --dry-run: lint first ------------------------------------------------------- */

/* Options of load (ctl_control.c) that take a value, so the FILE can be told
 * apart from an option's value without parsing for it. */
static bool ctl_load_takes_value(const char *opt)
{
	static const char *const with_value[] = {"--control", "--control-tcp", "--token-file",
						 "--timeout", "--gateway", "--site",
						 "--ttl", "--source", NULL};
	for (const char *const *p = with_value; *p; p++)
		if (!strcmp(opt, *p))
			return true;
	return false;
}

int ctl_cmd_load_lint(int argc, char **argv)
{
	const char *file = NULL;
	bool dry = false, help = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			if (!file && i + 1 < argc)
				file = argv[i + 1];
			break;
		}
		if (!strcmp(a, "--dry-run"))
			dry = true;
		else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			help = true;
		else if (a[0] == '-' && a[1])
			i += ctl_load_takes_value(a) && !strchr(a, '=');
		else if (!file)
			file = a;
	}
	if (dry && file && !help) {
		/* Quietly: load reports a bad file itself. Findings go to stderr so
		 * that --json output stays one object. */
		struct rt_diag d;
		rt_diag_init(&d);
		struct rt_config *cfg = cfg_yaml_load_file(file, &d);
		struct rt_snapshot *snap = cfg ? rt_snapshot_build(cfg, 1, &d) : NULL;
		rt_diag_clear(&d);
		if (snap) {
			struct lint_report r = {0};
			if (ctl_lint_config(cfg, snap, NULL, &r) == 0) {
				for (size_t k = 0; k < r.n; k++)
					ctl_lint_print_line(stderr, file, &r.v[k]);
				fputs("lint: ", stderr);
				ctl_lint_print_summary(stderr, file, &r);
			}
			lint_report_free(&r);
		}
		rt_snapshot_free(snap);
		rt_config_free(cfg);
	}
	return ctl_cmd_load(argc, argv);
}
