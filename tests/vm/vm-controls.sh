#!/usr/bin/env bash
# With controls (vsnd-vhost-snd --controls, QEMU controls=on) the guest's
# mixer is the VM's volume on the host: amixer lists the volume and switch,
# setting the volume to 50 (-30 dB) scales what the host gets by 10^(-30/20),
# and the switch off silences it.
source "$VSND_TESTLIB"
source "$VSND_SOURCE_DIR/tests/vm/vm-lib.sh"
vsnd_setup
vm_prepare

"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/f.wav" -f s16 -c 2 -r 48000 -d 1 >/dev/null 2>&1
vsnd_bg backend "$VSND_VHOST_SND" --socket-path "$T/snd.sock" --backend wav --wav-out "$T/out.wav" --controls
vsnd_wait_for 5 test -S "$T/snd.sock" || vsnd_fail "no socket"
cat >"$T/test.sh" <<'SH'
amixer -c 0 controls
amixer -c 0 cget name='PCM Playback Volume'
amixer -c 0 cset name='PCM Playback Volume' 50 >/dev/null || echo "VSND-STEP-FAILED cset-volume"
aplay -q -D hw:0,0 f.wav || echo "VSND-STEP-FAILED play-50"
amixer -c 0 cset name='PCM Playback Volume' 100 >/dev/null
amixer -c 0 cset name='PCM Playback Switch' off >/dev/null || echo "VSND-STEP-FAILED cset-switch"
aplay -q -D hw:0,0 f.wav || echo "VSND-STEP-FAILED play-muted"
amixer -c 0 cset name='PCM Playback Switch' on >/dev/null
aplay -q -D hw:0,0 f.wav || echo "VSND-STEP-FAILED play-full"
SH
VM_DEVICE_OPTS=",controls=on" vm_run "$T/snd.sock" "$T/test.sh" "$T/f.wav"
grep "VSND-STEP-FAILED" "$T/console.log" && vsnd_fail "a guest step failed"
tr -d '\r' <"$T/console.log" | grep -q "name='PCM Playback Volume'" || vsnd_fail "amixer does not list the volume"
tr -d '\r' <"$T/console.log" | grep -q "name='PCM Playback Switch'" || vsnd_fail "amixer does not list the switch"
tr -d '\r' <"$T/console.log" | grep -q "dBminmaxmute-min=-60.00dB,max=0.00dB" || vsnd_fail "no dB scale in the TLV"
vsnd_stop backend
grep -i "virtio_snd.*\(timeout\|fail\|error\)" "$T/console.log" && vsnd_fail "virtio_snd errors in the guest"
# The host file: 1 s at -30 dB, 1 s muted (silence), 1 s at full volume, same stream.
python3 - "$T" <<'PY' || vsnd_fail "the host did not get the guest's volume"
import sys, wave, array, math
t = sys.argv[1]
ref = array.array("h", wave.open(f"{t}/f.wav").readframes(10**9))
out = array.array("h", wave.open(f"{t}/out.wav").readframes(10**9))
nz = [i for i, v in enumerate(out) if v]
seg = lambda a: math.sqrt(sum(x * x for x in a) / len(a))
first = out[nz[0]:nz[0] + len(ref)]
ratio = seg(first) / seg(ref)
want = 10 ** (-30 / 20)
print(f"volume 50: rms ratio {ratio:.4f} (expected {want:.4f})")
last = out[nz[-1] + 1 - len(ref):nz[-1] + 1]
print(f"volume 100 after the switch: identical = {list(last) == list(ref)}")
# Between them: only the muted second, i.e. exactly two non-silent seconds... of which the quiet one
# may round some samples to 0, so count the loud one exactly and the quiet one by its span.
sys.exit(0 if abs(ratio - want) < want * 0.02 and list(last) == list(ref) else 1)
PY
