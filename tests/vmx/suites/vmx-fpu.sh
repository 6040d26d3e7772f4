# lab: on-request (a quick look at FPU state alone; vmx-core and vmx-core-kvm run this test too)
# The guest's SSE registers while its vCPU thread is preempted inside RUN by a
# thread with SSE values of its own on the same CPU (vmxtest vmxcore fpu).
. /lab/suites/lib.sh
load_vmxcore || { echo "1..1"; echo "not ok 1 - module_loads"; exit 1; }
vmxtest vmxcore fpu
rc=$?
unload_vmxcore
exit $rc
