/*
 * ctl_print: see ctl_print.h.
 *
 * JSON key order is part of the CLI contract (scripts diff the output), so
 * keys are written in one fixed order and optional ones are left out rather
 * than written as null, except for strings that the answer may lack, which
 * are null.
 */
#include "ctl_print.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "ctl_json.h"

/* ---------------------------------------------------------------- JSON */

static void ctl_json_dest(struct ctl_json *j, const struct rt_dest *d)
{
	ctl_json_object_begin(j);
	ctl_json_kv_string(j, "gateway", d->gateway);
	ctl_json_kv_string(j, "trunk", d->trunk);
	ctl_json_kv_string(j, "route", d->route);
	ctl_json_kv_string(j, "usage", d->usage);
	ctl_json_kv_string(j, "address", d->address);
	if (d->uri) {
		ctl_json_key(j, "port");
		ctl_json_null(j);
		ctl_json_key(j, "transport");
		ctl_json_null(j);
	} else {
		ctl_json_kv_uint(j, "port", d->port);
		ctl_json_kv_string(j, "transport", rt_transport_name(d->transport));
	}
	ctl_json_kv_string(j, "called", d->called);
	ctl_json_kv_string(j, "calling", d->calling);
	if (d->uri)
		ctl_json_kv_string(j, "uri", d->uri);
	if (d->degraded)
		ctl_json_kv_bool(j, "degraded", true);
	if (d->via_fallback)
		ctl_json_kv_bool(j, "via_fallback", true);
	ctl_json_object_end(j);
}

static void ctl_json_explain(struct ctl_json *j, const struct rt_explain *ex)
{
	ctl_json_object_begin(j);
	ctl_json_kv_string(j, "policy_source", ex->policy_source);
	ctl_json_kv_string(j, "assignment", ex->assignment);
	ctl_json_kv_string(j, "dial_plan", ex->dial_plan);
	ctl_json_kv_string(j, "dial_rule", ex->dial_rule);

	ctl_json_key(j, "matched_routes");
	ctl_json_array_begin(j);
	for (uint32_t i = 0; i < ex->n_matched && i < RT_EXPLAIN_MAX; i++)
		ctl_json_string(j, ex->matched[i]);
	ctl_json_array_end(j);
	if (ex->matched_dropped)
		ctl_json_kv_uint(j, "matched_routes_dropped", ex->matched_dropped);

	ctl_json_key(j, "usages");
	ctl_json_array_begin(j);
	for (uint32_t i = 0; i < ex->n_usages && i < RT_EXPLAIN_MAX; i++) {
		ctl_json_object_begin(j);
		ctl_json_kv_string(j, "usage", ex->usages[i].usage);
		ctl_json_kv_uint(j, "routes", ex->usages[i].n_routes);
		ctl_json_object_end(j);
	}
	ctl_json_array_end(j);

	ctl_json_key(j, "skipped");
	ctl_json_array_begin(j);
	for (uint32_t i = 0; i < ex->n_skipped && i < RT_EXPLAIN_MAX; i++) {
		ctl_json_object_begin(j);
		ctl_json_kv_string(j, "gateway", ex->skipped[i].gateway);
		ctl_json_kv_string(j, "route", ex->skipped[i].route);
		ctl_json_kv_string(j, "usage", ex->skipped[i].usage);
		ctl_json_kv_string(j, "reason", rt_skip_reason_name(ex->skipped[i].reason));
		ctl_json_kv_string(j, "health", rt_health_name(ex->skipped[i].health));
		ctl_json_object_end(j);
	}
	ctl_json_array_end(j);
	if (ex->skipped_dropped)
		ctl_json_kv_uint(j, "skipped_dropped", ex->skipped_dropped);

	ctl_json_key(j, "fallbacks");
	ctl_json_array_begin(j);
	size_t max_fb = sizeof(ex->fallbacks) / sizeof(ex->fallbacks[0]);
	for (uint32_t i = 0; i < ex->n_fallbacks && i < max_fb; i++) {
		ctl_json_object_begin(j);
		ctl_json_kv_string(j, "route", ex->fallbacks[i].route);
		ctl_json_kv_string(j, "target", ex->fallbacks[i].target);
		ctl_json_kv_bool(j, "followed", ex->fallbacks[i].followed);
		ctl_json_object_end(j);
	}
	ctl_json_array_end(j);
	ctl_json_object_end(j);
}

