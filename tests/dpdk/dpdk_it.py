"""Shared pieces of the DPDK backend tests (strowgerd --io dpdk).

Frames are built and parsed here with the standard library only (pcap
files, Ethernet with one optional VLAN tag, ARP, IPv4, IPv6, UDP, ICMP,
ICMPv6 neighbour discovery, IPv4/IPv6 reassembly). The daemon, the sipp and
strowgerctl helpers and the offline expectations come from
tests/integration (strowger_it.py, test_sipp.py), read-only.

A test exits 77 (meson: skipped) only when the environment forbids it: no
DPDK in this build, or no CAP_NET_ADMIN for network namespaces.
"""
import os
import re
import socket
import struct
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from strowger_it import (ROOT, SEED, SLOW, STROWGERCTL, STROWGERD, Daemon,  # noqa: E402,F401
                         Failure, check, ctl)

SKIP = 77


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(SKIP)


def require_dpdk():
    """Skip unless this strowgerd was built with DPDK."""
    out = subprocess.run([STROWGERD, "--help"], stdout=subprocess.PIPE, text=True).stdout
    if re.search(r"DPDK backend \(--io dpdk; not in this build\)", out):
        skip("this strowgerd was built without DPDK (libdpdk-dev missing or -Ddpdk=disabled)")


def require_netns():
    """Skip unless we may create network namespaces (CAP_NET_ADMIN)."""
    name = f"sdpchk{os.getpid()}"
    p = subprocess.run(["ip", "netns", "add", name], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        skip(f"cannot create a network namespace here (needs root / CAP_NET_ADMIN): "
             f"{p.stdout.strip()}")
    subprocess.run(["ip", "netns", "del", name])


def hugepages(mb=256):
    """Ask scripts/hugepages for mb MiB of 2 MiB pages; True when free."""
    p = subprocess.run([os.path.join(ROOT, "scripts", "hugepages"), str(mb)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(p.stdout.strip())
    return p.returncode == 0 and "hugepages: ok" in p.stdout


# ---------------------------------------------------------------- checksums

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def inet_csum(data):
    return (~csum(data)) & 0xffff


def phdr(src, dst, proto, length):
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def l4_csum(src, dst, proto, seg):
    c = inet_csum(phdr(src, dst, proto, len(seg)) + seg)
    return 0xffff if c == 0 and proto == 17 else c


def l4_ok(src, dst, proto, seg):
    return csum(phdr(src, dst, proto, len(seg)) + seg) == 0xffff


# ---------------------------------------------------------------- building

def mac(s):
    return bytes.fromhex(s.replace(":", ""))


def mac_str(b):
    return ":".join(f"{x:02x}" for x in b)


def ip4(s):
    return socket.inet_pton(socket.AF_INET, s)


def ip6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def eth(dst, src, etype, payload, vlan=None):
    if vlan is not None:
        return dst + src + struct.pack("!HHH", 0x8100, vlan, etype) + payload
    return dst + src + struct.pack("!H", etype) + payload


def ipv4(src, dst, proto, payload, ttl=64, ident=1, flags_frag=0x4000, bad_csum=False,
         tos=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), ident, flags_frag, ttl,
                    proto, 0, src, dst)
    c = inet_csum(h) ^ (0x5555 if bad_csum else 0)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def ipv6(src, dst, nh, payload, hlim=64, tc=0):
    return struct.pack("!IHBB", (6 << 28) | (tc << 20), len(payload), nh, hlim) + src + dst + \
        payload


def udp(src, dst, sport, dport, data, cksum=True, bad=False):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = l4_csum(src, dst, 17, seg) if cksum else 0
    if bad:
        c ^= 0x0f0f
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def udp4_frame(dmac, smac, src, dst, sport, dport, data, vlan=None, **kw):
    s, d = ip4(src), ip4(dst)
    ukw = {k: kw.pop(k) for k in ("cksum", "bad") if k in kw}
    return eth(dmac, smac, 0x0800, ipv4(s, d, 17, udp(s, d, sport, dport, data, **ukw), **kw),
               vlan)


def udp6_frame(dmac, smac, src, dst, sport, dport, data, vlan=None):
    s, d = ip6(src), ip6(dst)
    return eth(dmac, smac, 0x86dd, ipv6(s, d, 17, udp(s, d, sport, dport, data)), vlan)


def arp_frame(dmac, smac, op, sha, sip, tha, tip):
    return eth(dmac, smac, 0x0806, struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + ip4(sip) +
               tha + ip4(tip))


def icmp4_echo_frame(dmac, smac, src, dst, ident, seq, data=b"strowger-ping"):
    m = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    m = m[:2] + struct.pack("!H", inet_csum(m)) + m[4:]
    return eth(dmac, smac, 0x0800, ipv4(ip4(src), ip4(dst), 1, m))


def icmp6(src, dst, typ, code, body, hlim=64):
    s, d = ip6(src), ip6(dst)
    m = struct.pack("!BBH", typ, code, 0) + body
    m = m[:2] + struct.pack("!H", l4_csum(s, d, 58, m)) + m[4:]
    return ipv6(s, d, 58, m, hlim)


def icmp6_echo_frame(dmac, smac, src, dst, ident, seq, data=b"strowger-ping6"):
    return eth(dmac, smac, 0x86dd, icmp6(src, dst, 128, 0, struct.pack("!HH", ident, seq) + data))


def solicited(addr):
    a = ip6(addr)
    return socket.inet_ntop(socket.AF_INET6, bytes.fromhex("ff02" + "00" * 9 + "01ff") + a[13:])


def mcast_mac(addr6):
    return b"\x33\x33" + ip6(addr6)[12:]


def ns_frame(smac, src, target):
    dst = solicited(target)
    body = b"\0\0\0\0" + ip6(target) + bytes([1, 1]) + smac
    return eth(mcast_mac(dst), smac, 0x86dd, icmp6(src, dst, 135, 0, body, hlim=255))


def na_frame(dmac, smac, src, dst, target, solicited_flag=True):
    flags = (0x40 if solicited_flag else 0) | 0x20
    body = bytes([flags, 0, 0, 0]) + ip6(target) + bytes([2, 1]) + smac
    return eth(dmac, smac, 0x86dd, icmp6(src, dst, 136, 0, body, hlim=255))


# ---------------------------------------------------------------- pcap

def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, i, len(fr), len(fr)) + fr)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    check(len(data) >= 24, f"{path}: no pcap header ({len(data)} bytes)")
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


