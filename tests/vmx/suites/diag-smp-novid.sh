# lab: on-request (run with --group guests --silence 900, as diag-smp)
# diag-smp with virtual-interrupt delivery off (apic_vid=0): the in-kernel
# APICs inject through the VMCS, so a stall that goes away here is VID's.
DIAG_PARAMS="apic_vid=0"
. /lab/suites/diag-smp.sh
