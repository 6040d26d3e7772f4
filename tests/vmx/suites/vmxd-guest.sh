# lab: group guests (vmxd and vmctl running a Linux guest on vmxcore)
# The product path on real VT-x: vmxd and vmctl drive a Linux guest on
# vmxcore through vmxd-runner. Define from XML, start, the guest's console
# reaches its init, suspend and resume, an ACPI shutdown the guest honours,
# the domain ends "shut off" with reason "shutdown", nothing left pinned.
# The guest writes to its qcow2 virtio-blk disk; after power-off the data is
# read back through the storage library (vmctl disk convert to raw) and
# through qemu-img (check, convert), and the two readings must be equal.
# Live backup: while the guest keeps rewriting 8 sectors of its disk (one
# per MiB, highest first, a generation number each round), vmxd backs the
# running domain up through its runner's copy-before-write views, paused
# every 4 MiB of the 16 MiB disk so the guest rewrites every sector while
# the backup reads; the restored sectors must form one cut (MiB 1..k of
# round G-1, k+1..8 of round G), which a backup reading while the guest
# writes, without the frozen view, would not. That part runs when vmxd-livebackup.sh sources this file
# with LIVE_BACKUP=1 (on request: a nested guest busy writing slows the
# whole lab to minutes a step); the guest's churn stops right after.
. /lab/suites/lib.sh
DOM=lab-guest
LIVE_BACKUP=${LIVE_BACKUP:-0}
D=/tmp/vmxd
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.wait guest.write=written-by-the-guest"
if [ "$LIVE_BACKUP" = 1 ]; then
	CMDLINE="$CMDLINE guest.churn"
	plan 27
else
	plan 20
fi

# The first sector of a raw image as the guest's init wrote it: a line
# padded with blanks.
first_line() { dd if="$1" bs=512 count=1 2>/dev/null | head -n 1 | sed 's/ *$//'; }
rounds() { dom_log | grep -c "GUEST: churn round"; }
churned() { test "$(rounds)" -ge 3; }
churn_stopped_or_domain_gone() { console_has "GUEST: churn stopped" || ! state_is running; }
job_ended() { ! vmctl job-list | grep -q " running "; }
# The generations in sector 0 of MiB 1..8 of a raw image, one per line.
gens() {
	for i in $(seq 1 8); do
		g=$(dd if="$1" bs=512 skip=$((i * 2048)) count=1 2>/dev/null | tr -d '\000' |
			sed -n 's/^churn *\([0-9]*\).*/\1/p')
		echo "${g:-0}"
	done
}
# One cut: never decreasing from MiB 1 up, at most one round apart.
is_cut() {
	gens "$1" | awk 'NR == 1 { lo = $1 } { if ($1 < prev) bad = 1; prev = $1 }
		END { exit (bad || prev - lo > 1 || prev == 0) }'
}

# live_backup: a backup of the running, churning guest, paused 250 ms
# (lab clock) every 4 MiB: the guest rewrites all 8 sectors many times
# over meanwhile (the first lab run: 63 rounds during a backup paused
# 4 x 100 ms; the guest's own clock is no measure here, it said 5 ms a
# round: its timer ticks are lost while it is this busy).
live_backup() {
	ok guest_churns wait_for 600 churned
	r0=$(rounds)
	ok live_backup_job_starts vmctl job-start backup name=$DOM repo=$D/repo slice_ms=250
	ok live_backup_done wait_for 900 job_ended
	vmctl job-list | grep backup | sed 's/^/# /'
	vmctl job-list | grep -q "backup *failed" && lab_dump $D
	r1=$(rounds)
	echo "# guest churn rounds: $r0 before the backup, $r1 after"
	ok guest_rewrote_during_backup test "$r1" -ge $((r0 + 1))
	echo churn-stop | vmctl console $DOM > /dev/null
	wait_for 300 churn_stopped_or_domain_gone
	ok guest_churn_stops console_has "GUEST: churn stopped"
	bid=$(vmctl --json backup-list --repo $D/repo | sed -n 's/.*"id": *"\(lab-guest-vda-[^"]*\)".*/\1/p' | head -n 1)
	ok live_backup_verifies vmctl verify --repo $D/repo "$bid"
	vmctl restore --repo $D/repo "$bid" $D/live.raw --format raw >/dev/null 2>&1
	echo "# restored generations: $(gens $D/live.raw | tr '\n' ' ')"
	ok live_backup_is_one_instant is_cut $D/live.raw
}

load_vmxcore || { echo "not ok 1 - module_loads"; exit 1; }
mkdir -p $D/run
vmxd -d --socket $D/sock --socket-ro $D/sock-ro --database $D/db.sqlite \
	--rundir $D/run > $D/vmxd.log 2>&1 &
vmxd_pid=$!
export VMCTL_SOCKET=$D/sock VMCTL_SOCKET_RO=$D/sock-ro
ok vmxd_starts wait_for 30 vmctl list
ok disk_created vmctl disk create $D/disk.qcow2 --format qcow2 --size 16M
lab_guest_xml $DOM 1 "$CMDLINE" "$(lab_qcow2_disk $D/disk.qcow2)" > $D/guest.xml
ok define_from_xml vmctl define $D/guest.xml
ok start_on_vmxcore vmctl start $DOM
ok console_reaches_guest_init wait_for 600 console_has "GUEST: up"
[ "$LIVE_BACKUP" = 1 ] && live_backup
ok suspend vmctl suspend $DOM
ok dominfo_says_paused state_is paused
ok resume vmctl resume $DOM
ok shutdown_presses_power_button vmctl shutdown $DOM
ok guest_powers_off wait_for 300 state_is shutoff
ok guest_saw_the_button console_has "GUEST: power button pressed"
ok reason_is_guest_shutdown reason_is shutdown
ok guest_wrote_its_disk console_has "GUEST: vda holds 'written-by-the-guest'"
ok disk_converted_after_poweroff vmctl disk convert $D/disk.qcow2 $D/disk.raw --format raw
is disk_holds_the_guest_data "$(first_line $D/disk.raw)" written-by-the-guest
ok qemu_img_checks_the_disk qemu-img check -f qcow2 $D/disk.qcow2
ok qemu_img_converts_the_disk qemu-img convert -f qcow2 -O raw $D/disk.qcow2 $D/disk.qemu.raw
is qemu_img_reads_the_guest_data "$(first_line $D/disk.qemu.raw)" written-by-the-guest
ok qemu_img_and_storage_library_agree cmp $D/disk.raw $D/disk.qemu.raw
is every_page_returned "$(cat $SYSFS/pages_pinned)" 0
[ "$tap_failed" -gt 0 ] && lab_dump $D
kill $vmxd_pid
wait $vmxd_pid 2>/dev/null
unload_vmxcore
finish
