#!/usr/bin/env bash
# vsnd-tone through the wav backend: every format written and read back bit-exact.
source "$VSND_TESTLIB"
vsnd_setup

for spec in "s16 48000 2" "u8 8000 1" "s24 96000 6" "s24_3 44100 2" "s32 48000 8" "float 96000 6"; do
	read -r fmt rate ch <<<"$spec"
	ref="$T/ref-$fmt.wav" back="$T/back-$fmt.wav"
	"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$ref" -f "$fmt" -r "$rate" -c "$ch" -d 0.5 \
		>"$T/play.log" 2>&1 || vsnd_fail "playing $spec"
	frames=$(( rate / 2 ))
	"$VSND_WAVCHECK" --rate "$rate" --channels "$ch" --tones --expect-frames "$frames" "$ref" \
		>"$T/check.log" 2>&1 || vsnd_fail "the written $fmt file is wrong: $(cat "$T/check.log")"
	"$VSND_TONE" -q --backend wav --no-pacing --wav-in "$ref" --wav-in-once -f "$fmt" -r "$rate" \
		-c "$ch" -d 0.5 --record "$back" >"$T/rec.log" 2>&1 || vsnd_fail "recording $spec"
	grep -q "recorded=$frames " "$T/rec.log" || vsnd_fail "recorded frame count: $(cat "$T/rec.log")"
	"$VSND_WAVCHECK" --same-as "$ref" "$back" >"$T/cmp.log" 2>&1 ||
		vsnd_fail "$fmt round trip differs: $(cat "$T/cmp.log")"
	echo "$fmt $rate Hz $ch ch: $frames frames bit-exact"
done
