#!/bin/bash
# SPDX-License-Identifier: MIT
# Parameters a device cannot do are refused clearly: vsnd-tone exits 2 (it
# maps EINVAL/ENOTSUP to 2) and a log line names the offending value. The
# vsndtest device stands in for a hw device with fixed constraints; a plug
# device on top of it converts instead (that is ALSA's job, not vsnd's).
source "$(dirname "$0")/common.sh"

alsa_conf <<EOF
pcm.vsnd_fixed { type vsndtest rates [ 44100 48000 ] channels_max 2 formats [ S16_LE S32_LE ] }
pcm.vsnd_48k { type vsndtest rates [ 48000 ] stats "$T/48k.stats" }
pcm.vsnd_plug { type plug slave.pcm vsnd_48k }
EOF

# NAME EXPECTED-EXIT LOG-REGEX ARGS...
expect_refusal() {
	local name=$1 want=$2 re=$3 rc=0
	shift 3
	"$VSND_TONE" --backend alsa -d 0.2 "$@" >"$T/$name.log" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || vsnd_fail "$name: exit code $rc, expected $want"
	grep -Eq "$re" "$T/$name.log" || vsnd_fail "$name: no log line matching '$re'"
	echo "ok: $name refused (exit $rc): $(grep -E "$re" "$T/$name.log" | head -n 1)"
}

# A rate inside the device's range but not one it offers: only snd_pcm_hw_params_set_rate
# can tell, and the backend must not round it to the nearest.
expect_refusal rate-between 2 "audio\.alsa: .*cannot do rate 46000 Hz" --device vsnd_fixed -r 46000
# Outside the range: the caps the backend reports already exclude it.
expect_refusal rate-outside 2 "96000" --device vsnd_fixed -r 96000
expect_refusal channels 2 "6" --device vsnd_fixed -c 6
grep -Eq "channel|6 ch" "$T/channels.log" || vsnd_fail "channels: the log does not say what was refused"
expect_refusal format 2 "(s24_3|S24_3)" --device vsnd_fixed -f s24_3
expect_refusal rate-only-48k 2 "44100" --device vsnd_48k -r 44100
# A device that does not exist: not a parameter problem (exit 1), but named in the log.
expect_refusal no-device 1 "audio\.alsa: .*'vsnd_nonexistent'" --device vsnd_nonexistent

# The same rate through a plug device works: the plug layer converts.
"$VSND_TONE" --backend alsa --device vsnd_plug -r 44100 -d 0.3 >"$T/plug.log" 2>&1 ||
	vsnd_fail "plug: 44100 Hz through a plug device failed"
check_result "$T/plug.log" frames -eq 13230
[ "$(stats_field "$T/48k.stats" rate)" = 48000 ] || vsnd_fail "plug: the device did not run at 48000 Hz"
# 0.3 s at 48 kHz is 14400 frames, plus the silence of the tail.
[ "$(stats_field "$T/48k.stats" frames)" -ge 14400 ] || vsnd_fail "plug: the device got too few frames: $(cat "$T/48k.stats")"
echo "ok: plug device converts 44100 Hz for a 48000-only device"
