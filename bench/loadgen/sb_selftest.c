/*
 * sb_selftest: strowger-bench's pieces that need no daemon: the histogram's
 * bucket arithmetic and percentiles, the JSON reader, SIP response parsing
 * and Contact formatting. Suite bench-smoke; prints "ok" or the failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"
#include "sb_json.h"

static int failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			failures++;                                            \
			fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
	} while (0)

static void test_hist_buckets(void)
{
	uint64_t prev_high = 0;

	/* Buckets tile the range: each starts right after the previous one,
	 * every value maps into the bucket that covers it, and no bucket is
	 * wider than 1/512 of its values. */
	for (unsigned i = 0; i < SB_HIST_BUCKETS; i++) {
		uint64_t lo = sb_hist_bucket_low(i), hi = sb_hist_bucket_high(i);
		CHECK(i == 0 || lo == prev_high + 1, "bucket %u starts at %llu after %llu", i,
		      (unsigned long long)lo, (unsigned long long)prev_high);
		CHECK(sb_hist_index(lo) == i && sb_hist_index(hi) == i, "bucket %u [%llu, %llu]", i,
		      (unsigned long long)lo, (unsigned long long)hi);
		CHECK(lo < SB_HIST_SUB || (hi - lo + 1) * 512 <= lo, "bucket %u too wide", i);
		prev_high = hi;
	}
	CHECK(prev_high == (UINT64_C(1) << SB_HIST_MAX_BITS) - 1, "top %llu",
	      (unsigned long long)prev_high);
	CHECK(sb_hist_index(UINT64_MAX) == SB_HIST_BUCKETS - 1, "clamp");
}

static void test_hist_percentiles(void)
{
	struct sb_hist *h = malloc(sizeof(*h)), *g = malloc(sizeof(*g)), *d = malloc(sizeof(*d));

	if (!h || !g || !d)
		abort();
	sb_hist_init(h);
	CHECK(sb_hist_percentile(h, 50) == 0, "empty");
	/* 1..100000 ns, one each */
	for (uint64_t v = 1; v <= 100000; v++)
		sb_hist_add(h, v);
	CHECK(h->n == 100000 && h->min == 1 && h->max == 100000, "n/min/max");
	uint64_t p50 = sb_hist_percentile(h, 50), p99 = sb_hist_percentile(h, 99);
	uint64_t p999 = sb_hist_percentile(h, 99.9);
	CHECK(p50 >= 50000 && p50 <= 50000 + 50000 / 512 + 1, "p50 %llu", (unsigned long long)p50);
	CHECK(p99 >= 99000 && p99 <= 99000 + 99000 / 512 + 1, "p99 %llu", (unsigned long long)p99);
	CHECK(p999 >= 99900 && p999 <= 100000, "p99.9 %llu", (unsigned long long)p999);
	CHECK(sb_hist_percentile(h, 100) == 100000, "p100");
	/* merge doubles counts, keeps percentiles */
	sb_hist_init(g);
	sb_hist_merge(g, h);
	sb_hist_merge(g, h);
	CHECK(g->n == 200000 && sb_hist_percentile(g, 50) == p50, "merge");
	/* an interval: g minus h is h again */
	sb_hist_diff(d, g, h);
	CHECK(d->n == 100000 && sb_hist_percentile(d, 99) == p99, "diff %llu",
	      (unsigned long long)d->n);
	/* one huge value is clamped, not lost */
	sb_hist_add(h, UINT64_C(1) << 50);
	CHECK(h->n == 100001 && sb_hist_percentile(h, 100) == UINT64_C(1) << 50, "huge");
	free(h);
	free(g);
	free(d);
}

