#!/usr/bin/env bash
# The whole Qubes path, both ends real: pw-play in the "VM" PipeWire ->
# vsnd-qubes-agent -> vchan -> vsnd-qubes -> the "host" PipeWire's null sink.
# 10 s in, 10 s out (tones, no gap); cork/uncork follow the VM's player; the
# host daemon restarts mid-playback and the VM's playback carries on.
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
source "$VSND_SOURCE_DIR/tests/integration/pipewire/server.sh"
source "$VSND_AGENTLIB"
pw_test_setup
qubes_env
vmpw_config
pw_server_start
vmpw_start
agent_start 12
path_start 12 work pipewire
# Nobody plays in the VM yet: the agent's initial state corks the host stream.
vsnd_wait_for 5 status_is work corked 1 || vsnd_fail "host not corked while the VM is silent"

"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/in.wav" -r 48000 -c 2 -d 10 >/dev/null 2>&1 ||
	vsnd_fail "cannot make the signal"
xruns_before=$(pw_xruns)
reprimes_before=$(agent_field play_reprimes)
pw_record_start host
vsnd_bg vm-play vm_rt pw-play "$T/in.wav"
play_pid=$BG_PID
vsnd_wait_for 5 status_is work corked 0 || vsnd_fail "host not uncorked when the VM plays"
wait "$play_pid" || vsnd_fail "pw-play failed in the VM"
unset "VSND_BG_PIDS[vm-play]"
vsnd_wait_for 8 status_is work corked 1 || vsnd_fail "host not corked after the VM's player stopped"
pw_record_stop host
agent_is frames_dropped 0 || vsnd_fail "the agent dropped $(agent_field frames_dropped) frames"
# Tones without a gap, 10 s long within 50 ms: the rate control absorbs the
# start-up difference between the prefill and the path's real depth (~25 ms)
# by resampling, which changes the length by up to that much. The exception:
# a stall the host saw as its read finding the agent's queue dry (the agent
# reports each, play_reprimes: vsnd-qubes reads just in time, ~6 ms to spare
# at the default target) is one gap of up to 30 ms. Alone on this machine
# 0-2 in 10 s; with another test running (make check runs two at once) up to
# 7 were seen, with this refill and the one before it alike. A queue that is
# not held (a wrong rate, a target below a host read) runs dry every few
# periods: hundreds.
reprimes=$(( $(agent_field play_reprimes) - reprimes_before ))
[ "$reprimes" -le 10 ] || vsnd_fail "the host read the agent's queue dry $reprimes times (at most 10)"
pw_check_tones "$T/host.wav" 480000 "$xruns_before" 2400 $((1440 * reprimes)) >"$T/check.log" 2>&1 ||
	vsnd_fail "at the host's null sink: $(cat "$T/check.log"); agent: $(cat "$T/agent.status")"
echo "VM pw-play 10 s -> host: $(head -n 1 "$T/check.log"); agent: $(cat "$T/agent.status")"

# The host daemon goes away mid-playback and comes back: the VM plays on.
"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/in8.wav" -r 48000 -c 2 -d 8 >/dev/null 2>&1
pw_record_start host2
start=$(date +%s%N)
vsnd_bg vm-play vm_rt pw-play "$T/in8.wav"
play_pid=$BG_PID
vsnd_wait_for 5 status_is work corked 0 || vsnd_fail "host not uncorked for the second play"
sleep 2
vsnd_stop daemon-work
sleep 1
daemon_start 12 work --backend pipewire --no-dbus
vsnd_wait_for 10 agent_is connects 2 || vsnd_fail "the agent did not take the daemon back"
wait "$play_pid" || vsnd_fail "pw-play failed in the VM across the host restart"
unset "VSND_BG_PIDS[vm-play]"
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$took" -lt 11000 ] || vsnd_fail "the VM's player stalled: 8 s took $took ms"
pw_record_stop host2
after=$(status_field work frames_played)
[ "${after:-0}" -gt 88200 ] || vsnd_fail "after the restart the host got only ${after:-0} frames"
echo "host daemon restart: VM played 8 s in $took ms, $after frames after the restart"