# ---------------------------------------------------------------- parsing

class Frame:
    """What a frame says, with every checksum checked."""

    def __init__(self, raw):
        self.raw = raw
        self.dst, self.src = raw[:6], raw[6:12]
        et = struct.unpack("!H", raw[12:14])[0]
        off = 14
        self.vlan = None
        if et == 0x8100:
            self.vlan, et = struct.unpack("!HH", raw[14:18])
            off = 18
        self.etype = et
        self.l3 = raw[off:]
        self.proto = None
        self.errors = []
        self.frag = None  # (id, offset, more, nh) for IP fragments
        if et == 0x0800:
            self._v4()
        elif et == 0x86dd:
            self._v6()
        elif et == 0x0806:
            a = self.l3
            self.arp_op = struct.unpack("!H", a[6:8])[0]
            self.sha, self.sip, self.tha, self.tip = a[8:14], a[14:18], a[18:24], a[24:28]

    def _v4(self):
        h = self.l3
        hl = (h[0] & 15) * 4
        tot = struct.unpack("!H", h[2:4])[0]
        self.family = 4
        self.ttl = h[8]
        self.tos = h[1]
        self.ipsrc, self.ipdst = h[12:16], h[16:20]
        self.proto = h[9]
        if csum(h[:hl]) != 0xffff:
            self.errors.append("bad IPv4 header checksum")
        if tot > len(h):
            self.errors.append(f"IPv4 total length {tot} > {len(h)} bytes")
        ff = struct.unpack("!H", h[6:8])[0]
        self.ipid = struct.unpack("!H", h[4:6])[0]
        self.df = bool(ff & 0x4000)
        body = h[hl:tot]
        if ff & 0x3fff:
            self.frag = (self.ipid, (ff & 0x1fff) * 8, bool(ff & 0x2000), self.proto)
            self.l4 = body
            return
        self._l4(body)

    def _v6(self):
        h = self.l3
        self.family = 6
        self.ttl = h[7]
        self.tos = (struct.unpack("!I", h[:4])[0] >> 20) & 0xff
        plen = struct.unpack("!H", h[4:6])[0]
        self.ipsrc, self.ipdst = h[8:24], h[24:40]
        self.proto = h[6]
        if 40 + plen > len(h):
            self.errors.append(f"IPv6 payload length {plen} > {len(h) - 40} bytes")
        body = h[40:40 + plen]
        if self.proto == 44:
            nh = body[0]
            fo = struct.unpack("!H", body[2:4])[0]
            self.frag = (struct.unpack("!I", body[4:8])[0], fo & 0xfff8, bool(fo & 1), nh)
            self.l4 = body[8:]
            return
        self._l4(body)

    def _l4(self, body):
        self.l4 = body
        if self.proto == 17:
            self.sport, self.dport, ulen, ck = struct.unpack("!HHHH", body[:8])
            if ulen != len(body):
                self.errors.append(f"UDP length {ulen} for {len(body)} bytes")
            if not (self.family == 4 and ck == 0) and \
                    not l4_ok(self.ipsrc, self.ipdst, 17, body[:ulen]):
                self.errors.append("bad UDP checksum")
            self.payload = body[8:ulen]
        elif self.proto == 1:
            if csum(body) != 0xffff:
                self.errors.append("bad ICMP checksum")
            self.icmp_type = body[0]
        elif self.proto == 58:
            if not l4_ok(self.ipsrc, self.ipdst, 58, body):
                self.errors.append("bad ICMPv6 checksum")
            self.icmp_type = body[0]

    @property
    def srcip(self):
        return socket.inet_ntop(socket.AF_INET if self.family == 4 else socket.AF_INET6,
                                self.ipsrc)

    @property
    def dstip(self):
        return socket.inet_ntop(socket.AF_INET if self.family == 4 else socket.AF_INET6,
                                self.ipdst)


