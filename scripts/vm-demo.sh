#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make vm-demo: boot a real Linux guest (QEMU, vhost-user-snd-pci) whose
# virtio-snd driver plays 3 s of tones with plain `aplay` through
# vsnd-vhost-snd into the auto backend (PipeWire, else PulseAudio, else a WAV file).
set -uo pipefail # not -e: lib.sh helpers return non-zero by design
build=$(cd "${1:-build}" && pwd)
export VSND_BUILD_DIR="$build" VSND_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
source "$VSND_SOURCE_DIR/tests/integration/lib.sh"
source "$VSND_SOURCE_DIR/tests/vm/vm-lib.sh"
out_dir=$(pwd)
# Keep the user's session (their PipeWire/PulseAudio) but a private temp dir.
T=$(mktemp -d "${TMPDIR:-/tmp}/vsnd-vm-demo.XXXXXX")
trap vsnd_cleanup EXIT
echo "== preparing the guest (kernel and initramfs are cached in $build/vm-cache)"
vm_prepare
"$build/tools/vsnd-tone" -q --backend wav --no-pacing --wav-out "$T/tones.wav" -r 48000 -d 3 >/dev/null 2>&1
vsnd_bg backend "$build/tools/vsnd-vhost-snd" --socket-path "$T/snd.sock" --backend auto \
	--vm-name vsnd-vm-demo --wav-out "$out_dir/vsnd-vm-demo.wav"
vsnd_wait_for 5 test -S "$T/snd.sock" || vsnd_fail "vsnd-vhost-snd did not start"
grep -o "through .*" "$T/backend.log" | sed 's/^/== vsnd-vhost-snd plays /'
cat >"$T/test.sh" <<'SH'
cat /proc/asound/cards
aplay tones.wav
SH
echo "== booting the guest ($(vm_accel)) and running: aplay tones.wav"
vm_run "$T/snd.sock" "$T/test.sh" "$T/tones.wav"
tr -d '\r' <"$T/console.log" | grep -A2 "^ 0 \[" | sed 's/^/   guest: /'
[ "$VM_EXIT" = 0 ] || vsnd_fail "aplay failed in the guest"
vsnd_stop backend
echo "== the guest played 3 s of tones through its virtio-snd driver"
if grep -q "WAV file" "$T/backend.log"; then
	echo "== no sound server answered: the audio went to $out_dir/vsnd-vm-demo.wav"
fi
