"""Shared pieces of the integration tests: the real strowgerd on loopback.

Every test case is its own meson test (suite 'integration'); each starts its
own strowgerd on free loopback ports, talks to it over real UDP sockets (and
through sipp and strowgerctl), and stops it with SIGTERM, checking that it
exits 0 after logging its "stopped:" summary.

Paths come from the environment meson sets: STROWGERD, STROWGERCTL,
STROWGER_SOURCE_ROOT; sipp is found on PATH.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.environ.get("STROWGER_SOURCE_ROOT",
                      os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STROWGERD = os.environ.get("STROWGERD", os.path.join(ROOT, "build", "control", "daemon", "strowgerd"))
STROWGERCTL = os.environ.get("STROWGERCTL", os.path.join(ROOT, "build", "control", "ctl", "strowgerctl"))
SEED = os.path.join(ROOT, "examples", "seed-failover.yaml")
SIPP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")
# Sanitizer builds run several times slower: stretch every wait.
SLOW = float(os.environ.get("STROWGER_IT_SLOW", "1"))


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A UDP port nobody on host holds right now (the daemon may still race
    another process for it: Daemon.start retries)."""
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Daemon:
    """One strowgerd on loopback. Use as a context manager."""

    def __init__(self, config=SEED, workers=1, extra=(), v6=False, state_dir=None,
                 drain_grace=0, control=None, compact_after=0):
        self.config = config
        self.drain_grace = drain_grace
        # Off unless asked: a patched snapshot rebuilt behind a test's back
        # would move the generations it checks.
        self.compact_after = compact_after
        self.tmp = tempfile.mkdtemp(prefix="strowgerd-it.")
        # Each daemon its own control socket: tests run in parallel.
        self.control = control or os.path.join(self.tmp, "control.sock")
        self.workers = workers
        self.extra = list(extra)
        self.v6 = v6
        self.state_dir = state_dir
        self.proc = None
        self.lines = []
        self.lock = threading.Lock()
        self.host = "::1" if v6 else "127.0.0.1"

    # ---- lifecycle
    def argv(self):
        h = "[::1]" if self.v6 else "127.0.0.1"
        a = [STROWGERD, "--control", self.control, "--drain-grace", str(self.drain_grace),
             "--compact-after", str(self.compact_after)]
        if self.config:
            a += ["--config", self.config]
        a += ["--workers", str(self.workers),
             "--sip", f"{h}:{self.sip_port}", "--query", f"{h}:{self.query_port}"]
        if self.state_dir:
            a += ["--state-dir", self.state_dir]
        return a + self.extra

    def start(self, timeout=30):
        fam = socket.AF_INET6 if self.v6 else socket.AF_INET
        for attempt in range(5):
            self.sip_port = free_port(fam, self.host)
            self.query_port = free_port(fam, self.host)
            self.lines = []
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         text=True, errors="replace")
            threading.Thread(target=self._read, daemon=True).start()
            if self.wait_log(r"strowgerd info: ready:", timeout * SLOW, fail_on_exit=False):
                return self
            rc = self.proc.wait(timeout=10)
            if "in use" in self.log() and attempt < 4:
                continue  # lost a port race: pick other ports
            raise Failure(f"strowgerd did not start (exit {rc}):\n{self.log()}")
        raise Failure("strowgerd: no free ports")

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def log(self):
        with self.lock:
            return "\n".join(self.lines)

    def wait_log(self, pattern, timeout, fail_on_exit=True, start=0):
        """Wait until a log line (from line index start on) matches pattern."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                for line in self.lines[start:]:
                    if rx.search(line):
                        return line
            if self.proc.poll() is not None:
                time.sleep(0.05)  # let the reader drain
                with self.lock:
                    if any(rx.search(l) for l in self.lines[start:]):
                        return next(l for l in self.lines[start:] if rx.search(l))
                if fail_on_exit:
                    raise Failure(f"strowgerd exited ({self.proc.returncode}) while waiting "
                                  f"for /{pattern}/:\n{self.log()}")
                return None
            time.sleep(0.02)
        if fail_on_exit:
            raise Failure(f"timed out waiting for /{pattern}/ in strowgerd's log:\n{self.log()}")
        return None

    def n_lines(self):
        with self.lock:
            return len(self.lines)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signal, wait, and check the clean exit. Returns the summary line."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"strowgerd did not stop within {timeout}s of {sig.name}:\n{self.log()}")
        time.sleep(0.05)
        check(rc == 0, f"strowgerd exited {rc} after {sig.name}:\n{self.log()}")
        line = self.wait_log(r"strowgerd info: stopped:", 2, fail_on_exit=False)
        check(line is not None, f"no 'stopped:' summary after {sig.name}:\n{self.log()}")
        return line

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        try:
            if self.proc and self.proc.poll() is None:
                if et is None:
                    self.stop()
                else:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    # ---- talking to it
    @property
    def sip_addr(self):
        return (self.host, self.sip_port)

    @property
    def query_hostport(self):
        return f"[{self.host}]:{self.query_port}" if self.v6 else f"{self.host}:{self.query_port}"

    def summary(self, line):
        """{'requests':..,'replies':..,'malformed':..,'dropped':..} from 'stopped:'."""
        return {k: int(v) for v, k in re.findall(r"(\d+) (requests|replies|malformed|dropped)", line)}


def ctl(*args, stdin=None, timeout=120):
    p = subprocess.run([STROWGERCTL, *args], input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def batch(source_args, rows, extra=()):
    """Answers (parsed JSON, one per row) from `strowgerctl batch`. rows are
    tuples (called, calling, policy, call_id[, tried])."""
    text = "".join("\t".join(x or "" for x in r) + "\n" for r in rows)
    rc, out, err = ctl("batch", *source_args, *extra, stdin=text, timeout=600)
    check(rc == 0, f"strowgerctl batch {source_args}: exit {rc}: {err}")
    lines = out.split("\n")[:-1]
    check(len(lines) == len(rows), f"batch: {len(lines)} answers for {len(rows)} rows")
    return [json.loads(l) for l in lines]


def udp_exchange(addr, payload, timeout=1.0, family=socket.AF_INET, expect=True):
    """Send one datagram, return the reply bytes (or None after timeout)."""
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        s.settimeout(timeout * SLOW if expect else timeout)
        s.sendto(payload, addr)
        try:
            return s.recv(65536)
        except socket.timeout:
            return None


def sip_status(reply):
    m = re.match(rb"SIP/2\.0 (\d{3}) ", reply or b"")
    return int(m.group(1)) if m else None


def sip_header(reply, name):
    """Every value of header name (long form only) in a reply, in order."""
    out = []
    for line in reply.split(b"\r\n"):
        if line.lower().startswith(name.lower().encode() + b":"):
            out.append(line.split(b":", 1)[1].strip().decode())
    return out


def contacts_from_reply(reply):
    """[(user@host:port, q)] from a 302's Contact headers."""
    res = []
    for v in sip_header(reply, "Contact"):
        m = re.match(r"<sip:([^;>]*)[^>]*>;q=([0-9.]+)", v)
        check(m is not None, f"unexpected Contact header: {v}")
        res.append((m.group(1), m.group(2)))
    return res


