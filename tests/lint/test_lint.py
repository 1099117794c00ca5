#!/usr/bin/python3
"""strowgerctl lint / impact / diff on crafted configs and the seed example.

usage: test_lint.py STROWGERCTL STROWGERD SEED_CONFIG CASE
Each CASE is one meson test (suite 'lint'); `all` runs every case.
Exit 0 on success, 1 with a message on the first failed check.

Every claim the tools make about a number is checked against the real
decision (`strowgerctl query --config ... --explain --json`), so a finding
is only accepted when the number it names really behaves as it says.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

CTL = None
DAEMON = None
SEED = None
TMP = None


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run(*args, timeout=120):
    p = subprocess.run([CTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def line_of(path, needle):
    """1-based line of the first line containing needle."""
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if needle in line:
                return i
    raise Failure(f"{needle!r} not in {path}")


def lint(path, *extra, expect_rc=0):
    rc, out, err = run("lint", "--json", *extra, path)
    check(rc == expect_rc, f"lint {path}: exit {rc}, expected {expect_rc}\n{out}\n{err}")
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise Failure(f"lint --json output is not JSON ({e}):\n{out}")
    check(len(doc["files"]) == 1, f"files: {doc}")
    return doc["files"][0]


def findings(f, kind=None, obj=None):
    return [x for x in f["findings"]
            if (kind is None or x["kind"] == kind) and (obj is None or x["object"] == obj)]


def one(f, kind, obj):
    hits = findings(f, kind, obj)
    check(len(hits) == 1, f"expected one {kind} for {obj!r}, got {hits}\nall: "
          f"{json.dumps(f['findings'], indent=1)}")
    return hits[0]


def none_of(f, kind, obj=None):
    hits = findings(f, kind, obj)
    check(not hits, f"unexpected {kind} for {obj!r}: {hits}")


def query(config, number, policy=None, health=()):
    argv = ["query", "--config", config, "--called", number, "--explain", "--json"]
    if policy:
        argv += ["--policy", policy]
    for h in health:
        argv += ["--health", h]
    rc, out, err = run(*argv)
    check(rc == 0, f"{argv}: exit {rc}: {err}")
    return json.loads(out)


def gateways(ans):
    return [d["gateway"] for d in ans["destinations"]]


HEAD = """gateways:
  - { name: GW-A, address: 192.0.2.1, site: East }
  - { name: GW-B, address: 192.0.2.2, site: East }
  - { name: GW-C, address: 192.0.2.3, site: West }
trunks:
  - { name: TA, gateway: GW-A }
  - { name: TB, gateway: GW-B }
  - { name: TC, gateway: GW-C }
"""

INTL = """gateways:
  - { name: Intl-GW, address: 192.0.2.1 }
  - { name: US-GW, address: 192.0.2.2 }
trunks:
  - { name: IntlTrunk, gateway: Intl-GW }
  - { name: USTrunk, gateway: US-GW }
usages: [International, National]
routes:
  - { name: International Route, pattern: '%s', usages: [International], trunks: [IntlTrunk] }
  - { name: US National Route, pattern: '^\\+1[2-9]\\d{9}$', usages: [National], trunks: [USTrunk] }
policies:
  - { name: Global Policy, usages: [%s], default: true }
"""


NEVER = HEAD + """usages: [Local, Wide]
routes:
  - { name: Low, pattern: '^\\+1[2-5]\\d{9}$', usages: [Local], trunks: [TA] }
  - { name: High, pattern: '^\\+1[6-9]\\d{9}$', usages: [Local], trunks: [TA, TB] }
  - { name: Middle, pattern: '^\\+1[3-7]\\d{9}$', usages: [Local], trunks: [TA] }
  - { name: Middle With C, pattern: '^\\+1[3-7]\\d{9}$', usages: [Local], trunks: [TA, TC] }
  - { name: Middle Fallback, pattern: '^\\+1[3-7]\\d{9}$', usages: [Local], trunks: [TA],
      fallback: 'sip:overflow@192.0.2.99' }
  - { name: Early, pattern: '^\\+1\\d{10}$', usages: [Local], trunks: [TB], priority: 0 }
  - { name: Late, pattern: '^\\+1[2-9]\\d{9}$', usages: [Local], trunks: [TC], priority: 9 }
  - { name: Wide Any, pattern: '^\\+\\d+$', usages: [Wide], trunks: [TC] }
  - { name: Wide Later, pattern: '^\\+44\\d+$', usages: [Local, Wide], trunks: [TC] }
