# lab: group guests (a nested Linux boot per backend: its own Bochs, beside the core group)
# A real guest: Debian's kernel (the lab's own, uncompressed) and a busybox
# initramfs booted by vmxd-runner on vmxcore, then the same on kvm_intel in
# this boot (the differential check). The guest prints "GUEST:" lines on
# its console and powers off; we judge those lines and how the runner
# ended. On failure the guest's console is shown prefixed "# guest| ".
. /lab/suites/lib.sh
G=$LAB/guest
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable"
plan 10

# run_guest BACKEND: boots the guest once; console in /tmp/guest-BACKEND.out.
run_guest() {
	out=/tmp/guest-$1
	start=$(cut -d' ' -f1 /proc/uptime)
	( timeout 900 $LAB/bin/vmxd-runner --backend "$1" --kernel $G/vmlinux \
		--initrd $G/initrd.gz --cmdline "$CMDLINE" --memory 128 \
		< /dev/null > $out.out 2> $out.err
	echo $? > $out.rc ) &
	heartbeat_while $!
	end=$(cut -d' ' -f1 /proc/uptime)
	echo "# $1: guest ran $(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }')s (lab clock), runner said: $(tail -n 1 $out.err)"
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

load_vmxcore || { echo "not ok 1 - module_loads"; exit 1; }
run_guest vmxcore
judge_guest vmxcore
is "vmxcore_pages_all_released" "$(cat $SYSFS/pages_pinned)" 0
unload_vmxcore

insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko
run_guest kvm
judge_guest kvm
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
ok "host_still_runs_programs" true
finish
