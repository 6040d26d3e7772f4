#!/bin/sh
# The VT-x lab, host side: builds a bootable ISO from Debian's stock kernel
# (the image matching the headers vmxcore.ko was built against) and a busybox
# initramfs holding the module, KVM's modules, the test programs and the
# suites; boots it once in Bochs with an emulated VMX+EPT CPU; judges the
# serial log (tests/vmx/judge.c). See tests/vmx/README.md.
#
# usage: lab.sh --build DIR --kver KVER [--cpus N] [--demo] [--suites "a b"]
#               [--group NAME] [--timeout SECONDS] [--silence SECONDS]
#
# Suites fall in groups ("# lab: group NAME", default "core"); one lab boot
# runs one group, so make check-vmx boots one Bochs per group side by side
# (tests/vmx/labs.sh). A group other than core works in $BUILD/lab-NAME.
set -eu

BUILD=build KVER= CPUS=2 DEMO=0 BENCH=0 SUITES= GROUP=core TIMEOUT=3600 SILENCE=
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift ;;
	--kver) KVER=$2; shift ;;
	--kdir) shift ;;	# accepted for symmetry with make; unused here
	--cpus) CPUS=$2; shift ;;
	--demo) DEMO=1 ;;
	--bench) BENCH=1 ;;
	--suites) SUITES=$2; shift ;;
	--group) GROUP=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--silence) SILENCE=$2; shift ;;
	*) echo "lab.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
W=$TOP/$BUILD/lab
[ "$GROUP" = core ] || W=$TOP/$BUILD/lab-$GROUP
CACHE=${VMXCORE_CACHE:-/var/cache/vmxcore}
RESULTS=$TOP/${TAP_RESULTS:-build/results}
[ -n "$KVER" ] || KVER=$(sh "$TOP/scripts/kver.sh")

die() { echo "lab.sh: $*" >&2; exit 1; }

deb=$(ls "$CACHE"/linux-image-"$KVER"_*.deb 2>/dev/null | tail -n 1) ||
	die "no linux-image-$KVER .deb in $CACHE: run scripts/setup.sh"
[ -n "$deb" ] || die "no linux-image-$KVER .deb in $CACHE: run scripts/setup.sh"
[ -f "$TOP/driver/vmxcore.ko" ] || die "driver/vmxcore.ko not built (make module)"
command -v bochs-bin >/dev/null || die "bochs-bin missing: run scripts/setup.sh"

# Suites: every tests/vmx/suites/*.sh of the group but lib.sh, demo.sh,
# bench.sh and those marked "# lab: on-request" (run by --suites only), in
# name order; a "# lab: xfail" line marks the negative control.
# A nested Linux guest keeps the console quiet for minutes between heartbeats
# (a lab second is minutes of wall time then): the demo boots two of them.
[ -n "$SILENCE" ] || { SILENCE=240; [ "$DEMO" = 1 ] && SILENCE=900; }
if [ "$DEMO" = 1 ]; then
	SUITES="demo demo-vm"
elif [ "$BENCH" = 1 ]; then
	SUITES="bench bench-linux"
elif [ -z "$SUITES" ]; then
	SUITES=$(cd "$HERE/suites" && ls *.sh | sed 's/\.sh$//' | grep -vxE 'lib|demo|bench' |
		while read -r s; do
			grep -q '^# lab: on-request' "$s.sh" && continue
			# The negative control runs in every group: each boot proves its judge.
			grep -q '^# lab: xfail' "$s.sh" && { echo "$s"; continue; }
			g=$(sed -n 's/^# lab: group \([a-z0-9-]*\).*/\1/p' "$s.sh")
			[ "${g:-core}" = "$GROUP" ] && echo "$s"
		done | tr '\n' ' ')
	[ -n "$SUITES" ] || die "no suite in group '$GROUP'"
fi

unpack_kernel() {
	stamp=$W/kernel/.unpacked
	[ "$(cat "$stamp" 2>/dev/null)" = "$deb" ] && return 0
	rm -rf "$W/kernel" && mkdir -p "$W/kernel"
	dpkg-deb -x "$deb" "$W/kernel"
	echo "$deb" > "$stamp"
}

