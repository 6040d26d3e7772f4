#!/bin/sh
# make check-vmx: one lab boot per suite group, side by side (Bochs is
# single-threaded; a 2-core host runs two at full speed). Each group's
# output is printed whole once it ends, core first; fails if either failed.
#
# usage: labs.sh LAB.SH-ARGUMENTS...
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT

groups=$(sed -n 's/^# lab: group \([a-z0-9-]*\).*/\1/p' "$HERE"/suites/*.sh | sort -u)
# A nested guest's boot keeps the serial console quiet for minutes between
# heartbeats (a lab second is minutes of wall time then): more patience there.
for g in core $groups; do
	patience=
	[ "$g" = core ] || patience="--silence 900"
	( sh "$HERE/lab.sh" "$@" --group "$g" $patience > "$LOGS/$g.out" 2>&1
	  echo $? > "$LOGS/$g.rc" ) &
done
wait
rc=0
for g in core $groups; do
	echo "==== VT-x lab, group $g ===="
	cat "$LOGS/$g.out"
	[ "$(cat "$LOGS/$g.rc")" = 0 ] || rc=1
done
exit $rc
