# SPDX-License-Identifier: MIT
# Helpers of the Qubes integration tests (bash; source after lib.sh's vsnd_setup).
#
#   qubes_env                 private vchan socket dir, status dir, control prefix
#   vm_start NAME DOMID       start a simulated VM (vsnd-vmsim) as coproc NAME, wait "listening"
#   vm_cmd NAME CMD           send one command, echo its one-line answer (fails on timeout)
#   vm_expect NAME WORD       read the next answer line, fail unless it starts with WORD
#   daemon_start DOMID VM ARGS...  start vsnd-qubes for (DOMID, VM) in the background as "daemon-VM",
#                             itself domain $DAEMON_DOMAIN (default 0)
#   status_field VM KEY       a field of the daemon's published status line
#   key VM DIR                the content of the status key /DIR/VM (empty if absent)
#   key_write VM DIR VALUE    set the key /DIR/VM as the user (or Qubes) would
#   mic_set allow|deny VM     the user's decision through vsnd-ctl (the control socket)
#   qubesdb_start             start the QubesDB test double ("qubesdb"): from then on key and
#                             key_write use it (VSND_FAKE_QUBESDB_BIN / _CMD name the programs)

qubes_env() {
	export VCHAN_SOCKET_DIR="$T/vchan"
	STATUS="$T/status"
	CTL="$T/ctl."
	mkdir -p "$VCHAN_SOCKET_DIR" "$STATUS"
}

declare -A VM_IN=() VM_OUT=() VM_PID=()

vm_start() {
	local name=$1 domid=$2; shift 2
	mkfifo "$T/$name.in" "$T/$name.out"
	VCHAN_DOMAIN=$domid "$VSND_VMSIM" --peer 0 "$@" <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.log" &
	VM_PID[$name]=$!
	VSND_BG_PIDS[vm-$name]=$!
	exec {fd_in}>"$T/$name.in"
	exec {fd_out}<"$T/$name.out"
	VM_IN[$name]=$fd_in
	VM_OUT[$name]=$fd_out
	vm_expect "$name" listening
}

vm_expect() {
	local name=$1 want=$2 line
	if ! IFS= read -r -t "${3:-20}" line <&"${VM_OUT[$name]}"; then
		vsnd_fail "VM $name: no answer (waiting for '$want')"
	fi
	[[ $line == "$want"* ]] || vsnd_fail "VM $name: '$line', expected '$want'"
	REPLY=$line
}

vm_cmd() {
	local name=$1; shift
	echo "$*" >&"${VM_IN[$name]}"
}

daemon_start() {
	local domid=$1 vm=$2; shift 2
	vsnd_bg "daemon-$vm" env VCHAN_DOMAIN="${DAEMON_DOMAIN:-0}" "$VSND_QUBES" --status-dir "$STATUS" \
		--control-prefix "$CTL" --pidfile-dir "$T" "$@" -- "$domid" "$vm"
}

mic_set() {
	"$VSND_CTL" --status-dir "$STATUS" --control-prefix "$CTL" mic "$1" "$2" >/dev/null
}

status_field() {
	local f="$STATUS/vsnd-status/$1"
	[ -f "$f" ] || return 1
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$f"
}

key() {
	if [ -n "${VSND_FAKE_QUBESDB:-}" ]; then
		"$VSND_FAKE_QUBESDB_CMD" read "/$2/$1" 2>/dev/null
	else
		cat "$STATUS/$2/$1" 2>/dev/null
	fi
}

key_write() {
	if [ -n "${VSND_FAKE_QUBESDB:-}" ]; then
		"$VSND_FAKE_QUBESDB_CMD" write "/$2/$1" "$3" || vsnd_fail "QubesDB write /$2/$1 failed"
	else
		mkdir -p "$STATUS/$2" && echo "$3" >"$STATUS/$2/$1"
	fi
}

qubesdb_start() {
	export VSND_FAKE_QUBESDB="$T/qubesdb.sock"
	vsnd_bg qubesdb "$VSND_FAKE_QUBESDB_BIN" "$VSND_FAKE_QUBESDB"
	vsnd_wait_for 5 test -S "$VSND_FAKE_QUBESDB" || vsnd_fail "the QubesDB double did not start"
}

# status_is VM KEY VALUE: true if the published field equals VALUE (for vsnd_wait_for).
status_is() {
	[ "$(status_field "$1" "$2")" = "$3" ]
}

# key_is VM DIR VALUE: true if the status key /DIR/VM holds VALUE ("" = absent).
key_is() {
	[ "$(key "$1" "$2")" = "$3" ]
}
