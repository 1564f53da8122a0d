#!/usr/bin/env bash
# The Qubes path into a REAL PulseAudio daemon: 10 s of a VM's audio arrive at
# the null sink (resampled 44.1 -> 48 kHz by the server), as one stream named
# "playback" carrying the VM's name; the daemon took exactly 441,000 frames.
# Then the sound server dies mid-playback and comes back: the daemon
# reconnects and the VM's audio resumes, no crash.
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
source "$VSND_SOURCE_DIR/tests/integration/pulse/server.sh"
vsnd_setup
qubes_env
pulse_start

vm_start vm 31 --lead 8820
# 20 ms periods: at 10 ms a loaded 2-core machine makes PulseAudio itself drop out.
daemon_start 31 personal --backend pulse --device vsnd_null --no-dbus --period 882 -t 70560
vm_expect vm connected
vsnd_wait_for 10 status_is personal audio pulse || vsnd_fail "daemon did not open audio"
vsnd_bg parec parec -d vsnd_null.monitor --file-format=wav --rate=48000 --channels=2 --format=s16le "$T/host.wav"
vm_cmd vm "word uncork"; vm_expect vm ok
vm_cmd vm "play 10 tones"; vm_expect vm ok
# The stream, while it plays: named "playback", application and media name = the VM.
vsnd_wait_for 5 pulse_stream_index sink-inputs personal >/dev/null || vsnd_fail "no sink-input for the VM"
idx=$(pulse_stream_index sink-inputs personal)
pactl list sink-inputs | grep -A40 "Sink Input #$idx" | grep -q 'media.name = "personal"' ||
	vsnd_fail "media.name is not the VM name"
vm_cmd vm "wait-played"; vm_expect vm "played 441000" 30
vsnd_wait_for 5 status_is personal frames_played 441000 || vsnd_fail "daemon took $(status_field personal frames_played)"
vm_cmd vm "word cork"; vm_expect vm ok
vsnd_wait_for 5 status_is personal corked 1 || vsnd_fail "not corked"
vsnd_stop parec
underruns=$(status_field personal underruns)
"$VSND_WAVCHECK" --tones --expect-frames 480000 --tolerance 960 --max-gap 2 "$T/host.wav" >"$T/check.log" 2>&1 ||
	vsnd_fail "at the null sink: $(cat "$T/check.log"); the daemon's stream underran $underruns frames"
echo "10 s through PulseAudio: $(head -n 1 "$T/check.log")"

# The sound server crashes in the middle of playback and comes back.
vm_cmd vm "word uncork"; vm_expect vm ok
vm_cmd vm "play 8 tones"; vm_expect vm ok
vsnd_wait_for 5 pulse_stream_index sink-inputs personal >/dev/null || vsnd_fail "no stream before the crash"
pulse_crash
pulse_start pulseaudio2
vsnd_wait_for 5 pulse_stream_index sink-inputs personal >/dev/null || vsnd_fail "the daemon did not come back to the server"
vm_cmd vm "wait-played"; vm_expect vm "played 352800" 30
kill -0 "${VSND_BG_PIDS[daemon-personal]}" || vsnd_fail "the daemon died"
echo "PulseAudio restart: reconnected, VM played on"
