#!/usr/bin/env bash
# Paced wav/null: never faster than real time, and nothing lost on the way.
source "$VSND_TESTLIB"
vsnd_setup

# A deep ring: the machine may be busy, and this test is about the clock, not about latency.
"$VSND_TONE" -q --backend wav --wav-out "$T/p.wav" -d 1 -s counter --ring-periods 32 >"$T/tone.log" 2>&1 ||
	vsnd_fail "paced play failed"
wall=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' "$T/tone.log")
awk -v w="$wall" 'BEGIN { exit !(w >= 1.0) }' || vsnd_fail "1 s of audio played in $wall s"
grep -q "underrun=0 " "$T/tone.log" || vsnd_fail "underruns: $(cat "$T/tone.log")"
"$VSND_WAVCHECK" --counter "$T/p.wav" >"$T/c.log" 2>&1 || vsnd_fail "counter: $(cat "$T/c.log")"
grep -q "0 frames lost, 0 repeated" "$T/c.log" || vsnd_fail "$(cat "$T/c.log")"
echo "wav: 1 s took $wall s, $(tail -n 2 "$T/c.log" | head -n 1)"

"$VSND_TONE" -q --backend null -d 0.5 >"$T/null.log" 2>&1 || vsnd_fail "null play failed"
wall=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' "$T/null.log")
awk -v w="$wall" 'BEGIN { exit !(w >= 0.5) }' || vsnd_fail "null: 0.5 s of audio played in $wall s"
grep -q "frames=24000 " "$T/null.log" || vsnd_fail "null: $(cat "$T/null.log")"
echo "null: 0.5 s took $wall s"
