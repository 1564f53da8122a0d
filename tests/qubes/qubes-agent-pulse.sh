#!/usr/bin/env bash
# The whole Qubes path into a REAL PulseAudio host: pw-play in the "VM"
# PipeWire -> vsnd-qubes-agent -> vchan -> vsnd-qubes -> PulseAudio's null
# sink, recorded from its monitor: the tones, 5 s long, no gap.
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
source "$VSND_SOURCE_DIR/tests/integration/pulse/server.sh"
source "$VSND_SOURCE_DIR/tests/integration/pipewire/server.sh" # pw_xruns (the VM's graph)
source "$VSND_AGENTLIB"
vsnd_setup
qubes_env
vmpw_config
for tool in pipewire wireplumber pw-play pw-dump jq; do
	command -v "$tool" >/dev/null || vsnd_fail "$tool is not installed (scripts/deps.sh)"
done
pulse_start
# PulseAudio's null sink renders its first block, 2 s long, from the server's
# start: a stream that starts before that block ends gets its first request
# only then (seen: 1.3-1.9 s after the uncork, for vsnd-tone alike). A sound
# card rewinds instead. So: a 20 ms stream of zeros keeps the sink's blocks
# short for the whole test (and mixes nothing into the recording), and 0.1 s
# of zeros played to its end gets us past that first block.
vsnd_bg keepalive pacat --playback -d vsnd_null --latency-msec=20 --raw --format=s16le --rate=48000 \
	--channels=2 /dev/zero
head -c 19200 /dev/zero | pacat --playback -d vsnd_null --latency-msec=20 --raw --format=s16le \
	--rate=48000 --channels=2 || vsnd_fail "pacat could not play to the null sink"
vsnd_bg parec parec -d vsnd_null.monitor --file-format=wav --rate=48000 --channels=2 \
	--format=s16le "$T/host.wav"
vmpw_start
agent_start 15
# 20 ms periods: at 10 ms a loaded 2-core machine makes PulseAudio itself drop out.
path_start 15 personal pulse --device vsnd_null --period 882
vsnd_wait_for 5 status_is personal corked 1 || vsnd_fail "host not corked while the VM is silent"

"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/in.wav" -r 48000 -c 2 -d 5 >/dev/null 2>&1 ||
	vsnd_fail "cannot make the signal"
xruns_before=$(pw_xruns)
vsnd_bg vm-play vm_rt pw-play "$T/in.wav"
play_pid=$BG_PID
vsnd_wait_for 5 status_is personal corked 0 || vsnd_fail "host not uncorked when the VM plays"
vsnd_wait_for 5 pulse_stream_index sink-inputs personal >/dev/null || vsnd_fail "no sink-input for the VM"
wait "$play_pid" || vsnd_fail "pw-play failed in the VM"
unset "VSND_BG_PIDS[vm-play]"
vsnd_wait_for 8 status_is personal corked 1 || vsnd_fail "host not corked after the VM's player stopped"
vsnd_stop parec
agent_is frames_dropped 0 || vsnd_fail "the agent dropped $(agent_field frames_dropped) frames"
# Tones, no gap, 5 s within 50 ms (the prefill vs the path's real depth) --
# except a cycle the VM's PipeWire logs as an xrun (this shared 2-core machine
# sometimes stalls every process at once): each may cost one VM cycle.
xruns=$(( $(pw_xruns) - xruns_before ))
[ "$xruns" -le 3 ] || vsnd_fail "the VM's PipeWire logged $xruns xruns: too many to tell"
# ... and a stall the host saw as its read finding the queue dry (the agent
# reports each, play_reprimes: vsnd-qubes reads just in time, ~10 ms to
# spare here) is one gap of up to 30 ms.
reprimes=$(agent_field play_reprimes)
[ "$reprimes" -le 4 ] || vsnd_fail "the host read the agent's queue dry $reprimes times (at most 4)"
"$VSND_WAVCHECK" --tones --expect-frames 240000 --tolerance $((2400 + 480 * xruns + 1440 * reprimes)) \
	--max-gap $((2 + 480 * xruns + 1440 * reprimes)) "$T/host.wav" >"$T/check.log" 2>&1 ||
	vsnd_fail "at the null sink: $(cat "$T/check.log"); agent: $(cat "$T/agent.status")"
echo "VM pw-play 5 s -> PulseAudio: $(head -n 1 "$T/check.log")"
