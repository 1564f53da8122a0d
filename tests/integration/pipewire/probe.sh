#!/bin/bash
# SPDX-License-Identifier: MIT
# pipewire backend, probe and refusals: without a server --backend pipewire
# fails at once with "connection refused" and --backend auto falls back to the
# wav file (nothing is autostarted); with a server auto picks pipewire. Bad
# parameters are refused before anything reaches the server, and a node the
# host destroys ends the stream with an error.
# shellcheck source=tests/integration/lib.sh
source "$VSND_TESTLIB"
# shellcheck source=tests/integration/pipewire/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/server.sh"
pw_test_setup
cd "$T" || vsnd_fail "no temp dir"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# No server.
"$VSND_TONE" --backend pipewire -d 0.2 -q >"$T/noserver.log" 2>&1 &&
	vsnd_fail "--backend pipewire worked without a server"
grep -qi "connection refused" "$T/noserver.log" ||
	vsnd_fail "no clear error without a server: $(cat "$T/noserver.log")"
t0=$(now_ms)
"$VSND_TONE" --backend auto --no-pacing -d 0.2 -q >"$T/auto-noserver.log" 2>&1 ||
	vsnd_fail "auto without a server failed: $(cat "$T/auto-noserver.log")"
t1=$(now_ms)
[ "$(tone_result backend "$T/auto-noserver.log")" = wav ] || vsnd_fail "auto did not fall back to wav"
[ -f "$T/vsnd-output.wav" ] || vsnd_fail "auto's wav fallback wrote nothing"
[ ! -S "$XDG_RUNTIME_DIR/pipewire-0" ] || vsnd_fail "something started a PipeWire server"
echo "auto without a server: wav, in $((t1 - t0)) ms"

pw_server_start
"$VSND_TONE" --backend auto -d 0.3 -q >"$T/auto.log" 2>&1 || vsnd_fail "auto with a server failed"
[ "$(tone_result backend "$T/auto.log")" = pipewire ] || vsnd_fail "auto did not pick pipewire"
echo "auto with a server: $(grep '^result:' "$T/auto.log")"

# Refusals: exit 2 (parameters), never a crash, and the server still serves.
for bad in "-c 9" "-r 7999" "-r 192001" "--volume 2"; do
	# shellcheck disable=SC2086
	"$VSND_TONE" --backend pipewire -d 0.2 -q $bad >"$T/bad.log" 2>&1
	rc=$?
	[ "$rc" = 2 ] || vsnd_fail "'$bad' gave exit code $rc, expected 2: $(cat "$T/bad.log")"
done
"$VSND_TONE" --backend pipewire -d 0.3 -q >"$T/after.log" 2>&1 || vsnd_fail "the server stopped serving"

# The host destroys the stream's node (as a mixer's "kill" would): the stream
# turns ERROR with a log line and vsnd-tone ends with an error, not a hang.
vsnd_bg killed "$VSND_TONE" --backend pipewire --vm-name killed -d 30
pid=$BG_PID
vsnd_wait_for 10 pw_node_running vsnd.killed.tone || vsnd_fail "the stream does not run"
pw-cli destroy "$(pw_node_id vsnd.killed.tone)" >/dev/null || vsnd_fail "pw-cli destroy failed"
vsnd_wait_for 10 test ! -d "/proc/$pid" || vsnd_fail "vsnd-tone goes on without its node"
wait "$pid"
rc=$?
unset "VSND_BG_PIDS[killed]"
[ "$rc" = 1 ] || vsnd_fail "vsnd-tone exited with $rc after its node was destroyed"
grep -q "stream disconnected by the server" "$T/killed.log" || vsnd_fail "no log line for the lost node"
grep -q "result: status=Input/output error" "$T/killed.log" || vsnd_fail "no error result"
echo "node destroyed by the host: $(grep -o 'E audio.pipewire.*' "$T/killed.log")"
echo "PASS"
