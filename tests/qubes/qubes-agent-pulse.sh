#!/usr/bin/env bash
# The whole Qubes path into a REAL PulseAudio host: pw-play in the "VM"
# PipeWire -> vsnd-qubes-agent -> vchan -> vsnd-qubes -> PulseAudio's null
# sink, recorded from its monitor: the tones, 5 s long, no gap.
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
source "$VSND_SOURCE_DIR/tests/integration/pulse/server.sh"
source "$VSND_AGENTLIB"
vsnd_setup
qubes_env
vmpw_config
for tool in pipewire wireplumber pw-play pw-dump jq; do
	command -v "$tool" >/dev/null || vsnd_fail "$tool is not installed (scripts/deps.sh)"
done
pulse_start
vmpw_start
agent_start 15
# 20 ms periods: at 10 ms a loaded 2-core machine makes PulseAudio itself drop out.
daemon_start 15 personal --backend pulse --device vsnd_null --no-dbus --period 882
vsnd_wait_for 10 agent_is rec_connected 1 || vsnd_fail "the daemon did not connect to the agent"
vsnd_wait_for 10 status_is personal audio pulse || vsnd_fail "daemon did not open audio"
vsnd_wait_for 5 status_is personal corked 1 || vsnd_fail "host not corked while the VM is silent"

"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/in.wav" -r 48000 -c 2 -d 5 >/dev/null 2>&1 ||
	vsnd_fail "cannot make the signal"
vsnd_bg parec parec -d vsnd_null.monitor --file-format=wav --rate=48000 --channels=2 --format=s16le "$T/host.wav"
vsnd_bg vm-play vm_play "$T/in.wav"
play_pid=$BG_PID
vsnd_wait_for 5 status_is personal corked 0 || vsnd_fail "host not uncorked when the VM plays"
vsnd_wait_for 5 pulse_stream_index sink-inputs personal >/dev/null || vsnd_fail "no sink-input for the VM"
wait "$play_pid" || vsnd_fail "pw-play failed in the VM"
unset "VSND_BG_PIDS[vm-play]"
vsnd_wait_for 8 status_is personal corked 1 || vsnd_fail "host not corked after the VM's player stopped"
vsnd_stop parec
# PulseAudio takes up to ~1 s after the uncork before it pulls from the
# daemon (its stream start; the PipeWire host starts at once). What the VM
# plays meanwhile exceeds the agent's queue limit and is dropped, counted,
# so the latency stays bounded: only then, never later.
dropped=$(agent_field frames_dropped)
[ "$dropped" -le 66150 ] || vsnd_fail "the agent dropped $dropped frames (more than the host's start)"
expect=$(( 240000 - dropped * 48000 / 44100 ))
"$VSND_WAVCHECK" --tones --expect-frames "$expect" --tolerance 2400 --max-gap 2 "$T/host.wav" >"$T/check.log" 2>&1 ||
	vsnd_fail "at the null sink: $(cat "$T/check.log"); agent: $(cat "$T/agent.status")"
echo "VM pw-play 5 s -> PulseAudio: $(head -n 1 "$T/check.log"); dropped at the host's start: $dropped frames"
