#!/bin/bash
# SPDX-License-Identifier: MIT
# pipewire backend, server restart: PipeWire and WirePlumber are killed
# (SIGKILL, like a crash) in the middle of an 8 s playback and started again.
# vsnd-tone must go on: the stream reports DISCONNECTED, the backend retries
# every 250 ms, recreates the stream, and plays the rest of the signal, which
# a new recording of the sink's monitor must hold. The outage after the
# server came back must stay under 2 s.
# shellcheck source=tests/integration/lib.sh
source "$VSND_TESTLIB"
# shellcheck source=tests/integration/pipewire/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/server.sh"
pw_test_setup
pw_server_start

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
tones_reached() { [ "$(signal_frames "$1")" -ge "$2" ]; }

pw_record_start rec-before
vsnd_bg tone env VSND_LOG=info,audio.pipewire:debug "$VSND_TONE" --backend pipewire \
	--vm-name restart-vm --ring-periods 32 -d 8
TONE_PID=$BG_PID
LOG=$T/tone.log
vsnd_wait_for 10 grep -q "stream state: running" "$LOG" || vsnd_fail "the stream does not run"
# Mid-stream: at least one second of tones has reached the sink.
vsnd_wait_for 10 tones_reached "$T/rec-before.wav" 48000 ||
	vsnd_fail "nothing reached the sink"

t_kill=$(now_ms)
pw_server_kill
vsnd_wait_for 10 grep -q "stream state: disconnected" "$LOG" ||
	vsnd_fail "the stream did not notice the server's death"
# Keep the server away until the backend has retried (and failed) twice.
vsnd_wait_for 10 grep -q "reconnect attempt 2:" "$LOG" || vsnd_fail "no reconnect attempts"
grep -q "stream state: running" <(sed -n '/stream state: disconnected/,$p' "$LOG") &&
	vsnd_fail "the stream claims to run without a server"

t_back=$(now_ms)
xruns=$(pw_xruns)
pw_server_start
pw_record_start rec-after

vsnd_wait_for 30 test ! -d "/proc/$TONE_PID" || vsnd_fail "vsnd-tone did not finish"
wait "$TONE_PID"
rc=$?
unset "VSND_BG_PIDS[tone]"
pw_record_stop rec-after
[ "$rc" = 0 ] || vsnd_fail "vsnd-tone exited with $rc"

grep '^result:' "$LOG"
[ "$(tone_result status "$LOG")" = ok ] || vsnd_fail "status is not ok"
reconnects=$(tone_result reconnects "$LOG")
[ "$reconnects" -ge 1 ] || vsnd_fail "no reconnect counted"
# Nothing lost: the ring was kept while the server was away.
[ "$(tone_result frames "$LOG")" = 384000 ] || vsnd_fail "not all 8 s were played"
outage=$(tone_result outage_ms "$LOG")
down=$((t_back - t_kill))
after=$((outage - down))
echo "server down for $down ms, stream out for $outage ms: back $after ms after the server was started again"
[ "$after" -le 2000 ] || vsnd_fail "the stream came back $after ms after the server (limit 2000)"

# The audio after the restart is still the tones, without gaps.
pw_check_tones "$T/rec-after.wav" "" "$xruns" >"$T/check.log" 2>&1 ||
	vsnd_fail "the audio after the restart: $(cat "$T/check.log")"
grep -h '^note:' "$T/check.log"
span=$(signal_frames "$T/rec-after.wav")
echo "after the restart: $span frames of tones"
# The restart came after >= 1 s of 8: several seconds must follow it.
[ "${span:-0}" -ge 96000 ] || vsnd_fail "only ${span:-0} frames of tones after the restart"
echo "PASS"
