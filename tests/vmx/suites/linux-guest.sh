# lab: group guests (a nested Linux boot per backend: its own Bochs, beside the core group)
# A real guest: Debian's kernel (the lab's own, uncompressed) and a busybox
# initramfs booted by vmxd-runner on vmxcore, then the same on kvm_intel in
# this boot (the differential check). Sourced by linux-smp.sh with SMP=1:
# each backend with two vCPUs and a disk instead. The guest prints "GUEST:" lines on
# its console and powers off; we judge those lines and how the runner
# ended. On failure the guest's console is shown prefixed "# guest| ".
. /lab/suites/lib.sh
G=$LAB/guest
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable"
# Two vCPUs: the in-kernel local APICs, the IOAPIC and the MADT. Linux's
# check that IRQ 0 ticks through the IOAPIC (a few jiffies of busy-waiting
# on the TSC) is skipped: a TSC cycle count says nothing about time in Bochs.
SMP_CMDLINE="console=ttyS0 pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable no_timer_check guest.write=smp-wrote-this"
SMP=${SMP:-0}
[ "$SMP" = 1 ] && plan 14 || plan 10

# run_guest TAG BACKEND CMDLINE [RUNNER OPTION...]: boots the guest once;
# console in /tmp/guest-TAG.out.
run_guest() {
	tag=$1 backend=$2 cmdline=$3
	shift 3
	out=/tmp/guest-$tag
	start=$(cut -d' ' -f1 /proc/uptime)
	( timeout 900 $LAB/bin/vmxd-runner --backend "$backend" --kernel $G/vmlinux \
		--initrd $G/initrd.gz --cmdline "$cmdline" --memory 128 "$@" \
		< /dev/null > $out.out 2> $out.err
	echo $? > $out.rc ) &
	heartbeat_while $! $out.out
	end=$(cut -d' ' -f1 /proc/uptime)
	echo "# $tag: guest ran $(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }')s (lab clock), runner said: $(tail -n 1 $out.err)"
	grep '^GUEST:' $out.out | sed 's/^/# /'
}

show_guest() {
	tail -n 40 /tmp/guest-$1.out | sed 's/^/# guest| /'
	sed 's/^/# runner| /' /tmp/guest-$1.err
}

judge_guest() {
	b=$1
	ok "${b}_linux_guest_reaches_init" grep -q '^GUEST: init reached' /tmp/guest-$b.out
	ok "${b}_linux_guest_timer_interrupts_tick" \
		awk '/^GUEST: slept from/ { sub("s", "", $4); sub("s", "", $6); exit !($6 - $4 >= 0.9) } END { if (NR == 0) exit 1 }' /tmp/guest-$b.out
	ok "${b}_linux_guest_powers_off" grep -q '^GUEST: powering off' /tmp/guest-$b.out
	is "${b}_runner_exit_status_is_poweroff" "$(cat /tmp/guest-$b.rc)" 0
	grep -q '^GUEST: init reached' /tmp/guest-$b.out && [ "$(cat /tmp/guest-$b.rc)" = 0 ] || show_guest $b
}

# run_smp_guest BACKEND: two vCPUs and a raw virtio-blk disk (its INTx
# through the IOAPIC), judged as above plus the CPU count and the disk.
run_smp_guest() {
	rm -f /tmp/smp-$1.img
	dd if=/dev/zero of=/tmp/smp-$1.img bs=1024 count=1024 2>/dev/null
	run_guest $1_smp $1 "$SMP_CMDLINE" --cpus 2 --disk /tmp/smp-$1.img,format=raw
	judge_guest $1_smp
	ok "$1_smp_linux_guest_has_2_cpus" grep -q '^GUEST: init reached after .*, 2 cpu(s)' /tmp/guest-$1_smp.out
	ok "$1_smp_guest_disk_io_through_ioapic" grep -q "^GUEST: vda holds 'smp-wrote-this'" /tmp/guest-$1_smp.out
	rm -f /tmp/smp-$1.img
}

load_vmxcore || { echo "not ok 1 - module_loads"; exit 1; }
# boot BACKEND: the guest this suite runs on that backend.
boot() {
	if [ "$SMP" = 1 ]; then
		run_smp_guest $1
	else
		run_guest $1 $1 "$CMDLINE"
		judge_guest $1
	fi
}

boot vmxcore
is "vmxcore_pages_all_released" "$(cat $SYSFS/pages_pinned)" 0
unload_vmxcore

insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko
boot kvm
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
ok "host_still_runs_programs" true
finish
