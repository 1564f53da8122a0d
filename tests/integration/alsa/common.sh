# SPDX-License-Identifier: MIT
# Shared setup of the alsa integration tests (bash; source it with the path
# of the vsndtest plugin as $1, as meson passes it).
#
# lib.sh gives a private HOME, so the ALSA configuration is a private
# ~/.asoundrc (alsa.conf loads it): tests define only vsnd_* devices and
# never depend on the machine's default device.
# shellcheck source=../lib.sh
source "$VSND_TESTLIB"
vsnd_setup

VSNDTEST_PLUGIN=${1:?usage: $0 PATH-TO-libasound_module_pcm_vsndtest.so}
[ -f "$VSNDTEST_PLUGIN" ] || vsnd_fail "test plugin $VSNDTEST_PLUGIN not built"

# Write ~/.asoundrc: the test plugin's type plus whatever is on stdin.
alsa_conf() {
	{
		echo "pcm_type.vsndtest { lib \"$VSNDTEST_PLUGIN\" }"
		cat
	} >"$HOME/.asoundrc"
}

# result_field LOGFILE KEY: the value of KEY= in vsnd-tone's result line.
result_field() {
	sed -n "s/^result: .*[ ]$2=\([^ ]*\).*/\1/p" "$1" | tail -n 1
}

# stats_field FILE KEY: a field of the vsndtest plugin's stats file.
stats_field() {
	sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$1" | tail -n 1
}

# Little-endian 16/32-bit integers as raw bytes.
# shellcheck disable=SC2059 # the inner printf builds the escapes the outer one prints
le16() { printf "$(printf '\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)))"; }
le32() { le16 $(($1 & 65535)); le16 $(($1 >> 16 & 65535)); }

# raw_to_wav FORMAT RATE CHANNELS IN.raw OUT.wav: wrap raw samples in a
# plain WAV header (PCM, or IEEE float) that vsnd-wavcheck reads, byte for
# byte: sox would round floats through its 32-bit integer pipeline. S24 (24
# bits in the low 3 bytes of 4) is repacked to 3 bytes first, a change of
# container, not of value, as the wav backend does.
raw_to_wav() {
	local fmt=$1 rate=$2 ch=$3 in=$4 out=$5 bits tag=1
	case $fmt in
	u8) bits=8 ;;
	s16) bits=16 ;;
	s24_3) bits=24 ;;
	s24)
		bits=24
		perl -0777 -pe 's/(...)./$1/gs' "$in" >"$in.packed" || return 1
		in=$in.packed
		;;
	s32) bits=32 ;;
	float) bits=32 tag=3 ;;
	*) return 1 ;;
	esac
	local size align=$((ch * bits / 8))
	size=$(stat -c %s "$in") || return 1
	{
		printf 'RIFF'; le32 $((36 + size)); printf 'WAVEfmt '; le32 16
		le16 $tag; le16 "$ch"; le32 "$rate"; le32 $((rate * align)); le16 $align; le16 $bits
		printf 'data'; le32 "$size"
		cat "$in"
	} >"$out"
}

# bytes_per_frame FORMAT CHANNELS
bytes_per_frame() {
	local b
	case $1 in u8) b=1 ;; s16) b=2 ;; s24_3) b=3 ;; *) b=4 ;; esac
	echo $((b * $2))
}

# check_result LOGFILE KEY OP VALUE: assert on a numeric result field.
check_result() {
	local v
	v=$(result_field "$1" "$2")
	[ -n "$v" ] || vsnd_fail "$1: no $2 in the result line"
	test "$v" "$3" "$4" || vsnd_fail "$1: $2=$v, expected $3 $4"
}
