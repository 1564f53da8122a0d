#!/usr/bin/env bash
# A hostile VM (garbage and torn words on the control vchan, a playback flood
# in odd-sized writes, a microphone it never reads, a disconnect mid-word)
# cannot crash, stall or desynchronise its daemon, nor disturb another VM's.
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
vsnd_setup
qubes_env

vm_start bad 21
vm_start good 22 --lead 8820
"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/mic.wav" -r 44100 -d 1 >/dev/null 2>&1
daemon_start 21 evil --backend wav --wav-out "$T/evil.wav" --wav-in "$T/mic.wav" --no-dbus
daemon_start 22 nice --backend wav --wav-out "$T/nice.wav" --no-dbus --period 441 -t 70560
vm_expect bad connected
vm_expect good connected
vsnd_wait_for 10 status_is evil audio wav || vsnd_fail "evil's daemon did not open audio"
vsnd_wait_for 10 status_is nice audio wav || vsnd_fail "nice's daemon did not open audio"

# The good VM plays 4 s at real time while the bad one misbehaves.
vm_cmd good "word uncork"; vm_expect good ok
vm_cmd good "play 4 tones"; vm_expect good ok

# Garbage of a whole number of words, then a real word: recognised.
vm_cmd bad "garbage 40000"; vm_expect bad ok
vm_cmd bad "word start"; vm_expect bad ok
vsnd_wait_for 3 status_is evil mic_requested 1 || vsnd_fail "SOURCE_START after garbage was lost"
# A torn word completed by two more bytes is one (unknown) word; the stream stays aligned.
vm_cmd bad "half-word"; vm_expect bad ok
vm_cmd bad "garbage 2"; vm_expect bad ok
vm_cmd bad "word stop"; vm_expect bad ok
vsnd_wait_for 3 status_is evil mic_requested 0 || vsnd_fail "SOURCE_STOP after a torn word was lost"

# The microphone it asked for but never reads: dropped, counted, nothing stalls.
vm_cmd bad "mic off"; vm_expect bad ok
vm_cmd bad "word start"; vm_expect bad ok
mic_set allow evil
mic_dropping() { local v; v=$(status_field evil mic_frames_dropped); [ -n "$v" ] && [ "$v" -gt 0 ]; }
vsnd_wait_for 10 mic_dropping || vsnd_fail "the unread microphone was not dropped"

# A flood in 7-byte writes (torn frames everywhere): every frame arrives whole, in order.
vm_cmd bad "word uncork"; vm_expect bad ok
vm_cmd bad "flood 2 7"; vm_expect bad ok
vm_cmd bad "wait-played"; vm_expect bad "played 88200" 30
vsnd_wait_for 10 status_is evil frames_played 88200 || vsnd_fail "flood: $(status_field evil frames_played) frames"

# Disconnect in the middle of a word, come back: the daemon waits and resynchronises.
vm_cmd bad "half-word"; vm_expect bad ok
vm_cmd bad quit
wait "${VM_PID[bad]}" 2>/dev/null
vsnd_wait_for 5 status_is evil vm_connected 0 || vsnd_fail "daemon did not notice the VM leave"
vsnd_wait_for 5 status_is evil mic_requested 0 || vsnd_fail "mic request survived the VM"
rm -f "$T/bad.in" "$T/bad.out"
vm_start bad 21
vm_expect bad connected
vm_cmd bad "word start"; vm_expect bad ok
vsnd_wait_for 5 status_is evil mic_requested 1 || vsnd_fail "after reconnect the first word was misread"
kill -0 "${VSND_BG_PIDS[daemon-evil]}" || vsnd_fail "the daemon died"

# The good VM was not disturbed: exactly its 4 s, no gap.
vm_cmd good "wait-played"; vm_expect good "played 176400" 30
vsnd_wait_for 5 status_is nice frames_played 176400 || vsnd_fail "nice played $(status_field nice frames_played)"
vsnd_stop daemon-nice
"$VSND_WAVCHECK" --tones --expect-frames 176400 --tolerance 0 --max-gap 0 "$T/nice.wav" >"$T/check.log" 2>&1 ||
	vsnd_fail "the good VM's audio was disturbed: $(cat "$T/check.log")"
vsnd_stop daemon-evil
"$VSND_WAVCHECK" --tones --count-nonsilent 88200 --max-gap 100000000 "$T/evil.wav" >"$T/evil.log" 2>&1 ||
	vsnd_fail "the flood did not arrive whole: $(cat "$T/evil.log")"
echo "hostile VM contained; good VM: $(grep -c Hz "$T/check.log") channels exact"
