#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/vm-reference: the vm suite's guest scenarios, run once against
# vsnd-vhost-snd (vhost-user-snd-pci, wav backend) and once against QEMU's
# in-process virtio-sound-pci (audiodev wav) as the reference; a table says
# which behaves better on each point. bench/results/vm-reference.json.
#
# Usage: bench/vm-reference.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
export VSND_BUILD_DIR="$build" VSND_SOURCE_DIR="$PWD"
source tests/integration/lib.sh
source tests/vm/vm-lib.sh
vsnd_setup
vm_prepare
tone() { "$build/tools/vsnd-tone" -q --backend wav --no-pacing --wav-out "$T/$1" -f "$2" -c "$3" -r "$4" -d "$5" "${@:6}" >/dev/null 2>&1; }
tone s16.wav s16 2 48000 1
tone f6.wav float 6 96000 1
tone u8.wav u8 1 8000 1
tone s24.wav s24_3 2 44100 1
tone mic.wav s16 2 48000 3 -s counter
cat >"$T/test.sh" <<'SH'
step() { name=$1; shift; "$@" >/dev/null 2>&1; echo "VSND-STEP $name $?"; }
step aplay-hw-s16 aplay -D hw:0,0 s16.wav
step aplay-default aplay s16.wav
step aplay-float-6ch-96k aplay -D hw:0,0 f6.wav
step aplay-u8-mono-8k aplay -D hw:0,0 u8.wav
step aplay-s24_3-44k aplay -D hw:0,0 s24.wav
step pause-resume ./pcm-pause s16.wav
step arecord-hw arecord -D hw:0,0 -f S16_LE -r 48000 -c 2 -s 48000 rec.wav
vm_send rec.wav
echo "VSND-KERNEL-ERRORS $(dmesg | grep -ci 'virtio_snd.*\(timeout\|fail\|error\)')"
SH
files=("$T/s16.wav" "$T/f6.wav" "$T/u8.wav" "$T/s24.wav" "$build/tests/vm/pcm-pause")

declare -A res
for dev in vsnd qemu; do
	if [ "$dev" = vsnd ]; then
		vsnd_bg backend "$build/tools/vsnd-vhost-snd" --socket-path "$T/snd.sock" --backend wav \
			--wav-out "$T/vsnd-out.wav" --wav-in "$T/mic.wav" --streams out:8,in
		vsnd_wait_for 5 test -S "$T/snd.sock" || vsnd_fail "no socket"
		unset VM_SND_ARGS
	else
		export VM_SND_ARGS="-audiodev wav,id=snd0,path=$T/qemu-out.wav -device virtio-sound-pci,audiodev=snd0"
	fi
	vm_run "$T/snd.sock" "$T/test.sh" "${files[@]}"
	[ "$dev" = vsnd ] && vsnd_stop backend
	tr -d '\r' <"$T/console.log" >"$T/console-$dev.log"
	while read -r _ name rc; do res[$dev,$name]=$rc; done < <(grep '^VSND-STEP ' "$T/console-$dev.log")
	res[$dev,kernel-errors]=$(sed -n 's/^VSND-KERNEL-ERRORS //p' "$T/console-$dev.log")
	vm_fetch rec.wav "$T/rec-$dev.wav"
	# The recording: does it hold the capture source (a frame counter) exactly?
	if "$build/tests/tools/vsnd-wavcheck" --counter "$T/rec-$dev.wav" 2>/dev/null | grep -q "0 frames lost, 0 repeated, 0 inconsistent" &&
		[ "$(od -An -tx1 -j44 -N4096 "$T/rec-$dev.wav" | tr -d ' \n' | tr -d 0)" != "" ]; then
		res[$dev,capture-exact]=0
	else
		res[$dev,capture-exact]=1
	fi
done
# Playback exactness: the S16 48 kHz file's samples appear, unchanged, in the device's output
# (the same stream format is played three times, so look for it, not for equality).
contains() {
	python3 - "$1" "$2" <<'PY'
import sys, wave
ref = wave.open(sys.argv[1]).readframes(10**9)
try:
    w = wave.open(sys.argv[2])
    out = w.readframes(10**9)
    ok = w.getframerate() == 48000 and w.getnchannels() == 2 and w.getsampwidth() == 2 and ref in out
except Exception:
    ok = False
sys.exit(0 if ok else 1)
PY
}
contains "$T/s16.wav" "$T/vsnd-out.wav"
res[vsnd,playback-exact]=$?
contains "$T/s16.wav" "$T/qemu-out.wav"
res[qemu,playback-exact]=$?

points=(aplay-hw-s16 playback-exact aplay-default aplay-float-6ch-96k aplay-u8-mono-8k aplay-s24_3-44k pause-resume arecord-hw capture-exact kernel-errors)
printf '%-22s %-22s %-22s %s\n' point vsnd-vhost-snd "QEMU virtio-sound-pci" better
json="{\"bench\": \"vm-reference\", \"points\": {"
for p in "${points[@]}"; do
	v=${res[vsnd,$p]:-?} q=${res[qemu,$p]:-?}
	word() { if [ "$p" = kernel-errors ]; then echo "$1 errors"; elif [ "$1" = 0 ]; then echo ok; else echo "fails ($1)"; fi; }
	better=same
	[ "$v" = 0 ] && [ "$q" != 0 ] && better=vsnd-vhost-snd
	[ "$q" = 0 ] && [ "$v" != 0 ] && better="QEMU virtio-sound-pci"
	printf '%-22s %-22s %-22s %s\n' "$p" "$(word "$v")" "$(word "$q")" "$better"
	json+="\"$p\": {\"vsnd\": \"$(word "$v")\", \"qemu\": \"$(word "$q")\", \"better\": \"$better\"},"
done
qfmt=$(python3 -c "import wave,sys; w=wave.open(sys.argv[1]); print(f'{w.getframerate()} Hz, {w.getnchannels()} ch, {8*w.getsampwidth()} bit')" "$T/qemu-out.wav" 2>/dev/null)
echo "QEMU's wav audiodev wrote: ${qfmt:-nothing readable} (the guest played 48000 Hz, 2 ch, 16 bit first)"
json+="\"qemu_wav_format\": {\"value\": \"${qfmt:-none}\"},"
mkdir -p bench/results
echo "${json%,}}}" | python3 -m json.tool >bench/results/vm-reference.json
echo "written bench/results/vm-reference.json"
