# lab: on-request (run with --group guests --silence 900: a lab second of a 2-vCPU nested boot takes minutes)
# diag-vmxcore for the two-vCPU guest linux-smp boots: the in-kernel APICs,
# the IOAPIC and the MADT, with the guest's kernel log on the console
# (loglevel 8, apic=debug) so the heartbeat shows how far the boot got.
DIAG_CPUS=2
DIAG_CMDLINE="console=ttyS0 pci=noacpi panic=-1 mitigations=off loglevel=8 apic=debug tsc=unstable no_timer_check"
. /lab/suites/diag-vmxcore.sh
