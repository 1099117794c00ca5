#!/usr/bin/python3
"""strowgerd as an operator starts, reloads and stops it.

usage: test_daemon.py CASE
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strowger_it import (SEED, SLOW, STROWGERD, Daemon, check, ctl, free_port, main,  # noqa: E402
                         workdir)


def run_daemon(*args, timeout=30):
    p = subprocess.run([STROWGERD, "--control", "none", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout * SLOW)
    return p.returncode, p.stdout


def case_port_in_use():
    """Another process holds the port: say which address, exit 1, serve nothing."""
    for proto, flag in ((socket.SOCK_DGRAM, "--sip"), (socket.SOCK_DGRAM, "--query")):
        with socket.socket(socket.AF_INET, proto) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            other = "--query" if flag == "--sip" else "--sip"
            rc, out = run_daemon("--config", SEED, flag, f"127.0.0.1:{port}",
                                 other, f"127.0.0.1:{free_port()}", "--workers", "1")
            check(rc == 1, f"{flag} port in use: exit {rc}\n{out}")
            check(f"127.0.0.1:{port}" in out and "in use" in out, f"message: {out}")
    # Two strowgerds on one port: the second refuses (SO_REUSEPORT must not
    # silently share the port with another process).
    with Daemon() as d:
        rc, out = run_daemon("--config", SEED, "--sip", f"127.0.0.1:{d.sip_port}",
                             "--query", f"127.0.0.1:{free_port()}", "--workers", "1")
        check(rc == 1 and "in use" in out, f"second daemon on the same port: {rc}\n{out}")


def case_bad_config():
    w = workdir()
    bad = os.path.join(w, "bad.yaml")
    with open(SEED) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text.replace("trunks: [Trunk3]\n", "trunks: [Trunk9]\n", 1))
    rc, out = run_daemon("--config", bad, "--sip", f"127.0.0.1:{free_port()}",
                         "--query", f"127.0.0.1:{free_port()}")
    check(rc == 1, f"bad config: exit {rc}\n{out}")
    check(f"{bad}:" in out and "Trunk9" in out and "rejected" in out,
          f"error names file, line and object: {out}")
    rc, out = run_daemon("--config", os.path.join(w, "missing.yaml"))
    check(rc == 1 and "missing.yaml" in out, f"missing file: {rc}\n{out}")
    rc, out = run_daemon("--sip", "127.0.0.1:1")
    check(rc == 2 and "--config" in out, f"no --config: {rc}\n{out}")
    for args in (["--workers", "0"], ["--sip", "300.1.1.1:5060"], ["--sip", "127.0.0.1:99999"],
                 ["--io", "carrier-pigeon"], ["--bogus"]):
        rc, out = run_daemon("--config", SEED, *args)
        check(rc == 2 and out.strip(), f"{args}: exit {rc}\n{out}")


def case_signals():
    """SIGTERM and SIGINT stop cleanly with a summary; counters add up."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        with Daemon(workers=2) as d:
            for i in range(5):
                rc, out, err = ctl("query", "--server", d.query_hostport, "--called",
                                   "+14255550100", "--call-id", f"sig-{i}")
                check(rc == 0, f"query: {rc} {err}")
            s = d.summary(d.stop(sig))
            check(s["requests"] == 5 and s["replies"] == 5, f"{sig.name} summary: {s}")


def case_reload():
    """SIGHUP reloads --config: a good file becomes the next generation, a
    bad one is rejected with its errors and the old one keeps serving."""
    w = workdir()
    cfg = os.path.join(w, "live.yaml")
    shutil.copy(SEED, cfg)
    with Daemon(config=cfg) as d:
        def gen_and_first():
            rc, out, err = ctl("query", "--server", d.query_hostport, "--called",
                               "+14255550100", "--json")
            check(rc == 0, f"query: {err}")
            import json
            a = json.loads(out)
            return a["generation"], a["destinations"][0]["gateway"]

        check(gen_and_first() == (1, "Red-GW1"), "generation 1 first")
        # A bad file: rejected, still generation 1.
        with open(cfg, "w") as f:
            f.write("gateways: [\n")
        n = d.n_lines()
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(r"reload of .* rejected.*; still serving generation 1", 10 * SLOW, start=n)
        check(f"{cfg}:" in d.log(), f"the rejection names the file:\n{d.log()}")
        check(gen_and_first() == (1, "Red-GW1"), "old config kept")
        # A good, different file: generation 2, new answer.
        with open(SEED) as f:
            text = f.read()
        text = text.replace("trunks: [Trunk1, Trunk2]\n", "trunks: [Trunk2, Trunk1]\n", 1)
        text = text.replace("name: Red-GW1,    address: 192.0.2.11,    port: 5060, transport: udp",
                            "name: Red-GW1,    address: 192.0.2.11,    port: 5060, transport: udp, priority: 9")
        with open(cfg, "w") as f:
            f.write(text)
        n = d.n_lines()
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(r"reloaded .*: generation 2", 30 * SLOW, start=n)
        g, _ = gen_and_first()
        check(g == 2, f"generation after reload: {g}")


