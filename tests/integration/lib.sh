# SPDX-License-Identifier: MIT
# Shared helpers of the integration tests (bash; source it).
#
#   vsnd_setup            private temp dir $T, XDG_RUNTIME_DIR=$T/run (0700),
#                         XDG_CONFIG_HOME=$T/config, HOME=$T/home; cleanup on exit
#   vsnd_bg NAME CMD...   start CMD in the background, output to $T/NAME.log,
#                         killed (TERM, then KILL) at exit; sets BG_PID
#   vsnd_stop NAME        stop one background process started by vsnd_bg
#   vsnd_wait_for SECS CMD...  retry CMD every 50 ms until it succeeds or SECS pass
#   vsnd_fail MSG         print MSG and the tail of every log, exit 1
#   vsnd_skip MSG         exit 77 (meson: skipped) -- only for a missing tool the
#                         dependency script does not install; never to hide a failure
#
# Binaries come from meson through the environment: VSND_TONE, VSND_WAVCHECK,
# VSND_BUILD_DIR, VSND_SOURCE_DIR.
set -u

declare -A VSND_BG_PIDS=()

vsnd_cleanup() {
	local name pid
	for name in "${!VSND_BG_PIDS[@]}"; do
		pid=${VSND_BG_PIDS[$name]}
		kill -TERM "$pid" 2>/dev/null
	done
	for name in "${!VSND_BG_PIDS[@]}"; do
		pid=${VSND_BG_PIDS[$name]}
		for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "${T:-}" ] && [ -d "$T" ] && [ -z "${VSND_KEEP_TMP:-}" ]; then
		rm -rf "$T"
	fi
}

vsnd_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/vsnd-test.XXXXXX")
	export XDG_RUNTIME_DIR="$T/run" XDG_CONFIG_HOME="$T/config" HOME="$T/home"
	mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$HOME"
	chmod 700 "$XDG_RUNTIME_DIR"
	# Nothing of the user's session may leak in.
	unset DBUS_SESSION_BUS_ADDRESS PULSE_SERVER PIPEWIRE_REMOTE PULSE_RUNTIME_PATH
	trap vsnd_cleanup EXIT
}

vsnd_bg() {
	local name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	BG_PID=$!
	VSND_BG_PIDS[$name]=$BG_PID
}

vsnd_stop() {
	local name=$1 pid=${VSND_BG_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "VSND_BG_PIDS[$name]"
}

vsnd_wait_for() {
	local secs=$1; shift
	local end=$(( $(date +%s%N) + secs * 1000000000 ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

vsnd_fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "${T:-/nonexistent}"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $(basename "$f") (last 30 lines) ----" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

vsnd_skip() {
	echo "SKIP: $*" >&2
	exit 77
}
