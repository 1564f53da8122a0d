#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/qubes-e2e: the whole Qubes path as BENCH.md defines it. Two real
# PipeWire + WirePlumber daemons on this machine stand for the VM and the
# host; vsnd-qubes-agent in the VM, vsnd-qubes (pipewire backend) on the
# host, both with their DEFAULT settings. vsnd-click-probe (bench/click-probe.c)
# plays clicks in the VM and catches them at the host's null sink, both ends
# timed on the one CLOCK_MONOTONIC: end-to-end latency p50/p99 (app write ->
# host sink). Also: CPU of agent + daemon per audio second, frames lost
# (agent drops + host stream underruns), and as a cross-check the latency the
# programs report, sampled every 200 ms: the VM graph's quantum + the agent's
# queue (ring + vchan) + the daemon's (its ring + the host server's delay).
# wakeup_floor_cpu_pct: what a bare timerfd wake-up per VM graph cycle plus one
# per host period cost on this machine (bench/timer-floor.c, 20 s each, after
# the run): the least agent + daemon can cost here at these settings.
#
# Usage: bench/qubes-e2e.sh [BUILD_DIR] [SECONDS=600]
# (QUBES_E2E_AGENT_OPTS / QUBES_E2E_DAEMON_OPTS: extra vsnd-qubes-agent /
# vsnd-qubes options, for experiments; the figures reported in README as the
# defaults' are with none. QUBES_E2E_AGENT=module: the agent as the module
# inside the VM's PipeWire, loaded from our fragment, instead of the
# vsnd-qubes-agent client; its CPU is then part of the VM's PipeWire, so
# compare vm_side_cpu_pct = the VM's PipeWire + the agent process.
# QUBES_E2E_DIRECTION=mic: the microphone path instead, host app -> the host
# sink whose monitor vsnd-qubes records (--device SINK.monitor; the user has
# allowed the microphone) -> agent's source -> a VM app recording; frames lost
# are then the source's underruns + the stall backlog it dropped + what the
# daemon dropped.)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SECS=${2:-600}
ROOT=$PWD
export VSND_SOURCE_DIR=$ROOT VSND_TONE=$ROOT/$BUILD/tools/vsnd-tone VSND_QUBES=$ROOT/$BUILD/tools/vsnd-qubes
export VSND_QUBES_AGENT=$ROOT/$BUILD/tools/vsnd-qubes-agent VSND_WAVCHECK=$ROOT/$BUILD/tests/tools/vsnd-wavcheck
export VSND_CTL=$ROOT/$BUILD/tools/vsnd-ctl
FORM=${QUBES_E2E_AGENT:-client}
DIR=${QUBES_E2E_DIRECTION:-playback}
PROBE=$ROOT/$BUILD/bench/vsnd-click-probe
for f in "$VSND_QUBES" "$VSND_QUBES_AGENT" "$PROBE"; do
	[ -x "$f" ] || { echo "qubes-e2e: $f not built" >&2; exit 1; }
