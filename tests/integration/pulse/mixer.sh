#!/bin/bash
# SPDX-License-Identifier: MIT
# pulse-mixer: each VM is its own stream in the host mixer, under its name,
# with its own volume. Checks, through pactl on a real PulseAudio:
#  - application.name and media.name are the --vm-name (playback and capture);
#  - --volume 0.5 shows as 50 % on every channel, --mute as "Mute: yes";
#  - volume and mute changes made from outside (pactl) reach the backend's
#    vsnd_audio_stream_report_volume() (the backend logs them at debug) and
#    come out of the API as VOLUME events (pulse-volume, built here);
#  - vsnd_audio_stream_set_volume() sets the sink input's volume, and
#    refuses an out-of-range value;
#  - a missing sink is refused with a clear error, not a hang.
source "$VSND_TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/server.sh"
vsnd_setup
pulse_start
export VSND_LOG=info,audio.pulse:debug

# ---- playback ----
vsnd_bg play "$VSND_TONE" --backend pulse --device vsnd_null --vm-name mix-vm-1 --volume 0.5 -d 60
vsnd_wait_for 10 pulse_stream_index sink-inputs mix-vm-1 || vsnd_fail "no sink input for mix-vm-1"
idx=$(pulse_stream_index sink-inputs mix-vm-1)
media=$(pulse_stream_field sink-inputs "$idx" "media.name =")
vol=$(pulse_stream_field sink-inputs "$idx" "Volume:")
echo "sink input #$idx: $media; $vol"
[ "$media" = 'media.name = "mix-vm-1"' ] || vsnd_fail "media.name: $media"
[[ $vol == *"front-left: 32768 /  50%"*"front-right: 32768 /  50%"* ]] || vsnd_fail "volume: $vol"
[ "$(pulse_stream_field sink-inputs "$idx" "Mute:")" = "Mute: no" ] || vsnd_fail "muted"

pactl set-sink-input-volume "$idx" 30%
vsnd_wait_for 5 grep -q "host set stream 'tone' to volume 0.300$" "$T/play.log" ||
	vsnd_fail "the host's volume change was not reported"
pactl set-sink-input-mute "$idx" 1
vsnd_wait_for 5 grep -q "host set stream 'tone' to volume 0.300, muted" "$T/play.log" ||
	vsnd_fail "the host's mute was not reported"
grep "host set" "$T/play.log"

# A second VM is a second entry with its own volume (--mute: starts muted).
vsnd_bg play2 "$VSND_TONE" --backend pulse --device vsnd_null --vm-name mix-vm-2 --mute -d 60
vsnd_wait_for 10 pulse_stream_index sink-inputs mix-vm-2 || vsnd_fail "no sink input for mix-vm-2"
idx2=$(pulse_stream_index sink-inputs mix-vm-2)
[ "$idx2" != "$idx" ] || vsnd_fail "both VMs share sink input #$idx"
[ "$(pulse_stream_field sink-inputs "$idx2" "Mute:")" = "Mute: yes" ] || vsnd_fail "--mute not applied"
vol2=$(pulse_stream_field sink-inputs "$idx2" "Volume:")
[[ $vol2 == *"front-left: 65536 / 100%"* ]] || vsnd_fail "mix-vm-2 volume: $vol2"
vsnd_stop play2
vsnd_stop play

# ---- volume through the API, host changes as VOLUME events ----
PULSE_VOLUME=${1:?usage: mixer.sh PATH-TO-pulse-volume}
vsnd_bg api "$PULSE_VOLUME" mix-vm-api
vsnd_wait_for 10 grep -q '^set: ' "$T/api.log" || vsnd_fail "pulse-volume did not start"
grep -q '^set: ret=0 bad=-22 volume=0.250 muted=0$' "$T/api.log" ||
	vsnd_fail "set_volume: $(grep '^set: ' "$T/api.log")"
idx=$(pulse_stream_index sink-inputs mix-vm-api) || vsnd_fail "no sink input for mix-vm-api"
vol=$(pulse_stream_field sink-inputs "$idx" "Volume:")
[[ $vol == *"front-left: 16384 /  25%"*"front-right: 16384 /  25%"* ]] ||
	vsnd_fail "API volume 0.25 shows as: $vol"
pactl set-sink-input-volume "$idx" 80%
vsnd_wait_for 5 grep -q '^event: volume=0.800 muted=0$' "$T/api.log" ||
	vsnd_fail "no VOLUME event for the host's 80 %: $(cat "$T/api.log")"
pactl set-sink-input-mute "$idx" 1
vsnd_wait_for 5 grep -q '^event: volume=0.800 muted=1$' "$T/api.log" ||
	vsnd_fail "no VOLUME event for the host's mute: $(cat "$T/api.log")"
# Our own change must not come back as a host change.
[ "$(grep -c '^event: ' "$T/api.log")" -eq 2 ] || vsnd_fail "spurious VOLUME events: $(cat "$T/api.log")"
grep -E '^(set|event): ' "$T/api.log"
vsnd_stop api

# ---- capture ----
vsnd_bg rec "$VSND_TONE" --backend pulse --device vsnd_null.monitor --vm-name mix-vm-3 \
	--volume 0.5 --record "$T/rec.wav" -d 60
vsnd_wait_for 10 pulse_stream_index source-outputs mix-vm-3 || vsnd_fail "no source output"
idx=$(pulse_stream_index source-outputs mix-vm-3)
# The capture volume is set once the stream exists: wait for it.
vsnd_wait_for 5 bash -c "pactl list source-outputs | grep -q 'front-left: 32768 /  50%'" ||
	vsnd_fail "capture volume: $(pulse_stream_field source-outputs "$idx" "Volume:")"
media=$(pulse_stream_field source-outputs "$idx" "media.name =")
[ "$media" = 'media.name = "mix-vm-3"' ] || vsnd_fail "capture media.name: $media"
pactl set-source-output-volume "$idx" 70%
vsnd_wait_for 5 grep -q "host set stream 'tone-record' to volume 0.700$" "$T/rec.log" ||
	vsnd_fail "the host's capture volume change was not reported"
vsnd_stop rec

# ---- bad input ----
if "$VSND_TONE" --backend pulse --device no_such_sink -d 1 >"$T/bad.log" 2>&1; then
	vsnd_fail "playing to a missing sink succeeded"
fi
grep -q "audio.pulse: playback stream 'tone' refused by no_such_sink: No such entity" "$T/bad.log" ||
	vsnd_fail "no clear error for a missing sink: $(cat "$T/bad.log")"
echo "pulse-mixer: OK"
