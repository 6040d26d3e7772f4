#!/bin/sh
# Sums the counts every tap-run.sh / lab run of this `make check` recorded and
# prints the closing line CI reads.
set -eu
results=${TAP_RESULTS:-build/results}
cat "$results"/*.counts | awk '
	{ p += $1; f += $2; s += $3 }
	END { printf "check: %d passed, %d failed, %d skipped\n", p, f, s; exit f > 0 }'