# An executable into $P/bin and the shared libraries it needs under $P, at
# their paths (the lab's init links /lib and /lib64 to them).
copy_with_libs() {
	cp "$1" "$P/bin/"
	ldd "$1" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
		mkdir -p "$P$(dirname "$lib")"
		cp -L "$lib" "$P$lib"
	done
}

# A bzImage's compressed payload (setup header payload_offset/length,
# boot protocol 2.08+) decompressed: the ELF vmlinux. The nested guest
# boots that directly; its own decompressor would take minutes in Bochs.
extract_vmlinux() {
	sects=$(od -An -tu1 -j497 -N1 "$1" | tr -d ' ')
	[ "$sects" = 0 ] && sects=4
	set -- "$1" "$2" $(od -An -tu4 -j584 -N8 "$1")
	tail -c +$(( (sects + 1) * 512 + $3 + 1 )) "$1" | head -c "$4" |
		xz -dc --single-stream > "$2" || die "cannot decompress the payload of $1 (not xz?)"
}

# The nested Linux guest: the lab's own kernel, uncompressed, and a busybox
# initramfs whose /init reports on the console and powers off.
build_linux_guest() {
	g=$P/guest gr=$W/guest-rootfs
	mkdir -p "$g"
	extract_vmlinux "$W/kernel/boot/vmlinuz-$KVER" "$g/vmlinux"
	rm -rf "$gr" && mkdir -p "$gr/bin" "$gr/proc" "$gr/sys" "$gr/dev"
	cp /bin/busybox "$gr/bin/"
	cp "$HERE/linux-guest/init" "$gr/init" && chmod +x "$gr/init"
	mkdir -p "$gr/lib/modules"
	km=$W/kernel/lib/modules/$KVER/kernel/drivers
	for m in virtio/virtio virtio/virtio_ring virtio/virtio_pci_legacy_dev \
		 virtio/virtio_pci_modern_dev virtio/virtio_pci block/virtio_blk \
		 net/net_failover net/virtio_net input/evdev acpi/button; do
		cp "$km/$m.ko" "$gr/lib/modules/"
	done
	cp "$km/../net/core/failover.ko" "$gr/lib/modules/"
	strip --strip-debug "$gr"/lib/modules/*.ko
	( cd "$gr" && find . | cpio -o -H newc 2>/dev/null | gzip -1 ) > "$g/initrd.gz"
}

build_initramfs() {
	r=$W/rootfs k=$W/kernel/lib/modules/$KVER/kernel
	rm -rf "$r" && mkdir -p "$r/bin" "$r/lab/bin" "$r/lab/suites" "$r/lab/cdrom" "$r/dev" \
		"$r/proc" "$r/sys" "$r/tmp" "$r/cdrom"
	cp /bin/busybox "$r/bin/"
	cp "$HERE/init" "$r/init" && chmod +x "$r/init"
	cp "$TOP/driver/vmxcore.ko" "$k/arch/x86/kernel/msr.ko" "$k/virt/lib/irqbypass.ko" \
	   "$k/arch/x86/kvm/kvm.ko" "$k/arch/x86/kvm/kvm-intel.ko" "$k/drivers/net/tun.ko" "$r/lab/"
	# Debug info is 95% of the module; loading it costs emulated time every insmod.
	strip --strip-debug "$r/lab/vmxcore.ko"
	cp "$TOP/$BUILD"/lab/bin/* "$r/lab/bin/"
	# The multiboot test kernels (2 KiB each): here rather than on the CD.
	for mb in multiboot hostile; do
		[ -f "$TOP/$BUILD/lab/guest/$mb.elf" ] ||
			die "$BUILD/lab/guest/$mb.elf not built (make $BUILD/lab/guest/$mb.elf)"
		cp "$TOP/$BUILD/lab/guest/$mb.elf" "$r/lab/"
	done
	for m in drivers/scsi/scsi_common drivers/scsi/scsi_mod drivers/ata/libata \
		 drivers/ata/ata_piix drivers/cdrom/cdrom drivers/scsi/sr_mod fs/isofs/isofs; do
		cp "$k/$m.ko" "$r/lab/cdrom/"
	done
	strip --strip-debug "$r"/lab/cdrom/*.ko
	# Runners drop to nobody.
	mkdir -p "$r/etc"
	echo 'root:x:0:0:root:/:/bin/sh' > "$r/etc/passwd"
	echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >> "$r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
	cp "$HERE"/suites/*.sh "$r/lab/suites/"
	: > "$r/lab/suites.list"
	for s in $SUITES; do
		[ -f "$HERE/suites/$s.sh" ] || die "no suite tests/vmx/suites/$s.sh"
		flag=$(grep -q '^# lab: xfail' "$HERE/suites/$s.sh" && echo xfail || true)
		echo "$s $flag" >> "$r/lab/suites.list"
	done
	( cd "$r" && find . | cpio -o -H newc 2>/dev/null | gzip -1 ) > "$W/iso/initrd.gz"
}

# What the suites need but the boot does not: vmxd, vmctl, vmxd-runner,
# qemu-img and their libraries (63 MB, mostly ICU), the nested guest (66 MB
# of vmlinux).
# It lies on the boot CD, which init mounts at /cdrom: in the initramfs the
# lab kernel would spend many emulated minutes unpacking it at every boot.
build_payload() {
	P=$W/iso/payload
	rm -rf "$P" && mkdir -p "$P/bin" "$P/examples"
	for b in vmxd-runner vmxd vmctl; do
		copy_with_libs "$TOP/$BUILD/bin/$b"
	done
	# The qcow2 reference: suites check the guest's disk with it too.
	qemu_img=$(command -v qemu-img) || die "no qemu-img (scripts/setup.sh installs qemu-utils)"
	copy_with_libs "$qemu_img"
	cp "$TOP"/etc/examples/*.xml "$P/examples/"
	build_linux_guest
}

build_iso() {
	mkdir -p "$W/iso/isolinux"
	cp "$W/kernel/boot/vmlinuz-$KVER" "$W/iso/vmlinuz"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$W/iso/isolinux/"
	printf '%s\n' 'DEFAULT linux' 'PROMPT 0' 'TIMEOUT 0' 'LABEL linux' '  KERNEL /vmlinuz' \
		'  APPEND initrd=/initrd.gz console=ttyS0,115200 panic=-1 loglevel=5 mitigations=off watchdog_thresh=2 rcupdate.rcu_cpu_stall_timeout=8' \
		> "$W/iso/isolinux/isolinux.cfg"
	build_initramfs
	build_payload
	# Rock Ridge: long names, modes (executables) and symlinks on the CD.
	xorriso -as mkisofs -quiet -R -o "$W/lab.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table "$W/iso"
}

# corei7_skylake_x: VMX with EPT, VPID, unrestricted guest (Bochs 2.7).
write_bochsrc() {
	cat > "$W/bochsrc" <<RC
memory: guest=512, host=512
cpu: model=corei7_skylake_x, count=$CPUS, ips=400000000, reset_on_triple_fault=1
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$W/lab.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$W/serial.out
display_library: term
log: $W/bochs.log
clock: sync=none, time0=local
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
pci: enabled=1, chipset=i440fx
# No sound card here: Bochs' mixer thread aborts (FORTIFY) on a real sound driver.
sound: driver=dummy
speaker: enabled=0
RC
	printf 'c\nquit\n' > "$W/cont.rc"	# Debian's bochs starts in its debugger
}

# Stops Bochs when the serial console stays silent too long: a guest hung in
# a way no kernel detector sees (a CPU spinning in a VM with no exits) must
# fail in minutes, not at the overall timeout. Booting prints nothing for a
# few minutes (BIOS, isolinux, kernel decompression), so the limit is longer
# until the first byte.
silence_watchdog() {
	last=-1 quiet=0
	while sleep 10; do
		# Done is done: do not wait for the emulated power-off, which has
		# been seen not to come.
		if grep -q '^LAB: done' "$W/serial.out" 2>/dev/null; then
			sleep 10
			pkill -KILL -f "bochs-bin -q -f $W/bochsrc"
			return
		fi
		size=$(stat -c %s "$W/serial.out" 2>/dev/null || echo 0)
		if [ "$size" = "$last" ]; then quiet=$((quiet + 10)); else quiet=0; fi
		last=$size
		limit=$SILENCE
		[ "$size" = 0 ] && limit=$((SILENCE * 3))
		if [ "$quiet" -ge "$limit" ]; then
			echo "vmx-lab: serial console silent for ${quiet}s: stopping Bochs" >&2
			pkill -KILL -f "bochs-bin -q -f $W/bochsrc"	# it may ignore SIGTERM
			return
		fi
	done
}

# Bochs' term display needs a tty; lab-pty provides one without a network port
# and drains it (labpty.c says why not script(1)).
boot() {
	rm -f "$W/serial.out" "$W/bochs.log"
	start=$(date +%s)
	silence_watchdog &
	watchdog=$!
	timeout "$TIMEOUT" "$TOP/$BUILD/bin/lab-pty" bochs-bin -q -f "$W/bochsrc" -rc "$W/cont.rc" \
		> "$W/bochs.stdout" 2>&1 < /dev/null || true
	kill "$watchdog" 2>/dev/null || true
	echo "vmx-lab: Bochs ran $(( $(date +%s) - start ))s ($CPUS CPU(s), suites: $SUITES)"
	touch "$W/serial.out"
}

explain_failure() {
	if grep -q 'Bochs is exiting' "$W/bochs.stdout" 2>/dev/null; then
		echo "---- Bochs stopped with ($W/bochs.stdout) ----"
		grep -A1 'Bochs is exiting' "$W/bochs.stdout" | tr -d '\r' | tail -n 1
	fi
	echo "---- last 60 lines of the lab's serial console ($W/serial.out) ----"
	tail -n 60 "$W/serial.out" | tr -d '\r'
	if grep -q 'VMFAIL\|VMEXIT' "$W/bochs.log" 2>/dev/null; then
		echo "---- Bochs' VMX diagnostics ($W/bochs.log) ----"
		grep 'VMFAIL\|VMEXIT' "$W/bochs.log" | tail -n 20
	fi
}

mkdir -p "$W" "$RESULTS"
unpack_kernel
build_iso
write_bochsrc
boot

label=vmx-lab
[ "$GROUP" = core ] || label=vmx-lab-$GROUP
[ "$DEMO" = 1 ] && label=demo
[ "$BENCH" = 1 ] && label=bench
if [ "$BENCH" = 1 ]; then
	# "# BENCH name backend ns" pairs -> one ratio per benchmark.
	tr -d '\r' < "$W/serial.out" | awk '
		/^# BENCH / { ns[$3 " " $4] = $5; names[$3] = 1 }
		/^# MEM / { kib[$3 " " $4] = $5; mems[$3] = 1 }
		END {
			printf "%-32s %14s %14s %8s\n", "benchmark (ns)", "vmxcore", "kvm", "ratio"
			for (n in names)
				printf "%-32s %14.0f %14.0f %8.2f\n", n, ns[n " vmxcore"], ns[n " kvm"],
				       ns[n " kvm"] ? ns[n " vmxcore"] / ns[n " kvm"] : 0
			for (m in mems)
				printf "%-32s %14d %14d KiB (goal < 5120)\n", m, kib[m " vmxcore"], kib[m " kvm"]
			print "(Bochs-emulated time, one boot, both backends; ratio = vmxcore / kvm, goal <= 1.0)"
		}'
fi
if [ "$DEMO" = 1 ]; then
	tr -d '\r' < "$W/serial.out" | sed -n '/^LAB: suite demo/,/^LAB: suite-end/p' |
		grep -E '^(# |ok |not ok )' | sed 's/^# //'
fi
if "$TOP/$BUILD/bin/lab-judge" "$W/serial.out" "$RESULTS/$label.counts" $SUITES > "$W/judge.out"; then
	[ "$DEMO" = 1 ] && tail -n 1 "$W/judge.out" || cat "$W/judge.out"
else
	cat "$W/judge.out"
	explain_failure
	exit 1
fi
