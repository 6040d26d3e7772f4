# lab: on-request (two nested boots and two restores: most of an hour of Bochs)
# A memory snapshot taken on one backend and restored on the other: the
# state file says nothing of the backend that wrote it (the runner's CPUID
# table is the same for both, the devices are the runner's own).
# - vmxd's runner for type 'kvm' domains is a wrapper whose --backend is
#   read from a file. The ticking guest (guest.ticks, one vCPU, PIC and
#   PIT) is started on one backend, snapshotted while it runs, destroyed;
#   then `vmxd-runner --restore` starts the saved state on the other.
# - The restored guest must go on from the saved counter (above what the
#   console showed before the snapshot, at most two past what it showed
#   when the snapshot returned) and keep ticking: its timer interrupts
#   arrive on the new backend.
# - Both directions: kvm_intel to vmxcore, then vmxcore to kvm_intel.
. /lab/suites/lib.sh
DOM=lab-cross
G=$LAB/guest
D=/tmp/vmxd-cross
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.wait guest.ticks"
plan 19

ticks() { sed -n 's/.*GUEST: tick \([0-9]*\) .*/\1/p'; }
# The domain's console log outlives a start (vmxd appends to it): only
# the lines past $log_mark, this boot's, count.
max_tick() { dom_log | tail -n +$((log_mark + 1)) | ticks | sort -n | tail -n 1 | grep . || echo 0; }
tick_beyond() { [ "$(max_tick)" -ge "$1" ]; }
first_restored_tick() { ticks < $D/restored.out | head -n 1; }
restored_tick_beyond() { [ "$(ticks < $D/restored.out | sort -n | tail -n 1)" -ge "$1" ] 2>/dev/null; }
runner_gone() { ! pidof vmxd-runner; }

# restored_watch PID: up to 10 s (lab clock) for the restored guest's
# first tick, showing each second what the runner's threads and (on
# vmxcore) the guest's exits do, then the runner's output so far (its
# first 40 exits traced: where the restored vCPU went).
restored_watch() {
	rw_n=0
	while [ $rw_n -lt 10 ] && ! ticks < $D/restored.out | grep -q .; do
		sleep 1
		rw_n=$((rw_n + 1))
		[ -r $SYSFS/exit_stats ] && echo "# ... ${rw_n}s after the restore, vmxcore exits: $(cat $SYSFS/exit_stats)"
		hb_threads $1
	done
	head -n 60 $D/restored.out | sed 's/^/# restored| /'
}

# cross FROM TO N: boot on FROM, snapshot sN, destroy, restore on TO.
cross() {
	echo "$1" > $D/backend
	log_mark=$(dom_log | wc -l)
	ok "started_on_$1" vmctl start $DOM
	ok "ticks_on_$1" wait_for 900 tick_beyond 2
	before=$(max_tick)
	ok "snapshot_on_$1" vmctl --timeout 3000 snapshot-create $DOM "s$3"
	after=$(max_tick)
	ok "destroyed_on_$1" vmctl destroy $DOM
	wait_for 60 runner_gone
	file=$(ls -t $D/snapshots/*/mem-*.vmstate | head -n 1)
	$LAB/bin/vmxd-runner --backend "$2" --kernel $G/vmlinux --initrd $G/initrd.gz \
		--cmdline "$CMDLINE" --memory 128 --restore "$file" --trace-exits 40 < /dev/null > $D/restored.out 2>&1 &
	pid=$!
	restored_watch $pid
	first=$(first_restored_tick)
	echo "# $1 -> $2: ticks $before..$after at the snapshot, first after the restore: ${first:-none}"
	is "restored_on_$2_continues_from_snapshot" \
		"$([ "${first:-0}" -gt "$before" ] && [ "${first:-0}" -le $((after + 2)) ] && echo yes)" yes
	# No first tick: nothing to wait for (and a lab second may then cost minutes).
	if [ -n "$first" ]; then
		ok "restored_on_$2_ticks_on" wait_for 120 restored_tick_beyond $((first + 2))
	else
		ok "restored_on_$2_ticks_on" test -n "$first"
	fi
	kill $pid
	wait $pid 2>/dev/null
	[ "$tap_failed" -gt 0 ] && sed 's/^/# restored| /' $D/restored.out | tail -n 30
	ok "snapshot_s$3_deleted" vmctl snapshot-delete $DOM "s$3"
}

ok backends_load load_vmxcore_and_kvm
lab_vmxd $D
ok vmxd_starts wait_for 30 vmctl list
lab_guest_xml $DOM 1 "$CMDLINE" > $D/guest.xml
ok defined vmctl define $D/guest.xml
cross kvm vmxcore 1
cross vmxcore kvm 2
is vmxcore_pages_released "$(cat $SYSFS/pages_pinned)" 0
if [ "$tap_failed" -gt 0 ]; then
	dom_log | tail -n 30 | sed 's/^/# guest| /'
	tail -n 20 $D/run/vm/*[0-9a-f].log | sed 's/^/# runner| /'
	sed 's/^/# vmxd| /' $D/vmxd.log | tail -n 30
fi
kill $vmxd_pid
wait $vmxd_pid 2>/dev/null
ok backends_unload unload_vmxcore_and_kvm
finish
