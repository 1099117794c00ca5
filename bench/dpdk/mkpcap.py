#!/usr/bin/python3
"""The input of scripts/bench-dpdk: a pcap of a realistic query mix for
strowgerd --io dpdk on net_pcap (infinite_rx replays it), and a check of
what strowgerd answered to it.

usage:
  mkpcap.py gen --out DIR [--frames N] [--seed S] [--config FILE]
      DIR/mix.pcap          the frames, addressed to net_pcap0's MAC and
                            to 10.9.0.2 / fd00:9::2 (strowgerd's
                            --dpdk-addr 10.9.0.2/24 --dpdk-addr6 fd00:9::2/64)
      DIR/mix.expect.jsonl  per frame: kind, key, the offline answer's code
                            and destination count (`strowgerctl batch --config`)
      DIR/mix.json          the mix: counts per kind, per code, routable
                            share, frame sizes
  mkpcap.py check --out DIR --tx OUT.pcap
      every request of mix.pcap answered once in OUT.pcap (strowgerd's
      tx_pcap on a finite replay), each with the offline code, and for a
      302 the offline Contacts in order (native: code and destination count)

The mix (defaults; --frames 1024, the pcap PMD keeps every frame in an mbuf
of strowgerd's pool, which holds about 4,000):
  - 75 % SIP INVITEs as an SBC sends them (Via, From with a tag, To,
    Call-ID, CSeq, Contact, Allow, Supported, User-Agent, P-Asserted-
    Identity, an SDP offer in 80 % of them), fresh Call-IDs in a few
    styles, 10 % over IPv6, from 8 SBC addresses on the subnet;
  - 10 % SIP failover re-queries: an earlier routed INVITE again, same
    Call-ID, CSeq 2, one or two X-Strowger-Tried headers naming the first
    gateways of its offline answer (503, 408, 0; now and then 486, which
    ends NO_FAILOVER);
  - 15 % native RouteQuery datagrams as strowgerctl sends them (a fifth of
    them with tried gateways), captured from `strowgerctl batch --server`
    against a stand-in on 127.0.0.1 (tests/dpdk/dpdk_it.py).
Called numbers have the shapes of examples/seed-failover.yaml (Redmond and
Dallas area codes, other NANP, international, national without '+');
about 1 in 16 is a SIP user name or a dashed number (404), and half of
what the Redmond Local Policy sees lies outside Redmond (403): about 90 %
of the queries are routed (mix.json gives the share measured offline; 92 %
with the defaults).

The same seed gives the same mix, frame for frame, but for the ids of the
native queries (strowgerctl picks them).

The frame builders, the pcap writer and reader, the RouteQuery capture and
the reply parsers come from tests/dpdk/dpdk_it.py and
tests/integration/strowger_it.py (imported, read-only): STROWGERCTL must
name the strowgerctl to use (scripts/bench-dpdk sets it).
"""
import argparse
import collections
import json
import os
import random
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("STROWGER_SOURCE_ROOT", ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "dpdk"))

from dpdk_it import (STROWGERCTL, Frame, capture_queries, mac, read_pcap,  # noqa: E402
                     reassemble, split_id, udp4_frame, udp6_frame, write_pcap)
from strowger_it import contacts_from_reply, expected_contacts, sip_header  # noqa: E402

# net_pcap0's MAC (as tests/dpdk/test_pcap.py; scripts/bench-dpdk checks the log).
OUR_MAC = "02:70:63:61:70:00"
OUR4, OUR6 = "10.9.0.2", "fd00:9::2"
SBC4 = [f"10.9.0.{10 + i}" for i in range(8)]
SBC6 = [f"fd00:9::{0x10 + i:x}" for i in range(2)]
SBC_MAC = [mac(f"02:00:00:00:01:{i:02x}") for i in range(10)]
CLIENT4 = "10.9.0.50"                 # where native queries come from
CLIENT_MAC = mac("02:00:00:00:02:00")
SEED = os.path.join(ROOT, "examples", "seed-failover.yaml")

POLICIES = [(None, 40), ("Default Calling Policy", 25), ("Dallas Calling Policy", 22),
            ("Redmond Local Policy", 13)]
REDMOND = ["425", "206", "253"]
DALLAS = ["972", "214", "469"]
OTHER_NANP = ["212", "415", "312", "617", "303", "503"]
INTL = ["44", "33", "49", "81", "61", "34"]
CALLING = ["+14255550123", "+14255550188", "+12065550111", "+19725550142", "+12145550100",
           "+442071234567"]
