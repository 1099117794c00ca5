#!/usr/bin/python3
"""strowgerd's SIP and native ports over raw UDP on loopback: RFC 3261
stateless details, RFC 4475 torture messages, failover re-queries, the
native protobuf query through strowgerctl, and packets that must not hurt.

usage: test_wire.py CASE
"""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strowger_it import (ROOT, Daemon, batch, check, contacts_from_reply, ctl,  # noqa: E402
                         expected_contacts, main, sip_header, sip_status, udp_exchange)

TORTURE_DIR = os.path.join(ROOT, "dataplane", "sip", "torture")
# Whatever the decision says, an INVITE the codec accepts gets one of these.
DECISION_CODES = {302, 400, 403, 404, 484, 503}


def invite(called="+14255550100", callid="wire-1", extra="", method="INVITE", cseq=None,
           maxf=70, via=None):
    via = via or "SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-wire-1;rport"
    return (f"{method} sip:{called}@strowger.example SIP/2.0\r\n"
            f"Via: {via}\r\n"
            f"From: <sip:+14255550123@sbc.example>;tag=f1\r\n"
            f"To: <sip:{called}@strowger.example>\r\n"
            f"Call-ID: {callid}\r\n"
            f"CSeq: {cseq or 1} {method}\r\n"
            f"Max-Forwards: {maxf}\r\n"
            f"{extra}"
            f"Content-Length: 0\r\n\r\n").encode()


def offline(called, policy=None, callid=None, tried=None):
    return batch(["--config", os.path.join(ROOT, "examples", "seed-failover.yaml")],
                 [(called, None, policy, callid, tried)])[0]


def case_retransmission():
    """A retransmitted INVITE gets a byte-identical answer (stateless: the
    decision is a pure function of the request and the Call-ID)."""
    with Daemon(workers=2) as d:
        for callid in ("retx-1", "retx-2@host", "retx-3"):
            msg = invite(callid=callid, extra="X-Strowger-Policy: Dallas Calling Policy\r\n",
                         called="+19725550100")
            first = udp_exchange(d.sip_addr, msg)
            check(sip_status(first) == 302, f"no 302: {first!r}")
            for _ in range(5):
                again = udp_exchange(d.sip_addr, msg)
                # Via received/rport name the sender's port, which differs per
                # socket: compare everything else byte for byte.
                norm = lambda r: re.sub(rb";rport=\d+", b"", r)  # noqa: E731
                check(norm(again) == norm(first),
                      f"retransmission answered differently:\n{first!r}\n{again!r}")


def case_stateless():
    with Daemon() as d:
        # Via echoed with received (sender differs from sent-by) and rport.
        r = udp_exchange(d.sip_addr, invite(
            extra="Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-second\r\n"))
        vias = sip_header(r, "Via")
        check(len(vias) == 2, f"every Via echoed: {vias}")
        check("received=127.0.0.1" in vias[0] and re.search(r"rport=\d+", vias[0]),
              f"top Via gets received and rport: {vias[0]}")
        check(vias[1] == "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-second",
              f"other Vias unchanged: {vias[1]}")
        # To-tag derived from Call-ID: same Call-ID, same tag.
        t1 = sip_header(udp_exchange(d.sip_addr, invite(callid="tag-a")), "To")[0]
        t2 = sip_header(udp_exchange(d.sip_addr, invite(callid="tag-a", cseq=2)), "To")[0]
        t3 = sip_header(udp_exchange(d.sip_addr, invite(callid="tag-b")), "To")[0]
        check(t1 == t2 and t1 != t3 and ";tag=" in t1, f"To tags: {t1} {t2} {t3}")
        # Max-Forwards 0 -> 483.
        r = udp_exchange(d.sip_addr, invite(maxf=0))
        check(sip_status(r) == 483, f"Max-Forwards 0: {r!r:.60}")
        # CANCEL answered 200, ACK absorbed (no reply).
        r = udp_exchange(d.sip_addr, invite(method="CANCEL"))
        check(sip_status(r) == 200, f"CANCEL: {r!r:.60}")
        r = udp_exchange(d.sip_addr, invite(method="ACK"), timeout=0.3, expect=False)
        check(r is None, f"ACK must not be answered: {r!r}")
        # Other methods: 405 with Allow.
        r = udp_exchange(d.sip_addr, invite(method="REGISTER"))
        check(sip_status(r) == 405 and "INVITE" in "".join(sip_header(r, "Allow")),
              f"REGISTER: {r!r}")
        # Compact forms, folded header, case-insensitive names.
        msg = (b"INVITE sip:+19725550100@strowger.example SIP/2.0\r\n"
               b"v: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-compact\r\n"
               b"f: <sip:+14255550123@sbc.example>;tag=c1\r\n"
               b"t: <sip:+19725550100@strowger.example>\r\n"
               b"i: compact-1\r\n"
               b"cseq: 1 INVITE\r\n"
               b"MAX-FORWARDS: 70\r\n"
               b"x-strowger-policy: Dallas\r\n Calling Policy\r\n"
               b"l: 0\r\n\r\n")
        r = udp_exchange(d.sip_addr, msg)
        want = expected_contacts(offline("+19725550100", "Dallas Calling Policy", "compact-1"))
        got = [c for c, _ in contacts_from_reply(r)]
        check(sip_status(r) == 302 and got == want, f"compact/folded: {got} vs {want}\n{r!r}")