def reassemble(frames):
    """Frames with IP fragments put back together: a list of Frame, each
    fragment set replaced by one Frame of the whole datagram (with its
    UDP checksum checked), in the order its first fragment came."""
    out, groups = [], {}
    for f in frames:
        if not f.frag:
            out.append(f)
            continue
        key = (f.family, f.ipsrc, f.ipdst, f.frag[0])
        if key not in groups:
            groups[key] = []
            out.append(key)
        groups[key].append(f)
    res = []
    for x in out:
        if isinstance(x, Frame):
            res.append(x)
            continue
        parts = sorted(groups[x], key=lambda f: f.frag[1])
        data, ok = b"", True
        for p in parts:
            if p.frag[1] != len(data):
                ok = False
            data += p.l4
        check(ok and not parts[-1].frag[2] and all(p.frag[2] for p in parts[:-1]),
              f"fragments of {x} do not make a whole datagram: "
              f"{[(p.frag[1], len(p.l4), p.frag[2]) for p in parts]}")
        f = parts[0]
        f.proto = f.frag[3]
        f.frag = None
        f.fragments = len(parts)
        f._l4(data)
        res.append(f)
    return res


# ---------------------------------------------------------------- native queries

def _varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if not c & 0x80:
            return v, i


def _enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7f
        v >>= 7
        if v:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def split_id(msg):
    """(id, rest) of a RouteQuery / RouteAnswer whose field 1 (id) leads,
    as protobuf-c writes it."""
    if msg[:1] != b"\x08":
        return 0, msg
    v, i = _varint(msg, 1)
    return v, msg[i:]


def with_id(ident, rest):
    return b"\x08" + _enc_varint(ident) + rest


