/*
 * strowger-bench: load generator for strowgerd. Flags, loading, threads,
 * the progress line and the report. See bench/loadgen/README.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sb.h"
#include "sb_json.h"

#define EXIT_WRONG 1 /* ran, but answers were wrong, lost or unreadable */
#define EXIT_USAGE 2 /* bad flags, inputs, or setup */

static struct sb_run *g_run;

static void usage(FILE *f)
{
	fputs(
"usage: strowger-bench (--sip | --native) HOST:PORT --numbers FILE [--expect FILE]\n"
"                      (--rate N | --concurrency K) [options]\n"
"\n"
"Sends routing queries to strowgerd and checks every answer.\n"
"\n"
"  --sip HOST:PORT      SIP: INVITE per query, ACK for each 3xx-6xx final response\n"
"  --native HOST:PORT   native protobuf RouteQuery / RouteAnswer over UDP\n"
"  --numbers FILE       queries, one a line, tab-separated as `strowgerctl batch`\n"
"                       reads them: CALLED CALLING POLICY CALL-ID [GW:CODE,...]\n"
"                       ('-': stdin). SIP needs the Call-ID.\n"
"  --expect FILE        `strowgerctl batch --config CFG < NUMBERS` output, one JSON\n"
"                       line per query; without it answers are not checked\n"
"  --rate N             open loop: N queries/s in all, paced, however many in flight\n"
"  --concurrency K      closed loop: K queries outstanding per thread, a new one\n"
"                       sent as soon as one is answered (or lost)\n"
"  --threads T          threads, each with its own sockets and share of the\n"
"                       numbers (default 1)\n"
"  --sockets S          UDP sockets per thread, used in turn (default 1)\n"
"  --duration S         seconds of measured traffic (default 10)\n"
"  --count N            or: exactly N measured queries in all\n"
"  --warmup S           seconds of traffic before measuring (default 0)\n"
"  --timeout MS         an answer later than this is lost (default 1000)\n"
"  --busy-poll          never sleep: spin on the sockets\n"
"  --batch B            datagrams per sendmmsg/recvmmsg (default 32, max 256)\n"
"  --max-contacts N     SIP: Contacts a 302 carries (strowgerd's sip.max_contacts;\n"
"                       default 4)\n"
"  --max-dest N         native: RouteQuery.max_destinations (as batch --max; default 0)\n"
"  --pin CPU[,CPU...]   pin thread i to the i-th CPU listed (round robin)\n"
"  --json FILE          write the results as JSON ('-': stdout, the summary then\n"
"                       goes to stderr)\n"
"  --label TEXT         a name for this run, copied into the JSON\n"
"  --report-wrong N     describe the first N wrong answers per thread (default 5)\n"
"  --progress           a progress line every second even for short runs\n"
"  --quiet              no progress line, no notes on stderr\n"
"  --allow-remote       allow a target that is not a loopback address\n"
"  --echo               the target is a UDP echo (SIP only): each INVITE coming\n"
"                       back unchanged is its answer (no --expect, no ACK)\n"
"  --version, --help\n"
"\n"
"N, K and counts take k/M suffixes (10k = 10000). Exit status: 0 every answer\n"
"arrived and was right; 1 some were wrong, lost or unreadable; 2 usage or setup\n"
"error.\n", f);
}

/* ------------------------------------------------------------ flags */

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		return -1;
	if (*end == 'k' || *end == 'K') {
		v *= 1e3;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v *= 1e6;
		end++;
	}
	if (*end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

static int parse_target(struct sb_opts *o, const char *s)
{
	char host[64];
	const char *port;
	char *end;
	unsigned long p;

	o->target_text = s;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		host[e - s - 1] = '\0';
		port = e + 2;
	} else {
		const char *c = strrchr(s, ':');
		if (!c || (size_t)(c - s) >= sizeof(host) || memchr(s, ':', (size_t)(c - s)))
			return -1;
		memcpy(host, s, (size_t)(c - s));
		host[c - s] = '\0';
		port = c + 1;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p == 0 || p > 65535)
		return -1;
	memset(&o->target, 0, sizeof(o->target));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&o->target;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&o->target;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		o->target_len = sizeof(*v4);
		snprintf(o->target_hostport, sizeof(o->target_hostport), "%s:%lu", host, p);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		o->target_len = sizeof(*v6);
		snprintf(o->target_hostport, sizeof(o->target_hostport), "[%s]:%lu", host, p);
	} else {
		return -1;
	}
	return 0;
}

