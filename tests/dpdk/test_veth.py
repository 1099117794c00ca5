#!/usr/bin/python3
"""strowgerd --io dpdk as a real host on a virtual wire, no NIC needed.

usage: test_veth.py CASE   (af_packet, tap)

af_packet: a veth pair between two network namespaces this test creates.
  strowgerd drives one end through net_af_packet (two workers, two queue
  pairs; hugepages when scripts/hugepages can reserve them, else
  --no-huge); the other namespace is the SBC side and the gateway: its
  kernel resolves strowgerd by ARP / neighbour discovery (no static
  neighbour entry), pings it, and runs sipp and `strowgerctl query/batch
  --server` against it, from addresses on the subnet and from addresses
  behind the gateway, so strowgerd must resolve the gateway itself
  (10.9.0.1 is a secondary address there and ARP requests announce the
  primary one, so nothing teaches strowgerd the gateway's MAC but its own
  request). Every answer is checked against `strowgerctl batch --config`.
  strowgerd's end has no kernel addresses (IPv6 off), so only strowgerd
  answers there, and the test traffic never leaves the two namespaces.

tap: net_tap (two workers, two queue pairs, RSS configured), whose kernel
  side sits in a namespace with sipp and strowgerctl. This port offers
  IPv4/UDP checksum offload, so the offload path (flags, pseudo-header
  checksums, rte_eth_tx_prepare) is the one used; the kernel drops
  anything with a wrong checksum.
"""
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dpdk_it import (SEED, DpdkDaemon, Netns, batch_rows_text, check, ctl_in,  # noqa: E402
                     hugepages, ping, require_dpdk, require_netns, run_main, sh,
                     sipp_route)
from strowger_it import batch  # noqa: E402
from test_sipp import CALLING, POLICIES, load_rows, seed_numbers  # noqa: E402

TAG = f"{os.getpid() % 100000}"


def seed_rows(prefix, reps=1):
    rows = []
    for n in seed_numbers():
        for p in POLICIES + ["No Such Policy"]:
            for _ in range(reps):
                rows.append((n, CALLING, p, f"{prefix}-{len(rows) + 1}"))
    return rows


def native_rows():
    rows = []
    for n in ["+19725550100", "+14255550100", "+442079460000", "+", "+1972555010"]:
        for p in [None, "Dallas Calling Policy", "Redmond Local Policy", "Nope"]:
            for tried in [None, "Red-GW1:503", "Dallas-GW1:0,Red-GW1:408", "Red-GW2:486"]:
                rows.append((n, CALLING, p, f"nat-{len(rows)}", tried))
    return rows


def check_native(ns, server):
    """batch and query through strowgerd's native port = offline."""
    rows = native_rows()
    want = batch(["--config", SEED], rows)
    rc, out, err = ctl_in(ns, "batch", "--server", server, "--timeout", "2000",
                          stdin=batch_rows_text(rows))
    check(rc == 0, f"batch --server {server}: exit {rc}: {err}")
    got = [json.loads(x) for x in out.split("\n")[:-1]]
    check(len(got) == len(rows), f"batch --server {server}: {len(got)} answers of {len(rows)}")
    for r, w, g in zip(rows, want, got):
        check(w == g, f"{server} {r}: server {g}, offline {w}")
    args = ["--policy", "Dallas Calling Policy", "--called", "+19725550100", "--explain",
            "--json"]
    rc, out, err = ctl_in(ns, "query", "--server", server, *args)
    rc2, out2, _ = ctl_in(ns, "query", "--config", SEED, *args)
    check(rc == 0 and out == out2, f"query --server {server} --explain differs from offline:\n"
          f"{out}\n{out2}\n{err}")
    check('"Dallas-GW1"' in out.split('"destinations"')[1].split("}")[0],
          f"Dallas-GW1 first: {out}")
    return len(rows) + 1