policies:
  - { name: P, usages: [Local], default: true }
  - { name: Q, usages: [Wide, Local] }
"""

# ------------------------------------------------------------------ cases


def case_seed():
    """The shipped example lints clean (README: Operator insight)."""
    rc, out, err = run("lint", SEED)
    check(rc == 0, f"seed: exit {rc}: {err}")
    check(out.strip() == f"{SEED}: 0 errors, 0 warnings, 0 info", f"seed output: {out!r}")
    f = lint(SEED)
    check(f["valid"] and f["findings"] == [], f"seed findings: {f['findings']}")
    check(f["counts"] == {"error": 0, "warning": 0, "info": 0}, f"counts {f['counts']}")
    check(f["undecided"] == 0, "seed: undecided checks")


def case_intl_capture():
    """Done-when 1: International before national, reported with a witness."""
    path = write("intl.yaml", INTL % ("^\\+\\d+$", "International, National"))
    rc, out, err = run("lint", path)
    check(rc == 0, f"warnings only, expected exit 0: {rc}")
    lines = [l for l in out.splitlines() if "[policy-capture]" in l]
    check(len(lines) == 1, f"capture lines:\n{out}")
    pl = line_of(path, "name: Global Policy")
    check(lines[0].startswith(f"{path}:{pl}: warning: policy 'Global Policy': "), lines[0])
    m = re.search(r"e\.g\. (\+\d+) goes to 'International Route'", lines[0])
    check(m, f"no witness number in: {lines[0]}")
    f = lint(path)
    x = one(f, "policy-capture", "Global Policy")
    check(x["severity"] == "warning" and x["proof"] == "automata", f"{x}")
    check(x["witnesses"] == [m.group(1)], f"witnesses {x['witnesses']}")
    check("every number" in x["message"], f"National is inside International: {x['message']}")
    # The witness really is captured: both match, International's gateway first,
    # the national one only after it.
    ans = query(path, x["witnesses"][0])
    ex = ans["explain"]
    check({"International Route", "US National Route"} <= set(ex["matched_routes"]),
          f"witness not matched by both: {ex['matched_routes']}")
    check(gateways(ans) == ["Intl-GW", "US-GW"], f"witness routes to {gateways(ans)}")
    check(len(findings(f)) == 1, f"other findings: {f['findings']}")

    # National first: nothing to report.
    path2 = write("intl-ok.yaml", INTL % ("^\\+\\d+$", "National, International"))
    none_of(lint(path2), "policy-capture")

    # Partial overlap: +1 numbers of any length are International's, but
    # National also takes non-+ numbers... the shared ones are captured.
    path3 = write("intl-part.yaml", INTL % ("^\\+1\\d+$", "International, National"))
    x = one(lint(path3), "policy-capture", "Global Policy")
    check("every number" in x["message"], x["message"])
    path4 = write("intl-overlap.yaml",
                  INTL.replace("'^\\+1[2-9]\\d{9}$'", "'^\\+?1[2-9]\\d{9}$'")
                  % ("^\\+\\d+$", "International, National"))
    x = one(lint(path4), "policy-capture", "Global Policy")
    check("overlap" in x["message"] and "every number" not in x["message"], x["message"])
    check(re.fullmatch(r"\+1[2-9]\d{9}", x["witnesses"][0]), f"witness {x['witnesses']}")

    # Same gateways: by design, not a capture.
    path5 = write("intl-same.yaml", INTL.replace("trunks: [USTrunk]", "trunks: [IntlTrunk]")
                  % ("^\\+\\d+$", "International, National"))
    none_of(lint(path5), "policy-capture")


def case_evidence():
    """A pattern outside the analysable subset: sample numbers, labelled so."""
    path = write("intl-b.yaml", INTL % ("^\\+\\d+\\b", "International, National"))
    f = lint(path)
    na = one(f, "pattern-not-analysable", "International Route")
    check(na["severity"] == "info" and "\\b" in na["message"], f"{na}")
    x = one(f, "policy-capture", "Global Policy")
    check(x["proof"] == "matcher" and "sample numbers" in x["message"], f"{x}")
    ans = query(path, x["witnesses"][0])
    check(gateways(ans)[:1] == ["Intl-GW"] and "US-GW" in gateways(ans),
          f"evidence witness {x['witnesses'][0]} routes to {gateways(ans)}")
    # What cannot be proved is not claimed: a route behind it is "not decided".
    path2 = write("behind-b.yaml", HEAD + """usages: [U]
