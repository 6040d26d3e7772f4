# lab: xfail
# The negative control. This suite fails on purpose; the judge passes the lab
# only if it saw this failure, so a lab that cannot see failures cannot pass.
. /lab/suites/lib.sh
plan 1
is control_must_fail "this lab reports failures" "this lab hides failures"
finish
