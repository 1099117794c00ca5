#!/usr/bin/python3
"""strowgerd --io dpdk on a pcap replay (net_pcap): no NIC, no network.

usage: test_pcap.py pcap

A pcap of crafted frames goes in (rx_pcap), strowgerd's answers come out
(tx_pcap), and every answer is checked:
  - SIP INVITEs (IPv4, IPv6, one VLAN-tagged, one from off the subnet)
    get the 302/4xx/5xx that `strowgerctl batch --config` decides offline
    for the same number, policy and Call-ID, Contacts in order;
  - native RouteQuery datagrams (captured from what `strowgerctl batch
    --server` sends) get RouteAnswers that strowgerctl, served them back by
    a stand-in server, prints exactly as `strowgerctl batch --config` does
    offline (with --explain too: answers larger than the MTU leave as IP
    fragments, reassembled here);
  - every reply: MACs, addresses and ports swapped, lengths right, IPv4
    header and UDP checksums right, the VLAN tag kept, TTL/hop limit 64;
  - the host: ARP replies, IPv6 neighbour advertisements, ICMP and ICMPv6
    echo replies; replies to off-subnet peers wait for the gateway's MAC
    (an ARP request / neighbour solicitation goes out) and then go to it,
    not to the MAC the request came from;
  - junk (another MAC or IP, bad checksums, fragments, TCP, a closed UDP
    port, an unknown ethertype) gets nothing back and is counted.
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dpdk_it import (SEED, DpdkDaemon, FakeQueryServer, Frame,  # noqa: E402
                     arp_frame, batch_via, capture_queries, check, eth, icmp4_echo_frame,
                     icmp6_echo_frame, ip4, ipv4, mac, mac_str, na_frame, ns_frame,
                     reassemble, read_pcap, require_dpdk, run_main, split_id, udp4_frame,
                     udp6_frame, write_pcap)
from strowger_it import (batch, contacts_from_reply, expected_contacts, sip_header,  # noqa: E402
                         sip_status)
from test_sipp import CALLING, POLICIES, seed_numbers  # noqa: E402

# The pcap PMD's MAC for the first net_pcap device (checked against the log).
OUR_MAC = "02:70:63:61:70:00"
OUR4, GW4 = "10.9.0.2", "10.9.0.1"
OUR6, GW6 = "fd00:9::2", "fd00:9::1"
A4, A_MAC = "10.9.0.10", mac("02:00:00:00:00:0a")      # a peer on the subnet
B6, B_MAC = "fd00:9::10", mac("02:00:00:00:00:0b")     # an IPv6 peer on the prefix
FAR4, FAR6 = "198.51.100.7", "2001:db8:77::5"          # peers behind the gateways
FAR_MAC = mac("02:00:00:00:00:ee")  # the MAC their requests arrive from...
GW_MAC = mac("02:00:00:00:00:01")   # ...is not the gateway's: replies must go here
GW6_MAC = mac("02:00:00:00:00:61")
OTHER_MAC = mac("02:00:00:00:00:99")
VLAN = 42


BIG = "+9995550100"  # routed to 40 gateways: a native answer larger than the MTU


def big_config(path):
    """The seed config plus one route over 40 trunks (for BIG)."""
    text = open(SEED).read()
    gws = "".join(f"  - {{ name: Big-GW-{i:02d}, address: 192.0.2.{100 + i}, port: 5060, "
                  f"transport: udp, site: Big }}\n" for i in range(40))
    trunks = "".join(f"  - {{ name: BigTrunk{i:02d}, gateway: Big-GW-{i:02d} }}\n"
                     for i in range(40))
    route = ("  - name: Big Route\n"
             "    pattern: '^\\+999(\\d*)$'\n"
             "    usages: [GlobalPSTNHopoff]\n"
             f"    trunks: [{', '.join(f'BigTrunk{i:02d}' for i in range(40))}]\n")
    for key, add in (("gateways:\n", gws), ("trunks:\n", trunks), ("routes:\n", route)):
        check(text.count(key) == 1, f"seed config: {key!r} not found once")
        text = text.replace(key, key + add)
    with open(path, "w") as f:
        f.write(text)
    return path


def invite(called, callid, policy, via_host, via_port, method="INVITE"):
    ph = f"X-Strowger-Policy: {policy}\r\n" if policy else ""
    return (f"{method} sip:{called}@strowger.example SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {via_host}:{via_port};branch=z9hG4bK-{callid};rport\r\n"
            f"From: <sip:{CALLING}@sbc.example>;tag=f-{callid}\r\n"
            f"To: <sip:{called}@strowger.example>\r\n"
            f"Call-ID: {callid}\r\n"
            f"CSeq: 1 {method}\r\n"
            f"Max-Forwards: 70\r\n"
            f"{ph}"
            f"Content-Length: 0\r\n\r\n").encode()


def case_pcap():
    require_dpdk()
    tmp = tempfile.mkdtemp(prefix="strowger-dpdk-pcap.")
    inp, outp = os.path.join(tmp, "in.pcap"), os.path.join(tmp, "out.pcap")
    ours = mac(OUR_MAC)
    config = big_config(os.path.join(tmp, "big.yaml"))

    # ---- what goes in
    frames = []      # the input, in order
    sip = {}         # Call-ID -> (row, how it was sent)
    native = {}      # query bytes -> (row, family, explain)

    def add_sip(row, how, src=A4, smac=A_MAC, family=4, vlan=None, sport=5062):
        called, _, policy, cid = row
        if family == 4:
            data = invite(called, cid, policy, src, sport)
            frames.append(udp4_frame(ours, smac, src, OUR4, sport, 5060, data, vlan=vlan))
        else:
            data = invite(called, cid, policy, f"[{src}]", sport)
            frames.append(udp6_frame(ours, smac, src, OUR6, sport, 5060, data, vlan=vlan))
        sip[cid] = (row, how)

    # 1. the off-subnet requests first: the gateways are not known yet
    add_sip(("+19725550100", CALLING, "Dallas Calling Policy", "far-v4"), "far4", src=FAR4,
            smac=FAR_MAC)
    add_sip(("+14255550100", CALLING, None, "far-v6"), "far6", src=FAR6, smac=FAR_MAC, family=6)
    # 2. the host: ARP, ping, neighbour discovery
    frames.append(arp_frame(b"\xff" * 6, A_MAC, 1, A_MAC, A4, b"\0" * 6, OUR4))
    frames.append(arp_frame(b"\xff" * 6, A_MAC, 1, A_MAC, A4, b"\0" * 6, "10.9.0.99"))
    frames.append(icmp4_echo_frame(ours, A_MAC, A4, OUR4, 0x1234, 1))
    frames.append(ns_frame(B_MAC, B6, OUR6))
    frames.append(icmp6_echo_frame(ours, B_MAC, B6, OUR6, 0x4321, 1))
    # 3. junk, each kind once
    junk = [
        udp4_frame(OTHER_MAC, A_MAC, A4, OUR4, 5062, 5060, b"for another MAC"),
        udp4_frame(ours, A_MAC, A4, "10.9.0.3", 5062, 5060, b"for another IP"),
        udp4_frame(ours, A_MAC, A4, OUR4, 5062, 5060, b"bad UDP checksum", bad=True),
        udp4_frame(ours, A_MAC, A4, OUR4, 5062, 5060, b"bad IP checksum", bad_csum=True),
        udp4_frame(ours, A_MAC, A4, OUR4, 5062, 9999, b"closed port"),
        udp4_frame(ours, A_MAC, A4, OUR4, 5062, 5060, b"a fragment", flags_frag=0x2000),
        eth(ours, A_MAC, 0x0800, ipv4(ip4(A4), ip4(OUR4), 6, b"\0" * 20)),  # TCP
        eth(ours, A_MAC, 0x88cc, b"\0" * 46),                                 # LLDP
    ]
    frames.extend(junk)
    # 4. SIP over IPv4 from the subnet: every seed number under every policy
    rows = []
    for n in seed_numbers() + [BIG]:
        for p in POLICIES + ["No Such Policy"]:
            rows.append((n, CALLING, p, f"pcap-{len(rows) + 1}"))
    for r in rows:
        add_sip(r, "v4")
    add_sip(("+12065550199", CALLING, "Redmond Local Policy", "vlan-1"), "vlan", vlan=VLAN)
    add_sip(("+19725550100", CALLING, "Dallas Calling Policy", "v6-1"), "v6", src=B6,
            smac=B_MAC, family=6)
    add_sip(("+442079460000", CALLING, None, "v6-2"), "v6", src=B6, smac=B_MAC, family=6)
    # an OPTIONS without a UDP checksum (0: none, allowed on IPv4)
    frames.append(udp4_frame(ours, A_MAC, A4, OUR4, 5062, 5060,
                             invite("+1", "opt-1", None, A4, 5062, method="OPTIONS"),
                             cksum=False))
    # 5. native queries, as strowgerctl sends them
    nrows = []
    for n in ["+19725550100", "+14255550100", "+442079460000", "+", "abc", BIG]:
        for p in [None, "Dallas Calling Policy", "Nope"]:
            for tried in [None, "Red-GW1:503", "Dallas-GW1:0,Red-GW1:408"]:
                nrows.append((n, CALLING, p, f"nat-{len(nrows)}", tried))
    xrows = [("+19725550100", CALLING, "Dallas Calling Policy", "x-1", None),
             ("+14255550100", CALLING, None, "x-2", "Red-GW1:503"),
             (BIG, CALLING, None, "x-3", None), (BIG, CALLING, None, "x-4", "Big-GW-07:503")]
    for i, q in enumerate(capture_queries(nrows)):
        if i % 3 == 2:
            frames.append(udp6_frame(ours, B_MAC, B6, OUR6, 40000 + i, 5070, q))
            native[q] = (nrows[i], 6, False)
        else:
            frames.append(udp4_frame(ours, A_MAC, A4, OUR4, 40000 + i, 5070, q))
            native[q] = (nrows[i], 4, False)
    for i, q in enumerate(capture_queries(xrows, ["--explain"])):
        fam = 4 if i % 2 == 0 else 6
        if fam == 4:
            frames.append(udp4_frame(ours, A_MAC, A4, OUR4, 41000 + i, 5070, q))
        else:
            frames.append(udp6_frame(ours, B_MAC, B6, OUR6, 41000 + i, 5070, q))
        native[q] = (xrows[i], fam, True)
    # 6. last, at least a burst later: the gateways make themselves known
    check(len(frames) > 64, f"only {len(frames)} frames before the gateways speak")
    frames.append(arp_frame(ours, GW_MAC, 2, GW_MAC, GW4, ours, OUR4))
    frames.append(na_frame(ours, GW6_MAC, GW6, OUR6, GW6))
    write_pcap(inp, frames)

    # ---- strowgerd on it
    d = DpdkDaemon(f"--no-huge -m 256 --vdev net_pcap0,rx_pcap={inp},tx_pcap={outp}",
                   addr=f"{OUR4}/24", gw=GW4, addr6=f"{OUR6}/64", gw6=GW6, config=config)
    with d:
        check(d.mac == OUR_MAC, f"net_pcap's MAC is {d.mac}, the test assumed {OUR_MAC}")
        want_req = len(sip) + 1 + len(native)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            s = d.stats()
            got = s.get("sip_requests", 0) + s.get("native_requests", 0)
            if got >= want_req:
                break
            time.sleep(0.2)
        check(got == want_req, f"strowgerd saw {got} requests of {want_req}: {s}")
        time.sleep(0.5)  # the held replies go once the gateways are known
        d.stop()
        ctr = d.counters()
    print(f"counters: {ctr}")

    # ---- what came out
    out = [Frame(r) for r in read_pcap(outp)]
    for f in out:
        check(not f.errors, f"reply with errors {f.errors}: {f.raw[:80].hex()}")
        check(f.src == ours, f"frame from {mac_str(f.src)}, not our MAC")
    whole = reassemble(out)
    arp = [f for f in whole if f.etype == 0x0806]
    udp = [f for f in whole if getattr(f, "proto", None) == 17]
    icmp = [f for f in whole if getattr(f, "proto", None) in (1, 58)]

    # ARP: the gratuitous announcement, the reply to A, our request for the gateway
    garp = [f for f in arp if f.arp_op == 1 and f.sip == ip4(OUR4) and f.tip == ip4(OUR4)]
    reply = [f for f in arp if f.arp_op == 2]
    ask = [f for f in arp if f.arp_op == 1 and f.tip == ip4(GW4)]
    check(len(garp) == 1 and garp[0].dst == b"\xff" * 6, f"gratuitous ARP: {len(garp)}")
    check(len(reply) == 1 and reply[0].dst == A_MAC and reply[0].tha == A_MAC and
          reply[0].tip == ip4(A4) and reply[0].sip == ip4(OUR4) and reply[0].sha == ours,
          "one ARP reply, to A, saying 10.9.0.2 is at our MAC")
    check(len(ask) >= 1 and ask[0].dst == b"\xff" * 6 and ask[0].sip == ip4(OUR4),
          f"an ARP request for the gateway: {len(ask)}")
    # ND: unsolicited NA, the NA to B, our NS for the IPv6 gateway
    nd = [f for f in icmp if f.family == 6 and f.icmp_type in (135, 136)]
    na_b = [f for f in nd if f.icmp_type == 136 and f.dstip == B6]
    ns_gw = [f for f in nd if f.icmp_type == 135 and f.l4[8:24] == Frame(
        na_frame(ours, GW6_MAC, GW6, OUR6, GW6)).l4[8:24]]
    check(len(na_b) == 1 and na_b[0].dst == B_MAC and na_b[0].ttl == 255 and
          na_b[0].l4[4] & 0x40 and na_b[0].l4[26:32] == ours,
          "one solicited NA to B with our MAC as target link-layer address")
    check(len(ns_gw) >= 1 and ns_gw[0].dst[:2] == b"\x33\x33", "an NS for the IPv6 gateway")
    # echo
    e4 = [f for f in icmp if f.family == 4 and f.icmp_type == 0]
    e6 = [f for f in icmp if f.family == 6 and f.icmp_type == 129]
    check(len(e4) == 1 and e4[0].dst == A_MAC and e4[0].dstip == A4 and
          e4[0].l4[4:6] == b"\x12\x34", f"one ICMP echo reply to A: {len(e4)}")
    check(len(e6) == 1 and e6[0].dst == B_MAC and e6[0].dstip == B6,
          f"one ICMPv6 echo reply to B: {len(e6)}")

    # ---- UDP replies
    sip_out, nat_out = {}, {}
    for f in udp:
        check(f.sport in (5060, 5070), f"reply from port {f.sport}")
        check(f.ttl == 64, f"TTL/hop limit {f.ttl}")
        if f.sport == 5060:
            cid = sip_header(f.payload, "Call-ID")[0]
            check(cid not in sip_out, f"two replies for {cid}")
            sip_out[cid] = f
        else:
            ident, rest = split_id(f.payload)
            check(ident not in nat_out, f"two answers for query id {ident}")
            nat_out[ident] = (f, rest)

    # SIP: one reply each, to the right place, the offline answer
    check(set(sip_out) == set(sip) | {"opt-1"},
          f"SIP replies for {sorted(set(sip_out) ^ (set(sip) | {'opt-1'}))} missing or extra")
    check(sip_status(sip_out["opt-1"].payload) == 200, "OPTIONS without UDP checksum: 200")
    offline = dict(zip([c for c in sip], batch(["--config", config], [r for r, _ in sip.values()])))
    for cid, (row, how) in sip.items():
        f, ans = sip_out[cid], offline[cid]
        fam = 6 if how in ("v6", "far6") else 4
        peer = {"far4": FAR4, "far6": FAR6, "v6": B6}.get(how, A4)
        l2 = {"far4": GW_MAC, "far6": GW6_MAC, "v6": B_MAC}.get(how, A_MAC)
        check(f.family == fam and f.dstip == peer and f.srcip == (OUR6 if fam == 6 else OUR4)
              and f.dport == 5062, f"{cid}: reply to {f.dstip}:{f.dport} from {f.srcip}")
        check(f.dst == l2, f"{cid} ({how}): reply to MAC {mac_str(f.dst)}, want {mac_str(l2)}")
        check(f.vlan == (VLAN if how == "vlan" else None), f"{cid}: VLAN {f.vlan}")
        check(fam == 6 or f.df, f"{cid}: DF not set")
        check(sip_status(f.payload) == ans["code"],
              f"{cid}: {f.payload[:40]!r} but offline {ans['code']}")
        if ans["code"] == 302:
            got = [c for c, _ in contacts_from_reply(f.payload)]
            check(got == expected_contacts(ans), f"{cid}: Contacts {got}, offline "
                  f"{expected_contacts(ans)}")
        via = sip_header(f.payload, "Via")[0]
        check(f"received={peer}" in via or f"rport=5062" in via, f"{cid}: Via {via}")

    # Native: one answer each; strowgerctl reads them as it reads the offline ones
    check(len(nat_out) == len(native), f"{len(nat_out)} native answers for {len(native)}")
    answers = {}
    frag = 0
    for q, (row, fam, explain) in native.items():
        ident, rest = split_id(q)
        check(ident in nat_out, f"no answer for native query {row}")
        f, body = nat_out[ident]
        check(f.dstip == (B6 if fam == 6 else A4) and f.dst == (B_MAC if fam == 6 else A_MAC),
              f"native {row}: answer to {f.dstip} {mac_str(f.dst)}")
        frag += getattr(f, "fragments", 1) > 1
        answers[rest] = body
    check(frag >= 1, "no answer was larger than the MTU: the fragment path went untested")
    srv = FakeQueryServer(answers)
    try:
        for rows, extra in ((nrows, []), (xrows, ["--explain"])):
            rc, got, err = batch_via(srv.hostport, rows, ["--json", *extra])
            rc2, want, err2 = batch_via_config(config, rows, ["--json", *extra])
            check(len(got) == len(rows) and got == want,
                  f"native answers through DPDK differ from offline ({extra}):\n" +
                  "\n".join(f"  got  {g}\n  want {w}" for g, w in zip(got, want) if g != w) +
                  f"\n{err}")
        check(not srv.missing, f"{len(srv.missing)} queries had no DPDK answer")
    finally:
        srv.close()

    # ---- nothing else came out, and everything is counted
    extra = [f for f in whole if f.etype not in (0x0806,) and getattr(f, "proto", None) not in
             (1, 17, 58)]
    check(not extra, f"unexpected frames: {[f.raw[:40].hex() for f in extra]}")
    for k, v in {"rx_not_mine": 2, "rx_bad": 2, "rx_fragments": 1, "rx_unhandled": 2,
                 "rx_no_service": 1, "icmp_echo": 2, "tx_held": 2}.items():
        check(ctr[k] >= v, f"counter {k}={ctr[k]}, want >= {v}: {ctr}")
    check(ctr["tx_unresolved"] == 0 and ctr["tx_errors"] == 0 and ctr["rx_truncated"] == 0,
          f"counters: {ctr}")
    check(ctr["rx_frames"] == len(frames), f"rx_frames {ctr['rx_frames']} of {len(frames)}")
    check(ctr["tx_frames"] == len(out), f"tx_frames {ctr['tx_frames']}, out.pcap {len(out)}")
    print(f"{len(frames)} frames in, {len(out)} out: {len(sip_out)} SIP replies, "
          f"{len(nat_out)} native answers ({frag} fragmented), ARP/ND/echo answered")


def batch_via_config(config, rows, extra):
    import subprocess
    from dpdk_it import STROWGERCTL, batch_rows_text
    p = subprocess.run([STROWGERCTL, "batch", "--config", config, *extra],
                       input=batch_rows_text(rows), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    return p.returncode, p.stdout.split("\n")[:-1], p.stderr


if __name__ == "__main__":
    sys.exit(run_main({"pcap": case_pcap}))