class FakeQueryServer:
    """A UDP server on 127.0.0.1 that strowgerctl talks to as if it were
    strowgerd's native port. It records every RouteQuery it gets and
    answers from a table (query without its id -> answer without its id),
    or with a bare BAD_REQUEST when the table has nothing (so strowgerctl
    moves on at once)."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.missing = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                data, peer = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            ident, rest = split_id(data)
            self.queries.append(data)
            if rest in self.answers:
                reply = with_id(ident, self.answers[rest])
            else:
                self.missing.append(data)
                reply = with_id(ident, b"\x10\x06")  # status BAD_REQUEST
            self.sock.sendto(reply, peer)

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()

    @property
    def hostport(self):
        return f"127.0.0.1:{self.port}"


def batch_rows_text(rows):
    return "".join("\t".join(x or "" for x in r) + "\n" for r in rows)


def batch_via(hostport, rows, extra=()):
    """strowgerctl batch --server hostport: one JSON line per row (raw text)."""
    p = subprocess.run([STROWGERCTL, "batch", "--server", hostport, "--timeout", "2000", *extra],
                       input=batch_rows_text(rows), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    return p.returncode, p.stdout.split("\n")[:-1], p.stderr


def capture_queries(rows, extra=()):
    """The RouteQuery datagrams strowgerctl batch --server sends for rows."""
    srv = FakeQueryServer()
    try:
        batch_via(srv.hostport, rows, extra)
    finally:
        srv.close()
    check(len(srv.queries) == len(rows),
          f"captured {len(srv.queries)} queries for {len(rows)} rows")
    return srv.queries


# ---------------------------------------------------------------- the daemon

_HELP = None


def _has_breaker():
    global _HELP
    if _HELP is None:
        _HELP = subprocess.run([STROWGERD, "--help"], stdout=subprocess.PIPE, text=True).stdout
    return "--breaker on|off" in _HELP


class DpdkDaemon(Daemon):
    """strowgerd --io dpdk, optionally inside a network namespace."""

    def __init__(self, eal_args, addr=None, gw=None, addr6=None, gw6=None, netns=None,
                 workers=1, extra=(), config=SEED):
        super().__init__(config=config, workers=workers, extra=extra)
        self.eal_args = eal_args
        self.addr, self.gw, self.addr6, self.gw6 = addr, gw, addr6, gw6
        self.netns = netns
        self.sip_port, self.query_port = 5060, 5070

    def argv(self):
        a = [STROWGERD, "--io", "dpdk", "--control", self.control, "--drain-grace", "0",
             "--config", self.config]
        if self.workers:
            a += ["--workers", str(self.workers)]
        if self.eal_args:
            a += ["--dpdk-args", self.eal_args]
        for flag, v in (("--dpdk-addr", self.addr), ("--dpdk-gw", self.gw),
                        ("--dpdk-addr6", self.addr6), ("--dpdk-gw6", self.gw6)):
            if v:
                a += [flag, v]
        if _has_breaker():
            # Answers are compared with offline ones: no passive health
            # (failover reports in the queries would otherwise demote
            # gateways mid-test).
            a += ["--breaker", "off"]
        a += self.extra
        if self.netns:
            a = ["ip", "netns", "exec", self.netns] + a
        return a

    def start(self, timeout=60):
        self.lines = []
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace")
        threading.Thread(target=self._read, daemon=True).start()
        if self.wait_log(r"strowgerd info: ready:", timeout * SLOW, fail_on_exit=False):
            return self
        if self.proc.poll() is None:
            self.proc.kill()
        rc = self.proc.wait(timeout=10)
        raise Failure(f"strowgerd --io dpdk did not start (exit {rc}):\n{self.log()}")

    @property
    def mac(self):
        line = self.wait_log(r"dpdk: port \d+ .* MAC ([0-9a-f:]{17})", 5)
        return re.search(r"MAC ([0-9a-f:]{17})", line).group(1)

    def counters(self):
        """The dpdk counters line logged at exit, as a dict."""
        line = self.wait_log(r"dpdk: rx_frames=", 5)
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}

    def stats(self):
        rc, out, err = ctl("stats", "--json", "--control", self.control)
        check(rc == 0, f"strowgerctl stats: {rc} {err}")
        import json
        return json.loads(out)


# ---------------------------------------------------------------- namespaces

def sh(*argv, check_rc=True, timeout=60, ns=None):
    if ns:
        argv = ("ip", "netns", "exec", ns) + argv
    p = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    if check_rc and p.returncode != 0:
        raise Failure(f"{' '.join(argv)}: exit {p.returncode}\n{p.stdout}")
    return p.stdout


class Netns:
    """Network namespaces and veth pairs made for one test, removed after."""

    def __init__(self):
        self.names = []

    def add(self, name):
        sh("ip", "netns", "add", name)
        self.names.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def cleanup(self):
        for n in reversed(self.names):
            subprocess.run(["ip", "netns", "del", n], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        self.names = []

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.cleanup()
        return False


def ping(ns, addr, count=2):
    """ICMP / ICMPv6 echo from inside ns with a raw socket (no ping binary
    needed): the number of matching echo replies."""
    prog = r"""
