#pragma once
/*
 * ctl_client: strowgerctl's side of the native query port (SPEC section 4):
 * one RouteQuery datagram out, the RouteAnswer with the same id back. UDP
 * can lose either, so a query is sent again (same id) until an answer
 * arrives or the timeout passes; answers to other ids (late duplicates of
 * earlier queries) are ignored.
 */
#include <stdbool.h>
#include <stddef.h>

#include "rt_decide.h"

struct ctl_client;

/*
 * "HOST:PORT", "[V6]:PORT" or "HOST" (port 5070); HOST may be a name.
 * timeout_ms bounds each query. NULL with the reason in err.
 */
struct ctl_client *ctl_client_open(const char *hostport, int timeout_ms, char *err,
				   size_t errlen);
void ctl_client_close(struct ctl_client *c);

/*
 * Ask the server. On 0, *ans (and *ex when explain and the server sent
 * one; *has_explain says) hold the answer; their strings stay valid until
 * the next ctl_client_query or ctl_client_close. -ETIMEDOUT (no answer),
 * -EBADMSG (an answer that does not decode: message in err) or another
 * -errno from the socket.
 */
int ctl_client_query(struct ctl_client *c, const struct rt_query *q, bool explain,
		     struct rt_answer *ans, struct rt_explain *ex, bool *has_explain, char *err,
		     size_t errlen);

/* The resolved server address, "1.2.3.4:5070" or "[::1]:5070". */
const char *ctl_client_peer(const struct ctl_client *c);
