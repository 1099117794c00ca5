#pragma once
/*
 * nq_codec: the native query front-end's wire format (SPEC section 4): one
 * protobuf strowger.RouteQuery per UDP datagram, answered by one
 * strowger.RouteAnswer echoing the query id. This is the edge where
 * protobuf-c types turn into the core's plain structs (rt_query, rt_answer,
 * rt_explain) and back; nothing outside this file sees a protobuf type.
 *
 * Server side (nq_decode_query, nq_encode_answer, nq_encode_error) runs per
 * packet on a worker and never allocates: decoding goes through a
 * caller-owned bump arena, encoding builds the message on the stack. These
 * functions keep no state; use one arena per thread.
 *
 * Client side (nq_encode_query, nq_decode_answer) is for strowgerctl and
 * tests and may allocate.
 *
 * Empty strings: protobuf has no "absent" string, so an answer's optional
 * strings (policy, error, a destination's gateway/trunk/address/uri, the
 * explain strings) go on the wire as "" when NULL and come back as NULL
 * when "". A query's absent strings come back as {NULL, 0}.
 */
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_decide.h"

/*
 * Bump arena for decoding one query. A legitimate query needs well under
 * 4 KiB (16 tried entries with long gateway names, a long Call-ID); 32 KiB
 * leaves room for odd but valid senders. A datagram whose decoded form does
 * not fit is undecodable (-EBADMSG), never a crash.
 *
 * Embed it anywhere (worker struct, stack of a big-stack thread); it needs
 * no constructor beyond nq_arena_reset().
 */
#define NQ_ARENA_SIZE (32 * 1024)

struct nq_arena {
	size_t used;
	alignas(16) uint8_t mem[NQ_ARENA_SIZE];
};

/* Forget everything allocated: every query decoded into a is invalid. */
void nq_arena_reset(struct nq_arena *a);

/* The BAD_REQUEST reason for nq_decode_query's -ERANGE (rt_decide's text). */
#define NQ_ERR_TOO_MANY_TRIED "too many tried entries"

/*
 * Decode one RouteQuery datagram into *q, *id and *explain.
 *
 * Returns:
 *   0        *q is ready for rt_decide. Its strings point into the arena and
 *            stay valid until the arena is reset. Answer with
 *            nq_encode_answer(*id, ...).
 *   -ERANGE  well-formed, but with more than RT_MAX_TRIED tried entries,
 *            which an rt_query cannot hold. *id and *explain are set, *q is
 *            not usable: answer nq_encode_error(*id, RT_BAD_REQUEST, 400,
 *            NQ_ERR_TOO_MANY_TRIED, generation, ...).
 *   -EBADMSG undecodable (empty, not protobuf, wrong wire types, or larger
 *            decoded than the arena's free space): count and drop, no reply.
 *
 * Everything else that is wrong with a query is left to rt_decide, which
 * answers BAD_REQUEST with its own reason: a missing, overlong or malformed
 * called/calling number, an unknown policy, a tried code above RT_CODE_MAX
 * (codes that do not fit uint16_t arrive as RT_CODE_MAX + 1). String views
 * carry their full wire length, so a string with an embedded NUL is seen
 * whole (and rejected as a number, or unknown as a name), never truncated.
 *
 * q->seed is 0 (the offline strowgerctl seed, so a query without Call-ID
 * orders destinations like `strowgerctl query --config` does).
 *
 * The arena is not reset here: reset it before each datagram unless several
 * decoded queries must stay alive together.
 */
int nq_decode_query(const uint8_t *buf, size_t len, struct nq_arena *a, struct rt_query *q,
		    uint64_t *id, bool *explain);

/*
 * Encode the RouteAnswer for query id: everything in ans (status, code,
 * generation, normalized, policy, error, every destination) and, when ex is
 * not NULL, the explain lists. Only the first min(n_dest, RT_MAX_DEST)
 * destinations and RT_EXPLAIN_MAX entries per explain list are sent
 * (rt_decide never produces more). rt_dest.gateway_index is not on the
 * wire: it is an index into the server's snapshot.
 *
 * Returns the length written to out, -ENOSPC if it does not fit cap
 * (nothing useful written), or -EINVAL if ans->status is not an rt_status.
 * No allocation.
 */
long nq_encode_answer(uint64_t id, const struct rt_answer *ans, const struct rt_explain *ex,
		      uint8_t *out, size_t cap);

/*
 * Encode an answer without destinations: status st, SIP code, error text
 * (may be NULL) and the config generation. For queries rt_decide never saw
 * (nq_decode_query's -ERANGE, a server without config). Length, -ENOSPC,
 * or -EINVAL if st is not an rt_status.
 */
long nq_encode_error(uint64_t id, enum rt_status st, uint16_t code, const char *error,
		     uint64_t generation, uint8_t *out, size_t cap);

/*
 * Client side: encode q (strings need not be NUL-terminated) as a
 * RouteQuery. q->seed is not on the wire (the server seeds by call_id or
 * uses 0). Length, -EINVAL (n_tried > RT_MAX_TRIED), -ENOMEM or -ENOSPC.
 */
long nq_encode_query(uint64_t id, const struct rt_query *q, bool explain, uint8_t *out,
		     size_t cap);

/*
 * Client side: decode a RouteAnswer datagram into *id, *ans and, when ex is
 * not NULL, *ex (*has_explain tells whether the answer carried an explain;
 * has_explain may be NULL). Strings point into *msg_out, which the caller
 * frees with nq_answer_free() when done with ans and ex; the fixed-size
 * numbers (normalized, called, calling) are copied into ans.
 *
 * After decoding, every rt_dest.gateway_index and route_index is -1 (not on
 * the wire).
 * Explain lists longer than RT_EXPLAIN_MAX are cut, and the cut entries
 * added to matched_dropped / skipped_dropped; usages and fallbacks beyond
 * what rt_explain holds are dropped.
 *
 * 0, or -EBADMSG (not a RouteAnswer, status unspecified or unknown, a
 * number too long for RT_NUM_MAX, a port or code out of range, an unknown
 * transport, skip reason or health name, more than RT_MAX_DEST
 * destinations), -ENOMEM. On error *msg_out is NULL.
 */
int nq_decode_answer(const uint8_t *buf, size_t len, uint64_t *id, struct rt_answer *ans,
		     struct rt_explain *ex, bool *has_explain, void **msg_out);
void nq_answer_free(void *msg);
