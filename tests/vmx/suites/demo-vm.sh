# lab: on-request (the full demo: make demo runs it)
# The main job (README's first command): the product end to end inside the
# VT-x lab. vmxd and vmctl run a Linux guest on vmxcore from the example in
# etc/examples/demo-kvm.xml: start it, show its console, shut it down,
# snapshot and back up its disk, change the disk, restore the backup into a
# new VM and show that VM has the old data. Each step is also a test.
. /lab/suites/lib.sh
D=/var/lib/vmxcore R=/tmp/vmxd
plan 25

step() { echo "#"; echo "# ---- $* ----"; }
# The console log keeps earlier boots: judge only the lines after $SEEN.
SEEN=0
console_lines() { vmctl console "$1" --show-log | wc -l; }
console_has() { vmctl console "$1" --show-log | tail -n +$((SEEN + 1)) | grep -q "$2"; }
show_console() {
	echo "#   \$ vmctl console $1 --show-log | grep GUEST:   (this boot)"
	vmctl console "$1" --show-log | tail -n +$((SEEN + 1)) | grep '^GUEST:' | sed 's/^/#   /'
}
state_is() { vmctl dominfo "$1" | grep -q "^State *$2\$"; }
# boot NAME: start, wait for the guest's init, show what it said.
boot() {
	SEEN=$(console_lines "$1" 2>/dev/null || echo 0)
	ok "start_$1" vmctl start "$1"
	ok "console_of_$1_reaches_init" wait_for 900 console_has "$1" "GUEST: up"
	show_console "$1"
}
# halt NAME: the ACPI power button; the guest powers off.
halt() {
	ok "shutdown_$1" vmctl shutdown "$1"
	ok "$1_powered_off" wait_for 300 state_is "$1" shutoff
}

step "vmxcore.ko into $(uname -r) on $(grep -c ^processor /proc/cpuinfo) emulated VT-x CPU(s)"
ok driver_loads load_vmxcore
mkdir -p $D/images $R/run
ln -sf $LAB/guest/vmlinux $D/vmlinux
ln -sf $LAB/guest/initrd.gz $D/initrd.gz
vmxd --socket $R/sock --socket-ro $R/sock-ro --database $R/vmxd.db --rundir $R/run \
	> $R/vmxd.log 2>&1 &
export VMCTL_SOCKET=$R/sock VMCTL_SOCKET_RO=$R/sock-ro
ok vmxd_starts wait_for 30 vmctl list

step "vmctl disk create, define from etc/examples/demo-kvm.xml (the guest writes DATA-v1)"
ok disk_create vmctl disk create $D/images/demo.qcow2 --format qcow2 --size 64M
sed 's|guest.wait|guest.wait guest.write=DATA-v1|' $LAB/examples/demo-kvm.xml > $R/demo.xml
ok define_demo vmctl define $R/demo.xml
vmctl list --all | sed 's/^/#   /'
boot demo
vmctl dominfo demo | sed 's/^/#   /'
halt demo

step "snapshot and back up the stopped VM's disk"
ok snapshot_create vmctl snapshot-create demo before-change
vmctl snapshot-list demo | sed 's/^/#   /'
ok backup_full sh -c "vmctl backup demo --repo $D/backups > $R/backup.out"
sed 's/^/#   /' $R/backup.out
id=$(head -n 1 $R/backup.out | awk '{ print $NF }')
ok backup_verifies vmctl verify --repo $D/backups "$id"

step "change the disk: the guest writes DATA-v2"
vmctl dumpxml demo | sed 's|guest.write=DATA-v1|guest.write=DATA-v2|' > $R/demo-v2.xml
ok redefine_demo vmctl define $R/demo-v2.xml
boot demo
ok demo_disk_changed console_has demo "GUEST: vda holds 'DATA-v2'"
halt demo

step "restore the backup into a new image and start a VM on it"
ok restore vmctl restore --repo $D/backups "$id" $D/images/restored.qcow2 --format qcow2
sed -e 's|<name>demo</name>|<name>restored</name>|' -e 's| guest.write=DATA-v1||' \
	-e 's|images/demo.qcow2|images/restored.qcow2|' $R/demo.xml > $R/restored.xml
ok define_restored vmctl define $R/restored.xml
boot restored
ok restored_vm_has_the_old_data console_has restored "GUEST: vda holds 'DATA-v1'"
halt restored
vmctl list --all | sed 's/^/#   /'

kill %1 2>/dev/null
is every_page_returned "$(cat $SYSFS/pages_pinned)" 0
finish