static void test_json(void)
{
	const char *s = " {\"a\": \"x\\u00e9\\ud83d\\ude00\\n\\\"\", \"n\": -12, "
			"\"skip\": {\"k\": [1, 2.5e3, true, null, {\"z\": []}]}, "
			"\"arr\": [{\"p\": null}, {\"p\": 7}], \"e\": {}} ";
	struct sb_jr r;
	char key[16], buf[64];
	long long n = 0;
	int rc, seen = 0;

	sb_jr_init(&r, s, strlen(s));
	CHECK(sb_jr_obj_begin(&r) == 0, "begin");
	while ((rc = sb_jr_obj_next(&r, key, sizeof(key))) == 1) {
		seen++;
		if (strcmp(key, "a") == 0) {
			size_t len;
			CHECK(sb_jr_string(&r, buf, sizeof(buf), &len) == 0, "string");
			CHECK(len == 9 && memcmp(buf, "x\xc3\xa9\xf0\x9f\x98\x80\n\"", 9) == 0,
			      "decoded '%s' (%zu)", buf, len);
		} else if (strcmp(key, "n") == 0) {
			CHECK(sb_jr_int(&r, &n) == 0 && n == -12, "int %lld", n);
		} else if (strcmp(key, "arr") == 0) {
			int items = 0;
			CHECK(sb_jr_arr_begin(&r) == 0, "arr");
			while (sb_jr_arr_next(&r) == 1) {
				CHECK(sb_jr_obj_begin(&r) == 0, "item");
				while (sb_jr_obj_next(&r, key, sizeof(key)) == 1) {
					if (items == 0)
						CHECK(sb_jr_null(&r), "null");
					else
						CHECK(sb_jr_int(&r, &n) == 0 && n == 7, "7");
				}
				items++;
			}
			CHECK(items == 2, "items %d", items);
		} else {
			CHECK(sb_jr_skip(&r) == 0, "skip %s: %s", key, r.err);
		}
	}
	CHECK(rc == 0 && seen == 5 && sb_jr_end(&r) == 0, "rc %d seen %d err %s", rc, seen,
	      r.err ? r.err : "-");

	/* skipping is lenient inside strings (escapes are not checked), not
	 * about structure */
	const char *bad[] = {"{\"a\" 1}", "{\"a\": \"x}", "[1 2]", "{\"a\": 1,}", "{\"a\": tru}",
			     ("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
			      "1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]")};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_jr_init(&r, bad[i], strlen(bad[i]));
		rc = sb_jr_skip(&r);
		CHECK(rc != 0 || sb_jr_end(&r) != 0, "accepted bad JSON %s", bad[i]);
	}
	const char *bad_str[] = {
		"\"\\q\"", "\"\\ud800\"", "\"abc", "\"\x01\"",
		"\"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\"",
	};
	for (size_t i = 0; i < sizeof(bad_str) / sizeof(bad_str[0]); i++) {
		sb_jr_init(&r, bad_str[i], strlen(bad_str[i]));
		CHECK(sb_jr_string(&r, buf, sizeof(buf), NULL) != 0, "accepted bad string %s",
		      bad_str[i]);
	}
}

static void test_sip(void)
{
	static const char resp[] =
		"SIP/2.0 302 Moved Temporarily\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-sb00000000010000ff;rport=5999;"
		"received=127.0.0.1\r\n"
		"From: <sip:+14255550123@127.0.0.1:5999>;tag=sb0\r\n"
		"To: <sip:+19725550100@127.0.0.1:5060>;tag=0123456789abcdef\r\n"
		"Call-ID: c-1\r\nCSeq: 1 INVITE\r\n"
		"Contact: <sip:+19725550100@198.51.100.21:5060;transport=udp>;q=1.0\r\n"
		"Contact: <sip:overflow@192.0.2.99>;q=0.5\r\n"
		"Server: strowger\r\nContent-Length: 0\r\n\r\n";
	struct sb_sip_resp r;
	char c[128];
	int n;

	CHECK(sb_sip_parse(resp, sizeof(resp) - 1, &r) == 0, "parse");
	CHECK(r.code == 302 && r.has_id && r.id == 0x10000ff && r.invite, "code %u id %llx", r.code,
	      (unsigned long long)r.id);
	CHECK(r.to_len == strlen("<sip:+19725550100@127.0.0.1:5060>;tag=0123456789abcdef") &&
	      memcmp(r.to, "<sip:+19725550100@127.0.0.1:5060>;tag=", 38) == 0, "To");
	CHECK(r.n_contacts == 2 && r.contact_len[0] == strlen("+19725550100@198.51.100.21:5060") &&
	      memcmp(r.contact[1], "overflow@192.0.2.99", r.contact_len[1]) == 0, "contacts");
	CHECK(sb_sip_parse("HTTP/1.1 200 OK\r\n\r\n", 19, &r) != 0, "not SIP");

	n = sb_sip_contact(c, sizeof(c), "+1972", "198.51.100.21", 5060, "");
	CHECK(n > 0 && strncmp(c, "+1972@198.51.100.21:5060", (size_t)n) == 0, "contact");
	n = sb_sip_contact(c, sizeof(c), "a b", "2001:db8::1", 5061, "");
	CHECK(n > 0 && strncmp(c, "a%20b@[2001:db8::1]:5061", (size_t)n) == 0, "v6 %.*s", n, c);
	n = sb_sip_contact(c, sizeof(c), "+1", "", 0, "sip:overflow@192.0.2.99;transport=tcp");
	CHECK(n > 0 && strncmp(c, "overflow@192.0.2.99", (size_t)n) == 0, "uri %.*s", n, c);
	CHECK(sb_sip_code(0, 302, 2) == 302 && sb_sip_code(0, 302, 0) == 503 &&
	      sb_sip_code(4, 486, 0) == 486 && sb_sip_code(4, 0, 0) == 408 &&
	      sb_sip_code(4, 200, 0) == 500 && sb_sip_code(5, 400, 0) == 400, "codes");
}

int main(void)
{
	test_hist_buckets();
	test_hist_percentiles();
	test_json();
	test_sip();
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	puts("ok");
	return 0;
}
