#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/audio-backends: CPU time per second of 48 kHz stereo S16 audio at 10 ms
# periods, wake-ups per second, and the latency each backend reports, for every
# backend (real PipeWire and PulseAudio servers started privately, as the tests
# do), against the floor of a bare 10 ms timerfd wake-up on this machine.
# The signal is digital silence so the figure is the audio path, not sin().
#
# Usage: bench/audio-backends.sh [BUILD_DIR] [SECONDS=20] [RUNS=3]
set -uo pipefail # not -e: the test helpers it sources return non-zero by design
cd "$(dirname "$0")/.."
build=${1:-build} secs=${2:-20} runs=${3:-3}
tone="$build/tools/vsnd-tone"
period_ms=10
raw=$(mktemp)

run_case() {
	local name=$1; shift
	for r in $(seq "$runs"); do
		line=$("$@" 2>/dev/null | grep '^result:') || { echo "$name run $r failed" >&2; continue; }
		printf '%s\t%s\t%s\t%s\n' "$name" "$secs" "$period_ms" "$line" >>"$raw"
		echo "$name run $r: $line" >&2
	done
}

play() { "$tone" -q -s silence -r 48000 -c 2 -f s16 -p "$period_ms" -d "$secs" --vm-name bench "$@"; }

run_case floor "$build/bench/timer-floor" "$secs" "$period_ms"
run_case null play --backend null
run_case wav play --backend wav --wav-out "$(mktemp -u /tmp/vsnd-bench.XXXXXX.wav)"
rm -f /tmp/vsnd-bench.*.wav

# Real servers, each in a private runtime dir, as in the integration tests.
export VSND_TONE="$tone" VSND_BUILD_DIR="$build" VSND_SOURCE_DIR="$PWD"
(
	source tests/integration/lib.sh
	source tests/integration/pipewire/server.sh
	pw_test_setup
	pw_server_start
	run_case pipewire play --backend pipewire
)
(
	source tests/integration/lib.sh
	source tests/integration/pulse/server.sh
	vsnd_setup
	pulse_start
	run_case pulse play --backend pulse --device vsnd_null
)

python3 bench/report.py audio-backends "$raw"
rm -f "$raw"
