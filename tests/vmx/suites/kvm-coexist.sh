# Coexistence with kvm_intel (policy in driver/vmxon.c): both load; whoever
# has VMs owns VMX and the other's VM creation fails with EBUSY, cleanly.
. /lab/suites/lib.sh
plan 14
ok kvm_modules_load sh -c "insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko"
ok vmxcore_loads_beside_kvm load_vmxcore
ok vmxcore_vm_created hold_vm hold-vm
is kvm_vm_refused_while_ours_exist "$(labtool kvm-create)" "Device or resource busy"
is vmx_still_ours "$(vmx_cpus)" "$(online_cpus)"
ok vmxcore_vm_released release_vm
ok kvm_vm_created hold_vm kvm-hold
before=$(dmesg_count 'in use by another hypervisor')
is our_vm_refused_while_kvm_has_vms "$(labtool create-vm)" "Device or resource busy"
ok refusal_logged_with_reason test "$(dmesg_count 'in use by another hypervisor')" -gt "$before"
is vmx_not_ours_while_kvm_runs "$(vmx_cpus)" ""
ok kvm_vm_released release_vm
ok our_vm_works_after_kvm labtool create-vm
ok kvm_vm_works_after_ours labtool kvm-create
ok all_unload sh -c 'rmmod vmxcore && rmmod kvm_intel && rmmod kvm && rmmod irqbypass'
finish
