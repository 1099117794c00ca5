#!/usr/bin/python3
"""strowgerctl behaviour an operator notices, against examples/seed-failover.yaml.

usage: test_cli.py STROWGERCTL SEED_CONFIG CASE
Each CASE is one meson test (suite 'cli'); `all` runs every case.
Exit 0 on success, 1 with a message on the first failed check.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

CTL = None
SEED = None


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run(*args):
    p = subprocess.run([CTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def query(*args, policy=None, expect_rc=0):
    argv = ["query", "--config", SEED, "--json"]
    if policy is not None:
        argv += ["--policy", policy]
    argv += list(args)
    rc, out, err = run(*argv)
    check(rc == expect_rc, f"{argv}: exit {rc}, expected {expect_rc}; stderr: {err}")
    try:
        return json.loads(out)
    except ValueError as e:
        raise Failure(f"{argv}: output is not JSON ({e}):\n{out}")


def gateways(ans):
    return [d["gateway"] for d in ans["destinations"]]


DALLAS = "Dallas Calling Policy"
REDMOND = "Redmond Local Policy"
ADDR = {"Red-GW1": "192.0.2.11", "Red-GW2": "192.0.2.12", "Dallas-GW1": "198.51.100.21"}


def check_dest_fields(d):
    for key in ("gateway", "trunk", "route", "usage", "address", "port", "transport",
                "called", "calling"):
        check(key in d, f"destination lacks '{key}': {d}")
    check(d["address"] == ADDR[d["gateway"]], f"wrong address: {d}")
    check(d["port"] == 5060, f"wrong port: {d}")
    check(d["transport"] == "udp", f"wrong transport: {d}")


def case_acceptance_down():
    """SPEC worked example: Dallas-GW1 down -> Universal Route via Redmond."""
    for target in ("Dallas-GW1=down", "Dallas=down"):  # a gateway, then its site
        ans = query("--called", "+19725550100", "--health", target, policy=DALLAS)
        check(ans["status"] == "ROUTED", f"{target}: status {ans['status']}")
        check(ans["code"] == 302, f"{target}: code {ans['code']}")
        check(ans["policy"] == DALLAS, f"policy {ans['policy']}")
        check(ans["generation"] >= 1, "generation missing")
        gws = gateways(ans)
        check(sorted(gws) == ["Red-GW1", "Red-GW2"], f"{target}: gateways {gws}")
        for d in ans["destinations"]:
            check_dest_fields(d)
            check(d["route"] == "Universal Route", f"route: {d}")
            check(d["usage"] == "GlobalPSTNHopoff", f"usage: {d}")
            check(d["called"] == "+19725550100", f"called: {d}")
        check("explain" not in ans, "explain without --explain")


def case_acceptance_up():
    """Dallas-GW1 up: DallasUsers first, failover after, no duplicate."""
    for extra in ([], ["--health", "Dallas-GW1=up"]):
        ans = query("--called", "+19725550100", *extra, policy=DALLAS)
        check(ans["status"] == "ROUTED" and ans["code"] == 302, f"status {ans}")
        gws = gateways(ans)
        check(gws[0] == "Dallas-GW1", f"first is {gws}")
        first = ans["destinations"][0]
        check(first["route"] == "Dallas Users Route", f"first route {first}")
        check(first["usage"] == "DallasUsers", f"first usage {first}")
        check(first["trunk"] == "Trunk3", f"first trunk {first}")
        check(sorted(gws[1:]) == ["Red-GW1", "Red-GW2"], f"then {gws}")
        check(gws.count("Dallas-GW1") == 1, f"duplicate Dallas-GW1: {gws}")
        for d in ans["destinations"]:
            check_dest_fields(d)


def case_not_permitted():
    ans = query("--called", "+19725550100", policy=REDMOND)
    check(ans["status"] == "NOT_PERMITTED", f"status {ans['status']}")
    check(ans["code"] == 403, f"code {ans['code']}")
    check(ans["destinations"] == [], f"destinations {ans['destinations']}")


def case_policy_choice():
    ans = query("--called", "+19725550100", policy="No Such Policy")
    check(ans["status"] == "BAD_REQUEST" and ans["code"] == 400, f"unknown policy: {ans}")
    check(ans["destinations"] == [], "BAD_REQUEST with destinations")
    check(ans.get("error"), "BAD_REQUEST without an error reason")

    ans = query("--called", "+14255550100")
    check(ans["status"] == "ROUTED" and ans["code"] == 302, f"default policy: {ans}")
    check(ans["policy"] == "Default Calling Policy", f"policy {ans['policy']}")
    dests = ans["destinations"]
    check(sorted(d["gateway"] for d in dests[:2]) == ["Red-GW1", "Red-GW2"],
          f"Redmond gateways first: {gateways(ans)}")
    for d in dests[:2]:
        check(d["route"] == "Redmond Local Route" and d["usage"] == "Local", f"{d}")
        check_dest_fields(d)
    check(len(set(gateways(ans))) == len(dests), f"duplicates: {gateways(ans)}")


def case_tried():
    ans = query("--called", "+14255550100", "--tried", "Red-GW1:486")
    check(ans["status"] == "NO_FAILOVER", f"486: status {ans['status']}")
    check(ans["code"] == 486, f"486: code {ans['code']}")
    check(ans["destinations"] == [], "NO_FAILOVER with destinations")

    ans = query("--called", "+14255550100", "--tried", "Red-GW1:503")
    check(ans["status"] == "ROUTED" and ans["code"] == 302, f"503: {ans}")
    gws = gateways(ans)
    check("Red-GW1" not in gws, f"tried gateway offered again: {gws}")
    check(gws and gws[0] == "Red-GW2", f"Red-GW2 should come first: {gws}")

    ans = query("--called", "+14255550100", "--tried", "Red-GW1:0", "--tried", "Red-GW2:408")
    check("Red-GW1" not in gateways(ans) and "Red-GW2" not in gateways(ans),
          f"two tried: {gateways(ans)}")


def case_call_id():
    args = ["query", "--config", SEED, "--called", "+19725550100", "--policy", DALLAS,
            "--health", "Dallas-GW1=down", "--call-id", "a84b4c76e66710@pc33"]
    for fmt in ([], ["--json"]):
        first = run(*args, *fmt)
        second = run(*args, *fmt)
        check(first[0] == 0, f"exit {first[0]}: {first[2]}")
        check(first == second, f"same Call-ID, different output:\n{first[1]}\n{second[1]}")
    # No Call-ID: a fixed seed, so also repeatable.
    a = query("--called", "+14255550100")
    b = query("--called", "+14255550100")
    check(a == b, "no Call-ID: output differs between runs")


def case_explain():
    ans = query("--called", "+19725550100", "--health", "Dallas-GW1=down", "--explain",
                policy=DALLAS)
    check("explain" in ans, "no explain object")
    ex = ans["explain"]
    keys = ["policy_source", "assignment", "dial_plan", "dial_rule", "matched_routes",
            "usages", "skipped", "fallbacks"]
    check([k for k in ex if k in keys] == keys, f"explain keys/order: {list(ex)}")
    check(ex["policy_source"] == "named", f"policy_source {ex['policy_source']}")
    for r in ("Dallas Local Route", "Universal Route", "Dallas Users Route"):
        check(r in ex["matched_routes"], f"{r} not matched: {ex['matched_routes']}")
    check("Redmond Local Route" not in ex["matched_routes"], "Redmond route matched")
    usages = [u["usage"] for u in ex["usages"]]
    check(usages[:2] == ["DallasUsers", "GlobalPSTNHopoff"], f"usages walked: {usages}")
    down = [s for s in ex["skipped"] if s["gateway"] == "Dallas-GW1" and s["reason"] == "down"]
    check(down, f"Dallas-GW1 not skipped as down: {ex['skipped']}")
    check(down[0]["health"] == "down", f"skip health: {down[0]}")

    # The explain command is query --explain.
    rc, out, err = run("explain", "--config", SEED, "--called", "+19725550100",
                       "--policy", DALLAS, "--health", "Dallas-GW1=down", "--json")
    check(rc == 0 and json.loads(out) == ans, f"explain command differs: {err}")


def broken_config(path):
    """The seed with one route pointing at a trunk that does not exist.
    Returns the line range of that route in the written file."""
    with open(SEED) as f:
        lines = f.read().split("\n")
    start = next(i for i, l in enumerate(lines) if "name: Dallas Local Route" in l)
    trunk = next(i for i in range(start, len(lines)) if "trunks:" in lines[i])
    lines[trunk] = lines[trunk].replace("Trunk3", "Trunk9")
    check("Trunk9" in lines[trunk], "could not break the config")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return start + 1, trunk + 1


def case_validate():
    rc, out, err = run("validate", SEED)
    check(rc == 0, f"seed invalid: exit {rc}: {err}")
    check(out.strip() == f"{SEED}: OK (3 gateways, 3 trunks, 4 routes, 3 policies)",
          f"validate output: {out!r}")

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "broken.yaml")
        first, last = broken_config(path)
        rc, out, err = run("validate", path)
        check(rc == 1, f"broken config: exit {rc}")
        check("OK" not in out, f"broken config reported OK: {out}")
        hits = [l for l in err.splitlines() if "Dallas Local Route" in l]
        check(hits, f"error does not name the route:\n{err}")
        m = re.search(re.escape(path) + r":(\d+):", hits[0])
        check(m, f"error lacks file:line: {hits[0]}")
        check(first <= int(m.group(1)) <= last,
              f"line {m.group(1)} outside the route ({first}-{last}): {hits[0]}")
        check("Trunk9" in hits[0], f"error does not name the trunk: {hits[0]}")

        # query refuses the broken config too, with exit 1
        rc, out, err = run("query", "--config", path, "--called", "+14255550100")
        check(rc == 1 and "Dallas Local Route" in err, f"query on broken config: {rc} {err}")

        # both files in one run: every file reported, exit 1
        rc, out, err = run("validate", SEED, path)
        check(rc == 1 and f"{SEED}: OK" in out and path in err, f"two files: {rc} {out} {err}")

        rc, out, err = run("validate", os.path.join(d, "missing.yaml"))
        check(rc == 1 and "missing.yaml" in err, f"missing file: {rc} {err}")


def case_human():
    rc, out, err = run("query", "--config", SEED, "--called", "+19725550100",
                       "--policy", DALLAS)
    check(rc == 0, f"exit {rc}: {err}")
    lines = out.splitlines()
    check(lines[0].startswith("ROUTED (302)"), f"header: {lines[0]}")
    check(DALLAS in lines[0] and "+19725550100" in lines[0], f"header: {lines[0]}")
    for gw in ("Dallas-GW1", "Red-GW1", "Red-GW2"):
        check(gw in out, f"{gw} missing from:\n{out}")
    check("198.51.100.21:5060/udp" in out, f"address missing:\n{out}")
    check(out.index("Dallas-GW1") < out.index("Red-GW1"), f"order:\n{out}")

    rc, out, err = run("query", "--config", SEED, "--called", "+19725550100",
                       "--policy", DALLAS, "--health", "Dallas-GW1=down", "--explain")
    check(rc == 0 and "explain" in out and "down" in out, f"human explain:\n{out}")

    rc, out, err = run("query", "--config", SEED, "--called", "+19725550100",
                       "--policy", REDMOND)
    check(rc == 0 and out.startswith("NOT_PERMITTED (403)"), f"not permitted:\n{out}")


def case_usage():
    for argv, why in (
        ([], "no command"),
        (["frobnicate"], "unknown command"),
        (["query", "--config", SEED], "no --called"),
        (["query", "--called", "+1"], "no --config"),
        (["query", "--config", SEED, "--called", "+1", "--bogus"], "unknown option"),
        (["query", "--config", SEED, "--called", "+1", "--tried", "Red-GW1"], "tried no code"),
        (["query", "--config", SEED, "--called", "+1", "--tried", "Red-GW1:700"], "code > 699"),
        (["query", "--config", SEED, "--called", "+1", "--health", "Red-GW1=sideways"],
         "bad state"),
        (["query", "--config", SEED, "--called", "+1", "--health", "Nowhere=down"],
         "unknown health target"),
        (["query", "--config", SEED, "--called", "+1", "--max", "x"], "bad --max"),
        (["validate"], "validate without file"),
    ):
        rc, out, err = run(*argv)
        check(rc == 2, f"{why}: exit {rc}, expected 2")
        check(err.strip(), f"{why}: nothing on stderr")
    for argv in (["--help"], ["help"], ["help", "query"], ["query", "--help"]):
        rc, out, err = run(*argv)
        check(rc == 0 and "usage" in out, f"{argv}: exit {rc}: {out}")
    rc, out, _ = run("help", "query")
    check("--called" in out and "--health" in out, f"query help:\n{out}")
    # a gateway name that contains ':' is split at the last one
    ans = query("--called", "+14255550100", "--tried", "sip:odd:name:503")
    check(ans["status"] in ("ROUTED", "BAD_REQUEST"), f"colon in gateway: {ans}")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    global CTL, SEED
    if len(sys.argv) != 4 or (sys.argv[3] not in CASES and sys.argv[3] != "all"):
        print(f"usage: {sys.argv[0]} STROWGERCTL SEED CASE ({'|'.join(CASES)}|all)",
              file=sys.stderr)
        return 2
    CTL, SEED = sys.argv[1], sys.argv[2]
    names = list(CASES) if sys.argv[3] == "all" else [sys.argv[3]]
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
