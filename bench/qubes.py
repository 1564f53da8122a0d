#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/qubes: the vsnd-qubes daemon per VM, measured as BENCH.md defines it.

Cases (each against simulated VMs, tests/qubes/vmsim.c, over the socket vchan,
with the paced null backend so only the daemon's own work is measured):
  play-l        one VM playing at -l (2.9 ms periods), microphone flowing too
  play          one VM playing with the default 5 ms periods
  corked        one VM connected but corked and silent (should cost ~nothing)
  32-vms        32 VMs playing at once (default periods): total daemon CPU, xruns
  floor-l/floor what one bare timerfd wake-up per period (2.9 / 5 ms) costs on this
                machine (bench/timer-floor.c): the least any process woken at
                play-l's / play's pace can cost here, to read those two against
Figures: daemon CPU per audio second (% of one core), wake-ups per second,
added latency p50/p99 in both directions, frames lost.

Usage: bench/qubes.py [BUILD_DIR] [SECONDS=20] [RUNS=3]
"""
import os, shutil, signal, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(__file__))
from report import machine, summarize, timer_floor, write  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
QUBES = os.path.join(BUILD, "tools", "vsnd-qubes")
VMSIM = os.path.join(BUILD, "tests", "qubes", "vsnd-vmsim")
CLK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


def proc_ctxsw(pid):
    """Context switches of every thread (the main loop and the audio thread)."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if "ctxt_switches" in line:
                        n += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return n


class VM:
    def __init__(self, tmp, domid, period, lead):
        env = dict(os.environ, VCHAN_DOMAIN=str(domid))
        self.p = subprocess.Popen([VMSIM, "--peer", "0", "--period", str(period), "--lead", str(lead)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                  stderr=subprocess.DEVNULL)
        self.expect("listening")

    def cmd(self, line, expect="ok"):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.expect(expect)

    def expect(self, word):
        line = self.p.stdout.readline().strip()
        if not line.startswith(word):
            raise RuntimeError(f"vmsim said '{line}', expected '{word}'")
        return line

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            pass
        self.p.wait(timeout=5)


def status(tmp, vm):
    try:
        with open(os.path.join(tmp, "status", "vsnd-status", vm)) as f:
            return dict(tok.split("=", 1) for tok in f.read().split() if "=" in tok)
    except FileNotFoundError:
        return {}


def start_daemon(tmp, domid, vm, extra):
    env = dict(os.environ, VCHAN_DOMAIN="0")
    return subprocess.Popen([QUBES, "--no-dbus", "--backend", "null", "--status-dir",
                             os.path.join(tmp, "status"), "--control-prefix", os.path.join(tmp, "ctl."),
                             "--pidfile-dir", tmp, *extra, "--", str(domid), vm],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, vm + ".log"), "w"))


def wait_for(pred, secs=10):
    end = time.time() + secs
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def run_case(name, n_vms, extra, period, lead, corked=False, mic=False):
    tmp = tempfile.mkdtemp(prefix="vsnd-bench-qubes.")
    os.environ["VCHAN_SOCKET_DIR"] = os.path.join(tmp, "vchan")
    os.makedirs(os.environ["VCHAN_SOCKET_DIR"])
    vms, daemons = [], []
    try:
        for i in range(n_vms):
            vms.append(VM(tmp, 100 + i, period, lead))
            daemons.append(start_daemon(tmp, 100 + i, f"vm{i}", extra))
        for i, vm in enumerate(vms):
            vm.expect("connected")
            if not wait_for(lambda: status(tmp, f"vm{i}").get("audio") == "null"):
                raise RuntimeError(f"daemon vm{i} did not open audio")
        for i, vm in enumerate(vms):
            # Corked until the window opens: silence before the VM plays is not an xrun.
            vm.cmd("word cork")
            if mic:
                vm.cmd("word start")
                subprocess.run([os.path.join(BUILD, "tools", "vsnd-ctl"), "--status-dir",
                                os.path.join(tmp, "status"), "--control-prefix", os.path.join(tmp, "ctl."),
                                "mic", "allow", f"vm{i}"], check=True, stdout=subprocess.DEVNULL)
        time.sleep(0.2)  # let cork/uncork settle before the window opens
        cpu0 = [proc_cpu(d.pid) for d in daemons]
        sw0 = [proc_ctxsw(d.pid) for d in daemons]
        t0 = time.time()
        if not corked:
            for vm in vms:
                vm.cmd("word uncork")
                vm.cmd(f"play {SECS} tones")
            for vm in vms:
                vm.cmd("wait-played", "played")
            for vm in vms:
                vm.cmd("word cork")
        else:
            time.sleep(SECS)
        wall = time.time() - t0
        cpu = sum(proc_cpu(d.pid) - c for d, c in zip(daemons, cpu0))
        sw = sum(proc_ctxsw(d.pid) - s for d, s in zip(daemons, sw0))
        frames = int(SECS * 44100 + 0.5)
        if not corked:
            for i in range(n_vms):
                wait_for(lambda: int(status(tmp, f"vm{i}").get("frames_played", 0)) >= frames
                         and status(tmp, f"vm{i}").get("corked") == "1", 5)
        sts = [status(tmp, f"vm{i}") for i in range(n_vms)]
        played = sum(int(s.get("frames_played", 0)) for s in sts)
        lost = 0 if corked else n_vms * frames - played
        result = {
            "case": name, "vms": n_vms, "audio_s": 0 if corked else SECS, "wall_s": wall,
            "daemon_cpu_s": cpu,
            "cpu_pct_per_vm": 100.0 * cpu / wall / n_vms,
            "wakeups_per_s_per_vm": sw / wall / n_vms,
            "play_lat_p50_ms": statistics.median(float(s.get("play_lat_p50_ms", 0)) for s in sts),
            "play_lat_p99_ms": max(float(s.get("play_lat_p99_ms", 0)) for s in sts),
            "mic_lat_p50_ms": statistics.median(float(s.get("mic_lat_p50_ms", 0)) for s in sts),
            "mic_lat_p99_ms": max(float(s.get("mic_lat_p99_ms", 0)) for s in sts),
            "frames_lost": lost,
            "underrun_frames": sum(int(s.get("underruns", 0)) for s in sts),
        }
        return result
    finally:
        for d in daemons:
            d.send_signal(signal.SIGTERM)
        for d in daemons:
            try:
                d.wait(timeout=5)
            except subprocess.TimeoutExpired:
                d.kill()
        for vm in vms:
            try:
                vm.close()
            except Exception:
                vm.p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


