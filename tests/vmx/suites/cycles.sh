# Twenty load / VM / unload cycles, each turning VMX on and off on every CPU,
# without a single error in the kernel log (the judge also fails any oops or
# warning).
. /lab/suites/lib.sh
plan 3
errors_before=$(dmesg_count 'vmxcore: .*fail')
good=0
for i in $(seq 20); do
	echo "# cycle $i"	# progress for the lab's silence watchdog
	load_vmxcore && labtool create-vm && [ "$(vmx_cpus)" = "" ] && unload_vmxcore &&
		good=$((good + 1))
done
is twenty_clean_cycles "$good" 20
is no_driver_errors_logged "$(dmesg_count 'vmxcore: .*fail')" "$errors_before"
is module_gone "$(grep -c '^vmxcore ' /proc/modules)" 0
finish
