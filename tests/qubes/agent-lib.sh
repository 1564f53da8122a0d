# SPDX-License-Identifier: MIT
# The VM side of the whole-Qubes-path tests (bash; source with qubes-lib.sh and
# tests/integration/pipewire/server.sh, whose pw-dump helpers it reuses): a
# second PipeWire + WirePlumber, the "VM", with its own runtime and config
# dirs, and vsnd-qubes-agent in it.
#
#   vmpw_config             write the VM's config (no sink of its own: the agent's is the only one)
#   vmpw_start              start the VM's pipewire + wireplumber ("vm-pipewire", "vm-wireplumber")
#   vmpw CMD...             run CMD against the VM's PipeWire
#   vm_rt CMD...            exec CMD in the VM at SCHED_FIFO 70 where allowed (as pw_rt);
#                           it replaces the shell: use it as vsnd_bg's command or in ( )
#   vm_play FILE            pw-play FILE in the VM, realtime
#   vm_record FILE          pw-record the agent's source (S16 44.1 kHz stereo) into FILE in
#                           the VM, realtime, in the background as "vm-rec"
#   agent_start DOMID ARGS  start vsnd-qubes-agent as domain DOMID (host = domain 0, or the
#                           domain in the store dir $AGENT_DOMID_STORE, or in QubesDB if
#                           that is "qubesdb"), wait for its nodes
#   agent_field KEY         a field of the agent's status line
#   agent_is KEY VALUE      true if it equals VALUE (for vsnd_wait_for)
#   agent_fresh             wait for the status file written after now
#   agent_over KEY N        true if it is more than N (for vsnd_wait_for: the file is
#                           rewritten every 200 ms, so a count read at once may be behind)
#   path_start DOMID VM BACKEND ARGS...  vsnd-qubes for (DOMID, VM) on BACKEND (no D-Bus), and
#                           wait until it reached the agent and opened its audio
#   signal_of WAV           frames of signal in a WAV that may still be written
#   has_signal WAV N        true if it holds more than N frames of signal (for vsnd_wait_for)
#   mic_mark                the counters mic_check excuses, as of now
#   mic_check WAV MARK      a VM app's recording of the host's microphone tones (44.1 kHz
#                           stereo): exact, no gap, but for what the VM graph's xruns
#                           (pw_xruns), the source's underruns (rec_underruns) and its
#                           backlog drops (rec_dropped) since MARK (mic_mark) excuse;
#                           the summary in $T/check.log

vmpw() {
	XDG_RUNTIME_DIR="$VM_RUN" XDG_CONFIG_HOME="$VM_CONF" "$@"
}

vm_rt() {
	# pw-play and pw-record process audio in their one main thread: on a
	# loaded 2-core machine they miss cycles, heard as gaps or lost frames,
	# unless they run realtime (as pw_rt does on the host side). No shell
	# function in between, so vsnd_bg's PID is the tool's own.
	local rt=()
	chrt -f 70 true 2>/dev/null && rt=(chrt -f 70)
	exec env XDG_RUNTIME_DIR="$VM_RUN" XDG_CONFIG_HOME="$VM_CONF" "${rt[@]}" "$@"
}

vm_play() {
	(vm_rt pw-play "$@")
}

vm_record() {
	vsnd_bg vm-rec vm_rt pw-record --target vsnd-qubes-source --rate 44100 --channels 2 --format s16 "$1"
}

vmpw_config() {
	VM_RUN="$T/vm-run"
	VM_CONF="$T/vm-config"
	mkdir -p "$VM_RUN" "$VM_CONF/pipewire/pipewire.conf.d" "$VM_CONF/wireplumber/wireplumber.conf.d"
	chmod 700 "$VM_RUN"
	# Like a VM: 48 kHz graph, no sound card, only the dummy driver to run it.
	cat >"$VM_CONF/pipewire/pipewire.conf.d/50-vsnd-vm.conf" <<CONF
context.properties = {
    default.clock.rate = 48000
    default.clock.allowed-rates = [ 48000 ]
}
CONF
	cat >"$VM_CONF/wireplumber/wireplumber.conf.d/50-vsnd-test.conf" <<CONF
wireplumber.profiles = {
    vsnd-test = {
        inherits = [ policy, mixin.systemwide-session, mixin.stateless ]
    }
}
CONF
}

vmpw_answers() {
	vmpw pw-cli info 0 2>/dev/null | grep -q version
}

vmpw_start() {
	[ -n "${VM_CONF:-}" ] || vmpw_config
	vsnd_bg vm-pipewire env XDG_RUNTIME_DIR="$VM_RUN" XDG_CONFIG_HOME="$VM_CONF" \
		PIPEWIRE_DEBUG=3 ${VMPW_ENV:-} pipewire
	vsnd_wait_for 10 vmpw_answers || vsnd_fail "the VM's pipewire does not answer"
	vsnd_bg vm-wireplumber env XDG_RUNTIME_DIR="$VM_RUN" XDG_CONFIG_HOME="$VM_CONF" \
		wireplumber --profile vsnd-test
}

