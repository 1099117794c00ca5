#!/usr/bin/python3
"""strowgerd as an operator starts, reloads and stops it.

usage: test_daemon.py CASE
"""
import os
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


if __name__ == "__main__":
    sys.exit(main({"port_in_use": case_port_in_use, "bad_config": case_bad_config,
                   "signals": case_signals, "reload": case_reload,
                   "state_dir": case_state_dir}))
