# lab: on-request (two nested 2-vCPU Linux boots: tens of minutes of Bochs, too long for make check)
# Debian's kernel with two vCPUs on each backend: the in-kernel local APICs,
# the IOAPIC model and the MADT, a raw virtio-blk disk whose INTx goes
# through the IOAPIC. The machinery is linux-guest.sh's.
SMP=1 . /lab/suites/linux-guest.sh
