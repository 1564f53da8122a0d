#!/usr/bin/env bash
# More of what a real guest does, in one boot of the Linux 6.12 guest:
#  - a format matrix through aplay -D hw:0,0: S16 stereo 48 kHz, FLOAT 6 ch
#    96 kHz, U8 mono 8 kHz, S24_3 stereo 44.1 kHz -- each bit-exact on the host;
#  - pause/resume in the middle of a stream (PCM_STOP/PCM_START): no lost state;
#  - a player killed mid-stream, then a new one: the next playback is exact;
#  - no virtio_snd error in the guest's kernel log.
source "$VSND_TESTLIB"
source "$VSND_SOURCE_DIR/tests/vm/vm-lib.sh"
vsnd_setup
vm_prepare

tone() { "$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/$1" -f "$2" -c "$3" -r "$4" -d "$5" >/dev/null 2>&1; }
tone f1.wav s16 2 48000 1
tone f2.wav float 6 96000 1
tone f3.wav u8 1 8000 1
tone f4.wav s24_3 2 44100 1
tone pause.wav s16 1 48000 2
tone long.wav s16 2 44100 10
tone after.wav s16 1 22050 1

vsnd_bg backend "$VSND_VHOST_SND" --socket-path "$T/snd.sock" --backend wav --wav-out "$T/out.wav" \
	--streams out:8,in
vsnd_wait_for 5 test -S "$T/snd.sock" || vsnd_fail "no socket"
cat >"$T/test.sh" <<'SH'
rc=0
for f in f1 f2 f3 f4; do
	aplay -q -D hw:0,0 $f.wav || { echo "VSND-STEP-FAILED $f"; rc=1; }
done
./pcm-pause pause.wav || { echo "VSND-STEP-FAILED pause"; rc=1; }
aplay -q -D hw:0,0 long.wav &
sleep 1
kill -9 $!
wait
aplay -q -D hw:0,0 after.wav || { echo "VSND-STEP-FAILED after-kill"; rc=1; }
(exit $rc)
SH
vm_run "$T/snd.sock" "$T/test.sh" "$T"/f[1-4].wav "$T/pause.wav" "$T/long.wav" "$T/after.wav" "$VSND_PCM_PAUSE"
grep "VSND-STEP-FAILED" "$T/console.log" && vsnd_fail "a guest step failed: $(grep -v '^\[' "$T/console.log" | tail)"
[ "$VM_EXIT" = 0 ] || vsnd_fail "guest script exit $VM_EXIT"
grep -q "VSND-PAUSED-RESUMED" "$T/console.log" || vsnd_fail "the pause did not happen"
vsnd_stop backend
grep -i "virtio_snd.*\(timeout\|fail\|error\)" "$T/console.log" && vsnd_fail "virtio_snd errors in the guest"

# Each distinct stream format went to its own file, in order (out.wav, out.1.wav, ...).
check() {
	"$VSND_WAVCHECK" --same-as "$T/$2" --trim "$T/$1" >"$T/cmp.log" 2>&1 ||
		vsnd_fail "$2 -> $1: $(cat "$T/cmp.log")"
	echo "$2: bit-exact ($(grep -o '[0-9]* frames compared' "$T/cmp.log"))"
}
check out.wav f1.wav
check out.1.wav f2.wav
check out.2.wav f3.wav
check out.3.wav f4.wav
check out.4.wav pause.wav
check out.6.wav after.wav
