# SPDX-License-Identifier: MIT
# A real PipeWire server + WirePlumber session manager for the pipewire
# backend's integration tests (bash; source it after lib.sh).
#
#   pw_test_setup        vsnd_setup on tmpfs (see below) + pw_server_config
#   pw_server_config     write the config fragments (null sink, WP profile)
#   pw_server_start      start pipewire + wireplumber (vsnd_bg names "pipewire",
#                        "wireplumber"; a restart logs to pipewire.1.log...) and
#                        wait until the null sink exists and WP has made it the
#                        default sink
#   pw_server_kill       SIGKILL both (a crash, not a clean exit)
#   pw_node_json NAME    the pw-dump object of the node called NAME
#   pw_node_state NAME   its info.state ("running", "idle", ...)
#   pw_node_id NAME      its object id
#   pw_record_start NAME [ARGS]  record the null sink's monitor (S16, 48 kHz,
#                        stereo) to $T/NAME.wav as background job NAME, and
#                        wait until the recorder runs in the graph
#   pw_record_stop NAME  stop recorder NAME once it has written 0.2 s more
#                        (so whatever was played before has passed the graph)
#   signal_frames FILE   frames of signal (non-silent span) in a WAV file,
#                        also one pw-record is still writing
#   pw_rt CMD...         exec a PipeWire tool with realtime priority if allowed
#                        (in a subshell: vsnd_bg NAME pw_rt ..., or (pw_rt ...))
#   tone_result KEY LOG  a key=value field of vsnd-tone's "result:" line in LOG
#   pw_xruns             xruns the server has logged so far (all its logs)
#   pw_check_tones FILE EXPECT XRUNS_BEFORE [EXTRA]  vsnd-wavcheck --tones
#                        on FILE (EXPECT frames, or "" for any length, within
#                        a period + EXTRA frames + 5 periods per xrun); see below
#
# Everything lives in lib.sh's private XDG_RUNTIME_DIR/XDG_CONFIG_HOME: the
# socket is $XDG_RUNTIME_DIR/pipewire-0, so no user or system server is
# reached (PIPEWIRE_REMOTE is unset by vsnd_setup) and none is needed.
# WirePlumber runs the "policy" profile without hardware monitors, session
# (logind, portal, reserve-device) or state-file features, so it needs no
# D-Bus and starts the same way every time.

PW_SINK=vsnd-test-sink
PW_RATE=48000

pw_test_setup() {
	# pw-record writes its file from its process callback: on a disk-backed
	# /tmp shared with other builds a write sometimes stalls for a cycle, and
	# the frames of that cycle are lost from the recording (seen as a short
	# signal, with no xrun on vsnd's side). tmpfs never waits for the disk.
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then
		export TMPDIR=/dev/shm
	fi
	vsnd_setup
	# scripts/deps.sh installs them all: a missing one is a failure, not a skip.
	local tool
	for tool in pipewire wireplumber pw-cli pw-dump pw-record pw-play jq; do
		command -v "$tool" >/dev/null || vsnd_fail "$tool is not installed (scripts/deps.sh)"
	done
	pw_server_config
}

