# A guest that misbehaves ends only itself: vmxd-runner runs our hostile
# multiboot guest (tests/vmx/guests/hostile.S), which writes garbage to
# every device it has (a virtio-blk disk's queues and BAR, every PCI
# function's configuration space, the legacy ports, the APIC addresses)
# and then triple-faults, while a neighbour VM in another runner prints a
# beat. The hostile runner must end with exit status 2 (crash) and a reason
# naming the triple fault, after the guest said it wrote every device (no
# device model killed the runner on the way); the neighbour must keep
# beating after; the disk image keeps its size; every page comes back.
# On vmxcore, then on kvm_intel in the same boot. Cheap: two 2 KiB
# kernels, a few thousand exits.
. /lab/suites/lib.sh
K=$LAB/hostile.elf
plan 17

beats() { grep -ac "^HB: beat" /tmp/hb-$1.out; }
beats_beyond() { [ "$(beats $1)" -ge "$2" ]; }

# hostile BACKEND: the neighbour, the hostile guest beside it, the verdicts.
hostile() {
	b=$1
	$LAB/bin/vmxd-runner --backend $b --kernel $K --cmdline beat --memory 32 \
		< /dev/null > /tmp/hb-$b.out 2>&1 &
	hb=$!
	ok "${b}_neighbour_beats" wait_for 300 beats_beyond $b 3
	dd if=/dev/zero of=/tmp/hostile-$b.img bs=1M count=1 2>/dev/null
	timeout 900 $LAB/bin/vmxd-runner --backend $b --kernel $K --cmdline hostile --memory 32 \
		--disk /tmp/hostile-$b.img,format=raw < /dev/null > /tmp/hostile-$b.out 2> /tmp/hostile-$b.err
	rc=$?
	# Step 3's byte to COM1's data port may stand before a line: no ^.
	grep -ao "HOSTILE: [ -~]*" /tmp/hostile-$b.out | sed 's/^/# guest: /'
	sed 's/^/# runner: /' /tmp/hostile-$b.err | tail -n 5
	ok "${b}_hostile_guest_wrote_every_device" grep -aq "HOSTILE: devices written" /tmp/hostile-$b.out
	is "${b}_hostile_runner_ends_as_crashed" "$rc" 2
	ok "${b}_reason_names_the_triple_fault" grep -q "guest crashed: vCPU 0: triple fault at rip 0x" /tmp/hostile-$b.err
	is "${b}_disk_image_keeps_its_size" "$(stat -c %s /tmp/hostile-$b.img)" 1048576
	n=$(beats $b)
	ok "${b}_neighbour_beats_on" wait_for 300 beats_beyond $b $((n + 2))
	echo "# $b: the neighbour beat $n times by the fault, $(beats $b) by now"
	kill $hb
	wait $hb
	is "${b}_neighbour_ends_as_destroyed_when_told" "$?" 4
}

load_vmxcore || { echo "not ok 1 - module_loads"; exit 1; }
hostile vmxcore
is vmxcore_pages_all_released "$(cat $SYSFS/pages_pinned)" 0
unload_vmxcore
insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko
hostile kvm
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
# The fault's RIP (the INT3) from both backends' exits: KVM's read back
# with KVM_GET_REGS, vmxcore's from its run struct.
fault_rip() { sed -n 's/.*triple fault at rip \(0x[0-9a-f]*\).*/\1/p' /tmp/hostile-$1.err; }
is kvm_reports_the_fault_rip_vmxcore_does "$(fault_rip kvm)" "$(fault_rip vmxcore | grep . || echo none-from-vmxcore)"
ok host_still_runs_programs true
finish
