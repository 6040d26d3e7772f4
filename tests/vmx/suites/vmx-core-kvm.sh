# The differential check: the same guest suite on kvm_intel in the same
# boot. Deliberate differences are asserted per backend in vmxtest.c and
# listed in tests/vmx/README.md.
. /lab/suites/lib.sh
# pml=0: Bochs 2.7 logs guest-physical addresses into the PML buffer with
# their low 12 bits (the SDM clears them), and KVM warns at each such entry
# once dirty logging runs long enough to clear D bits (the two-vCPU dirty
# test does). Without PML, KVM tracks dirty pages by write protection, as
# vmxcore does.
insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko pml=0 ||
	{ echo "1..1"; echo "not ok 1 - kvm_modules_load"; exit 1; }
vmxtest kvm
rc=$?
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
exit $rc
