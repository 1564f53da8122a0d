#!/usr/bin/env bash
# A real Linux guest (6.12, virtio-snd driver) behind QEMU's vhost-user-snd-pci
# and vsnd-vhost-snd (wav backend), in one boot:
#  - aplay -D hw:0,0 of a file: the host WAV holds the same samples;
#  - aplay on the default device, no asound.conf: works, same samples;
#  - arecord -D hw:0,0 from the backend's capture file: the guest's file
#    holds that signal, bit-exact;
#  - no virtio_snd error in the guest's kernel log.
source "$VSND_TESTLIB"
source "$VSND_SOURCE_DIR/tests/vm/vm-lib.sh"
vsnd_setup
vm_prepare

"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/play.wav" -f s16 -r 48000 -c 2 -d 2 >/dev/null 2>&1
"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/mic.wav" -f s16 -r 48000 -c 2 -d 3 -s counter >/dev/null 2>&1
vsnd_bg backend "$VSND_VHOST_SND" --socket-path "$T/snd.sock" --backend wav --wav-out "$T/out.wav" \
	--wav-in "$T/mic.wav" -v
vsnd_wait_for 5 test -S "$T/snd.sock" || vsnd_fail "no socket"
cat >"$T/test.sh" <<'SH'
rc=0
aplay -D hw:0,0 play.wav || { echo "VSND-STEP-FAILED aplay-hw"; rc=1; }
aplay play.wav || { echo "VSND-STEP-FAILED aplay-default"; rc=1; }
arecord -D hw:0,0 -f S16_LE -r 48000 -c 2 -s 96000 rec.wav || { echo "VSND-STEP-FAILED arecord"; rc=1; }
vm_send rec.wav
(exit $rc)
SH
vm_run "$T/snd.sock" "$T/test.sh" "$T/play.wav"
grep "VSND-STEP-FAILED" "$T/console.log" && vsnd_fail "a guest step failed"
[ "$VM_EXIT" = 0 ] || vsnd_fail "guest script exit $VM_EXIT"
vsnd_stop backend
grep -i "virtio_snd.*\(timeout\|fail\|error\)" "$T/console.log" && vsnd_fail "virtio_snd errors in the guest"

# Two plays back to back: the host file holds the signal twice, exactly.
"$VSND_WAVCHECK" --count-nonsilent 192000 "$T/out.wav" >"$T/count.log" 2>&1 ||
	vsnd_fail "host playback: $(cat "$T/count.log")"
python3 - "$T" <<'PY' || vsnd_fail "host playback is not the guest's samples twice"
import sys, wave
t = sys.argv[1]
ref = wave.open(f"{t}/play.wav").readframes(10**9)
out = wave.open(f"{t}/out.wav").readframes(10**9)
nz = [i for i in range(0, len(out), 4) if out[i:i+4] != b"\0\0\0\0"]
first = nz[0]
a = out[first:first + len(ref)]
rest = out[first + len(ref):]
second = rest[next(i for i in range(0, len(rest), 4) if rest[i:i+4] != b"\0\0\0\0"):][:len(ref)]
sys.exit(0 if a == ref and second == ref else 1)
PY
vm_fetch rec.wav "$T/rec.wav"
"$VSND_WAVCHECK" --counter "$T/rec.wav" >"$T/rec.log" 2>&1 || vsnd_fail "guest recording: $(cat "$T/rec.log")"
grep -q "0 frames lost, 0 repeated, 0 inconsistent" "$T/rec.log" || vsnd_fail "$(cat "$T/rec.log")"
echo "guest: aplay hw and default bit-exact, arecord: $(grep counter "$T/rec.log")"
