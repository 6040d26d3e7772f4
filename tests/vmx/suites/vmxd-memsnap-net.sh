# lab: on-request (a ticking nested guest with a NIC snapshotted and reverted: most of an hour of Bochs)
# Memory snapshots of the machines vmxd-memsnap does not cover, through vmxd
# and vmctl, as vmxd-memsnap does it: a ticking guest (guest.ticks) is
# snapshotted while it runs, writes a marker, is reverted, and its counter
# goes on from the saved value with the marker gone; then it powers off on
# the ACPI button.
# - This suite: vmxcore, one vCPU, a virtio-net NIC on a tap the runner
#   makes (<interface type='ethernet'>); the lab gives the tap 10.213.9.1,
#   the guest pings it at boot. After the revert the guest pings again on
#   request ("ping" on its console): the device's queues work from the
#   restored indices, on the same tap.
# - vmxd-memsnap-smp (sources this with SMP=1): the KVM backend (vmxd's
#   runner_kvm is a wrapper adding --backend kvm), two vCPUs (in-kernel
#   local APICs, IOAPIC): the APIC and MP state of both vCPUs and the
#   IOAPIC go through the state file; after the revert a program pinned to
#   CPU 1 runs there ("cpu1" on the console). vmxd-memsnap-smp-vmxcore:
#   the same on vmxcore (BACKEND=vmxcore).
. /lab/suites/lib.sh
SMP=${SMP:-0}
if [ "$SMP" = 1 ]; then
	DOM=lab-msmp D=/tmp/vmxd-msmp BACKEND=${BACKEND:-kvm} VCPUS=2 IFACE=
	CMDLINE="console=ttyS0 pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable no_timer_check guest.wait guest.ticks"
else
	DOM=lab-mnet D=/tmp/vmxd-mnet BACKEND=vmxcore VCPUS=1
	TAP=vmxsnap0 MAC=52:54:00:12:34:58 PEER=10.213.9.1
	IFACE="<interface type='ethernet'><mac address='$MAC'/><target dev='$TAP'/><model type='virtio'/></interface>"
	CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.wait guest.ticks guest.ip=10.213.9.2 guest.ping=$PEER"
fi
plan 23

