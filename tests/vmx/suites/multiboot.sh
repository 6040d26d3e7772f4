# A multiboot kernel (tests/vmx/guests/multiboot.S, 2 KiB of our own
# assembly) booted by vmxd-runner on vmxcore, then the same on kvm_intel in
# this boot (the differential check). The runner must choose multiboot by
# itself (no --kernel-format), hand over the command line and the initrd as
# module 0, and the kernel's ACPI S5 write must end the VM as "poweroff"
# with exit status 0. Cheap: no Linux inside, a few hundred exits.
. /lab/suites/lib.sh
K=$LAB/multiboot.elf
MOD=/tmp/mb-module
CMDLINE="mbtest cmdline=ok answer=42"
plan 22

printf 'multiboot module payload\n' > $MOD	# 25 bytes

# boot BACKEND: one run, console in /tmp/mb-BACKEND.out.
boot() {
	out=/tmp/mb-$1
	timeout 300 $LAB/bin/vmxd-runner --backend "$1" --kernel $K --initrd $MOD \
		--cmdline "$CMDLINE" --memory 32 < /dev/null > $out.out 2> $out.err
	echo $? > $out.rc
	sed 's/^/# /' $out.out
	sed 's/^/# runner: /' $out.err
}

judge() {
	b=$1 o=/tmp/mb-$1.out
	ok "${b}_runner_chose_multiboot" grep -q "^vmxd-runner: booting $K as multiboot on " /tmp/mb-$b.err
	ok "${b}_multiboot_kernel_prints_marker" grep -q '^MB: hello from a multiboot kernel' $o
	ok "${b}_entry_eax_is_multiboot_magic" grep -q '^MB: magic ok' $o
	ok "${b}_entry_protected_mode_paging_off_if_clear" \
		sh -c "grep -q '^MB: protected mode, paging off' $o && grep -q '^MB: interrupts off' $o"
	ok "${b}_cmdline_handed_over" grep -qF "MB: cmdline '$CMDLINE'" $o
	ok "${b}_one_module_with_its_string_and_size" \
		sh -c "grep -q '^MB: modules 1' $o && grep -qF \"MB: module 0 '$MOD' 25 bytes\" $o"
	# 32 MiB: 640 KiB low, 31 MiB upper; e820 RAM 640 KiB + 31 MiB.
	ok "${b}_memory_and_mmap_as_e820" \
		sh -c "grep -q '^MB: mem_lower 640 KiB, mem_upper 31744 KiB' $o && grep -q '^MB: mmap 3 entries, 32384 KiB RAM' $o"
	ok "${b}_powers_off_through_acpi_s5" \
		sh -c "grep -q '^MB: powering off' $o && ! grep -q 'still running after the S5' $o"
	is "${b}_runner_exit_status_is_poweroff" "$(cat /tmp/mb-$b.rc)" 0
}

load_vmxcore || { echo "not ok 1 - module_loads"; exit 1; }
boot vmxcore
judge vmxcore
is "vmxcore_pages_all_released" "$(cat $SYSFS/pages_pinned)" 0
# An explicit --kernel-format linux on the same file is refused with a
# reason (the Linux loader finds no 64-bit x86 kernel in it), nothing runs.
$LAB/bin/vmxd-runner --kernel-format linux --kernel $K --memory 32 < /dev/null \
	> /tmp/mb-linux.out 2> /tmp/mb-linux.err
is "linux_format_forced_is_refused_with_status_1" "$?" 1
ok "linux_format_forced_names_the_problem" grep -q "kernel $K" /tmp/mb-linux.err
unload_vmxcore

insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko && insmod $LAB/kvm-intel.ko
boot kvm
judge kvm
rmmod kvm_intel && rmmod kvm && rmmod irqbypass
ok "host_still_runs_programs" true
finish