# The host's pw-dump helpers (pipewire/server.sh), asked of the VM's daemon.
vm_node_json() {
	vmpw pw_node_json "$1"
}

vm_default_sink_is() {
	vmpw pw_default_sink_is "$1"
}

agent_start() {
	local domid=$1 host=(--domid 0); shift
	case ${AGENT_DOMID_STORE:-} in
	"") ;;
	qubesdb) host=() ;; # a QubesDB build's default: the key in QubesDB
	*) host=(--domid-store "$AGENT_DOMID_STORE") ;;
	esac
	vsnd_bg agent env XDG_RUNTIME_DIR="$VM_RUN" XDG_CONFIG_HOME="$VM_CONF" VCHAN_DOMAIN="$domid" \
		"$VSND_QUBES_AGENT" "${host[@]}" --status-file "$T/agent.status" "$@"
	vsnd_wait_for 10 vm_node_json vsnd-qubes-sink || vsnd_fail "the agent's sink did not appear"
	vsnd_wait_for 10 vm_default_sink_is vsnd-qubes-sink ||
		vsnd_fail "WirePlumber did not make the agent's sink the VM's default"
}

path_start() {
	local domid=$1 vm=$2 backend=$3; shift 3
	daemon_start "$domid" "$vm" --backend "$backend" --no-dbus "$@"
	vsnd_wait_for 10 agent_is rec_connected 1 || vsnd_fail "the daemon did not connect to the agent"
	vsnd_wait_for 10 status_is "$vm" audio "$backend" || vsnd_fail "the daemon did not open audio"
}

# The status file as written after now (it is replaced whole every 200 ms).
agent_fresh() {
	rm -f "$T/agent.status"
	vsnd_wait_for 2 test -f "$T/agent.status"
}

agent_field() {
	[ -f "$T/agent.status" ] || return 1
	tr ' ' '\n' <"$T/agent.status" | sed -n "s/^$1=//p"
}

agent_is() {
	[ "$(agent_field "$1")" = "$2" ]
}

agent_over() {
	[ "$(agent_field "$1")" -gt "$2" ]
}

signal_of() {
	cp "$1" "$1.copy" 2>/dev/null || { echo 0; return; }
	"$VSND_WAVCHECK" "$1.copy" 2>/dev/null |
		sed -n 's/.*signal from [0-9]* to [0-9]* (\([0-9]*\) frames).*/\1/p' | grep . || echo 0
}

has_signal() {
	[ "$(signal_of "$1")" -gt "$2" ]
}

mic_mark() {
	echo "$(pw_xruns) $(agent_field rec_underruns) $(agent_field rec_dropped)"
}

mic_check() {
	# Counters as of now, not up to 200 ms old: an underrun at the recording's end counts.
	agent_fresh || vsnd_fail "the agent's status file is not rewritten"
	local wav=$1 mark xruns under dropped tones=(--tones)
	read -r -a mark <<<"$2"
	xruns=$(( $(pw_xruns) - mark[0] )) under=$(( $(agent_field rec_underruns) - mark[1] ))
	dropped=$(( $(agent_field rec_dropped) - mark[2] ))
	# The signal exactly: tones, no gap (2 frames: both tones cross zero together
	# every 2205 frames, and a frame there can land below the threshold) -- unless
	# the VM's PipeWire logged xruns (this shared 2-core machine sometimes stalls
	# everything): then the recorder missed cycles, the host dropped what the VM
	# did not take, and only "the signal arrived, gaps no longer than a cycle per
	# xrun" can be asserted. Likewise when the source ran dry (a stall of the
	# host's side, seen under load: a 97-frame gap once), which it counts: each
	# is silence until its target (441 frames) is queued again; and when a stall
	# of the VM's graph left more queued than the source keeps (a jump, no gap).
	[ "$xruns" -eq 0 ] || echo "note: the VM's PipeWire logged $xruns xrun(s) while recording"
	[ "$under" -eq 0 ] || echo "note: the agent's source ran dry $under time(s) while recording"
	[ "$dropped" -eq 0 ] || echo "note: the agent's source dropped a backlog of $dropped frames while recording"
	[ "$xruns" -le 3 ] || vsnd_fail "the VM's PipeWire logged $xruns xruns: too many to tell"
	[ "$under" -le 3 ] || vsnd_fail "the agent's source ran dry $under times: too many to tell"
	[ $(( xruns + under + dropped )) -eq 0 ] || tones=()
	"$VSND_WAVCHECK" --rate 44100 --channels 2 "${tones[@]}" --max-gap $((2 + 1024 * (xruns + under))) "$wav" \
		>"$T/check.log" 2>&1 || vsnd_fail "the VM's recording: $(cat "$T/check.log")"
}
