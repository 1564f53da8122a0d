#!/usr/bin/env bash
# The VM goes away mid-playback and comes back: the daemon plays out what it
# had, waits (does not exit), reconnects, and the second session's audio
# arrives whole.
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
vsnd_setup
qubes_env

vm_start vm 13
daemon_start 13 work --backend wav --wav-out "$T/out.wav" --no-dbus
vm_expect vm connected
vsnd_wait_for 10 status_is work audio wav || vsnd_fail "daemon did not open audio"
vm_cmd vm "word uncork"; vm_expect vm ok
vm_cmd vm "play 2 tones"; vm_expect vm ok
vm_cmd vm "wait-played"; vm_expect vm "played 88200" 10
vm_cmd vm quit
wait "${VM_PID[vm]}" 2>/dev/null
vsnd_wait_for 5 status_is work vm_connected 0 || vsnd_fail "the daemon did not notice the VM leave"
vsnd_wait_for 5 status_is work frames_played 88200 || vsnd_fail "first session: $(status_field work frames_played)"
rm -f "$T/vm.in" "$T/vm.out"
vm_start vm 13
vm_expect vm connected
vsnd_wait_for 5 status_is work vm_connected 1 || vsnd_fail "no reconnect"
vm_cmd vm "initial 0 1"; vm_expect vm ok
vm_cmd vm "play 2 tones"; vm_expect vm ok
vm_cmd vm "wait-played"; vm_expect vm "played 88200" 10
vsnd_wait_for 5 status_is work frames_played 176400 || vsnd_fail "second session: $(status_field work frames_played)"
vsnd_stop daemon-work
"$VSND_WAVCHECK" --count-nonsilent 176400 "$T/out.wav" >"$T/check.log" 2>&1 || vsnd_fail "$(cat "$T/check.log")"
grep -q "VM disconnected" "$T/daemon-work.log" || vsnd_fail "no disconnect logged"
cat "$T/check.log"
