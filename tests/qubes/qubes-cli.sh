#!/usr/bin/env bash
# pacat-simple-vchan's command line: options, argument checks, one instance per domid.
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
vsnd_setup
qubes_env

run() { "$VSND_QUBES" --no-dbus --status-dir "$STATUS" --control-prefix "$CTL" --pidfile-dir "$T" "$@" >"$T/out.log" 2>&1; }
refuse() {
	local want=$1; shift
	local rc=0
	run "$@" || rc=$?
	[ "$rc" -ne 0 ] || vsnd_fail "accepted: $*"
	grep -q -- "$want" "$T/out.log" || vsnd_fail "'$*': no '$want' in: $(cat "$T/out.log")"
	echo "refused: $* ($want)"
}
# Accepted means it starts serving (and keeps waiting for the VM until stopped).
accept() {
	local rc=0
	timeout 1 "$VSND_QUBES" --no-dbus --status-dir "$STATUS" --control-prefix "$CTL" --pidfile-dir "$T" \
		--backend null "$@" >"$T/out.log" 2>&1 || rc=$?
	[ "$rc" -eq 124 ] || vsnd_fail "'$*' did not start (exit $rc): $(cat "$T/out.log")"
	grep -q "serving" "$T/out.log" || vsnd_fail "'$*': $(cat "$T/out.log")"
	echo "accepted: $*"
}

refuse "Usage"
refuse "Usage" 5
refuse "invalid domid" -- -1 vm
refuse "invalid domid" abc vm
refuse "invalid domid" 12x vm
refuse "invalid domid" "" vm
refuse "invalid domid" 32752 vm
refuse "invalid domain name" 5 "bad/name"
refuse "invalid domain name" -- 5 "-dash"
refuse "invalid volume" -V 151 5 vm
refuse "invalid volume" -V loud 5 vm
refuse "invalid tlength" -t 12 5 vm
refuse "Invalid\|invalid\|unrecognized" -x 5 vm

accept 32751 vm
accept -l 5 vm
accept -n 5 vm
accept -b -v -v 5 vm
accept -t 8192 5 vm
accept -V 150 5 vm
accept -V mute 5 vm
accept -V 0 -- 5 vm

# One instance per domid: the second refuses clearly, naming the first's PID.
vsnd_bg first "$VSND_QUBES" --no-dbus --backend null --status-dir "$STATUS" --control-prefix "$CTL" --pidfile-dir "$T" 6 vm6
vsnd_wait_for 5 test -s "$T/pacat.6" || vsnd_fail "no pidfile"
refuse "another instance is already running for domain 6 (PID ${VSND_BG_PIDS[first]})" 6 other
vsnd_stop first
[ ! -e "$T/pacat.6" ] || vsnd_fail "pidfile left behind"

# --fill past the ring means the whole ring: the stream (and its start
# threshold, which follows --fill) still opens, and a second plays through.
vm_start vmf 8
daemon_start 8 fillvm --backend wav --wav-out "$T/fill.wav" --no-dbus --fill 100000
vm_expect vmf connected
vsnd_wait_for 10 status_is fillvm audio wav || vsnd_fail "--fill 100000: the daemon did not open audio"
vm_cmd vmf "word uncork"; vm_expect vmf ok
vm_cmd vmf "play 1 tones"; vm_expect vmf ok
vm_cmd vmf "wait-played"; vm_expect vmf "played 44100" 10
vsnd_wait_for 5 status_is fillvm frames_played 44100 ||
	vsnd_fail "--fill 100000: the daemon took $(status_field fillvm frames_played) frames of 44100"
