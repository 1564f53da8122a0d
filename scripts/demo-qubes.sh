#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo's Qubes half: a simulated VM -- its own PipeWire + WirePlumber in
# a private runtime dir, with vsnd-qubes-agent giving it a sink -- plays 3 s
# of tones with pw-play; vsnd-qubes, the host side, takes them over the
# socket vchan into the auto backend (the user's PipeWire or PulseAudio if
# one answers, else a WAV file here).
set -uo pipefail
build=${1:-build}
for tool in pipewire wireplumber pw-play pw-cli; do
	command -v "$tool" >/dev/null || { echo "== Qubes demo skipped: $tool missing (make deps)"; exit 0; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vsnd-demo-qubes.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
vm=(env XDG_RUNTIME_DIR="$tmp/vm-run" XDG_CONFIG_HOME="$tmp/vm-config" PIPEWIRE_REMOTE= )
mkdir -p "$tmp/vm-run" "$tmp/vm-config/wireplumber/wireplumber.conf.d" "$tmp/vchan" "$tmp/status"
chmod 700 "$tmp/vm-run"
cat >"$tmp/vm-config/wireplumber/wireplumber.conf.d/50-vm.conf" <<CONF
wireplumber.profiles = { vm = { inherits = [ policy, mixin.systemwide-session, mixin.stateless ] } }
CONF
export VCHAN_SOCKET_DIR="$tmp/vchan"
"${vm[@]}" pipewire >"$tmp/vm-pipewire.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do "${vm[@]}" pw-cli info 0 >/dev/null 2>&1 && break; sleep 0.05; done
"${vm[@]}" wireplumber --profile vm >"$tmp/vm-wireplumber.log" 2>&1 & pids+=($!)
"${vm[@]}" VCHAN_DOMAIN=7 "$build/tools/vsnd-qubes-agent" --domid 0 --status-file "$tmp/agent.status" \
	>"$tmp/agent.log" 2>&1 & pids+=($!)
"$build/tools/vsnd-qubes" --backend auto --wav-out "$(pwd)/vsnd-qubes-output.wav" --status-dir "$tmp/status" \
	--no-control-socket --no-dbus --pidfile-dir "$tmp" 7 demo-vm >"$tmp/daemon.log" 2>&1 & pids+=($!)
daemon_pid=$!
for _ in $(seq 200); do grep -q "rec_connected=1" "$tmp/agent.status" 2>/dev/null && break; sleep 0.05; done
grep -q "rec_connected=1" "$tmp/agent.status" 2>/dev/null ||
	{ echo "Qubes demo: the daemon did not reach the agent" >&2; tail -n 5 "$tmp"/*.log >&2; exit 1; }
"$build/tools/vsnd-tone" -q --backend wav --no-pacing --wav-out "$tmp/tones.wav" -r 48000 -d 3 >/dev/null 2>&1
echo "== vsnd demo: a Qubes VM's sound"
echo "   VM:    its own PipeWire, pw-play 3 s of tones -> vsnd-qubes-agent's sink"
echo "   host:  vsnd-qubes $(grep -o 'audio through .*' "$tmp/daemon.log" | head -n 1)"
clk=$(getconf CLK_TCK)
cpu0=$(awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat")
# Realtime where allowed, as a desktop player runs.
rt=(); chrt -f 70 true 2>/dev/null && rt=(chrt -f 70)
"${vm[@]}" "${rt[@]}" pw-play "$tmp/tones.wav" || { echo "Qubes demo: pw-play failed" >&2; exit 1; }
sleep 0.5
cpu1=$(awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat")
line=$(cat "$tmp/status/vsnd-status/demo-vm" 2>/dev/null)
played=$(sed -n 's/.*frames_played=\([0-9]*\).*/\1/p' <<<"$line")
echo "   the host daemon took ${played:-0} frames (3 s = 132,300 at 44.1 kHz, plus the agent's start-up silence)"
echo "   agent: $(tr ' ' '\n' <"$tmp/agent.status" | grep -E '^(frames_sent|frames_dropped)=' | tr '\n' ' ')"
awk -v a="$cpu0" -v b="$cpu1" -v c="$clk" 'BEGIN { printf "   host daemon CPU: %.2f %% of one core over the 3 s\n", (b - a) / c / 3 * 100 }'
if grep -q "WAV file" "$tmp/daemon.log"; then
	echo "== no sound server answered: the VM's audio went to $(pwd)/vsnd-qubes-output.wav"
fi
[ "${played:-0}" -ge 130000 ] || { echo "Qubes demo: too few frames arrived" >&2; exit 1; }
