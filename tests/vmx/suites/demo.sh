# The main job, until the VMM exists: the driver working in Debian's kernel
# under an emulated VT-x CPU. Also a test: each step must succeed.
. /lab/suites/lib.sh
plan 5
echo "# Loading vmxcore.ko into $(uname -r) on $(grep -c ^processor /proc/cpuinfo) CPU(s)"
ok driver_loads load_vmxcore
echo "# What the driver reports through VMXCORE_GET_CAPS:"
labtool show | sed 's/^/#   /'
hold_vm hold-vm
echo "# A VM exists: CPUs in VMX operation: $(vmx_cpus) (online: $(online_cpus))"
is vmx_on_while_vm_exists "$(vmx_cpus)" "$(online_cpus)"
release_vm
echo "# The VM is gone: CPUs in VMX operation: '$(vmx_cpus)'"
is vmx_off_after_vm "$(vmx_cpus)" ""
ok driver_unloads unload_vmxcore
is kernel_log_clean "$(dmesg | grep -ciE 'oops|bug:|warning:')" 0
finish
