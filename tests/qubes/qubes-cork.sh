#!/usr/bin/env bash
# Cork drains what the VM already sent, audio a VM sends while corked is
# discarded (nothing stale at uncork), uncork resumes at once.
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
vsnd_setup
qubes_env

vm_start vm 11
daemon_start 11 work --backend wav --wav-out "$T/out.wav" --no-dbus
vm_expect vm connected
vsnd_wait_for 10 status_is work audio wav || vsnd_fail "daemon did not open audio"

vm_cmd vm "word uncork"; vm_expect vm ok
vm_cmd vm "play 1 tones"; vm_expect vm ok
vm_cmd vm "wait-played"; vm_expect vm "played 44100" 10
# Cork at once: up to a ring of audio is still queued in the daemon and must play.
vm_cmd vm "word cork"; vm_expect vm ok
vsnd_wait_for 5 status_is work corked 1 || vsnd_fail "not corked"
vsnd_wait_for 5 status_is work frames_played 44100 || vsnd_fail "drain: $(status_field work frames_played) frames"
# A VM that keeps sending while corked: stale audio, thrown away.
vm_cmd vm "flood 0.5"; vm_expect vm ok
vm_cmd vm "wait-played"; vm_expect vm "played 22050" 10
vsnd_wait_for 5 status_is work frames_discarded 22050 ||
	vsnd_fail "discarded $(status_field work frames_discarded) frames, expected 22050"
vm_cmd vm "word uncork"; vm_expect vm ok
vm_cmd vm "play 1 tones"; vm_expect vm ok
vm_cmd vm "wait-played"; vm_expect vm "played 44100" 10
vsnd_wait_for 5 status_is work frames_played 88200 || vsnd_fail "played $(status_field work frames_played)"
vsnd_stop daemon-work
# Exactly the two second-long segments reached the host: nothing stale, nothing cut.
"$VSND_WAVCHECK" --count-nonsilent 88200 "$T/out.wav" >"$T/check.log" 2>&1 ||
	vsnd_fail "host output: $(cat "$T/check.log")"
grep -q "playback stream paused" "$T/daemon-work.log" || vsnd_fail "the host stream was never corked"
cat "$T/check.log"
