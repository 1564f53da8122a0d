#!/bin/bash
# SPDX-License-Identifier: MIT
# pipewire backend, capture: pw-play plays a known 2 s tones file into the null
# sink while vsnd-tone --record captures the sink's monitor through the
# pipewire backend. Both ways of naming the monitor are tested: the sink's
# node name (the backend asks the registry and sets stream.capture.sink) and
# NAME.monitor.
# shellcheck source=tests/integration/lib.sh
source "$VSND_TESTLIB"
# shellcheck source=tests/integration/pipewire/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/server.sh"
pw_test_setup
pw_server_start

# The reference signal: 2 s of vsnd-tone's tones, written by the wav backend.
"$VSND_TONE" --backend wav --wav-out "$T/tones.wav" --no-pacing -d 2 -q >/dev/null ||
	vsnd_fail "cannot write the tones file"

# capture NAME DEVICE FORMAT
# (a 32-period ring, 320 ms: vsnd-tone's draining loop is an ordinary thread on a
# shared, loaded machine; the backend's realtime side is under test)
capture() {
	local name=$1 dev=$2 fmt=$3
	local log="$T/tone-$name.log" xruns
	xruns=$(pw_xruns)
	vsnd_bg "tone-$name" env VSND_LOG=info,audio.pipewire:debug "$VSND_TONE" --backend pipewire \
		--vm-name "cap-$name" --device "$dev" -f "$fmt" --record "$T/cap-$name.wav" -d 5 \
		--ring-periods 32
	local pid=$BG_PID
	vsnd_wait_for 10 grep -q "stream state: running" "$log" ||
		vsnd_fail "$name: the capture stream does not run"
	grep -q "target $PW_SINK (the sink's monitor)" "$log" ||
		vsnd_fail "$name: $dev was not taken as the sink's monitor"
	(pw_rt pw-play --target "$PW_SINK" "$T/tones.wav") || vsnd_fail "$name: pw-play failed"
	wait "$pid" || vsnd_fail "$name: vsnd-tone --record failed"
	unset "VSND_BG_PIDS[tone-$name]"
	[ "$(tone_result status "$log")" = ok ] || vsnd_fail "$name: status is not ok"
	[ "$(tone_result recorded "$log")" = 240000 ] || vsnd_fail "$name: recorded != 5 s"
	# Nothing was dropped on our side ...
	[ "$(tone_result overrun "$log")" = 0 ] || vsnd_fail "$name: captured frames were dropped"
	# ... so the signal is the 96000 frames pw-play sent, without gaps.
	pw_check_tones "$T/cap-$name.wav" 96000 "$xruns" >"$T/check-$name.log" 2>&1 ||
		vsnd_fail "$name: the capture does not hold the tones: $(cat "$T/check-$name.log")"
	echo "$name: $(grep '^result:' "$log")"
	grep -h '^note:' "$T/check-$name.log"
	echo "$name: $(grep -E 'signal from|silent run' "$T/check-$name.log" | tr '\n' ' ')"
}

capture sink-name "$PW_SINK" s16
capture monitor-suffix "$PW_SINK.monitor" float
echo "PASS"