def case_state_dir():
    w = workdir()
    sd = os.path.join(w, "state", "sub")
    with Daemon(state_dir=sd):
        check(os.path.isdir(sd), "--state-dir created")
    rc, out = run_daemon("--config", SEED, "--state-dir", "/proc/nope/x",
                         "--sip", f"127.0.0.1:{free_port()}", "--query", f"127.0.0.1:{free_port()}")
    check(rc == 1 and "/proc/nope/x" in out, f"unusable state dir: {rc}\n{out}")


HS_CONFIG = r"""# Routes and dial-plan rules rt_classify leaves to Hyperscan (';ext=',
# '(?i)', parameters), next to trie ones.
failover: { codes: [0, 408, 503, 504] }
gateways:
  - { name: Red-GW1,    address: 192.0.2.11,    port: 5060, transport: udp, site: Redmond }
  - { name: Red-GW2,    address: 192.0.2.12,    port: 5060, transport: udp, site: Redmond }
  - { name: Dallas-GW1, address: 198.51.100.21, port: 5060, transport: udp, site: Dallas }
trunks:
  - { name: Trunk1, gateway: Red-GW1 }
  - { name: Trunk2, gateway: Red-GW2 }
  - { name: Trunk3, gateway: Dallas-GW1 }
usages: [Local, GlobalPSTNHopoff]
routes:
  - { name: Ext Route, pattern: '^\+1425555(\d{4});ext=(\d+)$', usages: [Local], trunks: [Trunk2] }
  - { name: Context Route, pattern: '(?i)^\+1206\d{7}(;phone-context=\w+)?$', usages: [Local],
      trunks: [Trunk3] }
  - { name: Redmond Local Route, pattern: '^\+1(425|206|253)(\d{7})$', usages: [Local],
      trunks: [Trunk1, Trunk2] }
  - { name: Universal Route, pattern: '^\+?(\d*)$', usages: [GlobalPSTNHopoff],
      trunks: [Trunk1, Trunk2, Trunk3] }
policies:
  - { name: Default Calling Policy, usages: [Local, GlobalPSTNHopoff], default: true, dial_plan: US }
dial_plans:
  - name: US
    default: true
    rules:
      - { match: '^(\d{10})(;ext=\d+)?$', replace: '+1$1$2' }
      - { match: '^(?i)x(\d{4})$', replace: '+14255550000;ext=$1' }
"""
HS_NUMBERS = ["+14255551234;ext=77", "+12065550100;PHONE-CONTEXT=abc", "4255551234;ext=5",
              "X1234", "+14255551234", "+4930123", "2065550100"]


