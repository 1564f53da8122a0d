#!/usr/bin/env bash
# Unsupported parameters: a clear error naming the value, exit code 2, no crash.
source "$VSND_TESTLIB"
vsnd_setup

expect_refusal() {
	local what=$1; shift
	local rc=0
	"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/x.wav" -d 0.1 "$@" >"$T/out.log" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || vsnd_fail "$*: exit code $rc, expected 2: $(cat "$T/out.log")"
	grep -q -- "$what" "$T/out.log" || vsnd_fail "$*: no message naming '$what': $(cat "$T/out.log")"
	echo "refused $* ($what)"
}
expect_refusal "7000" -r 7000
expect_refusal "192001" -r 192001
expect_refusal "channel count 9" -c 9
expect_refusal "channel count 0" -c 0
expect_refusal "s64" -f s64
expect_refusal "oss" --backend oss
# A capture stream must match the input file: the wav backend does not resample.
"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/in.wav" -r 48000 -d 0.1 >/dev/null 2>&1
expect_refusal "44100 Hz not supported" --wav-in "$T/in.wav" -r 44100 --record "$T/y.wav"