routes:
  - { name: Broad, pattern: '^\\+\\d+\\b', usages: [U], trunks: [TA] }
  - { name: Narrow, pattern: '^\\+1\\d{10}$', usages: [U], trunks: [TA] }
policies:
  - { name: P, usages: [U], default: true }
""")
    f = lint(path2)
    none_of(f, "route-never-chosen")
    check(one(f, "not-decided", "Narrow")["severity"] == "info", "not-decided")


def case_never_chosen():
    path = write("never.yaml", NEVER)
    f = lint(path)
    # Covered by the union of two routes ahead, with the same gateway.
    x = one(f, "route-never-chosen", "Middle")
    check(x["line"] == line_of(path, "name: Middle,"), f"line {x['line']}")
    check("'Low'" in x["message"] and "'High'" in x["message"], x["message"])
    w = x["witnesses"][0]
    ans = query(path, w, policy="P")
    check(ans["explain"]["matched_routes"].count("Middle") == 1, f"{w} not matched by Middle")
    check(all(d["route"] != "Middle" for d in ans["destinations"]),
          f"Middle offered for {w}: {ans['destinations']}")
    # A new gateway makes it chosen.
    none_of(f, "route-never-chosen", "Middle With C")
    # Its gateway is covered, but its fallback can still be used.
    x = one(f, "route-never-chosen", "Middle Fallback")
    check("fallback" in x["message"], x["message"])
    # Priority, not file order, decides who is ahead.
    none_of(f, "route-never-chosen", "Late")
    none_of(f, "route-never-chosen", "Early")
    # Reached by two policies: in Q 'Wide Any' covers it, in P nothing does.
    none_of(f, "route-never-chosen", "Wide Later")
    path2 = write("never2.yaml", open(path).read().replace(
        "usages: [Local, Wide], trunks: [TC]", "usages: [Wide], trunks: [TC]"))
    x = one(lint(path2), "route-never-chosen", "Wide Later")
    check("policy 'Q'" in x["message"] and "'Wide Any'" in x["message"], x["message"])


def case_unused():
    path = write("unused.yaml", """gateways:
  - { name: GW-A, address: 192.0.2.1 }
  - { name: Lonely, address: 192.0.2.2 }
  - { name: Spare-GW, address: 192.0.2.3 }
trunks:
  - { name: TA, gateway: GW-A }
  - { name: Spare, gateway: Spare-GW }
usages: [Used, Ghost, Nobody, Orphan]
routes:
  - { name: R, pattern: '^\\+1\\d{10}$', usages: [Used], trunks: [TA] }
  - { name: Stranded, pattern: '^\\+44\\d+$', usages: [Orphan], trunks: [TA] }
policies:
  - { name: P, usages: [Used, Ghost], default: true }
""")
    f = lint(path)
    x = one(f, "usage-unused", "Ghost")
    check("policy 'P'" in x["message"] and x["severity"] == "warning", f"{x}")
    x = one(f, "usage-unused", "Nobody")
    check("no policy lists it" in x["message"], x["message"])
    none_of(f, "usage-unused", "Orphan")  # carried by a route (which is unreachable)
    x = one(f, "route-unreachable", "Stranded")
    check("'Orphan'" in x["message"] and x["line"] == line_of(path, "Stranded"), f"{x}")
    one(f, "trunk-unused", "Spare")
    check("no trunk" in one(f, "gateway-unused", "Lonely")["message"], "Lonely")
    check("'Spare'" in one(f, "gateway-unused", "Spare-GW")["message"], "Spare-GW")
    none_of(f, "gateway-unused", "GW-A")
    none_of(f, "trunk-unused", "TA")
    rc, out, _ = run("lint", path)
    check(rc == 0, "warnings only: exit 0")
    line = [l for l in out.splitlines() if "[trunk-unused]" in l][0]
    check(line == f"{path}:{line_of(path, 'name: Spare,')}: warning: trunk 'Spare': "
          "no route lists it [trunk-unused]", line)


def case_patterns():
    path = write("patterns.yaml", HEAD + """usages: [U]