def case_hs_cache():
    """--state-dir caches the compiled Hyperscan databases in STATE/hs-cache:
    a restart deserialises them instead of compiling and answers the same; a
    damaged cache file is reported, recompiled and replaced; --hs-cache DIR
    chooses the directory (also for reloads), --hs-cache none turns it off."""
    import json
    w = workdir()
    try:
        cfg = os.path.join(w, "hs.yaml")
        with open(cfg, "w") as f:
            f.write(HS_CONFIG)
        sd = os.path.join(w, "state")
        cache = os.path.join(sd, "hs-cache")

        def answers(d):
            out = {}
            for n in HS_NUMBERS:
                rc, o, err = ctl("query", "--server", d.query_hostport, "--called", n,
                                 "--call-id", "hs-" + n, "--json")
                check(rc == 0, f"query {n}: {rc} {err}")
                out[n] = json.loads(o)
            return out

        def counts(d):
            line = d.wait_log(r"hyperscan cache .*: \d+ hits?, \d+ compiled", 5 * SLOW)
            check(cache in line or "--hs-cache" in " ".join(d.extra), f"cache dir named: {line}")
            m = re.search(r"(\d+) hits?, (\d+) compiled", line)
            return int(m.group(1)), int(m.group(2))

        def files(where=cache):
            return sorted(x for x in os.listdir(where) if x.endswith(".hsdb"))

        # First start: every Hyperscan database compiled and stored.
        with Daemon(config=cfg, state_dir=sd) as d:
            hits, compiled = counts(d)
            check(hits == 0 and compiled >= 2, f"first start: {hits} hits, {compiled} compiled")
            want = answers(d)
        check(len(files()) == compiled, f"{compiled} compiled, cached: {files()}")
        check(want["+14255551234;ext=77"]["destinations"][0]["route"] == "Ext Route" and
              want["X1234"]["normalized"] == "+14255550000;ext=1234",
              f"the Hyperscan routes and rules answer: {want}")

        # Restart: nothing compiled, the same answers.
        with Daemon(config=cfg, state_dir=sd) as d:
            check(counts(d) == (compiled, 0), f"restart: {counts(d)}, want {compiled} hits")
            check(answers(d) == want, "answers after a cached restart differ")

        # Damaged files: reported, recompiled, replaced; still the same answers.
        names = files()
        with open(os.path.join(cache, names[0]), "r+b") as f:
            f.truncate(100)
        with open(os.path.join(cache, names[1]), "r+b") as f:
            f.seek(200)
            b = f.read(1)
            f.seek(200)
            f.write(bytes([b[0] ^ 0x40]))
        with Daemon(config=cfg, state_dir=sd) as d:
            check(counts(d) == (compiled - 2, 2), f"damaged: {counts(d)}")
            check(len(re.findall(r"warning: hyperscan cache: .*\.hsdb: corrupt", d.log())) == 2,
                  f"each damaged file reported:\n{d.log()}")
            check(answers(d) == want, "answers after recompiling differ")
        check(files() == names, f"damaged files replaced: {files()} vs {names}")
        with Daemon(config=cfg, state_dir=sd) as d:
            check(counts(d) == (compiled, 0), f"after repair: {counts(d)}")

        # --hs-cache none: off, nothing logged about it.
        with Daemon(config=cfg, state_dir=sd, extra=["--hs-cache", "none"]) as d:
            check("hyperscan cache" not in d.log(), f"--hs-cache none:\n{d.log()}")
            check(answers(d) == want, "answers without the cache differ")

        # --hs-cache DIR without --state-dir; a reload of the same patterns on
        # the loader thread is served from the cache.
        other = os.path.join(w, "other", "cache")
        os.makedirs(os.path.dirname(other))
        with Daemon(config=cfg, extra=["--hs-cache", other, "--verbose"]) as d:
            check(re.search(r"0 hits, \d+ compiled", d.log()), f"--hs-cache DIR:\n{d.log()}")
            check(len(files(other)) == compiled, f"--hs-cache DIR files: {files(other)}")
            n = d.n_lines()
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log(r"reloaded .*: generation 2", 30 * SLOW, start=n)
            check(len(re.findall(r"hyperscan cache: \d+ patterns loaded from",
                                 "\n".join(d.lines[n:]))) == compiled,
                  f"reload from the cache:\n{d.log()}")
            check(answers(d) == {k: dict(v, generation=2) for k, v in want.items()},
                  "answers after a cached reload differ")

        # An explicit directory that cannot be used is a startup error.
        rc, out = run_daemon("--config", cfg, "--hs-cache", "/proc/nope/x",
                             "--sip", f"127.0.0.1:{free_port()}",
                             "--query", f"127.0.0.1:{free_port()}")
        check(rc == 1 and "--hs-cache /proc/nope/x" in out, f"unusable --hs-cache: {rc}\n{out}")
    finally:
        shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main({"port_in_use": case_port_in_use, "bad_config": case_bad_config,
                   "signals": case_signals, "reload": case_reload,
                   "state_dir": case_state_dir, "hs_cache": case_hs_cache}))
