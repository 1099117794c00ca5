#!/usr/bin/python3
"""The numbers of scripts/bench-dpdk: one run's rate from its logs, and the
final JSON and markdown table.

usage:
  report.py run-strowgerd OUT N      OUT/strowgerd-N.{s0,s1}.{t,json}, .log -> .result.json
  report.py run-testpmd OUT N [--warmup S]    OUT/testpmd-N.log -> .result.json
  report.py final OUT --json FILE [--rounds ...]    every result -> FILE, table on stdout

strowgerd's rate: answered queries (strowgerctl stats "replies") between
two samples taken --warmup s after "ready" and --duration s later, over
the time between the samples (midpoints of each strowgerctl call). Its exit
summary and DPDK counters are kept and checked (nothing malformed or
dropped, every request answered, no RX mbuf shortage).

testpmd's rate: forwarded packets (TX-packets) over the intervals it times
itself (TSC) between two of its --stats-period prints: Tx-pps is the delta
over the interval, so interval = delta / Tx-pps. Its prints come 1 or 2 s
apart: the intervals from --warmup - 1 s after its first print count, the
first one never, up to --duration s.

A run is DISTURBED when its measured thread ran less than 95 % of the wall
time between the samples (another process shared its CPU) or the
hypervisor stole more than 2 %: run-* then exit 3 (scripts/bench-dpdk runs
it again, a bounded number of times).
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def kv(line):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def sched_share(base):
    """How much of the measured CPU the measured thread had between the
    .c0 and .c1 samples: run and wait (runnable, not running) time and the
    hypervisor's steal time, as shares of the wall time."""
    try:
        a, b = (open(f"{base}.{c}").read().split() for c in ("c0", "c1"))
    except OSError:
        return {}
    wall = float(b[0]) - float(a[0])
    if wall <= 0 or int(b[1]) == 0:
        return {}
    hz = os.sysconf("SC_CLK_TCK")
    # "cpuN user nice system idle iowait irq softirq steal ...": steal is the 8th
    steal = (int(b[3 + 8]) - int(a[3 + 8])) / hz if len(a) > 11 else 0
    return {"wall_s": round(wall, 3),
            "run_share": round((int(b[1]) - int(a[1])) / 1e9 / wall, 4),
            "wait_share": round((int(b[2]) - int(a[2])) / 1e9 / wall, 4),
            "steal_share": round(steal / wall, 4)}


def disturbed(sh):
    return bool(sh) and (sh["run_share"] < 0.95 or sh["steal_share"] > 0.02)


def cpu_list(text):
    """{0, 1, 3} from "0-1,3" (/proc/*/status Cpus_allowed_list)."""
    cpus = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def share_text(sh):
    if not sh:
        return ""
    return (f"; thread ran {100 * sh['run_share']:.0f} %, waited {100 * sh['wait_share']:.0f} %"
            f", steal {100 * sh['steal_share']:.0f} %" + (" DISTURBED" if disturbed(sh) else ""))


