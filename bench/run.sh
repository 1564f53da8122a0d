#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: run every benchmark (each writes bench/results/NAME.json and prints a table).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
status=0
bench/audio-backends.sh "$build" || status=1
python3 bench/qubes.py "$build" || status=1
bench/vm.sh "$build" || status=1
bench/vm-reference.sh "$build" || status=1
bench/vhost-snd.sh "$build" || status=1
bench/qubes-e2e.sh "$build" || status=1
"$build/tests/vchan/vsnd-bench-vchan" || status=1
"$build/bench/vsnd-bench-virtqueue" || status=1
exit $status