def case_af_packet():
    require_dpdk()
    require_netns()
    check(shutil.which("ethtool") or os.path.exists("/usr/sbin/ethtool") or
          os.path.exists("/sbin/ethtool"), "ethtool not found (scripts/deps installs it)")
    w = tempfile.mkdtemp(prefix="strowger-dpdk-veth.")
    huge = hugepages(256)
    mem = "" if huge else "--no-huge -m 512 "
    print(f"memory: {'hugepages' if huge else '--no-huge (no hugepages could be reserved)'}")
    with Netns() as nn:
        dp, cl = nn.add(f"sdp{TAG}"), nn.add(f"scl{TAG}")
        vd, vc = f"vd{TAG}", f"vc{TAG}"
        sh("ip", "link", "add", vd, "netns", dp, "type", "veth", "peer", "name", vc, "netns", cl)
        # strowgerd's side: no kernel addresses at all; IPv6 off so its
        # kernel never answers neighbour solicitations.
        sh("sysctl", "-qw", f"net.ipv6.conf.{vd}.disable_ipv6=1", ns=dp)
        sh("ip", "-n", dp, "link", "set", vd, "up")
        # The SBC / gateway side.
        for k, v in (("net.ipv4.conf.all.arp_announce", 2),
                     (f"net.ipv4.conf.{vc}.arp_announce", 2),
                     (f"net.ipv6.conf.{vc}.accept_dad", 0)):
            sh("sysctl", "-qw", f"{k}={v}", ns=cl)
        for a in ("10.9.0.3/24", "10.9.0.1/24"):      # primary first; .1 is the gateway
            sh("ip", "-n", cl, "addr", "add", a, "dev", vc)
        # The IPv6 gateway address is deprecated there, so the kernel never
        # picks it as a source: strowgerd has to ask for it too.
        sh("ip", "-n", cl, "addr", "add", "fd00:9::3/64", "dev", vc, "nodad")
        sh("ip", "-n", cl, "addr", "add", "fd00:9::1/64", "dev", vc, "nodad", "preferred_lft", "0")
        sh("ip", "-n", cl, "addr", "add", "10.9.5.1/32", "dev", "lo")   # behind the gateway
        sh("ip", "-n", cl, "addr", "add", "fd00:95::1/128", "dev", "lo")
        sh("ip", "-n", cl, "link", "set", vc, "up")
        # A veth hands af_packet the kernel's UDP datagrams with their
        # checksum still to be filled in (checksum offload, completed by
        # "hardware" that a veth does not have): strowgerd, like any host,
        # drops those as bad. Real NICs put whole checksums on the wire;
        # here the sending side computes them itself.
        sh("ethtool", "-K", vc, "tx", "off", ns=cl)

        d = DpdkDaemon(f"{mem}-l 0 --vdev net_af_packet0,iface={vd},qpairs=2", netns=dp,
                       workers=2, addr="10.9.0.2/24", gw="10.9.0.1", addr6="fd00:9::2/64",
                       gw6="fd00:9::1")
        with d:
            check("2 queue pairs" in d.log(), f"two queue pairs:\n{d.log()}")
            # The SBC side finds strowgerd by itself.
            check(ping(cl, "10.9.0.2") == 2, f"ping 10.9.0.2:\n{d.log()}")
            check(ping(cl, "fd00:9::2") == 2, f"ping fd00:9::2:\n{d.log()}")
            neigh = sh("ip", "-n", cl, "neigh", "show", "dev", vc)
            check(re.search(r"10\.9\.0\.2 lladdr ([0-9a-f:]{17})", neigh) and
                  d.mac in neigh, f"the SBC side learnt 10.9.0.2 at {d.mac} by ARP:\n{neigh}")
            check(re.search(r"fd00:9::2 lladdr", neigh), f"... and fd00:9::2 by ND:\n{neigh}")
            # sipp from the subnet: the seed numbers under every policy, twice.
            rows = seed_rows("v4", 2)
            sipp_route(cl, "10.9.0.3", "10.9.0.2:5060", rows, 200, "v4-%u", SEED,
                       os.path.join(w, "v4"))
            # ... from behind the gateway: strowgerd resolves 10.9.0.1 itself.
            rows = seed_rows("far4")
            sipp_route(cl, "10.9.5.1", "10.9.0.2:5060", rows, 200, "far4-%u", SEED,
                       os.path.join(w, "far4"), sipp_port=5064)
            d.wait_log(r"next hop 10\.9\.0\.1 is at " + re.escape(vc_mac(cl, vc)), 5)
            # IPv6, on the prefix and behind the IPv6 gateway.
            rows = seed_rows("v6")
            sipp_route(cl, "fd00:9::3", "[fd00:9::2]:5060", rows, 200, "v6-%u", SEED,
                       os.path.join(w, "v6"), sipp_port=5066)
            rows = seed_rows("far6")
            sipp_route(cl, "fd00:95::1", "[fd00:9::2]:5060", rows, 200, "far6-%u", SEED,
                       os.path.join(w, "far6"), sipp_port=5068)
            d.wait_log(r"next hop fd00:9::1 is at " + re.escape(vc_mac(cl, vc)), 5)
            # A heavier run across both queues (several source ports).
            rows = [r for r in load_rows(2000, 5)]
            sipp_route(cl, "10.9.0.3", "10.9.0.2:5060", rows, 1000, "load-%u", SEED,
                       os.path.join(w, "load"), sipp_port=5070, full_check=False)
            # Native queries, IPv4 and IPv6.
            check_native(cl, "10.9.0.2:5070")
            check_native(cl, "[fd00:9::2]:5070")
            line = d.stop()
            ctr = d.counters()
        print(f"counters: {ctr}")
        s = d.summary(line)
        check(s["malformed"] == 0 and s["dropped"] == 0, f"summary: {line}")
        for k, v in {"arp_in": 1, "arp_out": 2, "nd_in": 1, "nd_out": 2, "icmp_echo": 4,
                     "tx_held": 2}.items():
            check(ctr[k] >= v, f"counter {k}={ctr[k]}, want >= {v}: {ctr}")
        for k in ("rx_bad", "rx_fragments", "rx_truncated", "tx_unresolved", "tx_errors",
                  "rx_no_service"):
            check(ctr[k] == 0, f"counter {k}={ctr[k]}: {ctr}")
        print(f"{s['requests']} requests, {s['replies']} replies through af_packet "
              f"({'hugepages' if huge else 'no hugepages'})")


