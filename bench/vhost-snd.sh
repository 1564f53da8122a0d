#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/vhost-snd: vsnd-play -> vsnd-vhost-snd (wav backend, paced), 48 kHz
# stereo S16, 10 ms periods: the backend's CPU per audio second and wake-ups
# per second, and completion jitter (a buffer's completion time against
# start + n periods, constant offset removed) p50/p99/max; one stream, and 8
# at once (8 backend processes, as 8 VMs). JSON + table + PNG of the jitter.
#
# Usage: bench/vhost-snd.sh [BUILD_DIR] [SECONDS=30] [RUNS=3]
set -uo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
secs=${2:-30} runs=${3:-3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vsnd-bench-snd.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
clk=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sw() { awk '/ctxt_switches/ { n += $2 } END { print n }' "/proc/$1/status"; }
"$build/tools/vsnd-tone" -q --backend wav --no-pacing --wav-out "$tmp/in.wav" -r 48000 -d "$secs" -s silence \
	>/dev/null 2>&1
raw="$tmp/raw.txt"
for r in $(seq "$runs"); do
	for n in 1 8; do
		pids=()
		for i in $(seq "$n"); do
			"$build/tools/vsnd-vhost-snd" --socket-path "$tmp/s$i.sock" --backend wav \
				--wav-out "$tmp/out$i.wav" 2>/dev/null &
			pids+=($!)
		done
		for i in $(seq "$n"); do
			for _ in $(seq 100); do [ -S "$tmp/s$i.sock" ] && break; sleep 0.02; done
		done
		c0=0 s0=0
		for p in "${pids[@]}"; do c0=$((c0 + $(cpu "$p"))); s0=$((s0 + $(sw "$p"))); done
		t0=$(date +%s%N)
		players=()
		for i in $(seq "$n"); do
			"$build/tools/vsnd-play" --socket "$tmp/s$i.sock" --jitter-out "$tmp/jit-$n-$r-$i.txt" "$tmp/in.wav" \
				>"$tmp/play$i.log" 2>&1 &
			players+=($!)
		done
		wait "${players[@]}"
		wall=$(( ($(date +%s%N) - t0) / 1000000 ))
		c1=0 s1=0
		for p in "${pids[@]}"; do c1=$((c1 + $(cpu "$p"))); s1=$((s1 + $(sw "$p"))); done
		kill "${pids[@]}" 2>/dev/null
		wait "${pids[@]}" 2>/dev/null
		rm -f "$tmp"/s*.sock
		cat "$tmp"/jit-$n-$r-*.txt >"$tmp/jit-$n-$r.txt"
		xr=$(cat "$tmp"/play*.log | sed -n 's/.* \([0-9]*\) xruns.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
		echo "$n $r $((c1 - c0)) $((s1 - s0)) $wall $xr" | tee -a "$raw" >&2
	done
done
python3 - "$raw" "$tmp" "$secs" "$clk" <<'PY'
import subprocess, sys
sys.path.insert(0, "bench")
from report import summarize, write
raw, tmp, secs, clk = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
runs = []
for line in open(raw):
    n, r, ticks, sw, wall, xr = map(int, line.split())
    jit = sorted(float(x) for x in open(f"{tmp}/jit-{n}-{r}.txt"))
    q = lambda p: jit[min(len(jit) - 1, int(len(jit) * p))]
    runs.append({"streams": n, "run": r, "cpu_pct_per_stream": 100.0 * ticks / clk / secs / n,
                 "wakeups_per_s_per_stream": sw / (wall / 1000.0) / n, "wall_s": wall / 1000.0,
                 "jitter_p50_ms": q(0.5), "jitter_p99_ms": q(0.99), "jitter_max_ms": jit[-1], "xruns": xr})
keys = ["cpu_pct_per_stream", "wakeups_per_s_per_stream", "jitter_p50_ms", "jitter_p99_ms", "jitter_max_ms", "xruns"]
median = summarize(runs, lambda r: r["streams"], keys)
write("vhost-snd", seconds=secs, runs=runs, median=median)
print(f"{'streams':>7} {'CPU %/stream':>12} {'(range)':>15} {'wakeups/s':>9} {'jitter p50':>10} {'p99':>7} {'max':>7} {'xruns':>5}")
for n, m in median.items():
    lo, hi = m["cpu_pct_per_stream_range"]
    print(f"{n:>7} {m['cpu_pct_per_stream']:>12.3f} {f'({lo:.3f}-{hi:.3f})':>15} {m['wakeups_per_s_per_stream']:>9.0f} "
          f"{m['jitter_p50_ms']:>10.3f} {m['jitter_p99_ms']:>7.3f} {m['jitter_max_ms']:>7.3f} {m['xruns']:>5.0f}")
# jitter distribution plot, all runs of each case
for n in (1, 8):
    with open(f"{tmp}/all-{n}.txt", "w") as f:
        for r in runs:
            if r["streams"] == n:
                f.write(open(f"{tmp}/jit-{n}-{r['run']}.txt").read())
subprocess.run(["gnuplot"], input=f"""
set terminal png size 800,450
set output 'bench/results/vhost-snd.png'
set title 'vsnd-vhost-snd completion jitter (10 ms periods, wav backend)'
set xlabel 'deviation from the period grid (ms)'
set ylabel 'fraction of completions at or below'
set key bottom right
plot '{tmp}/all-1.txt' using 1:(1.0) smooth cnorm title '1 stream', '{tmp}/all-8.txt' using 1:(1.0) smooth cnorm title '8 streams'
""", text=True, check=False)
print("written bench/results/vhost-snd.json and bench/results/vhost-snd.png")
PY