static bool target_is_loopback(const struct sb_opts *o)
{
	if (o->target.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&o->target;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&o->target;
	if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
}

static int parse_pin(struct sb_opts *o, const char *s)
{
	char *copy = strdup(s), *save = NULL;
	int rc = 0;

	if (!copy)
		return -1;
	o->n_pin = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long c = strtol(t, &end, 10);
		if (*end || c < 0 || c >= CPU_SETSIZE || o->n_pin == SB_MAX_THREADS) {
			rc = -1;
			break;
		}
		o->pin[o->n_pin++] = (int)c;
	}
	free(copy);
	return o->n_pin ? rc : -1;
}

enum {
	OPT_SIP = 256, OPT_NATIVE, OPT_NUMBERS, OPT_EXPECT, OPT_RATE, OPT_CONC, OPT_THREADS,
	OPT_SOCKETS, OPT_DURATION, OPT_COUNT, OPT_WARMUP, OPT_TIMEOUT, OPT_BUSY, OPT_BATCH,
	OPT_MAXC, OPT_MAXD, OPT_PIN, OPT_JSON, OPT_LABEL, OPT_REPORT, OPT_PROGRESS, OPT_QUIET,
	OPT_REMOTE, OPT_ECHO, OPT_VERSION, OPT_HELP,
};