# Each simulated VM writes a period at a time and keeps a period and a half
# queued ahead, as vsnd-qubes-agent's rate control does for a host that reads
# just in time (at one period ahead, any wake-up jitter is an underrun).
CASES = [
    ("play-l", 1, ["-l"], 128, 192, False, True),
    ("play", 1, [], 220, 330, False, False),
    ("corked", 1, [], 220, 330, True, False),
    ("32-vms", 32, [], 220, 330, False, False),
]
# The wake-up floor at the daemon's two periods (frames at 44.1 kHz).
FLOORS = [("floor-l", 128), ("floor", 220)]


def run_floor(name, period):
    """timer-floor at PERIOD frames, in the columns of run_case (it moves no audio)."""
    f = timer_floor(BUILD, SECS, period * 1000 / 44100)
    wall = float(f["wall_s"])
    res = {"case": name, "vms": 1, "audio_s": 0, "wall_s": wall, "daemon_cpu_s": float(f["cpu_s"]),
           "cpu_pct_per_vm": 100.0 * float(f["cpu_s"]) / wall, "wakeups_per_s_per_vm": int(f["ctxsw"]) / wall}
    res.update({k: 0 for k in KEYS if k not in res})
    return res


KEYS = ["cpu_pct_per_vm", "wakeups_per_s_per_vm", "play_lat_p50_ms", "play_lat_p99_ms",
        "mic_lat_p50_ms", "mic_lat_p99_ms", "frames_lost", "underrun_frames"]


def main():
    runs = []
    for r in range(RUNS):
        for case in CASES + FLOORS:
            res = run_case(*case) if len(case) > 2 else run_floor(*case)
            res["run"] = r + 1
            runs.append(res)
            print(f"run {r + 1} {res['case']}: cpu {res['cpu_pct_per_vm']:.3f}%/VM, "
                  f"{res['wakeups_per_s_per_vm']:.0f} wakeups/s, play p99 {res['play_lat_p99_ms']} ms, "
                  f"lost {res['frames_lost']}", file=sys.stderr)
    median = summarize(runs, lambda r: r["case"], KEYS)
    write("qubes", seconds=SECS, runs=runs, median=median)
    print(f"{'case':<8} {'CPU %/VM':>9} {'(range)':>15} {'wakeups/s':>9} {'play p50':>8} {'play p99':>8} "
          f"{'mic p50':>7} {'mic p99':>7} {'lost':>5} {'xrun fr':>8}")
    for name, m in median.items():
        lo, hi = m["cpu_pct_per_vm_range"]
        print(f"{name:<8} {m['cpu_pct_per_vm']:>9.3f} {f'({lo:.3f}-{hi:.3f})':>15} {m['wakeups_per_s_per_vm']:>9.0f} "
              f"{m['play_lat_p50_ms']:>8.2f} {m['play_lat_p99_ms']:>8.2f} {m['mic_lat_p50_ms']:>7.2f} "
              f"{m['mic_lat_p99_ms']:>7.2f} {m['frames_lost']:>5.0f} {m['underrun_frames']:>8.0f}")
    plot(median)
    print("written bench/results/qubes.json and bench/results/qubes.png")


def plot(median):
    if not shutil.which("gnuplot"):
        return
    data = "bench/results/qubes.dat"
    with open(data, "w") as f:
        for name, m in median.items():
            f.write(f"{name} {m['cpu_pct_per_vm']} {m['play_lat_p50_ms']} {m['play_lat_p99_ms']}\n")
    subprocess.run(["gnuplot"], input=f"""
set terminal png size 900,450
set output 'bench/results/qubes.png'
set multiplot layout 1,2 title 'vsnd-qubes daemon per VM ({machine()['cpu']})'
set style data histograms
set style fill solid 0.7
set ylabel 'CPU % of one core per VM'
plot '{data}' using 2:xtic(1) title 'CPU'
set ylabel 'added playback latency (ms)'
plot '{data}' using 3:xtic(1) title 'p50', '' using 4 title 'p99'
unset multiplot
""", text=True, check=False)
    os.remove(data)


if __name__ == "__main__":
    main()
