#!/usr/bin/env bash
# The Qubes path into a REAL PipeWire server (with WirePlumber): 10 s of a VM's
# audio arrive at the null sink as the signal, the node carries the VM's name,
# and the daemon took exactly 441,000 frames.
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
vm_cmd vm "word uncork"; vm_expect vm ok
vm_cmd vm "play 10 tones"; vm_expect vm ok
vsnd_wait_for 5 pw_node_json vsnd.work.playback >/dev/null || vsnd_fail "no node vsnd.work.playback"
pw_node_json vsnd.work.playback | jq -e '.info.props["application.name"] == "work"' >/dev/null ||
	vsnd_fail "application.name is not the VM name"
vm_cmd vm "wait-played"; vm_expect vm "played 441000" 30
vsnd_wait_for 5 status_is work frames_played 441000 || vsnd_fail "daemon took $(status_field work frames_played)"
vm_cmd vm "word cork"; vm_expect vm ok
vsnd_wait_for 5 status_is work corked 1 || vsnd_fail "not corked"
pw_record_stop host
# Exact tones, length within a period, no gap -- except a cycle PipeWire itself
# logs as an xrun (the shared 2-core machine), which may cost one period each.
pw_check_tones "$T/host.wav" 480000 "$xruns_before" >"$T/check.log" 2>&1 ||
	vsnd_fail "at the null sink: $(cat "$T/check.log")"
echo "10 s through PipeWire: $(head -n 1 "$T/check.log")"
