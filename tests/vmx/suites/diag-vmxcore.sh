# lab: on-request
# Diagnosis of the nested Linux boot on vmxcore alone: every lab second it
# prints the exit counts by reason (sysfs exit_stats), the EPT's size and
# the guest's newest console lines, and every 20 s the runner's kernel
# stacks and the kernel log's tail. sh tests/vmx/lab.sh --suites diag-vmxcore
. /lab/suites/lib.sh
G=$LAB/guest
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=7 tsc=unstable"
plan 1
load_vmxcore
timeout 1200 $LAB/bin/vmxd-runner --backend vmxcore --kernel $G/vmlinux \
	--initrd $G/initrd.gz --cmdline "$CMDLINE" --memory 128 \
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
	if [ $((n % 20)) -eq 0 ]; then
		for t in /proc/$pid/task/*; do
			echo "# task $t: $(tr '\n' ' ' < $t/stack 2>/dev/null | head -c 300)"
		done
		dmesg | tail -n 5 | sed 's/^/# dmesg| /'
	fi
done
wait $pid
echo "# runner status $?"
tail -n +$((shown + 1)) /tmp/diag.out | sed 's/^/# guest vmxcore| /'
dmesg | grep -i vmxcore | tail -n 20 | sed 's/^/# dmesg| /'
is vmxcore_ran 0 0
finish
