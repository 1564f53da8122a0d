#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install every Debian package vsnd needs to build, test and demo -- only the
# missing ones. Idempotent; a no-op (no apt-get at all) when all are present.
#
# PipeWire and QEMU come from Debian's bookworm-backports (PipeWire 1.4,
# QEMU 10): the whole PipeWire stack must come from there, since bookworm's
# 0.3.65 headers do not match backports' 1.4 runtime. Everything else from
# bookworm. --no-install-recommends: WirePlumber recommends pipewire-pulse,
# which would remove the real PulseAudio daemon the tests need.
#
# Usage: scripts/deps.sh [--check]   (--check: only report what is missing)
set -euo pipefail

# package[/suite][>=minimum version]
PACKAGES=(
	# build
	build-essential pkg-config meson ninja-build
	clang libclang-rt-14-dev # libFuzzer harnesses
	libsndfile1-dev libasound2-dev libpulse-dev libsystemd-dev
	"linux-libc-dev/bookworm-backports>=6.12" # virtio_snd.h with VIRTIO_SND_F_CTLS (controls)
	libxen-dev # the vchan Xen transport (built and linked; it only runs on Xen)
	"libpipewire-0.3-dev/bookworm-backports>=1.4"
	"libspa-0.2-dev/bookworm-backports>=1.4"
	# test servers and tools
	"pipewire/bookworm-backports>=1.4"
	"pipewire-bin/bookworm-backports>=1.4"
	"wireplumber/bookworm-backports>=0.5"
	pulseaudio pulseaudio-utils dbus dbus-daemon systemd alsa-utils sox socat jq
	# the vm suite: QEMU 10 (vhost-user-snd-pci) and a busybox initramfs; the guest
	# kernel is fetched with apt-get download by tests/vm/vm-lib.sh (cached in the build dir)
	"qemu-system-x86/bookworm-backports>=1:10"
	"qemu-system-common/bookworm-backports>=1:10"
	"qemu-system-data/bookworm-backports>=1:10"
	"seabios/bookworm-backports>=1.16.3"
	busybox-static cpio xz-utils
	# benchmarks
	gnuplot-nox
)

BACKPORTS_LIST=/etc/apt/sources.list.d/vsnd-bookworm-backports.list

need_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

installed_version() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null |
		awk '$1 == "ii" { print $2 }' || true # not installed: dpkg-query fails, print nothing
}

missing=()
for spec in "${PACKAGES[@]}"; do
	name=${spec%%[/>]*}
	min=""
	[[ $spec == *">="* ]] && min=${spec##*>=}
	pkg=${spec%%>=*}
	ver=$(installed_version "$name")
	if [ -z "$ver" ]; then
		missing+=("$pkg")
	elif [ -n "$min" ] && ! dpkg --compare-versions "$ver" ge "$min"; then
		missing+=("$pkg")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi
echo "deps: missing: ${missing[*]}"
[ "${1:-}" = "--check" ] && exit 1

if [[ " ${missing[*]} " == *"/bookworm-backports"* ]] &&
	! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deps: enabling bookworm-backports"
	echo "deb http://deb.debian.org/debian bookworm-backports main" |
		need_root tee "$BACKPORTS_LIST" >/dev/null
fi
need_root apt-get update -q
need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
