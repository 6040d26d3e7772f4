# lab: on-request (a ticking nested guest snapshotted and reverted: longer than make check can give)
# Snapshots with memory through vmxd and vmctl: a Linux guest on vmxcore
# counts ticks in its own memory (guest.ticks). A snapshot is taken while it
# runs; the guest keeps running and writes a marker into its RAM; the
# domain is reverted to the snapshot and the guest continues from the
# snapshot point: its counter goes on from the saved value (below what it
# had reached) and the marker is gone from its view. Then it powers off
# cleanly on the ACPI button. The snapshot row says it has memory; deleting
# it removes the state file.
. /lab/suites/lib.sh
DOM=lab-mem
D=/tmp/vmxd-mem
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.wait guest.ticks"
plan 18

# The highest tick the console shows so far (0 for none).
max_tick() { dom_log | sed -n 's/.*GUEST: tick \([0-9]*\) .*/\1/p' | sort -n | tail -n 1 | grep . || echo 0; }
tick_beyond() { [ "$(max_tick)" -ge "$1" ]; }
# After the last "marker=yes" tick (number Y): the first "marker=no" tick,
# as "Y N" (the revert's evidence), or nothing yet.
after_revert() {
	dom_log | sed -n 's/.*GUEST: tick \([0-9]*\) marker=\([a-z]*\).*/\1 \2/p' | awk '
		$2 == "yes" { y = $1; n = "" }
		$2 == "no" && y != "" && n == "" { n = $1 }
		END { if (y != "" && n != "") print y, n }'
}
reverted_tick_seen() { [ -n "$(after_revert)" ]; }

load_vmxcore || { echo "not ok 1 - module_loads"; exit 1; }
mkdir -p $D/run
vmxd -d --socket $D/sock --socket-ro $D/sock-ro --database $D/db.sqlite \
	--rundir $D/run > $D/vmxd.log 2>&1 &
vmxd_pid=$!
export VMCTL_SOCKET=$D/sock VMCTL_SOCKET_RO=$D/sock-ro
ok vmxd_starts wait_for 30 vmctl list
ok disk_created vmctl disk create $D/disk.qcow2 --format qcow2 --size 16M
lab_guest_xml $DOM 1 "$CMDLINE" "$(lab_qcow2_disk $D/disk.qcow2)" > $D/guest.xml
ok define_and_start sh -c "vmctl define $D/guest.xml && vmctl start $DOM"
ok guest_ticks wait_for 900 tick_beyond 2
before=$(max_tick)
ok snapshot_with_memory vmctl --timeout 3000 snapshot-create $DOM s1
after=$(max_tick)
ok list_says_memory sh -c "vmctl --json snapshot-list $DOM | grep -q '\"memory\": true'"
ok state_file_written sh -c "ls $D/snapshots/*/mem-*.vmstate"
ok guest_keeps_running wait_for 600 tick_beyond $((after + 2))
ok marker_sent sh -c "echo mark | vmctl console $DOM > /dev/null"
ok guest_wrote_marker wait_for 600 console_has "GUEST: tick [0-9]* marker=yes"
ok revert_to_memory vmctl --timeout 3000 snapshot-revert $DOM s1
ok guest_continues_after_revert wait_for 600 reverted_tick_seen
set -- $(after_revert) 0 0
# The first tick after the revert: the saved counter plus one, so above
# what the console showed before the snapshot, at most two past what it
# showed when the snapshot returned (a line may be half out at the pause),
# and below what the guest had counted before the revert; its marker gone.
is counter_continues_from_snapshot "$([ "$2" -gt "$before" ] && [ "$2" -le $((after + 2)) ] && [ "$2" -lt "$1" ] && echo yes)" yes
ok still_running state_is running
ok shutdown_after_revert vmctl shutdown $DOM
ok powers_off_cleanly wait_for 600 state_is shutoff
ok reason_is_shutdown reason_is shutdown
ok delete_removes_state_file sh -c "vmctl snapshot-delete $DOM s1 && ! ls $D/snapshots/*/mem-*.vmstate"
echo "# ticks: $before..$after at the snapshot; after the revert: $1 (marker) -> $2"
if [ "$tap_failed" -gt 0 ]; then
	dom_log | tail -n 40 | sed 's/^/# guest| /'
	tail -n 20 $D/run/vm/*[0-9a-f].log | sed 's/^/# runner| /'
	sed 's/^/# vmxd| /' $D/vmxd.log | tail -n 30
fi
kill $vmxd_pid
wait $vmxd_pid 2>/dev/null
unload_vmxcore
finish
