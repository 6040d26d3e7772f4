# make bench-vmx: exit round trips on both backends in this one boot. Not
# part of make check (a benchmark is no test); lab.sh prints the ratios.
. /lab/suites/lib.sh
plan 2
load_vmxcore
vmxtest vmxcore bench > /tmp/bench.out
is bench_vmxcore_ran $? 0
grep '^# BENCH' /tmp/bench.out
unload_vmxcore
insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko
vmxtest kvm bench > /tmp/bench.out
is bench_kvm_ran $? 0
grep '^# BENCH' /tmp/bench.out
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
finish
