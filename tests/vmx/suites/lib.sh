# Sourced by the lab's shell suites: TAP output and the lab's fixed paths.
LAB=/lab
SYSFS=/sys/class/misc/vmxcore
tap_n=0
tap_failed=0

plan() { echo "1..$1"; }

# ok NAME CONDITION-COMMAND...: passes when the command succeeds.
ok() {
	name=$1; shift
	tap_n=$((tap_n + 1))
	if "$@" >/tmp/ok.out 2>&1; then
		echo "ok $tap_n - $name"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $name: '$*' failed: $(head -c 200 /tmp/ok.out | tr '\n' ' ')"
	fi
}

# is NAME GOT WANT: passes when the two strings are equal.
is() {
	tap_n=$((tap_n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $tap_n - $1"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $1: got '$2', want '$3'"
	fi
}

skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

finish() { [ "$tap_failed" -eq 0 ]; }

load_vmxcore() { insmod $LAB/vmxcore.ko; }
unload_vmxcore() { rmmod vmxcore; }
vmx_cpus() { cat $SYSFS/vmx_cpus; }
online_cpus() { cat /sys/devices/system/cpu/online; }

# hold_vm TOOLCMD: starts "labtool TOOLCMD FILE" in the background and waits
# until it holds its VM; sets HOLD_PID. Returns non-zero if it never did.
hold_vm() {
	rm -f /tmp/held
	labtool "$1" /tmp/held &
	HOLD_PID=$!
	for _ in $(seq 100); do
		[ -e /tmp/held ] && return 0
		kill -0 $HOLD_PID 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

release_vm() { kill "$HOLD_PID" && wait "$HOLD_PID"; }

# Counts kernel log lines matching a pattern (for "logged a clear reason").
dmesg_count() { dmesg | grep -c "$1"; }

# heartbeat_while PID [CONSOLE]: a line every second of lab time while PID
# lives, so the host's silence watchdog knows a long quiet step (a nested
# guest booting) is alive. While a nested guest runs, a lab second has been
# measured at 70 s to 5 min of wall time, so each line also says what the
# guest is doing: vmxcore's exit counts when its module is loaded, and the
# guest console's new lines (CONSOLE; "# guest| " lines, which the judge
# ignores).
# hb_threads PID: what the process's threads and the host's CPUs spend
# their time on: each thread's user and system ticks (a runner thread
# busy in userspace slows the guest down as much as a slow guest does),
# and the host's interrupt counts of the kinds vmxcore causes.
hb_threads() {
	# PID and its descendants (a subshell, timeout, the runner: three deep)
	hb_pids=$(awk -v root="$1" '{ parent[$1] = $4 } END {
		for (p in parent) { q = p
			for (d = 0; d < 4 && q != root && q in parent; d++) q = parent[q]
			if (q == root) print p } }' /proc/[0-9]*/stat 2>/dev/null)
	for hb_t in $(for p in $hb_pids; do echo /proc/$p/task/*/stat; done); do
		awk '{ printf "%s %s/%s ", $2, $14, $15 }' "$hb_t" 2>/dev/null
	done | sed 's/^/# threads (comm user\/sys ticks): /'
	echo
	awk '$1 ~ /^(LOC|RES|CAL|TLB):$/ { n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
		printf "%s%s %d", sep, $1, n; sep = " " } END { print "" }' /proc/interrupts |
		sed 's/^/# host interrupts: /'
}

heartbeat_while() {
	hb_n=0 hb_shown=0
	while kill -0 "$1" 2>/dev/null; do
		sleep 1
		hb_n=$((hb_n + 1))
		hb_exits=
		[ -r $SYSFS/exit_stats ] && hb_exits=", exits: $(cat $SYSFS/exit_stats)"
		echo "# ... still running after ${hb_n}s (lab clock)$hb_exits"
		hb_threads "$1"
		[ -n "${2:-}" ] && [ -r "$2" ] || continue
		hb_lines=$(wc -l < "$2")
		[ "$hb_lines" -gt "$hb_shown" ] &&
			tail -n +$((hb_shown + 1)) "$2" | head -n $((hb_lines - hb_shown)) | sed 's/^/# guest| /'
		hb_shown=$hb_lines
	done
}

# wait_for SECONDS COMMAND...: polls once a second (lab clock) until the
# command succeeds; a line each time (to the console: this may run inside
# "ok") keeps the host's silence watchdog informed.
wait_for() {
	wf_n=$1; shift
	while [ "$wf_n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 1
		wf_n=$((wf_n - 1))
		echo "# ... waiting for '$*', ${wf_n}s left" > /dev/console
	done
	return 1
}

# vmxcore and kvm_intel side by side (kvm-coexist: whoever has VMs owns VMX).
load_vmxcore_and_kvm() {
	insmod $LAB/vmxcore.ko && insmod $LAB/irqbypass.ko && insmod $LAB/kvm.ko &&
		insmod $LAB/kvm-intel.ko
}
unload_vmxcore_and_kvm() { rmmod vmxcore && rmmod kvm_intel && rmmod kvm && rmmod irqbypass; }

# lab_vmxd DIR: vmxd with its sockets, database and run directory in DIR
# (vmxd_pid set, VMCTL_SOCKET and VMCTL_SOCKET_RO exported). Its runner for
# type 'kvm' domains is a wrapper giving vmxd-runner the --backend named in
# DIR/backend at each start, so a suite picks, or switches, the backend.
lab_vmxd() {
	mkdir -p $1/run
	printf '#!/bin/sh\nexec %s --backend "$(cat %s/backend)" "$@"\n' $LAB/bin/vmxd-runner $1 > $1/runner.sh
	chmod +x $1/runner.sh
	echo "runner_kvm = $1/runner.sh" > $1/vmxd.conf
	vmxd -d -f $1/vmxd.conf --socket $1/sock --socket-ro $1/sock-ro --database $1/db.sqlite \
		--rundir $1/run > $1/vmxd.log 2>&1 &
	vmxd_pid=$!
	export VMCTL_SOCKET=$1/sock VMCTL_SOCKET_RO=$1/sock-ro
}

# The domain named $DOM, as vmctl shows it: its console log so far, a
# string in that log, its state and the reason for it (dominfo).
dom_log() { vmctl console $DOM --show-log; }
console_has() { dom_log | grep -q "$1"; }
state_is() { vmctl dominfo $DOM | grep -q "^State *$1\$"; }
reason_is() { vmctl dominfo $DOM | grep -q "^Reason *$1\$"; }

# lab_dump D: what a failed suite's domain (vmxd in D) leaves to read: its
# console, its state, its runner's and vmxd's logs, the lab kernel's last
# messages (a runner's crash or seccomp kill shows there), what runs.
lab_dump() {
	dom_log | tail -n 30 | sed 's/^/# guest| /'
	vmctl dominfo $DOM 2>&1 | sed 's/^/# dominfo| /'
	tail -n 30 $1/run/vm/*[0-9a-f].log | sed 's/^/# runner| /'
	tail -n 30 $1/vmxd.log | sed 's/^/# vmxd| /'
	dmesg | tail -n 20 | sed 's/^/# dmesg| /'
	top -b -n 1 | head -n 15 | sed 's/^/# top| /'
}

# lab_qcow2_disk PATH: the <disk> element of a qcow2 image as virtio vda.
lab_qcow2_disk() {
	echo "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$1'/><target dev='vda' bus='virtio'/></disk>"
}

# lab_guest_xml NAME VCPUS CMDLINE [DEVICES]: a domain of 128 MiB booting
# the nested guest (the lab's kernel and busybox initramfs), with DEVICES
# (XML elements) inside <devices>.
lab_guest_xml() {
	cat <<XML
<domain type='kvm'>
  <name>$1</name>
  <memory unit='MiB'>128</memory>
  <vcpu>$2</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$LAB/guest/vmlinux</kernel>
    <initrd>$LAB/guest/initrd.gz</initrd>
    <cmdline>$3</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <devices>${4:-}</devices>
</domain>
XML
}
