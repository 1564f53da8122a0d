#!/usr/bin/env bash
# The Linux virtio-snd driver plays a file with aplay -D hw:0,0 through QEMU's
# vhost-user-snd-pci into vsnd-vhost-snd: the wav backend holds the same samples.
source "$VSND_TESTLIB"
source "$VSND_SOURCE_DIR/tests/vm/vm-lib.sh"
vsnd_setup
vm_prepare

"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/in.wav" -f s16 -r 48000 -c 2 -d 2 >/dev/null 2>&1
vsnd_bg backend "$VSND_VHOST_SND" --socket-path "$T/snd.sock" --backend wav --wav-out "$T/out.wav" -v
vsnd_wait_for 5 test -S "$T/snd.sock" || vsnd_fail "no socket"
cat >"$T/test.sh" <<'SH'
aplay -D hw:0,0 in.wav
SH
vm_run "$T/snd.sock" "$T/test.sh" "$T/in.wav"
[ "$VM_EXIT" = 0 ] || vsnd_fail "aplay failed in the guest: $(grep -v '^\[' "$T/console.log" | tail -20)"
vsnd_stop backend
"$VSND_WAVCHECK" --same-as "$T/in.wav" --trim "$T/out.wav" >"$T/cmp.log" 2>&1 ||
	vsnd_fail "host output differs: $(cat "$T/cmp.log")"
grep -i "timeout\|failed to flush" "$T/console.log" && vsnd_fail "kernel errors"
cat "$T/cmp.log"
