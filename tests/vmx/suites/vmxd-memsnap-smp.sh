# lab: on-request (a ticking 2-vCPU nested guest on KVM snapshotted and reverted: most of an hour of Bochs)
# vmxd-memsnap-net's machinery with two vCPUs on the KVM backend: the local
# APICs' and MP state of both vCPUs and the IOAPIC through the state file.
SMP=1 . /lab/suites/vmxd-memsnap-net.sh
