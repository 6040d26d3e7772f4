# The ioctls of the system fd, and every capability field checked against the
# MSR read independently through msr.ko (/dev/cpu/0/msr).
. /lab/suites/lib.sh
insmod $LAB/msr.ko
load_vmxcore || { echo "1..1"; echo "not ok 1 - module_loads"; exit 1; }
labtool caps
rc=$?
unload_vmxcore
exit $rc
