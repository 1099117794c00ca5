#!/usr/bin/python3
"""strowgerd --io dpdk: flags, startup errors, and what an idle server costs.

usage: test_flags.py CASE   (flags, idle)

flags: a build without DPDK says so for --io dpdk (that is the check when
  this build has none); with DPDK, every bad combination of flags is
  refused with its reason, EAL arguments work from --dpdk-args and after
  `--`, a port is found by name, and too many workers for the port's
  queues is an error.
idle: an idle strowgerd --io dpdk backs off to sleeps (a small fraction of
  a core), and --dpdk-busy-poll keeps polling.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dpdk_it import (SEED, STROWGERD, DpdkDaemon, check, require_dpdk,  # noqa: E402
                     run_main, write_pcap)


def run(*args, timeout=60):
    p = subprocess.run([STROWGERD, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return p.returncode, p.stdout


def has_dpdk():
    _, out = run("--help")
    return "not in this build" not in out.split("DPDK backend")[1].split("\n")[0]


def empty_pcap(tmp):
    p = os.path.join(tmp, "empty.pcap")
    write_pcap(p, [])
    return p


def case_flags():
    tmp = tempfile.mkdtemp(prefix="strowger-dpdk-flags.")
    base = ["--config", SEED, "--control", "none", "--drain-grace", "0"]
    if not has_dpdk():
        rc, out = run(*base, "--io", "dpdk", "--dpdk-addr", "10.9.0.2/24")
        check(rc == 2 and "built without DPDK" in out, f"--io dpdk without DPDK: {rc} {out}")
        print("this build has no DPDK: --io dpdk says so")
        return
    pcap = empty_pcap(tmp)
    vdev = f"--no-huge -m 128 --vdev net_pcap0,rx_pcap={pcap},tx_pcap={tmp}/out.pcap"
    bad = [
        (["--dpdk-addr", "10.9.0.2/24"], 2, "--dpdk-addr is for --io dpdk"),
        (["--io", "dpdk"], 1, "needs the host's address"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2"], 1, "ADDRESS/PREFIX-LENGTH"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/33"], 1, "prefix length 1..32"),
        (["--io", "dpdk", "--dpdk-addr", "224.0.0.5/24"], 1, "not a unicast address"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/24", "--dpdk-gw", "10.9.1.1"], 1,
         "not on the subnet"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/24", "--dpdk-gw6", "fd00::1"], 1,
         "needs --dpdk-addr6"),
        (["--io", "dpdk", "--dpdk-addr6", "fe80::2/64"], 1, "global or unique-local"),
        (["--io", "dpdk", "--dpdk-addr6", "fd00:9::2/64", "--dpdk-gw6", "fd00:8::1"], 1,
         "neither on the prefix"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/24", "--sip", "127.0.0.1:5060"], 1,
         "the address is this host's own"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/24", "--sip", "[::]:5060"], 1,
         "IPv6 needs --dpdk-addr6"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/24", "--sip", "5070"], 1,
         "UDP port 5070 is already SIP's"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/24", "--dpdk-args", "--bogus-eal-flag"], 1,
         "EAL init failed"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/24", "--dpdk-args", "'--no-huge"], 1,
         "unbalanced quote"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/24", "--dpdk-args",
          "--no-huge -m 128 --no-pci"], 1, "no Ethernet port"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/24", "--dpdk-args", vdev, "--dpdk-port",
          "net_nope0"], 1, "no such port"),
        (["--io", "dpdk", "--dpdk-addr", "10.9.0.2/24", "--dpdk-args", vdev, "--workers", "3"],
         1, "fewer than --workers 3"),
        (["--io", "mystery"], 2, "unknown backend"),
    ]
    for args, want_rc, want in bad:
        rc, out = run(*base, *args)
        check(rc == want_rc and want in out,
              f"strowgerd {' '.join(args)}: exit {rc} (want {want_rc}), no '{want}' in:\n{out}")
    # EAL arguments after `--`, the port by name, default workers follow the port.
    d = DpdkDaemon("", addr="10.9.0.2/24", workers=None,
                   extra=["--dpdk-port", "net_pcap0", "--", "--no-huge", "-m", "128", "--vdev",
                          f"net_pcap0,rx_pcap={pcap},tx_pcap={tmp}/out2.pcap"])
    with d:
        check("net_pcap0" in d.log() and "1 worker" in d.log(), f"started:\n{d.log()}")
    print(f"{len(bad)} bad flag combinations refused with their reason; `--` and "
          f"--dpdk-port NAME work")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(tmp, busy):
    pcap = empty_pcap(tmp)
    d = DpdkDaemon(f"--no-huge -m 128 --vdev net_pcap0,rx_pcap={pcap},tx_pcap={tmp}/o.pcap",
                   addr="10.9.0.2/24", extra=["--dpdk-busy-poll"] if busy else [])
    with d:
        time.sleep(1)
        c0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
        time.sleep(3)
        c1, t1 = cpu_seconds(d.proc.pid), time.monotonic()
    return (c1 - c0) / (t1 - t0)


def case_idle():
    require_dpdk()
    tmp = tempfile.mkdtemp(prefix="strowger-dpdk-idle.")
    idle = idle_cpu(tmp, False)
    busy = idle_cpu(tmp, True)
    print(f"idle strowgerd --io dpdk: {idle:.3f} cores; with --dpdk-busy-poll: {busy:.3f} cores")
    check(idle < 0.15, f"an idle server uses {idle:.3f} cores (backoff broken?)")
    check(busy > 0.3 and busy > 3 * idle, f"--dpdk-busy-poll uses only {busy:.3f} cores")


if __name__ == "__main__":
    sys.exit(run_main({"flags": case_flags, "idle": case_idle}))
