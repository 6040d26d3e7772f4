# lab: on-request (a ticking 2-vCPU nested guest on vmxcore snapshotted and reverted: most of an hour of Bochs)
# vmxd-memsnap-smp on vmxcore: the in-kernel local APICs' state
# (VMXCORE_GET/SET_LAPIC) and MP state of both vCPUs and the IOAPIC
# through the state file.
SMP=1 BACKEND=vmxcore . /lab/suites/vmxd-memsnap-net.sh
