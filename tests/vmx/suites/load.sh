# Module load and unload: the device appears and goes, and loading alone
# turns VMX on nowhere (vmxon.c: VMX is on only while VMs exist).
. /lab/suites/lib.sh
plan 8
ready=$(dmesg_count 'vmxcore: ready, API version')
caps=$(dmesg_count 'vmxcore: VMCS revision 0x2b, 4096 bytes, EPT yes, VPID yes, unrestricted guest yes')
ok module_loads load_vmxcore
ok dev_node_is_char_device test -c /dev/vmxcore
is load_logs_ready "$(dmesg_count 'vmxcore: ready, API version')" $((ready + 1))
is load_logs_capabilities "$(dmesg_count 'vmxcore: VMCS revision 0x2b, 4096 bytes, EPT yes, VPID yes, unrestricted guest yes')" $((caps + 1))
is vmx_off_after_load "$(vmx_cpus)" ""
is no_vms_after_load "$(cat $SYSFS/vms)" 0
ok module_unloads unload_vmxcore
ok dev_node_removed test ! -e /dev/vmxcore
finish
