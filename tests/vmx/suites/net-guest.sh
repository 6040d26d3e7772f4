# lab: on-request (a nested guest with a NIC: one nested boot more than make check affords)
# The nested Linux guest of linux-guest.sh, on vmxcore, with one NIC, through
# vmxd and vmctl: <interface type='ethernet'> makes vmxd-runner create the tap
# vmxnet0 in the lab kernel; this side gives it 10.213.7.1/24, and the guest
# (eth0, virtio_net) gives itself 10.213.7.2 and pings the lab host until it
# answers. An answered ping is ARP and ICMP both ways: the device's transmit
# and receive paths. The guest then waits for the power button (guest.wait),
# so the tap's own counters, the lab side's view of the same traffic, are
# read while the tap exists (it goes with the runner); then vmctl shutdown.
. /lab/suites/lib.sh
D=/tmp/vmxd-net
DOM=lab-net
TAP=vmxnet0
MAC=52:54:00:12:34:56
CMDLINE="console=ttyS0 noapic nolapic pci=noacpi panic=-1 mitigations=off loglevel=4 tsc=unstable guest.wait guest.ip=10.213.7.2 guest.ping=10.213.7.1"
IFACE="<interface type='ethernet'><mac address='$MAC'/><target dev='$TAP'/><model type='virtio'/></interface>"
plan 13

tap_exists() { [ -e /sys/class/net/$TAP ]; }
tap_count() { cat /sys/class/net/$TAP/statistics/$1; }

ok "tun_module_loads" insmod $LAB/tun.ko
load_vmxcore || { echo "not ok 2 - module_loads"; exit 1; }
mkdir -p $D
echo vmxcore > $D/backend
lab_vmxd $D
ok vmxd_starts wait_for 30 vmctl list
lab_guest_xml $DOM 1 "$CMDLINE" "$IFACE" > $D/guest.xml
ok define_with_a_nic vmctl define $D/guest.xml
ok start_on_vmxcore vmctl start $DOM
# The runner makes the tap before the guest's first instruction.
wait_for 60 tap_exists
# No IPv6 chatter from this side: what the tap sends the guest are answers.
echo 1 > /proc/sys/net/ipv6/conf/$TAP/disable_ipv6 2>/dev/null
ifconfig $TAP 10.213.7.1 netmask 255.255.255.0 up
ok "tap_made_by_the_runner_has_our_address" sh -c "ifconfig $TAP | grep -q 10.213.7.1"
ok "guest_ping_to_the_lab_host_answered" wait_for 600 console_has "GUEST: ping 10.213.7.1 answered"
dom_log | grep '^GUEST:' | sed 's/^/# /'
ok "guest_has_eth0_with_our_mac" console_has "GUEST: eth0 mac $MAC, mtu 1500"
# Rx of the tap: frames the guest sent (ARP request, echo request), tx: what
# this side answered.
echo "# tap $TAP: rx_packets $(tap_count rx_packets), tx_packets $(tap_count tx_packets)"
ok "lab_host_received_frames_from_the_guest" [ "$(tap_count rx_packets)" -ge 2 ]
ok "lab_host_sent_frames_to_the_guest" [ "$(tap_count tx_packets)" -ge 2 ]
ok shutdown_presses_power_button vmctl shutdown $DOM
ok guest_powers_off wait_for 300 state_is shutoff
ok reason_is_guest_shutdown reason_is shutdown
is "vmxcore_pages_all_released" "$(cat $SYSFS/pages_pinned)" 0
if [ "$tap_failed" -gt 0 ]; then
	dom_log | tail -n 40 | sed 's/^/# guest| /'
	tail -n 30 $D/run/vm/*[0-9a-f].log | sed 's/^/# runner| /'
	tail -n 20 $D/vmxd.log | sed 's/^/# vmxd| /'
fi
kill $vmxd_pid 2>/dev/null
wait $vmxd_pid 2>/dev/null
unload_vmxcore
finish