routes:
  - { name: Fine, pattern: '^\\+1\\d{10}$', usages: [U], trunks: [TA] }
  - { name: Too Long, pattern: '^\\d{16,}$', usages: [U], trunks: [TA] }
  - { name: Star Code, pattern: '^\\*\\d{2}$', usages: [U], trunks: [TA] }
  - { name: Blank, pattern: '^\\s+$', usages: [U], trunks: [TA] }
  - { name: Anything, pattern: '\\d*', usages: [U], trunks: [TB] }
  - { name: Universal, pattern: '^\\+?(\\d*)$', usages: [U], trunks: [TC] }
policies:
  - { name: P, usages: [U], default: true }
""")
    f = lint(path, expect_rc=1)
    x = one(f, "pattern-matches-nothing", "Blank")
    check(x["severity"] == "error", f"{x}")
    x = one(f, "pattern-no-number", "Too Long")
    check(x["witnesses"] == ["0000000000000000"], f"{x}")
    x = one(f, "pattern-no-number", "Star Code")
    check(x["witnesses"] == ["*00"], f"{x}")
    # A star code is a real dialled string: the route does take it.
    ans = query(path, "*00")
    check("Star Code" in ans["explain"]["matched_routes"], f"{ans['explain']}")
    x = one(f, "pattern-matches-empty", "Anything")
    ans = query(path, "#")  # not even a number
    check("Anything" in ans["explain"]["matched_routes"], "\\d* matches '#'")
    # '^\+?(\d*)$' matches "" only as a whole (never routed): not reported.
    none_of(f, "pattern-matches-empty", "Universal")
    for obj in ("Fine", "Universal"):
        check(not findings(f, obj=obj) or all(x["kind"] == "route-never-chosen"
                                             for x in findings(f, obj=obj)),
              f"{obj}: {findings(f, obj=obj)}")
    rc, out, _ = run("lint", path)
    check(rc == 1 and re.search(r": error: route 'Blank': .*\[pattern-matches-nothing\]", out),
          f"error line:\n{out}")
    check(out.strip().endswith(f"{path}: 1 error, 3 warnings, 0 info"), out)
    # Only numbers the decision accepts count: up to 63 bytes.
    path2 = write("long.yaml", HEAD + """usages: [U]
routes:
  - { name: Forty, pattern: '^\\d{40}$', usages: [U], trunks: [TA] }
  - { name: Seventy, pattern: '^\\d{70}$', usages: [U], trunks: [TA] }
policies:
  - { name: P, usages: [U], default: true }
""")
    f = lint(path2, expect_rc=1)
    check(len(one(f, "pattern-no-number", "Forty")["witnesses"][0]) == 40, "40 digits")
    one(f, "pattern-matches-nothing", "Seventy")


def case_shadowed():
    path = write("shadow.yaml", """gateways:
  - { name: GW-A, address: 192.0.2.1 }
trunks:
  - name: TA
    gateway: GW-A
    called:
      - { match: '^\\+1(\\d+)$', replace: '$1' }
      - { match: '^\\+1(\\d{10})$', replace: '1$1' }
      - { match: '^\\+44(\\d+)$', replace: '0$1' }
    calling:
      - { match: '^\\+(\\d+)$', replace: '$1' }
      - { match: '^(\\d+)$', replace: '$1' }
usages: [U]
routes:
  - { name: R, pattern: '^\\+\\d+$', usages: [U], trunks: [TA] }
policies:
  - { name: P, usages: [U], default: true, dial_plan: DP }
  - { name: Q, usages: [U] }
assignments:
  - { calling: '^\\+1', policy: P }
  - { calling: '^\\+1425', policy: Q }
  - { calling: '^\\+44', policy: Q }
  - { calling: '\\d*', policy: Q }
dial_plans:
  - name: DP
    rules:
      - { match: '^(\\d+)$', replace: '+$1' }
      - { match: '^(\\d{10})$', replace: '+1$1' }
      - { match: '^\\*(\\d+)$', replace: '+$1' }
  - name: Other
    rules:
      - { match: '^(\\d{10})$', replace: '+1$1' }
      - { match: '^(\\d+)$', replace: '+$1' }
      - { match: '^\\s+$', replace: 'x' }
