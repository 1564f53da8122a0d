#!/bin/bash
# SPDX-License-Identifier: MIT
# pulse-capture: paplay plays a known tones file into the null sink while
# vsnd-tone records the sink's monitor through the pulse backend; the
# recording must carry the tones, whole (see the tolerance below), no dropout,
# no overrun.
source "$VSND_TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/server.sh"
vsnd_setup
pulse_start

# The reference: 3 s of tones, S16 48 kHz stereo, made by the wav backend.
"$VSND_TONE" --backend wav --wav-out "$T/tones.wav" --no-pacing -d 3 -q >"$T/ref.log" 2>&1 ||
	vsnd_fail "cannot make the reference tones"

# Long enough for paplay to start and finish inside it, even on a busy machine.
# 10 ms periods (the server's fragments); the ring between the backend and
# vsnd-tone's file writer (an ordinary thread) holds 320 ms, so that a busy
# machine delaying the writer is not an overrun: none is allowed.
vsnd_bg record "$VSND_TONE" --backend pulse --device vsnd_null.monitor --vm-name capture-vm \
	--record "$T/out.wav" -d 10 -p 10 --ring-periods 32
REC_PID=$BG_PID
vsnd_wait_for 10 pulse_stream_index source-outputs capture-vm ||
	vsnd_fail "vsnd-tone's capture stream did not appear"
idx=$(pulse_stream_index source-outputs capture-vm)
vsnd_wait_for 5 bash -c "pactl list source-outputs | grep -q 'Corked: no'" ||
	vsnd_fail "capture stream #$idx was not started"

# Steady state first: frames flow into the recording before the tones start.
vsnd_wait_for 10 pulse_file_has "$T/out.wav" 9600 || vsnd_fail "no frames are being recorded"

paplay -d vsnd_null "$T/tones.wav" || vsnd_fail "paplay failed"
kill -0 "$REC_PID" 2>/dev/null || vsnd_fail "vsnd-tone stopped recording before paplay was done"

vsnd_wait_for 30 bash -c "! kill -0 $REC_PID 2>/dev/null" || vsnd_fail "vsnd-tone did not finish"
wait "$REC_PID" || vsnd_fail "vsnd-tone --record failed"
unset "VSND_BG_PIDS[record]"
result=$(grep '^result:' "$T/record.log")
echo "$result"
[[ $result == *" status=ok "* ]] || vsnd_fail "capture: $result"
[[ $result == *" recorded=480000 "* ]] || vsnd_fail "capture: not 10 s recorded"
[[ $result == *" overrun=0 "* ]] || vsnd_fail "capture: frames dropped"

# Length within two periods: when paplay's stream joins, the server rewinds
# the sink and the monitor loses up to a period of the tones' start; parec
# recording the same loses the same (218..410 frames measured), so it is
# PulseAudio's. What is recorded is otherwise bit-exact.
"$VSND_WAVCHECK" --rate 48000 --channels 2 --tones --expect-frames 144000 --tolerance 960 \
	--max-gap 2 "$T/out.wav" >"$T/check.log" 2>&1 ||
	vsnd_fail "recording does not match: $(cat "$T/check.log")"
grep -E 'signal from|longest' "$T/check.log"
echo "pulse-capture: OK"
