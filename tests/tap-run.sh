#!/bin/sh
# Runs TAP-speaking test programs and judges them.
#   usage: tap-run.sh LABEL PROGRAM...
# A program passes a test line by line ("ok N - name", "not ok N - name",
# "ok N - name # SKIP reason"; cmocka 1.1's "not ok N # SKIP name" is a
# skip too). A program that exits non-zero, prints no plan, or prints fewer
# results than its plan ("1..N") counts as one more failure,
# so a crash can never look like success. Prints "LABEL: N passed, N failed,
# N skipped" and records the counts for tests/tap-total.sh.
set -u
label=$1; shift
results=${TAP_RESULTS:-build/results}
mkdir -p "$results"
pass=0 fail=0 skip=0
for prog in "$@"; do
	out=$(mktemp)
	CMOCKA_MESSAGE_OUTPUT=TAP "$prog" >"$out" 2>&1
	rc=$?
	counts=$(awk -v rc="$rc" '
		/^1\.\.[0-9]+/      { split($0, a, /\.\./); plan = a[2] + 0; planned = 1 }
		/^ok /              { n++; if ($0 ~ /# *(SKIP|skip)/) s++; else p++ }
		# cmocka 1.1 prints a skip() as "not ok N # SKIP": a skip.
		/^not ok /          { n++; if ($0 ~ /# *SKIP/) s++; else f++ }
		END {
			bad = 0
			if (rc != 0 && f == 0) bad = 1
			if (!planned || n < plan) bad = 1
			printf "%d %d %d %d\n", p, f + bad, s, bad
		}' "$out")
	set -- $counts "$@"
	p=$1 f=$2 s=$3 bad=$4; shift 4
	name=${prog#*/tests/}
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name (exit $rc)"
		grep -v '^ok ' "$out" | tail -n 40 | sed 's/^/    /'
		[ "$bad" = 1 ] && echo "    (exited $rc or printed fewer results than planned)"
	else
		echo "PASS $name: $p passed${s:+, $s skipped}" | sed 's/, 0 skipped//'
		grep '# *SKIP' "$out" | sed 's/^/    /'
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	rm -f "$out"
done
echo "$pass $fail $skip" > "$results/$label.counts"
echo "$label: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
