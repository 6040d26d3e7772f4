# lab: on-request (make bench runs it after bench; a nested Linux boot per round)
# Linux boot-to-init through the product path, on both backends in one lab
# boot: `vmctl start` to the guest's init marker in the domain's console
# log (lab clock, polled every 10 ms), and the runner's own memory beyond
# guest RAM (its RSS minus the RSS of the 128 MiB guest RAM mapping).
# - One vmxd; its runner for type 'kvm' domains is a wrapper whose
#   --backend is read from a file, so both backends run the same domain
#   (vmxcore and kvm_intel loaded side by side: kvm-coexist).
# - The guest's files are read once before any round: the first boot of a
#   cold page cache reads them from the lab's CD, which once cost vmxcore,
#   measured first, 0.44 s of 0.98 (the guests' own clocks said 0.45 and
#   0.47 s to init).
# - Rounds in the order vmxcore, kvm, kvm, vmxcore: anything that drifts
#   during the run weighs on both alike. Each backend's BENCH line is the
#   mean of its two rounds; every round is printed.
. /lab/suites/lib.sh
G=$LAB/guest
D=/tmp/bench-linux
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.wait"

uptime_ns() { awk '{ printf "%.0f", $1 * 1e9 }' /proc/uptime; }

# init_count: how many boots the console log has seen reach init.
init_count() { cat $D/run/vm/*.console.log 2>/dev/null | grep -c "^GUEST: init reached"; }

# await_init N: until the log shows N boots at init; polls every 10 ms of
# lab time (one-second polls measured 1.0 s for both backends), a heartbeat
# each second; gives up after 900 s.
await_init() {
	ai_n=0
	until [ "$(init_count)" -ge "$1" ]; do
		[ $ai_n -ge 90000 ] && return 1
		usleep 10000
		ai_n=$((ai_n + 1))
		[ $((ai_n % 100)) = 0 ] && echo "# ... waiting for init, $((ai_n / 100))s" > /dev/console
	done
	return 0
}

# runner_mem BACKEND: the runner's RSS outside the guest RAM mapping.
runner_mem() {
	awk '/^Size:/ { size = $2 } /^Rss:/ { if (size == 131072) guest += $2; else own += $2 }
	     END { printf "# MEM runner_rss_minus_guest_ram_kib %s %d (guest RAM resident %d KiB)\n", "'"$1"'", own, guest }' \
		/proc/$(pidof vmxd-runner)/smaps
}

# boot_round BACKEND N: the Nth boot of the domain, on BACKEND; its time
# goes to $D/ns.BACKEND.
boot_round() {
	echo "$1" > $D/backend
	t0=$(uptime_ns)
	vmctl start bench || return 1
	await_init "$2" || return 1
	t1=$(uptime_ns)
	echo $((t1 - t0)) >> $D/ns.$1
	echo "# round $2: $1 vmctl start to init $((t1 - t0)) ns;" \
		"$(cat $D/run/vm/*.console.log | grep "^GUEST: init reached" | tail -n 1)"
	runner_mem "$1"
	vmctl destroy bench > /dev/null
	wait_for 60 sh -c "! pidof vmxd-runner"
}

plan 7
ok backends_load load_vmxcore_and_kvm
lab_vmxd $D
ok vmxd_starts wait_for 30 vmctl list
lab_guest_xml bench 1 "$CMDLINE" > $D/bench.xml
ok defined vmctl define $D/bench.xml
cat $G/vmlinux $G/initrd.gz $LAB/bin/vmxd-runner > /dev/null
n=0
for b in vmxcore kvm kvm vmxcore; do
	n=$((n + 1))
	boot_round $b $n || echo "# round $n on $b: no init"
done
is four_rounds_reached_init "$(cat $D/ns.vmxcore $D/ns.kvm 2>/dev/null | wc -l)" 4
for b in vmxcore kvm; do
	echo "# BENCH linux_boot_to_init $b $(awk '{ s += $1 } END { printf "%.0f", s / NR }' $D/ns.$b)"
done
is vmxcore_pages_released "$(cat $SYSFS/pages_pinned)" 0
kill $vmxd_pid
wait $vmxd_pid 2>/dev/null
ok backends_unload unload_vmxcore_and_kvm
ok host_alive true
finish