""")
    f = lint(path)
    x = one(f, "dial-rule-shadowed", "DP")
    check(x["line"] == line_of(path, "'^(\\d{10})$', replace: '+1$1' }"), f"line {x}")
    check("rule 2" in x["message"] and "'^(\\d+)$'" in x["message"], x["message"])
    check(len(findings(f, "dial-rule-shadowed")) == 1, "only DP rule 2 (Other is ordered well)")
    # The shadowed rule's example really is rewritten by rule 1 instead.
    ans = query(path, x["witnesses"][0], policy="P")
    check(ans["explain"]["dial_rule"] == "^(\\d+)$", f"{ans['explain']}")
    x = one(f, "assignment-shadowed", "^\\+1425")
    check("'^\\+1'" in x["message"], x["message"])
    none_of(f, "assignment-shadowed", "^\\+44")
    x = one(f, "pattern-matches-nothing", "Other")
    check(x["severity"] == "warning" and "rule 3" in x["message"], f"{x}")
    none_of(f, "dial-rule-shadowed", "Other")
    x = one(f, "pattern-matches-empty", "\\d*")
    check(x["object_kind"] == "assignment", f"{x}")
    x = one(f, "trunk-rule-shadowed", "TA")
    check("called rule 2" in x["message"], x["message"])
    check(len(findings(f, "trunk-rule-shadowed")) == 1, "calling rule 2 is not shadowed")


def case_failover_busy():
    path = write("busy.yaml", """failover: { codes: [0, 300-699] }
gateways:
  - { name: GW-A, address: 192.0.2.1 }
  - { name: GW-B, address: 192.0.2.2, failover_codes: [0, 408, 486, 503] }
  - { name: GW-C, address: 192.0.2.3, failover_codes: [300-699, '!486', '!600', '!603'] }
trunks:
  - { name: TA, gateway: GW-A }
  - { name: TB, gateway: GW-B }
  - { name: TC, gateway: GW-C }
usages: [U]
routes:
  - { name: R, pattern: '^\\+\\d+$', usages: [U], trunks: [TA, TB, TC] }
policies:
  - { name: P, usages: [U], default: true }
