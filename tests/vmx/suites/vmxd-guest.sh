# lab: group guests (vmxd and vmctl running a Linux guest on vmxcore)
# The product path on real VT-x: vmxd and vmctl drive a Linux guest on
# vmxcore through vmxd-runner. Define from XML, start, the guest's console
# reaches its init, suspend and resume, an ACPI shutdown the guest honours,
# the domain ends "shut off" with reason "shutdown", nothing left pinned.
# The guest writes to its qcow2 virtio-blk disk; after power-off the data is
# read back through the storage library (vmctl disk convert to raw).
. /lab/suites/lib.sh
D=/tmp/vmxd
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.wait guest.write=written-by-the-guest"
plan 16

console_has() { vmctl console lab-guest --show-log | grep -q "$1"; }
state_is() { vmctl dominfo lab-guest | grep -q "^State *$1\$"; }
reason_is() { vmctl dominfo lab-guest | grep -q "^Reason *$1\$"; }

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
