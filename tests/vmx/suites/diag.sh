# lab: on-request
# Diagnosis of the nested Linux boot: the guest's console streamed live into
# the lab's log (prefixed "# guest BACKEND| "), first on kvm_intel, then on
# vmxcore, at loglevel 7. sh tests/vmx/lab.sh --suites diag --silence 900
. /lab/suites/lib.sh
G=$LAB/guest
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=7 tsc=unstable"
plan 2
run_live() {
	timeout 1200 $LAB/bin/vmxd-runner --backend "$1" --kernel $G/vmlinux \
		--initrd $G/initrd.gz --cmdline "$CMDLINE" --memory 128 < /dev/null 2>&1 |
		sed "s/^/# guest $1| /"
}
insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko
run_live kvm
is kvm_ran 0 0
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
load_vmxcore
run_live vmxcore
is vmxcore_ran 0 0
finish
