# VMX on every online CPU exactly while VMs exist; VMs pin the module.
. /lab/suites/lib.sh
plan 11
load_vmxcore
ok first_vm_created hold_vm hold-vm
is vmx_on_all_online_cpus "$(vmx_cpus)" "$(online_cpus)"
is vm_count_one "$(cat $SYSFS/vms)" 1
first=$HOLD_PID
ok second_vm_created hold_vm hold-vm
second=$HOLD_PID
is vm_count_two "$(cat $SYSFS/vms)" 2
ok unload_refused_while_vms_exist sh -c '! rmmod vmxcore'
HOLD_PID=$first
ok first_vm_released release_vm
is vmx_stays_on_with_one_vm "$(vmx_cpus)" "$(online_cpus)"
HOLD_PID=$second
ok second_vm_released release_vm
is vmx_off_after_last_vm "$(vmx_cpus)" ""
ok module_unloads_after_vms_gone unload_vmxcore
finish
