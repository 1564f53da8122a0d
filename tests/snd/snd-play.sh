#!/usr/bin/env bash
# vsnd-play / vsnd-rec (a user-space virtio-snd driver on libvsnd-vhost) against
# vsnd-vhost-snd (wav backend): every format bit-exact both ways, total frames
# equal, no frame lost, repeated or reordered; paced playback takes real time.
source "$VSND_TESTLIB"
vsnd_setup

start_backend() {
	vsnd_bg backend "$VSND_VHOST_SND" --socket-path "$T/snd.sock" --backend wav "$@"
	vsnd_wait_for 5 test -S "$T/snd.sock" || vsnd_fail "vsnd-vhost-snd did not start"
}

n=0
for spec in "s16 2 48000" "s24_3 6 96000" "float 8 48000" "s16 1 44100" "u8 1 8000" "s32 2 192000"; do
	read -r fmt ch rate <<<"$spec"
	"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/in-$fmt.wav" -f "$fmt" -c "$ch" -r "$rate" -d 1 \
		>/dev/null 2>&1
	start_backend --wav-out "$T/out-$fmt.wav" --no-pacing --streams "out:8,in:8"
	"$VSND_PLAY" --socket "$T/snd.sock" "$T/in-$fmt.wav" >"$T/play.log" 2>&1 || vsnd_fail "play $spec: $(cat "$T/play.log")"
	grep -q "0 xruns, 0 bad statuses" "$T/play.log" || vsnd_fail "play $spec: $(cat "$T/play.log")"
	vsnd_stop backend
	"$VSND_WAVCHECK" --same-as "$T/in-$fmt.wav" --trim "$T/out-$fmt.wav" >"$T/cmp.log" 2>&1 ||
		vsnd_fail "play $spec: $(cat "$T/cmp.log")"
	echo "play $spec: bit-exact"
done

# Capture: a counter signal from the backend's --wav-in, recorded by vsnd-rec.
for spec in "s16 2 48000" "s32 6 96000" "float 1 44100"; do
	read -r fmt ch rate <<<"$spec"
	"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/src-$fmt.wav" -f "$fmt" -c "$ch" -r "$rate" -d 2 \
		-s counter >/dev/null 2>&1
	start_backend --wav-out "$T/unused.wav" --wav-in "$T/src-$fmt.wav" --wav-in-once --no-pacing --streams "out,in:8"
	"$VSND_REC" --socket "$T/snd.sock" -f "$fmt" -c "$ch" -r "$rate" -d 1 "$T/rec-$fmt.wav" >"$T/rec.log" 2>&1 ||
		vsnd_fail "rec $spec: $(cat "$T/rec.log")"
	vsnd_stop backend
	frames=$("$VSND_WAVCHECK" "$T/rec-$fmt.wav" | sed -n 's/.*channels, \([0-9]*\) frames.*/\1/p')
	[ "$frames" = "$rate" ] || vsnd_fail "rec $spec: $frames frames, expected $rate"
	# The recording is the first second of the source, exactly.
	"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/ref-$fmt.wav" -f "$fmt" -c "$ch" -r "$rate" -d 1 \
		-s counter >/dev/null 2>&1
	"$VSND_WAVCHECK" --same-as "$T/ref-$fmt.wav" "$T/rec-$fmt.wav" >"$T/cmp.log" 2>&1 ||
		vsnd_fail "rec $spec: $(cat "$T/cmp.log")"
	echo "rec $spec: bit-exact, $frames frames"
done

# Paced (a real-time clock like a sound card): 2 s of audio take 2 s, nothing lost.
"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/paced.wav" -d 2 -s counter >/dev/null 2>&1
start_backend --wav-out "$T/paced-out.wav"
t0=$(date +%s%N)
"$VSND_PLAY" --socket "$T/snd.sock" "$T/paced.wav" >"$T/play.log" 2>&1 || vsnd_fail "paced: $(cat "$T/play.log")"
el=$(( ($(date +%s%N) - t0) / 1000000 ))
vsnd_stop backend
[ "$el" -ge 1990 ] || vsnd_fail "2 s of audio played in $el ms: completions are not paced by the host clock"
"$VSND_WAVCHECK" --counter "$T/paced-out.wav" | grep -q "0 frames lost, 0 repeated" || vsnd_fail "paced: frames lost"
echo "paced: 2 s in $el ms, $(grep -o 'latency.*' "$T/play.log")"
