# lab: on-request (a nested guest busy rewriting its disk during a backup: too slow for make check)
# vmxd-guest with a live backup of the running guest in the middle (see
# the top of vmxd-guest.sh).
LIVE_BACKUP=1 . /lab/suites/vmxd-guest.sh
