#!/usr/bin/env bash
# Microphone privacy through every control surface (socket, D-Bus, QubesDB
# key) against a real dbus-daemon: not one sample reaches the VM unless the VM
# asked AND the user allowed; samples flow within 100 ms once both hold; the
# status keys tell the truth; the host record stream exists only while both hold.
# VSND_QUBES_STORE=qubesdb: the keys live in QubesDB (its test double, and the
# daemon's QubesDB build), as on Qubes; else in the directory store.
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
vsnd_setup
qubes_env
store_args=()
if [ "${VSND_QUBES_STORE:-dir}" = qubesdb ]; then
	qubesdb_start
	store_args=(--qubesdb)
fi

# A private system bus for the D-Bus surface.
cat >"$T/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><listen>unix:path=$T/system_bus_socket</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/>
<allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
CONF
vsnd_bg dbus dbus-daemon --nofork --nopidfile --config-file "$T/bus.conf"
vsnd_wait_for 5 test -S "$T/system_bus_socket" || vsnd_fail "dbus-daemon did not start"
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/system_bus_socket"

"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/mic.wav" -r 44100 -d 1 >/dev/null 2>&1 ||
	vsnd_fail "cannot make the microphone signal"

vm_start vm 9 --mic-out "$T/mic.raw"
daemon_start 9 work --backend wav --wav-out "$T/out.wav" --wav-in "$T/mic.wav" "${store_args[@]}"
vm_expect vm connected
vsnd_wait_for 10 status_is work audio wav || vsnd_fail "daemon did not open audio"
vsnd_wait_for 5 busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" status org.qubesos.Audio.work ||
	vsnd_fail "the daemon is not on the bus"

req=0 allow=0
expect_state() {
	vsnd_wait_for 2 key_is work audio-input-request "$req" || vsnd_fail "request key $(key work audio-input-request), expected $req"
	vsnd_wait_for 2 key_is work audio-input "$allow" || vsnd_fail "audio-input key $(key work audio-input), expected $allow"
	local want=$(( req && allow ))
	vsnd_wait_for 2 status_is work mic_flowing "$want" || vsnd_fail "mic_flowing $(status_field work mic_flowing), expected $want"
	if [ "$want" = 1 ]; then
		vm_cmd vm mic-reset; vm_expect vm ok
		vm_cmd vm "wait-mic 4 100"; vm_expect vm mic
		[ "${REPLY#mic }" -ge 4 ] || vsnd_fail "no microphone data within 100 ms (req=$req allow=$allow)"
	else
		# Bytes sent before the change may still be in flight: let them land, then nothing more.
		vm_cmd vm mic-reset; vm_expect vm ok
		vm_cmd vm "wait-mic 1000000 250"; vm_expect vm mic
		vm_cmd vm mic-reset; vm_expect vm ok
		vm_cmd vm "wait-mic 1 300"; vm_expect vm mic
		[ "$REPLY" = "mic 0" ] || vsnd_fail "microphone leaked: $REPLY (req=$req allow=$allow)"
	fi
	echo "req=$req allow=$allow: ok"
}

event() {
	case $1 in
	vm-start) vm_cmd vm "word start"; vm_expect vm ok; req=1 ;;
	vm-stop) vm_cmd vm "word stop"; vm_expect vm ok; req=0 ;;
	allow-socket) mic_set allow work; allow=1 ;;
	deny-socket) mic_set deny work; allow=0 ;;
	allow-dbus) busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" set-property org.qubesos.Audio.work \
			/org/qubesos/audio org.qubesos.Audio RecAllowed b true || vsnd_fail "busctl"; allow=1 ;;
	deny-dbus) busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" set-property org.qubesos.Audio.work \
			/org/qubesos/audio org.qubesos.Audio RecAllowed b false || vsnd_fail "busctl"; allow=0 ;;
	allow-key) key_write work audio-input-config 1; allow=1 ;;
	deny-key) key_write work audio-input-config 0; allow=0 ;;
	esac
	echo "-- $1"
	expect_state
}