""")
    f = lint(path)
    glob = [x for x in findings(f, "failover-busy") if x["object_kind"] == "failover"]
    check(len(glob) == 1, f"global: {glob}")
    x = glob[0]
    check(x["object"] is None and x["line"] == 1, f"{x}")
    check("486" in x["message"] and "600" in x["message"] and "603" in x["message"], x["message"])
    check("'GW-A'" in x["message"] and "GW-B" not in x["message"], x["message"])
    x = one(f, "failover-busy", "GW-B")
    check("486" in x["message"] and "603" not in x["message"], x["message"])
    none_of(f, "failover-busy", "GW-C")
    # The seed's codes [0, 408, 503, 504]: nothing (case seed).


def case_limits():
    """A search limit gives 'not decided', never a claim."""
    path = write("never.yaml", NEVER)
    f = lint(path, "--max-states", "2")
    check(f["undecided"] > 0, f"undecided {f['undecided']}")
    none_of(f, "route-never-chosen")
    check(findings(f, "not-decided"), "no not-decided finding")
    f = lint(path, "--budget", "1")
    none_of(f, "route-never-chosen")
    check(any("budget" in x["message"] for x in findings(f, "not-decided")), f"{f['findings']}")


def case_output():
    rc, out, err = run("lint", SEED, os.path.join(TMP, "missing.yaml"))
    check(rc == 1 and "missing.yaml" in err and f"{SEED}: 0 errors" in out, f"{rc} {out} {err}")
    broken = write("broken.yaml", open(SEED).read().replace("trunks: [Trunk3]", "trunks: [Nope]", 1))
    rc, out, err = run("lint", broken)
    check(rc == 1 and "Nope" in err and "invalid" in err, f"broken: {rc} {err}")
    rc, out, err = run("lint", "--json", broken)
    check(rc == 1 and json.loads(out)["files"][0]["valid"] is False, out)
    path = write("intl.yaml", INTL % ("^\\+\\d+$", "International, National"))
    f = lint(path)
    keys = ["severity", "kind", "object_kind", "object", "file", "line", "message",
            "witnesses", "proof"]
    check(list(f["findings"][0].keys()) == keys, f"keys {list(f['findings'][0])}")
    for argv, why in ((["lint"], "no file"),
                      (["lint", "--bogus", SEED], "unknown option"),
                      (["lint", "--max-states", "x", SEED], "bad --max-states"),
                      (["impact", SEED], "no --down"),
                      (["impact", "--down", "Dallas-GW1"], "no file"),
                      (["impact", SEED, "--down", "Nowhere"], "unknown --down"),
                      (["impact", SEED, "--down", "Dallas-GW1", "--exit-code"], "diff option"),
                      (["diff", SEED], "one config"),
                      (["diff", SEED, SEED, "--down", "X"], "impact option")):
        rc, out, err = run(*argv)
        check(rc == 2, f"{why}: exit {rc}, expected 2 ({err})")
        check(err.strip(), f"{why}: nothing on stderr")
    for cmd in ("lint", "impact", "diff"):
        rc, out, _ = run("help", cmd)
        check(rc == 0 and out.startswith(f"usage: strowgerctl {cmd} "), f"help {cmd}: {out}")


def impact_json(*argv):
    rc, out, err = run("impact", "--json", *argv)
    check(rc == 0, f"impact {argv}: exit {rc}: {err}")
    return {p["policy"]: p for p in json.loads(out)["policies"]}


def check_examples(config, policy, outcome, health):
    """Every example of an outcome decides as the outcome says."""
    for reg in outcome["regions"]:
        for num in reg["examples"]:
            ans = query(config, num, policy=policy, health=health)
            matched = [r for r in ans["explain"]["matched_routes"] if r in reg["routes"]]
            check(set(matched) == set(reg["routes"]), f"{num}: matched {matched}, region "
                  f"{reg['routes']}")
            e = outcome["effect"]
            if e == "loses_every_destination":
                check(ans["status"] != "ROUTED", f"{num}: {ans['status']}")
            elif e == "fails_over":
                first = [d for d in ans["destinations"] if d["route"] == outcome["to_route"]]
                check(ans["destinations"] and ans["destinations"][0]["route"] ==
                      outcome["to_route"], f"{num}: first {ans['destinations'][:1]}")
                check(sorted(d["gateway"] for d in first) == sorted(outcome["to_gateways"]),
                      f"{num}: {first} vs {outcome['to_gateways']}")
            elif e == "falls_to_fallback":
                d0 = ans["destinations"][0]
                check(d0.get("uri") or d0.get("via_fallback"), f"{num}: {d0}")


def case_impact_seed():
    """Done-when 2: Dallas-GW1 down, which numbers fail over to Redmond, per policy."""
    rc, out, err = run("impact", SEED, "--down", "Dallas-GW1")
    check(rc == 0, f"exit {rc}: {err}")
    blocks = re.split(r"\n(?=policy ')", out)
    dallas = [b for b in blocks if b.startswith("policy 'Dallas Calling Policy'")][0]
    check("FAILS OVER to Red-GW1, Red-GW2 via route 'Universal Route'" in dallas, dallas)
    check("every number" in dallas, dallas)
    default = [b for b in blocks if b.startswith("policy 'Default Calling Policy'")][0]
    check("FAILS OVER to Red-GW1, Red-GW2 via route 'Universal Route'" in default, default)
    check(re.search(r"'Dallas Local Route' .*e\.g\. .*\+1(972|214|469)\d{7}", default), default)
    check("only loses capacity" in default, default)
    check("policy 'Redmond Local Policy': unaffected" in out, out)

    pols = impact_json(SEED, "--down", "Dallas-GW1")
    for name in ("Dallas Calling Policy", "Default Calling Policy"):
        fo = [o for o in pols[name]["outcomes"] if o["effect"] == "fails_over"]
        check(len(fo) == 1 and fo[0]["to_gateways"] == ["Red-GW1", "Red-GW2"], f"{name}: {fo}")
        check_examples(SEED, name, fo[0], ["Dallas-GW1=down"])
    fo = [o for o in pols["Default Calling Policy"]["outcomes"] if o["effect"] == "fails_over"][0]
    check(fo["regions"][0]["routes"] == ["Dallas Local Route", "Universal Route"], f"{fo}")
    nums = fo["regions"][0]["examples"]
    check({n[:5] for n in nums} == {"+1972", "+1214", "+1469"}, f"one per area code: {nums}")
    check(pols["Redmond Local Policy"]["unaffected"], "Redmond")
    check(all(p["exhaustive"] for p in pols.values()), "seed regions are exact")

    # A site: Redmond down; Redmond Local Policy loses everything.
    pols = impact_json(SEED, "--down", "Redmond")
    lost = [o for o in pols["Redmond Local Policy"]["outcomes"]]
    check(len(lost) == 1 and lost[0]["effect"] == "loses_every_destination", f"{lost}")
    check_examples(SEED, "Redmond Local Policy", lost[0], ["Redmond=down"])
    for o in pols["Default Calling Policy"]["outcomes"]:
        check_examples(SEED, "Default Calling Policy", o, ["Redmond=down"])
    # Several targets, comma form and positional form agree.
    a = impact_json(SEED, "--down", "Red-GW1,Red-GW2")
    b = impact_json(SEED, "Red-GW1", "--down", "Red-GW2")
    check(a == b, "comma and positional --down differ")


def case_impact_fallback():
    path = write("fb.yaml", HEAD + """usages: [U]