done
source tests/integration/lib.sh
source tests/qubes/qubes-lib.sh
source tests/integration/pipewire/server.sh
source tests/qubes/agent-lib.sh
pw_test_setup
qubes_env
vmpw_config
pw_server_start
if [ "$FORM" = module ]; then
	# The fragment as a VM installs it, its arguments from QUBES_E2E_AGENT_OPTS (--key value).
	args="domid = 0 status-file = \"$T/agent.status\""
	set -- ${QUBES_E2E_AGENT_OPTS:-}
	while [ $# -ge 2 ]; do args="$args ${1#--} = $2"; shift 2; done
	sed "s|^ *#domid = 0| $args|" data/pipewire/60-vsnd-qubes.conf >"$VM_CONF/pipewire/pipewire.conf.d/60-vsnd-qubes.conf"
	VMPW_ENV="VCHAN_DOMAIN=20 PIPEWIRE_MODULE_DIR=$ROOT/$BUILD/src/qubes:$(pkg-config --variable=moduledir libpipewire-0.3)"
	vmpw_start
	vsnd_wait_for 10 vm_default_sink_is vsnd-qubes-sink || vsnd_fail "the module's sink is not the VM's default"
	agent_pid=
else
	vmpw_start
	# shellcheck disable=SC2086 # options, split on purpose
	agent_start 20 ${QUBES_E2E_AGENT_OPTS:-}
	agent_pid=${VSND_BG_PIDS[agent]}
fi
mic_opts=()
[ "$DIR" = mic ] && mic_opts=(--device "$PW_SINK.monitor")
# shellcheck disable=SC2086 # options, split on purpose
path_start 20 e2e pipewire "${mic_opts[@]}" ${QUBES_E2E_DAEMON_OPTS:-}
if [ "$DIR" = mic ]; then
	mic_set allow e2e || vsnd_fail "vsnd-ctl mic allow"
	# lost: the source's underruns + the backlog it dropped + what the daemon dropped; fill: the agent's record queue
	lost() { echo $(( $(agent_field silence_frames) + $(agent_field rec_dropped) + $(status_field e2e mic_frames_dropped) )); }
	fill=rec_fill started="status_is e2e mic_flowing 1" probe_dir=(--mic vsnd-qubes-source)
else
	lost() { status_field e2e underruns; }
	fill=play_fill started="status_is e2e corked 0" probe_dir=()
fi

cpu_ticks() { if [ -n "$1" ]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi; }
daemon_pid=${VSND_BG_PIDS[daemon-e2e]}
vmpw_pid=${VSND_BG_PIDS[vm-pipewire]}
a0=$(cpu_ticks "$agent_pid"); d0=$(cpu_ticks "$daemon_pid"); v0=$(cpu_ticks "$vmpw_pid")
u0=$(lost)
# The probe runs realtime like a player would; exec keeps vsnd_bg's PID its own.
probe_rt() { local rt=(); chrt -f 70 true 2>/dev/null && rt=(chrt -f 70); exec "${rt[@]}" "$@"; }
vsnd_bg probe probe_rt "$PROBE" "${probe_dir[@]}" "$VM_RUN/pipewire-0" "$XDG_RUNTIME_DIR/pipewire-0" "$PW_SINK" "$SECS"
probe_pid=$BG_PID
vsnd_wait_for 10 $started || vsnd_fail "the path did not start ($started)"
sleep 2 # past the prefill and the rate control's first second
: >"$T/lat.dat"
while kill -0 "$probe_pid" 2>/dev/null; do
	q=$(agent_field $fill); h=$(status_field e2e latency_ms); sv=$(status_field e2e server_ms)
	[ -n "$q" ] && [ -n "$h" ] && echo "$q $h $sv $(agent_field play_rate)" >>"$T/lat.dat"
	sleep 0.2
done
wait "$probe_pid" || vsnd_fail "probe: $(tail -n 3 "$T/probe.log")"
unset "VSND_BG_PIDS[probe]"
a1=$(cpu_ticks "$agent_pid"); d1=$(cpu_ticks "$daemon_pid"); v1=$(cpu_ticks "$vmpw_pid")
u1=$(lost)
summary=$(tail -n 1 "$T/probe.log")
# QUBES_E2E_KEEP=DIR keeps the raw samples (probe.log: every click; lat.dat: agent
# queue, daemon latency, server delay, agent rate every 200 ms) for a closer look.
[ -z "${QUBES_E2E_KEEP:-}" ] || cp "$T/probe.log" "$T/lat.dat" "$T"/*.log "$QUBES_E2E_KEEP/" 2>/dev/null
echo "probe: $summary"
echo "agent: $(cat "$T/agent.status")"
echo "daemon: $(cat "$STATUS/vsnd-status/e2e" 2>/dev/null)"
python3 - "$summary" "$T/lat.dat" "$SECS" "$((a1 - a0))" "$((d1 - d0))" "$(agent_field frames_dropped)" "$((u1 - u0))" \
	"$(getconf CLK_TCK)" "$(status_field e2e rt_busy)" "$(agent_field play_reprimes)" "${QUBES_E2E_AGENT_OPTS:-}" "${QUBES_E2E_DAEMON_OPTS:-}" \
	"$FORM" "$((v1 - v0))" "$DIR" "$BUILD" <<'PY'
import sys
sys.path.insert(0, "bench")
from report import timer_floor, write
summary, lat, secs, at, dt, dropped, underruns, hz, rt_busy, reprimes, agent_opts, daemon_opts, form, vt, direction, build = sys.argv[1:]
mic = direction == "mic"
secs, hz = float(secs), float(hz)
f = dict(kv.split("=") for kv in summary.split())
import re
q = re.search(r"--quantum[ =](\d+)", agent_opts)
QUANTUM_MS = (int(q.group(1)) if q else 128) / 44.1  # the agent's node.latency: one VM graph cycle
# playback: + the daemon's ring and the server's delay; mic: the agent's record queue only
v = sorted(QUANTUM_MS + int(l.split()[0]) / 44.1 + (0 if mic else float(l.split()[1])) for l in open(lat))
r = {
    "seconds": secs,
    "clicks": int(f["clicks"]),
    "clicks_lost": int(f["sent"]) - int(f["clicks"]),
    "latency_p50_ms": float(f["p50_ms"]),
    "latency_p99_ms": float(f["p99_ms"]),
    "latency_max_ms": float(f["max_ms"]),
    "reported_queues_p50_ms": v[len(v) // 2],
    "reported_queues_p99_ms": v[min(len(v) - 1, len(v) * 99 // 100)],
    "agent_cpu_pct": 100.0 * int(at) / hz / secs,
    "daemon_cpu_pct": 100.0 * int(dt) / hz / secs,
    "frames_lost": int(dropped) + int(underruns),
    "agent_frames_dropped": int(dropped),
    "host_underrun_frames": int(underruns),
    "daemon_rt_busy": int(rt_busy or 0),  # host periods whose just-in-time read found the lock held
    "gaps": int(reprimes or 0),  # host reads that found the agent's queue dry (each then re-primed)
}
r["agent_form"] = form  # client: vsnd-qubes-agent; module: inside the VM's PipeWire (its CPU is PipeWire's)
r["vm_pipewire_cpu_pct"] = 100.0 * int(vt) / hz / secs
r["vm_side_cpu_pct"] = r["vm_pipewire_cpu_pct"] + r["agent_cpu_pct"]
r["total_cpu_pct"] = r["agent_cpu_pct"] + r["daemon_cpu_pct"]


def floor_pct(period_ms):
    """What a process that only wakes on a timerfd every PERIOD_MS costs here (bench/timer-floor.c)."""
    f = timer_floor(build, 20, period_ms)
    return 100.0 * float(f["cpu_s"]) / float(f["wall_s"])


# The least agent + daemon can cost on this machine at these settings: one bare wake-up
# per VM graph cycle and one per host period (vsnd-qubes' period: 220 frames, 128 at -l).
host_period_ms = (128 if "-l" in daemon_opts.split() else 220) / 44.1
r["wakeup_floor_cpu_pct"] = floor_pct(QUANTUM_MS) + floor_pct(host_period_ms)
if form == "module":  # no process of its own to measure: see vm_side_cpu_pct
    r["agent_cpu_pct"] = r["total_cpu_pct"] = None
if mic:  # lost: the agent source's underruns + dropped backlog + what the daemon could not hand the VM
    r["direction"] = "mic"
    r["gaps"] = None
    del r["agent_frames_dropped"], r["host_underrun_frames"], r["daemon_rt_busy"]
write("qubes-e2e-mic" if mic else "qubes-e2e", result=r,
      latency="clicks timed at both ends (app write on the host -> the sink vsnd-qubes records -> "
      "recorded by a VM app from the agent's source); reported_queues_*: VM quantum + agent record queue, sampled"
      if mic else "clicks timed at both ends (app write in the VM -> played by the host's null sink); "
      "reported_queues_*: VM quantum + agent ring/vchan + daemon ring + server delay, sampled",
      settings="defaults: agent target 10 ms, quantum 128; vsnd-qubes period 220, read just in time"
      + (f"; agent as the module in the VM's PipeWire" if form == "module" else "")
      + (f"; agent options: {agent_opts}" if agent_opts else "")
      + (f"; vsnd-qubes options: {daemon_opts}" if daemon_opts else ""),
      targets={"latency_p99_ms": 20, "frames_lost": 0, "total_cpu_pct": 0.5})
print(f"{'figure':<24} {'value':>10}  target")
for k, t in [("latency_p50_ms", ""), ("latency_p99_ms", "<= 20"), ("latency_max_ms", ""),
             ("reported_queues_p50_ms", ""), ("reported_queues_p99_ms", ""),
             ("agent_cpu_pct", ""), ("daemon_cpu_pct", ""), ("total_cpu_pct", "<= 0.5"), ("wakeup_floor_cpu_pct", ""),
             ("vm_pipewire_cpu_pct", ""), ("vm_side_cpu_pct", ""), ("gaps", ""),
             ("frames_lost", "0"), ("clicks", ""), ("clicks_lost", "")]:
    print(f"{k:<24} {'n/a':>10}  {t}" if r[k] is None else f"{k:<24} {r[k]:>10.2f}  {t}")
print(f"written bench/results/qubes-e2e{'-mic' if mic else ''}.json")
PY
if command -v gnuplot >/dev/null; then
	grep '^click' "$T/probe.log" | awk '{print $2, $4}' >"$T/clicks.dat"
	name=qubes-e2e title="VM app write -> host sink"
	[ "$DIR" = mic ] && name=qubes-e2e-mic title="microphone: host app write -> VM app"
	gnuplot <<GP
set terminal png size 800,400
set output "bench/results/$name.png"
set title "Qubes path end to end: $title (default settings)"
set xlabel "click (every 250 ms)"; set ylabel "latency (ms)"
plot "$T/clicks.dat" using 1:2 with points pt 7 ps 0.4 title "click latency"
GP
	echo "written bench/results/$name.png"
fi
