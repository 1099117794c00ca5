#!/usr/bin/python3
"""strowgerd's control plane, driven the way an operator and a monitoring
probe drive it: strowgerctl over the control socket, SIGHUP/SIGTERM, the
state directory, the Prometheus endpoint.

usage: test_control.py CASE
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strowger_it import (SEED, SLOW, STROWGERCTL, STROWGERD, Daemon, batch, check, ctl,  # noqa: E402
                         free_port, main, run_sipp, sip_status, udp_exchange, workdir)

DALLAS = "Dallas Calling Policy"


def cc(d, *args, timeout=120):
    """strowgerctl against daemon d's control socket."""
    return ctl(*args, "--control", d.control, timeout=timeout)


def cc_ok(d, *args):
    rc, out, err = cc(d, *args)
    check(rc == 0, f"strowgerctl {' '.join(args)}: exit {rc}\n{out}\n{err}")
    return out, err


def status(d):
    out, _ = cc_ok(d, "status", "--json")
    return json.loads(out)


def stats(d):
    out, _ = cc_ok(d, "stats", "--json")
    return json.loads(out)


def ask(d, called="+14255550100", *extra):
    rc, out, err = ctl("query", "--server", d.query_hostport, "--called", called, "--json",
                       *extra)
    check(rc == 0, f"query {called}: {rc} {err}")
    return json.loads(out)


def gws(ans):
    return [x["gateway"] for x in ans["destinations"]]


def variant(path, **repl):
    """The seed config with textual replacements, written to path."""
    with open(SEED) as f:
        text = f.read()
    for old, new in repl.items():
        check(old in text, f"variant: '{old}' not in the seed")
        text = text.replace(old, new)
    with open(path, "w") as f:
        f.write(text)
    return path


def big_config(path, n_routes):
    """The seed plus n_routes prefix routes: compiles for a noticeable time."""
    with open(SEED) as f:
        text = f.read()
    extra = "".join(f"  - {{ name: R{i}, pattern: '^\\+9{i:06d}\\d{{4,8}}$', usages: [Local], "
                    f"trunks: [Trunk1] }}\n" for i in range(n_routes))
    text = text.replace("  - name: Dallas Users Route", extra + "  - name: Dallas Users Route", 1)
    with open(path, "w") as f:
        f.write(text)
    return path


# ---------------------------------------------------------------- loads

def case_load():
    w = workdir()
    with Daemon(workers=2) as d:
        check(ask(d)["generation"] == 1 and gws(ask(d))[0] in ("Red-GW1", "Red-GW2"), "gen 1")
        # Dry run: says what changes, changes nothing.
        new = variant(os.path.join(w, "new.yaml"), **{
            "trunks: [Trunk1, Trunk2]\n": "trunks: [Trunk3]\n",
            "  - { name: Dallas-GW1,": "  - { name: Austin-GW1, address: 203.0.113.5, site: Austin }\n  - { name: Dallas-GW1,",
        })
        out, _ = cc_ok(d, "load", new, "--dry-run")
        check("~ route Redmond Local Route" in out and "+ gateway Austin-GW1" in out,
              f"dry-run diff:\n{out}")
        check(ask(d)["generation"] == 1, "dry run changed nothing")
        out, _ = cc_ok(d, "load", new, "--dry-run", "--json")
        diff = json.loads(out)["diff"]
        check(diff["route"]["changed"] == ["Redmond Local Route"] and
              diff["gateway"]["added"] == ["Austin-GW1"], f"JSON diff: {diff}")
        # The real load: next generation, new answers, at once.
        out, _ = cc_ok(d, "load", new)
        check("generation 2" in out, f"load output: {out}")
        a = ask(d)
        check(a["generation"] == 2 and gws(a)[0] == "Dallas-GW1", f"after load: {a}")
        st = status(d)
        check(st["generation"] == 2 and st["config_origin"] == "control" and
              st["config_source"] == new, f"status after load: {st}")
        # A bad config: every error with file, line and object; old one kept.
        bad = variant(os.path.join(w, "bad.yaml"), **{
            "trunks: [Trunk3]\n": "trunks: [Trunk9]\n",
            "pattern: '^\\+1(425|206|253)(\\d{7})$'": "pattern: '^\\+1(425|206'"})
        rc, out, err = cc(d, "load", bad)
        check(rc == 1, f"bad load exit {rc}")
        check(re.search(r"bad\.yaml:\d+: .*Trunk9", err) and "failed" in err or
              re.search(r"bad\.yaml:\d+:", err), f"bad load errors:\n{err}")
        check(ask(d)["generation"] == 2 and gws(ask(d))[0] == "Dallas-GW1", "old config kept")
        # A config strowgerctl accepts but the server's compiler rejects
        # (pattern errors come from the matcher), reported the same way.
        bad2 = variant(os.path.join(w, "bad2.yaml"), **{
            "pattern: '^\\+1(972|214|469)(\\d{7})$'": "pattern: '^\\+1(972|214|469)(\\d{7})$(?<=x)'"})
        rc, out, err = cc(d, "load", bad2)
        check(rc == 1 and "bad2.yaml:" in err and "Dallas Local Route" in err,
              f"compile-time rejection names file, line, object:\n{err}")
        st = stats(d)
        check(st["reloads"] == 1 and st["reload_failures"] >= 1, f"reload counters: {st}")
        check(ask(d)["generation"] == 2, "still generation 2")


