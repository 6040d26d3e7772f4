#!/bin/sh
# Prints the kernel version the module and the VT-x lab are built for: the newest
# Debian linux-headers-*-amd64 tree installed (the lab boots the matching image).
ls -d /usr/src/linux-headers-*-amd64 2>/dev/null |
	sed 's|.*/linux-headers-||' | sort -V | tail -n 1
