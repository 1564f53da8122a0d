#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/vm: a real guest plays SECONDS of 48 kHz stereo S16 (pcm-delay, 100 ms
# buffer) through (a) vsnd-vhost-snd (wav backend, paced) via
# vhost-user-snd-pci and (b) QEMU's in-process virtio-sound-pci (audiodev wav).
# Figures per audio second: CPU of the backend process and of QEMU (user+sys),
# and the delay the guest's ALSA reports (snd_pcm_delay p50/p99/max) against
# the true queue depth: frames the guest has written minus frames the host has
# played (in the output WAV) when each of the guest's 100 ms reports reaches
# the host's console file (bench/vm_depth.py); "unseen" = true - reported,
# queueing the guest cannot see. Both WAV writers grow their file in steps (a
# period; QEMU's through a 4 KiB stdio buffer, ~21 ms), so true reads a few ms high.
# Under TCG the QEMU figure is mostly CPU emulation; compare the two cases.
#
# Usage: bench/vm.sh [BUILD_DIR] [SECONDS=30] [RUNS=3]
set -uo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
secs=${2:-30} runs=${3:-3}
export VSND_BUILD_DIR="$build" VSND_SOURCE_DIR="$PWD"
source tests/integration/lib.sh
source tests/vm/vm-lib.sh
vsnd_setup
vm_prepare
raw="$T/raw.txt"
clk=$(getconf CLK_TCK)
proc_cpu() { awk -v c="$clk" '{ print ($14 + $15) / c }' "/proc/$1/stat"; }

cat >"$T/test.sh" <<SH
./pcm-delay $secs
SH
for r in $(seq "$runs"); do
	for dev in vsnd qemu; do
		backend_cpu=0
		rm -f "$T/console.log" "$T/stop" "$T/out.wav" "$T/qemu.wav"
		wav="$T/out.wav"
		[ "$dev" = qemu ] && wav="$T/qemu.wav"
		vsnd_bg depth python3 bench/vm_depth.py "$T/console.log" "$wav" "$T/depth-$dev-$r.txt" "$T/stop"
		if [ "$dev" = vsnd ]; then
			vsnd_bg backend "$build/tools/vsnd-vhost-snd" --socket-path "$T/snd.sock" --backend wav \
				--wav-out "$T/out.wav"
			vsnd_wait_for 5 test -S "$T/snd.sock" || vsnd_fail "no socket"
			c0=$(proc_cpu "${VSND_BG_PIDS[backend]}")
			unset VM_SND_ARGS
		else
			export VM_SND_ARGS="-audiodev wav,id=snd0,path=$T/qemu.wav -device virtio-sound-pci,audiodev=snd0"
		fi
		TIMEFORMAT='%U %S %R'
		{ time VM_TIMEOUT=$((secs * 3 + 120)) vm_run "$T/snd.sock" "$T/test.sh" "$build/tests/vm/pcm-delay" 2>/dev/null; } 2>"$T/time.txt"
		read -r qu qs qr <"$T/time.txt"
		touch "$T/stop"
		wait "${VSND_BG_PIDS[depth]}"
		unset "VSND_BG_PIDS[depth]"
		if [ "$dev" = vsnd ]; then
			c1=$(proc_cpu "${VSND_BG_PIDS[backend]}")
			backend_cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')
			vsnd_stop backend
			rm -f "$T/snd.sock"
		fi
		delay=$(tr -d '\r' <"$T/console.log" | sed -n 's/^VSND-DELAY //p')
		[ -n "$delay" ] || vsnd_fail "$dev: the guest player failed"
		echo "$dev $r $backend_cpu $qu $qs $qr $delay depth=$T/depth-$dev-$r.txt" | tee -a "$raw" >&2
	done
done
python3 - "$raw" "$secs" <<'PY'
import sys
sys.path.insert(0, "bench")
from report import summarize, write
raw, secs = sys.argv[1], float(sys.argv[2])


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, len(v) * q // 100)] if v else float("nan")


def true_depth(path):
    """Guest frames written - host frames played, when each VSND-Q line reached the host (vm_depth.py)."""
    true, unseen = [], []
    for i, line in enumerate(open(path)):
        w, d, p = (int(x) for x in line.split())
        if i < 10 or p == 0:  # the first second: the stream starting
            continue
        true.append((w - p) / 48.0)
        unseen.append((w - p - d) / 48.0)
    return {"true_depth_p50_ms": pct(true, 50), "true_depth_p99_ms": pct(true, 99),
            "unseen_p50_ms": pct(unseen, 50), "depth_samples": len(true)}


runs = []
for line in open(raw):
    dev, r, bcpu, qu, qs, wall, *kv = line.split()
    d = dict(x.split("=") for x in kv)
    runs.append({"device": dev, "run": int(r), "backend_cpu_s": float(bcpu), "qemu_cpu_s": float(qu) + float(qs),
                 "wall_s": float(wall), "backend_cpu_pct_per_audio_s": 100 * float(bcpu) / secs,
                 "qemu_cpu_pct_per_audio_s": 100 * (float(qu) + float(qs)) / secs,
                 "guest_delay_p50_ms": float(d["p50_ms"]), "guest_delay_p99_ms": float(d["p99_ms"]),
                 "guest_delay_max_ms": float(d["max_ms"]), **true_depth(d["depth"])})
keys = ["backend_cpu_pct_per_audio_s", "qemu_cpu_pct_per_audio_s", "guest_delay_p50_ms", "guest_delay_p99_ms", "guest_delay_max_ms",
        "true_depth_p50_ms", "true_depth_p99_ms", "unseen_p50_ms"]
median = summarize(runs, lambda r: r["device"], keys)
write("vm", seconds=secs, runs=runs, median=median,
      depth="true_depth: guest frames written - frames in the host's output WAV when the guest's 100 ms report "
            "reached the host console; unseen = true - snd_pcm_delay at that report. QEMU's wav audiodev writes "
            "through stdio (4 KiB = 23.2 ms steps at 44.1 kHz), so its true depth reads 0-23 ms high (~12 ms on "
            "average); vsnd's WAV grows a period (10 ms) at a time, after the period is played")
print(f"{'device':<28} {'backend CPU %':>13} {'QEMU CPU %':>10} {'delay p50':>9} {'p99':>7} {'max':>7}"
      f" {'true p50':>8} {'p99':>7} {'unseen p50':>10}")
names = {"vsnd": "vsnd-vhost-snd (vhost-user)", "qemu": "QEMU virtio-sound-pci"}
for dev, m in median.items():
    print(f"{names[dev]:<28} {m['backend_cpu_pct_per_audio_s']:>13.3f} {m['qemu_cpu_pct_per_audio_s']:>10.1f} "
          f"{m['guest_delay_p50_ms']:>9.1f} {m['guest_delay_p99_ms']:>7.1f} {m['guest_delay_max_ms']:>7.1f}"
          f" {m['true_depth_p50_ms']:>8.1f} {m['true_depth_p99_ms']:>7.1f} {m['unseen_p50_ms']:>10.1f}")
print("written bench/results/vm.json")
PY