USER_AGENTS = ["Sonus SBC 10.1", "AudioCodes-Sip-Gateway-Mediant 4000/v.7.40A",
               "Oracle ESBC 9.0", "FreeSWITCH-mod_sofia/1.10.9", "Ribbon SBC SWe 12.0"]
SDP_TEMPLATE = (
    "v=0\r\n"
    "o=- {sess} {sess} IN IP4 {ip}\r\n"
    "s=-\r\n"
    "c=IN IP4 {media}\r\n"
    "t=0 0\r\n"
    "m=audio {port} RTP/AVP 0 8 18 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:18 G729/8000\r\n"
    "a=fmtp:18 annexb=no\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n")


def pick(rnd, weighted):
    return rnd.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def called_number(rnd):
    r = rnd.random()
    if r < 0.30:
        return f"+1{rnd.choice(REDMOND)}{rnd.randrange(10**7):07d}"
    if r < 0.55:
        return f"+1{rnd.choice(DALLAS)}{rnd.randrange(10**7):07d}"
    if r < 0.73:
        return f"+1{rnd.choice(OTHER_NANP)}{rnd.randrange(10**7):07d}"
    if r < 0.86:
        cc = rnd.choice(INTL)
        return f"+{cc}{rnd.randrange(10**(11 - len(cc))):0{11 - len(cc)}d}"
    if r < 0.94:  # national format, no '+': the Universal Route takes it too
        return f"1{rnd.choice(REDMOND + DALLAS)}{rnd.randrange(10**7):07d}"
    # not a number the seed routes: SIP user names, dashed numbers (404)
    return rnd.choice(["alice", "conference-7", "voicemail", "+1-425-555-0100",
                       "+1-972-555-0142", "helpdesk", "*86"])


def call_id(rnd, i):
    style = rnd.randrange(4)
    h = "%032x" % rnd.getrandbits(128)
    if style == 0:
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    if style == 1:
        return f"{h[:20]}@{rnd.choice(SBC4)}"
    if style == 2:
        return f"SD{rnd.randrange(10**6)}-{h[:16]}-{i}@sbc{rnd.randrange(1, 5)}.example.net"
    return f"{h[:24]}"


def sip_request(called, calling, policy, cid, branch, src, sport, tried=(), cseq=1,
                sdp=None, ua="", v6=False):
    host = f"[{src}]" if v6 else src
    hdr = [f"INVITE sip:{called}@strowger.example;user=phone SIP/2.0",
           f"Via: SIP/2.0/UDP {host}:{sport};branch=z9hG4bK{branch};rport",
           "Max-Forwards: 69",
           f"From: <sip:{calling}@{host};user=phone>;tag={branch[:10]}",
           f"To: <sip:{called}@strowger.example;user=phone>",
           f"Call-ID: {cid}",
           f"CSeq: {cseq} INVITE",
           f"Contact: <sip:{calling}@{host}:{sport};transport=udp>",
           f"P-Asserted-Identity: <sip:{calling}@{host};user=phone>",
           "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, REFER, NOTIFY",
           "Supported: 100rel, timer, replaces",
           "Session-Expires: 1800",
           f"User-Agent: {ua}"]
    if policy:
        hdr.append(f"X-Strowger-Policy: {policy}")
    for gw, code in tried:
        hdr.append(f"X-Strowger-Tried: {gw};code={code}")
    body = sdp or ""
    if body:
        hdr.append("Content-Type: application/sdp")
    hdr.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(hdr) + "\r\n\r\n" + body).encode()


