#!/bin/bash
# SPDX-License-Identifier: MIT
# alsa playback is bit-exact: vsnd-tone plays through alsa-lib's file plugin
# (slave null) and the file holds exactly the samples the same generator
# writes through the wav backend. The null plugin does not pace (it takes
# any amount at once), so the backend must notice and run unpaced: no
# invented silence, no underruns. Then the same through the vsndtest device,
# which paces like a card: real time, channel map set, no xrun.
source "$(dirname "$0")/common.sh"

alsa_conf <<EOF
pcm.vsnd_wav { type file slave.pcm null file "$T/out.wav" format wav }
pcm.vsnd_raw { type file slave.pcm null file "$T/out.raw" format raw }
pcm.vsnd_card { type vsndtest file "$T/card.raw" stats "$T/card.stats" }
EOF

# FORMAT RATE CHANNELS CONTAINER(wav|raw) SECONDS
play_exact() {
	local fmt=$1 rate=$2 ch=$3 kind=$4 secs=$5 name="$1-$2-$3"
	local frames=$((rate * secs))
	rm -f "$T/out.wav" "$T/out.raw"
	"$VSND_TONE" --backend wav --no-pacing --wav-out "$T/ref-$name.wav" -q \
		-f "$fmt" -r "$rate" -c "$ch" -d "$secs" >"$T/ref-$name.log" 2>&1 ||
		vsnd_fail "$name: reference failed"
	"$VSND_TONE" --backend alsa --device "vsnd_$kind" -q -f "$fmt" -r "$rate" -c "$ch" \
		-d "$secs" >"$T/play-$name.log" 2>&1 || vsnd_fail "$name: vsnd-tone failed"
	grep -q "does not pace playback" "$T/play-$name.log" ||
		vsnd_fail "$name: the unpaced null device was not recognised"
	check_result "$T/play-$name.log" frames -eq "$frames"
	check_result "$T/play-$name.log" underrun -eq 0
	local got="$T/out.wav"
	if [ "$kind" = raw ]; then
		local size want
		size=$(stat -c %s "$T/out.raw")
		want=$((frames * $(bytes_per_frame "$fmt" "$ch")))
		[ "$size" -eq "$want" ] || vsnd_fail "$name: raw output is $size bytes, expected $want"
		raw_to_wav "$fmt" "$rate" "$ch" "$T/out.raw" "$T/out-$name.wav" ||
			vsnd_fail "$name: cannot convert the raw output"
		got="$T/out-$name.wav"
	fi
	"$VSND_WAVCHECK" --rate "$rate" --channels "$ch" --same-as "$T/ref-$name.wav" "$got" \
		>"$T/check-$name.log" 2>&1 || vsnd_fail "$name: output differs from the reference"
	echo "ok: $name bit-exact through the file plugin ($kind)"
}

play_exact s16 48000 2 wav 2
play_exact s32 48000 6 wav 1
play_exact float 48000 6 raw 1   # the file plugin's WAV header calls float PCM: use raw
play_exact u8 8000 1 wav 2
play_exact s24_3 44100 2 wav 1
play_exact s24 96000 2 raw 1     # 24 in 32 bits: no WAV form in the file plugin

# Paced: the vsndtest device takes a period every 10 ms. 1 s of s16 5.1.
"$VSND_TONE" --backend wav --no-pacing --wav-out "$T/ref-card.wav" -q -c 6 -d 1 \
	>/dev/null 2>&1 || vsnd_fail "card: reference failed"
"$VSND_TONE" --backend alsa --device vsnd_card -c 6 -d 1 >"$T/card.log" 2>&1 ||
	vsnd_fail "card: vsnd-tone failed"
grep -q "does not pace" "$T/card.log" && vsnd_fail "card: a pacing device was taken for unpaced"
check_result "$T/card.log" frames -eq 48000
wall=$(result_field "$T/card.log" wall_s)
awk -v w="$wall" 'BEGIN { exit !(w >= 0.95 && w < 2.5) }' ||
	vsnd_fail "card: 1 s of audio took $wall s: the device clock did not pace"
[ "$(stats_field "$T/card.stats" xruns)" = 0 ] || vsnd_fail "card: the device saw an xrun: $(cat "$T/card.stats")"
[ "$(stats_field "$T/card.stats" chmap)" = "FL,FR,FC,LFE,RL,RR" ] ||
	vsnd_fail "card: channel map not set: $(cat "$T/card.stats")"
# Underruns: only the silence played at the end while vsnd-tone waits out
# the device's delay (at most the buffer of 4 periods and the last period).
check_result "$T/card.log" underrun -le $((6 * 480))
raw_to_wav s16 48000 6 "$T/card.raw" "$T/card.wav" || vsnd_fail "card: cannot convert"
"$VSND_WAVCHECK" --same-as "$T/ref-card.wav" --trim "$T/card.wav" >"$T/check-card.log" 2>&1 ||
	vsnd_fail "card: paced output differs from the reference"
echo "ok: paced device, wall $wall s, $(result_field "$T/card.log" underrun) tail underrun frames, $(cat "$T/card.stats")"

# Mute is applied by the backend (ALSA has no per-stream volume): the file
# gets every frame, all silent.
rm -f "$T/out.wav"
"$VSND_TONE" --backend alsa --device vsnd_wav --mute -q -d 1 >"$T/mute.log" 2>&1 || vsnd_fail "mute: vsnd-tone failed"
check_result "$T/mute.log" frames -eq 48000
[ "$(sox "$T/out.wav" -n stat 2>&1 | sed -n 's/^Maximum amplitude: *//p')" = "0.000000" ] ||
	vsnd_fail "mute: the output is not silent"
[ "$(soxi -s "$T/out.wav")" -eq 48000 ] || vsnd_fail "mute: the output is not 48000 frames long"
echo "ok: muted stream plays 48000 frames of silence"