pw_server_config() {
	mkdir -p "$XDG_CONFIG_HOME/pipewire/pipewire.conf.d" \
		"$XDG_CONFIG_HOME/wireplumber/wireplumber.conf.d"
	# A null sink is a real PipeWire node with a monitor and its own clock:
	# what vsnd plays to it comes back on its monitor ports for pw-record.
	cat >"$XDG_CONFIG_HOME/pipewire/pipewire.conf.d/50-vsnd-test.conf" <<CONF
context.properties = {
    default.clock.rate = $PW_RATE
    default.clock.allowed-rates = [ $PW_RATE ]
    # The quantum is the smallest node.latency asked for, as it is: 480/48000
    # stays 480 frames instead of being rounded down to 256, so a period of
    # vsnd is a cycle of the graph (and a gap, if any, a period).
    clock.power-of-two-quantum = false
}
# module-rt stays on: the data threads (the server's and, through
# client.conf, vsnd's and pw-record's) get SCHED_FIFO where allowed, as on a
# desktop. Without it a 10 ms quantum on a loaded 2-core machine misses
# deadlines, and the xruns show up as gaps in the recordings.
context.objects = [
    { factory = adapter
        args = {
            factory.name = support.null-audio-sink
            node.name = "$PW_SINK"
            node.description = "vsnd test sink"
            media.class = Audio/Sink
            audio.rate = $PW_RATE
            audio.channels = 2
            audio.position = [ FL FR ]
            monitor.channel-volumes = false
            object.linger = true
            priority.session = 2000
        }
    }
]
CONF
	cat >"$XDG_CONFIG_HOME/wireplumber/wireplumber.conf.d/50-vsnd-test.conf" <<CONF
wireplumber.profiles = {
    vsnd-test = {
        inherits = [ policy, mixin.systemwide-session, mixin.stateless ]
    }
}
CONF
}

pw_server_answers() {
	kill -0 "$PW_PID" 2>/dev/null && pw-cli info 0 2>/dev/null | grep -q "version"
}

pw_node_json() {
	pw-dump 2>/dev/null | jq -e --arg n "$1" \
		'[.[] | select(.type == "PipeWire:Interface:Node" and .info.props["node.name"] == $n)] | first // empty'
}

pw_node_state() {
	pw_node_json "$1" | jq -r '.info.state'
}

pw_node_id() {
	pw_node_json "$1" | jq -r '.id'
}

pw_default_sink_is() {
	pw-dump 2>/dev/null | jq -e --arg n "$1" \
		'.[] | select(.type == "PipeWire:Interface:Metadata" and .props["metadata.name"] == "default")
		 | .metadata[] | select(.key == "default.audio.sink") | .value.name == $n' | grep -qx true
}

pw_server_start() {
	[ -f "$XDG_CONFIG_HOME/pipewire/pipewire.conf.d/50-vsnd-test.conf" ] || pw_server_config
	# Logs of a restarted server go to a new file: the first one is evidence.
	local n=${PW_SERVER_STARTS:-0}
	PW_SERVER_STARTS=$((n + 1))
	local suffix=""
	[ "$n" -eq 0 ] || suffix=".$n"
	# Info level: an xrun is logged with the name of the node that was late,
	# which tells a glitch of vsnd from one of the test tools.
	vsnd_bg "pipewire$suffix" env PIPEWIRE_DEBUG=3 pipewire
	PW_PID=$BG_PID
	# Not just the socket file: after a crash the old one is still there.
	vsnd_wait_for 10 pw_server_answers || vsnd_fail "pipewire does not answer"
	vsnd_bg "wireplumber$suffix" wireplumber --profile vsnd-test
	WP_PID=$BG_PID
	vsnd_wait_for 15 pw_node_json "$PW_SINK" || vsnd_fail "the null sink did not appear"
	vsnd_wait_for 15 pw_default_sink_is "$PW_SINK" ||
		vsnd_fail "WirePlumber did not make $PW_SINK the default sink"
}

pw_server_kill() {
	kill -KILL "$WP_PID" "$PW_PID" 2>/dev/null
	wait "$WP_PID" "$PW_PID" 2>/dev/null
	return 0
}

pw_rt() {
	# pw-record and pw-play process audio in their one ordinary main thread:
	# on a loaded 2-core machine they miss cycles, and what they miss shows as
	# frames lost from (pw-record) or silence in (pw-play) the signal.
	# SCHED_FIFO below PipeWire's data threads (83/88) keeps them in time.
	# exec: run it in a subshell (vsnd_bg does); the tool then has the
	# subshell's PID, so vsnd_stop stops the tool itself (a bash in between
	# died on SIGTERM and left pw-record writing until the server went).
	if chrt -f 70 true 2>/dev/null; then
		exec chrt -f 70 "$@"
	else
		exec "$@"
	fi
}

