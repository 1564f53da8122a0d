#!/bin/bash
# SPDX-License-Identifier: MIT
# xrun recovery. The vsndtest device paces like a card with a 4-period
# buffer (40 ms); stopping vsnd-tone (SIGSTOP, all its threads) for 500 ms
# makes the device run dry (playback) or overflow (capture) for certain.
# After SIGCONT the backend must recover (snd_pcm_recover, restart), count
# the lost frames as underrun/overrun, and play or record on to the end.
# The device measures the gap on its own clock: the backend's count must
# agree with it.
source "$(dirname "$0")/common.sh"

alsa_conf <<EOF
pcm.vsnd_card { type vsndtest file "$T/card.raw" stats "$T/play.stats" }
pcm.vsnd_card_in { type vsndtest stats "$T/rec.stats" }
EOF

RATE=48000
STOP_S=0.5
SECS=3
TOTAL=$((RATE * SECS))

# stall NAME ARGS...: run vsnd-tone ARGS, stop it for $STOP_S after 1 s.
stall() {
	local name=$1 rc=0
	shift
	vsnd_bg "$name" "$VSND_TONE" --backend alsa -r $RATE -d $SECS "$@"
	local pid=$BG_PID
	sleep 1
	kill -STOP "$pid" || vsnd_fail "$name: vsnd-tone ended early"
	sleep $STOP_S
	kill -CONT "$pid"
	wait "$pid" || rc=$?
	unset "VSND_BG_PIDS[$name]"
	[ "$rc" -eq 0 ] || vsnd_fail "$name: vsnd-tone failed (exit $rc)"
	grep -q "status=ok" "$T/$name.log" || vsnd_fail "$name: status not ok"
}

# --- playback: underrun ---
stall play --device vsnd_card -s counter
check_result "$T/play.log" frames -eq $TOTAL
xruns=$(stats_field "$T/play.stats" xruns)
gap=$(stats_field "$T/play.stats" gap_frames)
under=$(result_field "$T/play.log" underrun)
[ "$xruns" -ge 1 ] || vsnd_fail "play: the device saw no xrun: $(cat "$T/play.stats")"
[ "$(stats_field "$T/play.stats" starts)" -eq $((xruns + 1)) ] ||
	vsnd_fail "play: the device was not restarted after each xrun: $(cat "$T/play.stats")"
# The device ran dry for about the stop minus its buffer: at least 300 ms.
[ "$gap" -ge $((RATE * 3 / 10)) ] || vsnd_fail "play: the device gap is only $gap frames"
# underrun = the xrun gap (estimated by the backend) + the silence at the
# end while vsnd-tone waits out the device's delay (at most 4 periods + 1).
# Allow 5 ms of disagreement between the two clocks' readings.
slack=$((RATE * 5 / 1000))
if [ "$under" -lt $((gap - slack)) ] || [ "$under" -gt $((gap + 5 * 480 + slack)) ]; then
	vsnd_fail "play: backend counted $under underrun frames, device gap $gap frames"
fi
# Every frame the device got, in order, none lost or repeated by the recovery
# (the silence of the tail cut off: it comes after the last frame).
head -c $((TOTAL * 4)) "$T/card.raw" >"$T/card-cut.raw"
raw_to_wav s16 $RATE 2 "$T/card-cut.raw" "$T/card.wav" || vsnd_fail "play: cannot convert"
"$VSND_WAVCHECK" --counter "$T/card.wav" >"$T/check-play.log" 2>&1 ||
	vsnd_fail "play: frames lost or repeated across the xrun"
echo "ok: playback xrun: device gap $gap frames, backend underrun $under frames ($(cat "$T/play.stats"))"

# --- capture: overrun ---
stall rec --device vsnd_card_in --record "$T/rec.wav"
check_result "$T/rec.log" recorded -eq $TOTAL
xruns=$(stats_field "$T/rec.stats" xruns)
gap=$(stats_field "$T/rec.stats" gap_frames)
over=$(result_field "$T/rec.log" overrun)
[ "$xruns" -ge 1 ] || vsnd_fail "rec: the device saw no overrun: $(cat "$T/rec.stats")"
[ "$gap" -ge $((RATE * 3 / 10)) ] || vsnd_fail "rec: the device lost only $gap frames"
# Capture has no tail: the counts must agree within the clocks' disagreement.
if [ "$over" -lt $((gap - slack)) ] || [ "$over" -gt $((gap + slack)) ]; then
	vsnd_fail "rec: backend counted $over overrun frames, device dropped $gap frames"
fi
echo "ok: capture xrun: device dropped $gap frames, backend overrun $over frames ($(cat "$T/rec.stats"))"
