#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turn `result:` lines of vsnd-tone runs into bench/results/NAME.json and a table.

Input lines: CASE<TAB>AUDIO_SECONDS<TAB>PERIOD_MS<TAB>result: key=value ...
Figures per BENCH.md: CPU per audio second (% of one core), wakeups per second,
latency; median and range over the runs of each case.
"""
import json, os, platform, statistics, subprocess, sys


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"uname": " ".join(platform.uname()), "cpu": cpu, "cores": os.cpu_count()}


def summarize(runs, case_of, keys):
    """Median and [min, max] of each key over the runs of each case, in first-seen case order."""
    cases = {}
    for r in runs:
        cases.setdefault(str(case_of(r)), []).append(r)
    return {c: {**{k: statistics.median(r[k] for r in rs) for k in keys},
                **{k + "_range": [min(r[k] for r in rs), max(r[k] for r in rs)] for k in keys}}
            for c, rs in cases.items()}


def timer_floor(build, secs, period_ms):
    """bench/timer-floor for SECS at PERIOD_MS: its result line as a dict (cpu_s, wall_s, ctxsw, ...)."""
    out = subprocess.run([os.path.join(build, "bench", "timer-floor"), str(secs), f"{period_ms:.4f}"],
                         check=True, capture_output=True, text=True).stdout
    return dict(tok.split("=", 1) for tok in out.split("result:")[-1].split() if "=" in tok)


def write(name, **doc):
    """bench/results/NAME.json with the bench name and the machine it ran on."""
    os.makedirs("bench/results", exist_ok=True)
    with open(f"bench/results/{name}.json", "w") as f:
        json.dump({"bench": name, "machine": machine(), **doc}, f, indent=2)


def parse(line):
    case, audio_s, period_ms, rest = line.rstrip("\n").split("\t", 3)
    kv = dict(tok.split("=", 1) for tok in rest.split()[1:] if "=" in tok)
    wall = float(kv["wall_s"])
    cpu = float(kv["cpu_s"])
    return case, {
        "audio_s": float(audio_s),
        "period_ms": float(period_ms),
        "status": kv.get("status", "?"),
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_pct_per_audio_s": 100.0 * cpu / float(audio_s) if float(audio_s) else 0.0,
        "wakeups_per_s": int(kv.get("ctxsw", 0)) / wall if wall else 0.0,
        "latency_ms": float(kv.get("latency_ms", 0)),
        "delay_max_ms": float(kv.get("delay_max_ms", 0)),
        "underrun_frames": int(kv.get("underrun", 0)),
    }


def main():
    name, src = sys.argv[1], sys.argv[2]
    runs = {}
    for line in open(src):
        if line.strip():
            case, r = parse(line)
            runs.setdefault(case, []).append(r)
    keys = ["cpu_pct_per_audio_s", "wakeups_per_s", "latency_ms", "delay_max_ms"]
    flat = [dict(case=c, **r) for c, rs in runs.items() for r in rs]
    median = summarize(flat, lambda r: r["case"], keys)
    for case, rs in runs.items():
        median[case]["period_ms"] = rs[0]["period_ms"]
        median[case]["runs"] = len(rs)
        median[case]["all_ok"] = all(r["status"] == "ok" for r in rs)
    write(name, runs=flat, median=median)
    print(f"{'case':<12} {'runs':>4} {'CPU %/audio s':>14} {'(range)':>17} {'wakeups/s':>10} "
          f"{'latency ms':>10} {'server ms':>9} {'period ms':>9} ok")
    for case, m in median.items():
        lo, hi = m["cpu_pct_per_audio_s_range"]
        print(f"{case:<12} {m['runs']:>4} {m['cpu_pct_per_audio_s']:>14.3f} {f'({lo:.3f}-{hi:.3f})':>17} "
              f"{m['wakeups_per_s']:>10.0f} {m['latency_ms']:>10.1f} {m['delay_max_ms']:>9.1f} "
              f"{m['period_ms']:>9.1f} {'yes' if m['all_ok'] else 'NO'}")
    print(f"written bench/results/{name}.json")


if __name__ == "__main__":
    main()
