# lab: on-request (a nested guest with a NIC: one nested boot more than make check affords)
# The nested Linux guest of linux-guest.sh, on vmxcore, with one NIC:
# vmxd-runner --nic tap=vmxnet0 creates the tap in the lab kernel; this
# side gives the tap 10.213.7.1/24 and the guest (eth0, virtio_net) gives
# itself 10.213.7.2 and pings the lab host until it answers. An answered
# ping is ARP and ICMP both ways: the device's transmit and receive paths.
# The tap's own counters, read while the runner lives, are the lab side's
# view of the same traffic.
. /lab/suites/lib.sh
G=$LAB/guest
TAP=vmxnet0
MAC=52:54:00:12:34:56
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.ip=10.213.7.2 guest.ping=10.213.7.1"
plan 8

ok "tun_module_loads" insmod $LAB/tun.ko
load_vmxcore || { echo "not ok 2 - module_loads"; exit 1; }
out=/tmp/net-guest
( timeout 900 $LAB/bin/vmxd-runner --backend vmxcore --kernel $G/vmlinux \
	--initrd $G/initrd.gz --cmdline "$CMDLINE" --memory 128 --nic tap=$TAP,mac=$MAC \
	< /dev/null > $out.out 2> $out.err
  echo $? > $out.rc ) &
pid=$!
# The runner makes the tap before the guest's first instruction.
n=0
while [ ! -e /sys/class/net/$TAP ] && kill -0 $pid 2>/dev/null && [ $n -lt 600 ]; do
	sleep 0.1
	n=$((n + 1))
done
# No IPv6 chatter from this side: what the tap sends the guest are answers.
echo 1 > /proc/sys/net/ipv6/conf/$TAP/disable_ipv6 2>/dev/null
ifconfig $TAP 10.213.7.1 netmask 255.255.255.0 up
ok "tap_made_by_the_runner_has_our_address" sh -c "ifconfig $TAP | grep -q 10.213.7.1"
# The tap's counters while it exists (it goes with the runner), read every
# 0.1 s of lab clock: the guest pings and powers off within a lab second or
# two, and once-a-second reads saw the tap go before the ping (2026-12-03).
# A heartbeat each second.
rx=0 tx=0 n=0
while kill -0 $pid 2>/dev/null; do
	if [ -e /sys/class/net/$TAP ]; then
		rx=$(cat /sys/class/net/$TAP/statistics/rx_packets 2>/dev/null || echo $rx)
		tx=$(cat /sys/class/net/$TAP/statistics/tx_packets 2>/dev/null || echo $tx)
	fi
	sleep 0.1
	n=$((n + 1))
	[ $((n % 10)) = 0 ] && echo "# ... still running after $((n / 10))s (lab clock), tap rx $rx tx $tx"
done
echo "# runner said: $(grep -v '^vmxd-runner: nic' $out.err | tail -n 1)"
grep '^GUEST:' $out.out | sed 's/^/# /'
ok "guest_has_eth0_with_our_mac" grep -q "^GUEST: eth0 mac $MAC, mtu 1500" $out.out
ok "guest_ping_to_the_lab_host_answered" grep -q '^GUEST: ping 10.213.7.1 answered' $out.out
ok "lab_host_received_frames_from_the_guest" [ "$rx" -ge 2 ]
ok "lab_host_sent_frames_to_the_guest" [ "$tx" -ge 2 ]
is "runner_exit_status_is_poweroff" "$(cat $out.rc)" 0
is "vmxcore_pages_all_released" "$(cat $SYSFS/pages_pinned)" 0
grep -q '^GUEST: ping 10.213.7.1 answered' $out.out && [ "$(cat $out.rc)" = 0 ] || {
	tail -n 60 $out.out | sed 's/^/# guest| /'
	sed 's/^/# runner| /' $out.err
}
unload_vmxcore
finish
