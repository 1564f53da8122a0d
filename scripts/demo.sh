#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo: a VM's sound. vsnd-vhost-snd, the virtio-snd device a VMM would
# connect to, runs on the auto backend (PipeWire if a server answers, else
# PulseAudio, else a WAV file here); vsnd-play, a user-space virtio-snd driver,
# plays 3 s of test tones through it as a guest's driver would.
set -uo pipefail
build=${1:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vsnd-demo.XXXXXX")
backend_pid=
cleanup() {
	[ -n "$backend_pid" ] && kill "$backend_pid" 2>/dev/null && wait "$backend_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

"$build/tools/vsnd-tone" -q --backend wav --no-pacing --wav-out "$tmp/tones.wav" -r 48000 -d 3 >/dev/null 2>&1 ||
	{ echo "demo: cannot make the test signal" >&2; exit 1; }
"$build/tools/vsnd-vhost-snd" --socket-path "$tmp/snd.sock" --backend auto --vm-name vsnd-demo \
	--wav-out "$(pwd)/vsnd-output.wav" 2>"$tmp/backend.log" &
backend_pid=$!
for _ in $(seq 100); do [ -S "$tmp/snd.sock" ] && break; sleep 0.05; done
[ -S "$tmp/snd.sock" ] || { cat "$tmp/backend.log" >&2; exit 1; }
clk=$(getconf CLK_TCK)
cpu0=$(awk '{ print $14 + $15 }' "/proc/$backend_pid/stat")
echo "== vsnd demo: a VM's sound"
echo "   device:  vsnd-vhost-snd $(grep -o 'through .*' "$tmp/backend.log")"
echo "   driver:  vsnd-play, 3 s of tones (440 Hz left, 660 Hz right), 10 ms periods"
"$build/tools/vsnd-play" --socket "$tmp/snd.sock" "$tmp/tones.wav" 2>/dev/null | sed 's/^/   /' ||
	{ cat "$tmp/backend.log" >&2; exit 1; }
cpu1=$(awk '{ print $14 + $15 }' "/proc/$backend_pid/stat")
awk -v a="$cpu0" -v b="$cpu1" -v c="$clk" 'BEGIN { printf "   device CPU: %.2f %% of one core over the 3 s of audio\n", (b - a) / c / 3 * 100 }'
kill "$backend_pid"; wait "$backend_pid" 2>/dev/null; backend_pid=
if grep -q "WAV file" "$tmp/backend.log"; then
	echo "== no sound server answered: the audio went to $(pwd)/vsnd-output.wav"
fi
"$(dirname "$0")/demo-qubes.sh" "$build"
