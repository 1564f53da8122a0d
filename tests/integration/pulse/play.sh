#!/bin/bash
# SPDX-License-Identifier: MIT
# pulse-play: vsnd-tone plays tones through a real PulseAudio into a null
# sink; parec records the sink's monitor, which must carry exactly the
# played signal: right frequencies per channel, the right length (within a
# period), no dropout. Once in S16 (the sink's own format: bit-exact path),
# then in FLOAT and in S24_3 at 44.1 kHz (the server converts/resamples).
source "$VSND_TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/server.sh"
vsnd_setup
pulse_start

# play_case NAME TOLERANCE_FRAMES STREAM_FRAMES VSND_TONE_ARGS...
# (3 s of audio: always 144000 frames at the sink's 48 kHz)
play_case() {
	local name=$1 tol=$2 frames=$3
	shift 3
	local rec=$T/$name.wav
	vsnd_bg "parec-$name" parec -d vsnd_null.monitor --file-format=wav --format=s16le \
		--rate=48000 --channels=2 --latency-msec=50 "$rec"
	vsnd_wait_for 5 pulse_stream_index source-outputs parec ||
		vsnd_fail "$name: parec did not connect"

	"$VSND_TONE" --backend pulse --device vsnd_null --vm-name "play-$name" -d 3 -p 20 "$@" \
		>"$T/tone-$name.log" 2>&1 || vsnd_fail "$name: vsnd-tone failed"
	local result
	result=$(grep '^result:' "$T/tone-$name.log")
	echo "$name: $result"
	[[ $result == *" status=ok "* ]] || vsnd_fail "$name: $result"
	[[ $result == *" backend=pulse "* ]] || vsnd_fail "$name: not the pulse backend"
	[[ $result == *" frames=$frames "* ]] || vsnd_fail "$name: not all frames left the ring"

	# The monitor keeps delivering (silence) after the tone: once 0.3 s
	# more has reached the file, everything the tone played is in it.
	local have want
	have=$(pulse_file_frames "$rec")
	want=$((have + 14400))
	vsnd_wait_for 20 pulse_file_has "$rec" "$want" ||
		vsnd_fail "$name: parec stopped recording"
	vsnd_stop "parec-$name"

	if ! "$VSND_WAVCHECK" --rate 48000 --channels 2 --tones --expect-frames 144000 \
		--tolerance "$tol" --max-gap 2 "$rec" >"$T/check-$name.log" 2>&1; then
		echo "$name: recording does not match:"
		cat "$T/check-$name.log"
		return 1
	fi
	grep -E 'signal from|longest' "$T/check-$name.log"
}

# The monitor + parec chain that measures us is a real-time pipeline too:
# on a loaded 2-core machine it glitches now and then even for paplay. A
# case gets a second run; a backend that drops or repeats audio fails both.
# vsnd-tone's own result (status, frames) is checked hard on every run.
play_twice() {
	play_case "$@" && return 0
	echo "$1: glitch on the first run, running it again"
	play_case "$1-again" "${@:2}" || vsnd_fail "$1: the recording does not match twice"
}

# 20 ms periods (40 ms in flight) with a length tolerance of 480 frames
# (half a period) for the bit-exact path.
play_twice s16 480 144000 -f s16 -r 48000 -c 2
play_twice float 480 144000 -f float -r 48000 -c 2
# Resampling 44.1 -> 48 kHz smears the edges by the resampler's length.
play_twice s24_3-44k 960 132300 -f s24_3 -r 44100 -c 2
echo "pulse-play: OK"