def run_strowgerd(out, n, cpu):
    base = os.path.join(out, f"strowgerd-{n}")
    samples = []
    for s in ("s0", "s1"):
        t0, t1 = (float(x) for x in open(f"{base}.{s}.t").read().split())
        st = load(f"{base}.{s}.json")
        samples.append({"t": (t0 + t1) / 2, "call_s": round(t1 - t0, 4),
                        "replies": st["replies"], "requests": st["requests"]})
    dt = samples[1]["t"] - samples[0]["t"]
    rate = (samples[1]["replies"] - samples[0]["replies"]) / dt
    log = open(f"{base}.log", errors="replace").read()
    problems = []
    m = re.search(r"stopped: (\d+) requests, (\d+) replies, (\d+) malformed, (\d+) dropped", log)
    summary = dict(zip(("requests", "replies", "malformed", "dropped"),
                       (int(x) for x in m.groups()))) if m else {}
    if not m:
        problems.append("no exit summary")
    m = re.search(r"dpdk: rx_frames=.*", log)
    io = kv(m.group(0)) if m else {}
    m = re.search(r"dpdk: port \d+: ipackets=.*", log)
    port = kv(m.group(0)) if m else {}
    if summary:
        if summary["malformed"] or summary["dropped"]:
            problems.append(f"{summary['malformed']} malformed, {summary['dropped']} dropped")
        if summary["replies"] != summary["requests"]:
            problems.append(f"{summary['requests']} requests, {summary['replies']} replies")
    if io and io.get("rx_frames") != summary.get("requests"):
        problems.append(f"rx_frames {io.get('rx_frames')} != requests {summary.get('requests')}")
    for k in ("rx_nombuf", "imissed", "ierrors", "oerrors"):
        if port.get(k):
            problems.append(f"port {k}={port[k]}")
    threads = []
    try:
        for line in open(f"{base}.threads"):
            tid, comm, cpus = line.split()
            threads.append({"tid": int(tid), "comm": comm, "cpus_allowed": cpus})
    except (OSError, ValueError):
        pass
    if cpu is not None:
        on_cpu = [t["comm"] for t in threads if cpu in cpu_list(t["cpus_allowed"])]
        if on_cpu != ["strowger-w0"]:
            problems.append(f"threads allowed on CPU {cpu}: {on_cpu} (want the worker alone)")
    sh = sched_share(base)
    res = {"tool": "strowgerd", "run": n, "rate": rate, "cpu_share": sh, "seconds": round(dt, 3),
           "answered": samples[1]["replies"] - samples[0]["replies"], "samples": samples,
           "exit_summary": summary, "dpdk_counters": io, "port": port, "threads": threads,
           "problems": problems}
    save(f"{base}.result.json", res)
    print(f"  strowgerd run {n}: {rate / 1e6:.3f} M answered queries/s over {dt:.2f} s"
          + share_text(sh)
          + (f"  PROBLEMS: {'; '.join(problems)}" if problems else ""))
    return res


def run_testpmd(out, n, warmup, duration):
    base = os.path.join(out, f"testpmd-{n}")
    text = ANSI.sub("", open(f"{base}.log", errors="replace").read())
    prints = []
    for blk in text.split("NIC statistics for port 0")[1:]:
        rx = re.search(r"RX-packets:\s+(\d+)", blk)
        tx = re.search(r"TX-packets:\s+(\d+)", blk)
        txpps = re.search(r"Tx-pps:\s+(\d+)", blk)
        if rx and tx and txpps:
            prints.append((int(rx.group(1)), int(tx.group(1)), int(txpps.group(1))))
    intervals, start = [], 0.0
    for (_, tx0, _), (_, tx1, pps) in zip(prints, prints[1:]):
        if pps <= 0 or tx1 <= tx0:
            continue
        secs = (tx1 - tx0) / pps
        intervals.append({"start": round(start, 3), "seconds": round(secs, 4),
                          "forwarded": tx1 - tx0})
        start += secs
    # The prints come 1 or 2 s apart, at no fixed phase: skip the intervals
    # that start in the first warmup - 1 s (always the first one: it may
    # hold the start), then take them in order up to duration s.
    used = []
    for i in intervals[1:]:
        if i["start"] < warmup - 1.05:
            continue
        if sum(u["seconds"] for u in used) >= duration - 0.5:
            break
        used.append(i)
    problems = []
    if not used:
        problems.append(f"{len(prints)} stats prints: no interval to measure")
        rate, secs, fwd = 0.0, 0.0, 0
    else:
        fwd = sum(i["forwarded"] for i in used)
        secs = sum(i["seconds"] for i in used)
        rate = fwd / secs
    acc = re.search(r"Accumulated forward statistics.*?RX-packets:\s+(\d+)\s+RX-dropped:\s+(\d+)"
                    r".*?TX-packets:\s+(\d+)\s+TX-dropped:\s+(\d+)", text, re.S)
    final = dict(zip(("rx", "rx_dropped", "tx", "tx_dropped"),
                     (int(x) for x in acc.groups()))) if acc else {}
    if not final:
        problems.append("no accumulated forward statistics")
    elif final["rx_dropped"] or final["tx_dropped"]:
        problems.append(f"dropped rx {final['rx_dropped']} tx {final['tx_dropped']}")
    m = re.search(r"Logical Core (\d+) \(socket \d+\) forwards", text)
    sh = sched_share(base)
    res = {"tool": "testpmd", "run": n, "rate": rate, "cpu_share": sh, "seconds": round(secs, 3),
           "forwarded": fwd, "intervals": intervals, "intervals_used": len(used),
           "forwarding_lcore": int(m.group(1)) if m else None, "final": final,
           "problems": problems}
    save(f"{base}.result.json", res)
    print(f"  testpmd   run {n}: {rate / 1e6:.3f} M forwarded packets/s over {secs:.2f} s "
          f"({len(used)} intervals)" + share_text(sh)
          + (f"  PROBLEMS: {'; '.join(problems)}" if problems else ""))
    return res


