#!/usr/bin/env bash
# The host's audio domain changes under a running agent (QubesDB's
# /qubes-audio-domain-xid; the directory store the agent watches, or with
# VSND_QUBES_STORE=qubesdb QubesDB's test double and the agent's QubesDB build):
# the agent leaves the old domain's daemon, serves the new one's, and audio
# follows; a value that is not a domain id changes nothing.
source "$VSND_TESTLIB"
source "$VSND_QUBESLIB"
source "$VSND_SOURCE_DIR/tests/integration/pipewire/server.sh"
source "$VSND_AGENTLIB"
pw_test_setup
qubes_env
vmpw_config
pw_server_start
vmpw_start

DB="$T/vmdb"
mkdir -p "$DB" "$T/audiovm"
if [ "${VSND_QUBES_STORE:-dir}" = qubesdb ]; then
	# The key in QubesDB (its test double), read by the agent's QubesDB build.
	qubesdb_start
	DB=qubesdb
	set_domain() { "$VSND_FAKE_QUBESDB_CMD" write /qubes-audio-domain-xid "$1" || vsnd_fail "QubesDB write"; }
else
	set_domain() {
		# As QubesDB's daemon would: the whole value at once.
		printf '%s' "$1" >"$DB/qubes-audio-domain-xid.new" && mv "$DB/qubes-audio-domain-xid.new" "$DB/qubes-audio-domain-xid"
	}
fi
played() { status_field "$1" frames_played; }
played_over() { [ "$(played "$1")" -gt "$2" ]; }
"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/in.wav" -r 48000 -c 2 -d 2 >/dev/null 2>&1 ||
	vsnd_fail "cannot make the signal"

# 1. dom0 is the audio domain: its daemon gets the VM's sound.
set_domain 0
AGENT_DOMID_STORE=$DB agent_start 12
path_start 12 work pipewire
agent_is domid 0 || vsnd_fail "the agent serves domain $(agent_field domid), the store says 0"
vm_play "$T/in.wav" || vsnd_fail "pw-play failed in the VM"
vsnd_wait_for 5 played_over work 80000 || vsnd_fail "dom0's daemon got $(played work) frames of 2 s"

# 2. An audio VM (domain 5) takes over: its daemon waits for the VM, the
# agent moves to it when the key changes, and dom0's daemon loses the VM.
DAEMON_DOMAIN=5 daemon_start 12 audiovm --backend pipewire --no-dbus --pidfile-dir "$T/audiovm"
set_domain 5
vsnd_wait_for 10 agent_is domid 5 || vsnd_fail "the agent did not follow the key to domain 5"
vsnd_wait_for 10 status_is audiovm vm_connected 1 || vsnd_fail "the audio VM's daemon did not reach the agent"
vsnd_wait_for 10 status_is work vm_connected 0 || vsnd_fail "dom0's daemon still holds the VM"
vsnd_wait_for 10 status_is audiovm audio pipewire || vsnd_fail "the audio VM's daemon did not open audio"
before=$(played work)
vm_play "$T/in.wav" || vsnd_fail "pw-play failed in the VM after the domain change"
vsnd_wait_for 5 played_over audiovm 80000 || vsnd_fail "the audio VM's daemon got $(played audiovm) frames of 2 s"
[ "$(played work)" = "$before" ] || vsnd_fail "dom0's daemon still got audio: $before -> $(played work) frames"
grep -q "host audio domain: 5" "$T/agent.log" || vsnd_fail "the agent did not log the new domain"

# 3. Garbage in the key: the agent says so and stays where it is.
connects=$(agent_field connects)
set_domain 5x
vsnd_wait_for 5 grep -q "'5x' is not a domain id, keeping 5" "$T/agent.log" ||
	vsnd_fail "no log line for a bad domain id"
agent_is domid 5 || vsnd_fail "a bad key moved the agent to $(agent_field domid)"
agent_is connects "$connects" || vsnd_fail "a bad key made the agent reconnect"
status_is audiovm vm_connected 1 || vsnd_fail "a bad key dropped the audio VM's daemon"

# 4. Back to dom0: its daemon, still waiting, gets the VM again.
set_domain 0
vsnd_wait_for 10 status_is work vm_connected 1 || vsnd_fail "dom0's daemon did not get the VM back"
vsnd_wait_for 10 status_is audiovm vm_connected 0 || vsnd_fail "the audio VM's daemon still holds the VM"
before=$(played work)
vm_play "$T/in.wav" || vsnd_fail "pw-play failed in the VM after moving back"
vsnd_wait_for 5 played_over work $((before + 80000)) || vsnd_fail "dom0's daemon got $(( $(played work) - before )) frames of 2 s"
agent_is frames_dropped 0 || vsnd_fail "the agent dropped $(agent_field frames_dropped) frames"
echo "domain 0 -> 5 -> (bad value ignored) -> 0: audio followed each move; agent: $(cat "$T/agent.status")"

# 5. QubesDB restarts (empty) and the key is written again with a new domain:
# the agent watches again and follows it.
if [ "$DB" = qubesdb ]; then
	vsnd_stop qubesdb
	vsnd_wait_for 5 grep -q "lost the qubesdb watch" "$T/agent.log" || vsnd_fail "the agent did not notice QubesDB going"
	qubesdb_start
	set_domain 5
	vsnd_wait_for 5 grep -q "qubesdb is back" "$T/agent.log" || vsnd_fail "the agent did not watch QubesDB again"
	vsnd_wait_for 10 agent_is domid 5 || vsnd_fail "after QubesDB came back the agent serves $(agent_field domid), not 5"
	vsnd_wait_for 10 status_is audiovm vm_connected 1 || vsnd_fail "the audio VM's daemon did not get the VM"
	set_domain 0
	vsnd_wait_for 10 agent_is domid 0 || vsnd_fail "the restored watch missed a change to 0"
	echo "QubesDB restarted: watched again, the agent followed 5 then 0"
fi