static int ctl_print_json(FILE *out, const struct rt_answer *ans, const struct rt_explain *ex,
			  bool compact)
{
	struct ctl_json j;

	if (compact)
		ctl_json_init_compact(&j, out);
	else
		ctl_json_init(&j, out);
	ctl_json_object_begin(&j);
	ctl_json_kv_string(&j, "status", rt_status_name(ans->status));
	ctl_json_kv_uint(&j, "code", ans->code);
	ctl_json_kv_uint(&j, "generation", ans->generation);
	ctl_json_kv_string(&j, "normalized", ans->normalized);
	ctl_json_kv_string(&j, "policy", ans->policy);
	if (ans->error)
		ctl_json_kv_string(&j, "error", ans->error);
	ctl_json_key(&j, "destinations");
	ctl_json_array_begin(&j);
	for (uint32_t i = 0; i < ans->n_dest && i < RT_MAX_DEST; i++)
		ctl_json_dest(&j, &ans->dest[i]);
	ctl_json_array_end(&j);
	if (ex) {
		ctl_json_key(&j, "explain");
		ctl_json_explain(&j, ex);
	}
	ctl_json_object_end(&j);
	return ctl_json_finish(&j);
}

/* --------------------------------------------------------------- human */

/* "host:port/transport", IPv6 literals in brackets as in a SIP URI. */
static void ctl_format_hostport(char *buf, size_t len, const struct rt_dest *d)
{
	const char *addr = d->address ? d->address : "?";
	bool v6 = strchr(addr, ':') != NULL;

	snprintf(buf, len, "%s%s%s:%u/%s", v6 ? "[" : "", addr, v6 ? "]" : "",
		 (unsigned)d->port, rt_transport_name(d->transport));
}

static const char *ctl_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

static void ctl_print_dests(FILE *out, const struct rt_answer *ans)
{
	uint32_t n = ans->n_dest < RT_MAX_DEST ? ans->n_dest : RT_MAX_DEST;
	int name_w = 0, addr_w = 0;
	char hp[320];

	/* Align the columns a reader scans down: name and address. */
	for (uint32_t i = 0; i < n; i++) {
		const struct rt_dest *d = &ans->dest[i];
		const char *name = d->uri ? d->uri : ctl_or(d->gateway, "?");
		int w = (int)strlen(name);
		if (w > name_w)
			name_w = w;
		if (!d->uri) {
			ctl_format_hostport(hp, sizeof(hp), d);
			w = (int)strlen(hp);
			if (w > addr_w)
				addr_w = w;
		}
	}

	for (uint32_t i = 0; i < n; i++) {
		const struct rt_dest *d = &ans->dest[i];

		if (d->uri) {
			fprintf(out, "  %2u. %-*s  %-*s", i + 1, name_w, d->uri, addr_w,
				"(fallback URI)");
		} else {
			ctl_format_hostport(hp, sizeof(hp), d);
			fprintf(out, "  %2u. %-*s  %-*s", i + 1, name_w, ctl_or(d->gateway, "?"),
				addr_w, hp);
		}
		fprintf(out, "  route \"%s\" usage %s", ctl_or(d->route, "?"),
			ctl_or(d->usage, "?"));
		if (d->trunk)
			fprintf(out, " trunk %s", d->trunk);
		if (d->called[0])
			fprintf(out, "  called %s", d->called);
		if (d->calling[0])
			fprintf(out, " calling %s", d->calling);
		if (d->degraded)
			fputs("  [degraded]", out);
		if (d->via_fallback)
			fputs("  [via fallback]", out);
		fputc('\n', out);
	}
}

