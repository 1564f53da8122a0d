#!/bin/bash
# SPDX-License-Identifier: MIT
# pipewire backend, playback: vsnd-tone plays 3 s of tones to a real PipeWire
# server's null sink while pw-record records the sink's monitor; the recording
# must hold exactly the tones (right frequency per channel, 144000 frames
# within one period, no gap). Three formats, one of them at 44.1 kHz so that
# PipeWire's own conversion is in the path.
# shellcheck source=tests/integration/lib.sh
source "$VSND_TESTLIB"
# shellcheck source=tests/integration/pipewire/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/server.sh"
pw_test_setup
pw_server_start

# play NAME FORMAT RATE [vsnd-tone options...]
play() {
	local name=$1 fmt=$2 rate=$3; shift 3
	pw_record_start "rec-$name"
	local xruns
	xruns=$(pw_xruns)
	# A 32-period ring (320 ms): vsnd-tone's refilling loop is an ordinary thread on
	# a shared, loaded machine; the backend's realtime side is under test.
	"$VSND_TONE" --backend pipewire --vm-name "play-$name" -f "$fmt" -r "$rate" -c 2 -d 3 \
		--ring-periods 32 "$@" \
		>"$T/tone-$name.log" 2>&1 || vsnd_fail "$name: vsnd-tone failed"
	pw_record_stop "rec-$name"
	local log="$T/tone-$name.log"
	[ "$(tone_result status "$log")" = ok ] || vsnd_fail "$name: status is not ok"
	[ "$(tone_result backend "$log")" = pipewire ] || vsnd_fail "$name: not the pipewire backend"
	# vsnd-tone counts what the server took from the ring: all of it.
	[ "$(tone_result frames "$log")" = $((3 * rate)) ] || vsnd_fail "$name: frames moved != $((3 * rate))"
	# Underruns only in the very last cycle, after the ring ran dry: at most
	# 40 ms of silence counted at the end; the middle has no gap (--max-gap).
	local und
	und=$(tone_result underrun "$log")
	[ "$und" -le $((rate / 25)) ] || vsnd_fail "$name: $und underrun frames"
	pw_check_tones "$T/rec-$name.wav" 144000 "$xruns" >"$T/check-$name.log" 2>&1 ||
		vsnd_fail "$name: the recording does not hold the tones: $(cat "$T/check-$name.log")"
	echo "$name: $(grep '^result:' "$log")"
	grep -h '^note:' "$T/check-$name.log"
	echo "$name: $(grep 'signal from' "$T/check-$name.log")"
}

# default target (the default sink WirePlumber chose)
play s16 s16 48000
# an explicit target.object
play float float 48000 --device "$PW_SINK"
# packed 24 bit at another rate: PipeWire resamples
play s24_3 s24_3 44100 --device "$PW_SINK" -p 20
echo "PASS"
