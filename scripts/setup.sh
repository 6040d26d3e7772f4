#!/bin/sh
# The one place vmxcore installs anything. Idempotent: packages already present
# are not reinstalled and apt-get update runs only when something is missing.
# Every entry point (make demo, make check, .ci/run) calls this first.
#
# Debian 12 packages, grouped by what needs them:
#   toolchain   build-essential pkg-config kmod
#   driver      linux-headers-amd64 (kbuild for Debian's 6.1 kernel)
#   userspace   libuv1-dev libsqlite3-dev sqlite3 libxml2-dev libxml2-utils
#               libjson-c-dev libssl-dev (SHA-256) libzstd-dev libseccomp-dev
#               libsystemd-dev
#               zlib1g-dev (storage: deflate-compressed qcow2 clusters)
#   tests       libcmocka-dev qemu-utils (qemu-img: the qcow2 reference)
#               libvirt-clients (virsh test driver, virt-xml-validate)
#               acpica-tools (iasl -d: the ACPI tables, MADT included)
#   VT-x lab    bochs bochs-term (its display: no GUI, no port) bochsbios vgabios busybox-static isolinux syslinux-common
#               xorriso cpio xz-utils (the nested guest's vmlinux is unpacked on the host);
#               plus linux-image-$KVER downloaded (not installed)
set -eu

PACKAGES="build-essential pkg-config kmod
 linux-headers-amd64
 libuv1-dev libsqlite3-dev sqlite3 libxml2-dev libxml2-utils libjson-c-dev
 libssl-dev libzstd-dev libseccomp-dev libsystemd-dev zlib1g-dev
 libcmocka-dev qemu-utils libvirt-clients acpica-tools
 bochs bochs-term bochsbios vgabios busybox-static isolinux syslinux-common xorriso cpio xz-utils
 util-linux gzip ca-certificates"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive

if [ -n "$missing" ]; then
	echo "setup: installing:$missing"
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing
	updated=1
else
	echo "setup: all packages present"
	updated=0
fi

# The VT-x lab boots Debian's stock kernel whose version matches the headers the
# module is built against. It is only unpacked into the lab image, never
# installed on this host, so the .deb is downloaded into a cache.
KVER=$(sh "$(dirname "$0")/kver.sh")
CACHE=${VMXCORE_CACHE:-/var/cache/vmxcore}
if ! ls "$CACHE"/linux-image-"$KVER"_*.deb >/dev/null 2>&1; then
	$SUDO mkdir -p "$CACHE"
	[ "$updated" = 1 ] || $SUDO apt-get update -q
	echo "setup: downloading linux-image-$KVER for the VT-x lab into $CACHE"
	( cd "$CACHE" && $SUDO apt-get download -q "linux-image-$KVER" )
fi
