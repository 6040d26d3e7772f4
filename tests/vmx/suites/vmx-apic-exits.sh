# The in-kernel APIC without hardware assists (vmxcore.ko apic_assists=0):
# every APIC test of vmx-core again on the exiting path, CR8 exits included
# (vmxtest vmxcore apic; tests/vmx/vmxtest.c).
. /lab/suites/lib.sh
insmod $LAB/vmxcore.ko apic_assists=0 || { echo "1..1"; echo "not ok 1 - module_loads"; exit 1; }
vmxtest vmxcore apic
rc=$?
unload_vmxcore
exit $rc
