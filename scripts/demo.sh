#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo: play a few seconds of test signal through the auto backend
# (PipeWire if a server answers, else PulseAudio, else a WAV file here).
set -euo pipefail
build=${1:-build}
echo "== vsnd demo: 3 s of test tones (440 Hz left, 660 Hz right) through the auto backend"
"$build/tools/vsnd-tone" --backend auto --vm-name vsnd-demo --duration 3
if [ -f vsnd-output.wav ] && [ -z "${PIPEWIRE_REMOTE:-}${PULSE_SERVER:-}" ]; then
	echo "== no sound server answered: the audio went to $(pwd)/vsnd-output.wav"
fi
