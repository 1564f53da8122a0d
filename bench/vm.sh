#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/vm: a real guest plays SECONDS of 48 kHz stereo S16 (pcm-delay, 100 ms
# buffer) through (a) vsnd-vhost-snd (wav backend, paced) via
# vhost-user-snd-pci and (b) QEMU's in-process virtio-sound-pci (audiodev wav).
# Figures per audio second: CPU of the backend process and of QEMU (user+sys),
# and the delay the guest's ALSA reports (snd_pcm_delay p50/p99/max).
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
		if [ "$dev" = vsnd ]; then
			c1=$(proc_cpu "${VSND_BG_PIDS[backend]}")
			backend_cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')
			vsnd_stop backend
			rm -f "$T/snd.sock"
		fi
		delay=$(tr -d '\r' <"$T/console.log" | sed -n 's/^VSND-DELAY //p')
		[ -n "$delay" ] || vsnd_fail "$dev: the guest player failed"
		echo "$dev $r $backend_cpu $qu $qs $qr $delay" | tee -a "$raw" >&2
	done
done
python3 - "$raw" "$secs" <<'PY'
import sys
sys.path.insert(0, "bench")
from report import summarize, write
raw, secs = sys.argv[1], float(sys.argv[2])
runs = []
for line in open(raw):
    dev, r, bcpu, qu, qs, wall, *kv = line.split()
    d = dict(x.split("=") for x in kv)
    runs.append({"device": dev, "run": int(r), "backend_cpu_s": float(bcpu), "qemu_cpu_s": float(qu) + float(qs),
                 "wall_s": float(wall), "backend_cpu_pct_per_audio_s": 100 * float(bcpu) / secs,
                 "qemu_cpu_pct_per_audio_s": 100 * (float(qu) + float(qs)) / secs,
                 "guest_delay_p50_ms": float(d["p50_ms"]), "guest_delay_p99_ms": float(d["p99_ms"]),
                 "guest_delay_max_ms": float(d["max_ms"])})
keys = ["backend_cpu_pct_per_audio_s", "qemu_cpu_pct_per_audio_s", "guest_delay_p50_ms", "guest_delay_p99_ms", "guest_delay_max_ms"]
median = summarize(runs, lambda r: r["device"], keys)
write("vm", seconds=secs, runs=runs, median=median)
print(f"{'device':<28} {'backend CPU %':>13} {'QEMU CPU %':>10} {'delay p50':>9} {'p99':>7} {'max':>7}")
names = {"vsnd": "vsnd-vhost-snd (vhost-user)", "qemu": "QEMU virtio-sound-pci"}
for dev, m in median.items():
    print(f"{names[dev]:<28} {m['backend_cpu_pct_per_audio_s']:>13.3f} {m['qemu_cpu_pct_per_audio_s']:>10.1f} "
          f"{m['guest_delay_p50_ms']:>9.1f} {m['guest_delay_p99_ms']:>7.1f} {m['guest_delay_max_ms']:>7.1f}")
print("written bench/results/vm.json")
PY
