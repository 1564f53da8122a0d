#!/usr/bin/env bash
# libpipewire-module-vsnd-qubes loaded by the "VM" PipeWire daemon from our
# config fragment (data/pipewire/60-vsnd-qubes.conf, its arguments set):
# the nodes appear with their names, the host daemon connects, and 3 s of
# pw-play in the VM arrive at the host's PipeWire null sink as the tones, the
# host's microphone reaches a VM app through the module's source exactly;
# the VM's PipeWire stops cleanly with the module loaded, again and again
# (it once freed the module's stream nodes twice at shutdown).
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
source "$VSND_SOURCE_DIR/tests/integration/pipewire/server.sh"
source "$VSND_AGENTLIB"
pw_test_setup
qubes_env
vmpw_config
# The installed fragment, with its arguments filled in for this test.
sed -e 's/#domid = 0/domid = 0/' -e 's/#sink-name = vsnd-qubes-sink/sink-name = vm-speakers/' \
	-e "s|#status-file = .*|status-file = \"$T/agent.status\"|" \
	"$VSND_SOURCE_DIR/data/pipewire/60-vsnd-qubes.conf" \
	>"$VM_CONF/pipewire/pipewire.conf.d/60-vsnd-qubes.conf"
grep -q '^ *domid = 0' "$VM_CONF/pipewire/pipewire.conf.d/60-vsnd-qubes.conf" || vsnd_fail "fragment not edited"
grep -q '^ *status-file = ' "$VM_CONF/pipewire/pipewire.conf.d/60-vsnd-qubes.conf" || vsnd_fail "fragment not edited (status-file)"
pw_server_start
# The module from the build tree first, PipeWire's own after it.
VMPW_ENV="VCHAN_DOMAIN=16 PIPEWIRE_MODULE_DIR=$VSND_QUBES_MODULE_DIR:$(pkg-config --variable=moduledir libpipewire-0.3)"
vmpw_start
vsnd_wait_for 10 vm_node_json vm-speakers || vsnd_fail "the module's sink did not appear: $(grep -i vsnd "$T/vm-pipewire.log" | tail -3)"
vm_node_json vsnd-qubes-source | jq -e '.info.props["media.class"] == "Audio/Source"' >/dev/null ||
	vsnd_fail "the module's source is missing"
vm_node_json vm-speakers | jq -e '.info.props["media.class"] == "Audio/Sink"' >/dev/null ||
	vsnd_fail "the sink is not an Audio/Sink"
vsnd_wait_for 10 vm_default_sink_is vm-speakers || vsnd_fail "the module's sink is not the default"
daemon_start 16 work --backend pipewire --no-dbus
vsnd_wait_for 10 status_is work audio pipewire || vsnd_fail "daemon did not open audio"
vsnd_wait_for 10 status_is work vm_connected 1 || vsnd_fail "the daemon did not connect to the module"
vsnd_wait_for 5 status_is work corked 1 || vsnd_fail "the module's initial state did not cork the host"

"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/in.wav" -r 48000 -c 2 -d 3 >/dev/null 2>&1 ||
	vsnd_fail "cannot make the signal"
xruns_before=$(pw_xruns)
pw_record_start host
vm_play "$T/in.wav" || vsnd_fail "pw-play failed in the VM"
vsnd_wait_for 8 status_is work corked 1 || vsnd_fail "host not corked after the VM's player stopped"
pw_record_stop host
pw_check_tones "$T/host.wav" 144000 "$xruns_before" 2400 >"$T/check.log" 2>&1 ||
	vsnd_fail "at the host's null sink: $(cat "$T/check.log")"
grep -q "qubes.agent: told the host: speakers playing" "$T/vm-pipewire.log" ||
	vsnd_fail "the module's log lines do not reach PipeWire's log"
# The module's counters, in the status file its arguments named: 3 s at 44.1 kHz sent (less the
# resampler's tail), nothing dropped.
vsnd_wait_for 2 agent_is sink_running 0 || vsnd_fail "module status: $(cat "$T/agent.status" 2>/dev/null)"
[ "$(agent_field frames_sent)" -ge 129000 ] || vsnd_fail "module status: frames_sent=$(agent_field frames_sent)"
agent_is frames_dropped 0 || vsnd_fail "module status: frames_dropped=$(agent_field frames_dropped)"
echo "module in the VM's PipeWire -> host: $(head -n 1 "$T/check.log"); module status: $(cat "$T/agent.status")"

# The microphone through the module: the host daemon now plays a file as the
# host's microphone, the user allows it, a VM app records from the module's
# source (whose data thread reads the vchan inside the VM's PipeWire) and gets
# the tones exactly.
"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/mic.wav" -r 44100 -d 1 >/dev/null 2>&1 ||
	vsnd_fail "cannot make the microphone signal"
vsnd_stop daemon-work
daemon_start 16 work --backend wav --no-dbus --wav-out "$T/out.wav" --wav-in "$T/mic.wav"
vsnd_wait_for 10 status_is work audio wav || vsnd_fail "the wav daemon did not open audio"
vsnd_wait_for 10 status_is work vm_connected 1 || vsnd_fail "the wav daemon did not connect to the module"
mic_set allow work || vsnd_fail "vsnd-ctl mic allow failed"
mark=$(mic_mark)
vm_record "$T/vm-mic.wav"
vsnd_wait_for 5 status_is work mic_flowing 1 || vsnd_fail "microphone not flowing to the module"
vsnd_wait_for 5 has_signal "$T/vm-mic.wav" 88200 || vsnd_fail "no 2 s of signal in the VM: $(cat "$T/agent.status")"
vsnd_stop vm-rec
mic_check "$T/vm-mic.wav" "$mark"
vsnd_wait_for 2 agent_over frames_received 88200 ||
	vsnd_fail "module status: frames_received=$(agent_field frames_received)"
echo "host microphone -> module's source -> VM app: $(head -n 1 "$T/check.log")"

# PipeWire stops (SIGTERM) with the module loaded: exit status 0, no heap
# corruption. The double free it once had hit about one stop in three: stop it
# a few times, with the host daemon connected and not.
vmpw_stop_clean() {
	local pid=${VSND_BG_PIDS[vm-pipewire]} rc
	vsnd_stop vm-wireplumber
	kill -TERM "$pid"
	wait "$pid"; rc=$?
	unset "VSND_BG_PIDS[vm-pipewire]"
	[ "$rc" = 0 ] || vsnd_fail "the VM's PipeWire exited with status $rc at stop $1: $(tail -n 2 "$T/vm-pipewire.log")"
	! grep -qi "double free\|corruption" "$T/vm-pipewire.log" || vsnd_fail "heap corruption at stop $1"
}
vmpw_stop_clean 1
for i in 2 3 4; do
	vmpw_start
	vsnd_wait_for 10 vm_node_json vm-speakers || vsnd_fail "the module's sink did not come back ($i)"
	[ "$i" = 4 ] || vsnd_wait_for 10 status_is work vm_connected 1 || vsnd_fail "the daemon did not reconnect ($i)"
	vmpw_stop_clean "$i"
done
echo "the VM's PipeWire stopped cleanly 4 times with the module loaded"
