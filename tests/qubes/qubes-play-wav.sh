#!/usr/bin/env bash
# 10 s of a VM's audio arrive as exactly 441,000 frames of the same signal,
# no frame lost, repeated or delayed into a gap (Qubes' own tests saw 8.4 s).
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
vsnd_setup
qubes_env

# A 400 ms ring, a VM 200 ms ahead and an unpaced WAV writer: this test is
# about frames, not timing, and must hold on a busy machine too (a paced
# writer stalled longer than the VM's lead pads a period of silence, as a card
# would; the paced path is what the real-server tests check).
vm_start vm 7 --lead 8820
daemon_start 7 work --backend wav --no-pacing --wav-out "$T/out.wav" --no-dbus --period 441 -t 70560
vm_expect vm connected
vsnd_wait_for 10 status_is work audio wav || vsnd_fail "daemon did not open audio"
vm_cmd vm "word uncork"; vm_expect vm ok
vm_cmd vm "play 10 tones"; vm_expect vm ok
vm_cmd vm "wait-played"; vm_expect vm "played 441000" 30
vsnd_wait_for 5 status_is work frames_played 441000 ||
	vsnd_fail "daemon took $(status_field work frames_played) frames"
st=$(cat "$STATUS/vsnd-status/work")
vsnd_stop daemon-work
[ -f "$T/out.wav" ] || vsnd_fail "no output file: $(ls -la "$T")"
"$VSND_WAVCHECK" --rate 44100 --channels 2 --tones --expect-frames 441000 --tolerance 0 --max-gap 0 \
	"$T/out.wav" >"$T/check.log" 2>&1 || vsnd_fail "host output: $(cat "$T/check.log"); daemon: $st"
cat "$T/check.log"
