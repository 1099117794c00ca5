#pragma once
/*
 * sp_sip: the probe's side of SIP: build an OPTIONS request, and read the
 * two things it needs from whatever comes back (status code and Call-ID),
 * never reading past the datagram.
 */
#include <stddef.h>

/* OPTIONS to target ("host:port" as it goes in the Request-URI) from
 * local ("addr:port" for Via/From). Length written, or -1 if it does not
 * fit. */
int sp_options_build(char *buf, size_t cap, const char *target, const char *local,
		     const char *call_id, const char *branch, unsigned cseq);

/* A response's status code and Call-ID (a view into buf). 0, or -1 when
 * buf is not a SIP response with a Call-ID. */
int sp_response_parse(const char *buf, size_t len, unsigned *code, const char **call_id,
		      size_t *call_id_len);
