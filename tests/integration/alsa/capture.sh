#!/bin/bash
# SPDX-License-Identifier: MIT
# alsa capture is bit-exact: the file plugin's infile (and the vsndtest
# device's) delivers a known signal, vsnd-tone --record writes it to a WAV,
# which must hold the signal: tones at the right pitch, the right length,
# and the same samples. Through the file plugin (slave null: no pacing, the
# backend must not drop frames as overrun) and through the paced vsndtest
# device (real time, no overrun).
source "$(dirname "$0")/common.sh"

# The known signal: vsnd-tone's own generator through the wav backend, as raw samples.
make_input() { # FORMAT RATE CHANNELS SECONDS NAME
	"$VSND_TONE" --backend wav --no-pacing --wav-out "$T/$5.wav" -q -f "$1" -r "$2" -c "$3" \
		-d "$4" >"$T/ref-$5.log" 2>&1 || vsnd_fail "$5: reference failed"
	# The samples of the reference without its header; sox is bit-exact for integer PCM.
	sox "$T/$5.wav" -t raw "$T/$5.raw" || vsnd_fail "$5: cannot make the raw input"
}

make_input s16 48000 2 2 in-s16
make_input s32 44100 6 1 in-s32
make_input s16 48000 2 1 in-s16-1s

alsa_conf <<EOF
pcm.vsnd_in_s16 { type file slave.pcm null file "/dev/null" infile "$T/in-s16.raw" format raw }
pcm.vsnd_in_s32 { type file slave.pcm null file "/dev/null" infile "$T/in-s32.raw" format raw }
pcm.vsnd_card_in { type vsndtest infile "$T/in-s16-1s.raw" stats "$T/card.stats" }
EOF

# DEVICE FORMAT RATE CHANNELS FRAMES REF NAME
record_exact() {
	local dev=$1 fmt=$2 rate=$3 ch=$4 frames=$5 ref=$6 name=$7
	local secs
	secs=$(awk -v f="$frames" -v r="$rate" 'BEGIN { printf "%.6f", f / r }')
	"$VSND_TONE" --backend alsa --device "$dev" --record "$T/rec-$name.wav" -f "$fmt" -r "$rate" \
		-c "$ch" -d "$secs" >"$T/rec-$name.log" 2>&1 || vsnd_fail "$name: vsnd-tone --record failed"
	check_result "$T/rec-$name.log" recorded -eq "$frames"
	check_result "$T/rec-$name.log" overrun -eq 0
	"$VSND_WAVCHECK" --rate "$rate" --channels "$ch" --tones --expect-frames "$frames" \
		--same-as "$T/$ref.wav" "$T/rec-$name.wav" >"$T/check-$name.log" 2>&1 ||
		vsnd_fail "$name: the recording is not the input signal"
	echo "ok: $name: $frames frames recorded bit-exact"
}

record_exact vsnd_in_s16 s16 48000 2 96000 in-s16 file-s16
grep -q "does not pace capture" "$T/rec-file-s16.log" ||
	vsnd_fail "file-s16: the unpaced null device was not recognised"
record_exact vsnd_in_s32 s32 44100 6 44100 in-s32 file-s32

# Paced: 1 s through the vsndtest device must take 1 s.
record_exact vsnd_card_in s16 48000 2 48000 in-s16-1s card
grep -q "does not pace" "$T/rec-card.log" && vsnd_fail "card: a pacing device was taken for unpaced"
wall=$(result_field "$T/rec-card.log" wall_s)
awk -v w="$wall" 'BEGIN { exit !(w >= 0.95 && w < 2.5) }' ||
	vsnd_fail "card: 1 s of capture took $wall s: the device clock did not pace"
[ "$(stats_field "$T/card.stats" xruns)" = 0 ] || vsnd_fail "card: the device overran: $(cat "$T/card.stats")"
echo "ok: paced capture, wall $wall s, $(cat "$T/card.stats")"
