#!/bin/bash
# SPDX-License-Identifier: MIT
# pipewire backend, mixer identity and volume: two VMs play at once; each is
# its own node named after the VM (application.name, node.name
# vsnd.<vm>.tone, node.description), with the volume given by --volume as
# the node's channelVolumes. A volume/mute change made on the host reaches the
# backend (its debug log shows the reported value).
# shellcheck source=tests/integration/lib.sh
source "$VSND_TESTLIB"
# shellcheck source=tests/integration/pipewire/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/server.sh"
pw_test_setup
pw_server_start

start_vm() {
	local vm=$1 vol=$2
	vsnd_bg "tone-$vm" env VSND_LOG=info,audio.pipewire:debug "$VSND_TONE" --backend pipewire \
		--vm-name "$vm" --volume "$vol" -d 8
}

# prop NODE JQ-PATH: a value from the node's pw-dump object
prop() {
	pw_node_json "$1" | jq -c "$2"
}

props_are() {
	[ "$(prop "$1" "$2")" = "$3" ]
}

start_vm vm-alpha 0.5
start_vm "vm beta" 0.8
for vm in vm-alpha "vm beta"; do
	node="vsnd.$vm.tone"
	vsnd_wait_for 10 pw_node_running "$node" || vsnd_fail "no running node $node"
	json=$(pw_node_json "$node")
	echo "$node: $(jq -c '.info.props | {"application.name", "media.name", "node.description", "media.class", "media.category", "node.latency"}' <<<"$json")"
	[ "$(jq -r '.info.props["application.name"]' <<<"$json")" = "$vm" ] ||
		vsnd_fail "$node: application.name is not $vm"
	[ "$(jq -r '.info.props["media.name"]' <<<"$json")" = "$vm" ] ||
		vsnd_fail "$node: media.name is not $vm"
	[ "$(jq -r '.info.props["node.description"]' <<<"$json")" = "$vm tone" ] ||
		vsnd_fail "$node: node.description is not '$vm tone'"
	[ "$(jq -r '.info.props["media.class"]' <<<"$json")" = Stream/Output/Audio ] ||
		vsnd_fail "$node: not a playback stream"
	# The default 10 ms period of 48 kHz is the node's latency.
	[ "$(jq -r '.info.props["node.latency"]' <<<"$json")" = 480/48000 ] ||
		vsnd_fail "$node: node.latency is not 480/48000"
done

# Each VM has its own volume, the one it asked for.
vsnd_wait_for 5 props_are vsnd.vm-alpha.tone '[.info.params.Props[] | select(.channelVolumes) | .channelVolumes] | last' '[0.125,0.125]' ||
	vsnd_fail "vm-alpha: channelVolumes are $(prop vsnd.vm-alpha.tone '[.info.params.Props[].channelVolumes]')"
vsnd_wait_for 5 props_are "vsnd.vm beta.tone" '[.info.params.Props[] | select(.channelVolumes) | .channelVolumes] | last' '[0.512,0.512]' ||
	vsnd_fail "vm beta: channelVolumes are $(prop "vsnd.vm beta.tone" '[.info.params.Props[].channelVolumes]')"
props_are vsnd.vm-alpha.tone '[.info.params.Props[] | select(.mute != null) | .mute] | last' false ||
	vsnd_fail "vm-alpha is muted"
echo "volumes: vm-alpha 0.5, vm beta 0.8 as asked (amplitudes 0.125, 0.512: the mixer's cubic scale)"

# The host changes vm-alpha's volume and mutes it (as a mixer would): the
# backend sees it, and vm beta is untouched.
id=$(pw_node_id vsnd.vm-alpha.tone)
pw-cli set-param "$id" Props '{ channelVolumes: [ 0.216, 0.216 ], mute: true }' >/dev/null ||
	vsnd_fail "pw-cli set-param failed"
vsnd_wait_for 5 grep -q "tone: host volume 0.600 (muted)" "$T/tone-vm-alpha.log" ||
	vsnd_fail "the host's volume change was not reported"
props_are "vsnd.vm beta.tone" '[.info.params.Props[] | select(.channelVolumes) | .channelVolumes] | last' '[0.512,0.512]' ||
	vsnd_fail "vm beta's volume changed with vm-alpha's"
grep -q "host volume" "$T/tone-vm beta.log" && vsnd_fail "vm beta saw a volume change"
echo "host volume change reported: $(grep -o 'host volume.*' "$T/tone-vm-alpha.log" | tail -n 1)"

for vm in vm-alpha "vm beta"; do
	vsnd_wait_for 20 grep -q '^result:' "$T/tone-$vm.log" || vsnd_fail "$vm did not finish"
	[ "$(tone_result status "$T/tone-$vm.log")" = ok ] || vsnd_fail "$vm: status is not ok"
done
echo "PASS"