def expected_contacts(ans, max_contacts=4):
    """What the 302 for an offline answer lists: user@host:port per destination."""
    out = []
    for d in ans["destinations"][:max_contacts]:
        if d.get("uri"):
            out.append(d["uri"].split(":", 1)[1].split(";")[0])
            continue
        host = d["address"]
        if ":" in host:
            host = f"[{host}]"
        out.append(f"{d['called']}@{host}:{d['port']}")
    return out


def sipp_path():
    p = shutil.which("sipp")
    check(p is not None, "sipp not found (Debian package sip-tester; scripts/deps installs it)")
    return p


def run_sipp(daemon, scenario, calls, rate, workdir, inf=None, cid="it-%u", extra=(),
             timeout=120):
    """Run sipp as the SBC against daemon's SIP port. Returns (rc, stats, msgfile)."""
    msgf = os.path.join(workdir, "messages.log")
    errf = os.path.join(workdir, "errors.log")
    statf = os.path.join(workdir, "stat.csv")
    argv = [sipp_path(), "-sf", os.path.join(SIPP_DIR, scenario),
            f"{daemon.host if not daemon.v6 else '[::1]'}:{daemon.sip_port}",
            "-i", daemon.host, "-p", str(free_port()), "-m", str(calls), "-r", str(rate),
            "-cid_str", cid, "-nostdin",
            "-trace_msg", "-message_file", msgf, "-trace_err", "-error_file", errf,
            "-trace_stat", "-stf", statf, "-timeout", f"{int(timeout)}s",
            "-timeout_error", "-max_recv_loops", "10000"]
    if inf:
        argv += ["-inf", inf]
    argv += list(extra)
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, cwd=workdir, timeout=timeout + 60)
    stats = {}
    try:
        with open(statf) as f:
            rows = [l.rstrip("\n").split(";") for l in f if l.strip()]
        if len(rows) >= 2:
            stats = dict(zip(rows[0], rows[-1]))
    except OSError:
        pass
    return p.returncode, stats, msgf, errf, p.stdout.decode(errors="replace")


def parse_sipp_messages(path):
    """Every message sipp received, as bytes, from its -trace_msg file."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    for chunk in re.split(rb"\n-{20,} [0-9-]+ [0-9:.]+\n", data):
        m = re.match(rb"UDP message received \[\d+\] bytes :\n\n", chunk)
        if m:
            out.append(chunk[m.end():].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    return out


def main(cases):
    """Run the case named in argv[1] (or all); exit 0/1 with a message."""
    names = sys.argv[1:] or list(cases)
    if names == ["all"]:
        names = list(cases)
    for n in names:
        if n not in cases:
            print(f"unknown case {n}; have: {' '.join(cases)}", file=sys.stderr)
            return 2
    for n in names:
        t0 = time.monotonic()
        try:
            cases[n]()
        except Failure as e:
            print(f"FAIL {n}: {e}", file=sys.stderr)
            return 1
        print(f"ok {n} ({time.monotonic() - t0:.2f}s)")
    return 0


def workdir():
    return tempfile.mkdtemp(prefix="strowger-it.")