def case_failover():
    """Failover re-queries carry X-Strowger-Tried; answers equal offline ones."""
    pol = "X-Strowger-Policy: Default Calling Policy\r\n"
    with Daemon() as d:
        cases = [
            ("Red-GW1;code=503", "Red-GW1:503"),
            ("Red-GW1;code=503\r\nX-Strowger-Tried: Red-GW2;code=408", "Red-GW1:503,Red-GW2:408"),
            ("Red-GW1;code=486", "Red-GW1:486"),  # not a failover code: relayed
            ("Red-GW1;code=0", "Red-GW1:0"),
        ]
        for hdr, tried in cases:
            r = udp_exchange(d.sip_addr, invite(callid="fo-1", extra=pol + f"X-Strowger-Tried: {hdr}\r\n"))
            ans = offline("+14255550100", "Default Calling Policy", "fo-1", tried)
            check(sip_status(r) == ans["code"], f"tried {tried}: {r!r:.50} vs offline {ans['code']}")
            if ans["code"] == 302:
                got = [c for c, _ in contacts_from_reply(r)]
                check(got == expected_contacts(ans), f"tried {tried}: {got} vs offline")
                check(not any("192.0.2.11" in c for c in got), f"tried gateway offered: {got}")
        r = udp_exchange(d.sip_addr, invite(callid="fo-2", extra=pol + "X-Strowger-Tried: Red-GW1;code=486\r\n"))
        check(sip_status(r) == 486, f"NO_FAILOVER relays 486: {r!r:.50}")


def torture_table():
    """(name, expected code or 0 for no reply) from the codec's own table in
    dataplane/sip/test_sip.c, so the two never disagree."""
    src = open(os.path.join(ROOT, "dataplane", "sip", "test_sip.c")).read()
    table = src[src.index("tortures[] = {"):]
    table = table[:table.index("};")]
    return [(n, int(c)) for n, _rc, c in re.findall(r'\{"(\w+)", (\w+), (\d+)\}', table)]


def case_torture():
    """RFC 4475's torture messages over a real socket: valid ones answered,
    invalid ones 400 (or dropped where no reply is possible), never a crash."""
    table = torture_table()
    check(len(table) >= 45, f"torture table has {len(table)} entries")
    with Daemon(workers=2) as d:
        for name, want in table:
            data = open(os.path.join(TORTURE_DIR, name + ".sip"), "rb").read()
            r = udp_exchange(d.sip_addr, data, timeout=0.5 if want == 0 else 1.0,
                             expect=want != 0)
            got = sip_status(r)
            if want == 0:
                check(r is None, f"{name}: expected no reply, got {r!r:.60}")
            elif want == 302:
                check(got in DECISION_CODES, f"{name}: expected a routing answer, got {r!r}")
            else:
                check(got == want, f"{name}: expected {want}, got {r!r}")
            if r is not None:
                check(r.endswith(b"\r\n\r\n") or b"Content-Length: 0\r\n\r\n" in r,
                      f"{name}: reply not a complete message: {r!r}")
            check(d.alive(), f"strowgerd died on {name}:\n{d.log()}")
        # Still answering after all that.
        check(sip_status(udp_exchange(d.sip_addr, invite())) == 302, "no answer after tortures")
        s = d.summary(d.stop())
        check(s["malformed"] > 0, f"malformed messages counted: {s}")


