#!/usr/bin/python3
"""Gateway health from real SIP peers: strowger-probe against sipp UASes
playing gateways, several probes combined by quorum, and the passive
breaker fed by SBC failover reports.

usage: test_probe.py CASE
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strowger_it import (ROOT, SIPP_DIR, SLOW, Daemon, check, ctl, free_port, main,  # noqa: E402
                         sipp_path, workdir)

PROBE = os.environ.get("STROWGER_PROBE",
                       os.path.join(ROOT, "build", "control", "probe", "strowger-probe"))


def gw_config(path, ports, priorities=None):
    """Two gateways on loopback ports, one route over both."""
    priorities = priorities or [0, 0]
    lines = ["gateways:"]
    for i, (port, prio) in enumerate(zip(ports, priorities)):
        lines.append(f"  - {{ name: GW-{'AB'[i]}, address: 127.0.0.1, port: {port}, "
                     f"priority: {prio}, site: S{'AB'[i]} }}")
    lines += ["trunks:", "  - { name: TA, gateway: GW-A }", "  - { name: TB, gateway: GW-B }",
              "usages: [U]", "routes:",
              "  - { name: R, pattern: '^\\+?\\d+$', usages: [U], trunks: [TA, TB] }",
              "policies:", "  - { name: P, usages: [U], default: true }", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


class Gateway:
    """sipp as a UAS answering OPTIONS on a loopback port."""

    def __init__(self, port):
        self.port = port
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sipp_path(), "-sf", os.path.join(SIPP_DIR, "uas_options.xml"), "-i", "127.0.0.1",
             "-p", str(self.port), "-nostdin", "-nd", "-timeout", "300s"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        check(self.proc.poll() is None, f"sipp UAS on {self.port} did not start")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Probe:
    def __init__(self, d, *args, name="probe-t"):
        self.argv = [PROBE, "--control", d.control, "--name", name, *args]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def health(d):
    rc, out, err = ctl("status", "--json", "--control", d.control)
    check(rc == 0, f"status: {err}")
    return {h["name"]: h for h in json.loads(out)["health"]}


def gws(d, called="+15551234"):
    rc, out, err = ctl("query", "--server", d.query_hostport, "--called", called, "--json")
    check(rc == 0, f"query: {err}")
    return [x["gateway"] for x in json.loads(out)["destinations"]]


def wait_for(what, cond, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout * SLOW:
        v = cond()
        if v:
            return time.monotonic() - t0
        time.sleep(0.05)
    check(False, f"timed out after {timeout}s waiting for {what}")


def case_detect():
    """The issue's acceptance: stopping the sipp UAS that plays a gateway
    changes the answers within the detection time; starting it restores."""
    w = workdir()
    pa, pb = free_port(), free_port()
    cfg = gw_config(os.path.join(w, "gw.yaml"), [pa, pb])
    a, b = Gateway(pa).start(), Gateway(pb).start()
    interval, timeout, fall, rise = 200, 200, 2, 2
    # Detection time: fall probes, the last one's timeout, one interval of slack.
    detect = (fall * interval + timeout + interval) / 1000
    try:
        with Daemon(config=cfg, extra=["--breaker", "off"]) as d:
            p = Probe(d, "--config", cfg, "--interval", str(interval), "--timeout", str(timeout),
                      "--fall", str(fall), "--rise", str(rise)).start()
            try:
                wait_for("both up", lambda: all(health(d).get(g, {}).get("effective") == "up"
                                                for g in ("GW-A", "GW-B")), 5)
                check(sorted(gws(d)) == ["GW-A", "GW-B"], f"both offered: {gws(d)}")
                a.stop()
                t = wait_for("GW-A out of the answers", lambda: gws(d) == ["GW-B"], 5)
                check(t <= detect + 0.5 * SLOW, f"detected in {t:.2f}s, configured {detect:.2f}s")
                check(health(d)["GW-A"]["effective"] == "down", "status says down")
                a.start()
                t = wait_for("GW-A back", lambda: sorted(gws(d)) == ["GW-A", "GW-B"], 5)
                check(t <= (rise * interval + interval) / 1000 + 0.7 * SLOW, f"restored in {t:.2f}s")
            finally:
                p.stop()
    finally:
        a.stop()
        b.stop()


def case_probe_restart():
    """A restarted probe loses nothing: what it reported stands until its
    TTL, and it reports nothing until it knows (fall/rise)."""
    w = workdir()
    pa, pb = free_port(), free_port()
    cfg = gw_config(os.path.join(w, "gw.yaml"), [pa, pb])
    b = Gateway(pb).start()  # GW-A has no UAS: down
    try:
        with Daemon(config=cfg, extra=["--breaker", "off"]) as d:
            args = ["--config", cfg, "--interval", "200", "--timeout", "200", "--fall", "3",
                    "--rise", "3", "--ttl", "10000"]
            p = Probe(d, *args).start()
            wait_for("GW-A down", lambda: health(d).get("GW-A", {}).get("effective") == "down", 5)
            p.stop()
            p = Probe(d, *args).start()
            for _ in range(10):  # through the new probe's warm-up
                check(gws(d) == ["GW-B"], f"answers kept across a probe restart: {gws(d)}")
                time.sleep(0.1)
            p.stop()
    finally:
        b.stop()


def case_from_server():
    """--from-server probes what the running config lists, and follows loads."""
    w = workdir()
    pa, pb = free_port(), free_port()
    cfg = gw_config(os.path.join(w, "gw.yaml"), [pa, pb])
    a = Gateway(pa).start()
    try:
        with Daemon(config=cfg, extra=["--breaker", "off"]) as d:
            p = Probe(d, "--from-server", "--interval", "200", "--timeout", "200", "--fall", "2",
                      "--rise", "1", "--refresh", "1").start()
            try:
                wait_for("A up, B down", lambda: (health(d).get("GW-A", {}).get("effective"),
                                                  health(d).get("GW-B", {}).get("effective"))
                         == ("up", "down"), 5)
                # Move GW-B onto GW-A's UAS port: the probe follows the load.
                cfg2 = gw_config(os.path.join(w, "gw2.yaml"), [pa, pa])
                rc, out, err = ctl("load", cfg2, "--control", d.control)
                check(rc == 0, f"load: {err}")
                wait_for("B up after the reload", lambda: health(d)["GW-B"]["effective"] == "up", 6)
            finally:
                p.stop()
    finally:
        a.stop()


def case_quorum():
    """With --health-quorum 2, one source saying down is not enough."""
    w = workdir()
    cfg = gw_config(os.path.join(w, "gw.yaml"), [free_port(), free_port()])
    with Daemon(config=cfg, extra=["--health-quorum", "2", "--breaker", "off"]) as d:
        def rep(src, state):
            rc, _, err = ctl("health", "GW-A", state, "--source", src, "--control", d.control)
            check(rc == 0, err)
        rep("probe-1", "down")
        rep("probe-2", "up")
        check("GW-A" in gws(d), "one of two sources: still offered")
        h = health(d)["GW-A"]
        check("probe-1=down" in h["sources"] and "probe-2=up" in h["sources"], f"sources: {h}")
        rep("probe-2", "down")
        check("GW-A" not in gws(d), "two sources agree: down")
        rep("probe-1", "up")
        check("GW-A" in gws(d), "quorum lost: up again")


def case_breaker():
    """A flood of failover reports trips the breaker (demoted, then removed),
    busy answers do not, and the gateway is re-admitted after the cool-down."""
    w = workdir()
    cfg = gw_config(os.path.join(w, "gw.yaml"), [free_port(), free_port()], priorities=[0, 1])
    extra = ["--breaker-window", "5", "--breaker-min", "10", "--breaker-degrade", "0.3",
             "--breaker-down", "0.6", "--breaker-cooldown", "2"]
    with Daemon(config=cfg, extra=extra) as d:
        check(gws(d) == ["GW-A", "GW-B"], f"GW-A first by priority: {gws(d)}")

        def batch(n, tried, tag):
            rows = "".join(f"+1555{i:07d}\t\t\t{tag}-{i}\t{tried}\n" for i in range(n))
            rc, out, err = ctl("batch", "--server", d.query_hostport, stdin=rows)
            check(rc == 0, f"batch: {err}")
        # Busy answers are the callee's, not the gateway's: no effect.
        batch(40, "GW-A:486", "busy")
        time.sleep(1.5)
        check(gws(d) == ["GW-A", "GW-B"], f"486 does not trip the breaker: {gws(d)}")
        # 40 attempts, 40 failures: ratio 1.0 -> open.
        batch(40, "", "ok")
        batch(40, "GW-A:503", "fail")
        wait_for("GW-A removed", lambda: gws(d) == ["GW-B"], 4)
        h = health(d)["GW-A"]
        check(h["breaker"] == "open" and h["effective"] == "down", f"status: {h}")
        check("breaker GW-A: open" in d.log(), "breaker logged")
        # After the cool-down: back, demoted (half-open) behind GW-B.
        wait_for("GW-A re-admitted", lambda: gws(d) == ["GW-B", "GW-A"], 6)
        check(health(d)["GW-A"]["breaker"] == "half-open", f"half-open: {health(d)['GW-A']}")
        # A clean window closes it.
        batch(20, "", "ok2")
        wait_for("GW-A first again", lambda: gws(d) == ["GW-A", "GW-B"], 10)


if __name__ == "__main__":
    sys.exit(main({"detect": case_detect, "probe_restart": case_probe_restart,
                   "from_server": case_from_server, "quorum": case_quorum,
                   "breaker": case_breaker}))
