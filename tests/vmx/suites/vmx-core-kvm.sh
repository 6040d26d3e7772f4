# The differential check: the same guest suite on kvm_intel in the same
# boot. Deliberate differences are asserted per backend in vmxtest.c and
# listed in tests/vmx/README.md.
. /lab/suites/lib.sh
insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko ||
	{ echo "1..1"; echo "not ok 1 - kvm_modules_load"; exit 1; }
vmxtest kvm
rc=$?
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
exit $rc