def sh(*argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return ""


def machine():
    info = {"cpus": os.cpu_count()}
    try:
        cpuinfo = open("/proc/cpuinfo").read()
        m = re.search(r"model name\s*:\s*(.*)", cpuinfo)
        info["cpu_model"] = m.group(1).strip() if m else "?"
        m = re.search(r"cpu MHz\s*:\s*([\d.]+)", cpuinfo)
        info["cpu_mhz"] = round(float(m.group(1))) if m else None
    except OSError:
        pass
    lscpu = sh("lscpu")
    m = re.search(r"Hypervisor vendor:\s*(\S+)", lscpu)
    info["hypervisor"] = m.group(1) if m else None
    try:
        m = re.search(r"MemTotal:\s*(\d+)", open("/proc/meminfo").read())
        info["mem_gib"] = round(int(m.group(1)) / 2**20)
        osr = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', open("/etc/os-release").read(), re.M))
        info["os"] = osr.get("PRETTY_NAME", "?")
        info["os_short"] = f"{osr.get('NAME', '').split()[0]} {osr.get('VERSION_ID', '')}".strip()
        info["loadavg"] = open("/proc/loadavg").read().split()[:3]
    except OSError:
        pass
    info["kernel"] = platform.release()
    info["cc"] = sh("cc", "-dumpfullversion")
    info["dpdk"] = sh("pkg-config", "--modversion", "libdpdk")
    info["testpmd_package"] = sh("dpkg-query", "-W", "-f=${Package} ${Version}", "dpdk-dev")
    return info


def cv(xs):
    return statistics.pstdev(xs) / statistics.mean(xs) if len(xs) > 1 else 0.0


def mega(x):
    return f"{x / 1e6:.2f} M"


def per_item(rate):
    ns = 1e9 / rate
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def final(a):
    out = a.out
    runs = {"strowgerd": [], "testpmd": []}
    for tool in runs:
        for n in range(1, a.rounds + 1):
            p = os.path.join(out, f"{tool}-{n}.result.json")
            if os.path.exists(p):
                runs[tool].append(load(p))
    if not runs["strowgerd"] or not runs["testpmd"]:
        sys.exit("report: no runs to report")
    med = {t: statistics.median(r["rate"] for r in rs) for t, rs in runs.items()}
    cvs = {t: cv([r["rate"] for r in rs]) for t, rs in runs.items()}
    ratio = med["strowgerd"] / med["testpmd"]
    shares = {t: [r["cpu_share"]["run_share"] for r in rs if r.get("cpu_share")]
              for t, rs in runs.items()}
    quiet = {t: [r["rate"] for r in rs if not disturbed(r.get("cpu_share"))]
             for t, rs in runs.items()}
    paired = [s["rate"] / t["rate"] for s, t in zip(runs["strowgerd"], runs["testpmd"])]
    mix = load(os.path.join(out, "mix.json"))
    mach = machine()
    commit = sh("git", "rev-parse", "--short", "HEAD")
    dirty = bool(sh("git", "status", "--porcelain", "--untracked-files=no"))
    try:
        bg = open(os.path.join(out, "background.start")).read().split("\n")
        mach["loadavg_start"] = bg[0].split()[:3]
        mach["busy_at_start"] = [x.strip() for x in bg[1:] if x.strip()]
    except OSError:
        pass
    check = None
    if a.check == "1" and os.path.exists(os.path.join(out, "check.txt")):
        check = open(os.path.join(out, "check.txt")).read().strip()
    problems = [f"{r['tool']} run {r['run']}: {p}" for rs in runs.values() for r in rs
                for p in r["problems"]]
    now = datetime.datetime.now(datetime.timezone.utc)
    res = {
        "benchmark": "bench-dpdk",
        "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit, "uncommitted_changes": dirty,
        "machine": mach,
        "command": a.command,
        "strowgerd_command": a.strowgerd_argv.strip(),
        "testpmd_command": a.testpmd_argv.strip(),
        "rounds": a.rounds, "duration_s": a.duration, "warmup_s": a.warmup,
        "cpu": a.cpu, "other_cpu": a.other_cpu,
        "mix": mix,
        "check": check,
        "strowgerd": {"unit": "answered queries/s, one worker",
                      "median": round(med["strowgerd"]), "cv": round(cvs["strowgerd"], 4),
                      "rates": [round(r["rate"]) for r in runs["strowgerd"]],
                      "thread_run_shares": shares["strowgerd"],
                      "undisturbed_median": round(statistics.median(quiet["strowgerd"]))
                      if quiet["strowgerd"] else None},
        "testpmd": {"unit": "forwarded packets/s (macswap), one forwarding lcore",
                    "median": round(med["testpmd"]), "cv": round(cvs["testpmd"], 4),
                    "rates": [round(r["rate"]) for r in runs["testpmd"]],
                    "thread_run_shares": shares["testpmd"],
                    "undisturbed_median": round(statistics.median(quiet["testpmd"]))
                    if quiet["testpmd"] else None},
        "retried_runs": sorted(f[:-len(".result.json")] for f in os.listdir(
            os.path.join(out, "disturbed")) if f.endswith(".result.json"))
        if os.path.isdir(os.path.join(out, "disturbed")) else [],
        "disturbed_runs": [f"{r['tool']} {r['run']}" for rs in runs.values() for r in rs
                           if disturbed(r.get("cpu_share"))],
        "ratio": round(ratio, 4),
        "ratio_paired_median": round(statistics.median(paired), 4),
        "ratio_paired": [round(x, 4) for x in paired],
        "problems": problems,
        "runs": runs,
    }
    save(a.json, res)

    kinds = mix["kinds"]
    nf = mix["frames"]

    def pct(k):
        return f"{100 * kinds.get(k, 0) / nf:.0f} %"
    mline = (f"Machine: {mach.get('cpus')} vCPU {mach.get('cpu_model', '?')}"
             + (f" @ {mach['cpu_mhz'] / 1000:.1f} GHz" if mach.get("cpu_mhz") else "")
             + (f" ({mach['hypervisor']} guest)" if mach.get("hypervisor") else "")
             + f", {mach.get('mem_gib', '?')} GiB, {mach.get('os_short', '?')}, "
             f"gcc {mach.get('cc', '?')}, DPDK {mach.get('dpdk', '?')} "
             f"({mach.get('testpmd_package', '?')}), release build (`{a.build}/`, "
             "`--buildtype=release`).")
    when = (f"Measured {now.strftime('%Y-%m-%d')} on {commit}"
            + (" plus uncommitted changes" if dirty else "")
            + f", load average {' '.join(mach.get('loadavg_start', ['?']))} at the start and "
            f"{' '.join(mach.get('loadavg', ['?']))} at the end; "
            f"measured CPU {a.cpu}, the rest on CPU {a.other_cpu}"
            + (f"; other jobs at the start: {', '.join(mach['busy_at_start'])}"
               if mach.get("busy_at_start") else "") + ".")
    what = (f"net_pcap `infinite_rx` replay of {nf:,} frames: {pct('sip')} SIP INVITEs, "
            f"{pct('sip-requery')} failover re-queries (`X-Strowger-Tried`), "
            f"{pct('native')} native RouteQuery; {100 * mix['routed_share']:.0f} % routed "
            f"(302), mean frame {mix['frame_bytes']['mean']:.0f} B; one worker, busy poll")
    sr = runs["strowgerd"]

    def cpu_text(t):
        sh = shares[t]
        if not sh:
            return ""
        d = len(runs[t]) - len(quiet[t])
        return (f"; its thread ran {100 * min(sh):.0f}-{100 * max(sh):.0f} % of CPU {a.cpu}"
                + (f" ({d} disturbed run{'s' if d > 1 else ''}: the others median "
                   f"{mega(statistics.median(quiet[t]))}, cv {100 * cv(quiet[t]):.1f} %)"
                   if d and quiet[t] else ""))
    ok = sum(r["exit_summary"].get("replies", 0) for r in sr)
    bad = sum(r["exit_summary"].get("malformed", 0) for r in sr)
    lines = [
        mline, when, "",
        "| benchmark | what | median | decisions/s (one core) | other |",
        "|---|---|---|---|---|",
        f"| `strowgerd --io dpdk` | {what} | {per_item(med['strowgerd'])} | "
        f"{mega(med['strowgerd'])} | cv {100 * cvs['strowgerd']:.1f} %; "
        f"{len(sr)} runs, {ok:,} queries answered, {bad} malformed"
        + (", answers checked against offline" if check else "") + cpu_text("strowgerd")
        + " |",
        f"| `dpdk-testpmd` macswap | the same pcap on the same vdev, one forwarding lcore: "
        f"RX, swap MACs, TX (PMD drops) | {per_item(med['testpmd'])} | "
        f"{mega(med['testpmd'])} packets | cv {100 * cvs['testpmd']:.1f} %; "
        f"{len(runs['testpmd'])} runs" + cpu_text("testpmd") + " |",
        f"| ratio | strowgerd / testpmd, medians | | {ratio:.3f} (1 : {1 / ratio:.0f}) | "
        f"paired per round: median {statistics.median(paired):.3f}"
        + (f"; {len(res['retried_runs'])} disturbed run(s) done again" if res["retried_runs"]
           else "") + " |",
        "",
        f"Command ({a.rounds} rounds, alternating, {a.warmup} + {a.duration} s per run, "
        "medians):",
        "",
        "```sh",
        a.command,
        "```",
        "",
        "Runs (from the JSON):",
        "",
        "```sh",
        "# strowgerd (rx_pcap of the generated mix; worker alone on CPU "
        f"{a.cpu} after ready)",
        a.strowgerd_argv.strip(),
        "# dpdk-testpmd",
        a.testpmd_argv.strip(),
        "```",
    ]
    if problems:
        lines += ["", "PROBLEMS:"] + [f"- {p}" for p in problems]
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("run-strowgerd")
    s.add_argument("out")
    s.add_argument("n", type=int)
    s.add_argument("--cpu", type=int)
    t = sub.add_parser("run-testpmd")
    t.add_argument("out")
    t.add_argument("n", type=int)
    t.add_argument("--warmup", type=float, default=2)
    t.add_argument("--duration", type=float, default=6)
    f = sub.add_parser("final")
    f.add_argument("out")
    f.add_argument("--json", required=True)
    f.add_argument("--rounds", type=int, default=5)
    f.add_argument("--duration", type=int, default=6)
    f.add_argument("--warmup", type=int, default=2)
    f.add_argument("--cpu", type=int, default=1)
    f.add_argument("--other-cpu", type=int, default=0)
    f.add_argument("--build", default="build-release")
    f.add_argument("--command", default="./scripts/bench-dpdk")
    f.add_argument("--check", default="1")
    f.add_argument("--strowgerd-argv", default="")
    f.add_argument("--testpmd-argv", default="")
    a = ap.parse_args()
    if a.cmd == "run-strowgerd":
        return 3 if disturbed(run_strowgerd(a.out, a.n, a.cpu)["cpu_share"]) else 0
    if a.cmd == "run-testpmd":
        return 3 if disturbed(run_testpmd(a.out, a.n, a.warmup, a.duration)["cpu_share"]) else 0
    return final(a)


if __name__ == "__main__":
    sys.exit(main() or 0)
