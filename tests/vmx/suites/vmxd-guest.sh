# lab: group guests (vmxd and vmctl running a Linux guest on vmxcore)
# The product path on real VT-x: vmxd and vmctl drive a Linux guest on
# vmxcore through vmxd-runner. Define from XML, start, the guest's console
# reaches its init, suspend and resume, an ACPI shutdown the guest honours,
# the domain ends "shut off" with reason "shutdown", nothing left pinned.
# The guest writes to its qcow2 virtio-blk disk; after power-off the data is
# read back through the storage library (vmctl disk convert to raw).
# Live backup: while the guest keeps rewriting 32 sectors of its disk (one
# per MiB, highest first, a generation number each round), vmxd backs the
# running domain up through its runner's copy-before-write views, slowed to
# span several of the guest's rounds; the restored sectors must form one
# cut (MiB 1..k of round G-1, k+1..32 of round G), which a backup reading
# while the guest writes, without the frozen view, would not. That part runs
# when vmxd-livebackup.sh sources this file with LIVE_BACKUP=1 (on request:
# a nested guest busy writing slows the whole lab to minutes a step).
. /lab/suites/lib.sh
LIVE_BACKUP=${LIVE_BACKUP:-0}
D=/tmp/vmxd
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.wait guest.write=written-by-the-guest"
if [ "$LIVE_BACKUP" = 1 ]; then
	CMDLINE="$CMDLINE guest.churn=6"
	plan 21
else
	plan 16
fi

console_has() { vmctl console lab-guest --show-log | grep -q "$1"; }
state_is() { vmctl dominfo lab-guest | grep -q "^State *$1\$"; }
reason_is() { vmctl dominfo lab-guest | grep -q "^Reason *$1\$"; }
rounds() { vmctl console lab-guest --show-log | grep -c "GUEST: churn round"; }
churned() { test "$(rounds)" -ge 1; }
job_ended() { ! vmctl job-list | grep -q " running "; }
# The generations in sector 0 of MiB 1..32 of a raw image, one per line.
gens() {
	for i in $(seq 1 32); do
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

# live_backup: a backup of the running, churning guest; 1 s pauses every
# 4 MiB keep it reading over the guest's rounds.
live_backup() {
	wait_for 300 churned
	r0=$(rounds)
	ok live_backup_job_starts vmctl job-start backup name=lab-guest repo=$D/repo slice_ms=1000
	ok live_backup_done wait_for 900 job_ended
	vmctl job-list | grep backup | sed 's/^/# /'
	r1=$(rounds)
	echo "# guest churn rounds: $r0 before the backup, $r1 after"
	ok guest_rewrote_during_backup test "$r1" -ge $((r0 + 1))
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
ok disk_created vmctl disk create $D/disk.qcow2 --format qcow2 --size 64M
cat > $D/guest.xml <<XML
<domain type='kvm'>
  <name>lab-guest</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$LAB/guest/vmlinux</kernel>
    <initrd>$LAB/guest/initrd.gz</initrd>
    <cmdline>$CMDLINE</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$D/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
XML
ok define_from_xml vmctl define $D/guest.xml
ok start_on_vmxcore vmctl start lab-guest
ok console_reaches_guest_init wait_for 600 console_has "GUEST: up"
[ "$LIVE_BACKUP" = 1 ] && live_backup
ok suspend vmctl suspend lab-guest
ok dominfo_says_paused state_is paused
ok resume vmctl resume lab-guest
ok shutdown_presses_power_button vmctl shutdown lab-guest
ok guest_powers_off wait_for 300 state_is shutoff
ok guest_saw_the_button console_has "GUEST: power button pressed"
ok reason_is_guest_shutdown reason_is shutdown
ok guest_wrote_its_disk console_has "GUEST: vda holds 'written-by-the-guest'"
ok disk_converted_after_poweroff vmctl disk convert $D/disk.qcow2 $D/disk.raw --format raw
is disk_holds_the_guest_data "$(dd if=$D/disk.raw bs=512 count=1 2>/dev/null | head -n 1 | sed 's/ *$//')" written-by-the-guest
is every_page_returned "$(cat $SYSFS/pages_pinned)" 0
if [ "$tap_failed" -gt 0 ]; then
	vmctl console lab-guest --show-log | tail -n 30 | sed 's/^/# guest| /'
	tail -n 20 $D/run/vm/*[0-9a-f].log | sed 's/^/# runner| /'
	sed 's/^/# vmxd| /' $D/vmxd.log | tail -n 30
fi
kill $vmxd_pid
wait $vmxd_pid 2>/dev/null
unload_vmxcore
finish
