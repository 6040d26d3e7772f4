# lab: on-request
# Diagnosis of the nested Linux boot on vmxcore alone: every lab second it
# prints the exit counts by reason and each vCPU's last exit (sysfs
# exit_stats), the EPT's size and the guest's newest console lines, and
# every 5 s the runner's threads (state, kernel stack) and the kernel log's
# tail. sh tests/vmx/lab.sh --suites diag-vmxcore
. /lab/suites/lib.sh
G=$LAB/guest
CMDLINE=${DIAG_CMDLINE:-"console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=7 tsc=unstable"}
DIAG_CPUS=${DIAG_CPUS:-1}
DIAG_PARAMS=${DIAG_PARAMS:-}	# vmxcore module parameters, e.g. apic_vid=0
plan 1

# symbol RIP: the nested guest's kernel function at RIP. The guest runs the
# lab's own kernel unrelocated (linked at 0xffffffff81000000; its own KASLR
# is in the decompressor we skip), so the lab's /proc/kallsyms names it once
# shifted by the lab's KASLR offset. Low 32 bits only: awk's numbers are doubles.
symbol() {
	text=$(awk '$3 == "_text" { print $1; exit }' /proc/kallsyms)
	want=$(( ($1 - 0xffffffff81000000 + 0x$text) & 0xffffffff ))
	awk -v want=$want '$2 ~ /^[tT]$/ { a = ("0x" substr($1, 9)) + 0
		if (a <= want && a > best) { best = a; name = $3 } }
		END { printf "%s+%#x\n", name, want - best }' /proc/kallsyms
}
insmod $LAB/vmxcore.ko $DIAG_PARAMS
echo "# vmxcore ${DIAG_PARAMS:-with its default parameters}, $DIAG_CPUS vCPU(s)"
timeout 1200 $LAB/bin/vmxd-runner --backend vmxcore --kernel $G/vmlinux \
	--initrd $G/initrd.gz --cmdline "$CMDLINE" --memory 128 --cpus $DIAG_CPUS \
	< /dev/null > /tmp/diag.out 2>&1 &
pid=$!
n=0
shown=0
while kill -0 $pid 2>/dev/null; do
	sleep 1
	n=$((n + 1))
	echo "# [$n s] exits $(cat $SYSFS/exit_stats) ept_pages $(cat $SYSFS/pages_ept)"
	lines=$(wc -l < /tmp/diag.out)
	[ "$lines" -gt "$shown" ] && tail -n +$((shown + 1)) /tmp/diag.out | sed 's/^/# guest vmxcore| /'
	shown=$lines
	if [ $((n % 5)) -eq 0 ]; then
		for t in /proc/$pid/task/*; do
			echo "# task $t ($(cut -d' ' -f3 $t/stat 2>/dev/null)): $(tr '\n' ' ' < $t/stack 2>/dev/null | head -c 300)"
		done
		dmesg | tail -n 5 | sed 's/^/# dmesg| /'
		rip=$(sed 's/.*last_rip://' $SYSFS/exit_stats)
		echo "# last exit at $rip: $(symbol $rip)"
	fi
done
wait $pid
echo "# runner status $?"
tail -n +$((shown + 1)) /tmp/diag.out | sed 's/^/# guest vmxcore| /'
dmesg | grep -i vmxcore | tail -n 20 | sed 's/^/# dmesg| /'
is vmxcore_ran 0 0
finish