def case_bad_packets():
    """Garbage, truncated and oversized datagrams on both ports are dropped
    or answered 400; the daemon keeps answering and counts them."""
    good = invite()
    with Daemon() as d:
        junk = [b"", b"\x00" * 64, b"INVITE", good[:40], good[:-30], os.urandom(1500),
                b"SIP/2.0 200 OK\r\n\r\n", good.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1),
                good + b"x" * 20000]
        for j in junk:
            r = udp_exchange(d.sip_addr, j, timeout=0.3, expect=False)
            check(r is None or sip_status(r) in (400, 505), f"junk {j!r:.30} answered {r!r}")
            check(d.alive(), f"strowgerd died on {j!r:.30}")
        qa = (d.host, d.query_port)
        for j in [b"", b"\xff" * 32, os.urandom(300), b"\x08" + b"\x96\x01" * 5000]:
            r = udp_exchange(qa, j, timeout=0.3, expect=False)
            check(r is None, f"native junk {j!r:.16} answered {r!r}")
        check(sip_status(udp_exchange(d.sip_addr, good)) == 302, "no answer after junk")
        rc, out, err = ctl("query", "--server", d.query_hostport, "--called", "+14255550100")
        check(rc == 0 and "ROUTED" in out, f"native after junk: {rc} {out} {err}")
        s = d.summary(d.stop())
        check(s["malformed"] + s["dropped"] >= 10, f"junk counted: {s}")


def case_native():
    """strowgerctl query --server answers exactly as --config does, same JSON."""
    seed = os.path.join(ROOT, "examples", "seed-failover.yaml")
    rows = []
    for n in ["+19725550100", "+14255550100", "+442079460000", "+", "abc", "+1972555010"]:
        for p in [None, "Dallas Calling Policy", "Redmond Local Policy", "Nope"]:
            for tried in [None, "Red-GW1:503", "Dallas-GW1:0,Red-GW1:408", "Red-GW2:486"]:
                rows.append((n, "+14255550123", p, f"nat-{len(rows)}", tried))
    with Daemon(workers=2) as d:
        want = batch(["--config", seed], rows)
        got = batch(["--server", d.query_hostport], rows)
        for r, w, g in zip(rows, want, got):
            check(w == g, f"{r}: server {g} offline {w}")
        # --explain through the server as well.
        rc, out, _ = ctl("query", "--server", d.query_hostport, "--called", "+19725550100",
                         "--explain", "--json")
        rc2, out2, _ = ctl("query", "--config", seed, "--called", "+19725550100",
                           "--explain", "--json")
        check(rc == 0 and out == out2, f"explain differs:\n{out}\n{out2}")
        # The acceptance query, through the server.
        rc, out, _ = ctl("query", "--server", d.query_hostport, "--policy",
                         "Dallas Calling Policy", "--called", "+19725550100", "--json")
        check(rc == 0 and '"Dallas-GW1"' in out.split('"destinations"')[1].split("}")[0],
              f"Dallas-GW1 first: {out}")
        # --health is an offline override only.
        rc, _, err = ctl("query", "--server", d.query_hostport, "--called", "+1",
                         "--health", "Red-GW1=down")
        check(rc == 2 and "--health" in err, f"--health with --server: {rc} {err}")
    # A server that is not there: clear error, exit 1, bounded wait.
    rc, _, err = ctl("query", "--server", d.query_hostport, "--called", "+1", "--timeout", "300")
    check(rc == 1 and "no answer" in err, f"dead server: {rc} {err}")


if __name__ == "__main__":
    sys.exit(main({"retransmission": case_retransmission, "stateless": case_stateless,
                   "failover": case_failover, "torture": case_torture,
                   "bad_packets": case_bad_packets, "native": case_native}))