expect_state
# Every surface, in orders that cover request-before-allow, allow-before-request,
# deny while flowing, stop while allowed, and one surface undoing another.
for e in vm-start allow-socket deny-dbus allow-dbus vm-stop vm-start deny-key allow-key \
	vm-stop deny-socket vm-start allow-dbus deny-socket allow-key vm-stop; do
	event "$e"
done

# D-Bus shows the decision made through the other surfaces.
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.qubesos.Audio.work /org/qubesos/audio \
	org.qubesos.Audio RecAllowed | grep -q "b true" || vsnd_fail "RecAllowed does not show the key's allow"

# Junk on the surfaces changes nothing.
key_write work audio-input-config yes
printf 'audio-input 0 please\n' | socat - "UNIX-CONNECT:${CTL}work" 2>/dev/null || true
vm_cmd vm "word start"; vm_expect vm ok; req=1
expect_state
grep -q "rejected" "$T/daemon-work.log" || vsnd_fail "no log line for the rejected input"

# SIGTERM: the keys go away (absent = daemon not running).
vsnd_stop daemon-work
[ ! -e "$STATUS/audio-input/work" ] && [ ! -e "$STATUS/audio-input-request/work" ] ||
	vsnd_fail "status keys left after exit"
if [ -n "${VSND_FAKE_QUBESDB:-}" ]; then
	for k in audio-input audio-input-request vsnd-status; do
		"$VSND_FAKE_QUBESDB_CMD" read "/$k/work" >/dev/null 2>&1 && vsnd_fail "/$k/work left in QubesDB"
	done
fi
echo "keys removed on exit"

# QubesDB itself goes away under a running daemon: the daemon says so once,
# does not spin on the dead watch, and the other surfaces keep working.
if [ -n "${VSND_FAKE_QUBESDB:-}" ]; then
	daemon_start 9 work --backend wav --wav-out "$T/out2.wav" --wav-in "$T/mic.wav" "${store_args[@]}"
	vsnd_wait_for 10 key_is work audio-input 0 || vsnd_fail "restarted daemon did not publish to QubesDB"
	vsnd_stop qubesdb
	vsnd_wait_for 5 grep -q "lost the qubesdb watch" "$T/daemon-work.log" || vsnd_fail "no log line for the lost QubesDB"
	pid=${VSND_BG_PIDS[daemon-work]}
	t0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); sleep 1; t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	# A loop on the closed socket would burn the whole second (~100 ticks).
	[ $((t1 - t0)) -lt 20 ] || vsnd_fail "daemon spins after losing QubesDB: $((t1 - t0)) ticks in 1 s"
	mic_set allow work
	mirror_allowed() { [ "$(cat "$STATUS/audio-input/work" 2>/dev/null)" = 1 ]; }
	vsnd_wait_for 2 mirror_allowed || vsnd_fail "the socket no longer works without QubesDB"
	echo "QubesDB gone: logged, $((t1 - t0)) ticks in 1 s, socket still obeyed"

	# QubesDB comes back empty (as a restarted qubesdb-daemon does): the daemon
	# watches again, publishes its keys again, obeys a decision written there,
	# and the key's absence does not change the decision it holds.
	qubesdb_start
	vsnd_wait_for 5 grep -q "qubesdb is back" "$T/daemon-work.log" || vsnd_fail "the daemon did not watch QubesDB again"
	vsnd_wait_for 2 key_is work audio-input 1 || vsnd_fail "keys not published again: audio-input=$(key work audio-input)"
	[ -n "$(key work audio-input-request)" ] || vsnd_fail "audio-input-request not published again"
	key_write work audio-input-config 0
	vsnd_wait_for 2 key_is work audio-input 0 || vsnd_fail "a decision in the restarted QubesDB was not obeyed"
	mirror_denied() { [ "$(cat "$STATUS/audio-input/work" 2>/dev/null)" = 0 ]; }
	vsnd_wait_for 2 mirror_denied || vsnd_fail "the status directory does not show the QubesDB decision"
	echo "QubesDB back: watched again, keys published again, decision obeyed"
fi
