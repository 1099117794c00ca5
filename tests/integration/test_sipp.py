#!/usr/bin/python3
"""sipp as the SBC against the real strowgerd on loopback.

usage: test_sipp.py CASE   (seed_routes, load_10k, options, ipv6)

The expected answer of every call is what `strowgerctl batch --config`
decides offline for the same number, policy and Call-ID; sipp checks each
answer inside the scenario (sipp/uac_route.xml) and, for the smaller runs,
this script checks every received 302 again in full from sipp's trace.
"""
import os
import random
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strowger_it import (SEED, Daemon, Failure, batch, check, contacts_from_reply,  # noqa: E402
                         expected_contacts, main, parse_sipp_messages, run_sipp, sip_header,
                         sip_status, workdir)

POLICIES = [None, "Default Calling Policy", "Redmond Local Policy", "Dallas Calling Policy"]
CALLING = "+14255550123"


def policy_header(p):
    return f"X-Strowger-Policy: {p}" if p else "X-Test: no-policy"


def write_inf(path, rows, answers):
    """sipp injection file: called;calling;header;expected (see uac_route.xml)."""
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for (called, calling, policy, _cid), ans in zip(rows, answers):
            cs = expected_contacts(ans) if ans["code"] == 302 else []
            cs += [""] * (4 - len(cs))
            want = " ".join([str(ans["code"])] + cs)
            f.write(f"{called};{calling};{policy_header(policy)};{want}\n")


def seed_numbers():
    """The seed's worked numbers and one of every shape its routes know."""
    return ["+19725550100", "+14255550100", "+12065550199", "+12535550123",
            "+14695550000", "+12145551234", "+442079460000", "+33123456789",
            "+15555550100", "19725550100", "+1972555010", "+"]


def route_run(d, rows, rate, cid, full_check):
    w = workdir()
    answers = batch(["--config", d.config], rows)
    for a in answers:
        check("code" in a, f"offline batch failed on a row: {a}")
    inf = os.path.join(w, "calls.csv")
    write_inf(inf, rows, answers)
    rc, stats, msgf, errf, out = run_sipp(d, "uac_route.xml", len(rows), rate, w, inf=inf,
                                          cid=cid, timeout=60 + len(rows) // max(rate, 1))
    failed = stats.get("FailedCall(C)", "?")
    unexpected = stats.get("FailedUnexpectedMessage(C)", "?")
    if rc != 0 or failed != "0" or unexpected != "0":
        try:
            errs = open(errf, errors="replace").read()[-3000:]
        except OSError:
            errs = ""
        raise Failure(f"sipp exit {rc}, failed calls {failed}, unexpected messages "
                      f"{unexpected} (of {len(rows)})\n{out[-2000:]}\n{errs}\n"
                      f"daemon log:\n{d.log()[-2000:]}")
    check(stats.get("SuccessfulCall(C)") == str(len(rows)),
          f"successful calls {stats.get('SuccessfulCall(C)')} of {len(rows)}")
    if not full_check:
        return answers
    # Every reply again, in full, against the offline answer for its Call-ID.
    by_cid = {r[3]: a for r, a in zip(rows, answers)}
    replies = parse_sipp_messages(msgf)
    check(len(replies) == len(rows), f"{len(replies)} replies in sipp's trace for {len(rows)} calls")
    for rep in replies:
        callid = sip_header(rep, "Call-ID")[0]
        ans = by_cid[callid]
        check(sip_status(rep) == ans["code"], f"{callid}: {rep[:40]!r} but offline {ans['code']}")
        tos = sip_header(rep, "To")
        check(len(tos) == 1 and ";tag=" in tos[0], f"{callid}: To without tag: {tos}")
        via = sip_header(rep, "Via")
        check(len(via) == 1 and re.search(r";rport=\d+", via[0]), f"{callid}: Via {via}")
        if ans["code"] != 302:
            continue
        got = contacts_from_reply(rep)
        want = expected_contacts(ans)
        check([c for c, _ in got] == want, f"{callid}: Contacts {got}, offline {want}")
        qs = [float(q) for _, q in got]
        check(qs == sorted(qs, reverse=True) and len(set(qs)) == len(qs) and qs[0] == 1.0,
              f"{callid}: q values not distinct and descending from 1.0: {qs}")
    return answers


def case_seed_routes():
    rows = []
    for n in seed_numbers():
        for p in POLICIES + ["No Such Policy"]:
            for k in range(2):
                rows.append((n, CALLING, p, f"seed-{len(rows) + 1}"))
    with Daemon(workers=2) as d:
        answers = route_run(d, rows, 200, "seed-%u", True)
        codes = {a["code"] for a in answers}
        check({302, 400, 403}.issubset(codes), f"seed run should cover 302/400/403: {codes}")
        # The acceptance example, over SIP this time.
        i = rows.index(("+19725550100", CALLING, "Dallas Calling Policy", "seed-7"))
        gws = [x["gateway"] for x in answers[i]["destinations"]]
        check(gws[0] == "Dallas-GW1", f"Dallas policy puts Dallas-GW1 first: {gws}")


def load_rows(n, seed):
    rnd = random.Random(seed)
    areas = ["425", "206", "253", "972", "214", "469", "212", "415"]
    rows = []
    for i in range(n):
        r = rnd.random()
        if r < 0.8:
            num = f"+1{rnd.choice(areas)}{rnd.randrange(10**7):07d}"
        elif r < 0.95:
            num = f"+{rnd.choice(['44', '33', '49', '81'])}{rnd.randrange(10**9):09d}"
        else:
            num = rnd.choice(["+1425555", "1206555019", "+"])
        rows.append((num, CALLING, rnd.choice(POLICIES), f"load-{i + 1}"))
    return rows


def case_load_10k():
    """The issue's acceptance run: 10,000 INVITEs at 2,000 per second."""
    rows = load_rows(10000, 3)
    with Daemon(workers=1) as d:
        route_run(d, rows, 2000, "load-%u", False)
        line = d.stop()
        s = d.summary(line)
        # INVITE + ACK per call, nothing malformed, one reply per INVITE.
        check(s["malformed"] == 0 and s["dropped"] == 0, f"summary: {line}")
        check(s["replies"] >= 10000, f"summary: {line}")


def case_options():
    with Daemon() as d:
        w = workdir()
        rc, stats, _, errf, out = run_sipp(d, "uac_options.xml", 20, 50, w, cid="opt-%u")
        check(rc == 0 and stats.get("SuccessfulCall(C)") == "20",
              f"OPTIONS: sipp exit {rc}, stats {stats}\n{out[-1500:]}")


def case_ipv6():
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))
    except OSError as e:
        print(f"SKIP: no IPv6 loopback here ({e})")
        sys.exit(77)
    rows = [(n, CALLING, "Dallas Calling Policy", f"v6-{i + 1}")
            for i, n in enumerate(seed_numbers()[:6])]
    with Daemon(v6=True) as d:
        route_run(d, rows, 50, "v6-%u", True)


if __name__ == "__main__":
    sys.exit(main({"seed_routes": case_seed_routes, "load_10k": case_load_10k,
                   "options": case_options, "ipv6": case_ipv6}))
