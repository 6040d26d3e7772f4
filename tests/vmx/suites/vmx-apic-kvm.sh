# lab: on-request (a quick look at the APIC alone; vmx-core-kvm runs these tests too)
# Every APIC test of vmx-core-kvm on kvm_intel (vmxtest kvm apic).
. /lab/suites/lib.sh
insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko pml=0 ||
	{ echo "1..1"; echo "not ok 1 - kvm_modules_load"; exit 1; }
vmxtest kvm apic
rc=$?
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
exit $rc