static void ctl_print_explain(FILE *out, const struct rt_explain *ex)
{
	fputs("  explain:\n", out);
	fprintf(out, "    policy chosen by: %s\n", ctl_or(ex->policy_source, "-"));
	if (ex->assignment)
		fprintf(out, "    assignment: '%s'\n", ex->assignment);
	if (ex->dial_plan)
		fprintf(out, "    dial plan: \"%s\" rule %s%s%s\n", ex->dial_plan,
			ex->dial_rule ? "'" : "", ctl_or(ex->dial_rule, "(none matched)"),
			ex->dial_rule ? "'" : "");
	else
		fputs("    dial plan: none\n", out);

	if (ex->n_matched == 0)
		fputs("    matched routes: none\n", out);
	else
		fputs("    matched routes:\n", out);
	for (uint32_t i = 0; i < ex->n_matched && i < RT_EXPLAIN_MAX; i++)
		fprintf(out, "      \"%s\"\n", ctl_or(ex->matched[i], "?"));
	if (ex->matched_dropped)
		fprintf(out, "      ... and %" PRIu32 " more\n", ex->matched_dropped);

	if (ex->n_usages)
		fputs("    usages walked:\n", out);
	for (uint32_t i = 0; i < ex->n_usages && i < RT_EXPLAIN_MAX; i++)
		fprintf(out, "      %s: %" PRIu32 " matched route%s\n",
			ctl_or(ex->usages[i].usage, "?"), ex->usages[i].n_routes,
			ex->usages[i].n_routes == 1 ? "" : "s");

	if (ex->n_skipped)
		fputs("    skipped:\n", out);
	for (uint32_t i = 0; i < ex->n_skipped && i < RT_EXPLAIN_MAX; i++)
		fprintf(out, "      %s  route \"%s\" usage %s: %s (health %s)\n",
			ctl_or(ex->skipped[i].gateway, "?"), ctl_or(ex->skipped[i].route, "?"),
			ctl_or(ex->skipped[i].usage, "?"),
			rt_skip_reason_name(ex->skipped[i].reason),
			rt_health_name(ex->skipped[i].health));
	if (ex->skipped_dropped)
		fprintf(out, "      ... and %" PRIu32 " more\n", ex->skipped_dropped);

	size_t max_fb = sizeof(ex->fallbacks) / sizeof(ex->fallbacks[0]);
	if (ex->n_fallbacks)
		fputs("    fallbacks:\n", out);
	for (uint32_t i = 0; i < ex->n_fallbacks && i < max_fb; i++)
		fprintf(out, "      route \"%s\" -> %s (%s)\n", ctl_or(ex->fallbacks[i].route, "?"),
			ctl_or(ex->fallbacks[i].target, "?"),
			ex->fallbacks[i].followed ? "followed" : "not followed: loop");
}

static int ctl_print_human(FILE *out, const struct rt_answer *ans, const struct rt_explain *ex)
{
	fprintf(out, "%s (%u)", rt_status_name(ans->status), (unsigned)ans->code);
	if (ans->policy)
		fprintf(out, " policy \"%s\"", ans->policy);
	if (ans->normalized[0])
		fprintf(out, " number %s", ans->normalized);
	fprintf(out, " generation %" PRIu64 "\n", ans->generation);
	if (ans->error)
		fprintf(out, "  error: %s\n", ans->error);
	ctl_print_dests(out, ans);
	if (ex)
		ctl_print_explain(out, ex);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}

int ctl_print_answer(FILE *out, enum ctl_format fmt, const struct rt_answer *ans,
		     const struct rt_explain *ex)
{
	if (fmt == CTL_FORMAT_JSON || fmt == CTL_FORMAT_JSON_LINE)
		return ctl_print_json(out, ans, ex, fmt == CTL_FORMAT_JSON_LINE);
	return ctl_print_human(out, ans, ex);
}
