# The execution core: guests in real, protected and long mode under
# vmxcore, asserting every exit (tests/vmx/vmxtest.c).
. /lab/suites/lib.sh
load_vmxcore || { echo "1..1"; echo "not ok 1 - module_loads"; exit 1; }
vmxtest
rc=$?
unload_vmxcore
exit $rc
