# SPDX-License-Identifier: MIT
# A real Linux guest for the vm tests (bash; source after lib.sh's vsnd_setup):
# Debian bookworm-backports' 6.12 kernel (it has virtio-snd as a module; 6.1
# does not), a busybox initramfs with alsa-utils, QEMU with shared memfd RAM
# and a vhost-user-snd-pci device on a socket.
#
#   vm_prepare              fetch/unpack the kernel and build the base initramfs
#                           tree, cached in $VSND_BUILD_DIR/vm-cache
#   vm_run SOCK SCRIPT [FILE...]  boot with vhost-user-snd on SOCK, run SCRIPT
#                           (sh) in the guest with FILEs in /data, power off;
#                           console in $T/console.log, sets VM_EXIT to the
#                           script's exit code (or fails the test)
#   vm_fetch NAME OUT       decode the guest file NAME that the script printed
#                           with `vm_send NAME` (base64 between markers)

VM_CACHE="$VSND_BUILD_DIR/vm-cache"
VM_KVER=""

vm_prepare() {
	mkdir -p "$VM_CACHE"
	command -v qemu-system-x86_64 >/dev/null || vsnd_fail "qemu-system-x86_64 is not installed"
	if [ ! -f "$VM_CACHE/vmlinuz" ]; then
		local pkg
		pkg=$(apt-cache depends linux-image-amd64/bookworm-backports 2>/dev/null |
			awk '/Depends: linux-image-6/{print $2; exit}')
		[ -n "$pkg" ] || vsnd_fail "no bookworm-backports kernel package known to apt (run scripts/deps.sh)"
		rm -rf "$VM_CACHE/deb" && mkdir -p "$VM_CACHE/deb"
		(cd "$VM_CACHE/deb" && apt-get download "$pkg" >/dev/null 2>&1) ||
			vsnd_fail "apt-get download $pkg failed"
		dpkg -x "$VM_CACHE"/deb/*.deb "$VM_CACHE/deb/x"
		local kdir
		kdir=$(ls -d "$VM_CACHE"/deb/x/lib/modules/* | head -n 1)
		mkdir -p "$VM_CACHE/modules"
		for m in sound/soundcore sound/core/snd sound/core/snd-timer sound/core/snd-pcm sound/virtio/virtio_snd; do
			xz -dc "$kdir/kernel/$m.ko.xz" >"$VM_CACHE/modules/$(basename "$m").ko"
		done
		cp "$VM_CACHE"/deb/x/boot/vmlinuz-* "$VM_CACHE/vmlinuz"
		rm -rf "$VM_CACHE/deb"
	fi
	if [ ! -d "$VM_CACHE/root" ]; then
		local r="$VM_CACHE/root.tmp"
		rm -rf "$r" && mkdir -p "$r"/{bin,dev,proc,sys,tmp,data,lib/modules,usr/share}
		cp /bin/busybox "$r/bin/busybox"
		for b in aplay arecord amixer; do
			cp "$(command -v $b)" "$r/bin/"
			ldd "$(command -v $b)" | awk '/=>/{print $3} /ld-linux/{print $1}' | while read -r lib; do
				[ -f "$lib" ] || continue
				mkdir -p "$r$(dirname "$lib")"
				cp -L "$lib" "$r$lib"
			done
		done
		cp -r /usr/share/alsa "$r/usr/share/"
		cp "$VM_CACHE"/modules/*.ko "$r/lib/modules/"
		cat >"$r/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in soundcore snd snd-timer snd-pcm virtio_snd; do
	insmod /lib/modules/$m.ko || echo "VSND-INSMOD-FAILED $m"
done
i=0
while [ ! -e /dev/snd/pcmC0D0p ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
vm_send() { echo "VSND-FILE-BEGIN $1"; base64 "$1"; echo "VSND-FILE-END"; }
cd /data
. /test.sh
echo "VSND-EXIT $?"
dmesg | grep -v "^\[ *[0-9.]*\] *\(ACPI\|PCI\|pci\|e820\|BIOS\)" | tail -n 60 | sed "s/^/KERNEL: /"
poweroff -f
INIT
		chmod +x "$r/init"
		mv "$r" "$VM_CACHE/root"
	fi
}

vm_accel() {
	# KVM where it really works (probe it with a short timeout), TCG otherwise.
	if [ -z "${VM_ACCEL:-}" ]; then
		VM_ACCEL=tcg
		if [ -w /dev/kvm ] && timeout 5 qemu-system-x86_64 -accel kvm -machine none -nographic \
			-no-user-config -nodefaults -S -qmp stdio </dev/null >/dev/null 2>&1 <<<'{"execute":"quit"}'; then
			VM_ACCEL=kvm
		fi
	fi
	echo "$VM_ACCEL"
}

vm_run() {
	local sock=$1 script=$2; shift 2
	local root="$T/vmroot"
	rm -rf "$root" && cp -a "$VM_CACHE/root" "$root"
	cp "$script" "$root/test.sh"
	for f in "$@"; do cp "$f" "$root/data/"; done
	(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$T/initrd.gz"
	local accel
	accel=$(vm_accel)
	# The sound device: vhost-user-snd on SOCK, unless VM_SND_ARGS names another
	# (bench/vm.sh compares QEMU's in-process virtio-sound-pci).
	local snd=(-chardev "socket,id=c0,path=$sock${VM_CHARDEV_OPTS:-}"
		-device "vhost-user-snd-pci,chardev=c0${VM_DEVICE_OPTS:-}")
	[ -n "${VM_SND_ARGS:-}" ] && read -r -a snd <<<"$VM_SND_ARGS"
	timeout "${VM_TIMEOUT:-120}" qemu-system-x86_64 -accel "$accel" -m 512 -smp 1 \
		-object memory-backend-memfd,id=mem,size=512M,share=on -machine q35,memory-backend=mem \
		-nodefaults -no-user-config -display none -no-reboot -serial "file:$T/console.log" \
		-kernel "$VM_CACHE/vmlinuz" -initrd "$T/initrd.gz" \
		-append "console=ttyS0 panic=-1 loglevel=4" \
		"${snd[@]}" >"$T/qemu.log" 2>&1 || true
	VM_EXIT=$(sed -n 's/^VSND-EXIT \([0-9]*\).*/\1/p' "$T/console.log" | tail -n 1)
	[ -n "$VM_EXIT" ] || vsnd_fail "the guest did not finish its script ($accel)"
}

vm_fetch() {
	local name=$1 out=$2
	tr -d '\r' <"$T/console.log" |
		awk -v n="$name" '$0 == "VSND-FILE-BEGIN " n {on=1; next} /^VSND-FILE-END/ {on=0} on' |
		base64 -d >"$out" || vsnd_fail "cannot decode $name from the console"
}
