#!/usr/bin/env bash
# make demo's job on a machine with no sound server: a VM's sound (vsnd-play
# through vsnd-vhost-snd) falls back to a WAV file in the current directory
# holding exactly the 3 s test signal; then the Qubes half (a simulated VM's
# PipeWire with vsnd-qubes-agent -> vsnd-qubes) falls back to its own WAV file.
source "$VSND_TESTLIB"
vsnd_setup

cd "$T"
bash "$VSND_SOURCE_DIR/scripts/demo.sh" "$VSND_BUILD_DIR" >"$T/demo.log" 2>&1 || vsnd_fail "demo failed"
grep -q "through WAV file" "$T/demo.log" || vsnd_fail "auto did not fall back to wav: $(grep -q "a Qubes VM's sound" "$T/demo.log" || vsnd_fail "no Qubes part: $(cat "$T/demo.log")"
grep -q "VM's audio went to $T/vsnd-qubes-output.wav" "$T/demo.log" ||
	vsnd_fail "the Qubes part does not say where the output went: $(cat "$T/demo.log")"
# About 3 s of signal at 44.1 kHz. Only that: the demo runs two PipeWire
# daemons on whatever machine, the exact Qubes path is the qubes-agent-* tests'.
"$VSND_WAVCHECK" --expect-frames 132300 --tolerance 6615 --rate 44100 --channels 2 \
	"$T/vsnd-qubes-output.wav" >"$T/c.log" 2>&1 || vsnd_fail "Qubes demo output: $(cat "$T/c.log")"
cat "$T/demo.log")"
grep -q "audio went to $T/vsnd-output.wav" "$T/demo.log" || vsnd_fail "demo does not say where the output went"
grep -q "latency reported by the device" "$T/demo.log" || vsnd_fail "no latency figure"
grep -q "device CPU" "$T/demo.log" || vsnd_fail "no CPU figure"
"$VSND_WAVCHECK" --tones --expect-frames 144000 --rate 48000 --channels 2 "$T/vsnd-output.wav" >"$T/c.log" 2>&1 ||
	vsnd_fail "demo output: $(cat "$T/c.log")"
grep -q "a Qubes VM's sound" "$T/demo.log" || vsnd_fail "no Qubes part: $(cat "$T/demo.log")"
grep -q "VM's audio went to $T/vsnd-qubes-output.wav" "$T/demo.log" ||
	vsnd_fail "the Qubes part does not say where the output went: $(cat "$T/demo.log")"
# About 3 s of signal at 44.1 kHz. Only that: the demo runs two PipeWire
# daemons on whatever machine, the exact Qubes path is the qubes-agent-* tests'.
"$VSND_WAVCHECK" --expect-frames 132300 --tolerance 6615 --rate 44100 --channels 2 \
	"$T/vsnd-qubes-output.wav" >"$T/c.log" 2>&1 || vsnd_fail "Qubes demo output: $(cat "$T/c.log")"
cat "$T/demo.log"
