# lab: on-request (needs the nested Linux boot: tests/vmx/README.md)
# Linux boot-to-init on both backends in one boot and the runner's memory
# beyond guest RAM: sh tests/vmx/lab.sh --suites bench-linux; the "# BENCH
# name backend ns" and "# MEM" lines are in the lab's serial log.
. /lab/suites/lib.sh
G=$LAB/guest
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.wait"

uptime_ns() { awk '{ printf "%.0f", $1 * 1e9 }' /proc/uptime; }

# await_init CONSOLE: polls every 10 ms of lab time (a boot takes about a
# lab second: wait_for's one-second polls measured 1.0 s for both backends),
# a heartbeat line each second; gives up after 900 s.
await_init() {
	ai_n=0
	until grep -q "^GUEST: init reached" "$1"; do
		[ $ai_n -ge 90000 ] && return 1
		usleep 10000
		ai_n=$((ai_n + 1))
		[ $((ai_n % 100)) = 0 ] && echo "# ... waiting for init, $((ai_n / 100))s" > /dev/console
	done
	return 0
}

# linux_boot BACKEND: vmxd-runner start to the guest's init marker (lab
# clock), then the runner's own memory: its RSS minus the RSS of the guest
# RAM mapping (the 128 MiB one).
linux_boot() {
	t0=$(uptime_ns)
	$LAB/bin/vmxd-runner --backend "$1" --kernel $G/vmlinux --initrd $G/initrd.gz \
		--cmdline "$CMDLINE" --memory 128 < /dev/null > /tmp/boot-$1.out 2>&1 &
	pid=$!
	await_init /tmp/boot-$1.out
	rc=$?
	t1=$(uptime_ns)
	echo "# BENCH linux_boot_to_init $1 $((t1 - t0))"
	awk '/^Size:/ { size = $2 } /^Rss:/ { if (size == 131072) guest += $2; else own += $2 }
	     END { printf "# MEM runner_rss_minus_guest_ram_kib %s %d (guest RAM resident %d KiB)\n", "'"$1"'", own, guest }' \
		/proc/$pid/smaps
	kill $pid
	wait $pid 2>/dev/null
	return $rc
}

plan 4
load_vmxcore
linux_boot vmxcore
is linux_boot_vmxcore $? 0
is vmxcore_pages_released "$(cat $SYSFS/pages_pinned)" 0
unload_vmxcore
insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko
linux_boot kvm
is linux_boot_kvm $? 0
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
ok host_alive true
finish
