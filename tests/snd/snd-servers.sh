#!/usr/bin/env bash
# vsnd-vhost-snd into REAL sound servers: vsnd-play (a virtio-snd driver) plays
# 3 s of tones through vsnd-vhost-snd into PipeWire and into PulseAudio; the
# signal arrives at the null sink's monitor, and the host stream carries the
# VM name given with --vm-name.
source "$VSND_TESTLIB"
source "$VSND_SOURCE_DIR/tests/integration/pipewire/server.sh"
pw_test_setup
pw_server_start

"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/tones.wav" -r 48000 -d 3 >/dev/null 2>&1
xruns_before=$(pw_xruns)
pw_record_start host
vsnd_bg vhost-pw "$VSND_VHOST_SND" --socket-path "$T/pw.sock" --backend pipewire --vm-name guest-pw
vsnd_wait_for 5 test -S "$T/pw.sock" || vsnd_fail "vsnd-vhost-snd did not start"
"$VSND_PLAY" --socket "$T/pw.sock" --buffer-ms 80 "$T/tones.wav" >"$T/play-pw.log" 2>&1 &
play=$!
vsnd_wait_for 5 pw_node_json vsnd.guest-pw.playback0 >/dev/null || vsnd_fail "no node vsnd.guest-pw.playback0"
pw_node_json vsnd.guest-pw.playback0 | jq -e '.info.props["application.name"] == "guest-pw"' >/dev/null ||
	vsnd_fail "application.name is not the VM name"
wait "$play" || vsnd_fail "vsnd-play: $(cat "$T/play-pw.log")"
pw_record_stop host
vsnd_stop vhost-pw
pw_check_tones "$T/host.wav" 144000 "$xruns_before" >"$T/pw-check.log" 2>&1 ||
	vsnd_fail "PipeWire null sink: $(cat "$T/pw-check.log")"
echo "PipeWire: $(head -n 1 "$T/pw-check.log")"

source "$VSND_SOURCE_DIR/tests/integration/pulse/server.sh"
pulse_start
# One PulseAudio run; returns non-zero if the recording shows a glitch.
pa_case() {
	local n=$1
	vsnd_bg "parec$n" parec -d vsnd_null.monitor --file-format=wav --rate=48000 --channels=2 --format=s16le \
		--latency-msec=50 "$T/pa$n.wav"
	vsnd_wait_for 5 pulse_stream_index source-outputs parec >/dev/null || vsnd_fail "parec did not connect"
	# 20 ms periods: at 10 ms a loaded 2-core machine makes PulseAudio itself drop out.
	"$VSND_PLAY" --socket "$T/pa.sock" --period-ms 20 --buffer-ms 160 "$T/tones.wav" >"$T/play-pa$n.log" 2>&1 &
	local play=$!
	vsnd_wait_for 5 pulse_stream_index sink-inputs guest-pa >/dev/null || vsnd_fail "no sink-input for guest-pa"
	wait "$play" || vsnd_fail "vsnd-play: $(cat "$T/play-pa$n.log")"
	# The monitor goes on delivering (silence): once 0.3 s more is in the file, all the tones are.
	local want=$(( $(pulse_file_frames "$T/pa$n.wav") + 14400 ))
	vsnd_wait_for 20 pulse_file_has "$T/pa$n.wav" "$want" || vsnd_fail "parec stopped recording"
	vsnd_stop "parec$n"
	"$VSND_WAVCHECK" --tones --expect-frames 144000 --tolerance 960 --max-gap 2 "$T/pa$n.wav" \
		>"$T/pa-check.log" 2>&1
}
vsnd_bg vhost-pa "$VSND_VHOST_SND" --socket-path "$T/pa.sock" --backend pulse --device vsnd_null --vm-name guest-pa
vsnd_wait_for 5 test -S "$T/pa.sock" || vsnd_fail "vsnd-vhost-snd (pulse) did not start"
# As in the pulse backend's tests: PulseAudio under load sometimes drops out
# on its own (paplay shows the same), so a glitched recording gets one re-run.
if ! pa_case 1; then
	echo "PulseAudio: glitch on the first run ($(grep -m1 -v Hz "$T/pa-check.log")), running it again"
	pa_case 2 || vsnd_fail "PulseAudio null sink, twice: $(cat "$T/pa-check.log")"
fi
vsnd_stop vhost-pa
echo "PulseAudio: $(head -n 1 "$T/pa-check.log")"