def offline(config, rows):
    """strowgerctl batch --config answers (parsed) for rows
    (called, calling, policy, call_id[, "GW:CODE,..."])."""
    text = "".join("\t".join(x or "" for x in r) + "\n" for r in rows)
    p = subprocess.run([STROWGERCTL, "batch", "--config", config], input=text,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if p.returncode != 0:
        sys.exit(f"mkpcap: strowgerctl batch --config {config}: exit {p.returncode}: {p.stderr}")
    lines = p.stdout.split("\n")[:-1]
    if len(lines) != len(rows):
        sys.exit(f"mkpcap: {len(lines)} offline answers for {len(rows)} rows")
    return [json.loads(x) for x in lines]


def gen(a):
    rnd = random.Random(a.seed)
    n = a.frames
    n_native = round(n * a.native)
    n_requery = round(n * a.requery)
    n_fresh = n - n_native - n_requery
    if n_fresh < 0 or not 0 <= a.v6 <= 1:
        sys.exit("mkpcap: --native + --requery above 1, or --v6 outside 0..1")

    def fresh_row(i):
        pol = pick(rnd, POLICIES)
        if pol == "Redmond Local Policy" and rnd.random() < 0.5:
            # its users dial local numbers half the time
            called = f"+1{rnd.choice(REDMOND)}{rnd.randrange(10**7):07d}"
        else:
            called = called_number(rnd)
        return (called, rnd.choice(CALLING), pol, call_id(rnd, i))

    # 1. fresh INVITEs, and their offline answers (the re-queries follow them)
    fresh = [fresh_row(i) for i in range(n_fresh)]
    fresh_ans = offline(a.config, fresh) if fresh else []
    routed = [i for i, x in enumerate(fresh_ans) if x["code"] == 302]
    if n_requery and not routed:
        sys.exit("mkpcap: no fresh query is routed: nothing to re-query")

    # 2. failover re-queries of routed INVITEs
    requery = []
    for _ in range(n_requery):
        i = rnd.choice(routed)
        gws = [d["gateway"] for d in fresh_ans[i]["destinations"] if d.get("gateway")]
        k = 2 if len(gws) > 1 and rnd.random() < 0.3 else 1
        codes = [pick(rnd, [(503, 50), (408, 20), (0, 18), (486, 12)]) if j == k - 1
                 else rnd.choice([503, 408, 0]) for j in range(k)]
        requery.append((fresh[i], list(zip(gws[:k], codes))))

    # 3. native queries (a fifth with tried gateways), as strowgerctl sends them
    nrows = []
    for i in range(n_native):
        called, calling, pol, cid = fresh_row(i)
        tried = None
        if rnd.random() < 0.2:
            tried = rnd.choice(["Red-GW1:503", "Dallas-GW1:408", "Red-GW1:0,Red-GW2:503",
                                "Red-GW2:486"])
        nrows.append((called, calling, pol, cid, tried))
    nqueries = capture_queries(nrows) if nrows else []
    native_ans = offline(a.config, nrows) if nrows else []

    # 4. every request, shuffled, as frames
    reqs = [("sip", r, (), fresh_ans[i]) for i, r in enumerate(fresh)]
    requery_rows = [(r[0], r[1], r[2], r[3], ",".join(f"{g}:{c}" for g, c in t))
                    for r, t in requery]
    requery_ans = offline(a.config, requery_rows) if requery_rows else []
    reqs += [("sip-requery", r, t, ans) for (r, t), ans in zip(requery, requery_ans)]
    reqs += [("native", (r, q), None, ans) for r, q, ans in zip(nrows, nqueries, native_ans)]
    rnd.shuffle(reqs)

    ours = mac(OUR_MAC)
    frames, expect = [], []
    for i, (kind, row, tried, ans) in enumerate(reqs):
        if kind == "native":
            r, q = row
            ident, _ = split_id(q)
            frames.append(udp4_frame(ours, CLIENT_MAC, CLIENT4, OUR4, 32768 + i % 28000, 5070, q))
            key = str(ident)
        else:
            called, calling, pol, cid = row
            v6 = rnd.random() < a.v6
            s = rnd.randrange(len(SBC6) if v6 else len(SBC4))
            src = SBC6[s] if v6 else SBC4[s]
            smac = SBC_MAC[8 + s] if v6 else SBC_MAC[s]
            branch = f"{rnd.getrandbits(64):016x}{i:05d}"
            sdp = None
            if rnd.random() < 0.8:
                sdp = SDP_TEMPLATE.format(sess=rnd.randrange(10**9), ip=src if not v6 else OUR4,
                                          media=f"10.20.{rnd.randrange(256)}.{rnd.randrange(256)}",
                                          port=2 * rnd.randrange(8000, 16000))
            data = sip_request(called, calling, pol, cid, branch, src, 5060, tried=tried,
                               cseq=2 if tried else 1, sdp=sdp, ua=rnd.choice(USER_AGENTS),
                               v6=v6)
            if v6:
                frames.append(udp6_frame(ours, smac, src, OUR6, 5060, 5060, data))
            else:
                frames.append(udp4_frame(ours, smac, src, OUR4, 5060, 5060, data))
            key = branch
        expect.append({"kind": kind, "key": key, "code": ans.get("code"),
                       "status": ans.get("status"),
                       "contacts": expected_contacts(ans) if ans.get("code") == 302 else [],
                       "destinations": len(ans.get("destinations", []))})
    if any(len(f) > 1514 for f in frames):
        sys.exit("mkpcap: a frame is larger than 1514 bytes")

    os.makedirs(a.out, exist_ok=True)
    write_pcap(os.path.join(a.out, "mix.pcap"), frames)
    with open(os.path.join(a.out, "mix.expect.jsonl"), "w") as f:
        for e in expect:
            f.write(json.dumps(e) + "\n")
    sizes = sorted(len(f) for f in frames)
    fresh_routed = sum(1 for x in fresh_ans + native_ans if x["code"] == 302)
    summary = {
        "frames": len(frames),
        "kinds": dict(collections.Counter(e["kind"] for e in expect)),
        "codes": {str(k): v for k, v in sorted(collections.Counter(
            e["code"] for e in expect).items())},
        "routed_share": round(sum(e["code"] == 302 for e in expect) / len(expect), 4),
        "routed_share_fresh": round(fresh_routed / (len(fresh_ans) + len(native_ans)), 4),
        "ipv6_share": round(sum(f[12:14] == b"\x86\xdd" for f in frames) / len(frames), 4),
        "with_sdp": sum(b"application/sdp" in f for f in frames),
        "frame_bytes": {"min": sizes[0], "median": sizes[len(sizes) // 2], "max": sizes[-1],
                        "mean": round(sum(sizes) / len(sizes), 1)},
        "seed": a.seed, "config": os.path.relpath(a.config, ROOT),
    }
    with open(os.path.join(a.out, "mix.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    print(json.dumps(summary))


def pb_fields(buf):
    """(field, wiretype, value) of one protobuf message, top level only."""
    i, out = 0, []
    while i < len(buf):
        key, i = _varint(buf, i)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 2:
            ln, i = _varint(buf, i)
            v, i = buf[i:i + ln], i + ln
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        out.append((fn, wt, v))
    return out


def _varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if not c & 0x80:
            return v, i


def check(a):
    expect = [json.loads(x) for x in open(os.path.join(a.out, "mix.expect.jsonl"))]
    out = reassemble([Frame(r) for r in read_pcap(a.tx)])
    bad = []
    got = {}
    for f in out:
        if f.errors:
            bad.append(f"reply with errors {f.errors}")
            continue
        if getattr(f, "proto", None) != 17:
            continue  # the gratuitous ARP / unsolicited NA at start
        if f.sport == 5060:
            via = sip_header(f.payload, "Via")
            m = re.search(r"branch=z9hG4bK([0-9a-f]+)", via[0] if via else "")
            key = ("sip", m.group(1) if m else None)
            st = re.match(rb"SIP/2\.0 (\d{3}) ", f.payload)
            val = (int(st.group(1)) if st else None,
                   [c for c, _ in contacts_from_reply(f.payload)])
        else:
            ident, rest = split_id(f.payload)
            fl = pb_fields(rest)
            code = next((v for n, _, v in fl if n == 3), None)
            key = ("native", str(ident))
            val = (code, sum(1 for n, _, _ in fl if n == 8))
        if key in got:
            bad.append(f"two replies for {key}")
        got[key] = val
    for e in expect:
        k = ("native" if e["kind"] == "native" else "sip", e["key"])
        if k not in got:
            bad.append(f"no reply for {e['kind']} {e['key']}")
            continue
        code, more = got.pop(k)
        want = (e["code"], e["destinations"] if e["kind"] == "native" else e["contacts"])
        if (code, more) != want:
            bad.append(f"{e['kind']} {e['key']}: got {code} {more}, offline {want}")
    if got:
        bad.append(f"{len(got)} replies to nothing asked: {list(got)[:3]}")
    if bad:
        print(f"mkpcap check: {len(bad)} problems in {len(expect)} requests:", file=sys.stderr)
        for b in bad[:20]:
            print("  " + b, file=sys.stderr)
        return 1
    print(f"mkpcap check: {len(expect)} requests, {len(expect)} replies, every one the "
          f"offline answer")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--frames", type=int, default=1024)
    g.add_argument("--seed", type=int, default=5)
    g.add_argument("--config", default=SEED)
    g.add_argument("--native", type=float, default=0.15, help="share of native queries")
    g.add_argument("--requery", type=float, default=0.10, help="share of SIP re-queries")
    g.add_argument("--v6", type=float, default=0.10, help="share of SIP over IPv6")
    c = sub.add_parser("check")
    c.add_argument("--out", required=True)
    c.add_argument("--tx", required=True)
    a = ap.parse_args()
    if not os.access(STROWGERCTL, os.X_OK):
        sys.exit(f"mkpcap: no strowgerctl at {STROWGERCTL} (set STROWGERCTL)")
    if a.cmd == "gen":
        a.config = os.path.abspath(a.config)
        return gen(a)
    return check(a)


if __name__ == "__main__":
    sys.exit(main() or 0)
