#!/usr/bin/python3
"""Smoke test of strowger-bench against a real strowgerd on loopback.

Starts strowgerd (seed config, one worker, free loopback ports), writes
~200 queries and their expected answers (`strowgerctl batch --config`),
then runs strowger-bench for about 2 s in each protocol (SIP, native) and
each mode (open loop at a fixed rate, closed loop), plus a short run with two
threads, two sockets each and busy polling. Every run must finish with
exit 0, every answer arrived and right, its --json report parsing and
agreeing with itself. A last run against expectations made for other
Call-IDs must find wrong answers (the check is not vacuous). strowgerd must
then stop cleanly with nothing malformed or dropped in its summary.

Not a measurement: timings are never checked.

Paths from the environment (meson sets them): STROWGERD, STROWGERCTL,
STROWGER_BENCH, TRIVIAL302, STROWGER_SOURCE_ROOT.
"""
import json
import os
import random
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
BUILD = os.path.join(ROOT, "build-lg")
STROWGERD = os.environ.get("STROWGERD", os.path.join(BUILD, "control", "daemon", "strowgerd"))
STROWGERCTL = os.environ.get("STROWGERCTL", os.path.join(BUILD, "control", "ctl", "strowgerctl"))
BENCH = os.environ.get("STROWGER_BENCH", os.path.join(BUILD, "bench", "strowger-bench"))
TRIVIAL = os.environ.get("TRIVIAL302", os.path.join(BUILD, "bench", "trivial302"))
SEED = os.path.join(ROOT, "examples", "seed-failover.yaml")
SLOW = float(os.environ.get("STROWGER_IT_SLOW", "1"))

