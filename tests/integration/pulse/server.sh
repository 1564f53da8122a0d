# SPDX-License-Identifier: MIT
# A real PulseAudio daemon for the pulse backend's integration tests.
# Source after lib.sh and vsnd_setup (it lives in the test's private
# XDG_RUNTIME_DIR and is stopped by lib.sh's cleanup).
#
#   pulse_start [NAME]        start the daemon (log $T/NAME.log, default "pulseaudio")
#                             with one null sink "vsnd_null" (48 kHz stereo) on the
#                             socket $PULSE_SOCKET; waits until pactl answers; sets PULSE_PID
#   pulse_crash [NAME]        SIGKILL it (no goodbye to the clients), wait until it is gone
#   pulse_stream_index KIND APP   index of the sink-input/source-output (KIND) whose
#                             application.name is APP; fails if there is none
#   pulse_stream_field KIND INDEX FIELD   print a line of `pactl list KIND`s for one entry
#                             (e.g. "Volume:", "Mute:", "application.name =")
#   pulse_file_frames FILE    frames of 16-bit stereo audio in a growing WAV file
#   pulse_file_has FILE N     true once FILE holds at least N such frames


pulse_start() {
	PULSE_SOCKET=$XDG_RUNTIME_DIR/pulse/native
	local name=${1:-pulseaudio}
	mkdir -p "$XDG_RUNTIME_DIR/pulse" "$XDG_CONFIG_HOME/pulse"
	# Only the daemon started here may answer: no client autospawns another.
	echo "autospawn = no" >"$XDG_CONFIG_HOME/pulse/client.conf"
	# -n: no default.pa, only the modules below. --system=no: we are often
	# root in CI containers; PulseAudio warns about it and runs. No D-Bus.
	vsnd_bg "$name" pulseaudio -n --daemonize=no --system=no --use-pid-file=no \
		--exit-idle-time=-1 --disallow-exit --log-target=stderr --log-level=info \
		-L "module-native-protocol-unix socket=$PULSE_SOCKET auth-anonymous=1" \
		-L "module-null-sink sink_name=vsnd_null rate=48000 channels=2"
	PULSE_PID=$BG_PID
	vsnd_wait_for 10 pulse_answers || vsnd_fail "PulseAudio ($name) did not come up"
}

pulse_answers() {
	kill -0 "$PULSE_PID" 2>/dev/null && pactl info 2>/dev/null | grep -q '^Server Name: pulseaudio'
}

pulse_crash() {
	local name=${1:-pulseaudio}
	kill -KILL "$PULSE_PID" 2>/dev/null
	vsnd_stop "$name"
	! pactl info >/dev/null 2>&1 || vsnd_fail "PulseAudio still answers after SIGKILL"
}

pulse_stream_index() {
	local kind=$1 app=$2
	pactl list "$kind" | awk -v app="application.name = \"$app\"" '
		/^(Sink Input|Source Output) #/ { idx = substr($3, 2) }
		index($0, app) { print idx; found = 1; exit }
		END { exit !found }'
}

pulse_stream_field() {
	local kind=$1 idx=$2 field=$3
	pactl list "$kind" | awk -v want="#$idx" -v field="$field" '
		/^(Sink Input|Source Output) #/ { on = ($3 == want) }
		on && index($0, field) { sub(/^[ \t]+/, ""); print; exit }'
}

pulse_file_frames() {
	local size
	size=$(stat -c %s "$1" 2>/dev/null) || size=0
	echo $(( size > 44 ? (size - 44) / 4 : 0 ))
}

pulse_file_has() {
	[ "$(pulse_file_frames "$1")" -ge "$2" ]
}
