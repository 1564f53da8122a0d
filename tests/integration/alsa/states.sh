#!/bin/bash
# SPDX-License-Identifier: MIT
# The stream life cycle (start/stop/restart, flush, idle underruns, capture
# start/stop) through the public API on the paced vsndtest device; see
# alsa-states.c. $2 is the alsa-states binary.
source "$(dirname "$0")/common.sh"
STATES=${2:?usage: $0 PLUGIN ALSA-STATES}

alsa_conf <<EOF
pcm.vsnd_card { type vsndtest rates [ 44100 48000 ] channels_max 2 formats [ S16_LE S32_LE ] stats "$T/play.stats" }
pcm.vsnd_card_in { type vsndtest stats "$T/rec.stats" }
EOF

"$STATES" vsnd_card vsnd_card_in >"$T/states.log" 2>&1 || vsnd_fail "alsa-states failed"
cat "$T/states.log"
# Each start request really restarted the device; no xrun at the ALSA level
# (an idle producer is silence from our side, not a device underrun).
[ "$(stats_field "$T/play.stats" starts)" -eq 2 ] || vsnd_fail "playback device starts: $(cat "$T/play.stats")"
[ "$(stats_field "$T/play.stats" xruns)" -eq 0 ] || vsnd_fail "playback device xruns: $(cat "$T/play.stats")"
[ "$(stats_field "$T/rec.stats" starts)" -eq 2 ] || vsnd_fail "capture device starts: $(cat "$T/rec.stats")"
[ "$(stats_field "$T/rec.stats" xruns)" -eq 0 ] || vsnd_fail "capture device xruns: $(cat "$T/rec.stats")"
echo "ok: $(cat "$T/play.stats"); $(cat "$T/rec.stats")"