static int parse_args(int argc, char **argv, struct sb_opts *o)
{
	static const struct option longopts[] = {
		{"sip", required_argument, NULL, OPT_SIP},
		{"native", required_argument, NULL, OPT_NATIVE},
		{"numbers", required_argument, NULL, OPT_NUMBERS},
		{"expect", required_argument, NULL, OPT_EXPECT},
		{"rate", required_argument, NULL, OPT_RATE},
		{"concurrency", required_argument, NULL, OPT_CONC},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"sockets", required_argument, NULL, OPT_SOCKETS},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"count", required_argument, NULL, OPT_COUNT},
		{"warmup", required_argument, NULL, OPT_WARMUP},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"busy-poll", no_argument, NULL, OPT_BUSY},
		{"batch", required_argument, NULL, OPT_BATCH},
		{"max-contacts", required_argument, NULL, OPT_MAXC},
		{"max-dest", required_argument, NULL, OPT_MAXD},
		{"pin", required_argument, NULL, OPT_PIN},
		{"json", required_argument, NULL, OPT_JSON},
		{"label", required_argument, NULL, OPT_LABEL},
		{"report-wrong", required_argument, NULL, OPT_REPORT},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"allow-remote", no_argument, NULL, OPT_REMOTE},
		{"echo", no_argument, NULL, OPT_ECHO},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	const char *target = NULL, *flag = NULL;
	bool have_duration = false;
	double v;
	int c;

	*o = (struct sb_opts){
		.threads = 1, .sockets = 1, .batch = SB_DEFAULT_BATCH, .duration = 10,
		.timeout_ms = 1000, .max_contacts = 4, .report_wrong = 5,
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *name = c >= OPT_SIP && c <= OPT_HELP ? longopts[c - OPT_SIP].name : "?";
#define NUM(lo, hi) do { if (parse_num(optarg, (lo), (hi), &v)) goto bad_value; } while (0)
		switch (c) {
		case OPT_SIP:
		case OPT_NATIVE:
			if (target) {
				fprintf(stderr, "strowger-bench: one of --sip or --native, once\n");
				return -1;
			}
			target = optarg;
			flag = name;
			o->proto = c == OPT_SIP ? SB_PROTO_SIP : SB_PROTO_NATIVE;
			break;
		case OPT_NUMBERS: o->numbers = optarg; break;
		case OPT_EXPECT: o->expect = optarg; break;
		case OPT_RATE: NUM(1e-3, 1e9); o->rate = v; break;
		case OPT_CONC: NUM(1, SB_MAX_SLOTS); o->concurrency = (unsigned)v; break;
		case OPT_THREADS: NUM(1, SB_MAX_THREADS); o->threads = (unsigned)v; break;
		case OPT_SOCKETS: NUM(1, SB_MAX_SOCKETS); o->sockets = (unsigned)v; break;
		case OPT_DURATION: NUM(1e-3, 1e7); o->duration = v; have_duration = true; break;
		case OPT_COUNT: NUM(1, 1e15); o->count = (uint64_t)v; break;
		case OPT_WARMUP: NUM(0, 1e6); o->warmup = v; break;
		case OPT_TIMEOUT: NUM(1, 3600e3); o->timeout_ms = (unsigned)v; break;
		case OPT_BUSY: o->busy_poll = true; break;
		case OPT_BATCH: NUM(1, SB_MAX_BATCH); o->batch = (unsigned)v; break;
		case OPT_MAXC: NUM(1, SB_MAX_CONTACTS); o->max_contacts = (unsigned)v; break;
		case OPT_MAXD: NUM(0, SB_MAX_CONTACTS); o->max_dest = (unsigned)v; break;
		case OPT_PIN:
			if (parse_pin(o, optarg))
				goto bad_value;
			break;
		case OPT_JSON: o->json = optarg; break;
		case OPT_LABEL: o->label = optarg; break;
		case OPT_REPORT: NUM(0, 1e6); o->report_wrong = (unsigned)v; break;
		case OPT_PROGRESS: o->progress = true; break;
		case OPT_QUIET: o->quiet = true; break;
		case OPT_REMOTE: o->allow_remote = true; break;
		case OPT_ECHO: o->echo = true; break;
		case OPT_VERSION:
			printf("strowger-bench %s\n", SB_VERSION);
			exit(0);
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			if (optopt >= OPT_SIP && optopt <= OPT_HELP)
				fprintf(stderr, "strowger-bench: --%s needs a value\n",
					longopts[optopt - OPT_SIP].name);
			else
				fprintf(stderr, "strowger-bench: unknown option '%s'\n",
					argv[optind - 1]);
			return -1;
		}
		continue;
bad_value:
		fprintf(stderr, "strowger-bench: --%s: bad value '%s'\n", name, optarg);
		return -1;
#undef NUM
	}
	if (optind < argc) {
		fprintf(stderr, "strowger-bench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!target || !o->numbers) {
		fprintf(stderr, "strowger-bench: needs --sip or --native, and --numbers\n");
		return -1;
	}
	if (parse_target(o, target)) {
		fprintf(stderr, "strowger-bench: --%s: '%s' is not IPV4:PORT or [IPV6]:PORT\n",
			flag, target);
		return -1;
	}
	if (!o->allow_remote && !target_is_loopback(o)) {
		fprintf(stderr, "strowger-bench: %s is not a loopback address (--allow-remote to "
			"load another host)\n", o->target_hostport);
		return -1;
	}
	if (o->echo && (o->proto != SB_PROTO_SIP || o->expect)) {
		fprintf(stderr, "strowger-bench: --echo goes with --sip and without --expect\n");
		return -1;
	}
	if ((o->rate > 0) == (o->concurrency > 0)) {
		fprintf(stderr, "strowger-bench: one of --rate (open loop) or --concurrency "
			"(closed loop)\n");
		return -1;
	}
	if (o->count && have_duration) {
		fprintf(stderr, "strowger-bench: --duration or --count, not both\n");
		return -1;
	}
	if (o->count)
		o->duration = 0;
	if (o->count && o->count < o->threads) {
		fprintf(stderr, "strowger-bench: --count %" PRIu64 " is less than --threads %u\n",
			o->count, o->threads);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ totals */

struct sb_totals {
	struct sb_counters c;
	struct sb_hist h;
	double window_s;  /* measured sending window */
	bool interrupted; /* SIGINT/SIGTERM, or a thread failed */
};

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void counters_add(struct sb_counters *t, const struct sb_counters *c)
{
	t->sent += ld(&c->sent);
	t->received += ld(&c->received);
	t->wrong += ld(&c->wrong);
	t->wrong_code += ld(&c->wrong_code);
	t->wrong_dest += ld(&c->wrong_dest);
	t->lost += ld(&c->lost);
	t->late += ld(&c->late);
	t->malformed += ld(&c->malformed);
	t->send_errors += ld(&c->send_errors);
	t->refused += ld(&c->refused);
	t->acks += ld(&c->acks);
	t->all_sent += ld(&c->all_sent);
	t->all_received += ld(&c->all_received);
	t->late_sends += ld(&c->late_sends);
	if (ld(&c->max_send_lag) > t->max_send_lag)
		t->max_send_lag = ld(&c->max_send_lag);
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

/* ------------------------------------------------------------ progress */

static void on_signal(int sig)
{
	(void)sig;
	if (g_run)
		__atomic_store_n(&g_run->stop, 1, __ATOMIC_RELAXED);
	/* a second ^C ends it at once */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void progress_loop(struct sb_run *run, bool show)
{
	struct sb_hist *cur = malloc(sizeof(*cur)), *prev = malloc(sizeof(*prev));
	struct sb_hist *tmp = malloc(sizeof(*tmp)), *diff = malloc(sizeof(*diff));
	struct sb_counters last = {0};
	bool tty = isatty(STDERR_FILENO), printed = false;
	uint64_t tick = run->t0;

	if (!cur || !prev || !tmp || !diff)
		show = false;
	else
		sb_hist_init(prev);
	while (__atomic_load_n(&run->done, __ATOMIC_ACQUIRE) < run->n_threads) {
		uint64_t now = sb_now();
		if (now < tick + 1000000000ull) {
			uint64_t until = tick + 1000000000ull;
			sleep_until(now + 50000000ull < until ? now + 50000000ull : until);
			continue;
		}
		tick += 1000000000ull;
		if (!show)
			continue;
		struct sb_counters c = {0};
		sb_hist_init(cur);
		for (unsigned i = 0; i < run->n_threads; i++) {
			counters_add(&c, &run->th[i].c);
			sb_hist_snapshot(tmp, &run->th[i].hist);
			sb_hist_merge(cur, tmp);
		}
		sb_hist_diff(diff, cur, prev);
		double el = (double)(tick - run->t0) / 1e9;
		char p99[64] = "-";
		if (cur->n)
			snprintf(p99, sizeof(p99), "%.1f us (last 1s: %.1f)",
				 us(sb_hist_percentile(cur, 99)), us(sb_hist_percentile(diff, 99)));
		fprintf(stderr, "%s[%6.1fs]%s %9.0f/s sent %9.0f/s answered | p99 %s "
			"| wrong %" PRIu64 " lost %" PRIu64 "%s%s", tty ? "\r" : "", el,
			tick <= run->t_measure ? " warmup" : "",
			(double)(c.all_sent - last.all_sent),
			(double)(c.all_received - last.all_received), p99, c.wrong, c.lost,
			c.malformed ? " malformed" : "", tty ? "\033[K" : "\n");
		fflush(stderr);
		printed = true;
		last = c;
		struct sb_hist *t = prev;
		prev = cur;
		cur = t;
	}
	if (printed && tty)
		fputc('\n', stderr);
	free(cur);
	free(prev);
	free(tmp);
	free(diff);
}

/* ------------------------------------------------------------ report */

static const char *mode_name(const struct sb_opts *o)
{
	return o->rate > 0 ? "open" : "closed";
}

static void report_text(FILE *f, const struct sb_opts *o, const struct sb_data *d,
			const struct sb_totals *t)
{
	const struct sb_hist *h = &t->h;
	double rate = t->window_s > 0 ? (double)t->c.received / t->window_s : 0;

	fprintf(f, "strowger-bench %s: %s to %s, %s loop", SB_VERSION,
		o->proto == SB_PROTO_SIP ? "SIP" : "native", o->target_hostport, mode_name(o));
	if (o->rate > 0)
		fprintf(f, " at %.0f/s", o->rate);
	else
		fprintf(f, ", %u outstanding per thread", o->concurrency);
	fprintf(f, ", %u thread%s%s, %zu numbers%s\n", o->threads, o->threads == 1 ? "" : "s",
		o->busy_poll ? " (busy-poll)" : "", d->n,
		d->exp ? ", every answer checked" : ", answers NOT checked (no --expect)");
	if (t->interrupted)
		fprintf(f, "  (interrupted: stopped sending early)\n");
	fprintf(f, "  queries   sent %" PRIu64 ", answered %" PRIu64 ", wrong %" PRIu64
		", lost %" PRIu64 "\n", t->c.sent, t->c.received, t->c.wrong, t->c.lost);
	if (t->c.late || t->c.malformed || t->c.send_errors || t->c.refused || t->c.wrong)
		fprintf(f, "            wrong code %" PRIu64 ", wrong destinations %" PRIu64
			", late %" PRIu64 ", malformed %" PRIu64 ", send errors %" PRIu64
			", refused %" PRIu64 "\n", t->c.wrong_code, t->c.wrong_dest, t->c.late,
			t->c.malformed, t->c.send_errors, t->c.refused);
	fprintf(f, "  rate      %.0f answered/s over %.2f s (sent %.0f/s", rate, t->window_s,
		t->window_s > 0 ? (double)t->c.sent / t->window_s : 0);
	if (o->rate > 0)
		fprintf(f, ", offered %.0f/s; %" PRIu64 " sends > 1 ms late, max lag %.1f ms",
			o->rate, t->c.late_sends, (double)t->c.max_send_lag / 1e6);
	if (o->proto == SB_PROTO_SIP)
		fprintf(f, "; %" PRIu64 " ACKs", t->c.acks);
	fprintf(f, ")\n");
	if (h->n)
		fprintf(f, "  latency   p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f us "
			"(min %.1f, mean %.1f)\n", us(sb_hist_percentile(h, 50)),
			us(sb_hist_percentile(h, 90)), us(sb_hist_percentile(h, 99)),
			us(sb_hist_percentile(h, 99.9)), us(h->max), us(h->min),
			us(h->sum) / (double)h->n);
	else
		fprintf(f, "  latency   no answers\n");
}

static void json_kv_str(FILE *f, const char *k, const char *v, bool comma)
{
	fprintf(f, "\"%s\": ", k);
	if (v)
		sb_json_str(f, v);
	else
		fputs("null", f);
	fputs(comma ? ", " : "", f);
}

static void json_latency(FILE *f, const struct sb_hist *h)
{
	fprintf(f, "{\"n\": %" PRIu64, h->n);
	if (h->n)
		fprintf(f, ", \"min\": %.3f, \"mean\": %.3f, \"p50\": %.3f, \"p90\": %.3f, "
			"\"p99\": %.3f, \"p99_9\": %.3f, \"max\": %.3f", us(h->min),
			us(h->sum) / (double)h->n, us(sb_hist_percentile(h, 50)),
			us(sb_hist_percentile(h, 90)), us(sb_hist_percentile(h, 99)),
			us(sb_hist_percentile(h, 99.9)), us(h->max));
	fputs("}", f);
}

static void json_counts(FILE *f, const struct sb_counters *c)
{
	fprintf(f, "{\"sent\": %" PRIu64 ", \"received\": %" PRIu64 ", \"wrong\": %" PRIu64
		", \"wrong_code\": %" PRIu64 ", \"wrong_destinations\": %" PRIu64
		", \"lost\": %" PRIu64 ", \"late\": %" PRIu64 ", \"malformed\": %" PRIu64
		", \"send_errors\": %" PRIu64 ", \"refused\": %" PRIu64 ", \"acks\": %" PRIu64
		", \"late_sends\": %" PRIu64 ", \"max_send_lag_us\": %.1f}",
		c->sent, c->received, c->wrong, c->wrong_code, c->wrong_dest, c->lost, c->late,
		c->malformed, c->send_errors, c->refused, c->acks, c->late_sends,
		us(c->max_send_lag));
}

static int report_json(const struct sb_opts *o, const struct sb_data *d, const struct sb_run *run,
		       const struct sb_totals *t, bool ok)
{
	bool to_stdout = strcmp(o->json, "-") == 0;
	FILE *f = to_stdout ? stdout : fopen(o->json, "w");
	double rate = t->window_s > 0 ? (double)t->c.received / t->window_s : 0;

	if (!f) {
		fprintf(stderr, "strowger-bench: --json %s: %s\n", o->json, strerror(errno));
		return -1;
	}
	fprintf(f, "{\"tool\": \"strowger-bench\", \"version\": \"%s\", ", SB_VERSION);
	json_kv_str(f, "label", o->label, true);
	fputs("\"config\": {", f);
	json_kv_str(f, "protocol", o->proto == SB_PROTO_SIP ? "sip" : "native", true);
	json_kv_str(f, "target", o->target_hostport, true);
	json_kv_str(f, "mode", mode_name(o), true);
	if (o->rate > 0)
		fprintf(f, "\"rate\": %.3f, \"concurrency\": null, ", o->rate);
	else
		fprintf(f, "\"rate\": null, \"concurrency\": %u, ", o->concurrency);
	fprintf(f, "\"threads\": %u, \"sockets_per_thread\": %u, \"batch\": %u, ", o->threads,
		o->sockets, o->batch);
	if (o->count)
		fprintf(f, "\"duration_s\": null, \"count\": %" PRIu64 ", ", o->count);
	else
		fprintf(f, "\"duration_s\": %.3f, \"count\": null, ", o->duration);
	fprintf(f, "\"warmup_s\": %.3f, \"timeout_ms\": %u, \"busy_poll\": %s, ", o->warmup,
		o->timeout_ms, o->busy_poll ? "true" : "false");
	fprintf(f, "\"max_contacts\": %u, \"max_dest\": %u, ", o->max_contacts, o->max_dest);
	json_kv_str(f, "numbers", o->numbers, true);
	json_kv_str(f, "expect", o->expect, true);
	fprintf(f, "\"echo\": %s, ", o->echo ? "true" : "false");
	fprintf(f, "\"queries\": %zu, \"checked\": %s", d->n, d->exp ? "true" : "false");
	if (o->n_pin) {
		fputs(", \"pin\": [", f);
		for (unsigned i = 0; i < o->n_pin; i++)
			fprintf(f, "%s%d", i ? ", " : "", o->pin[i]);
		fputs("]", f);
	}
	fputs("}, \"counts\": ", f);
	json_counts(f, &t->c);
	fprintf(f, ", \"rate\": {\"offered\": ");
	if (o->rate > 0)
		fprintf(f, "%.3f", o->rate);
	else
		fputs("null", f);
	fprintf(f, ", \"sent_per_s\": %.3f, \"achieved_per_s\": %.3f, \"window_s\": %.6f}, ",
		t->window_s > 0 ? (double)t->c.sent / t->window_s : 0, rate, t->window_s);
	fputs("\"latency_us\": ", f);
	json_latency(f, &t->h);
	fputs(", \"threads\": [", f);
	for (unsigned i = 0; i < run->n_threads; i++) {
		const struct sb_thread *th = &run->th[i];
		fprintf(f, "%s{\"counts\": ", i ? ", " : "");
		json_counts(f, &th->c);
		fputs(", \"latency_us\": ", f);
		json_latency(f, &th->hist);
		fputs("}", f);
	}
	fprintf(f, "], \"interrupted\": %s, \"ok\": %s}\n", t->interrupted ? "true" : "false",
		ok ? "true" : "false");
	if (to_stdout ? fflush(f) != 0 : fclose(f) != 0) {
		fprintf(stderr, "strowger-bench: --json %s: %s\n", o->json, strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	struct sb_opts o;
	struct sb_data d = {0};
	struct sb_run run = {0};
	struct sb_totals *t = NULL;
	char err[1024];
	int rc = EXIT_USAGE;
	unsigned started = 0;

	if (parse_args(argc, argv, &o) != 0) {
		fputs("(strowger-bench --help for usage)\n", stderr);
		return EXIT_USAGE;
	}
	if (sb_load_numbers(&d, &o, err, sizeof(err)) != 0 ||
	    (o.expect && sb_load_expect(&d, &o, err, sizeof(err)) != 0)) {
		fprintf(stderr, "strowger-bench: %s\n", err);
		goto out;
	}
	if (d.n < o.threads) {
		fprintf(stderr, "strowger-bench: %zu queries for %u threads: each thread needs "
			"its own share\n", d.n, o.threads);
		goto out;
	}
	if (!o.expect && !o.quiet)
		fprintf(stderr, "strowger-bench: no --expect: answers are counted, not checked\n");

	run.o = &o;
	run.d = &d;
	run.n_threads = o.threads;
	run.th = calloc(o.threads, sizeof(*run.th));
	t = calloc(1, sizeof(*t));
	if (!run.th || !t) {
		fprintf(stderr, "strowger-bench: out of memory\n");
		goto out;
	}
	for (unsigned i = 0; i < o.threads; i++) {
		struct sb_thread *th = &run.th[i];
		th->idx = i;
		th->run = &run;
		th->o = &o;
		th->d = &d;
		th->q_first = d.n * i / o.threads;
		th->q_n = d.n * (i + 1) / o.threads - th->q_first;
		th->rate = o.rate / o.threads;
		if (o.count)
			th->quota = o.count / o.threads + (i < o.count % o.threads);
		if (sb_thread_setup(th, err, sizeof(err)) != 0) {
			fprintf(stderr, "strowger-bench: thread %u: %s\n", i, err);
			for (unsigned k = 0; k <= i; k++)
				sb_thread_teardown(&run.th[k]);
			goto out;
		}
	}
	if (pthread_barrier_init(&run.start, NULL, o.threads + 1) != 0) {
		fprintf(stderr, "strowger-bench: pthread_barrier_init failed\n");
		goto teardown;
	}
	g_run = &run;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	for (; started < o.threads; started++) {
		struct sb_thread *th = &run.th[started];
		int e = pthread_create(&th->tid, NULL, sb_thread_main, th);
		if (e) {
			fprintf(stderr, "strowger-bench: pthread_create: %s\n", strerror(e));
			/* the started ones wait at the barrier forever: nothing to join */
			_exit(EXIT_USAGE);
		}
	}
	if (!o.quiet) {
		fprintf(stderr, "strowger-bench: %s to %s, ",
			o.proto == SB_PROTO_SIP ? "SIP" : "native", o.target_hostport);
		if (o.rate > 0)
			fprintf(stderr, "open loop at %.0f/s", o.rate);
		else
			fprintf(stderr, "closed loop, %u outstanding per thread", o.concurrency);
		fprintf(stderr, ", %u thread%s, ", o.threads, o.threads == 1 ? "" : "s");
		if (o.count)
			fprintf(stderr, "%" PRIu64 " queries", o.count);
		else
			fprintf(stderr, "%.1f s", o.duration);
		if (o.warmup > 0)
			fprintf(stderr, " after %.1f s warmup", o.warmup);
		fprintf(stderr, "\n");
	}
	run.t0 = sb_now();
	run.t_measure = run.t0 + (uint64_t)(o.warmup * 1e9);
	run.t_end = o.count ? 0 : run.t_measure + (uint64_t)(o.duration * 1e9);
	pthread_barrier_wait(&run.start);

	double expected = o.count ? (o.rate > 0 ? (double)o.count / o.rate : 1e9) : o.duration;
	progress_loop(&run, !o.quiet && (o.progress || expected + o.warmup >= 3.0));

	uint64_t start = UINT64_MAX, end = 0;
	bool interrupted = __atomic_load_n(&run.stop, __ATOMIC_RELAXED) != 0;
	sb_hist_init(&t->h);
	for (unsigned i = 0; i < o.threads; i++) {
		struct sb_thread *th = &run.th[i];
		pthread_join(th->tid, NULL);
		counters_add(&t->c, &th->c);
		sb_hist_merge(&t->h, &th->hist);
		/* Open loop: from the end of the warmup to the end (or the last
		 * send, if the client ran late). Closed loop: from the first
		 * measured query to the last answer. */
		uint64_t e = th->t_send_end;
		if (o.rate <= 0 && th->t_last_answer > e)
			e = th->t_last_answer;
		if (o.rate > 0 && run.t_end > e && !interrupted)
			e = run.t_end;
		if (th->t_first_measured && th->t_first_measured < start)
			start = o.rate > 0 ? run.t_measure : th->t_first_measured;
		if (e > end)
			end = e;
		if (th->rc)
			fprintf(stderr, "strowger-bench: %s\n", th->err);
	}
	t->window_s = start != UINT64_MAX && end > start ? (double)(end - start) / 1e9 : 0;
	t->interrupted = interrupted;

	bool failed = false;
	for (unsigned i = 0; i < o.threads; i++)
		failed |= run.th[i].rc != 0;
	bool ok = !failed && t->c.received > 0 && t->c.wrong == 0 && t->c.lost == 0 &&
		  t->c.malformed == 0 && t->c.send_errors == 0 && t->c.received == t->c.sent;
	/* --json -: the JSON alone on stdout, the summary on stderr */
	report_text(o.json && strcmp(o.json, "-") == 0 ? stderr : stdout, &o, &d, t);
	fflush(stdout);
	rc = failed ? EXIT_USAGE : ok ? 0 : EXIT_WRONG;
	if (o.json && report_json(&o, &d, &run, t, ok) != 0 && rc == 0)
		rc = EXIT_USAGE;
	pthread_barrier_destroy(&run.start);
teardown:
	for (unsigned i = 0; i < o.threads; i++)
		sb_thread_teardown(&run.th[i]);
out:
	free(run.th);
	free(t);
	sb_data_free(&d);
	return rc;
}