POLICIES = ["", "Default Calling Policy", "Redmond Local Policy", "Dallas Calling Policy"]
CALLING = "+14255550123"
SEED_NUMBERS = ["+19725550100", "+14255550100", "+12065550199", "+12535550123",
                "+14695550000", "+12145551234", "+442079460000", "+33123456789",
                "+15555550100", "19725550100", "+1972555010", "+"]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """strowgerd on loopback with its own control socket (no /run needed)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.lines = []
        self.lock = threading.Lock()

    def start(self):
        for _ in range(5):
            self.sip, self.query = free_port(), free_port()
            argv = [STROWGERD, "--config", SEED, "--workers", "1",
                    "--control", os.path.join(self.tmp, "control.sock"), "--drain-grace", "0",
                    "--sip", f"127.0.0.1:{self.sip}", "--query", f"127.0.0.1:{self.query}"]
            self.lines = []
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True, errors="replace")
            threading.Thread(target=self._read, daemon=True).start()
            end = time.monotonic() + 30 * SLOW
            while time.monotonic() < end and self.proc.poll() is None:
                if any("info: ready:" in l for l in self.log_lines()):
                    return self
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            time.sleep(0.05)
            if "in use" not in self.log():
                raise Failure(f"strowgerd did not start:\n{self.log()}")
        raise Failure("strowgerd: no free ports")

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def log_lines(self):
        with self.lock:
            return list(self.lines)

    def log(self):
        return "\n".join(self.log_lines())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20 * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"strowgerd did not stop:\n{self.log()}")
        time.sleep(0.1)
        check(rc == 0, f"strowgerd exited {rc}:\n{self.log()}")
        line = next((l for l in self.log_lines() if "info: stopped:" in l), None)
        check(line is not None, f"no 'stopped:' summary:\n{self.log()}")
        return {k: int(v) for v, k in re.findall(r"(\d+) (requests|replies|malformed|dropped)",
                                                 line)}, line

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def numbers(n=200, seed=6):
    """The seed numbers under every policy, then random ones; a few failover
    re-queries (tried gateways) so NO_FAILOVER and skipped gateways show up."""
    rnd = random.Random(seed)
    rows = []
    for num in SEED_NUMBERS:
        for p in POLICIES + ["No Such Policy"]:
            rows.append([num, CALLING, p, f"smoke-{len(rows) + 1}", ""])
    areas = ["425", "206", "253", "972", "214", "469", "212", "415"]
    while len(rows) < n:
        r = rnd.random()
        if r < 0.8:
            num = f"+1{rnd.choice(areas)}{rnd.randrange(10**7):07d}"
        elif r < 0.95:
            num = f"+{rnd.choice(['44', '33', '49', '81'])}{rnd.randrange(10**9):09d}"
        else:
            num = rnd.choice(["+1425555", "1206555019"])
        tried = ""
        if rnd.random() < 0.1:
            tried = rnd.choice(["Red-GW1:503", "Dallas-GW1:408", "Red-GW2:486",
                                "Red-GW1:503,Red-GW2:0"])
        rows.append([num, CALLING, rnd.choice(POLICIES), f"smoke-{len(rows) + 1}", tried])
    return ["\t".join(r).rstrip("\t") + "\n" for r in rows]


def batch(lines):
    p = subprocess.run([STROWGERCTL, "batch", "--config", SEED], input="".join(lines),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    check(p.returncode == 0, f"strowgerctl batch: exit {p.returncode}: {p.stderr}")
    out = p.stdout.splitlines()
    check(len(out) == len(lines), f"batch: {len(out)} answers for {len(lines)} queries")
    return out


def bench(args, json_path, expect_rc=0):
    argv = [BENCH, *args, "--json", json_path, "--quiet"]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120 * SLOW)
    check(p.returncode == expect_rc,
          f"{' '.join(argv)}: exit {p.returncode}, wanted {expect_rc}\n{p.stdout}\n{p.stderr}")
    try:
        with open(json_path) as f:
            r = json.load(f)
    except (OSError, ValueError) as e:
        raise Failure(f"{' '.join(argv)}: --json did not parse: {e}\n{p.stdout}")
    return r, p


def check_clean(name, r, n_queries, proto):
    c = r["counts"]
    for k in ("wrong", "lost", "malformed", "send_errors", "late", "refused"):
        check(c[k] == 0, f"{name}: {k} = {c[k]}: {json.dumps(r)}")
    check(c["sent"] > 0 and c["received"] == c["sent"],
          f"{name}: sent {c['sent']}, received {c['received']}")
    check(r["config"]["checked"] and r["config"]["queries"] == n_queries,
          f"{name}: config {r['config']}")
    check(r["ok"] is True, f"{name}: ok is {r['ok']}")
    lat = r["latency_us"]
    check(lat["n"] == c["received"] and 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"]
          <= lat["p99_9"] <= lat["max"], f"{name}: latency {lat}")
    check(r["rate"]["achieved_per_s"] > 0 and r["rate"]["window_s"] > 0, f"{name}: rate {r['rate']}")
    check(sum(t["counts"]["received"] for t in r["threads"]) == c["received"],
          f"{name}: per-thread counts do not add up")
    if proto == "sip":
        # every final response strowgerd sends to an INVITE is 3xx-6xx: one ACK each
        check(c["acks"] >= c["received"], f"{name}: {c['acks']} ACKs for {c['received']} answers")


def main():
    for p in (STROWGERD, STROWGERCTL, BENCH):
        check(os.access(p, os.X_OK), f"not built: {p}")
    tmp = tempfile.mkdtemp(prefix="strowger-bench-smoke.")
    d = Daemon(tmp)
    try:
        lines = numbers()
        nums = os.path.join(tmp, "numbers.tsv")
        exp = os.path.join(tmp, "expect.jsonl")
        with open(nums, "w") as f:
            f.writelines(lines)
        answers = batch(lines)
        with open(exp, "w") as f:
            f.write("\n".join(answers) + "\n")
        codes = {json.loads(a)["code"] for a in answers}
        check({302, 400, 403}.issubset(codes), f"the numbers should cover 302/400/403: {codes}")

        d.start()
        targets = {"sip": ["--sip", f"127.0.0.1:{d.sip}"],
                   "native": ["--native", f"127.0.0.1:{d.query}"]}
        common = ["--numbers", nums, "--expect", exp, "--timeout", str(int(2000 * SLOW))]
        runs = []
        for proto in ("sip", "native"):
            runs.append((f"{proto}-open", proto,
                         ["--rate", "2000", "--duration", "2", "--warmup", "0.2"]))
            runs.append((f"{proto}-closed", proto, ["--concurrency", "16", "--duration", "2"]))
        runs.append(("native-closed-2x2-busy", "native",
                     ["--concurrency", "8", "--threads", "2", "--sockets", "2", "--busy-poll",
                      "--count", "5000"]))
        runs.append(("sip-open-2threads-count", "sip",
                     ["--rate", "3000", "--threads", "2", "--count", "2000"]))
        for name, proto, args in runs:
            t0 = time.monotonic()
            r, _ = bench(targets[proto] + common + args, os.path.join(tmp, name + ".json"))
            check_clean(name, r, len(lines), proto)
            if "--count" in args:
                want = int(args[args.index("--count") + 1])
                check(r["counts"]["sent"] == want, f"{name}: sent {r['counts']['sent']} of {want}")
            elif "--rate" in args:
                # open loop offers exactly rate x duration, however late it runs
                want = float(args[args.index("--rate") + 1]) * float(args[args.index("--duration") + 1])
                check(abs(r["counts"]["sent"] - want) <= r["config"]["threads"],
                      f"{name}: sent {r['counts']['sent']}, offered {want:.0f}")
            c = r["counts"]
            print(f"ok {name}: {c['received']} answers, 0 wrong, 0 lost, "
                  f"p99 {r['latency_us']['p99']:.0f} us ({time.monotonic() - t0:.1f}s)")

        # Expectations for other Call-IDs: the weighted shuffle orders the
        # gateways differently for some numbers, and the check must see it.
        other = batch([re.sub(r"\tsmoke-", "\tother-", l) for l in lines])
        bad = os.path.join(tmp, "expect-other.jsonl")
        with open(bad, "w") as f:
            f.write("\n".join(other) + "\n")
        differ = sum(a != b for a, b in zip(answers, other))
        check(differ > 0, "other Call-IDs gave the same answers: pick other ones")
        for proto in ("sip", "native"):
            r, p = bench(targets[proto] + ["--numbers", nums, "--expect", bad, "--concurrency", "4",
                                           "--count", str(len(lines)), "--report-wrong", "1"],
                         os.path.join(tmp, f"wrong-{proto}.json"), expect_rc=1)
            c = r["counts"]
            check(c["wrong"] > 0 and c["wrong"] == c["wrong_destinations"] and c["lost"] == 0
                  and r["ok"] is False, f"wrong-{proto}: {c}")
            check("wrong answer to" in p.stderr, f"wrong-{proto}: no description: {p.stderr}")
            print(f"ok wrong-{proto}: {c['wrong']} wrong answers found "
                  f"({differ} of {len(lines)} expectations differ)")

        # The UDP echo baseline of bench-compare: trivial302 --echo sends
        # each INVITE back; strowger-bench --echo counts it as the answer.
        port = free_port()
        echo = subprocess.Popen([TRIVIAL, "--echo", str(port)], stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(0.2 * SLOW)
            r, _ = bench(["--sip", f"127.0.0.1:{port}", "--numbers", nums, "--echo",
                          "--concurrency", "8", "--count", "2000"],
                         os.path.join(tmp, "echo.json"))
            c = r["counts"]
            check(c["received"] == c["sent"] == 2000 and c["lost"] == 0 and c["malformed"] == 0
                  and c["acks"] == 0 and r["config"]["echo"] is True, f"echo: {c}")
            print(f"ok echo: {c['received']} INVITEs back, p99 {r['latency_us']['p99']:.0f} us")
        finally:
            echo.terminate()
            echo.wait(timeout=10)
        p = subprocess.run([BENCH, "--native", f"127.0.0.1:{d.query}", "--numbers", nums,
                            "--echo", "--concurrency", "1", "--count", "1"],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 2 and "--echo" in p.stderr, f"--echo with --native: {p.stderr}")

        summary, line = d.stop()
        check(summary.get("malformed") == 0 and summary.get("dropped") == 0,
              f"strowgerd summary: {line}")
        print(f"ok strowgerd: {line.split('stopped:', 1)[1].strip()}")
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        d_log = d.log() if getattr(d, "proc", None) else ""
        if d_log:
            print(f"strowgerd log (tail):\n{d_log[-2000:]}", file=sys.stderr)
        return 1
    finally:
        if getattr(d, "proc", None):
            d.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