def vc_mac(ns, dev):
    out = sh("ip", "-n", ns, "link", "show", dev)
    return re.search(r"link/ether ([0-9a-f:]{17})", out).group(1)


def case_tap():
    require_dpdk()
    require_netns()
    w = tempfile.mkdtemp(prefix="strowger-dpdk-tap.")
    with Netns() as nn:
        ns = nn.add(f"stp{TAG}")
        tap = f"stap{TAG}"
        d = DpdkDaemon(f"--no-huge -m 256 -l 0 --vdev net_tap0,iface={tap}", netns=ns,
                       workers=2, addr="10.9.1.2/24", addr6="fd00:91::2/64")
        with d:
            check(re.search(r"2 queue pairs, RSS over IP/UDP; checksums: tx offloaded, "
                            r"rx offloaded", d.log()),
                  f"net_tap: two queues with RSS, checksum offloads:\n{d.log()}")
            # net_tap gives the kernel's interface the port's own MAC (it is
            # meant as the same host's exception path); here the kernel is
            # another host on the wire, so it gets a MAC of its own.
            sh("ip", "-n", ns, "link", "set", tap, "address", "02:00:00:00:91:01")
            sh("sysctl", "-qw", f"net.ipv6.conf.{tap}.accept_dad=0", ns=ns)
            sh("ip", "-n", ns, "addr", "add", "10.9.1.1/24", "dev", tap)
            sh("ip", "-n", ns, "addr", "add", "fd00:91::1/64", "dev", tap, "nodad")
            sh("ip", "-n", ns, "link", "set", tap, "up")
            check(ping(ns, "10.9.1.2") == 2, f"ping 10.9.1.2:\n{d.log()}")
            check(ping(ns, "fd00:91::2") == 2, f"ping fd00:91::2:\n{d.log()}")
            rows = seed_rows("tap")
            sipp_route(ns, "10.9.1.1", "10.9.1.2:5060", rows, 200, "tap-%u", SEED,
                       os.path.join(w, "v4"))
            rows = seed_rows("tap6")
            sipp_route(ns, "fd00:91::1", "[fd00:91::2]:5060", rows, 200, "tap6-%u", SEED,
                       os.path.join(w, "v6"), sipp_port=5064)
            check_native(ns, "10.9.1.2:5070")
            check_native(ns, "[fd00:91::2]:5070")
            line = d.stop()
            ctr = d.counters()
        print(f"counters: {ctr}")
        s = d.summary(line)
        check(s["malformed"] == 0 and s["dropped"] == 0, f"summary: {line}")
        for k in ("rx_bad", "tx_unresolved", "tx_errors"):
            check(ctr[k] == 0, f"counter {k}={ctr[k]}: {ctr}")
        print(f"{s['requests']} requests, {s['replies']} replies through net_tap "
              f"with checksum offload")


if __name__ == "__main__":
    sys.exit(run_main({"af_packet": case_af_packet, "tap": case_tap}))
