# The main job, until the VMM exists: the driver working in Debian's kernel
# under an emulated VT-x CPU, running two tiny guests. Also a test: each
# step must succeed.
. /lab/suites/lib.sh
plan 6
echo "# Loading vmxcore.ko into $(uname -r) on $(grep -c ^processor /proc/cpuinfo) CPU(s)"
ok driver_loads load_vmxcore
echo "# What the driver reports through VMXCORE_GET_CAPS:"
labtool show | sed 's/^/#   /'
hold_vm hold-vm
echo "# A VM exists: CPUs in VMX operation: $(vmx_cpus) (online: $(online_cpus))"
is vmx_on_while_vm_exists "$(vmx_cpus)" "$(online_cpus)"
release_vm
echo "# Running two guests through /dev/vmxcore (VMLAUNCH, EPT, port I/O exits):"
vmxtest vmxcore hello > /tmp/hello.out
is guests_ran $? 0
sed 's/^/#   /' /tmp/hello.out
echo "# Every VM is gone: CPUs in VMX operation: '$(vmx_cpus)', pinned pages: $(cat $SYSFS/pages_pinned)"
is vmx_off_after_vms "$(vmx_cpus)" ""
is every_page_returned "$(cat $SYSFS/pages_pinned)" 0
ok driver_unloads unload_vmxcore
finish
