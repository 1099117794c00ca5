/*
 * libFuzzer target: parse a datagram, fill the query, answer it with a fake
 * decision, into a roomy buffer and into a cramped one. Checks the codec's
 * promises beyond "no crash": responses are complete messages, building is
 * deterministic, and a too-small buffer reports -ENOSPC.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fake_answer(struct rt_answer *a, const uint8_t *data, size_t size)
{
	static const char *const addrs[] = {"192.0.2.1", "2001:db8::1", "gw.example.net"};
	uint8_t sel = size ? data[size - 1] : 0;

	memset(a, 0, sizeof(*a));
	a->status = (enum rt_status)(sel % RT_STATUS_COUNT);
	a->code = (uint16_t)(sel * 3 % 700);
	a->error = "fuzz";
	a->n_dest = 1 + sel % 6;
	for (uint32_t i = 0; i < a->n_dest; i++) {
		struct rt_dest *d = &a->dest[i];
		if (i == 3) {
			d->uri = "sip:+1555@fallback.example.net";
			d->gateway_index = -1;
			continue;
		}
		d->address = addrs[i % 3];
		d->port = (uint16_t)(5060 + i);
		d->transport = (enum rt_transport)(i % 3);
		memcpy(d->called, "+1#555 0100", 12);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[SIP_RESPONSE_MAX], again[SIP_RESPONSE_MAX], small[96];
	struct sip_msg m;
	struct rt_query q;
	struct sip_numbuf nb;
	struct rt_answer ans;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(5060),
				 .sin_addr.s_addr = htonl(0xc0000263)};
	struct sip_respond_opts o = {.max_contacts = 1 + (size % 5), .retry_after = 30,
				     .draining = size & 1, .server = "strowger"};

	int rc = sip_parse(data, size, &m);
	if (rc != 0 && rc != SIP_EBAD)
		return 0;
	fake_answer(&ans, data, size);
	const struct rt_answer *a = NULL;
	if (sip_respond_needs_answer(&m) && sip_query_fill(&m, &q, &nb, o.max_contacts) == 0)
		a = &ans;

	int n = sip_respond(&m, a, &o, (const struct sockaddr *)&sa, out, sizeof(out));
	/* Responses grow little beyond the request (expanded compact names,
	 * received/rport, Contacts): half the buffer always fits. */
	if (n < 0 && !(n == -ENOSPC && size > sizeof(out) / 2))
		abort();
	if (n == 0)
		return 0;
	if (n < 12 || memcmp(out, "SIP/2.0 ", 8) || memcmp(out + n - 4, "\r\n\r\n", 4))
		abort();
	int n2 = sip_respond(&m, a, &o, (const struct sockaddr *)&sa, again, sizeof(again));
	if (n2 != n || memcmp(out, again, (size_t)n))
		abort(); /* retransmissions must get the same bytes */
	int ns = sip_respond(&m, a, &o, (const struct sockaddr *)&sa, small, sizeof(small));
	if ((size_t)n > sizeof(small) ? ns != -ENOSPC : ns != n)
		abort();
	return 0;
}
