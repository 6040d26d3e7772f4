# lab: on-request (a quick look at the APIC alone; vmx-core runs these tests too)
# Every APIC test of vmx-core on vmxcore with its default assists
# (vmxtest vmxcore apic), without the rest of the execution-core suite.
. /lab/suites/lib.sh
load_vmxcore || { echo "1..1"; echo "not ok 1 - module_loads"; exit 1; }
vmxtest vmxcore apic
rc=$?
unload_vmxcore
exit $rc