max_tick() { dom_log | sed -n 's/.*GUEST: tick \([0-9]*\) .*/\1/p' | sort -n | tail -n 1 | grep . || echo 0; }
tick_beyond() { [ "$(max_tick)" -ge "$1" ]; }
after_revert() {
	dom_log | sed -n 's/.*GUEST: tick \([0-9]*\) marker=\([a-z]*\).*/\1 \2/p' | awk '
		$2 == "yes" { y = $1; n = "" }
		$2 == "no" && y != "" && n == "" { n = $1 }
		END { if (y != "" && n != "") print y, n }'
}
reverted_tick_seen() { [ -n "$(after_revert)" ]; }
# The lines after the revert: from the first "marker=no" tick after the last "marker=yes".
after_revert_log() { dom_log | awk '/GUEST: tick [0-9]* marker=yes/ { y = 1; n = 0 }
	y && /GUEST: tick [0-9]* marker=no/ { n = 1 } n { print }'; }
after_revert_has() { after_revert_log | grep -q "$1"; }
# A tick numbered N or more since the revert (the counter restarted lower).
reverted_tick_beyond() {
	after_revert_log | sed -n 's/.*GUEST: tick \([0-9]*\) .*/\1/p' |
		awk -v n="$1" '$1 >= n { f = 1 } END { exit !f }'
}

if [ "$BACKEND" = kvm ]; then
	# vmxcore beside KVM (kvm-coexist: whoever has VMs owns VMX; ours has
	# none): vmxd starts a type 'kvm' domain only with /dev/vmxcore there.
	ok backend_loads sh -c "insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko && insmod $LAB/vmxcore.ko"
else
	ok backend_loads sh -c "insmod $LAB/tun.ko && insmod $LAB/vmxcore.ko"
fi
mkdir -p $D
# vmxd's runner for type 'kvm' domains, on the backend this suite is about.
echo $BACKEND > $D/backend
lab_vmxd $D
ok vmxd_starts wait_for 30 vmctl list
ok disk_created vmctl disk create $D/disk.qcow2 --format qcow2 --size 16M
lab_guest_xml $DOM $VCPUS "$CMDLINE" "$(lab_qcow2_disk $D/disk.qcow2)$IFACE" > $D/guest.xml
ok define_and_start sh -c "vmctl define $D/guest.xml && vmctl start $DOM"
if [ "$SMP" = 1 ]; then
	ok guest_boots_with_2_cpus wait_for 1500 console_has "GUEST: init reached after .*, 2 cpu(s)"
else
	# The runner makes the tap before the guest's first instruction.
	wait_for 120 test -e /sys/class/net/$TAP
	echo 1 > /proc/sys/net/ipv6/conf/$TAP/disable_ipv6 2>/dev/null
	ifconfig $TAP $PEER netmask 255.255.255.0 up
	ok guest_pings_the_tap_at_boot wait_for 1500 console_has "GUEST: ping $PEER answered"
fi
ok guest_ticks wait_for 900 tick_beyond 2
before=$(max_tick)
ok snapshot_with_memory vmctl --timeout 3000 snapshot-create $DOM s1
after=$(max_tick)
ok list_says_memory sh -c "vmctl --json snapshot-list $DOM | grep -q '\"memory\": true'"
ok guest_keeps_running wait_for 600 tick_beyond $((after + 2))
ok marker_sent sh -c "echo mark | vmctl console $DOM > /dev/null"
ok guest_wrote_marker wait_for 600 console_has "GUEST: tick [0-9]* marker=yes"
ok revert_to_memory vmctl --timeout 3000 snapshot-revert $DOM s1
ok guest_continues_after_revert wait_for 600 reverted_tick_seen
set -- $(after_revert) 0 0
is counter_continues_from_snapshot "$([ "$2" -gt "$before" ] && [ "$2" -le $((after + 2)) ] && [ "$2" -lt "$1" ] && echo yes)" yes
ok guest_ticks_on_after_revert wait_for 600 reverted_tick_beyond $(($2 + 3))
if [ "$SMP" = 1 ]; then
	ok cpu1_asked sh -c "echo cpu1 | vmctl console $DOM > /dev/null"
	ok cpu1_runs_after_revert wait_for 600 after_revert_has "GUEST: pinned to cpu 1, ran on cpu 1"
else
	ok ping_asked sh -c "echo ping | vmctl console $DOM > /dev/null"
	ok nic_works_after_revert wait_for 600 after_revert_has "GUEST: ping $PEER answered on request"
fi
ok still_running state_is running
ok shutdown_after_revert vmctl shutdown $DOM
ok powers_off_cleanly wait_for 600 state_is shutoff
ok reason_is_shutdown reason_is shutdown
ok delete_removes_state_file sh -c "vmctl snapshot-delete $DOM s1 && ! ls $D/snapshots/*/mem-*.vmstate"
echo "# $DOM on $BACKEND: ticks $before..$after at the snapshot; after the revert: $1 (marker) -> $2"
after_revert_log | grep -v "GUEST: tick" | sed 's/^/# after revert| /' | head -n 20
if [ "$tap_failed" -gt 0 ]; then
	dom_log | tail -n 60 | sed 's/^/# guest| /'
	tail -n 30 $D/run/vm/*[0-9a-f].log | sed 's/^/# runner| /'
	sed 's/^/# vmxd| /' $D/vmxd.log | tail -n 30
fi
kill $vmxd_pid
wait $vmxd_pid 2>/dev/null
if [ "$BACKEND" = kvm ]; then
	ok kvm_unloads sh -c "rmmod vmxcore && rmmod kvm_intel && rmmod kvm && rmmod irqbypass"
else
	is vmxcore_pages_all_released "$(cat $SYSFS/pages_pinned)" 0
	rmmod vmxcore
fi
finish