routes:
  - { name: East Route, pattern: '^\\+1\\d{10}$', usages: [U], trunks: [TA, TB],
      fallback: 'sip:overflow@192.0.2.99' }
  - { name: UK Route, pattern: '^\\+44\\d{10}$', usages: [U], trunks: [TA], fallback: '+15550000000' }
  - { name: West Route, pattern: '^\\+1555\\d{7}$', usages: [U], trunks: [TC] }
  - { name: Intl Route, pattern: '^\\+[2-9]\\d+$', usages: [U], trunks: [TA] }
policies:
  - { name: P, usages: [U], default: true }
""")
    pols = impact_json(path, "--down", "East")
    effects = sorted(o["effect"] for o in pols["P"]["outcomes"])
    check(effects.count("falls_to_fallback") >= 2 and "loses_every_destination" in effects,
          f"effects {effects}")
    for o in pols["P"]["outcomes"]:
        check_examples(path, "P", o, ["East=down"])
    uk = [o for o in pols["P"]["outcomes"] if "UK Route" in o["detail"]]
    check(uk and "fallback number +15550000000" in uk[0]["detail"], f"{uk}")
    # GW-B alone: East Route keeps GW-A first -> only capacity.
    pols = impact_json(path, "--down", "GW-B")
    o = pols["P"]["outcomes"]
    check(len(o) == 1 and o[0]["effect"] == "loses_capacity", f"{o}")
    check(o[0]["detail"].startswith("GW-B no longer offered"), o[0]["detail"])


def case_diff():
    text = open(SEED).read()
    i = text.index("name: Dallas Users Route")
    j = text.index("trunks: [Trunk3]", i)
    new = text[:j] + "trunks: [Trunk1]" + text[j + len("trunks: [Trunk3]"):]
    new = new.replace("(425|206|253)", "(425|206)")
    path = write("seed2.yaml", new)
    rc, out, err = run("diff", SEED, SEED)
    check(rc == 0 and "summary: 0 of 3 policies change" in out, f"same: {rc} {out} {err}")
    rc, out, err = run("diff", "--exit-code", SEED, SEED)
    check(rc == 0, "no change: exit 0 with --exit-code")
    rc, out, err = run("diff", "--exit-code", SEED, path)
    check(rc == 3, f"--exit-code with changes: {rc}")
    rc, out, err = run("diff", "--json", SEED, path)
    check(rc == 0, f"exit {rc}: {err}")
    doc = json.loads(out)
    pols = {p["policy"]: p for p in doc["policies"]}
    for name, p in pols.items():
        for ch in p["changes"]:
            for reg in ch["regions"]:
                for num in reg["examples"]:
                    a = query(SEED, num, policy=name)
                    b = query(path, num, policy=name)
                    da = [(d["route"], d["gateway"]) for d in a["destinations"]]
                    db = [(d["route"], d["gateway"]) for d in b["destinations"]]
                    check(a["status"] != b["status"] or sorted(da) != sorted(db),
                          f"{name} {num}: no change {da} {db}")
    dal = pols["Dallas Calling Policy"]["changes"]
    check(len(dal) == 1 and dal[0]["old"] == "Dallas-GW1 > Red-GW1|Red-GW2"
          and dal[0]["new"] == "Red-GW1 > Dallas-GW1|Red-GW2", f"{dal}")
    red = pols["Redmond Local Policy"]["changes"]
    check(len(red) == 1 and red[0]["new"].startswith("NOT_PERMITTED"), f"{red}")
    check(all(n.startswith("+1253") for n in red[0]["regions"][0]["examples"]), f"{red}")
    check(red[0]["regions"][0]["old_routes"] == ["Redmond Local Route"]
          and red[0]["regions"][0]["new_routes"] == [], f"{red}")
    routes = {r["route"]: r for r in doc["routes"]}
    check(set(routes) == {"Redmond Local Route", "Universal Route", "Dallas Users Route"},
          f"by route: {list(routes)}")
    check(routes["Redmond Local Route"]["policies"] ==
          ["Default Calling Policy", "Redmond Local Policy"], f"{routes}")
    # A policy only in one config.
    path3 = write("seed3.yaml", text.replace("Redmond Local Policy", "Redmond Policy"))
    rc, out, err = run("diff", SEED, path3)
    check("policy 'Redmond Policy': added" in out and
          "policy 'Redmond Local Policy': removed" in out, out)
    # A dial plan change is said.
    path4 = write("seed4.yaml", text + "dial_plans:\n  - { name: US, default: true, rules: "
                  "[ { match: '^(\\d{10})$', replace: '+1$1' } ] }\n")
    rc, out, err = run("diff", SEED, path4)
    check(rc == 0 and out.count("dial plan changed") == 3, out)


# ------------------------------------------------------------------ server


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def case_server():
    """impact --live reads the running server's health; load --dry-run lints."""
    sock = os.path.join(TMP, "control.sock")
    proc = None
    for attempt in range(5):
        proc = subprocess.Popen(
            [DAEMON, "--config", SEED, "--control", sock, "--workers", "1",
             "--drain-grace", "0", "--sip", f"127.0.0.1:{free_port()}",
             "--query", f"127.0.0.1:{free_port()}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 20
        while time.time() < deadline and proc.poll() is None:
            if os.path.exists(sock) and run("status", "--control", sock)[0] == 0:
                break
            time.sleep(0.1)
        if proc.poll() is None:
            break
    check(proc and proc.poll() is None, "strowgerd did not start")
    try:
        rc, out, err = run("health", "Red-GW2", "down", "--ttl", "600", "--control", sock)
        check(rc == 0, f"health: {rc} {err}")
        rc, out, err = run("impact", "--json", SEED, "--down", "Dallas-GW1", "--control", sock)
        check(rc == 0, f"impact --control: {rc} {err}")
        doc = json.loads(out)
        check("live health" in doc["baseline"] and "Red-GW2=down" in doc["baseline"],
              doc["baseline"])
        pols = {p["policy"]: p for p in doc["policies"]}
        fo = [o for o in pols["Dallas Calling Policy"]["outcomes"] if o["effect"] == "fails_over"]
        check(len(fo) == 1 and fo[0]["to_gateways"] == ["Red-GW1"], f"live: {fo}")
        check_examples(SEED, "Dallas Calling Policy", fo[0], ["Dallas-GW1=down", "Red-GW2=down"])
        rc, out, err = run("impact", SEED, "--down", "Dallas-GW1", "--live", "--control", sock)
        check(rc == 0 and "live health" in out.splitlines()[0], out)
        # load --dry-run lints first, on stderr.
        intl = write("intl.yaml", INTL % ("^\\+\\d+$", "International, National"))
        rc, out, err = run("load", intl, "--dry-run", "--control", sock)
        check(rc == 0 and "valid" in out, f"dry-run: {rc} {out} {err}")
        check("[policy-capture]" in err and "lint: " in err, f"dry-run lint: {err}")
        rc, out, err = run("load", "--json", "--dry-run", "--control", sock, intl)
        check(rc == 0 and json.loads(out)["dry_run"] is True and "[policy-capture]" in err,
              f"dry-run --json: {rc} {out} {err}")
        rc, out, err = run("load", SEED, "--dry-run", "--control", sock)
        check(rc == 0 and "0 errors, 0 warnings" in err, f"seed dry-run: {err}")
        # A silent server: exit 1.
        rc, out, err = run("impact", SEED, "--down", "Dallas-GW1", "--control",
                           os.path.join(TMP, "nobody.sock"))
        check(rc == 1 and err.strip(), f"no server: {rc} {err}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    global CTL, DAEMON, SEED, TMP
    if len(sys.argv) != 5 or (sys.argv[4] not in CASES and sys.argv[4] != "all"):
        print(f"usage: {sys.argv[0]} STROWGERCTL STROWGERD SEED CASE ({'|'.join(CASES)}|all)",
              file=sys.stderr)
        return 2
    CTL, DAEMON, SEED = sys.argv[1], sys.argv[2], sys.argv[3]
    names = list(CASES) if sys.argv[4] == "all" else [sys.argv[4]]
    with tempfile.TemporaryDirectory(prefix="strowger-lint.") as d:
        TMP = d
        for name in names:
            try:
                CASES[name]()
            except Failure as e:
                print(f"FAIL {name}: {e}", file=sys.stderr)
                return 1
            print(f"ok {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
