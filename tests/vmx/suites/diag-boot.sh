# lab: on-request
# Where a nested Linux boot spends its time, on both backends in one boot
# (bench-linux's guest and command line): for each, the lab clock from the
# runner's start to the guest's init line, the runner's CPU time, the exits
# by reason at that moment (vmxcore: sysfs exit_stats; kvm_intel: a hist
# trigger on the kvm_exit tracepoint, and KVM's debugfs counters), then the
# guest's own kernel log with its timestamps (guest.dmesg), to compare
# phase by phase. sh tests/vmx/lab.sh --suites diag-boot
. /lab/suites/lib.sh
G=$LAB/guest
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.wait guest.dmesg"
T=/sys/kernel/tracing
plan 2

uptime_ns() { awk '{ printf "%.0f", $1 * 1e9 }' /proc/uptime; }
# Fields 14, 15 and 43 of /proc/PID/stat: utime, stime, guest_time (ticks).
cpu_times() { awk '{ print "utime", $14, "stime", $15, "guest_time", $43 }' /proc/$1/stat; }

kvm_exit_hist_on() {
	grep -q " $T " /proc/mounts || mount -t tracefs none $T
	grep -q " /sys/kernel/debug " /proc/mounts || mount -t debugfs none /sys/kernel/debug
	echo 'hist:keys=exit_reason:sort=hitcount.descending' > $T/events/kvm/kvm_exit/trigger ||
		echo "# no hist trigger on kvm_exit"
}
kvm_stats() {
	sed -n '/^{/,$p' $T/events/kvm/kvm_exit/hist 2>/dev/null | sed 's/^/# kvm_exit hist| /'
	for f in /sys/kernel/debug/kvm/*; do
		[ -f "$f" ] && v=$(cat "$f" 2>/dev/null) && [ "$v" != 0 ] && echo "# kvm stat ${f##*/} $v"
	done
}

# boot BACKEND: runner start to the init line, the counters then, the guest's log.
boot() {
	t0=$(uptime_ns)
	$LAB/bin/vmxd-runner --backend "$1" --kernel $G/vmlinux --initrd $G/initrd.gz \
		--cmdline "$CMDLINE" --memory 128 < /dev/null > /tmp/boot-$1.out 2>&1 &
	pid=$!
	wait_for 900 grep -q "^GUEST: init reached" /tmp/boot-$1.out
	rc=$?
	t1=$(uptime_ns)
	echo "# $1: runner start to init $((t1 - t0)) ns (lab clock); $(cpu_times $pid)"
	if [ "$1" = vmxcore ]; then
		echo "# vmxcore exits $(cat $SYSFS/exit_stats) ept_pages $(cat $SYSFS/pages_ept)"
	else
		kvm_stats
	fi
	wait_for 900 grep -q "^GUEST: dmesg done" /tmp/boot-$1.out
	grep "^GUEST" /tmp/boot-$1.out | sed "s/^/# $1| /"
	kill $pid
	wait $pid 2>/dev/null
	return $rc
}

load_vmxcore
boot vmxcore
is boot_vmxcore $? 0
unload_vmxcore
insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko
kvm_exit_hist_on
boot kvm
is boot_kvm $? 0
echo '!hist:keys=exit_reason:sort=hitcount.descending' > $T/events/kvm/kvm_exit/trigger
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
finish
