#!/usr/bin/env bash
# The Qubes path into a REAL PipeWire server (with WirePlumber): 10 s of a VM's
# audio arrive at the null sink as the signal, the node carries the VM's name,
# and the daemon took exactly 441,000 frames. The VM starts as an agent does:
# UNCORK, a prefill of silence at once, then the audio. What it queues while
# the host stream starts would be latency for seconds: the daemon drops up to
# that much of the leading silence, never sound (the tones start non-zero).
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
source "$VSND_SOURCE_DIR/tests/integration/pipewire/server.sh"
pw_test_setup
qubes_env
pw_server_start

vm_start vm 32 --lead 8820
daemon_start 32 work --backend pipewire --no-dbus --period 441 -t 70560
vm_expect vm connected
vsnd_wait_for 10 status_is work audio pipewire || vsnd_fail "daemon did not open audio"
xruns_before=$(pw_xruns)
pw_record_start host
# One write for both lines: the prefill follows the UNCORK at once, as an agent's does.
vm_cmd vm $'word uncork\nplay 10 tones 441'; vm_expect vm ok; vm_expect vm ok
vsnd_wait_for 5 pw_node_json vsnd.work.playback >/dev/null || vsnd_fail "no node vsnd.work.playback"
pw_node_json vsnd.work.playback | jq -e '.info.props["application.name"] == "work"' >/dev/null ||
	vsnd_fail "application.name is not the VM name"
vm_cmd vm "wait-played"; vm_expect vm "played 441000" 30
took() { echo $(( $(status_field work frames_played) + $(status_field work silence_skipped) )); }
took_all() { [ "$(took)" = 441441 ]; }
vsnd_wait_for 5 took_all || vsnd_fail "daemon took $(took) of 441441 frames"
skipped=$(status_field work silence_skipped)
[ "$skipped" -gt 0 ] && [ "$skipped" -le 441 ] || vsnd_fail "$skipped frames of leading silence skipped (1..441)"
vm_cmd vm "word cork"; vm_expect vm ok
vsnd_wait_for 5 status_is work corked 1 || vsnd_fail "not corked"
pw_record_stop host
# Exact tones, length within a period, no gap -- except a cycle PipeWire itself
# logs as an xrun (the shared 2-core machine), which may cost one period each.
pw_check_tones "$T/host.wav" 480000 "$xruns_before" >"$T/check.log" 2>&1 ||
	vsnd_fail "at the null sink: $(cat "$T/check.log")"
echo "10 s through PipeWire: $(head -n 1 "$T/check.log"); $skipped frames of leading silence skipped"