pw_record_start() {
	local name=$1; shift
	vsnd_bg "$name" pw_rt pw-record --target "$PW_SINK" -P stream.capture.sink=true \
		-P node.name="vsnd-test.$name" --rate "$PW_RATE" --channels 2 --format s16 \
		"$@" "$T/$name.wav"
	vsnd_wait_for 10 pw_node_running "vsnd-test.$name" ||
		vsnd_fail "pw-record $name did not start recording the sink's monitor"
}

pw_node_running() {
	[ "$(pw_node_state "$1")" = running ]
}

tone_result() {
	grep '^result:' "$2" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

pw_file_reaches() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

pw_record_stop() {
	# The player is done when its last buffer is in the graph, not when it
	# is in the monitor: stopping the recorder at once cut the last 10-20 ms.
	# 0.2 s more written (S16 stereo) is many cycles past it.
	local name=$1 f="$T/$1.wav" size0
	size0=$(stat -c %s "$f" 2>/dev/null || echo 0)
	vsnd_wait_for 5 pw_file_reaches "$f" $((size0 + PW_RATE / 5 * 4)) ||
		vsnd_fail "recorder $name stopped writing"
	vsnd_stop "$name"
}

signal_frames() {
	# A copy: pw-record keeps writing; its header's length is still 0, which
	# libsndfile reads as "up to the end of the file".
	cp "$1" "$1.partial" 2>/dev/null || { echo 0; return; }
	"$VSND_WAVCHECK" "$1.partial" 2>/dev/null |
		sed -n 's/.*signal from [0-9]* to [0-9]* (\([0-9]*\) frames).*/\1/p' | grep . || echo 0
	rm -f "$1.partial"
}

pw_xruns() {
	# One line per late node, or one "graph xrun" line per late cycle (the
	# "(N suppressed)" counts on them are no measure: dozens of harmless
	# not-triggered cycles in a clean 10 s run). With a "VM" PipeWire too
	# (tests/qubes/agent-lib.sh), its xruns count as well.
	cat "$T"/pipewire*.log "$T"/vm-pipewire*.log 2>/dev/null | grep -c -e 'debug_xrun_target' -e 'graph xrun'
}

pw_check_tones() {
	local file=$1 expect=$2 before=$3 period=480 extra=${4:-0} extra_gap=${5:-0}
	local xruns=$(( $(pw_xruns) - before ))
	local gap=2 tol=$period
	# The signal must be exact: every frame, within one period of length, no
	# silence inside. The exception is a cycle the server itself reports as
	# an xrun (on this shared 2-core VM even its SCHED_FIFO driver is
	# sometimes woken tens of ms late). The server logs one line for a stall
	# of several cycles (seen: one line, 3 and 5 periods lost from the
	# recording in pipewire-play's float case), so each may cost 5 periods. Such stalls hit every graph at once (the
	# qubes-agent tests run two, and count both), so up to 6 lines; past
	# that the allowances mean little.
	if [ "$xruns" -gt 0 ]; then
		if [ "$xruns" -gt 6 ]; then
			echo "the server logged $xruns xruns during $(basename "$file"): too many to tell"
			return 1
		fi
		gap=$((5 * period * xruns))
		tol=$((period + 5 * period * xruns))
		echo "note: the server logged $xruns xrun(s) during $(basename "$file"):" \
			"allowing $gap silent and +-$tol frames"
	fi
	# EXTRA: what the path itself may add or take on top (the agent's rate
	# control resamples its start-up offset away); xruns cost on top of it.
	# EXTRA_GAP: silence the path itself reports (the agent's re-primes).
	tol=$((tol + extra + extra_gap))
	[ "$extra_gap" -eq 0 ] || gap=$((gap + extra_gap))
	local args=(--rate "$PW_RATE" --channels 2 --tones --max-gap "$gap")
	[ -z "$expect" ] || args+=(--expect-frames "$expect" --tolerance "$tol")
	"$VSND_WAVCHECK" "${args[@]}" "$file"
}
