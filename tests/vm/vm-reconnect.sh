#!/usr/bin/env bash
# The VMM goes away and a new one connects to the same backend process: the
# daemon drops all state, accepts the next connection on the same socket and
# serves it (two guest boots against one vsnd-vhost-snd, each playing exactly).
#
# QEMU 10's own reconnect (-chardev ...,reconnect-ms=N) cannot be used with
# vhost-user-snd-pci: realize sends the first vhost-user message before the
# background connect completes ("Failed to set msg fds"), so a restarted
# backend is met by restarting the VM, which is what this test does.
source "$VSND_TESTLIB"
source "$VSND_SOURCE_DIR/tests/vm/vm-lib.sh"
vsnd_setup
vm_prepare

"$VSND_TONE" -q --backend wav --no-pacing --wav-out "$T/f.wav" -f s16 -c 2 -r 48000 -d 1 >/dev/null 2>&1
vsnd_bg backend "$VSND_VHOST_SND" --socket-path "$T/snd.sock" --backend wav --wav-out "$T/out.wav"
vsnd_wait_for 5 test -S "$T/snd.sock" || vsnd_fail "no socket"
cat >"$T/test.sh" <<'SH'
aplay -q -D hw:0,0 f.wav
SH
for boot in 1 2; do
	vm_run "$T/snd.sock" "$T/test.sh" "$T/f.wav"
	[ "$VM_EXIT" = 0 ] || vsnd_fail "boot $boot: aplay failed"
	grep -i "virtio_snd.*\(timeout\|fail\|error\)" "$T/console.log" && vsnd_fail "boot $boot: virtio_snd errors"
	kill -0 "${VSND_BG_PIDS[backend]}" || vsnd_fail "the backend died with its frontend"
done
vsnd_stop backend
# The same stream name and format: both sessions in one file, exactly twice.
"$VSND_WAVCHECK" --count-nonsilent 96000 "$T/out.wav" >"$T/cmp.log" 2>&1 || vsnd_fail "$(cat "$T/cmp.log")"
echo "two frontends served by one backend process: $(grep non-silent "$T/cmp.log" | head -1)"
