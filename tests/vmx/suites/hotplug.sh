# CPU hotplug: a CPU leaving takes VMX off first, a CPU arriving while VMs
# exist enters VMX before it runs anything else.
. /lab/suites/lib.sh
plan 7
if [ ! -e /sys/devices/system/cpu/cpu1/online ]; then
	for t in vm_created cpu1_offline vmx_off_on_offline_cpu cpu1_online \
		 vmx_on_returning_cpu online_without_vms_stays_off module_unloads; do
		skip "$t" "needs a second CPU (boot the lab with --cpus 2)"
	done
	exit 0
fi
load_vmxcore
ok vm_created hold_vm hold-vm
ok cpu1_offline sh -c 'echo 0 > /sys/devices/system/cpu/cpu1/online'
is vmx_off_on_offline_cpu "$(vmx_cpus)" "0"
ok cpu1_online sh -c 'echo 1 > /sys/devices/system/cpu/cpu1/online'
is vmx_on_returning_cpu "$(vmx_cpus)" "0-1"
release_vm
echo 0 > /sys/devices/system/cpu/cpu1/online
echo 1 > /sys/devices/system/cpu/cpu1/online
is online_without_vms_stays_off "$(vmx_cpus)" ""
ok module_unloads unload_vmxcore
finish