def case_load_busy():
    """Loads are serialised: a second one while the first compiles is refused
    with the reason, and the channel keeps answering meanwhile."""
    w = workdir()
    big = os.path.join(w, "big.yaml")
    # Big enough that compiling it takes a while, whatever the matcher.
    n = 2000
    while True:
        big_config(big, n)
        t0 = time.monotonic()
        rc, _, err = ctl("validate", big, timeout=600)
        check(rc == 0, f"big config invalid: {err}")
        if time.monotonic() - t0 >= 1.5 or n >= 256000:
            break
        n *= 2
    with Daemon() as d:
        n0 = d.n_lines()
        p = subprocess.Popen([STROWGERCTL, "load", big, "--control", d.control],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # strowgerctl parses the file before sending it: wait for the server.
        d.wait_log(r"control client \d+: loading .*big\.yaml", 120 * SLOW, start=n0)
        refused = None
        deadline = time.monotonic() + 30 * SLOW
        while time.monotonic() < deadline and p.poll() is None:
            t0 = time.monotonic()
            st = status(d)  # answered while compiling
            check(time.monotonic() - t0 < 2 * SLOW, "status stalled by a compile")
            rc, out, err = cc(d, "load", SEED)
            if rc != 0 and "another config load" in err:
                refused = err
                break
            time.sleep(0.05)
        out, err = p.communicate(timeout=120)
        check(p.returncode == 0, f"big load: {p.returncode} {err}")
        check(refused is not None, "no concurrent load was refused (compile too fast?)")
        check(status(d)["routes"] == n + 4, f"big config live: {status(d)}")


def case_sighup():
    """SIGHUP reloads --config through the same loader."""
    w = workdir()
    cfg = shutil.copy(SEED, os.path.join(w, "live.yaml"))
    with Daemon(config=cfg) as d:
        variant(cfg, **{"trunks: [Trunk1, Trunk2]\n": "trunks: [Trunk3]\n"})
        n = d.n_lines()
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(r"reloaded .*: generation 2", 30 * SLOW, start=n)
        check(status(d)["config_origin"] == "sighup", "origin sighup")
        check(gws(ask(d))[0] == "Dallas-GW1", "new answers after SIGHUP")


# ---------------------------------------------------------------- health

def case_health():
    with Daemon(extra=["--health-ttl", "30"]) as d:
        gen = ask(d)["generation"]
        cc_ok(d, "health", "Red-GW1", "down", "Red-GW2", "degraded")
        a = ask(d)
        check(gws(a) == ["Dallas-GW1", "Red-GW2"], f"Red-GW1 down skipped, Red-GW2 demoted: {a}")
        check(a["generation"] == gen, "health never recompiles (same generation)")
        # Site health: every gateway of the site.
        cc_ok(d, "health", "Red-GW1", "up", "Red-GW2", "up", "Redmond", "down")
        check(gws(ask(d)) == ["Dallas-GW1"], f"site Redmond down: {gws(ask(d))}")
        cc_ok(d, "health", "Redmond", "up")
        check(set(gws(ask(d))) == {"Red-GW1", "Red-GW2", "Dallas-GW1"}, "site back up")
        # Unknown names are kept and warned about.
        rc, out, err = cc(d, "health", "Houston-GW1", "down")
        check(rc == 0 and "Houston-GW1" in err, f"unknown name: {rc} {err}")
        # Health survives a reload (and the new config can use a name
        # reported earlier).
        w = workdir()
        new = variant(os.path.join(w, "h.yaml"), **{
            "  - { name: Dallas-GW1,": "  - { name: Houston-GW1, address: 203.0.113.7, site: Dallas }\n  - { name: Dallas-GW1,",
            "trunks: [Trunk3]\n": "trunks: [Trunk3, Trunk4]\n",
            "  - { name: Trunk3, gateway: Dallas-GW1 }": "  - { name: Trunk3, gateway: Dallas-GW1 }\n  - { name: Trunk4, gateway: Houston-GW1 }"})
        cc_ok(d, "health", "Dallas-GW1", "down")
        cc_ok(d, "load", new)
        a = ask(d, "+19725550100", "--policy", "Redmond Local Policy")
        a = ask(d, "+19725550100")
        check("Dallas-GW1" not in gws(a) and "Houston-GW1" not in gws(a),
              f"reports survive the reload: {gws(a)}")
        st = {h["name"]: h for h in status(d)["health"]}
        check(st["Houston-GW1"]["kind"] == "gateway" and st["Dallas-GW1"]["effective"] == "down",
              f"status health: {st}")
        # Bad input to the health command.
        rc, _, err = cc(d, "health", "Red-GW1", "sideways")
        check(rc == 2 and "expected" in err, f"bad state: {rc} {err}")


def case_health_ttl():
    """A report expires to unknown after its TTL (treated as up)."""
    with Daemon(extra=["--health-ttl", "60"]) as d:
        cc_ok(d, "health", "Red-GW1", "down", "--ttl", "0.5")
        check("Red-GW1" not in gws(ask(d)), "down while fresh")
        st = {h["name"]: h for h in status(d)["health"]}
        check(0 < st["Red-GW1"]["expires_in_ms"] <= 500, f"expiry shown: {st}")
        deadline = time.monotonic() + 5 * SLOW
        while "Red-GW1" not in gws(ask(d)) and time.monotonic() < deadline:
            time.sleep(0.1)
        check("Red-GW1" in gws(ask(d)), "expired report reads as unknown (usable)")
        st = {h["name"]: h for h in status(d)["health"]}
        check(st["Red-GW1"]["effective"] == "unknown", f"after expiry: {st}")


def case_hysteresis():
    with Daemon(extra=["--health-hysteresis", "3", "--health-ttl", "0"]) as d:
        cc_ok(d, "health", "Red-GW1", "up")      # first report: believed at once
        cc_ok(d, "health", "Red-GW1", "down")
        cc_ok(d, "health", "Red-GW1", "down")
        check("Red-GW1" in gws(ask(d)), "two downs of three: still up")
        cc_ok(d, "health", "Red-GW1", "down")
        check("Red-GW1" not in gws(ask(d)), "third down: down")
        cc_ok(d, "health", "Red-GW1", "up")
        check("Red-GW1" not in gws(ask(d)), "one up does not undo it")


# ---------------------------------------------------------------- drain

def options(d):
    msg = (b"OPTIONS sip:strowger@127.0.0.1 SIP/2.0\r\n"
           b"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-opt\r\n"
           b"From: <sip:sbc@127.0.0.1>;tag=1\r\nTo: <sip:strowger@127.0.0.1>\r\n"
           b"Call-ID: opt-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    return sip_status(udp_exchange(d.sip_addr, msg))


def case_drain():
    with Daemon() as d:
        cc_ok(d, "drain", "--gateway", "Red-GW1")
        check("Red-GW1" not in gws(ask(d)), "drained gateway not offered")
        cc_ok(d, "health", "Red-GW1", "up")
        check("Red-GW1" not in gws(ask(d)), "an up report does not lift a drain")
        cc_ok(d, "undrain", "--gateway", "Red-GW1")
        check("Red-GW1" in gws(ask(d)), "undrained")
        cc_ok(d, "drain", "--site", "Redmond")
        check(gws(ask(d)) == ["Dallas-GW1"], f"site drained: {gws(ask(d))}")
        cc_ok(d, "undrain", "--site", "Redmond")
        check(options(d) == 200, "OPTIONS 200 before server drain")
        cc_ok(d, "drain")
        check(options(d) == 503 and status(d)["draining"], "server drain: OPTIONS 503")
        check(ask(d)["status"] == "ROUTED", "queries still answered while draining")
        cc_ok(d, "undrain")
        check(options(d) == 200, "undrained: OPTIONS 200")
        rc, out, err = cc(d, "drain", "--gateway", "Nowhere-GW")
        check(rc == 0 and "Nowhere-GW" in err, f"drain of an unknown name warns: {err}")


def case_sigterm_drain():
    """SIGTERM: OPTIONS 503 for the grace period, then a clean exit."""
    d = Daemon(drain_grace=1.5).start()
    try:
        check(options(d) == 200, "OPTIONS 200 before SIGTERM")
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        d.wait_log(r"SIGTERM: draining", 5 * SLOW)
        check(options(d) == 503, "OPTIONS 503 while draining")
        check(ask(d)["status"] == "ROUTED", "queries answered while draining")
        rc = d.proc.wait(timeout=10 * SLOW)  # no second signal: that stops at once
        check(rc == 0, f"exit {rc}")
        check(time.monotonic() - t0 >= 1.2, "stopped before the grace period")
        d.wait_log(r"stopped:", 2)
    finally:
        if d.alive():
            d.proc.kill()


# ---------------------------------------------------------------- persistence

def case_persist():
    w = workdir()
    sd = os.path.join(w, "state")
    new = variant(os.path.join(w, "new.yaml"), **{"trunks: [Trunk1, Trunk2]\n": "trunks: [Trunk3]\n"})
    with Daemon(state_dir=sd) as d:
        cc_ok(d, "load", new)
        check(os.path.exists(os.path.join(sd, "config.state")), "state file written")
        check(oct(os.stat(os.path.join(sd, "config.state")).st_mode & 0o777) == "0o600", "mode")
    # Restart with the same (older) --config: the loaded one serves, at once.
    with Daemon(state_dir=sd) as d:
        a = ask(d)
        check(a["generation"] == 2 and gws(a)[0] == "Dallas-GW1", f"restart serves state: {a}")
        st = status(d)
        check(st["config_origin"] == "state" and st["config_source"] == new, f"status: {st}")
    # Without --config at all.
    with Daemon(config=None, state_dir=sd) as d:
        check(gws(ask(d))[0] == "Dallas-GW1", "state alone serves")
    # A corrupt state file: reported, skipped, --config serves.
    path = os.path.join(sd, "config.state")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with Daemon(state_dir=sd) as d:
        check(re.search(r"state file skipped: .*checksum", d.log()), f"corruption reported:\n{d.log()}")
        a = ask(d)
        check(gws(a)[0] != "Dallas-GW1" and status(d)["config_origin"] == "file", f"--config serves: {a}")
    # Truncated to garbage: the same.
    open(path, "wb").write(b"STROWGER-STATE1\nxx")
    with Daemon(state_dir=sd) as d:
        check("state file skipped" in d.log(), d.log())
    # No --config and a corrupt state: a clear startup error.
    open(path, "wb").write(b"garbage")
    rc = subprocess.run([STROWGERD, "--state-dir", sd, "--control", "none",
                         "--sip", f"127.0.0.1:{free_port()}", "--query", f"127.0.0.1:{free_port()}"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    check(rc.returncode == 1 and "state file skipped" in rc.stdout and "no config" in rc.stdout,
          f"no usable config: {rc.returncode}\n{rc.stdout}")


# ---------------------------------------------------------------- stats and metrics

def case_stats_metrics():
    mport = free_port()
    with Daemon(extra=["--metrics", f"127.0.0.1:{mport}"]) as d:
        for i in range(10):
            ask(d, "+14255550100", "--call-id", f"s{i}")
        for i in range(3):
            ask(d, "+14255550100", "--tried", "Red-GW1:503", "--call-id", f"f{i}")
        ask(d, "+14255550100", "--tried", "Red-GW1:486")
        ask(d, "+19725550100", "--policy", "Redmond Local Policy")
        s = stats(d)
        check(s["native_requests"] == 15 and s["replies"] == 15, f"counts: {s}")
        check(s["by_status"]["ROUTED"] == 13 and s["by_status"]["NO_FAILOVER"] == 1 and
              s["by_status"]["NOT_PERMITTED"] == 1, f"by status: {s['by_status']}")
        check(s["failover_queries"] == 4 and s["failover_by_code"] == {"486": 1, "503": 3},
              f"failover: {s}")
        check(s["route_hits"]["Redmond Local Route"] == 13, f"route hits: {s['route_hits']}")
        check(sum(s["gateway_selections"].values()) == 13, f"selections: {s['gateway_selections']}")
        # Counts carry across a reload, by name.
        cc_ok(d, "load", SEED)
        ask(d)
        s = stats(d)
        check(s["route_hits"]["Redmond Local Route"] == 14 and s["generation"] == 2,
              f"after reload: {s}")
        body = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5).read().decode()
        m = dict(re.findall(r"^(strowger_[a-z_]+(?:\{.*\})?) (\S+)$", body, re.M))
        check(m.get("strowger_config_generation") == "2", "generation gauge")
        check(m.get('strowger_decisions_total{status="ROUTED"}') == "14", "decisions counter")
        check(m.get("strowger_decision_latency_seconds_count") == "16", f"histogram count: {m}")
        check(m.get('strowger_route_hits_total{route="Redmond Local Route"}') == "14", "hits")
        check(float(m.get("strowger_last_reload_duration_seconds", "0")) > 0, "reload duration")
        check("# TYPE strowger_decision_latency_seconds histogram" in body, "histogram type")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{mport}/other", timeout=5)
            check(False, "/other should be 404")
        except urllib.error.HTTPError as e:
            check(e.code == 404, f"/other: {e.code}")


# ---------------------------------------------------------------- the channel itself

def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def read_frame(s):
    hdr = b""
    while len(hdr) < 4:
        chunk = s.recv(4 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    n = struct.unpack(">I", hdr)[0]
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def unix_conn(d):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5 * SLOW)
    s.connect(d.control)
    return s


def case_channel():
    """Hostile and slow clients: errors or a closed connection, never a
    crash, never a stall of workers or other clients."""
    with Daemon() as d:
        mode = os.stat(d.control).st_mode & 0o777
        check(mode == 0o600, f"control socket mode {oct(mode)}")
        # Garbage in a well-formed frame: an error reply, connection kept.
        s = unix_conn(d)
        s.sendall(frame(b"\xff\xff\xff\xff garbage"))
        r = read_frame(s)
        check(r is not None and b"malformed" in r, f"garbage frame: {r!r}")
        s.sendall(frame(b""))  # an empty request: no operation
        r = read_frame(s)
        check(r is not None and b"operation" in r, f"empty request: {r!r}")
        s.close()
        # Oversized length: an error and a closed connection.
        s = unix_conn(d)
        s.sendall(struct.pack(">I", 0xFFFFFFF0) + b"x" * 100)
        r = read_frame(s)
        check(r is not None and b"exceeds" in r, f"oversized: {r!r}")
        check(read_frame(s) is None, "connection closed after oversized frame")
        s.close()
        # A slow client holding half a frame, and many idle clients, do not
        # stop anyone else.
        slow = unix_conn(d)
        slow.sendall(struct.pack(">I", 1000) + b"\x0a")
        idle = [unix_conn(d) for _ in range(20)]
        t0 = time.monotonic()
        st = status(d)
        check(time.monotonic() - t0 < 2 * SLOW and st["generation"] == 1, "status with a slow client")
        check(ask(d)["status"] == "ROUTED", "queries with a slow client")
        # Disconnect mid-frame: nothing breaks.
        slow.close()
        for c in idle:
            c.close()
        # Many clients at once.
        errs = []

        def one():
            try:
                status(d)
            except Exception as e:  # noqa: BLE001
                errs.append(e)
        ts = [threading.Thread(target=one) for _ in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(not errs, f"concurrent clients: {errs[:2]}")
        check(d.alive(), "daemon alive")


def case_tcp_token():
    w = workdir()
    tok = os.path.join(w, "token")
    with open(tok, "w") as f:
        f.write("s3cret-token-0123456789\n")
    os.chmod(tok, 0o600)
    bad_tok = os.path.join(w, "bad")
    with open(bad_tok, "w") as f:
        f.write("s3cret-token-0123456780\n")
    port = free_port()
    # Non-loopback without a token: refused at startup.
    rc = subprocess.run([STROWGERD, "--config", SEED, "--control", "none",
                         "--control-tcp", f"0.0.0.0:{free_port()}",
                         "--sip", f"127.0.0.1:{free_port()}", "--query", f"127.0.0.1:{free_port()}"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    check(rc.returncode == 1 and "token is required" in rc.stdout, f"no token: {rc.stdout}")
    with Daemon(extra=["--control-tcp", f"127.0.0.1:{port}", "--control-token-file", tok]) as d:
        rc, out, err = ctl("status", "--control-tcp", f"127.0.0.1:{port}", "--token-file", tok)
        check(rc == 0 and "generation 1" in out, f"right token: {rc} {out} {err}")
        rc, out, err = ctl("status", "--control-tcp", f"127.0.0.1:{port}", "--token-file", bad_tok)
        check(rc == 1 and "unauthorized" in err, f"wrong token: {rc} {err}")
        rc, out, err = ctl("status", "--control-tcp", f"127.0.0.1:{port}")
        check(rc == 1 and "unauthorized" in err, f"no token: {rc} {err}")
        # The Unix socket needs no token.
        cc_ok(d, "status")


def case_reload_under_load():
    """Tables swap without pausing queries: sipp at 1,000 INVITEs/s while
    configs are loaded over and over; every call answered correctly."""
    from test_sipp import load_rows, route_run  # noqa: E402
    rows = load_rows(4000, 11)
    w = workdir()
    alt = variant(os.path.join(w, "same-routing.yaml"), **{"Red-GW1,    address: 192.0.2.11": "Red-GW1,    address: 192.0.2.11"})
    with Daemon(workers=1) as d:
        stop = threading.Event()
        loads = []

        def loader():
            while not stop.is_set():
                rc, out, err = cc(d, "load", alt if len(loads) % 2 else SEED)
                loads.append(rc)
                time.sleep(0.1)
        t = threading.Thread(target=loader)
        t.start()
        try:
            route_run(d, rows, 1000, "load-%u", False)
        finally:
            stop.set()
            t.join()
        check(len(loads) >= 10 and all(rc == 0 for rc in loads), f"loads: {loads}")
        check(status(d)["generation"] >= 10, "generations advanced")


# ---------------------------------------------------------------- route patches

PATCH_ROWS = [  # (called, calling, policy, call-id): every route of the seed and the patches
    ("+19725550100", "", "", "p1"),
    ("+18175550100", "", "", "p2"),
    ("+447700900123", "", "", "p3"),
    ("+14255550100", "", "", "p4"),
    ("+33123456789", "", "", "p5"),
    ("+19725550100", "", DALLAS, "p6"),
    ("+447700900123", "", DALLAS, "p7"),
    ("+14255550100", "", "Redmond Local Policy", "p8"),
]


def decisions(answers):
    """What a caller sees, without the generation that answered."""
    return [(a["status"], [(x.get("gateway"), x.get("trunk"), x.get("route"), x.get("called"))
                           for x in a.get("destinations", [])]) for a in answers]


def same_as_file(d, path, rows=PATCH_ROWS, what=""):
    """The server answers every row as `batch --config path` does offline."""
    live = decisions(batch(["--server", d.query_hostport], rows))
    offline = decisions(batch(["--config", path], rows))
    for r, a, b in zip(rows, live, offline):
        check(a == b, f"{what}: {r[0]} ({r[2] or 'default policy'}): server {a}, "
                      f"the equivalent file {b}")
    return live


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


# Replaces Dallas Local Route (pattern, trunks, priority) where it stands and
# adds UK Route after every route.
PATCH1 = """# a change of two routes
routes:
  - name: Dallas Local Route
    pattern: '^\\+1(972|214|469|817)(\\d{7})$'
    usages: [Local]
    trunks: [Trunk2, Trunk1]
    priority: 5
  - { name: UK Route, pattern: '^\\+44(\\d+)$', usages: [Local, DallasUsers], trunks: [Trunk3] }
"""


def patch1_full(path):
    """The seed as PATCH1 leaves it, as one file."""
    return variant(path, **{
        "    pattern: '^\\+1(972|214|469)(\\d{7})$'\n    usages: [Local]\n    trunks: [Trunk3]\n":
        "    pattern: '^\\+1(972|214|469|817)(\\d{7})$'\n    usages: [Local]\n"
        "    trunks: [Trunk2, Trunk1]\n    priority: 5\n",
        "    usages: [DallasUsers]\n    trunks: [Trunk3]\n":
        "    usages: [DallasUsers]\n    trunks: [Trunk3]\n"
        "  - { name: UK Route, pattern: '^\\+44(\\d+)$', usages: [Local, DallasUsers], trunks: [Trunk3] }\n"})


def case_patch():
    """Add, replace and remove routes: the server then answers exactly as
    the whole edited config would."""
    w = workdir()
    with Daemon(workers=2) as d:
        before = same_as_file(d, SEED, what="seed")
        out, _ = cc_ok(d, "patch", write(os.path.join(w, "p1.yaml"), PATCH1))
        check("generation 2" in out and "+ route UK Route" in out and
              "~ route Dallas Local Route" in out and "5 routes" in out and
              "compile" in out and "publish" in out, f"patch output:\n{out}")
        full1 = patch1_full(os.path.join(w, "full1.yaml"))
        after = same_as_file(d, full1, what="after adding and replacing")
        check(after != before, "the patch changed some answers")
        check(ask(d, "+447700900123")["generation"] == 2, "generation 2 answers")
        check(gws(ask(d, "+19725550100"))[0] in ("Red-GW1", "Red-GW2"),
              "Dallas Local Route now on Trunk2/Trunk1")
        st = status(d)
        check(st["generation"] == 2 and st["routes"] == 5 and st["config_origin"] == "patch" and
              st["config_source"] == SEED, f"status after the patch: {st}")
        # Remove one, change one, in one patch; JSON output.
        p2 = write(os.path.join(w, "p2.yaml"), "routes:\n  - { name: UK Route, pattern: "
                   "'^\\+44(\\d+)$', usages: [Local, DallasUsers], trunks: [Trunk1] }\n")
        out, _ = cc_ok(d, "patch", p2, "--remove", "Universal Route", "--json")
        j = json.loads(out)
        check(j["generation"] == 3 and j["routes"] == 4 and j["gateways"] == 3 and
              j["diff"]["route"] == {"added": [], "removed": ["Universal Route"],
                                     "changed": ["UK Route"]}, f"JSON: {j}")
        print(f"  seed patch: compile {j['compile_us']} us, publish {j['publish_us']} us")
        with open(patch1_full(os.path.join(w, "full2.yaml"))) as f:
            text = f.read()
        universal = ("  - name: Universal Route\n    pattern: '^\\+?(\\d*)$'\n"
                     "    usages: [GlobalPSTNHopoff]\n    trunks: [Trunk1, Trunk2, Trunk3]\n")
        check(universal in text, "full2: Universal Route")
        text = text.replace(universal, "").replace(
            "usages: [Local, DallasUsers], trunks: [Trunk3] }",
            "usages: [Local, DallasUsers], trunks: [Trunk1] }")
        full2 = write(os.path.join(w, "full2.yaml"), text)
        same_as_file(d, full2, what="after removing and changing")
        check(ask(d, "+33123456789")["status"] == "NOT_PERMITTED", "Universal Route is gone")
        # Removals only, several; then a restatement that changes nothing.
        out, _ = cc_ok(d, "patch", "--remove", "UK Route", "--remove", "Dallas Users Route")
        check("- route UK Route" in out and "- route Dallas Users Route" in out and
              "2 routes" in out, f"removals:\n{out}")
        check(ask(d, "+447700900123")["status"] == "NO_ROUTE", "UK Route removed")
        same = write(os.path.join(w, "same.yaml"), "routes:\n  - name: Redmond Local Route\n"
                     "    pattern: '^\\+1(425|206|253)(\\d{7})$'\n    usages: [Local, RedmondLocal]\n"
                     "    trunks: [Trunk1, Trunk2]\n")
        out, _ = cc_ok(d, "patch", same, "--dry-run")
        check("(no changes)" in out, f"a restatement changes nothing:\n{out}")
        # A whole-config load replaces everything, patches included.
        cc_ok(d, "load", SEED)
        same_as_file(d, SEED, what="after a load")
        check(status(d)["routes"] == 4 and status(d)["config_origin"] == "control", "load wins")
        check(re.search(r"patched .*: generation 2, 5 routes \(\+1 ~1 -0\)", d.log()),
              f"the log names the patch:\n{d.log()}")


def case_patch_errors():
    """Every error with file:line (and the route); the running config keeps
    serving, unchanged."""
    w = workdir()
    with Daemon() as d:
        def unchanged(what):
            check(status(d)["generation"] == 1, f"{what}: generation changed")
            same_as_file(d, SEED, what=what)

        # Unknown route to remove (and another error at once).
        p = write(os.path.join(w, "twice.yaml"),
                  "routes:\n  - { name: A, pattern: '^\\+7', usages: [Local], trunks: [Trunk1] }\n"
                  "  - { name: A, pattern: '^\\+8', usages: [Local], trunks: [Trunk1] }\n")
        rc, out, err = cc(d, "patch", p, "--remove", "Nope")
        check(rc == 1 and "route 'Nope'" in err and "no such route" in err and
              "twice.yaml:3: route 'A': given twice" in err and "patch failed" in err,
              f"unknown route to remove: {rc}\n{err}")
        unchanged("unknown remove")
        # Upserted and removed at once.
        p = write(os.path.join(w, "both.yaml"), "routes:\n  - { name: Universal Route, pattern: "
                  "'^\\+', usages: [GlobalPSTNHopoff], trunks: [Trunk1] }\n")
        rc, out, err = cc(d, "patch", p, "--remove", "Universal Route")
        check(rc == 1 and "both.yaml:2: route 'Universal Route': both replaced and removed" in err,
              f"both: {rc}\n{err}")
        # A bad pattern and an unknown trunk: the server's compiler finds them.
        p = write(os.path.join(w, "bad.yaml"),
                  "# two bad routes\nroutes:\n"
                  "  - { name: Bad Pattern, pattern: '^\\+1(', usages: [Local], trunks: [Trunk1] }\n"
                  "  - { name: Dallas Local Route, pattern: '^\\+1972', usages: [Local],\n"
                  "      trunks: [Trunk9] }\n")
        rc, out, err = cc(d, "patch", p)
        check(rc == 1 and re.search(r"bad\.yaml:3: route 'Bad Pattern': .*pattern", err) and
              re.search(r"bad\.yaml:4: route 'Dallas Local Route': unknown trunk 'Trunk9'", err),
              f"compile errors with file:line:\n{err}")
        unchanged("bad pattern, unknown trunk")
        # An unknown usage.
        p = write(os.path.join(w, "usage.yaml"), "routes:\n  - { name: U, pattern: '^\\+7', "
                  "usages: [Nowhere], trunks: [Trunk1] }\n")
        rc, out, err = cc(d, "patch", p)
        check(rc == 1 and re.search(r"usage\.yaml:2: route 'U': .*Nowhere", err), f"usage:\n{err}")
        # Other sections in the file: refused by strowgerctl, with lines;
        # nothing reaches the server.
        p = write(os.path.join(w, "sections.yaml"),
                  "routes:\n  - { name: A, pattern: '^\\+7', usages: [Local], trunks: [Trunk1] }\n"
                  "gateways:\n  - { name: X, address: 192.0.2.99 }\nfailover: { codes: [0] }\n")
        rc, out, err = cc(d, "patch", p)
        check(rc == 1 and "sections.yaml:3: a route patch holds routes only: 'gateways'" in err and
              "sections.yaml:5: a route patch holds routes only: 'failover'" in err and
              "nothing sent" in err, f"other sections:\n{err}")
        time.sleep(0.1)
        check("sections.yaml" not in d.log(), f"nothing was sent:\n{d.log()}")
        # The same through the protocol (a client other than strowgerctl):
        # the server refuses other sections itself.
        r = raw_call(d, patch_request(
            routes=[pb_route("A", "^\\+7", ["Local"], ["Trunk1"], line=2)],
            extra_config=pb_str(6, pb_str(1, "X") + pb_str(2, "192.0.2.99") + pb_uint(10, 3))))
        check(b"raw.yaml:3: a route patch holds routes only: 'gateways'" in r, f"raw: {r!r}")
        # Nothing to do, and a usage error.
        rc, out, err = cc(d, "patch")
        check(rc == 2 and "FILE" in err, f"no arguments: {rc} {err}")
        r = raw_call(d, patch_request())
        check(b"nothing to change" in r, f"empty patch: {r!r}")
        unchanged("after every error")
        check(stats(d)["reload_failures"] >= 4, "rejected patches are counted")


def case_patch_dry_run():
    w = workdir()
    with Daemon() as d:
        p = write(os.path.join(w, "p1.yaml"), PATCH1)
        out, _ = cc_ok(d, "patch", p, "--dry-run", "--remove", "Universal Route")
        check("valid" in out and "generation 1" in out and "+ route UK Route" in out and
              "~ route Dallas Local Route" in out and "- route Universal Route" in out,
              f"dry run:\n{out}")
        out, _ = cc_ok(d, "patch", p, "--dry-run", "--json")
        j = json.loads(out)
        check(j["dry_run"] and j["generation"] == 1 and j["routes"] == 5 and
              j["diff"]["route"]["added"] == ["UK Route"], f"dry run JSON: {j}")
        check(status(d)["generation"] == 1 and status(d)["routes"] == 4, "nothing published")
        same_as_file(d, SEED, what="after dry runs")
        # A dry run with errors reports them just the same.
        rc, _, err = cc(d, "patch", "--dry-run", "--remove", "Nope")
        check(rc == 1 and "route 'Nope'" in err, f"dry run error: {err}")
        # And the real thing afterwards is as announced.
        cc_ok(d, "patch", p)
        same_as_file(d, patch1_full(os.path.join(w, "full1.yaml")), what="after the dry runs")


def case_patch_persist():
    """A restart with --state-dir serves the patched config; SIGHUP and load
    replace everything, patches included."""
    w = workdir()
    sd = os.path.join(w, "state")
    cfg = shutil.copy(SEED, os.path.join(w, "live.yaml"))
    full1 = patch1_full(os.path.join(w, "full1.yaml"))
    with Daemon(config=cfg, state_dir=sd) as d:
        cc_ok(d, "patch", write(os.path.join(w, "p1.yaml"), PATCH1))
        same_as_file(d, full1, what="patched")
    with Daemon(config=cfg, state_dir=sd) as d:
        st = status(d)
        check(st["generation"] == 2 and st["routes"] == 5 and st["config_origin"] == "state",
              f"restart serves the patched config: {st}")
        same_as_file(d, full1, what="after the restart")
        # Patches keep working on a config that came from the state file.
        out, _ = cc_ok(d, "patch", "--remove", "UK Route")
        check("generation 3" in out, out)
        # SIGHUP: --config again, whole.
        n = d.n_lines()
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(r"reloaded .*: generation 4", 30 * SLOW, start=n)
        same_as_file(d, SEED, what="after SIGHUP")
        check(status(d)["routes"] == 4 and status(d)["config_origin"] == "sighup", "SIGHUP wins")
    with Daemon(config=cfg, state_dir=sd) as d:
        check(status(d)["generation"] == 4, "the SIGHUP reload was saved")


def case_patch_busy():
    """A patch while a load compiles is refused with the reason."""
    w = workdir()
    big = os.path.join(w, "big.yaml")
    n = 2000
    while True:
        big_config(big, n)
        t0 = time.monotonic()
        rc, _, err = ctl("validate", big, timeout=600)
        check(rc == 0, f"big config invalid: {err}")
        if time.monotonic() - t0 >= 1.5 or n >= 256000:
            break
        n *= 2
    p = write(os.path.join(w, "p.yaml"), PATCH1)
    with Daemon() as d:
        n0 = d.n_lines()
        proc = subprocess.Popen([STROWGERCTL, "load", big, "--control", d.control],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        d.wait_log(r"control client \d+: loading .*big\.yaml", 120 * SLOW, start=n0)
        refused = None
        deadline = time.monotonic() + 30 * SLOW
        while time.monotonic() < deadline and proc.poll() is None:
            rc, out, err = cc(d, "patch", p)
            if rc != 0 and "another config load" in err:
                refused = err
                break
            time.sleep(0.05)
        out, err = proc.communicate(timeout=120)
        check(proc.returncode == 0, f"big load: {proc.returncode} {err}")
        check(refused is not None, "no patch was refused (compile too fast?)")
        check("patch refused" in refused and "compiling" in refused, f"reason: {refused}")
        check(status(d)["routes"] == n + 4, "the load went live")
        # Once it is done, the patch goes through on top of it.
        cc_ok(d, "patch", p)
        check(status(d)["routes"] == n + 5, "patched on top of the big config")


def case_patch_compact():
    """A patched snapshot served --compact-after with no other change is
    rebuilt whole: a new generation with the same answers, the config's
    origin and state left alone; a whole build is not rebuilt again, and
    with --compact-after 0 nothing is."""
    w = workdir()
    p1 = write(os.path.join(w, "p1.yaml"), PATCH1)
    full1 = patch1_full(os.path.join(w, "full1.yaml"))
    with Daemon(workers=2, compact_after=1) as d:
        n0 = d.n_lines()
        out, _ = cc_ok(d, "patch", p1)
        check("generation 2" in out, f"patch output:\n{out}")
        d.wait_log(r"patched generation 2 served \d+ s unchanged: rebuilding it whole",
                   30 * SLOW, start=n0)
        d.wait_log(r"patched generation 2 rebuilt whole as generation 3 \(the same 5 routes\): "
                   r"compile [0-9.]+ s, publish [0-9.]+ ms", 30 * SLOW, start=n0)
        st = status(d)
        check(st["generation"] == 3 and st["routes"] == 5 and st["config_origin"] == "patch",
              f"status after the rebuild: {st}")
        check(ask(d, "+447700900123")["generation"] == 3, "generation 3 answers")
        same_as_file(d, full1, what="after the rebuild")
        # A whole build is left alone; the next patch is layered on it and
        # rebuilt in turn.
        time.sleep(2.5 * SLOW)
        check(status(d)["generation"] == 3, "a whole build was rebuilt again")
        n1 = d.n_lines()
        out, _ = cc_ok(d, "patch", "--remove", "UK Route")
        check("generation 4" in out, f"second patch:\n{out}")
        d.wait_log(r"patched generation 4 rebuilt whole as generation 5 \(the same 4 routes\)",
                   30 * SLOW, start=n1)
        check(status(d)["generation"] == 5, "generation 5")
        with open(full1) as f:
            text = f.read()
        uk = ("  - { name: UK Route, pattern: '^\\+44(\\d+)$', usages: [Local, DallasUsers], "
              "trunks: [Trunk3] }\n")
        check(uk in text, "full1: UK Route")
        same_as_file(d, write(os.path.join(w, "full2.yaml"), text.replace(uk, "")),
                     what="after the second rebuild")
        check(all(x["route"] != "UK Route" for x in ask(d, "+447700900123")["destinations"]),
              "UK Route stays removed")
    with Daemon(compact_after=0) as d:
        cc_ok(d, "patch", p1)
        time.sleep(2 * SLOW)
        check(status(d)["generation"] == 2 and "rebuilt whole" not in d.log(),
              "--compact-after 0 rebuilt the patched snapshot")
        same_as_file(d, full1, what="patched, not rebuilt")


def carrier_config(path, n_routes, n_gateways=20):
    """A carrier-style table: n_routes 7-digit prefixes (none a prefix of
    another), two trunks each. Returns {route: number} for a few routes."""
    lines = ["gateways:"]
    lines += [f"  - {{ name: G{g}, address: 10.0.{g}.1, priority: {g} }}" for g in range(n_gateways)]
    lines.append("trunks:")
    lines += [f"  - {{ name: T{g}, gateway: G{g} }}" for g in range(n_gateways)]
    lines += ["usages: [Carrier]", "routes:"]
    for i in range(n_routes):
        lines.append(f"  - {{ name: R{i}, pattern: '^\\+{2000000 + i * 7}\\d*$', usages: [Carrier], "
                     f"trunks: [T{i % n_gateways}, T{(i + 7) % n_gateways}] }}")
    lines.append("policies:\n  - { name: Carrier Policy, usages: [Carrier], default: true }")
    write(path, "\n".join(lines) + "\n")


def carrier_number(i):
    return f"+{2000000 + i * 7}5550"


def case_patch_big():
    """One route of a 50,000-route table patched: the new answer at once.
    Prints the times the server reports (not asserted: whichever compile
    path ran)."""
    w = workdir()
    n = 50000
    big = os.path.join(w, "carrier.yaml")
    carrier_config(big, n)
    k, m = 31337, 4242
    with Daemon(config=big) as d:
        check(status(d)["routes"] == n, "big config serves")
        a = ask(d, carrier_number(k))
        check(a["status"] == "ROUTED" and gws(a) == sorted(gws(a), key=lambda g: int(g[1:])) and
              a["destinations"][0]["route"] == f"R{k}", f"R{k} before: {a}")
        p = write(os.path.join(w, "p.yaml"),
                  f"routes:\n  - {{ name: R{k}, pattern: '^\\+{2000000 + k * 7}\\d*$', "
                  f"usages: [Carrier], trunks: [T19] }}\n"
                  f"  - {{ name: Fresh, pattern: '^\\+99912\\d*$', usages: [Carrier], "
                  f"trunks: [T3] }}\n")
        t0 = time.monotonic()
        out, _ = cc_ok(d, "patch", p, "--remove", f"R{m}", "--json")
        took = time.monotonic() - t0
        j = json.loads(out)
        check(j["generation"] == 2 and j["routes"] == n and
              j["diff"]["route"] == {"added": ["Fresh"], "removed": [f"R{m}"],
                                     "changed": [f"R{k}"]}, f"big patch: {j}")
        print(f"  {n}-route patch: compile {j['compile_us'] / 1e3:.1f} ms, publish "
              f"{j['publish_us'] / 1e3:.1f} ms, strowgerctl end to end {took * 1e3:.0f} ms")
        check(gws(ask(d, carrier_number(k))) == ["G19"], "R{k} now on T19 alone")
        check(gws(ask(d, "+999125550100")) == ["G3"], "Fresh routes")
        check(ask(d, carrier_number(m))["status"] == "NO_ROUTE", f"R{m} removed")
        a = ask(d, carrier_number(k + 1))
        check(a["destinations"][0]["route"] == f"R{k + 1}" and a["generation"] == 2,
              f"the other routes untouched: {a}")
        check(status(d)["routes"] == n, "route count")
        # Back to back: a patch right after another is never refused for
        # housekeeping the first one left (it waits for it instead).
        p2 = write(os.path.join(w, "p2.yaml"), "routes:\n  - { name: Fresh, pattern: "
                   "'^\\+99912\\d*$', usages: [Carrier], trunks: [T4] }\n")
        cc_ok(d, "patch", p2)
        out, _ = cc_ok(d, "patch", "--remove", "Fresh", "--json")
        check(json.loads(out)["generation"] == 4, f"back to back: {out}")
        check(ask(d, "+999125550100")["status"] == "NO_ROUTE", "Fresh removed")
        # A large patch (more than a server may layer on its snapshot: it
        # may compile the whole config instead): the same answers either way.
        many = 5000
        p3 = write(os.path.join(w, "p3.yaml"), "routes:\n" + "".join(
            f"  - {{ name: M{i}, pattern: '^\\+8{i:06d}\\d*$', usages: [Carrier], "
            f"trunks: [T{i % 20}] }}\n" for i in range(many)))
        out, _ = cc_ok(d, "patch", p3, "--remove", f"R{k}", "--json")
        j = json.loads(out)
        check(j["generation"] == 5 and j["routes"] == n - 1 + many - 1 and
              len(j["diff"]["route"]["added"]) == many and
              j["diff"]["route"]["removed"] == [f"R{k}"], f"large patch: {j['routes']}")
        print(f"  {many}-route patch on {n}: compile {j['compile_us'] / 1e3:.1f} ms, "
              f"publish {j['publish_us'] / 1e3:.1f} ms")
        check(gws(ask(d, "+80043215550")) == [f"G{4321 % 20}"], "M4321 routes")
        check(ask(d, carrier_number(k))["status"] == "NO_ROUTE", f"R{k} removed")
        check(status(d)["routes"] == n - 2 + many, "route count after the large patch")


# A RoutePatch written by hand (the protobuf wire format), as a client
# other than strowgerctl might send it.
def pb_varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_str(field, v):
    v = v.encode() if isinstance(v, str) else v
    return pb_varint(field << 3 | 2) + pb_varint(len(v)) + v


def pb_uint(field, n):
    return pb_varint(field << 3) + pb_varint(n)


def pb_route(name, pattern, usages, trunks, line=0):
    m = pb_str(1, name) + pb_str(2, pattern)
    m += b"".join(pb_str(3, u) for u in usages) + b"".join(pb_str(4, t) for t in trunks)
    return m + (pb_uint(7, line) if line else b"")


def patch_request(routes=None, remove=(), dry_run=False, extra_config=b"", req_id=77):
    p = b""
    if routes is not None or extra_config:
        cfg = pb_str(1, "raw.yaml") + b"".join(pb_str(10, r) for r in routes or []) + extra_config
        p += pb_str(1, cfg)
    p += b"".join(pb_str(2, x) for x in remove)
    if dry_run:
        p += pb_uint(3, 1)
    return pb_uint(1, req_id) + pb_str(15, p)


def raw_call(d, payload):
    s = unix_conn(d)
    s.settimeout(60 * SLOW)
    try:
        s.sendall(frame(payload))
        return read_frame(s)
    finally:
        s.close()


if __name__ == "__main__":
    sys.exit(main({"load": case_load, "load_busy": case_load_busy, "sighup": case_sighup,
                   "health": case_health, "health_ttl": case_health_ttl,
                   "hysteresis": case_hysteresis, "drain": case_drain,
                   "sigterm_drain": case_sigterm_drain, "persist": case_persist,
                   "stats_metrics": case_stats_metrics, "channel": case_channel,
                   "tcp_token": case_tcp_token, "reload_under_load": case_reload_under_load,
                   "patch": case_patch, "patch_errors": case_patch_errors,
                   "patch_dry_run": case_patch_dry_run, "patch_persist": case_patch_persist,
                   "patch_busy": case_patch_busy, "patch_big": case_patch_big,
                   "patch_compact": case_patch_compact}))