import os, socket, struct, sys, time
addr, count = sys.argv[1], int(sys.argv[2])
v6 = ":" in addr
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
def cs(b):
    if len(b) % 2: b += b"\0"
    x = sum(struct.unpack("!%dH" % (len(b)//2), b))
    while x >> 16: x = (x & 0xffff) + (x >> 16)
    return (~x) & 0xffff
ident, got = os.getpid() & 0xffff, 0
for seq in range(1, count + 1):
    body = struct.pack("!HH", ident, seq) + b"strowger-ping"
    typ = 128 if v6 else 8
    m = struct.pack("!BBH", typ, 0, 0) + body
    if not v6:
        m = m[:2] + struct.pack("!H", cs(m)) + m[4:]
    s.sendto(m, (addr, 0))
    end = time.time() + 2
    while time.time() < end:
        try:
            d, _ = s.recvfrom(2048)
        except socket.timeout:
            break
        if not v6:
            d = d[(d[0] & 15) * 4:]
        if d[0] == (129 if v6 else 0) and d[4:8] == struct.pack("!HH", ident, seq):
            got += 1
            break
print(got)
"""
    out = sh("python3", "-c", prog, addr, str(count), ns=ns, timeout=30)
    return int(out.strip().splitlines()[-1])


def run_main(cases):
    from strowger_it import main
    return main(cases)


# ---------------------------------------------------------------- sipp in a namespace

def sipp_route(ns, local_ip, remote, rows, rate, cid, config, workdir, sipp_port=5062,
               full_check=True, timeout=60):
    """sipp in namespace ns, bound to local_ip, sends rows (uac_route.xml)
    to remote ("10.9.0.2:5060" or "[fd00:9::2]:5060"); every answer must be
    what `strowgerctl batch --config` decides offline (checked by sipp in
    the scenario, and again here in full from sipp's trace, as
    tests/integration/test_sipp.py does)."""
    from strowger_it import (SIPP_DIR, batch, contacts_from_reply, expected_contacts,
                             parse_sipp_messages, sip_header, sip_status, sipp_path)
    from test_sipp import write_inf
    answers = batch(["--config", config], rows)
    for a in answers:
        check("code" in a, f"offline batch failed on a row: {a}")
    os.makedirs(workdir, exist_ok=True)
    inf = os.path.join(workdir, "calls.csv")
    write_inf(inf, rows, answers)
    msgf = os.path.join(workdir, "messages.log")
    errf = os.path.join(workdir, "errors.log")
    statf = os.path.join(workdir, "stat.csv")
    argv = ["ip", "netns", "exec", ns, sipp_path(), "-sf", os.path.join(SIPP_DIR, "uac_route.xml"),
            remote, "-i", local_ip, "-p", str(sipp_port), "-m", str(len(rows)), "-r", str(rate),
            "-cid_str", cid, "-nostdin", "-inf", inf,
            "-trace_msg", "-message_file", msgf, "-trace_err", "-error_file", errf,
            "-trace_stat", "-stf", statf, "-timeout", f"{int(timeout)}s", "-timeout_error",
            "-max_recv_loops", "10000"]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, cwd=workdir, timeout=timeout + 60)
    stats = {}
    try:
        with open(statf) as f:
            srows = [line.rstrip("\n").split(";") for line in f if line.strip()]
        if len(srows) >= 2:
            stats = dict(zip(srows[0], srows[-1]))
    except OSError:
        pass
    failed = stats.get("FailedCall(C)", "?")
    if p.returncode != 0 or failed != "0" or stats.get("FailedUnexpectedMessage(C)") != "0":
        try:
            errs = open(errf, errors="replace").read()[-3000:]
        except OSError:
            errs = ""
        raise Failure(f"sipp {local_ip} -> {remote}: exit {p.returncode}, failed calls {failed} "
                      f"of {len(rows)}\n{p.stdout.decode(errors='replace')[-2000:]}\n{errs}")
    check(stats.get("SuccessfulCall(C)") == str(len(rows)),
          f"successful calls {stats.get('SuccessfulCall(C)')} of {len(rows)}")
    if not full_check:
        return answers
    by_cid = {r[3]: a for r, a in zip(rows, answers)}
    replies = parse_sipp_messages(msgf)
    check(len(replies) == len(rows), f"{len(replies)} replies in sipp's trace for {len(rows)}")
    for rep in replies:
        callid = sip_header(rep, "Call-ID")[0]
        ans = by_cid[callid]
        check(sip_status(rep) == ans["code"], f"{callid}: {rep[:40]!r} but offline {ans['code']}")
        if ans["code"] == 302:
            got = [c for c, _ in contacts_from_reply(rep)]
            check(got == expected_contacts(ans), f"{callid}: Contacts {got}, offline "
                  f"{expected_contacts(ans)}")
    return answers


def ctl_in(ns, *args, stdin=None, timeout=120):
    p = subprocess.run(["ip", "netns", "exec", ns, STROWGERCTL, *args], input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr
