/* RFC 2782 weighted ordering inside one gateway priority: the share of
 * first places follows the weights, and the order is a pure function of
 * the call id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#define CALLS 40000

static const char *WEIGHTED =
	"gateways:\n"
	"  - { name: A, address: 192.0.2.1, weight: 60 }\n"
	"  - { name: B, address: 192.0.2.2, weight: 30 }\n"
	"  - { name: C, address: 192.0.2.3, weight: 10 }\n"
	"  - { name: Z, address: 192.0.2.4, weight: 0 }\n"
	"  - { name: Low, address: 192.0.2.5, weight: 1000, priority: 9 }\n"
	"trunks: [ {name: TA, gateway: A}, {name: TB, gateway: B}, {name: TC, gateway: C},\n"
	"          {name: TZ, gateway: Z}, {name: TL, gateway: Low} ]\n"
	"usages: [U]\n"
	"routes: [ { name: R, pattern: '^', usages: [U], trunks: [TL, TZ, TC, TB, TA] } ]\n"
	"policies: [ { name: P, usages: [U], default: true } ]\n";

static int idx(const char *gw)
{
	return gw[0] == 'A' ? 0 : gw[0] == 'B' ? 1 : gw[0] == 'C' ? 2 : gw[0] == 'Z' ? 3 : 4;
}

static void first_place_follows_weights(void **state)
{
	struct tcfg *t = tcfg_load(WEIGHTED);
	unsigned first[5] = {0}, second_given_a[5] = {0}, a_first = 0;
	struct rt_answer a;
	for (int i = 0; i < CALLS; i++) {
		char cid[32];
		snprintf(cid, sizeof(cid), "%08x@sbc.example", i * 2654435761u);
		tq_run(t, &(struct tq){.called = "+1", .call_id = cid}, &a, NULL);
		assert_int_equal(a.n_dest, 5);
		/* The priority-9 gateway is always last, whatever its weight. */
		assert_string_equal(a.dest[4].gateway, "Low");
		first[idx(a.dest[0].gateway)]++;
		if (a.dest[0].gateway[0] == 'A') {
			a_first++;
			second_given_a[idx(a.dest[1].gateway)]++;
		}
	}
	/* Expected shares 60/30/10 and ~0 for weight 0 (it wins only when the
	 * draw is exactly 0: 1/101). Tolerance: 1.5 points absolute, many
	 * standard deviations at 40k samples. */
	assert_true(abs((int)first[0] - CALLS * 60 / 100) < CALLS * 15 / 1000);
	assert_true(abs((int)first[1] - CALLS * 30 / 100) < CALLS * 15 / 1000);
	assert_true(abs((int)first[2] - CALLS * 10 / 100) < CALLS * 15 / 1000);
	assert_true(first[3] < CALLS * 2 / 100);
	assert_int_equal(first[4], 0);
	/* Given A first, B is second about 3/4 of the time (30 of 40). */
	assert_true(abs((int)second_given_a[1] - (int)a_first * 3 / 4) < (int)a_first * 3 / 100);
	tcfg_free(t);
}

static void order_is_a_function_of_call_id(void **state)
{
	struct tcfg *t = tcfg_load(WEIGHTED);
	struct rt_answer a, b;
	char x[128], y[128];
	unsigned differ = 0;
	for (int i = 0; i < 200; i++) {
		char cid[32];
		snprintf(cid, sizeof(cid), "call-%d", i);
		tq_run(t, &(struct tq){.called = "+1", .call_id = cid}, &a, NULL);
		tq_run(t, &(struct tq){.called = "+1", .call_id = cid}, &b, NULL);
		assert_string_equal(tq_gateways(&a, x, sizeof(x)), tq_gateways(&b, y, sizeof(y)));
		snprintf(cid, sizeof(cid), "call-%d", i + 1000);
		tq_run(t, &(struct tq){.called = "+1", .call_id = cid}, &b, NULL);
		differ += strcmp(tq_gateways(&a, x, sizeof(x)), tq_gateways(&b, y, sizeof(y))) != 0;
	}
	/* Different calls do get different orders (load is spread). */
	assert_true(differ > 50);
	tcfg_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_place_follows_weights),
		cmocka_unit_test(order_is_a_function_of_call_id),
	};
	return cmocka_run_group_tests_name("shuffle", tests, NULL, NULL);
}
